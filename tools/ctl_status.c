/*
 * ctl_status.c - sluicectl status: is the store there (best of three
 * PINGs; the Redis version, or the memory store's last save through the
 * control socket), what the config says (mode, locks, classes and their
 * limits), and who is locked now: the members of P:locked whose score
 * (the lock's end, unix s) is still ahead, at most LOCKED_MAX, each named
 * by its P{H}:lockinfo (its P{H}:who when that names no login).
 * As text, or one JSON object with --json.
 *
 * Nothing here writes to Redis. Memory: every reply is freed before its
 * function returns; the lockinfo fields printed are borrowed from the
 * reply they are in. Single-threaded, as all of sluicectl.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "ctlproto.h"
#include "sender.h"
#include "sluicectl.h"

#define LOCKED_MAX	"1000"	/* locked logins listed by status */
#define PING_TRIES	3	/* the best of them is shown */

/* the lockinfo fields status shows, in the order of lock_fields' f[] */
enum { LI_LOGIN, LI_BY, LI_REASON, LI_ORIGIN, LI_N };

/* saved_line - the last save's figures of a "status" reply */
static void
saved_line(struct ctl *x, const struct ctlproto_line *l, void *arg)
{
	static const char *const names[4] = { "saved", "saved_bytes",
	    "saved_ms", "saved_hold_us" };
	uint64_t *sv = arg;
	int i;

	(void)x;
	for (i = 0; i < 4 && l->n == 2; i++)
		if (strcmp(l->f[0], names[i]) == 0)
			sv[i] = strtoull(l->f[1], NULL, 10);
}

/* sock_saved - saved at (unix s), bytes, ms, longest hold (us) */
static void
sock_saved(struct ctl *x, uint64_t *sv)
{
	const char *f[1] = { "status" };

	ctl_sock_call(x, 1, f, saved_line, sv);
}

/* ping_best - the fastest of PING_TRIES PINGs, in ms */
static double
ping_best(struct ctl *x)
{
	struct timeval t0, t1;
	double best = 1e9, d;
	int k;

	for (k = 0; k < PING_TRIES; k++) {
		gettimeofday(&t0, NULL);
		freeReplyObject(ctl_cmd(x, "PING", "PING", NULL));
		gettimeofday(&t1, NULL);
		d = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_usec - t0.tv_usec) /
		    1e3;
		if (d < best)
			best = d;
	}
	return best;
}

/* redis_version - INFO server's redis_version; ver unchanged without */
static void
redis_version(struct ctl *x, char *ver, size_t verlen)
{
	redisReply *r;
	const char *p;

	r = x->sock ? NULL : ctl_cmd(x, "INFO", "INFO", "server", NULL);
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		if ((p = strstr(r->str, "redis_version:")) != NULL)
			snprintf(ver, verlen, "%.*s", (int)strcspn(p + 14,
			    "\r\n"), p + 14);
	freeReplyObject(r);
}

/* locked_now - P:locked's members still locked at now, with scores */
static redisReply *
locked_now(struct ctl *x, uint64_t now)
{
	char key[CTL_KEY_MAX], since[32];

	ctl_global(x, key, CONTRACT_LOCKED);
	snprintf(since, sizeof(since), "%llu", (unsigned long long)(now /
	    1000));
	return ctl_cmd(x, "ZRANGEBYSCORE", "ZRANGEBYSCORE", key, since, "+inf",
	    "WITHSCORES", "LIMIT", "0", LOCKED_MAX, NULL);
}

/* json_store - the "store" member, and the "config" key it leads to */
static void
json_store(const struct ctl *x, double ping_ms, const char *ver,
    const uint64_t *sv)
{
	const struct config *cfg = x->cfg;

	if (x->sock) {
		printf("{\"store\":{\"kind\":\"memory\",\"socket\":");
		json_str(stdout, cfg->control_socket);
		printf(",\"reachable\":true,\"ping_ms\":%.3f,\"state_file\":",
		    ping_ms);
		json_str(stdout, cfg->state_file);
		printf(",\"saved\":%llu,\"saved_bytes\":%llu,\"saved_ms\":%llu,"
		    "\"saved_hold_us\":%llu},\"config\":",
		    (unsigned long long)sv[0], (unsigned long long)sv[1],
		    (unsigned long long)sv[2], (unsigned long long)sv[3]);
	} else {
		printf("{\"store\":{\"kind\":\"redis\",\"server\":");
		json_str(stdout, x->where + 6);
		printf(",\"prefix\":");
		json_str(stdout, x->prefix);
		printf(",\"reachable\":true,\"version\":");
		json_str(stdout, ver);
		printf(",\"ping_ms\":%.3f},\"config\":", ping_ms);
	}
}

/* json_limits - ,"label":[{"count":N,"window":S},...] */
static void
json_limits(const char *label, const struct config_limit *l, size_t n)
{
	size_t i;

	printf(",\"%s\":[", label);
	for (i = 0; i < n; i++)
		printf("%s{\"count\":%llu,\"window\":%u}", i ? "," : "",
		    (unsigned long long)l[i].count, l[i].window);
	printf("]");
}

/* json_config - the config's value, up to the "locked" array's start */
static void
json_config(const struct config *cfg)
{
	size_t i;

	json_str(stdout, cfg->path);
	printf(",\"mode\":\"%s\",\"lock_lifetime\":%u,"
	    "\"lock_after\":{\"count\":%llu,\"window\":%u},"
	    "\"window_buckets\":%u,\"classes\":[", cfg->mode ==
	    CONFIG_MODE_OBSERVE ? "observe" : "enforce",
	    cfg->lock_lifetime_ms / 1000,
	    (unsigned long long)cfg->lock_after.count,
	    cfg->lock_after.window, cfg->window_buckets);
	for (i = 0; i < cfg->nclasses; i++) {
		const struct config_class *c = &cfg->classes[i];

		printf("%s{\"name\":", i ? "," : "");
		json_str(stdout, c->name);
		json_limits("messages", c->messages, c->nmessages);
		json_limits("recipients", c->recipients, c->nrecipients);
		json_limits("header_recipients", c->header_recipients,
		    c->nheader_recipients);
		json_limits("repeats", c->repeats, c->nrepeats);
		printf(",\"max_recipients\":%u}", c->max_recipients);
	}
	printf("],\"locked\":[");
}

/* text_store - the store line, and the memory store's state line */
static void
text_store(const struct ctl *x, double ping_ms, const char *ver,
    const uint64_t *sv, uint64_t now)
{
	const struct config *cfg = x->cfg;

	if (!x->sock) {
		printf("store       %s, prefix \"%s\": reachable, redis "
		    "%s, ping %.2f ms\n", x->where, x->prefix, ver, ping_ms);
		return;
	}
	printf("store       memory, in the daemon: control socket "
	    "%s reachable, ping %.2f ms\n", cfg->control_socket, ping_ms);
	if (sv[0] == 0)
		printf("state       %s: not saved yet\n", cfg->state_file);
	else
		printf("state       %s: saved %llu s ago, %llu "
		    "bytes in %llu ms (mail waited at most "
		    "%.1f ms)\n", cfg->state_file,
		    (unsigned long long)(now / 1000 > sv[0] ?
		    now / 1000 - sv[0] : 0),
		    (unsigned long long)sv[1],
		    (unsigned long long)sv[2], sv[3] / 1e3);
}

/* print_limits - " messages 100/1h 1000/1d" */
static void
print_limits(const char *label, const struct config_limit *l, size_t n)
{
	char ws[32];
	size_t i;

	if (n == 0)
		return;
	printf("  %s", label);
	for (i = 0; i < n; i++) {
		fmt_window(l[i].window, ws, sizeof(ws));
		printf(" %llu/%s", (unsigned long long)l[i].count, ws);
	}
}

/* text_config - the config, locks and classes lines, then the locked
 * count and, when there are any, the header of their table */
static void
text_config(const struct config *cfg, size_t nlocked)
{
	char ws[32];
	size_t i;

	fmt_window(cfg->lock_lifetime_ms / 1000, ws, sizeof(ws));
	printf("config      %s (mode %s, window_buckets %u)\n",
	    cfg->path, cfg->mode == CONFIG_MODE_OBSERVE ? "observe" :
	    "enforce", cfg->window_buckets);
	printf("locks       lifetime %s", ws);
	if (cfg->lock_after.count > 0) {
		fmt_window(cfg->lock_after.window, ws, sizeof(ws));
		printf(", automatic after %llu refusals in %s",
		    (unsigned long long)cfg->lock_after.count, ws);
	} else
		printf(", never automatic (no lock_after)");
	printf("\nclasses\n");
	for (i = 0; i < cfg->nclasses; i++) {
		const struct config_class *c = &cfg->classes[i];

		printf("  %-12s", c->name);
		print_limits("messages", c->messages, c->nmessages);
		print_limits("recipients", c->recipients, c->nrecipients);
		print_limits("fanout", c->header_recipients,
		    c->nheader_recipients);
		print_limits("repeats", c->repeats, c->nrepeats);
		if (c->max_recipients)
			printf("  max_recipients %u", c->max_recipients);
		printf("\n");
	}
	printf("locked      %zu login%s\n", nlocked, nlocked == 1 ? "" : "s");
	if (nlocked > 0)
		printf("  %-36s %-8s %-20s %-12s %s\n", "LOGIN",
		    "ORIGIN", "UNTIL", "BY", "REASON");
}

/* lock_fields - f[LI_*] from a HGETALL of P{H}:lockinfo (borrowed from
 * info; NULL: not there) */
static void
lock_fields(const redisReply *info, const char **f)
{
	static const char *const names[LI_N] = { CONTRACT_LI_LOGIN,
	    CONTRACT_LI_BY, CONTRACT_LI_REASON, CONTRACT_LI_ORIGIN };
	size_t j;
	int k;

	for (k = 0; k < LI_N; k++)
		f[k] = NULL;
	for (j = 0; info->type == REDIS_REPLY_ARRAY &&
	    j + 1 < info->elements; j += 2)
		for (k = 0; k < LI_N; k++)
			if (info->element[j]->type == REDIS_REPLY_STRING &&
			    info->element[j + 1]->type == REDIS_REPLY_STRING &&
			    strcmp(info->element[j]->str, names[k]) == 0)
				f[k] = info->element[j + 1]->str;
}

/* print_locked - the i-th locked sender h (until: unix s): a row, or a
 * member of the "locked" array */
static void
print_locked(struct ctl *x, size_t i, const char *h, uint64_t until)
{
	char key[CTL_KEY_MAX], ts[32];
	const char *f[LI_N], *origin = "sasl";
	redisReply *info, *who;
	enum sender_origin o;

	ctl_key(x, key, h, CONTRACT_LOCKINFO);
	info = ctl_cmd(x, "HGETALL", "HGETALL", key, NULL);
	ctl_key(x, key, h, CONTRACT_WHO);
	who = ctl_cmd(x, "GET", "GET", key, NULL);
	lock_fields(info, f);
	if (f[LI_LOGIN] == NULL && who->type == REDIS_REPLY_STRING)
		f[LI_LOGIN] = ctl_who(who->str, &origin);
	if (f[LI_ORIGIN] != NULL && sender_origin_parse(f[LI_ORIGIN], &o) == 0)
		origin = sender_origin_name(o);
	fmt_time(until, ts, sizeof(ts));
	if (x->json) {
		printf("%s{\"key\":\"%s\",\"login\":", i ? "," : "", h);
		json_str(stdout, f[LI_LOGIN]);
		printf(",\"origin\":\"%s\",\"until\":%llu,\"by\":", origin,
		    (unsigned long long)until);
		json_str(stdout, f[LI_BY]);
		printf(",\"reason\":");
		json_str(stdout, f[LI_REASON]);
		printf("}");
	} else {
		printf("  ");
		text_login(stdout, f[LI_LOGIN] ? f[LI_LOGIN] : h, 36);
		printf(" %-8s %-20s ", origin, ts);
		text_login(stdout, f[LI_BY] ? f[LI_BY] : "?", 12);
		printf(" ");
		text_login(stdout, f[LI_REASON] ? f[LI_REASON] : "", 0);
		printf("\n");
	}
	freeReplyObject(info);
	freeReplyObject(who);
}

/* print_all_locked - every member of a locked_now reply a sluice wrote */
static void
print_all_locked(struct ctl *x, const redisReply *z, size_t nlocked)
{
	const redisReply *m, *s;
	const char *h;
	size_t i;

	for (i = 0; i < nlocked; i++) {
		m = z->element[2 * i];
		s = z->element[2 * i + 1];
		h = m->type == REDIS_REPLY_STRING ? m->str : "";
		if (strspn(h, "0123456789abcdef") != strlen(h) || !*h ||
		    strlen(h) > 64)
			continue;	/* not written by a sluice */
		print_locked(x, i, h, strtoull(s->type == REDIS_REPLY_STRING ?
		    s->str : "0", NULL, 10));
	}
}

/* cmd_status - is the store there, what the config says, who is locked */
int
cmd_status(struct ctl *x)
{
	char ver[64] = "?";
	uint64_t now, sv[4] = { 0, 0, 0, 0 };
	double ping_ms;
	redisReply *z;
	size_t nlocked;

	ping_ms = ping_best(x);
	redis_version(x, ver, sizeof(ver));
	now = ctl_now_ms(x);
	z = locked_now(x, now);
	nlocked = z->type == REDIS_REPLY_ARRAY ? z->elements / 2 : 0;
	if (x->sock)
		sock_saved(x, sv);
	if (x->json) {
		json_store(x, ping_ms, ver, sv);
		json_config(x->cfg);
	} else {
		text_store(x, ping_ms, ver, sv, now);
		text_config(x->cfg, nlocked);
	}
	print_all_locked(x, z, nlocked);
	if (x->json)
		printf("]}\n");
	freeReplyObject(z);
	return CTL_OK;
}
