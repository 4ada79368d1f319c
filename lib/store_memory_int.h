/*
 * store_memory_int.h - the embedded store's layout, shared by its own
 * files only (store_memory.c: counting and the admin ops;
 * store_memory_state.c: the state file's records). Nobody else includes
 * this: the rest of sluice sees store.h.
 */
#ifndef SLUICE_STORE_MEMORY_INT_H
#define SLUICE_STORE_MEMORY_INT_H

#include <pthread.h>
#include <stdint.h>

#include "history.h"
#include "store.h"
#include "window.h"

#define MEM_CHAINS	4096		/* hash chains, power of two */
#define MEM_STRIPES	64		/* mutexes; chain i uses i % MEM_STRIPES */
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
	char			 key[STORE_SENDER_MAX + 1];
};

struct mem_store {
	struct store		 base;		/* first: the interface */
	store_clock_fn		 clock;
	void			*clock_ctx;
	pthread_mutex_t		 locks[MEM_STRIPES];
	struct mem_sender	*chains[MEM_CHAINS];
	pthread_mutex_t		 sweep_lock;
	size_t			 sweep_next;	/* next chain to sweep */
};

/* mem_chain - the chain of a subject key */
size_t		 mem_chain(const char *key);

/* mem_find - a subject in its chain, made with create (stripe locked) */
struct mem_sender *mem_find(struct mem_store *, size_t chain,
		    const char *key, int create);

/* mem_series_new - an empty series for an item's kind, linked in */
struct mem_series *mem_series_new(struct mem_sender *, const char *name,
		    const char *sub, uint32_t window, uint32_t buckets,
		    int distinct, int near, int history);

/* mem_series_reserve - room for n buckets (n <= MEM_SERIES_CAP); -1: none */
int		 mem_series_reserve(struct mem_series *, size_t n);

/* mem_sender_prune - drop what no longer counts; recompute expires */
void		 mem_sender_prune(struct mem_sender *, uint64_t now);

#endif
