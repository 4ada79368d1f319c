/* okcache.h - which senders were lately far from every limit */
#ifndef SLUICE_OKCACHE_H
#define SLUICE_OKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * The MAIL-time check exists to refuse, before the data, a sender who is
 * already over a limit. A sender whose last end-of-message answer (from
 * the shared store) showed every limit well below its count does not
 * need it: the end-of-message call checks and charges atomically anyway,
 * so skipping the early check never admits more than a limit; at worst a
 * sender pushed over by other relays within the cache's lifetime is
 * refused at the end of the message instead of at MAIL.
 *
 * A fixed table (no allocation after okcache_new), indexed by the sender
 * key's leading hex digits (already a hash), striped locks. Thread-safe.
 * A collision only forgets an entry (one more store call), never
 * invents one: entries are matched on the whole key.
 *
 * What made an answer "fine" (the config's limits, the sender's class,
 * live classes included) can change while a message is in flight: each
 * okcache_clear starts a new epoch, and a note made under an older one
 * (read before the config and the class were) is dropped, so no answer
 * computed under the old limits outlives the clear.
 */

struct okcache;

/* okcache_new - a table of `slots` entries (rounded up to a power of 2) */
struct okcache	*okcache_new(size_t slots);

/* okcache_free - release it; NULL is fine */
void		 okcache_free(struct okcache *);

/*
 * okcache_fine_items - do these answered items leave every limit
 * checked at MAIL at most 3/4 used and the sender unlocked?
 */
int		 okcache_fine_items(const struct store_item *, size_t n);

/* okcache_epoch - the current epoch (0 for NULL); read it before the
 * config and the class the next notes are computed under */
uint64_t	 okcache_epoch(struct okcache *);

/* okcache_note - `sender` may skip the MAIL check until `until_ms`,
 * unless the cache was cleared since `epoch` was read */
void		 okcache_note(struct okcache *, const char *sender,
		    uint64_t until_ms, uint64_t epoch);

/* okcache_fine - may `sender` skip the MAIL check at `now_ms`? */
int		 okcache_fine(struct okcache *, const char *sender,
		    uint64_t now_ms);

/* okcache_forget - drop one sender (locked, re-classed, reset) */
void		 okcache_forget(struct okcache *, const char *sender);

/* okcache_clear - drop every sender and start a new epoch (a new
 * config, a change of the live classes) */
void		 okcache_clear(struct okcache *);

#endif
