/*
 * test_hopmark.c - the hop marker: make/check round trips, every field
 * tampered, wrong key, other clusters, lifetime and clock skew, hostile
 * values, refolding, several markers in one message, the key file, and
 * a replay of seed 003 (one message looping through the cluster's relays).
 * No clock: every call gets its `now`.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hopmark.h"

#define NOW	1700000000ULL	/* the injected clock */
#define LIFE	86400U		/* lifetime used unless a case says */
#define CLUSTER	"relay-eu.1"
#define MSGID	"<abc.123@example.org>"

static const unsigned char key1[HOPMARK_KEY_LEN] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
	0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
	0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf };
static const unsigned char key2[HOPMARK_KEY_LEN] = { 1 };	/* another */
static const unsigned char fp1[16] = {
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* mk - a marker for CLUSTER/MSGID/fp1 made with key1; must succeed */
static void
mk(unsigned hops, uint64_t t, char out[HOPMARK_VALUE_MAX + 1])
{
	assert_int_equal(hopmark_make(key1, CLUSTER, hops, t, MSGID, fp1,
	    out, HOPMARK_VALUE_MAX + 1), 0);
}

/* chk - check a value against CLUSTER/MSGID/fp1/key1 at NOW */
static enum hopmark_status
chk(const char *value)
{
	unsigned h;
	uint64_t t;

	return hopmark_check(key1, CLUSTER, value, NOW, LIFE, MSGID, fp1,
	    &h, &t);
}

/* replace - s with its first `from` turned into `to`; `from` must occur */
static void
replace(const char *s, const char *from, const char *to, char *out,
    size_t outlen)
{
	const char *p = strstr(s, from);

	assert_non_null(p);
	assert_true(strlen(s) - strlen(from) + strlen(to) < outlen);
	snprintf(out, outlen, "%.*s%s%s", (int)(p - s), s, to,
	    p + strlen(from));
}

/* mac_of - the m= digits of a value */
static const char *
mac_of(const char *value)
{
	const char *m = strstr(value, "m=");

	assert_non_null(m);
	return m + 2;
}

/* test_round_trip - make then check: VALID with the hops and time made */
static void
test_round_trip(void **state)
{
	static const struct {
		unsigned	 hops;
		uint64_t	 t;
		const char	*cluster;
		const char	*msgid;
	} cases[] = {
		{ 0, NOW, CLUSTER, MSGID },
		{ 1, NOW - 1, CLUSTER, MSGID },
		{ 7, NOW - LIFE, CLUSTER, MSGID },
		{ HOPMARK_HOPS_MAX, NOW + HOPMARK_SKEW_S, CLUSTER, MSGID },
		{ 2, NOW, "a", MSGID },
		{ 3, NOW, "A.b_c-d.0123456789012345678901234567890123456789"
		    "0123456789012345", MSGID },	/* 64 characters */
		{ 4, NOW, CLUSTER, NULL },
		{ 5, NOW, CLUSTER, "" },
		{ 6, NOW, CLUSTER, "no-brackets@x" },
	};
	char v[HOPMARK_VALUE_MAX + 1], want[64];
	unsigned h;
	uint64_t t;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(hopmark_make(key1, cases[i].cluster,
		    cases[i].hops, cases[i].t, cases[i].msgid, fp1, v,
		    sizeof(v)), 0);
		snprintf(want, sizeof(want), "v=1; c=%s; h=%u; t=%llu; m=",
		    cases[i].cluster, cases[i].hops,
		    (unsigned long long)cases[i].t);
		assert_memory_equal(v, want, strlen(want));
		assert_int_equal(strlen(mac_of(v)), 43);
		for (j = 0; v[j] != '\0'; j++)
			assert_true(v[j] >= 0x20 && v[j] < 0x7f);
		assert_int_equal(hopmark_check(key1, cases[i].cluster, v, NOW,
		    LIFE, cases[i].msgid, fp1, &h, &t), HOPMARK_VALID);
		assert_int_equal(h, cases[i].hops);
		assert_int_equal(t, cases[i].t);
		/* NULL outputs are allowed */
		assert_int_equal(hopmark_check(key1, cases[i].cluster, v, NOW,
		    LIFE, cases[i].msgid, fp1, NULL, NULL), HOPMARK_VALID);
	}
	/* the longest value there is still fits, with room to refold */
	assert_int_equal(strlen(cases[5].cluster), HOPMARK_CLUSTER_MAX);
	assert_int_equal(hopmark_make(key1, cases[5].cluster,
	    HOPMARK_HOPS_MAX, UINT64_MAX, MSGID, fp1, v, sizeof(v)), 0);
	assert_int_equal(strlen(v), 149);
	assert_int_equal(hopmark_check(key1, cases[5].cluster, v, UINT64_MAX,
	    LIFE, MSGID, fp1, &h, &t), HOPMARK_VALID);
	assert_int_equal(t, UINT64_MAX);
	/* deterministic: same inputs, same value */
	{
		char v2[HOPMARK_VALUE_MAX + 1];

		mk(3, NOW, v);
		mk(3, NOW, v2);
		assert_string_equal(v, v2);
	}
}

/* test_make_refuses - bad arguments and short buffers: -1 and "" */
static void
test_make_refuses(void **state)
{
	static const struct {
		const char	*cluster;
		unsigned	 hops;
		size_t		 outlen;
		int		 null_key, null_fp;
	} cases[] = {
		{ "", 1, 256, 0, 0 },
		{ NULL, 1, 256, 0, 0 },
		{ "a b", 1, 256, 0, 0 },
		{ "a;b", 1, 256, 0, 0 },
		{ "a=b", 1, 256, 0, 0 },
		{ "caf\xc3\xa9", 1, 256, 0, 0 },
		{ "x1234567890123456789012345678901234567890123456789012345"
		    "678901234", 1, 256, 0, 0 },	/* 65 characters */
		{ CLUSTER, HOPMARK_HOPS_MAX + 1, 256, 0, 0 },
		{ CLUSTER, 1, 20, 0, 0 },
		{ CLUSTER, 1, 83, 0, 0 },	/* one short */
		{ CLUSTER, 1, 256, 1, 0 },
		{ CLUSTER, 1, 256, 0, 1 },
	};
	char v[HOPMARK_VALUE_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(v, 'x', sizeof(v));
		assert_int_equal(hopmark_make(cases[i].null_key ? NULL : key1,
		    cases[i].cluster, cases[i].hops, NOW, MSGID,
		    cases[i].null_fp ? NULL : fp1, v, cases[i].outlen), -1);
		assert_int_equal(v[0], '\0');
	}
	/* exactly enough room */
	assert_int_equal(hopmark_make(key1, CLUSTER, 1, NOW, MSGID, fp1, v,
	    84), 0);
	assert_int_equal(strlen(v), 83);
	assert_int_equal(hopmark_make(key1, CLUSTER, 1, NOW, MSGID, fp1, NULL,
	    84), -1);
	assert_int_equal(hopmark_make(key1, CLUSTER, 1, NOW, MSGID, fp1, v,
	    0), -1);
	assert_true(hopmark_cluster_valid(CLUSTER));
	assert_false(hopmark_cluster_valid(cases[6].cluster));
	assert_false(hopmark_cluster_valid(NULL));
	assert_false(hopmark_cluster_valid(""));
}

/* test_tamper - each field changed after signing, other key, identity */
static void
test_tamper(void **state)
{
	static const struct {
		const char	*name;
		const char	*from, *to;	/* edit of the value, or NULL */
		const char	*cluster;	/* checking cluster, NULL: ours */
		const char	*msgid;		/* "-": ours; NULL: none */
		int		 fp_bit;	/* body fp bit flipped, -1: none */
		int		 other_key;
		enum hopmark_status want;
	} cases[] = {
		{ "untouched", NULL, NULL, NULL, "-", -1, 0, HOPMARK_VALID },
		{ "hops up", "h=3", "h=4", NULL, "-", -1, 0, HOPMARK_BAD_MAC },
		{ "hops down", "h=3", "h=0", NULL, "-", -1, 0,
		    HOPMARK_BAD_MAC },
		{ "hops max", "h=3", "h=999", NULL, "-", -1, 0,
		    HOPMARK_BAD_MAC },
		{ "time +1", "t=1699999990", "t=1699999991", NULL, "-", -1, 0,
		    HOPMARK_BAD_MAC },
		{ "time fresh", "t=1699999990", "t=1700000000", NULL, "-", -1,
		    0, HOPMARK_BAD_MAC },
		{ "cluster, checked as that", "c=relay-eu.1", "c=relay-eu.2",
		    "relay-eu.2", "-", -1, 0, HOPMARK_BAD_MAC },
		{ "cluster case", "c=relay-eu.1", "c=Relay-eu.1",
		    "Relay-eu.1", "-", -1, 0, HOPMARK_BAD_MAC },
		{ "cluster prefix", "c=relay-eu.1", "c=relay-eu.",
		    "relay-eu.", "-", -1, 0, HOPMARK_BAD_MAC },
		{ "cluster renamed", "c=relay-eu.1", "c=relay-eu.2", NULL, "-",
		    -1, 0, HOPMARK_FOREIGN },
		{ "other cluster checks", NULL, NULL, "relay-us", "-", -1, 0,
		    HOPMARK_FOREIGN },
		{ "other cluster, case", NULL, NULL, "RELAY-EU.1", "-", -1, 0,
		    HOPMARK_FOREIGN },
		{ "message-id changed", NULL, NULL, NULL,
		    "<abc.124@example.org>", -1, 0, HOPMARK_BAD_MAC },
		{ "message-id case", NULL, NULL, NULL, "<ABC.123@example.org>",
		    -1, 0, HOPMARK_BAD_MAC },
		{ "message-id missing", NULL, NULL, NULL, NULL, -1, 0,
		    HOPMARK_BAD_MAC },
		{ "message-id empty", NULL, NULL, NULL, "", -1, 0,
		    HOPMARK_BAD_MAC },
		{ "message-id extra", NULL, NULL, NULL,
		    "<abc.123@example.org>x", -1, 0, HOPMARK_BAD_MAC },
		{ "message-id comment", NULL, NULL, NULL,
		    "<abc.123@example.org> (c)", -1, 0, HOPMARK_BAD_MAC },
		{ "message-id two", NULL, NULL, NULL,
		    "<abc.123@example.org> <abc.123@example.org>", -1, 0,
		    HOPMARK_BAD_MAC },
		{ "message-id no brackets", NULL, NULL, NULL,
		    "abc.123@example.org", -1, 0, HOPMARK_VALID },
		{ "message-id folded", NULL, NULL, NULL,
		    "\r\n\t<abc.123@example.org>\r\n", -1, 0, HOPMARK_VALID },
		{ "message-id blanks inside", NULL, NULL, NULL,
		    " < abc.123@\r\n example.org > ", -1, 0, HOPMARK_VALID },
		{ "body bit 0", NULL, NULL, NULL, "-", 0, 0, HOPMARK_BAD_MAC },
		{ "body bit 127", NULL, NULL, NULL, "-", 127, 0,
		    HOPMARK_BAD_MAC },
		{ "body bit 64", NULL, NULL, NULL, "-", 64, 0,
		    HOPMARK_BAD_MAC },
		{ "wrong key", NULL, NULL, NULL, "-", -1, 1, HOPMARK_BAD_MAC },
		{ "version 2", "v=1", "v=2", NULL, "-", -1, 0,
		    HOPMARK_MALFORMED },
	};
	char v[HOPMARK_VALUE_MAX + 1], e[HOPMARK_VALUE_MAX + 1];
	unsigned char fp[16];
	unsigned h;
	uint64_t t;
	size_t i;

	(void)state;
	mk(3, NOW - 10, v);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].from != NULL)
			replace(v, cases[i].from, cases[i].to, e, sizeof(e));
		else
			snprintf(e, sizeof(e), "%s", v);
		memcpy(fp, fp1, sizeof(fp));
		if (cases[i].fp_bit >= 0)
			fp[cases[i].fp_bit / 8] ^=
			    (unsigned char)(1u << (cases[i].fp_bit % 8));
		h = 77;
		t = 77;
		print_message("%s\n", cases[i].name);
		assert_int_equal(hopmark_check(cases[i].other_key ? key2 : key1,
		    cases[i].cluster != NULL ? cases[i].cluster : CLUSTER, e,
		    NOW, LIFE, cases[i].msgid != NULL &&
		    strcmp(cases[i].msgid, "-") == 0 ? MSGID : cases[i].msgid,
		    fp, &h, &t), cases[i].want);
		if (cases[i].want == HOPMARK_VALID) {
			assert_int_equal(h, 3);
			assert_int_equal(t, NOW - 10);
		} else {	/* nothing unverified leaks out */
			assert_int_equal(h, 0);
			assert_int_equal(t, 0);
		}
	}
}

/* test_mac_digits - every MAC digit changed: never VALID */
static void
test_mac_digits(void **state)
{
	static const char bad[] = "+/=!.~*";
	char v[HOPMARK_VALUE_MAX + 1], e[HOPMARK_VALUE_MAX + 2];
	size_t pos, k, off, last_bad = 0, last_malformed = 0;
	enum hopmark_status st;

	(void)state;
	mk(3, NOW, v);
	off = (size_t)(mac_of(v) - v);
	for (pos = 0; pos < 43; pos++) {
		for (k = 0; k < 64; k++) {
			if (b64url[k] == v[off + pos])
				continue;
			memcpy(e, v, sizeof(v));
			e[off + pos] = b64url[k];
			st = chk(e);
			if (pos < 42) {
				assert_int_equal(st, HOPMARK_BAD_MAC);
				continue;
			}
			/* the last digit holds 4 MAC bits and 2 zero bits */
			assert_true(st == HOPMARK_BAD_MAC ||
			    st == HOPMARK_MALFORMED);
			last_bad += st == HOPMARK_BAD_MAC;
			last_malformed += st == HOPMARK_MALFORMED;
		}
		for (k = 0; bad[k] != '\0'; k++) {
			memcpy(e, v, sizeof(v));
			e[off + pos] = bad[k];
			assert_int_equal(chk(e), HOPMARK_MALFORMED);
		}
	}
	assert_int_equal(last_bad, 15);
	assert_int_equal(last_malformed, 48);
	/* one digit short, one too many, padded */
	memcpy(e, v, sizeof(v));
	e[strlen(e) - 1] = '\0';
	assert_int_equal(chk(e), HOPMARK_MALFORMED);
	snprintf(e, sizeof(e), "%sA", v);
	assert_int_equal(chk(e), HOPMARK_MALFORMED);
	snprintf(e, sizeof(e), "%s=", v);
	assert_int_equal(chk(e), HOPMARK_MALFORMED);
}

/* test_time - lifetime, clock skew and the future, at their edges */
static void
test_time(void **state)
{
	static const struct {
		uint64_t	 t, now;
		uint32_t	 life;
		enum hopmark_status want;
	} cases[] = {
		{ NOW, NOW, LIFE, HOPMARK_VALID },
		{ NOW - LIFE, NOW, LIFE, HOPMARK_VALID },
		{ NOW - LIFE - 1, NOW, LIFE, HOPMARK_EXPIRED },
		{ 0, NOW, LIFE, HOPMARK_EXPIRED },
		{ NOW, NOW, 0, HOPMARK_VALID },
		{ NOW - 1, NOW, 0, HOPMARK_EXPIRED },
		{ 0, NOW, UINT32_MAX, HOPMARK_VALID },
		{ NOW + HOPMARK_SKEW_S, NOW, LIFE, HOPMARK_VALID },
		{ NOW + HOPMARK_SKEW_S + 1, NOW, LIFE, HOPMARK_FUTURE },
		{ NOW + HOPMARK_SKEW_S + 1, NOW, UINT32_MAX, HOPMARK_FUTURE },
		{ UINT64_MAX, NOW, LIFE, HOPMARK_FUTURE },
		{ UINT64_MAX, 0, UINT32_MAX, HOPMARK_FUTURE },
		{ 0, 0, 0, HOPMARK_VALID },
		{ 0, UINT64_MAX, UINT32_MAX, HOPMARK_EXPIRED },
		{ UINT64_MAX, UINT64_MAX, 0, HOPMARK_VALID },
	};
	char v[HOPMARK_VALUE_MAX + 1];
	unsigned h;
	uint64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mk(5, cases[i].t, v);
		assert_int_equal(hopmark_check(key1, CLUSTER, v, cases[i].now,
		    cases[i].life, MSGID, fp1, &h, &t), cases[i].want);
		/* verified, so the facts are given even when ignored */
		assert_int_equal(h, 5);
		assert_int_equal(t, cases[i].t);
	}
}

/* fill - tmpl with each "%s" replaced by s */
static void
fill(const char *tmpl, const char *s, char *out, size_t outlen)
{
	size_t n = 0, k;

	for (; *tmpl != '\0'; tmpl++) {
		if (tmpl[0] == '%' && tmpl[1] == 's') {
			k = strlen(s);
			assert_true(n + k < outlen);
			memcpy(out + n, s, k);
			n += k;
			tmpl++;
		} else {
			assert_true(n + 1 < outlen);
			out[n++] = *tmpl;
		}
	}
	out[n] = '\0';
}

/* test_malformed - hostile and broken values: MALFORMED, no crash */
static void
test_malformed(void **state)
{
	static const char mac[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	static const char *const cases[] = {
		"",
		" ",
		"\r\n\t",
		";",
		";;",
		"v=1",
		"garbage",
		"v=1; c=relay-eu.1; h=3; t=1700000000",		/* no m */
		"c=relay-eu.1; h=3; t=1700000000; m=%s",	/* no v */
		"v=1; h=3; t=1700000000; m=%s",			/* no c */
		"v=1; c=relay-eu.1; t=1700000000; m=%s",	/* no h */
		"v=1; c=relay-eu.1; h=3; m=%s",			/* no t */
		"v=1; v=1; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=3; h=3; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=3; t=1700000000; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=3; t=1700000000; m=%s; m=%s",
		"v=1; c=relay-eu.1; h=3; t=1700000000; x=1; m=%s",
		"v=1; c=relay-eu.1; h=3; t=1700000000; m=%s;;",
		"v=1;; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"; v=1; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"v=1, c=relay-eu.1, h=3, t=1700000000, m=%s",
		"V=1; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"vv=1; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"v:1; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"v=01; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"v=; c=relay-eu.1; h=3; t=1700000000; m=%s",
		"v=1; c=; h=3; t=1700000000; m=%s",
		"v=1; c=relay/eu; h=3; t=1700000000; m=%s",
		"v=1; c=relay\"eu; h=3; t=1700000000; m=%s",
		"v=1; c=x12345678901234567890123456789012345678901234567890"
		    "12345678901234; h=3; t=1700000000; m=%s",	/* 65 */
		"v=1; c=relay-eu.1; h=; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=03; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=00; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=+3; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=-3; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=3x; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=0x3; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=1000; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=4294967299; t=1700000000; m=%s",
		"v=1; c=relay-eu.1; h=3; t=; m=%s",
		"v=1; c=relay-eu.1; h=3; t=01700000000; m=%s",
		"v=1; c=relay-eu.1; h=3; t=-1; m=%s",
		"v=1; c=relay-eu.1; h=3; t=1.7e9; m=%s",
		"v=1; c=relay-eu.1; h=3; t=18446744073709551616; m=%s",
		"v=1; c=relay-eu.1; h=3; t=99999999999999999999; m=%s",
		"v=1; c=relay-eu.1; h=3; t=184467440737095516150; m=%s",
		"v=1; c=relay-eu.1; h=3; t=1700000000; m=",
		"v=1; c=relay-eu.1; h=3; t=1700000000; m=%s==",
		"v=1; c=relay-eu.1; h=3; t=1700000000\x01; m=%s",
		"v=1; c=relay-eu.1; h=3; t=1700000000\x7f; m=%s",
		"v=1; c=relay-eu.1\xff; h=3; t=1700000000; m=%s",
		"v=1; c=r\xc3\xa9lay; h=3; t=1700000000; m=%s",
		"v=1;\x0b c=relay-eu.1; h=3; t=1700000000; m=%s",
		"v=1;\f c=relay-eu.1; h=3; t=1700000000; m=%s",
		"=; ==; =1",
		"v=1=1; c=relay-eu.1; h=3; t=1700000000; m=%s",
	};
	char v[HOPMARK_VALUE_MAX * 2], good[HOPMARK_VALUE_MAX + 1];
	static char big[65537];
	unsigned h;
	uint64_t t, rng = 0x9e3779b97f4a7c15ULL;
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill(cases[i], mac, v, sizeof(v));
		print_message("%zu: %s\n", i, v);
		assert_int_equal(hopmark_check(key1, CLUSTER, v, NOW, LIFE,
		    MSGID, fp1, &h, &t), HOPMARK_MALFORMED);
		assert_int_equal(h, 0);
		assert_int_equal(t, 0);
	}
	assert_int_equal(chk(NULL), HOPMARK_MALFORMED);

	/* every prefix of a good value */
	mk(3, NOW, good);
	for (n = 0; n < strlen(good); n++) {
		snprintf(v, sizeof(v), "%.*s", (int)n, good);
		assert_int_equal(chk(v), HOPMARK_MALFORMED);
	}
	assert_int_equal(chk(good), HOPMARK_VALID);

	/* length: HOPMARK_VALUE_MAX raw bytes are read, one more is not */
	n = strlen(good);
	snprintf(v, sizeof(v), "%s%*s", good, (int)(HOPMARK_VALUE_MAX - n),
	    "");
	assert_int_equal(strlen(v), HOPMARK_VALUE_MAX);
	assert_int_equal(chk(v), HOPMARK_VALID);
	snprintf(v, sizeof(v), "%s%*s", good, (int)(HOPMARK_VALUE_MAX + 1 - n),
	    "");
	assert_int_equal(chk(v), HOPMARK_MALFORMED);

	/* 64 KiB: a good value drowned in blanks, and plain junk */
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, good, n);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(chk(big), HOPMARK_MALFORMED);
	memset(big, 'A', sizeof(big) - 1);
	assert_int_equal(chk(big), HOPMARK_MALFORMED);
	for (i = 0; i + 1 < sizeof(big); i++)
		big[i] = "v=1;c"[i % 5];
	assert_int_equal(chk(big), HOPMARK_MALFORMED);

	/* NUL-free binary: 20,000 random values of 0..300 bytes */
	for (i = 0; i < 20000; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		n = (size_t)(rng % 301);
		for (j = 0; j < n; j++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			v[j] = (char)(1 + rng % 255);
		}
		v[n] = '\0';
		assert_int_equal(chk(v), HOPMARK_MALFORMED);
	}
}

/* refold - s with every "; " made ";\r\n\t", as a refolding relay would */
static void
refold(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s != '\0' && n + 4 < outlen; s++) {
		if (s[0] == ';' && s[1] == ' ') {
			memcpy(out + n, ";\r\n\t", 4);
			n += 4;
			s++;
		} else
			out[n++] = *s;
	}
	out[n] = '\0';
}

/* test_whitespace - refolded, squeezed, padded, reordered: still VALID */
static void
test_whitespace(void **state)
{
	char v[HOPMARK_VALUE_MAX + 1], e[HOPMARK_VALUE_MAX * 2];
	const char *m;
	unsigned h;
	uint64_t t;
	size_t i, n;

	(void)state;
	mk(4, NOW - 5, v);
	m = mac_of(v);

	refold(v, e, sizeof(e));
	assert_non_null(strstr(e, "\r\n\t"));
	assert_int_equal(chk(e), HOPMARK_VALID);

	snprintf(e, sizeof(e), "\r\n  %s \r\n", v);	/* padded */
	assert_int_equal(chk(e), HOPMARK_VALID);

	snprintf(e, sizeof(e), "%s;", v);		/* trailing ';' */
	assert_int_equal(chk(e), HOPMARK_VALID);

	for (i = n = 0; v[i] != '\0'; i++)		/* squeezed */
		if (v[i] != ' ')
			e[n++] = v[i];
	e[n] = '\0';
	assert_int_equal(chk(e), HOPMARK_VALID);

	for (i = n = 0; v[i] != '\0' && i < 120; i++) {	/* spaced out */
		e[n++] = v[i];
		e[n++] = ' ';
	}
	snprintf(e + n, sizeof(e) - n, "%s", v + i);
	assert_int_equal(strlen(e) <= HOPMARK_VALUE_MAX, 1);
	assert_int_equal(chk(e), HOPMARK_VALID);

	/* a relay that folded inside the MAC */
	snprintf(e, sizeof(e), "%.*s\r\n %s", (int)(m - v + 20), v,
	    m + 20);
	assert_int_equal(chk(e), HOPMARK_VALID);

	/* tags in another order */
	snprintf(e, sizeof(e), "m=%s; t=%llu; h=4; c=" CLUSTER "; v=1", m,
	    (unsigned long long)(NOW - 5));
	assert_int_equal(hopmark_check(key1, CLUSTER, e, NOW, LIFE, MSGID,
	    fp1, &h, &t), HOPMARK_VALID);
	assert_int_equal(h, 4);
	assert_int_equal(t, NOW - 5);
}

/* test_check_args - NULL pointers never crash and never verify */
static void
test_check_args(void **state)
{
	char v[HOPMARK_VALUE_MAX + 1];

	(void)state;
	mk(1, NOW, v);
	assert_int_equal(hopmark_check(key1, NULL, v, NOW, LIFE, MSGID, fp1,
	    NULL, NULL), HOPMARK_FOREIGN);
	assert_int_equal(hopmark_check(NULL, CLUSTER, v, NOW, LIFE, MSGID,
	    fp1, NULL, NULL), HOPMARK_BAD_MAC);
	assert_int_equal(hopmark_check(key1, CLUSTER, v, NOW, LIFE, MSGID,
	    NULL, NULL, NULL), HOPMARK_BAD_MAC);
	assert_int_equal(hopmark_check(key1, CLUSTER, NULL, NOW, LIFE, MSGID,
	    fp1, NULL, NULL), HOPMARK_MALFORMED);
}

/* test_seen - several markers in one message */
static void
test_seen(void **state)
{
	static struct hopmark_seen s;
	static char big[65536];
	char v[6][HOPMARK_VALUE_MAX + 1], e[HOPMARK_VALUE_MAX * 2];
	struct hopmark_eval ev;
	size_t i;

	(void)state;
	mk(1, NOW - 100, v[0]);
	mk(2, NOW - 50, v[1]);
	assert_int_equal(hopmark_make(key2, CLUSTER, 7, NOW, MSGID, fp1, v[2],
	    sizeof(v[2])), 0);			/* forged, higher */
	assert_int_equal(hopmark_make(key1, "relay-us", 9, NOW, MSGID, fp1,
	    v[3], sizeof(v[3])), 0);		/* another cluster's */
	mk(5, NOW - LIFE - 1, v[4]);		/* expired */
	mk(6, NOW + HOPMARK_SKEW_S + 1, v[5]);	/* a relay's clock ahead */

	/* nothing seen */
	hopmark_seen_init(&s);
	hopmark_seen_eval(&s, key1, CLUSTER, NOW, LIFE, MSGID, fp1, &ev);
	assert_int_equal(ev.hops, 0);
	assert_int_equal(ev.valid + ev.bad_mac + ev.expired + ev.future +
	    ev.foreign + ev.malformed + ev.toomany, 0);

	/* one of each; the forged h=7 does not win, h=2 does */
	hopmark_seen_init(&s);
	hopmark_seen_add(&s, CLUSTER, v[2]);
	refold(v[1], e, sizeof(e));
	hopmark_seen_add(&s, CLUSTER, e);
	hopmark_seen_add(&s, CLUSTER, v[0]);
	hopmark_seen_add(&s, CLUSTER, v[3]);
	hopmark_seen_add(&s, CLUSTER, v[4]);
	hopmark_seen_add(&s, CLUSTER, v[5]);
	hopmark_seen_add(&s, CLUSTER, "garbage");
	hopmark_seen_add(&s, CLUSTER, NULL);
	hopmark_seen_add(&s, CLUSTER, "");
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, v[0], strlen(v[0]));
	hopmark_seen_add(&s, CLUSTER, big);	/* 64 KiB: never stored */
	assert_int_equal(s.n, 5);
	hopmark_seen_eval(&s, key1, CLUSTER, NOW, LIFE, MSGID, fp1, &ev);
	assert_int_equal(ev.hops, 2);
	assert_int_equal(ev.valid, 2);
	assert_int_equal(ev.bad_mac, 1);
	assert_int_equal(ev.expired, 1);
	assert_int_equal(ev.future, 1);
	assert_int_equal(ev.foreign, 1);
	assert_int_equal(ev.malformed, 4);
	assert_int_equal(ev.toomany, 0);

	/* eval twice: same answer; eval for another body: all forged */
	hopmark_seen_eval(&s, key1, CLUSTER, NOW, LIFE, MSGID, fp1, &ev);
	assert_int_equal(ev.hops, 2);
	hopmark_seen_eval(&s, key1, CLUSTER, NOW, LIFE, "<other@x>", fp1, &ev);
	assert_int_equal(ev.hops, 0);
	assert_int_equal(ev.valid, 0);
	assert_int_equal(ev.bad_mac, 5);

	/* only forged markers: hop count 0, forgeries counted */
	hopmark_seen_init(&s);
	for (i = 0; i < 3; i++)
		hopmark_seen_add(&s, CLUSTER, v[2]);
	hopmark_seen_eval(&s, key1, CLUSTER, NOW, LIFE, MSGID, fp1, &ev);
	assert_int_equal(ev.hops, 0);
	assert_int_equal(ev.bad_mac, 3);

	/* too many: the first HOPMARK_SEEN_MAX of this cluster are kept */
	hopmark_seen_init(&s);
	hopmark_seen_add(&s, CLUSTER, v[1]);
	for (i = 0; i < 20; i++) {
		hopmark_seen_add(&s, CLUSTER, v[2]);
		hopmark_seen_add(&s, CLUSTER, v[3]);	/* not kept */
	}
	assert_int_equal(s.n, HOPMARK_SEEN_MAX);
	hopmark_seen_eval(&s, key1, CLUSTER, NOW, LIFE, MSGID, fp1, &ev);
	assert_int_equal(ev.hops, 2);
	assert_int_equal(ev.valid, 1);
	assert_int_equal(ev.bad_mac, HOPMARK_SEEN_MAX - 1);
	assert_int_equal(ev.foreign, 20);
	assert_int_equal(ev.toomany, 21 - HOPMARK_SEEN_MAX);
	assert_int_equal(ev.malformed, 21 - HOPMARK_SEEN_MAX);

	/* ...so a valid one after them is not seen, and says so */
	hopmark_seen_init(&s);
	for (i = 0; i < HOPMARK_SEEN_MAX; i++)
		hopmark_seen_add(&s, CLUSTER, v[2]);
	hopmark_seen_add(&s, CLUSTER, v[1]);
	hopmark_seen_eval(&s, key1, CLUSTER, NOW, LIFE, MSGID, fp1, &ev);
	assert_int_equal(ev.hops, 0);
	assert_int_equal(ev.toomany, 1);

	/* kept for one cluster, evaluated for another: foreign */
	hopmark_seen_init(&s);
	hopmark_seen_add(&s, CLUSTER, v[1]);
	hopmark_seen_eval(&s, key1, "relay-us", NOW, LIFE, MSGID, fp1, &ev);
	assert_int_equal(ev.hops, 0);
	assert_int_equal(ev.foreign, 1);

	/* init forgets */
	hopmark_seen_init(&s);
	hopmark_seen_eval(&s, key1, CLUSTER, NOW, LIFE, MSGID, fp1, &ev);
	assert_int_equal(ev.valid + ev.bad_mac + ev.malformed + ev.foreign, 0);
}

#define LOOP_HDRS	64

/*
 * test_seed003 - replay seed 003: one message relayed around the cluster.
 * Each pass is what the milter does: keep the markers in header order,
 * evaluate at end of message, stop at the limit, else insert a marker
 * with one hop more at the top. Relays refold the headers on the way; a
 * sender may have appended forged markers claiming any hop count. The
 * message must stop exactly when it arrives with `limit` hops, and a
 * forged marker must never stop it.
 */
static void
test_seed003(void **state)
{
	static const unsigned limits[] = { 1, 3, HOPMARK_SEEN_MAX,
	    HOPMARK_SEEN_MAX + 5, 40 };
	static char hdr[LOOP_HDRS][HOPMARK_VALUE_MAX * 2];
	static struct hopmark_seen s;
	char forged[HOPMARK_VALUE_MAX + 1];
	struct hopmark_eval ev;
	unsigned li, pass, nforged, nhdr, i;
	uint64_t now;

	(void)state;
	assert_int_equal(hopmark_make(key2, CLUSTER, HOPMARK_HOPS_MAX, NOW,
	    MSGID, fp1, forged, sizeof(forged)), 0);
	for (li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
		for (nforged = 0; nforged <= 20; nforged += 20) {
			nhdr = 0;
			for (i = 0; i < nforged; i++)
				snprintf(hdr[nhdr++], sizeof(hdr[0]), "%s",
				    forged);
			now = NOW;
			for (pass = 1;; pass++) {
				hopmark_seen_init(&s);
				for (i = 0; i < nhdr; i++)
					hopmark_seen_add(&s, CLUSTER, hdr[i]);
				hopmark_seen_eval(&s, key1, CLUSTER, now, LIFE,
				    MSGID, fp1, &ev);
				assert_int_equal(ev.hops, pass - 1);
				assert_int_equal(ev.valid, pass - 1 <
				    HOPMARK_SEEN_MAX ? pass - 1 :
				    HOPMARK_SEEN_MAX);
				assert_int_equal(ev.valid + ev.bad_mac +
				    ev.toomany, nhdr);
				if (ev.hops >= limits[li])
					break;		/* stopped */
				assert_true(nhdr < LOOP_HDRS);
				memmove(hdr[1], hdr[0], nhdr * sizeof(hdr[0]));
				nhdr++;
				assert_int_equal(hopmark_make(key1, CLUSTER,
				    ev.hops + 1, now, MSGID, fp1, hdr[0],
				    sizeof(hdr[0])), 0);
				for (i = 1; i < nhdr; i++) {	/* refold */
					char tmp[sizeof(hdr[0])];

					if ((pass + i) % 2 != 0)
						continue;
					refold(hdr[i], tmp, sizeof(tmp));
					memcpy(hdr[i], tmp, sizeof(tmp));
				}
				now += 30;
			}
			assert_int_equal(pass, limits[li] + 1);
		}
	}
}

/* key file cases: contents, mode, and what hopmark_key_load must say */
struct key_case {
	const char	*name;
	const char	*data;		/* NULL: no file */
	size_t		 len;
	unsigned	 mode;
	int		 rc;
	const char	*err;		/* substring of err[] on failure */
};

#define HEX_LO	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" \
		"b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define HEX_UP	"A0A1A2A3A4A5A6A7A8A9AAABACADAEAF" \
		"B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
#define RAW \
	"\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf" \
	"\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf"
#define S(x)	x, sizeof(x) - 1

/* test_key_load - key file forms, permissions and refusals */
static void
test_key_load(void **state)
{
	static const struct key_case cases[] = {
		{ "hex", S(HEX_LO "\n"), 0600, 0, NULL },
		{ "hex, no newline", S(HEX_LO), 0600, 0, NULL },
		{ "hex, upper case, CRLF", S(HEX_UP "\r\n"), 0600, 0, NULL },
		{ "hex, trailing blanks", S(HEX_LO " \t\n\n"), 0400, 0, NULL },
		{ "group-readable", S(HEX_LO "\n"), 0640, 0, NULL },
		{ "raw", S(RAW), 0600, 0, NULL },
		{ "raw, group-readable", S(RAW), 0440, 0, NULL },
		{ "world-readable", S(HEX_LO "\n"), 0644, -1,
		    "readable or writable by others (mode 0644)" },
		{ "world-readable raw", S(RAW), 0604, -1, "chmod o-rwx" },
		{ "world-writable", S(HEX_LO "\n"), 0602, -1,
		    "(mode 0602)" },
		{ "missing", NULL, 0, 0600, -1, "No such file" },
		{ "empty", S(""), 0600, -1, "too short (0 bytes)" },
		{ "raw, 31 bytes", RAW, 31, 0600, -1, "too short (31 bytes)" },
		{ "raw, 33 bytes", S(RAW "\n"), 0600, -1, "not a key" },
		{ "raw, 64 bytes", S(RAW RAW), 0600, -1, "not a key" },
		{ "hex, 63 digits", HEX_LO, 63, 0600, -1, "not a key" },
		{ "hex, 62 digits", HEX_LO, 62, 0600, -1, "not a key" },
		{ "hex, 66 digits", S(HEX_LO "ab\n"), 0600, -1, "not a key" },
		{ "hex, leading blank", S(" " HEX_LO "\n"), 0600, -1,
		    "not a key" },
		{ "32 hex digits", S("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"),
		    0600, -1, "32 bytes of text" },
		{ "a password", S("correct horse battery staple!!!!"), 0600,
		    -1, "32 bytes of text" },
		{ "raw zeros", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
		    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32, 0600, -1,
		    "all zero" },
		{ "hex zeros", S("0000000000000000000000000000000000000000"
		    "000000000000000000000000\n"), 0600, -1, "all zero" },
	};
	char dir[] = "/tmp/test_hopmark.XXXXXX", path[256], err[256];
	unsigned char key[HOPMARK_KEY_LEN];
	size_t i;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct key_case *c = &cases[i];
		snprintf(path, sizeof(path), "%s/key%zu", dir, i);
		if (c->data != NULL) {
			f = fopen(path, "wb");
			assert_non_null(f);
			assert_int_equal(fwrite(c->data, 1, c->len, f), c->len);
			assert_int_equal(fclose(f), 0);
			assert_int_equal(chmod(path, c->mode), 0);
		}
		memset(key, 0x55, sizeof(key));
		err[0] = 'x';
		print_message("%s\n", c->name);
		assert_int_equal(hopmark_key_load(path, key, err, sizeof(err)),
		    c->rc);
		if (c->rc == 0) {
			assert_memory_equal(key, key1, sizeof(key));
			assert_string_equal(err, "");
		} else {
			unsigned char zero[HOPMARK_KEY_LEN] = { 0 };

			if (strstr(err, c->err) == NULL)
				fail_msg("%s: err \"%s\" lacks \"%s\"", c->name,
				    err, c->err);
			assert_non_null(strstr(err, path));
			assert_memory_equal(key, zero, sizeof(key));
		}
		unlink(path);
	}

	/* 64 characters, not all hex digits */
	snprintf(path, sizeof(path), "%s/nothex", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	{
		char hex[] = HEX_LO "\n";

		hex[10] = 'g';
		fputs(hex, f);
	}
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(hopmark_key_load(path, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not all hex digits"));
	unlink(path);

	/* over 4 KiB */
	snprintf(path, sizeof(path), "%s/big", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (i = 0; i < 5000; i++)
		fputc('a', f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(hopmark_key_load(path, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "over 4096 bytes"));
	unlink(path);

	/* a symbolic link to a good file is followed; the target's mode */
	snprintf(path, sizeof(path), "%s/target", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(HEX_LO "\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
	{
		char link[300];

		snprintf(link, sizeof(link), "%s/link", dir);
		assert_int_equal(symlink(path, link), 0);
		assert_int_equal(hopmark_key_load(link, key, err, sizeof(err)),
		    0);
		assert_memory_equal(key, key1, sizeof(key));
		assert_int_equal(chmod(path, 0644), 0);
		assert_int_equal(hopmark_key_load(link, key, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "mode 0644"));
		unlink(link);
	}
	unlink(path);

	/* a directory; no path; no err buffer */
	assert_int_equal(hopmark_key_load(dir, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(hopmark_key_load(NULL, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no file"));
	assert_int_equal(hopmark_key_load("", key, NULL, 0), -1);
	assert_int_equal(hopmark_key_load(dir, NULL, err, sizeof(err)), -1);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_make_refuses),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_mac_digits),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_check_args),
		cmocka_unit_test(test_seen),
		cmocka_unit_test(test_seed003),
		cmocka_unit_test(test_key_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
