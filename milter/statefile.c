/*
 * statefile.c - the memory store's counters and locks across restarts:
 * loaded from state_file at start, saved every state_save_interval by a
 * thread of its own and once more at stop (lib/state.c: temporary file,
 * fsync, rename, mode 0600).
 *
 * A save snapshots the store one stripe at a time (store_memory_dump:
 * a message waits on at most one stripe's copy, never on the disk), then
 * writes outside every lock. What a save took is kept for `sluicectl
 * status` and logged when slow. Thread-safe: sf.lock guards the figures
 * and the stop flag.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "control.h"
#include "localctl.h"
#include "qidmem.h"
#include "sluice.h"
#include "state.h"

#define SLOW_SAVE_MS	1000	/* a save this slow is logged */

static struct {
	char		*path;
	struct store	*store;
	uint32_t	 interval_ms;
	pthread_t	 tid;
	int		 running, stop;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	uint64_t	 at_s, bytes, ms, hold_us;
	unsigned char	*pending;	/* the payload loaded, until start */
	size_t		 npending;
	uint32_t	 hold_window_s;
	int		 failing;	/* the last save failed: logged once */
} sf = { NULL, NULL, 0, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, NULL, 0, 0, 0 };

/* qid_put - one remembered queue id into the section being written */
static void
qid_put(void *ctx, const char *key, const char *qid, uint64_t at)
{
	state_put_str(ctx, key);
	state_put_str(ctx, qid);
	state_put_u64(ctx, at);
}

/* qids_dump - the queue ids remembered for holds, as a section */
static void
qids_dump(struct state_buf *b)
{
	struct qidmem *m = control_qids();
	size_t at;

	if (m == NULL)
		return;
	at = state_begin(b, STATE_SEC_QIDS);
	qidmem_each(m, qid_put, b);
	state_end(b, at);
}

/* qids_load - the queue ids of the payload back into the memory */
static size_t
qids_load(const unsigned char *p, size_t len)
{
	struct qidmem *m = control_qids();
	char key[QIDMEM_KEY_MAX + 1], qid[QIDMEM_ID_SIZE];
	struct state_rd r;
	uint64_t at, now = (uint64_t)time(NULL);
	size_t n = 0;

	if (m == NULL || state_section(p, len, STATE_SEC_QIDS, &r) != 1)
		return 0;
	while (r.off < r.len) {
		state_get_str(&r, key, sizeof(key));
		state_get_str(&r, qid, sizeof(qid));
		at = state_get_u64(&r);
		if (r.bad)
			break;
		if (at + sf.hold_window_s > now &&
		    qidmem_add(m, key, qid, at, sf.hold_window_s) == 0)
			n++;
	}
	return n;
}

/* save - one snapshot and one write; logs a failure once until it heals */
static void
save(void)
{
	struct state_buf b = { NULL, 0, 0, 0 };
	uint64_t t0 = clock_mono_us(), t2, hold = 0;
	char err[512];
	size_t n = 0;
	int rc;

	rc = store_memory_dump(sf.store, &b, &n, &hold);
	ctlsock_dump(&b);
	qids_dump(&b);
	if (rc == 0)
		rc = state_write(sf.path, &b, store_now(sf.store), err,
		    sizeof(err));
	else
		snprintf(err, sizeof(err), "state: out of memory");
	t2 = clock_mono_us();
	pthread_mutex_lock(&sf.lock);
	if (rc == 0) {
		sf.at_s = (uint64_t)time(NULL);
		sf.bytes = b.len + STATE_HEADER + STATE_HASH;
		sf.ms = (t2 - t0) / 1000;
		sf.hold_us = hold;
	}
	pthread_mutex_unlock(&sf.lock);
	if (rc == -1 && !sf.failing)
		log_err("%s: the state is not saved (counters and locks would "
		    "be lost at a restart); retrying every save interval",
		    err);
	else if (rc == 0 && sf.failing)
		log_info("state: %s saved again", sf.path);
	else if (rc == 0 && (t2 - t0) / 1000 >= SLOW_SAVE_MS)
		log_warnx("state: saving %zu logins to %s took %llu ms",
		    n, sf.path, (unsigned long long)(t2 - t0) / 1000);
	sf.failing = rc == -1;
	state_buf_free(&b);
}

/* statefile_load - load state_file into the store; never fatal */
void
statefile_load(const struct config *cfg, struct store *st)
{
	unsigned char *p = NULL;
	char err[600], why[300];
	uint64_t saved;
	size_t len, n = 0;
	uid_t uid;
	gid_t gid;
	int rc;

	if (cfg->store != CONFIG_STORE_MEMORY)
		return;
	if (ctlsock_user_ids(cfg, &uid, &gid, err, sizeof(err)) == -1 ||
	    ctlsock_mkdir_for(cfg->state_file, uid, gid, 0700, err,
	    sizeof(err)) == -1) {
		log_err("state: %s; starting with empty counters", err);
		return;
	}
	rc = state_read(cfg->state_file, &p, &len, &saved, err, sizeof(err));
	if (rc == 0)
		log_info("state: %s not there yet: starting with empty counters",
		    cfg->state_file);
	else if (rc == -1)
		log_err("state: %s: ignored, starting with empty counters (the "
		    "next save replaces it)", err);
	else if (store_memory_load(st, p, len, &n, why, sizeof(why)) == -1)
		log_err("state: %s: %s: %zu logins loaded before it, the rest "
		    "ignored", cfg->state_file, why, n);
	else
		log_info("state: %zu logins loaded from %s (saved %llu s ago)",
		    n, cfg->state_file, (unsigned long long)(store_now(st) >
		    saved ? (store_now(st) - saved) / 1000 : 0));
	sf.pending = p;		/* names and queue ids: at statefile_start */
	sf.npending = len;
}

/* saver - save every interval until told to stop */
static void *
saver(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&sf.lock);
	while (!sf.stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += sf.interval_ms / 1000;
		until.tv_nsec += (long)(sf.interval_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!sf.stop && pthread_cond_timedwait(&sf.cond, &sf.lock,
		    &until) != ETIMEDOUT)
			;
		if (sf.stop)
			break;
		pthread_mutex_unlock(&sf.lock);
		save();
		pthread_mutex_lock(&sf.lock);
	}
	pthread_mutex_unlock(&sf.lock);
	return NULL;
}

/* statefile_start - the saving thread */
int
statefile_start(const struct config *cfg, struct store *st)
{
	if (cfg->store != CONFIG_STORE_MEMORY)
		return 0;
	if ((sf.path = strdup(cfg->state_file)) == NULL)
		return -1;
	sf.store = st;
	sf.interval_ms = cfg->state_save_interval_ms;
	sf.hold_window_s = cfg->hold_window_ms / 1000;
	if (sf.pending != NULL) {
		size_t names = ctlsock_load(sf.pending, sf.npending);
		size_t qids = qids_load(sf.pending, sf.npending);

		if (names + qids > 0)
			log_info("state: %zu names and lock records, %zu queue "
			    "ids for holds loaded", names, qids);
		free(sf.pending);
		sf.pending = NULL;
	}
	if (pthread_create(&sf.tid, NULL, saver, NULL) != 0) {
		log_err("state: cannot start the saving thread");
		return -1;
	}
	sf.running = 1;
	log_info("state: saved to %s every %u s and at stop", sf.path,
	    sf.interval_ms / 1000);
	return 0;
}

/* statefile_stop - stop the thread, then save a last time */
void
statefile_stop(void)
{
	if (!sf.running)
		return;
	pthread_mutex_lock(&sf.lock);
	sf.stop = 1;
	pthread_cond_signal(&sf.cond);
	pthread_mutex_unlock(&sf.lock);
	pthread_join(sf.tid, NULL);
	save();
	sf.running = 0;
	log_info("state: saved to %s (%llu bytes)", sf.path,
	    (unsigned long long)sf.bytes);
}

/* statefile_status - the last save's figures */
void
statefile_status(uint64_t *at_s, uint64_t *bytes, uint64_t *ms,
    uint64_t *hold_us)
{
	pthread_mutex_lock(&sf.lock);
	*at_s = sf.at_s;
	*bytes = sf.bytes;
	*ms = sf.ms;
	*hold_us = sf.hold_us;
	pthread_mutex_unlock(&sf.lock);
}
