/* metrics.h - counters for the Prometheus endpoint, and their text format */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "store.h"

#define METRICS_VERDICTS	5	/* enum verdict: accept .. reject */
#define METRICS_DETECTORS	DET_COUNT /* enum detector (detector.h) */
#define METRICS_BUCKETS		13	/* store latency: 0.1 ms .. 1 s */

/* what the delivery feedback reader reports (metrics_feedback) */
enum metrics_fb {
	METRICS_FB_LINES = 0,	/* log lines read */
	METRICS_FB_LAG,		/* bytes of the log not read yet */
	METRICS_FB_BOUNCED,	/* outcomes of mail accepted here: 5xx */
	METRICS_FB_DEFERRED,	/* 4xx */
	METRICS_FB_UNKNOWN,	/* 5.1.1 */
	METRICS_FB_UNMATCHED,	/* outcomes of mail not accepted here */
	METRICS_FEEDBACK
};

/*
 * The counters. Callers keep one (static) and only touch it through the
 * functions below: every update is one relaxed atomic add, no lock, and
 * nothing at all while `on` is 0 (metrics_listen unset). Public only so
 * it can be a static object; read it with metrics_format.
 */
struct metrics {
	int		 on;			/* counting */
	uint64_t	 verdicts[METRICS_VERDICTS]; /* by enum verdict */
	uint64_t	 hits[METRICS_DETECTORS]; /* by detector */
	uint64_t	 locks;			/* logins locked here */
	uint64_t	 lat[METRICS_BUCKETS + 1]; /* store calls per bucket,
						   not cumulative; last +Inf */
	uint64_t	 lat_sum_us;		/* their total time */
	uint64_t	 store_failed;		/* no store nor fallback answered */
	uint64_t	 conns;			/* milter connections open */
	uint64_t	 conns_total;		/* ever opened */
	uint64_t	 reloads;		/* configuration reloads done */
	uint64_t	 reload_errors;		/* refused (bad file) */
	uint64_t	 fb[METRICS_FEEDBACK];	/* delivery feedback reader
						   (enum metrics_fb); shown
						   only while fb_on */
	int		 fb_on;
};

/* what the store says about itself, read when the page is made */
struct metrics_store_state {
	int		 breaker;	/* enum store_breaker */
	uint64_t	 errors;	/* primary calls that failed */
	uint64_t	 fallbacks;	/* answers given by the fallback */
	uint64_t	 opened;	/* times the breaker opened */
};

/* metrics_enable - start (1) or stop (0) counting */
void	metrics_enable(struct metrics *, int on);

/* metrics_count_decision - one decision: its verdict and every detector
 * that fired (observe or not) */
void	metrics_count_decision(struct metrics *,
	    const struct policy_decision *);

/* metrics_count_hit - one hit of a detector decided outside policy_decide */
void	metrics_count_hit(struct metrics *, enum detector);

/* metrics_count_lock - this relay locked a login */
void	metrics_count_lock(struct metrics *);

/* metrics_feedback - the reader's totals now (shown from the first call) */
void	metrics_feedback(struct metrics *, const uint64_t v[METRICS_FEEDBACK]);

/* metrics_count_conn - a milter connection opened (+1) or closed (-1) */
void	metrics_count_conn(struct metrics *, int delta);

/* metrics_count_reload - a reload done (ok 1) or refused (ok 0) */
void	metrics_count_reload(struct metrics *, int ok);

/* metrics_store_observe - one store call of `us` microseconds; rc as
 * store_charge returned it */
void	metrics_store_observe(struct metrics *, uint64_t us, int rc);

/* metrics_store_charge - store_charge, timed and counted */
int	metrics_store_charge(struct metrics *, struct store *,
	    const struct store_req *, struct store_res *, char *err,
	    size_t errlen);

/*
 * metrics_format - the Prometheus text exposition (version 0.0.4) of m
 * and st into buf (size len, NUL-terminated when len > 0). Returns the
 * length of the whole text: when it is >= len the text was cut and the
 * caller tries again with a larger buffer.
 */
size_t	metrics_format(const struct metrics *,
	    const struct metrics_store_state *, const char *version,
	    char *buf, size_t len);

#endif
