/*
 * control.c - the daemon's control channel through Redis (store redis
 * only; with store memory nothing here runs): live per-login classes,
 * the `who` keys that name logins, lock announcements, and the queue
 * clean-up when a login is locked on any relay. The keys and the channel
 * are those of doc/control-contract.md (lib/contract.h), shared with
 * sluicectl:
 *
 *   P:classes          hash login|@domain -> class, read whole (HGETALL)
 *   P{H}:who           printable login, written at most hourly per login;
 *                      a key not of a SASL login adds a TAB and its
 *                      origin ("bob@example.com\tenvelope": a printable
 *                      login holds no TAB)
 *   P{H}:lockinfo      hash login, origin, reason, by, at, until (on our
 *                      locks)
 *   P:locked           sorted set H -> until
 *   P:events           channel: "lock H", "unlock H", "reset H", "class"
 *   P:fq:QUEUEID       "H ORIGIN LOGIN" of accepted mail, for feedback
 *                      (feedback.c) on the other relays, TTL 1 day
 *
 * One control thread owns two hiredis connections: one SUBSCRIBEd to
 * P:events, read with poll(2) so the thread also wakes for its job queue
 * (a self-pipe) and for its poll of P:classes and P:locked every
 * control_poll; one for commands. A failed connection is dropped and
 * both are made again with a backoff of 250 ms doubling to 10 s.
 *
 * The message threads never talk to Redis: they read the live classes
 * from a refcounted immutable snapshot (taken under a mutex for a
 * pointer copy, never while Redis is asked), remember the queue ids
 * they accept (lib/qidmem), and hand `who` writes and lock
 * announcements to the control thread through a bounded queue. When a
 * login is locked - by this relay, by a "lock H" event, or found in
 * P:locked by the poll - the ids it got accepted here within
 * hold_window are handed to hold_command (hook.c), once per lock.
 *
 * Thread-safety: ctl.lock guards the queue and the stop flag, the
 * snapshot (lib/snapshot.h, as the config's) guards the live classes; everything else below "control thread only" is the
 * control thread's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "classmap.h"
#include "contract.h"
#include "control.h"
#include "localctl.h"
#include "qidmem.h"
#include "redis_link.h"
#include "recent.h"
#include "sender.h"
#include "sluice.h"

#define JOBS_MAX	1024	/* queued who/lock jobs; beyond, who is dropped */
#define PENDING_MAX	256	/* our locks waiting for Redis to announce */
#define HELD_MAX	4096	/* locks this relay has dealt with */
#define HELD_GRACE	60	/* s a lock is kept without P:locked saying so */
#define WHO_PERIOD	3600	/* s between two writes of a login's who */
#define WHO_TTL_S	"86400"	/* s a who key lives */
#define WHO_KEYS	65536	/* logins remembered for WHO_PERIOD */
#define BACKOFF_MIN_MS	250
#define BACKOFF_MAX_MS	10000
#define CMD_TIMEOUT_MIN_MS 1000	/* no message waits on these commands */
#define SHOWN_MAX	200	/* printable login */
#define REASON_MAX	160
#define KEY_MAX		CONTRACT_KEY_MAX
#define WARN_MAX	20	/* unknown-class warnings per check */

enum job_kind { JOB_WHO, JOB_LOCK, JOB_QID, JOB_QIDGET };

struct job {
	enum job_kind	 kind;
	char		 key[SENDER_KEY_LEN + 1];
	char		 shown[SHOWN_MAX];
	enum sender_origin origin;
	char		 reason[REASON_MAX];
	uint64_t	 at, until;	/* JOB_LOCK: unix seconds; JOB_QIDGET:
					   at is the asker's generation */
};

/* a snapshot of the live classes, shared with the message threads */
struct cm_ref {
	struct snapshot_ref snap;	/* first: the count */
	struct classmap	*map;
};

struct held {
	char		 key[SENDER_KEY_LEN + 1];
	uint64_t	 since;
};

static struct {
	int		 running;	/* set before the milter threads start */
	int		 local;		/* no control thread: this relay's own
					   locks hold its queued mail (memory
					   store) */
	pthread_t	 tid;
	pthread_mutex_t	 lock;		/* jobs, stop, repoll */
	struct job	*jobs;		/* ring of JOBS_MAX */
	size_t		 jhead, jlen;
	int		 stop, repoll;
	int		 wake[2];	/* self-pipe: jobs or stop */
	struct snapshot	 classes;	/* of cm_ref; none: no live classes */
	struct qidmem	*qids;
	struct recent	*who;
	/* the feedback reader's one question (control_qid_get), ctl.lock */
	pthread_cond_t	 fq_cond;
	uint64_t	 fq_gen;	/* the question being answered */
	int		 fq_done, fq_found;
	char		 fq_val[SENDER_KEY_LEN + SHOWN_MAX + 16];

	/* control thread only */
	char		*host, *unix_path, *user, *password, *prefix;
	char		*sentinels, *master, *sentinel_password;
	struct redis_link *link;	/* borrows the strings above */
	char		 where[300];	/* "redis host:port" for the log */
	int		 connected;	/* link and subscription up */
	redisContext	*sub;
	int		 broken;	/* a command failed: reconnect */
	int		 down_logged;
	char		 hostname[128];
	struct job	 pending[PENDING_MAX];
	size_t		 npending;
	struct held	 held[HELD_MAX];
	size_t		 nheld;
	struct classmap	*warned;	/* unknown classes already logged */
} ctl = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = { -1, -1 },
    .fq_cond = PTHREAD_COND_INITIALIZER, .classes = SNAPSHOT_INITIALIZER };

static void	lock_seen(const char *, const char *, enum sender_origin,
		    const char *, int);
static int	held_find(const char *);
static void	held_drop(size_t);
static int	control_local(const struct config *);
static redisReply *command(const char *, ...);

/* mono_ms - a monotonic clock in ms, for the poll schedule */
static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* cm_free - a class snapshot's last reader let go */
static void
cm_free(struct snapshot_ref *s)
{
	struct cm_ref *r = (struct cm_ref *)s;	/* s is its first member */

	classmap_free(r->map);
	free(r);
}

/* cm_acquire - the live classes, held until cm_release; or NULL */
static struct cm_ref *
cm_acquire(void)
{
	return (struct cm_ref *)snapshot_acquire(&ctl.classes);
}

/* cm_release - let go of a class snapshot; freed with its last reader */
static void
cm_release(struct cm_ref *r)
{
	snapshot_release(&ctl.classes, &r->snap);
}

/* control_who - "LOGIN origin=ORIGIN", a login in a log line */
void
control_who(const char *shown, enum sender_origin o, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s origin=%s", shown, sender_origin_name(o));
}

/* control_class_for - live override (exact, @domain), then the map file */
const struct config_class *
control_class_for(const struct config *cfg, enum sender_origin o,
    const char *login)
{
	const struct config_class *c = ctlsock_class_for(cfg, login);
	struct cm_ref *r = NULL;
	char whole[SENDER_NAME_MAX + 1], dom[SENDER_NAME_MAX + 1];
	const char *name, *w, *d;

	if (sender_class_names(o, login, whole, dom, &w, &d) == -1)
		return &cfg->classes[0];	/* too long for a tag */

	if (c != NULL)		/* store memory: set through sluicectl */
		return c;
	if (ctl.running)
		r = cm_acquire();
	if (r != NULL) {
		if ((name = classmap_find(r->map, w, d)) != NULL)
			c = config_find_class(cfg, name); /* unknown: NULL */
		cm_release(r);
	}
	return c != NULL ? c : config_class_find(cfg, w, d);
}

/* wake - nudge the control thread (never blocks) */
static void
wake(void)
{
	ssize_t w = write(ctl.wake[1], "", 1);

	(void)w;	/* a full pipe already wakes it */
}

/* enqueue - hand a job to the control thread; -1 when the queue is full */
static int
enqueue(const struct job *j)
{
	pthread_mutex_lock(&ctl.lock);
	/* half the queue is kept for locks: who writes can wait an hour */
	if (ctl.jlen == JOBS_MAX || ctl.stop || ((j->kind == JOB_WHO ||
	    j->kind == JOB_QID) && ctl.jlen >= JOBS_MAX / 2)) {
		pthread_mutex_unlock(&ctl.lock);
		return -1;
	}
	ctl.jobs[(ctl.jhead + ctl.jlen++) % JOBS_MAX] = *j;
	pthread_mutex_unlock(&ctl.lock);
	wake();
	return 0;
}

/* dequeue - the oldest job; 0 when there is none */
static int
dequeue(struct job *j)
{
	int got = 0;

	pthread_mutex_lock(&ctl.lock);
	if (ctl.jlen > 0) {
		*j = ctl.jobs[ctl.jhead];
		ctl.jhead = (ctl.jhead + 1) % JOBS_MAX;
		ctl.jlen--;
		got = 1;
	}
	pthread_mutex_unlock(&ctl.lock);
	return got;
}

/* control_seen - a login sent mail: its who key, at most once an hour */
void
control_seen(const char *key, const char *shown, enum sender_origin o)
{
	struct job j;

	ctlsock_seen(key, shown);	/* memory store: sluicectl's names */
	if (!ctl.running || !recent_due(ctl.who, key, (uint64_t)time(NULL),
	    WHO_PERIOD))
		return;
	memset(&j, 0, sizeof(j));
	j.kind = JOB_WHO;
	snprintf(j.key, sizeof(j.key), "%s", key);
	snprintf(j.shown, sizeof(j.shown), "%s", shown);
	j.origin = o;
	if (enqueue(&j) == -1)
		recent_forget(ctl.who, key);	/* the next message tries */
}

/* control_accepted - remember an accepted queue id, if anything holds */
void
control_accepted(const struct config *cfg, const char *key, const char *qid)
{
	if ((!ctl.running && !ctl.local) || cfg->hold_command == NULL ||
	    qid[0] == '\0')
		return;
	qidmem_add(ctl.qids, key, qid, (uint64_t)time(NULL),
	    cfg->hold_window_ms / 1000);
}

/* control_qid_put - feedback: P:fq:QID = "KEY LOGIN" for another relay's
 * reader, written by the control thread (no message waits on it) */
void
control_qid_put(const char *qid, const char *key, const char *login,
    enum sender_origin o)
{
	struct job j;

	if (!ctl.running || qid[0] == '\0' || strlen(qid) >= REASON_MAX ||
	    strlen(login) >= SHOWN_MAX)
		return;
	memset(&j, 0, sizeof(j));
	j.kind = JOB_QID;
	j.origin = o;
	snprintf(j.key, sizeof(j.key), "%s", key);
	snprintf(j.shown, sizeof(j.shown), "%s", login);
	snprintf(j.reason, sizeof(j.reason), "%s", qid);
	(void)enqueue(&j);	/* full: that id is found locally only */
}

/* control_qid_get - feedback: the login of a queue id another relay
 * accepted, asked of Redis by the control thread; waits at most
 * timeout_ms. 1 found (key, login filled), 0 not */
int
control_qid_get(const char *qid, char *key, size_t keylen, char *login,
    size_t loginlen, enum sender_origin *o, unsigned timeout_ms)
{
	struct timespec until;
	struct job j;
	const char *h, *on, *l;
	int found = 0;

	if (!ctl.running || strlen(qid) >= REASON_MAX)
		return 0;
	memset(&j, 0, sizeof(j));
	j.kind = JOB_QIDGET;
	snprintf(j.reason, sizeof(j.reason), "%s", qid);
	pthread_mutex_lock(&ctl.lock);
	j.at = ++ctl.fq_gen;
	ctl.fq_done = 0;
	pthread_mutex_unlock(&ctl.lock);
	if (enqueue(&j) == -1)
		return 0;
	deadline_in(&until, timeout_ms);
	pthread_mutex_lock(&ctl.lock);
	while (!ctl.fq_done && pthread_cond_timedwait(&ctl.fq_cond,
	    &ctl.lock, &until) == 0)
		;
	if (ctl.fq_done && ctl.fq_found && contract_fq_parse(ctl.fq_val, &h,
	    &on, &l) == 0 && sender_origin_parse(on, o) == 0) {
		snprintf(key, keylen, "%s", h);
		snprintf(login, loginlen, "%s", l);
		found = 1;
	}
	ctl.fq_gen++;	/* a late answer is dropped */
	pthread_mutex_unlock(&ctl.lock);
	return found;
}

/* qid_get_run - answer control_qid_get (control thread) */
static void
qid_get_run(const struct job *j)
{
	char k[KEY_MAX + REASON_MAX];
	redisReply *r = NULL;

	if (contract_fq_key(k, sizeof(k), ctl.prefix, j->reason) == 0)
		r = command("GET", k, NULL);
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

/* control_locked - our lock rule locked a login: announce it, hold */
void
control_locked(const struct config *cfg, const char *key, const char *shown,
    enum sender_origin o, const char *reason)
{
	char who[SHOWN_MAX + 32];
	struct job j;
	int i;

	control_who(shown, o, who, sizeof(who));
	ctlsock_locked(key, shown, ctl.hostname[0] ? ctl.hostname : "sluice",
	    reason, (uint64_t)time(NULL) + cfg->lock_lifetime_ms / 1000);
	if (ctl.local) {
		/* held[] is the control thread's; here the lock guards it */
		pthread_mutex_lock(&ctl.lock);
		if ((i = held_find(key)) != -1)
			held_drop((size_t)i);	/* a new lock, after the last */
		lock_seen(key, shown, o, ctl.hostname, 0);
		pthread_mutex_unlock(&ctl.lock);
		return;
	}
	if (!ctl.running)
		return;
	memset(&j, 0, sizeof(j));
	j.kind = JOB_LOCK;
	snprintf(j.key, sizeof(j.key), "%s", key);
	snprintf(j.shown, sizeof(j.shown), "%s", shown);
	j.origin = o;
	snprintf(j.reason, sizeof(j.reason), "%s", reason);
	j.at = (uint64_t)time(NULL);
	j.until = j.at + cfg->lock_lifetime_ms / 1000;
	if (enqueue(&j) == -1)
		log_err("control: queue full; the lock of %s is not announced "
		    "to the other relays (they see it at its next message)",
		    who);
}

/* control_qids - the queue ids remembered for holds, or NULL (none kept) */
struct qidmem *
control_qids(void)
{
	return ctl.qids;
}

/* control_reloaded - check the live classes against the new config */
void
control_reloaded(void)
{
	if (!ctl.running)
		return;
	pthread_mutex_lock(&ctl.lock);
	ctl.repoll = 1;
	pthread_mutex_unlock(&ctl.lock);
	wake();
}

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
 * command - one command, its arguments NULL-terminated, the key second
 * (routed there in a Cluster); NULL marks the link broken. A primary
 * turned replica (READONLY) is left too: the next connect finds the new.
 */
static redisReply *
command(const char *arg0, ...)
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

/* done - drop a command's reply; -1 when the link broke */
static int
done(redisReply *r)
{
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* held_find - index of a lock dealt with, or -1 */
static int
held_find(const char *key)
{
	size_t i;

	for (i = 0; i < ctl.nheld; i++)
		if (strcmp(ctl.held[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* held_drop - forget a lock dealt with (unlocked, expired) */
static void
held_drop(size_t i)
{
	memmove(&ctl.held[i], &ctl.held[i + 1], (ctl.nheld - i - 1) *
	    sizeof(ctl.held[0]));
	ctl.nheld--;
}

/* held_add - remember a lock dealt with; the oldest goes when full */
static void
held_add(const char *key)
{
	if (ctl.nheld == HELD_MAX)
		held_drop(0);
	snprintf(ctl.held[ctl.nheld].key, sizeof(ctl.held[0].key), "%s", key);
	ctl.held[ctl.nheld++].since = (uint64_t)time(NULL);
}

/* lock_names - the login, its origin and the locking relay: P{H}:lockinfo,
 * P{H}:who */
static void
lock_names(const char *key, char *who, size_t wlen, enum sender_origin *o,
    char *relay, size_t rlen)
{
	char k[KEY_MAX], *tab;
	redisReply *r;
	int named = 0;

	*o = SENDER_SASL;	/* no origin written: an older relay's lock */
	snprintf(who, wlen, "%s", key);		/* at least the key */
	snprintf(relay, rlen, "unknown");
	contract_sender(k, sizeof(k), ctl.prefix, key, CONTRACT_LOCKINFO);
	if ((r = command("HMGET", k, CONTRACT_LI_LOGIN, CONTRACT_LI_BY,
	    CONTRACT_LI_ORIGIN, NULL)) == NULL)
		return;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
		if (r->element[2]->type == REDIS_REPLY_STRING &&
		    sender_origin_parse(r->element[2]->str, o) == -1)
			*o = SENDER_SASL;
		if (r->element[0]->type == REDIS_REPLY_STRING) {
			sender_printable(r->element[0]->str, who, wlen, 0);
			named = 1;
		}
		if (r->element[1]->type == REDIS_REPLY_STRING)
			sender_printable(r->element[1]->str, relay, rlen, 0);
	}
	freeReplyObject(r);
	contract_sender(k, sizeof(k), ctl.prefix, key, CONTRACT_WHO);
	if (named || (r = command("GET", k, NULL)) == NULL)
		return;
	if (r->type == REDIS_REPLY_STRING) {
		/* "login" or "login\torigin" (the TAB is ours: printable
		 * logins hold none) */
		if ((tab = strchr(r->str, '\t')) != NULL) {
			*tab = '\0';
			if (sender_origin_parse(tab + 1, o) == -1)
				*o = SENDER_SASL;
		}
		sender_printable(r->str, who, wlen, 0);
	}
	freeReplyObject(r);
}

/*
 * lock_seen - a login is locked: hand the ids it got accepted here to the
 * hold command, once per lock. who/relay NULL: read from lockinfo (and
 * the origin with them; else o is who's). A lock
 * found by the poll with nothing to hold is noted silently.
 */
static void
lock_seen(const char *key, const char *who, enum sender_origin o,
    const char *relay, int polled)
{
	char whobuf[SHOWN_MAX], relaybuf[128], win[16];
	char whoval[SHOWN_MAX + 8], relayval[sizeof(relaybuf) + 8];
	char whoshow[sizeof(whoval) + 32];
	struct cfg_ref *ref;
	const struct config *cfg;
	char *ids = NULL;
	size_t n = 0;

	if (held_find(key) != -1)
		return;
	held_add(key);
	ref = cfg_acquire();
	cfg = ref->cfg;
	if (cfg->hold_command != NULL &&
	    (n = qidmem_take(ctl.qids, key, (uint64_t)time(NULL),
	    cfg->hold_window_ms / 1000, &ids)) == (size_t)-1) {
		log_err("control: out of memory taking the queue ids of %s",
		    key);
		n = 0;
	}
	if (polled && n == 0) {
		cfg_release(ref);
		return;
	}
	if (who == NULL) {
		lock_names(key, whobuf, sizeof(whobuf), &o, relaybuf,
		    sizeof(relaybuf));
		who = whobuf;
		relay = relaybuf;
	}
	/* for the log lines: each one field, whatever a relay wrote */
	sender_logvalue(who, whoval, sizeof(whoval));
	sender_logvalue(relay, relayval, sizeof(relayval));
	control_who(whoval, o, whoshow, sizeof(whoshow));
	who = whoshow;
	relay = relayval;
	if (n == 0)
		log_warnx("login=%s locked on relay %s: held 0 queued messages "
		    "(%s%s)", who, relay, cfg->hold_command == NULL ?
		    "no hold_command" : "none accepted here in the last ",
		    cfg->hold_command == NULL ? "" :
		    config_format_window(cfg->hold_window_ms / 1000, win,
		    sizeof(win)));
	else
		hold_run(cfg->hold_command, ids, n, cfg->hold_batch,
		    cfg->hold_command_timeout_ms, who, relay);
	cfg_release(ref);
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
	if (done(command("HSET", k, CONTRACT_LI_LOGIN, j->shown,
	    CONTRACT_LI_ORIGIN, sender_origin_name(j->origin),
	    CONTRACT_LI_REASON, j->reason, CONTRACT_LI_BY, ctl.hostname,
	    CONTRACT_LI_AT, at, CONTRACT_LI_UNTIL, until, NULL)) == -1 ||
	    done(command("EXPIRE", k, ttl, NULL)) == -1 ||
	    done(command("ZADD", zk, until, j->key, NULL)) == -1 ||
	    done(command("PUBLISH", chan, ev, NULL)) == -1)
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

	while (dequeue(&j)) {
		if (j.kind == JOB_WHO) {
			/* failed (Redis down, an error): tried again after
			 * the hour, not at every message meanwhile */
			contract_sender(k, sizeof(k), ctl.prefix, j.key,
			    CONTRACT_WHO);
			snprintf(val, sizeof(val), "%s%s%s", j.shown,
			    j.origin == SENDER_SASL ? "" : "\t",
			    j.origin == SENDER_SASL ? "" :
			    sender_origin_name(j.origin));
			(void)done(command("SET", k, val, "EX", WHO_TTL_S,
			    NULL));
			continue;
		}
		if (j.kind == JOB_QID) {
			snprintf(ttl, sizeof(ttl), "%d", CONTRACT_FQ_TTL);
			if (contract_fq_key(fq, sizeof(fq), ctl.prefix,
			    j.reason) == 0 && contract_fq_value(val,
			    sizeof(val), j.key, sender_origin_name(j.origin),
			    j.shown) == 0)
				(void)done(command("SET", fq, val, "EX",
				    ttl, NULL));
			continue;
		}
		if (j.kind == JOB_QIDGET) {
			qid_get_run(&j);
			continue;
		}
		lock_seen(j.key, j.shown, j.origin, ctl.hostname, 0);
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
	if ((r = command("HGETALL", k, NULL)) == NULL)
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
	old = cm_acquire();	/* only this thread swaps it */
	if (classmap_equal(old != NULL ? old->map : NULL, m)) {
		classmap_free(m);
	} else if ((nr = calloc(1, sizeof(*nr))) == NULL) {
		classmap_free(m);
	} else {
		nr->snap.free = cm_free;
		nr->map = m;
		snapshot_install(&ctl.classes, &nr->snap);
		/* a sender noted under its old class is checked at MAIL
		 * again (after the swap: a note from before it is dropped) */
		okcache_clear(rt.okcache);
		log_info("live classes: %zu overrides from %s", classmap_count(m),
		    k);
	}
	if (old != NULL)
		cm_release(old);
	old = cm_acquire();
	classes_check(old != NULL ? old->map : NULL);
	if (old != NULL)
		cm_release(old);
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
	if ((r = command("ZRANGEBYSCORE", k, min, "+inf", NULL)) == NULL)
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
		lock_seen(keys[i], NULL, SENDER_SASL, NULL, 1);
	/* locks gone from P:locked (unlocked, expired): the next one counts */
	for (i = ctl.nheld; i-- > 0;) {
		key = ctl.held[i].key;
		if (ctl.held[i].since + HELD_GRACE <= now && (n == 0 ||
		    bsearch(&key, keys, n, sizeof(*keys), key_cmp) == NULL))
			held_drop(i);
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
		lock_seen(key, NULL, SENDER_SASL, NULL, 0);
		break;
	case CONTRACT_EV_UNLOCK:
		if ((i = held_find(key)) != -1)
			held_drop((size_t)i);
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

/* control_main - the control thread */
static void *
control_main(void *arg)
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
		now = mono_ms();
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

/* ctl_strdup - a copy kept by the control thread; -1 when out of memory */
static int
ctl_strdup(char **dst, const char *src)
{
	return src == NULL || (*dst = strdup(src)) != NULL ? 0 : -1;
}

/* link_make - the control thread's copies of the config's Redis settings,
 * and its link; -1 when out of memory */
static int
link_make(const struct config *cfg, const char *password,
    const char *sentinel_password)
{
	struct redis_link_opts o;
	unsigned cmd_ms = cfg->redis_command_timeout_ms;

	if (cmd_ms < CMD_TIMEOUT_MIN_MS)
		cmd_ms = CMD_TIMEOUT_MIN_MS;
	if (ctl_strdup(&ctl.host, cfg->redis_host) == -1 ||
	    ctl_strdup(&ctl.unix_path, cfg->redis_socket) == -1 ||
	    ctl_strdup(&ctl.user, cfg->redis_username) == -1 ||
	    ctl_strdup(&ctl.password, password) == -1 ||
	    ctl_strdup(&ctl.sentinels, cfg->redis_sentinels) == -1 ||
	    ctl_strdup(&ctl.master, cfg->redis_sentinel_master) == -1 ||
	    ctl_strdup(&ctl.sentinel_password, sentinel_password) == -1 ||
	    ctl_strdup(&ctl.prefix, cfg->redis_prefix) == -1)
		return -1;
	redis_link_opts_config(cfg, ctl.password, ctl.sentinel_password,
	    cmd_ms, &o);
	o.conn.host = ctl.host;
	o.conn.unix_path = ctl.unix_path;
	o.conn.username = ctl.user;
	o.sentinels = ctl.sentinels;
	o.master = ctl.master;
	if ((ctl.link = redis_link_new(&o)) == NULL)
		return -1;
	snprintf(ctl.where, sizeof(ctl.where), "%s",
	    redis_link_where(ctl.link));
	return 0;
}

/* wake_pipe - the self-pipe, both ends non-blocking; -1 + logged */
static int
wake_pipe(void)
{
	int fl, i;

	if (pipe(ctl.wake) == -1) {
		log_err("control: pipe: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		fl = fcntl(ctl.wake[i], F_GETFL);
		fcntl(ctl.wake[i], F_SETFL, fl | O_NONBLOCK);
		fcntl(ctl.wake[i], F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

/* control_start - the control thread, with store redis */
int
control_start(const struct config *cfg, const char *password,
    const char *sentinel_password)
{
	if (cfg->store != CONFIG_STORE_REDIS)
		return control_local(cfg);	/* no other relay */
	if (link_make(cfg, password, sentinel_password) == -1 ||
	    (ctl.jobs = calloc(JOBS_MAX, sizeof(*ctl.jobs))) == NULL ||
	    (ctl.qids = qidmem_new(cfg->hold_max_per_login,
	    cfg->hold_max_ids)) == NULL ||
	    (ctl.who = recent_new(WHO_KEYS)) == NULL) {
		log_err("control: out of memory");
		return -1;
	}
	if (gethostname(ctl.hostname, sizeof(ctl.hostname) - 1) == -1)
		snprintf(ctl.hostname, sizeof(ctl.hostname), "unknown");
	if (wake_pipe() == -1)
		return -1;
	if (pthread_create(&ctl.tid, NULL, control_main, NULL) != 0) {
		log_err("control: cannot start the control thread");
		return -1;
	}
	ctl.running = 1;
	log_info("control: live classes and queue clean-up through %s "
	    "(poll every %u ms, hold_command %s, %zu bytes per remembered "
	    "queue id)", ctl.where, cfg->control_poll_ms,
	    cfg->hold_command != NULL ? cfg->hold_command : "unset",
	    qidmem_entry_bytes());
	return 0;
}

/*
 * control_local - no control thread: remember queue ids and hold them on
 * this relay's own locks (control_locked runs the hold itself)
 */
static int
control_local(const struct config *cfg)
{
	if (cfg->hold_command == NULL)
		return 0;
	if ((ctl.qids = qidmem_new(cfg->hold_max_per_login,
	    cfg->hold_max_ids)) == NULL) {
		log_err("control: out of memory");
		return -1;
	}
	if (gethostname(ctl.hostname, sizeof(ctl.hostname) - 1) == -1)
		snprintf(ctl.hostname, sizeof(ctl.hostname), "unknown");
	ctl.local = 1;
	log_info("control: queued mail of a login this relay locks is held "
	    "(hold_command %s, %zu bytes per remembered queue id)",
	    cfg->hold_command, qidmem_entry_bytes());
	return 0;
}

/*
 * control_stop - stop the control thread and wait for it. What the
 * message threads may still touch (snapshot, id memory) stays until the
 * process exits.
 */
void
control_stop(void)
{
	if (!ctl.running)
		return;
	pthread_mutex_lock(&ctl.lock);
	ctl.stop = 1;
	pthread_mutex_unlock(&ctl.lock);
	wake();
	pthread_join(ctl.tid, NULL);
	if (ctl.password != NULL)
		explicit_bzero(ctl.password, strlen(ctl.password));
	if (ctl.sentinel_password != NULL)
		explicit_bzero(ctl.sentinel_password,
		    strlen(ctl.sentinel_password));
}
