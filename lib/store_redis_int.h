/*
 * store_redis_int.h - what lib/store_redis.c (one node, or a primary
 * found through Sentinel) shares with lib/store_redis_cluster.c (a Redis
 * Cluster, one node store per node): the store's layout and the
 * functions the Cluster store calls on its nodes. Not for other callers.
 */
#ifndef SLUICE_STORE_REDIS_INT_H
#define SLUICE_STORE_REDIS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "sentinel.h"
#include "store.h"

#define RS_PREFIX_MAX	64	/* key prefix length */
/* the longest key: a Cluster scoped txn key, {subject}:txn:<sender>:<hex> */
#define RS_KEY_MAX	(RS_PREFIX_MAX + 2 * STORE_SENDER_MAX + 2 * STORE_TXN_MAX + 16)
/* EVALSHA, sha, numkeys, keys (limits and txn), 4 values, the limits'
   parameters, one extra per limit */
#define RS_ARGV_MAX	(3 + STORE_MAX_ITEMS + 1 + 4 + 1 + STORE_MAX_ITEMS)
#define RS_EXTRA_MAX	(STORE_MEMBER_MAX + 8) /* an item's last argument */
#define RS_NUM_MAX	24	/* a uint64 in decimal, with NUL */
#define RS_PARAM_LEN	25	/* one limit's parameters, packed (charge.lua
				   ARGV[5]: '>I4I4ddB') */
/* a limit's key: <prefix>{<subject>}:<name>[:<sub>]:<window>:<buckets> */
#define RS_ITEM_KEY_MAX	(RS_PREFIX_MAX + STORE_SENDER_MAX + STORE_NAME_MAX + \
			 STORE_SUB_MAX + 2 * RS_NUM_MAX + 8)
/* every string of one call, back to back */
#define RS_BUF_MAX	(STORE_MAX_ITEMS * (RS_ITEM_KEY_MAX + RS_PARAM_LEN + \
			 RS_EXTRA_MAX) + RS_KEY_MAX + STORE_SENDER_MAX + \
			 4 * RS_NUM_MAX)
#define RS_ASK_MS	1000	/* ask the sentinels at most this often */
#define RS_WAIT_TIMEOUTS 10	/* a thread waits in line for a connection
				   at most this many command timeouts (and
				   one only when the line does not move) */
#define RS_PREFIX_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789:_.-"

/*
 * a thread waiting for a connection (on its stack): served first come,
 * first served, given a connection or a slot to open one by the thread
 * that frees it (with a plain condition variable, a thread that just
 * arrived could take a connection ahead of those woken for it, and at
 * 1,000 SMTP sessions a few waited past the command timeout while the
 * pool kept serving others)
 */
struct rs_waiter {
	struct rs_waiter	*next;
	pthread_cond_t		 cv;
	redisContext		*c;		/* handed over, or NULL */
	unsigned		 gen;		/* of c */
	int			 served;	/* c, or a slot to open one */
};

struct redis_store {
	struct store		 base;		/* first: the interface */
	char			*host;		/* or NULL with unix_path */
	int			 port;
	char			*unix_path;
	char			*password;	/* NULL: no AUTH */
	char			*username;	/* NULL: AUTH with password only */
	char			*prefix;
	char			 where[300];	/* "redis host:port", for errors */
	unsigned		 command_ms;	/* for the timeout message */
	unsigned		 connect_ms;
	struct timeval		 command_tv;
	pthread_mutex_t		 lock;		/* idle[], nidle, nopen, sha,
					   the waiters */
	struct rs_waiter	*first;		/* threads waiting for a connection, */
	struct rs_waiter	*last;		/* served in arrival order */
	unsigned long		 served;	/* waiters served so far */
	redisContext		**idle;		/* pool_max slots */
	size_t			 nidle;
	size_t			 nopen;		/* idle + in use + connecting */
	size_t			 pool_max;	/* most connections at once */
	char			 sha[41];	/* of charge_lua; "" until loaded */
	/* Sentinel; sentinels NULL: the fixed host, port or unix_path */
	struct sentinel_addr	*sentinels;
	size_t			 nsentinels;
	char			*master;	/* the monitored master's name */
	char			*sentinel_password; /* NULL: no AUTH */
	struct sentinel_addr	 primary;	/* lock; port 0: not known */
	unsigned		 gen;		/* lock; bumped when it moves */
	uint64_t		 asked_ms;	/* lock; sentinels last asked */
	int			 asking;	/* lock; a thread asks them now */
	pthread_cond_t		 answered;	/* it is done */
	store_redis_notify_fn	 notify;	/* told when the primary moves */
	void			*notify_ctx;
	unsigned		 wait_replicas;	/* WAIT after a commit; 0: off */
};

/* how one try of a call failed */
enum rs_fail {
	RS_FAIL_NONE = 0,
	RS_FAIL_UNSENT,		/* no connection, or READONLY: did not run */
	RS_FAIL_IO,		/* timeout or lost connection: may have run */
	RS_FAIL_REPLY		/* an answer we cannot use: final */
};

/* a connection in use by one thread */
struct rs_conn {
	redisContext		*c;
	int			 pooled;	/* came from the pool: may be stale */
	unsigned		 gen;		/* rs->gen when it was opened */
};

/*
 * the arguments of one EVALSHA, on the caller's stack (about 10 KiB): the
 * strings live in buf, written with put_*() (no printf: at ~20 numbers a
 * call, snprintf was the largest single cost of a call on sluice's side)
 */
struct rs_call {
	const char		*argv[RS_ARGV_MAX];
	size_t			 argvlen[RS_ARGV_MAX];
	int			 argc;
	char			 sha[41];
	int			 txn;		/* a txn key is sent: replay-safe */
	int			 unsent;	/* rs_node_eval: no connection, not sent */
	unsigned		 wait;		/* replicas a commit must reach; 0:
					   no WAIT */
	int			 undurable;	/* rs_node_eval: ran, but WAIT saw
					   fewer than wait replicas */
	char			 buf[RS_BUF_MAX];
};

/* rs_fail - fill err with "redis host:port: what[: detail]"; returns -1 */
int		 rs_fail(const struct redis_store *, char *err, size_t errlen,
		    const char *what, const char *detail);

/* rs_fail_ctx - err from a context's error, naming timeouts as such */
int		 rs_fail_ctx(const struct redis_store *, const redisContext *,
		    int saved_errno, const char *what, char *err,
		    size_t errlen);

/* rs_conn_stale - did a pooled connection just find the server gone? */
int		 rs_conn_stale(const redisContext *, int saved_errno);

/* rs_mono_ms - a monotonic clock in ms, never 0 */
uint64_t	 rs_mono_ms(void);

/* rs_rediscover - ask the sentinels where the primary is (see
 * store_redis_conn.c): 1 moved, 0 not, -1 with err */
int		 rs_rediscover(struct redis_store *, unsigned seen, char *err,
		    size_t errlen);

/* rs_hex_ok - 1 to max lower-case hex digits? */
int		 rs_hex_ok(const char *, size_t max);

/* rs_conn_get - a connection from the pool or a new one; 0, or -1 + err */
int		 rs_conn_get(struct redis_store *, struct rs_conn *, char *err,
		    size_t errlen);

/* rs_conn_put - give a connection back (broken: close it) */
void		 rs_conn_put(struct redis_store *, struct rs_conn *,
		    int broken);

/* rs_conn_cmd - one command on a connection; NULL + err */
redisReply	*rs_conn_cmd(struct redis_store *, struct rs_conn *,
		    const char *what, int argc, const char **argv,
		    const size_t *argvlen, char *err, size_t errlen);

/* rs_call_build - the EVALSHA of a request (scope: a Cluster subject's
 * own txn key, or NULL); 0, or -1 + err */
int		 rs_call_build(const struct redis_store *,
		    const struct store_req *, const char *scope,
		    struct rs_call *, char *err, size_t errlen);

/* rs_node_eval - run a call on one node (asking: ASKING first); 0 with
 * *out, or -1 + err */
int		 rs_node_eval(struct redis_store *, struct rs_call *,
		    int asking, redisReply **out, char *err, size_t errlen);

/* rs_parse_reply - the script's reply into the request's items and res */
int		 rs_parse_reply(const struct redis_store *, const redisReply *,
		    const struct store_req *, struct store_res *, char *err,
		    size_t errlen);

/* rs_reset - forget a sender's counters on this node */
int		 rs_reset(struct store *, const char *sender, char *err,
		    size_t errlen);

/* rs_free - close every connection, free the store */
void		 rs_free(struct store *);

/* rs_cluster_new - a Cluster store seeded by o->host:o->port (in
 * store_redis_cluster.c); NULL + err */
struct store	*rs_cluster_new(const struct store_redis_opts *, char *err,
		    size_t errlen);

#endif
