/*
 * store.c - the dispatch half of the store interface (store.h), and the
 * helpers every implementation shares. Thread-safe: no state of its own.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "window.h"

/* store_charge - check, and charge when req->commit */
int
store_charge(struct store *s, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	size_t i;

	memset(res, 0, sizeof(*res));
	if (req->nitems > STORE_MAX_ITEMS) {
		snprintf(err, errlen, "too many limits in one request (%zu)",
		    req->nitems);
		return -1;
	}
	for (i = 0; i < req->nitems; i++) {
		req->items[i].count = 0;
		req->items[i].retry = 0;
		req->items[i].over = 0;
		if (req->items[i].window == 0 || req->items[i].buckets == 0 ||
		    req->items[i].buckets > WINDOW_MAX_BUCKETS) {
			snprintf(err, errlen, "limit %s: bad window",
			    req->items[i].name);
			return -1;
		}
		if (!store_item_valid(&req->items[i])) {
			snprintf(err, errlen, "limit %s: bad scope, sub, member "
			    "or near settings", req->items[i].name);
			return -1;
		}
	}
	return s->ops->charge(s, req, res, err, errlen);
}

/* store_reset - forget every counter of one sender */
int
store_reset(struct store *s, const char *sender, char *err, size_t errlen)
{
	return s->ops->reset(s, sender, err, errlen);
}

/* no_admin - the error of a store sluicectl does not reach through us */
static int
no_admin(const struct store *s, char *err, size_t errlen)
{
	snprintf(err, errlen, "the %s store is not read through the control "
	    "socket", s->kind);
	return -1;
}

/* store_view - every live series of one subject, or of all */
int
store_view(struct store *s, const char *subject, store_view_fn fn, void *ctx,
    char *err, size_t errlen)
{
	if (s->admin == NULL)
		return no_admin(s, err, errlen);
	return s->admin->view(s, subject, fn, ctx, err, errlen);
}

/* store_drop - forget some series of one subject */
int
store_drop(struct store *s, const char *subject, const char *const *names,
    int keep, size_t *dropped, char *err, size_t errlen)
{
	*dropped = 0;
	if (s->admin == NULL)
		return no_admin(s, err, errlen);
	return s->admin->drop(s, subject, names, keep, dropped, err, errlen);
}

/* store_lock - lock a subject for a duration, or a full lifetime */
int
store_lock(struct store *s, const struct store_item *lock, const char *subject,
    uint64_t dur_ms, uint64_t *ends_ms, char *err, size_t errlen)
{
	if (s->admin == NULL)
		return no_admin(s, err, errlen);
	return s->admin->lock(s, lock, subject, dur_ms, ends_ms, err, errlen);
}

/* store_now - the store's clock */
uint64_t
store_now(struct store *s)
{
	return s->admin != NULL ? s->admin->now(s) : store_clock_real(NULL);
}

/* store_free - release a store; NULL is fine */
void
store_free(struct store *s)
{
	if (s != NULL)
		s->ops->free(s);
}

/* store_item_set - fill one item's inputs */
void
store_item_set(struct store_item *it, const char *name, uint32_t window,
    uint32_t buckets, uint64_t limit, uint64_t cost)
{
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->window = window;
	it->buckets = buckets;
	it->limit = limit;
	it->cost = cost;
}

/* hex_ok - "" or [0-9a-f]{1,max} */
static int
hex_ok(const char *s, size_t max)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n <= max && s[n] == '\0';
}

/* store_item_valid - are scope, sub and member hex and short enough? */
int
store_item_valid(const struct store_item *it)
{
	if (!hex_ok(it->scope, STORE_SENDER_MAX) ||
	    !hex_ok(it->sub, STORE_SUB_MAX) ||
	    !hex_ok(it->member, STORE_MEMBER_MAX))
		return 0;
	if (it->member[0] != '\0' && !it->distinct)
		return 0;
	if (it->history)	/* one state of its own, no buckets */
		return !it->distinct && !it->near && !it->on_refuse &&
		    it->window > 0 && it->factor > 0 && it->keep >= it->window;
	if (it->distinct)
		return it->cost <= 1 && !it->near;
	if (it->near)	/* a near item only keeps STORE_NEAR_KEEP bodies */
		return it->cost <= 1 && it->limit < STORE_NEAR_KEEP &&
		    it->distance <= 64 && !it->on_refuse;
	return 1;
}

/* store_clock_real - CLOCK_REALTIME in ms */
uint64_t
store_clock_real(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
