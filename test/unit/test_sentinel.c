/*
 * test_sentinel.c - the pure parts of sentinel.c: the sentinel list as
 * written in sluice.conf, the replies of SENTINEL get-master-addr-by-name
 * and ROLE (built by hand, as hiredis would), the rate limit.
 * sentinel_discover talks to real sentinels: test/integration/sentinel.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sentinel.h"

/* str_reply - a string reply over s (not copied) */
static redisReply
str_reply(const char *s, int type)
{
	redisReply r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.str = (char *)(uintptr_t)s;
	r.len = strlen(s);
	return r;
}

/* test_parse_list - good lists, and every bad one with its message */
static void
test_parse_list(void **state)
{
	static const struct {
		const char	*text;
		int		 n;
		const char	*last_host;
		int		 last_port;
	} good[] = {
		{ "127.0.0.1:26379", 1, "127.0.0.1", 26379 },
		{ "a:1, b:2,c:3\t d:65535", 4, "d", 65535 },
		{ " [::1]:26379 ,", 1, "::1", 26379 },
		{ "s1.example.net:26379 [2001:db8::5]:5", 2, "2001:db8::5", 5 },
	};
	static const struct {
		const char	*text;
		const char	*err;
	} bad[] = {
		{ "", "no sentinel given" },
		{ " , ,", "no sentinel given" },
		{ "h", "expected host:port or [address]:port with a port from "
		    "1 to 65535, got \"h\"" },
		{ "h:0", "got \"h:0\"" },
		{ "h:65536", "got \"h:65536\"" },
		{ "h:1x", "got \"h:1x\"" },
		{ "h:", "got \"h:\"" },
		{ ":1", "got \":1\"" },
		{ "::1:26379", "got \"::1:26379\"" },
		{ "[::1]26379", "got \"[::1]26379\"" },
		{ "[]:1", "got \"[]:1\"" },
		{ "[::1", "got \"[::1\"" },
		{ "h:0000001", "got \"h:0000001\"" },
		{ "a:1 b:2 c:3 d:4 e:5 f:6 g:7 h:8 i:9 j:10 k:11 l:12 m:13 "
		    "n:14 o:15 p:16 q:17", "more than 16 sentinels" },
	};
	struct sentinel_addr l[SENTINEL_MAX];
	char err[200], longhost[SENTINEL_HOST_MAX + 10];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = sentinel_parse_list(good[i].text, l, SENTINEL_MAX, err,
		    sizeof(err));
		if (n != good[i].n)
			fail_msg("\"%s\": %d, not %d (%s)", good[i].text, n,
			    good[i].n, n == -1 ? err : "");
		assert_string_equal(l[n - 1].host, good[i].last_host);
		assert_int_equal(l[n - 1].port, good[i].last_port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		n = sentinel_parse_list(bad[i].text, l, SENTINEL_MAX, err,
		    sizeof(err));
		if (n != -1 || strstr(err, bad[i].err) == NULL)
			fail_msg("\"%s\": %d \"%s\"", bad[i].text, n, err);
	}
	/* the longest host fits; one byte more does not */
	memset(longhost, 'h', SENTINEL_HOST_MAX);
	strcpy(longhost + SENTINEL_HOST_MAX, ":1");
	assert_int_equal(sentinel_parse_list(longhost, l, 1, err,
	    sizeof(err)), 1);
	assert_int_equal(strlen(l[0].host), SENTINEL_HOST_MAX);
	memset(longhost, 'h', SENTINEL_HOST_MAX + 1);
	strcpy(longhost + SENTINEL_HOST_MAX + 1, ":1");
	assert_int_equal(sentinel_parse_list(longhost, l, 1, err,
	    sizeof(err)), -1);
}

/* test_master_reply - an address, nil, and garbled replies */
static void
test_master_reply(void **state)
{
	redisReply r, h, p, *el[3] = { &h, &p, &p };
	struct sentinel_addr a;
	char hb[SENTINEL_HOST_MAX + 2];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.type = REDIS_REPLY_ARRAY;
	r.elements = 2;
	r.element = el;
	h = str_reply("10.1.2.3", REDIS_REPLY_STRING);
	p = str_reply("6380", REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), 1);
	assert_string_equal(a.host, "10.1.2.3");
	assert_int_equal(a.port, 6380);
	r.type = REDIS_REPLY_NIL;
	assert_int_equal(sentinel_master_reply(&r, &a), 0);
	r.type = REDIS_REPLY_ARRAY;
	assert_int_equal(sentinel_master_reply(NULL, &a), -1);
	r.elements = 3;
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	r.elements = 2;
	p = str_reply("0", REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	p = str_reply("65536", REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	p = str_reply("63-9", REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	p = str_reply("123456", REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	p = str_reply("", REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	p = str_reply("6379", REDIS_REPLY_STATUS);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	p = str_reply("6379", REDIS_REPLY_STRING);
	h = str_reply("", REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	h = str_reply("a\0b", REDIS_REPLY_STRING);
	h.len = 3;	/* a NUL inside */
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	memset(hb, 'h', sizeof(hb) - 1);
	hb[sizeof(hb) - 1] = '\0';
	h = str_reply(hb, REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	hb[sizeof(hb) - 2] = '\0';
	h = str_reply(hb, REDIS_REPLY_STRING);
	assert_int_equal(sentinel_master_reply(&r, &a), 1);
	el[0] = NULL;
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
	r = str_reply("ERR no such master", REDIS_REPLY_ERROR);
	assert_int_equal(sentinel_master_reply(&r, &a), -1);
}

/* test_role - only a ROLE reply that starts with "master" is a primary */
static void
test_role(void **state)
{
	redisReply r, e, *el[1] = { &e };

	(void)state;
	memset(&r, 0, sizeof(r));
	r.type = REDIS_REPLY_ARRAY;
	r.elements = 1;
	r.element = el;
	e = str_reply("master", REDIS_REPLY_STRING);
	assert_true(sentinel_role_master(&r));
	e = str_reply("slave", REDIS_REPLY_STRING);
	assert_false(sentinel_role_master(&r));
	e = str_reply("sentinel", REDIS_REPLY_STRING);
	assert_false(sentinel_role_master(&r));
	e = str_reply("masterx", REDIS_REPLY_STRING);
	assert_false(sentinel_role_master(&r));
	e = str_reply("mast", REDIS_REPLY_STRING);
	assert_false(sentinel_role_master(&r));
	r.elements = 0;
	assert_false(sentinel_role_master(&r));
	assert_false(sentinel_role_master(NULL));
	r = str_reply("master", REDIS_REPLY_STRING);
	assert_false(sentinel_role_master(&r));	/* not an array */
}

/* test_due - never asked, asked long enough ago, clock went back */
static void
test_due(void **state)
{
	char out[SENTINEL_HOST_MAX + 10];
	struct sentinel_addr a = { "::1", 26379 };

	(void)state;
	assert_true(sentinel_due(5, 0, 1000));
	assert_false(sentinel_due(1500, 1000, 1000));
	assert_true(sentinel_due(2000, 1000, 1000));
	assert_true(sentinel_due(500, 1000, 1000));
	assert_string_equal(sentinel_addr_text(&a, out, sizeof(out)),
	    "[::1]:26379");
	strcpy(a.host, "10.0.0.1");
	assert_string_equal(sentinel_addr_text(&a, out, sizeof(out)),
	    "10.0.0.1:26379");
}

/* test_discover_down - no sentinel listening: -1, and err says so */
static void
test_discover_down(void **state)
{
	struct sentinel_addr l[2] = { { "127.0.0.1", 1 }, { "127.0.0.1", 1 } };
	struct sentinel_opts o = { l, 2, "mymaster", NULL, 200 };
	struct sentinel_addr a;
	char err[300];

	(void)state;
	assert_int_equal(sentinel_discover(&o, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no sentinel answered for mymaster (2 "
	    "asked; last, 127.0.0.1:1: "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_master_reply),
		cmocka_unit_test(test_role),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_discover_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
