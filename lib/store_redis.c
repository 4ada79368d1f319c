/*
 * store_redis.c - counters in a Redis shared by every relay.
 *
 * One request is one EVALSHA of contrib/redis/charge.lua, compiled in as
 * charge_lua[] by cmake/embed.cmake: the script reads Redis's clock,
 * checks every limit of the sender and charges them all or none,
 * atomically, with window.h's arithmetic. The script is sent once per
 * store (SCRIPT LOAD, whose reply is its SHA1); on NOSCRIPT (a restarted,
 * flushed or failed-over Redis) it is loaded again and the call repeated
 * once. No read is ever followed by a write from here.
 *
 * Keys, all of one sender under one hash tag (one Cluster slot):
 *   <prefix>{<sender>}:<name>:<window>:<buckets>  hash: bucket -> events
 *   <prefix>{<sender>}:txn:<hex of the txn id>    "1", for replays
 *   <prefix>{<subject>}:<name>:<window>:set        distinct: sorted set,
 *                                                  member -> ms
 *   <prefix>{<sender>}:<name>:<window>:sims        near: string, the last
 *                                                  STORE_NEAR_KEEP bodies
 *                                                  (simhash, ms), 16 bytes
 *                                                  each
 * <sender> is sender_key()'s hex and is checked to be [0-9a-f]{1,64};
 * names are checked to be [a-z0-9_]+; the txn id is hex-encoded: nothing
 * a user typed reaches a key as is. The bucket count is part of the key
 * because an index means nothing without its width (the memory store
 * also keeps one series per name, window and bucket count).
 *
 * A Redis Cluster is store_redis_cluster.c, one of these stores per node.
 *
 * Connections: a mutex-protected pool of idle hiredis contexts; a thread
 * takes one, uses it without the lock, and gives it back; at most
 * pool_max exist at once (threads beyond wait in line, first come first
 * served, while the line moves: see rs_conn_get). A context that saw any
 * I/O or protocol error (refused, timed out, EOF, garbled) is freed,
 * never reused: after a timeout its reply may still arrive and would
 * answer the wrong request. An error reply from Redis leaves the connection usable.
 * Connecting is lazy, so a Redis that is down at start-up is the guard's
 * business (store_guard.c), not a start-up failure. An idle pooled
 * connection that Redis closed meanwhile (restart, idle timeout) is
 * replaced by a fresh one and the command sent once more; a timeout is
 * retried only as below, so no call waits more than two command
 * timeouts after connecting (plus, with Sentinel, asking the
 * sentinels; plus its time in line for a connection). hiredis writes with write(2): the process must ignore
 * SIGPIPE (libmilter's smfi_main does).
 *
 * Failures around a call (redis_charge): a call that failed on the
 * connection (refused, timed out, lost) or got READONLY (it reached a
 * demoted primary) is tried once more, on a fresh connection, when that
 * cannot count a message twice: the command never ran (no connection,
 * READONLY), or it is a check (writes nothing), or a commit with a txn
 * (the script's SET NX of the txn key makes a replay charge nothing).
 * A plain commit whose reply was lost is not retried: it may have run.
 * The txn key lives STORE_TXN_MS (it only has to outlive a retry, by the
 * milter or the MTA), not the longest window.
 *
 * Sentinel (opts sentinels + sentinel_master): the primary's address is
 * asked of the sentinels (sentinel.c) on the first connection, and
 * every new connection is confirmed with ROLE (must say master). The
 * sentinels are asked again after a failed call (at most once per
 * call), and by one call every RS_ASK_MS even when all goes well: a
 * forced failover leaves the old primary writable until the sentinels
 * demote it, ~10 s later, and what is written there meanwhile is lost.
 * Never more than once per RS_ASK_MS for the whole store (a dead set
 * of sentinels must not be asked for every message); when it moved, the
 * idle connections to the old one are closed, those in use are closed
 * when given back (a generation number), the opts' notify callback is
 * told, and the call is retried per the rules above. NOSCRIPT on the
 * new primary reloads the script, as on a restarted Redis.
 *
 * WAIT (opts wait_replicas N > 0): a commit (STORE_COMMIT, the end of
 * a message) is sent with WAIT N <3/4 of the command timeout> pipelined
 * behind it on the same connection: one round trip. When fewer than N
 * replicas acknowledged it, the call fails (final, not retried) and the
 * guard's fallback answers: the charge may still be on the primary (a
 * failover may drop it), but the message is not admitted on it. Checks
 * write nothing and are sent without WAIT.
 *
 * Redis Cluster (opts.cluster): a routing layer at the end of this file
 * sends each call to the node serving its hash tag (lib/cluster.c).
 *
 * Thread-safe. The store owns its contexts and its copies of the options;
 * callers own their requests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "redis_conn.h"
#include "sentinel.h"
#include "store.h"
#include "store_redis_int.h"

/* the script, from the generated charge_lua.c */
extern const char charge_lua[];
extern const size_t charge_lua_len;


/* rs_fail - fill err with "redis host:port: what[: detail]"; returns -1 */
int
rs_fail(const struct redis_store *rs, char *err, size_t errlen, const char *what,
    const char *detail)
{
	snprintf(err, errlen, "%s: %s%s%s", rs->where, what, detail ? ": " : "",
	    detail ? detail : "");
	return -1;
}

/*
 * conn_cmd_wait - one command and WAIT nrep, pipelined (one round trip):
 * the command's reply, and in *acked the replicas WAIT counted (-1:
 * WAIT answered an error, in err). As conn_cmd otherwise; a WAIT reply
 * lost after the command's is a failed link (the command ran).
 */
static redisReply *
conn_cmd_wait(struct redis_store *rs, struct rs_conn *cn, const char *what,
    int argc, const char **argv, const size_t *argvlen, unsigned nrep,
    long long *acked, char *err, size_t errlen)
{
	char n[RS_NUM_MAX], t[RS_NUM_MAX];
	const char *wv[3] = { "WAIT", n, t };
	size_t wl[3];
	redisReply *r, *w;
	void *p;
	int e;

	/* WAIT gives up before the socket's read timeout does */
	snprintf(n, sizeof(n), "%u", nrep);
	snprintf(t, sizeof(t), "%u", rs->command_ms - rs->command_ms / 4);
	wl[0] = 4, wl[1] = strlen(n), wl[2] = strlen(t);
	for (;;) {
		r = NULL;
		errno = 0;
		if (redisAppendCommandArgv(cn->c, argc, argv, argvlen) !=
		    REDIS_OK || redisAppendCommandArgv(cn->c, 3, wv, wl) !=
		    REDIS_OK) {
			rs_fail(rs, err, errlen, what, strerror(ENOMEM));
			rs_conn_put(rs, cn, 1);
			return NULL;
		}
		if (redisGetReply(cn->c, &p) == REDIS_OK) {
			r = p;
			if (redisGetReply(cn->c, &p) == REDIS_OK) {
				w = p;
				*acked = w->type == REDIS_REPLY_INTEGER ?
				    w->integer : -1;
				if (*acked < 0)	/* e.g. NOPERM: say so */
					rs_fail(rs, err, errlen, "WAIT",
					    w->type == REDIS_REPLY_ERROR ?
					    w->str : "unexpected reply");
				freeReplyObject(w);
				return r;
			}
		}
		e = errno;
		if (r != NULL || !cn->pooled || !rs_conn_stale(cn->c, e)) {
			if (r != NULL)
				freeReplyObject(r);
			rs_fail_ctx(rs, cn->c, e, r != NULL ? "WAIT" : what, err,
			    errlen);
			rs_conn_put(rs, cn, 1);
			return NULL;
		}
		rs_conn_put(rs, cn, 1);
		if (rs_conn_get(rs, cn, err, errlen) == -1)
			return NULL;
	}
}

/* script_load - SCRIPT LOAD the charge script, keep its sha; 0 or -1 */
static int
script_load(struct redis_store *rs, struct rs_conn *cn, char *sha,
    char *err, size_t errlen)
{
	const char *argv[3] = { "SCRIPT", "LOAD", charge_lua };
	size_t argvlen[3] = { 6, 4, charge_lua_len };
	redisReply *r;

	if ((r = rs_conn_cmd(rs, cn, "SCRIPT LOAD", 3, argv, argvlen, err,
	    errlen)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_STRING || r->len != 40 ||
	    strspn(r->str, "0123456789abcdef") != 40) {
		rs_fail(rs, err, errlen, "SCRIPT LOAD", r->type ==
		    REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return -1;
	}
	memcpy(sha, r->str, 40);
	sha[40] = '\0';
	freeReplyObject(r);
	pthread_mutex_lock(&rs->lock);
	memcpy(rs->sha, sha, 41);
	pthread_mutex_unlock(&rs->lock);
	return 0;
}

/* rs_hex_ok - s is [0-9a-f]{1,max} */
int
rs_hex_ok(const char *s, size_t max)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n > 0 && n <= max && s[n] == '\0';
}

/* name_ok - s is [a-z0-9_]{1,STORE_NAME_MAX} */
static int
name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");

	return n > 0 && n <= STORE_NAME_MAX && s[n] == '\0';
}

/* put_str - append s; returns the end */
static char *
put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* put_u64 - append v in decimal; returns the end */
static char *
put_u64(char *p, uint64_t v)
{
	char d[RS_NUM_MAX];
	size_t n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = d[--n];
	return p;
}

/* put_be - append the low `bytes` bytes of v, most significant first */
static char *
put_be(char *p, uint64_t v, int bytes)
{
	while (bytes-- > 0)
		*p++ = (char)(v >> (8 * bytes) & 0xff);
	return p;
}

/* put_double - append v as an IEEE 754 double, big-endian (struct 'd') */
static char *
put_double(char *p, uint64_t v)
{
	double d = (double)v;
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	return put_be(p, bits, 8);
}

/* arg_end - the argument that starts at `from` ends at p; returns p */
static char *
arg_end(struct rs_call *cl, const char *from, char *p)
{
	cl->argv[cl->argc] = from;
	cl->argvlen[cl->argc++] = (size_t)(p - from);
	return p;
}

/* arg_lit - a constant argument */
static void
arg_lit(struct rs_call *cl, const char *s)
{
	cl->argv[cl->argc] = s;
	cl->argvlen[cl->argc++] = strlen(s);
}

/*
 * rs_call_build - the EVALSHA arguments of a request (sha filled later);
 * txn_scope: NULL, or a Cluster call's subject, whose slot then holds the
 * transaction key ({subject}:txn:<sender>:<hex>)
 */
int
rs_call_build(const struct redis_store *rs, const struct store_req *req,
    const char *txn_scope, struct rs_call *cl, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t maxwin = 0;
	size_t i, k, nkeys;
	char *p = cl->buf, *q;
	int txn;

	if (req->sender == NULL || !rs_hex_ok(req->sender, STORE_SENDER_MAX))
		return rs_fail(rs, err, errlen, "refused",
		    "the sender key is not 1 to 64 hex digits");
	if (req->txn != NULL && strlen(req->txn) > STORE_TXN_MAX)
		return rs_fail(rs, err, errlen, "refused",
		    "transaction id too long");
	if (req->nitems > STORE_MAX_ITEMS)
		return rs_fail(rs, err, errlen, "refused", "too many limits");
	for (i = 0; i < req->nitems; i++) {
		if (!name_ok(req->items[i].name))
			return rs_fail(rs, err, errlen, "refused",
			    "a limit name is not [a-z0-9_]+");
		if (!store_item_valid(&req->items[i]))
			return rs_fail(rs, err, errlen, "refused",
			    "a limit's scope or sub is not hexadecimal");
		if (req->items[i].window > maxwin)
			maxwin = req->items[i].window;
	}
	/* a txn only matters for a commit; with no limit it expires at once */
	txn = req->txn != NULL && req->commit == STORE_COMMIT && maxwin > 0;
	nkeys = req->nitems + (txn ? 1 : 0);
	cl->txn = txn;
	cl->wait = 0;
	cl->argc = 0;
	arg_lit(cl, "EVALSHA");
	cl->argv[cl->argc] = cl->sha;
	cl->argvlen[cl->argc++] = 40;
	p = arg_end(cl, p, put_u64(p, nkeys));
	for (i = 0; i < req->nitems; i++) {
		const struct store_item *it = &req->items[i];

		/* {subject}:name[:sub]:window:(buckets|set|sims) */
		q = p;
		p = put_str(p, rs->prefix);
		*p++ = '{';
		p = put_str(p, it->scope[0] ? it->scope : req->sender);
		*p++ = '}';
		*p++ = ':';
		p = put_str(p, it->name);
		if (it->sub[0] != '\0') {
			*p++ = ':';
			p = put_str(p, it->sub);
		}
		*p++ = ':';
		p = put_u64(p, it->window);
		*p++ = ':';
		if (it->distinct)
			p = put_str(p, "set");
		else if (it->near)
			p = put_str(p, "sims");
		else if (it->history)
			p = put_str(p, "hist");
		else
			p = put_u64(p, it->buckets);
		p = arg_end(cl, q, p);
	}
	if (txn) {
		q = p;
		p = put_str(p, rs->prefix);
		*p++ = '{';
		p = put_str(p, txn_scope != NULL ? txn_scope : req->sender);
		p = put_str(p, "}:txn:");
		if (txn_scope != NULL) {
			p = put_str(p, req->sender);
			*p++ = ':';
		}
		for (k = 0; req->txn[k] != '\0'; k++) {
			*p++ = hex[(unsigned char)req->txn[k] >> 4];
			*p++ = hex[(unsigned char)req->txn[k] & 15];
		}
		p = arg_end(cl, q, p);
	}
	arg_lit(cl, req->commit == STORE_COMMIT ? "1" :
	    req->commit == STORE_CHECK_RECORD ? "2" :
	    req->commit == STORE_REFUSED ? "3" : "0");
	arg_lit(cl, txn ? "1" : "0");
	p = arg_end(cl, p, put_u64(p, maxwin * 1000 < STORE_TXN_MS ?
	    maxwin * 1000 : STORE_TXN_MS));
	arg_lit(cl, req->sender);
	q = p;
	for (i = 0; i < req->nitems; i++) {
		const struct store_item *it = &req->items[i];

		p = put_be(p, it->window, 4);
		p = put_be(p, it->buckets, 4);
		p = put_double(p, it->limit);
		p = put_double(p, it->cost);
		p = put_be(p, (it->soft ? 1 : 0) | (it->distinct ? 2 : 0) |
		    (it->on_refuse ? 4 : 0) | (it->near ? 8 : 0) |
		    (it->history ? 16 : 0) | (it->unowned ? 32 : 0), 1);
	}
	p = arg_end(cl, q, p);
	/* one more per item: a near item's simhash and distance ("<16
	 * hex>:<bits>"), a history item's "<factor>:<learn>:<keep>", a
	 * distinct item's member ("" for the sender) */
	for (i = 0; i < req->nitems; i++) {
		const struct store_item *it = &req->items[i];

		q = p;
		if (it->near) {
			for (k = 16; k-- > 0;)
				*p++ = hex[it->simhash >> (4 * k) & 15];
			*p++ = ':';
			p = put_u64(p, it->distance);
		} else if (it->history) {
			p = put_u64(p, it->factor);
			*p++ = ':';
			p = put_u64(p, it->learn);
			*p++ = ':';
			p = put_u64(p, it->keep);
		} else
			p = put_str(p, it->member);
		p = arg_end(cl, q, p);
	}
	return 0;
}

/* rs_parse_reply - the script's answer into res and the items; 0 or -1 */
int
rs_parse_reply(const struct redis_store *rs, const redisReply *r,
    const struct store_req *req, struct store_res *res, char *err,
    size_t errlen)
{
	long long c, t;
	size_t i, nh = 0, h;

	for (i = 0; i < req->nitems; i++)
		nh += req->items[i].history;
	if (r->type == REDIS_REPLY_ERROR)
		return rs_fail(rs, err, errlen, "EVALSHA", r->str);
	/* 3 values per item, then 2 per history item (typical, learning) */
	if (r->type != REDIS_REPLY_ARRAY ||
	    r->elements != 2 + 3 * req->nitems + 2 * nh)
		return rs_fail(rs, err, errlen, "EVALSHA", "unexpected reply");
	for (i = 0; i < r->elements; i++)
		if (r->element[i] == NULL ||
		    r->element[i]->type != REDIS_REPLY_INTEGER)
			return rs_fail(rs, err, errlen, "EVALSHA",
			    "unexpected reply");
	if ((r->element[0]->integer & ~1LL) != 0 ||
	    (r->element[1]->integer & ~1LL) != 0)
		return rs_fail(rs, err, errlen, "EVALSHA", "unexpected reply");
	for (i = 0; i < req->nitems; i++)
		if (r->element[2 + 3 * i]->integer < 0 ||
		    r->element[3 + 3 * i]->integer < -1 ||
		    (r->element[4 + 3 * i]->integer & ~1LL) != 0)
			return rs_fail(rs, err, errlen, "EVALSHA",
			    "unexpected reply");
	res->allowed = (int)r->element[0]->integer;
	res->replayed = (int)r->element[1]->integer;
	res->source = STORE_SRC_PRIMARY;
	for (i = 0; i < req->nitems; i++) {
		c = r->element[2 + 3 * i]->integer;
		t = r->element[3 + 3 * i]->integer;
		req->items[i].count = (uint64_t)c;
		req->items[i].over = (uint8_t)r->element[4 + 3 * i]->integer;
		req->items[i].retry = t < 0 || t >= (long long)UINT32_MAX ?
		    UINT32_MAX : (uint32_t)t;
	}
	for (i = 0, h = 2 + 3 * req->nitems; i < req->nitems; i++)
		if (req->items[i].history) {
			if (r->element[h]->integer < 0 ||
			    (r->element[h + 1]->integer & ~1LL) != 0)
				return rs_fail(rs, err, errlen, "EVALSHA",
				    "unexpected reply");
			req->items[i].typical =
			    (uint64_t)r->element[h]->integer;
			req->items[i].learning =
			    (uint8_t)r->element[h + 1]->integer;
			h += 2;
		}
	return 0;
}

/*
 * rs_node_eval - send one EVALSHA (after ASKING when asking: a Cluster ASK
 * redirection), with WAIT pipelined after it when cl->wait, loading the
 * script once on NOSCRIPT; the reply, even an error reply, in *out. 0,
 * or -1 with err when the link failed (cl->unsent: no connection, so
 * nothing was sent) or fewer than cl->wait replicas acknowledged a
 * script that ran (cl->undurable).
 */
int
rs_node_eval(struct redis_store *rs, struct rs_call *cl, int asking,
    redisReply **out, char *err, size_t errlen)
{
	static const char *ask[1] = { "ASKING" };
	static const size_t asklen[1] = { 6 };
	struct rs_conn cn = { NULL, 0, 0 };
	redisReply *r;
	long long acked = 0;
	char d[64];
	int reloaded = 0;

	cl->unsent = cl->undurable = 0;
	if (rs_conn_get(rs, &cn, err, errlen) == -1) {
		cl->unsent = 1;
		return -1;
	}
	pthread_mutex_lock(&rs->lock);
	memcpy(cl->sha, rs->sha, sizeof(cl->sha));
	pthread_mutex_unlock(&rs->lock);
	for (;;) {
		if (cl->sha[0] == '\0' &&
		    script_load(rs, &cn, cl->sha, err, errlen) == -1)
			break;
		if (asking) {
			if ((r = rs_conn_cmd(rs, &cn, "ASKING", 1, ask, asklen,
			    err, errlen)) == NULL)
				break;
			freeReplyObject(r);
		}
		r = cl->wait == 0 ? rs_conn_cmd(rs, &cn, "EVALSHA", cl->argc,
		    cl->argv, cl->argvlen, err, errlen) : conn_cmd_wait(rs,
		    &cn, "EVALSHA", cl->argc, cl->argv, cl->argvlen, cl->wait,
		    &acked, err, errlen);
		if (r == NULL)
			break;
		if (r->type == REDIS_REPLY_ERROR && !reloaded &&
		    strncmp(r->str, "NOSCRIPT", 8) == 0) {
			/* Redis lost its scripts: load again, try once more */
			freeReplyObject(r);
			cl->sha[0] = '\0';
			reloaded = 1;
			continue;
		}
		/* a demoted primary (READONLY) is not kept */
		rs_conn_put(rs, &cn, r->type == REDIS_REPLY_ERROR &&
		    strncmp(r->str, "READONLY", 8) == 0);
		if (cl->wait > 0 && r->type != REDIS_REPLY_ERROR &&
		    acked < (long long)cl->wait) {
			/* it ran, but a failover could lose it */
			freeReplyObject(r);
			cl->undurable = 1;
			if (acked >= 0) {	/* else err says why */
				snprintf(d, sizeof(d), "%lld of %u replicas "
				    "acknowledged the commit", acked, cl->wait);
				rs_fail(rs, err, errlen, "WAIT", d);
			}
			return -1;
		}
		*out = r;
		return 0;
	}
	rs_conn_put(rs, &cn, 0);
	return -1;
}

/* charge_once - one try of a call: RS_FAIL_NONE with res, else how it
 * failed, with err */
static enum rs_fail
charge_once(struct redis_store *rs, const struct store_req *req,
    struct store_res *res, struct rs_call *cl, char *err, size_t errlen)
{
	enum rs_fail how;
	redisReply *r;

	if (rs_node_eval(rs, cl, 0, &r, err, errlen) == -1)
		return cl->undurable ? RS_FAIL_REPLY : cl->unsent ?
		    RS_FAIL_UNSENT : RS_FAIL_IO;
	if (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "READONLY", 8) == 0) {
		rs_fail(rs, err, errlen, "EVALSHA", r->str); /* it ran nothing */
		how = RS_FAIL_UNSENT;
	} else
		how = rs_parse_reply(rs, r, req, res, err, errlen) == 0 ?
		    RS_FAIL_NONE : RS_FAIL_REPLY;
	freeReplyObject(r);
	return how;
}

/*
 * redis_charge - one EVALSHA: check, and charge when asked and all fit;
 * tried twice at most, the second time only when it cannot charge twice
 * (see the top of the file)
 */
static int
redis_charge(struct store *st, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	struct redis_store *rs = (struct redis_store *)st;
	struct rs_call call, *cl = &call;
	enum rs_fail how;
	unsigned seen;
	char why[256];
	size_t n;
	int moved, rc = -1, safe;

	if (rs_call_build(rs, req, NULL, cl, err, errlen) == -1)
		return -1;
	/* only an admission (end of message) must survive a failover */
	cl->wait = req->commit == STORE_COMMIT ? rs->wait_replicas : 0;
	pthread_mutex_lock(&rs->lock);
	seen = rs->gen;
	/* a failover the connections have not noticed yet: look now and then */
	moved = rs->sentinels != NULL && rs->primary.port != 0 &&
	    !rs->asking && sentinel_due(rs_mono_ms(), rs->asked_ms, RS_ASK_MS);
	pthread_mutex_unlock(&rs->lock);
	if (moved && rs_rediscover(rs, seen, why, sizeof(why)) == 1) {
		pthread_mutex_lock(&rs->lock);
		seen = rs->gen;
		pthread_mutex_unlock(&rs->lock);
	}
	if ((how = charge_once(rs, req, res, cl, err, errlen)) ==
	    RS_FAIL_NONE) {
		rc = 0;
		goto out;
	}
	if (how == RS_FAIL_REPLY)
		goto out;
	moved = 0;
	if (rs->sentinels != NULL &&
	    (moved = rs_rediscover(rs, seen, why, sizeof(why))) == -1 &&
	    (n = strlen(err)) + 3 < errlen)
		snprintf(err + n, errlen - n, "; %s", why);
	safe = req->commit == STORE_CHECK || cl->txn;
	if (moved == 1 ? (how == RS_FAIL_UNSENT || safe) :
	    (how == RS_FAIL_IO && cl->txn))
		rc = charge_once(rs, req, res, cl, err, errlen) ==
		    RS_FAIL_NONE ? 0 : -1;
out:
	return rc;
}

/* reply_keys_ok - a SCAN reply: [cursor, [key, ...]] */
static int
reply_keys_ok(const redisReply *r)
{
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len == 0 || r->element[0]->len > 20 ||
	    r->element[1]->type != REDIS_REPLY_ARRAY)
		return 0;
	for (i = 0; i < r->element[1]->elements; i++)
		if (r->element[1]->element[i]->type != REDIS_REPLY_STRING)
			return 0;
	return 1;
}

/* reset_del - DEL the keys of one SCAN page; 0 or -1 with err */
static int
reset_del(struct redis_store *rs, struct rs_conn *cn, const redisReply *keys,
    char *err, size_t errlen)
{
	const char **argv;
	size_t *argvlen, i;
	redisReply *r;
	int rc = -1;

	if (keys->elements == 0)
		return 0;
	argv = calloc(keys->elements + 1, sizeof(*argv));
	argvlen = calloc(keys->elements + 1, sizeof(*argvlen));
	if (argv == NULL || argvlen == NULL) {
		rs_fail(rs, err, errlen, "reset", strerror(ENOMEM));
		goto out;
	}
	argv[0] = "DEL";
	argvlen[0] = 3;
	for (i = 0; i < keys->elements; i++) {
		argv[i + 1] = keys->element[i]->str;
		argvlen[i + 1] = keys->element[i]->len;
	}
	r = rs_conn_cmd(rs, cn, "DEL", (int)keys->elements + 1, argv, argvlen,
	    err, errlen);
	if (r == NULL)
		goto out;
	if (r->type == REDIS_REPLY_INTEGER)
		rc = 0;
	else
		rs_fail(rs, err, errlen, "DEL", r->type == REDIS_REPLY_ERROR ?
		    r->str : "unexpected reply");
	freeReplyObject(r);
out:
	free(argv);
	free(argvlen);
	return rc;
}

/*
 * rs_reset - delete every key of one sender: SCAN the keyspace for the
 * sender's pattern, DEL each page. O(keys in Redis): an admin command.
 */
int
rs_reset(struct store *st, const char *sender, char *err, size_t errlen)
{
	struct redis_store *rs = (struct redis_store *)st;
	char pattern[RS_KEY_MAX], cursor[24] = "0";
	const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
	    "1000" };
	size_t argvlen[6];
	struct rs_conn cn = { NULL, 0, 0 };
	redisReply *r;
	int i, rc = -1;

	if (sender == NULL || !rs_hex_ok(sender, STORE_SENDER_MAX))
		return rs_fail(rs, err, errlen, "refused",
		    "the sender key is not 1 to 64 hex digits");
	/* prefix and sender hold no glob characters (checked) */
	snprintf(pattern, sizeof(pattern), "%s{%s}:*", rs->prefix, sender);
	if (rs_conn_get(rs, &cn, err, errlen) == -1)
		return -1;
	do {
		for (i = 0; i < 6; i++)
			argvlen[i] = strlen(argv[i]);
		if ((r = rs_conn_cmd(rs, &cn, "SCAN", 6, argv, argvlen, err,
		    errlen)) == NULL)
			return -1;
		if (!reply_keys_ok(r)) {
			rs_fail(rs, err, errlen, "SCAN", r->type ==
			    REDIS_REPLY_ERROR ? r->str : "unexpected reply");
			rs_conn_put(rs, &cn, r->type != REDIS_REPLY_ERROR);
			freeReplyObject(r);
			return -1;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		rc = reset_del(rs, &cn, r->element[1], err, errlen);
		freeReplyObject(r);
		if (rc == -1) {
			rs_conn_put(rs, &cn, 0);
			return -1;
		}
	} while (strcmp(cursor, "0") != 0);
	rs_conn_put(rs, &cn, 0);
	return 0;
}

/* rs_free - close every pooled connection and free the store */
void
rs_free(struct store *st)
{
	struct redis_store *rs = (struct redis_store *)st;
	size_t i;

	for (i = 0; i < rs->nidle; i++)
		redisFree(rs->idle[i]);
	free(rs->idle);
	free(rs->host);
	free(rs->unix_path);
	if (rs->password != NULL) {
		explicit_bzero(rs->password, strlen(rs->password));
		free(rs->password);
	}
	free(rs->username);
	free(rs->prefix);
	free(rs->sentinels);
	free(rs->master);
	if (rs->sentinel_password != NULL) {
		explicit_bzero(rs->sentinel_password,
		    strlen(rs->sentinel_password));
		free(rs->sentinel_password);
	}
	pthread_mutex_destroy(&rs->lock);
	pthread_cond_destroy(&rs->answered);
	free(rs);
}

static const struct store_ops redis_ops = { redis_charge, rs_reset,
    rs_free };


/* dup_opt - strdup that keeps NULL; sets *bad when out of memory */
static char *
dup_opt(const char *s, int *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = 1;
	return d;
}

/* opts_check - why these options cannot work, or NULL */
static const char *
opts_check(const struct store_redis_opts *o)
{
	const char *p = o->prefix ? o->prefix : "sluice:";

	if (o->sentinels != NULL) {
		if (o->sentinel_master == NULL || o->sentinel_master[0] ==
		    '\0' || strlen(o->sentinel_master) > SENTINEL_NAME_MAX)
			return "sentinels need a master name (1 to 64 bytes)";
	} else if (o->unix_path != NULL && o->host != NULL)
		return "give a host or a unix socket, not both";
	else if (o->unix_path == NULL && (o->host == NULL ||
	    o->host[0] == '\0'))
		return "no host and no unix socket";
	else if (o->unix_path != NULL && o->unix_path[0] == '\0')
		return "empty unix socket path";
	else if (o->unix_path == NULL && (o->port < 1 || o->port > 65535))
		return "port out of range (1-65535)";
	if (strlen(p) > RS_PREFIX_MAX || strspn(p, RS_PREFIX_CHARS) !=
	    strlen(p))
		return "key prefix: at most 64 letters, digits or : _ . -";
	if (o->connect_timeout_ms == 0 || o->command_timeout_ms == 0)
		return "timeouts must be at least 1 ms";
	if (o->pool_max == 0)
		return "pool size must be at least 1";
	if (o->username != NULL && o->password == NULL)
		return "a username needs a password";
	return NULL;
}

/* sentinels_set - parse and keep the Sentinel options; 0 or -1 with err */
static int
sentinels_set(struct redis_store *rs, const struct store_redis_opts *o,
    char *err, size_t errlen)
{
	struct sentinel_addr *l;
	char why[200];
	int n, bad = 0;

	if ((l = calloc(SENTINEL_MAX, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "redis: %s", strerror(ENOMEM));
		return -1;
	}
	rs->sentinels = l;
	if ((n = sentinel_parse_list(o->sentinels, l, SENTINEL_MAX, why,
	    sizeof(why))) == -1) {
		snprintf(err, errlen, "redis: sentinels: %s", why);
		return -1;
	}
	rs->nsentinels = (size_t)n;
	rs->master = dup_opt(o->sentinel_master, &bad);
	rs->sentinel_password = dup_opt(o->sentinel_password, &bad);
	rs->notify = o->notify;
	rs->notify_ctx = o->notify_ctx;
	if (bad) {
		snprintf(err, errlen, "redis: %s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

/* store_redis_new - redis store; connects lazily; NULL with err */
struct store *
store_redis_new(const struct store_redis_opts *o, char *err, size_t errlen)
{
	struct redis_store *rs;
	const char *why;
	int bad = 0;

	if (o->cluster && o->sentinels != NULL) {
		snprintf(err, errlen, "redis: a cluster or sentinels, not both");
		return NULL;
	}
	if (o->cluster)
		return rs_cluster_new(o, err, errlen);
	if ((why = opts_check(o)) != NULL) {
		snprintf(err, errlen, "redis: %s", why);
		return NULL;
	}
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		snprintf(err, errlen, "redis: %s", strerror(ENOMEM));
		return NULL;
	}
	rs->base.ops = &redis_ops;
	rs->base.kind = "redis";
	rs->host = dup_opt(o->host, &bad);
	rs->port = o->port;
	rs->unix_path = dup_opt(o->unix_path, &bad);
	rs->password = dup_opt(o->password, &bad);
	rs->username = dup_opt(o->username, &bad);
	rs->prefix = dup_opt(o->prefix ? o->prefix : "sluice:", &bad);
	if (o->sentinels != NULL)
		snprintf(rs->where, sizeof(rs->where), "redis master %s",
		    o->sentinel_master);
	else if (o->unix_path != NULL)
		snprintf(rs->where, sizeof(rs->where), "redis unix:%.200s",
		    o->unix_path);
	else if (strchr(o->host, ':') != NULL)
		snprintf(rs->where, sizeof(rs->where), "redis [%.200s]:%d",
		    o->host, o->port);
	else
		snprintf(rs->where, sizeof(rs->where), "redis %.200s:%d",
		    o->host, o->port);
	rs->command_ms = o->command_timeout_ms;
	rs->connect_ms = o->connect_timeout_ms;
	rs->command_tv = redis_conn_tv(o->command_timeout_ms);
	rs->pool_max = o->pool_max;
	rs->wait_replicas = o->wait_replicas;
	rs->idle = calloc(rs->pool_max, sizeof(*rs->idle));
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->answered, NULL);
	if (o->sentinels != NULL && sentinels_set(rs, o, err, errlen) == -1) {
		rs_free(&rs->base);
		return NULL;
	}
	if (bad || rs->idle == NULL) {
		rs_free(&rs->base);
		snprintf(err, errlen, "redis: %s", strerror(ENOMEM));
		return NULL;
	}
	return &rs->base;
}

/*
 * Redis Cluster (store_redis_opts.cluster): a routing layer around the
 * calls above; cluster.c decides, this part sends. Each node of the
 * cluster is a store of its own (its own bounded pool, its own script
 * SHA: NOSCRIPT is handled per node), made on first use; which node a
 * call goes to is the slot map's answer for the call's hash tag. The map
 * comes from CLUSTER SLOTS (the seed node first, then any node known) at
 * first use, and again after a MOVED or a failed link; a MOVED re-points
 * its slot at once. ASK is followed with ASKING on the same connection,
 * for that one call; TRYAGAIN (a slot half migrated: Redis refuses a
 * multi-key call until every key is on one side) is sent again every
 * RC_WAIT_MS for up to one command timeout. At most RC_MAX_HOPS MOVED or
 * ASK per call.
 *
 * Every key of one sender shares the tag {sender}: a request whose items
 * are all the sender's own is one EVALSHA, as on a single node. Items
 * scoped to another subject (a body hash, a message copy) live under that
 * subject's tag, in another slot: such a request is split into one call
 * per subject, each atomic on its own, the scoped ones first and the
 * sender's last (its transaction key stays under the sender's tag; each
 * scoped call has its own, {subject}:txn:<sender>:<hex>, so a retried
 * message is not charged twice there either). When a scoped call refuses,
 * the sender's call only records the refusal (script mode "3"): the
 * sender is never charged for a refused message, and its limits are
 * checked and charged in one atomic step as on a single node. When only
 * unowned items refused there (a domain's total, a copy: not the login's
 * doing), the sender's call is a recording check (mode "2"): the refusal
 * counts toward lock_after only if the sender's own limits refuse too. What is
 * weaker than one call: a scoped subject may be charged for a message
 * that the sender's call then refuses (the body counted as sent by this
 * sender, a copy counted), so the cross-account detectors count a
 * refused attempt; never the other way round.
 */
