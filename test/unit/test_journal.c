/* test_journal - the journal source's parts without I/O: an entry's
 * line (and what the one parser makes of it), match words, the cursor's
 * state bytes; and journal_new's refusals */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "journal.h"
#include "mtalog.h"

#define BOUNCE	"4MxYz1Kf2sz9p: to=<bad@remote.test>, " \
		"relay=mx.remote.test[192.0.2.1]:25, delay=0.05, dsn=5.1.1, " \
		"status=bounced (host said: 550 5.1.1 User unknown)"

/* line_of - journal_line of NUL-terminated fields (NULL: missing) */
static size_t
line_of(const char *ident, const char *pid, const char *msg, char *buf,
    size_t bufsz)
{
	return journal_line(ident, ident ? strlen(ident) : 0, pid,
	    pid ? strlen(pid) : 0, msg, strlen(msg), buf, bufsz);
}

/* an entry's line, as syslog would have written it */
static void
test_line(void **state)
{
	char buf[FOLLOW_LINE_MAX];
	struct mtalog_rec r;
	size_t n;

	(void)state;
	n = line_of("postfix/smtp", "4242", "hello", buf, sizeof(buf));
	assert_int_equal(n, strlen("postfix/smtp[4242]: hello"));
	assert_memory_equal(buf, "postfix/smtp[4242]: hello", n);
	n = line_of("postfix/smtp", NULL, "hello", buf, sizeof(buf));
	assert_memory_equal(buf, "postfix/smtp[]: hello", n);
	n = line_of(NULL, "1", "hello", buf, sizeof(buf));
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	/* too long for the buffer: 0, skipped */
	assert_int_equal(line_of("postfix/smtp", "1", "hello", buf, 21), 0);
	assert_int_equal(line_of("postfix/smtp", "1", "hello", buf, 22),
	    strlen("postfix/smtp[1]: hello"));

	/* the one parser tells the agent by the identifier */
	n = line_of("postfix/smtp", "4242", BOUNCE, buf, sizeof(buf));
	assert_int_equal(mtalog_parse(MTALOG_POSTFIX, buf, n, &r),
	    MTALOG_BOUNCED);
	assert_string_equal(r.qid, "4MxYz1Kf2sz9p");
	assert_int_equal(r.unknown, 1);
	n = line_of("postfix-out/lmtp", "7", BOUNCE, buf, sizeof(buf));
	assert_int_equal(mtalog_parse(MTALOG_POSTFIX, buf, n, &r),
	    MTALOG_BOUNCED);
	n = line_of("postfix/local", "4242", BOUNCE, buf, sizeof(buf));
	assert_int_equal(mtalog_parse(MTALOG_POSTFIX, buf, n, &r),
	    MTALOG_NONE);
	n = line_of("postfix/smtp", NULL, BOUNCE, buf, sizeof(buf));
	assert_int_equal(mtalog_parse(MTALOG_POSTFIX, buf, n, &r),
	    MTALOG_BOUNCED);
	n = line_of("sm-mta", "99", "x1A2b3C4d5: to=<a@b.test>, "
	    "delay=00:00:01, mailer=esmtp, relay=mx.b.test. [192.0.2.9], "
	    "dsn=4.7.1, stat=Deferred: 451 4.7.1 slow down", buf,
	    sizeof(buf));
	assert_int_equal(mtalog_parse(MTALOG_SENDMAIL, buf, n, &r),
	    MTALOG_DEFERRED);
}

/* a datum "FIELD=value" of sd_journal_get_data */
static void
test_field(void **state)
{
	const char *v;
	size_t vl;

	(void)state;
	v = journal_field("MESSAGE=hi there", 16, "MESSAGE", &vl);
	assert_non_null(v);
	assert_int_equal(vl, 8);
	assert_memory_equal(v, "hi there", 8);
	v = journal_field("MESSAGE=", 8, "MESSAGE", &vl);
	assert_non_null(v);
	assert_int_equal(vl, 0);
	assert_null(journal_field("MESSAGE_ID=x", 12, "MESSAGE", &vl));
	assert_null(journal_field("MESSAGE", 7, "MESSAGE", &vl));
	assert_null(journal_field("MESSAGE=hi", 7, "MESSAGE", &vl));
	assert_null(journal_field(NULL, 0, "MESSAGE", &vl));
}

/* feedback_journal_match words */
static void
test_match(void **state)
{
	static const char *const bad[] = { "postfix", "=x", "lower=x",
	    "1ST=x", "A-B=x", "NOVALUE", NULL };
	const char *list = "  SYSLOG_IDENTIFIER=postfix/smtp\t_PID=1 ", *w;
	size_t pos = 0, wl, i;

	(void)state;
	assert_int_equal(journal_match_next(list, &pos, &w, &wl), 1);
	assert_int_equal(wl, strlen("SYSLOG_IDENTIFIER=postfix/smtp"));
	assert_memory_equal(w, "SYSLOG_IDENTIFIER=postfix/smtp", wl);
	assert_int_equal(journal_match_next(list, &pos, &w, &wl), 1);
	assert_memory_equal(w, "_PID=1", wl);
	assert_int_equal(wl, 6);
	assert_int_equal(journal_match_next(list, &pos, &w, &wl), 0);
	assert_int_equal(journal_match_next(list, &pos, &w, &wl), 0);
	pos = 0;
	assert_int_equal(journal_match_next("", &pos, &w, &wl), 0);
	/* an empty value is a match of journalctl too */
	pos = 0;
	assert_int_equal(journal_match_next("MESSAGE=", &pos, &w, &wl), 1);
	for (i = 0; bad[i] != NULL; i++) {
		pos = 0;
		assert_int_equal(journal_match_next(bad[i], &pos, &w, &wl),
		    -1);
	}
}

/* the cursor in feedback_state: round trip, fixed width, refusals */
static void
test_state(void **state)
{
	const char *c = "s=141a810676c743339682dd1bfaa5427b;i=1;"
	    "b=0123456789abcdef0123456789abcdef;m=1;t=661a15cc79eec;"
	    "x=bbb16551da860319";
	char buf[JOURNAL_STATE_BYTES], cur[JOURNAL_CURSOR_MAX + 1];
	char big[JOURNAL_CURSOR_MAX + 2];

	(void)state;
	assert_int_equal(journal_state_format(c, buf), 0);
	assert_memory_equal(buf, "journal s=", 10);
	assert_int_equal(buf[JOURNAL_STATE_BYTES - 1], '\n');
	assert_int_equal(buf[8 + strlen(c)], ' ');
	assert_int_equal(journal_state_parse(buf, sizeof(buf), cur), 1);
	assert_string_equal(cur, c);
	/* a shorter read (an older, shorter write) still parses */
	assert_int_equal(journal_state_parse(buf, 8 + strlen(c), cur), 1);
	assert_string_equal(cur, c);
	/* the file reader's "INODE OFFSET HEAD": no cursor */
	assert_int_equal(journal_state_parse("             1234567 "
	    "                4096 00000000deadbeef\n", 59, cur), 0);
	assert_int_equal(journal_state_parse("", 0, cur), 0);
	assert_int_equal(journal_state_parse("journal \n", 9, cur), 0);
	assert_int_equal(journal_state_parse("journal s=\001x\n", 13, cur),
	    0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(journal_state_format(big, buf), -1);
	big[sizeof(big) - 2] = '\0';	/* JOURNAL_CURSOR_MAX: fits */
	assert_int_equal(journal_state_format(big, buf), 0);
	assert_int_equal(journal_state_parse(buf, sizeof(buf), cur), 1);
	assert_int_equal(strlen(cur), JOURNAL_CURSOR_MAX);
}

/* journal_new: a missing directory, a bad match, an unwritable state */
static void
test_new(void **state)
{
	char dir[] = "/tmp/test_journal.XXXXXX", st[64], err[256];
	struct journal *j;
	uint64_t lines, skipped;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_null(journal_new("/nonexistent/journal", NULL, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/journal"));
	assert_null(journal_new(dir, "postfix/smtp", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "feedback_journal_match"));
	assert_null(journal_new(dir, NULL, "/nonexistent/dir/state", err,
	    sizeof(err)));
	/* an empty directory: nothing to read, no error */
	snprintf(st, sizeof(st), "%s/state", dir);
	j = journal_new(dir, "SYSLOG_IDENTIFIER=postfix/smtp", st, err,
	    sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_read(j, NULL, NULL, err, sizeof(err)), 0);
	journal_stats(j, &lines, &skipped);
	assert_int_equal(lines, 0);
	assert_int_equal(journal_lag(j), 0);
	journal_free(j);
	journal_free(NULL);
	unlink(st);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_new),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
