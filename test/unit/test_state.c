/*
 * test_state - the memory store's admin ops (view, drop, lock) and its
 * state file: save, load with time honoured, and every bad file refused
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "state.h"
#include "store.h"
#include "window.h"

#define K1	"0123456789abcdef0123456789abcdef"
#define K2	"fedcba9876543210fedcba9876543210"
#define T0	1800000000000ULL	/* ms */

static uint64_t now_ms;

/* clock - the injected clock */
static uint64_t
clock_fn(void *ctx)
{
	(void)ctx;
	return now_ms;
}

/* commit - charge one item for sender; whether it was allowed */
static int
commit(struct store *st, const char *sender, struct store_item *it)
{
	struct store_req req;
	struct store_res res;
	char err[128];

	memset(&req, 0, sizeof(req));
	req.sender = sender;
	req.commit = STORE_COMMIT;
	req.items = it;
	req.nitems = 1;
	assert_int_equal(store_charge(st, &req, &res, err, sizeof(err)), 0);
	return res.allowed;
}

/* charge - one message of `sender`: msg 1h, and lock when asked */
static void
charge(struct store *st, const char *sender, const char *name,
    uint32_t window, uint64_t cost)
{
	struct store_item it;

	store_item_set(&it, name, window, 12, 1000, cost);
	assert_true(commit(st, sender, &it));
}

struct seen {
	uint64_t	 count;		/* of the series looked for */
	int64_t		 newest;
	size_t		 series;
	const char	*name;
};

/* see - a view callback: count the series, note the one named */
static void
see(void *ctx, const struct store_series *v)
{
	struct seen *s = ctx;

	s->series++;
	if (strcmp(v->name, s->name) == 0) {
		s->count += v->count;
		s->newest = v->newest;
	}
}

/* count - live events of one subject's series named `name` */
static uint64_t
count(struct store *st, const char *subject, const char *name)
{
	struct seen s = { 0, -1, 0, name };
	char err[64];

	assert_int_equal(store_view(st, subject, see, &s, err, sizeof(err)),
	    0);
	return s.count;
}

/* test_admin - view, drop with and without keep, lock for a duration */
static void
test_admin(void **state)
{
	struct store *st = store_memory_new(clock_fn, NULL);
	static const char *const lock[] = { "lock", NULL };
	struct store_item it;
	uint64_t ends, w;
	size_t n;
	char err[64];

	(void)state;
	now_ms = T0;
	charge(st, K1, "msg", 3600, 3);
	charge(st, K1, "rcpt", 3600, 7);
	charge(st, K2, "msg", 3600, 1);
	assert_int_equal(count(st, K1, "msg"), 3);
	assert_int_equal(count(st, NULL, "msg"), 4);
	store_item_set(&it, "lock", 86400, 60, UINT64_MAX, 1);
	assert_int_equal(store_lock(st, &it, K1, 0, &ends, err, sizeof(err)),
	    0);
	w = window_width(86400, 60);
	assert_true(ends >= T0 + 86400000 && ends <= T0 + 86400000 + w);
	/* reset keeps the lock */
	assert_int_equal(store_drop(st, K1, lock, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count(st, K1, "msg"), 0);
	assert_int_equal(count(st, K1, "lock"), 1);
	/* lock --for 5 min replaces it: ends 5 to 5 min + w later */
	assert_int_equal(store_lock(st, &it, K1, 300000, &ends, err,
	    sizeof(err)), 0);
	assert_true(ends >= T0 + 300000 && ends <= T0 + 300000 + w);
	now_ms = ends - 1;
	assert_int_equal(count(st, K1, "lock"), 1);
	now_ms = ends;
	assert_int_equal(count(st, K1, "lock"), 0);
	/* unlock drops it */
	now_ms = T0;
	assert_int_equal(store_lock(st, &it, K1, 0, &ends, err, sizeof(err)),
	    0);
	assert_int_equal(store_drop(st, K1, lock, 0, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(count(st, K1, "lock"), 0);
	store_free(st);
}

/* save - the store into a fresh state file at path */
static void
save(struct store *st, const char *path)
{
	struct state_buf b = { NULL, 0, 0, 0 };
	size_t n;
	uint64_t hold;
	char err[256];

	assert_int_equal(store_memory_dump(st, &b, &n, &hold), 0);
	assert_int_equal(state_write(path, &b, now_ms, err, sizeof(err)), 0);
	state_buf_free(&b);
}

/* load - a new store from path; -1 with err as state_read says */
static struct store *
load(const char *path, char *err, size_t errlen)
{
	struct store *st = store_memory_new(clock_fn, NULL);
	unsigned char *p;
	uint64_t saved;
	size_t len, n;

	if (state_read(path, &p, &len, &saved, err, errlen) != 1) {
		store_free(st);
		return NULL;
	}
	assert_int_equal(store_memory_load(st, p, len, &n, err, errlen), 0);
	free(p);
	return st;
}

/* test_roundtrip - counts and locks come back; ended windows do not */
static void
test_roundtrip(void **state)
{
	char path[] = "/tmp/test_state.XXXXXX", err[256];
	struct store *st = store_memory_new(clock_fn, NULL), *st2;
	struct store_item it;
	struct stat sb;
	uint64_t ends, ends2;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	now_ms = T0;
	charge(st, K1, "msg", 3600, 3);
	charge(st, K1, "msg", 86400, 3);
	charge(st, K2, "msg", 600, 1);
	store_item_set(&it, "lock", 86400, 60, UINT64_MAX, 1);
	assert_int_equal(store_lock(st, &it, K1, 0, &ends, err, sizeof(err)),
	    0);
	save(st, path);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* down for 2 hours: the 10 min and 1 h windows have ended */
	now_ms = T0 + 7200000;
	assert_non_null(st2 = load(path, err, sizeof(err)));
	assert_int_equal(count(st2, K1, "msg"), 3);	/* the 1d window */
	assert_int_equal(count(st2, K2, "msg"), 0);
	assert_int_equal(count(st2, K1, "lock"), 1);
	/* the lock keeps its end */
	assert_int_equal(store_lock(st2, &it, K1, 0, &ends2, err,
	    sizeof(err)), 0);
	assert_true(ends2 >= ends);
	store_free(st2);
	now_ms = ends;
	assert_non_null(st2 = load(path, err, sizeof(err)));
	assert_int_equal(count(st2, K1, "lock"), 0);
	store_free(st2);
	store_free(st);
	unlink(path);
}

/* charge_sub - one event of sender's sub-counter `name`/sub (1h): its count */
static uint64_t
charge_sub(struct store *st, const char *sender, const char *name,
    unsigned sub)
{
	struct store_item it;

	store_item_set(&it, name, 3600, 12, 1000, 1);
	snprintf(it.sub, sizeof(it.sub), "%032x", sub);
	assert_true(commit(st, sender, &it));
	return it.count;
}

/* dump_bytes - the size of the store's state as a save writes it */
static size_t
dump_bytes(struct store *st)
{
	struct state_buf b = { NULL, 0, 0, 0 };
	size_t n, len;
	uint64_t hold;

	assert_int_equal(store_memory_dump(st, &b, &n, &hold), 0);
	len = b.len;
	state_buf_free(&b);
	return len;
}

/*
 * test_many_series - a login with one `repeats` counter per body, 5,000
 * bodies in an hour (the index of its series): each found again, dropped
 * by name, saved and loaded (over the 4,096 a record once allowed), and
 * gone from memory and from the state once their window has passed
 */
static void
test_many_series(void **state)
{
	static const char *const rep[] = { "rep", NULL };
	char path[] = "/tmp/test_state.XXXXXX", err[256];
	struct store *st = store_memory_new(clock_fn, NULL), *st2;
	size_t n, before;
	unsigned i;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	now_ms = T0;
	for (i = 0; i < 5000; i++) {
		assert_int_equal(charge_sub(st, K1, "rep", i), 1);
		if (i % 10 == 0)
			charge(st, K1, "msg", 3600, 1);
	}
	for (i = 0; i < 5000; i += 7)
		assert_int_equal(charge_sub(st, K1, "rep", i), 2);
	assert_int_equal(count(st, K1, "rep"), 5000 + 715);
	assert_int_equal(count(st, K1, "msg"), 500);
	save(st, path);
	assert_non_null(st2 = load(path, err, sizeof(err)));
	assert_int_equal(count(st2, K1, "rep"), 5000 + 715);
	assert_int_equal(charge_sub(st2, K1, "rep", 4999), 2);
	assert_int_equal(charge_sub(st2, K1, "rep", 7), 3);
	/* dropped by name: the index forgets them too */
	assert_int_equal(store_drop(st2, K1, rep, 0, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 5000);
	assert_int_equal(count(st2, K1, "rep"), 0);
	assert_int_equal(charge_sub(st2, K1, "rep", 7), 1);
	assert_int_equal(count(st2, K1, "msg"), 500);
	store_free(st2);
	/* two hours on, the login still sending: the old bodies' counters
	 * are freed by the sweep, not kept (and saved) for ever */
	before = dump_bytes(st);
	now_ms = T0 + 7200000;
	assert_int_equal(charge_sub(st, K1, "rep", 5000), 1);
	(void)store_memory_expire(st);
	assert_true(dump_bytes(st) < before / 100);
	assert_int_equal(count(st, K1, "rep"), 1);
	assert_int_equal(charge_sub(st, K1, "rep", 3), 1);
	store_free(st);
	unlink(path);
}

/* test_bad_files - missing, corrupt, truncated, other version, not ours */
static void
test_bad_files(void **state)
{
	char path[] = "/tmp/test_state.XXXXXX", err[256];
	struct store *st = store_memory_new(clock_fn, NULL);
	unsigned char *p, buf[4096];
	const unsigned char *cp;
	uint64_t saved;
	size_t len;
	FILE *fp;
	int fd;
	long n;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	unlink(path);
	assert_int_equal(state_read(path, &p, &len, &saved, err, sizeof(err)),
	    0);
	now_ms = T0;
	charge(st, K1, "msg", 3600, 3);
	save(st, path);
	assert_non_null(fp = fopen(path, "r+b"));
	n = (long)fread(buf, 1, sizeof(buf), fp);
	assert_true(n > 60);
	buf[40] ^= 1;				/* a flipped bit */
	rewind(fp);
	fwrite(buf, 1, (size_t)n, fp);
	fclose(fp);
	assert_int_equal(state_read(path, &p, &len, &saved, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "checksum mismatch"));
	buf[40] ^= 1;
	buf[8] = 2;				/* version 2 */
	assert_int_equal(state_parse(buf, (size_t)n, &cp,
	    &len, &saved, err, sizeof(err)), -1);
	assert_string_equal(err, "state file version 2, this sluice reads "
	    "version 1");
	buf[8] = 1;
	assert_int_equal(state_parse(buf, (size_t)n - 1,
	    &cp, &len, &saved, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(state_parse((const unsigned char *)"hello", 5,
	    &cp, &len, &saved, err, sizeof(err)), -1);
	assert_string_equal(err, "not a sluice state file");
	assert_int_equal(state_parse(buf, (size_t)n, &cp,
	    &len, &saved, err, sizeof(err)), 1);
	store_free(st);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_many_series),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
