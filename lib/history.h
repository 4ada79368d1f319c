/* history.h - a login's own usual sending: the arithmetic every store uses */
#ifndef SLUICE_HISTORY_H
#define SLUICE_HISTORY_H

#include <stdint.h>

/*
 * A history item (store_item.history) learns how many events a sender
 * usually has per bucket (store_item.window seconds, e.g. one hour) and
 * is over when the current bucket holds more than `factor` times that,
 * more than twice its recent peak bucket (a weekly newsletter is part
 * of its usual) and more than the item's limit (an absolute floor).
 * Six numbers per
 * sender, whatever its age: O(1) memory.
 *
 *   first  bucket index (floor(t / width)) of the sender's first event
 *   cur    bucket index being counted; count: its events so far
 *   n, mean  the buckets with at least one event before cur ("active"
 *          buckets: folded in when a later bucket begins), and their
 *          mean count, exponentially weighted once n reaches `keep /
 *          window` buckets: mean += (count - mean) / n, n capped there.
 *   peak   the busiest of those buckets, decayed: at each fold
 *          peak = max(count, peak - peak / cap), cap = keep / window.
 *
 * Empty buckets (nights, weekends, holidays) are not folded in: the
 * typical count is that of an hour in which the sender sends at all, so
 * an absence does not lower it, and the daily rhythm does not make an
 * office hour look like a burst. Each event pushes the expiry of the
 * whole state to `keep` seconds later: a login silent that long starts
 * over. A sender younger than `learn` seconds (cur - first buckets), or
 * with no finished active bucket, is learning: never over, judged by its
 * class limits alone.
 *
 * A clock that steps back keeps counting in bucket cur (never frees
 * quota). The same arithmetic in doubles runs in charge.lua; + - and /
 * on IEEE doubles give both stores the same answers.
 */

struct history_state {
	int64_t		 first;		/* bucket of the first event */
	int64_t		 cur;		/* bucket being counted */
	uint64_t	 count;		/* events in bucket cur */
	uint32_t	 n;		/* active buckets folded into mean */
	double		 mean;		/* their (weighted) mean count */
	double		 peak;		/* their decayed busiest count */
	int		 known;		/* 0: a sender never seen */
};

struct history_judgement {
	int		 learning;	/* too young to judge */
	double		 typical;	/* usual events per bucket */
	uint64_t	 threshold;	/* over when count + cost exceeds it;
					   0 while learning */
	int		 over;		/* count + cost > threshold */
	uint32_t	 retry;		/* seconds until the next bucket */
};

/* history_fold - bring a state to the bucket of now_ms: fold a finished
 * bucket into the mean (n capped at keep_s / window_s), start a new one */
void	history_fold(struct history_state *, uint64_t now_ms,
	    uint32_t window_s, uint32_t keep_s);

/* history_judge - would cost more events put a folded state over? */
void	history_judge(const struct history_state *, uint64_t now_ms,
	    uint32_t window_s, uint32_t learn_s, uint32_t factor,
	    uint64_t low, uint64_t cost, struct history_judgement *);

/* history_add - charge cost events to a folded state */
void	history_add(struct history_state *, uint64_t cost);

#endif
