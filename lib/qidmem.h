/* qidmem.h - the queue ids each login got accepted, for a while */
#ifndef SLUICE_QIDMEM_H
#define SLUICE_QIDMEM_H

#include <stddef.h>
#include <stdint.h>

#define QIDMEM_ID_MAX	23	/* longest queue id kept, bytes */
#define QIDMEM_KEY_MAX	64	/* longest login key, bytes */
#define QIDMEM_ID_SIZE	(QIDMEM_ID_MAX + 1) /* one id in a take's buffer */

struct qidmem;

/*
 * qidmem_new - a memory of at most `total` ids in all and `per_login` per
 * login (oldest dropped first); NULL when out of memory or a cap is 0
 */
struct qidmem	*qidmem_new(size_t per_login, size_t total);

/*
 * qidmem_add - remember that login `key` got queue id `qid` accepted at
 * `now` (seconds); ids older than `window` seconds are forgotten. 0
 * kept, 1 refused (a key or id too long, empty, an id with bytes
 * other than A-Z a-z 0-9, or "ALL"), -1 out of memory.
 */
int		 qidmem_add(struct qidmem *, const char *key, const char *qid,
		    uint64_t now, uint32_t window);

/*
 * qidmem_take - hand over and forget every id of `key` younger than
 * `window` seconds, oldest first: *ids (malloc'd, the caller frees it)
 * holds them QIDMEM_ID_SIZE bytes apart, NUL-terminated. Returns how
 * many; 0 leaves *ids NULL; (size_t)-1 out of memory (nothing lost).
 */
size_t		 qidmem_take(struct qidmem *, const char *key, uint64_t now,
		    uint32_t window, char **ids);

/*
 * qidmem_each - call fn for every id held (expired or not), oldest
 * first, with the memory locked (fn must not call it); returns how many
 */
typedef void	(*qidmem_each_fn)(void *ctx, const char *key, const char *qid,
		    uint64_t at);
size_t		 qidmem_each(struct qidmem *, qidmem_each_fn, void *ctx);

/* qidmem_count - ids held for a login (key NULL: for all), expired or not */
size_t		 qidmem_count(struct qidmem *, const char *key);

/* qidmem_entry_bytes - bytes one remembered id costs */
size_t		 qidmem_entry_bytes(void);

/* qidmem_free - release it; NULL is fine */
void		 qidmem_free(struct qidmem *);

#endif
