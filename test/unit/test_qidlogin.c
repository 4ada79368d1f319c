/* test_qidlogin - queue id -> login: found, the oldest overwritten */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "qidlogin.h"

#define K1	"0123456789abcdef0123456789abcdef"
#define K2	"fedcba9876543210fedcba9876543210"

/* test_find - ids of two logins, short and long Postfix ids */
static void
test_find(void **state)
{
	struct qidlogin *m = qidlogin_new(4);
	char key[QIDLOGIN_KEY_MAX + 1], login[QIDLOGIN_LOGIN_MAX + 1];
	char id[16];
	int i;

	(void)state;
	assert_non_null(m);
	assert_int_equal(qidlogin_add(m, "3F2A1C0B7E", K1, "a@x.test"), 0);
	assert_int_equal(qidlogin_add(m, "4MxYz1Kf2sz9p", K2, "b@x.test"), 0);
	assert_int_equal(qidlogin_find(m, "4MxYz1Kf2sz9p", key, login), 1);
	assert_string_equal(key, K2);
	assert_string_equal(login, "b@x.test");
	assert_int_equal(qidlogin_find(m, "3F2A1C0B7E", key, login), 1);
	assert_string_equal(login, "a@x.test");
	assert_int_equal(qidlogin_find(m, "3F2A1C0B7F", key, login), 0);
	/* full: the oldest go first */
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "ID%d", i);
		assert_int_equal(qidlogin_add(m, id, K1, "a@x.test"), 0);
	}
	assert_int_equal(qidlogin_find(m, "3F2A1C0B7E", key, login), 0);
	assert_int_equal(qidlogin_find(m, "4MxYz1Kf2sz9p", key, login), 1);
	assert_int_equal(qidlogin_find(m, "ID0", key, login), 1);
	assert_int_equal(qidlogin_find(m, "ID2", key, login), 1);
	/* refused */
	assert_int_equal(qidlogin_add(m, "", K1, "a"), 1);
	assert_int_equal(qidlogin_add(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", K1,
	    "a"), 1);
	qidlogin_free(m);
	qidlogin_free(NULL);
}

/* test_churn - many more ids than room: every recent one is found */
static void
test_churn(void **state)
{
	struct qidlogin *m = qidlogin_new(1000);
	char key[QIDLOGIN_KEY_MAX + 1], login[QIDLOGIN_LOGIN_MAX + 1];
	char id[16], who[32];
	int i;

	(void)state;
	assert_non_null(m);
	for (i = 0; i < 50000; i++) {
		snprintf(id, sizeof(id), "Q%d", i);
		snprintf(who, sizeof(who), "u%d", i % 7);
		assert_int_equal(qidlogin_add(m, id, K1, who), 0);
	}
	for (i = 49000; i < 50000; i++) {
		snprintf(id, sizeof(id), "Q%d", i);
		snprintf(who, sizeof(who), "u%d", i % 7);
		assert_int_equal(qidlogin_find(m, id, key, login), 1);
		assert_string_equal(login, who);
	}
	assert_int_equal(qidlogin_find(m, "Q48999", key, login), 0);
	qidlogin_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
