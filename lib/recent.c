/*
 * recent.c - remembers which keys something was done for lately, so it
 * is done at most once per period per key (the daemon writes a login's
 * `who` key at most once an hour).
 *
 * Public: recent_new, recent_due, recent_forget, recent_free.
 *
 * A set-associative table: a key's hash picks a set of RECENT_WAYS slots
 * (key, time); a new key takes a free slot or the one marked longest
 * ago. Memory is fixed at creation (48 bytes a slot). Thread-safe (one
 * mutex, held for one set's scan). Nothing here logs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "recent.h"

struct slot {
	uint64_t	 t;		/* marked at; 0: free */
	char		 key[RECENT_KEY_MAX + 1];
};

struct recent {
	pthread_mutex_t	 lock;
	struct slot	*slot;
	size_t		 nset;		/* a power of two */
};

/* recent_new - a table for about `keys` keys */
struct recent *
recent_new(size_t keys)
{
	struct recent *r;
	size_t nset = 1;

	while (nset * RECENT_WAYS < keys && nset < ((size_t)1 << 24))
		nset *= 2;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->slot = calloc(nset * RECENT_WAYS, sizeof(*r->slot))) == NULL) {
		free(r);
		return NULL;
	}
	r->nset = nset;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

/* set_of - the first slot of a key's set */
static struct slot *
set_of(struct recent *r, const char *key)
{
	return &r->slot[(fnv1a(key) & (r->nset - 1)) * RECENT_WAYS];
}

/* recent_due - due (and marked now), or marked within the period */
int
recent_due(struct recent *r, const char *key, uint64_t now, uint32_t period)
{
	struct slot *s, *pick = NULL;
	size_t i, len = strlen(key);
	int due = 1;

	if (len == 0 || len > RECENT_KEY_MAX)
		return 1;	/* not remembered: always due */
	if (now == 0)
		now = 1;	/* 0 marks a free slot */
	pthread_mutex_lock(&r->lock);
	s = set_of(r, key);
	for (i = 0; i < RECENT_WAYS; i++) {
		if (s[i].t != 0 && strcmp(s[i].key, key) == 0) {
			pick = &s[i];
			due = now >= s[i].t + period || now < s[i].t;
			break;
		}
		if (pick == NULL || s[i].t < pick->t)
			pick = &s[i];
	}
	if (due) {
		pick->t = now;
		memcpy(pick->key, key, len + 1);
	}
	pthread_mutex_unlock(&r->lock);
	return due;
}

/* recent_forget - unmark a key */
void
recent_forget(struct recent *r, const char *key)
{
	struct slot *s;
	size_t i;

	if (strlen(key) > RECENT_KEY_MAX)
		return;
	pthread_mutex_lock(&r->lock);
	s = set_of(r, key);
	for (i = 0; i < RECENT_WAYS; i++)
		if (s[i].t != 0 && strcmp(s[i].key, key) == 0)
			s[i].t = 0;
	pthread_mutex_unlock(&r->lock);
}

/* recent_free - release it */
void
recent_free(struct recent *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->slot);
	free(r);
}
