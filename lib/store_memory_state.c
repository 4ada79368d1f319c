/*
 * store_memory_state.c - the embedded store's counters as bytes, for the
 * state file (state.h) and back.
 *
 * Dump: one hash chain locked at a time (its stripe's mutex), its
 * subjects copied into the caller's buffer, then the next: a message
 * waits at most for one chain's copy (a 4096th of the store), never for
 * the disk. Load: at
 * start, before mail; each record is checked (lengths, windows, bucket
 * counts) and the first bad one stops the load with what came before it
 * kept. Time is honoured on both sides: bucket indices are absolute
 * (floor(ms / width)), so what ended while the daemon was down is pruned
 * on load; a lock keeps its end.
 *
 * Record of one subject: key (str), txns (u32), series (u32); per txn:
 * id (str), expires (u64); per series: name, sub (str), window,
 * buckets (u32), kind (u8: 0 buckets, 1 distinct, 2 near, 3 history),
 * entries (u32), then per entry two u64 (index and count; hash and seen;
 * simhash and seen; a history series: 4 entries, first and cur, count
 * and n, the bits of mean and peak, hist_until and known).
 *
 * Thread-safe as the store itself is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "state.h"
#include "store.h"
#include "store_memory_int.h"

#define KIND_BUCKETS	0
#define KIND_DISTINCT	1
#define KIND_NEAR	2
#define KIND_HISTORY	3	/* history.h's state, 4 entries */
#define MEMBERS_MAX	65536	/* as members_add keeps at most */
#define SERIES_MIN_BYTES 16	/* the shortest series record: name (2),
				   sub (1), window, buckets, kind, n */
#define RESERVE		(1024 * 1024) /* free room before a chain's copy */

/* dump_sender - one subject's record */
static void
dump_sender(struct state_buf *b, const struct mem_sender *snd)
{
	const struct mem_series *s;
	const struct mem_txn *t;
	uint32_t n = 0;
	size_t i;

	state_put_str(b, snd->key);
	for (t = snd->txns; t != NULL; t = t->next)
		n++;
	state_put_u32(b, n);
	for (t = snd->txns; t != NULL; t = t->next) {
		state_put_str(b, t->id);
		state_put_u64(b, t->expires);
	}
	for (n = 0, s = snd->series; s != NULL; s = s->next)
		n++;
	state_put_u32(b, n);
	for (s = snd->series; s != NULL; s = s->next) {
		state_put_str(b, s->name);
		state_put_str(b, s->sub);
		state_put_u32(b, s->window);
		state_put_u32(b, s->buckets);
		if (s->history) {
			uint64_t mean, peak;

			memcpy(&mean, &s->hist.mean, sizeof(mean));
			memcpy(&peak, &s->hist.peak, sizeof(peak));
			state_put_u8(b, KIND_HISTORY);
			state_put_u32(b, 4);
			state_put_u64(b, (uint64_t)s->hist.first);
			state_put_u64(b, (uint64_t)s->hist.cur);
			state_put_u64(b, s->hist.count);
			state_put_u64(b, s->hist.n);
			state_put_u64(b, mean);
			state_put_u64(b, peak);
			state_put_u64(b, s->hist_until);
			state_put_u64(b, (uint64_t)s->hist.known);
		} else if (s->distinct) {
			state_put_u8(b, KIND_DISTINCT);
			state_put_u32(b, (uint32_t)s->nmembers);
			for (i = 0; i < s->nmembers; i++) {
				state_put_u64(b, s->members[i].hash);
				state_put_u64(b, s->members[i].seen);
			}
		} else if (s->near) {
			state_put_u8(b, KIND_NEAR);
			state_put_u32(b, (uint32_t)s->nnears);
			for (i = 0; i < s->nnears; i++) {
				state_put_u64(b, s->nears[i].simhash);
				state_put_u64(b, s->nears[i].seen);
			}
		} else {
			state_put_u8(b, KIND_BUCKETS);
			state_put_u32(b, (uint32_t)s->n);
			for (i = 0; i < s->n; i++) {
				state_put_u64(b, (uint64_t)s->b[i].index);
				state_put_u64(b, s->b[i].count);
			}
		}
	}
}

/*
 * store_memory_dump - append every live subject to b as one section
 * (STATE_SEC_MEMORY); *subjects counts them, *max_hold_us is the longest
 * a stripe stayed locked; -1 when out of memory
 */
int
store_memory_dump(struct store *st, struct state_buf *b, size_t *subjects,
    uint64_t *max_hold_us)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t now = ms->clock(ms->clock_ctx);
	struct mem_sender *snd;
	size_t k, c, at, n = 0;
	uint64_t t0, t;

	at = state_begin(b, STATE_SEC_MEMORY);
	*max_hold_us = 0;
	/* no growth while the chains are walked: a subject moved from a
	 * chain dumped to one not yet would be written twice */
	pthread_mutex_lock(&ms->grow_lock);
	for (c = 0; c < ms->nchains; c++) {	/* one chain at a time */
		k = c % MEM_STRIPES;
		state_reserve(b, RESERVE);	/* no realloc under the lock */
		pthread_mutex_lock(&ms->locks[k]);
		t0 = clock_mono_us();
		for (snd = ms->chains[c]; snd != NULL; snd = snd->next)
			if (snd->expires > now) {
				dump_sender(b, snd);
				n++;
			}
		t = clock_mono_us() - t0;
		pthread_mutex_unlock(&ms->locks[k]);
		if (t > *max_hold_us)
			*max_hold_us = t;
	}
	pthread_mutex_unlock(&ms->grow_lock);
	state_end(b, at);
	if (b->oom)
		return -1;
	*subjects = n;
	return 0;
}

/* load_series - one series into snd; -1 when the record is bad */
static int
load_series(struct state_rd *r, struct mem_sender *snd)
{
	char name[STORE_NAME_MAX + 1], sub[STORE_SUB_MAX + 1];
	uint32_t window, buckets, n, i;
	struct mem_series *s;
	uint64_t x, y;
	uint8_t kind;

	state_get_str(r, name, sizeof(name));
	state_get_str(r, sub, sizeof(sub));
	window = state_get_u32(r);
	buckets = state_get_u32(r);
	kind = state_get_u8(r);
	n = state_get_u32(r);
	if (r->bad || name[0] == '\0' || window == 0 || buckets == 0 ||
	    buckets > WINDOW_MAX_BUCKETS || kind > KIND_HISTORY ||
	    (kind == KIND_HISTORY && n != 4) ||
	    (kind == KIND_BUCKETS && n > MEM_SERIES_CAP) ||
	    (kind == KIND_NEAR && n > STORE_NEAR_KEEP) ||
	    (kind == KIND_DISTINCT && n > MEMBERS_MAX) ||
	    (size_t)n * 16 > r->len - r->off)
		return -1;
	if ((s = mem_series_new(snd, name, sub, window, buckets,
	    kind == KIND_DISTINCT, kind == KIND_NEAR,
	    kind == KIND_HISTORY)) == NULL)
		return -1;
	if (kind == KIND_HISTORY) {
		s->hist.first = (int64_t)state_get_u64(r);
		s->hist.cur = (int64_t)state_get_u64(r);
		s->hist.count = state_get_u64(r);
		x = state_get_u64(r);
		s->hist.n = x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
		x = state_get_u64(r);
		memcpy(&s->hist.mean, &x, sizeof(x));
		x = state_get_u64(r);
		memcpy(&s->hist.peak, &x, sizeof(x));
		s->hist_until = state_get_u64(r);
		s->hist.known = state_get_u64(r) != 0;
		return r->bad ? -1 : 0;
	}
	if (kind == KIND_DISTINCT && n > 0 &&
	    (s->members = calloc(n, sizeof(*s->members))) == NULL)
		return -1;
	if (kind == KIND_NEAR &&
	    (s->nears = calloc(STORE_NEAR_KEEP, sizeof(*s->nears))) == NULL)
		return -1;
	if (kind == KIND_BUCKETS && mem_series_reserve(s, n) == -1)
		return -1;
	s->capmembers = kind == KIND_DISTINCT ? n : 0;
	for (i = 0; i < n; i++) {
		x = state_get_u64(r);
		y = state_get_u64(r);
		if (kind == KIND_DISTINCT) {
			s->members[i].hash = x;
			s->members[i].seen = y;
		} else if (kind == KIND_NEAR) {
			s->nears[i].simhash = x;
			s->nears[i].seen = y;
		} else {
			s->b[i].index = (int64_t)x;
			s->b[i].count = y;
		}
	}
	if (kind == KIND_DISTINCT)
		s->nmembers = n;
	else if (kind == KIND_NEAR)
		s->nnears = n;
	else
		s->n = n;
	return r->bad ? -1 : 0;
}

/* load_sender - one subject's record; -1 when it is bad */
static int
load_sender(struct mem_store *ms, struct state_rd *r, uint64_t now,
    size_t *loaded)
{
	char key[STORE_SENDER_MAX + 1];
	struct mem_sender *snd;
	struct mem_txn *t;
	uint32_t n, i;
	size_t k;
	int rc = 0;

	state_get_str(r, key, sizeof(key));
	if (r->bad || key[0] == '\0')
		return -1;
	k = mem_stripe(key);
	pthread_mutex_lock(&ms->locks[k]);
	if ((snd = mem_find(ms, key, 1)) == NULL)
		rc = -1;
	n = rc == 0 ? state_get_u32(r) : 0;
	for (i = 0; rc == 0 && i < n; i++) {
		if ((t = calloc(1, sizeof(*t))) == NULL) {
			rc = -1;
			break;
		}
		state_get_str(r, t->id, sizeof(t->id));
		t->expires = state_get_u64(r);
		t->next = snd->txns;
		snd->txns = t;
		if (r->bad)
			rc = -1;
	}
	n = rc == 0 ? state_get_u32(r) : 0;
	if (n > (r->len - r->off) / SERIES_MIN_BYTES)	/* cannot all be there */
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++)
		rc = load_series(r, snd);
	if (snd != NULL) {
		mem_sender_prune(snd, now);
		(*loaded)++;
	}
	pthread_mutex_unlock(&ms->locks[k]);
	mem_grow(ms);
	return rc;
}

/*
 * store_memory_load - add the subjects of a state payload (every
 * section; others than STATE_SEC_MEMORY skipped); *loaded counts them.
 * 0, or -1 with err at the first bad record (those before it stay).
 */
int
store_memory_load(struct store *st, const unsigned char *p, size_t len,
    size_t *loaded, char *err, size_t errlen)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t now = ms->clock(ms->clock_ctx);
	struct state_rd sec;
	int rc;

	*loaded = 0;
	if ((rc = state_section(p, len, STATE_SEC_MEMORY, &sec)) == -1) {
		snprintf(err, errlen, "malformed sections");
		return -1;
	}
	while (rc == 1 && sec.off < sec.len)
		if (load_sender(ms, &sec, now, loaded) == -1) {
			snprintf(err, errlen, "bad record at byte %zu of the "
			    "store's section", sec.off);
			return -1;
		}
	return 0;
}
