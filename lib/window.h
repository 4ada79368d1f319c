/* window.h - bucketed sliding windows: the counting rule every store uses */
#ifndef SLUICE_WINDOW_H
#define SLUICE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/*
 * A window of W seconds is cut into B buckets of width w = ceil(W*1000/B)
 * ms (so B * w >= W even when B does not divide W).
 * An event at time t (ms) lands in bucket floor(t / w). At time t the
 * window counts every bucket whose index is >= floor(t / w) - B, i.e.
 * B + 1 buckets, which cover [floor(t/w)*w - W, t] and so always contain
 * [t - W, t]. Hence:
 *   - no sliding window of length W ever holds more than the limit;
 *   - an event stops counting more than W and at most (B + 1) * w after
 *     it happened, i.e. at most one bucket width (W / B, plus B ms of
 *     rounding) later than an exact sliding window would forget it:
 *     sluice may refuse early by at most that much, never admit more.
 * Buckets with an index above the current one (the clock stepped back)
 * are still counted, so a clock step never frees quota.
 * Memory: at most B + 1 counters per sender per limit.
 */

#define WINDOW_MAX_BUCKETS 60	/* upper bound on B */

struct window_bucket {
	int64_t		 index;	/* floor(t / width) of its events */
	uint64_t	 count;	/* events in that bucket */
};

/* window_width - bucket width in ms for a window of `window_s` seconds */
uint64_t	window_width(uint32_t window_s, uint32_t buckets);

/* window_index - bucket index of time `now_ms` */
int64_t		window_index(uint64_t now_ms, uint64_t width);

/* window_live - is bucket `index` still counted at bucket `cur`? */
int		window_live(int64_t index, int64_t cur, uint32_t buckets);

/* window_end - ms when bucket `index` stops counting: (index + B + 1) * w */
uint64_t	window_end(int64_t index, uint32_t window_s, uint32_t buckets);

/*
 * window_index_until - the bucket whose events stop counting first at or
 * after `t_ms`: ceil(t / w) - B - 1 (a lock of a given length)
 */
int64_t		window_index_until(uint64_t t_ms, uint32_t window_s,
		    uint32_t buckets);

/*
 * window_retry - seconds from now_ms until `cost` more events fit under
 * `limit`, given the live buckets (any order); 0 if they fit now;
 * UINT32_MAX if they never can (cost > limit).
 */
uint32_t	window_retry(const struct window_bucket *b, size_t n,
		    uint64_t now_ms, uint32_t window_s, uint32_t buckets,
		    uint64_t limit, uint64_t cost);

#endif
