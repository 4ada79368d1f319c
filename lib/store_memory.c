/*
 * store_memory.c - the embedded store: every counter in this process.
 *
 * The default for one relay, and the "local" fallback while Redis is
 * down. Senders live in a chained hash table that doubles (mem_grow)
 * past MEM_LOAD subjects a chain, so a lookup stays a walk of a couple
 * of entries at millions of subjects; each sender holds one
 * series of window buckets per (item name, window) it was charged on
 * (or, for a distinct item, the members seen; for a near item, its last
 * STORE_NEAR_KEEP body simhashes; for a history item, one struct
 * history_state), and the transaction ids it was charged for. A
 * check-and-charge locks the stripe of its sender's chain, so one
 * sender's request is atomic while other senders proceed on other
 * stripes. Each call also sweeps a chain or a few (mem_sweep_some) for
 * senders with nothing live, and for the dead series of the live ones,
 * so memory follows what counts now.
 *
 * A subject's series (store_memory_series.c) are a list plus, from
 * MEM_IDX_MIN of them on, a hash index: `repeats` keeps one series per
 * body a login sent within its window (thousands for a busy login), and
 * each message finds its own few among them without walking the rest. A
 * charge moves a subject's expiry forward from the series it touched
 * only (charging never makes anything expire sooner), not from every
 * series it holds.
 *
 * Thread-safe. The store owns every entry; callers own their requests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "history.h"
#include "store.h"
#include "store_memory_int.h"
#include "window.h"

/* mem_stripe - the stripe of a subject key: its chain's, at any size */
size_t
mem_stripe(const char *key)
{
	return (size_t)(mem_hash64(key) % MEM_STRIPES);
}

/* subject_gone - count one subject fewer */
static void
subject_gone(struct mem_store *ms)
{
	atomic_fetch_sub_explicit(&ms->nsubjects, 1, memory_order_relaxed);
}

/* mem_sender_free - free one sender and all it holds */
static void
mem_sender_free(struct mem_sender *snd)
{
	struct mem_series *s, *sn;
	struct mem_txn *t, *tn;

	for (s = snd->series; s != NULL; s = sn) {
		sn = s->next;
		series_free(s);
	}
	for (t = snd->txns; t != NULL; t = tn) {
		tn = t->next;
		free(t);
	}
	free(snd->idx);
	free(snd);
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
struct mem_sender *
mem_find(struct mem_store *ms, const char *key, int create)
{
	uint64_t h = mem_hash64(key);
	struct mem_sender *snd, **chain = &ms->chains[h & (ms->nchains - 1)];

	for (snd = *chain; snd != NULL; snd = snd->next)
		if (snd->hash == h && strcmp(snd->key, key) == 0)
			return snd;
	if (!create || (snd = calloc(1, sizeof(*snd))) == NULL)
		return NULL;
	snprintf(snd->key, sizeof(snd->key), "%s", key);
	snd->hash = h;
	snd->next = *chain;
	*chain = snd;
	atomic_fetch_add_explicit(&ms->nsubjects, 1, memory_order_relaxed);
	return snd;
}

/*
 * mem_grow - twice the chains once they hold over MEM_LOAD subjects each.
 * Every stripe is locked while the subjects move, in the order charges
 * lock them; a subject's stripe is its hash modulo MEM_STRIPES whatever
 * the number of chains (a multiple of MEM_STRIPES), so no request ever
 * holds the wrong lock. A dump holds grow_lock while it walks the chains,
 * so none of them moves under it (try-lock: the growth waits for the
 * next charge). The table never shrinks.
 */
void
mem_grow(struct mem_store *ms)
{
	struct mem_sender **nc, *snd, *next;
	size_t n, i, k;

	n = atomic_load_explicit(&ms->nchains_seen, memory_order_relaxed);
	if (n >= MEM_CHAINS_MAX || atomic_load_explicit(&ms->nsubjects,
	    memory_order_relaxed) <= MEM_LOAD * n ||
	    pthread_mutex_trylock(&ms->grow_lock) != 0)
		return;
	for (k = 0; k < MEM_STRIPES; k++)
		pthread_mutex_lock(&ms->locks[k]);
	n = ms->nchains;
	if (n < MEM_CHAINS_MAX && atomic_load_explicit(&ms->nsubjects,
	    memory_order_relaxed) > MEM_LOAD * n &&
	    (nc = calloc(2 * n, sizeof(*nc))) != NULL) {
		for (i = 0; i < n; i++)
			for (snd = ms->chains[i]; snd != NULL; snd = next) {
				next = snd->next;
				snd->next = nc[snd->hash & (2 * n - 1)];
				nc[snd->hash & (2 * n - 1)] = snd;
			}
		free(ms->chains);
		ms->chains = nc;
		ms->nchains = 2 * n;
		atomic_store_explicit(&ms->nchains_seen, 2 * n,
		    memory_order_relaxed);
	}
	while (k > 0)
		pthread_mutex_unlock(&ms->locks[--k]);
	pthread_mutex_unlock(&ms->grow_lock);
}

/* mem_sweep_chain - drop the senders of one chain with nothing live, and
 * the dead series of the others (chain < nchains: they only grow) */
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
			subject_gone(ms);
			dropped++;
		} else {
			drop_dead(snd, now);
			sp = &snd->next;
		}
	}
	pthread_mutex_unlock(lk);
	return dropped;
}

/* mem_member - a distinct item's member: its own, or the sender's hash */
static uint64_t
mem_member(const struct store_item *it, uint64_t sender)
{
	return it->member[0] != '\0' ? mem_hash64(it->member) : sender;
}

/* mem_subject - whose counters an item is: its scope, or the sender */
static const char *
mem_subject(const struct store_req *req, const struct store_item *it)
{
	return it->scope[0] ? it->scope : req->sender;
}

/* stripe_cmp - order of stripe numbers, for locking without deadlock */
static int
stripe_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* mem_lock - lock every stripe a request touches, in ascending order */
static size_t
mem_lock(struct mem_store *ms, const struct store_req *req, size_t *st)
{
	size_t n = 0, i, j;

	st[n++] = mem_stripe(req->sender);
	for (i = 0; i < req->nitems; i++)
		st[n++] = mem_stripe(mem_subject(req, &req->items[i]));
	qsort(st, n, sizeof(*st), stripe_cmp);
	for (i = j = 0; i < n; i++)
		if (j == 0 || st[j - 1] != st[i])
			st[j++] = st[i];
	for (i = 0; i < j; i++)
		pthread_mutex_lock(&ms->locks[st[i]]);
	return j;
}

/* mem_unlock - unlock what mem_lock locked */
static void
mem_unlock(struct mem_store *ms, const size_t *st, size_t n)
{
	while (n > 0)
		pthread_mutex_unlock(&ms->locks[st[--n]]);
}

/* sender_extend - a subject counts at least until e */
static void
sender_extend(struct mem_sender *snd, uint64_t e)
{
	if (e > snd->expires)
		snd->expires = e;
}

/* sender_refresh - recompute when nothing of a subject counts any more */
static void
sender_refresh(struct mem_sender *snd)
{
	struct mem_series *s;
	struct mem_txn *t;
	uint64_t e;

	snd->expires = 0;
	for (s = snd->series; s != NULL; s = s->next)
		if ((e = series_expiry(s)) > snd->expires)
			snd->expires = e;
	for (t = snd->txns; t != NULL; t = t->next)
		if (t->expires > snd->expires)
			snd->expires = t->expires;
}

/* mem_sweep_some - after a charge, sweep the next chains: one, or as
 * many as a pass over the table in MEM_SWEEP_PASS charges takes (at most
 * 64 chains at the largest table, about MEM_LOAD subjects each);
 * not a stripe the charge just used (its subjects are live) */
static void
mem_sweep_some(struct mem_store *ms, const size_t *stripes, size_t nst,
    uint64_t now)
{
	size_t n = atomic_load_explicit(&ms->nchains_seen,
	    memory_order_relaxed), each, sweep, k, i;

	each = n > MEM_SWEEP_PASS ? n / MEM_SWEEP_PASS : 1;
	pthread_mutex_lock(&ms->sweep_lock);
	sweep = ms->sweep_next & (n - 1);
	ms->sweep_next = (sweep + each) & (n - 1);
	pthread_mutex_unlock(&ms->sweep_lock);
	for (k = 0; k < each; k++, sweep = (sweep + 1) & (n - 1)) {
		for (i = 0; i < nst; i++)
			if (stripes[i] == sweep % MEM_STRIPES)
				break;
		if (i == nst)
			mem_sweep_chain(ms, sweep, now);
	}
}

/* mem_charge - check-and-charge with every stripe involved locked */
static int
mem_charge(struct store *st, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t now = ms->clock(ms->clock_ctx), maxwin = 0, cost, me;
	uint64_t costs[STORE_MAX_ITEMS];
	size_t stripes[STORE_MAX_ITEMS + 1], nst, i;
	struct mem_sender *snd, *subj[STORE_MAX_ITEMS];
	struct mem_series *ser[STORE_MAX_ITEMS];
	struct window_bucket none[1];
	struct mem_txn *t;
	int ok = 1, owned = 0;

	if (strlen(req->sender) > STORE_SENDER_MAX ||
	    (req->txn != NULL && strlen(req->txn) > STORE_TXN_MAX)) {
		snprintf(err, errlen, "sender key or transaction id too long");
		return -1;
	}
	me = mem_hash64(req->sender);
	nst = mem_lock(ms, req, stripes);
	snd = mem_find(ms, req->sender, req->commit);
	if (req->commit && snd == NULL)
		goto oom;
	if (snd != NULL && req->commit == STORE_COMMIT && req->txn != NULL &&
	    sender_has_txn(snd, req->txn, now)) {
		res->allowed = 1;
		res->replayed = 1;
		for (i = 0; i < req->nitems; i++) {
			struct mem_sender *sj = mem_find(ms,
			    mem_subject(req, &req->items[i]), 0);
			struct mem_series *s = sj ? sender_series(sj,
			    &req->items[i], 0) : NULL;

			if (s != NULL)
				series_prune_any(s, now);
			req->items[i].count = s == NULL ? 0 : s->history ?
			    s->hist.count : s->distinct ?
			    s->nmembers : s->near ? near_count(s,
			    &req->items[i]) : series_total(s);
		}
		mem_unlock(ms, stripes, nst);
		return 0;
	}
	for (i = 0; i < req->nitems; i++) {
		struct store_item *it = &req->items[i];
		struct mem_series *s;

		subj[i] = mem_find(ms, mem_subject(req, it), req->commit);
		if (req->commit && subj[i] == NULL)
			goto oom;
		s = ser[i] = subj[i] ? sender_series(subj[i], it, req->commit) :
		    NULL;
		if (subj[i] != NULL && req->commit && s == NULL)
			goto oom;
		cost = it->cost;
		if (it->history) {
			mem_history_judge(s, it, now);
			if (it->over && !it->soft) {
				ok = 0;
				owned |= !it->unowned;
			}
			costs[i] = cost;
			continue;
		}
		if (s != NULL && s->distinct) {
			members_prune(s, now);
			it->count = s->nmembers;
			if (members_find(s, mem_member(it, me)) >= 0)
				cost = 0;
		} else if (it->near) {
			if (s != NULL)
				near_prune(s, now);
			it->count = near_count(s, it);
		} else {
			if (s != NULL)
				series_prune(s, now);
			it->count = s ? series_total(s) : 0;
		}
		if (it->distinct) {
			uint64_t oldest = now;
			size_t k;

			for (k = 0; s != NULL && k < s->nmembers; k++)
				if (s->members[k].seen < oldest)
					oldest = s->members[k].seen;
			it->retry = it->count + cost <= it->limit ? 0 :
			    cost > it->limit ? UINT32_MAX :
			    (uint32_t)((oldest + (uint64_t)it->window * 1000 -
			    now + 999) / 1000);
		} else if (it->near)
			it->retry = near_retry(s, it, it->count, cost, now);
		else
			it->retry = window_retry(s ? s->b : none, s ? s->n : 0,
			    now, it->window, it->buckets, it->limit, cost);
		it->over = it->count + cost > it->limit;
		if (it->over && !it->soft && !it->on_refuse) {
			ok = 0;
			owned |= !it->unowned;
		}
		if (it->window > maxwin)
			maxwin = it->window;
		costs[i] = cost;
	}
	if (req->commit == STORE_REFUSED) {
		ok = 0;		/* refused already: a refusal, nothing else */
		owned = 1;
	}
	res->allowed = ok;
	for (i = 0; i < req->nitems; i++) {
		struct store_item *it = &req->items[i];

		if (!it->on_refuse)
			continue;
		/* refused by unowned items alone: no refusal of the sender */
		if (ok || !owned || req->commit == STORE_CHECK || it->distinct)
			it->over = 0;	/* counts refusals only */
		else if (it->cost > 0) {
			series_add(ser[i], now, it->cost);
			it->count += it->cost;
		}
	}
	if (ok && req->commit == STORE_COMMIT) {
		for (i = 0; i < req->nitems; i++) {
			struct store_item *it = &req->items[i];

			if (it->on_refuse)
				continue;
			if (it->history) {
				mem_history_add(ser[i], it, now);
				continue;
			}
			if (it->distinct && it->cost > 0) {
				/* a known sender is seen again: no new member */
				if (members_add(ser[i], mem_member(it, me), now,
				    it->limit) == -1)
					goto oom;
			} else if (it->near && it->cost > 0) {
				if (near_add(ser[i], it->simhash, now) == -1)
					goto oom;
			} else if (!it->distinct && it->cost > 0)
				series_add(ser[i], now, it->cost);
			it->count += costs[i];
		}
		if (req->txn != NULL) {
			if ((t = calloc(1, sizeof(*t))) == NULL)
				goto oom;
			snprintf(t->id, sizeof(t->id), "%s", req->txn);
			t->expires = now + (maxwin * 1000 < STORE_TXN_MS ?
			    maxwin * 1000 : STORE_TXN_MS);
			t->next = snd->txns;
			snd->txns = t;
			sender_extend(snd, t->expires);
		}
	}
	for (i = 0; i < req->nitems; i++)
		if (subj[i] != NULL && ser[i] != NULL)
			sender_extend(subj[i], series_expiry(ser[i]));
	mem_unlock(ms, stripes, nst);

	mem_sweep_some(ms, stripes, nst, now);
	mem_grow(ms);
	return 0;
oom:
	mem_unlock(ms, stripes, nst);
	snprintf(err, errlen, "memory store: %s", strerror(ENOMEM));
	return -1;
}

/* mem_reset - forget one sender */
static int
mem_reset(struct store *st, const char *sender, char *err, size_t errlen)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t h = mem_hash64(sender);
	pthread_mutex_t *lk = &ms->locks[h % MEM_STRIPES];
	struct mem_sender **sp, *snd;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(lk);
	for (sp = &ms->chains[h & (ms->nchains - 1)]; (snd = *sp) != NULL;
	    sp = &snd->next)
		if (snd->hash == h && strcmp(snd->key, sender) == 0) {
			*sp = snd->next;
			mem_sender_free(snd);
			subject_gone(ms);
			break;
		}
	pthread_mutex_unlock(lk);
	return 0;
}

/* mem_sender_prune - drop what no longer counts; recompute expires */
void
mem_sender_prune(struct mem_sender *snd, uint64_t now)
{
	struct mem_series *s;

	for (s = snd->series; s != NULL; s = s->next)
		series_prune_any(s, now);
	drop_dead(snd, now);
	sender_refresh(snd);
}

/* view_sender - report every series of one subject that counts now */
static void
view_sender(struct mem_sender *snd, uint64_t now, store_view_fn fn, void *ctx)
{
	struct store_series v;
	struct mem_series *s;
	size_t i;

	mem_sender_prune(snd, now);
	for (s = snd->series; s != NULL; s = s->next) {
		memset(&v, 0, sizeof(v));
		v.subject = snd->key;
		v.name = s->name;
		v.sub = s->sub;
		v.window = s->window;
		v.buckets = s->buckets;
		v.newest = -1;
		if (s->distinct)
			v.count = s->nmembers;
		else if (s->near)
			v.count = s->nnears;
		else {
			v.count = series_total(s);
			for (i = 0; i < s->n; i++)
				if (s->b[i].count > 0 && s->b[i].index > v.newest)
					v.newest = s->b[i].index;
		}
		if (v.count > 0)
			fn(ctx, &v);
	}
}

/*
 * mem_view - every live series of one subject, or of all: one stripe
 * locked at a time, so a message waits at most for one stripe's walk
 */
static int
mem_view(struct store *st, const char *subject, store_view_fn fn, void *ctx,
    char *err, size_t errlen)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t now = ms->clock(ms->clock_ctx);
	struct mem_sender *snd;
	size_t c, k;

	(void)err;
	(void)errlen;
	if (subject != NULL) {
		k = mem_stripe(subject);
		pthread_mutex_lock(&ms->locks[k]);
		if ((snd = mem_find(ms, subject, 0)) != NULL)
			view_sender(snd, now, fn, ctx);
		pthread_mutex_unlock(&ms->locks[k]);
		return 0;
	}
	/* stripe by stripe: a growth between two moves subjects only
	 * within a stripe, so each is seen once */
	for (k = 0; k < MEM_STRIPES; k++) {
		pthread_mutex_lock(&ms->locks[k]);
		for (c = k; c < ms->nchains; c += MEM_STRIPES)
			for (snd = ms->chains[c]; snd != NULL; snd = snd->next)
				view_sender(snd, now, fn, ctx);
		pthread_mutex_unlock(&ms->locks[k]);
	}
	return 0;
}

/* named - is a series name in a NULL-ended list? */
static int
named(const char *const *names, const char *name)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(*names, name) == 0)
			return 1;
	return 0;
}

/* mem_drop - forget the series of a subject named (or, keep: not named) */
static int
mem_drop(struct store *st, const char *subject, const char *const *names,
    int keep, size_t *dropped, char *err, size_t errlen)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t now = ms->clock(ms->clock_ctx);
	size_t k = mem_stripe(subject);
	struct mem_series **sp, *s;
	struct mem_sender *snd;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&ms->locks[k]);
	if ((snd = mem_find(ms, subject, 0)) != NULL) {
		mem_sender_prune(snd, now);
		for (sp = &snd->series; (s = *sp) != NULL;) {
			if (named(names, s->name) == !keep) {
				*sp = s->next;
				if (s->n + s->nmembers + s->nnears > 0)
					(*dropped)++;
				series_unlink(snd, s);
				series_free(s);
			} else
				sp = &s->next;
		}
		sender_refresh(snd);
	}
	pthread_mutex_unlock(&ms->locks[k]);
	return 0;
}

/*
 * mem_admin_lock - charge the lock item now (dur_ms 0), or replace its series
 * by one event in the bucket that leaves the window first at or after
 * now + dur_ms, as sluicectl's lock --for does in Redis
 */
static int
mem_admin_lock(struct store *st, const struct store_item *it, const char *subject,
    uint64_t dur_ms, uint64_t *ends_ms, char *err, size_t errlen)
{
	struct mem_store *ms = (struct mem_store *)st;
	uint64_t now = ms->clock(ms->clock_ctx);
	uint64_t w = window_width(it->window, it->buckets);
	size_t k = mem_stripe(subject);
	struct mem_sender *snd;
	struct mem_series *s;
	int64_t idx = -1;
	size_t i;

	if (strlen(subject) > STORE_SENDER_MAX || it->distinct || it->near) {
		snprintf(err, errlen, "memory store: bad lock request");
		return -1;
	}
	pthread_mutex_lock(&ms->locks[k]);
	if ((snd = mem_find(ms, subject, 1)) == NULL ||
	    (s = sender_series(snd, it, 1)) == NULL) {
		pthread_mutex_unlock(&ms->locks[k]);
		snprintf(err, errlen, "memory store: %s", strerror(ENOMEM));
		return -1;
	}
	series_prune(s, now);
	if (dur_ms == 0)
		series_add(s, now, 1);
	else {
		s->n = 1;
		s->b[0].index = (int64_t)((now + dur_ms + w - 1) / w) -
		    (int64_t)it->buckets - 1;
		s->b[0].count = 1;
	}
	for (i = 0; i < s->n; i++)
		if (s->b[i].index > idx)
			idx = s->b[i].index;
	*ends_ms = (uint64_t)(idx + it->buckets + 1) * w;
	sender_refresh(snd);
	pthread_mutex_unlock(&ms->locks[k]);
	return 0;
}

/* mem_now - the store's clock */
static uint64_t
mem_now(struct store *st)
{
	struct mem_store *ms = (struct mem_store *)st;

	return ms->clock(ms->clock_ctx);
}

/* mem_free - free the store and every sender */
static void
mem_free(struct store *st)
{
	struct mem_store *ms = (struct mem_store *)st;
	struct mem_sender *snd, *next;
	size_t i;

	for (i = 0; i < ms->nchains; i++)
		for (snd = ms->chains[i]; snd != NULL; snd = next) {
			next = snd->next;
			mem_sender_free(snd);
		}
	for (i = 0; i < MEM_STRIPES; i++)
		pthread_mutex_destroy(&ms->locks[i]);
	pthread_mutex_destroy(&ms->grow_lock);
	pthread_mutex_destroy(&ms->sweep_lock);
	free(ms->chains);
	free(ms);
}

static const struct store_ops mem_ops = { mem_charge, mem_reset, mem_free };
static const struct store_admin_ops mem_admin = { mem_view, mem_drop,
    mem_admin_lock, mem_now };

/* store_memory_new - in-process store; clock NULL means real time */
struct store *
store_memory_new(store_clock_fn clock, void *clock_ctx)
{
	struct mem_store *ms;
	size_t i;

	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return NULL;
	if ((ms->chains = calloc(MEM_CHAINS, sizeof(*ms->chains))) == NULL) {
		free(ms);
		return NULL;
	}
	ms->nchains = MEM_CHAINS;
	atomic_init(&ms->nchains_seen, MEM_CHAINS);
	atomic_init(&ms->nsubjects, 0);
	ms->base.ops = &mem_ops;
	ms->base.kind = "memory";
	ms->base.admin = &mem_admin;
	ms->clock = clock ? clock : store_clock_real;
	ms->clock_ctx = clock_ctx;
	for (i = 0; i < MEM_STRIPES; i++)
		pthread_mutex_init(&ms->locks[i], NULL);
	pthread_mutex_init(&ms->grow_lock, NULL);
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

	for (i = 0; i < atomic_load_explicit(&ms->nchains_seen,
	    memory_order_relaxed); i++)
		n += mem_sweep_chain(ms, i, now);
	return n;
}

/* store_memory_chains - the size of its chain table now */
size_t
store_memory_chains(struct store *st)
{
	struct mem_store *ms = (struct mem_store *)st;

	return atomic_load_explicit(&ms->nchains_seen, memory_order_relaxed);
}
