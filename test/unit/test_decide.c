/*
 * test_decide.c - from a message summary to the decision and its actions,
 * on the memory store with an injected clock: what the milter-protocol
 * tests see (verdicts, replies, log lines, locks, hop markers), without
 * a socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decide.h"

#define NOW_S	1796112000ULL	/* 2026-12-01 00:00 UTC */

static uint64_t clock_ms = NOW_S * 1000;

/* the configs of the cases */
#define LIMITS	"store memory\nlog_accepts no\nclass default {\n    messages 2/1h\n}\n"
#define FANOUT	"store memory\nlock_after 10/1h\n" \
		"class default {\n    messages 3/1h\n" \
		"    max_header_recipients 5\n}\n"
#define LOCKS	"store memory\nlog_accepts no\nlock_after 2/1h\n" \
		"class default {\n    messages 1/1h\n}\n"
#define LOOPS	"store memory\ncluster_id shropshire\nhop_limit 3\n" \
		"class default {\n    messages 10/1h\n}\n"
#define LOOPLOCK "store memory\ncluster_id shropshire\nhop_limit 3\n" \
		"lock_after 1/1h\nclass default {\n    messages 10/1h\n}\n"
#define OBSERVE	"store memory\nlog_accepts no\nmode observe\ncluster_id shropshire\n" \
		"class default {\n    messages 1/1h\n    max_recipients 2\n}\n"
#define FROM	"store memory\nidentity_action reject\n" \
		"class default {\n    messages 5/1h\n}\n"
#define RCPT	"store memory\nclass default {\n    max_recipients 2\n}\n"

/* one message of a case and what must come of it */
struct step {
	const char	*conf;	  /* non-NULL: a new config and a fresh store */
	const char	*login;	  /* SASL login, or NULL: inbound */
	unsigned	 times;	  /* sent this often; the last one is checked */
	uint64_t	 nrcpt;	  /* recipients (decide_rcpt: so far) */
	uint64_t	 naddr;	  /* distinct To/Cc */
	const char	*from;	  /* From: header, or NULL: not checked */
	unsigned	 hops;	  /* a valid marker of this many hops, or 0 */
	int		 rcpt;	  /* ask decide_rcpt instead of decide */
	enum verdict	 verdict;
	int		 observed;
	int		 refuse;
	int		 note;	  /* the queue id is noted */
	unsigned	 mark;	  /* the marker added says this many hops */
	const char	*reason;  /* lock reason, or NULL: no lock */
	const char	*rcode;	  /* reply code, or NULL: not checked */
	const char	*line;	  /* the log line, exactly ("" none) */
};

static const struct step steps[] = {
	/* a limit: accepted twice, tempfailed the third time */
	{ LIMITS, "carol@example.test", 2, 1, 1, NULL, 0, 0, VERDICT_ACCEPT,
	    0, 0, 1, 0, NULL, NULL, "" },
	{ NULL, "carol@example.test", 1, 1, 1, NULL, 0, 0, VERDICT_TEMPFAIL,
	    0, 1, 0, 0, NULL, "451", "Q1: eom login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=1 addrs=1 "
	    "msg/1h=2/2 action=tempfail hits=messages" },
	/* refused locally (fan-out): not charged, counted for lock_after */
	{ FANOUT, "carol@example.test", 3, 1, 6, NULL, 0, 0, VERDICT_REJECT,
	    0, 1, 0, 0, NULL, "550", "Q1: eom login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=1 addrs=6 "
	    "msg/1h=0/3 refused/1h=3/10 action=reject hits=fanout" },
	{ NULL, "carol@example.test", 1, 1, 1, NULL, 0, 0, VERDICT_ACCEPT,
	    0, 0, 1, 0, NULL, NULL, "Q1: eom login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=1 addrs=1 "
	    "msg/1h=1/3 refused/1h=3/10 action=accept" },
	/* lock_after 2/1h: the third refusal locks, then the lock refuses */
	{ LOCKS, "mallory@example.test", 1, 1, 1, NULL, 0, 0, VERDICT_ACCEPT,
	    0, 0, 1, 0, NULL, NULL, "" },
	{ NULL, "mallory@example.test", 2, 1, 1, NULL, 0, 0, VERDICT_TEMPFAIL,
	    0, 1, 0, 0, NULL, "451", "Q1: eom login=mallory@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=1 addrs=1 "
	    "msg/1h=1/1 refused/1h=2/2 action=tempfail hits=messages" },
	{ NULL, "mallory@example.test", 1, 1, 1, NULL, 0, 0, VERDICT_TEMPFAIL,
	    0, 1, 0, 0, "refused 3 times in 1h (lock_after 2/1h)", "451",
	    "Q1: eom login=mallory@example.test origin=sasl class=default "
	    "client=192.0.2.1 rcpts=1 addrs=1 msg/1h=1/1 refused/1h=3/2 "
	    "action=tempfail hits=messages" },
	/* inbound: a marker of 2 hops passes (and leaves with 3), one of 3
	 * is a loop (hop_limit 3): rejected, no marker */
	{ LOOPS, NULL, 1, 1, 0, NULL, 2, 0, VERDICT_ACCEPT, 0, 0, 0, 3, NULL,
	    NULL, "" },
	{ NULL, NULL, 1, 1, 0, NULL, 3, 0, VERDICT_REJECT, 0, 1, 0, 0, NULL,
	    "554", "Q1: eom login=- class=inbound client=192.0.2.1 rcpts=1 "
	    "addrs=0  action=reject hits=loop" },
	/* a login's own message gets its first marker */
	{ NULL, "carol@example.test", 1, 1, 1, NULL, 0, 0, VERDICT_ACCEPT, 0,
	    0, 1, 1, NULL, NULL, "Q1: eom login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=1 addrs=1 "
	    "msg/1h=1/10 action=accept" },
	/* a login's mail caught in a loop: refused, never charged, and not
	 * counted toward lock_after (a forwarding loop is no hijack) */
	{ LOOPLOCK, "carol@example.test", 3, 1, 1, NULL, 3, 0, VERDICT_REJECT,
	    0, 1, 0, 0, NULL, "554", "Q1: eom login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=1 addrs=1 "
	    "msg/1h=0/10 refused/1h=0/1 action=reject hits=loop" },
	{ NULL, "carol@example.test", 1, 1, 1, NULL, 0, 0, VERDICT_ACCEPT, 0,
	    0, 1, 1, NULL, NULL, "Q1: eom login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=1 addrs=1 "
	    "msg/1h=1/10 refused/1h=0/1 action=accept" },
	/* observe: over the limit, accepted (marked), would= in the line */
	{ OBSERVE, "carol@example.test", 1, 1, 1, NULL, 0, 0, VERDICT_ACCEPT,
	    0, 0, 1, 1, NULL, NULL, "" },
	{ NULL, "carol@example.test", 1, 1, 1, NULL, 0, 0, VERDICT_TEMPFAIL,
	    1, 0, 1, 1, NULL, NULL, "Q1: eom login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=1 addrs=1 "
	    "msg/1h=1/1 action=accept would=tempfail hits=messages" },
	{ NULL, "carol@example.test", 1, 2, 0, NULL, 0, 1, VERDICT_TEMPFAIL,
	    1, 0, 0, 0, NULL, "452", "Q1: rcpt login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=2 "
	    "action=accept would=tempfail hits=max_recipients" },
	/* From: not the login's: rejected and not charged */
	{ FROM, "carol@example.test", 1, 1, 1, "Mallory <mallory@example.test>",
	    0, 0, VERDICT_REJECT, 0, 1, 0, 0, NULL, "550", "Q1: eom "
	    "login=carol@example.test origin=sasl class=default "
	    "client=192.0.2.1 rcpts=1 addrs=1 msg/1h=0/5 action=reject "
	    "hits=from" },
	{ NULL, "carol@example.test", 1, 1, 1, "Carol <carol@example.test>", 0,
	    0, VERDICT_ACCEPT, 0, 0, 1, 0, NULL, NULL, "Q1: eom "
	    "login=carol@example.test origin=sasl class=default "
	    "client=192.0.2.1 rcpts=1 addrs=1 msg/1h=1/5 action=accept" },
	/* the recipient cap at RCPT: the third is refused, 452 */
	{ RCPT, "carol@example.test", 1, 1, 0, NULL, 0, 1, VERDICT_ACCEPT, 0,
	    0, 0, 0, NULL, NULL, "" },
	{ NULL, "carol@example.test", 1, 2, 0, NULL, 0, 1, VERDICT_TEMPFAIL,
	    0, 1, 0, 0, NULL, "452", "Q1: rcpt login=carol@example.test "
	    "origin=sasl class=default client=192.0.2.1 rcpts=2 "
	    "action=tempfail hits=max_recipients" },
};

static const unsigned char hopkey[HOPMARK_KEY_LEN] = "0123456789abcdef0123456789abcde";

/* test_clock - the injected clock */
static uint64_t
test_clock(void *ctx)
{
	(void)ctx;
	return clock_ms;
}

/* parse - a config that must be good, with the hop key "loaded" */
static struct config *
parse(const char *text)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config *c;

	if ((c = config_parse_string(text, "t.conf", err, sizeof(err))) == NULL)
		fail_msg("%s: %s", text, err);
	if (strstr(text, "cluster_id") != NULL) {
		memcpy(c->hop_key, hopkey, sizeof(hopkey));
		c->hop_key_loaded = 1;
	}
	return c;
}

/* summary - the message of one step, as milter/ would fill it */
static void
summary(const struct config *cfg, const struct step *st,
    struct decide_msg *s, struct hopmark_seen *seen, struct ident_from *f,
    char *key)
{
	static const struct fp_result body;	/* an empty body */
	char mark[HOPMARK_VALUE_MAX + 1];

	memset(s, 0, sizeof(*s));
	s->commit = !st->rcpt;
	s->inbound = st->login == NULL;
	s->cls = s->inbound ? NULL : config_class_for(cfg, st->login);
	s->origin = SENDER_SASL;
	if (!s->inbound)
		sender_origin_key(SENDER_SASL, st->login, key);
	s->key = key;
	s->login = s->raw = st->login;
	s->dkey = "";
	s->client = "192.0.2.1";
	s->qid = "Q1";
	s->mta = "mx.example.test";
	s->nrcpt = st->nrcpt;
	s->naddr = st->naddr;
	s->msgid = "<1@example.test>";
	s->body = &body;
	s->now = NOW_S;
	hopmark_seen_init(seen);
	if (st->hops > 0) {
		assert_int_equal(hopmark_make(hopkey, "shropshire", st->hops,
		    NOW_S - 10, s->msgid, body.exact, mark, sizeof(mark)), 0);
		hopmark_seen_add(seen, "shropshire", mark);
	}
	s->hops = seen;
	ident_from_init(f);
	if (st->from != NULL) {
		ident_from_header(f, st->from, strlen(st->from));
		s->from = f;
	}
}

/* mark_hops - the hop count of the marker decide made */
static unsigned
mark_hops(const struct decide_out *o)
{
	uint64_t t;
	unsigned hops = 0;

	if (o->mark[0] == '\0')
		return 0;
	assert_int_equal(hopmark_check(hopkey, "shropshire", o->mark, NOW_S,
	    3600, "<1@example.test>", (const unsigned char[16]){ 0 }, &hops,
	    &t), HOPMARK_VALID);
	return hops;
}

/* check_step - what came of the last message of a step */
static void
check_step(size_t i, const struct step *st, const struct decide_out *o)
{
	if (o->d.verdict != st->verdict || o->d.observed != st->observed ||
	    o->refuse != st->refuse || o->note != st->note ||
	    mark_hops(o) != st->mark || strcmp(o->line, st->line) != 0)
		fail_msg("step %zu: verdict %d observed %d refuse %d note %d "
		    "mark %u line \"%s\"", i, o->d.verdict, o->d.observed,
		    o->refuse, o->note, mark_hops(o), o->line);
	assert_int_equal(o->lock, st->reason != NULL);
	if (st->reason != NULL)
		assert_string_equal(o->reason, st->reason);
	if (st->rcode != NULL)
		assert_string_equal(o->d.reply.rcode, st->rcode);
	assert_int_equal(o->nwarn, 0);
	assert_false(o->failed);
}

/* test_steps - every step of the table, in order */
static void
test_steps(void **state)
{
	static struct hopmark_seen seen;
	static struct ident_from from;
	static struct decide_out o;
	struct config *cfg = NULL;
	struct store *s = NULL;
	struct decide_env e;
	struct decide_msg m;
	char key[SENDER_KEY_LEN + 1] = "", err[256];
	size_t i;
	unsigned n;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].conf != NULL) {
			config_free(cfg);
			store_free(s);
			cfg = parse(steps[i].conf);
			assert_non_null(s = store_memory_new(test_clock, NULL));
		}
		memset(&e, 0, sizeof(e));
		e.cfg = cfg;
		e.store = s;
		for (n = 0; n < steps[i].times; n++) {
			summary(cfg, &steps[i], &m, &seen, &from, key);
			if (steps[i].rcpt) {
				if (!decide_rcpt(&e, &m, &o))
					memset(&o, 0, sizeof(o));
			} else
				assert_int_equal(decide(&e, &m, &o), 0);
		}
		check_step(i, &steps[i], &o);
		if (o.lock) {	/* this relay locks first; another's call
				   adds to the lock but is not first */
			assert_int_equal(decide_lock(cfg, s, key, err,
			    sizeof(err)), 1);
			assert_int_equal(decide_lock(cfg, s, key, err,
			    sizeof(err)), 0);
			summary(cfg, &steps[i], &m, &seen, &from, key);
			assert_int_equal(decide(&e, &m, &o), 0);
			assert_string_equal(o.line, "Q1: eom "
			    "login=mallory@example.test origin=sasl "
			    "class=default client=192.0.2.1 rcpts=1 addrs=1 "
			    "msg/1h=1/1 lock/1d=2/0 refused/1h=4/2 "
			    "action=tempfail hits=locked,messages");
			assert_false(o.lock);	/* locked already */
		}
	}
	config_free(cfg);
	store_free(s);
}

/* bad_charge - a store nothing answers */
static int
bad_charge(struct store *s, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	(void)s;
	(void)req;
	(void)res;
	snprintf(err, errlen, "connection refused");
	return -1;
}

/* test_store_failed - nobody answers: accepted, one error line */
static void
test_store_failed(void **state)
{
	static const struct store_ops ops = { bad_charge, NULL, NULL };
	static const struct step st = { NULL, "carol@example.test", 1, 1, 1,
	    NULL, 0, 0, VERDICT_ACCEPT, 0, 0, 0, 0, NULL, NULL, "" };
	static struct hopmark_seen seen;
	static struct ident_from from;
	static struct decide_out o;
	struct store bad = { &ops, "bad", NULL };
	struct config *cfg = parse(LIMITS);
	struct decide_env e = { cfg, &bad, NULL, 0, NULL };
	struct decide_msg m;
	char key[SENDER_KEY_LEN + 1];

	(void)state;
	summary(cfg, &st, &m, &seen, &from, key);
	assert_int_equal(decide(&e, &m, &o), -1);
	assert_true(o.failed);
	assert_true(o.stored);
	assert_string_equal(o.line, "Q1: eom login=carol@example.test "
	    "origin=sasl: store failed: connection refused; accepting");
	config_free(cfg);
}

/* test_hop_warnings - a forged marker: ignored, and said so */
static void
test_hop_warnings(void **state)
{
	static const struct step st = { NULL, NULL, 1, 1, 0, NULL, 2, 0,
	    VERDICT_ACCEPT, 0, 0, 0, 0, NULL, NULL, "" };
	static struct hopmark_seen seen;
	static struct ident_from from;
	static struct decide_out o;
	struct config *cfg = parse(LOOPS);
	struct store *s = store_memory_new(test_clock, NULL);
	struct decide_env e = { cfg, s, NULL, 0, NULL };
	struct decide_msg m;
	char key[SENDER_KEY_LEN + 1];

	(void)state;
	summary(cfg, &st, &m, &seen, &from, key);
	m.msgid = "<2@example.test>";	/* the marker was made for <1@...> */
	assert_int_equal(decide(&e, &m, &o), 0);
	assert_int_equal(o.nwarn, 1);
	assert_string_equal(o.warn[0], "Q1: 1 X-Sluice-Hop header(s) with a "
	    "bad MAC ignored (forged or damaged)");
	assert_int_equal(o.d.verdict, VERDICT_ACCEPT);
	assert_false(o.stored);		/* inbound, nothing to count */
	config_free(cfg);
	store_free(s);
}

/*
 * test_domain_total - seed 000: logins of a domain refused because the
 * domain's total is full (its other logins filled it) are not counted
 * toward lock_after: refused/1h stays 0, no lock; a login over its own
 * limit as well still is (and is locked)
 */
static void
test_domain_total(void **state)
{
	static const struct step st = { NULL, "u1@customer.example", 1, 1, 1,
	    NULL, 0, 0, VERDICT_ACCEPT, 0, 0, 0, 0, NULL, NULL, "" };
	static const struct {
		const char	*login;
		const char	*refused;	/* in the line, or NULL */
	} msgs[] = {
		{ "u1@customer.example", NULL },
		{ "u2@customer.example", NULL },
		{ "u3@customer.example", " refused/1h=0/1 " },
		{ "u3@customer.example", " refused/1h=0/1 " },
		{ "u3@customer.example", " refused/1h=0/1 " },
		{ "u1@customer.example", " refused/1h=1/1 " },
		{ "u1@customer.example", " refused/1h=2/1 " },
	};
	static struct hopmark_seen seen;
	static struct ident_from from;
	static struct decide_out o;
	struct config *cfg = parse("store memory\nlock_after 1/1h\n"
	    "class default {\n    messages 1/1h\n    domain_messages 2/1h\n"
	    "}\n");
	struct store *s = store_memory_new(test_clock, NULL);
	struct decide_env e = { cfg, s, NULL, 0, NULL };
	struct decide_msg m;
	struct step one = st;
	char key[SENDER_KEY_LEN + 1], dkey[SENDER_KEY_LEN + 1];
	size_t i;

	(void)state;
	sender_origin_key(SENDER_SASL, "@customer.example", dkey);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		one.login = msgs[i].login;
		summary(cfg, &one, &m, &seen, &from, key);
		m.dcls = m.cls;
		m.dkey = dkey;
		assert_int_equal(decide(&e, &m, &o), 0);
		assert_int_equal(o.d.verdict, msgs[i].refused == NULL ?
		    VERDICT_ACCEPT : VERDICT_TEMPFAIL);
		assert_int_equal(o.lock, i == 6);	/* u1's 2nd refusal */
		if (msgs[i].refused != NULL && (strstr(o.line,
		    msgs[i].refused) == NULL || strstr(o.line,
		    "domain_messages") == NULL))
			fail_msg("message %zu: %s", i, o.line);
	}
	config_free(cfg);
	store_free(s);
}

/* test_watched - which configs need inbound mail and the body */
static void
test_watched(void **state)
{
	static const struct {
		const char	*conf;
		int		 loops, body;
	} cases[] = {
		{ "max_received 0\n", 0, 0 },
		{ "", 1, 0 },	/* max_received 50 */
		{ "max_received 0\ncopies 3/1h\n", 1, 1 },
		{ "max_received 0\ncluster_id shropshire\n", 1, 1 },
		{ "max_received 0\nclass default {\n    repeats 5/1h\n}\n",
		    0, 1 },
	};
	struct config *cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg = parse(cases[i].conf);
		if (decide_loops_watched(cfg) != cases[i].loops ||
		    decide_body_watched(cfg) != cases[i].body)
			fail_msg("case %zu: loops %d body %d", i,
			    decide_loops_watched(cfg),
			    decide_body_watched(cfg));
		config_free(cfg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_store_failed),
		cmocka_unit_test(test_hop_warnings),
		cmocka_unit_test(test_watched),
		cmocka_unit_test(test_domain_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
