/* test_guard.c - the circuit breaker and each fallback, on an injected clock */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store.h"

/* a primary that fails while told to, counting the calls that reach it */
struct flaky {
	struct store	 base;
	int		 down;
	unsigned	 calls;
};

static uint64_t now_ms;

/* fake_clock - the test's clock */
static uint64_t
fake_clock(void *ctx)
{
	(void)ctx;
	return now_ms;
}

/* flaky_charge - allow everything, or fail when down */
static int
flaky_charge(struct store *st, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	struct flaky *f = (struct flaky *)st;

	(void)req;
	f->calls++;
	if (f->down) {
		snprintf(err, errlen, "connection refused");
		return -1;
	}
	res->allowed = 1;
	return 0;
}

/* flaky_reset - nothing to forget */
static int
flaky_reset(struct store *st, const char *s, char *err, size_t errlen)
{
	(void)st, (void)s, (void)err, (void)errlen;
	return 0;
}

/* flaky_free - free it */
static void
flaky_free(struct store *st)
{
	free(st);
}

static const struct store_ops flaky_ops = { flaky_charge, flaky_reset,
    flaky_free };

/* guard - a guard over a new flaky primary */
static struct store *
guard(enum store_fallback fb, struct flaky **fp)
{
	struct store_guard_opts o = { fb, 3, 5000, fake_clock, NULL };
	struct flaky *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->base.ops = &flaky_ops;
	f->base.kind = "flaky";
	*fp = f;
	now_ms = 1000000;
	return store_guard_new(&f->base, &o);
}

/* charge1 - one message against a limit of 2 per minute */
static int
charge1(struct store *g, struct store_res *res)
{
	struct store_item it;
	struct store_req req = { "0123456789abcdef0123456789abcdef", NULL, 1,
	    &it, 1 };
	char err[128];

	store_item_set(&it, "msg", 60, 6, 2, 1);
	return store_charge(g, &req, res, err, sizeof(err));
}

/* test_breaker - opens after 3 failures, stops calling, probes, closes */
static void
test_breaker(void **state)
{
	struct store_guard_stats st;
	struct store_res res;
	struct flaky *f;
	struct store *g = guard(STORE_FALLBACK_ACCEPT, &f);
	int i;

	(void)state;
	assert_int_equal(charge1(g, &res), 0);
	assert_int_equal(res.source, STORE_SRC_PRIMARY);

	f->down = 1;
	for (i = 0; i < 3; i++) {
		assert_int_equal(charge1(g, &res), 1);
		assert_int_equal(res.source, STORE_SRC_ACCEPT);
		assert_true(res.allowed);
	}
	store_guard_stats(g, &st);
	assert_int_equal(st.state, BREAKER_OPEN);
	assert_int_equal(st.opened, 1);
	assert_int_equal(f->calls, 4);

	/* open: 100 requests, none waits on the primary */
	for (i = 0; i < 100; i++)
		assert_int_equal(charge1(g, &res), 1);
	assert_int_equal(f->calls, 4);

	/* cooldown over, still down: one probe, open again */
	now_ms += 5000;
	assert_int_equal(charge1(g, &res), 1);
	assert_int_equal(f->calls, 5);
	assert_int_equal(charge1(g, &res), 1);
	assert_int_equal(f->calls, 5);

	/* back up: the next probe closes it */
	f->down = 0;
	now_ms += 5000;
	assert_int_equal(charge1(g, &res), 0);
	assert_int_equal(res.source, STORE_SRC_PRIMARY);
	store_guard_stats(g, &st);
	assert_int_equal(st.state, BREAKER_CLOSED);
	assert_int_equal(st.errors, 4);
	assert_int_equal(st.fallbacks, 105);
	store_free(g);
}

/* test_local - local fallback still enforces the limit, per relay */
static void
test_local(void **state)
{
	struct store_res res;
	struct flaky *f;
	struct store *g = guard(STORE_FALLBACK_LOCAL, &f);

	(void)state;
	f->down = 1;
	assert_int_equal(charge1(g, &res), 1);
	assert_true(res.allowed);
	assert_int_equal(res.source, STORE_SRC_LOCAL);
	assert_int_equal(charge1(g, &res), 1);
	assert_true(res.allowed);
	assert_int_equal(charge1(g, &res), 1);
	assert_false(res.allowed);	/* limit 2 */
	assert_int_equal(res.source, STORE_SRC_LOCAL);
	store_free(g);
}

/* test_local_txn - the local fallback keeps no transaction id: the same
 * id charged twice while the primary is down counts twice (a replay is
 * the primary's to catch; the local counters lose no reply), so an
 * outage does not grow the daemon by an id per message */
static void
test_local_txn(void **state)
{
	struct store_item it;
	struct store_req req = { "0123456789abcdef0123456789abcdef",
	    "mx.example/4XbT2k0mZz", STORE_COMMIT, &it, 1 };
	struct store_res res;
	struct flaky *f;
	struct store *g = guard(STORE_FALLBACK_LOCAL, &f);
	char err[128];
	int i;

	(void)state;
	f->down = 1;
	for (i = 0; i < 2; i++) {
		store_item_set(&it, "msg", 60, 6, 10, 1);
		assert_int_equal(store_charge(g, &req, &res, err,
		    sizeof(err)), 1);
		assert_true(res.allowed);
		assert_int_equal(res.source, STORE_SRC_LOCAL);
		assert_false(res.replayed);
		assert_int_equal(it.count, (uint64_t)i + 1);
	}
	store_free(g);
}

/* test_tempfail - tempfail fallback refuses, and says so */
static void
test_tempfail(void **state)
{
	struct store_res res;
	struct flaky *f;
	struct store *g = guard(STORE_FALLBACK_TEMPFAIL, &f);

	(void)state;
	f->down = 1;
	assert_int_equal(charge1(g, &res), 1);
	assert_false(res.allowed);
	assert_int_equal(res.source, STORE_SRC_TEMPFAIL);
	f->down = 0;
	assert_int_equal(charge1(g, &res), 0);	/* breaker still closed */
	assert_true(res.allowed);
	store_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breaker),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_local_txn),
		cmocka_unit_test(test_tempfail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
