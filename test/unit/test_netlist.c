/* test_netlist.c - trusted_networks: CIDR parsing and matching */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "netlist.h"

struct mcase {
	const char	*addr;
	int		 in;
};

/* test_match - one list, addresses in and out of it */
static void
test_match(void **state)
{
	static const struct mcase cases[] = {
		{ "10.0.0.0", 1 }, { "10.255.255.255", 1 }, { "10.1.2.3", 1 },
		{ "11.0.0.0", 0 }, { "9.255.255.255", 0 },
		{ "192.0.2.5", 1 }, { "192.0.2.4", 0 }, { "192.0.2.6", 0 },
		{ "172.16.0.1", 1 }, { "172.31.255.255", 1 },
		{ "172.32.0.0", 0 }, { "172.15.255.255", 0 },
		{ "198.51.100.128", 1 }, { "198.51.100.127", 0 },
		{ "::1", 1 }, { "::2", 0 },
		{ "2001:db8::1", 1 }, { "2001:db8:ffff:ffff::1", 1 },
		{ "2001:db9::1", 0 },
		/* an IPv4 client as an IPv6 socket reports it */
		{ "::ffff:10.9.8.7", 1 }, { "::ffff:11.9.8.7", 0 },
		/* 127.0.0.1 is not ::1 */
		{ "127.0.0.1", 0 },
		/* not addresses */
		{ "", 0 }, { "local", 0 }, { "unknown", 0 }, { "10.0.0", 0 },
		{ "10.0.0.1 ", 0 }, { "10.0.0.1/8", 0 }, { "fe80::1%eth0", 0 },
		{ "10.0.0.01", 0 },
	};
	char err[256];
	struct netlist *l;
	size_t i;

	(void)state;
	l = netlist_parse("10.0.0.0/8, 192.0.2.5,172.16.0.0/12 "
	    "198.51.100.128/25\t::1/128, 2001:db8::/32", err, sizeof(err));
	if (l == NULL)
		fail_msg("%s", err);
	assert_int_equal(netlist_count(l), 6);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (netlist_match(l, cases[i].addr) != cases[i].in)
			fail_msg("%s: expected %s", cases[i].addr,
			    cases[i].in ? "in" : "out");
	assert_int_equal(netlist_match(l, NULL), 0);
	assert_int_equal(netlist_match(NULL, "10.0.0.1"), 0);
	netlist_free(l);
	netlist_free(NULL);
}

/* test_edges - /0, /32, /128, odd prefixes */
static void
test_edges(void **state)
{
	static const struct {
		const char	*list;
		const char	*addr;
		int		 in;
	} cases[] = {
		{ "0.0.0.0/0", "203.0.113.9", 1 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		{ "::/0", "2001:db8::1", 1 },
		{ "::/0", "203.0.113.9", 1 },	/* as ::ffff:203.0.113.9 */
		{ "203.0.113.9/32", "203.0.113.9", 1 },
		{ "203.0.113.9/32", "203.0.113.8", 0 },
		{ "203.0.113.8/31", "203.0.113.9", 1 },
		{ "203.0.113.8/31", "203.0.113.10", 0 },
		{ "10.128.0.0/9", "10.127.255.255", 0 },
		{ "10.128.0.0/9", "10.128.0.0", 1 },
		{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
		{ "2001:db8::/33", "2001:db8:8000::1", 0 },
		{ "2001:db8::1/128", "2001:0db8:0000::0001", 1 },
		{ "::ffff:10.0.0.0/104", "10.1.1.1", 1 },
	};
	char err[256];
	struct netlist *l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		l = netlist_parse(cases[i].list, err, sizeof(err));
		if (l == NULL)
			fail_msg("%s: %s", cases[i].list, err);
		if (netlist_match(l, cases[i].addr) != cases[i].in)
			fail_msg("%s in %s: expected %d", cases[i].addr,
			    cases[i].list, cases[i].in);
		netlist_free(l);
	}
}

/* test_errors - what is refused, and the message */
static void
test_errors(void **state)
{
	static const struct {
		const char	*list;
		const char	*msg;
	} cases[] = {
		{ "", "expected one or more networks" },
		{ " , ,", "expected one or more networks" },
		{ "10.0.0.0/33", "\"10.0.0.0/33\": the prefix must be 0 to 32" },
		{ "::/129", "the prefix must be 0 to 128" },
		{ "10.0.0.0/", "the prefix must be" },
		{ "10.0.0.0/-1", "the prefix must be" },
		{ "10.0.0.0/8x", "the prefix must be" },
		{ "10.0.0.0/+8", "the prefix must be" },
		{ "10.0.0.0/0008", "the prefix must be" },
		{ "10.1.2.3/8", "\"10.1.2.3/8\": host bits set under the mask" },
		{ "2001:db8::1/32", "host bits set" },
		{ "mail.example.com", "\"mail.example.com\": expected an IPv4 or "
		    "IPv6 address" },
		{ "10.0.0", "expected an IPv4" },
		{ "10.0.0.256", "expected an IPv4" },
		{ "fe80::1%eth0", "expected an IPv4" },
		{ "10.0.0.0/8, bogus", "\"bogus\"" },
		{ "1111111111111111111111111111111111111111111111111111111111111"
		    "11111111", "not a network" },
	};
	char err[256], many[NETLIST_MAX * 12 + 16];
	size_t i, o = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (netlist_parse(cases[i].list, err, sizeof(err)) != NULL)
			fail_msg("\"%s\" was accepted", cases[i].list);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("\"%s\": got \"%s\", expected \"%s\"",
			    cases[i].list, err, cases[i].msg);
	}
	for (i = 0; i <= NETLIST_MAX; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "10.0.%zu.%zu ",
		    i / 256, i % 256);
	assert_null(netlist_parse(many, err, sizeof(err)));
	assert_non_null(strstr(err, "more than 256 networks"));
}

/* test_config - the keys in sluice.conf */
static void
test_config(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct config *c;

	(void)state;
	c = config_parse_string("trusted_networks 10.0.0.0/8, 192.0.2.5, "
	    "::1/128   # webmail\ntrusted_header X-Webmail-User\n"
	    "local_submission inbound\n", "t.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(netlist_count(c->trusted_networks), 3);
	assert_true(netlist_match(c->trusted_networks, "192.0.2.5"));
	assert_false(netlist_match(c->trusted_networks, "192.0.2.6"));
	assert_string_equal(c->trusted_header, "X-Webmail-User");
	assert_int_equal(c->local_submission, CONFIG_LOCAL_INBOUND);
	config_free(c);

	assert_null(config_parse_string("\n\ntrusted_networks 10.0.0.0/8 "
	    "10.1.2.3/16\n", "t.conf", err, sizeof(err)));
	assert_string_equal(err, "t.conf:3: trusted_networks: \"10.1.2.3/16\": "
	    "host bits set under the mask");
	assert_null(config_parse_string("trusted_networks\n", "t.conf", err,
	    sizeof(err)));
	assert_string_equal(err, "t.conf:1: trusted_networks: expected one or "
	    "more networks, e.g. 10.0.0.0/8, 192.0.2.5, ::1/128");
	assert_null(config_parse_string("trusted_networks 10.0.0.0/8\n"
	    "trusted_networks ::1\n", "t.conf", err, sizeof(err)));
	assert_string_equal(err, "t.conf:2: trusted_networks given twice");
	assert_null(config_parse_string("trusted_header \"X Y\"\n", "t.conf",
	    err, sizeof(err)));
	assert_non_null(strstr(err, "t.conf:1: trusted_header: only letters"));
	assert_null(config_parse_string("local_submission reject\n", "t.conf",
	    err, sizeof(err)));
	assert_string_equal(err, "t.conf:1: local_submission: expected "
	    "key-by-sender or inbound, got \"reject\"");
	assert_null(config_parse_string("identity_action bounce\n", "t.conf",
	    err, sizeof(err)));
	assert_non_null(strstr(err, "t.conf:1: identity_action: expected "
	    "tempfail, reject, quarantine, tag or observe"));
}

/* test_format - written back in the form netlist_parse reads, same list */
static void
test_format(void **state)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "192.0.2.5 10.0.0.0/8,::1", "192.0.2.5, 10.0.0.0/8, ::1" },
		{ "2001:DB8::/32 ::ffff:10.1.0.0/112 0.0.0.0/0",
		    "2001:db8::/32, 10.1.0.0/16, 0.0.0.0/0" },
		{ "::/0 ::ffff:192.0.2.1", "::/0, 192.0.2.1" },
		/* shorter than inet_ntop: a single zero group is "::" too */
		{ "1:0:2:3:4:5:6:7 0:0:1:0:0:0:0:0/64 ::1:2:3:4:5:6:7 fe80::",
		    "1::2:3:4:5:6:7, 0:0:1::/64, ::1:2:3:4:5:6:7, fe80::" },
		{ "1:2:3:4:5:6:7:8 0:0:0:0:ffff::/80 0::0.0.1.2",
		    "1:2:3:4:5:6:7:8, ::ffff:0:0:0/80, ::102" },
	};
	char err[128], out[256], again[256], small[8];
	struct netlist *l, *m;
	size_t i, need;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		l = netlist_parse(cases[i].in, err, sizeof(err));
		assert_non_null(l);
		need = netlist_format(l, ", ", out, sizeof(out));
		assert_string_equal(out, cases[i].out);
		assert_int_equal(need, strlen(out));
		m = netlist_parse(out, err, sizeof(err));
		assert_non_null(m);
		netlist_format(m, ", ", again, sizeof(again));
		assert_string_equal(again, out);
		/* too small: cut, terminated, and the length needed told */
		assert_int_equal(netlist_format(l, ", ", small, sizeof(small)),
		    need);
		assert_true(strlen(small) < sizeof(small));
		netlist_free(l);
		netlist_free(m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
