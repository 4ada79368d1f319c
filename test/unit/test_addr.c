/* test_addr.c - address counting in To/Cc headers, from real-world forms */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"

#define L(s)	(sizeof(s) - 1)	/* length of a literal holding NUL bytes */
#define BIG	(70 * 1024)	/* room for the 64 KiB cases */

struct hcase {
	const char	*what;
	const char	*hdr[4];	/* header values of one message */
	size_t		 len0;		/* length of hdr[0] if it has NULs */
	uint64_t	 total;
	uint64_t	 distinct;
};

static const struct hcase cases[] = {
	/* the forms the brief lists */
	{ "two plain", { "a@b, c@d" }, 0, 2, 2 },
	{ "comma in quotes", { "\"Doe, John\" <j@x>" }, 0, 1, 1 },
	{ "comma in comment", { "John (the, boss) <j@x>" }, 0, 1, 1 },
	{ "nested comments", { "John ((a,b),c) <j@x>" }, 0, 1, 1 },
	{ "angle only", { "<j@x>" }, 0, 1, 1 },
	{ "trailing comment", { "j@x (comment)" }, 0, 1, 1 },
	{ "quoted local part", { "\"a,b\"@x" }, 0, 1, 1 },
	{ "escaped quote", { "\"a\\\"b,c\"@x" }, 0, 1, 1 },
	{ "escaped ( in comment", { "J (the \\( boss, x) <j@x>" }, 0, 1, 1 },
	{ "escaped ) in comment", { "J (a \\) b, c) <j@x>" }, 0, 1, 1 },
	{ "empty group", { "undisclosed-recipients:;" }, 0, 0, 0 },
	{ "group", { "team: a@x, b@y;" }, 0, 2, 2 },
	{ "group among", { "a@x, team: b@y, c@z;, d@w" }, 0, 4, 4 },
	{ "unterminated group", { "team: a@x, b@y" }, 0, 2, 2 },
	{ "two groups", { "g1: a@x;, g2: b@y, c@z;" }, 0, 3, 3 },
	{ "empty groups", { "g1:;g2:;" }, 0, 0, 0 },
	{ "colon in display name", { "Re: Bob <b@x>" }, 0, 1, 1 },
	{ "outlook semicolons",
	    { "\"Last, First\" <a@b>; \"Other, Name\" <c@d>" }, 0, 2, 2 },

	/* RFC 2047 encoded words */
	{ "ew Q with comma", { "=?utf-8?Q?D=C3=B6e,_J?= <j@x>" }, 0, 1, 1 },
	{ "ew B", { "=?UTF-8?B?RMO2ZSwgSg==?= <j@x>, k@x" }, 0, 2, 2 },
	{ "ew in quotes", { "\"=?utf-8?Q?Doe,_J?=\" <j@x>" }, 0, 1, 1 },
	{ "ew after comment", { "(c)=?u?q?a,b?= <x@y>" }, 0, 1, 1 },
	{ "ew as group name", { "=?u?q?team,x?=: a@x, b@y;" }, 0, 2, 2 },
	{ "ew 75 bytes", { "=?utf-8?q?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaa,b?= <x@y>" }, 0, 1, 1 },
	{ "ew 76 bytes: not one", { "=?utf-8?q?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,b?= <x@y>" }, 0, 2, 2 },
	{ "ew broken by space", { "=?utf-8?Q?a,b c@d" }, 0, 2, 2 },
	{ "ew hiding addresses", { "=?x?q?a@b,c@d?=" }, 0, 2, 2 },
	{ "ew inside a word", { "a=?x?q?b,c?=@d" }, 0, 2, 2 },
	{ "ew after quote", { "\"x\"=?u?q?a,b?=" }, 0, 2, 2 },
	{ "ew fails, next one holds", { "=?u?q?a,=?u?q?b,c?= <x@y>" }, 0, 2, 2 },
	{ "ew empty charset", { "=??q?a,b?=" }, 0, 2, 2 },
	{ "ew space in charset", { "=?u t?q?a,b?=" }, 0, 2, 2 },
	{ "ew especial in charset", { "=?u.8?q?a,b?=" }, 0, 2, 2 },
	{ "ew long encoding", { "=?u?qq?a,b?=" }, 0, 2, 2 },
	{ "ew bad encoding", { "=?u?x?a,b?=" }, 0, 2, 2 },
	{ "ew unterminated", { "=?u?q?a,b" }, 0, 2, 2 },
	{ "lone =?", { "=?" }, 0, 1, 1 },
	{ "lone =", { "=" }, 0, 1, 1 },

	/* folding and whitespace */
	{ "folded CRLF", { "Alice <a@x>,\r\n Bob <b@y>,\r\n\t\"Doe,\r\n John\""
	    " <c@z>" }, 0, 3, 3 },
	{ "folded LF", { "a@x,\n b@y,\n\tc@z" }, 0, 3, 3 },
	{ "bare CR and LF", { "a@x\rb@y\n,c@z" }, 0, 2, 2 },
	{ "folded inside angle", { "<a@\r\n x>", "a@x" }, 0, 2, 1 },
	{ "folded inside quotes", { "\"a\r\n b\"@x", "\"a b\"@x" }, 0, 2, 1 },
	{ "empty elements", { "a@x,,b@y, ," }, 0, 2, 2 },
	{ "empty", { "" }, 0, 0, 0 },
	{ "only whitespace", { "   \t\r\n \r\n\t" }, 0, 0, 0 },
	{ "only commas", { ",,,,;;,,;" }, 0, 0, 0 },

	/* elements without an address */
	{ "bare word", { "undisclosed" }, 0, 1, 1 },
	{ "local user", { "root, root" }, 0, 2, 1 },
	{ "display name, empty angle", { "Name <>" }, 0, 0, 0 },
	{ "empty angle", { "<>" }, 0, 0, 0 },
	{ "empty angle then one", { "<>, a@x" }, 0, 1, 1 },
	{ "comment only", { "(only a comment), a@x" }, 0, 1, 1 },
	{ "empty quotes", { "\"\"" }, 0, 0, 0 },
	{ "empty display name", { "a@x, \"\" <b@y>" }, 0, 2, 2 },

	/* malformed */
	{ "unterminated quote", { "a@x, \"Doe, J <j@x>, k@y" }, 0, 2, 2 },
	{ "lone quote", { "a@x, \"" }, 0, 1, 1 },
	{ "unterminated comment", { "a@x, (x, b@y" }, 0, 1, 1 },
	{ "unclosed angle", { "<a@x, b@y" }, 0, 2, 2 },
	{ "unclosed angle, semicolon", { "<a@x;b@y>" }, 0, 2, 2 },
	{ "stray > and )", { "a@x>, b@y), c@z" }, 0, 3, 3 },
	{ "two angles", { "<a@x> <b@y>", "b@y" }, 0, 2, 1 },
	{ "angle then empty angle", { "<a@x> <>", "a@x" }, 0, 2, 1 },
	{ "angle reopened", { "<a@x <b@y>" }, 0, 1, 1 },
	{ "obs-route", { "<@r1,@r2:j@x>, J@X" }, 0, 2, 1 },
	{ "colon in angle", { "<sip:a@x>", "Bob <SIP:a@x>" }, 0, 2, 1 },
	{ "route without colon", { "<@a,@b>" }, 0, 1, 1 },
	{ "route with spaces", { "<@a, (c) @b,,@c:j@x>", "j@x" }, 0, 2, 1 },
	{ "fake route hiding", { "<@x, a@b, c@d, e@f" }, 0, 4, 4 },
	{ "fake route closed", { "<@x, a@b>, c@d" }, 0, 3, 3 },
	{ "domain literals", { "a@[IPv6:::1], b@[1.2.3.4]" }, 0, 2, 2 },
	{ "literal in group", { "team: a@[::1];" }, 0, 1, 1 },
	{ "unclosed literal", { "a@[1.2, b@y" }, 0, 2, 2 },
	{ "NUL inside a word", { "a@x\0b@y, c@z" }, L("a@x\0b@y, c@z"), 2, 2 },
	{ "NUL element", { "a@x,\0,b@y" }, L("a@x,\0,b@y"), 3, 3 },
	{ "high-bit bytes", { "J\xc3\xb6rg <j@x>, \xff\xfe@\x80" }, 0, 2, 2 },
	{ "only parens", { "((((" }, 0, 0, 0 },

	/* identity */
	{ "one address four ways",
	    { "A@X.org, <a@x.org>, Bob <a@x.org>, \"Bob\" <A@x.ORG>" }, 0, 4, 1 },
	{ "spaces and comments", { "< a@x >, a@x (c)" }, 0, 2, 1 },
	{ "quotes kept apart", { "\"a b\"@x, ab@x, \"ab\"@x" }, 0, 3, 2 },
	{ "across To and Cc", { "a@x, b@y", "A@X, c@z" }, 0, 4, 3 },
	{ "across three headers", { "a@x", "b@y", "Al <a@x>" }, 0, 3, 2 },
};

/* count_split - count case c, pushing each value in pieces of `piece` */
static void
count_split(struct addr_count *ac, const struct hcase *c, size_t piece)
{
	size_t i, len, off, n;

	addr_count_init(ac);
	for (i = 0; i < 4 && c->hdr[i] != NULL; i++) {
		len = i == 0 && c->len0 ? c->len0 : strlen(c->hdr[i]);
		if (piece == 0) {
			addr_count_header(ac, c->hdr[i], len);
			continue;
		}
		addr_count_begin(ac);
		for (off = 0; off < len; off += n) {
			n = len - off < piece ? len - off : piece;
			addr_count_push(ac, c->hdr[i] + off, n);
		}
		addr_count_end(ac);
	}
}

/* test_table - every case, whole and split into pieces of 1, 2, 7 bytes */
static void
test_table(void **state)
{
	static const size_t pieces[] = { 0, 1, 2, 7 };
	static struct addr_count ac;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
			count_split(&ac, &cases[i], pieces[j]);
			if (ac.total != cases[i].total ||
			    ac.distinct != cases[i].distinct)
				fail_msg("%s (pieces of %zu): total %llu "
				    "distinct %llu, want %llu %llu",
				    cases[i].what, pieces[j],
				    (unsigned long long)ac.total,
				    (unsigned long long)ac.distinct,
				    (unsigned long long)cases[i].total,
				    (unsigned long long)cases[i].distinct);
		}
	}
}

/* gen_list - n addresses u<k+base>@example.com, display names if fancy */
static size_t
gen_list(char *buf, size_t size, unsigned n, unsigned base, int fancy)
{
	size_t off = 0;
	unsigned k;
	int w;

	buf[0] = '\0';
	for (k = 0; k < n; k++) {
		if (fancy)
			w = snprintf(buf + off, size - off,
			    "%s\"User, No. %u\" (x, y) <U%u@Example.com>%s",
			    k ? "," : "", k, k + base,
			    k % 3 == 2 ? "\r\n\t" : " ");
		else
			w = snprintf(buf + off, size - off, "%su%u@example.com",
			    k ? ", " : "", k + base);
		assert_true(w > 0 && (size_t)w < size - off);
		off += (size_t)w;
	}
	return off;
}

/* test_seed003 - the re-relayed promotion: 630 addresses in To: */
static void
test_seed003(void **state)
{
	static char buf[BIG];
	static struct addr_count ac;
	size_t len;

	(void)state;
	len = gen_list(buf, sizeof(buf), 630, 0, 0);
	addr_count_init(&ac);
	addr_count_header(&ac, buf, len);
	assert_int_equal(ac.total, 630);
	assert_int_equal(ac.distinct, 630);

	/* the same with quoted display names, comments and folding */
	len = gen_list(buf, sizeof(buf), 630, 0, 1);
	addr_count_init(&ac);
	addr_count_header(&ac, buf, len);
	assert_int_equal(ac.total, 630);
	assert_int_equal(ac.distinct, 630);

	/* and repeated in Cc: twice the total, no more distinct */
	len = gen_list(buf, sizeof(buf), 630, 0, 0);
	addr_count_header(&ac, buf, len);
	assert_int_equal(ac.total, 1260);
	assert_int_equal(ac.distinct, 630);
}

/* test_ten_thousand - 10,000 addresses in one header, past the set */
static void
test_ten_thousand(void **state)
{
	static char buf[256 * 1024];
	static struct addr_count ac;
	size_t len;

	(void)state;
	len = gen_list(buf, sizeof(buf), 10000, 0, 0);
	addr_count_init(&ac);
	addr_count_header(&ac, buf, len);
	assert_int_equal(ac.total, 10000);
	assert_true(ac.distinct >= 10000 && ac.distinct <= ac.total);
	assert_int_equal(ac.nseen, ADDR_SEEN_MAX);
}

/* test_overflow - past ADDR_SEEN_MAX distinct may over-count, never under */
static void
test_overflow(void **state)
{
	static char buf[BIG];
	static struct addr_count ac;
	size_t len;

	(void)state;
	/* exactly as many as the set holds: exact, repeats included */
	len = gen_list(buf, sizeof(buf), ADDR_SEEN_MAX, 0, 0);
	addr_count_init(&ac);
	addr_count_header(&ac, buf, len);
	addr_count_header(&ac, buf, len);
	assert_int_equal(ac.total, 2 * ADDR_SEEN_MAX);
	assert_int_equal(ac.distinct, ADDR_SEEN_MAX);

	/* 2,000 distinct, each twice: between 2,000 and 4,000 */
	len = gen_list(buf, sizeof(buf), 2000, 0, 0);
	addr_count_init(&ac);
	addr_count_header(&ac, buf, len);
	addr_count_header(&ac, buf, len);
	assert_int_equal(ac.total, 4000);
	assert_true(ac.distinct >= 2000 && ac.distinct <= 4000);

	/* the first ADDR_SEEN_MAX stay known after the set is full */
	len = gen_list(buf, sizeof(buf), 100, 0, 0);
	addr_count_header(&ac, buf, len);
	assert_int_equal(ac.total, 4100);
	assert_true(ac.distinct >= 2000 && ac.distinct <= 4000);

	/* a new message starts from nothing */
	addr_count_init(&ac);
	assert_int_equal(ac.total, 0);
	assert_int_equal(ac.distinct, 0);
	assert_int_equal(ac.nseen, 0);
}

/* fill - len bytes of pattern pat repeated */
static void
fill(char *buf, size_t len, const char *pat)
{
	size_t i, n = strlen(pat);

	for (i = 0; i < len; i++)
		buf[i] = pat[i % n];
}

/* test_huge - 64 KiB values of one token or of one hostile byte */
static void
test_huge(void **state)
{
	static const struct {
		const char *pat;
		uint64_t total;
	} runs[] = {
		{ "a", 1 }, { "(", 0 }, { ")", 0 }, { "<", 0 }, { ">", 0 },
		{ "\"", 0 }, { ",", 0 }, { ";", 0 }, { ":", 0 }, { "[", 1 },
		{ "\\", 1 }, { "=", 1 }, { "=?", 1 }, { " ", 0 }, { "\r\n ", 0 },
		{ "\xff", 1 }, { "@", 1 }, { "<@", 1 }, { "<@,", 65536 / 3 },
		{ "=?u?q?a", 1 }, { "((a,b)", 0 }, { "\"\\", 1 },
	};
	static char buf[BIG];
	static struct addr_count ac;
	const size_t len = 64 * 1024;
	size_t i;

	(void)state;
	/* one address-like token of 64 KiB */
	fill(buf, len, "a");
	memcpy(buf + len - 6, "@x.org", 6);
	addr_count_init(&ac);
	addr_count_header(&ac, buf, len);
	assert_int_equal(ac.total, 1);
	assert_int_equal(ac.distinct, 1);

	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		fill(buf, len, runs[i].pat);
		addr_count_init(&ac);
		addr_count_header(&ac, buf, len);
		if (ac.total != runs[i].total)
			fail_msg("64 KiB of \"%s\": total %llu, want %llu",
			    runs[i].pat, (unsigned long long)ac.total,
			    (unsigned long long)runs[i].total);
	}

	/* many failing encoded words: linear, and every comma counts */
	fill(buf, len / 17 * 17, "=?u?q?x,=?u?q?y, ");
	addr_count_init(&ac);
	addr_count_header(&ac, buf, len / 17 * 17);
	assert_int_equal(ac.total, 2 * (len / 17));
}

/* test_unbalanced - values ending inside quotes or comments are flagged */
static void
test_unbalanced(void **state)
{
	static const char *const v[] = {
		"a@x, \"Doe, J <j@x>, k@y",	/* quote */
		"a@x, (x, b@y",			/* comment */
		"a@x, ((x) b@y",		/* nested comment */
		"\"a\\\"",			/* escaped closing quote */
	};
	static struct addr_count ac;
	size_t i;

	(void)state;
	addr_count_init(&ac);
	addr_count_header(&ac, "\"a, b\" <c@d>, (e) f@g", 21); /* 2 */
	addr_count_header(&ac, "<a@x, b@y", 9); /* 2; ',' closes '<' */
	assert_int_equal(ac.unbalanced, 0);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		addr_count_header(&ac, v[i], strlen(v[i]));
	assert_int_equal(ac.unbalanced, 4);
	assert_int_equal(ac.total, 2 + 2 + (2 + 1 + 1 + 1));
	addr_count_init(&ac);
	assert_int_equal(ac.unbalanced, 0);
}

/* test_header_counted - the four header names, any case */
static void
test_header_counted(void **state)
{
	(void)state;
	assert_true(addr_header_counted("To"));
	assert_true(addr_header_counted("to"));
	assert_true(addr_header_counted("TO"));
	assert_true(addr_header_counted("Cc"));
	assert_true(addr_header_counted("Resent-To"));
	assert_true(addr_header_counted("RESENT-cc"));
	assert_true(addr_header_counted("To \t"));	/* obs "To :" */
	assert_false(addr_header_counted("From"));
	assert_false(addr_header_counted("Bcc"));
	assert_false(addr_header_counted("Resent-Bcc"));
	assert_false(addr_header_counted("Tox"));
	assert_false(addr_header_counted("T"));
	assert_false(addr_header_counted(" To"));
	assert_false(addr_header_counted(""));
	assert_false(addr_header_counted(NULL));
}

/* test_null - a NULL value is an empty one */
static void
test_null(void **state)
{
	static struct addr_count ac;

	(void)state;
	addr_count_init(&ac);
	addr_count_header(&ac, NULL, 0);
	addr_count_header(&ac, NULL, 5);
	assert_int_equal(ac.total, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_seed003),
		cmocka_unit_test(test_ten_thousand),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_unbalanced),
		cmocka_unit_test(test_header_counted),
		cmocka_unit_test(test_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
