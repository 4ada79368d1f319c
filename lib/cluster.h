/* cluster.h - Redis Cluster: key slots, the slot map, redirections */
#ifndef SLUICE_CLUSTER_H
#define SLUICE_CLUSTER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What the redis store needs to speak to a Redis Cluster, without any
 * I/O: the hash slot of a key (CRC16/XMODEM of the key, or of its hash
 * tag, modulo 16384, as Redis defines it), a slot map read from a
 * CLUSTER SLOTS reply, the MOVED / ASK / TRYAGAIN error replies parsed,
 * and the decision what to do next with an error reply, and the loops
 * that follow those decisions and read the slot map through the
 * caller's send function (they do no I/O of their own). Nodes
 * are kept in the map by address, append-only, so an index stays valid
 * for the map's life. Not thread-safe: the caller locks (cluster_follow
 * takes the caller's lock).
 */

#define CLUSTER_SLOTS		16384
#define CLUSTER_NODES_MAX	64	/* distinct node addresses */
#define CLUSTER_HOST_MAX	255	/* host name or address, without NUL */

struct redisReply;

struct cluster_addr {
	char		 host[CLUSTER_HOST_MAX + 1];
	int		 port;		/* 1..65535 */
};

struct cluster_map {
	uint8_t		 slot[CLUSTER_SLOTS]; /* node index + 1; 0: unknown */
	struct cluster_addr node[CLUSTER_NODES_MAX];
	size_t		 nnodes;
};

enum cluster_redir {
	CLUSTER_REPLY = 0,	/* not a redirection: the caller's answer */
	CLUSTER_MOVED,		/* the slot lives elsewhere for good */
	CLUSTER_ASK,		/* this one command: ASKING, then there */
	CLUSTER_TRYAGAIN,	/* slot mid-migration: wait, send again */
	CLUSTER_DOWN		/* CLUSTERDOWN: the cluster cannot answer */
};

/* cluster_crc16 - CRC16/XMODEM (poly 0x1021, init 0), Redis's key hash */
uint16_t	cluster_crc16(const void *, size_t);

/* cluster_keyslot - the slot of a key, honouring a non-empty {hash tag} */
unsigned	cluster_keyslot(const char *key, size_t len);

/* cluster_map_init - an empty map: no node, no slot known */
void		cluster_map_init(struct cluster_map *);

/* cluster_map_node - index of a node's address, added when new; -1 full */
int		cluster_map_node(struct cluster_map *, const char *host,
		    int port);

/*
 * cluster_map_parse - replace the slot assignment with a CLUSTER SLOTS
 * reply (each range's first node is its primary; an empty host means
 * `asked`, the node that answered); nodes are kept. 0, or -1 with err and
 * the map unchanged.
 */
int		cluster_map_parse(struct cluster_map *, const struct redisReply *,
		    const char *asked, char *err, size_t errlen);

/* cluster_map_route - the node index serving a slot, or -1 when unknown */
int		cluster_map_route(const struct cluster_map *, unsigned slot);

/*
 * cluster_redirect_parse - what an error reply's text says: MOVED and ASK
 * fill slot and to (an empty host, "MOVED 1 :6380", is `from`'s host);
 * anything else is CLUSTER_REPLY.
 */
enum cluster_redir cluster_redirect_parse(const char *err, size_t len,
		    const char *from, unsigned *slot, struct cluster_addr *to);

/* the redirections one call may follow, and its TRYAGAIN waits */
struct cluster_hops {
	unsigned	 hops;		/* MOVED and ASK followed so far */
	unsigned	 waits;		/* TRYAGAIN waited so far */
	unsigned	 max_hops;
	unsigned	 max_waits;
	int		 asking;	/* out: send ASKING before the retry */
	int		 moved;		/* out: a MOVED was seen (refresh) */
};

enum cluster_step {
	CLUSTER_DONE = 0,	/* the reply is the call's answer */
	CLUSTER_RETRY,		/* send again to *node (ASKING if asking) */
	CLUSTER_WAIT,		/* wait a moment, send again to *node */
	CLUSTER_FAIL		/* give up: too many hops, full, or down */
};

/*
 * cluster_next - the routing decision after a reply from node *node:
 * err is its error text or NULL for a plain reply. MOVED re-points the
 * slot in the map and sets h->moved; ASK sets h->asking for one send
 * (and the sends after a TRYAGAIN from that node: a half-migrated slot
 * is served by the importing node only with ASKING). *node is where to
 * send next.
 */
enum cluster_step cluster_next(struct cluster_map *, struct cluster_hops *h,
		    const char *err, size_t errlen, int *node);

/* cluster_send_fn - send the caller's command to map node `node` (ASKING
 * first when asking); its reply, or NULL with err when that failed */
typedef struct redisReply *cluster_send_fn(void *arg, int node, int asking,
		    char *err, size_t errlen);

/*
 * cluster_follow - send to node, then where the replies redirect
 * (cluster_next), waiting wait_ms between TRYAGAIN sends; the one loop
 * the store and redis_link share. lock (NULL: none) guards the map
 * around each decision; the send itself runs unlocked. CLUSTER_DONE:
 * *out is the answer. CLUSTER_FAIL: *out is the error reply given up on,
 * or NULL when a send failed (err filled). h->moved: read the map again.
 */
enum cluster_step cluster_follow(struct cluster_map *, pthread_mutex_t *lock,
		    struct cluster_hops *h, int node, unsigned wait_ms,
		    cluster_send_fn *send, void *arg, struct redisReply **out,
		    char *err, size_t errlen);

/* cluster_bad_fn - err for map node `node`'s CLUSTER SLOTS reply that did
 * not parse (why: cluster_map_parse's text) */
typedef void cluster_bad_fn(void *arg, int node, const char *why, char *err,
		    size_t errlen);

/*
 * cluster_refresh - the slot map from the first of map nodes 0..n-1 whose
 * CLUSTER SLOTS reply parses, the one loop the store and redis_link
 * share: send (its command CLUSTER SLOTS, asking 0) asks node i, NULL
 * with err to go on to the next. A reply that does not parse goes on
 * too, err made by bad (NULL: cluster_map_parse's text). The parse, and
 * *stale = 0 (stale NULL: none) when it worked, run under lock (NULL:
 * none); the send unlocked. 0, or -1 with the last node's err ("no
 * cluster node known" when n is 0).
 */
int		cluster_refresh(struct cluster_map *, pthread_mutex_t *lock,
		    size_t n, int *stale, cluster_send_fn *send,
		    cluster_bad_fn *bad, void *arg, char *err, size_t errlen);

#endif
