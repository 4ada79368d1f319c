/*
 * history.c - a login's usual count per bucket, and whether it is far
 * above it now (the rule is stated in history.h).
 *
 * Pure functions over a caller-owned state; thread-safe. The memory
 * store keeps one struct history_state per sender and item; charge.lua
 * keeps the same five numbers in one Redis hash and mirrors these three
 * functions line by line.
 */
#include <math.h>

#include "history.h"

/* width - a bucket's width in ms */
static uint64_t
width(uint32_t window_s)
{
	return window_s ? (uint64_t)window_s * 1000 : 1000;
}

/* history_fold - bring a state to the bucket of now_ms */
void
history_fold(struct history_state *h, uint64_t now_ms, uint32_t window_s,
    uint32_t keep_s)
{
	int64_t cur = (int64_t)(now_ms / width(window_s));
	uint32_t cap = window_s ? keep_s / window_s : 1;

	if (!h->known) {
		h->first = h->cur = cur;
		h->count = 0;
		h->n = 0;
		h->mean = h->peak = 0;
		h->known = 1;
		return;
	}
	if (cur <= h->cur)
		return;		/* same bucket, or the clock stepped back */
	if (cap == 0)
		cap = 1;
	if (h->count > 0) {
		if (h->n < cap)
			h->n++;
		h->mean += ((double)h->count - h->mean) / (double)h->n;
		h->peak -= h->peak / (double)cap;
		if ((double)h->count > h->peak)
			h->peak = (double)h->count;
	}
	h->cur = cur;
	h->count = 0;
}

/* history_judge - would cost more events put a folded state over? */
void
history_judge(const struct history_state *h, uint64_t now_ms,
    uint32_t window_s, uint32_t learn_s, uint32_t factor, uint64_t low,
    uint64_t cost, struct history_judgement *j)
{
	uint64_t w = width(window_s), next;
	double t;

	j->typical = h->known ? h->mean : 0;
	j->learning = !h->known || h->n == 0 ||
	    (uint64_t)(h->cur - h->first) * w < (uint64_t)learn_s * 1000;
	j->threshold = 0;
	j->over = 0;
	j->retry = 0;
	if (j->learning)
		return;
	t = floor((double)factor * h->mean);
	if (floor(2 * h->peak) > t)
		t = floor(2 * h->peak);
	j->threshold = t > (double)low ? (uint64_t)t : low;
	j->over = h->count + cost > j->threshold;
	if (j->over) {
		next = (uint64_t)(h->cur + 1) * w;
		j->retry = next <= now_ms ? 1 :
		    (uint32_t)((next - now_ms + 999) / 1000);
	}
}

/* history_add - charge cost events to a folded state */
void
history_add(struct history_state *h, uint64_t cost)
{
	h->count += cost;
}
