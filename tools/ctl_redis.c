/*
 * ctl_redis.c - sluicectl's connection to Redis, key names and counters.
 *
 * One blocking hiredis context per run, opened from the same config
 * settings as the daemon (redis_server, redis_password_file,
 * redis_username, redis_prefix, timeouts). Any I/O error or error reply
 * ends the run with exit code 3 (CTL_STORE) and one line on stderr: an
 * administrator's command either did all it says or says why not.
 *
 * Counters are read with window.h's arithmetic (window_width,
 * window_index, window_live), the rule charge.lua also follows, on
 * Redis's clock (TIME), so sluicectl counts what the daemons count.
 * Single-threaded; the context belongs to struct ctl.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "redis_conn.h"
#include "secret.h"
#include "sentinel.h"
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

/* primary - with redis_sentinels: where the primary is now; exits 3 */
static void
primary(struct ctl *x, struct sentinel_addr *a)
{
	const struct config *cfg = x->cfg;
	struct sentinel_addr l[SENTINEL_MAX];
	struct sentinel_opts so;
	char err[512], *pw = NULL;
	int n;

	snprintf(x->where, sizeof(x->where), "redis master %.64s",
	    cfg->redis_sentinel_master);
	if ((n = sentinel_parse_list(cfg->redis_sentinels, l, SENTINEL_MAX,
	    err, sizeof(err))) == -1)
		ctl_die(x, "sentinels", err);
	if (cfg->redis_sentinel_password_file != NULL)
		pw = read_password(cfg->redis_sentinel_password_file);
	so.sentinels = l;
	so.nsentinels = (size_t)n;
	so.master = cfg->redis_sentinel_master;
	so.password = pw;
	so.timeout_ms = cfg->redis_connect_timeout_ms;
	n = sentinel_discover(&so, a, err, sizeof(err));
	secret_free(pw);
	if (n == -1)
		ctl_die(x, "sentinels", err);
}

/* cmd_timeout - an admin command may SCAN a big keyspace: more than a
 * message gets */
static unsigned
cmd_timeout(const struct config *cfg)
{
	return cfg->redis_command_timeout_ms < CTL_CMD_TIMEOUT_MS ?
	    CTL_CMD_TIMEOUT_MS : cfg->redis_command_timeout_ms;
}

/* ctl_connect - connect and authenticate as the config says; exits on error */
void
ctl_connect(struct ctl *x)
{
	const struct config *cfg = x->cfg;
	struct redis_conn_opts o;
	struct sentinel_addr at;
	const char *what;
	char err[512], *pw = NULL;

	x->prefix = cfg->redis_prefix;
	memset(&o, 0, sizeof(o));
	if (cfg->redis_sentinels != NULL) {
		primary(x, &at);
		o.host = at.host;
		o.port = at.port;
		o.role_check = 1;
	} else if (cfg->redis_socket != NULL)
		snprintf(x->where, sizeof(x->where), "redis unix:%.200s",
		    cfg->redis_socket);
	else if (strchr(cfg->redis_host, ':') != NULL)
		snprintf(x->where, sizeof(x->where), "redis [%.200s]:%d",
		    cfg->redis_host, cfg->redis_port);
	else
		snprintf(x->where, sizeof(x->where), "redis %.200s:%d",
		    cfg->redis_host, cfg->redis_port);
	if (cfg->redis_sentinels == NULL) {
		o.host = cfg->redis_host;
		o.port = cfg->redis_port;
		o.unix_path = cfg->redis_socket;
	}
	o.username = cfg->redis_username;
	if (cfg->redis_password_file != NULL)
		o.password = pw = read_password(cfg->redis_password_file);
	o.connect_timeout_ms = cfg->redis_connect_timeout_ms;
	o.command_timeout_ms = cmd_timeout(cfg);
	x->c = redis_conn_open(&o, &what, err, sizeof(err));
	secret_free(pw);
	if (x->c == NULL)
		ctl_die(x, what, err);
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

/* ctl_close - close the connection */
void
ctl_close(struct ctl *x)
{
	if (x->c != NULL)
		redisFree(x->c);
	x->c = NULL;
}

/* check - a reply, or exit 3 naming the connection or the error reply */
static redisReply *
check(struct ctl *x, const char *what, redisReply *r)
{
	if (r == NULL)
		ctl_die(x, what, x->c->errstr[0] ? x->c->errstr :
		    "connection lost");
	if (r->type == REDIS_REPLY_ERROR)
		ctl_die(x, what, r->str);
	return r;
}

/* ctl_cmdv - one command; the reply is the caller's; exits on error */
redisReply *
ctl_cmdv(struct ctl *x, const char *what, int argc, const char **argv)
{
	size_t len[ARGS_MAX * 4];
	int i;

	if (x->sock)
		return ctl_sock_cmd(x, what, argc, argv);
	if (argc > ARGS_MAX * 4)
		ctl_die(x, what, "too many arguments");
	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	return check(x, what, redisCommandArgv(x->c, argc, argv, len));
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
	if (redisAppendCommandArgv(x->c, argc, argv, len) != REDIS_OK)
		ctl_die(x, what, "out of memory");
}

/* ctl_pipe_get - the next queued reply; exits on error */
redisReply *
ctl_pipe_get(struct ctl *x, const char *what)
{
	void *r = NULL;

	if (x->sock) {
		if (sockq.next == sockq.n)
			ctl_die(x, what, "no reply queued");
		r = sockq.r[sockq.next++];
		if (sockq.next == sockq.n)
			sockq.n = sockq.next = 0;
		return r;
	}
	if (redisGetReply(x->c, &r) != REDIS_OK)
		r = NULL;
	return check(x, what, r);
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

/* ctl_scan - call fn with each page of keys matching pattern */
void
ctl_scan(struct ctl *x, const char *pattern, ctl_scan_fn *fn, void *arg)
{
	char cursor[32] = "0";
	redisReply *r;
	size_t i;

	do {
		r = ctl_cmd(x, "SCAN", "SCAN", cursor, "MATCH", pattern,
		    "COUNT", "1000", NULL);
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof(cursor) ||
		    r->element[1]->type != REDIS_REPLY_ARRAY)
			ctl_die(x, "SCAN", "unexpected reply");
		for (i = 0; i < r->element[1]->elements; i++)
			if (r->element[1]->element[i]->type !=
			    REDIS_REPLY_STRING)
				ctl_die(x, "SCAN", "unexpected reply");
		memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
		fn(x, r->element[1], arg);
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
}
