/*
 * okcache.c - which senders were lately far from every limit (see
 * okcache.h for why skipping the MAIL check is safe).
 *
 * Memory: one array of fixed-size slots, allocated in okcache_new and
 * freed in okcache_free; the keys are copied in. Thread-safety: each slot
 * belongs to one of OKCACHE_STRIPES mutexes; the epoch is atomic, bumped
 * by okcache_clear before it empties the slots, and checked by
 * okcache_note under the slot's mutex: a note either sees the new epoch
 * (and is dropped) or lands before the clear reaches its slot.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "okcache.h"

#define OKCACHE_STRIPES	64	/* mutexes; slots are spread over them */

struct okslot {
	char		 key[STORE_SENDER_MAX + 1]; /* "" when empty */
	uint64_t	 until_ms;
};

struct okcache {
	struct okslot	*slots;
	size_t		 mask;		/* slots - 1 */
	pthread_mutex_t	 locks[OKCACHE_STRIPES];
	_Atomic uint64_t epoch;		/* okcache_clear calls */
};

/* slot_of - the slot index of a key (FNV-1a; keys are usually hex) */
static size_t
slot_of(const struct okcache *oc, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	return (size_t)(h ^ (h >> 32)) & oc->mask;
}

/* okcache_new - a table of `slots` entries (rounded up to a power of 2) */
struct okcache *
okcache_new(size_t slots)
{
	struct okcache *oc;
	size_t n = 1, i;

	while (n < slots && n < ((size_t)1 << 24))
		n <<= 1;
	if ((oc = calloc(1, sizeof(*oc))) == NULL)
		return NULL;
	if ((oc->slots = calloc(n, sizeof(*oc->slots))) == NULL) {
		free(oc);
		return NULL;
	}
	oc->mask = n - 1;
	for (i = 0; i < OKCACHE_STRIPES; i++)
		pthread_mutex_init(&oc->locks[i], NULL);
	return oc;
}

/* okcache_free - release it; NULL is fine */
void
okcache_free(struct okcache *oc)
{
	size_t i;

	if (oc == NULL)
		return;
	for (i = 0; i < OKCACHE_STRIPES; i++)
		pthread_mutex_destroy(&oc->locks[i]);
	free(oc->slots);
	free(oc);
}

/* okcache_fine_items - every MAIL-checked limit at most 3/4 used, unlocked? */
int
okcache_fine_items(const struct store_item *it, size_t n)
{
	size_t i;
	uint64_t room;

	for (i = 0; i < n; i++) {
		if (it[i].kind == ITEM_LOCK) {
			if (it[i].count > 0)
				return 0;
			continue;
		}
		/* not decisive, or not checked at MAIL (a body, a copy) */
		if (it[i].soft || it[i].on_refuse || it[i].scope[0] != '\0' ||
		    it[i].sub[0] != '\0')
			continue;
		if (it[i].over)
			return 0;
		room = it[i].limit / 4 > 0 ? it[i].limit / 4 : 1;
		if (it[i].limit < room || it[i].count > it[i].limit - room)
			return 0;
	}
	return 1;
}

/* okcache_epoch - the current epoch (0 for NULL) */
uint64_t
okcache_epoch(struct okcache *oc)
{
	return oc != NULL ? atomic_load(&oc->epoch) : 0;
}

/* okcache_note - `sender` may skip the MAIL check until `until_ms`,
 * unless the cache was cleared since `epoch` */
void
okcache_note(struct okcache *oc, const char *sender, uint64_t until_ms,
    uint64_t epoch)
{
	struct okslot *s;
	size_t i;

	if (oc == NULL || strlen(sender) > STORE_SENDER_MAX)
		return;
	i = slot_of(oc, sender);
	s = &oc->slots[i];
	pthread_mutex_lock(&oc->locks[i % OKCACHE_STRIPES]);
	if (atomic_load(&oc->epoch) == epoch) {
		strcpy(s->key, sender);
		s->until_ms = until_ms;
	}
	pthread_mutex_unlock(&oc->locks[i % OKCACHE_STRIPES]);
}

/* okcache_fine - may `sender` skip the MAIL check at `now_ms`? */
int
okcache_fine(struct okcache *oc, const char *sender, uint64_t now_ms)
{
	struct okslot *s;
	size_t i;
	int fine;

	if (oc == NULL)
		return 0;
	i = slot_of(oc, sender);
	s = &oc->slots[i];
	pthread_mutex_lock(&oc->locks[i % OKCACHE_STRIPES]);
	fine = s->until_ms > now_ms && strcmp(s->key, sender) == 0;
	pthread_mutex_unlock(&oc->locks[i % OKCACHE_STRIPES]);
	return fine;
}

/* okcache_forget - drop one sender (locked, re-classed, reset) */
void
okcache_forget(struct okcache *oc, const char *sender)
{
	struct okslot *s;
	size_t i;

	if (oc == NULL)
		return;
	i = slot_of(oc, sender);
	s = &oc->slots[i];
	pthread_mutex_lock(&oc->locks[i % OKCACHE_STRIPES]);
	if (strcmp(s->key, sender) == 0) {
		s->key[0] = '\0';
		s->until_ms = 0;
	}
	pthread_mutex_unlock(&oc->locks[i % OKCACHE_STRIPES]);
}

/* okcache_clear - drop every sender and start a new epoch */
void
okcache_clear(struct okcache *oc)
{
	size_t i;

	if (oc == NULL)
		return;
	atomic_fetch_add(&oc->epoch, 1);
	for (i = 0; i <= oc->mask; i++) {
		pthread_mutex_lock(&oc->locks[i % OKCACHE_STRIPES]);
		oc->slots[i].key[0] = '\0';
		oc->slots[i].until_ms = 0;
		pthread_mutex_unlock(&oc->locks[i % OKCACHE_STRIPES]);
	}
}
