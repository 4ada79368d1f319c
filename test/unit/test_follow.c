/* test_follow - a log followed across rename, copytruncate and restarts */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "follow.h"

static char dir[64], logp[128], rot[128], statep[128];

/* got - the lines handed over, joined by '|' */
static char got[4096];

static void
collect(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	strncat(got, "|", sizeof(got) - strlen(got) - 1);
	strncat(got, line, len < sizeof(got) - strlen(got) - 1 ? len :
	    sizeof(got) - strlen(got) - 1);
}

/* put - append text to the log */
static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* rd - one follow_read, the lines it gave */
static const char *
rd(struct follow *f)
{
	char err[256];

	got[0] = '\0';
	assert_true(follow_read(f, collect, NULL, err, sizeof(err)) >= 0);
	return got;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_follow.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(logp, sizeof(logp), "%s/mail.log", dir);
	snprintf(rot, sizeof(rot), "%s/mail.log.1", dir);
	snprintf(statep, sizeof(statep), "%s/state", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(logp);
	unlink(rot);
	unlink(statep);
	rmdir(dir);
	return 0;
}

/* test_tail - new lines only, a partial line waits for its newline */
static void
test_tail(void **state)
{
	struct follow *f;
	char err[256];

	(void)state;
	put(logp, "old 1\nold 2\n");
	f = follow_new(logp, NULL, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "");	/* no state: from the end */
	put(logp, "a\nb");
	assert_string_equal(rd(f), "|a");
	assert_int_equal(follow_lag(f), 0);
	put(logp, "c\n");
	assert_string_equal(rd(f), "|bc");
	follow_free(f);
	teardown(state);
	setup(state);
}

/* test_rename - logrotate's default: the old file to .1, a new one */
static void
test_rename(void **state)
{
	struct follow *f;
	char err[256];

	(void)state;
	put(logp, "");
	f = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "");
	put(logp, "1\n2\n");
	assert_string_equal(rd(f), "|1|2");
	put(logp, "3\n");		/* written before the rotation */
	assert_int_equal(rename(logp, rot), 0);
	put(logp, "4\n");
	assert_string_equal(rd(f), "|3|4");
	put(logp, "5\n");
	assert_string_equal(rd(f), "|5");
	follow_free(f);
	teardown(state);
	setup(state);
}

/* test_copytruncate - the file copied away and cut to 0, written again */
static void
test_copytruncate(void **state)
{
	struct follow *f;
	char err[256];
	FILE *t;

	(void)state;
	put(logp, "");
	f = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "");
	put(logp, "1\n2\n");
	assert_string_equal(rd(f), "|1|2");
	t = fopen(logp, "w");	/* truncate, same inode */
	assert_non_null(t);
	fclose(t);
	put(logp, "3\n");
	assert_string_equal(rd(f), "|3");
	follow_free(f);
	teardown(state);
	setup(state);
}

/* test_resume - a restart goes on where the last run stopped: same
 * file, a file rotated meanwhile (the rest of .1 first), a file
 * truncated meanwhile; follow_commit marks a line done */
static void
test_resume(void **state)
{
	struct follow *f;
	char err[256];

	(void)state;
	put(logp, "");
	f = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "");
	put(logp, "1\n2\n");
	assert_string_equal(rd(f), "|1|2");
	follow_free(f);
	put(logp, "3\n");		/* while we were down */
	f = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "|3");
	follow_free(f);

	put(logp, "4\n");		/* down, then rotated */
	assert_int_equal(rename(logp, rot), 0);
	put(logp, "5\n");
	f = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "|4|5");
	follow_free(f);

	unlink(rot);
	/* copytruncate while down, and written again to the same size:
	 * the start of the file tells it from the one we read */
	assert_int_equal(truncate(logp, 0), 0);
	put(logp, "6\n");
	f = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "|6");
	follow_free(f);
	teardown(state);
	setup(state);
}

/* state_off - the offset the state file holds */
static unsigned long long
state_off(void)
{
	char buf[128];
	FILE *s;
	unsigned long long ino, off;

	s = fopen(statep, "r");
	assert_non_null(s);
	assert_non_null(fgets(buf, sizeof(buf), s));
	fclose(s);
	assert_int_equal(sscanf(buf, "%llu %llu", &ino, &off), 2);
	return off;
}

/* commit_some - a reader that acts on lines "x", committing first */
static struct follow *cf;
static unsigned long long at_x;
static void
commit_some(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	collect(NULL, line, len);
	if (len == 1 && line[0] == 'x') {
		follow_commit(cf);
		at_x = state_off();	/* what a crash now would resume at */
	}
}

/* test_commit - the state after a committed line: a crash right after
 * acting on it resumes after it (never counted twice) */
static void
test_commit(void **state)
{
	char err[256];

	(void)state;
	put(logp, "");
	cf = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(cf);
	assert_int_equal(follow_read(cf, commit_some, NULL, err,
	    sizeof(err)), 0);
	put(logp, "a\nx\nb\n");
	got[0] = '\0';
	assert_int_equal(follow_read(cf, commit_some, NULL, err,
	    sizeof(err)), 3);
	follow_free(cf);
	assert_int_equal(at_x, 4);	/* right after "x\n" */
	assert_int_equal(state_off(), 6);	/* the batch: after b */
	teardown(state);
	setup(state);
}

/* test_long - a line over FOLLOW_LINE_MAX is skipped and counted */
static void
test_long(void **state)
{
	struct follow *f;
	char err[256], *big;
	uint64_t lines, skipped;

	(void)state;
	put(logp, "");
	f = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "");
	big = malloc(3 * FOLLOW_LINE_MAX + 2);
	assert_non_null(big);
	memset(big, 'z', 3 * FOLLOW_LINE_MAX);
	big[3 * FOLLOW_LINE_MAX] = '\n';
	big[3 * FOLLOW_LINE_MAX + 1] = '\0';
	put(logp, "1\n");
	put(logp, big);
	put(logp, "2\n");
	free(big);
	assert_string_equal(rd(f), "|1|2");
	follow_stats(f, &lines, &skipped);
	assert_int_equal(lines, 2);
	assert_int_equal(skipped, 1);
	follow_free(f);
	teardown(state);
	setup(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_copytruncate),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_commit),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
