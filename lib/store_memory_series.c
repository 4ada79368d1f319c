/*
 * store_memory_series.c - the embedded store's series: one subject's
 * counters (window buckets, distinct members, near bodies, history), the
 * index that finds one among thousands, and what is dead in them.
 *
 * Public (store_memory_int.h): the series_*, members_*, near_*,
 * mem_history_* functions, mem_series_new, mem_series_reserve,
 * sender_series, drop_dead, mem_hash64.
 *
 * Memory: a subject owns its series; a series owns its buckets (b0 in
 * place, a heap array once more are needed), members and near bodies.
 * Not thread-safe by itself: every caller holds the subject's stripe lock
 * (store_memory.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "history.h"
#include "store.h"
#include "store_memory_int.h"
#include "window.h"

/* mem_hash64 - 64-bit FNV-1a of a sender key, for distinct members */
uint64_t
mem_hash64(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* series_free - free one series (already unlinked) */
void
series_free(struct mem_series *s)
{
	free(s->members);
	free(s->nears);
	if (s->b != s->b0)
		free(s->b);
	free(s);
}

/* mem_series_reserve - room for n buckets (n <= MEM_SERIES_CAP); -1: none */
int
mem_series_reserve(struct mem_series *s, size_t n)
{
	struct window_bucket *b;
	size_t cap = s->bcap;

	if (n <= cap)
		return 0;
	if (n > MEM_SERIES_CAP)
		return -1;
	while (cap < n)
		cap *= 2;
	if (cap > MEM_SERIES_CAP)
		cap = MEM_SERIES_CAP;
	if ((b = malloc(cap * sizeof(*b))) == NULL)
		return -1;
	memcpy(b, s->b, s->n * sizeof(*b));
	if (s->b != s->b0)
		free(s->b);
	s->b = b;
	s->bcap = cap;
	return 0;
}

/* series_id - a hash of what tells one series of a subject from another */
static uint64_t
series_id(const char *name, const char *sub, uint32_t window,
    uint32_t buckets, int distinct, int near, int history)
{
	uint64_t h = mem_hash64(name) * 31 + mem_hash64(sub);

	h = (h ^ window) * 1099511628211ULL;
	h = (h ^ buckets) * 1099511628211ULL;
	return h ^ (uint64_t)(distinct | near << 1 | history << 2) << 61;
}

/* idx_rebuild - the index at cap chains, every series in it; -1: no memory
 * (the old index, if any, stays) */
static int
idx_rebuild(struct mem_sender *snd, uint32_t cap)
{
	struct mem_series **idx, *s;

	if ((idx = calloc(cap, sizeof(*idx))) == NULL)
		return -1;
	for (s = snd->series; s != NULL; s = s->next) {
		s->hnext = idx[s->id & (cap - 1)];
		idx[s->id & (cap - 1)] = s;
	}
	free(snd->idx);
	snd->idx = idx;
	snd->idxcap = cap;
	return 0;
}

/* idx_add - s was just linked at the head of the list: index it */
static void
idx_add(struct mem_sender *snd, struct mem_series *s)
{
	snd->nseries++;
	if (snd->idx == NULL) {
		if (snd->nseries >= MEM_IDX_MIN)
			(void)idx_rebuild(snd, 2 * MEM_IDX_MIN);
		return;		/* (a failed build: the list still works) */
	}
	if (snd->nseries > 2 * snd->idxcap &&
	    idx_rebuild(snd, 2 * snd->idxcap) == 0)
		return;		/* s is in the new index */
	s->hnext = snd->idx[s->id & (snd->idxcap - 1)];
	snd->idx[s->id & (snd->idxcap - 1)] = s;
}

/* series_unlink - take s out of the index (the caller unlinks the list) */
void
series_unlink(struct mem_sender *snd, struct mem_series *s)
{
	struct mem_series **hp;

	snd->nseries--;
	if (snd->idx == NULL)
		return;
	for (hp = &snd->idx[s->id & (snd->idxcap - 1)]; *hp != s;
	    hp = &(*hp)->hnext)
		;
	*hp = s->hnext;
}

/* series_prune - drop buckets no longer live at time now */
void
series_prune(struct mem_series *s, uint64_t now)
{
	int64_t cur = window_index(now, window_width(s->window, s->buckets));
	size_t i, j;

	for (i = j = 0; i < s->n; i++)
		if (window_live(s->b[i].index, cur, s->buckets))
			s->b[j++] = s->b[i];
	s->n = j;
}

/* series_total - events counted by a pruned series */
uint64_t
series_total(const struct mem_series *s)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		t += s->b[i].count;
	return t;
}

/*
 * series_add - add cost to the bucket of time now. When the clock went
 * back and forth so often that the series is full, the oldest bucket is
 * folded into the next older-but-one: its events then count a little
 * longer, never shorter, so the limit still holds.
 */
void
series_add(struct mem_series *s, uint64_t now, uint64_t cost)
{
	int64_t cur = window_index(now, window_width(s->window, s->buckets));
	size_t i, old = 0, next = 0;

	for (i = 0; i < s->n; i++)
		if (s->b[i].index == cur) {
			s->b[i].count += cost;
			return;
		}
	if (s->n == s->bcap && mem_series_reserve(s, s->n + 1) == -1) {
		/* full (or no memory to grow): fold the oldest in */
		for (i = 1; i < s->n; i++)
			if (s->b[i].index < s->b[old].index)
				old = i;
		next = old == 0 ? 1 : 0;
		for (i = 0; i < s->n; i++)
			if (i != old && s->b[i].index < s->b[next].index)
				next = i;
		s->b[next].count += s->b[old].count;
		s->b[old] = s->b[--s->n];
	}
	s->b[s->n].index = cur;
	s->b[s->n].count = cost;
	s->n++;
}

/* members_prune - forget senders not seen within the window */
void
members_prune(struct mem_series *s, uint64_t now)
{
	uint64_t from = now > (uint64_t)s->window * 1000 ?
	    now - (uint64_t)s->window * 1000 : 0;
	size_t i, j;

	for (i = j = 0; i < s->nmembers; i++)
		if (s->members[i].seen > from)
			s->members[j++] = s->members[i];
	s->nmembers = j;
}

/* members_find - index of a sender among the members, or -1 */
long
members_find(const struct mem_series *s, uint64_t h)
{
	size_t i;

	for (i = 0; i < s->nmembers; i++)
		if (s->members[i].hash == h)
			return (long)i;
	return -1;
}

/* members_add - note a sender now; keeps at most limit + 1 (the newest) */
int
members_add(struct mem_series *s, uint64_t h, uint64_t now, uint64_t limit)
{
	struct mem_member *nm;
	size_t cap, i, old;
	long at = members_find(s, h);

	if (at >= 0) {
		s->members[at].seen = now;
		return 0;
	}
	cap = limit + 1 > 65536 ? 65536 : (size_t)limit + 1;
	if (s->nmembers >= cap) {
		for (i = old = 0; i < s->nmembers; i++)
			if (s->members[i].seen < s->members[old].seen)
				old = i;
		s->members[old].hash = h;
		s->members[old].seen = now;
		return 0;
	}
	if (s->nmembers == s->capmembers) {
		size_t nc = s->capmembers ? s->capmembers * 2 : 8;

		if ((nm = realloc(s->members, nc * sizeof(*nm))) == NULL)
			return -1;
		s->members = nm;
		s->capmembers = nc;
	}
	s->members[s->nmembers].hash = h;
	s->members[s->nmembers].seen = now;
	s->nmembers++;
	return 0;
}

/* near_prune - forget bodies older than the window */
void
near_prune(struct mem_series *s, uint64_t now)
{
	uint64_t from = now > (uint64_t)s->window * 1000 ?
	    now - (uint64_t)s->window * 1000 : 0;
	size_t i, j;

	for (i = j = 0; i < s->nnears; i++)
		if (s->nears[i].seen > from)
			s->nears[j++] = s->nears[i];
	s->nnears = j;
}

/* near_count - kept bodies at most it->distance bits from it->simhash */
uint64_t
near_count(const struct mem_series *s, const struct store_item *it)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; s != NULL && i < s->nnears; i++)
		if (fp_near(s->nears[i].simhash, it->simhash, it->distance))
			n++;
	return n;
}

/* near_retry - seconds until enough near bodies left the window */
uint32_t
near_retry(const struct mem_series *s, const struct store_item *it,
    uint64_t count, uint64_t cost, uint64_t now)
{
	uint64_t need, ms;
	size_t i;

	if (count + cost <= it->limit)
		return 0;
	if (cost > it->limit)
		return UINT32_MAX;
	need = count + cost - it->limit;	/* the oldest near ones go first */
	for (i = 0; s != NULL && i < s->nnears; i++)
		if (fp_near(s->nears[i].simhash, it->simhash, it->distance) &&
		    --need == 0) {
			ms = s->nears[i].seen + (uint64_t)it->window * 1000;
			return ms <= now ? 1 : (uint32_t)((ms - now + 999) /
			    1000);
		}
	return UINT32_MAX;
}

/* near_add - keep one more body; past STORE_NEAR_KEEP the oldest goes */
int
near_add(struct mem_series *s, uint64_t simhash, uint64_t now)
{
	if (s->nears == NULL &&
	    (s->nears = calloc(STORE_NEAR_KEEP, sizeof(*s->nears))) == NULL)
		return -1;
	if (s->nnears == STORE_NEAR_KEEP) {
		memmove(s->nears, s->nears + 1,
		    (STORE_NEAR_KEEP - 1) * sizeof(*s->nears));
		s->nnears--;
	}
	s->nears[s->nnears].simhash = simhash;
	s->nears[s->nnears].seen = now;
	s->nnears++;
	return 0;
}

/* series_prune_any - drop what no longer counts, whatever the kind */
void
series_prune_any(struct mem_series *s, uint64_t now)
{
	if (s->history) {
		if (now >= s->hist_until)	/* silent for `keep`: start over */
			memset(&s->hist, 0, sizeof(s->hist));
	} else if (s->distinct)
		members_prune(s, now);
	else if (s->near)
		near_prune(s, now);
	else
		series_prune(s, now);
}

/* series_expiry - ms after which nothing of the series counts */
uint64_t
series_expiry(const struct mem_series *s)
{
	uint64_t width = window_width(s->window, s->buckets), e = 0, t;
	size_t i;

	if (s->history)
		return s->hist_until;
	if (s->near) {
		for (i = 0; i < s->nnears; i++)
			if (s->nears[i].seen + (uint64_t)s->window * 1000 > e)
				e = s->nears[i].seen +
				    (uint64_t)s->window * 1000;
		return e;
	}
	if (s->distinct) {
		for (i = 0; i < s->nmembers; i++)
			if (s->members[i].seen + (uint64_t)s->window * 1000 > e)
				e = s->members[i].seen +
				    (uint64_t)s->window * 1000;
		return e;
	}

	for (i = 0; i < s->n; i++) {
		if (s->b[i].index < 0)
			continue;
		t = ((uint64_t)s->b[i].index + s->buckets + 1) * width;
		if (t > e)
			e = t;
	}
	return e;
}

/* mem_history_judge - a history item's answer from its series (or none) */
void
mem_history_judge(struct mem_series *s, struct store_item *it, uint64_t now)
{
	struct history_state h;
	struct history_judgement j;

	memset(&h, 0, sizeof(h));
	if (s != NULL) {
		series_prune_any(s, now);
		h = s->hist;
	}
	history_fold(&h, now, it->window, it->keep);
	history_judge(&h, now, it->window, it->learn, it->factor, it->limit,
	    it->cost, &j);
	it->count = h.count;
	it->over = (uint8_t)j.over;
	it->retry = j.retry;
	it->learning = (uint8_t)j.learning;
	it->typical = (uint64_t)(j.typical * 1000 + 0.5);
}

/* mem_history_add - charge a history item: fold, add, keep for `keep` */
void
mem_history_add(struct mem_series *s, struct store_item *it, uint64_t now)
{
	history_fold(&s->hist, now, it->window, it->keep);
	history_add(&s->hist, it->cost);
	s->hist_until = now + (uint64_t)it->keep * 1000;
	it->count = s->hist.count;
}

/* mem_series_new - an empty series for an item's kind, linked in */
struct mem_series *
mem_series_new(struct mem_sender *snd, const char *name, const char *sub,
    uint32_t window, uint32_t buckets, int distinct, int near, int history)
{
	struct mem_series *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->b = s->b0;
	s->bcap = MEM_SERIES_B0;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->sub, sizeof(s->sub), "%s", sub);
	s->window = window;
	s->buckets = buckets;
	s->distinct = distinct;
	s->near = near;
	s->history = history;
	s->id = series_id(name, sub, window, buckets, distinct, near, history);
	s->next = snd->series;
	snd->series = s;
	idx_add(snd, s);
	return s;
}

/* sender_series - find (or, with create, make) the series of one item */
struct mem_series *
sender_series(struct mem_sender *snd, const struct store_item *it, int create)
{
	uint64_t id = series_id(it->name, it->sub, it->window, it->buckets,
	    it->distinct, it->near, it->history);
	struct mem_series *s;

	s = snd->idx != NULL ? snd->idx[id & (snd->idxcap - 1)] : snd->series;
	for (; s != NULL; s = snd->idx != NULL ? s->hnext : s->next)
		if (s->id == id && s->window == it->window &&
		    s->buckets == it->buckets && s->distinct == it->distinct &&
		    s->near == it->near && s->history == it->history &&
		    strcmp(s->name, it->name) == 0 &&
		    strcmp(s->sub, it->sub) == 0)
			return s;
	if (!create)
		return NULL;
	return mem_series_new(snd, it->name, it->sub, it->window, it->buckets,
	    it->distinct, it->near, it->history);
}

/* drop_dead - free the series of a subject in which nothing counts now
 * (a body's `repeats` counter an hour on): found again, one is new */
void
drop_dead(struct mem_sender *snd, uint64_t now)
{
	struct mem_series **sp, *s;

	for (sp = &snd->series; (s = *sp) != NULL;) {
		if (series_expiry(s) <= now) {
			*sp = s->next;
			series_unlink(snd, s);
			series_free(s);
		} else
			sp = &s->next;
	}
}
