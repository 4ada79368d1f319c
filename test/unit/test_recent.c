/* test_recent - at most once per period per key, with an injected clock */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "recent.h"

/* test_period - due, not due within the period, due again after it */
static void
test_period(void **state)
{
	static const struct {
		const char	*key;
		uint64_t	 now;
		int		 due;
	} steps[] = {
		{ "a", 1000, 1 }, { "a", 1000, 0 }, { "a", 4599, 0 },
		{ "b", 4599, 1 }, { "a", 4600, 1 }, { "a", 4601, 0 },
		{ "a", 100, 1 },	/* clock stepped back: due, not stuck */
		{ "a", 101, 0 }, { "b", 8199, 1 },
	};
	struct recent *r = recent_new(16);
	size_t i;

	(void)state;
	assert_non_null(r);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		assert_int_equal(recent_due(r, steps[i].key, steps[i].now,
		    3600), steps[i].due);
	recent_free(r);
}

/* test_forget - a failed write makes the key due at once */
static void
test_forget(void **state)
{
	struct recent *r = recent_new(16);

	(void)state;
	assert_int_equal(recent_due(r, "k", 10, 3600), 1);
	assert_int_equal(recent_due(r, "k", 11, 3600), 0);
	recent_forget(r, "k");
	assert_int_equal(recent_due(r, "k", 12, 3600), 1);
	recent_forget(r, "never-seen");
	recent_free(r);
	recent_free(NULL);
}

/* test_full - more keys than slots: early (again), never late */
static void
test_full(void **state)
{
	struct recent *r = recent_new(8);	/* one set of 8 */
	char k[RECENT_KEY_MAX + 8];
	int i, due = 0;

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "%032d", i);
		assert_int_equal(recent_due(r, k, 1000 + (uint64_t)i, 3600), 1);
	}
	/* the 8 marked last are remembered */
	for (i = 92; i < 100; i++) {
		snprintf(k, sizeof(k), "%032d", i);
		assert_int_equal(recent_due(r, k, 1200, 3600), 0);
	}
	/* older ones were evicted: due again (an extra write, no loss) */
	for (i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "%032d", i);
		due += recent_due(r, k, 1200, 3600);
	}
	assert_int_equal(due, 10);
	/* a key too long to remember is always due */
	memset(k, 'x', RECENT_KEY_MAX + 1);
	k[RECENT_KEY_MAX + 1] = '\0';
	assert_int_equal(recent_due(r, k, 1, 3600), 1);
	assert_int_equal(recent_due(r, k, 1, 3600), 1);
	recent_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
