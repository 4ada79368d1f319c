/* test_mtalog - Postfix and Sendmail delivery lines: what counts, what not */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mtalog.h"

struct line_case {
	enum mtalog_format	 fmt;
	const char		*line;
	enum mtalog_outcome	 want;
	const char		*qid;	/* when counted */
	const char		*dsn;
	int			 unknown;
};

#define PF	MTALOG_POSTFIX
#define SM	MTALOG_SENDMAIL

/* lines as Postfix 3.7 (maillog_file, syslog, journal MESSAGE) and
 * Sendmail 8.17 (bookworm) write them */
static const struct line_case cases[] = {
	{ PF, "Dec  2 04:10:01 relay postfix/smtp[4242]: 4MxYz1Kf2sz9p: "
	    "to=<bad@remote.test>, relay=127.0.0.1[127.0.0.1]:2525, "
	    "delay=0.05, delays=0.01/0.01/0.01/0.02, dsn=5.1.1, "
	    "status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 "
	    "<bad@remote.test>: Recipient address rejected: User unknown "
	    "(in reply to RCPT TO command))",
	    MTALOG_BOUNCED, "4MxYz1Kf2sz9p", "5.1.1", 1 },
	{ PF, "Dec  2 04:10:01 relay postfix/smtp[4242]: 3F2A1C0B7E: "
	    "to=<slow@remote.test>, relay=mx.aol.test[192.0.2.7]:25, "
	    "delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.0, status=deferred "
	    "(host mx.aol.test[192.0.2.7] said: 421 4.7.0 [TSS04] Messages "
	    "from 192.0.2.1 temporarily deferred (in reply to MAIL FROM "
	    "command))", MTALOG_DEFERRED, "3F2A1C0B7E", "4.7.0", 0 },
	{ PF, "2026-12-02T04:10:01.123456+00:00 relay postfix-out/lmtp[7]: "
	    "ABCDEF1234: to=<u@x.test>, orig_to=<v@x.test>, "
	    "relay=store[private/dovecot-lmtp], delay=0.1, "
	    "delays=0.1/0/0/0, dsn=5.2.2, status=bounced (host "
	    "store[private/dovecot-lmtp] said: 552 5.2.2 Mailbox full)",
	    MTALOG_BOUNCED, "ABCDEF1234", "5.2.2", 0 },
	/* a journal MESSAGE: no "name[pid]: " */
	{ PF, "4MxYz1Kf2sz9p: to=<bad@remote.test>, relay=h[1.2.3.4]:25, "
	    "delay=0.05, dsn=5.7.1, status=bounced (host h said: 554 5.7.1 "
	    "spam)", MTALOG_BOUNCED, "4MxYz1Kf2sz9p", "5.7.1", 0 },
	/* not counted */
	{ PF, "Dec  2 04:10:01 relay postfix/smtp[4242]: 3F2A1C0B7E: "
	    "to=<ok@remote.test>, relay=127.0.0.1[127.0.0.1]:2525, "
	    "delay=0.05, delays=0.01/0.01/0.01/0.02, dsn=2.0.0, status=sent "
	    "(250 2.0.0 Ok: queued as 9B2C)", MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "Dec  2 04:10:01 relay postfix/smtp[4242]: 3F2A1C0B7E: "
	    "to=<x@nowhere.test>, relay=none, delay=0.1, delays=0/0/0.1/0, "
	    "dsn=4.4.1, status=deferred (connect to nowhere.test[192.0.2.9]"
	    ":25: Connection refused)", MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "Dec  2 04:10:01 relay postfix/local[99]: 3F2A1C0B7E: "
	    "to=<root@relay.test>, relay=local, delay=0.1, "
	    "delays=0/0/0/0.1, dsn=5.1.1, status=bounced (unknown user: "
	    "\"root\")", MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "Dec  2 04:10:01 relay postfix/smtpd[12]: 3F2A1C0B7E: "
	    "client=localhost[127.0.0.1], sasl_method=PLAIN, "
	    "sasl_username=a@b.test", MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "Dec  2 04:10:01 relay postfix/qmgr[9]: 3F2A1C0B7E: "
	    "from=<a@b.test>, size=300, nrcpt=1 (queue active)",
	    MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "Dec  2 04:10:01 relay postfix/bounce[13]: 3F2A1C0B7E: sender "
	    "non-delivery notification: 5D6E7F", MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "Dec  2 04:10:01 relay postfix/smtp[4242]: warning: "
	    "status=bounced dsn=5.1.1", MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "Dec  2 04:10:01 relay postfix/smtp[4242]: 3F2A1C0B7E: "
	    "to=<a@b>, relay=h[1.2.3.4]:25, status=bouncedx (x)",
	    MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "", MTALOG_NONE, NULL, NULL, 0 },
	{ PF, "postfix/smtp[: ABCDE: to=", MTALOG_NONE, NULL, NULL, 0 },
	/* Sendmail */
	{ SM, "Dec  2 04:10:01 relay sm-mta[1234]: 0B24A1xK001234: "
	    "to=<bad@remote.test>, delay=00:00:01, xdelay=00:00:01, "
	    "mailer=esmtp, pri=120385, relay=mx.remote.test. [192.0.2.1], "
	    "dsn=5.1.1, stat=User unknown", MTALOG_BOUNCED,
	    "0B24A1xK001234", "5.1.1", 1 },
	{ SM, "Dec  2 04:10:01 relay sm-mta[1234]: 0B24A1xK001234: "
	    "to=<slow@remote.test>, delay=00:00:01, xdelay=00:00:01, "
	    "mailer=relay, pri=120385, relay=[127.0.0.1] [127.0.0.1], "
	    "dsn=4.2.0, stat=Deferred: 451 4.2.0 Try again later",
	    MTALOG_DEFERRED, "0B24A1xK001234", "4.2.0", 0 },
	{ SM, "Dec  2 04:10:01 relay sendmail[77]: 0B24A1xK001234: to=root, "
	    "ctladdr=root (0/0), delay=00:00:00, xdelay=00:00:00, "
	    "mailer=relay, pri=30043, relay=[127.0.0.1] [127.0.0.1], "
	    "dsn=2.0.0, stat=Sent (0B24A1xL001235 Message accepted for "
	    "delivery)", MTALOG_NONE, NULL, NULL, 0 },
	{ SM, "Dec  2 04:10:01 relay sm-mta[1234]: 0B24A1xK001234: "
	    "to=<u@relay.test>, delay=00:00:00, mailer=local, pri=30043, "
	    "dsn=5.1.1, stat=User unknown", MTALOG_NONE, NULL, NULL, 0 },
	{ SM, "Dec  2 04:10:01 relay sm-mta[1234]: 0B24A1xK001234: "
	    "from=<a@b.test>, size=300, class=0, nrcpts=1",
	    MTALOG_NONE, NULL, NULL, 0 },
};

/* test_cases - each line gives its outcome, queue id and dsn */
static void
test_cases(void **state)
{
	struct mtalog_rec r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum mtalog_outcome got = mtalog_parse(cases[i].fmt,
		    cases[i].line, strlen(cases[i].line), &r);

		if (got != cases[i].want)
			fail_msg("case %zu: outcome %d, want %d: %s", i, got,
			    cases[i].want, cases[i].line);
		assert_int_equal(r.outcome, got);
		if (got == MTALOG_NONE) {
			assert_string_equal(r.qid, "");
			continue;
		}
		assert_string_equal(r.qid, cases[i].qid);
		assert_string_equal(r.dsn, cases[i].dsn);
		assert_int_equal(r.unknown, cases[i].unknown);
	}
}

/* test_bounds - reads only len bytes: a line cut anywhere is safe, and a
 * trailing newline is ignored */
static void
test_bounds(void **state)
{
	const char *l = cases[0].line;
	size_t n = strlen(l), i;
	struct mtalog_rec r;
	char *copy;

	(void)state;
	for (i = 0; i <= n; i++) {
		copy = malloc(i + 1);
		assert_non_null(copy);
		memcpy(copy, l, i);
		(void)mtalog_parse(MTALOG_POSTFIX, copy, i, &r);
		free(copy);
	}
	copy = malloc(n + 2);
	assert_non_null(copy);
	memcpy(copy, l, n);
	copy[n] = '\n';
	assert_int_equal(mtalog_parse(MTALOG_POSTFIX, copy, n + 1, &r),
	    MTALOG_BOUNCED);
	free(copy);
	/* a queue id too long for us: not counted */
	assert_int_equal(mtalog_parse(MTALOG_POSTFIX,
	    "postfix/smtp[1]: ABCDEFGHIJKLMNOPQRSTUVWXYZ: to=<a>, relay=h, "
	    "dsn=5.0.0, status=bounced (x)", 85, &r), MTALOG_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
