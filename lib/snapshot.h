/*
 * snapshot.h - an immutable object shared by threads and swapped whole:
 * readers take the current one and let go of it; the last reader of a
 * replaced one frees it. Used for the daemon's config and its live
 * classes.
 */
#ifndef SLUICE_SNAPSHOT_H
#define SLUICE_SNAPSHOT_H

#include <pthread.h>

/* embedded first in the caller's struct (the object and what it holds) */
struct snapshot_ref {
	unsigned	 refs;		/* readers + 1 while current */
	void		(*free)(struct snapshot_ref *);	/* the whole struct */
};

struct snapshot {
	pthread_mutex_t		 lock;	/* cur and every refs */
	struct snapshot_ref	*cur;	/* NULL: none yet */
};

#define SNAPSHOT_INITIALIZER	{ PTHREAD_MUTEX_INITIALIZER, NULL }

/* snapshot_acquire - the current object, held until released; or NULL */
struct snapshot_ref *snapshot_acquire(struct snapshot *);

/* snapshot_release - let go of one; freed with its last reader */
void	snapshot_release(struct snapshot *, struct snapshot_ref *);

/* snapshot_install - make r (refs set here) current; the old one goes
 * with its last reader */
void	snapshot_install(struct snapshot *, struct snapshot_ref *r);

#endif
