/*
 * test_store.c - one suite of store tests, run against every store.
 *
 * Each shared test runs twice: on the memory store (injected clock) and
 * on the redis store against a real redis-server (the CTest fixture
 * "redis" writes its port to $SLUICE_TEST_REDIS_DIR/port). Both must give
 * the same answers. Tests that need a controlled clock run on memory
 * only; tests of connections, timeouts, keys and round trips on redis
 * only. Every redis test uses its own key prefix and deletes its keys.
 *
 * Without SLUICE_TEST_REDIS_DIR the redis group fails, unless
 * SLUICE_TEST_NO_REDIS=1 says to run without it.
 *
 * For a manual run:
 *   test/redis-fixture.sh start /tmp/rs && SLUICE_TEST_REDIS_DIR=/tmp/rs \
 *       SLUICE_TEST_DATA=$PWD/test/data build/test/test_store
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "sender.h"
#include "state.h"
#include "store.h"
#include "window.h"

/* the embedded script (generated charge_lua.c) */
extern const char charge_lua[];
extern const size_t charge_lua_len;

#define T0		1700000000000ULL /* memory store's clock at start, ms */
#define CMD_MS		200		 /* redis command timeout in tests */

struct fx {
	struct store	*st;
	int		 redis;		/* 0: memory store on the fake clock */
	uint64_t	 now;		/* memory: the clock, ms */
	char		 prefix[64];	/* redis: this test's key prefix */
	redisContext	*admin;		/* redis: a side connection */
	char		 acl_user[64];	/* redis: ACL user to delete, or "" */
};

static int redis_port;
static unsigned test_seq;

/* fake_clock - the memory store's clock: fx->now */
static uint64_t
fake_clock(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

/* sleep_ms - sleep that long */
static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* key_of - the sender key of a login */
static const char *
key_of(const char *login, char *buf)
{
	sender_key(login, buf);
	return buf;
}

/* item - one item's inputs */
static struct store_item
item(const char *name, uint32_t window, uint32_t buckets, uint64_t limit,
    uint64_t cost)
{
	struct store_item it;

	store_item_set(&it, name, window, buckets, limit, cost);
	return it;
}

/* run - store_charge that must answer; returns res.allowed */
static int
run(struct fx *fx, const char *sender, const char *txn, int commit,
    struct store_item *items, size_t n, struct store_res *res)
{
	struct store_req req = { sender, txn, commit, items, n };
	struct store_res r;
	char err[256] = "";
	int rc;

	if (res == NULL)
		res = &r;
	rc = store_charge(fx->st, &req, res, err, sizeof(err));
	if (rc != 0)
		fail_msg("store_charge (%s): rc %d: %s", fx->st->kind, rc, err);
	return res->allowed;
}

/* msg1 - one "msg" item, 1h in 12 buckets; returns allowed, fills *out */
static int
msg1(struct fx *fx, const char *sender, int commit, uint64_t limit,
    uint64_t cost, struct store_item *out)
{
	struct store_item it = item("msg", 3600, 12, limit, cost);
	int ok = run(fx, sender, NULL, commit, &it, 1, NULL);

	if (out != NULL)
		*out = it;
	return ok;
}

/* count_of - events counted for one item now (check only, cost 0) */
static uint64_t
count_of(struct fx *fx, const char *sender, const char *name,
    uint32_t window, uint32_t buckets)
{
	struct store_item it = item(name, window, buckets, UINT64_MAX, 0);

	run(fx, sender, NULL, 0, &it, 1, NULL);
	return it.count;
}

#define ANY		(-1)	/* a field of a call the row does not check */
#define RETRY_SOME	1	/* a retry > 0 */

/* one store call on a sender's "msg" item (1h in 12 buckets), and what
 * it must answer */
struct call {
	const char	*txn;		/* or NULL */
	int		 commit;
	uint64_t	 cost;
	int		 allowed;
	int		 replayed;	/* 0, 1 or ANY */
	int		 count;		/* or ANY */
	int		 retry;		/* 0, RETRY_SOME or ANY */
};

/* calls_run - the calls in order on one sender, each checked */
static void
calls_run(struct fx *fx, const char *key, uint64_t limit,
    const struct call *c, size_t n)
{
	struct store_item it;
	struct store_res res;
	size_t i;

	for (i = 0; i < n; i++, c++) {
		it = item("msg", 3600, 12, limit, c->cost);
		if (!run(fx, key, c->txn, c->commit, &it, 1, &res) !=
		    !c->allowed)
			fail_msg("call %zu: not %s", i, c->allowed ? "allowed" :
			    "refused");
		if (c->replayed != ANY)
			assert_int_equal(res.replayed, c->replayed);
		if (c->count != ANY)
			assert_int_equal(it.count, c->count);
		if (c->retry == 0)
			assert_int_equal(it.retry, 0);
		else if (c->retry == RETRY_SOME)
			assert_true(it.retry > 0);
	}
}

/* ---- redis helpers ---- */

/* admin - a command on the side connection; the reply must be non-NULL */
static redisReply *
admin(struct fx *fx, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(fx->admin, fmt, ap);
	va_end(ap);
	if (r == NULL)
		fail_msg("admin command %s: %s", fmt, fx->admin->errstr);
	return r;
}

/* admin_int - an integer reply */
static long long
admin_int(struct fx *fx, const char *fmt, const char *arg)
{
	redisReply *r = admin(fx, fmt, arg);
	long long v;

	if (r->type != REDIS_REPLY_INTEGER)
		fail_msg("%s %s: not an integer reply (%d %s)", fmt, arg,
		    r->type, r->type == REDIS_REPLY_ERROR ? r->str : "");
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/* admin_ok - a command that must not answer an error */
static void
admin_ok(struct fx *fx, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(fx->admin, fmt, ap);
	va_end(ap);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		fail_msg("admin command %s: %s", fmt,
		    r ? r->str : fx->admin->errstr);
	freeReplyObject(r);
}

/* redis_time_ms - Redis's clock */
static uint64_t
redis_time_ms(struct fx *fx)
{
	redisReply *r = admin(fx, "TIME");
	uint64_t t;

	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 2);
	t = strtoull(r->element[0]->str, NULL, 10) * 1000 +
	    strtoull(r->element[1]->str, NULL, 10) / 1000;
	freeReplyObject(r);
	return t;
}

/* redis_opts - options for the fixture's server with this test's prefix */
static struct store_redis_opts
redis_opts(struct fx *fx)
{
	struct store_redis_opts o;

	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = redis_port;
	o.prefix = fx->prefix;
	o.connect_timeout_ms = 1000;
	o.command_timeout_ms = CMD_MS;
	o.pool_max = 4;
	return o;
}

/* redis_store - a redis store from opts, which must be accepted */
static struct store *
redis_store(const struct store_redis_opts *o)
{
	char err[256] = "";
	struct store *st = store_redis_new(o, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_redis_new: %s", err);
	return st;
}

/* our_keys - KEYS <prefix>*: the reply (array), caller frees */
static redisReply *
our_keys(struct fx *fx)
{
	redisReply *r = admin(fx, "KEYS %s*", fx->prefix);

	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	return r;
}

/* ---- setups ---- */

/* group_redis - find the fixture's redis-server */
static int
group_redis(void **state)
{
	const char *dir = getenv("SLUICE_TEST_REDIS_DIR");
	char path[512];
	FILE *fp;

	(void)state;
	if (dir == NULL || dir[0] == '\0') {
		fprintf(stderr, "SLUICE_TEST_REDIS_DIR is not set: start "
		    "test/redis-fixture.sh (or set SLUICE_TEST_NO_REDIS=1 to "
		    "skip the redis store)\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/port", dir);
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fscanf(fp, "%d", &redis_port) != 1 || redis_port <= 0) {
		fprintf(stderr, "%s: no port in it\n", path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

/* setup_memory - a fresh memory store on the fake clock */
static int
setup_memory(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->now = T0;
	if ((fx->st = store_memory_new(fake_clock, fx)) == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

/* setup_redis - a fresh redis store with a prefix of its own */
static int
setup_redis(void **state)
{
	struct timeval tv = { 2, 0 };
	struct store_redis_opts o;
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (fx == NULL)
		return -1;
	fx->redis = 1;
	snprintf(fx->prefix, sizeof(fx->prefix), "sltest:%d:%u:",
	    (int)getpid(), ++test_seq);
	fx->admin = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	if (fx->admin == NULL || fx->admin->err) {
		fprintf(stderr, "redis 127.0.0.1:%d: %s\n", redis_port,
		    fx->admin ? fx->admin->errstr : "out of memory");
		redisFree(fx->admin);
		free(fx);
		return -1;
	}
	redisSetTimeout(fx->admin, tv);
	o = redis_opts(fx);
	if ((fx->st = store_redis_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store_redis_new: %s\n", err);
		redisFree(fx->admin);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

/* teardown - free the store; on redis, delete this test's keys */
static int
teardown(void **state)
{
	struct fx *fx = *state;
	redisReply *r, *d;
	size_t i;

	store_free(fx->st);
	if (fx->admin != NULL && fx->admin->err == 0) {
		r = redisCommand(fx->admin, "KEYS %s*", fx->prefix);
		if (r != NULL && r->type == REDIS_REPLY_ARRAY)
			for (i = 0; i < r->elements; i++)
				if ((d = redisCommand(fx->admin, "DEL %b",
				    r->element[i]->str,
				    r->element[i]->len)) != NULL)
					freeReplyObject(d);
		if (r != NULL)
			freeReplyObject(r);
		if (fx->acl_user[0] != '\0' && (d = redisCommand(fx->admin,
		    "ACL DELUSER %s", fx->acl_user)) != NULL)
			freeReplyObject(d);
	}
	redisFree(fx->admin);
	free(fx);
	return 0;
}

/* ---- tests on both stores ---- */

/*
 * test_limit_n - a limit of N admits exactly N; the N+1th is refused with
 * a retry, and charges nothing.
 */
static void
test_limit_n(void **state)
{
	static const uint64_t limits[] = { 0, 1, 2, 7, 50 };
	struct fx *fx = *state;
	struct store_item it;
	char key[SENDER_KEY_LEN + 1], login[32];
	size_t i;
	uint64_t k;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		snprintf(login, sizeof(login), "limit-%zu@example.test", i);
		key_of(login, key);
		for (k = 0; k < limits[i]; k++) {
			assert_true(msg1(fx, key, 1, limits[i], 1, &it));
			assert_int_equal(it.count, k + 1);
			assert_int_equal(it.retry, 0);
		}
		assert_false(msg1(fx, key, 1, limits[i], 1, &it));
		assert_int_equal(it.count, limits[i]);
		assert_true(it.retry > 0);
		assert_true(it.retry != UINT32_MAX || limits[i] == 0);
		assert_false(msg1(fx, key, 1, limits[i], 1, &it));
		assert_int_equal(count_of(fx, key, "msg", 3600, 12), limits[i]);
	}
}

/* test_atomic - one limit over: nothing is charged to any of them */
static void
test_atomic(void **state)
{
	struct fx *fx = *state;
	struct store_item it[3];
	struct store_res res;
	char key[SENDER_KEY_LEN + 1];

	key_of("atomic@example.test", key);
	it[0] = item("msg", 3600, 12, 5, 1);
	it[1] = item("rcpt", 3600, 12, 10, 4);
	it[2] = item("rcpt", 60, 6, 6, 4);
	assert_true(run(fx, key, NULL, 1, it, 3, &res));
	assert_int_equal(it[0].count, 1);
	assert_int_equal(it[1].count, 4);
	assert_int_equal(it[2].count, 4);

	/* the 1-minute recipients limit would reach 8 > 6 */
	assert_false(run(fx, key, NULL, 1, it, 3, &res));
	assert_int_equal(res.replayed, 0);
	assert_int_equal(it[0].count, 1);
	assert_int_equal(it[0].retry, 0);
	assert_int_equal(it[1].count, 4);
	assert_int_equal(it[1].retry, 0);
	assert_int_equal(it[2].count, 4);
	assert_true(it[2].retry > 0 && it[2].retry <= 70);
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 1);
	assert_int_equal(count_of(fx, key, "rcpt", 3600, 12), 4);
	assert_int_equal(count_of(fx, key, "rcpt", 60, 6), 4);

	/* with a cost that fits everywhere, all three are charged */
	it[0].cost = it[1].cost = it[2].cost = 2;
	assert_true(run(fx, key, NULL, 1, it, 3, &res));
	assert_int_equal(it[0].count, 3);
	assert_int_equal(it[1].count, 6);
	assert_int_equal(it[2].count, 6);
}

/* test_check_only - commit=0 counts the cost in the check, charges nothing */
static void
test_check_only(void **state)
{
	static const struct call calls[] = {
		/* txn commit cost allowed replayed count retry */
		{ NULL, 0, 1, 1, ANY, 0, ANY },		/* nothing yet */
		{ NULL, 1, 3, 1, ANY, 3, ANY },
		{ NULL, 0, 2, 1, ANY, 3, 0 },		/* 3 + 2 <= 5 */
		{ NULL, 0, 3, 0, ANY, 3, RETRY_SOME },	/* 3 + 3 > 5 */
		{ NULL, 0, 2, 1, ANY, ANY, ANY },
	};
	struct fx *fx = *state;
	char key[SENDER_KEY_LEN + 1];
	redisReply *r;

	key_of("check@example.test", key);
	calls_run(fx, key, 5, calls, 1);
	if (fx->redis) {	/* and a check writes nothing */
		r = our_keys(fx);
		assert_int_equal(r->elements, 0);
		freeReplyObject(r);
	}
	calls_run(fx, key, 5, calls + 1, sizeof(calls) / sizeof(calls[0]) - 1);
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 3);
}

/* test_cost_limits - limits 0 and 1, and costs beyond the limit */
static void
test_cost_limits(void **state)
{
	static const struct {
		uint64_t	 limit, cost, before;
		int		 allowed;
		uint32_t	 retry;		/* 1: any value > 0 and finite */
	} cases[] = {
		{ 0, 0, 0, 1, 0 },
		{ 0, 1, 0, 0, UINT32_MAX },
		{ 1, 1, 0, 1, 0 },
		{ 1, 2, 0, 0, UINT32_MAX },
		{ 5, 6, 0, 0, UINT32_MAX },
		{ 5, 5, 0, 1, 0 },
		{ 5, 6, 3, 0, UINT32_MAX },
		{ 5, 3, 3, 0, 1 },
		{ 5, 0, 5, 1, 0 },
		{ UINT64_MAX, 1, 0, 1, 0 },
		{ UINT64_MAX, 1000000, 7, 1, 0 },
	};
	struct fx *fx = *state;
	struct store_item it;
	char key[SENDER_KEY_LEN + 1], login[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(login, sizeof(login), "cost-%zu", i);
		key_of(login, key);
		if (cases[i].before > 0)
			assert_true(msg1(fx, key, 1, 100, cases[i].before,
			    NULL));
		assert_int_equal(msg1(fx, key, 1, cases[i].limit,
		    cases[i].cost, &it), cases[i].allowed);
		assert_int_equal(it.count, cases[i].before +
		    (cases[i].allowed ? cases[i].cost : 0));
		if (cases[i].retry == 1)
			assert_true(it.retry > 0 && it.retry != UINT32_MAX);
		else
			assert_int_equal(it.retry, cases[i].retry);
	}
}

/* key_shape_ok - "<prefix>{<32 hex>}:" then a limit or a txn key */
static int
key_shape_ok(const char *prefix, const char *k)
{
	size_t n = strlen(prefix);

	if (strncmp(k, prefix, n) != 0 || k[n] != '{')
		return 0;
	k += n + 1;
	if (strspn(k, "0123456789abcdef") != SENDER_KEY_LEN ||
	    strncmp(k + SENDER_KEY_LEN, "}:", 2) != 0)
		return 0;
	k += SENDER_KEY_LEN + 2;
	if (strncmp(k, "txn:", 4) == 0)
		return strspn(k + 4, "0123456789abcdef") == strlen(k + 4);
	return strcmp(k, "msg:3600:12") == 0;
}

/*
 * test_hostile_logins - logins full of key syntax reach the store only as
 * sender keys: counts stay apart, and Redis holds only well-formed keys,
 * each with a TTL.
 */
static void
test_hostile_logins(void **state)
{
	static char big[1025];
	const char *logins[] = {
		"alice", "{alice}", "alice}", "{", "}", "a}b{c", "a:b:c",
		":", "a b", " ", "a\r\nb", "\r\n", "*", "a*", "?[a-z]\\",
		"sluice:{x}:msg:3600", big,
	};
	size_t n = sizeof(logins) / sizeof(logins[0]), i, j;
	struct fx *fx = *state;
	char keys[sizeof(logins) / sizeof(logins[0])][SENDER_KEY_LEN + 1];
	char txn[16];
	redisReply *r;

	memset(big, 'x', sizeof(big) - 1);
	memcpy(big + 500, "{:}\r\n*", 6);
	for (i = 0; i < n; i++) {
		key_of(logins[i], keys[i]);
		for (j = 0; j < i; j++)
			assert_string_not_equal(keys[i], keys[j]);
		for (j = 0; j <= i; j++) {	/* login i charged i + 1 times */
			struct store_item it = item("msg", 3600, 12, 100, 1);

			snprintf(txn, sizeof(txn), "t%zu:%zu{", i, j);
			assert_true(run(fx, keys[i], txn, 1, &it, 1, NULL));
		}
	}
	for (i = 0; i < n; i++)
		assert_int_equal(count_of(fx, keys[i], "msg", 3600, 12), i + 1);
	/* case folds: "ALICE" is alice */
	key_of("ALICE", keys[1]);
	assert_string_equal(keys[0], keys[1]);

	if (!fx->redis)
		return;
	r = our_keys(fx);
	assert_int_equal(r->elements, n + n * (n + 1) / 2);
	for (i = 0; i < r->elements; i++) {
		if (!key_shape_ok(fx->prefix, r->element[i]->str))
			fail_msg("unexpected key \"%s\"", r->element[i]->str);
		assert_true(admin_int(fx, "PTTL %s", r->element[i]->str) > 0);
	}
	freeReplyObject(r);
}

/* test_txn - the same txn twice: the second is a replay, charged once */
static void
test_txn(void **state)
{
	static const char odd[] = "{m1}:\r\n* \xff";
	static const struct call calls[] = {
		/* txn commit cost allowed replayed count retry */
		{ "m1", 1, 1, 1, 0, 1, ANY },
		{ "m1", 1, 1, 1, 1, 1, ANY },
		{ odd, 1, 1, 1, 0, 2, ANY },		/* full now */
		{ "m3", 1, 1, 0, 0, 2, RETRY_SOME },
		/* a replay is allowed even when the limit is reached, and
		 * says 0 */
		{ "m1", 1, 1, 1, 1, 2, 0 },
		{ odd, 1, 1, 1, 1, ANY, ANY },
		/* a refused txn was not remembered; a check is never a
		 * replay */
		{ "m3", 1, 1, 0, ANY, ANY, ANY },
		{ "m1", 0, 1, 0, 0, ANY, ANY },
	};
	struct fx *fx = *state;
	struct store_item it = item("msg", 3600, 12, 100, 1);
	struct store_res res;
	struct store_req req;
	char key[SENDER_KEY_LEN + 1], long_txn[STORE_TXN_MAX + 2], err[256];

	key_of("txn@example.test", key);
	calls_run(fx, key, 2, calls, sizeof(calls) / sizeof(calls[0]));
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 2);

	/* the longest id is fine, one more byte is an error */
	memset(long_txn, 'z', sizeof(long_txn));
	long_txn[STORE_TXN_MAX] = '\0';
	assert_true(run(fx, key, long_txn, 1, &it, 1, &res));
	assert_true(run(fx, key, long_txn, 1, &it, 1, &res));
	assert_int_equal(res.replayed, 1);
	long_txn[STORE_TXN_MAX] = 'z';
	long_txn[STORE_TXN_MAX + 1] = '\0';
	req = (struct store_req){ key, long_txn, 1, &it, 1 };
	assert_int_equal(store_charge(fx->st, &req, &res, err, sizeof(err)),
	    -1);
	assert_true(err[0] != '\0');
}

/* test_reset - reset forgets one sender, counters and txns, not another */
static void
test_reset(void **state)
{
	struct fx *fx = *state;
	struct store_item it[2];
	struct store_res res;
	char a[SENDER_KEY_LEN + 1], b[SENDER_KEY_LEN + 1], err[256] = "";
	redisReply *r;
	size_t i;

	key_of("reset-a", a);
	key_of("reset-b", b);
	for (i = 0; i < 3; i++) {
		it[0] = item("msg", 3600, 12, 10, 1);
		it[1] = item("rcpt", 86400, 24, 100, 5);
		assert_true(run(fx, a, i == 0 ? "ta" : NULL, 1, it, 2, NULL));
		assert_true(run(fx, b, i == 0 ? "tb" : NULL, 1, it, 2, NULL));
	}
	assert_int_equal(store_reset(fx->st, a, err, sizeof(err)), 0);
	assert_int_equal(count_of(fx, a, "msg", 3600, 12), 0);
	assert_int_equal(count_of(fx, a, "rcpt", 86400, 24), 0);
	assert_int_equal(count_of(fx, b, "msg", 3600, 12), 3);
	assert_int_equal(count_of(fx, b, "rcpt", 86400, 24), 15);
	if (fx->redis) {	/* a's 3 keys are gone, b's 3 remain */
		r = our_keys(fx);
		assert_int_equal(r->elements, 3);
		for (i = 0; i < r->elements; i++)
			assert_non_null(strstr(r->element[i]->str, b));
		freeReplyObject(r);
	}
	/* a's txn went too; b's did not */
	it[0] = item("msg", 3600, 12, 10, 1);
	assert_true(run(fx, a, "ta", 1, it, 1, &res));
	assert_int_equal(res.replayed, 0);
	assert_true(run(fx, b, "tb", 1, it, 1, &res));
	assert_int_equal(res.replayed, 1);
	/* resetting a sender that has nothing is fine */
	key_of("reset-nobody", a);
	assert_int_equal(store_reset(fx->st, a, err, sizeof(err)), 0);
}

/* test_max_items - STORE_MAX_ITEMS limits in one request; one more fails */
static void
test_max_items(void **state)
{
	struct fx *fx = *state;
	struct store_item it[STORE_MAX_ITEMS + 1];
	struct store_res res;
	struct store_req req;
	char key[SENDER_KEY_LEN + 1], name[64], err[256];
	size_t i;

	key_of("many@example.test", key);
	for (i = 0; i < STORE_MAX_ITEMS; i++) {
		snprintf(name, sizeof(name), "l%zu_%s", i,
		    i == 0 ? "abcdefghijklm" : "x");	/* 16 chars for l0 */
		it[i] = item(name, 60 + (uint32_t)i * 97,
		    1 + (uint32_t)i % WINDOW_MAX_BUCKETS, 100, i % 3);
	}
	assert_int_equal(strlen(it[0].name), STORE_NAME_MAX);
	assert_true(run(fx, key, "many", 1, it, STORE_MAX_ITEMS, NULL));
	assert_true(run(fx, key, NULL, 1, it, STORE_MAX_ITEMS, NULL));
	for (i = 0; i < STORE_MAX_ITEMS; i++)
		assert_int_equal(it[i].count, 2 * (i % 3));
	it[STORE_MAX_ITEMS] = item("extra", 60, 1, 1, 1);
	req = (struct store_req){ key, NULL, 1, it, STORE_MAX_ITEMS + 1 };
	assert_int_equal(store_charge(fx->st, &req, &res, err, sizeof(err)),
	    -1);
	assert_true(run(fx, key, NULL, 1, it, 0, &res));	/* no items */
}

/* test_retry_bound - a full window frees up after W, at most W + w later */
static void
test_retry_bound(void **state)
{
	static const struct { uint32_t w, b; } cases[] = {
		{ 3600, 12 }, { 60, 1 }, { 86400, 60 }, { 10, 3 },
	};
	struct fx *fx = *state;
	struct store_item it;
	char key[SENDER_KEY_LEN + 1], login[16];
	uint64_t width;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(login, sizeof(login), "bound%zu", i);
		key_of(login, key);
		width = window_width(cases[i].w, cases[i].b);
		it = item("msg", cases[i].w, cases[i].b, 1, 1);
		assert_true(run(fx, key, NULL, 1, &it, 1, NULL));
		it = item("msg", cases[i].w, cases[i].b, 1, 1);
		assert_false(run(fx, key, NULL, 1, &it, 1, NULL));
		assert_true(it.retry >= cases[i].w);
		assert_true(it.retry <= (cases[i].b + 1) * width / 1000 + 1);
	}
}

/* one thread of test_concurrency */
struct worker {
	struct fx	*fx;
	const char	*sender;
	int		 n, allowed, errors;	/* commits to make; outcomes */
};

/* charge_thread - commit one message at a time; count the admitted ones */
static void *
charge_thread(void *arg)
{
	struct worker *w = arg;
	struct store_item it;
	struct store_req req;
	struct store_res res;
	char err[256];
	int i;

	for (i = 0; i < w->n; i++) {
		it = item("msg", 3600, 12, 500, 1);
		req = (struct store_req){ w->sender, NULL, 1, &it, 1 };
		if (store_charge(w->fx->st, &req, &res, err, sizeof(err)) != 0)
			w->errors++;
		else if (res.allowed)
			w->allowed++;
	}
	return NULL;
}

/* test_concurrency - 8 threads x 200 commits, limit 500: exactly 500 */
static void
test_concurrency(void **state)
{
	struct fx *fx = *state;
	struct worker w[8];
	pthread_t th[8];
	char key[SENDER_KEY_LEN + 1];
	int i, allowed = 0, errors = 0;

	key_of("busy@example.test", key);
	for (i = 0; i < 8; i++) {
		w[i] = (struct worker){ fx, key, 200, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, charge_thread,
		    &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		allowed += w[i].allowed;
		errors += w[i].errors;
	}
	assert_int_equal(errors, 0);
	assert_int_equal(allowed, 500);
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 500);
}

/* ---- memory store only: the injected clock ---- */

#define GROW_THREADS	4
#define GROW_EACH	6000	/* subjects per thread: 24,000 in all */
#define GROW_AGAIN	500	/* charged twice, the second time later */

struct grower {
	struct fx	*fx;
	int		 t, errors;
};

/* grow_thread - its own subjects, one charge each, the first few twice */
static void *
grow_thread(void *arg)
{
	struct grower *g = arg;
	struct store_item it;
	struct store_req req;
	struct store_res res;
	char login[32], key[SENDER_KEY_LEN + 1], err[256];
	int i;

	for (i = 0; i < GROW_EACH + GROW_AGAIN; i++) {
		snprintf(login, sizeof(login), "grow%d-%d", g->t,
		    i < GROW_EACH ? i : i - GROW_EACH);
		key_of(login, key);
		it = item("msg", 3600, 12, 10, 1);
		req = (struct store_req){ key, NULL, 1, &it, 1 };
		if (store_charge(g->fx->st, &req, &res, err, sizeof(err)) != 0 ||
		    !res.allowed)
			g->errors++;
	}
	return NULL;
}

/*
 * test_mem_grow - the chain table doubles while threads charge, and
 * nothing is lost: every subject keeps its count, a dump holds each
 * once, a load of it grows its table too, and all expire in the end
 */
static void
test_mem_grow(void **state)
{
	struct fx *fx = *state;
	struct grower g[GROW_THREADS];
	pthread_t th[GROW_THREADS];
	struct state_buf b = { NULL, 0, 0, 0 };
	char login[32], key[SENDER_KEY_LEN + 1], err[256];
	size_t subjects, loaded;
	uint64_t hold;
	struct store *st2;
	int i, j;

	assert_int_equal(store_memory_chains(fx->st), 4096);
	for (i = 0; i < GROW_THREADS; i++) {
		g[i] = (struct grower){ fx, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, grow_thread,
		    &g[i]), 0);
	}
	for (i = 0; i < GROW_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(g[i].errors, 0);
	}
	/* 24,000 subjects: past 2 a chain at 4,096 and 8,192 chains */
	assert_int_equal(store_memory_chains(fx->st), 16384);
	for (i = 0; i < GROW_THREADS; i++)
		for (j = 0; j < GROW_EACH; j += 7) {
			snprintf(login, sizeof(login), "grow%d-%d", i, j);
			assert_int_equal(count_of(fx, key_of(login, key), "msg",
			    3600, 12), j < GROW_AGAIN ? 2 : 1);
		}
	assert_int_equal(store_memory_dump(fx->st, &b, &subjects, &hold), 0);
	assert_int_equal(subjects, GROW_THREADS * GROW_EACH);
	st2 = store_memory_new(fake_clock, fx);
	assert_non_null(st2);
	assert_int_equal(store_memory_load(st2, b.p, b.len, &loaded, err,
	    sizeof(err)), 0);
	assert_int_equal(loaded, GROW_THREADS * GROW_EACH);
	assert_int_equal(store_memory_chains(st2), 16384);
	state_buf_free(&b);
	/* an hour and a bucket later nothing counts: every subject goes */
	fx->now = T0 + 3900 * 1000;
	assert_int_equal(store_memory_expire(fx->st), GROW_THREADS * GROW_EACH);
	assert_int_equal(store_memory_expire(st2), GROW_THREADS * GROW_EACH);
	store_free(st2);
	fx->now = T0;
}

/*
 * test_mem_edges - an event counts at W, and until the end of the B+1th
 * bucket after its own (at most W + w); the retry says exactly when.
 */
static void
test_mem_edges(void **state)
{
	static const struct { uint32_t w, b; int late; } cases[] = {
		{ 60, 1, 0 }, { 60, 1, 1 }, { 3600, 12, 0 }, { 3600, 12, 1 },
		{ 10, 3, 0 }, { 10, 3, 1 }, { 1, 1, 0 }, { 1, 60, 1 },
		{ 86400, 60, 0 },
	};
	struct fx *fx = *state;
	struct store_item it;
	char key[SENDER_KEY_LEN + 1], login[16];
	uint64_t width, t0, forget;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(login, sizeof(login), "edge%zu", i);
		key_of(login, key);
		width = window_width(cases[i].w, cases[i].b);
		/* at the first or the last ms of a bucket */
		t0 = (T0 / width + 10 * i + 1) * width +
		    (cases[i].late ? width - 1 : 0);
		forget = (t0 / width + cases[i].b + 1) * width;
		assert_true(forget - t0 > (uint64_t)cases[i].w * 1000);
		assert_true(forget - t0 <= (cases[i].b + 1) * width);

		fx->now = t0;
		it = item("msg", cases[i].w, cases[i].b, 1, 1);
		assert_true(run(fx, key, NULL, 1, &it, 1, NULL));
		/* still counted exactly W later and 1 ms before forget */
		fx->now = t0 + (uint64_t)cases[i].w * 1000;
		it = item("msg", cases[i].w, cases[i].b, 1, 1);
		assert_false(run(fx, key, NULL, 0, &it, 1, NULL));
		assert_int_equal(it.retry, (forget - fx->now + 999) / 1000);
		fx->now = forget - 1;
		it = item("msg", cases[i].w, cases[i].b, 1, 1);
		assert_false(run(fx, key, NULL, 0, &it, 1, NULL));
		assert_int_equal(it.retry, 1);
		fx->now = forget;
		it = item("msg", cases[i].w, cases[i].b, 1, 1);
		assert_true(run(fx, key, NULL, 0, &it, 1, NULL));
		assert_int_equal(it.count, 0);
	}
	fx->now = T0;
}

/* test_mem_retry - retry is exact when several buckets must leave */
static void
test_mem_retry(void **state)
{
	/* W = 60 s in 6 buckets of 10 s; events at +1 s, +25 s, +25.5 s */
	static const struct { uint64_t at; uint64_t cost; uint32_t retry; }
	cases[] = {
		{ 30000, 1, 40 },	/* bucket 0 leaves at +70 s */
		{ 30000, 2, 60 },	/* bucket 2 leaves at +90 s */
		{ 30000, 3, 60 },
		{ 30000, 4, UINT32_MAX },
		{ 69001, 1, 1 },
		{ 69999, 1, 1 },
		{ 70000, 1, 0 },
		{ 70000, 2, 20 },
		{ 89999, 3, 1 },
		{ 90000, 3, 0 },
	};
	struct fx *fx = *state;
	struct store_item it;
	char key[SENDER_KEY_LEN + 1];
	uint64_t base = (T0 / 10000 + 1) * 10000;
	size_t i;

	key_of("retry@example.test", key);
	fx->now = base + 1000;
	it = item("msg", 60, 6, 3, 1);
	assert_true(run(fx, key, NULL, 1, &it, 1, NULL));
	fx->now = base + 25000;
	it = item("msg", 60, 6, 3, 1);
	assert_true(run(fx, key, NULL, 1, &it, 1, NULL));
	fx->now = base + 25500;
	it = item("msg", 60, 6, 3, 1);
	assert_true(run(fx, key, NULL, 1, &it, 1, NULL));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx->now = base + cases[i].at;
		it = item("msg", 60, 6, 3, cases[i].cost);
		run(fx, key, NULL, 0, &it, 1, NULL);
		if (it.retry != cases[i].retry)
			fail_msg("case %zu: retry %u, want %u", i, it.retry,
			    cases[i].retry);
	}
}

/* test_mem_clock_back - a clock stepping back never frees quota */
static void
test_mem_clock_back(void **state)
{
	static const int64_t steps[] = { -1, -10000, -3600000, -86400000,
	    -10LL * 86400000 };
	struct fx *fx = *state;
	struct store_item it;
	char key[SENDER_KEY_LEN + 1];
	size_t i;

	key_of("clock@example.test", key);
	fx->now = T0;
	assert_true(msg1(fx, key, 1, 2, 2, NULL));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		fx->now = (uint64_t)((int64_t)T0 + steps[i]);
		assert_false(msg1(fx, key, 1, 2, 1, &it));
		assert_int_equal(it.count, 2);
		assert_true(it.retry > 0);
	}
	/* and forward again, past the window and a bucket: free */
	fx->now = T0 + 3900000;
	assert_true(msg1(fx, key, 1, 2, 1, &it));
	assert_int_equal(it.count, 1);
	fx->now = T0;
}

/* ---- redis store only ---- */

/* test_redis_bad_input - non-hex senders, bad names: refused, no key */
static void
test_redis_bad_input(void **state)
{
	static const char *senders[] = {
		"", "ABCDEF", "xyz", "abc{d}", "abc:", "ab cd", "abc\r\n",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		"*",
	};
	static const char *names[] = { "", "Msg", "a:b", "a{b}", "a*", "a b",
	    "a\r\n" };
	struct fx *fx = *state;
	struct store_item it;
	struct store_req req;
	struct store_res res;
	char err[256], key[SENDER_KEY_LEN + 1];
	redisReply *r;
	size_t i;

	for (i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
		it = item("msg", 60, 1, 10, 1);
		req = (struct store_req){ senders[i], NULL, 1, &it, 1 };
		err[0] = '\0';
		assert_int_equal(store_charge(fx->st, &req, &res, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "hex"));
		assert_int_equal(store_reset(fx->st, senders[i], err,
		    sizeof(err)), -1);
	}
	key_of("names", key);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		it = item(names[i], 60, 1, 10, 1);
		req = (struct store_req){ key, NULL, 1, &it, 1 };
		assert_int_equal(store_charge(fx->st, &req, &res, err,
		    sizeof(err)), -1);
	}
	/* a 64-digit key is the longest accepted */
	assert_true(msg1(fx, senders[7] + 1, 1, 1, 1, NULL));
	r = our_keys(fx);
	assert_int_equal(r->elements, 1);
	freeReplyObject(r);
}

/* test_redis_ttl - every key has a TTL: window + bucket; txn: 10 min */
static void
test_redis_ttl(void **state)
{
	struct fx *fx = *state;
	struct store_item it[2];
	char key[SENDER_KEY_LEN + 1], k[256];
	uint64_t ta, tb, e;
	long long t;

	key_of("ttl@example.test", key);
	it[0] = item("msg", 3600, 12, 10, 1);
	it[1] = item("rcpt", 60, 6, 10, 3);
	ta = redis_time_ms(fx);
	assert_true(run(fx, key, "x", 1, it, 2, NULL));
	snprintf(k, sizeof(k), "%s{%s}:msg:3600:12", fx->prefix, key);
	t = admin_int(fx, "PTTL %s", k);
	assert_true(t > 12 * 300000 - 5000 && t <= 13 * 300000);
	snprintf(k, sizeof(k), "%s{%s}:rcpt:60:6", fx->prefix, key);
	t = admin_int(fx, "PTTL %s", k);
	tb = redis_time_ms(fx);
	assert_true(t > 6 * 10000 - 5000 && t <= 7 * 10000);
	/* it expires when its bucket stops counting: (index + B + 1) * w */
	if (ta / 10000 == tb / 10000) {
		e = (ta / 10000 + 7) * 10000;
		if (!(ta + (uint64_t)t <= e + 1 && e <= tb + (uint64_t)t + 1))
			fail_msg("expires at %llu, not in [%llu, %llu]",
			    (unsigned long long)e, (unsigned long long)(ta + t),
			    (unsigned long long)(tb + t));
	}
	snprintf(k, sizeof(k), "%s{%s}:txn:78", fx->prefix, key);
	t = admin_int(fx, "PTTL %s", k);
	assert_true(t > STORE_TXN_MS - 5000 && t <= STORE_TXN_MS);
	/* a bucket from the future (Redis's clock stepped back) keeps it */
	snprintf(k, sizeof(k), "%s{%s}:fut:60:6", fx->prefix, key);
	admin_ok(fx, "HINCRBY %s %llu 1", k,
	    (unsigned long long)(redis_time_ms(fx) / 10000 + 3));
	it[0] = item("fut", 60, 6, 10, 1);
	assert_true(run(fx, key, NULL, 1, it, 1, NULL));
	assert_int_equal(it[0].count, 2);
	t = admin_int(fx, "PTTL %s", k);
	assert_true(t > 9 * 10000 - 5000 && t <= 10 * 10000);
	/* cost 0 and refused commits create no key */
	it[0] = item("zero", 3600, 12, 10, 0);
	it[1] = item("none", 3600, 12, 0, 1);
	assert_true(run(fx, key, NULL, 1, it, 1, NULL));
	assert_false(run(fx, key, NULL, 1, &it[1], 1, NULL));
	snprintf(k, sizeof(k), "%s{%s}:zero:3600:12", fx->prefix, key);
	assert_int_equal(admin_int(fx, "EXISTS %s", k), 0);
	snprintf(k, sizeof(k), "%s{%s}:none:3600:12", fx->prefix, key);
	assert_int_equal(admin_int(fx, "EXISTS %s", k), 0);
}

/* test_redis_real_time - 1 s in 1 bucket: refused, free again by 2 s */
static void
test_redis_real_time(void **state)
{
	struct fx *fx = *state;
	struct store_item it;
	char key[SENDER_KEY_LEN + 1];

	key_of("realtime@example.test", key);
	it = item("msg", 1, 1, 1, 1);
	assert_true(run(fx, key, NULL, 1, &it, 1, NULL));
	it = item("msg", 1, 1, 1, 1);
	assert_false(run(fx, key, NULL, 1, &it, 1, NULL));
	assert_true(it.retry >= 1 && it.retry <= 2);
	sleep_ms(2100);
	it = item("msg", 1, 1, 1, 1);
	assert_true(run(fx, key, NULL, 1, &it, 1, NULL));
	assert_int_equal(it.count, 1);
}

/* lcg - a small deterministic random source */
static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/*
 * test_redis_matches_window - the script's arithmetic is window.c's: seed
 * a hash with buckets around Redis's current one (stale, live, future,
 * garbage), then compare the script's count and retry with window_retry
 * at the Redis times just before and after the call.
 */
static void
test_redis_matches_window(void **state)
{
	static const struct { uint32_t w, b; } cfg[] = {
		{ 10, 10 }, { 60, 6 }, { 3600, 12 }, { 7, 3 }, { 5, 1 },
	};
	struct fx *fx = *state;
	struct window_bucket bk[16];
	struct store_item it;
	char key[SENDER_KEY_LEN + 1], k[256];
	uint64_t width, t0, t1, total, limit, cost;
	uint32_t seed = 12345, r0, r1;
	int64_t cur;
	size_t c, round, nb, j, tested = 0;
	redisReply *r;

	key_of("differential", key);
	for (c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		snprintf(k, sizeof(k), "%s{%s}:msg:%u:%u", fx->prefix, key,
		    cfg[c].w, cfg[c].b);
		width = window_width(cfg[c].w, cfg[c].b);
		for (round = 0; round < 60; round++) {
			admin_ok(fx, "DEL %s", k);
			t0 = redis_time_ms(fx);
			cur = window_index(t0, width);
			nb = lcg(&seed) % 8;
			total = 0;
			for (j = 0; j < nb; j++) {
				bk[j].index = cur - (int64_t)cfg[c].b - 3 +
				    (int64_t)(lcg(&seed) % (cfg[c].b + 6));
				bk[j].count = 1 + lcg(&seed) % 4;
				admin_ok(fx, "HINCRBY %s %lld %llu", k,
				    (long long)bk[j].index,
				    (unsigned long long)bk[j].count);
			}
			/* HINCRBY merged equal indexes: read them back */
			r = admin(fx, "HGETALL %s", k);
			nb = r->elements / 2;
			for (j = 0; j < nb; j++) {
				bk[j].index = strtoll(r->element[2 * j]->str,
				    NULL, 10);
				bk[j].count = strtoull(
				    r->element[2 * j + 1]->str, NULL, 10);
				if (window_live(bk[j].index, cur, cfg[c].b))
					total += bk[j].count;
			}
			freeReplyObject(r);
			if (round % 7 == 3)
				admin_ok(fx, "HSET %s junk 5", k);
			limit = lcg(&seed) % (total + 4);
			cost = lcg(&seed) % 4;
			it = item("msg", cfg[c].w, cfg[c].b, limit, cost);
			run(fx, key, NULL, round % 2, &it, 1, NULL);
			t1 = redis_time_ms(fx);
			if (window_index(t1, width) != cur)
				continue;	/* crossed a bucket edge */
			r0 = window_retry(bk, nb, t0, cfg[c].w, cfg[c].b,
			    limit, cost);
			r1 = window_retry(bk, nb, t1, cfg[c].w, cfg[c].b,
			    limit, cost);
			if (it.count != total + (round % 2 &&
			    total + cost <= limit ? cost : 0) ||
			    it.retry > r0 || it.retry < r1)
				fail_msg("w=%u b=%u round %zu: count %llu "
				    "retry %u; want %llu, retry in [%u, %u]",
				    cfg[c].w, cfg[c].b, round,
				    (unsigned long long)it.count, it.retry,
				    (unsigned long long)total, r1, r0);
			if (round % 2 == 0)	/* a check wrote nothing */
				assert_int_equal(admin_int(fx, "HLEN %s", k),
				    (long long)nb + (round % 7 == 3));
			if (round % 2) {	/* a commit dropped stale ones */
				r = admin(fx, "HKEYS %s", k);
				for (j = 0; j < r->elements; j++)
					assert_true(window_live(strtoll(
					    r->element[j]->str, NULL, 10), cur,
					    cfg[c].b));
				freeReplyObject(r);
			}
			tested++;
		}
	}
	assert_true(tested > 200);
}

/* closed_port - a loopback port nobody listens on */
static int
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* test_redis_down - nobody listening: -1 at once, naming host:port */
static void
test_redis_down(void **state)
{
	struct fx *fx = *state;
	struct store_redis_opts o = redis_opts(fx);
	struct store_item it = item("msg", 60, 1, 10, 1);
	struct store_req req;
	struct store_res res;
	struct store *st;
	char err[256], want[64], key[SENDER_KEY_LEN + 1];
	uint64_t t;
	int i;

	o.port = closed_port();
	o.connect_timeout_ms = 300;
	st = redis_store(&o);	/* lazy: creating it does not connect */
	assert_string_equal(st->kind, "redis");
	snprintf(want, sizeof(want), "redis 127.0.0.1:%d: connect: ", o.port);
	key_of("down", key);
	for (i = 0; i < 3; i++) {
		req = (struct store_req){ key, NULL, 1, &it, 1 };
		t = clock_mono_ms();
		err[0] = '\0';
		assert_int_equal(store_charge(st, &req, &res, err,
		    sizeof(err)), -1);
		assert_true(clock_mono_ms() - t < 300);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("error \"%s\" does not start \"%s\"", err,
			    want);
	}
	assert_int_equal(store_reset(st, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, want));
	store_free(st);
}

/*
 * test_redis_connect_timeout - a server that never accepts (its backlog
 * is full): the connect gives up after connect_timeout_ms.
 */
static void
test_redis_connect_timeout(void **state)
{
	struct fx *fx = *state;
	struct store_redis_opts o = redis_opts(fx);
	struct store_item it = item("msg", 60, 1, 10, 1);
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct store_req req;
	struct store_res res;
	struct store *st;
	char err[256], key[SENDER_KEY_LEN + 1];
	int lfd, fill[8], i, rc;
	uint64_t t;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(listen(lfd, 0), 0);
	for (i = 0; i < 8; i++) {	/* fill the accept queue */
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		(void)connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	sleep_ms(50);
	o.port = ntohs(sa.sin_port);
	o.connect_timeout_ms = 250;
	st = redis_store(&o);
	key_of("timeout", key);
	req = (struct store_req){ key, NULL, 1, &it, 1 };
	t = clock_mono_ms();
	rc = store_charge(st, &req, &res, err, sizeof(err));
	t = clock_mono_ms() - t;
	store_free(st);
	for (i = 0; i < 8; i++)
		close(fill[i]);
	close(lfd);
	assert_int_equal(rc, -1);
	/* SYN dropped: a timeout. Some kernels answer; then it must be fast */
	if (strstr(err, "connect: timeout") != NULL)
		assert_true(t >= 200 && t < 1000);
	else
		assert_true(t < 1000);
	assert_non_null(strstr(err, "redis 127.0.0.1:"));
}

/*
 * test_redis_pause - a paused Redis: the charge times out after the
 * command timeout; the timed-out connection is dropped, and after the
 * pause the retried txn and the next charge count exactly right.
 */
static void
test_redis_pause(void **state)
{
	struct fx *fx = *state;
	struct store_item it;
	struct store_req req;
	struct store_res res;
	char err[256], key[SENDER_KEY_LEN + 1];
	uint64_t t, paused;

	key_of("pause@example.test", key);
	assert_true(msg1(fx, key, 1, 10, 1, &it));	/* pooled, loaded */
	admin_ok(fx, "CLIENT PAUSE 1000 ALL");
	paused = clock_mono_ms();
	it = item("msg", 3600, 12, 10, 1);
	req = (struct store_req){ key, "lost-reply", 1, &it, 1 };
	t = clock_mono_ms();
	assert_int_equal(store_charge(fx->st, &req, &res, err, sizeof(err)),
	    -1);
	t = clock_mono_ms() - t;
	if (strstr(err, "timeout") == NULL)
		fail_msg("not a timeout: %s", err);
	assert_true(t >= CMD_MS - 20 && t < CMD_MS + 500);
	t = clock_mono_ms() - paused;
	sleep_ms(t < 1100 ? (unsigned)(1100 - t) : 0);
	/* the MTA retries: charged once whether or not the lost one ran */
	it = item("msg", 3600, 12, 10, 1);
	assert_true(run(fx, key, "lost-reply", 1, &it, 1, &res));
	assert_int_equal(it.count, 2);
	assert_true(msg1(fx, key, 1, 10, 1, &it));
	assert_int_equal(it.count, 3);
}

/* slow_thread - one check of the slow limit; counts an error */
static void *
slow_thread(void *arg)
{
	struct worker *w = arg;
	struct store_item it;
	struct store_req req;
	struct store_res res;
	char err[256];

	it = item("slow", 3600, 12, 500, 1);
	req = (struct store_req){ w->sender, NULL, STORE_CHECK, &it, 1 };
	if (store_charge(w->fx->st, &req, &res, err, sizeof(err)) != 0 &&
	    w->errors++ == 0)
		fprintf(stderr, "slow_thread: %s\n", err);
	return NULL;
}

/*
 * test_redis_pool_line - many sessions, one pooled connection, a slow
 * Redis that answers every call well within the command timeout: every
 * session gets Redis's answer, even those that wait in line longer than
 * one command timeout (the line keeps moving: Redis is busy, not dead;
 * at 1,000 sessions the fallback used to answer a few). Each call is
 * made slow by a limit's hash of 30,000 stale fields (a check reads
 * them all and deletes none); the timeout is 10 calls long (at least
 * 300 ms: the host is loaded), the line 32.
 */
static void
test_redis_pool_line(void **state)
{
	struct fx *fx = *state;
	struct store_redis_opts o = redis_opts(fx);
	struct worker w[32];
	pthread_t th[32];
	char key[SENDER_KEY_LEN + 1], k[256];
	uint64_t d[3], t;
	int i, errors = 0;

	key_of("line@example.test", key);
	snprintf(k, sizeof(k), "%s{%s}:slow:3600:12", fx->prefix, key);
	admin_ok(fx, "EVAL %s 1 %s", "for i = 1, 30000 do "
	    "redis.call('HSET', KEYS[1], i, 1) end return 'OK'", k);
	admin_ok(fx, "PEXPIRE %s 60000", k);
	store_free(fx->st);
	o.pool_max = 1;
	o.command_timeout_ms = 10000;
	fx->st = redis_store(&o);
	for (i = 0; i < 3; i++) {	/* one call's time, median of 3 */
		t = clock_mono_ms();
		w[0] = (struct worker){ fx, key, 1, 0, 0 };
		slow_thread(&w[0]);
		assert_int_equal(w[0].errors, 0);
		d[i] = clock_mono_ms() - t;
	}
	t = d[0] > d[1] ? (d[1] > d[2] ? d[1] : d[0] > d[2] ? d[2] : d[0]) :
	    (d[0] > d[2] ? d[0] : d[1] > d[2] ? d[2] : d[1]);
	store_free(fx->st);
	o.command_timeout_ms = (unsigned)(10 * t < 300 ? 300 : 10 * t);
	fx->st = redis_store(&o);
	for (i = 0; i < 32; i++) {
		w[i] = (struct worker){ fx, key, 1, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, slow_thread,
		    &w[i]), 0);
	}
	for (i = 0; i < 32; i++) {
		pthread_join(th[i], NULL);
		errors += w[i].errors;
	}
	if (errors != 0)
		fail_msg("%d of 32 sessions failed (one call %llu ms, "
		    "timeout %u ms)", errors, (unsigned long long)t,
		    o.command_timeout_ms);
}

/*
 * busy_start - keep Redis busy in a script for ms, on a connection of its
 * own whose reply busy_end collects: a command sent meanwhile waits in
 * its socket and runs afterwards, even if its client gave up and closed
 * (unlike CLIENT PAUSE, which drops a closed client's command)
 */
static redisContext *
busy_start(unsigned ms)
{
	redisContext *c = redisConnect("127.0.0.1", redis_port);
	int done = 0;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	redisAppendCommand(c, "EVAL %s 0 %u", "local s = redis.call('TIME') "
	    "local n repeat n = redis.call('TIME') until (n[1] - s[1]) * "
	    "1000000 + (n[2] - s[2]) >= ARGV[1] * 1000 return 1", ms);
	while (!done)
		assert_int_equal(redisBufferWrite(c, &done), REDIS_OK);
	sleep_ms(50);	/* it has started */
	return c;
}

/* busy_end - the busy script's reply */
static void
busy_end(redisContext *c)
{
	void *r = NULL;

	assert_int_equal(redisGetReply(c, &r), REDIS_OK);
	freeReplyObject(r);
	redisFree(c);
}

/*
 * test_redis_pause_retry - a commit with a txn whose reply is lost to a
 * stalled Redis (longer than the command timeout) is retried once on a
 * fresh connection, and the message is charged exactly once: whether the
 * lost call was dropped (CLIENT PAUSE) or ran late (a busy Redis), the
 * txn key makes the second to run a replay. A commit without a txn is
 * not retried: its lost call may have run (it does, when Redis is busy).
 */
static void
test_redis_pause_retry(void **state)
{
	struct fx *fx = *state;
	struct store_redis_opts o = redis_opts(fx);
	struct store_item it;
	struct store_req req;
	struct store_res res;
	struct store *st;
	redisContext *busy;
	char err[256], key[SENDER_KEY_LEN + 1], k[256];
	uint64_t t;

	o.command_timeout_ms = 1000;
	st = redis_store(&o);
	key_of("retry@example.test", key);
	it = item("msg", 3600, 12, 10, 0);
	req = (struct store_req){ key, NULL, STORE_CHECK, &it, 1 };
	assert_int_equal(store_charge(st, &req, &res, err, sizeof(err)), 0);

	/* paused past the command timeout: the retry answers, counted once */
	admin_ok(fx, "CLIENT PAUSE 1500 WRITE");
	t = clock_mono_ms();
	it = item("msg", 3600, 12, 10, 1);
	req = (struct store_req){ key, "mx.example/4XyZ1", STORE_COMMIT, &it,
	    1 };
	if (store_charge(st, &req, &res, err, sizeof(err)) != 0)
		fail_msg("the retried commit failed: %s", err);
	t = clock_mono_ms() - t;
	assert_true(t >= 1000 && t < 3500);	/* timed out, then waited */
	assert_true(res.allowed);
	sleep_ms(200);
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 1);
	/* 10 min, not the hour of the window */
	snprintf(k, sizeof(k), "%s{%s}:txn:%s", fx->prefix, key,
	    "6d782e6578616d706c652f3458795a31");
	t = (uint64_t)admin_int(fx, "PTTL %s", k);
	assert_true(t > STORE_TXN_MS - 10000 && t <= STORE_TXN_MS);

	/* busy: the lost call runs late, and so does the retry: once */
	busy = busy_start(1500);
	it = item("msg", 3600, 12, 10, 1);
	req = (struct store_req){ key, "mx.example/4XyZ2", STORE_COMMIT, &it,
	    1 };
	if (store_charge(st, &req, &res, err, sizeof(err)) != 0)
		fail_msg("the retried commit failed: %s", err);
	busy_end(busy);
	sleep_ms(200);
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 2);

	/* no txn: a lost reply is an error, not a retry; the call ran */
	busy = busy_start(1500);
	it = item("msg", 3600, 12, 10, 1);
	req = (struct store_req){ key, NULL, STORE_COMMIT, &it, 1 };
	assert_int_equal(store_charge(st, &req, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "timeout"));
	busy_end(busy);
	sleep_ms(200);
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 3);
	store_free(st);
}

/* cmdstats - INFO commandstats: calls per command, into names/calls */
struct cmdstats {
	char		 name[64][32];
	unsigned long	 calls[64];
	size_t		 n;
};

static void
cmdstats(struct fx *fx, struct cmdstats *cs)
{
	redisReply *r = admin(fx, "INFO commandstats");
	const char *p;
	char name[32];
	unsigned long calls;
	int used;

	assert_int_equal(r->type, REDIS_REPLY_STRING);
	cs->n = 0;
	for (p = r->str; (p = strstr(p, "cmdstat_")) != NULL; p += used) {
		used = 8;
		if (sscanf(p, "cmdstat_%31[^:]:calls=%lu%n", name, &calls,
		    &used) != 2 || cs->n == 64)
			continue;
		snprintf(cs->name[cs->n], sizeof(cs->name[0]), "%s", name);
		cs->calls[cs->n++] = calls;
	}
	freeReplyObject(r);
}

/* cmd_delta - calls of one command between two snapshots */
static long
cmd_delta(const struct cmdstats *a, const struct cmdstats *b,
    const char *name)
{
	unsigned long x = 0, y = 0;
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->name[i], name) == 0)
			x = a->calls[i];
	for (i = 0; i < b->n; i++)
		if (strcmp(b->name[i], name) == 0)
			y = b->calls[i];
	return (long)(y - x);
}

/*
 * calls_are - between two snapshots: `evalsha` EVALSHA calls, `loads`
 * SCRIPT LOADs, `runs` script runs (each reads TIME once), and nothing
 * else but the commands the script itself calls (which INFO counts too).
 */
static void
calls_are(const struct cmdstats *a, const struct cmdstats *b, long evalsha,
    long loads, long runs)
{
	static const char *const inner[] = { "time", "exists", "hgetall",
	    "hdel", "hincrby", "pexpire", "set", "info", NULL };
	const char *const *p;
	size_t i;

	assert_int_equal(cmd_delta(a, b, "evalsha"), evalsha);
	assert_int_equal(cmd_delta(a, b, "script|load"), loads);
	assert_int_equal(cmd_delta(a, b, "time"), runs);
	for (i = 0; i < b->n; i++) {
		if (strcmp(b->name[i], "evalsha") == 0 ||
		    strcmp(b->name[i], "script|load") == 0)
			continue;
		for (p = inner; *p != NULL && strcmp(*p, b->name[i]) != 0; p++)
			;
		if (*p == NULL && cmd_delta(a, b, b->name[i]) != 0)
			fail_msg("unexpected %s calls: %ld", b->name[i],
			    cmd_delta(a, b, b->name[i]));
	}
}

/*
 * test_redis_round_trips - one charge is one EVALSHA; the script is
 * loaded on first use and again after NOSCRIPT, nothing else is sent.
 * Needs the fixture to itself (no concurrent client).
 */
static void
test_redis_round_trips(void **state)
{
	struct fx *fx = *state;
	struct cmdstats a, b;
	struct store_item it[4];
	char key[SENDER_KEY_LEN + 1];
	int i;

	key_of("trips@example.test", key);
	cmdstats(fx, &a);
	assert_true(msg1(fx, key, 1, 100, 1, NULL));	/* first use */
	cmdstats(fx, &b);
	calls_are(&a, &b, 1, 1, 1);
	for (i = 0; i < 10; i++) {	/* 4 limits, txn: still one call */
		it[0] = item("msg", 3600, 12, 100, 1);
		it[1] = item("msg", 86400, 24, 1000, 1);
		it[2] = item("rcpt", 3600, 12, 1000, 7);
		it[3] = item("rcpt", 86400, 24, 10000, 7);
		assert_true(run(fx, key, i % 2 ? "t" : NULL, i % 3 != 0, it,
		    4, NULL));
	}
	cmdstats(fx, &a);
	calls_are(&b, &a, 10, 0, 10);

	admin_ok(fx, "SCRIPT FLUSH");	/* as after a restart */
	cmdstats(fx, &a);
	assert_true(msg1(fx, key, 1, 100, 1, NULL));
	cmdstats(fx, &b);
	calls_are(&a, &b, 2, 1, 1);	/* NOSCRIPT, load, run */
	assert_true(msg1(fx, key, 1, 100, 1, NULL));
	cmdstats(fx, &a);
	calls_are(&b, &a, 1, 0, 1);
}

/* acl_user - an ACL user for this test, limited to its prefix */
static void
acl_user(struct fx *fx, const char *pass)
{
	snprintf(fx->acl_user, sizeof(fx->acl_user), "sltest%d-%u",
	    (int)getpid(), test_seq);
	admin_ok(fx, "ACL SETUSER %s on >%s ~%s* +@all", fx->acl_user, pass,
	    fx->prefix);
}

/* test_redis_auth - AUTH user pass on connect; a wrong one is an error */
static void
test_redis_auth(void **state)
{
	struct fx *fx = *state;
	struct store_redis_opts o = redis_opts(fx);
	struct store_item it;
	struct store_req req;
	struct store_res res;
	struct store *st;
	char err[256], key[SENDER_KEY_LEN + 1];

	acl_user(fx, "s3cret pass");
	key_of("auth@example.test", key);
	o.username = fx->acl_user;
	o.password = "s3cret pass";
	st = redis_store(&o);
	it = item("msg", 60, 1, 10, 1);
	req = (struct store_req){ key, NULL, 1, &it, 1 };
	if (store_charge(st, &req, &res, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(it.count, 1);
	store_free(st);

	o.password = "wrong";
	st = redis_store(&o);
	assert_int_equal(store_charge(st, &req, &res, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ": AUTH: "));
	assert_null(strstr(err, "wrong"));	/* no password in errors */
	store_free(st);
}

/*
 * test_redis_stale_pool - Redis closed the pooled connections (restart,
 * idle timeout, CLIENT KILL): the next charge reconnects and succeeds.
 */
static void
test_redis_stale_pool(void **state)
{
	struct fx *fx = *state;
	struct store_redis_opts o = redis_opts(fx);
	struct store_item it;
	struct store *st;
	char key[SENDER_KEY_LEN + 1];

	acl_user(fx, "pw");
	o.username = fx->acl_user;
	o.password = "pw";
	st = redis_store(&o);
	store_free(fx->st);
	fx->st = st;
	key_of("stale@example.test", key);
	assert_true(msg1(fx, key, 1, 10, 1, &it));
	assert_true(admin_int(fx, "CLIENT KILL USER %s", fx->acl_user) >= 1);
	assert_true(msg1(fx, key, 1, 10, 1, &it));
	assert_int_equal(it.count, 2);
	assert_true(admin_int(fx, "CLIENT KILL USER %s", fx->acl_user) >= 1);
	assert_int_equal(store_reset(fx->st, key, (char[64]){ 0 }, 64), 0);
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 0);
}

/* test_redis_bad_opts - options that cannot work are refused at once */
static void
test_redis_bad_opts(void **state)
{
	struct fx *fx = *state;
	struct store_redis_opts base = redis_opts(fx), o;
	char err[256];
	int i;

	for (i = 0; i < 12; i++) {
		o = base;
		switch (i) {
		case 0: o.host = NULL; break;
		case 1: o.port = 0; break;
		case 2: o.port = 65536; break;
		case 3: o.prefix = "a{b"; break;
		case 4: o.prefix = "a b"; break;
		case 5: o.prefix = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaa"; break;
		case 6: o.pool_max = 0; break;
		case 7: o.connect_timeout_ms = 0; break;
		case 8: o.command_timeout_ms = 0; break;
		case 9: o.username = "u"; break;
		case 10: o.unix_path = "/tmp/x.sock"; break;
		case 11: o.host = ""; break;
		}
		err[0] = '\0';
		if (store_redis_new(&o, err, sizeof(err)) != NULL)
			fail_msg("case %d accepted", i);
		assert_true(strncmp(err, "redis: ", 7) == 0);
	}
	o = base;	/* a unix socket alone is fine; NULL prefix: default */
	o.host = NULL;
	o.unix_path = "/nonexistent/redis.sock";
	o.prefix = NULL;
	store_free(redis_store(&o));
}

/*
 * test_redis_surprises - a key of the wrong type and junk fields: an
 * error (no crash), the connection stays usable; junk is dropped.
 */
static void
test_redis_surprises(void **state)
{
	struct fx *fx = *state;
	struct store_item it;
	struct store_req req;
	struct store_res res;
	char err[256], a[SENDER_KEY_LEN + 1], k[256];

	key_of("surprise-a", a);
	snprintf(k, sizeof(k), "%s{%s}:msg:3600:12", fx->prefix, a);
	admin_ok(fx, "SET %s x", k);
	it = item("msg", 3600, 12, 10, 1);
	req = (struct store_req){ a, NULL, 1, &it, 1 };
	assert_int_equal(store_charge(fx->st, &req, &res, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "WRONGTYPE"));
	admin_ok(fx, "DEL %s", k);
	admin_ok(fx, "HSET %s junk 5 12 x 1e3 1 -inf 2 nan 3 3.5 7 %llu -4 "
	    "%llu 0", k, (unsigned long long)(redis_time_ms(fx) / 300000),
	    (unsigned long long)(redis_time_ms(fx) / 300000 - 1));
	assert_true(msg1(fx, a, 1, 2, 1, &it));
	assert_int_equal(it.count, 1);
	assert_int_equal(admin_int(fx, "HLEN %s", k), 1);
}

/* ---- no store ---- */

/* src_path - a file of the source tree */
static void
src_path(const char *rel, char *out, size_t outlen)
{
	const char *src = getenv("SLUICE_SRC"), *data;
	size_t n;

	if (src != NULL && src[0] != '\0') {
		snprintf(out, outlen, "%s/%s", src, rel);
		return;
	}
	data = getenv("SLUICE_TEST_DATA");
	if (data != NULL && (n = strlen(data)) > 10 &&
	    strcmp(data + n - 10, "/test/data") == 0) {
		snprintf(out, outlen, "%.*s/%s", (int)(n - 10), data, rel);
		return;
	}
	n = strlen(__FILE__);	/* .../test/unit/test_store.c */
	snprintf(out, outlen, "%.*s/%s", (int)(n > 22 ? n - 22 : 0), __FILE__,
	    rel);
}

/* test_script_file - the compiled-in script is contrib/redis/charge.lua */
static void
test_script_file(void **state)
{
	char path[1024], *buf;
	FILE *fp;
	size_t n;

	(void)state;
	src_path("contrib/redis/charge.lua", path, sizeof(path));
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	buf = malloc(charge_lua_len + 2);
	assert_non_null(buf);
	n = fread(buf, 1, charge_lua_len + 1, fp);
	fclose(fp);
	assert_int_equal(n, charge_lua_len);
	assert_memory_equal(buf, charge_lua, charge_lua_len);
	assert_int_equal(strlen(charge_lua), charge_lua_len);
	free(buf);
}

/*
 * test_soft - a soft item over its limit is reported but does not stop
 * the charge; a hard one does
 */
static void
test_soft(void **state)
{
	struct fx *fx = *state;
	struct store_item it[2];
	char a[SENDER_KEY_LEN + 1];
	int i;

	key_of("soft@example.test", a);
	for (i = 1; i <= 4; i++) {
		it[0] = item("msg", 3600, 12, 100, 1);
		it[1] = item("rep", 3600, 12, 2, 1);
		it[1].soft = 1;
		assert_true(run(fx, a, NULL, 1, it, 2, NULL));
		assert_int_equal(it[0].count, (uint64_t)i);
		assert_int_equal(it[1].count, (uint64_t)i);
		assert_int_equal(it[1].over, i > 2);
		assert_false(it[0].over);
	}
	it[0] = item("msg", 3600, 12, 4, 1);	/* hard and full */
	it[1] = item("rep", 3600, 12, 2, 1);
	it[1].soft = 1;
	assert_false(run(fx, a, NULL, 1, it, 2, NULL));
	assert_true(it[0].over);
	assert_int_equal(count_of(fx, a, "rep", 3600, 12), 4);
}

/* test_scope_sub - scoped items are shared by senders; subs are apart */
static void
test_scope_sub(void **state)
{
	struct fx *fx = *state;
	static const char body1[] = "0123456789abcdef0123456789abcdef";
	static const char body2[] = "fedcba9876543210fedcba9876543210";
	struct store_item it;
	char a[SENDER_KEY_LEN + 1], b[SENDER_KEY_LEN + 1];

	key_of("a@example.test", a);
	key_of("b@example.test", b);
	/* one body counted across senders */
	it = item("body", 3600, 12, 10, 1);
	strcpy(it.scope, body1);
	assert_true(run(fx, a, NULL, 1, &it, 1, NULL));
	it = item("body", 3600, 12, 10, 1);
	strcpy(it.scope, body1);
	assert_true(run(fx, b, NULL, 1, &it, 1, NULL));
	assert_int_equal(it.count, 2);
	/* the sender's own counters are not the body's */
	assert_int_equal(count_of(fx, a, "body", 3600, 12), 0);
	/* per-sender sub-counters: one per body */
	it = item("rep", 3600, 12, 10, 1);
	strcpy(it.sub, body1);
	assert_true(run(fx, a, NULL, 1, &it, 1, NULL));
	assert_true(run(fx, a, NULL, 1, &it, 1, NULL));
	assert_int_equal(it.count, 2);
	it = item("rep", 3600, 12, 10, 1);
	strcpy(it.sub, body2);
	assert_true(run(fx, a, NULL, 1, &it, 1, NULL));
	assert_int_equal(it.count, 1);
	/* not hex: refused before it reaches a key */
	it = item("rep", 3600, 12, 10, 1);
	strcpy(it.sub, "x}:*");
	{
		struct store_req req = { a, NULL, 1, &it, 1 };
		struct store_res res;
		char err[256];

		assert_int_equal(store_charge(fx->st, &req, &res, err,
		    sizeof(err)), -1);
	}
}

/*
 * test_distinct - one body from many senders: distinct senders counted,
 * a sender seen again is not new, the (K+1)th sender is over
 */
static void
test_distinct(void **state)
{
	struct fx *fx = *state;
	static const char body[] = "00112233445566778899aabbccddeeff";
	struct store_item it;
	char k[SENDER_KEY_LEN + 1], login[64];
	int i;

	for (i = 1; i <= 5; i++) {
		snprintf(login, sizeof(login), "wave%d@example.test", i);
		key_of(login, k);
		it = item("wave", 3600, 12, 5, 1);
		strcpy(it.scope, body);
		it.distinct = 1;
		assert_true(run(fx, k, NULL, 1, &it, 1, NULL));
		assert_int_equal(it.count, (uint64_t)i);
		assert_false(it.over);
		/* the same sender again: still i senders */
		it = item("wave", 3600, 12, 5, 1);
		strcpy(it.scope, body);
		it.distinct = 1;
		assert_true(run(fx, k, NULL, 1, &it, 1, NULL));
		assert_int_equal(it.count, (uint64_t)i);
	}
	key_of("wave6@example.test", k);
	it = item("wave", 3600, 12, 5, 1);
	strcpy(it.scope, body);
	it.distinct = 1;
	assert_false(run(fx, k, NULL, 1, &it, 1, NULL));
	assert_true(it.over);
	assert_int_equal(it.count, 5);
	assert_true(it.retry > 0 && it.retry <= 3600);
	/* soft: the sixth is charged and reported */
	it.soft = 1;
	assert_true(run(fx, k, NULL, 1, &it, 1, NULL));
	assert_true(it.over);
	assert_int_equal(it.count, 6);
}

/*
 * test_on_refuse - a refusal counter: charged only by refused requests
 * (at commit, and at a recording check), never by accepted ones
 */
static void
test_on_refuse(void **state)
{
	struct fx *fx = *state;
	struct store_item it[2];
	char a[SENDER_KEY_LEN + 1];
	int i;

	key_of("refused@example.test", a);
	for (i = 0; i < 2; i++) {	/* two accepted: no refusal counted */
		it[0] = item("msg", 3600, 12, 2, 1);
		it[1] = item("refused", 3600, 12, 3, 1);
		it[1].on_refuse = 1;
		assert_true(run(fx, a, NULL, STORE_COMMIT, it, 2, NULL));
		assert_int_equal(it[1].count, 0);
		assert_false(it[1].over);
	}
	/* a refused commit, a refused recording check: 2 refusals */
	it[0] = item("msg", 3600, 12, 2, 1);
	it[1] = item("refused", 3600, 12, 3, 1);
	it[1].on_refuse = 1;
	assert_false(run(fx, a, NULL, STORE_COMMIT, it, 2, NULL));
	assert_int_equal(it[1].count, 1);
	assert_int_equal(count_of(fx, a, "msg", 3600, 12), 2);
	assert_false(run(fx, a, NULL, STORE_CHECK_RECORD, it, 2, NULL));
	assert_int_equal(it[1].count, 2);
	/* a plain check records nothing */
	assert_false(run(fx, a, NULL, STORE_CHECK, it, 2, NULL));
	assert_int_equal(it[1].count, 2);
	assert_false(it[1].over);
	/* the 3rd and 4th refusals: over its limit of 3 on the 4th */
	assert_false(run(fx, a, NULL, STORE_CHECK_RECORD, it, 2, NULL));
	assert_false(it[1].over);
	assert_false(run(fx, a, NULL, STORE_CHECK_RECORD, it, 2, NULL));
	assert_int_equal(it[1].count, 4);
	assert_true(it[1].over);
}

/*
 * test_refused - a request refused before the store (STORE_REFUSED): not
 * allowed, nothing charged but the refusal counter, even when every
 * limit fits; the other items' counts and overs are still reported
 */
static void
test_refused(void **state)
{
	struct fx *fx = *state;
	struct store_item it[3];
	char a[SENDER_KEY_LEN + 1];
	int i;

	key_of("refused-early@example.test", a);
	for (i = 0; i < 3; i++) {
		it[0] = item("msg", 3600, 12, 2, 1);
		it[1] = item("refused", 3600, 12, 2, 1);
		it[1].on_refuse = 1;
		it[2] = item("lock", 60, 60, 0, 0);
		assert_false(run(fx, a, NULL, STORE_REFUSED, it, 3, NULL));
		assert_int_equal(it[0].count, 0);
		assert_false(it[0].over);
		assert_int_equal(it[1].count, (uint64_t)i + 1);
		assert_int_equal(it[1].over, i == 2);	/* 3 > 2 */
		assert_false(it[2].over);
	}
	assert_int_equal(count_of(fx, a, "msg", 3600, 12), 0);
	/* the messages window was never charged: both still fit */
	for (i = 0; i < 2; i++) {
		it[0] = item("msg", 3600, 12, 2, 1);
		it[1] = item("refused", 3600, 12, 2, 1);
		it[1].on_refuse = 1;
		assert_true(run(fx, a, NULL, STORE_COMMIT, it, 2, NULL));
	}
	assert_int_equal(count_of(fx, a, "msg", 3600, 12), 2);
	assert_int_equal(count_of(fx, a, "refused", 3600, 12), 3);
}

/* unowned_req - msg (limit mlim), a domain total over (unowned), refused */
static void
unowned_req(struct store_item *it, const char *dom, uint64_t mlim)
{
	it[0] = item("msg", 3600, 12, mlim, 1);
	it[1] = item("dom_msg", 3600, 12, 0, 1);
	snprintf(it[1].scope, sizeof(it[1].scope), "%s", dom);
	it[1].unowned = 1;
	it[2] = item("refused", 3600, 12, 3, 1);
	it[2].on_refuse = 1;
}

/*
 * test_unowned - a request refused only by an unowned item (a domain's
 * total its other logins filled) charges no on-refuse item, at commit
 * and at a recording check; with an owned hard item over as well, or
 * refused already (STORE_REFUSED), it does
 */
static void
test_unowned(void **state)
{
	struct fx *fx = *state;
	struct store_item it[3];
	char a[SENDER_KEY_LEN + 1], dom[SENDER_KEY_LEN + 1];

	key_of("innocent@customer.example", a);
	key_of("@customer.example", dom);
	unowned_req(it, dom, 5);
	assert_false(run(fx, a, NULL, STORE_COMMIT, it, 3, NULL));
	assert_true(it[1].over);
	assert_int_equal(it[2].count, 0);
	assert_false(it[2].over);
	unowned_req(it, dom, 5);
	assert_false(run(fx, a, NULL, STORE_CHECK_RECORD, it, 3, NULL));
	assert_int_equal(it[2].count, 0);
	assert_false(it[2].over);
	assert_int_equal(count_of(fx, a, "refused", 3600, 12), 0);
	assert_int_equal(count_of(fx, a, "msg", 3600, 12), 0);
	/* the login's own limit is over too: its refusal counts */
	unowned_req(it, dom, 0);
	assert_false(run(fx, a, NULL, STORE_COMMIT, it, 3, NULL));
	assert_int_equal(it[2].count, 1);
	unowned_req(it, dom, 0);
	assert_false(run(fx, a, NULL, STORE_CHECK_RECORD, it, 3, NULL));
	assert_int_equal(it[2].count, 2);
	/* refused already by the login's own doing: counted */
	unowned_req(it, dom, 5);
	assert_false(run(fx, a, NULL, STORE_REFUSED, it, 3, NULL));
	assert_int_equal(it[2].count, 3);
	assert_int_equal(count_of(fx, a, "refused", 3600, 12), 3);
	assert_int_equal(count_of(fx, a, "msg", 3600, 12), 0);
}

/* later - let ms pass: the memory store's clock, or really on redis */
static void
later(struct fx *fx, unsigned ms)
{
	if (fx->redis)
		sleep_ms(ms);
	else
		fx->now += ms;
}

/* near_item - a near item: window, limit, distance, this body's simhash */
static struct store_item
near_item(uint32_t window, uint64_t limit, unsigned distance, uint64_t sim)
{
	struct store_item it = item("near", window, 1, limit, 1);

	it.near = 1;
	it.distance = (uint8_t)distance;
	it.simhash = sim;
	return it;
}

/* flip - a simhash with its lowest n bits flipped */
static uint64_t
flip(uint64_t sim, unsigned n)
{
	return n >= 64 ? ~sim : sim ^ ((1ULL << n) - 1);
}

/*
 * test_near - a sender's near-duplicate bodies: those within the distance
 * count, one bit further does not; the (N+1)th near one is over and not
 * kept (hard) or kept (soft); unrelated bodies pass
 */
static void
test_near(void **state)
{
	struct fx *fx = *state;
	const uint64_t s0 = 0x0123456789abcdefULL;
	struct store_item it;
	char a[SENDER_KEY_LEN + 1], b[SENDER_KEY_LEN + 1];
	unsigned i;

	key_of("near@example.test", a);
	key_of("other@example.test", b);
	/* 0, 1 and 10 bits apart: near at distance 10 */
	for (i = 0; i < 3; i++) {
		it = near_item(3600, 3, 10, flip(s0, i == 2 ? 10 : i));
		assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
		assert_int_equal(it.count, i + 1);
		assert_false(it.over);
	}
	/* 11 bits from s0 (and further from the others): not near at 10,
	 * near to s0 at 11 */
	it = near_item(3600, 3, 10, s0 ^ (0x7ffULL << 32));
	assert_true(run(fx, a, NULL, STORE_CHECK, &it, 1, NULL));
	assert_int_equal(it.count, 0);
	it.distance = 11;
	assert_true(run(fx, a, NULL, STORE_CHECK, &it, 1, NULL));
	assert_int_equal(it.count, 1);
	/* a fourth near body: over; refused, retry within the window */
	it = near_item(3600, 3, 10, flip(s0, 4));
	assert_false(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	assert_true(it.over);
	assert_int_equal(it.count, 3);
	assert_true(it.retry > 0 && it.retry <= 3600);
	/* nothing was kept: still over, still 3 */
	assert_false(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	assert_int_equal(it.count, 3);
	/* an unrelated body passes; another sender's counts are its own */
	it = near_item(3600, 3, 10, ~s0);
	assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	assert_int_equal(it.count, 1);
	it = near_item(3600, 3, 10, s0);
	assert_true(run(fx, b, NULL, STORE_COMMIT, &it, 1, NULL));
	assert_int_equal(it.count, 1);
	/* soft: over but kept and counted */
	it = near_item(3600, 3, 10, s0);
	it.soft = 1;
	assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	assert_true(it.over);
	assert_int_equal(it.count, 4);
	/* distance 0: only the very same simhash */
	it = near_item(3600, 3, 0, flip(s0, 1));
	assert_true(run(fx, a, NULL, STORE_CHECK, &it, 1, NULL));
	assert_int_equal(it.count, 1);
	/* a limit the kept list cannot show is refused */
	it = near_item(3600, STORE_NEAR_KEEP, 10, s0);
	{
		struct store_req req = { a, NULL, STORE_COMMIT, &it, 1 };
		struct store_res res;
		char err[256];

		assert_int_equal(store_charge(fx->st, &req, &res, err,
		    sizeof(err)), -1);
	}
}

/*
 * test_near_bound - only the last STORE_NEAR_KEEP bodies are kept, and
 * they leave when the window ends
 */
static void
test_near_bound(void **state)
{
	struct fx *fx = *state;
	const uint64_t s0 = 0xfedcba9876543210ULL;
	struct store_item it;
	char a[SENDER_KEY_LEN + 1], k[256];
	unsigned i;

	key_of("bound@example.test", a);
	for (i = 0; i < STORE_NEAR_KEEP + 8; i++) {
		it = near_item(3600, STORE_NEAR_KEEP - 1, 10, s0);
		it.soft = 1;
		assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
		assert_int_equal(it.count, i < STORE_NEAR_KEEP ? i + 1 :
		    STORE_NEAR_KEEP + 1);
	}
	it = near_item(3600, STORE_NEAR_KEEP - 1, 10, s0);
	it.cost = 0;
	run(fx, a, NULL, STORE_CHECK, &it, 1, NULL);
	assert_int_equal(it.count, STORE_NEAR_KEEP);
	if (fx->redis) {	/* one string, 16 bytes a body, with a TTL */
		snprintf(k, sizeof(k), "%s{%s}:near:3600:sims", fx->prefix, a);
		assert_int_equal(admin_int(fx, "STRLEN %s", k),
		    STORE_NEAR_KEEP * STORE_NEAR_BYTES);
		assert_true(admin_int(fx, "PTTL %s", k) > 3600000 - 5000);
	}
	/* one body, then 32 unlike it: it has left the list */
	key_of("mixer@example.test", a);
	it = near_item(3600, 5, 10, s0);
	assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	for (i = 0; i < STORE_NEAR_KEEP; i++) {
		it = near_item(3600, 5, 10, flip(s0, 20 + i % 30));
		it.soft = 1;	/* alike among themselves: kept anyway */
		assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	}
	it = near_item(3600, 5, 10, s0);
	assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	assert_int_equal(it.count, 1);
	if (fx->redis) {	/* a damaged list is read as far as it goes */
		snprintf(k, sizeof(k), "%s{%s}:near:3600:sims", fx->prefix, a);
		admin_ok(fx, "SET %s %s", k, "not a list of bodies");
		it = near_item(3600, 5, 10, s0);
		assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
		assert_true(it.count >= 1 && it.count <= 2);
		assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	}
	/* a 1 s window: two near bodies, then the window passes */
	key_of("expiry@example.test", a);
	it = near_item(1, 1, 10, s0);
	assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	it = near_item(1, 1, 10, s0);
	assert_false(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	assert_true(it.retry >= 1 && it.retry <= 1);
	later(fx, 1100);
	it = near_item(1, 1, 10, s0);
	assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1, NULL));
	assert_int_equal(it.count, 1);
}

/*
 * test_distinct_member - a distinct item of the sender with members of
 * its own (hashes of client addresses): each new member counts once, the
 * (K+1)th is over, another sender's members are not this one's
 */
static void
test_distinct_member(void **state)
{
	struct fx *fx = *state;
	struct store_item it;
	char a[SENDER_KEY_LEN + 1], b[SENDER_KEY_LEN + 1];
	char ip[32], m[SENDER_KEY_LEN + 1];
	int i;

	key_of("roaming@example.test", a);
	key_of("home@example.test", b);
	for (i = 1; i <= 4; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		key_of(ip, m);
		it = item("clients", 3600, 12, 3, 1);
		it.distinct = 1;
		strcpy(it.member, m);
		if (i <= 3) {
			assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1,
			    NULL));
			assert_int_equal(it.count, (uint64_t)i);
			/* the same address again is not new */
			assert_true(run(fx, a, NULL, STORE_COMMIT, &it, 1,
			    NULL));
			assert_int_equal(it.count, (uint64_t)i);
		} else {
			assert_false(run(fx, a, NULL, STORE_COMMIT, &it, 1,
			    NULL));
			assert_true(it.over);
			assert_int_equal(it.count, 3);
			assert_true(it.retry > 0 && it.retry <= 3600);
			/* checked at MAIL: over too, nothing written */
			assert_false(run(fx, a, NULL, STORE_CHECK, &it, 1,
			    NULL));
			/* from another login, the address is new and fits */
			assert_true(run(fx, b, NULL, STORE_COMMIT, &it, 1,
			    NULL));
			assert_int_equal(it.count, 1);
		}
	}
	/* a member that is not hex never reaches the store */
	it = item("clients", 3600, 12, 3, 1);
	it.distinct = 1;
	strcpy(it.member, "192.0.2.1");
	{
		struct store_req req = { a, NULL, STORE_COMMIT, &it, 1 };
		struct store_res res;
		char err[256];

		assert_int_equal(store_charge(fx->st, &req, &res, err,
		    sizeof(err)), -1);
	}
}

/*
 * test_recipient_kinds - external and internal recipients are items of
 * their own beside the total (policy.c's ext_rcpt, int_rcpt): over the
 * external limit, the message is refused and nothing is charged, though
 * the total fits; internal recipients still fit; cost 0 (MAIL, before
 * the recipients) is never over.
 */
static void
test_recipient_kinds(void **state)
{
	struct fx *fx = *state;
	struct store_item it[4];
	struct store_res res;
	char key[SENDER_KEY_LEN + 1];

	key_of("kinds@example.test", key);
	it[0] = item("msg", 3600, 12, 100, 1);
	it[1] = item("rcpt", 3600, 12, 100, 3);
	it[2] = item("ext_rcpt", 3600, 12, 5, 2);
	it[3] = item("int_rcpt", 3600, 12, 10, 1);
	assert_true(run(fx, key, NULL, 1, it, 4, &res));
	it[1].cost = 3;
	it[2].cost = 3;
	it[3].cost = 0;
	assert_true(run(fx, key, NULL, 1, it, 4, &res));
	assert_int_equal(it[2].count, 5);	/* at the external limit */
	/* one more external recipient: refused, the total far from full */
	it[1].cost = 1;
	it[2].cost = 1;
	assert_false(run(fx, key, NULL, 1, it, 4, &res));
	assert_true(it[2].over);
	assert_false(it[1].over);
	assert_false(it[3].over);
	assert_true(it[2].retry > 0 && it[2].retry <= 3600 + 300);
	assert_int_equal(count_of(fx, key, "msg", 3600, 12), 2);
	assert_int_equal(count_of(fx, key, "rcpt", 3600, 12), 6);
	assert_int_equal(count_of(fx, key, "ext_rcpt", 3600, 12), 5);
	assert_int_equal(count_of(fx, key, "int_rcpt", 3600, 12), 1);
	/* internal mail still flows */
	it[1].cost = 4;
	it[2].cost = 0;
	it[3].cost = 4;
	assert_true(run(fx, key, NULL, 1, it, 4, &res));
	assert_false(it[2].over);
	assert_int_equal(it[2].count, 5);
	assert_int_equal(count_of(fx, key, "rcpt", 3600, 12), 10);
	assert_int_equal(count_of(fx, key, "int_rcpt", 3600, 12), 5);
	/* the MAIL check: cost 0 at the limit is not over */
	it[1].cost = 1;
	it[3].cost = 0;
	assert_true(run(fx, key, NULL, 0, it, 4, &res));
}

/*
 * test_domain_shared - policy.c's domain totals: an item scoped to the
 * domain's key is one counter for every login of it; 30 logins of one
 * domain get exactly its limit, another domain's logins are unaffected,
 * and a refusal by the login's own limit charges the domain nothing
 * (single store: one atomic call).
 */
static void
test_domain_shared(void **state)
{
	struct fx *fx = *state;
	struct store_item it[2];
	struct store_res res;
	char key[SENDER_KEY_LEN + 1], dom[SENDER_KEY_LEN + 1];
	char other[SENDER_KEY_LEN + 1], login[64];
	unsigned i, round, ok = 0;

	key_of("@customer.example", dom);
	key_of("@other.example", other);
	for (round = 0; round < 2; round++)
		for (i = 0; i < 30; i++) {
			snprintf(login, sizeof(login), "u%u@customer.example",
			    i);
			key_of(login, key);
			it[0] = item("msg", 3600, 12, 5, 1);
			it[1] = item("dom_msg", 3600, 12, 45, 1);
			snprintf(it[1].scope, sizeof(it[1].scope), "%s", dom);
			if (run(fx, key, NULL, 1, it, 2, &res))
				ok++;
		}
	assert_int_equal(ok, 45);
	assert_int_equal(count_of(fx, dom, "dom_msg", 3600, 12), 45);
	/* the other domain: its own counter */
	key_of("u0@other.example", key);
	it[0] = item("msg", 3600, 12, 5, 1);
	it[1] = item("dom_msg", 3600, 12, 45, 1);
	snprintf(it[1].scope, sizeof(it[1].scope), "%s", other);
	assert_true(run(fx, key, NULL, 1, it, 2, &res));
	assert_int_equal(it[1].count, 1);
	/* a login over its own limit: the domain is not charged */
	for (i = 1; i < 5; i++)
		assert_true(run(fx, key, NULL, 1, it, 2, &res));
	assert_false(run(fx, key, NULL, 1, it, 2, &res));
	assert_int_equal(count_of(fx, other, "dom_msg", 3600, 12), 5);
}

#define BOTH(setup)							\
	cmocka_unit_test_setup_teardown(test_limit_n, setup, teardown),	\
	cmocka_unit_test_setup_teardown(test_atomic, setup, teardown),	\
	cmocka_unit_test_setup_teardown(test_check_only, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_cost_limits, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_hostile_logins, setup,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_txn, setup, teardown),	\
	cmocka_unit_test_setup_teardown(test_reset, setup, teardown),	\
	cmocka_unit_test_setup_teardown(test_max_items, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_retry_bound, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_soft, setup, teardown),	\
	cmocka_unit_test_setup_teardown(test_scope_sub, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_distinct, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_on_refuse, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_refused, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_unowned, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_near, setup, teardown),	\
	cmocka_unit_test_setup_teardown(test_near_bound, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_distinct_member, setup,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_recipient_kinds, setup,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_domain_shared, setup,	\
	    teardown)

int
main(void)
{
	const struct CMUnitTest none[] = {
		cmocka_unit_test(test_script_file),
	};
	const struct CMUnitTest memory[] = {
		BOTH(setup_memory),
		cmocka_unit_test_setup_teardown(test_mem_edges, setup_memory,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mem_retry, setup_memory,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mem_clock_back,
		    setup_memory, teardown),
		cmocka_unit_test_setup_teardown(test_mem_grow, setup_memory,
		    teardown),
	};
	const struct CMUnitTest redis[] = {
		BOTH(setup_redis),
		cmocka_unit_test_setup_teardown(test_redis_bad_input,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_ttl, setup_redis,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redis_pool_line,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_matches_window,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_bad_opts,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_surprises,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_auth, setup_redis,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redis_stale_pool,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_down, setup_redis,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redis_connect_timeout,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_round_trips,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_pause, setup_redis,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redis_pause_retry,
		    setup_redis, teardown),
		cmocka_unit_test_setup_teardown(test_redis_real_time,
		    setup_redis, teardown),
	};
	const char *no_redis = getenv("SLUICE_TEST_NO_REDIS");
	int failed = 0;

	signal(SIGPIPE, SIG_IGN);	/* as libmilter does: hiredis writes */
	failed += cmocka_run_group_tests_name("script", none, NULL, NULL);
	failed += cmocka_run_group_tests_name("memory store", memory, NULL,
	    NULL);
	if (no_redis != NULL && strcmp(no_redis, "1") == 0)
		fprintf(stderr, "SLUICE_TEST_NO_REDIS=1: redis store not "
		    "tested\n");
	else
		failed += cmocka_run_group_tests_name("redis store", redis,
		    group_redis, NULL);
	return failed != 0;
}
