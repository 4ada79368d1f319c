/* test_metrics.c - the counters and their Prometheus text page */
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"
#include "sender.h"

/* detector_by_name - the detector a hits= name names; fails the test if
 * none does */
static enum detector
detector_by_name(const char *name, size_t len)
{
	unsigned i;

	for (i = 0; i < DET_COUNT; i++)
		if (strlen(detector_name((enum detector)i)) == len &&
		    strncmp(detector_name((enum detector)i), name, len) == 0)
			return (enum detector)i;
	fail_msg("no detector named %.*s", (int)len, name);
	return DET_COUNT;
}

/* decide - count one decision with this verdict and these hits, as the
 * log line writes them ("repeats,wave(observe)") */
static void
decide(struct metrics *m, enum verdict v, const char *hits)
{
	struct policy_decision d;
	const char *s, *e;
	size_t n;

	memset(&d, 0, sizeof(d));
	d.verdict = v;
	for (s = hits; *s != '\0'; s = *e ? e + 1 : e) {
		e = s + strcspn(s, ",");
		n = strcspn(s, ",(");
		d.hits[d.nhits].observe = s + n < e;
		d.hits[d.nhits++].detector = (uint8_t)detector_by_name(s, n);
	}
	metrics_count_decision(m, &d);
}

/* fill - known counts: what the exact page below shows */
static void
fill(struct metrics *m)
{
	int i;

	memset(m, 0, sizeof(*m));
	metrics_enable(m, 1);
	for (i = 0; i < 3; i++)
		decide(m, VERDICT_ACCEPT, "");
	decide(m, VERDICT_TEMPFAIL, "messages");
	decide(m, VERDICT_TEMPFAIL, "messages,recipients");
	decide(m, VERDICT_QUARANTINE, "repeats,wave(observe)");
	decide(m, VERDICT_REJECT, "fanout,near,clients(observe),from");
	decide(m, VERDICT_TAG, "copies");
	metrics_count_hit(m, DET_MAX_RECIPIENTS);
	metrics_count_lock(m);
	metrics_count_conn(m, 1);
	metrics_count_conn(m, 1);
	metrics_count_conn(m, -1);
	metrics_count_reload(m, 1);
	metrics_count_reload(m, 1);
	metrics_count_reload(m, 0);
	metrics_store_observe(m, 50, 0);	/* le 0.0001 */
	metrics_store_observe(m, 100, 0);	/* le 0.0001: bounds are <= */
	metrics_store_observe(m, 101, 1);	/* le 0.00025 */
	metrics_store_observe(m, 2000, 0);	/* le 0.0025 */
	metrics_store_observe(m, 2500000, -1);	/* +Inf only */
}

static const char expected[] =
"# HELP sluice_build_info Version of this sluice; always 1.\n"
"# TYPE sluice_build_info gauge\n"
"sluice_build_info{version=\"9.8.7\"} 1\n"
"# HELP sluice_messages_total Decisions on messages by verdict (observe mode: the verdict that would apply).\n"
"# TYPE sluice_messages_total counter\n"
"sluice_messages_total{verdict=\"accept\"} 3\n"
"sluice_messages_total{verdict=\"tag\"} 1\n"
"sluice_messages_total{verdict=\"quarantine\"} 1\n"
"sluice_messages_total{verdict=\"tempfail\"} 2\n"
"sluice_messages_total{verdict=\"reject\"} 1\n"
"# HELP sluice_detector_hits_total Limits and detectors that fired, by name.\n"
"# TYPE sluice_detector_hits_total counter\n"
"sluice_detector_hits_total{detector=\"messages\"} 2\n"
"sluice_detector_hits_total{detector=\"recipients\"} 1\n"
"sluice_detector_hits_total{detector=\"fanout\"} 1\n"
"sluice_detector_hits_total{detector=\"repeats\"} 1\n"
"sluice_detector_hits_total{detector=\"wave\"} 1\n"
"sluice_detector_hits_total{detector=\"copies\"} 1\n"
"sluice_detector_hits_total{detector=\"near\"} 1\n"
"sluice_detector_hits_total{detector=\"clients\"} 1\n"
"sluice_detector_hits_total{detector=\"loop\"} 0\n"
"sluice_detector_hits_total{detector=\"received\"} 0\n"
"sluice_detector_hits_total{detector=\"locked\"} 0\n"
"sluice_detector_hits_total{detector=\"limit\"} 0\n"
"sluice_detector_hits_total{detector=\"store-unavailable\"} 0\n"
"sluice_detector_hits_total{detector=\"max_recipients\"} 1\n"
"sluice_detector_hits_total{detector=\"from\"} 1\n"
"sluice_detector_hits_total{detector=\"external_recipients\"} 0\n"
"sluice_detector_hits_total{detector=\"internal_recipients\"} 0\n"
"sluice_detector_hits_total{detector=\"domain_messages\"} 0\n"
"sluice_detector_hits_total{detector=\"domain_recipients\"} 0\n"
"sluice_detector_hits_total{detector=\"history\"} 0\n"
"# HELP sluice_locks_total Logins locked on every relay by this relay.\n"
"# TYPE sluice_locks_total counter\n"
"sluice_locks_total 1\n"
"# HELP sluice_store_call_seconds Time of one check-and-charge store call, fallback included.\n"
"# TYPE sluice_store_call_seconds histogram\n"
"sluice_store_call_seconds_bucket{le=\"0.0001\"} 2\n"
"sluice_store_call_seconds_bucket{le=\"0.00025\"} 3\n"
"sluice_store_call_seconds_bucket{le=\"0.0005\"} 3\n"
"sluice_store_call_seconds_bucket{le=\"0.001\"} 3\n"
"sluice_store_call_seconds_bucket{le=\"0.0025\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"0.005\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"0.01\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"0.025\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"0.05\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"0.1\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"0.25\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"0.5\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"1\"} 4\n"
"sluice_store_call_seconds_bucket{le=\"+Inf\"} 5\n"
"sluice_store_call_seconds_sum 2.502251\n"
"sluice_store_call_seconds_count 5\n"
"# HELP sluice_store_errors_total Calls to the configured store that failed (refused, timed out).\n"
"# TYPE sluice_store_errors_total counter\n"
"sluice_store_errors_total 4\n"
"# HELP sluice_store_fallback_total Requests answered by store_fallback instead of the store.\n"
"# TYPE sluice_store_fallback_total counter\n"
"sluice_store_fallback_total 5\n"
"# HELP sluice_store_failed_total Requests neither the store nor the fallback answered (accepted).\n"
"# TYPE sluice_store_failed_total counter\n"
"sluice_store_failed_total 1\n"
"# HELP sluice_breaker_state Circuit breaker in front of the store: 0 closed, 1 open, 2 half-open.\n"
"# TYPE sluice_breaker_state gauge\n"
"sluice_breaker_state 1\n"
"# HELP sluice_breaker_opened_total Times the circuit breaker opened.\n"
"# TYPE sluice_breaker_opened_total counter\n"
"sluice_breaker_opened_total 2\n"
"# HELP sluice_connections Milter connections open now.\n"
"# TYPE sluice_connections gauge\n"
"sluice_connections 1\n"
"# HELP sluice_connections_total Milter connections opened.\n"
"# TYPE sluice_connections_total counter\n"
"sluice_connections_total 2\n"
"# HELP sluice_config_reloads_total Configuration reloads (SIGUSR1), by result.\n"
"# TYPE sluice_config_reloads_total counter\n"
"sluice_config_reloads_total{result=\"ok\"} 2\n"
"sluice_config_reloads_total{result=\"error\"} 1\n";

static const struct metrics_store_state store_state = { 1, 4, 5, 2 };

/* test_exact - known counts give exactly this page */
static void
test_exact(void **state)
{
	static struct metrics m;
	char buf[8192];
	size_t n;

	(void)state;
	fill(&m);
	n = metrics_format(&m, &store_state, "9.8.7", buf, sizeof(buf));
	assert_string_equal(buf, expected);
	assert_int_equal(n, strlen(expected));
}

/* test_short_buffer - a short buffer: a cut, terminated prefix, and the
 * length needed */
static void
test_short_buffer(void **state)
{
	static struct metrics m;
	char buf[100];
	size_t n;

	(void)state;
	fill(&m);
	n = metrics_format(&m, &store_state, "9.8.7", buf, sizeof(buf));
	assert_int_equal(n, strlen(expected));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, expected, sizeof(buf) - 1);
	assert_int_equal(metrics_format(&m, &store_state, "9.8.7", NULL, 0),
	    strlen(expected));
}

/* test_off - while off nothing moves but the connection gauge */
static void
test_off(void **state)
{
	static struct metrics m;
	char buf[8192];

	(void)state;
	decide(&m, VERDICT_REJECT, "fanout");
	metrics_count_lock(&m);
	metrics_count_reload(&m, 1);
	metrics_store_observe(&m, 10, -1);
	metrics_count_conn(&m, 1);
	metrics_format(&m, &store_state, "1", buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nsluice_messages_total{verdict=\"reject\"} 0\n"));
	assert_non_null(strstr(buf, "\nsluice_detector_hits_total{detector=\"fanout\"} 0\n"));
	assert_non_null(strstr(buf, "\nsluice_locks_total 0\n"));
	assert_non_null(strstr(buf, "\nsluice_store_call_seconds_count 0\n"));
	assert_non_null(strstr(buf, "\nsluice_connections 1\n"));
}

/*
 * valid_page - every line is a HELP, a TYPE, or a sample of the family
 * typed just before it; counters end in _total; histogram buckets are
 * cumulative and end at +Inf equal to _count
 */
static int
valid_page(const char *page)
{
	regex_t help, type, sample;
	regmatch_t mt[4];
	char line[512], fam[128] = "", ftype[16] = "", name[128];
	const char *p, *nl;
	unsigned long long last = 0, v, inf = 0;
	int ok = 1;
	size_t n;

	assert_int_equal(regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) "
	    "[^\n]+$", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) "
	    "(counter|gauge|histogram)$", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&sample, "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
	    "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\""
	    "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\")*\\})? "
	    "([0-9]+(\\.[0-9]+)?)$", REG_EXTENDED), 0);
	if (page[0] == '\0' || page[strlen(page) - 1] != '\n')
		ok = 0;
	for (p = page; ok && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		n = (size_t)(nl - p);
		if (n >= sizeof(line))
			return 0;
		memcpy(line, p, n);
		line[n] = '\0';
		if (regexec(&help, line, 2, mt, 0) == 0)
			continue;
		if (regexec(&type, line, 3, mt, 0) == 0) {
			snprintf(fam, sizeof(fam), "%.*s",
			    (int)(mt[1].rm_eo - mt[1].rm_so), line + mt[1].rm_so);
			snprintf(ftype, sizeof(ftype), "%.*s",
			    (int)(mt[2].rm_eo - mt[2].rm_so), line + mt[2].rm_so);
			if (strcmp(ftype, "counter") == 0 && (strlen(fam) < 6 ||
			    strcmp(fam + strlen(fam) - 6, "_total") != 0))
				ok = 0;
			last = 0;
			continue;
		}
		if (regexec(&sample, line, 2, mt, 0) != 0) {
			ok = 0;
			break;
		}
		snprintf(name, sizeof(name), "%.*s",
		    (int)(mt[1].rm_eo - mt[1].rm_so), line + mt[1].rm_so);
		v = strtoull(strrchr(line, ' ') + 1, NULL, 10);
		if (strcmp(ftype, "histogram") == 0) {
			if (strncmp(name, fam, strlen(fam)) != 0)
				ok = 0;
			else if (strcmp(name + strlen(fam), "_bucket") == 0) {
				if (v < last)
					ok = 0;
				last = v;
				if (strstr(line, "le=\"+Inf\"") != NULL)
					inf = v;
			} else if (strcmp(name + strlen(fam), "_count") == 0) {
				if (v != inf)
					ok = 0;
			} else if (strcmp(name + strlen(fam), "_sum") != 0)
				ok = 0;
		} else if (strcmp(name, fam) != 0)
			ok = 0;
	}
	regfree(&help);
	regfree(&type);
	regfree(&sample);
	return ok;
}

/* test_valid - the page parses as exposition format, hostile version too */
static void
test_valid(void **state)
{
	static struct metrics m;
	char buf[8192];

	(void)state;
	assert_true(valid_page(expected));
	assert_false(valid_page("# TYPE x_total counter\nx_total{a=\"\"\"} 1\n"));
	assert_false(valid_page("# TYPE x gauge\ny 1\n"));
	assert_false(valid_page("# TYPE x counter\nx 1\n"));
	fill(&m);
	metrics_format(&m, &store_state, "1.0\"} 2\n\\x", buf, sizeof(buf));
	assert_true(valid_page(buf));
	assert_non_null(strstr(buf, "{version=\"1.0\\\"} 2\\n\\\\x\"} 1\n"));
}

#define THREADS	4
#define PER	100000

/* hammer - one thread's share of decisions and store calls */
static void *
hammer(void *arg)
{
	struct metrics *m = arg;
	int i;

	for (i = 0; i < PER; i++) {
		decide(m, VERDICT_TEMPFAIL, "messages");
		metrics_store_observe(m, 300, 0);
	}
	return NULL;
}

/* test_threads - counts from many threads at once are all there */
static void
test_threads(void **state)
{
	static struct metrics m;
	pthread_t t[THREADS];
	char buf[8192], want[128];
	int i;

	(void)state;
	metrics_enable(&m, 1);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &m), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	metrics_format(&m, &store_state, "1", buf, sizeof(buf));
	snprintf(want, sizeof(want), "\nsluice_messages_total{verdict="
	    "\"tempfail\"} %d\n", THREADS * PER);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "\nsluice_store_call_seconds_bucket{le="
	    "\"0.0005\"} %d\n", THREADS * PER);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "\nsluice_store_call_seconds_sum %d.%06d\n",
	    THREADS * PER * 300 / 1000000, THREADS * PER * 300 % 1000000);
	assert_non_null(strstr(buf, want));
}

/* test_store_charge - the timed call answers as the store does, counted */
static void
test_store_charge(void **state)
{
	static struct metrics m;
	struct store *s = store_memory_new(NULL, NULL);
	struct store_item it;
	struct store_req req;
	struct store_res res;
	char key[SENDER_KEY_LEN + 1], err[256], buf[8192];

	(void)state;
	assert_non_null(s);
	sender_key("metrics@example.test", key);
	store_item_set(&it, "msg", 3600, 12, 1, 1);
	memset(&req, 0, sizeof(req));
	req.sender = key;
	req.commit = STORE_COMMIT;
	req.items = &it;
	req.nitems = 1;
	assert_int_equal(metrics_store_charge(&m, s, &req, &res, err,
	    sizeof(err)), 0);		/* off: not counted */
	assert_true(res.allowed);
	metrics_enable(&m, 1);
	assert_int_equal(metrics_store_charge(&m, s, &req, &res, err,
	    sizeof(err)), 0);
	assert_false(res.allowed);	/* limit 1: the second is refused */
	metrics_format(&m, &store_state, "1", buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nsluice_store_call_seconds_count 1\n"));
	store_free(s);
}

/* test_every_label - each detector fired once is counted under its own
 * label, none under "other" (near, clients and from were, before) */
static void
test_every_label(void **state)
{
	static struct metrics m;
	static const char *const names[] = { "messages", "recipients",
	    "fanout", "repeats", "wave", "copies", "near", "clients", "loop",
	    "received", "locked", "limit", "store-unavailable",
	    "max_recipients", "from", "external_recipients",
	    "internal_recipients", "domain_messages", "domain_recipients",
	    "history" };
	char buf[8192], want[128];
	size_t i, j;

	(void)state;
	assert_int_equal(sizeof(names) / sizeof(names[0]), DET_COUNT);
	memset(&m, 0, sizeof(m));
	metrics_enable(&m, 1);
	for (i = 0; i < DET_COUNT; i++) {
		for (j = 0; j <= i; j++)	/* detector i: i + 1 hits */
			decide(&m, VERDICT_TEMPFAIL, names[i]);
		assert_string_equal(detector_name((enum detector)i), names[i]);
	}
	metrics_format(&m, &store_state, "1", buf, sizeof(buf));
	for (i = 0; i < DET_COUNT; i++) {
		snprintf(want, sizeof(want), "\nsluice_detector_hits_total"
		    "{detector=\"%s\"} %zu\n", names[i], i + 1);
		if (strstr(buf, want) == NULL)
			fail_msg("no line %s in:\n%s", want + 1, buf);
	}
	assert_null(strstr(buf, "detector=\"other\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_every_label),
		cmocka_unit_test(test_short_buffer),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_store_charge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
