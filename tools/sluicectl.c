/*
 * sluicectl - the administrator's tool: watch, lock, unlock, reset and
 * re-class logins in the Redis store that every sluice relay shares.
 *
 * Reads the daemon's own config (-c, default /etc/sluice/sluice.conf)
 * for the Redis address, prefix, credentials, classes and lock lifetime,
 * and follows the control contract (doc/control-contract.md, built by
 * lib/contract.c): counters and the lock counter as lib/store_redis.c
 * names them, P{H}:lockinfo, P:locked, P:classes, and one message on
 * the channel P:events per change. Commands and exit
 * codes: sluicectl(8). Logins are hostile input: they only reach Redis
 * as sender_key() hashes, as a folded hash field of P:classes, or as a
 * printable lockinfo value, and are escaped on output.
 *
 * This file: arguments, and the commands that write (lock, unlock,
 * reset, class). status is in ctl_status.c, the views in ctl_show.c,
 * Redis access in ctl_redis.c, output helpers in ctl_out.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "policy.h"
#include "sender.h"
#include "sluicectl.h"
#include "store.h"
#include "window.h"

#define DEFAULT_CONFIG	"/etc/sluice/sluice.conf"
#define REASON_MAX	200	/* bytes of a --reason */
#define TOP_MAX		100000	/* largest -n */

/* options, as bits, so each command says which it takes */
#define O_WINDOW	0x01
#define O_N		0x02
#define O_FOR		0x04
#define O_REASON	0x08
#define O_CLEAR		0x10
#define O_ORIGIN	0x20
#define O_DOMAINS	0x40

struct args {
	const char	*config;
	int		 json;
	const char	*cmd;
	const char	*pos[3];
	int		 npos;
	unsigned	 seen;		/* O_* given */
	const char	*window, *n, *dur, *reason, *origin;
};

/* usage - the synopsis on stderr (or stdout for --help), then exit */
static void usage(int) __attribute__((noreturn));

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: sluicectl [-c config] [--json] command [arguments]\n"
	    "  status                          store, config, locked logins\n"
	    "  top [--window W] [-n N] [--domains]\n"
	    "                                  heaviest senders (domains) now\n"
	    "  show LOGIN                      counts, class and lock of a login\n"
	    "  lock LOGIN [--for D] [--reason TEXT]\n"
	    "                                  lock on every relay\n"
	    "  unlock LOGIN                    lift a lock\n"
	    "  reset LOGIN                     forget a login's counters\n"
	    "  class LOGIN CLASS | class LOGIN --clear\n"
	    "                                  set or clear a class override\n"
	    "  --origin sasl|header|envelope   whose LOGIN: a SASL login "
	    "(default),\n"
	    "                                  a trusted header's, an "
	    "envelope sender\n"
	    "  -c config  default " DEFAULT_CONFIG "\n"
	    "exit: 0 ok, 1 not locked / no override, 2 usage, 3 store error, "
	    "78 config error\n");
	exit(code);
}

/* bad - a usage error with its reason, then the synopsis; exit 2 */
static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));

static void
bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sluicectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(CTL_USAGE);
}

/* the options that take a value, and the field each one sets */
static const struct opt {
	const char	*name;
	unsigned	 bit;		/* O_*; 0: any command */
	size_t		 off;		/* of its const char * in struct args */
} opts[] = {
	{ "-c", 0, offsetof(struct args, config) },
	{ "--config", 0, offsetof(struct args, config) },
	{ "--window", O_WINDOW, offsetof(struct args, window) },
	{ "-w", O_WINDOW, offsetof(struct args, window) },
	{ "-n", O_N, offsetof(struct args, n) },
	{ "--for", O_FOR, offsetof(struct args, dur) },
	{ "--reason", O_REASON, offsetof(struct args, reason) },
	{ "--origin", O_ORIGIN, offsetof(struct args, origin) },
	{ NULL, 0, 0 }
};

/* esc - an argument made safe to print (a static buffer) */
static const char *
esc(const char *s)
{
	static char buf[128];

	sender_printable(s, buf, sizeof(buf), 0);
	return buf;
}

/* parse_args - options anywhere, "--" ends them; exits on error */
static void
parse_args(int argc, char **argv, struct args *a)
{
	const struct opt *o;
	int i, opts_done = 0;
	const char *arg, *val;
	size_t nl;

	memset(a, 0, sizeof(*a));
	a->config = DEFAULT_CONFIG;
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (opts_done || arg[0] != '-' || arg[1] == '\0') {
			if (a->cmd == NULL)
				a->cmd = arg;
			else if (a->npos < 3)
				a->pos[a->npos++] = arg;
			else
				bad("too many arguments at \"%s\"", esc(arg));
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			opts_done = 1;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			usage(0);
		if (strcmp(arg, "--json") == 0) {
			a->json = 1;
			continue;
		}
		if (strcmp(arg, "--clear") == 0 ||
		    strcmp(arg, "--domains") == 0) {
			a->seen |= arg[2] == 'c' ? O_CLEAR : O_DOMAINS;
			continue;
		}
		/* options with a value: "--opt V" or "--opt=V" */
		for (o = opts; o->name != NULL; o++) {
			nl = strlen(o->name);
			if (strncmp(arg, o->name, nl) == 0 &&
			    (arg[nl] == '\0' || arg[nl] == '='))
				break;
		}
		if (o->name == NULL)
			bad("unknown option \"%s\"", esc(arg));
		if (arg[nl] == '=')
			val = arg + nl + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			bad("option %s needs a value", o->name);
		if (o->bit & a->seen)
			bad("option %s given twice", o->name);
		*(const char **)(void *)((char *)a + o->off) = val;
		a->seen |= o->bit;
	}
	if (a->cmd == NULL)
		bad("%s", "no command");
}

/* login_arg - a login argument: 1 to SENDER_LOGIN_MAX bytes */
static const char *
login_arg(const char *s)
{
	if (s == NULL)
		bad("%s", "a LOGIN is required");
	if (s[0] == '\0' || strlen(s) > SENDER_LOGIN_MAX)
		bad("%s", "a LOGIN is 1 to 1024 bytes");
	return s;
}

/* num_line - a reply line "NAME N": N into *arg when NAME matches */
struct num_want {
	const char	*name;
	uint64_t	 v;
};

static void
num_line(struct ctl *x, const struct ctlproto_line *l, void *arg)
{
	struct num_want *w = arg;

	(void)x;
	if (l->n == 2 && strcmp(l->f[0], w->name) == 0)
		w->v = strtoull(l->f[1], NULL, 10);
}

/* sock_count - "VERB KEY" on the control socket, the number it answers */
static uint64_t
sock_count(struct ctl *x, const char *verb, const char *h, const char *name)
{
	const char *f[2] = { verb, h };
	struct num_want w = { name, 0 };

	ctl_sock_call(x, 2, f, num_line, &w);
	return w.v;
}

/* sock_lock - lock through the control socket; the end, in ms */
static uint64_t
sock_lock(struct ctl *x, const char *h, const char *login, uint64_t dur_ms,
    const char *reason)
{
	char d[24], who[256];
	const char *f[5] = { "lock", h, d, who, reason };
	struct num_want w = { "ends", 0 };

	snprintf(d, sizeof(d), "%llu", (unsigned long long)dur_ms);
	sender_printable(login, who, sizeof(who), 0);
	ctl_sock_call(x, 5, f, num_line, &w);
	return w.v;
}

/* sock_class - set (cls "") or clear an override in the daemon; changed? */
static uint64_t
sock_class(struct ctl *x, const char *field, const char *cls)
{
	const char *f[3] = { "class", field, cls };
	struct num_want w = { "changed", 0 };

	ctl_sock_call(x, 3, f, num_line, &w);
	return w.v;
}

/* login_full - a bare login with login_default_domain, as the daemon
 * keys it (kept as given when that would be too long) */
static const char *
login_full(const struct config *cfg, const char *login, char *out,
    size_t outlen)
{
	const char *p = sender_with_domain(login, cfg->login_default_domain,
	    out, outlen);

	return p != NULL ? p : login;
}

/* publish - one event on P:events (h NULL for class) */
static void
publish(struct ctl *x, enum contract_event ev, const char *h)
{
	char chan[CTL_KEY_MAX], msg[CONTRACT_EVENT_MAX];

	ctl_global(x, chan, CONTRACT_EVENTS);
	if (contract_event(msg, sizeof(msg), ev, h) == -1)
		ctl_die(x, "PUBLISH", "not a sender key");
	freeReplyObject(ctl_cmd(x, "PUBLISH", "PUBLISH", chan, msg, NULL));
}

/*
 * lock_for - lock for about `dur_ms` (<= the lifetime), replacing any
 * lock: one event in the live bucket that leaves the window first at or
 * after now + dur (window_index_until), now being Redis's clock. The
 * lock then ends between now + dur and now + dur + w (w = lifetime /
 * 60). The three writes are one script, so no charge comes between
 * them (MULTI is not in the shipped ACL; the arithmetic is lib/window.c's).
 * Returns the end, in ms.
 */
static uint64_t
lock_for(struct ctl *x, const char *key, uint32_t lifetime, uint64_t dur_ms)
{
	static const char script[] =
	    "redis.call('DEL', KEYS[1])\n"
	    "redis.call('HINCRBY', KEYS[1], ARGV[1], 1)\n"
	    "return redis.call('PEXPIREAT', KEYS[1], ARGV[2])\n";
	uint64_t now = ctl_now_ms(x), ends;
	int64_t idx = window_index_until(now + dur_ms, lifetime,
	    CONTRACT_LOCK_BUCKETS);
	char field[24], ts[24];
	redisReply *r;

	ends = window_end(idx, lifetime, CONTRACT_LOCK_BUCKETS);
	snprintf(field, sizeof(field), "%lld", (long long)idx);
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)ends);
	r = ctl_cmd(x, "EVAL", "EVAL", script, "1", key, field, ts, NULL);
	if (r->type != REDIS_REPLY_INTEGER)
		ctl_die(x, "EVAL", "unexpected reply");
	freeReplyObject(r);
	return ends;
}

/* lock_full - the daemon's own lock item, charged through the store */
static uint64_t
lock_full(struct ctl *x, const char *h, const char *key, uint32_t lifetime)
{
	struct store_item it;
	struct store_req req;
	struct store_res res;
	struct store *st = ctl_store(x);
	char err[512];
	int64_t newest;
	redisReply *r;

	policy_lock_item(x->cfg, &it);
	memset(&req, 0, sizeof(req));
	req.sender = h;
	req.commit = STORE_COMMIT;
	req.items = &it;
	req.nitems = 1;
	if (store_charge(st, &req, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "sluicectl: %s\n", err);
		exit(CTL_STORE);
	}
	store_free(st);
	r = ctl_cmd(x, "HGETALL", "HGETALL", key, NULL);
	ctl_live_sum(r, lifetime, CONTRACT_LOCK_BUCKETS, ctl_now_ms(x), &newest);
	freeReplyObject(r);
	if (newest < 0)
		ctl_die(x, "lock", "the lock counter is not there after "
		    "charging it");
	return window_end(newest, lifetime, CONTRACT_LOCK_BUCKETS);
}

/* reason_arg - a --reason, or the default one; exits on a bad one */
static const char *
reason_arg(const char *reason)
{
	const char *p;

	if (reason == NULL)
		return "locked by an administrator (sluicectl)";
	if (reason[0] == '\0' || strlen(reason) > REASON_MAX)
		bad("%s", "--reason: 1 to 200 bytes");
	for (p = reason; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			bad("%s", "--reason: no control characters");
	return reason;
}

/* dur_arg - --for in ms (0: not given), within lock_lifetime (ws, as
 * text); exits on a bad one */
static uint64_t
dur_arg(const struct config *cfg, const char *dur, const char *ws)
{
	uint64_t dur_ms = 0;

	if (dur == NULL)
		return 0;
	if (config_parse_duration(dur, &dur_ms) == -1 || dur_ms < 1000)
		bad("--for \"%s\": expected a duration of at least 1s "
		    "(90s, 15m, 2h, 1d)", esc(dur));
	if (dur_ms > cfg->lock_lifetime_ms) {
		fprintf(stderr, "sluicectl: --for %s is longer than "
		    "lock_lifetime %s: a lock cannot outlive its "
		    "counter; raise lock_lifetime in %s\n", dur, ws,
		    cfg->path);
		exit(CTL_USAGE);
	}
	return dur_ms;
}

/* lock_record - who and why in P{H}:lockinfo (until ends, in ms), the
 * lock in P:locked (until: its end in unix s), the event */
static void
lock_record(struct ctl *x, const char *h, const char *login,
    const char *reason, uint64_t now, const char *until, uint64_t ends)
{
	char ikey[CTL_KEY_MAX], zkey[CTL_KEY_MAX], who[256], at[24], ts[32];

	sender_printable(login, who, sizeof(who), 0);
	snprintf(at, sizeof(at), "%llu", (unsigned long long)(now / 1000));
	ctl_key(x, ikey, h, CONTRACT_LOCKINFO);
	ctl_global(x, zkey, CONTRACT_LOCKED);
	freeReplyObject(ctl_cmd(x, "DEL", "DEL", ikey, NULL));
	freeReplyObject(ctl_cmd(x, "HSET", "HSET", ikey, CONTRACT_LI_LOGIN,
	    who, CONTRACT_LI_ORIGIN, sender_origin_name(x->origin),
	    CONTRACT_LI_REASON, reason, CONTRACT_LI_BY, "sluicectl",
	    CONTRACT_LI_AT, at, CONTRACT_LI_UNTIL, until, NULL));
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)ends);
	freeReplyObject(ctl_cmd(x, "PEXPIREAT", "PEXPIREAT", ikey, ts, NULL));
	freeReplyObject(ctl_cmd(x, "ZADD", "ZADD", zkey, until, h, NULL));
	publish(x, CONTRACT_EV_LOCK, h);
}

/* cmd_lock - lock a login on every relay, record why, tell the daemons */
static int
cmd_lock(struct ctl *x, const char *login, const char *dur,
    const char *reason)
{
	const struct config *cfg = x->cfg;
	uint32_t lifetime = cfg->lock_lifetime_ms / 1000;
	char h[SENDER_KEY_LEN + 1], key[CTL_KEY_MAX], until[24], ts[32];
	char ws[32];
	uint64_t dur_ms, now, ends, w;

	reason = reason_arg(reason);
	fmt_window(lifetime, ws, sizeof(ws));
	dur_ms = dur_arg(cfg, dur, ws);
	sender_origin_key(x->origin, login, h);
	ctl_counter_key(x, key, h, CONTRACT_LOCK, lifetime,
	    CONTRACT_LOCK_BUCKETS);
	w = window_width(lifetime, CONTRACT_LOCK_BUCKETS);
	if (x->sock)
		ends = sock_lock(x, h, login, dur_ms, reason);
	else if (dur != NULL)
		ends = lock_for(x, key, lifetime, dur_ms);
	else
		ends = lock_full(x, h, key, lifetime);
	now = ctl_now_ms(x);
	snprintf(until, sizeof(until), "%llu", (unsigned long long)
	    ((ends + 999) / 1000));
	if (!x->sock)	/* the daemon keeps who and why itself */
		lock_record(x, h, login, reason, now, until, ends);
	fmt_time((ends + 999) / 1000, ts, sizeof(ts));
	if (x->json) {
		printf("{\"login\":");
		json_str(stdout, login);
		printf(",\"origin\":\"%s\",\"key\":\"%s\",\"locked\":true,"
		    "\"until\":%s,\"lock_lifetime\":%u,\"precision_s\":%llu,"
		    "\"reason\":", sender_origin_name(x->origin), h, until,
		    lifetime, (unsigned long long)(w + 999) / 1000);
		json_str(stdout, reason);
		printf("}\n");
	} else {
		printf("locked ");
		text_login(stdout, login, 0);
		if (x->origin != SENDER_SASL)
			printf(" (origin %s)", sender_origin_name(x->origin));
		printf(" on every relay until %s (%s", ts, dur ? "--for " :
		    "lock_lifetime ");
		printf("%s; a lock ends up to %llu s after it is due)\n",
		    dur ? dur : ws, (unsigned long long)(w + 999) / 1000);
	}
	return CTL_OK;
}

/* del_page - DEL one page of keys, except those `keep` names; counts */
struct del_acc {
	const char	*const *keep;	/* first key fields kept, NULL-ended */
	uint64_t	 now;
	size_t		 deleted;
	uint64_t	 live_locks;	/* events in the lock keys deleted */
};

/* del_page - delete one SCAN page of a sender's keys */
static void
del_page(struct ctl *x, const redisReply *keys, void *arg)
{
	struct del_acc *a = arg;
	struct contract_counter k;
	const char *key, *name;
	redisReply *r;
	size_t i, j, plen = strlen(x->prefix);

	for (i = 0; i < keys->elements; i++) {
		key = keys->element[i]->str;
		/* P{H}:name...: the name follows "}:" */
		if ((name = strstr(key + plen, "}:")) == NULL)
			continue;
		name += 2;
		for (j = 0; a->keep != NULL && a->keep[j] != NULL; j++)
			if (strncmp(name, a->keep[j], strlen(a->keep[j])) ==
			    0 && (name[strlen(a->keep[j])] == ':' ||
			    name[strlen(a->keep[j])] == '\0'))
				break;
		if (a->keep != NULL && a->keep[j] != NULL)
			continue;
		if (ctl_counter_parse(x, key, &k) == 0 &&
		    strcmp(k.name, CONTRACT_LOCK) == 0) {
			r = ctl_cmd(x, "HGETALL", "HGETALL", key, NULL);
			a->live_locks += ctl_live_sum(r, k.window, k.buckets,
			    a->now, NULL);
			freeReplyObject(r);
		}
		r = ctl_cmd(x, "DEL", "DEL", key, NULL);
		if (r->type == REDIS_REPLY_INTEGER)
			a->deleted += (size_t)r->integer;
		freeReplyObject(r);
	}
}

/* cmd_unlock - lift a lock: the lock counter, the refusals, the records */
static int
cmd_unlock(struct ctl *x, const char *login)
{
	char h[SENDER_KEY_LEN + 1], pattern[CTL_KEY_MAX], key[CTL_KEY_MAX];
	struct del_acc a;

	sender_origin_key(x->origin, login, h);
	memset(&a, 0, sizeof(a));
	if (x->sock) {
		a.live_locks = sock_count(x, "unlock", h, "was");
		goto done;
	}
	a.now = ctl_now_ms(x);
	ctl_key(x, pattern, h, CONTRACT_LOCK ":*");
	ctl_scan(x, pattern, del_page, &a);
	/* else the next refusal would lock again at once */
	ctl_key(x, pattern, h, CONTRACT_REFUSED ":*");
	ctl_scan(x, pattern, del_page, &a);
	ctl_key(x, key, h, CONTRACT_LOCKINFO);
	freeReplyObject(ctl_cmd(x, "DEL", "DEL", key, NULL));
	ctl_global(x, key, CONTRACT_LOCKED);
	freeReplyObject(ctl_cmd(x, "ZREM", "ZREM", key, h, NULL));
	publish(x, CONTRACT_EV_UNLOCK, h);
done:
	if (x->json) {
		printf("{\"login\":");
		json_str(stdout, login);
		printf(",\"origin\":\"%s\",\"key\":\"%s\",\"was_locked\":%s}\n",
		    sender_origin_name(x->origin), h, a.live_locks > 0 ?
		    "true" : "false");
	} else {
		text_login(stdout, login, 0);
		if (x->origin != SENDER_SASL)
			printf(" (origin %s)", sender_origin_name(x->origin));
		printf(a.live_locks > 0 ? ": unlocked on every relay\n" :
		    ": was not locked\n");
	}
	return a.live_locks > 0 ? CTL_OK : CTL_NOTFOUND;
}

/* cmd_reset - forget a login's counters; a lock stays (see unlock) */
static int
cmd_reset(struct ctl *x, const char *login)
{
	static const char *const keep[] = { CONTRACT_LOCK, CONTRACT_LOCKINFO,
	    CONTRACT_WHO, NULL };
	char h[SENDER_KEY_LEN + 1], pattern[CTL_KEY_MAX];
	struct del_acc a;

	sender_origin_key(x->origin, login, h);
	memset(&a, 0, sizeof(a));
	a.keep = keep;
	if (x->sock)
		a.deleted = (size_t)sock_count(x, "reset", h, "deleted");
	else {
		ctl_key(x, pattern, h, "*");
		ctl_scan(x, pattern, del_page, &a);
		publish(x, CONTRACT_EV_RESET, h);
	}
	if (x->json) {
		printf("{\"login\":");
		json_str(stdout, login);
		printf(",\"origin\":\"%s\",\"key\":\"%s\","
		    "\"counters_deleted\":%zu}\n", sender_origin_name(x->origin),
		    h, a.deleted);
	} else {
		text_login(stdout, login, 0);
		if (x->origin != SENDER_SASL)
			printf(" (origin %s)", sender_origin_name(x->origin));
		printf(": %zu counter%s forgotten\n", a.deleted, a.deleted == 1 ?
		    "" : "s");
	}
	return CTL_OK;
}

/* cmd_class - set or clear a login's (or @domain's) class override */
static int
cmd_class(struct ctl *x, const char *login, const char *cls, int clear)
{
	char key[CTL_KEY_MAX], whole[SENDER_NAME_MAX + 1];
	char dom[SENDER_NAME_MAX + 1], *f, *p;
	const char *w, *d;
	redisReply *r;
	size_t i;
	int rc = CTL_OK;

	if (!clear && config_find_class(x->cfg, cls) == NULL) {
		fprintf(stderr, "sluicectl: class \"");
		text_login(stderr, cls, 0);
		fprintf(stderr, "\" is not defined in %s; its classes:",
		    x->cfg->path);
		for (i = 0; i < x->cfg->nclasses; i++)
			fprintf(stderr, " %s", x->cfg->classes[i].name);
		fprintf(stderr, "\n");
		exit(CTL_USAGE);
	}
	/* envelope senders have entries of their own ("envelope:ADDR",
	 * "envelope:@domain"); a trusted header's login shares the SASL
	 * login's class */
	if (sender_class_names(x->origin, login, whole, dom, &w, &d) == -1)
		bad("%s", "LOGIN too long for its origin tag");
	if ((f = strdup(w)) == NULL)
		ctl_die(x, "class", "out of memory");
	for (p = f; *p != '\0'; p++)	/* as the daemon folds: ASCII only */
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	ctl_global(x, key, CONTRACT_CLASSES);
	if (x->sock) {		/* the daemon keeps them, and saves them */
		if (sock_class(x, f, clear ? "" : cls) == 0 && clear)
			rc = CTL_NOTFOUND;
		goto done;
	}
	if (clear) {
		r = ctl_cmd(x, "HDEL", "HDEL", key, f, NULL);
		if (r->type != REDIS_REPLY_INTEGER || r->integer == 0)
			rc = CTL_NOTFOUND;
	} else
		r = ctl_cmd(x, "HSET", "HSET", key, f, cls, NULL);
	freeReplyObject(r);
	if (rc == CTL_OK)
		publish(x, CONTRACT_EV_CLASS, NULL);
done:
	if (x->json) {
		printf("{\"login\":");
		json_str(stdout, f);
		printf(",\"class\":");
		json_str(stdout, clear ? NULL : cls);
		printf(",\"changed\":%s}\n", rc == CTL_OK ? "true" : "false");
	} else {
		text_login(stdout, f, 0);
		if (clear)
			printf(rc == CTL_OK ? ": class override cleared\n" :
			    ": had no class override\n");
		else
			printf(": class %s on every relay\n", cls);
	}
	free(f);
	return rc;
}

/* cmd_find - a command by name, with the options and arguments it takes */
static const struct command {
	const char	*name;
	int		 minpos, maxpos;
	unsigned	 opts;
} commands[] = {
	{ "status", 0, 0, 0 },
	{ "top", 0, 0, O_WINDOW | O_N | O_DOMAINS },
	{ "show", 1, 1, O_ORIGIN },
	{ "lock", 1, 1, O_FOR | O_REASON | O_ORIGIN },
	{ "unlock", 1, 1, O_ORIGIN },
	{ "reset", 1, 1, O_ORIGIN },
	{ "class", 1, 2, O_CLEAR | O_ORIGIN },
};

int
main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct config *cfg;
	struct args a;
	struct ctl x;
	char err[CONFIG_ERR_MAX];
	uint64_t wms = 0;
	unsigned long n = 10;
	uint32_t window = 0;
	enum sender_origin origin = SENDER_SASL;
	char full[SENDER_LOGIN_MAX + 1];
	size_t i, j;
	char *end;
	int rc, domains;

	parse_args(argc, argv, &a);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(a.cmd, commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL)
		bad("unknown command \"%s\"", esc(a.cmd));
	if (a.npos < cmd->minpos || a.npos > cmd->maxpos)
		bad("wrong number of arguments for %s", cmd->name);
	if (a.seen & ~cmd->opts)
		bad("an option given does not apply to %s", cmd->name);
	if (strcmp(cmd->name, "class") == 0 &&
	    (a.npos == 2) == ((a.seen & O_CLEAR) != 0))
		bad("%s", "class takes LOGIN CLASS, or LOGIN --clear");
	if (a.npos > 0)
		login_arg(a.pos[0]);
	if (a.origin != NULL && sender_origin_parse(a.origin, &origin) == -1)
		bad("--origin \"%s\": expected sasl, header or envelope",
		    esc(a.origin));
	if (a.n != NULL) {
		n = strtoul(a.n, &end, 10);
		if (a.n[0] < '0' || a.n[0] > '9' || *end != '\0' || n == 0 ||
		    n > TOP_MAX)
			bad("-n \"%s\": expected 1 to 100000", esc(a.n));
	}
	if (a.window != NULL && (config_parse_duration(a.window, &wms) == -1 ||
	    wms < 1000 || wms % 1000 != 0 || wms / 1000 > UINT32_MAX))
		bad("--window \"%s\": expected whole seconds (90s, 15m, 1h)",
		    esc(a.window));

	if ((cfg = config_load(a.config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sluicectl: %s\n", err);
		return CTL_CONFIG;
	}
	/* the top window: asked for, else the shortest messages (or
	 * domain_messages) window */
	window = (uint32_t)(wms / 1000);
	domains = (a.seen & O_DOMAINS) != 0;
	for (i = 0; wms == 0 && i < cfg->nclasses; i++) {
		const struct config_class *c = &cfg->classes[i];
		const struct config_limit *l = domains ? c->domain_messages :
		    c->messages;

		for (j = 0; j < (domains ? c->ndomain_messages :
		    c->nmessages); j++)
			if (window == 0 || l[j].window < window)
				window = l[j].window;
	}
	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.json = a.json;
	x.origin = origin;
	if (a.npos > 0 && origin != SENDER_ENVELOPE)
		a.pos[0] = login_full(cfg, a.pos[0], full, sizeof(full));
	if (cfg->store == CONFIG_STORE_REDIS)
		ctl_connect(&x);
	else
		ctl_sock_open(&x);
	if (strcmp(cmd->name, "status") == 0)
		rc = cmd_status(&x);
	else if (strcmp(cmd->name, "top") == 0) {
		if (window == 0) {
			fprintf(stderr, "sluicectl: no class has a %s limit: "
			    "give --window\n", domains ? "domain_messages" :
			    "messages");
			rc = CTL_USAGE;
		} else
			rc = cmd_top(&x, window, n, domains);
	} else if (strcmp(cmd->name, "show") == 0)
		rc = cmd_show(&x, a.pos[0]);
	else if (strcmp(cmd->name, "lock") == 0)
		rc = cmd_lock(&x, a.pos[0], a.dur, a.reason);
	else if (strcmp(cmd->name, "unlock") == 0)
		rc = cmd_unlock(&x, a.pos[0]);
	else if (strcmp(cmd->name, "reset") == 0)
		rc = cmd_reset(&x, a.pos[0]);
	else
		rc = cmd_class(&x, a.pos[0], a.pos[1], (a.seen & O_CLEAR) != 0);
	ctl_close(&x);
	config_free(cfg);
	return rc;
}
