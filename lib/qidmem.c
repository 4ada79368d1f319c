/*
 * qidmem.c - the queue ids each login got accepted over the last window,
 * so a lock can put them on hold (postsuper -h, Sendmail's quarantine).
 *
 * Public: qidmem_new, qidmem_add, qidmem_take, qidmem_count,
 * qidmem_entry_bytes, qidmem_free.
 *
 * Memory is bounded: one ring of `total` fixed-size entries (40 bytes:
 * the id, its time, a link to the login's next id and its login),
 * allocated once with calloc so that untouched pages cost nothing, plus
 * one small node per login with ids (its key and its first/last/count),
 * found through a chained hash table. The ring is in arrival order: when
 * it is full, or its oldest entry is older than the window, the oldest
 * goes. A login over `per_login` loses its own oldest id, which stays in
 * the ring as a dead entry until the ring reaches it. Every operation
 * is O(1) but take (O(ids of that login)) and the occasional rehash.
 *
 * Thread-safe: one mutex, held for a few hundred ns per add. The caller
 * owns what take returns. Nothing here logs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "qidmem.h"

#define NIL	UINT32_MAX

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
		 "0123456789"

struct qm_login;

struct qm_entry {
	struct qm_login	*who;		/* NULL: dead (dropped or taken) */
	uint32_t	 next;		/* the login's next id, or NIL */
	uint32_t	 t;		/* accepted at, unix seconds */
	char		 id[QIDMEM_ID_SIZE];
};

struct qm_login {
	char		 key[QIDMEM_KEY_MAX + 1];
	uint32_t	 first, last;	/* ring indexes, oldest and newest */
	uint32_t	 n;		/* live ids */
	struct qm_login	*hnext;		/* hash chain */
};

struct qidmem {
	pthread_mutex_t	 lock;
	struct qm_entry	*ring;
	uint32_t	 cap, head, used; /* used counts dead entries too */
	uint32_t	 per_login;
	struct qm_login	**bucket;
	size_t		 nbucket, nlogin;
};

/* qidmem_new - empty, with its caps */
struct qidmem *
qidmem_new(size_t per_login, size_t total)
{
	struct qidmem *m;

	if (per_login == 0 || total == 0 || total >= NIL)
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->cap = (uint32_t)total;
	m->per_login = per_login < total ? (uint32_t)per_login : m->cap;
	m->nbucket = 256;
	m->ring = calloc(total, sizeof(*m->ring));
	m->bucket = calloc(m->nbucket, sizeof(*m->bucket));
	if (m->ring == NULL || m->bucket == NULL) {
		free(m->ring);
		free(m->bucket);
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

/* login_find - a login's node, or NULL */
static struct qm_login *
login_find(const struct qidmem *m, const char *key)
{
	struct qm_login *l;

	for (l = m->bucket[fnv1a(key) & (m->nbucket - 1)]; l != NULL;
	    l = l->hnext)
		if (strcmp(l->key, key) == 0)
			return l;
	return NULL;
}

/* login_drop - unlink and free a login's node */
static void
login_drop(struct qidmem *m, struct qm_login *l)
{
	struct qm_login **pp;

	for (pp = &m->bucket[fnv1a(l->key) & (m->nbucket - 1)]; *pp != l;
	    pp = &(*pp)->hnext)
		;
	*pp = l->hnext;
	free(l);
	m->nlogin--;
}

/* grow - twice the buckets when the chains get long; silent on ENOMEM */
static void
grow(struct qidmem *m)
{
	struct qm_login **nb, *l, *next;
	size_t i, n = m->nbucket * 2, h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < m->nbucket; i++)
		for (l = m->bucket[i]; l != NULL; l = next) {
			next = l->hnext;
			h = fnv1a(l->key) & (n - 1);
			l->hnext = nb[h];
			nb[h] = l;
		}
	free(m->bucket);
	m->bucket = nb;
	m->nbucket = n;
}

/* unlink_oldest - kill a login's oldest id (it is at idx) */
static void
unlink_oldest(struct qidmem *m, struct qm_login *l, uint32_t idx)
{
	struct qm_entry *e = &m->ring[idx];

	l->first = e->next;
	e->who = NULL;
	if (--l->n == 0)
		login_drop(m, l);
}

/* pop - forget the ring's oldest entry */
static void
pop(struct qidmem *m)
{
	struct qm_entry *e = &m->ring[m->head];

	if (e->who != NULL)	/* the oldest of its login too */
		unlink_oldest(m, e->who, m->head);
	m->head = m->head + 1 == m->cap ? 0 : m->head + 1;
	m->used--;
}

/* expire - pop dead entries and ids older than the window */
static void
expire(struct qidmem *m, uint64_t now, uint32_t window)
{
	const struct qm_entry *e;

	while (m->used > 0) {
		e = &m->ring[m->head];
		if (e->who != NULL && (uint64_t)e->t + window > now)
			break;
		pop(m);
	}
}

/* valid - a key and an id we keep */
static int
valid(const char *key, const char *qid)
{
	size_t kl = strlen(key), ql = strlen(qid);

	/* "ALL" is postsuper's word for the whole queue, never an id */
	return kl > 0 && kl <= QIDMEM_KEY_MAX && ql > 0 &&
	    ql <= QIDMEM_ID_MAX && strspn(qid, ID_CHARS) == ql &&
	    strcmp(qid, "ALL") != 0;
}

/* qidmem_add - remember one accepted id of a login */
int
qidmem_add(struct qidmem *m, const char *key, const char *qid, uint64_t now,
    uint32_t window)
{
	struct qm_login *l;
	struct qm_entry *e;
	uint32_t idx;
	size_t h;

	if (!valid(key, qid))
		return 1;
	pthread_mutex_lock(&m->lock);
	expire(m, now, window);
	if (m->used == m->cap)
		pop(m);
	if ((l = login_find(m, key)) == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL) {
			pthread_mutex_unlock(&m->lock);
			return -1;
		}
		memcpy(l->key, key, strlen(key) + 1);
		l->first = l->last = NIL;
		h = fnv1a(key) & (m->nbucket - 1);
		l->hnext = m->bucket[h];
		m->bucket[h] = l;
		if (++m->nlogin > m->nbucket * 2)
			grow(m);
	}
	idx = m->head + m->used;
	if (idx >= m->cap)
		idx -= m->cap;
	m->used++;
	e = &m->ring[idx];
	e->who = l;
	e->next = NIL;
	e->t = (uint32_t)now;
	memcpy(e->id, qid, strlen(qid) + 1);
	if (l->n++ == 0)
		l->first = idx;
	else
		m->ring[l->last].next = idx;
	l->last = idx;
	if (l->n > m->per_login)
		unlink_oldest(m, l, l->first);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* qidmem_each - every live id, oldest first, with the lock held */
size_t
qidmem_each(struct qidmem *m, qidmem_each_fn fn, void *ctx)
{
	const struct qm_entry *e;
	uint32_t i, idx;
	size_t n = 0;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->used; i++) {
		idx = m->head + i;
		if (idx >= m->cap)
			idx -= m->cap;
		e = &m->ring[idx];
		if (e->who == NULL)
			continue;
		fn(ctx, e->who->key, e->id, e->t);
		n++;
	}
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* qidmem_take - hand over and forget a login's live ids */
size_t
qidmem_take(struct qidmem *m, const char *key, uint64_t now, uint32_t window,
    char **ids)
{
	struct qm_login *l;
	struct qm_entry *e;
	uint32_t idx;
	size_t n = 0;
	char *out;

	*ids = NULL;
	pthread_mutex_lock(&m->lock);
	expire(m, now, window);
	if ((l = login_find(m, key)) == NULL) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	if ((out = malloc((size_t)l->n * QIDMEM_ID_SIZE)) == NULL) {
		pthread_mutex_unlock(&m->lock);
		return (size_t)-1;
	}
	for (idx = l->first; idx != NIL; idx = e->next) {
		e = &m->ring[idx];
		e->who = NULL;
		if ((uint64_t)e->t + window > now)
			memcpy(out + n++ * QIDMEM_ID_SIZE, e->id,
			    QIDMEM_ID_SIZE);
	}
	login_drop(m, l);
	pthread_mutex_unlock(&m->lock);
	if (n == 0)
		free(out);
	else
		*ids = out;
	return n;
}

/* qidmem_count - live ids of a login, or of all */
size_t
qidmem_count(struct qidmem *m, const char *key)
{
	struct qm_login *l;
	size_t n = 0, i;

	pthread_mutex_lock(&m->lock);
	if (key != NULL)
		n = (l = login_find(m, key)) != NULL ? l->n : 0;
	else
		for (i = 0; i < m->nbucket; i++)
			for (l = m->bucket[i]; l != NULL; l = l->hnext)
				n += l->n;
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* qidmem_entry_bytes - the ring's cost per id */
size_t
qidmem_entry_bytes(void)
{
	return sizeof(struct qm_entry);
}

/* qidmem_free - release everything */
void
qidmem_free(struct qidmem *m)
{
	struct qm_login *l, *next;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbucket; i++)
		for (l = m->bucket[i]; l != NULL; l = next) {
			next = l->hnext;
			free(l);
		}
	free(m->bucket);
	free(m->ring);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
