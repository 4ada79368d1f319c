/* test_snapshot.c - a replaced snapshot lives until its last reader */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "snapshot.h"

struct obj {
	struct snapshot_ref	 snap;	/* first */
	int			 freed;
};

/* obj_free - counts instead of freeing (the objects are on the stack) */
static void
obj_free(struct snapshot_ref *s)
{
	((struct obj *)s)->freed++;
}

static void
test_lifetime(void **state)
{
	struct snapshot s = SNAPSHOT_INITIALIZER;
	struct obj a = { { 0, obj_free }, 0 }, b = { { 0, obj_free }, 0 };
	struct snapshot_ref *r1, *r2;

	(void)state;
	assert_null(snapshot_acquire(&s));
	snapshot_install(&s, &a.snap);
	r1 = snapshot_acquire(&s);
	assert_ptr_equal(r1, &a.snap);
	snapshot_install(&s, &b.snap);
	assert_int_equal(a.freed, 0);		/* r1 still reads it */
	r2 = snapshot_acquire(&s);
	assert_ptr_equal(r2, &b.snap);
	snapshot_release(&s, r1);
	assert_int_equal(a.freed, 1);		/* its last reader */
	snapshot_release(&s, r2);
	assert_int_equal(b.freed, 0);		/* still current */
	snapshot_install(&s, &a.snap);
	assert_int_equal(b.freed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
