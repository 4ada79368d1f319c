/*
 * redis_link.h - a single-threaded link to "the" Redis of a config,
 * whatever its shape: one server (TCP or unix), the primary found through
 * Sentinel (asked again at each connect, ROLE checked), or a Redis
 * Cluster (each command routed to the node serving its key's slot, the
 * slot map read with CLUSTER SLOTS and read again after a MOVED, ASK and
 * TRYAGAIN followed by lib/cluster.c's rule). Used by the daemon's
 * control channel and by sluicectl; the store has its own pools.
 */
#ifndef SLUICE_REDIS_LINK_H
#define SLUICE_REDIS_LINK_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "redis_conn.h"

struct config;

struct redis_link_opts {
	struct redis_conn_opts conn;	/* the server, or the cluster seed
					   (host, port); role_check ignored */
	int		 cluster;	/* redis_cluster yes */
	const char	*sentinels;	/* "host:port, ..." or NULL */
	const char	*master;	/* the name the sentinels monitor */
	const char	*sentinel_password;	/* or NULL */
};

struct redis_link;

/*
 * redis_link_opts_config - the options a config says (the strings and
 * the secrets are borrowed: they must outlive the link)
 */
void		 redis_link_opts_config(const struct config *,
		    const char *password, const char *sentinel_password,
		    unsigned command_timeout_ms, struct redis_link_opts *);

/* redis_link_new - a link, not yet connected (borrows o's strings);
 * NULL: out of memory */
struct redis_link *redis_link_new(const struct redis_link_opts *);

/*
 * redis_link_connect - connect (Sentinel: ask for the primary; Cluster:
 * read the slot map). 0, or -1 with err naming the step that failed.
 */
int		 redis_link_connect(struct redis_link *, char *err,
		    size_t errlen);

/* redis_link_where - "redis host:port", "redis master NAME at host:port",
 * "redis cluster host:port", for messages */
const char	*redis_link_where(const struct redis_link *);

/*
 * redis_link_sub - a new connection of the caller's for SUBSCRIBE (the
 * primary; in a Cluster, any node: PUBLISH reaches every node); NULL +
 * err. After redis_link_connect.
 */
redisContext	*redis_link_sub(struct redis_link *, char *err, size_t errlen);

/*
 * redis_link_cmdv - one command, sent where key lives (key NULL: any
 * node); the reply is the caller's, an error reply included. NULL with
 * err when a connection failed (the link is closed: connect again).
 */
redisReply	*redis_link_cmdv(struct redis_link *, const char *key,
		    int argc, const char **argv, const size_t *argvlen,
		    char *err, size_t errlen);

/* redis_link_nodes - how many primaries (1 unless a Cluster) */
size_t		 redis_link_nodes(struct redis_link *);

/* redis_link_node_cmdv - one command on the i-th primary (SCAN each) */
redisReply	*redis_link_node_cmdv(struct redis_link *, size_t i,
		    int argc, const char **argv, const size_t *argvlen,
		    char *err, size_t errlen);

/*
 * redis_link_append - queue one command (pipelined on one server; in a
 * Cluster sent at once, its redirections followed); 0, or -1 with err.
 * redis_link_reply - the oldest queued command's reply; NULL with err
 * when a connection failed.
 */
int		 redis_link_append(struct redis_link *, const char *key,
		    int argc, const char **argv, const size_t *argvlen,
		    char *err, size_t errlen);
redisReply	*redis_link_reply(struct redis_link *, char *err,
		    size_t errlen);

/* redis_link_close - drop the connections (connect again later) */
void		 redis_link_close(struct redis_link *);

/* redis_link_free - close and free */
void		 redis_link_free(struct redis_link *);

#endif
