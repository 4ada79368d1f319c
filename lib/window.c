/*
 * window.c - bucketed sliding-window arithmetic shared by every store.
 *
 * Pure functions, no state, thread-safe. The rule and its accuracy bound
 * are stated in window.h; contrib/redis/charge.lua applies the same rule
 * inside Redis and the store test suite checks both give one answer.
 */
#include "window.h"

/* window_width - bucket width in ms for a window of window_s seconds */
uint64_t
window_width(uint32_t window_s, uint32_t buckets)
{
	uint64_t w;

	if (buckets == 0)
		buckets = 1;
	/* rounded up, so that B buckets always span at least W */
	w = ((uint64_t)window_s * 1000 + buckets - 1) / buckets;
	return w ? w : 1;
}

/* window_index - bucket index of time now_ms */
int64_t
window_index(uint64_t now_ms, uint64_t width)
{
	return (int64_t)(now_ms / width);
}

/* window_live - is bucket index still counted at bucket cur? */
int
window_live(int64_t index, int64_t cur, uint32_t buckets)
{
	return index >= cur - (int64_t)buckets;
}

/* window_end - when a bucket's events stop counting */
uint64_t
window_end(int64_t index, uint32_t window_s, uint32_t buckets)
{
	return (uint64_t)(index + (int64_t)buckets + 1) *
	    window_width(window_s, buckets);
}

/* window_index_until - the bucket that stops counting first at or after t */
int64_t
window_index_until(uint64_t t_ms, uint32_t window_s, uint32_t buckets)
{
	uint64_t w = window_width(window_s, buckets);

	return (int64_t)((t_ms + w - 1) / w) - (int64_t)buckets - 1;
}

/* window_retry - seconds until cost more events fit under limit */
uint32_t
window_retry(const struct window_bucket *b, size_t n, uint64_t now_ms,
    uint32_t window_s, uint32_t buckets, uint64_t limit, uint64_t cost)
{
	uint64_t width = window_width(window_s, buckets);
	int64_t cur = window_index(now_ms, width);
	uint64_t total = 0, freed = 0, ms;
	int64_t oldest, prev = INT64_MIN;
	size_t i;

	if (cost > limit)
		return UINT32_MAX;
	for (i = 0; i < n; i++)
		if (window_live(b[i].index, cur, buckets))
			total += b[i].count;
	if (total + cost <= limit)
		return 0;

	/*
	 * Buckets drop out oldest first: bucket i stops counting when the
	 * current index passes i + buckets, at time (i + buckets + 1) * width.
	 * Walk them in index order (n is at most WINDOW_MAX_BUCKETS + 1, and
	 * a quadratic pick of the next-oldest keeps this allocation-free).
	 */
	for (;;) {
		oldest = INT64_MAX;
		for (i = 0; i < n; i++)
			if (window_live(b[i].index, cur, buckets) &&
			    b[i].index > prev && b[i].index < oldest)
				oldest = b[i].index;
		if (oldest == INT64_MAX)
			return UINT32_MAX; /* cannot happen: cost <= limit */
		for (i = 0; i < n; i++)
			if (b[i].index == oldest)
				freed += b[i].count;
		prev = oldest;
		if (total - freed + cost <= limit)
			break;
	}
	ms = (uint64_t)(oldest + buckets + 1) * width;
	if (ms <= now_ms)
		return 1;
	ms -= now_ms;
	return (uint32_t)((ms + 999) / 1000);
}
