/*
 * store_redis_conn.c - the connections of one redis store (store_redis.c
 * describes the rules): the pool and its first-come-first-served line,
 * opening a connection (lib/redis_conn.c) to the fixed address or to the
 * primary the sentinels name, and asking the sentinels again.
 *
 * Public (store_redis_int.h): rs_conn_get, rs_conn_put, rs_conn_cmd,
 * rs_conn_stale, rs_fail_ctx, rs_mono_ms, rs_rediscover.
 *
 * Thread-safe: rs->lock guards the pool, the line and the primary's
 * address; a connection taken is its thread's until given back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "redis_conn.h"
#include "sentinel.h"
#include "store.h"
#include "store_redis_int.h"

static void	slots_hand(struct redis_store *);

/* rs_fail_ctx - err from a context's error, naming timeouts as such */
int
rs_fail_ctx(const struct redis_store *rs, const redisContext *c, int saved_errno,
    const char *what, char *err, size_t errlen)
{
	char why[256];

	redis_conn_why(c, saved_errno, what, rs->command_ms, why, sizeof(why));
	return rs_fail(rs, err, errlen, what, why);
}

/* rs_conn_stale - did a pooled connection just find the server gone? */
int
rs_conn_stale(const redisContext *c, int saved_errno)
{
	return c->err == REDIS_ERR_EOF || (c->err == REDIS_ERR_IO &&
	    (saved_errno == ECONNRESET || saved_errno == EPIPE));
}

/* rs_mono_ms - a monotonic clock in ms, never 0 */
uint64_t
rs_mono_ms(void)
{
	return clock_mono_ms() + 1;
}

/*
 * rs_rediscover - ask the sentinels where the primary is, unless it
 * moved since generation `seen` or they were asked less than RS_ASK_MS
 * ago. 1: it is elsewhere than at `seen` (idle connections to the old one
 * closed); 0: no news; -1 with err: no sentinel answered.
 */
int
rs_rediscover(struct redis_store *rs, unsigned seen, char *err, size_t errlen)
{
	struct sentinel_opts so;
	struct sentinel_addr a, old;
	char was[SENTINEL_HOST_MAX + 10], now[SENTINEL_HOST_MAX + 10];
	char msg[2 * SENTINEL_HOST_MAX + 100];
	uint64_t t = rs_mono_ms();
	size_t i;

	pthread_mutex_lock(&rs->lock);
	while (rs->asking)	/* its answer is ours: bounded by its timeouts */
		pthread_cond_wait(&rs->answered, &rs->lock);
	if (rs->gen != seen) {
		pthread_mutex_unlock(&rs->lock);
		return 1;
	}
	if (!sentinel_due(t, rs->asked_ms, RS_ASK_MS)) {
		pthread_mutex_unlock(&rs->lock);
		return 0;
	}
	rs->asked_ms = t;
	rs->asking = 1;
	pthread_mutex_unlock(&rs->lock);
	so.sentinels = rs->sentinels;
	so.nsentinels = rs->nsentinels;
	so.master = rs->master;
	so.password = rs->sentinel_password;
	so.timeout_ms = rs->connect_ms;
	i = sentinel_discover(&so, &a, err, errlen) == -1;
	pthread_mutex_lock(&rs->lock);
	rs->asking = 0;
	pthread_cond_broadcast(&rs->answered);
	if (i) {
		pthread_mutex_unlock(&rs->lock);
		return -1;
	}
	if (rs->primary.port == a.port && strcmp(rs->primary.host,
	    a.host) == 0) {
		pthread_mutex_unlock(&rs->lock);
		return rs->gen != seen;
	}
	old = rs->primary;
	rs->primary = a;
	rs->gen++;
	for (i = 0; i < rs->nidle; i++)
		redisFree(rs->idle[i]);
	rs->nopen -= rs->nidle;
	rs->nidle = 0;
	slots_hand(rs);
	pthread_mutex_unlock(&rs->lock);
	if (rs->notify != NULL) {
		if (old.port == 0)
			snprintf(msg, sizeof(msg), "primary of %s is %s",
			    rs->master, sentinel_addr_text(&a, now,
			    sizeof(now)));
		else
			snprintf(msg, sizeof(msg), "primary of %s moved to %s "
			    "(was %s)", rs->master, sentinel_addr_text(&a, now,
			    sizeof(now)), sentinel_addr_text(&old, was,
			    sizeof(was)));
		rs->notify(rs->notify_ctx, msg);
	}
	return 1;
}

/* primary_get - where the primary is now, asking the sentinels if unknown */
static int
primary_get(struct redis_store *rs, struct sentinel_addr *a, unsigned *gen,
    char *err, size_t errlen)
{
	pthread_mutex_lock(&rs->lock);
	if (rs->primary.port == 0) {
		*gen = rs->gen;
		pthread_mutex_unlock(&rs->lock);
		if (rs_rediscover(rs, *gen, err, errlen) == -1)
			return -1;
		pthread_mutex_lock(&rs->lock);
	}
	*a = rs->primary;
	*gen = rs->gen;
	pthread_mutex_unlock(&rs->lock);
	if (a->port == 0)
		return rs_fail(rs, err, errlen, "connect", "the sentinels were "
		    "asked less than a second ago and named no primary");
	return 0;
}

/* conn_open - a new connection, timeouts set, authenticated, to the
 * primary (sentinel: confirmed by ROLE), its generation in *gen; NULL +
 * err */
static redisContext *
conn_open(struct redis_store *rs, unsigned *gen, char *err, size_t errlen)
{
	struct redis_conn_opts o;
	struct sentinel_addr at;
	const char *what;
	char why[256];
	redisContext *c;

	*gen = 0;
	memset(&o, 0, sizeof(o));
	if (rs->sentinels != NULL) {
		if (primary_get(rs, &at, gen, err, errlen) == -1)
			return NULL;
		o.host = at.host;
		o.port = at.port;
		o.role_check = 1;
	} else {
		o.host = rs->host;
		o.port = rs->port;
		o.unix_path = rs->unix_path;
	}
	o.username = rs->username;
	o.password = rs->password;
	o.connect_timeout_ms = rs->connect_ms;
	o.command_timeout_ms = rs->command_ms;
	if ((c = redis_conn_open(&o, &what, why, sizeof(why))) == NULL)
		rs_fail(rs, err, errlen, what, why);
	return c;
}

/* waiter_pop - the longest waiting thread, taken off the queue; lock held */
static struct rs_waiter *
waiter_pop(struct redis_store *rs)
{
	struct rs_waiter *w = rs->first;

	if (w != NULL && (rs->first = w->next) == NULL)
		rs->last = NULL;
	if (w != NULL)
		rs->served++;
	return w;
}

/* tv_after - CLOCK_REALTIME plus n times tv */
static struct timespec
tv_after(struct timeval tv, unsigned n)
{
	struct timespec t;
	long long ns;

	clock_gettime(CLOCK_REALTIME, &t);
	ns = (long long)t.tv_nsec + ((long long)tv.tv_sec * 1000000000LL +
	    (long long)tv.tv_usec * 1000LL) * n;
	t.tv_sec += (time_t)(ns / 1000000000LL);
	t.tv_nsec = (long)(ns % 1000000000LL);
	return t;
}

/* ts_before - is a earlier than b? */
static int
ts_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec &&
	    a.tv_nsec < b.tv_nsec);
}

/* slots_hand - free slots to the waiting threads, in order; lock held */
static void
slots_hand(struct redis_store *rs)
{
	struct rs_waiter *w;

	while (rs->first != NULL && rs->nopen < rs->pool_max) {
		w = waiter_pop(rs);
		rs->nopen++;	/* its slot: it opens a connection */
		w->served = 1;
		pthread_cond_signal(&w->cv);
	}
}

/* slot_release - one connection fewer; its slot to a waiting thread */
static void
slot_release(struct redis_store *rs)
{
	pthread_mutex_lock(&rs->lock);
	rs->nopen--;
	slots_hand(rs);
	pthread_mutex_unlock(&rs->lock);
}

/*
 * rs_conn_get - an idle connection, or a new one while fewer than pool_max
 * exist; else wait in line for one to come free (1,000 SMTP threads share
 * a few connections instead of each opening its own and starving Redis
 * and the relay). A thread gives up when no waiting thread was served
 * for a command timeout (the pool is stuck: Redis is not answering the
 * calls in flight either), or after RS_WAIT_TIMEOUTS of them in all. A
 * line that moves is a busy Redis, not a dead one: failing there made
 * the fallback answer at 1,000 connections. -1 with err.
 */
int
rs_conn_get(struct redis_store *rs, struct rs_conn *cn, char *err, size_t errlen)
{
	struct timespec deadline, cap;
	struct rs_waiter w, **pp, *q;
	unsigned long seen;
	int rc;

	cn->c = NULL;
	pthread_mutex_lock(&rs->lock);
	if (rs->first == NULL && rs->nidle > 0) {
		cn->c = rs->idle[--rs->nidle];
		cn->gen = rs->gen;	/* the idle ones are current */
	} else if (rs->first == NULL && rs->nopen < rs->pool_max)
		rs->nopen++;	/* a slot for the connection we open */
	else {
		memset(&w, 0, sizeof(w));
		pthread_cond_init(&w.cv, NULL);
		if (rs->last != NULL)
			rs->last->next = &w;
		else
			rs->first = &w;
		rs->last = &w;
		cap = tv_after(rs->command_tv, RS_WAIT_TIMEOUTS);
		for (;;) {
			seen = rs->served;
			deadline = tv_after(rs->command_tv, 1);
			if (ts_before(cap, deadline))
				deadline = cap;
			rc = 0;
			while (!w.served && rc == 0)
				rc = pthread_cond_timedwait(&w.cv, &rs->lock,
				    &deadline);
			if (w.served || rs->served == seen ||
			    !ts_before(deadline, cap))
				break;
		}
		if (!w.served) {	/* timed out: leave the line */
			for (pp = &rs->first; *pp != &w; pp = &(*pp)->next)
				;
			*pp = w.next;
			rs->last = NULL;
			for (q = rs->first; q != NULL; q = q->next)
				rs->last = q;
		}
		pthread_cond_destroy(&w.cv);
		if (!w.served) {
			pthread_mutex_unlock(&rs->lock);
			return rs_fail(rs, err, errlen, "connection pool",
			    "all connections busy past the command timeout");
		}
		cn->c = w.c;	/* NULL: a slot to open one */
		cn->gen = w.gen;
	}
	pthread_mutex_unlock(&rs->lock);
	if ((cn->pooled = cn->c != NULL))
		return 0;
	if ((cn->c = conn_open(rs, &cn->gen, err, errlen)) != NULL)
		return 0;
	slot_release(rs);
	return -1;
}

/* rs_conn_put - give a connection back: to the longest waiting thread, or
 * to the pool; a broken one is freed */
void
rs_conn_put(struct redis_store *rs, struct rs_conn *cn, int broken)
{
	redisContext *c = cn->c;
	struct rs_waiter *w;

	cn->c = NULL;
	if (c == NULL)
		return;
	if (!broken && c->err == 0) {
		pthread_mutex_lock(&rs->lock);
		/* a connection to a former primary is not kept */
		if (cn->gen == rs->gen && (w = waiter_pop(rs)) != NULL) {
			w->c = c;
			w->gen = cn->gen;
			w->served = 1;
			pthread_cond_signal(&w->cv);
			c = NULL;
		} else if (rs->nidle < rs->pool_max && cn->gen == rs->gen) {
			rs->idle[rs->nidle++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&rs->lock);
	}
	if (c != NULL) {
		redisFree(c);
		slot_release(rs);
	}
}

/*
 * rs_conn_cmd - one command; NULL with err when the connection failed (it is
 * then freed: cn->c is NULL). A pooled connection the server had closed
 * is replaced once by a fresh one and the command sent again: the first
 * send cannot have run. A reply, even an error reply, is the caller's.
 */
redisReply *
rs_conn_cmd(struct redis_store *rs, struct rs_conn *cn, const char *what,
    int argc, const char **argv, const size_t *argvlen, char *err,
    size_t errlen)
{
	redisReply *r;
	int e;

	for (;;) {
		errno = 0;
		r = redisCommandArgv(cn->c, argc, argv, argvlen);
		e = errno;
		if (r != NULL)
			return r;
		if (!cn->pooled || !rs_conn_stale(cn->c, e)) {
			rs_fail_ctx(rs, cn->c, e, what, err, errlen);
			rs_conn_put(rs, cn, 1);
			return NULL;
		}
		rs_conn_put(rs, cn, 1);
		if (rs_conn_get(rs, cn, err, errlen) == -1)
			return NULL;
	}
}

