/*
 * ctl_redis.c - sluicectl's connection to Redis, key names and counters.
 *
 * One link per run (lib/redis_link.c: the server, the primary the
 * sentinels name, or a Cluster, each command sent to the node of its
 * key and SCAN run on every primary), opened from the same config
 * settings as the daemon (redis_server, redis_sentinels, redis_cluster,
 * redis_password_file, redis_username, redis_prefix, timeouts). Any I/O error or error reply
 * ends the run with exit code 3 (CTL_STORE) and one line on stderr: an
 * administrator's command either did all it says or says why not.
 *
 * Counters are read with window.h's arithmetic (window_width,
 * window_index, window_live), the rule charge.lua also follows, on
 * Redis's clock (TIME), so sluicectl counts what the daemons count.
 * Single-threaded; the link and its passwords belong to struct ctl.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "redis_conn.h"
#include "redis_link.h"
#include "secret.h"
#include "sluicectl.h"
#include "store.h"
#include "window.h"

#define CTL_CMD_TIMEOUT_MS 5000	/* floor for one command: SCAN pages */
#define ARGS_MAX	16	/* arguments of ctl_cmd */

/* ctl_die - report a store failure and exit 3 */
void
ctl_die(const struct ctl *x, const char *what, const char *why)
{
	fprintf(stderr, "sluicectl: %s: %s: %s\n", x->where, what, why);
	exit(CTL_STORE);
}

/* read_password - a password file's first line; exits 78 when unreadable */
static char *
read_password(const char *path)
{
	char err[512], *pw;

	if ((pw = secret_read(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sluicectl: %s\n", err);
		exit(CTL_CONFIG);
	}
	return pw;
}

/* cmd_timeout - an admin command may SCAN a big keyspace: more than a
 * message gets */
static unsigned
cmd_timeout(const struct config *cfg)
{
	return cfg->redis_command_timeout_ms < CTL_CMD_TIMEOUT_MS ?
	    CTL_CMD_TIMEOUT_MS : cfg->redis_command_timeout_ms;
}

/* ctl_connect - connect and authenticate as the config says (the server,
 * the primary the sentinels name, or a Cluster's slot map); exits on error */
void
ctl_connect(struct ctl *x)
{
	const struct config *cfg = x->cfg;
	struct redis_link_opts o;
	char err[512];

	x->prefix = cfg->redis_prefix;
	if (cfg->redis_password_file != NULL)
		x->pw = read_password(cfg->redis_password_file);
	if (cfg->redis_sentinels != NULL &&
	    cfg->redis_sentinel_password_file != NULL)
		x->spw = read_password(cfg->redis_sentinel_password_file);
	redis_link_opts_config(cfg, x->pw, x->spw, cmd_timeout(cfg), &o);
	if ((x->link = redis_link_new(&o)) == NULL) {
		fprintf(stderr, "sluicectl: out of memory\n");
		exit(CTL_STORE);
	}
	snprintf(x->where, sizeof(x->where), "%s", redis_link_where(x->link));
	if (redis_link_connect(x->link, err, sizeof(err)) == -1) {
		/* err names its step: "connect: ...", "sentinels: ..." */
		fprintf(stderr, "sluicectl: %s: %s\n", x->where, err);
		exit(CTL_STORE);
	}
	snprintf(x->where, sizeof(x->where), "%s", redis_link_where(x->link));
}

/* ctl_store - the daemon's own redis store, for charging a lock exactly */
struct store *
ctl_store(struct ctl *x)
{
	const struct config *cfg = x->cfg;
	struct store_redis_opts o;
	struct store *st;
	char err[512], *pw = NULL, *spw = NULL;

	if (cfg->redis_password_file != NULL)
		pw = read_password(cfg->redis_password_file);
	if (cfg->redis_sentinel_password_file != NULL)
		spw = read_password(cfg->redis_sentinel_password_file);
	redis_conn_store_opts(cfg, pw, spw, &o);
	o.command_timeout_ms = cmd_timeout(cfg);
	o.pool_max = 1;
	st = store_redis_new(&o, err, sizeof(err));
	secret_free(pw);
	secret_free(spw);
	if (st == NULL) {
		fprintf(stderr, "sluicectl: %s\n", err);
		exit(CTL_CONFIG);
	}
	return st;
}

/* ctl_close - close the connections, forget the passwords */
void
ctl_close(struct ctl *x)
{
	redis_link_free(x->link);
	x->link = NULL;
	secret_free(x->pw);
	secret_free(x->spw);
	x->pw = x->spw = NULL;
}

/* check - a reply, or exit 3 naming the connection or the error reply */
static redisReply *
check(struct ctl *x, const char *what, redisReply *r, const char *err)
{
	if (r == NULL)
		ctl_die(x, what, err[0] ? err : "connection lost");
	if (r->type == REDIS_REPLY_ERROR)
		ctl_die(x, what, r->str);
	return r;
}

/* key_of - the key a command names, for a Cluster's routing; NULL: any
 * node will do (keyless, or a channel: PUBLISH reaches every node) */
static const char *
key_of(int argc, const char **argv)
{
	if (strcasecmp(argv[0], "EVAL") == 0 ||
	    strcasecmp(argv[0], "EVALSHA") == 0)
		return argc > 3 && strcmp(argv[2], "0") != 0 ? argv[3] : NULL;
	if (argc < 2 || strcasecmp(argv[0], "PUBLISH") == 0 ||
	    strcasecmp(argv[0], "INFO") == 0 ||
	    strcasecmp(argv[0], "SCAN") == 0)
		return NULL;
	return argv[1];
}

/* ctl_cmdv - one command; the reply is the caller's; exits on error */
redisReply *
ctl_cmdv(struct ctl *x, const char *what, int argc, const char **argv)
{
	size_t len[ARGS_MAX * 4];
	char err[512] = "";
	int i;

	if (x->sock)
		return ctl_sock_cmd(x, what, argc, argv);
	if (argc > ARGS_MAX * 4)
		ctl_die(x, what, "too many arguments");
	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	return check(x, what, redis_link_cmdv(x->link, key_of(argc, argv),
	    argc, argv, len, err, sizeof(err)), err);
}

/* ctl_cmd - ctl_cmdv with the arguments listed, NULL-terminated */
redisReply *
ctl_cmd(struct ctl *x, const char *what, ...)
{
	const char *argv[ARGS_MAX];
	va_list ap;
	int argc = 0;

	va_start(ap, what);
	while (argc < ARGS_MAX && (argv[argc] = va_arg(ap, const char *)) !=
	    NULL)
		argc++;
	va_end(ap);
	return ctl_cmdv(x, what, argc, argv);
}

/* replies of a "pipeline" on the control socket: asked at once, in order */
static struct {
	redisReply	**r;
	size_t		 n, next;
} sockq;

/* ctl_pipe - queue a command; its reply comes from ctl_pipe_get */
void
ctl_pipe(struct ctl *x, const char *what, int argc, const char **argv)
{
	size_t len[ARGS_MAX];
	char err[512];
	int i;

	if (x->sock) {
		if ((sockq.r = realloc(sockq.r, (sockq.n + 1) *
		    sizeof(*sockq.r))) == NULL)
			ctl_die(x, what, "out of memory");
		sockq.r[sockq.n++] = ctl_sock_cmd(x, what, argc, argv);
		return;
	}
	if (argc > ARGS_MAX)
		ctl_die(x, what, "too many arguments");
	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	if (redis_link_append(x->link, key_of(argc, argv), argc, argv, len,
	    err, sizeof(err)) == -1)
		ctl_die(x, what, err);
}

/* ctl_pipe_get - the next queued reply; exits on error */
redisReply *
ctl_pipe_get(struct ctl *x, const char *what)
{
	char err[512] = "";
	void *r = NULL;

	if (x->sock) {
		if (sockq.next == sockq.n)
			ctl_die(x, what, "no reply queued");
		r = sockq.r[sockq.next++];
		if (sockq.next == sockq.n)
			sockq.n = sockq.next = 0;
		return r;
	}
	return check(x, what, redis_link_reply(x->link, err, sizeof(err)),
	    err);
}

/* ctl_now_ms - Redis's clock, the one every daemon counts with */
uint64_t
ctl_now_ms(struct ctl *x)
{
	redisReply *r = ctl_cmd(x, "TIME", "TIME", NULL);
	uint64_t ms;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING)
		ctl_die(x, "TIME", "unexpected reply");
	ms = strtoull(r->element[0]->str, NULL, 10) * 1000 +
	    strtoull(r->element[1]->str, NULL, 10) / 1000;
	freeReplyObject(r);
	return ms;
}

/* ctl_key - P{sender}:rest (doc/control-contract.md) */
void
ctl_key(const struct ctl *x, char *out, const char *sender, const char *rest)
{
	contract_sender(out, CTL_KEY_MAX, x->prefix, sender, rest);
}

/* ctl_global - P:name */
void
ctl_global(const struct ctl *x, char *out, const char *name)
{
	contract_global(out, CTL_KEY_MAX, x->prefix, name);
}

/* ctl_counter_key - P{sender}:name:window:buckets, as store_redis.c names it */
void
ctl_counter_key(const struct ctl *x, char *out, const char *sender,
    const char *name, uint32_t window, uint32_t buckets)
{
	contract_counter(out, CTL_KEY_MAX, x->prefix, sender, name, NULL,
	    window, buckets);
}

/* ctl_counter_parse - split a counter key; 0, or -1 if it is none of ours */
int
ctl_counter_parse(const struct ctl *x, const char *key,
    struct contract_counter *k)
{
	return contract_counter_parse(x->prefix, key, k);
}

/*
 * ctl_live_sum - events in the live buckets of an HGETALL reply: a bucket
 * counts while its index >= floor(now/w) - B (window_live), as in
 * charge.lua. *newest (if not NULL) gets the highest live index, or -1.
 */
uint64_t
ctl_live_sum(const redisReply *r, uint32_t window, uint32_t buckets,
    uint64_t now_ms, int64_t *newest)
{
	uint64_t w = window_width(window, buckets), total = 0;
	int64_t cur = window_index(now_ms, w), idx;
	unsigned long long c;
	size_t i;
	char *end;

	if (newest != NULL)
		*newest = -1;
	if (r->type != REDIS_REPLY_ARRAY)
		return 0;
	for (i = 0; i + 1 < r->elements; i += 2) {
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		errno = 0;
		idx = strtoll(r->element[i]->str, &end, 10);
		if (*end != '\0' || errno != 0)
			continue;
		c = strtoull(r->element[i + 1]->str, &end, 10);
		if (*end != '\0' || errno != 0 || c == 0 ||
		    !window_live(idx, cur, buckets))
			continue;
		total += c;
		if (newest != NULL && idx > *newest)
			*newest = idx;
	}
	return total;
}

/* ctl_counter_get - live events of one counter of one sender */
uint64_t
ctl_counter_get(struct ctl *x, const char *sender, const char *name,
    uint32_t window, uint32_t buckets, uint64_t now_ms)
{
	char key[CTL_KEY_MAX];
	redisReply *r;
	uint64_t n;

	ctl_counter_key(x, key, sender, name, window, buckets);
	r = ctl_cmd(x, "HGETALL", "HGETALL", key, NULL);
	n = ctl_live_sum(r, window, buckets, now_ms, NULL);
	freeReplyObject(r);
	return n;
}

/* scan_page - one SCAN page of one primary (a Cluster's node-th) */
static redisReply *
scan_page(struct ctl *x, size_t node, const char *cursor,
    const char *pattern)
{
	const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
	    "1000" };
	size_t len[6];
	char err[512] = "";
	int i;

	if (x->sock)
		return ctl_cmdv(x, "SCAN", 6, argv);
	for (i = 0; i < 6; i++)
		len[i] = strlen(argv[i]);
	return check(x, "SCAN", redis_link_node_cmdv(x->link, node, 6, argv,
	    len, err, sizeof(err)), err);
}

/* ctl_scan - call fn with each page of keys matching pattern, on every
 * primary */
void
ctl_scan(struct ctl *x, const char *pattern, ctl_scan_fn *fn, void *arg)
{
	size_t i, node, nodes = x->sock ? 1 : redis_link_nodes(x->link);
	char cursor[32];
	redisReply *r;

	for (node = 0; node < nodes; node++) {
		snprintf(cursor, sizeof(cursor), "0");
		do {
			r = scan_page(x, node, cursor, pattern);
			if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			    r->element[0]->type != REDIS_REPLY_STRING ||
			    r->element[0]->len >= sizeof(cursor) ||
			    r->element[1]->type != REDIS_REPLY_ARRAY)
				ctl_die(x, "SCAN", "unexpected reply");
			for (i = 0; i < r->element[1]->elements; i++)
				if (r->element[1]->element[i]->type !=
				    REDIS_REPLY_STRING)
					ctl_die(x, "SCAN", "unexpected reply");
			memcpy(cursor, r->element[0]->str,
			    r->element[0]->len + 1);
			fn(x, r->element[1], arg);
			freeReplyObject(r);
		} while (strcmp(cursor, "0") != 0);
	}
}
