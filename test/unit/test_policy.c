/* test_policy.c - from store answers to verdicts and SMTP replies */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"

static struct config cfg;
static struct config_class cls;

/* hits_of - the decision's hits as the log line shows them */
static const char *
hits_of(const struct policy_decision *d)
{
	static char buf[160];

	policy_hits_text(d, buf, sizeof(buf));
	return buf;
}

/* setup - a class with 2 message windows, 1 recipient window, cap 5 */
static int
setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(&cls, 0, sizeof(cls));
	strcpy(cls.name, "default");
	cls.messages[0] = (struct config_limit){ 100, 3600 };
	cls.messages[1] = (struct config_limit){ 1000, 86400 };
	cls.nmessages = 2;
	cls.recipients[0] = (struct config_limit){ 500, 3600 };
	cls.nrecipients = 1;
	cls.max_recipients = 5;
	cfg.mode = CONFIG_MODE_ENFORCE;
	cfg.window_buckets = 12;
	cfg.fanout_action = CONFIG_ACTION_REJECT;
	cfg.repeats_action = CONFIG_ACTION_QUARANTINE;
	cfg.wave_action = CONFIG_ACTION_TAG;
	cfg.hop_limit = 5;
	cfg.max_received = 50;
	cfg.loop_action = CONFIG_ACTION_REJECT;
	cfg.copies_action = CONFIG_ACTION_TEMPFAIL;
	cfg.lock_lifetime_ms = 86400000;
	cfg.lock_action = CONFIG_ACTION_TEMPFAIL;
	cfg.near_action = CONFIG_ACTION_TEMPFAIL;
	cfg.near_distance = 10;
	cfg.near_min_words = 100;
	cfg.clients_action = CONFIG_ACTION_TEMPFAIL;
	return 0;
}

/* test_items - one item per window, recipients cost nrcpt */
static void
test_items(void **state)
{
	struct policy_msg m = { &cls, 7, 0, NULL, NULL, 0, 0, 0, 0, NULL,
	    0, 0, NULL, NULL };
	struct store_item it[STORE_MAX_ITEMS];
	size_t n;

	(void)state;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_int_equal(n, 4);
	assert_string_equal(it[3].name, "lock");	/* always checked */
	assert_int_equal(it[3].limit, 0);
	assert_int_equal(it[3].cost, 0);
	assert_string_equal(it[0].name, "msg");
	assert_int_equal(it[0].window, 3600);
	assert_int_equal(it[0].limit, 100);
	assert_int_equal(it[0].cost, 1);
	assert_int_equal(it[0].buckets, 12);
	assert_string_equal(it[1].name, "msg");
	assert_int_equal(it[1].window, 86400);
	assert_string_equal(it[2].name, "rcpt");
	assert_int_equal(it[2].cost, 7);
	assert_int_equal(it[2].limit, 500);
	/* max bounds the output */
	assert_int_equal(policy_items(&cfg, &m, it, 2), 2);
}

/* decide - run policy_decide on items whose counts are given */
static void
decide(uint64_t c0, uint64_t c1, uint64_t c2, uint32_t retry, int allowed,
    enum store_source src, struct policy_decision *d)
{
	struct policy_msg m = { &cls, 3, 0, NULL, NULL, 0, 0, 0, 0, NULL,
	    0, 0, NULL, NULL };
	struct store_item it[STORE_MAX_ITEMS];
	struct store_res res = { allowed, 0, src };
	size_t n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS), i;

	it[0].count = c0;
	it[1].count = c1;
	it[2].count = c2;
	it[0].retry = it[1].retry = it[2].retry = retry;
	for (i = 0; i < n; i++)		/* as the stores report it */
		it[i].over = it[i].count + it[i].cost > it[i].limit;
	policy_decide(&cfg, &m, it, n, &res, d);
}

/* test_decide - accept, the hourly limit, the daily limit, recipients */
static void
test_decide(void **state)
{
	struct policy_decision d;

	(void)state;
	decide(5, 5, 15, 0, 1, STORE_SRC_PRIMARY, &d);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);
	assert_null(d.hit);

	decide(100, 100, 15, 720, 0, STORE_SRC_PRIMARY, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(d.reply.rcode, "451");
	assert_string_equal(d.reply.xcode, "4.7.1");
	assert_string_equal(d.reply.text, "Sending limit reached (100 "
	    "messages per 1h); please try again in 12 minutes");
	assert_string_equal(hits_of(&d), "messages");
	assert_int_equal(d.hit->window, 3600);
	assert_false(d.observed);

	decide(50, 1000, 15, 7200, 0, STORE_SRC_PRIMARY, &d);
	assert_string_equal(d.reply.text, "Sending limit reached (1000 "
	    "messages per 1d); please try again in 2 hours");

	decide(50, 50, 499, 30, 0, STORE_SRC_PRIMARY, &d);
	assert_string_equal(hits_of(&d), "recipients");
	assert_string_equal(d.reply.text, "Sending limit reached (500 "
	    "recipients per 1h); please try again in 30 seconds");
}

/* test_never_fits - more recipients than the window allows: 550 now */
static void
test_never_fits(void **state)
{
	struct policy_decision d;

	(void)state;
	cls.recipients[0].count = 2;
	decide(0, 0, 0, UINT32_MAX, 0, STORE_SRC_PRIMARY, &d);
	assert_int_equal(d.verdict, VERDICT_REJECT);
	assert_string_equal(d.reply.rcode, "550");
	assert_string_equal(d.reply.xcode, "5.7.1");
	assert_non_null(strstr(d.reply.text, "more recipients (3)"));

	cls.messages[0].count = 0;	/* a class that may not send */
	decide(0, 0, 0, UINT32_MAX, 0, STORE_SRC_PRIMARY, &d);
	assert_int_equal(d.verdict, VERDICT_REJECT);
	assert_string_equal(d.reply.text, "This account is not allowed to "
	    "send mail through this relay");
}

/* test_store_down - the tempfail fallback speaks for itself */
static void
test_store_down(void **state)
{
	struct policy_decision d;

	(void)state;
	decide(0, 0, 0, 0, 0, STORE_SRC_TEMPFAIL, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(d.reply.rcode, "451");
	assert_string_equal(d.reply.xcode, "4.3.0");
	assert_string_equal(hits_of(&d), "store-unavailable");
	/* accept and local fallbacks are ordinary answers */
	decide(0, 0, 0, 0, 1, STORE_SRC_ACCEPT, &d);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);
}

/* test_detector_items - fan-out, repeats and wave items, hard or soft */
static void
test_detector_items(void **state)
{
	static const char body[] = "00112233445566778899aabbccddeeff";
	struct policy_msg m = { &cls, 3, 7, body, NULL, 0, 0, 0, 0, NULL,
	    0, 0, NULL, NULL };
	struct store_item it[STORE_MAX_ITEMS];
	size_t n;

	(void)state;
	cls.header_recipients[0] = (struct config_limit){ 50, 3600 };
	cls.nheader_recipients = 1;
	cls.repeats[0] = (struct config_limit){ 20, 3600 };
	cls.nrepeats = 1;
	cls.body_senders[0] = (struct config_limit){ 10, 3600 };
	cls.nbody_senders = 1;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_int_equal(n, 7);
	assert_string_equal(it[3].name, "hdr");
	assert_int_equal(it[3].cost, 7);
	assert_false(it[3].soft);		/* fanout: reject */
	assert_string_equal(it[4].name, "lock");
	assert_string_equal(it[5].name, "rep");
	assert_string_equal(it[5].sub, body);
	assert_string_equal(it[5].scope, "");
	assert_true(it[5].soft);		/* repeats: quarantine */
	assert_string_equal(it[6].name, "wave");
	assert_string_equal(it[6].scope, body);
	assert_true(it[6].distinct);
	assert_true(it[6].soft);		/* wave: tag */
	/* no body (empty): no body items */
	m.body = NULL;
	assert_int_equal(policy_items(&cfg, &m, it, STORE_MAX_ITEMS), 5);
}

/* has - is there an item of this name? */
static int
has(const struct store_item *it, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(it[i].name, name) == 0)
			return 1;
	return 0;
}

/* find - the first item of a name, which must be there */
static struct store_item *
find(struct store_item *it, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(it[i].name, name) == 0)
			return &it[i];
	fail_msg("no item %s", name);
	return &it[0];
}

/*
 * test_near_clients - near-duplicate bodies and client addresses: their
 * items only when configured and known, their hits, replies and notes
 */
static void
test_near_clients(void **state)
{
	static const char body[] = "00112233445566778899aabbccddeeff";
	static const char ip[] = "0123456789abcdef0123456789abcdef";
	struct policy_msg m = { &cls, 1, 1, body, NULL, 0, 0,
	    0x0123456789abcdefULL, 150, ip, 0, 0, NULL,
	    NULL };
	struct store_item it[STORE_MAX_ITEMS], *x;
	struct store_res res = { 0, 0, STORE_SRC_PRIMARY };
	struct policy_decision d;
	size_t n;

	(void)state;
	/* not configured: no items */
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_false(has(it, n, "near"));
	assert_false(has(it, n, "clients"));
	cls.near_repeats[0] = (struct config_limit){ 5, 3600 };
	cls.near_repeats[1] = (struct config_limit){ 20, 86400 };
	cls.nnear_repeats = 2;
	cls.client_addresses[0] = (struct config_limit){ 10, 3600 };
	cls.nclient_addresses = 1;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	x = find(it, n, "clients");
	assert_true(x->distinct);
	assert_string_equal(x->member, ip);
	assert_string_equal(x->scope, "");	/* the login's own set */
	assert_int_equal(x->limit, 10);
	assert_int_equal(x->cost, 1);
	assert_false(x->soft);
	x = find(it, n, "near");
	assert_true(x->near);
	assert_int_equal(x->distance, 10);
	assert_int_equal(x->simhash, 0x0123456789abcdefULL);
	assert_int_equal(x->limit, 5);
	assert_int_equal(x->window, 3600);
	assert_false(x->soft);
	assert_true(x[1].near);			/* both windows */
	assert_int_equal(x[1].window, 86400);
	/* near over: 451 naming it */
	x->count = 5;
	x->over = 1;
	x->retry = 600;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(hits_of(&d), "near");
	assert_string_equal(d.reply.rcode, "451");
	assert_string_equal(d.reply.text, "Message deferred: more than 5 "
	    "similar messages from this account per 1h; please try again "
	    "in 10 minutes");
	/* and the client addresses too: both named */
	x = find(it, n, "clients");
	x->count = 10;
	x->over = 1;
	x->retry = 60;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_string_equal(hits_of(&d), "clients,near");
	assert_string_equal(d.reply.text, "Message deferred: this account "
	    "was used from more than 10 client addresses per 1h; please try "
	    "again in 1 minute");
	/* quarantine: a soft item, the note names the detector */
	cfg.near_action = CONFIG_ACTION_QUARANTINE;
	cfg.clients_action = CONFIG_ACTION_OBSERVE;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_true(find(it, n, "near")->soft);
	assert_true(find(it, n, "clients")->soft);
	find(it, n, "near")->over = 1;
	find(it, n, "clients")->over = 1;
	res.allowed = 1;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_QUARANTINE);
	assert_string_equal(hits_of(&d), "clients(observe),near");
	assert_string_equal(d.note, "near: more than 5 similar messages from "
	    "this account per 1h");
	/* too short a body, or no simhash yet (at MAIL): no near item */
	m.words = 99;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_false(has(it, n, "near"));
	assert_true(has(it, n, "clients"));
	m.words = 0;
	cfg.near_min_words = 1;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_false(has(it, n, "near"));
	/* no client key: no clients item */
	m.client = NULL;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_false(has(it, n, "clients"));
}

/* test_fanout_cap - a 630-address To: is refused with a clear 550 */
static void
test_fanout_cap(void **state)
{
	struct policy_msg m = { &cls, 1, 630, NULL, NULL, 0, 0, 0, 0, NULL,
	    0, 0, NULL, NULL };
	struct store_item it[STORE_MAX_ITEMS];
	struct store_res res = { 1, 0, STORE_SRC_PRIMARY };
	struct policy_decision d;
	size_t n;

	(void)state;
	cls.max_header_recipients = 100;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_REJECT);
	assert_string_equal(d.reply.rcode, "550");
	assert_string_equal(d.reply.text, "Message refused: 630 addresses "
	    "in To/Cc, at most 100 per message");
	assert_string_equal(hits_of(&d), "fanout");
	/* 100 is fine */
	m.naddr = 100;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);
	/* as observe: accepted, named */
	cfg.fanout_action = CONFIG_ACTION_OBSERVE;
	m.naddr = 630;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);
	assert_string_equal(hits_of(&d), "fanout(observe)");
}

/*
 * test_strictest - one verdict for several detectors: the strictest
 * wins and every detector is named; quarantine carries its reason
 */
static void
test_strictest(void **state)
{
	static const char body[] = "00112233445566778899aabbccddeeff";
	struct policy_msg m = { &cls, 3, 2, body, NULL, 0, 0, 0, 0, NULL,
	    0, 0, NULL, NULL };
	struct store_item it[STORE_MAX_ITEMS];
	struct store_res res = { 1, 0, STORE_SRC_PRIMARY };
	struct policy_decision d;
	size_t n;

	(void)state;
	cls.repeats[0] = (struct config_limit){ 20, 3600 };
	cls.nrepeats = 1;
	cls.body_senders[0] = (struct config_limit){ 10, 3600 };
	cls.nbody_senders = 1;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_int_equal(n, 6);
	it[4].count = 21;	/* repeats over: quarantine */
	it[4].over = 1;
	it[5].count = 11;	/* wave over: tag */
	it[5].over = 1;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_QUARANTINE);
	assert_string_equal(hits_of(&d), "repeats,wave");
	assert_string_equal(d.note, "repeats: more than 20 identical messages "
	    "from this account per 1h");
	/* and the hourly message limit on top: tempfail wins */
	it[0].count = 100;
	it[0].over = 1;
	it[0].retry = 600;
	res.allowed = 0;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(hits_of(&d), "messages,repeats,wave");
	assert_string_equal(d.reply.text, "Sending limit reached (100 "
	    "messages per 1h); please try again in 10 minutes");
}

/* test_observe - observe mode decides the same, marked observed */
static void
test_observe(void **state)
{
	struct policy_decision d;

	(void)state;
	cfg.mode = CONFIG_MODE_OBSERVE;
	decide(100, 100, 15, 60, 0, STORE_SRC_PRIMARY, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_true(d.observed);
	decide(1, 1, 1, 0, 1, STORE_SRC_PRIMARY, &d);
	assert_false(d.observed);
}

/* test_rcpt_cap - the 6th recipient of a class capped at 5 gets 452 */
static void
test_rcpt_cap(void **state)
{
	struct policy_reply r;

	(void)state;
	assert_false(policy_rcpt_over(&cls, 5, &r));
	assert_true(policy_rcpt_over(&cls, 6, &r));
	assert_string_equal(r.rcode, "452");
	assert_string_equal(r.xcode, "4.5.3");
	assert_string_equal(r.text, "Too many recipients in one message (at "
	    "most 5); send to the others in another message");
	cls.max_recipients = 0;		/* no cap */
	assert_false(policy_rcpt_over(&cls, 1000000, &r));
}

/*
 * test_refused_locally - the checks that need no store: a loop, the
 * Received: count, the To/Cc cap, a refusing From: action, the recipient
 * cap at EOM; soft actions and a clean message are not refusals
 */
static void
test_refused_locally(void **state)
{
	struct policy_msg m;

	(void)state;
	cls.max_header_recipients = 5;
	memset(&m, 0, sizeof(m));
	m.cls = &cls;
	m.nrcpt = 3;
	m.naddr = 5;
	assert_false(policy_refused_locally(&cfg, &m, NULL, NULL, 3));
	m.naddr = 6;			/* the To/Cc cap */
	assert_true(policy_refused_locally(&cfg, &m, NULL, NULL, 3));
	cfg.fanout_action = CONFIG_ACTION_TAG;	/* accepted, tagged */
	assert_false(policy_refused_locally(&cfg, &m, NULL, NULL, 3));
	m.naddr = 1;
	m.passes = 5;			/* hop_limit: not the login's doing */
	assert_int_equal(policy_refused_locally(&cfg, &m, NULL, NULL, 3),
	    POLICY_LOCAL_UNOWNED);
	m.naddr = 6;			/* and its own fan-out: that is */
	cfg.fanout_action = CONFIG_ACTION_REJECT;
	assert_int_equal(policy_refused_locally(&cfg, &m, NULL, NULL, 3),
	    POLICY_LOCAL_OWN);
	cfg.fanout_action = CONFIG_ACTION_TAG;
	m.naddr = 1;
	m.passes = 0;
	m.received = 51;		/* max_received */
	assert_int_equal(policy_refused_locally(&cfg, &m, NULL, NULL, 3),
	    POLICY_LOCAL_UNOWNED);
	m.received = 0;
	cfg.identity_action = CONFIG_ACTION_TAG;
	assert_false(policy_refused_locally(&cfg, &m, "not alice's", NULL,
	    3));
	cfg.identity_action = CONFIG_ACTION_REJECT;
	assert_true(policy_refused_locally(&cfg, &m, "not alice's", NULL,
	    3));
	assert_false(policy_refused_locally(&cfg, &m, "", NULL, 3));
	/* the recipient cap of mail that could not be refused at RCPT */
	assert_false(policy_refused_locally(&cfg, &m, NULL, &cls, 5));
	assert_true(policy_refused_locally(&cfg, &m, NULL, &cls, 6));
	cfg.mode = CONFIG_MODE_OBSERVE;	/* would refuse: not charged either */
	assert_true(policy_refused_locally(&cfg, &m, NULL, &cls, 6));
}

/* test_replies_safe - no reply carries CR, LF or a lone '%' */
static void
test_replies_safe(void **state)
{
	struct policy_decision d;
	const char *p;

	(void)state;
	decide(100, 100, 15, 1, 0, STORE_SRC_PRIMARY, &d);
	assert_null(strpbrk(d.reply.text, "\r\n%"));
	assert_true(strlen(d.reply.text) < 980);
	for (p = d.reply.text; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	assert_string_equal(policy_verdict_name(VERDICT_REJECT), "reject");
}

/* test_loops - hop limit, Received: count, copies; inbound has no limits */
static void
test_loops(void **state)
{
	static const char copy[] = "0123456789abcdef0123456789abcdef";
	struct policy_msg m = { NULL, 0, 0, NULL, copy, 4, 10, 0, 0, NULL,
	    0, 0, NULL, NULL };
	struct store_item it[STORE_MAX_ITEMS];
	struct store_res res = { 1, 0, STORE_SRC_PRIMARY };
	struct policy_decision d;
	size_t n;

	(void)state;
	/* inbound, copies off: nothing to count at all */
	assert_int_equal(policy_items(&cfg, &m, it, STORE_MAX_ITEMS), 0);
	cfg.copies = (struct config_limit){ 100, 3600 };
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].name, "copy");
	assert_string_equal(it[0].scope, copy);
	assert_false(it[0].soft);	/* tempfail refuses */
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);	/* 4 passes < 5 */
	m.passes = 5;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_REJECT);
	assert_string_equal(d.reply.rcode, "554");
	assert_string_equal(d.reply.xcode, "5.4.6");
	assert_string_equal(d.reply.text, "Message refused: mail loop: this "
	    "message has passed through this cluster 5 times");
	m.passes = 0;
	m.received = 51;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_string_equal(hits_of(&d), "received");
	assert_string_equal(d.reply.xcode, "5.4.6");
	m.received = 3;
	it[0].count = 100;
	it[0].over = 1;
	it[0].retry = 120;
	res.allowed = 0;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(d.reply.xcode, "4.4.6");
	assert_string_equal(hits_of(&d), "copies");
	assert_string_equal(d.reply.text, "Message deferred: more than 100 "
	    "copies of this message per 1h (a mail loop?); please try again "
	    "in 2 minutes");
}

/* test_lock - the refusal that trips lock_after; a locked login refused */
static void
test_lock(void **state)
{
	struct policy_msg m = { &cls, 1, 0, NULL, NULL, 0, 0, 0, 0, NULL,
	    0, 0, NULL, NULL };
	struct store_item it[STORE_MAX_ITEMS], lk;
	struct store_res res = { 1, 0, STORE_SRC_PRIMARY };
	struct policy_decision d;
	size_t n;

	(void)state;
	cfg.lock_after = (struct config_limit){ 50, 3600 };
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_int_equal(n, 5);
	assert_string_equal(it[4].name, "refused");
	assert_true(it[4].on_refuse);
	assert_int_equal(it[4].limit, 50);
	assert_false(policy_lock_due(it, n));
	it[4].over = 1;		/* the 51st refusal */
	assert_true(policy_lock_due(it, n));
	it[3].over = 1;		/* already locked: nothing to do */
	assert_false(policy_lock_due(it, n));
	res.allowed = 0;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(hits_of(&d), "locked");
	assert_string_equal(d.reply.text, "This account is locked; please "
	    "contact your provider");
	cfg.lock_action = CONFIG_ACTION_REJECT;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_string_equal(d.reply.rcode, "550");
	policy_lock_item(&cfg, &lk);
	assert_string_equal(lk.name, "lock");
	assert_int_equal(lk.window, 86400);
	assert_int_equal(lk.cost, 1);
	assert_true(lk.limit > 1000000);
}

/* test_reply_text - every reply passes one rule: '%' doubled, CR, LF
 * and bytes outside printable ASCII as \\xHH, cut with "..." to fit,
 * never a lone '%' at the cut */
static void
test_reply_text(void **state)
{
	struct policy_reply r;
	char long_text[600];
	size_t i, n;

	(void)state;
	policy_reply_set(&r, "550", "5.7.1", "From: \"100%sure\"@x is bad");
	assert_string_equal(r.rcode, "550");
	assert_string_equal(r.xcode, "5.7.1");
	assert_string_equal(r.text, "From: \"100%%sure\"@x is bad");
	policy_reply_set(&r, "451", "4.7.1", "a\r\n451 4.7.1 forged\tline\x01");
	assert_string_equal(r.text, "a\\x0d\\x0a451 4.7.1 forged\\x09line"
	    "\\x01");
	policy_reply_set(&r, "451", "4.7.1", "caf\xc3\xa9");
	assert_string_equal(r.text, "caf\\xc3\\xa9");
	/* a text of 599 '%': bounded, every '%' doubled, none lone */
	memset(long_text, '%', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	policy_reply_set(&r, "550", "5.7.1", long_text);
	n = strlen(r.text);
	assert_true(n < sizeof(r.text));
	assert_string_equal(r.text + n - 3, "...");
	for (i = 0; i + 3 < n; i += 2)
		assert_true(r.text[i] == '%' && r.text[i + 1] == '%');
	assert_int_equal((n - 3) % 2, 0);
	/* the texts sluice writes itself are unchanged */
	policy_reply_set(&r, "451", "4.7.1", "Sending limit reached (10 "
	    "messages per 1h); please try again in 5 minutes");
	assert_string_equal(r.text, "Sending limit reached (10 messages per "
	    "1h); please try again in 5 minutes");
}

/* ext_decide - items of 5 external and 2 internal recipients, the store's
 * counts before them given; returns the decision */
static size_t
ext_decide(uint64_t ext, uint64_t in, uint64_t next, struct store_item *it,
    struct policy_decision *d)
{
	struct policy_msg m = { &cls, next + 2, 0, NULL, NULL, 0, 0, 0, 0,
	    NULL, next, 2, NULL, NULL };
	struct store_res res = { 1, 0, STORE_SRC_PRIMARY };
	size_t n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS), i;

	for (i = 0; i < n; i++) {
		if (strcmp(it[i].name, "ext_rcpt") == 0)
			it[i].count = ext;
		if (strcmp(it[i].name, "int_rcpt") == 0)
			it[i].count = in;
		it[i].retry = 720;
		it[i].over = it[i].count + it[i].cost > it[i].limit;
		if (it[i].over)
			res.allowed = 0;
	}
	policy_decide(&cfg, &m, it, n, &res, d);
	return n;
}

/* test_external - external and internal recipients: their own hard items,
 * and a reply that says which was reached */
static void
test_external(void **state)
{
	struct store_item it[STORE_MAX_ITEMS], x[2];
	struct policy_decision d;
	size_t n;

	(void)state;
	cls.external_recipients[0] = (struct config_limit){ 500, 3600 };
	cls.nexternal_recipients = 1;
	cls.internal_recipients[0] = (struct config_limit){ 1000, 3600 };
	cls.ninternal_recipients = 1;
	n = ext_decide(0, 0, 5, it, &d);
	assert_int_equal(n, 6);		/* msg x2, rcpt, ext, int, lock */
	assert_string_equal(it[2].name, "rcpt");
	assert_int_equal(it[2].cost, 7);
	assert_string_equal(it[3].name, "ext_rcpt");
	assert_int_equal(it[3].cost, 5);
	assert_int_equal(it[3].limit, 500);
	assert_false(it[3].soft);
	assert_string_equal(it[4].name, "int_rcpt");
	assert_int_equal(it[4].cost, 2);
	assert_int_equal(it[4].limit, 1000);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);

	/* under the total (500), over the external limit */
	ext_decide(498, 0, 5, it, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(hits_of(&d), "external_recipients");
	assert_string_equal(d.reply.rcode, "451");
	assert_string_equal(d.reply.xcode, "4.7.1");
	assert_string_equal(d.reply.text, "Sending limit reached (500 "
	    "external recipients per 1h); please try again in 12 minutes");
	assert_string_equal(d.hit->name, "ext_rcpt");

	ext_decide(0, 999, 5, it, &d);
	assert_string_equal(hits_of(&d), "internal_recipients");
	assert_string_equal(d.reply.text, "Sending limit reached (1000 "
	    "internal recipients per 1h); please try again in 12 minutes");

	/* both the total and the external limit: both named, whatever
	 * their order (one name is part of the other) */
	cls.recipients[0].count = 6;
	ext_decide(498, 0, 5, it, &d);
	assert_string_equal(hits_of(&d), "recipients,external_recipients");
	x[0] = it[3];	/* external first, then the total */
	x[1] = it[2];
	policy_decide(&cfg, &(struct policy_msg){ .cls = &cls }, x, 2,
	    &(struct store_res){ 0, 0, STORE_SRC_PRIMARY }, &d);
	assert_string_equal(hits_of(&d), "external_recipients,recipients");

	/* more external recipients in one message than the window holds */
	cls.recipients[0].count = 10000;
	ext_decide(0, 0, 600, it, &d);
	assert_int_equal(d.verdict, VERDICT_REJECT);
	assert_string_equal(d.reply.rcode, "550");
	assert_string_equal(d.reply.text, "This message has more external "
	    "recipients (600) than this account may send per 1h (500)");

	/* at MAIL nothing is known of the recipients: cost 0, never over */
	ext_decide(500, 1000, 0, it, &d);
	assert_int_equal(it[3].cost, 0);
	assert_false(it[3].over);

	/* one of the two alone: only its items */
	cls.ninternal_recipients = 0;
	assert_int_equal(ext_decide(0, 0, 5, it, &d), 5);
	assert_string_equal(it[3].name, "ext_rcpt");
	assert_string_equal(it[4].name, "lock");
}

/* test_domain_totals - a domain's windows: scoped to the domain's key,
 * shared by every login of it, and a reply that says so */
static void
test_domain_totals(void **state)
{
	static const char dom[] = "00112233445566778899aabbccddeeff";
	struct config_class dc;
	struct policy_msg m = { &cls, 4, 0, NULL, NULL, 0, 0, 0, 0, NULL, 0,
	    0, NULL, dom };
	struct store_item it[STORE_MAX_ITEMS];
	struct store_res res = { 0, 0, STORE_SRC_PRIMARY };
	struct policy_decision d;
	size_t n, i;

	(void)state;
	memset(&dc, 0, sizeof(dc));
	strcpy(dc.name, "customer");
	/* no domain class (a bare login): the request of before */
	assert_int_equal(policy_items(&cfg, &m, it, STORE_MAX_ITEMS), 4);
	/* a domain class without domain limits: the same */
	m.dcls = &dc;
	assert_int_equal(policy_items(&cfg, &m, it, STORE_MAX_ITEMS), 4);
	dc.domain_messages[0] = (struct config_limit){ 30, 3600 };
	dc.ndomain_messages = 1;
	dc.domain_recipients[0] = (struct config_limit){ 100, 3600 };
	dc.ndomain_recipients = 1;
	n = policy_items(&cfg, &m, it, STORE_MAX_ITEMS);
	assert_int_equal(n, 6);
	assert_string_equal(it[3].name, "dom_msg");
	assert_string_equal(it[3].scope, dom);
	assert_int_equal(it[3].cost, 1);
	assert_int_equal(it[3].limit, 30);
	assert_false(it[3].soft);
	assert_string_equal(it[4].name, "dom_rcpt");
	assert_string_equal(it[4].scope, dom);
	assert_int_equal(it[4].cost, 4);
	assert_string_equal(it[0].scope, "");	/* the login's own */
	for (i = 0; i < n; i++) {
		it[i].count = strcmp(it[i].name, "dom_msg") == 0 ? 30 : 0;
		it[i].retry = 720;
		it[i].over = it[i].count + it[i].cost > it[i].limit;
	}
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(hits_of(&d), "domain_messages");
	assert_string_equal(d.reply.text, "Sending limit reached (30 messages "
	    "per 1h for all accounts of this domain); please try again in 12 "
	    "minutes");
	it[3].over = 0;
	it[4].cost = 101;
	it[4].over = 1;
	policy_decide(&cfg, &m, it, n, &res, &d);
	assert_string_equal(hits_of(&d), "domain_recipients");
	assert_string_equal(d.reply.rcode, "550");
	assert_string_equal(d.reply.text, "This message has more recipients "
	    "(101) than this domain may send per 1h (100)");
}

/* test_feedback - remote_* windows in a message's items only with
 * feedback_action tempfail, cost 0 (charged by the reader), and refusing
 * while over */
static void
test_feedback(void **state)
{
	struct policy_msg m = { .cls = &cls, .nrcpt = 1 };
	struct store_item items[STORE_MAX_ITEMS];
	struct store_res res = { 0, 0, STORE_SRC_PRIMARY };
	struct policy_decision d;
	char path[] = "/var/log/mail.log";
	size_t n, i, found = 0;

	(void)state;
	cls.remote_rejects[0] = (struct config_limit){ 5, 3600 };
	cls.nremote_rejects = 1;
	cls.remote_unknown[0] = (struct config_limit){ 3, 3600 };
	cls.nremote_unknown = 1;
	cfg.feedback_action = CONFIG_FEEDBACK_LOCK;
	n = policy_items(&cfg, &m, items, STORE_MAX_ITEMS);
	for (i = 0; i < n; i++)	/* feedback off */
		assert_true(items[i].kind != ITEM_REMOTE_REJECTS);
	cfg.feedback_log = path;
	n = policy_items(&cfg, &m, items, STORE_MAX_ITEMS);
	for (i = 0; i < n; i++)	/* lock: the reader's business */
		assert_true(items[i].kind != ITEM_REMOTE_REJECTS);
	cfg.feedback_action = CONFIG_FEEDBACK_TEMPFAIL;
	n = policy_items(&cfg, &m, items, STORE_MAX_ITEMS);
	for (i = 0; i < n; i++)
		if (items[i].kind == ITEM_REMOTE_REJECTS ||
		    items[i].kind == ITEM_REMOTE_UNKNOWN) {
			found++;
			assert_int_equal(items[i].cost, 0);
			assert_false(items[i].soft);
			if (items[i].kind == ITEM_REMOTE_REJECTS) {
				assert_string_equal(items[i].name, "rrej");
				items[i].over = 1;
				items[i].count = 6;
				items[i].retry = 600;
			}
		}
	assert_int_equal(found, 2);
	policy_decide(&cfg, &m, items, n, &res, &d);
	assert_int_equal(d.verdict, VERDICT_TEMPFAIL);
	assert_string_equal(hits_of(&d), "remote_rejects");
	assert_string_equal(d.reply.rcode, "451");
	assert_string_equal(d.reply.xcode, "4.7.1");
	assert_non_null(strstr(d.reply.text, "more than 5 of this account's "
	    "recipients refused by remote servers per 1h"));
	cfg.feedback_log = NULL;
	cls.nremote_rejects = cls.nremote_unknown = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_text),
		cmocka_unit_test_setup(test_items, setup),
		cmocka_unit_test_setup(test_decide, setup),
		cmocka_unit_test_setup(test_never_fits, setup),
		cmocka_unit_test_setup(test_store_down, setup),
		cmocka_unit_test_setup(test_detector_items, setup),
		cmocka_unit_test_setup(test_fanout_cap, setup),
		cmocka_unit_test_setup(test_near_clients, setup),
		cmocka_unit_test_setup(test_strictest, setup),
		cmocka_unit_test_setup(test_loops, setup),
		cmocka_unit_test_setup(test_lock, setup),
		cmocka_unit_test_setup(test_observe, setup),
		cmocka_unit_test_setup(test_rcpt_cap, setup),
		cmocka_unit_test_setup(test_refused_locally, setup),
		cmocka_unit_test_setup(test_replies_safe, setup),
		cmocka_unit_test_setup(test_external, setup),
		cmocka_unit_test_setup(test_domain_totals, setup),
		cmocka_unit_test_setup(test_feedback, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
