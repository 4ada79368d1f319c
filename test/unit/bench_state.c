/*
 * bench_state.c - fill the memory store with N logins (default 100000),
 * each with the counters of a typical class (messages 1h and 1d,
 * recipients 1h, the refusal counter), then save it as the daemon does
 * and load it back: prints the file's size, the save's time, the longest
 * a stripe (and so a message) waited during the save, and the load's
 * time; first, what a charge costs a new login and a known one among N. Not a test: a measurement (doc/embedded-store.md).
 *   build/test/bench_state [N] [FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sender.h"
#include "state.h"
#include "store.h"

/* ms - a monotonic clock */
static double
ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000, i, got;
	const char *path = argc > 2 ? argv[2] : "bench_state.state";
	struct store *st = store_memory_new(NULL, NULL), *st2;
	struct state_buf b = { NULL, 0, 0, 0 };
	struct store_item it[4];
	struct store_req req;
	struct store_res res;
	char login[64], key[SENDER_KEY_LEN + 1], err[256];
	unsigned char *p;
	uint64_t saved, hold;
	double t0, t1, t2, slowest = 0;
	int rc;
	size_t len, subjects;

	t0 = ms();
	for (i = 0; i < 2 * n; i++) {
		if (i == n) {		/* then each login once more */
			t1 = ms();
			printf("charge: %zu new logins in %.1f ms (%.2f us "
			    "each)\n", n, t1 - t0, (t1 - t0) * 1e3 / (double)n);
			t0 = t1;
		}
		/* the second pass in another order: no cache-friendly walk */
		snprintf(login, sizeof(login), "user%zu@example.test",
		    i < n ? i : (i - n) * 7919 % n);
		sender_key(login, key);
		store_item_set(&it[0], "msg", 3600, 12, 100, 1);
		store_item_set(&it[1], "msg", 86400, 12, 1000, 1);
		store_item_set(&it[2], "rcpt", 3600, 12, 500, 3);
		store_item_set(&it[3], "refused", 3600, 12, 3, 1);
		it[3].on_refuse = 1;
		memset(&req, 0, sizeof(req));
		req.sender = key;
		req.commit = STORE_COMMIT;
		req.items = it;
		req.nitems = 4;
		t2 = ms();
		rc = store_charge(st, &req, &res, err, sizeof(err));
		if ((t2 = ms() - t2) > slowest)
			slowest = t2;
		if (rc != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	}
	t1 = ms();
	printf("charge: %zu known logins in %.1f ms (%.2f us each); slowest "
	    "charge %.2f ms; %zu hash chains\n", n, t1 - t0,
	    (t1 - t0) * 1e3 / (double)n, slowest, store_memory_chains(st));
	t0 = ms();
	if (store_memory_dump(st, &b, &subjects, &hold) == -1)
		return 1;
	t1 = ms();
	if (state_write(path, &b, store_clock_real(NULL), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t2 = ms();
	printf("%zu logins: file %zu bytes (%.1f MB); save %.1f ms (snapshot "
	    "%.1f ms, write+fsync+rename %.1f ms); longest lock held %.3f "
	    "ms\n", subjects, b.len + STATE_HEADER + STATE_HASH,
	    (double)(b.len + STATE_HEADER + STATE_HASH) / 1e6, t2 - t0,
	    t1 - t0, t2 - t1, (double)hold / 1e3);
	state_buf_free(&b);
	st2 = store_memory_new(NULL, NULL);
	t0 = ms();
	if (state_read(path, &p, &len, &saved, err, sizeof(err)) != 1 ||
	    store_memory_load(st2, p, len, &got, err, sizeof(err)) == -1) {
		fprintf(stderr, "load: %s\n", err);
		return 1;
	}
	printf("load: %zu logins in %.1f ms\n", got, ms() - t0);
	free(p);
	store_free(st);
	store_free(st2);
	return 0;
}
