/* test_okcache.c - when a sender may skip the MAIL check, and for how long */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "detector.h"
#include "okcache.h"

/* item - one answered item of a kind */
static struct store_item
item(enum item_kind kind, uint64_t limit, uint64_t count)
{
	struct store_item it;

	detector_item_set(&it, kind, 3600, 12, limit, 1);
	it.count = count;
	return it;
}

/* test_fine_items - 3/4 of each limit, locks, and what MAIL never checks */
static void
test_fine_items(void **state)
{
	struct store_item it[4];

	(void)state;
	it[0] = item(ITEM_MESSAGES, 100, 75);
	it[1] = item(ITEM_RECIPIENTS, 400, 10);
	it[2] = item(ITEM_LOCK, 0, 0);
	assert_true(okcache_fine_items(it, 3));
	it[0].count = 76;			/* over 3/4 used */
	assert_false(okcache_fine_items(it, 3));
	it[0].count = 1;
	it[2].count = 1;			/* locked */
	assert_false(okcache_fine_items(it, 3));
	it[2].count = 0;
	it[0] = item(ITEM_MESSAGES, 1, 1);	/* a limit of 1: never */
	assert_false(okcache_fine_items(it, 3));
	it[0] = item(ITEM_MESSAGES, 2, 1);		/* room is at least 1 */
	assert_true(okcache_fine_items(it, 3));
	it[0] = item(ITEM_MESSAGES, 0, 0);
	assert_false(okcache_fine_items(it, 1));
	/* soft, on-refuse and body/copy items are not checked at MAIL */
	it[0] = item(ITEM_REPEATS, 2, 2);
	it[0].soft = 1;
	it[1] = item(ITEM_REFUSED, 5, 5);
	it[1].on_refuse = 1;
	it[2] = item(ITEM_WAVE, 2, 2);
	snprintf(it[2].scope, sizeof(it[2].scope), "ab");
	it[3] = item(ITEM_REPEATS, 2, 2);
	snprintf(it[3].sub, sizeof(it[3].sub), "cd");
	assert_true(okcache_fine_items(it, 4));
	it[1].on_refuse = 0;
	assert_false(okcache_fine_items(it, 4));
	it[0] = item(ITEM_MESSAGES, 100, 10);
	it[0].over = 1;
	assert_false(okcache_fine_items(it, 1));
}

/* test_note - noted senders are fine until their time, others never */
static void
test_note(void **state)
{
	struct okcache *oc = okcache_new(8);
	char key[40], lkey[STORE_SENDER_MAX + 2];
	int i;

	(void)state;
	assert_non_null(oc);
	assert_false(okcache_fine(oc, "aa", 0));
	okcache_note(oc, "aa", 1000, okcache_epoch(oc));
	assert_true(okcache_fine(oc, "aa", 999));
	assert_false(okcache_fine(oc, "aa", 1000));
	assert_false(okcache_fine(oc, "ab", 0));
	okcache_forget(oc, "ab");		/* another key: no effect */
	assert_true(okcache_fine(oc, "aa", 0));
	okcache_forget(oc, "aa");
	assert_false(okcache_fine(oc, "aa", 0));
	/* more senders than slots: some forgotten, none invented */
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "%032x", i);
		okcache_note(oc, key, 5000, okcache_epoch(oc));
	}
	for (i = 100; i < 1000; i++) {
		snprintf(key, sizeof(key), "%032x", i);
		assert_false(okcache_fine(oc, key, 0));
	}
	snprintf(key, sizeof(key), "%032x", 99);
	assert_true(okcache_fine(oc, key, 0));	/* the last one stays */
	okcache_clear(oc);
	assert_false(okcache_fine(oc, key, 0));
	/* a key too long to keep is never fine */
	memset(lkey, 'f', sizeof(lkey) - 1);
	lkey[sizeof(lkey) - 1] = '\0';
	okcache_note(oc, lkey, 5000, okcache_epoch(oc));
	assert_false(okcache_fine(oc, lkey, 0));
	okcache_free(oc);
	okcache_free(NULL);
	okcache_forget(NULL, "aa");
	assert_false(okcache_fine(NULL, "aa", 0));
}

/*
 * test_epoch - a class change (or a reload) clears the cache: a sender
 * noted before it is checked at MAIL again, and an answer computed
 * before it (read its epoch first) cannot be noted after it
 */
static void
test_epoch(void **state)
{
	struct okcache *oc = okcache_new(64);
	uint64_t before, after;

	(void)state;
	assert_non_null(oc);
	before = okcache_epoch(oc);
	okcache_note(oc, "aa", 5000, before);
	okcache_note(oc, "bb", 5000, before);
	assert_true(okcache_fine(oc, "aa", 0));
	okcache_clear(oc);			/* the login's class changed */
	after = okcache_epoch(oc);
	assert_true(after != before);
	assert_false(okcache_fine(oc, "aa", 0));
	assert_false(okcache_fine(oc, "bb", 0));
	/* in flight across the change: computed under the old class */
	okcache_note(oc, "aa", 5000, before);
	assert_false(okcache_fine(oc, "aa", 0));
	/* read after the change: noted */
	okcache_note(oc, "aa", 5000, after);
	assert_true(okcache_fine(oc, "aa", 0));
	okcache_free(oc);
	assert_int_equal(okcache_epoch(NULL), 0);
	okcache_note(NULL, "aa", 5000, 0);	/* no cache: nothing */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fine_items),
		cmocka_unit_test(test_note),
		cmocka_unit_test(test_epoch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
