/*
 * store_memory_int.h - the embedded store's layout, shared by its own
 * files only (store_memory.c: counting and the admin ops;
 * store_memory_series.c: one subject's series and their index;
 * store_memory_state.c: the state file's records). Nobody else includes
 * this: the rest of sluice sees store.h.
 */
#ifndef SLUICE_STORE_MEMORY_INT_H
#define SLUICE_STORE_MEMORY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "history.h"
#include "store.h"
#include "window.h"

#define MEM_CHAINS	4096		/* hash chains at first, power of two */
#define MEM_CHAINS_MAX	(1u << 22)	/* grown up to (32 MiB of pointers) */
#define MEM_LOAD	2		/* subjects per chain before it grows */
#define MEM_SWEEP_PASS	65536		/* charges a sweep of every chain takes
					   at most (one chain per charge below) */
#define MEM_STRIPES	64		/* mutexes; chain i uses i % MEM_STRIPES,
					   the same stripe whatever the size */
#define MEM_SERIES_CAP	(2 * (WINDOW_MAX_BUCKETS + 1)) /* buckets kept */
#define MEM_SERIES_B0	2		/* buckets a series holds in place: a
					   body's repeats counter uses one */
#define MEM_IDX_MIN	8		/* series of one subject before it gets
					   an index (one per body for repeats) */

struct mem_member {
	uint64_t		 hash;		/* of the sender key */
	uint64_t		 seen;		/* ms, last charge */
};

struct mem_near {
	uint64_t		 simhash;
	uint64_t		 seen;		/* ms */
};

struct mem_series {
	struct mem_series	*next;		/* the sender's list, newest first */
	struct mem_series	*hnext;		/* its chain in the sender's index */
	uint64_t		 id;		/* series_id(): what the index hashes */
	char			 name[STORE_NAME_MAX + 1];
	char			 sub[STORE_SUB_MAX + 1];
	uint32_t		 window;
	uint32_t		 buckets;
	int			 distinct;	/* members[], not b[] */
	size_t			 n;		/* used entries of b[] */
	size_t			 bcap;		/* entries b[] has room for */
	struct mem_member	*members;	/* distinct: at most limit + 1 */
	size_t			 nmembers, capmembers;
	int			 near;		/* nears[], not b[] */
	struct mem_near		*nears;		/* STORE_NEAR_KEEP, oldest first */
	size_t			 nnears;
	int			 history;	/* hist, not b[] */
	struct history_state	 hist;		/* history.h */
	uint64_t		 hist_until;	/* ms: forgotten after this */
	struct window_bucket	*b;		/* bucketed series: b0 at first,
						   grown up to MEM_SERIES_CAP */
	struct window_bucket	 b0[MEM_SERIES_B0];
};

struct mem_txn {
	struct mem_txn		*next;
	uint64_t		 expires;	/* ms */
	char			 id[STORE_TXN_MAX + 1];
};

struct mem_sender {
	struct mem_sender	*next;
	struct mem_series	*series;
	struct mem_series	**idx;		/* NULL until MEM_IDX_MIN series:
						   chains by id, idxcap of them */
	uint32_t		 idxcap, nseries;
	struct mem_txn		*txns;
	uint64_t		 expires;	/* ms: nothing live after this */
	uint64_t		 hash;		/* mem_hash64(key): its chain */
	char			 key[STORE_SENDER_MAX + 1];
};

struct mem_store {
	struct store		 base;		/* first: the interface */
	store_clock_fn		 clock;
	void			*clock_ctx;
	pthread_mutex_t		 locks[MEM_STRIPES];
	/* the chains: replaced (twice as many) only with every stripe
	 * locked, so any one stripe's lock keeps them as they are */
	struct mem_sender	**chains;
	size_t			 nchains;	/* power of two >= MEM_STRIPES */
	_Atomic size_t		 nchains_seen;	/* nchains, read lock-free */
	_Atomic size_t		 nsubjects;
	pthread_mutex_t		 grow_lock;	/* held by a growth or a dump:
						   no growth while one walks */
	pthread_mutex_t		 sweep_lock;
	size_t			 sweep_next;	/* next chain to sweep, modulo
						   nchains */
};

/* mem_stripe - the stripe of a subject key */
size_t		 mem_stripe(const char *key);

/* mem_find - a subject in its chain, made with create (stripe locked) */
struct mem_sender *mem_find(struct mem_store *, const char *key,
		    int create);

/* mem_grow - twice as many chains when they are over MEM_LOAD each (no
 * stripe locked by the caller) */
void		 mem_grow(struct mem_store *);

/* mem_series_new - an empty series for an item's kind, linked in */
struct mem_series *mem_series_new(struct mem_sender *, const char *name,
		    const char *sub, uint32_t window, uint32_t buckets,
		    int distinct, int near, int history);

/* mem_series_reserve - room for n buckets (n <= MEM_SERIES_CAP); -1: none */
int		 mem_series_reserve(struct mem_series *, size_t n);

/* the series of one subject (store_memory_series.c); stripe locked */
/* mem_hash64 - 64-bit FNV-1a of a sender key, for distinct members */
uint64_t	 mem_hash64(const char *s);
/* series_free - free one series (already unlinked) */
void		 series_free(struct mem_series *s);
/* series_unlink - take s out of the index (the caller unlinks the list) */
void		 series_unlink(struct mem_sender *snd, struct mem_series *s);
/* series_prune - drop buckets no longer live at time now */
void		 series_prune(struct mem_series *s, uint64_t now);
/* series_total - events counted by a pruned series */
uint64_t	 series_total(const struct mem_series *s);
/* series_add - add cost to the bucket of time now (the oldest folded in
 * when full) */
void		 series_add(struct mem_series *s, uint64_t now, uint64_t cost);
/* members_prune - forget senders not seen within the window */
void		 members_prune(struct mem_series *s, uint64_t now);
/* members_find - index of a sender among the members, or -1 */
long		 members_find(const struct mem_series *s, uint64_t h);
/* members_add - note a sender now; keeps at most limit + 1 (the newest) */
int		 members_add(struct mem_series *s, uint64_t h, uint64_t now,
		    uint64_t limit);
/* near_prune - forget bodies older than the window */
void		 near_prune(struct mem_series *s, uint64_t now);
/* near_count - kept bodies at most it->distance bits from it->simhash */
uint64_t	 near_count(const struct mem_series *s,
		    const struct store_item *it);
/* near_retry - seconds until enough near bodies left the window */
uint32_t	 near_retry(const struct mem_series *s,
		    const struct store_item *it, uint64_t count, uint64_t cost,
		    uint64_t now);
/* near_add - keep one more body; past STORE_NEAR_KEEP the oldest goes */
int		 near_add(struct mem_series *s, uint64_t simhash, uint64_t now);
/* series_prune_any - drop what no longer counts, whatever the kind */
void		 series_prune_any(struct mem_series *s, uint64_t now);
/* series_expiry - ms after which nothing of the series counts */
uint64_t	 series_expiry(const struct mem_series *s);
/* mem_history_judge - a history item's answer from its series (or none) */
void		 mem_history_judge(struct mem_series *s, struct store_item *it,
		    uint64_t now);
/* mem_history_add - charge a history item: fold, add, keep for `keep` */
void		 mem_history_add(struct mem_series *s, struct store_item *it,
		    uint64_t now);
/* sender_series - find (or, with create, make) the series of one item */
struct mem_series *sender_series(struct mem_sender *snd,
		    const struct store_item *it, int create);
/* drop_dead - free the series of a subject in which nothing counts now */
void		 drop_dead(struct mem_sender *snd, uint64_t now);

/* mem_sender_prune - drop what no longer counts; recompute expires */
void		 mem_sender_prune(struct mem_sender *, uint64_t now);

#endif
