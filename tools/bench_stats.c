/*
 * bench_stats.c - sluice-bench's report: the workers' statistics merged,
 * latency percentiles (nearest rank), verdicts by stage, the last refusal
 * texts, and with --interval the same per interval; as text, one --quiet
 * line, or --json.
 *
 * Memory: the merged samples are allocated and freed here; the workers'
 * own stay theirs. Thread-safety: called once, after every worker has
 * been joined.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const verdict_names[V_COUNT] = {
	"accept", "tempfail", "reject", "discard" };
static const char *const stage_names[S_COUNT] = {
	"connect", "mail", "rcpt", "data", "eom" };

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* pct_ms - nearest-rank percentile of sorted samples, in milliseconds */
static double
pct_ms(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)n + 0.999999);
	return v[i == 0 ? 0 : i > n ? n - 1 : i - 1] / 1000.0;
}

/* json_str - print s as a JSON string */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned)(unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* report_replies - the most recent distinct refusal texts of all workers */
static size_t
report_replies(struct worker *ws, unsigned long nw,
    const struct last_reply **last)
{
	const struct last_reply *best, *r;
	size_t n = 0, i, k;
	unsigned long w;

	for (n = 0; n < LAST_REPLIES; n++) {
		best = NULL;
		for (w = 0; w < nw; w++)
			for (i = 0; i < LAST_REPLIES; i++) {
				r = &ws[w].st.replies[i];
				for (k = 0; k < n; k++)
					if (strcmp(last[k]->text, r->text) == 0)
						break;
				if (r->seq != 0 && k == n &&
				    (best == NULL || r->seq > best->seq))
					best = r;
			}
		if (best == NULL)
			break;
		last[n] = best;
	}
	return n;
}

/* report_intervals - per --interval: transactions/s, p50, p99, errors */
static void
report_intervals(struct worker *ws, unsigned long nw)
{
	size_t nb, b, i, total = 0, *cnt, *off, *fill;
	unsigned long *errs, w;
	uint32_t *v;
	double span = 0;

	for (w = 0; w < nw; w++) {
		total += ws[w].st.nlat;
		for (i = 0; i < ws[w].st.nlat; i++)
			if (ws[w].st.lat_t[i] > span)
				span = ws[w].st.lat_t[i];
	}
	if (opt.duration_ms > 0)	/* what ends after it: the last one */
		span = opt.duration_ms;
	nb = (size_t)ceil(span / opt.interval_ms);
	if (nb == 0)
		nb = 1;
	cnt = xrealloc(NULL, nb * sizeof(*cnt));
	off = xrealloc(NULL, nb * sizeof(*off));
	fill = xrealloc(NULL, nb * sizeof(*fill));
	errs = xrealloc(NULL, nb * sizeof(*errs));
	v = xrealloc(NULL, (total + 1) * sizeof(*v));
	memset(cnt, 0, nb * sizeof(*cnt));
	memset(errs, 0, nb * sizeof(*errs));
#define BUCKET(ms) ((size_t)((ms) / opt.interval_ms) < nb ? \
	(size_t)((ms) / opt.interval_ms) : nb - 1)
	for (w = 0; w < nw; w++) {
		for (i = 0; i < ws[w].st.nlat; i++)
			cnt[BUCKET(ws[w].st.lat_t[i])]++;
		for (i = 0; i < ws[w].st.nerr_t; i++)
			errs[BUCKET(ws[w].st.err_t[i])]++;
	}
	for (b = 0, i = 0; b < nb; i += cnt[b++])
		off[b] = fill[b] = i;
	for (w = 0; w < nw; w++)
		for (i = 0; i < ws[w].st.nlat; i++) {
			b = BUCKET(ws[w].st.lat_t[i]);
			v[fill[b]++] = ws[w].st.lat[i];
		}
#undef BUCKET
	printf(",\"interval_s\":%.3f,\"intervals\":[", opt.interval_ms / 1e3);
	for (b = 0; b < nb; b++) {
		qsort(v + off[b], cnt[b], sizeof(*v), cmp_u32);
		printf("%s{\"end_s\":%.3f,\"transactions\":%zu,\"tps\":%.1f,"
		    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
		    "\"errors\":%lu}", b > 0 ? "," : "",
		    (double)(b + 1) * opt.interval_ms / 1e3, cnt[b],
		    (double)cnt[b] * 1e3 / opt.interval_ms,
		    pct_ms(v + off[b], cnt[b], .5),
		    pct_ms(v + off[b], cnt[b], .99),
		    pct_ms(v + off[b], cnt[b], 1), errs[b]);
	}
	putchar(']');
	free(v);
	free(errs);
	free(fill);
	free(off);
	free(cnt);
}

/* report - merge the workers' statistics and print them */
void
report(struct worker *ws, unsigned long nw)
{
	const struct last_reply *last[LAST_REPLIES];
	struct stats t, *s;
	unsigned long w, v[V_COUNT] = { 0 }, refused[S_COUNT] = { 0 };
	size_t nlast, i, j;
	double secs, tps, p50, p99, p999, max;

	memset(&t, 0, sizeof(t));
	for (w = 0, i = 0; w < nw; w++)
		i += ws[w].st.nlat;
	t.lat = xrealloc(NULL, (i + 1) * sizeof(uint32_t));
	for (w = 0; w < nw; w++) {
		s = &ws[w].st;
		for (i = 0; i < V_COUNT; i++)
			for (j = 0; j < S_COUNT; j++)
				t.verdicts[i][j] += s->verdicts[i][j];
		t.quarantined += s->quarantined;
		t.rcpt_refused += s->rcpt_refused;
		t.headers_added += s->headers_added;
		t.errors += s->errors;
		t.done += s->done;
		memcpy(t.lat + t.nlat, s->lat, s->nlat * sizeof(uint32_t));
		t.nlat += s->nlat;
		if (w == 0 || s->first < t.first)
			t.first = s->first;
		if (s->done > 0 && s->last > t.last)
			t.last = s->last;
	}
	nlast = report_replies(ws, nw, last);
	for (i = 0; i < V_COUNT; i++)
		for (j = 0; j < S_COUNT; j++) {
			v[i] += t.verdicts[i][j];
			if (i == V_TEMPFAIL || i == V_REJECT)
				refused[j] += t.verdicts[i][j];
		}
	qsort(t.lat, t.nlat, sizeof(uint32_t), cmp_u32);
	p50 = pct_ms(t.lat, t.nlat, .5);
	p99 = pct_ms(t.lat, t.nlat, .99);
	p999 = pct_ms(t.lat, t.nlat, .999);
	max = pct_ms(t.lat, t.nlat, 1);
	secs = t.done > 0 ? (t.last - t.first) / 1e3 : 0;
	tps = secs > 0 ? (double)t.done / secs : 0;

	if (!opt.quiet) {
		printf("%lu transactions on %lu connections in %.3f s: "
		    "%.1f transactions/s\n", t.done, nw, secs, tps);
		if (opt.duration_ms == 0 && t.done < opt.transactions)
			printf("not run: %lu (after errors)\n",
			    opt.transactions - t.done);
		printf("latency ms:  p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f"
		    "\n", p50, p99, p999, max);
		printf("verdicts:    accept %lu  tempfail %lu  reject %lu  "
		    "discard %lu  quarantined %lu\n", v[V_ACCEPT],
		    v[V_TEMPFAIL], v[V_REJECT], v[V_DISCARD], t.quarantined);
		for (i = 0; i < V_COUNT; i++) {
			if (v[i] == 0)
				continue;
			printf("  %-8s by stage:", verdict_names[i]);
			for (j = 0; j < S_COUNT; j++)
				printf(" %s %lu", stage_names[j],
				    t.verdicts[i][j]);
			putchar('\n');
		}
		printf("refused recipients %lu, headers added %lu, errors %lu\n",
		    t.rcpt_refused, t.headers_added, t.errors);
		for (i = 0; i < nlast; i++)
			printf("%s %s\n", i == 0 ? "replies:" : "        ",
			    last[i]->text);
	} else if (!opt.json)
		printf("tps %.1f p50 %.3f p99 %.3f accept %lu tempfail %lu "
		    "reject %lu errors %lu\n", tps, p50, p99, v[V_ACCEPT],
		    v[V_TEMPFAIL], v[V_REJECT], t.errors);
	if (opt.json) {
		printf("{\"connections\":%lu,\"transactions\":%lu,\"tps\":%.1f,"
		    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
		    "\"max_ms\":%.3f,\"accept\":%lu,\"tempfail\":%lu,"
		    "\"reject\":%lu,\"discard\":%lu,\"quarantine\":%lu,"
		    "\"mail_refused\":%lu,\"rcpt_refused\":%lu,"
		    "\"eom_refused\":%lu,\"headers_added\":%lu,\"errors\":%lu,"
		    "\"connect_refused\":%lu,\"data_refused\":%lu,"
		    "\"recipients_refused\":%lu,\"not_run\":%lu,"
		    "\"seconds\":%.3f,\"replies\":[", nw, t.done, tps, p50,
		    p99, p999, max, v[V_ACCEPT], v[V_TEMPFAIL], v[V_REJECT],
		    v[V_DISCARD], t.quarantined, refused[S_MAIL],
		    refused[S_RCPT], refused[S_EOM], t.headers_added, t.errors,
		    refused[S_CONNECT], refused[S_DATA], t.rcpt_refused,
		    opt.duration_ms > 0 || t.done > opt.transactions ? 0 :
		    opt.transactions - t.done, secs);
		for (i = 0; i < nlast; i++) {
			if (i > 0)
				putchar(',');
			json_str(last[i]->text);
		}
		putchar(']');
		if (opt.interval_ms > 0)
			report_intervals(ws, nw);
		printf("}\n");
	}
	free(t.lat);
}
