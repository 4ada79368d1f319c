/* test_cluster.c - key slots, CLUSTER SLOTS, MOVED/ASK, routing decisions */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "store.h"

/* slot_of - cluster_keyslot of a C string */
static unsigned
slot_of(const char *k)
{
	return cluster_keyslot(k, strlen(k));
}

/* test_crc16 - the XMODEM check value */
static void
test_crc16(void **state)
{
	(void)state;
	assert_int_equal(cluster_crc16("123456789", 9), 0x31c3);
	assert_int_equal(cluster_crc16("", 0), 0);
}

/*
 * test_keyslot - values recorded from redis-server 7.0.15 with
 * `redis-cli CLUSTER KEYSLOT <key>` on a cluster-enabled node
 */
static void
test_keyslot(void **state)
{
	static const struct { const char *key; unsigned slot; } t[] = {
		{ "foo", 12182 }, { "bar", 5061 }, { "123456789", 12739 },
		{ "{user1000}.following", 3443 },
		{ "{user1000}.followers", 3443 },
		{ "foo{}{bar}", 8363 },		/* empty tag: whole key */
		{ "foo{{bar}}zap", 4015 },	/* tag is "{bar" */
		{ "foo{bar}{zap}", 5061 },	/* first tag only: "bar" */
		{ "{}", 15257 }, { "a{", 14311 }, { "", 0 },
		{ "sluice:{0123abcdef}:msg:3600:60", 50 },
		{ "sluice:{0123abcdef}:txn:6162", 50 },
		{ "{0123abcdef}", 50 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(slot_of(t[i].key), t[i].slot);
}

/* resp - a reply parsed from raw RESP bytes, as a server would send it */
static redisReply *
resp(const char *bytes)
{
	redisReader *rd = redisReaderCreate();
	void *r = NULL;

	assert_non_null(rd);
	assert_int_equal(redisReaderFeed(rd, bytes, strlen(bytes)), REDIS_OK);
	assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
	assert_non_null(r);
	redisReaderFree(rd);
	return r;
}

/* a 3-primary CLUSTER SLOTS reply, the third node with an empty host */
#define SLOTS3 \
	"*3\r\n" \
	"*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$3\r\nid1\r\n" \
	"*4\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n" \
	    "$3\r\nid2\r\n*0\r\n*3\r\n$9\r\n127.0.0.1\r\n:7101\r\n$2\r\nr2\r\n" \
	"*3\r\n:10923\r\n:16383\r\n*3\r\n$0\r\n\r\n:7002\r\n$3\r\nid3\r\n"

/* test_slots_parse - ranges to nodes; replicas ignored; empty host */
static void
test_slots_parse(void **state)
{
	struct cluster_map m;
	redisReply *r = resp(SLOTS3);
	char err[128];

	(void)state;
	cluster_map_init(&m);
	assert_int_equal(cluster_map_route(&m, 0), -1);
	assert_int_equal(cluster_map_parse(&m, r, "10.0.0.9", err,
	    sizeof(err)), 0);
	assert_int_equal(m.nnodes, 3);
	assert_string_equal(m.node[cluster_map_route(&m, 0)].host,
	    "127.0.0.1");
	assert_int_equal(m.node[cluster_map_route(&m, 5460)].port, 7000);
	assert_int_equal(m.node[cluster_map_route(&m, 5461)].port, 7001);
	assert_int_equal(m.node[cluster_map_route(&m, 10922)].port, 7001);
	assert_int_equal(m.node[cluster_map_route(&m, 16383)].port, 7002);
	assert_string_equal(m.node[cluster_map_route(&m, 16383)].host,
	    "10.0.0.9");
	assert_int_equal(cluster_map_route(&m, 16384), -1);
	/* a second parse keeps node indexes */
	assert_int_equal(cluster_map_parse(&m, r, "10.0.0.9", err,
	    sizeof(err)), 0);
	assert_int_equal(m.nnodes, 3);
	assert_int_equal(cluster_map_route(&m, 0), 0);
	freeReplyObject(r);
}

/* test_slots_bad - malformed replies leave the map as it was */
static void
test_slots_bad(void **state)
{
	static const char *const bad[] = {
		"-ERR This instance has cluster support disabled\r\n",
		"*1\r\n*3\r\n:5\r\n:4\r\n*2\r\n$1\r\na\r\n:1\r\n",   /* end < start */
		"*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\na\r\n:1\r\n", /* slot */
		"*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\na\r\n:0\r\n",    /* port */
		"*1\r\n*2\r\n:0\r\n:1\r\n",			/* no node */
		"*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\na\r\n",	/* no port */
		"*1\r\n*3\r\n$1\r\n0\r\n:1\r\n*2\r\n$1\r\na\r\n:1\r\n",
		":3\r\n",
	};
	struct cluster_map m;
	redisReply *r;
	char err[128];
	size_t i;

	(void)state;
	cluster_map_init(&m);
	r = resp(SLOTS3);
	assert_int_equal(cluster_map_parse(&m, r, "h", err, sizeof(err)), 0);
	freeReplyObject(r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = resp(bad[i]);
		assert_int_equal(cluster_map_parse(&m, r, "h", err,
		    sizeof(err)), -1);
		assert_true(strncmp(err, "CLUSTER SLOTS: ", 15) == 0);
		freeReplyObject(r);
		assert_int_equal(m.node[cluster_map_route(&m, 16383)].port,
		    7002);
	}
}

/* test_map_full - CLUSTER_NODES_MAX addresses, then -1 */
static void
test_map_full(void **state)
{
	struct cluster_map m;
	int i;

	(void)state;
	cluster_map_init(&m);
	for (i = 0; i < CLUSTER_NODES_MAX; i++)
		assert_int_equal(cluster_map_node(&m, "h", 1000 + i), i);
	assert_int_equal(cluster_map_node(&m, "h", 1000), 0);
	assert_int_equal(cluster_map_node(&m, "h", 9999), -1);
	assert_int_equal(cluster_map_node(&m, "", 1), -1);
	assert_int_equal(cluster_map_node(&m, "h", 0), -1);
	assert_int_equal(cluster_map_node(&m, "h", 65536), -1);
}

/* redir - cluster_redirect_parse of a C string, from host "src" */
static enum cluster_redir
redir(const char *e, unsigned *slot, struct cluster_addr *to)
{
	return cluster_redirect_parse(e, strlen(e), "src", slot, to);
}

/* test_redirects - MOVED, ASK, TRYAGAIN, CLUSTERDOWN and what is not */
static void
test_redirects(void **state)
{
	static const char *const notredir[] = {
		"MOVED", "MOVED ", "MOVED 3999", "MOVED 3999 127.0.0.1",
		"MOVED 3999 127.0.0.1:", "MOVED 3999 127.0.0.1:0",
		"MOVED 3999 127.0.0.1:65536", "MOVED 16384 h:1",
		"MOVED x h:1", "MOVED 1 h:1x", "MOVED -1 h:1", "ASK 1",
		"ERR unknown command", "NOSCRIPT No matching script",
		"MOVED 1 a b:1", "moved 1 h:1",
	};
	struct cluster_addr to;
	unsigned slot;
	size_t i;

	(void)state;
	assert_int_equal(redir("MOVED 3999 127.0.0.1:6381", &slot, &to),
	    CLUSTER_MOVED);
	assert_int_equal(slot, 3999);
	assert_string_equal(to.host, "127.0.0.1");
	assert_int_equal(to.port, 6381);
	assert_int_equal(redir("ASK 16383 ::1:7002", &slot, &to), CLUSTER_ASK);
	assert_int_equal(slot, 16383);
	assert_string_equal(to.host, "::1");
	assert_int_equal(to.port, 7002);
	assert_int_equal(redir("MOVED 0 :7003", &slot, &to), CLUSTER_MOVED);
	assert_string_equal(to.host, "src");
	assert_int_equal(to.port, 7003);
	assert_int_equal(redir("TRYAGAIN Multiple keys request during "
	    "rehashing of slot", &slot, &to), CLUSTER_TRYAGAIN);
	assert_int_equal(redir("CLUSTERDOWN The cluster is down", &slot,
	    &to), CLUSTER_DOWN);
	for (i = 0; i < sizeof(notredir) / sizeof(notredir[0]); i++)
		assert_int_equal(redir(notredir[i], &slot, &to),
		    CLUSTER_REPLY);
	/* no host and nobody to default to */
	assert_int_equal(cluster_redirect_parse("MOVED 0 :1", 10, NULL, &slot,
	    &to), CLUSTER_REPLY);
}

/* next - cluster_next of a C string (NULL: a plain reply) */
static enum cluster_step
next(struct cluster_map *m, struct cluster_hops *h, const char *e, int *node)
{
	return cluster_next(m, h, e, e ? strlen(e) : 0, node);
}

/* test_route - MOVED re-points the slot, ASK does not; hops are bounded */
static void
test_route(void **state)
{
	struct cluster_hops h = { 0, 0, 3, 2, 0, 0 };
	struct cluster_map m;
	redisReply *r = resp(SLOTS3);
	char err[128];
	int node;

	(void)state;
	cluster_map_init(&m);
	assert_int_equal(cluster_map_parse(&m, r, "h", err, sizeof(err)), 0);
	freeReplyObject(r);
	node = cluster_map_route(&m, 50);
	assert_int_equal(m.node[node].port, 7000);
	assert_int_equal(next(&m, &h, NULL, &node), CLUSTER_DONE);
	assert_int_equal(next(&m, &h, "ERR wrong", &node), CLUSTER_DONE);
	/* MOVED: to the new owner, and the map says so from now on */
	assert_int_equal(next(&m, &h, "MOVED 50 127.0.0.1:7001", &node),
	    CLUSTER_RETRY);
	assert_int_equal(m.node[node].port, 7001);
	assert_false(h.asking);
	assert_true(h.moved);
	assert_int_equal(cluster_map_route(&m, 50), node);
	/* ASK: to a new node for this send only, with ASKING */
	assert_int_equal(next(&m, &h, "ASK 50 127.0.0.1:7009", &node),
	    CLUSTER_RETRY);
	assert_int_equal(m.node[node].port, 7009);
	assert_true(h.asking);
	assert_int_equal(m.nnodes, 4);
	assert_int_equal(m.node[cluster_map_route(&m, 50)].port, 7001);
	/* TRYAGAIN from the importing node: wait, same node, ASKING again */
	assert_int_equal(next(&m, &h, "TRYAGAIN x", &node), CLUSTER_WAIT);
	assert_true(h.asking);
	assert_int_equal(m.node[node].port, 7009);
	assert_int_equal(next(&m, &h, NULL, &node), CLUSTER_DONE);
	assert_false(h.asking);
	assert_int_equal(next(&m, &h, "TRYAGAIN x", &node), CLUSTER_WAIT);
	assert_false(h.asking);
	assert_int_equal(next(&m, &h, "TRYAGAIN x", &node), CLUSTER_FAIL);
	/* the third hop is allowed, the fourth is not */
	assert_int_equal(next(&m, &h, "MOVED 51 127.0.0.1:7002", &node),
	    CLUSTER_RETRY);
	assert_int_equal(h.hops, 3);
	assert_int_equal(next(&m, &h, "MOVED 52 127.0.0.1:7000", &node),
	    CLUSTER_FAIL);
	assert_int_equal(next(&m, &h, "CLUSTERDOWN Hash slot not served",
	    &node), CLUSTER_FAIL);
}

/* a scripted node: the replies cluster_follow gets, one per send */
struct script {
	const char	*const *replies;	/* RESP; NULL: the send fails */
	size_t		 n, sent;
	int		 node[8], asking[8];	/* where each send went */
};

/* script_send - cluster_send_fn: the next scripted reply */
static redisReply *
script_send(void *arg, int node, int asking, char *err, size_t errlen)
{
	struct script *s = arg;
	const char *r;

	assert_true(s->sent < s->n);
	s->node[s->sent] = node;
	s->asking[s->sent] = asking;
	if ((r = s->replies[s->sent++]) == NULL) {
		snprintf(err, errlen, "connection lost");
		return NULL;
	}
	return resp(r);
}

/* test_follow - the loop both callers share: MOVED, ASK and TRYAGAIN
 * followed to the answer; a failed send and too many waits give up */
static void
test_follow(void **state)
{
	static const char *const moved[] = { "-MOVED 50 127.0.0.1:7001\r\n",
	    "-ASK 50 127.0.0.1:7009\r\n", "-TRYAGAIN x\r\n", "+OK\r\n" };
	static const char *const lost[] = { "-MOVED 50 127.0.0.1:7001\r\n",
	    NULL };
	static const char *const waits[] = { "-TRYAGAIN x\r\n",
	    "-TRYAGAIN x\r\n", "-TRYAGAIN x\r\n" };
	struct script s = { moved, 4, 0, { 0 }, { 0 } };
	struct cluster_hops h = { 0, 0, 3, 1, 0, 0 };
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct cluster_map m;
	redisReply *r = resp(SLOTS3);
	char err[128];

	(void)state;
	cluster_map_init(&m);
	assert_int_equal(cluster_map_parse(&m, r, "h", err, sizeof(err)), 0);
	freeReplyObject(r);
	assert_int_equal(cluster_follow(&m, &lock, &h, 0, 1, script_send, &s,
	    &r, err, sizeof(err)), CLUSTER_DONE);
	assert_string_equal(r->str, "OK");
	freeReplyObject(r);
	assert_int_equal(s.sent, 4);
	assert_int_equal(m.node[s.node[1]].port, 7001);
	assert_int_equal(m.node[s.node[2]].port, 7009);
	assert_true(s.asking[2] && s.asking[3] && !s.asking[1]);
	assert_true(h.moved);
	/* a failed send: given up, no reply, err says why */
	memset(&h, 0, sizeof(h));
	h.max_hops = 3;
	s = (struct script){ lost, 2, 0, { 0 }, { 0 } };
	assert_int_equal(cluster_follow(&m, NULL, &h, 0, 1, script_send, &s,
	    &r, err, sizeof(err)), CLUSTER_FAIL);
	assert_null(r);
	assert_string_equal(err, "connection lost");
	/* max_waits 1: the second TRYAGAIN is the error given up on */
	memset(&h, 0, sizeof(h));
	h.max_waits = 1;
	s = (struct script){ waits, 3, 0, { 0 }, { 0 } };
	assert_int_equal(cluster_follow(&m, NULL, &h, 0, 1, script_send, &s,
	    &r, err, sizeof(err)), CLUSTER_FAIL);
	assert_int_equal(s.sent, 2);
	assert_string_equal(r->str, "TRYAGAIN x");
	freeReplyObject(r);
}

/* bad_node - cluster_bad_fn: the node and the parse's text */
static void
bad_node(void *arg, int node, const char *why, char *err, size_t errlen)
{
	(void)arg;
	snprintf(err, errlen, "node %d: %s", node, why);
}

/* test_refresh - the nodes asked in turn until one's slots parse: a
 * failed send and an error reply go on to the next; the last one's err */
static void
test_refresh(void **state)
{
	static const char *const third[] = { NULL, "-ERR disabled\r\n",
	    SLOTS3 };
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct script s = { third, 3, 0, { 0 }, { 0 } };
	struct cluster_map m;
	redisReply *r = resp(SLOTS3);
	char err[128];
	int stale = 1;

	(void)state;
	cluster_map_init(&m);
	assert_int_equal(cluster_refresh(&m, NULL, 0, &stale, script_send,
	    NULL, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "no cluster node known");
	assert_int_equal(s.sent, 0);
	assert_int_equal(cluster_map_parse(&m, r, "h", err, sizeof(err)), 0);
	freeReplyObject(r);
	memset(m.slot, 0, sizeof(m.slot));
	assert_int_equal(cluster_refresh(&m, &lock, 3, &stale, script_send,
	    bad_node, &s, err, sizeof(err)), 0);
	assert_int_equal(stale, 0);
	assert_int_equal(s.sent, 3);
	assert_true(s.node[0] == 0 && s.node[1] == 1 && s.node[2] == 2);
	assert_true(!s.asking[0] && !s.asking[1] && !s.asking[2]);
	assert_int_equal(m.node[cluster_map_route(&m, 16383)].port, 7002);
	assert_string_equal(err, "node 1: CLUSTER SLOTS: ERR disabled");
	/* none parses: -1, stale kept, the last node's text (bad NULL) */
	stale = 1;
	s = (struct script){ third, 2, 0, { 0 }, { 0 } };
	assert_int_equal(cluster_refresh(&m, NULL, 2, &stale, script_send,
	    NULL, &s, err, sizeof(err)), -1);
	assert_int_equal(stale, 1);
	assert_string_equal(err, "CLUSTER SLOTS: ERR disabled");
	assert_int_equal(cluster_map_route(&m, 16383), 2);	/* unchanged */
}

/* test_store_opts - a cluster store needs a TCP seed; connects lazily */
static void
test_store_opts(void **state)
{
	struct store_redis_opts o;
	struct store_item it;
	struct store_req req = { "0123abcd", NULL, STORE_COMMIT, &it, 1 };
	struct store_res res;
	struct store *st;
	char err[256];

	(void)state;
	memset(&o, 0, sizeof(o));
	o.cluster = 1;
	o.unix_path = "/run/redis.sock";
	o.connect_timeout_ms = o.command_timeout_ms = 100;
	o.pool_max = 2;
	assert_null(store_redis_new(&o, err, sizeof(err)));
	assert_string_equal(err, "redis: a cluster needs a TCP redis_server "
	    "(host:port of a node)");
	o.unix_path = NULL;
	o.host = "127.0.0.1";
	o.port = 0;
	assert_null(store_redis_new(&o, err, sizeof(err)));
	assert_string_equal(err, "redis: port out of range (1-65535)");
	o.port = 1;	/* nobody listens: nothing happens until a call */
	assert_non_null(st = store_redis_new(&o, err, sizeof(err)));
	assert_string_equal(st->kind, "redis");
	/* no node answers CLUSTER SLOTS: an error, not a crash or a hang */
	memset(&it, 0, sizeof(it));
	store_item_set(&it, "msg", 60, 6, 10, 1);
	assert_int_equal(store_charge(st, &req, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "redis 127.0.0.1:1: connect"));
	assert_int_equal(store_reset(st, "0123abcd", err, sizeof(err)), -1);
	assert_int_equal(store_reset(st, "xyz", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not 1 to 64 hex"));
	store_free(st);
}

/* live_charge - one commit of msg (the sender's), copies of `copy`
 * (unowned: not the sender's doing) and the sender's refusal counter */
static struct store_res
live_charge(struct store *st, const char *txn, const char *copy,
    uint64_t copy_limit, int unowned, struct store_item *it)
{
	struct store_req req = { "0123abcd", txn, STORE_COMMIT, it, 3 };
	struct store_res res;
	char err[256];

	memset(it, 0, 3 * sizeof(*it));
	store_item_set(&it[0], "msg", 3600, 12, 100, 1);
	store_item_set(&it[1], "copy", 3600, 12, copy_limit, 1);
	snprintf(it[1].scope, sizeof(it[1].scope), "%s", copy);
	it[1].unowned = (uint8_t)unowned;
	store_item_set(&it[2], "refused", 3600, 12, 100, 1);
	it[2].on_refuse = 1;
	if (store_charge(st, &req, &res, err, sizeof(err)) != 0)
		fail_msg("charge: %s", err);
	return res;
}

/*
 * test_live - against a real cluster (SLUICE_TEST_CLUSTER=host:port, set
 * by test/integration/cluster.sh; skipped otherwise): a scoped item's
 * call keeps its own transaction key (a replay charges neither the sender
 * nor the copy), a refusing scoped item charges
 * nothing of the sender but its refusal counter (not even that when the
 * item is unowned), reset finds the sender's node
 */
static void
test_live(void **state)
{
	const char *seed = getenv("SLUICE_TEST_CLUSTER");
	struct store_redis_opts o;
	struct store_item it[3];
	struct store_res res;
	struct store *st;
	char host[64], err[256], c1[16], c2[16];
	int port;

	(void)state;
	if (seed == NULL || sscanf(seed, "%63[^:]:%d", host, &port) != 2)
		skip();
	memset(&o, 0, sizeof(o));
	o.cluster = 1;
	o.host = host;
	o.port = port;
	o.prefix = "t-clu:";
	o.connect_timeout_ms = o.command_timeout_ms = 5000;
	o.pool_max = 2;
	assert_non_null(st = store_redis_new(&o, err, sizeof(err)));
	/* copies of this run only: the cluster may have seen earlier runs */
	snprintf(c1, sizeof(c1), "%08x1", (unsigned)getpid());
	snprintf(c2, sizeof(c2), "%08x2", (unsigned)getpid());
	assert_int_equal(store_reset(st, "0123abcd", err, sizeof(err)), 0);
	res = live_charge(st, "q1", c1, 100, 0, it);
	assert_true(res.allowed);
	assert_false(res.replayed);
	assert_int_equal(it[0].count, 1);
	assert_int_equal(it[1].count, 1);
	/* the same message again: replayed on both sides, nothing charged */
	res = live_charge(st, "q1", c1, 100, 0, it);
	assert_true(res.allowed);
	assert_true(res.replayed);
	assert_int_equal(it[0].count, 1);
	assert_int_equal(it[1].count, 1);
	res = live_charge(st, "q2", c1, 100, 0, it);
	assert_int_equal(it[0].count, 2);
	assert_int_equal(it[1].count, 2);
	/* a copies limit of 0 refuses: the sender is not charged */
	res = live_charge(st, "q3", c2, 0, 0, it);
	assert_false(res.allowed);
	assert_true(it[1].over);
	assert_int_equal(it[0].count, 2);
	assert_int_equal(it[2].count, 1);	/* a refusal of its own */
	/* refused by an unowned item alone: no refusal of the sender's */
	res = live_charge(st, "q3u", c2, 0, 1, it);
	assert_false(res.allowed);
	assert_true(it[1].over);
	assert_int_equal(it[0].count, 2);
	assert_int_equal(it[2].count, 1);
	assert_false(it[2].over);
	res = live_charge(st, "q4", c1, 100, 0, it);
	assert_true(res.allowed);
	assert_int_equal(it[0].count, 3);
	assert_int_equal(it[1].count, 3);
	/* reset goes to the node serving the sender's slot */
	assert_int_equal(store_reset(st, "0123abcd", err, sizeof(err)), 0);
	res = live_charge(st, "q5", c1, 100, 0, it);
	assert_int_equal(it[0].count, 1);
	store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16),
		cmocka_unit_test(test_keyslot),
		cmocka_unit_test(test_slots_parse),
		cmocka_unit_test(test_slots_bad),
		cmocka_unit_test(test_map_full),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_store_opts),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
