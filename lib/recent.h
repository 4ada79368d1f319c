/* recent.h - "did we do this for that key in the last T seconds?" */
#ifndef SLUICE_RECENT_H
#define SLUICE_RECENT_H

#include <stddef.h>
#include <stdint.h>

#define RECENT_KEY_MAX	32	/* longest key, bytes (a sender key) */
#define RECENT_WAYS	8	/* keys per set */

struct recent;

/* recent_new - room for about `keys` keys (rounded up); NULL: no memory */
struct recent	*recent_new(size_t keys);

/*
 * recent_due - 1 when `key` was not marked in the last `period` seconds
 * before `now`, and marks it now; 0 when it was (nothing changes). When
 * a set is full its oldest key is forgotten: more keys than fit at
 * once can only make a key due early, never late.
 */
int		 recent_due(struct recent *, const char *key, uint64_t now,
		    uint32_t period);

/* recent_forget - unmark a key (the work it stood for failed) */
void		 recent_forget(struct recent *, const char *key);

/* recent_free - release it; NULL is fine */
void		 recent_free(struct recent *);

#endif
