/*
 * store_guard.c - a circuit breaker and the fallback around another store.
 *
 * This is the one place where "the store failed" becomes behaviour. Each
 * request goes to the primary unless the breaker is open. A failed call,
 * or a call made while the breaker is open, is answered by the configured
 * fallback: local counters (a private memory store, so limits still hold
 * per relay), accept, or tempfail. After `failures` consecutive errors the
 * breaker opens for `cooldown_ms`; then one request at a time probes the
 * primary (half-open) and the first success closes it again. While open,
 * no request waits on the primary at all.
 *
 * Thread-safe: breaker state under one mutex, held only to read or update
 * it, never across a store call. The guard owns the primary and the local
 * store.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct guard_store {
	struct store		 base;		/* first: the interface */
	struct store		*primary;
	struct store		*local;		/* FALLBACK_LOCAL only */
	struct store_guard_opts	 opts;
	pthread_mutex_t		 lock;
	enum store_breaker	 state;
	unsigned		 consecutive;	/* errors in a row */
	uint64_t		 open_until;	/* ms */
	int			 probing;	/* a half-open probe is out */
	struct store_guard_stats stats;
};

static const struct store_ops guard_ops;

/* guard_now - the guard's clock */
static uint64_t
guard_now(struct guard_store *g)
{
	return g->opts.clock(g->opts.clock_ctx);
}

/* guard_admit - may this request try the primary? sets *probe if half-open */
static int
guard_admit(struct guard_store *g, int *probe)
{
	int ok = 0;

	*probe = 0;
	pthread_mutex_lock(&g->lock);
	if (g->state == BREAKER_OPEN && guard_now(g) >= g->open_until)
		g->state = BREAKER_HALF_OPEN;	/* cooldown over: probe */
	switch (g->state) {
	case BREAKER_CLOSED:
		ok = 1;
		break;
	case BREAKER_OPEN:
		break;
	case BREAKER_HALF_OPEN:
		if (!g->probing) {
			g->probing = 1;
			*probe = 1;
			ok = 1;
		}
		break;
	}
	pthread_mutex_unlock(&g->lock);
	return ok;
}

/* guard_result - record the outcome of a primary call */
static void
guard_result(struct guard_store *g, int probe, int failed)
{
	pthread_mutex_lock(&g->lock);
	if (probe)
		g->probing = 0;
	if (!failed) {
		g->consecutive = 0;
		g->state = BREAKER_CLOSED;
	} else {
		g->stats.errors++;
		g->consecutive++;
		if (probe || (g->state == BREAKER_CLOSED &&
		    g->consecutive >= g->opts.failures)) {
			if (g->state != BREAKER_OPEN)
				g->stats.opened++;
			g->state = BREAKER_OPEN;
			g->open_until = guard_now(g) + g->opts.cooldown_ms;
		}
	}
	pthread_mutex_unlock(&g->lock);
}

/* guard_fallback - answer a request without the primary */
static int
guard_fallback(struct guard_store *g, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	struct store_req lr;
	size_t i;

	pthread_mutex_lock(&g->lock);
	g->stats.fallbacks++;
	pthread_mutex_unlock(&g->lock);
	memset(res, 0, sizeof(*res));
	switch (g->opts.fallback) {
	case STORE_FALLBACK_LOCAL:
		/* without the transaction id: the local store loses no reply,
		 * and would keep every id (~160 B a message, 10 minutes) for
		 * as long as the primary is down */
		lr = *req;
		lr.txn = NULL;
		if (store_charge(g->local, &lr, res, err, errlen) == -1)
			return -1;
		res->source = STORE_SRC_LOCAL;
		return 0;
	case STORE_FALLBACK_ACCEPT:
		res->allowed = 1;
		res->source = STORE_SRC_ACCEPT;
		break;
	case STORE_FALLBACK_TEMPFAIL:
	default:
		res->allowed = 0;
		res->source = STORE_SRC_TEMPFAIL;
		break;
	}
	for (i = 0; i < req->nitems; i++) {
		req->items[i].count = 0;
		req->items[i].retry = 0;
	}
	return 0;
}

/* guard_charge - try the primary when the breaker allows, else fall back */
static int
guard_charge(struct store *st, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	struct guard_store *g = (struct guard_store *)st;
	char ferr[256];
	int probe, rc;

	if (guard_admit(g, &probe)) {
		rc = store_charge(g->primary, req, res, err, errlen);
		guard_result(g, probe, rc == -1);
		if (rc == 0) {
			res->source = STORE_SRC_PRIMARY;
			return 0;
		}
		/* err keeps the primary's complaint for the caller's log */
	} else
		snprintf(err, errlen, "store unavailable (circuit breaker open)");
	if (guard_fallback(g, req, res, ferr, sizeof(ferr)) == -1) {
		snprintf(err, errlen, "%s", ferr);
		return -1;
	}
	return 1;	/* answered by the fallback; err says why */
}

/* guard_reset - reset in the primary and in the local counters */
static int
guard_reset(struct store *st, const char *sender, char *err, size_t errlen)
{
	struct guard_store *g = (struct guard_store *)st;

	if (g->local != NULL)
		store_reset(g->local, sender, err, errlen);
	return store_reset(g->primary, sender, err, errlen);
}

/* guard_free - free the guard, its primary and its local store */
static void
guard_free(struct store *st)
{
	struct guard_store *g = (struct guard_store *)st;

	store_free(g->primary);
	store_free(g->local);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static const struct store_ops guard_ops = { guard_charge, guard_reset,
    guard_free };

/* store_guard_new - wrap primary (owned) with a breaker and a fallback */
struct store *
store_guard_new(struct store *primary, const struct store_guard_opts *opts)
{
	struct guard_store *g;

	if (primary == NULL || (g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->base.ops = &guard_ops;
	g->base.kind = "guard";
	g->primary = primary;
	g->opts = *opts;
	if (g->opts.clock == NULL)
		g->opts.clock = store_clock_real;
	if (g->opts.failures == 0)
		g->opts.failures = 1;
	if (g->opts.fallback == STORE_FALLBACK_LOCAL &&
	    (g->local = store_memory_new(g->opts.clock,
	    g->opts.clock_ctx)) == NULL) {
		free(g);
		return NULL;
	}
	pthread_mutex_init(&g->lock, NULL);
	return &g->base;
}

/* store_guard_stats - snapshot of the breaker; zeros for a non-guard */
void
store_guard_stats(struct store *st, struct store_guard_stats *out)
{
	struct guard_store *g = (struct guard_store *)st;

	memset(out, 0, sizeof(*out));
	if (st == NULL || st->ops != &guard_ops)
		return;
	pthread_mutex_lock(&g->lock);
	*out = g->stats;
	out->state = g->state;
	pthread_mutex_unlock(&g->lock);
}
