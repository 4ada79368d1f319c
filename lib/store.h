/* store.h - where counters live: one interface, several implementations */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A store answers one question atomically: "given these limits of one
 * sender, does this message fit in every one of them?" and, when asked
 * to commit and the answer is yes, charges the message to all of them in
 * the same step. Nothing is charged when any limit would be exceeded.
 * Counting follows window.h exactly, on the store's clock (Redis TIME
 * for redis; the injected clock for memory).
 *
 * Soft items are counted and reported but never stop the charge (a
 * detector whose action is to tag or hold the message, not refuse it).
 * An item with a scope counts for another subject than the sender (one
 * body sent by many senders); a distinct item counts the senders, or the
 * item's own members (e.g. the client addresses one login used). A near
 * item keeps the sender's last STORE_NEAR_KEEP body simhashes in its
 * window and counts those within `distance` bits of this body's.
 *
 * Implementations: memory (store_memory.c), redis (store_redis.c), and
 * the guard (store_guard.c: circuit breaker + fallback around another).
 * Every implementation is safe to call from many threads at once.
 */

#define STORE_MAX_ITEMS		32	/* items in one request */
#define STORE_NAME_MAX		16	/* item name length, without NUL */
#define STORE_SENDER_MAX	64	/* sender key length, without NUL */
#define STORE_TXN_MAX		128	/* transaction id length, without NUL */
#define STORE_TXN_MS		600000	/* a txn is remembered this long (or
					   the longest window, if shorter):
					   it only has to outlive a retry */

#define STORE_SUB_MAX		32	/* sub-counter id length, without NUL */
#define STORE_MEMBER_MAX	32	/* distinct member length, without NUL */
#define STORE_NEAR_KEEP		32	/* simhashes a near item keeps: its
					   limit must stay below */
#define STORE_NEAR_BYTES	16	/* state per kept simhash (simhash and
					   time, both stores) */

struct store_item {
	char		 name[STORE_NAME_MAX + 1]; /* [a-z0-9_]+, e.g. "msg" */
	uint8_t		 kind;		/* what it counts (enum item_kind,
					   detector.h); the store ignores it */
	char		 scope[STORE_SENDER_MAX + 1]; /* "": the request's
					   sender; else another subject's hex
					   key (e.g. a body hash) shared by
					   every sender */
	char		 sub[STORE_SUB_MAX + 1]; /* "" or hex: one counter
					   of many under the same name */
	uint32_t	 window;	/* window length, seconds, > 0 */
	uint32_t	 buckets;	/* buckets per window, 1..WINDOW_MAX_BUCKETS */
	uint64_t	 limit;		/* most events counted in any window */
	uint64_t	 cost;		/* events this request adds */
	uint8_t		 distinct;	/* count distinct senders in the last
					   window (exact), not events; cost 1
					   adds the request's sender */
	char		 member[STORE_MEMBER_MAX + 1]; /* distinct: "" for
					   the request's sender, else this hex
					   (e.g. a hash of a client address) */
	uint8_t		 near;		/* count the kept bodies within
					   `distance` bits of simhash, not
					   events; cost 1 keeps this one */
	uint8_t		 distance;	/* near: bits apart still near, <= 64 */
	uint64_t	 simhash;	/* near: this body's simhash */
	uint8_t		 history;	/* learn the sender's usual count per
					   window (history.h) and count the
					   current window against it */
	uint32_t	 factor;	/* history: over above factor x usual
					   and above limit (the floor) */
	uint32_t	 learn;		/* history: seconds of history needed
					   to judge */
	uint32_t	 keep;		/* history: kept this long after the
					   last event; keep / window: the
					   mean's length in active windows */
	uint8_t		 soft;		/* going over is reported in `over`
					   but does not stop the charge */
	uint8_t		 on_refuse;	/* charged only when the request is
					   refused (never decides it): counts
					   refusals */
	uint8_t		 unowned;	/* over it is not the sender's own
					   doing (a domain's total, a copy):
					   a request refused by such items
					   alone charges no on_refuse item */
	uint8_t		 over;		/* out: over its limit, counting this
					   request */
	uint64_t	 count;		/* out: events counted, after any charge */
	uint32_t	 retry;		/* out: seconds until cost fits; 0 = fits */
	uint64_t	 typical;	/* out: history: usual count per window,
					   x 1000 */
	uint8_t		 learning;	/* out: history: too young to judge */
};

#define STORE_CHECK		0	/* check only, write nothing */
#define STORE_COMMIT		1	/* charge if all fit; else, when an
					   owned (not unowned) hard item is
					   over, charge the on_refuse items */
#define STORE_CHECK_RECORD	2	/* check; if refused by an owned hard
					   item, charge the on_refuse items */
#define STORE_REFUSED		3	/* refused already (decided without
					   the store): check, charge only the
					   on_refuse items (res.allowed 0) */

struct store_req {
	const char		*sender; /* sender key (sender_key()); borrowed */
	const char		*txn;	/* id making a commit idempotent, or NULL */
	int			 commit; /* STORE_CHECK, STORE_COMMIT,
					   STORE_CHECK_RECORD or
					   STORE_REFUSED */
	struct store_item	*items;	/* borrowed; outputs filled in place */
	size_t			 nitems;
};

enum store_source {
	STORE_SRC_PRIMARY = 0,	/* answered by the configured store */
	STORE_SRC_LOCAL,	/* store down: answered by local counters */
	STORE_SRC_ACCEPT,	/* store down: fallback "accept" */
	STORE_SRC_TEMPFAIL	/* store down: fallback "tempfail" */
};

struct store_res {
	int			 allowed; /* every item fits (and was charged) */
	int			 replayed; /* txn was already charged: no-op */
	enum store_source	 source;  /* who answered (guard only) */
};

struct store;

struct store_ops {
	int	(*charge)(struct store *, const struct store_req *,
		    struct store_res *, char *err, size_t errlen);
	int	(*reset)(struct store *, const char *sender, char *err,
		    size_t errlen);
	void	(*free)(struct store *);
};

/* one counter series of a subject, as store_view shows it (borrowed) */
struct store_series {
	const char	*subject;	/* sender key, or an item's scope */
	const char	*name;		/* item name, e.g. "msg" */
	const char	*sub;		/* "" or the sub-counter id */
	uint32_t	 window;	/* seconds */
	uint32_t	 buckets;
	uint64_t	 count;		/* live events (distinct: members;
					   near: bodies kept) */
	int64_t		 newest;	/* highest live bucket index, -1: none
					   (and for distinct and near) */
};

typedef void (*store_view_fn)(void *ctx, const struct store_series *);

/*
 * What an administrator asks of a store that keeps its counters itself
 * (memory): sluicectl through the control socket. NULL in a store that
 * sluicectl reads directly (redis).
 */
struct store_admin_ops {
	int	(*view)(struct store *, const char *subject, store_view_fn,
		    void *ctx, char *err, size_t errlen);
	int	(*drop)(struct store *, const char *subject,
		    const char *const *names, int keep, size_t *dropped,
		    char *err, size_t errlen);
	int	(*lock)(struct store *, const struct store_item *lock,
		    const char *subject, uint64_t dur_ms, uint64_t *ends_ms,
		    char *err, size_t errlen);
	uint64_t (*now)(struct store *);
};

struct store {
	const struct store_ops	*ops;
	const char		*kind;	/* "memory", "redis", "guard" */
	const struct store_admin_ops *admin; /* or NULL */
};

/*
 * store_view - call fn for every live series of `subject` (NULL: of every
 * subject); 0, or -1 with err (also when the store has no admin ops)
 */
int	store_view(struct store *, const char *subject, store_view_fn fn,
	    void *ctx, char *err, size_t errlen);

/*
 * store_drop - forget the series of one subject named in `names`
 * (NULL-ended), or with keep every series but those; *dropped counts
 * them; 0, or -1 with err
 */
int	store_drop(struct store *, const char *subject,
	    const char *const *names, int keep, size_t *dropped, char *err,
	    size_t errlen);

/*
 * store_lock - lock a subject with the lock item: dur_ms 0 charges it
 * now (a full lock_lifetime); else the series is replaced by one event
 * that leaves the window first at or after now + dur_ms. *ends_ms: when
 * the lock ends. 0, or -1 with err.
 */
int	store_lock(struct store *, const struct store_item *lock,
	    const char *subject, uint64_t dur_ms, uint64_t *ends_ms,
	    char *err, size_t errlen);

/* store_now - the store's clock, ms (real time without admin ops) */
uint64_t store_now(struct store *);

/*
 * store_charge - check, and charge when req->commit: 0 when the store
 * answered; 1 when a guard's fallback answered (err says why the primary
 * did not); -1 with err when nobody could answer.
 */
int	store_charge(struct store *, const struct store_req *,
	    struct store_res *, char *err, size_t errlen);

/* store_reset - forget every counter of one sender; 0, or -1 with err */
int	store_reset(struct store *, const char *sender, char *err,
	    size_t errlen);

/* store_free - release a store; NULL is fine */
void	store_free(struct store *);

/* store_item_set - fill one item's inputs; name must match [a-z0-9_]+ */
void	store_item_set(struct store_item *, const char *name,
	    uint32_t window, uint32_t buckets, uint64_t limit, uint64_t cost);

/* store_item_valid - are scope, sub and member hex and short enough, and
 * the kind's limits kept? */
int	store_item_valid(const struct store_item *);

/* clock: milliseconds since the epoch (injected so tests control time) */
typedef uint64_t (*store_clock_fn)(void *ctx);

/* store_clock_real - CLOCK_REALTIME in ms */
uint64_t	store_clock_real(void *ctx);

/* store_memory_new - in-process store; clock NULL means real time */
struct store	*store_memory_new(store_clock_fn clock, void *clock_ctx);

/* store_memory_expire - drop senders with nothing live; returns count */
size_t		 store_memory_expire(struct store *);

/* store_memory_chains - the hash chains its subjects are in now (the
 * table doubles past 2 subjects a chain, from 4,096 up to 4M) */
size_t		 store_memory_chains(struct store *);

struct state_buf;

/*
 * store_memory_dump - append the live counters as a state file section
 * (state.h), one stripe locked at a time; *subjects counts them,
 * *max_hold_us is the longest a stripe stayed locked; -1: out of memory
 */
int		 store_memory_dump(struct store *, struct state_buf *,
		    size_t *subjects, uint64_t *max_hold_us);

/*
 * store_memory_load - add the counters of a state payload, pruned to
 * now; 0, or -1 with err at the first bad record (earlier ones stay)
 */
int		 store_memory_load(struct store *, const unsigned char *payload,
		    size_t len, size_t *loaded, char *err, size_t errlen);

/* told of a change worth a log line (the primary moved); msg is borrowed */
typedef void (*store_redis_notify_fn)(void *ctx, const char *msg);

struct store_redis_opts {
	const char	*host;		/* TCP host, or NULL with unix_path */
	int		 port;
	const char	*unix_path;	/* unix socket path, or NULL */
	const char	*password;	/* AUTH password, or NULL */
	const char	*username;	/* ACL user (Redis 6+), or NULL */
	const char	*prefix;	/* key prefix, e.g. "sluice:" */
	unsigned	 connect_timeout_ms;
	unsigned	 command_timeout_ms;
	unsigned	 pool_max;	/* idle connections kept, >= 1 (per
					   node of a cluster) */
	int		 cluster;	/* host:port is a seed node of a
					   Redis Cluster */
	const char	*sentinels;	/* "host:port, ...": ask them where
					   the primary is (host, unix_path
					   unused); NULL: fixed address */
	const char	*sentinel_master; /* the name they monitor */
	const char	*sentinel_password; /* sentinels' AUTH, or NULL */
	store_redis_notify_fn notify;	/* or NULL */
	void		*notify_ctx;
	unsigned	 wait_replicas;	/* a commit is an error unless WAIT
					   says this many replicas have it;
					   0: no WAIT (not with cluster) */
};

/* store_redis_new - redis store; connects lazily; NULL with err on bad opts */
struct store	*store_redis_new(const struct store_redis_opts *, char *err,
		    size_t errlen);

enum store_fallback {
	STORE_FALLBACK_LOCAL = 0,	/* count in this process meanwhile */
	STORE_FALLBACK_ACCEPT,		/* accept everything meanwhile */
	STORE_FALLBACK_TEMPFAIL		/* tempfail everything meanwhile */
};

struct store_guard_opts {
	enum store_fallback	 fallback;
	unsigned		 failures;	/* consecutive errors that open it */
	unsigned		 cooldown_ms;	/* open for this long, then retry */
	store_clock_fn		 clock;		/* NULL: real time */
	void			*clock_ctx;
};

enum store_breaker { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct store_guard_stats {
	enum store_breaker	 state;
	uint64_t		 errors;	/* primary calls that failed */
	uint64_t		 fallbacks;	/* requests answered by fallback */
	uint64_t		 opened;	/* times the breaker opened */
};

/*
 * store_guard_new - wrap `primary` (owned) with a circuit breaker; when it
 * fails or the breaker is open, answer per opts->fallback (local counters
 * in a private memory store). The one place store failure becomes policy.
 */
struct store	*store_guard_new(struct store *primary,
		    const struct store_guard_opts *);

/* store_guard_stats - snapshot of the breaker; zeros for a non-guard */
void		 store_guard_stats(struct store *, struct store_guard_stats *);

#endif
