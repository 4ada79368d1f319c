/* test_qidmem - queue ids per login: window, caps, take once, hostile ids */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "qidmem.h"

#define K1	"0123456789abcdef0123456789abcdef"
#define K2	"fedcba9876543210fedcba9876543210"

/* take_text - take a login's ids as "a,b,c" */
static size_t
take_text(struct qidmem *m, const char *key, uint64_t now, uint32_t win,
    char *out, size_t outlen)
{
	char *ids;
	size_t n, i, o = 0;

	out[0] = '\0';
	n = qidmem_take(m, key, now, win, &ids);
	assert_true(n != (size_t)-1);
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "",
		    ids + i * QIDMEM_ID_SIZE);
	if (n == 0)
		assert_null(ids);
	free(ids);
	return n;
}

/* test_take - per login, oldest first, once */
static void
test_take(void **state)
{
	struct qidmem *m = qidmem_new(100, 1000);
	char buf[256];

	(void)state;
	assert_int_equal(qidmem_add(m, K1, "4XbT2k0mZz", 100, 3600), 0);
	assert_int_equal(qidmem_add(m, K2, "AAA1", 101, 3600), 0);
	assert_int_equal(qidmem_add(m, K1, "4XbT2k0n1a", 102, 3600), 0);
	assert_int_equal(qidmem_count(m, K1), 2);
	assert_int_equal(qidmem_count(m, NULL), 3);
	assert_int_equal(take_text(m, K1, 200, 3600, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "4XbT2k0mZz,4XbT2k0n1a");
	/* at most once: a second lock event finds nothing */
	assert_int_equal(take_text(m, K1, 201, 3600, buf, sizeof(buf)), 0);
	assert_int_equal(take_text(m, K2, 202, 3600, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "AAA1");
	assert_int_equal(qidmem_count(m, NULL), 0);
	qidmem_free(m);
	qidmem_free(NULL);
}

/* each_fn - note what qidmem_each visits, as "key:id@t," */
static void
each_fn(void *ctx, const char *key, const char *qid, uint64_t at)
{
	char *out = ctx;

	snprintf(out + strlen(out), 256 - strlen(out), "%.4s:%s@%llu,", key,
	    qid, (unsigned long long)at);
}

/* test_each - every id held, oldest first; taken ones are gone (the
 * state file saves the memory this way) */
static void
test_each(void **state)
{
	struct qidmem *m = qidmem_new(100, 1000);
	char buf[256] = "", ids[256];

	(void)state;
	assert_int_equal(qidmem_add(m, K1, "A1", 100, 3600), 0);
	assert_int_equal(qidmem_add(m, K2, "B1", 101, 3600), 0);
	assert_int_equal(qidmem_add(m, K1, "A2", 102, 3600), 0);
	assert_int_equal(qidmem_each(m, each_fn, buf), 3);
	assert_string_equal(buf, "0123:A1@100,fedc:B1@101,0123:A2@102,");
	assert_int_equal(take_text(m, K1, 200, 3600, ids, sizeof(ids)), 2);
	buf[0] = '\0';
	assert_int_equal(qidmem_each(m, each_fn, buf), 1);
	assert_string_equal(buf, "fedc:B1@101,");
	qidmem_free(m);
}

/* test_window - an id is handed over until exactly `window` has passed */
static void
test_window(void **state)
{
	struct qidmem *m = qidmem_new(100, 1000);
	char buf[256];

	(void)state;
	qidmem_add(m, K1, "OLD", 1000, 3600);
	qidmem_add(m, K1, "MID", 2000, 3600);
	qidmem_add(m, K1, "NEW", 4000, 3600);
	/* at 4599, OLD is 3599 s old: still in; at 4600 it is out */
	assert_int_equal(take_text(m, K1, 4600, 3600, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "MID,NEW");
	qidmem_add(m, K2, "A", 1000, 3600);
	assert_int_equal(take_text(m, K2, 4599, 3600, buf, sizeof(buf)), 1);
	/* expired ids are dropped by later adds too: memory goes back */
	qidmem_add(m, K1, "X", 10000, 60);
	qidmem_add(m, K2, "Y", 20000, 60);
	assert_int_equal(qidmem_count(m, NULL), 1);
	assert_int_equal(qidmem_count(m, K1), 0);
	qidmem_free(m);
}

/* test_caps - per login and in total, the oldest go first */
static void
test_caps(void **state)
{
	struct qidmem *m = qidmem_new(3, 5);
	char buf[256], id[16];
	int i;

	(void)state;
	for (i = 1; i <= 5; i++) {
		snprintf(id, sizeof(id), "A%d", i);
		assert_int_equal(qidmem_add(m, K1, id, 100 + (uint64_t)i,
		    3600), 0);
	}
	assert_int_equal(qidmem_count(m, K1), 3);	/* A3 A4 A5 */
	/* the ring is full (2 dead + 3 live): B1 pushes out a dead one */
	qidmem_add(m, K2, "B1", 200, 3600);
	qidmem_add(m, K2, "B2", 201, 3600);
	assert_int_equal(qidmem_count(m, K1), 3);
	/* the ring holds 5: the next add drops the oldest live id, A3 */
	qidmem_add(m, K2, "B3", 202, 3600);
	assert_int_equal(take_text(m, K1, 300, 3600, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "A4,A5");
	assert_int_equal(take_text(m, K2, 300, 3600, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "B1,B2,B3");
	assert_null(qidmem_new(0, 10));
	assert_null(qidmem_new(10, 0));
	qidmem_free(m);
}

/* test_hostile - ids that could be options or paths are refused */
static void
test_hostile(void **state)
{
	static const char *bad[] = {
		"", "-d", "--help", "ALL", "a b", "a/b", "../x", "a\nb", "a;b",
		"123456789012345678901234",	/* QIDMEM_ID_MAX + 1 */
		"\xc3\xa9", "$(x)",
	};
	struct qidmem *m = qidmem_new(10, 10);
	char key[QIDMEM_KEY_MAX + 2];
	size_t i;

	(void)state;
	/* "ALL" would hold the whole Postfix queue */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(qidmem_add(m, K1, bad[i], 1, 60), 1);
	assert_int_equal(qidmem_add(m, K1, "ALLx", 1, 60), 0);
	assert_int_equal(qidmem_add(m, K1, "12345678901234567890123", 1, 60),
	    0);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(qidmem_add(m, key, "ID", 1, 60), 1);
	assert_int_equal(qidmem_add(m, "", "ID", 1, 60), 1);
	assert_int_equal(qidmem_count(m, NULL), 2);
	qidmem_free(m);
}

/* test_churn - many logins, random-ish traffic, counts always add up */
static void
test_churn(void **state)
{
	struct qidmem *m = qidmem_new(50, 2000);
	char key[40], id[16], *ids;
	size_t n, total = 0, live;
	unsigned i, x = 12345;

	(void)state;
	for (i = 0; i < 50000; i++) {
		x = x * 1103515245 + 12345;
		snprintf(key, sizeof(key), "k%u", (x >> 8) % 700);
		snprintf(id, sizeof(id), "Q%u", i);
		assert_int_equal(qidmem_add(m, key, id, 1000 + i / 10, 600), 0);
		if (i % 97 == 0) {
			n = qidmem_take(m, key, 1000 + i / 10, 600, &ids);
			assert_true(n <= 50);
			total += n;
			free(ids);
		}
		assert_true(qidmem_count(m, key) <= 50);
	}
	live = qidmem_count(m, NULL);
	assert_true(live <= 2000);
	assert_true(total > 0);
	assert_int_equal(qidmem_entry_bytes(), 40);
	qidmem_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
