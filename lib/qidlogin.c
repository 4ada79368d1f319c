/*
 * qidlogin.c - queue id -> login of the mail this relay accepted, so the
 * delivery feedback reader can charge a bounce to whoever sent it.
 *
 * Public: qidlogin_new, qidlogin_add, qidlogin_find,
 * qidlogin_entry_bytes, qidlogin_free.
 *
 * Why not qidmem: qidmem is indexed by login (a lock takes all of a
 * login's ids), exists only with hold_command and forgets a login's ids
 * when it is locked; "which login is this id" would be a scan of its
 * whole ring under the mutex the message threads take. Here: one ring
 * of `cap` fixed entries in arrival order (calloc'd: untouched pages
 * cost nothing) and a chained hash on the queue id, so add and find are
 * O(1); when full, the oldest id is overwritten (unlinked from its
 * chain first). Deliveries follow acceptance within seconds, deferred
 * retries within days: cap bounds how far back an id is found.
 *
 * qidlogin_save and _load keep the ids across a restart (the reader's
 * stop and start), so mail deferred before it is still charged after.
 *
 * Thread-safe: one mutex, held for an add or a find (no I/O, no
 * allocation inside) or a save (which writes the file under it: at
 * stop, when no message thread adds any more). Nothing here logs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "qidlogin.h"

#define NIL	UINT32_MAX
#define ALNUM	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

struct ql_entry {
	uint32_t	 hnext;		/* next in its hash chain, or NIL */
	uint8_t		 used;
	uint8_t		 origin;
	char		 qid[QIDLOGIN_ID_MAX + 1];
	char		 key[QIDLOGIN_KEY_MAX + 1];
	char		 login[QIDLOGIN_LOGIN_MAX + 1];
};

struct qidlogin {
	pthread_mutex_t	 lock;
	struct ql_entry	*ring;
	uint32_t	*bucket;	/* chain heads, NIL: empty */
	uint32_t	 cap, head, nbucket;
};

/* qidlogin_new - empty, for cap ids */
struct qidlogin *
qidlogin_new(size_t cap)
{
	struct qidlogin *m;
	uint32_t i;

	if (cap == 0 || cap >= NIL / 2 || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->cap = (uint32_t)cap;
	for (m->nbucket = 64; m->nbucket < m->cap; m->nbucket *= 2)
		;
	m->ring = calloc(cap, sizeof(*m->ring));
	m->bucket = malloc(m->nbucket * sizeof(*m->bucket));
	if (m->ring == NULL || m->bucket == NULL) {
		free(m->ring);
		free(m->bucket);
		free(m);
		return NULL;
	}
	for (i = 0; i < m->nbucket; i++)
		m->bucket[i] = NIL;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

/* unlink_slot - take ring slot idx out of its chain */
static void
unlink_slot(struct qidlogin *m, uint32_t idx)
{
	uint32_t *pp = &m->bucket[fnv1a(m->ring[idx].qid) & (m->nbucket - 1)];

	while (*pp != NIL && *pp != idx)
		pp = &m->ring[*pp].hnext;
	if (*pp == idx)
		*pp = m->ring[idx].hnext;
	m->ring[idx].used = 0;
}

/* qidlogin_add - remember one accepted id */
int
qidlogin_add(struct qidlogin *m, const char *qid, const char *key,
    const char *login, int origin)
{
	size_t ql = strlen(qid), kl = strlen(key), ll = strlen(login);
	struct ql_entry *e;
	uint32_t h, idx;

	if (ql == 0 || ql > QIDLOGIN_ID_MAX || kl == 0 ||
	    kl > QIDLOGIN_KEY_MAX || ll > QIDLOGIN_LOGIN_MAX ||
	    strspn(qid, ALNUM) != ql || strspn(key, ALNUM) != kl ||
	    strpbrk(login, "\r\n") != NULL || origin < 0 || origin > 255)
		return 1;
	pthread_mutex_lock(&m->lock);
	idx = m->head;
	m->head = m->head + 1 == m->cap ? 0 : m->head + 1;
	if (m->ring[idx].used)
		unlink_slot(m, idx);
	e = &m->ring[idx];
	memcpy(e->qid, qid, ql + 1);
	memcpy(e->key, key, kl + 1);
	memcpy(e->login, login, ll + 1);
	e->used = 1;
	e->origin = (uint8_t)origin;
	h = fnv1a(qid) & (m->nbucket - 1);
	e->hnext = m->bucket[h];
	m->bucket[h] = idx;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* qidlogin_find - the login of an id, if remembered */
int
qidlogin_find(struct qidlogin *m, const char *qid, char *key, char *login,
    int *origin)
{
	uint32_t idx;
	int found = 0;

	if (strlen(qid) > QIDLOGIN_ID_MAX)
		return 0;
	pthread_mutex_lock(&m->lock);
	for (idx = m->bucket[fnv1a(qid) & (m->nbucket - 1)]; idx != NIL;
	    idx = m->ring[idx].hnext)
		if (strcmp(m->ring[idx].qid, qid) == 0) {
			memcpy(key, m->ring[idx].key, QIDLOGIN_KEY_MAX + 1);
			memcpy(login, m->ring[idx].login,
			    QIDLOGIN_LOGIN_MAX + 1);
			*origin = m->ring[idx].origin;
			found = 1;
			break;
		}
	pthread_mutex_unlock(&m->lock);
	return found;
}

/* qidlogin_save - "QID KEY ORIGIN LOGIN\n" per id, oldest first */
int
qidlogin_save(struct qidlogin *m, const char *path)
{
	char tmp[4096];
	const struct ql_entry *e;
	uint32_t i, idx;
	FILE *f;
	int rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    (f = fopen(tmp, "w")) == NULL)
		return -1;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->cap; i++) {
		idx = m->head + i < m->cap ? m->head + i : m->head + i - m->cap;
		e = &m->ring[idx];
		if (e->used && fprintf(f, "%s %s %u %s\n", e->qid, e->key,
		    e->origin, e->login) < 0)
			rc = -1;
	}
	pthread_mutex_unlock(&m->lock);
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) == -1)
		rc = -1;
	if (rc == -1)
		remove(tmp);
	return rc;
}

/* qidlogin_load - the ids of a saved file, added oldest first */
long
qidlogin_load(struct qidlogin *m, const char *path)
{
	char line[QIDLOGIN_ID_MAX + QIDLOGIN_KEY_MAX + QIDLOGIN_LOGIN_MAX + 8];
	char *key, *login, *o;
	long n = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((key = strchr(line, ' ')) == NULL ||
		    (o = strchr(key + 1, ' ')) == NULL ||
		    (login = strchr(o + 1, ' ')) == NULL)
			continue;
		*key++ = '\0';
		*o++ = '\0';
		*login++ = '\0';
		if (qidlogin_add(m, line, key, login, atoi(o)) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* qidlogin_entry_bytes - the ring's cost per id */
size_t
qidlogin_entry_bytes(void)
{
	return sizeof(struct ql_entry);
}

/* qidlogin_free - release everything */
void
qidlogin_free(struct qidlogin *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->ring);
	free(m->bucket);
	free(m);
}
