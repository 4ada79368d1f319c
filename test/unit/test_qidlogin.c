/* test_qidlogin - queue id -> login: found, the oldest overwritten */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
	int o;
	char id[16];
	int i;

	(void)state;
	assert_non_null(m);
	assert_int_equal(qidlogin_add(m, "3F2A1C0B7E", K1, "a@x.test", 0), 0);
	assert_int_equal(qidlogin_add(m, "4MxYz1Kf2sz9p", K2, "b@x.test", 0), 0);
	assert_int_equal(qidlogin_find(m, "4MxYz1Kf2sz9p", key, login, &o), 1);
	assert_string_equal(key, K2);
	assert_string_equal(login, "b@x.test");
	assert_int_equal(qidlogin_find(m, "3F2A1C0B7E", key, login, &o), 1);
	assert_string_equal(login, "a@x.test");
	assert_int_equal(qidlogin_find(m, "3F2A1C0B7F", key, login, &o), 0);
	/* full: the oldest go first */
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "ID%d", i);
		assert_int_equal(qidlogin_add(m, id, K1, "a@x.test", 0), 0);
	}
	assert_int_equal(qidlogin_find(m, "3F2A1C0B7E", key, login, &o), 0);
	assert_int_equal(qidlogin_find(m, "4MxYz1Kf2sz9p", key, login, &o), 1);
	assert_int_equal(qidlogin_find(m, "ID0", key, login, &o), 1);
	assert_int_equal(qidlogin_find(m, "ID2", key, login, &o), 1);
	/* refused */
	assert_int_equal(qidlogin_add(m, "", K1, "a", 0), 1);
	assert_int_equal(qidlogin_add(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", K1,
	    "a", 0), 1);
	qidlogin_free(m);
	qidlogin_free(NULL);
}

/* test_churn - many more ids than room: every recent one is found */
static void
test_churn(void **state)
{
	struct qidlogin *m = qidlogin_new(1000);
	char key[QIDLOGIN_KEY_MAX + 1], login[QIDLOGIN_LOGIN_MAX + 1];
	int o;
	char id[16], who[32];
	int i;

	(void)state;
	assert_non_null(m);
	for (i = 0; i < 50000; i++) {
		snprintf(id, sizeof(id), "Q%d", i);
		snprintf(who, sizeof(who), "u%d", i % 7);
		assert_int_equal(qidlogin_add(m, id, K1, who, 0), 0);
	}
	for (i = 49000; i < 50000; i++) {
		snprintf(id, sizeof(id), "Q%d", i);
		snprintf(who, sizeof(who), "u%d", i % 7);
		assert_int_equal(qidlogin_find(m, id, key, login, &o), 1);
		assert_string_equal(login, who);
	}
	assert_int_equal(qidlogin_find(m, "Q48999", key, login, &o), 0);
	qidlogin_free(m);
}

/* test_save_load - a restart keeps the ids, oldest first */
static void
test_save_load(void **state)
{
	struct qidlogin *m = qidlogin_new(3), *m2 = qidlogin_new(3);
	char key[QIDLOGIN_KEY_MAX + 1], login[QIDLOGIN_LOGIN_MAX + 1];
	int o;
	char path[] = "/tmp/test_qidlogin.XXXXXX";
	int fd;

	(void)state;
	assert_non_null(m);
	assert_non_null(m2);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(qidlogin_add(m, "AAAAA", K1, "a b@x.test", 0), 0);
	assert_int_equal(qidlogin_add(m, "BBBBB", K2, "b@x.test", 2), 0);
	assert_int_equal(qidlogin_add(m, "CCCCC", K1, "a b@x.test", 0), 0);
	assert_int_equal(qidlogin_add(m, "DDDDD", K2, "b@x.test", 0), 0);
	assert_int_equal(qidlogin_add(m, "EEEEE", K1, "x\ny", 0), 1);
	assert_int_equal(qidlogin_save(m, path), 0);
	assert_int_equal(qidlogin_load(m2, path), 3);
	assert_int_equal(qidlogin_find(m2, "AAAAA", key, login, &o), 0);
	assert_int_equal(qidlogin_find(m2, "CCCCC", key, login, &o), 1);
	assert_string_equal(login, "a b@x.test");
	assert_string_equal(key, K1);
	/* the newest stays newest: one more add drops BBBBB first */
	assert_int_equal(qidlogin_add(m2, "FFFFF", K1, "c", 0), 0);
	assert_int_equal(qidlogin_find(m2, "BBBBB", key, login, &o), 0);
	assert_int_equal(qidlogin_find(m2, "DDDDD", key, login, &o), 1);
	assert_int_equal(qidlogin_add(m2, "GGGGG", K1, "c", 256), 1);
	unlink(path);
	assert_int_equal(qidlogin_load(m2, path), 0);	/* missing: none */
	qidlogin_free(m);
	qidlogin_free(m2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
