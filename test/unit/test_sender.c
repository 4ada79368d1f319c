/* test_sender.c - login keys and printable copies of hostile logins */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sender.h"

/* key_ok - a key is exactly 32 lower-case hex digits */
static int
key_ok(const char *k)
{
	size_t i;

	if (strlen(k) != SENDER_KEY_LEN)
		return 0;
	for (i = 0; i < SENDER_KEY_LEN; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' &&
		    k[i] <= 'f')))
			return 0;
	return 1;
}

/* test_key_shape - hostile logins give plain hex keys, all different */
static void
test_key_shape(void **state)
{
	static char big[1025];
	const char *logins[] = {
		"alice@example.com", "{alice}", "a:b:c", "with space",
		"cr\r\nlf", "*", "%s%n", "", big, "{", "}", "sluice:{x}:msg",
	};
	char keys[sizeof(logins) / sizeof(logins[0])][SENDER_KEY_LEN + 1];
	size_t i, j, n = sizeof(logins) / sizeof(logins[0]);

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	for (i = 0; i < n; i++) {
		sender_key(logins[i], keys[i]);
		assert_true(key_ok(keys[i]));
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_string_not_equal(keys[i], keys[j]);
}

/* test_key_case - logins differing only in ASCII case share a key */
static void
test_key_case(void **state)
{
	char a[SENDER_KEY_LEN + 1], b[SENDER_KEY_LEN + 1];
	char c[SENDER_KEY_LEN + 1];

	(void)state;
	sender_key("Alice@Example.COM", a);
	sender_key("alice@example.com", b);
	sender_key("alice@example.org", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	/* stable across calls (and releases: this is the known value) */
	sender_key("alice@example.com", c);
	assert_string_equal(b, c);
}

/* test_printable - control bytes, '%', long input */
static void
test_printable(void **state)
{
	static const struct {
		const char	*in;
		int		 reply;
		size_t		 outlen;
		const char	*want;
	} cases[] = {
		{ "alice", 0, 64, "alice" },
		{ "a\r\nb", 0, 64, "a\\x0d\\x0ab" },
		{ "100%", 1, 64, "100%%" },
		{ "100%", 0, 64, "100%" },
		{ "back\\slash", 0, 64, "back\\\\slash" },
		{ "\xff\x01", 0, 64, "\\xff\\x01" },
		{ "abcdefghij", 0, 8, "abcd..." },
		{ "", 0, 8, "" },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'Z', sizeof(out));
		sender_printable(cases[i].in, out, cases[i].outlen,
		    cases[i].reply);
		assert_string_equal(out, cases[i].want);
		assert_true(strlen(out) < cases[i].outlen);
	}
}

/* test_printable_big - a 1 KiB login of CR/LF fits any buffer */
static void
test_printable_big(void **state)
{
	char in[1025], out[200];

	(void)state;
	memset(in, '\n', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	sender_printable(in, out, sizeof(out), 1);
	assert_true(strlen(out) < sizeof(out));
	assert_null(strchr(out, '\n'));
	assert_non_null(strstr(out, "..."));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_shape),
		cmocka_unit_test(test_key_case),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_printable_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
