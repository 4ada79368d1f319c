/* classmap.h - per-login class overrides read from the store (P:classes) */
#ifndef SLUICE_CLASSMAP_H
#define SLUICE_CLASSMAP_H

#include <stddef.h>

#define CLASSMAP_KEY_MAX	1024	/* longest login or @domain kept */
#define CLASSMAP_NAME_MAX	63	/* longest class name kept */
#define CLASSMAP_MAX		1000000	/* most entries in one map */

struct classmap;

/* classmap_new - an empty map, to fill with classmap_add; NULL: no memory */
struct classmap	*classmap_new(void);

/*
 * classmap_add - one "login CLASS" or "@domain CLASS" entry (lengths
 * given: store replies are not NUL-terminated). The key is folded to
 * ASCII lower case. 0 added, 1 skipped (empty, too long, bytes a class
 * name cannot hold, map full), -1 out of memory.
 */
int		 classmap_add(struct classmap *, const char *key, size_t klen,
		    const char *cls, size_t clen);

/* classmap_seal - sort for lookups; call once, after the last add */
void		 classmap_seal(struct classmap *);

/* classmap_lookup - class name for a login: exact, then @domain; NULL */
const char	*classmap_lookup(const struct classmap *, const char *login);

/* classmap_find - class name of a whole name, then of dom ("@domain" or
 * NULL); NULL (sender_class_names gives the two names) */
const char	*classmap_find(const struct classmap *, const char *whole,
		    const char *dom);

/* classmap_has - is exactly this (folded key, class) in a sealed map? */
int		 classmap_has(const struct classmap *, const char *key,
		    const char *cls);

/* classmap_count - entries in a sealed map */
size_t		 classmap_count(const struct classmap *);

/* classmap_entry - entry i of a sealed map (borrowed strings) */
void		 classmap_entry(const struct classmap *, size_t i,
		    const char **key, const char **cls);

/* classmap_equal - same entries? (two sealed maps; NULL is empty) */
int		 classmap_equal(const struct classmap *,
		    const struct classmap *);

/* classmap_free - release a map; NULL is fine */
void		 classmap_free(struct classmap *);

#endif
