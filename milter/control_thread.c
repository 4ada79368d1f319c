/*
 * control_thread.c - the control thread (control.c starts it): its two
 * connections through lib/redis_link.c (one SUBSCRIBEd to P:events, read
 * with poll(2) beside the job queue's self-pipe; one for commands, each
 * sent to the node of its key in a Cluster, to the primary the sentinels
 * name behind Sentinel), the poll of P:classes and P:locked every
 * control_poll, the events, and the jobs the message threads queue (who
 * writes, lock announcements, P:fq writes and lookups). A failed
 * connection is dropped and both are made again with a backoff of 250 ms
 * doubling to 10 s (behind Sentinel the primary is asked for again).
 *
 * Thread-safety: everything here runs on the control thread; ctl.lock
 * guards what the message threads share (control_int.h).
 */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "classmap.h"
#include "clock.h"
#include "contract.h"
#include "control.h"
#include "control_int.h"
#include "redis_link.h"
#include "sender.h"
#include "sluice.h"

/* disconnect - drop both connections */
static void
disconnect(void)
{
	redis_link_close(ctl.link);
	redisFree(ctl.sub);
	ctl.sub = NULL;
	ctl.connected = 0;
	ctl.broken = 0;
}

/* connect_all - both connections and the subscription; -1 + logged once */
static int
connect_all(void)
{
	char err[512], chan[KEY_MAX];
	redisReply *r = NULL;

	contract_global(chan, sizeof(chan), ctl.prefix, CONTRACT_EVENTS);
	if (redis_link_connect(ctl.link, err, sizeof(err)) == -1 ||
	    (ctl.sub = redis_link_sub(ctl.link, err, sizeof(err))) == NULL)
		goto fail;
	r = redisCommand(ctl.sub, "SUBSCRIBE %s", chan);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, sizeof(err), "SUBSCRIBE %s: %s", chan, r == NULL ?
		    ctl.sub->errstr : r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
		goto fail;
	}
	freeReplyObject(r);
	snprintf(ctl.where, sizeof(ctl.where), "%s",
	    redis_link_where(ctl.link));
	log_info("control: connected to %s, listening on %s", ctl.where,
	    chan);
	ctl.down_logged = 0;
	ctl.connected = 1;
	return 0;
fail:
	if (r != NULL)
		freeReplyObject(r);
	disconnect();
	if (!ctl.down_logged)
		log_warnx("control: %s: %s; retrying (live classes and locks "
		    "from other relays wait until it answers)",
		    redis_link_where(ctl.link), err);
	ctl.down_logged = 1;
	return -1;
}

/*
 * ctl_command - one command, its arguments NULL-terminated, the key second
 * (routed there in a Cluster); NULL marks the link broken. A primary
 * turned replica (READONLY) is left too: the next connect finds the new.
 */
redisReply *
ctl_command(const char *arg0, ...)
{
	const char *argv[16];
	size_t len[16];
	char err[512];
	redisReply *r;
	va_list ap;
	int argc = 0, i;

	if (!ctl.connected || ctl.broken)
		return NULL;
	argv[argc++] = arg0;
	va_start(ap, arg0);
	while (argc < 16 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	r = redis_link_cmdv(ctl.link, argc > 1 ? argv[1] : NULL, argc, argv,
	    len, err, sizeof(err));
	if (r == NULL) {
		if (!ctl.down_logged)
			log_warnx("control: %s: %s; reconnecting", ctl.where,
			    err);
		ctl.down_logged = 1;
		ctl.broken = 1;
	} else if (r->type == REDIS_REPLY_ERROR) {
		log_warnx("control: %s: %s %s: %s", ctl.where, arg0,
		    argc > 1 ? argv[1] : "", r->str);
		if (strncmp(r->str, "READONLY", 8) == 0)
			ctl.broken = 1;
	}
	return r;
}

/* ctl_done - drop a command's reply; -1 when the link broke */
int
ctl_done(redisReply *r)
{
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* qid_get_run - answer control_qid_get (control thread) */
static void
qid_get_run(const struct job *j)
{
	char k[KEY_MAX + REASON_MAX];
	redisReply *r = NULL;

	if (contract_fq_key(k, sizeof(k), ctl.prefix, j->reason) == 0)
		r = ctl_command("GET", k, NULL);
	pthread_mutex_lock(&ctl.lock);
	if (j->at == ctl.fq_gen) {
		ctl.fq_found = r != NULL && r->type == REDIS_REPLY_STRING &&
		    r->len < sizeof(ctl.fq_val);
		if (ctl.fq_found)
			snprintf(ctl.fq_val, sizeof(ctl.fq_val), "%s", r->str);
		ctl.fq_done = 1;
		pthread_cond_signal(&ctl.fq_cond);
	}
	pthread_mutex_unlock(&ctl.lock);
	if (r != NULL)
		freeReplyObject(r);
}

/* announce - lockinfo, P:locked and "lock H" for one of our locks; -1:
 * the connection failed (try again later). Four commands, not one
 * pipeline: in a Cluster the keys live in different slots. */
static int
announce(const struct job *j)
{
	char k[KEY_MAX], zk[KEY_MAX], chan[KEY_MAX], ev[CONTRACT_EVENT_MAX];
	char at[24], until[24], ttl[24];
	uint64_t now = (uint64_t)time(NULL);

	contract_sender(k, sizeof(k), ctl.prefix, j->key, CONTRACT_LOCKINFO);
	contract_global(zk, sizeof(zk), ctl.prefix, CONTRACT_LOCKED);
	contract_global(chan, sizeof(chan), ctl.prefix, CONTRACT_EVENTS);
	contract_event(ev, sizeof(ev), CONTRACT_EV_LOCK, j->key);
	snprintf(at, sizeof(at), "%llu", (unsigned long long)j->at);
	snprintf(until, sizeof(until), "%llu", (unsigned long long)j->until);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)(j->until >
	    now ? j->until - now : 1));
	/* an error reply is logged (command), not retried */
	if (ctl_done(ctl_command("HSET", k, CONTRACT_LI_LOGIN, j->shown,
	    CONTRACT_LI_ORIGIN, sender_origin_name(j->origin),
	    CONTRACT_LI_REASON, j->reason, CONTRACT_LI_BY, ctl.hostname,
	    CONTRACT_LI_AT, at, CONTRACT_LI_UNTIL, until, NULL)) == -1 ||
	    ctl_done(ctl_command("EXPIRE", k, ttl, NULL)) == -1 ||
	    ctl_done(ctl_command("ZADD", zk, until, j->key, NULL)) == -1 ||
	    ctl_done(ctl_command("PUBLISH", chan, ev, NULL)) == -1)
		return -1;
	return 0;
}

/* pending_add - keep one of our locks to announce when Redis is back */
static void
pending_add(const struct job *j)
{
	if (ctl.npending == PENDING_MAX) {
		log_err("control: too many locks waiting for Redis; the lock "
		    "of %s is not announced", j->shown);
		return;
	}
	ctl.pending[ctl.npending++] = *j;
}

/* jobs_run - do what the message threads asked */
static void
jobs_run(void)
{
	char k[KEY_MAX], val[SENDER_KEY_LEN + SHOWN_MAX + 16];
	char fq[KEY_MAX + REASON_MAX], ttl[16];
	struct job j;
	size_t i;

	while (ctl_dequeue(&j)) {
		if (j.kind == JOB_WHO) {
			/* failed (Redis down, an error): tried again after
			 * the hour, not at every message meanwhile */
			contract_sender(k, sizeof(k), ctl.prefix, j.key,
			    CONTRACT_WHO);
			snprintf(val, sizeof(val), "%s%s%s", j.shown,
			    j.origin == SENDER_SASL ? "" : "\t",
			    j.origin == SENDER_SASL ? "" :
			    sender_origin_name(j.origin));
			(void)ctl_done(ctl_command("SET", k, val, "EX", WHO_TTL_S,
			    NULL));
			continue;
		}
		if (j.kind == JOB_QID) {
			snprintf(ttl, sizeof(ttl), "%d", CONTRACT_FQ_TTL);
			if (contract_fq_key(fq, sizeof(fq), ctl.prefix,
			    j.reason) == 0 && contract_fq_value(val,
			    sizeof(val), j.key, sender_origin_name(j.origin),
			    j.shown) == 0)
				(void)ctl_done(ctl_command("SET", fq, val, "EX",
				    ttl, NULL));
			continue;
		}
		if (j.kind == JOB_QIDGET) {
			qid_get_run(&j);
			continue;
		}
		ctl_lock_seen(j.key, j.shown, j.origin, ctl.hostname, 0);
		if (!ctl.connected || ctl.broken || announce(&j) == -1)
			pending_add(&j);
	}
	for (i = 0; i < ctl.npending && ctl.connected && !ctl.broken; i++)
		if (announce(&ctl.pending[i]) == -1)
			break;
	if (i > 0) {
		memmove(ctl.pending, ctl.pending + i, (ctl.npending - i) *
		    sizeof(ctl.pending[0]));
		ctl.npending -= i;
	}
}

/* classes_check - warn once for each override naming an unknown class */
static void
classes_check(const struct classmap *m)
{
	struct classmap *unk = classmap_new();
	char shown[SHOWN_MAX];
	const char *key, *cls;
	struct cfg_ref *ref = cfg_acquire();
	size_t i, warned = 0;

	if (unk == NULL) {
		cfg_release(ref);
		return;
	}
	for (i = 0; i < classmap_count(m); i++) {
		classmap_entry(m, i, &key, &cls);
		if (config_find_class(ref->cfg, cls) != NULL)
			continue;
		classmap_add(unk, key, strlen(key), cls, strlen(cls));
		if (classmap_has(ctl.warned, key, cls) || warned++ >= WARN_MAX)
			continue;
		sender_printable(key, shown, sizeof(shown), 0);
		log_warnx("live classes: %s has class \"%s\", which this "
		    "relay's configuration does not define; ignored (the "
		    "class map applies)", shown, cls);
	}
	if (warned > WARN_MAX)
		log_warnx("live classes: %zu more overrides name unknown "
		    "classes", warned - WARN_MAX);
	cfg_release(ref);
	classmap_seal(unk);
	classmap_free(ctl.warned);
	ctl.warned = unk;
}

/* classes_load - HGETALL P:classes; swap the snapshot if it changed */
static void
classes_load(void)
{
	struct cm_ref *nr, *old;
	struct classmap *m;
	redisReply *r, *f, *v;
	char k[KEY_MAX];
	size_t i;

	contract_global(k, sizeof(k), ctl.prefix, CONTRACT_CLASSES);
	if ((r = ctl_command("HGETALL", k, NULL)) == NULL)
		return;
	if (r->type != REDIS_REPLY_ARRAY || (m = classmap_new()) == NULL) {
		freeReplyObject(r);
		return;
	}
	for (i = 0; i + 1 < r->elements; i += 2) {
		f = r->element[i];
		v = r->element[i + 1];
		if (f->type == REDIS_REPLY_STRING && v->type ==
		    REDIS_REPLY_STRING && classmap_add(m, f->str, f->len,
		    v->str, v->len) == -1)
			break;	/* out of memory: what fit */
	}
	freeReplyObject(r);
	classmap_seal(m);
	old = ctl_cm_acquire();	/* only this thread swaps it */
	if (classmap_equal(old != NULL ? old->map : NULL, m)) {
		classmap_free(m);
	} else if ((nr = calloc(1, sizeof(*nr))) == NULL) {
		classmap_free(m);
	} else {
		nr->snap.free = ctl_cm_free;
		nr->map = m;
		snapshot_install(&ctl.classes, &nr->snap);
		/* a sender noted under its old class is checked at MAIL
		 * again (after the swap: a note from before it is dropped) */
		okcache_clear(rt.okcache);
		log_info("live classes: %zu overrides from %s", classmap_count(m),
		    k);
	}
	if (old != NULL)
		ctl_cm_release(old);
	old = ctl_cm_acquire();
	classes_check(old != NULL ? old->map : NULL);
	if (old != NULL)
		ctl_cm_release(old);
}

/* key_cmp - for qsort/bsearch over an array of key strings */
static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* locks_poll - logins P:locked says are locked now, and those no longer */
static void
locks_poll(void)
{
	char k[KEY_MAX], min[32], **keys = NULL, *key;
	uint64_t now = (uint64_t)time(NULL);
	redisReply *r;
	size_t i, n = 0;

	contract_global(k, sizeof(k), ctl.prefix, CONTRACT_LOCKED);
	snprintf(min, sizeof(min), "(%llu", (unsigned long long)now);
	if ((r = ctl_command("ZRANGEBYSCORE", k, min, "+inf", NULL)) == NULL)
		return;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    (keys = calloc(r->elements, sizeof(*keys))) != NULL)
		for (i = 0; i < r->elements; i++)
			if (r->element[i]->type == REDIS_REPLY_STRING &&
			    contract_key_ok(r->element[i]->str, r->element[i]->len))
				keys[n++] = r->element[i]->str;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n && !ctl.broken; i++)
		ctl_lock_seen(keys[i], NULL, SENDER_SASL, NULL, 1);
	/* locks gone from P:locked (unlocked, expired): the next one counts */
	for (i = ctl.nheld; i-- > 0;) {
		key = ctl.held[i].key;
		if (ctl.held[i].since + HELD_GRACE <= now && (n == 0 ||
		    bsearch(&key, keys, n, sizeof(*keys), key_cmp) == NULL))
			ctl_held_drop(i);
	}
	free(keys);
	freeReplyObject(r);
}

/* event - one message of P:events */
static void
event(const char *s, size_t len)
{
	char key[SENDER_KEY_LEN + 1];
	int i;

	switch (contract_event_parse(s, len, key)) {
	case CONTRACT_EV_CLASS:
		classes_load();
		break;
	case CONTRACT_EV_LOCK:
		/* its next MAIL is checked (and refused there) again */
		okcache_forget(rt.okcache, key);
		ctl_lock_seen(key, NULL, SENDER_SASL, NULL, 0);
		break;
	case CONTRACT_EV_UNLOCK:
		if ((i = ctl_held_find(key)) != -1)
			ctl_held_drop((size_t)i);
		break;
	default:	/* "reset H" and anything else: nothing to do here */
		break;
	}
}

/* events_drain - handle every message already read from the subscription */
static int
events_drain(void)
{
	redisReply *r;
	void *p;

	for (;;) {
		if (redisGetReplyFromReader(ctl.sub, &p) != REDIS_OK)
			return -1;
		if ((r = p) == NULL)
			return 0;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[0]->str, "message") == 0 &&
		    r->element[2]->type == REDIS_REPLY_STRING)
			event(r->element[2]->str, r->element[2]->len);
		freeReplyObject(r);
	}
}

/* wait_for - sleep until the subscription or the pipe speaks, or timeout */
static int
wait_for(uint64_t timeout_ms)
{
	struct pollfd pfd[2];
	char buf[256];
	nfds_t n = 1;

	pfd[0].fd = ctl.wake[0];
	pfd[0].events = POLLIN;
	if (ctl.sub != NULL) {
		pfd[1].fd = ctl.sub->fd;
		pfd[1].events = POLLIN;
		n = 2;
	}
	if (timeout_ms > 60000)
		timeout_ms = 60000;
	if (poll(pfd, n, (int)timeout_ms) <= 0)
		return 0;
	if (pfd[0].revents & POLLIN)
		while (read(ctl.wake[0], buf, sizeof(buf)) > 0)
			;
	if (n == 2 && pfd[1].revents != 0) {
		if (redisBufferRead(ctl.sub) != REDIS_OK) {
			if (!ctl.down_logged)
				log_warnx("control: %s: subscription: %s; "
				    "reconnecting", ctl.where,
				    ctl.sub->errstr[0] ? ctl.sub->errstr :
				    "connection lost");
			ctl.down_logged = 1;
			return -1;
		}
		if (events_drain() == -1)
			return -1;
	}
	return 0;
}

/* stopping - asked to stop? and should the poll run now? */
static int
stopping(int *repoll)
{
	int stop;

	pthread_mutex_lock(&ctl.lock);
	stop = ctl.stop;
	*repoll = ctl.repoll;
	ctl.repoll = 0;
	pthread_mutex_unlock(&ctl.lock);
	return stop;
}

/* ctl_thread_main - the control thread */
void *
ctl_thread_main(void *arg)
{
	unsigned backoff = BACKOFF_MIN_MS;
	uint64_t next = 0, now, poll_ms;
	struct cfg_ref *ref;
	int repoll;

	(void)arg;
	while (!stopping(&repoll)) {
		if (!ctl.connected && connect_all() == -1) {
			jobs_run();	/* our locks still hold queues here */
			wait_for(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			    backoff * 2;
			continue;
		}
		if (backoff != BACKOFF_MIN_MS) {
			backoff = BACKOFF_MIN_MS;
			next = 0;	/* back: catch up at once */
		}
		if (events_drain() == -1)
			ctl.broken = 1;
		jobs_run();
		now = clock_mono_ms();
		if (!ctl.broken && (repoll || now >= next)) {
			classes_load();
			locks_poll();
			ref = cfg_acquire();
			poll_ms = ref->cfg->control_poll_ms;
			cfg_release(ref);
			next = now + poll_ms;
		}
		if (ctl.broken || wait_for(next > now ? next - now : 0) == -1)
			disconnect();
	}
	disconnect();
	return NULL;
}
