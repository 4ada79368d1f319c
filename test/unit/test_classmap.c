/* test_classmap.c - live class overrides: folding, @domain, hostile fields */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "classmap.h"

/* add - add a NUL-terminated pair */
static int
add(struct classmap *m, const char *k, const char *c)
{
	return classmap_add(m, k, strlen(k), c, strlen(c));
}

/* test_lookup - exact login first, then @domain; case folded both ways */
static void
test_lookup(void **state)
{
	static const struct {
		const char	*login;
		const char	*want;	/* NULL: no override */
	} cases[] = {
		{ "alice@example.com", "bulk" },
		{ "ALICE@Example.COM", "bulk" },
		{ "bob@example.com", "small" },		/* @domain */
		{ "bob@EXAMPLE.com", "small" },
		{ "bob@sub.example.com", NULL },	/* not a suffix match */
		{ "carol@other.test", "vip" },		/* from "Carol@..." */
		{ "dave", NULL },			/* no '@' */
		{ "dave@", NULL },
		{ "x@y@example.com", "small" },		/* the last '@' */
		{ "", NULL },
	};
	struct classmap *m = classmap_new();
	size_t i;

	(void)state;
	assert_non_null(m);
	assert_int_equal(add(m, "alice@example.com", "bulk"), 0);
	assert_int_equal(add(m, "@example.com", "small"), 0);
	assert_int_equal(add(m, "Carol@Other.test", "vip"), 0);
	classmap_seal(m);
	assert_int_equal(classmap_count(m), 3);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = classmap_lookup(m, cases[i].login);

		if (cases[i].want == NULL)
			assert_null(got);
		else {
			assert_non_null(got);
			assert_string_equal(got, cases[i].want);
		}
	}
	assert_null(classmap_lookup(m, NULL));
	assert_null(classmap_lookup(NULL, "alice@example.com"));
	classmap_free(m);
}

/* test_find - a whole name, then a given @domain: the two names of an
 * origin (sender_class_names), e.g. "envelope:ADDR", "envelope:@dom" */
static void
test_find(void **state)
{
	struct classmap *m = classmap_new();

	(void)state;
	assert_int_equal(add(m, "bob@example.com", "bulk"), 0);
	assert_int_equal(add(m, "@example.com", "small"), 0);
	assert_int_equal(add(m, "envelope:@lists.example", "vip"), 0);
	classmap_seal(m);
	assert_string_equal(classmap_find(m, "BOB@example.com",
	    "@example.com"), "bulk");
	assert_string_equal(classmap_find(m, "x@example.com", "@example.com"),
	    "small");
	assert_null(classmap_find(m, "envelope:bob@example.com",
	    "envelope:@example.com"));
	assert_null(classmap_find(m, "x@example.com", NULL));
	assert_string_equal(classmap_find(m, "envelope:news@lists.example",
	    "envelope:@Lists.Example"), "vip");
	assert_null(classmap_find(m, "news@lists.example", "@lists.example"));
	assert_null(classmap_find(m, NULL, "@example.com"));
	classmap_free(m);
}

/* test_skipped - what a class name or a key cannot be is skipped */
static void
test_skipped(void **state)
{
	static char longkey[CLASSMAP_KEY_MAX + 2];
	static char longcls[CLASSMAP_NAME_MAX + 2];
	struct classmap *m = classmap_new();

	(void)state;
	memset(longkey, 'a', sizeof(longkey) - 1);
	memset(longcls, 'c', sizeof(longcls) - 1);
	assert_int_equal(add(m, "", "bulk"), 1);
	assert_int_equal(add(m, "a@b", ""), 1);
	assert_int_equal(add(m, "a@b", "has space"), 1);
	assert_int_equal(add(m, "a@b", "crlf\r\n"), 1);
	assert_int_equal(add(m, "a@b", "{x}"), 1);
	assert_int_equal(add(m, "@", "bulk"), 1);
	assert_int_equal(add(m, "@a@b", "bulk"), 1);
	assert_int_equal(add(m, longkey, "bulk"), 1);
	assert_int_equal(add(m, "a@b", longcls), 1);
	/* a NUL inside a store string: never cut into a shorter key */
	assert_int_equal(classmap_add(m, "a\0b", 3, "bulk", 4), 1);
	assert_int_equal(classmap_add(m, "a@b", 3, "bu\0k", 4), 1);
	/* control bytes in a key are a login's business: kept, matched */
	assert_int_equal(add(m, "evil\r\n@x", "bulk"), 0);
	longkey[CLASSMAP_KEY_MAX] = '\0';
	assert_int_equal(add(m, longkey, "bulk"), 0);
	classmap_seal(m);
	assert_int_equal(classmap_count(m), 2);
	assert_string_equal(classmap_lookup(m, "EVIL\r\n@x"), "bulk");
	assert_string_equal(classmap_lookup(m, longkey), "bulk");
	classmap_free(m);
}

/* test_duplicates - two fields folding to one key: the first class wins */
static void
test_duplicates(void **state)
{
	struct classmap *a = classmap_new(), *b = classmap_new();

	(void)state;
	assert_int_equal(add(a, "Alice@x", "zeta"), 0);
	assert_int_equal(add(a, "alice@x", "alpha"), 0);
	assert_int_equal(add(b, "alice@x", "alpha"), 0);
	assert_int_equal(add(b, "ALICE@X", "zeta"), 0);
	classmap_seal(a);
	classmap_seal(b);
	assert_int_equal(classmap_count(a), 1);
	assert_string_equal(classmap_lookup(a, "alice@x"), "alpha");
	assert_true(classmap_equal(a, b));	/* order of arrival: no matter */
	classmap_free(a);
	classmap_free(b);
}

/* test_equal_has - comparing snapshots, exact membership */
static void
test_equal_has(void **state)
{
	struct classmap *a = classmap_new(), *b = classmap_new();
	struct classmap *e = classmap_new();
	const char *k, *c;

	(void)state;
	add(a, "@d", "bulk");
	add(a, "u@d", "vip");
	add(b, "u@d", "vip");
	classmap_seal(a);
	classmap_seal(b);
	classmap_seal(e);
	assert_false(classmap_equal(a, b));
	assert_true(classmap_equal(e, NULL));
	assert_true(classmap_equal(NULL, NULL));
	assert_false(classmap_equal(a, NULL));
	assert_true(classmap_has(a, "u@d", "vip"));
	assert_false(classmap_has(a, "u@d", "bulk"));
	assert_false(classmap_has(a, "x@d", "bulk"));	/* exact, no @domain */
	assert_true(classmap_has(a, "@d", "bulk"));
	assert_false(classmap_has(NULL, "@d", "bulk"));
	classmap_entry(a, 0, &k, &c);
	assert_string_equal(k, "@d");
	assert_string_equal(c, "bulk");
	add(b, "@d", "small");
	classmap_free(b);
	classmap_free(a);
	classmap_free(e);
	classmap_free(NULL);
}

/* test_many - a large map still answers every login */
static void
test_many(void **state)
{
	struct classmap *m = classmap_new();
	char k[64];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "User%d@Example.test", i);
		assert_int_equal(add(m, k, i % 2 ? "odd" : "even"), 0);
	}
	classmap_seal(m);
	assert_int_equal(classmap_count(m), 20000);
	for (i = 0; i < 20000; i += 7) {
		snprintf(k, sizeof(k), "user%d@example.TEST", i);
		assert_string_equal(classmap_lookup(m, k), i % 2 ? "odd" :
		    "even");
	}
	classmap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_equal_has),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
