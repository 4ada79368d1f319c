/*
 * store_memory.c - the embedded store: every counter in this process.
 *
 * The default for one relay, and the "local" fallback while Redis is
 * down. Senders live in a chained hash table; each sender holds one series
 * of window buckets per (item name, window) it was charged on, and the
 * transaction ids it was charged for. A check-and-charge locks the stripe
 * of its sender's chain, so one sender's request is atomic while other
 * senders proceed on other stripes. Each call also sweeps one chain for
 * senders with nothing live, so memory follows the active senders.
 *
 * Thread-safe. The store owns every entry; callers own their requests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "window.h"

#define MEM_CHAINS	4096		/* hash chains, power of two */
#define MEM_STRIPES	64		/* mutexes; chain i uses i % MEM_STRIPES */
#define MEM_SERIES_CAP	(2 * (WINDOW_MAX_BUCKETS + 1)) /* buckets kept */

struct mem_series {
	struct mem_series	*next;
	char			 name[STORE_NAME_MAX + 1];
	uint32_t		 window;
	uint32_t		 buckets;
	size_t			 n;		/* used entries of b[] */
	struct window_bucket	 b[MEM_SERIES_CAP];
};

struct mem_txn {
	struct mem_txn		*next;
	uint64_t		 expires;	/* ms */
	char			 id[STORE_TXN_MAX + 1];
};

struct mem_sender {
	struct mem_sender	*next;
	struct mem_series	*series;
	struct mem_txn		*txns;
	uint64_t		 expires;	/* ms: nothing live after this */
	char			 key[STORE_SENDER_MAX + 1];
};

struct mem_store {
	struct store		 base;		/* first: the interface */
	store_clock_fn		 clock;
	void			*clock_ctx;
	pthread_mutex_t		 locks[MEM_STRIPES];
	struct mem_sender	*chains[MEM_CHAINS];
	pthread_mutex_t		 sweep_lock;
	size_t			 sweep_next;	/* next chain to sweep */
};

/* mem_hash - FNV-1a of a sender key */
static size_t
mem_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return (size_t)(h & (MEM_CHAINS - 1));
}

/* mem_sender_free - free one sender and all it holds */
static void
mem_sender_free(struct mem_sender *snd)
{
	struct mem_series *s, *sn;
	struct mem_txn *t, *tn;

	for (s = snd->series; s != NULL; s = sn) {
		sn = s->next;
		free(s);
	}
	for (t = snd->txns; t != NULL; t = tn) {
		tn = t->next;
		free(t);
	}
	free(snd);
}

/* series_prune - drop buckets no longer live at time now */
static void
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
static uint64_t
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
static void
series_add(struct mem_series *s, uint64_t now, uint64_t cost)
{
	int64_t cur = window_index(now, window_width(s->window, s->buckets));
	size_t i, old = 0, next = 0;

	for (i = 0; i < s->n; i++)
		if (s->b[i].index == cur) {
			s->b[i].count += cost;
			return;
		}
	if (s->n == MEM_SERIES_CAP) {
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

/* series_expiry - ms after which nothing of the series counts */
static uint64_t
series_expiry(const struct mem_series *s)
{
	uint64_t width = window_width(s->window, s->buckets), e = 0, t;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->b[i].index < 0)
			continue;
		t = ((uint64_t)s->b[i].index + s->buckets + 1) * width;
		if (t > e)
			e = t;
	}
	return e;
}

/* sender_series - find (or, with create, make) the series of one item */
static struct mem_series *
sender_series(struct mem_sender *snd, const struct store_item *it, int create)
{
	struct mem_series *s;

	for (s = snd->series; s != NULL; s = s->next)
		if (s->window == it->window && s->buckets == it->buckets &&
		    strcmp(s->name, it->name) == 0)
			return s;
	if (!create || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	memcpy(s->name, it->name, sizeof(s->name));
	s->window = it->window;
	s->buckets = it->buckets;
	s->next = snd->series;
	snd->series = s;
	return s;
}

/* sender_has_txn - was this transaction charged (and still remembered)? */
static int
sender_has_txn(struct mem_sender *snd, const char *txn, uint64_t now)
{
	struct mem_txn **tp, *t;

	for (tp = &snd->txns; (t = *tp) != NULL;) {
		if (t->expires <= now) {
			*tp = t->next;
			free(t);
			continue;
		}
		if (strcmp(t->id, txn) == 0)
			return 1;
		tp = &t->next;
	}
	return 0;
}

/* mem_find - the sender in its chain (caller holds the stripe lock) */
static struct mem_sender *
mem_find(struct mem_store *ms, size_t chain, const char *key, int create)
{
	struct mem_sender *snd;

	for (snd = ms->chains[chain]; snd != NULL; snd = snd->next)
		if (strcmp(snd->key, key) == 0)
			return snd;
	if (!create || (snd = calloc(1, sizeof(*snd))) == NULL)
		return NULL;
	snprintf(snd->key, sizeof(snd->key), "%s", key);
	snd->next = ms->chains[chain];
	ms->chains[chain] = snd;
	return snd;
}

/* mem_sweep_chain - drop the senders of one chain with nothing live */
static size_t
mem_sweep_chain(struct mem_store *ms, size_t chain, uint64_t now)
{
	pthread_mutex_t *lk = &ms->locks[chain % MEM_STRIPES];
	struct mem_sender **sp, *snd;
	size_t dropped = 0;

	pthread_mutex_lock(lk);
	for (sp = &ms->chains[chain]; (snd = *sp) != NULL;) {
		if (snd->expires <= now) {
			*sp = snd->next;
			mem_sender_free(snd);
			dropped++;
		} else
			sp = &snd->next;
	}
	pthread_mutex_unlock(lk);
	return dropped;
}

/* mem_charge - check-and-charge under the sender's stripe lock */
static int
mem_charge(struct store *st, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t now = ms->clock(ms->clock_ctx), e, maxwin = 0;
	size_t chain = mem_hash(req->sender), i, sweep;
	pthread_mutex_t *lk = &ms->locks[chain % MEM_STRIPES];
	struct window_bucket none[1];
	struct mem_sender *snd;
	struct mem_series *s;
	struct mem_txn *t;
	int ok = 1;

	if (strlen(req->sender) > STORE_SENDER_MAX ||
	    (req->txn != NULL && strlen(req->txn) > STORE_TXN_MAX)) {
		snprintf(err, errlen, "sender key or transaction id too long");
		return -1;
	}
	pthread_mutex_lock(lk);
	snd = mem_find(ms, chain, req->sender, req->commit);
	if (req->commit && snd == NULL)
		goto oom;
	if (snd != NULL && req->commit && req->txn != NULL &&
	    sender_has_txn(snd, req->txn, now)) {
		res->allowed = 1;
		res->replayed = 1;
		for (i = 0; i < req->nitems; i++) {
			s = sender_series(snd, &req->items[i], 0);
			if (s != NULL)
				series_prune(s, now);
			req->items[i].count = s ? series_total(s) : 0;
		}
		pthread_mutex_unlock(lk);
		return 0;
	}
	for (i = 0; i < req->nitems; i++) {
		struct store_item *it = &req->items[i];

		s = snd ? sender_series(snd, it, req->commit) : NULL;
		if (snd != NULL && req->commit && s == NULL)
			goto oom;
		if (s != NULL)
			series_prune(s, now);
		it->count = s ? series_total(s) : 0;
		it->retry = window_retry(s ? s->b : none, s ? s->n : 0, now,
		    it->window, it->buckets, it->limit, it->cost);
		if (it->count + it->cost > it->limit)
			ok = 0;
		if (it->window > maxwin)
			maxwin = it->window;
	}
	res->allowed = ok;
	if (ok && req->commit) {
		for (i = 0; i < req->nitems; i++) {
			s = sender_series(snd, &req->items[i], 0);
			if (req->items[i].cost > 0)
				series_add(s, now, req->items[i].cost);
			req->items[i].count += req->items[i].cost;
		}
		if (req->txn != NULL) {
			if ((t = calloc(1, sizeof(*t))) == NULL)
				goto oom;
			snprintf(t->id, sizeof(t->id), "%s", req->txn);
			t->expires = now + maxwin * 1000;
			t->next = snd->txns;
			snd->txns = t;
		}
	}
	if (snd != NULL) {
		snd->expires = 0;
		for (s = snd->series; s != NULL; s = s->next)
			if ((e = series_expiry(s)) > snd->expires)
				snd->expires = e;
		for (t = snd->txns; t != NULL; t = t->next)
			if (t->expires > snd->expires)
				snd->expires = t->expires;
	}
	pthread_mutex_unlock(lk);

	pthread_mutex_lock(&ms->sweep_lock);
	sweep = ms->sweep_next;
	ms->sweep_next = (sweep + 1) & (MEM_CHAINS - 1);
	pthread_mutex_unlock(&ms->sweep_lock);
	if (sweep != chain)
		mem_sweep_chain(ms, sweep, now);
	return 0;
oom:
	pthread_mutex_unlock(lk);
	snprintf(err, errlen, "memory store: %s", strerror(ENOMEM));
	return -1;
}

/* mem_reset - forget one sender */
static int
mem_reset(struct store *st, const char *sender, char *err, size_t errlen)
{
	struct mem_store *ms = (struct mem_store *)st;
	size_t chain = mem_hash(sender);
	pthread_mutex_t *lk = &ms->locks[chain % MEM_STRIPES];
	struct mem_sender **sp, *snd;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(lk);
	for (sp = &ms->chains[chain]; (snd = *sp) != NULL; sp = &snd->next)
		if (strcmp(snd->key, sender) == 0) {
			*sp = snd->next;
			mem_sender_free(snd);
			break;
		}
	pthread_mutex_unlock(lk);
	return 0;
}

/* mem_free - free the store and every sender */
static void
mem_free(struct store *st)
{
	struct mem_store *ms = (struct mem_store *)st;
	struct mem_sender *snd, *next;
	size_t i;

	for (i = 0; i < MEM_CHAINS; i++)
		for (snd = ms->chains[i]; snd != NULL; snd = next) {
			next = snd->next;
			mem_sender_free(snd);
		}
	for (i = 0; i < MEM_STRIPES; i++)
		pthread_mutex_destroy(&ms->locks[i]);
	pthread_mutex_destroy(&ms->sweep_lock);
	free(ms);
}

static const struct store_ops mem_ops = { mem_charge, mem_reset, mem_free };

/* store_memory_new - in-process store; clock NULL means real time */
struct store *
store_memory_new(store_clock_fn clock, void *clock_ctx)
{
	struct mem_store *ms;
	size_t i;

	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return NULL;
	ms->base.ops = &mem_ops;
	ms->base.kind = "memory";
	ms->clock = clock ? clock : store_clock_real;
	ms->clock_ctx = clock_ctx;
	for (i = 0; i < MEM_STRIPES; i++)
		pthread_mutex_init(&ms->locks[i], NULL);
	pthread_mutex_init(&ms->sweep_lock, NULL);
	return &ms->base;
}

/* store_memory_expire - drop senders with nothing live; returns count */
size_t
store_memory_expire(struct store *st)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t now = ms->clock(ms->clock_ctx);
	size_t i, n = 0;

	for (i = 0; i < MEM_CHAINS; i++)
		n += mem_sweep_chain(ms, i, now);
	return n;
}
