/* test_window.c - the bucket arithmetic of window.h at its edges */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "window.h"

/* test_width - bucket widths, including windows that do not divide */
static void
test_width(void **state)
{
	(void)state;
	assert_int_equal(window_width(3600, 12), 300000);
	assert_int_equal(window_width(60, 1), 60000);
	assert_int_equal(window_width(10, 3), 3334);	/* rounded up */
	assert_int_equal(window_width(1, 60), 17);
	assert_int_equal(window_width(1, 0), 1000);	/* 0 buckets = 1 */
}

/* test_live - B + 1 buckets are live: the current one and B before it */
static void
test_live(void **state)
{
	(void)state;
	assert_true(window_live(100, 100, 12));
	assert_true(window_live(88, 100, 12));
	assert_false(window_live(87, 100, 12));
	assert_true(window_live(101, 100, 12));	/* clock stepped back */
	assert_true(window_live(0, 1, 1));
	assert_false(window_live(0, 2, 1));
}

/*
 * test_cover - the live buckets always contain [now - W, now]: an event
 * exactly W ms old still counts, at every offset within a bucket.
 */
static void
test_cover(void **state)
{
	static const struct { uint32_t w, b; } cases[] = {
		{ 3600, 12 }, { 60, 1 }, { 10, 3 }, { 86400, 60 }, { 1, 1 },
	};
	uint64_t now, ev, width;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		width = window_width(cases[i].w, cases[i].b);
		for (now = 1000000000; now < 1000000000 + 2 * width;
		    now += 7) {
			ev = now - (uint64_t)cases[i].w * 1000;
			assert_true(window_live(window_index(ev, width),
			    window_index(now, width), cases[i].b));
			/* and nothing older than (B + 1) buckets counts */
			ev = now - (uint64_t)(cases[i].b + 1) * width - 1;
			assert_false(window_live(window_index(ev, width),
			    window_index(now, width), cases[i].b));
		}
	}
}

/* test_retry - seconds until the oldest events drop out */
/* a lock of length d, charged at t: ends in [t + d, t + d + w] */
static void
test_until(void **state)
{
	static const uint32_t win[] = { 86400, 3600, 61, 7 };
	uint64_t t, d, w, end;
	int64_t idx;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(win) / sizeof(win[0]); i++) {
		w = window_width(win[i], 60);
		for (t = 1700000000000ULL; t < 1700000000000ULL + 3 * w;
		    t += w / 3 + 1)
			for (d = 1000; d <= win[i] * 1000ULL; d += d / 2 + 7) {
				idx = window_index_until(t + d, win[i], 60);
				end = window_end(idx, win[i], 60);
				assert_true(end >= t + d && end <= t + d + w);
				/* counted until end, not at end */
				assert_true(window_live(idx,
				    window_index(end - 1, w), 60));
				assert_false(window_live(idx,
				    window_index(end, w), 60));
				assert_true(window_live(idx,
				    window_index(t, w), 60));
			}
	}
}

static void
test_retry(void **state)
{
	/* W = 60 s, B = 6: width 10 s; now = 1000 s -> bucket 100 */
	struct window_bucket b[] = { { 94, 3 }, { 97, 2 }, { 100, 5 } };
	uint64_t now = 1000000;

	(void)state;
	/* total 10, limit 10: one more needs bucket 94 gone at (94+7)*10 s */
	assert_int_equal(window_retry(b, 3, now, 60, 6, 10, 1), 10);
	/* cost 4 needs 94 (3) and 97 (2) gone: (97+7)*10 = 1040 s */
	assert_int_equal(window_retry(b, 3, now, 60, 6, 10, 4), 40);
	/* fits now */
	assert_int_equal(window_retry(b, 3, now, 60, 6, 11, 1), 0);
	/* never fits */
	assert_int_equal(window_retry(b, 3, now, 60, 6, 10, 11), UINT32_MAX);
	/* limit 0, cost 0: fits; limit 0, cost 1: never */
	assert_int_equal(window_retry(NULL, 0, now, 60, 6, 0, 0), 0);
	assert_int_equal(window_retry(NULL, 0, now, 60, 6, 0, 1), UINT32_MAX);
	/* mid-bucket: 3.5 s later the wait is 6.5 s, rounded up to 7 */
	assert_int_equal(window_retry(b, 3, now + 3500, 60, 6, 10, 1), 7);
	/* dead buckets are ignored: at bucket 101, 94 is gone */
	assert_int_equal(window_retry(b, 3, 1010000, 60, 6, 8, 1), 0);
}

/* test_retry_future - buckets ahead of the clock still count */
static void
test_retry_future(void **state)
{
	struct window_bucket b[] = { { 105, 4 } };

	(void)state;
	/* clock stepped back to bucket 100; the events in 105 still count */
	assert_int_equal(window_retry(b, 1, 1000000, 60, 6, 4, 1),
	    (105 + 7) * 10 - 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_cover),
		cmocka_unit_test(test_until),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_retry_future),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
