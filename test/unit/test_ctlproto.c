/* test_ctlproto - the control socket's lines: split, join, requests */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ctlproto.h"

/* one line and what it splits into ("|" between fields), or NULL: refused */
static const struct {
	const char	*line;
	const char	*fields;
} cases[] = {
	{ "SLUICECTL/1 status", "SLUICECTL/1|status" },
	{ "a - b", "a||b" },
	{ "-", "" },
	{ "%2D", "-" },
	{ "ev%22il%20x%25 y", "ev\"il x%|y" },
	{ "%c3%A9", "\xc3\xa9" },
	{ "-x", "-x" },
	{ "", NULL },			/* empty line */
	{ "a  b", NULL },		/* empty field */
	{ " a", NULL },
	{ "a ", NULL },			/* space at the end */
	{ "a\tb", NULL },		/* control byte */
	{ "a\xff", NULL },		/* not ASCII */
	{ "%4", NULL },			/* short %HH */
	{ "%zz", NULL },
	{ "a b c d e f g h i j k l m n o p", "a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p" },
	{ "a b c d e f g h i j k l m n o p q", NULL }, /* 17 fields */
};

/* test_split - the table */
static void
test_split(void **state)
{
	struct ctlproto_line l;
	char err[128], got[512];
	size_t i, j, o;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = ctlproto_split(cases[i].line, strlen(cases[i].line), &l,
		    err, sizeof(err));
		if (cases[i].fields == NULL) {
			assert_int_equal(rc, -1);
			assert_true(err[0] != '\0');
			continue;
		}
		assert_int_equal(rc, 0);
		for (j = o = 0; j < l.n; j++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s",
			    j ? "|" : "", l.f[j]);
		assert_string_equal(got, cases[i].fields);
	}
}

/* test_join - encoding round-trips hostile values; too long is refused */
static void
test_join(void **state)
{
	const char *f[4] = { "lock", "", "-", "a b%\n\x01\xff\"" };
	char line[CTLPROTO_LINE_MAX + 1], big[CTLPROTO_LINE_MAX + 1], err[64];
	const char *one[1] = { big };
	struct ctlproto_line l;
	size_t n, i;

	(void)state;
	n = ctlproto_join(line, sizeof(line), 4, f);
	assert_string_equal(line, "lock - %2D a%20b%25%0A%01%FF\"\n");
	assert_int_equal(ctlproto_split(line, n - 1, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(l.f[i], f[i]);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ctlproto_join(line, sizeof(line), 1, one), 0);
	assert_int_equal(ctlproto_join(line, 8, 4, f), 0);
	/* a line of exactly the limit ("\n" included) fits, one byte more
	 * does not, both ways */
	big[CTLPROTO_LINE_MAX - 1] = '\0';
	assert_int_equal(ctlproto_join(line, sizeof(line), 1, one),
	    CTLPROTO_LINE_MAX);
	assert_int_equal(ctlproto_split(big, CTLPROTO_LINE_MAX - 1, &l, err,
	    sizeof(err)), 0);
	big[CTLPROTO_LINE_MAX - 1] = 'a';
	assert_int_equal(ctlproto_split(big, CTLPROTO_LINE_MAX, &l, err,
	    sizeof(err)), -1);
}

/* test_request - the version first, then a command */
static void
test_request(void **state)
{
	struct ctlproto_line l;
	char err[128];

	(void)state;
	assert_int_equal(ctlproto_request("SLUICECTL/1 show abc", 20, &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.f[0], "show");
	assert_string_equal(l.f[1], "abc");
	assert_int_equal(ctlproto_request("SLUICECTL/2 show", 16, &l, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "not a SLUICECTL/1 request");
	assert_int_equal(ctlproto_request("SLUICECTL/1", 11, &l, err,
	    sizeof(err)), -1);
	assert_int_equal(ctlproto_request("SLUICECTL/1 -", 13, &l, err,
	    sizeof(err)), -1);
	assert_int_equal(ctlproto_request("GET / HTTP/1.1", 14, &l, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
