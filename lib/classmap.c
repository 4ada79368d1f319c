/*
 * classmap.c - per-login class overrides, as the store's P:classes hash
 * holds them: field = case-folded login or "@domain", value = class name.
 *
 * Public: classmap_new, classmap_add, classmap_seal, classmap_lookup,
 * classmap_find,
 * classmap_has, classmap_count, classmap_entry, classmap_equal, classmap_free.
 *
 * A map is built by one thread (add, then seal) and is immutable after
 * classmap_seal: any number of threads may then look logins up at once.
 * Keys are kept folded to ASCII lower case and sorted; a lookup folds the
 * login as it compares (no copy, any length). When two fields fold to
 * the same key, the one whose class name sorts first is kept, so a map
 * does not depend on the order the store returned them in. The map owns
 * its strings. Nothing here logs; nothing depends on the locale.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classmap.h"

#define CLASS_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789_.-"

struct cm_entry {
	char	*key;	/* folded login or "@domain" */
	char	 cls[CLASSMAP_NAME_MAX + 1];
};

struct classmap {
	struct cm_entry	*e;
	size_t		 n, cap;
};

/* fold - ASCII lower case, whatever the locale */
static unsigned char
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* classmap_new - an empty map */
struct classmap *
classmap_new(void)
{
	return calloc(1, sizeof(struct classmap));
}

/* classmap_add - one entry; 0 added, 1 skipped, -1 out of memory */
int
classmap_add(struct classmap *m, const char *key, size_t klen,
    const char *cls, size_t clen)
{
	struct cm_entry *ne;
	size_t i, ncap;
	char *k;

	if (klen == 0 || klen > CLASSMAP_KEY_MAX || clen == 0 ||
	    clen > CLASSMAP_NAME_MAX || m->n >= CLASSMAP_MAX ||
	    memchr(key, '\0', klen) != NULL)
		return 1;
	for (i = 0; i < clen; i++)
		if (cls[i] == '\0' || strchr(CLASS_CHARS, cls[i]) == NULL)
			return 1;
	if (key[0] == '@' && (klen == 1 || memchr(key + 1, '@', klen - 1)))
		return 1;	/* "@" alone, or "@a@b": no domain matches */
	if (m->n == m->cap) {
		ncap = m->cap == 0 ? 16 : m->cap * 2;
		if ((ne = realloc(m->e, ncap * sizeof(*ne))) == NULL)
			return -1;
		m->e = ne;
		m->cap = ncap;
	}
	if ((k = malloc(klen + 1)) == NULL)
		return -1;
	for (i = 0; i < klen; i++)
		k[i] = (char)fold((unsigned char)key[i]);
	k[klen] = '\0';
	m->e[m->n].key = k;
	memcpy(m->e[m->n].cls, cls, clen);
	m->e[m->n].cls[clen] = '\0';
	m->n++;
	return 0;
}

/* entry_cmp - by key, then by class name */
static int
entry_cmp(const void *a, const void *b)
{
	const struct cm_entry *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	return r != 0 ? r : strcmp(x->cls, y->cls);
}

/* key_cmp - by key only */
static int
key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cm_entry *)a)->key,
	    ((const struct cm_entry *)b)->key);
}

/* classmap_seal - sort, and keep one entry per key */
void
classmap_seal(struct classmap *m)
{
	size_t i, o;

	if (m->n < 2)
		return;
	qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
	for (i = 1, o = 1; i < m->n; i++) {
		if (strcmp(m->e[i].key, m->e[o - 1].key) == 0) {
			free(m->e[i].key);
			continue;
		}
		m->e[o++] = m->e[i];
	}
	m->n = o;
}

/* login_cmp - a login (folded as it goes) against an entry's key */
static int
login_cmp(const void *login, const void *entry)
{
	const unsigned char *a = login;
	const unsigned char *b = (const unsigned char *)
	    ((const struct cm_entry *)entry)->key;
	unsigned char ca;

	for (;; a++, b++) {
		ca = fold(*a);
		if (ca != *b || ca == '\0')
			return (int)ca - (int)*b;
	}
}

/* classmap_lookup - exact login, then "@domain" after the last '@' */
const char *
classmap_lookup(const struct classmap *m, const char *login)
{
	return classmap_find(m, login, login != NULL ? strrchr(login, '@') :
	    NULL);
}

/* classmap_find - class name of a whole name, then of dom; NULL */
const char *
classmap_find(const struct classmap *m, const char *whole, const char *dom)
{
	const struct cm_entry *e;

	if (m == NULL || m->n == 0 || whole == NULL)
		return NULL;
	e = bsearch(whole, m->e, m->n, sizeof(*m->e), login_cmp);
	if (e == NULL && dom != NULL)
		e = bsearch(dom, m->e, m->n, sizeof(*m->e), login_cmp);
	return e != NULL ? e->cls : NULL;
}

/* classmap_has - exactly this key with this class */
int
classmap_has(const struct classmap *m, const char *key, const char *cls)
{
	struct cm_entry k;
	const struct cm_entry *e;

	if (m == NULL || m->n == 0 || strlen(cls) > CLASSMAP_NAME_MAX)
		return 0;
	k.key = (char *)(uintptr_t)key;
	memcpy(k.cls, cls, strlen(cls) + 1);
	e = bsearch(&k, m->e, m->n, sizeof(*m->e), key_cmp);
	return e != NULL && strcmp(e->cls, cls) == 0;
}

/* classmap_count - entries */
size_t
classmap_count(const struct classmap *m)
{
	return m != NULL ? m->n : 0;
}

/* classmap_entry - entry i (borrowed strings) */
void
classmap_entry(const struct classmap *m, size_t i, const char **key,
    const char **cls)
{
	*key = m->e[i].key;
	*cls = m->e[i].cls;
}

/* classmap_equal - same entries in two sealed maps */
int
classmap_equal(const struct classmap *a, const struct classmap *b)
{
	size_t i;

	if (classmap_count(a) != classmap_count(b))
		return 0;
	for (i = 0; i < classmap_count(a); i++)
		if (entry_cmp(&a->e[i], &b->e[i]) != 0)
			return 0;
	return 1;
}

/* classmap_free - release a map */
void
classmap_free(struct classmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		free(m->e[i].key);
	free(m->e);
	free(m);
}
