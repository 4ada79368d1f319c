/* test_sender.c - login keys and printable copies of hostile logins */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/*
 * test_origin_keys - one text, three origins, three keys; SASL keys are
 * those of sender_key (earlier releases); each origin folds ASCII case;
 * no login of one origin takes the key of another's
 */
static void
test_origin_keys(void **state)
{
	char s[SENDER_KEY_LEN + 1], h[SENDER_KEY_LEN + 1];
	char e[SENDER_KEY_LEN + 1], k[SENDER_KEY_LEN + 1];
	enum sender_origin o;

	(void)state;
	sender_origin_key(SENDER_SASL, "bob@example.test", s);
	sender_origin_key(SENDER_HEADER, "bob@example.test", h);
	sender_origin_key(SENDER_ENVELOPE, "bob@example.test", e);
	sender_key("bob@example.test", k);
	assert_string_equal(s, k);
	assert_string_not_equal(s, h);
	assert_string_not_equal(s, e);
	assert_string_not_equal(h, e);
	assert_true(key_ok(h) && key_ok(e));
	sender_origin_key(SENDER_ENVELOPE, "BOB@Example.TEST", k);
	assert_string_equal(e, k);
	/* the tag is hashed with a NUL no login holds: a SASL login that
	 * spells the tag out is still another key */
	sender_key("envelopebob@example.test", k);
	assert_string_not_equal(e, k);
	sender_key("envelope:bob@example.test", k);
	assert_string_not_equal(e, k);
	assert_string_equal(sender_origin_name(SENDER_SASL), "sasl");
	assert_string_equal(sender_origin_name(SENDER_HEADER), "header");
	assert_string_equal(sender_origin_name(SENDER_ENVELOPE), "envelope");
	assert_int_equal(sender_origin_parse("envelope", &o), 0);
	assert_int_equal(o, SENDER_ENVELOPE);
	assert_int_equal(sender_origin_parse("header", &o), 0);
	assert_int_equal(o, SENDER_HEADER);
	assert_int_equal(sender_origin_parse("sasl", &o), 0);
	assert_int_equal(o, SENDER_SASL);
	assert_int_equal(sender_origin_parse("Envelope", &o), -1);
	assert_int_equal(sender_origin_parse("", &o), -1);
}

/* test_origin_names - the names hooks and class maps see */
static void
test_origin_names(void **state)
{
	char out[SENDER_NAME_MAX + 1], whole[SENDER_NAME_MAX + 1];
	char dom[SENDER_NAME_MAX + 1], big[SENDER_LOGIN_MAX + 1], tiny[8];
	const char *w, *d;

	(void)state;
	assert_string_equal(sender_qualified(SENDER_SASL, "bob@x.test", out,
	    sizeof(out)), "bob@x.test");
	assert_string_equal(sender_qualified(SENDER_ENVELOPE, "bob@x.test",
	    out, sizeof(out)), "envelope:bob@x.test");
	assert_string_equal(sender_qualified(SENDER_HEADER, "bob", out,
	    sizeof(out)), "header:bob");
	assert_null(sender_qualified(SENDER_ENVELOPE, "bob@x.test", tiny,
	    sizeof(tiny)));
	/* SASL and header: the login itself, no copy */
	assert_int_equal(sender_class_names(SENDER_HEADER, "bob@x.test",
	    whole, dom, &w, &d), 0);
	assert_string_equal(w, "bob@x.test");
	assert_string_equal(d, "@x.test");
	assert_int_equal(sender_class_names(SENDER_SASL, "bob", whole, dom,
	    &w, &d), 0);
	assert_string_equal(w, "bob");
	assert_null(d);
	/* envelope: names of its own, the domain's too */
	assert_int_equal(sender_class_names(SENDER_ENVELOPE, "bob@a@x.test",
	    whole, dom, &w, &d), 0);
	assert_string_equal(w, "envelope:bob@a@x.test");
	assert_string_equal(d, "envelope:@x.test");
	assert_int_equal(sender_class_names(SENDER_ENVELOPE, "www-data",
	    whole, dom, &w, &d), 0);
	assert_string_equal(w, "envelope:www-data");
	assert_null(d);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sender_class_names(SENDER_ENVELOPE, big, whole, dom,
	    &w, &d), 0);
}

/* test_default_domain - login_default_domain: bare logins only */
static void
test_default_domain(void **state)
{
	char out[64], tiny[10];

	(void)state;
	assert_string_equal(sender_with_domain("alice", "example.com", out,
	    sizeof(out)), "alice@example.com");
	assert_string_equal(sender_with_domain("alice@example.org",
	    "example.com", out, sizeof(out)), "alice@example.org");
	assert_string_equal(sender_with_domain("@example.org", "example.com",
	    out, sizeof(out)), "@example.org");
	assert_string_equal(sender_with_domain("alice", NULL, out,
	    sizeof(out)), "alice");
	assert_null(sender_with_domain("alice", "example.com", tiny,
	    sizeof(tiny)));
	/* "Alice" and "alice@example.com" are then one key */
	{
		char a[SENDER_KEY_LEN + 1], b[SENDER_KEY_LEN + 1];

		sender_key(sender_with_domain("Alice", "example.com", out,
		    sizeof(out)), a);
		sender_key("alice@example.com", b);
		assert_string_equal(a, b);
	}
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

/* test_logvalue - one field's value whatever the input: plain values as
 * they are, the rest quoted and escaped */
static void
test_logvalue(void **state)
{
	static const struct {
		const char	*in;
		size_t		 outlen;
		const char	*want;
	} cases[] = {
		{ "alice@example.com", 64, "alice@example.com" },
		{ "NOQUEUE", 64, "NOQUEUE" },
		{ "4XbT2k0mZz", 64, "4XbT2k0mZz" },
		{ "100%sure@x", 64, "100%sure@x" },
		{ "mallory class=vip client=203.0.113.9 action=accept", 64,
		    "\"mallory class=vip client=203.0.113.9 action=accept\"" },
		{ "a=b", 64, "\"a=b\"" },
		{ "say \"hi\"", 64, "\"say \\\"hi\\\"\"" },
		{ "back\\slash", 64, "\"back\\\\slash\"" },
		{ "a\r\nsluice: fake line", 64,
		    "\"a\\x0d\\x0asluice: fake line\"" },
		{ "tab\there", 64, "\"tab\\x09here\"" },
		{ "\xc3\xa9t\xc3\xa9", 64, "\"\\xc3\\xa9t\\xc3\\xa9\"" },
		{ "", 64, "\"\"" },
		{ "abcdefghij", 8, "abcd..." },
		{ "a b c d e f", 10, "\"a b ...\"" },
		{ "a b", 8, "\"a b\"" },
		{ "\n\n\n", 10, "\"\\x0a...\"" },
		{ "x", 7, "" },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'Z', sizeof(out));
		sender_logvalue(cases[i].in, out, cases[i].outlen);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: \"%s\" -> [%s], expected [%s]", i,
			    cases[i].in, out, cases[i].want);
		assert_true(strlen(out) < cases[i].outlen);
	}
}

/* test_logvalue_one_field - a log line made of hostile values splits
 * into exactly its fields, each value read back whole */
static void
test_logvalue_one_field(void **state)
{
	static const char *const hostile[] = {
		"mallory class=vip client=203.0.113.9 action=accept",
		"x\" action=accept \"", "\\\" y=1", "a\nb=c", " ", "=",
		"\"", "\\", "ok",
	};
	char v[64], line[256];
	size_t i, nf;
	const char *p;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		sender_logvalue(hostile[i], v, sizeof(v));
		snprintf(line, sizeof(line), "login=%s class=default", v);
		assert_null(strchr(line, '\n'));
		/* split as a log reader does: spaces outside quotes */
		nf = 1;
		for (p = line; *p != '\0'; p++) {
			if (*p == '"') {
				for (p++; *p != '"' && *p != '\0'; p++)
					if (*p == '\\' && p[1] != '\0')
						p++;
				assert_int_equal(*p, '"');
			} else if (*p == ' ')
				nf++;
		}
		if (nf != 2)
			fail_msg("\"%s\" made %zu fields: %s", hostile[i], nf,
			    line);
		assert_true(strncmp(line + strlen(line) - 14,
		    " class=default", 14) == 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_shape),
		cmocka_unit_test(test_key_case),
		cmocka_unit_test(test_origin_keys),
		cmocka_unit_test(test_origin_names),
		cmocka_unit_test(test_default_domain),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_printable_big),
		cmocka_unit_test(test_logvalue),
		cmocka_unit_test(test_logvalue_one_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
