/* sluice.h - what the daemon's files share: runtime state and logging */
#ifndef SLUICE_MILTER_H
#define SLUICE_MILTER_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "okcache.h"
#include "metrics.h"
#include "snapshot.h"
#include "store.h"

/* a config shared by the connections that started under it (runtime.c) */
struct cfg_ref {
	struct snapshot_ref snap;	/* first: the count */
	struct config	*cfg;
};

/* the daemon's state (runtime.c): set up in main, read by the callbacks */
struct runtime {
	const char	*config_path;
	struct store	*store;		/* owns counters; thread-safe */
	struct okcache	*okcache;	/* senders that may skip the MAIL
					   check; NULL with the memory store */
};

extern struct runtime rt;

/* what the metrics page shows; counted from the callbacks (metrics.c) */
extern struct metrics sluice_metrics;

/* metrics_start - serve GET /metrics on metrics_listen, if set; -1 with err */
int		 metrics_start(const struct config *, char *err, size_t errlen);

/* metrics_stop - stop serving the metrics page */
void		 metrics_stop(void);

/* cfg_acquire - the current config, held until cfg_release */
struct cfg_ref	*cfg_acquire(void);

/* cfg_release - let go of a config; freed with its last user */
void		 cfg_release(struct cfg_ref *);

/* cfg_install - make cfg the current config; -1: out of memory */
int		 cfg_install(struct config *);

/* callbacks_register - register the libmilter callbacks; -1 on failure */
int		 callbacks_register(void);

/* hook_run - start `cmd LOGIN REASON ORIGIN` (no shell), wait for it
 * elsewhere; LOGIN is sender_qualified()'s (never a bare forged sender) */
void		 hook_run(const char *cmd, const char *login, const char *shown,
		    const char *reason, const char *origin, unsigned timeout_ms);

/* hold_run - run `cmd ID...` over ids (QIDMEM_ID_SIZE apart; taken over),
 * batch ids a run, one after another in the background; logs the end */
void		 hold_run(const char *cmd, char *ids, size_t nids, size_t batch,
		    unsigned timeout_ms, const char *who, const char *relay);

/* deadline_in - CLOCK_REALTIME plus ms, for pthread_cond_timedwait */
static inline void
deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* log_open - start logging (syslog, and stderr when foreground) */
void		 log_open(const char *facility, int use_syslog, int foreground);

/* log_info/log_warnx/log_err - a line at that severity */
void		 log_info(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_warnx(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_err(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

#endif
