/*
 * test_history.c - a login's own history: the rule (history.c), the
 * memory store on an injected clock, the redis store on a seeded state,
 * and policy's verdict (hits=history, a new login judged by its class).
 *
 * The redis group needs the CTest fixture "redis" (as test_store) unless
 * SLUICE_TEST_NO_REDIS=1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "history.h"
#include "policy.h"
#include "sender.h"
#include "state.h"
#include "store.h"

#define HOUR	3600000ULL
#define DAY	(24 * HOUR)
#define T0	(1700000000000ULL / DAY * DAY)	/* a midnight, ms */

static uint64_t now_ms;
static struct config cfg;
static struct config_class cls;
static int redis_port;

/* fake_clock - the memory store's clock */
static uint64_t
fake_clock(void *ctx)
{
	(void)ctx;
	return now_ms;
}

/* setup_cfg - history on: factor 10, floor 20, 1h buckets, 14d, 3d */
static void
setup_cfg(int action)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&cls, 0, sizeof(cls));
	strcpy(cls.name, "default");
	cfg.window_buckets = 12;
	cfg.lock_lifetime_ms = 86400000;
	cfg.lock_action = CONFIG_ACTION_TEMPFAIL;
	cfg.hop_limit = 5;
	cfg.history = 1;
	cfg.history_factor = 10;
	cfg.history_floor = 20;
	cfg.history_bucket_ms = 3600000;
	cfg.history_window_ms = 14 * 86400000U;
	cfg.history_learn_ms = 3 * 86400000U;
	cfg.history_action = action;
}

/* send1 - one message of `login` through policy and the store, now */
static void
send1(struct store *st, const char *login, struct policy_decision *d,
    struct store_item *hist)
{
	struct policy_msg m = { .cls = &cls, .nrcpt = 1 };
	struct store_item it[STORE_MAX_ITEMS];
	struct store_req req;
	struct store_res res;
	char key[SENDER_KEY_LEN + 1], err[256];
	size_t n, i;

	sender_key(login, key);
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	req = (struct store_req){ key, NULL, STORE_COMMIT, it, n };
	if (store_charge(st, &req, &res, err, sizeof(err)) != 0)
		fail_msg("store_charge: %s", err);
	policy_decide(&cfg, &m, it, n, &res, d);
	for (i = 0; i < n; i++)
		if (it[i].kind == ITEM_HISTORY && hist != NULL)
			*hist = it[i];
}

/* office_days - `days` weekdays of `per_hour` messages 9:00-17:00 */
static void
office_days(struct store *st, const char *login, unsigned days,
    unsigned per_hour)
{
	struct policy_decision d;
	unsigned day, h, k;

	for (day = 0; day < days; day++)
		for (h = 9; h < 17; h++)
			for (k = 0; k < per_hour; k++) {
				now_ms = T0 + day * DAY + h * HOUR +
				    k * (HOUR / per_hour);
				send1(st, login, &d, NULL);
				assert_false(d.hitset & (1u << DET_HISTORY));
			}
}

/* test_rule - the arithmetic alone: fold, learn, judge */
static void
test_rule(void **state)
{
	struct history_state h;
	struct history_judgement j;
	uint64_t t = 100 * HOUR;

	(void)state;
	memset(&h, 0, sizeof(h));
	history_fold(&h, t, 3600, 14 * 86400);
	history_add(&h, 4);
	history_judge(&h, t, 3600, 3 * 86400, 10, 20, 1, &j);
	assert_true(j.learning);	/* a new sender */
	assert_false(j.over);
	/* 4 per hour in 2 hours a day for 4 days; nights not folded */
	t += 24 * HOUR;
	history_fold(&h, t, 3600, 14 * 86400);
	history_add(&h, 8);
	t += 5 * 24 * HOUR;
	history_fold(&h, t, 3600, 14 * 86400);
	assert_int_equal(h.n, 2);
	assert_true(h.mean > 5.99 && h.mean < 6.01);	/* (4 + 8) / 2 */
	history_judge(&h, t, 3600, 3 * 86400, 10, 20, 60, &j);
	assert_false(j.learning);
	assert_int_equal(j.threshold, 60);	/* 10 x 6 */
	assert_false(j.over);
	history_judge(&h, t, 3600, 3 * 86400, 10, 20, 61, &j);
	assert_true(j.over);
	assert_int_equal(j.retry, 3600);	/* the next hour */
	history_judge(&h, t, 3600, 3 * 86400, 10, 100, 61, &j);
	assert_false(j.over);			/* the floor */
	/* the clock steps back: still counted in the same bucket */
	history_add(&h, 5);
	history_fold(&h, t - HOUR, 3600, 14 * 86400);
	assert_int_equal(h.count, 5);
	/* the mean weighs at most keep / window buckets */
	memset(&h, 0, sizeof(h));
	for (t = 0; t < 10 * HOUR; t += HOUR) {
		history_fold(&h, t, 3600, 3 * 3600);
		history_add(&h, 10);
	}
	assert_int_equal(h.n, 3);
}

/* test_memory_burst - learned 10/h, then a burst: flagged past 100 */
static void
test_memory_burst(void **state)
{
	struct store *st = store_memory_new(fake_clock, NULL);
	struct policy_decision d;
	struct store_item hi;
	unsigned k;
	char hits[160];

	(void)state;
	setup_cfg(CONFIG_ACTION_TEMPFAIL);
	office_days(st, "alice@example.com", 4, 10);
	now_ms = T0 + 4 * DAY + 10 * HOUR;
	for (k = 1; k <= 100; k++) {
		send1(st, "alice@example.com", &d, &hi);
		assert_int_equal(d.verdict, VERDICT_ACCEPT);
	}
	assert_false(hi.learning);
	assert_int_equal(hi.typical, 10000);	/* 10.0 per hour */
	assert_int_equal(hi.count, 100);
	send1(st, "alice@example.com", &d, &hi);	/* the 101st */
	assert_true(d.hitset & (1u << DET_HISTORY));
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(d.reply.rcode, "451");
	assert_non_null(strstr(d.reply.text, "101 messages this 1h, more "
	    "than 10 times this account's usual 10.0"));
	policy_hits_text(&d, hits, sizeof(hits));
	assert_string_equal(hits, "history");
	assert_int_equal(hi.count, 100);	/* refused: not charged */
	/* the next hour starts a new count (the burst hour is learned) */
	now_ms += HOUR;
	send1(st, "alice@example.com", &d, &hi);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);
	store_free(st);
}

/* test_memory_new_login - a young login is judged by its class alone */
static void
test_memory_new_login(void **state)
{
	struct store *st = store_memory_new(fake_clock, NULL);
	struct policy_decision d;
	struct store_item hi;
	unsigned k;

	(void)state;
	setup_cfg(CONFIG_ACTION_TEMPFAIL);
	office_days(st, "bob@example.com", 2, 2);	/* 2 days old */
	now_ms = T0 + 2 * DAY + 10 * HOUR;
	for (k = 0; k < 1000; k++) {
		send1(st, "bob@example.com", &d, &hi);
		assert_int_equal(d.verdict, VERDICT_ACCEPT);
		assert_false(d.hitset & (1u << DET_HISTORY));
	}
	assert_true(hi.learning);
	store_free(st);
}

/* test_memory_observe_forget - observe: hit logged, mail accepted; a
 * login silent for history_window starts over (learning) */
static void
test_memory_observe_forget(void **state)
{
	struct store *st = store_memory_new(fake_clock, NULL);
	struct policy_decision d;
	struct store_item hi;
	unsigned k;

	(void)state;
	setup_cfg(CONFIG_ACTION_OBSERVE);
	office_days(st, "carol@example.com", 4, 3);
	now_ms = T0 + 4 * DAY + 10 * HOUR;
	for (k = 0; k < 31; k++)	/* 10 x 3 */
		send1(st, "carol@example.com", &d, &hi);
	assert_true(d.hitset & (1u << DET_HISTORY));
	assert_int_equal(d.nhits, 1);
	assert_true(d.hits[0].observe);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);
	assert_int_equal(hi.count, 31);		/* soft: charged */
	assert_false(d.lock);
	now_ms += 15 * DAY;
	send1(st, "carol@example.com", &d, &hi);
	assert_true(hi.learning);
	/* lock: tempfail and ask for the lock */
	setup_cfg(CONFIG_ACTION_LOCK);
	office_days(st, "dave@example.com", 4, 3);
	now_ms = T0 + 4 * DAY + 10 * HOUR;
	for (k = 0; k < 31; k++)
		send1(st, "dave@example.com", &d, &hi);
	assert_true(d.lock);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	store_free(st);
}

/* test_memory_state - the learned history survives the state file */
static void
test_memory_state(void **state)
{
	struct store *st = store_memory_new(fake_clock, NULL), *st2;
	struct state_buf b = { NULL, 0, 0, 0 };
	struct policy_decision d;
	struct store_item hi;
	char path[] = "/tmp/test_history.XXXXXX", err[256];
	unsigned char *p;
	uint64_t hold, saved;
	size_t len, n;
	int fd;

	(void)state;
	setup_cfg(CONFIG_ACTION_TEMPFAIL);
	office_days(st, "erin@example.com", 8, 4);
	now_ms = T0 + 8 * DAY + 10 * HOUR;
	send1(st, "erin@example.com", &d, &hi);
	assert_int_equal(hi.typical, 4000);
	assert_int_equal(store_memory_dump(st, &b, &n, &hold), 0);
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	assert_int_equal(state_write(path, &b, now_ms, err, sizeof(err)), 0);
	state_buf_free(&b);
	store_free(st);
	st2 = store_memory_new(fake_clock, NULL);
	assert_int_equal(state_read(path, &p, &len, &saved, err,
	    sizeof(err)), 1);
	assert_int_equal(store_memory_load(st2, p, len, &n, err, sizeof(err)),
	    0);
	free(p);
	unlink(path);
	send1(st2, "erin@example.com", &d, &hi);
	assert_false(hi.learning);
	assert_int_equal(hi.typical, 4000);
	assert_int_equal(hi.count, 2);		/* this hour's count too */
	store_free(st2);
}

/* ---- redis: the same rule in charge.lua ---- */

/* redis_setup - the fixture's port */
static int
redis_setup(void **state)
{
	const char *dir = getenv("SLUICE_TEST_REDIS_DIR");
	char path[512];
	FILE *fp;

	(void)state;
	if (dir == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/port", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(fp, "%d", &redis_port) != 1)
		redis_port = 0;
	fclose(fp);
	return redis_port > 0 ? 0 : -1;
}

/* test_redis_seeded - a state written into Redis (as 10 days of use
 * would leave it) is folded and judged as history.c does */
static void
test_redis_seeded(void **state)
{
	struct timeval tv = { 2, 0 };
	struct store_redis_opts o;
	struct store *st;
	redisContext *rc;
	redisReply *r;
	struct policy_decision d;
	struct store_item hi;
	char err[256], prefix[64], key[SENDER_KEY_LEN + 1];
	long long cur;
	unsigned k;

	(void)state;
	setup_cfg(CONFIG_ACTION_TEMPFAIL);
	snprintf(prefix, sizeof(prefix), "slhist:%d:", (int)getpid());
	rc = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	assert_non_null(rc);
	assert_int_equal(rc->err, 0);
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = redis_port;
	o.prefix = prefix;
	o.connect_timeout_ms = 1000;
	o.command_timeout_ms = 1000;
	o.pool_max = 2;
	st = store_redis_new(&o, err, sizeof(err));
	assert_non_null(st);

	/* a new login: learning, whatever it sends */
	for (k = 0; k < 50; k++)
		send1(st, "new@example.com", &d, &hi);
	assert_true(hi.learning);
	assert_int_equal(hi.count, 50);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);

	/* seed: 10 days old, 5 active hours of mean 4.0, the last one (the
	 * previous hour) had 10: folded now, mean 5.0, threshold 50 */
	sender_key("old@example.com", key);
	r = redisCommand(rc, "TIME");
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	cur = strtoll(r->element[0]->str, NULL, 10) / 3600;
	freeReplyObject(r);
	r = redisCommand(rc, "HSET %s{%s}:hist:3600:hist f %lld b %lld c 10 "
	    "n 5 m 4 p 12", prefix, key, cur - 240, cur - 1);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	freeReplyObject(r);
	for (k = 1; k <= 50; k++) {
		send1(st, "old@example.com", &d, &hi);
		assert_int_equal(d.verdict, VERDICT_ACCEPT);
	}
	assert_false(hi.learning);
	assert_int_equal(hi.typical, 5000);
	send1(st, "old@example.com", &d, &hi);
	assert_true(d.hitset & (1u << DET_HISTORY));
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_true(hi.retry >= 1 && hi.retry <= 3600);
	/* the state: one hash, folded, with the history_window's TTL */
	r = redisCommand(rc, "HMGET %s{%s}:hist:3600:hist n c", prefix, key);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_string_equal(r->element[0]->str, "6");
	assert_string_equal(r->element[1]->str, "50");
	freeReplyObject(r);
	r = redisCommand(rc, "PTTL %s{%s}:hist:3600:hist", prefix, key);
	assert_true(r->integer > 13 * 86400000LL &&
	    r->integer <= 14 * 86400000LL);
	freeReplyObject(r);
	r = redisCommand(rc, "EVAL %s 0 %s*", "for _, k in ipairs(redis.call("
	    "'KEYS', ARGV[1])) do redis.call('DEL', k) end", prefix);
	freeReplyObject(r);
	redisFree(rc);
	store_free(st);
}

int
main(void)
{
	const struct CMUnitTest local[] = {
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_memory_burst),
		cmocka_unit_test(test_memory_new_login),
		cmocka_unit_test(test_memory_observe_forget),
		cmocka_unit_test(test_memory_state),
	};
	const struct CMUnitTest redis[] = {
		cmocka_unit_test(test_redis_seeded),
	};
	const char *no = getenv("SLUICE_TEST_NO_REDIS");
	int failed;

	failed = cmocka_run_group_tests_name("history", local, NULL, NULL);
	if (no == NULL || strcmp(no, "1") != 0)
		failed += cmocka_run_group_tests_name("history redis", redis,
		    redis_setup, NULL);
	return failed != 0;
}
