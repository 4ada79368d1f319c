/*
 * redis_link.c - one link to the Redis of a config: a server, the
 * primary behind Sentinel, or a Redis Cluster (redis_link.h).
 *
 * Public: redis_link_opts_config, redis_link_new, redis_link_connect,
 * redis_link_where, redis_link_sub, redis_link_cmdv, redis_link_nodes,
 * redis_link_node_cmdv, redis_link_append, redis_link_reply,
 * redis_link_close, redis_link_free.
 *
 * Connections are opened by redis_conn_open (timeouts, close-on-exec,
 * AUTH, ROLE behind Sentinel), the primary is found by
 * sentinel_discover, and a Cluster's slots and redirections follow
 * lib/cluster.c (cluster_refresh, cluster_follow), as the store's
 * Cluster code does with its pools.
 *
 * Memory: the link owns its connections and slot map, and borrows the
 * strings of its options. Not thread-safe: one thread uses a link.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "config.h"
#include "redis_link.h"
#include "sentinel.h"

#define LINK_MAX_HOPS	3	/* MOVED or ASK followed in one command */
#define LINK_WAIT_MS	10	/* between TRYAGAIN sends */

/* a pipelined command: sent on the one connection, or (a Cluster) done
 * at once, its reply kept: a redirection there is followed on the spot */
struct pend {
	redisReply	*r;		/* a Cluster's reply, or NULL */
	int		 failed;	/* a Cluster's command failed */
	char		 err[256];
};

struct redis_link {
	struct redis_link_opts o;
	char		 where[SENTINEL_HOST_MAX + 2 * SENTINEL_NAME_MAX];
	struct sentinel_addr at;	/* the primary the sentinels named */
	redisContext	*c;		/* not a Cluster */
	struct cluster_map *map;	/* a Cluster */
	redisContext	*node[CLUSTER_NODES_MAX];	/* by map index */
	int		 prim[CLUSTER_NODES_MAX];	/* nodes serving slots */
	size_t		 nprim;
	int		 stale;		/* read the slot map before routing */
	struct pend	*q;		/* pipelined commands, oldest first */
	size_t		 qhead, qlen, qcap;
};

/* redis_link_opts_config - a config's Redis settings as link options */
void
redis_link_opts_config(const struct config *cfg, const char *password,
    const char *sentinel_password, unsigned command_timeout_ms,
    struct redis_link_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->conn.host = cfg->redis_host;
	o->conn.port = cfg->redis_port;
	o->conn.unix_path = cfg->redis_socket;
	o->conn.username = cfg->redis_username;
	o->conn.password = password;
	o->conn.connect_timeout_ms = cfg->redis_connect_timeout_ms;
	o->conn.command_timeout_ms = command_timeout_ms;
	o->cluster = cfg->redis_cluster;
	o->sentinels = cfg->redis_sentinels;
	o->master = cfg->redis_sentinel_master;
	o->sentinel_password = sentinel_password;
}

/* redis_link_new - an unconnected link */
struct redis_link *
redis_link_new(const struct redis_link_opts *o)
{
	struct redis_link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->o = *o;
	l->o.conn.role_check = 0;
	if (o->cluster && (l->map = malloc(sizeof(*l->map))) == NULL) {
		free(l);
		return NULL;
	}
	if (l->map != NULL)
		cluster_map_init(l->map);
	l->stale = 1;
	if (o->sentinels != NULL)
		snprintf(l->where, sizeof(l->where), "redis master %.64s",
		    o->master);
	else if (o->conn.unix_path != NULL)
		snprintf(l->where, sizeof(l->where), "redis unix:%.200s",
		    o->conn.unix_path);
	else if (o->conn.host != NULL)
		snprintf(l->where, sizeof(l->where), strchr(o->conn.host, ':') ?
		    "redis %s[%.200s]:%d" : "redis %s%.200s:%d", o->cluster ?
		    "cluster " : "", o->conn.host, o->conn.port);
	else
		snprintf(l->where, sizeof(l->where), "redis (no server)");
	return l;
}

/* open_at - a connection to host:port with the link's options */
static redisContext *
open_at(const struct redis_link *l, const char *host, int port, int role,
    char *err, size_t errlen)
{
	struct redis_conn_opts o = l->o.conn;
	const char *what;
	char why[400];
	redisContext *c;

	o.host = host;
	o.port = port;
	o.unix_path = host == NULL ? l->o.conn.unix_path : NULL;
	o.role_check = role;
	if ((c = redis_conn_open(&o, &what, why, sizeof(why))) == NULL)
		snprintf(err, errlen, "%s: %s", what, why);
	return c;
}

/* discover - where the sentinels say the primary is; 0 or -1 + err */
static int
discover(struct redis_link *l, char *err, size_t errlen)
{
	struct sentinel_addr sl[SENTINEL_MAX];
	struct sentinel_opts so;
	char at[SENTINEL_HOST_MAX + 10], why[400];
	int n;

	if ((n = sentinel_parse_list(l->o.sentinels, sl, SENTINEL_MAX, why,
	    sizeof(why))) == -1) {
		snprintf(err, errlen, "sentinels: %s", why);
		return -1;
	}
	memset(&so, 0, sizeof(so));
	so.sentinels = sl;
	so.nsentinels = (size_t)n;
	so.master = l->o.master;
	so.password = l->o.sentinel_password;
	so.timeout_ms = l->o.conn.connect_timeout_ms;
	if (sentinel_discover(&so, &l->at, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "sentinels: %s", why);
		return -1;
	}
	snprintf(l->where, sizeof(l->where), "redis master %.64s at %s",
	    l->o.master, sentinel_addr_text(&l->at, at, sizeof(at)));
	return 0;
}

/* node_ctx - map node i's connection, opened on first use; NULL + err */
static redisContext *
node_ctx(struct redis_link *l, int i, char *err, size_t errlen)
{
	if (l->node[i] == NULL)
		l->node[i] = open_at(l, l->map->node[i].host,
		    l->map->node[i].port, 0, err, errlen);
	return l->node[i];
}

/* node_send - one command on map node i (ASKING first if asked); NULL +
 * err when its connection failed (then dropped) */
static redisReply *
node_send(struct redis_link *l, int i, int asking, int argc,
    const char **argv, const size_t *argvlen, char *err, size_t errlen)
{
	redisContext *c;
	redisReply *r = NULL;
	int e;

	if ((c = node_ctx(l, i, err, errlen)) == NULL)
		return NULL;
	errno = 0;
	if (asking && (r = redisCommand(c, "ASKING")) != NULL) {
		freeReplyObject(r);
		r = redisCommandArgv(c, argc, argv, argvlen);
	} else if (!asking)
		r = redisCommandArgv(c, argc, argv, argvlen);
	e = errno;
	if (r == NULL) {
		redis_conn_why(c, e, argv[0], l->o.conn.command_timeout_ms,
		    err, errlen);
		redisFree(c);
		l->node[i] = NULL;
	}
	return r;
}

/* primaries - the nodes the slot map gives slots to */
static void
primaries(struct redis_link *l)
{
	int seen[CLUSTER_NODES_MAX] = { 0 };
	size_t s;
	int i;

	l->nprim = 0;
	for (s = 0; s < CLUSTER_SLOTS; s++)
		if ((i = cluster_map_route(l->map, (unsigned)s)) != -1 &&
		    !seen[i]) {
			seen[i] = 1;
			l->prim[l->nprim++] = i;
		}
}

/* one command on the nodes cluster_follow and cluster_refresh pick */
struct link_send {
	struct redis_link *l;
	int		 argc;
	const char	**argv;
	const size_t	*argvlen;
};

/* link_send - cluster_send_fn: the command on map node `node` */
static redisReply *
link_send(void *arg, int node, int asking, char *err, size_t errlen)
{
	struct link_send *s = arg;

	return node_send(s->l, node, asking, s->argc, s->argv, s->argvlen,
	    err, errlen);
}

/* refresh - the slot map from the first node answering CLUSTER SLOTS */
static int
refresh(struct redis_link *l, char *err, size_t errlen)
{
	static const char *argv[2] = { "CLUSTER", "SLOTS" };
	static const size_t argvlen[2] = { 7, 5 };
	struct link_send s = { l, 2, argv, argvlen };

	if (cluster_refresh(l->map, NULL, l->map->nnodes, &l->stale,
	    link_send, NULL, &s, err, errlen) == -1)
		return -1;
	primaries(l);
	return 0;
}

/* redis_link_connect - connect as the options say */
int
redis_link_connect(struct redis_link *l, char *err, size_t errlen)
{
	redis_link_close(l);
	if (l->map != NULL) {
		if (l->o.conn.unix_path != NULL || l->o.conn.host == NULL) {
			snprintf(err, errlen, "a cluster needs a TCP "
			    "redis_server (host:port of a node)");
			return -1;
		}
		if (cluster_map_node(l->map, l->o.conn.host,
		    l->o.conn.port) == -1) {
			snprintf(err, errlen, "cluster node name too long");
			return -1;
		}
		return refresh(l, err, errlen);
	}
	if (l->o.sentinels != NULL) {
		if (discover(l, err, errlen) == -1)
			return -1;
		l->c = open_at(l, l->at.host, l->at.port, 1, err, errlen);
	} else
		l->c = open_at(l, l->o.conn.host, l->o.conn.port, 0, err,
		    errlen);
	return l->c != NULL ? 0 : -1;
}

/* redis_link_where - where the link goes, for messages */
const char *
redis_link_where(const struct redis_link *l)
{
	return l->where;
}

/* redis_link_sub - a connection for SUBSCRIBE */
redisContext *
redis_link_sub(struct redis_link *l, char *err, size_t errlen)
{
	int i;

	if (l->map == NULL)
		return l->o.sentinels != NULL ? open_at(l, l->at.host,
		    l->at.port, 1, err, errlen) : open_at(l, l->o.conn.host,
		    l->o.conn.port, 0, err, errlen);
	i = l->nprim > 0 ? l->prim[0] : 0;
	return open_at(l, l->map->node[i].host, l->map->node[i].port, 0, err,
	    errlen);
}

/* one_cmdv - a command on the one connection; NULL + err closes it */
static redisReply *
one_cmdv(struct redis_link *l, int argc, const char **argv,
    const size_t *argvlen, char *err, size_t errlen)
{
	redisReply *r;
	int e;

	if (l->c == NULL) {
		snprintf(err, errlen, "not connected");
		return NULL;
	}
	errno = 0;
	r = redisCommandArgv(l->c, argc, argv, argvlen);
	e = errno;
	if (r == NULL) {
		redis_conn_why(l->c, e, argv[0], l->o.conn.command_timeout_ms,
		    err, errlen);
		redis_link_close(l);
	}
	return r;
}

/* cluster_cmdv - a command routed by its key's slot, redirections
 * followed; an error reply that is not one is the caller's */
static redisReply *
cluster_cmdv(struct redis_link *l, const char *key, int argc,
    const char **argv, const size_t *argvlen, char *err, size_t errlen)
{
	struct link_send s = { l, argc, argv, argvlen };
	struct cluster_hops h;
	redisReply *r;
	int node;

	memset(&h, 0, sizeof(h));
	h.max_hops = LINK_MAX_HOPS;
	h.max_waits = l->o.conn.command_timeout_ms / LINK_WAIT_MS + 1;
	if (l->stale && refresh(l, err, errlen) == -1)
		return NULL;
	node = key != NULL ? cluster_map_route(l->map,
	    cluster_keyslot(key, strlen(key))) : l->nprim > 0 ? l->prim[0] : -1;
	if (node == -1) {
		snprintf(err, errlen, "no cluster node serves the slot of %s",
		    key != NULL ? key : "any key");
		l->stale = 1;
		return NULL;
	}
	if (cluster_follow(l->map, NULL, &h, node, LINK_WAIT_MS, link_send,
	    &s, &r, err, errlen) != CLUSTER_DONE || h.moved)
		l->stale = 1;	/* a node down (failed over?), given up, moved */
	return r;	/* given up: the error reply is the caller's */
}

/* redis_link_cmdv - one command where its key lives */
redisReply *
redis_link_cmdv(struct redis_link *l, const char *key, int argc,
    const char **argv, const size_t *argvlen, char *err, size_t errlen)
{
	if (l->map != NULL)
		return cluster_cmdv(l, key, argc, argv, argvlen, err, errlen);
	return one_cmdv(l, argc, argv, argvlen, err, errlen);
}

/* redis_link_nodes - primaries to visit for a whole-keyspace command */
size_t
redis_link_nodes(struct redis_link *l)
{
	return l->map != NULL ? l->nprim : 1;
}

/* redis_link_node_cmdv - one command on the i-th primary */
redisReply *
redis_link_node_cmdv(struct redis_link *l, size_t i, int argc,
    const char **argv, const size_t *argvlen, char *err, size_t errlen)
{
	redisReply *r;

	if (l->map == NULL)
		return one_cmdv(l, argc, argv, argvlen, err, errlen);
	if (i >= l->nprim) {
		snprintf(err, errlen, "no cluster node %zu", i);
		return NULL;
	}
	if ((r = node_send(l, l->prim[i], 0, argc, argv, argvlen, err,
	    errlen)) == NULL)
		l->stale = 1;
	return r;
}

/* redis_link_append - queue one command; its reply comes, in order, from
 * redis_link_reply */
int
redis_link_append(struct redis_link *l, const char *key, int argc,
    const char **argv, const size_t *argvlen, char *err, size_t errlen)
{
	struct pend *p, *nq;

	if (l->qhead + l->qlen == l->qcap) {
		if ((nq = realloc(l->q, (l->qcap * 2 + 16) * sizeof(*nq))) ==
		    NULL) {
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return -1;
		}
		l->q = nq;
		l->qcap = l->qcap * 2 + 16;
	}
	p = &l->q[l->qhead + l->qlen];
	memset(p, 0, sizeof(*p));
	if (l->map != NULL) {
		p->r = cluster_cmdv(l, key, argc, argv, argvlen, p->err,
		    sizeof(p->err));
		p->failed = p->r == NULL;
	} else if (l->c == NULL || redisAppendCommandArgv(l->c, argc, argv,
	    argvlen) != REDIS_OK) {
		snprintf(err, errlen, "%s", l->c == NULL ? "not connected" :
		    strerror(ENOMEM));
		return -1;
	}
	l->qlen++;
	return 0;
}

/* redis_link_reply - the reply of the oldest queued command */
redisReply *
redis_link_reply(struct redis_link *l, char *err, size_t errlen)
{
	struct pend *p;
	void *r = NULL;

	if (l->qlen == 0) {
		snprintf(err, errlen, "no reply queued");
		return NULL;
	}
	p = &l->q[l->qhead++];
	if (--l->qlen == 0)
		l->qhead = 0;
	if (l->map != NULL) {
		if (p->failed)
			snprintf(err, errlen, "%s", p->err);
		return p->r;
	}
	if (l->c == NULL || redisGetReply(l->c, &r) != REDIS_OK) {
		snprintf(err, errlen, "%s", l->c != NULL && l->c->errstr[0] ?
		    l->c->errstr : "connection lost");
		return NULL;
	}
	return r;
}

/* redis_link_close - drop every connection */
void
redis_link_close(struct redis_link *l)
{
	size_t i;

	for (i = 0; i < l->qlen; i++)
		if (l->q[l->qhead + i].r != NULL)
			freeReplyObject(l->q[l->qhead + i].r);
	l->qhead = l->qlen = 0;

	redisFree(l->c);	/* NULL: nothing */
	l->c = NULL;
	for (i = 0; i < CLUSTER_NODES_MAX; i++) {
		redisFree(l->node[i]);
		l->node[i] = NULL;
	}
	l->stale = 1;
}

/* redis_link_free - close and free */
void
redis_link_free(struct redis_link *l)
{
	if (l == NULL)
		return;
	redis_link_close(l);
	free(l->q);
	free(l->map);
	free(l);
}
