/*
 * snapshot.c - the one refcounted-snapshot mechanism (snapshot.h).
 *
 * Public: snapshot_acquire, snapshot_release, snapshot_install.
 *
 * The mutex is held only for a pointer copy and a count, never while an
 * object is built or freed, so a reader never waits on a slow writer.
 * Thread-safe.
 */
#include <stddef.h>

#include "snapshot.h"

/* snapshot_acquire - take the current object */
struct snapshot_ref *
snapshot_acquire(struct snapshot *s)
{
	struct snapshot_ref *r;

	pthread_mutex_lock(&s->lock);
	if ((r = s->cur) != NULL)
		r->refs++;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* snapshot_release - let go of an object; the last one out frees it */
void
snapshot_release(struct snapshot *s, struct snapshot_ref *r)
{
	int last;

	pthread_mutex_lock(&s->lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (last)
		r->free(r);
}

/* snapshot_install - swap in a new current object */
void
snapshot_install(struct snapshot *s, struct snapshot_ref *r)
{
	struct snapshot_ref *old;

	r->refs = 1;
	pthread_mutex_lock(&s->lock);
	old = s->cur;
	s->cur = r;
	pthread_mutex_unlock(&s->lock);
	if (old != NULL)
		snapshot_release(s, old);
}
