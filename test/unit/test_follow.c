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

/* one step of a scripted case: what happens to the log, what is read */
struct step {
	enum {
		END,		/* the script is over */
		PUT,		/* append text to the log */
		OPEN,		/* follow_new with the state file */
		OPEN_NO_STATE,	/* follow_new without one: from the end */
		READ,		/* follow_read: the lines text, '|'-joined */
		NO_LAG,		/* follow_lag says 0 */
		CLOSE,		/* follow_free (a restart: CLOSE, then OPEN) */
		ROTATE,		/* the log renamed to .1 */
		DROP_ROTATED,	/* .1 removed */
		TRUNCATE	/* the log cut to 0 bytes, same inode */
	} op;
	const char	*text;
};

/* a scripted case: its name and its steps */
struct script {
	const char	*name;
	struct step	 steps[24];
};

static const struct script scripts[] = {
	/* new lines only, a partial line waits for its newline */
	{ "test_tail", { { PUT, "old 1\nold 2\n" }, { OPEN_NO_STATE, NULL },
	    { READ, "" }, { PUT, "a\nb" }, { READ, "|a" }, { NO_LAG, NULL },
	    { PUT, "c\n" }, { READ, "|bc" }, { CLOSE, NULL } } },
	/* logrotate's default: the old file to .1, a new one; "3" is
	 * written before the rotation */
	{ "test_rename", { { PUT, "" }, { OPEN, NULL }, { READ, "" },
	    { PUT, "1\n2\n" }, { READ, "|1|2" }, { PUT, "3\n" },
	    { ROTATE, NULL }, { PUT, "4\n" }, { READ, "|3|4" },
	    { PUT, "5\n" }, { READ, "|5" }, { CLOSE, NULL } } },
	/* the file copied away and cut to 0, written again */
	{ "test_copytruncate", { { PUT, "" }, { OPEN, NULL }, { READ, "" },
	    { PUT, "1\n2\n" }, { READ, "|1|2" }, { TRUNCATE, NULL },
	    { PUT, "3\n" }, { READ, "|3" }, { CLOSE, NULL } } },
	/* a restart goes on where the last run stopped: same file ("3"
	 * while we were down), a file rotated meanwhile (the rest of .1
	 * first), a file truncated meanwhile and written again to the same
	 * size (the start of the file tells it from the one we read) */
	{ "test_resume", { { PUT, "" }, { OPEN, NULL }, { READ, "" },
	    { PUT, "1\n2\n" }, { READ, "|1|2" }, { CLOSE, NULL },
	    { PUT, "3\n" }, { OPEN, NULL }, { READ, "|3" }, { CLOSE, NULL },
	    { PUT, "4\n" }, { ROTATE, NULL }, { PUT, "5\n" }, { OPEN, NULL },
	    { READ, "|4|5" }, { CLOSE, NULL },
	    { DROP_ROTATED, NULL }, { TRUNCATE, NULL }, { PUT, "6\n" },
	    { OPEN, NULL }, { READ, "|6" }, { CLOSE, NULL } } },
};

/* test_script - run one script of scripts[] */
static void
test_script(void **state)
{
	const struct script *sc = *state;
	const struct step *s;
	struct follow *f = NULL;
	char err[256];

	for (s = sc->steps; s->op != END; s++) {
		switch (s->op) {
		case PUT:
			put(logp, s->text);
			break;
		case OPEN:
		case OPEN_NO_STATE:
			f = follow_new(logp, s->op == OPEN ? statep : NULL, err,
			    sizeof(err));
			assert_non_null(f);
			break;
		case READ:
			assert_string_equal(rd(f), s->text);
			break;
		case NO_LAG:
			assert_int_equal(follow_lag(f), 0);
			break;
		case CLOSE:
			follow_free(f);
			f = NULL;
			break;
		case ROTATE:
			assert_int_equal(rename(logp, rot), 0);
			break;
		case DROP_ROTATED:
			unlink(rot);
			break;
		case TRUNCATE:
			assert_int_equal(truncate(logp, 0), 0);
			break;
		case END:
			break;
		}
	}
	assert_null(f);		/* every script closes what it opened */
}

/* open_empty - an empty log followed with the state file, read once */
static struct follow *
open_empty(void)
{
	struct follow *f;
	char err[256];

	put(logp, "");
	f = follow_new(logp, statep, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(rd(f), "");
	return f;
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
}

/* test_long - a line over FOLLOW_LINE_MAX is skipped and counted */
static void
test_long(void **state)
{
	struct follow *f;
	char *big;
	uint64_t lines, skipped;

	(void)state;
	f = open_empty();
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
}

/* the scripts of scripts[], by name (initial_state is not const) */
#define SCRIPT(i)	{ scripts[i].name, test_script, setup, teardown, \
	(void *)(uintptr_t)&scripts[i] }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SCRIPT(0), SCRIPT(1), SCRIPT(2), SCRIPT(3),
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long, setup, teardown),
	};

	_Static_assert(sizeof(scripts) / sizeof(scripts[0]) == 4,
	    "every script has its SCRIPT() in main");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
