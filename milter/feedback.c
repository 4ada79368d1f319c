/*
 * feedback.c - delivery feedback: one thread follows the MTA's log
 * (a file: lib/follow.c; or the systemd journal: lib/journal.c), finds the remote outcomes in it (lib/mtalog.c), maps
 * each queue id to the login that got it accepted here (lib/qidlogin.c)
 * and charges the login's remote_rejects / remote_deferrals /
 * remote_unknown windows in the store, cluster-wide. When one goes over:
 * one log line, a metrics hit, and feedback_action (lock the login on
 * every relay; tempfail is enforced by the message path itself, which
 * reads the same windows; observe only logs). See doc/feedback.md.
 *
 * The message threads only add to the queue id memory (one short mutex,
 * never held across I/O); nothing a message waits on waits on this
 * thread, so a slow or dead reader delays no mail.
 *
 * Thread-safety: fb.qids is thread-safe; everything else is the reader
 * thread's, but fb.stop (under fb.lock).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "decide.h"
#include "feedback.h"
#include "follow.h"
#include "journal.h"
#include "mtalog.h"
#include "policy.h"
#include "qidlogin.h"
#include "sender.h"
#include "sluice.h"

#define QID_GET_MS	2000	/* most a Redis lookup of a queue id waits */

static struct {
	int		 running;
	pthread_t	 tid;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 stop;
	struct qidlogin	*qids;
	struct follow	*follow;	/* the log file, or */
	struct journal	*journal;	/* the journal (feedback_log journal) */
	enum mtalog_format format;
	const struct config *cfg;	/* reader: during one batch */
	uint64_t	 fbm[METRICS_FEEDBACK]; /* for the metrics page */
	char		 idfile[4096];	/* feedback_state.ids, or "" */
} fb = { .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER };

/* feedback_accepted - remember who qid belongs to */
void
feedback_accepted(const char *qid, const char *key, const char *login,
    enum sender_origin o)
{
	if (fb.qids == NULL || qid[0] == '\0')
		return;
	qidlogin_add(fb.qids, qid, key, login, (int)o);
	control_qid_put(qid, key, login, o);	/* store redis: for the others */
}

/* lock - the feedback_action lock: write the lock, once per lock */
static void
lock(const struct config *cfg, const char *key, const char *login,
    enum sender_origin o, const char *shown, const char *qid,
    const char *reason)
{
	char named[SENDER_NAME_MAX + 1];
	char err[256];
	int rc = decide_lock(cfg, rt.store, key, err, sizeof(err));

	if (rc == -1) {
		log_err("feedback: %s: cannot lock login=%s: %s", qid, shown,
		    err);
		return;
	}
	if (rt.okcache != NULL)
		okcache_forget(rt.okcache, key);
	if (rc == 0)
		return;		/* already locked */
	metrics_count_lock(&sluice_metrics);
	log_warnx("feedback: %s: login=%s locked on every relay: %s", qid,
	    shown, reason);
	control_locked(cfg, key, login, o, reason);
	/* as callbacks.c: LOGIN names its origin unless SASL */
	if (cfg->lock_command != NULL && sender_qualified(o, login, named,
	    sizeof(named)) != NULL)
		hook_run(cfg->lock_command, named, shown, reason,
		    sender_origin_name(o), cfg->lock_command_timeout_ms);
}

/* add_items - one item of this kind per limit, always counted */
static size_t
add_items(const struct config *cfg, struct store_item *items, size_t n,
    enum item_kind kind, const struct config_limit *lim, size_t nlim)
{
	size_t i;

	for (i = 0; i < nlim; i++, n++) {
		detector_item_set(&items[n], kind, lim[i].window,
		    cfg->window_buckets, lim[i].count, 1);
		items[n].soft = 1;	/* always counted */
	}
	return n;
}

/* outcome_items - the items an outcome charges in its class; how many */
static size_t
outcome_items(const struct config *cfg, const struct config_class *cls,
    const struct mtalog_rec *r, struct store_item *items)
{
	size_t n = 0;

	if (r->outcome == MTALOG_BOUNCED)
		n = add_items(cfg, items, n, ITEM_REMOTE_REJECTS,
		    cls->remote_rejects, cls->nremote_rejects);
	if (r->outcome == MTALOG_DEFERRED)
		n = add_items(cfg, items, n, ITEM_REMOTE_DEFERRALS,
		    cls->remote_deferrals, cls->nremote_deferrals);
	if (r->unknown)
		n = add_items(cfg, items, n, ITEM_REMOTE_UNKNOWN,
		    cls->remote_unknown, cls->nremote_unknown);
	return n;
}

/* fire - the items this outcome took over: metrics, log line, lock once */
static void
fire(const struct config *cfg, const struct config_class *cls,
    const struct mtalog_rec *r, const struct store_item *items, size_t n,
    const char *key, const char *login, enum sender_origin o,
    const char *shown)
{
	char reason[200], win[16];
	enum detector d;
	size_t i;
	int fired = 0;

	for (i = 0; i < n; i++) {
		/* the one outcome that crosses the limit fires */
		if (!items[i].over || items[i].count != items[i].limit + 1)
			continue;
		d = detector_of_item(items[i].kind);
		metrics_count_hit(&sluice_metrics, d);
		snprintf(reason, sizeof(reason), "%s %llu/%s (last %s dsn=%s)",
		    detector_name(d), (unsigned long long)items[i].limit,
		    config_format_window(items[i].window, win, sizeof(win)),
		    r->qid, r->dsn[0] ? r->dsn : "-");
		log_warnx("feedback: %s: login=%s class=%s over %s: %s",
		    r->qid, shown, cls->name, reason,
		    cfg->feedback_action == CONFIG_FEEDBACK_LOCK ? "lock" :
		    cfg->feedback_action == CONFIG_FEEDBACK_TEMPFAIL ?
		    "tempfail while over" : "observe");
		if (!fired && cfg->feedback_action == CONFIG_FEEDBACK_LOCK)
			lock(cfg, key, login, o, shown, r->qid, reason);
		fired = 1;
	}
}

/* charge - one outcome of a login's mail: count it, act when over */
static void
charge(const struct config *cfg, const struct mtalog_rec *r,
    const char *key, const char *login, enum sender_origin o)
{
	const struct config_class *cls = control_class_for(cfg, o, login);
	struct store_item items[3 * CONFIG_MAX_LIMITS];
	struct store_req req;
	struct store_res res;
	char err[256], shown[200];
	size_t n;

	if (cls == NULL)
		return;
	if ((n = outcome_items(cfg, cls, r, items)) == 0)
		return;		/* the class has no such limit */
	memset(&req, 0, sizeof(req));
	req.sender = key;
	req.commit = STORE_COMMIT;
	req.items = items;
	req.nitems = n;
	sender_logvalue(login, shown, sizeof(shown));
	if (store_charge(rt.store, &req, &res, err, sizeof(err)) == -1) {
		log_err("feedback: %s: login=%s: store failed: %s", r->qid,
		    shown, err);
		return;
	}
	fire(cfg, cls, r, items, n, key, login, o, shown);
}

/* the journal's entries of the delivery agents, by feedback_format */
#define MATCH_POSTFIX	"SYSLOG_IDENTIFIER=postfix/smtp " \
			"SYSLOG_IDENTIFIER=postfix/lmtp"
#define MATCH_SENDMAIL	"SYSLOG_IDENTIFIER=sm-mta SYSLOG_IDENTIFIER=sendmail"

/* src_commit - the current line is done (state saved), either source */
static void
src_commit(void)
{
	if (fb.journal != NULL)
		journal_commit(fb.journal);
	else
		follow_commit(fb.follow);
}

/* src_stats - lines read and skipped, either source */
static void
src_stats(uint64_t *lines, uint64_t *skipped)
{
	if (fb.journal != NULL)
		journal_stats(fb.journal, lines, skipped);
	else
		follow_stats(fb.follow, lines, skipped);
}

/* line - one line of the log */
static void
line(void *ctx, const char *s, size_t len)
{
	char key[QIDLOGIN_KEY_MAX + 1], login[QIDLOGIN_LOGIN_MAX + 1];
	struct mtalog_rec r;
	enum sender_origin o = SENDER_SASL;
	int oi = 0;

	(void)ctx;
	if (mtalog_parse(fb.format, s, len, &r) == MTALOG_NONE)
		return;
	if (qidlogin_find(fb.qids, r.qid, key, login, &oi))
		o = (enum sender_origin)oi;
	else if (!control_qid_get(r.qid, key, sizeof(key), login,
	    sizeof(login), &o, QID_GET_MS)) {
		fb.fbm[METRICS_FB_UNMATCHED]++;
		return;
	}
	fb.fbm[r.outcome == MTALOG_BOUNCED ? METRICS_FB_BOUNCED :
	    METRICS_FB_DEFERRED]++;
	if (r.unknown)
		fb.fbm[METRICS_FB_UNKNOWN]++;
	src_commit();	/* never counted twice */
	charge(fb.cfg, &r, key, login, o);
}

/* reader - the thread: read what is new, then wait feedback_poll */
static void *
reader(void *arg)
{
	struct cfg_ref *ref;
	struct timespec until;
	char err[256];
	unsigned poll_ms = *(const unsigned *)arg;
	uint64_t skipped;
	int errs = 0;

	for (;;) {
		ref = cfg_acquire();
		fb.cfg = ref->cfg;
		if ((fb.journal != NULL ? journal_read(fb.journal, line, NULL,
		    err, sizeof(err)) : follow_read(fb.follow, line, NULL, err,
		    sizeof(err))) == -1) {
			if (errs++ == 0)
				log_err("feedback: %s", err);
		} else
			errs = 0;
		fb.cfg = NULL;
		cfg_release(ref);
		src_stats(&fb.fbm[METRICS_FB_LINES], &skipped);
		fb.fbm[METRICS_FB_LAG] = fb.journal != NULL ?
		    journal_lag(fb.journal) : follow_lag(fb.follow);
		metrics_feedback(&sluice_metrics, fb.fbm);
		deadline_in(&until, poll_ms);
		pthread_mutex_lock(&fb.lock);
		while (!fb.stop && pthread_cond_timedwait(&fb.cond, &fb.lock,
		    &until) != ETIMEDOUT)
			;
		if (fb.stop) {
			pthread_mutex_unlock(&fb.lock);
			break;
		}
		pthread_mutex_unlock(&fb.lock);
	}
	return NULL;
}

/* open_source - the log file, or the journal (feedback_log journal) */
static int
open_source(const struct config *cfg)
{
	const char *match = cfg->feedback_journal_match;
	char err[256];

	if (strcmp(cfg->feedback_log, "journal") != 0) {
		fb.follow = follow_new(cfg->feedback_log, cfg->feedback_state,
		    err, sizeof(err));
	} else {
		if (match == NULL)
			match = cfg->feedback_format == CONFIG_MTALOG_SENDMAIL ?
			    MATCH_SENDMAIL : MATCH_POSTFIX;
		if ((fb.journal = journal_new(cfg->feedback_journal_dir,
		    match, cfg->feedback_state, err, sizeof(err))) != NULL)
			log_info("feedback: journal %s, entries with %s",
			    cfg->feedback_journal_dir != NULL ?
			    cfg->feedback_journal_dir : "of the system",
			    match[0] != '\0' ? match : "any field");
		if (fb.journal != NULL && cfg->feedback_journal_dir == NULL &&
		    !journal_has_files(fb.journal))
			log_warnx("feedback: no file of the system journal "
			    "readable (is the user in group systemd-journal?)");
	}
	if (fb.follow == NULL && fb.journal == NULL) {
		log_err("feedback: %s", err);
		return -1;
	}
	return 0;
}

/* feedback_start - the reader, if feedback_log is set */
int
feedback_start(const struct config *cfg)
{
	static unsigned poll_ms;
	long n;

	if (cfg->feedback_log == NULL)
		return 0;
	if ((fb.qids = qidlogin_new(cfg->feedback_max_ids)) == NULL) {
		log_err("feedback: out of memory");
		return -1;
	}
	if (open_source(cfg) == -1)
		return -1;
	if (cfg->feedback_state != NULL) {
		snprintf(fb.idfile, sizeof(fb.idfile), "%s.ids",
		    cfg->feedback_state);
		if ((n = qidlogin_load(fb.qids, fb.idfile)) == -1)
			log_warnx("feedback: %s: %s", fb.idfile,
			    strerror(errno));
		else if (n > 0)
			log_info("feedback: %ld queue ids of earlier runs from "
			    "%s", n, fb.idfile);
	}
	fb.format = cfg->feedback_format == CONFIG_MTALOG_SENDMAIL ?
	    MTALOG_SENDMAIL : MTALOG_POSTFIX;
	poll_ms = cfg->feedback_poll_ms;
	if (pthread_create(&fb.tid, NULL, reader, &poll_ms) != 0) {
		log_err("feedback: cannot start the reader thread");
		return -1;
	}
	fb.running = 1;
	log_info("feedback: reading %s (%s) every %u ms, state %s, action "
	    "%s, %u queue ids remembered (%zu bytes each)", cfg->feedback_log,
	    fb.format == MTALOG_SENDMAIL ? "sendmail" : "postfix", poll_ms,
	    cfg->feedback_state != NULL ? cfg->feedback_state :
	    "unset (starts at the end)",
	    cfg->feedback_action == CONFIG_FEEDBACK_LOCK ? "lock" :
	    cfg->feedback_action == CONFIG_FEEDBACK_TEMPFAIL ? "tempfail" :
	    "observe", cfg->feedback_max_ids, qidlogin_entry_bytes());
	return 0;
}

/* feedback_stop - stop the reader; its state file is up to date */
void
feedback_stop(void)
{
	uint64_t lines, skipped;

	if (!fb.running)
		return;
	pthread_mutex_lock(&fb.lock);
	fb.stop = 1;
	pthread_cond_signal(&fb.cond);
	pthread_mutex_unlock(&fb.lock);
	pthread_join(fb.tid, NULL);
	fb.running = 0;
	src_stats(&lines, &skipped);
	log_info("feedback: stopped after %llu lines (%llu too long, %llu "
	    "outcomes of mail not accepted here)", (unsigned long long)lines,
	    (unsigned long long)skipped,
	    (unsigned long long)fb.fbm[METRICS_FB_UNMATCHED]);
	follow_free(fb.follow);
	fb.follow = NULL;
	journal_free(fb.journal);
	fb.journal = NULL;
	/* after the milter threads are done (smfi_main returned) */
	if (fb.idfile[0] != '\0' && qidlogin_save(fb.qids, fb.idfile) == -1)
		log_warnx("feedback: cannot save the queue ids to %s: %s",
		    fb.idfile, strerror(errno));
}
