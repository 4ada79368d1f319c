/* test_identity.c - From: address extraction and the identity map */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "identity.h"
#include "policy.h"

/* hits_of - the decision's hits as the log line shows them */
static const char *
hits_of(const struct policy_decision *d)
{
	static char buf[160];

	policy_hits_text(d, buf, sizeof(buf));
	return buf;
}

/* one From: value and the addresses a reader of it would see */
struct xcase {
	const char	*what;
	const char	*value;
	unsigned	 n;		/* addresses found */
	unsigned	 bad;		/* unreadable elements */
	const char	*addr[3];	/* the first ones, lower-cased */
};

static const struct xcase xcases[] = {
	{ "plain", "alice@example.com", 1, 0, { "alice@example.com" } },
	{ "angle", "<alice@example.com>", 1, 0, { "alice@example.com" } },
	{ "display name", "Alice Smith <Alice@Example.COM>", 1, 0,
	    { "alice@example.com" } },
	{ "quoted display name with comma and @",
	    "\"Smith, Alice (alice@example.com)\" <evil@spam.example>", 1, 0,
	    { "evil@spam.example" } },
	{ "unquoted @ in display name",
	    "alice@example.com <evil@spam.example>", 1, 0,
	    { "evil@spam.example" } },
	{ "comment after", "alice@example.com (Alice)", 1, 0,
	    { "alice@example.com" } },
	{ "comment inside", "alice(x)@(y)example.com", 1, 0,
	    { "alice@example.com" } },
	{ "nested comment with <>", "(a (<evil@x>) b) <alice@example.com>", 1,
	    0, { "alice@example.com" } },
	{ "comment hiding a comma", "Alice (a, b) <alice@example.com>", 1, 0,
	    { "alice@example.com" } },
	{ "quoted local part", "\"alice\"@example.com", 1, 0,
	    { "alice@example.com" } },
	{ "quoted local part with @", "\"alice@example.com\"@spam.example", 1,
	    0, { "alice@example.com@spam.example" } },
	{ "escaped quote", "\"al\\\"ice\"@example.com", 1, 0,
	    { "al\"ice@example.com" } },
	{ "folded", "Alice\r\n <alice@example.com>", 1, 0,
	    { "alice@example.com" } },
	{ "encoded word name", "=?utf-8?Q?Sm=C3=B6th,_A?= <alice@example.com>",
	    1, 0, { "alice@example.com" } },
	{ "encoded word B", "=?UTF-8?B?U23DtnRoLCBB?= <alice@example.com>", 1,
	    0, { "alice@example.com" } },
	{ "encoded word is not an address", "=?utf-8?q?alice=40example.com?=",
	    0, 1, { NULL } },
	{ "encoded word with @", "=?x?q?alice@example.com?=", 0, 1, { NULL } },
	{ "two addresses", "alice@example.com, bob@example.com", 2, 0,
	    { "alice@example.com", "bob@example.com" } },
	{ "two with names", "A <a@x.example>, \"B, b\" <b@y.example>", 2, 0,
	    { "a@x.example", "b@y.example" } },
	{ "outlook semicolon", "A <a@x.example>; B <b@y.example>", 2, 0,
	    { "a@x.example", "b@y.example" } },
	{ "group", "team: a@x.example, b@y.example;", 2, 0,
	    { "a@x.example", "b@y.example" } },
	{ "empty group", "undisclosed-recipients:;", 0, 0, { NULL } },
	{ "route", "<@relay.example,@r2.example:alice@example.com>", 1, 0,
	    { "alice@example.com" } },
	{ "domain literal", "alice@[192.0.2.1]", 1, 0, { "alice@[192.0.2.1]" } },
	{ "trailing comma", "alice@example.com,", 1, 0,
	    { "alice@example.com" } },
	{ "empty", "", 0, 0, { NULL } },
	{ "blanks", "  \t ", 0, 0, { NULL } },
	{ "no domain", "alice", 0, 1, { NULL } },
	{ "no local part", "@example.com", 0, 1, { NULL } },
	{ "empty angle", "<>", 0, 1, { NULL } },
	{ "two angles", "<alice@example.com> <evil@spam.example>", 0, 1,
	    { NULL } },
	{ "unclosed angle", "Alice <alice@example.com", 0, 1, { NULL } },
	{ "unclosed quote", "\"Alice <evil@x.example>, alice@example.com", 0,
	    1, { NULL } },
	{ "unclosed comment", "alice@example.com (x", 0, 1, { NULL } },
	{ "stray >", "alice@example.com>", 0, 1, { NULL } },
	{ "bad domain", "alice@exa mple!com", 0, 1, { NULL } },
	{ "one good one bad", "alice@example.com, junk", 1, 1,
	    { "alice@example.com" } },
};

/* test_extract - the table, each value alone */
static void
test_extract(void **state)
{
	char out[3][IDENT_ADDR_MAX + 1];
	unsigned n, bad, k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++) {
		const struct xcase *c = &xcases[i];

		bad = 0;
		n = ident_extract(c->value, strlen(c->value), out, 3, &bad);
		if (n != c->n || bad != c->bad)
			fail_msg("%s: got %u addresses, %u bad; expected %u, %u",
			    c->what, n, bad, c->n, c->bad);
		for (k = 0; k < n && k < 3; k++)
			if (c->addr[k] != NULL && strcmp(out[k], c->addr[k]))
				fail_msg("%s: address %u is \"%s\", expected "
				    "\"%s\"", c->what, k, out[k], c->addr[k]);
	}
}

/* test_hostile - long, binary and deeply nested values: bounded, no crash */
static void
test_hostile(void **state)
{
	static char big[70000];
	char out[2][IDENT_ADDR_MAX + 1];
	unsigned bad = 0, n;
	size_t i;

	(void)state;
	/* an address longer than any kept: unreadable, not cut */
	memset(big, 'a', 400);
	memcpy(big + 400, "@example.com", 13);
	n = ident_extract(big, strlen(big), out, 2, &bad);
	assert_int_equal(n, 0);
	assert_int_equal(bad, 1);
	/* 64 KiB of '(' */
	memset(big, '(', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bad = 0;
	assert_int_equal(ident_extract(big, strlen(big), out, 2, &bad), 0);
	assert_int_equal(bad, 1);
	/* thousands of addresses: all counted, two kept */
	for (i = 0; i + 6 < sizeof(big); i += 6)
		memcpy(big + i, "a@b.c,", 6);
	big[i] = '\0';
	bad = 0;
	n = ident_extract(big, strlen(big), out, 2, &bad);
	assert_int_equal(n, i / 6);
	assert_string_equal(out[1], "a@b.c");
	/* every byte value */
	for (i = 0; i < 256; i++)
		big[i] = (char)i;
	bad = 0;
	(void)ident_extract(big, 256, out, 2, &bad);
	/* a NUL inside: never read as the end of an address */
	bad = 0;
	n = ident_extract("\"evil@x.example\0\"@example.com", 29, out, 2, &bad);
	assert_int_equal(n, 0);
	assert_int_equal(bad, 1);
	assert_int_equal(ident_extract(NULL, 0, out, 0, &bad), 0);
}

/* map_of - a map from lines of words ("|" ends a line) */
static struct ident_map *
map_of(const char *text)
{
	struct ident_map *m = ident_map_new();
	char buf[1024], *w[16], *save = NULL, *line, *tok, *s2;
	char err[256];
	unsigned ln = 0, nl;
	size_t n;

	assert_non_null(m);
	snprintf(buf, sizeof(buf), "%s", text);
	for (line = strtok_r(buf, "|", &save); line != NULL;
	    line = strtok_r(NULL, "|", &save)) {
		ln++;
		n = 0;
		for (tok = strtok_r(line, " ", &s2); tok != NULL && n < 16;
		    tok = strtok_r(NULL, " ", &s2))
			w[n++] = tok;
		if (ident_map_add(m, w, n, ln, err, sizeof(err)) != 0)
			fail_msg("line %u: %s", ln, err);
	}
	assert_int_equal(ident_map_finish(m, &nl), 0);
	return m;
}

/* check_from - ident_check of a login with these From: header values */
static enum ident_result
check_from(const struct ident_map *m, const char *login, const char *h1,
    const char *h2, char *why, size_t whylen)
{
	struct ident_from f;

	ident_from_init(&f);
	if (h1 != NULL)
		ident_from_header(&f, h1, strlen(h1));
	if (h2 != NULL)
		ident_from_header(&f, h2, strlen(h2));
	return ident_check(m, login, &f, why, whylen);
}

/* one identity decision */
struct ccase {
	const char	*login;
	const char	*from1, *from2;	/* From: headers; NULL: none */
	enum ident_result want;
};

static const struct ccase ccases[] = {
	/* no entry, address login: itself only, any case */
	{ "alice@example.com", "Alice <alice@example.com>", NULL, IDENT_OK },
	{ "Alice@Example.com", "ALICE@EXAMPLE.COM", NULL, IDENT_OK },
	{ "alice@example.com", "\"alice\"@example.com", NULL, IDENT_OK },
	{ "alice@example.com", "bob@example.com", NULL, IDENT_MISMATCH },
	{ "alice@example.com", "\"alice@example.com\" <evil@spam.example>",
	    NULL, IDENT_MISMATCH },
	{ "alice@example.com", "alice@example.com, evil@spam.example", NULL,
	    IDENT_MISMATCH },
	/* several From: headers, even both allowed: the CVE class */
	{ "alice@example.com", "alice@example.com", "alice@example.com",
	    IDENT_MISMATCH },
	{ "alice@example.com", "alice@example.com", "evil@spam.example",
	    IDENT_MISMATCH },
	{ "alice@example.com", NULL, NULL, IDENT_MISMATCH },
	{ "alice@example.com", "undisclosed:;", NULL, IDENT_MISMATCH },
	{ "alice@example.com", "Alice <alice@example.com", NULL,
	    IDENT_MISMATCH },
	/* a login that is not an address, without an entry: not checked */
	{ "alice", "anything@anywhere.example", NULL, IDENT_UNCHECKED },
	{ "alice", NULL, NULL, IDENT_UNCHECKED },
	/* the map */
	{ "bob@example.com", "bob@example.com", NULL, IDENT_OK },
	{ "bob@example.com", "Sales <sales@example.com>", NULL, IDENT_OK },
	{ "BOB@example.com", "x@Shop.Example", NULL, IDENT_OK },
	{ "bob@example.com", "x@sub.shop.example", NULL, IDENT_MISMATCH },
	{ "bob@example.com", "bob@example.com, sales@example.com", NULL,
	    IDENT_OK },
	{ "bob@example.com", "bob@example.com, evil@spam.example", NULL,
	    IDENT_MISMATCH },
	{ "webmail7", "w7@example.org", NULL, IDENT_OK },
	{ "webmail7", "w8@example.org", NULL, IDENT_MISMATCH },
	{ "carol@partner.example", "anyone@partner.example", NULL, IDENT_OK },
	{ "carol@partner.example", "anyone@example.com", NULL, IDENT_MISMATCH },
	{ "relay", "whoever@wherever.example", NULL, IDENT_OK },
	{ "relay", "a@b.example", "c@d.example", IDENT_MISMATCH },
};

/* test_check - the identity decisions, with and without the map */
static void
test_check(void **state)
{
	struct ident_map *m = map_of(
	    "bob@example.com sales@example.com, @shop.example|"
	    "webmail7 w7@example.org|"
	    "@partner.example @partner.example|"
	    "relay *");
	char why[200];
	enum ident_result r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		const struct ccase *c = &ccases[i];

		r = check_from(m, c->login, c->from1, c->from2, why,
		    sizeof(why));
		if (r != c->want)
			fail_msg("case %zu (%s / %s / %s): got %d, expected %d "
			    "(%s)", i, c->login, c->from1 ? c->from1 : "-",
			    c->from2 ? c->from2 : "-", r, c->want, why);
		if ((r == IDENT_MISMATCH) != (why[0] != '\0'))
			fail_msg("case %zu: reason \"%s\" for result %d", i, why,
			    r);
		if (strstr(why, c->login) != NULL && c->from1 != NULL &&
		    strstr(c->from1, c->login) == NULL)
			fail_msg("case %zu: the reason shows the login", i);
	}
	/* an entry adds to the login's own address, never removes it */
	r = check_from(m, "bob@example.com", "bob@example.com", NULL, why,
	    sizeof(why));
	assert_int_equal(r, IDENT_OK);
	ident_map_free(m);
	/* no map at all */
	r = check_from(NULL, "alice@example.com", "alice@example.com", NULL,
	    why, sizeof(why));
	assert_int_equal(r, IDENT_OK);
	r = check_from(NULL, "alice@example.com", "x@example.com", NULL, why,
	    sizeof(why));
	assert_int_equal(r, IDENT_MISMATCH);
	assert_string_equal(why, "From: x@example.com is not an address of "
	    "this account");
	ident_map_free(NULL);
}

/* test_map_errors - bad map lines and duplicates, with messages */
static void
test_map_errors(void **state)
{
	static const struct {
		const char	*words[4];
		size_t		 n;
		const char	*msg;
	} bad[] = {
		{ { "alice" }, 1, "expected \"LOGIN ADDRESS" },
		{ { "alice", "," }, 2, "no address for \"alice\"" },
		{ { "alice", "bob" }, 2, "\"bob\": expected addr@domain" },
		{ { "alice", "<bob@x.example>" }, 2, "expected addr@domain" },
		{ { "alice", "@" }, 2, "\"@\": expected" },
		{ { "alice", "a@b@" }, 2, "expected" },
		{ { "@", "a@b.example" }, 2, "expected a login or @domain" },
		{ { "@a b", "a@b.example" }, 2, "expected a login or @domain" },
	};
	struct ident_map *m;
	char err[256];
	unsigned line = 0;
	size_t i;
	char a1[] = "Alice@X.example", a2[] = "a@x.example";
	char b1[] = "alice@x.example", b2[] = "b@x.example";
	char *w1[] = { a1, a2 };
	char *w2[] = { b1, b2 };

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = ident_map_new();
		err[0] = '\0';
		assert_int_equal(ident_map_add(m, (char *const *)(uintptr_t)
		    bad[i].words, bad[i].n, 1, err, sizeof(err)), -1);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    bad[i].msg);
		ident_map_free(m);
	}
	m = ident_map_new();
	assert_int_equal(ident_map_add(m, w1, 2, 3, err, sizeof(err)), 0);
	assert_int_equal(ident_map_add(m, w2, 2, 7, err, sizeof(err)), 0);
	assert_int_equal(ident_map_finish(m, &line), -1);
	assert_int_equal(line, 7);
	ident_map_free(m);
}

/* test_config - identity_map loaded with the config, errors with file:line */
static void
test_config(void **state)
{
	char dir[] = "/tmp/sluice-ident.XXXXXX", path[256], conf[512];
	char err[CONFIG_ERR_MAX], why[400];
	struct config *c;
	struct ident_from f;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/identities", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("# login  addresses\nbob@example.com  sales@example.com, "
	    "@shop.example   # roles\n\nwebmail7 w7@example.org\n", fp);
	fclose(fp);
	snprintf(conf, sizeof(conf), "%s/sluice.conf", dir);
	fp = fopen(conf, "w");
	assert_non_null(fp);
	fputs("identity_map identities\nidentity_action quarantine\n", fp);
	fclose(fp);
	c = config_load(conf, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->identity_action, CONFIG_ACTION_QUARANTINE);
	ident_from_init(&f);
	ident_from_header(&f, "x@shop.example", 14);
	assert_int_equal(ident_check(c->identities, "bob@example.com", &f, why,
	    sizeof(why)), IDENT_OK);
	config_free(c);

	/* a bad line: file:line */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("bob@example.com sales@example.com\n\nalice nobody\n", fp);
	fclose(fp);
	assert_null(config_load(conf, err, sizeof(err)));
	snprintf(why, sizeof(why), "%s:3: \"nobody\": expected addr@domain",
	    path);
	if (strstr(err, why) == NULL)
		fail_msg("got \"%s\", expected \"%s...\"", err, why);
	/* a login twice */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("bob@example.com a@example.com\nBOB@example.com b@example.com\n",
	    fp);
	fclose(fp);
	assert_null(config_load(conf, err, sizeof(err)));
	snprintf(why, sizeof(why), "%s:2: a login listed twice", path);
	assert_string_equal(err, why);
	/* a missing file */
	remove(path);
	assert_null(config_load(conf, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	remove(conf);
	rmdir(dir);

	/* the defaults */
	c = config_parse_string("", NULL, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->identity_action, CONFIG_ACTION_TAG);
	assert_null(c->identities);
	assert_null(c->trusted_networks);
	assert_null(c->trusted_header);
	assert_int_equal(c->local_submission, CONFIG_LOCAL_KEY_BY_SENDER);
	config_free(c);
}

/* test_policy_hits - the "from" hit with each action, and the EOM cap */
static void
test_policy_hits(void **state)
{
	static const struct {
		const char	*conf;
		enum verdict	 v;
		int		 observed;
		const char	*reply;	/* rcode xcode text, or NULL */
	} cases[] = {
		{ "", VERDICT_TAG, 0, NULL },
		{ "identity_action tempfail\n", VERDICT_TEMPFAIL, 0,
		    "451 4.7.1 Message deferred: From: x@y.example is not an "
		    "address of this account; please try again in 1 minute" },
		{ "identity_action reject\n", VERDICT_REJECT, 0,
		    "550 5.7.1 Message refused: From: x@y.example is not an "
		    "address of this account" },
		{ "identity_action quarantine\n", VERDICT_QUARANTINE, 0, NULL },
		{ "identity_action observe\n", VERDICT_ACCEPT, 0, NULL },
		{ "identity_action reject\nmode observe\n", VERDICT_REJECT, 1,
		    NULL },
	};
	const char *why = "From: x@y.example is not an address of this account";
	struct policy_decision d;
	struct policy_msg m;
	struct store_res res;
	struct config *c;
	char err[CONFIG_ERR_MAX], reply[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = config_parse_string(cases[i].conf, NULL, err, sizeof(err));
		assert_non_null(c);
		memset(&m, 0, sizeof(m));
		m.cls = &c->classes[0];
		memset(&res, 0, sizeof(res));
		res.allowed = 1;
		policy_decide(c, &m, NULL, 0, &res, &d);
		assert_int_equal(d.verdict, VERDICT_ACCEPT);
		policy_from_mismatch(c, why, &d);
		if (d.verdict != cases[i].v || d.observed != cases[i].observed)
			fail_msg("case %zu: verdict %d observed %d", i,
			    d.verdict, d.observed);
		assert_non_null(strstr(hits_of(&d), "from"));
		if (cases[i].reply != NULL) {
			snprintf(reply, sizeof(reply), "%s %s %s", d.reply.rcode,
			    d.reply.xcode, d.reply.text);
			assert_string_equal(reply, cases[i].reply);
		}
		if (cases[i].v == VERDICT_TAG)
			assert_string_equal(d.note, "from: From: x@y.example is "
			    "not an address of this account");
		config_free(c);
	}
	/* the recipient cap at EOM: over it, 550 5.5.3, with other hits */
	c = config_parse_string("class default {\n max_recipients 2\n}\n",
	    NULL, err, sizeof(err));
	assert_non_null(c);
	memset(&d, 0, sizeof(d));
	policy_rcpt_cap_eom(c, &c->classes[0], 2, &d);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);
	policy_rcpt_cap_eom(c, NULL, 5, &d);
	assert_int_equal(d.verdict, VERDICT_ACCEPT);
	policy_from_mismatch(c, why, &d);
	policy_rcpt_cap_eom(c, &c->classes[0], 5, &d);
	assert_int_equal(d.verdict, VERDICT_REJECT);
	assert_string_equal(hits_of(&d), "from,max_recipients");
	assert_string_equal(d.reply.rcode, "550");
	assert_string_equal(d.reply.xcode, "5.5.3");
	assert_string_equal(d.reply.text, "Too many recipients in one message "
	    "(5, at most 2)");
	config_free(c);
}

/* test_reply_percent - a From: address holding '%' reaches the reply
 * with the '%' doubled (libmilter and Sendmail read the text as a
 * format: a lone '%' loses the reply), and nothing else changed */
static void
test_reply_percent(void **state)
{
	static const struct {
		const char	*from;
		const char	*text;
	} cases[] = {
		{ "\"100%sure\"@evil.example", "Message refused: From: "
		    "100%%sure@evil.example is not an address of this "
		    "account" },
		{ "Bob <50%off%s%n@evil.example>", "Message refused: From: "
		    "50%%off%%s%%n@evil.example is not an address of this "
		    "account" },
		{ "%%@evil.example", "Message refused: From: %%%%@evil.example "
		    "is not an address of this account" },
	};
	struct policy_decision d;
	struct config *c;
	char err[CONFIG_ERR_MAX], why[200];
	size_t i;

	(void)state;
	c = config_parse_string("identity_action reject\n"
	    "class default {\n}\n", NULL, err, sizeof(err));
	assert_non_null(c);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(check_from(NULL, "alice@example.com",
		    cases[i].from, NULL, why, sizeof(why)), IDENT_MISMATCH);
		memset(&d, 0, sizeof(d));
		policy_from_mismatch(c, why, &d);
		assert_int_equal(d.verdict, VERDICT_REJECT);
		assert_string_equal(d.reply.rcode, "550");
		assert_string_equal(d.reply.xcode, "5.7.1");
		if (strcmp(d.reply.text, cases[i].text) != 0)
			fail_msg("case %zu: reply [%s], expected [%s]", i,
			    d.reply.text, cases[i].text);
	}
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_reply_percent),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_policy_hits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
