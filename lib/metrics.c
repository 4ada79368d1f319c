/*
 * metrics.c - what sluice counts for Prometheus, and the text page.
 *
 * Public: metrics_enable, metrics_count_decision, metrics_count_hit,
 * metrics_count_lock, metrics_count_conn, metrics_count_reload,
 * metrics_store_observe, metrics_store_charge, metrics_format.
 *
 * The message path pays one relaxed atomic add per counter it touches
 * (a verdict, the detectors that fired, a latency bucket): no lock, no
 * allocation, and nothing at all while counting is off. Relaxed is
 * enough: each counter is read on its own, and a page made while
 * messages are decided may be a message behind on some counters, which
 * Prometheus counters tolerate. The store's breaker state and its error
 * and fallback counts are the guard's own (store_guard_stats), read when
 * the page is made, so they are never counted twice.
 *
 * metrics_format writes the text exposition format 0.0.4: for each
 * family a # HELP and a # TYPE line, then its samples; histograms with
 * cumulative _bucket{le=...} lines, _sum and _count. It never allocates
 * and never logs. Thread-safe.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "metrics.h"

/* bucket bounds: microseconds, and as written in le="..." (seconds) */
static const uint64_t bound_us[METRICS_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000
};
static const char *const bound_text[METRICS_BUCKETS] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
	"0.025", "0.05", "0.1", "0.25", "0.5", "1"
};

/* add - one relaxed atomic add */
static void
add(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

/* get - one relaxed atomic read */
static uint64_t
get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* counting - is m counting? */
static int
counting(const struct metrics *m)
{
	return __atomic_load_n(&m->on, __ATOMIC_RELAXED);
}

/* metrics_enable - start (1) or stop (0) counting */
void
metrics_enable(struct metrics *m, int on)
{
	__atomic_store_n(&m->on, on != 0, __ATOMIC_RELAXED);
}

/* metrics_count_decision - one decision: its verdict and its detectors */
void
metrics_count_decision(struct metrics *m, const struct policy_decision *d)
{
	unsigned i;

	if (!counting(m))
		return;
	if ((unsigned)d->verdict < METRICS_VERDICTS)
		add(&m->verdicts[d->verdict], 1);
	for (i = 0; i < d->nhits && i < DET_COUNT; i++)
		if (d->hits[i].detector < METRICS_DETECTORS)
			add(&m->hits[d->hits[i].detector], 1);
}

/* metrics_count_hit - one hit of a detector decided outside policy_decide */
void
metrics_count_hit(struct metrics *m, enum detector det)
{
	if (counting(m) && (unsigned)det < METRICS_DETECTORS)
		add(&m->hits[det], 1);
}

/* metrics_count_lock - this relay locked a login */
void
metrics_count_lock(struct metrics *m)
{
	if (counting(m))
		add(&m->locks, 1);
}

/* metrics_feedback - the feedback reader's totals (it alone writes them) */
void
metrics_feedback(struct metrics *m, const uint64_t v[METRICS_FEEDBACK])
{
	size_t i;

	for (i = 0; i < METRICS_FEEDBACK; i++)
		__atomic_store_n(&m->fb[i], v[i], __ATOMIC_RELAXED);
	__atomic_store_n(&m->fb_on, 1, __ATOMIC_RELAXED);
}

/* metrics_count_conn - a milter connection opened (+1) or closed (-1) */
void
metrics_count_conn(struct metrics *m, int delta)
{
	/* always counted: a connection opened before counting started
	 * must not be taken off the gauge below zero when it closes */
	add(&m->conns, (uint64_t)(int64_t)delta);
	if (delta > 0)
		add(&m->conns_total, 1);
}

/* metrics_count_reload - a reload done (ok 1) or refused (ok 0) */
void
metrics_count_reload(struct metrics *m, int ok)
{
	if (counting(m))
		add(ok ? &m->reloads : &m->reload_errors, 1);
}

/* metrics_store_observe - one store call of `us` microseconds */
void
metrics_store_observe(struct metrics *m, uint64_t us, int rc)
{
	size_t b;

	if (!counting(m))
		return;
	for (b = 0; b < METRICS_BUCKETS && us > bound_us[b]; b++)
		;
	add(&m->lat[b], 1);
	add(&m->lat_sum_us, us);
	if (rc == -1)
		add(&m->store_failed, 1);
}

/* metrics_store_charge - store_charge, timed and counted */
int
metrics_store_charge(struct metrics *m, struct store *s,
    const struct store_req *req, struct store_res *res, char *err,
    size_t errlen)
{
	uint64_t t0;
	int rc;

	if (!counting(m))
		return store_charge(s, req, res, err, errlen);
	t0 = clock_mono_us();
	rc = store_charge(s, req, res, err, errlen);
	metrics_store_observe(m, clock_mono_us() - t0, rc);
	return rc;
}

/* the page being written: like snprintf, counts what did not fit */
struct page {
	char	*buf;
	size_t	 len;		/* size of buf */
	size_t	 o;		/* bytes of the whole text so far */
};

/* put - append printf-style text */
static void
put(struct page *pg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
put(struct page *pg, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(pg->o < pg->len ? pg->buf + pg->o : NULL,
	    pg->o < pg->len ? pg->len - pg->o : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		pg->o += (size_t)n;
}

/* family - the # HELP and # TYPE lines of one metric */
static void
family(struct page *pg, const char *name, const char *type,
    const char *help)
{
	put(pg, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* label_value - v as a label value: \ " and newline escaped, cut at 63 */
static void
label_value(const char *v, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *v != '\0' && o + 3 < outlen && o < 63; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			out[o++] = '\\';
			out[o++] = *v == '\n' ? 'n' : *v;
		} else
			out[o++] = *v;
	}
	out[o] = '\0';
}

/* metrics_format - the Prometheus text page */
size_t
metrics_format(const struct metrics *m, const struct metrics_store_state *st,
    const char *version, char *buf, size_t len)
{
	struct page pg = { buf, len, 0 };
	char v[128];
	uint64_t cum = 0;
	size_t i;

	if (len > 0)
		buf[0] = '\0';
	label_value(version, v, sizeof(v));
	family(&pg, "sluice_build_info", "gauge",
	    "Version of this sluice; always 1.");
	put(&pg, "sluice_build_info{version=\"%s\"} 1\n", v);

	family(&pg, "sluice_messages_total", "counter",
	    "Decisions on messages by verdict (observe mode: the verdict "
	    "that would apply).");
	for (i = 0; i < METRICS_VERDICTS; i++)
		put(&pg, "sluice_messages_total{verdict=\"%s\"} %llu\n",
		    policy_verdict_name((enum verdict)i),
		    (unsigned long long)get(&m->verdicts[i]));

	family(&pg, "sluice_detector_hits_total", "counter",
	    "Limits and detectors that fired, by name.");
	for (i = 0; i < METRICS_DETECTORS; i++)
		put(&pg, "sluice_detector_hits_total{detector=\"%s\"} %llu\n",
		    detector_name((enum detector)i),
		    (unsigned long long)get(&m->hits[i]));

	family(&pg, "sluice_locks_total", "counter",
	    "Logins locked on every relay by this relay.");
	put(&pg, "sluice_locks_total %llu\n",
	    (unsigned long long)get(&m->locks));

	family(&pg, "sluice_store_call_seconds", "histogram",
	    "Time of one check-and-charge store call, fallback included.");
	for (i = 0; i <= METRICS_BUCKETS; i++) {
		cum += get(&m->lat[i]);
		put(&pg, "sluice_store_call_seconds_bucket{le=\"%s\"} %llu\n",
		    i < METRICS_BUCKETS ? bound_text[i] : "+Inf",
		    (unsigned long long)cum);
	}
	put(&pg, "sluice_store_call_seconds_sum %llu.%06llu\n",
	    (unsigned long long)(get(&m->lat_sum_us) / 1000000),
	    (unsigned long long)(get(&m->lat_sum_us) % 1000000));
	put(&pg, "sluice_store_call_seconds_count %llu\n",
	    (unsigned long long)cum);

	family(&pg, "sluice_store_errors_total", "counter",
	    "Calls to the configured store that failed (refused, timed "
	    "out).");
	put(&pg, "sluice_store_errors_total %llu\n",
	    (unsigned long long)st->errors);
	family(&pg, "sluice_store_fallback_total", "counter",
	    "Requests answered by store_fallback instead of the store.");
	put(&pg, "sluice_store_fallback_total %llu\n",
	    (unsigned long long)st->fallbacks);
	family(&pg, "sluice_store_failed_total", "counter",
	    "Requests neither the store nor the fallback answered "
	    "(accepted).");
	put(&pg, "sluice_store_failed_total %llu\n",
	    (unsigned long long)get(&m->store_failed));
	family(&pg, "sluice_breaker_state", "gauge",
	    "Circuit breaker in front of the store: 0 closed, 1 open, "
	    "2 half-open.");
	put(&pg, "sluice_breaker_state %d\n", st->breaker);
	family(&pg, "sluice_breaker_opened_total", "counter",
	    "Times the circuit breaker opened.");
	put(&pg, "sluice_breaker_opened_total %llu\n",
	    (unsigned long long)st->opened);

	family(&pg, "sluice_connections", "gauge",
	    "Milter connections open now.");
	put(&pg, "sluice_connections %lld\n",
	    (long long)(int64_t)get(&m->conns));
	family(&pg, "sluice_connections_total", "counter",
	    "Milter connections opened.");
	put(&pg, "sluice_connections_total %llu\n",
	    (unsigned long long)get(&m->conns_total));

	if (__atomic_load_n(&m->fb_on, __ATOMIC_RELAXED)) {
		family(&pg, "sluice_feedback_lines_total", "counter",
		    "Lines of the MTA's log read by the feedback reader.");
		put(&pg, "sluice_feedback_lines_total %llu\n",
		    (unsigned long long)get(&m->fb[METRICS_FB_LINES]));
		family(&pg, "sluice_feedback_lag_bytes", "gauge",
		    "Bytes of the MTA's log not read yet.");
		put(&pg, "sluice_feedback_lag_bytes %llu\n",
		    (unsigned long long)get(&m->fb[METRICS_FB_LAG]));
		family(&pg, "sluice_feedback_outcomes_total", "counter",
		    "Remote delivery outcomes read, by kind (unmatched: "
		    "mail not accepted here).");
		put(&pg, "sluice_feedback_outcomes_total{outcome=\"bounced\"} "
		    "%llu\n", (unsigned long long)get(&m->fb[METRICS_FB_BOUNCED]));
		put(&pg, "sluice_feedback_outcomes_total{outcome=\"deferred\"} "
		    "%llu\n",
		    (unsigned long long)get(&m->fb[METRICS_FB_DEFERRED]));
		put(&pg, "sluice_feedback_outcomes_total{outcome=\"unknown\"} "
		    "%llu\n", (unsigned long long)get(&m->fb[METRICS_FB_UNKNOWN]));
		put(&pg, "sluice_feedback_outcomes_total{outcome=\"unmatched\"} "
		    "%llu\n",
		    (unsigned long long)get(&m->fb[METRICS_FB_UNMATCHED]));
	}

	family(&pg, "sluice_config_reloads_total", "counter",
	    "Configuration reloads (SIGUSR1), by result.");
	put(&pg, "sluice_config_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)get(&m->reloads));
	put(&pg, "sluice_config_reloads_total{result=\"error\"} %llu\n",
	    (unsigned long long)get(&m->reload_errors));
	return pg.o;
}
