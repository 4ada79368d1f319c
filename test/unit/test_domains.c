/* test_domains.c - local_domains: parsing, and internal vs external */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "domains.h"

/* test_match - exact names, ".parent" for what is below, the recipient
 * forms an MTA hands over */
static void
test_match(void **state)
{
	static const struct {
		const char	*rcpt;
		int		 local;
	} cases[] = {
		{ "<bob@example.com>", 1 },
		{ "bob@example.com", 1 },
		{ "<BOB@Example.COM>", 1 },
		{ "<bob@example.com.>", 1 },	/* absolute name */
		{ "<bob@mail.example.com>", 0 }, /* exact entry only */
		{ "<bob@example.com.evil.test>", 0 },
		{ "<bob@notexample.com>", 0 },
		{ "<bob@corp.example>", 0 },	/* ".corp.example": below only */
		{ "<bob@a.corp.example>", 1 },
		{ "<bob@x.Y.corp.example>", 1 },
		{ "<bob@xcorp.example>", 0 },
		{ "<\"a@example.com\"@dest.test>", 0 },	/* the last @ */
		{ "<@relay.test:bob@example.com>", 1 },	/* source route */
		{ "<postmaster>", 1 },		/* no domain: this system */
		{ "postmaster", 1 },
		{ "<bob@>", 0 },
		{ "<bob@[192.0.2.1]>", 0 },
		{ "<bob@dest.test>", 0 },
	};
	char err[256];
	struct domains *d = domains_parse("example.com, .corp.example",
	    err, sizeof(err));
	size_t i;

	(void)state;
	assert_non_null(d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (domains_local(d, cases[i].rcpt) != cases[i].local)
			fail_msg("%s: expected %s", cases[i].rcpt,
			    cases[i].local ? "internal" : "external");
	/* no list: every recipient with a domain is external */
	assert_false(domains_local(NULL, "<bob@example.com>"));
	assert_true(domains_local(NULL, "<postmaster>"));
	assert_false(domains_local(d, NULL));
	domains_free(d);
	domains_free(NULL);
}

/* test_parse - separators, folding, repeats, bad entries, format */
static void
test_parse(void **state)
{
	static const char *const bad[] = { "", " , ", "a..b", ".", "..a",
	    "a.", "exa_mple.com", "[192.0.2.1]", "a@b", "*.example.com",
	    NULL };
	char err[256], out[128], label[80], name[300];
	struct domains *d;
	size_t i;

	(void)state;
	d = domains_parse(" B.test,a.test\t.C.test , a.test,,", err,
	    sizeof(err));
	assert_non_null(d);
	assert_int_equal(domains_count(d), 3);
	assert_int_equal(domains_format(d, ", ", out, sizeof(out)), 23);
	assert_string_equal(out, ".c.test, a.test, b.test");
	assert_int_equal(domains_format(d, ", ", out, 10), 23);
	assert_true(strlen(out) < 10);
	domains_free(d);
	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		if (domains_parse(bad[i], err, sizeof(err)) != NULL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
	/* a label of 64 characters, a name of 254: too long */
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_null(domains_parse(label, err, sizeof(err)));
	label[63] = '\0';
	d = domains_parse(label, err, sizeof(err));
	assert_non_null(d);
	domains_free(d);
	memset(name, 'a', 254);
	for (i = 50; i < 254; i += 50)
		name[i] = '.';
	name[254] = '\0';
	assert_null(domains_parse(name, err, sizeof(err)));
	name[253] = '\0';
	d = domains_parse(name, err, sizeof(err));
	assert_non_null(d);
	domains_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
