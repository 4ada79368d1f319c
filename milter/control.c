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
 * This file is the message threads' side, and start and stop; the
 * control thread (its connections through lib/redis_link.c: one Redis,
 * the primary behind Sentinel, or a Cluster) is control_thread.c, the
 * holds on a lock control_hold.c, what they share control_int.h.
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
 * snapshot (lib/snapshot.h, as the config's) guards the live classes;
 * everything below "control thread only" in struct ctl_state is the
 * control thread's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "classmap.h"
#include "contract.h"
#include "control.h"
#include "control_int.h"
#include "localctl.h"
#include "qidmem.h"
#include "redis_link.h"
#include "recent.h"
#include "sender.h"
#include "sluice.h"

struct ctl_state ctl = { .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = { -1, -1 }, .fq_cond = PTHREAD_COND_INITIALIZER,
    .classes = SNAPSHOT_INITIALIZER };

static int	control_local(const struct config *);

/* ctl_cm_free - a class snapshot's last reader let go */
void
ctl_cm_free(struct snapshot_ref *s)
{
	struct cm_ref *r = (struct cm_ref *)s;	/* s is its first member */

	classmap_free(r->map);
	free(r);
}

/* ctl_cm_acquire - the live classes, held until cm_release; or NULL */
struct cm_ref *
ctl_cm_acquire(void)
{
	return (struct cm_ref *)snapshot_acquire(&ctl.classes);
}

/* ctl_cm_release - let go of a class snapshot; freed with its last reader */
void
ctl_cm_release(struct cm_ref *r)
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
		r = ctl_cm_acquire();
	if (r != NULL) {
		if ((name = classmap_find(r->map, w, d)) != NULL)
			c = config_find_class(cfg, name); /* unknown: NULL */
		ctl_cm_release(r);
	}
	return c != NULL ? c : config_class_find(cfg, w, d);
}

/* control_domain_class_for - the class of a login's domain totals: a live
 * "@domain" override (sluicectl class @domain CLASS), then the
 * domain_class_map file, then default; NULL for a bare login */
const struct config_class *
control_domain_class_for(const struct config *cfg, const char *login)
{
	const char *at = login != NULL ? strrchr(login, '@') : NULL;
	const struct config_class *c;
	struct cm_ref *r = NULL;
	const char *name;

	if (at == NULL || at[1] == '\0')
		return NULL;	/* a bare login has no domain */
	c = ctlsock_class_for(cfg, at);	/* store memory: by sluicectl */
	if (c == NULL && ctl.running)
		r = ctl_cm_acquire();
	if (r != NULL) {
		if ((name = classmap_find(r->map, at, NULL)) != NULL)
			c = config_find_class(cfg, name); /* unknown: NULL */
		ctl_cm_release(r);
	}
	return c != NULL ? c : config_domain_class_for(cfg, login);
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

/* ctl_dequeue - the oldest job; 0 when there is none */
int
ctl_dequeue(struct job *j)
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
		if ((i = ctl_held_find(key)) != -1)
			ctl_held_drop((size_t)i);	/* a new lock, after the last */
		ctl_lock_seen(key, shown, o, ctl.hostname, 0);
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
	if (pthread_create(&ctl.tid, NULL, ctl_thread_main, NULL) != 0) {
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
