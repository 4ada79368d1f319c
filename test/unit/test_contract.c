/* test_contract.c - the control contract's key names, events and P:fq */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "contract.h"

#define H "0123456789abcdef0123456789abcdef"

/* the formats relays of every version read and write */
static void
test_keys(void **state)
{
	char k[CONTRACT_KEY_MAX];

	(void)state;
	assert_int_equal(contract_global(k, sizeof(k), "sluice:",
	    CONTRACT_EVENTS), 0);
	assert_string_equal(k, "sluice:events");
	assert_int_equal(contract_sender(k, sizeof(k), "p:", H,
	    CONTRACT_LOCKINFO), 0);
	assert_string_equal(k, "p:{" H "}:lockinfo");
	assert_int_equal(contract_counter(k, sizeof(k), "sluice:", H,
	    CONTRACT_LOCK, NULL, 86400, CONTRACT_LOCK_BUCKETS), 0);
	assert_string_equal(k, "sluice:{" H "}:lock:86400:60");
	assert_int_equal(contract_counter(k, sizeof(k), "sluice:", H, "to",
	    "dom", 60, 12), 0);
	assert_string_equal(k, "sluice:{" H "}:to:dom:60:12");
	assert_int_equal(contract_sender(k, 10, "sluice:", H, "who"), -1);
}

static void
test_counter_parse(void **state)
{
	static const struct {
		const char	*key;
		int		 rc;
		const char	*name, *sub;
		uint32_t	 window, buckets;
	} t[] = {
		{ "sluice:{" H "}:msg:3600:60", 0, "msg", "", 3600, 60 },
		{ "sluice:{" H "}:to:dom:60:12", 0, "to", "dom", 60, 12 },
		{ "sluice:{" H "}:who", -1, NULL, NULL, 0, 0 },
		{ "sluice:{" H "}:msg:3600:61", -1, NULL, NULL, 0, 0 },
		{ "sluice:{" H "}:msg:0:60", -1, NULL, NULL, 0, 0 },
		{ "other:{" H "}:msg:3600:60", -1, NULL, NULL, 0, 0 },
		{ "sluice:{XY}:msg:3600:60", -1, NULL, NULL, 0, 0 },
	};
	struct contract_counter c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(contract_counter_parse("sluice:", t[i].key,
		    &c), t[i].rc);
		if (t[i].rc != 0)
			continue;
		assert_string_equal(c.sender, H);
		assert_string_equal(c.name, t[i].name);
		assert_string_equal(c.sub, t[i].sub);
		assert_int_equal(c.window, t[i].window);
		assert_int_equal(c.buckets, t[i].buckets);
	}
}

static void
test_events(void **state)
{
	static const struct {
		const char		*msg;
		enum contract_event	 ev;
	} t[] = {
		{ "lock " H, CONTRACT_EV_LOCK },
		{ "unlock " H, CONTRACT_EV_UNLOCK },
		{ "reset " H, CONTRACT_EV_RESET },
		{ "class", CONTRACT_EV_CLASS },
		{ "class " H, CONTRACT_EV_NONE },
		{ "lock " H "0", CONTRACT_EV_NONE },
		{ "lock  " H, CONTRACT_EV_NONE },
		{ "LOCK " H, CONTRACT_EV_NONE },
		{ "lock 0123456789ABCDEF0123456789abcdef", CONTRACT_EV_NONE },
		{ "", CONTRACT_EV_NONE },
	};
	char key[CONTRACT_SENDER_LEN + 1], msg[CONTRACT_EVENT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(contract_event_parse(t[i].msg,
		    strlen(t[i].msg), key), t[i].ev);
		if (t[i].ev == CONTRACT_EV_NONE)
			continue;
		if (t[i].ev != CONTRACT_EV_CLASS)
			assert_string_equal(key, H);
		/* and back */
		assert_int_equal(contract_event(msg, sizeof(msg), t[i].ev,
		    t[i].ev == CONTRACT_EV_CLASS ? NULL : key), 0);
		assert_string_equal(msg, t[i].msg);
	}
	assert_int_equal(contract_event(msg, sizeof(msg), CONTRACT_EV_CLASS,
	    H), -1);
	assert_int_equal(contract_event(msg, sizeof(msg), CONTRACT_EV_LOCK,
	    NULL), -1);
}

static void
test_fq(void **state)
{
	char k[CONTRACT_KEY_MAX], v[200], small[12];
	const char *h, *o, *l;

	(void)state;
	assert_int_equal(contract_fq_key(k, sizeof(k), "sluice:", "4Xy7Zq1"), 0);
	assert_string_equal(k, "sluice:fq:4Xy7Zq1");
	assert_int_equal(contract_fq_key(k, sizeof(k), "p:", ""), -1);
	assert_int_equal(contract_fq_key(k, sizeof(k), "p:", "a b"), -1);
	assert_int_equal(contract_fq_key(k, sizeof(k), "p:", "a\nb"), -1);
	assert_int_equal(contract_fq_key(small, sizeof(small), "sluice:",
	    "4Xy7Zq1"), -1);
	assert_int_equal(contract_fq_value(v, sizeof(v), H, "header",
	    "bob smith@example.test"), 0);
	assert_string_equal(v, H " header bob smith@example.test");
	assert_int_equal(contract_fq_value(v, sizeof(v), "xyz", "sasl", "a"),
	    -1);
	/* and back: the login keeps its spaces */
	assert_int_equal(contract_fq_parse(v, &h, &o, &l), 0);
	assert_string_equal(h, H);
	assert_string_equal(o, "header");
	assert_string_equal(l, "bob smith@example.test");
	snprintf(v, sizeof(v), "%s", H " sasl");
	assert_int_equal(contract_fq_parse(v, &h, &o, &l), -1);
	snprintf(v, sizeof(v), "%s", "nothex sasl bob");
	assert_int_equal(contract_fq_parse(v, &h, &o, &l), -1);
	snprintf(v, sizeof(v), "%s", H "  bob");
	assert_int_equal(contract_fq_parse(v, &h, &o, &l), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_counter_parse),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_fq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
