/* qidlogin.h - which login a queue id belongs to, for delivery feedback */
#ifndef SLUICE_QIDLOGIN_H
#define SLUICE_QIDLOGIN_H

#include <stddef.h>
#include <stdint.h>

#define QIDLOGIN_ID_MAX		23	/* longest queue id, bytes */
#define QIDLOGIN_KEY_MAX	32	/* a sender key (sender_key()) */
#define QIDLOGIN_LOGIN_MAX	127	/* longest login kept, bytes */

struct qidlogin;

/* qidlogin_new - room for the last `cap` accepted ids; NULL: no memory */
struct qidlogin	*qidlogin_new(size_t cap);

/* qidlogin_add - qid was accepted for login (its sender key; origin: an
 * enum sender_origin, kept as given, 0 to 255); the oldest
 * id goes when full. 0, or 1 refused (empty, too long, a qid or key
 * with bytes other than letters and digits, a login with CR or LF) */
int		 qidlogin_add(struct qidlogin *, const char *qid,
		    const char *key, const char *login, int origin);

/* qidlogin_find - the key and login of qid: 1 found (key, login filled:
 * QIDLOGIN_KEY_MAX + 1 and QIDLOGIN_LOGIN_MAX + 1 bytes), 0 not */
int		 qidlogin_find(struct qidlogin *, const char *qid, char *key,
		    char *login, int *origin);

/* qidlogin_save - write every id, oldest first, to path (through
 * path.tmp and a rename): 0, or -1 with errno */
int		 qidlogin_save(struct qidlogin *, const char *path);

/* qidlogin_load - add the ids of a file qidlogin_save wrote; a missing
 * file is none. Returns ids added, or -1 with errno */
long		 qidlogin_load(struct qidlogin *, const char *path);

/* qidlogin_entry_bytes - bytes one id costs */
size_t		 qidlogin_entry_bytes(void);

/* qidlogin_free - release it; NULL is fine */
void		 qidlogin_free(struct qidlogin *);

#endif
