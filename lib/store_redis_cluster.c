/*
 * store_redis_cluster.c - the redis store on a Redis Cluster: one node
 * store (store_redis.c) per node of the slot map, made on first use; a
 * request is one EVALSHA per hash tag (scoped subjects first, the sender
 * last), routed by lib/cluster.c's slot map and its MOVED/ASK/TRYAGAIN
 * rule.
 *
 * Public: rs_cluster_new (through store_redis_new, cluster 1).
 *
 * Thread-safe: rc->lock guards the map, node[] and stale; rc->refresh
 * lets one thread at a time read CLUSTER SLOTS. The node stores are
 * thread-safe themselves and live as long as the cluster store.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "store.h"
#include "store_redis_int.h"

#define RC_MAX_HOPS	3	/* MOVED or ASK followed in one call */
#define RC_WAIT_MS	10	/* between TRYAGAIN sends */

struct rc_store {
	struct store		 base;		/* first: the interface */
	struct store_redis_opts	 o;		/* node options; host: seed */
	unsigned		 max_waits;	/* TRYAGAIN sends per call */
	pthread_mutex_t		 lock;		/* map, node[], stale */
	pthread_mutex_t		 refresh;	/* one CLUSTER SLOTS at a time */
	struct cluster_map	*map;
	struct redis_store	*node[CLUSTER_NODES_MAX]; /* by map index */
	int			 stale;		/* read the map before routing */
};

/* rc_node - the store of map node idx, made on first use; NULL + err */
static struct redis_store *
rc_node(struct rc_store *rc, int idx, char *err, size_t errlen)
{
	struct store_redis_opts o;
	struct redis_store *rs;

	pthread_mutex_lock(&rc->lock);
	if (rc->node[idx] == NULL) {
		o = rc->o;
		o.host = rc->map->node[idx].host;
		o.port = rc->map->node[idx].port;
		o.cluster = 0;
		rc->node[idx] = (struct redis_store *)store_redis_new(&o, err,
		    errlen);
	}
	rs = rc->node[idx];
	pthread_mutex_unlock(&rc->lock);
	return rs;
}

/* rc_stale - read the slot map again before the next call */
static void
rc_stale(struct rc_store *rc)
{
	pthread_mutex_lock(&rc->lock);
	rc->stale = 1;
	pthread_mutex_unlock(&rc->lock);
}

/* rc_slots - cluster_send_fn: CLUSTER SLOTS on map node `node` */
static redisReply *
rc_slots(void *arg, int node, int asking, char *err, size_t errlen)
{
	static const char *argv[2] = { "CLUSTER", "SLOTS" };
	static const size_t argvlen[2] = { 7, 5 };
	struct rc_store *rc = arg;
	struct redis_store *rs;
	struct rs_conn cn;
	redisReply *r;

	(void)asking;	/* 0: cluster_refresh never asks */
	if ((rs = rc_node(rc, node, err, errlen)) == NULL ||
	    rs_conn_get(rs, &cn, err, errlen) == -1)
		return NULL;
	/* NULL: the connection is freed already */
	if ((r = rs_conn_cmd(rs, &cn, "CLUSTER SLOTS", 2, argv, argvlen, err,
	    errlen)) != NULL)
		rs_conn_put(rs, &cn, 0);
	return r;
}

/* rc_bad - cluster_bad_fn: err names the node whose reply it was */
static void
rc_bad(void *arg, int node, const char *why, char *err, size_t errlen)
{
	/* rc_slots made the node's store: rc_node finds it, err untouched */
	rs_fail(rc_node(arg, node, err, errlen), err, errlen, "cluster", why);
}

/*
 * rc_refresh - the slot map from the first node that answers CLUSTER
 * SLOTS; when wait is 0 and another thread is at it, leave it to that
 * one. 0, or -1 with err.
 */
static int
rc_refresh(struct rc_store *rc, int wait, char *err, size_t errlen)
{
	size_t n;
	int rc2 = 0;	/* n 0: another thread just read it */

	if (wait)
		pthread_mutex_lock(&rc->refresh);
	else if (pthread_mutex_trylock(&rc->refresh) != 0)
		return 0;
	pthread_mutex_lock(&rc->lock);
	n = rc->stale ? rc->map->nnodes : 0;
	pthread_mutex_unlock(&rc->lock);
	if (n > 0)
		rc2 = cluster_refresh(rc->map, &rc->lock, n, &rc->stale,
		    rc_slots, rc_bad, rc, err, errlen);
	pthread_mutex_unlock(&rc->refresh);
	return rc2;
}

/* rc_route - the node serving a hash tag's slot; -1 with err */
static int
rc_route(struct rc_store *rc, const char *tag, char *err, size_t errlen)
{
	unsigned slot = cluster_keyslot(tag, strlen(tag));
	char why[64];
	int node, stale;

	pthread_mutex_lock(&rc->lock);
	stale = rc->stale;
	node = cluster_map_route(rc->map, slot);
	pthread_mutex_unlock(&rc->lock);
	if (!stale && node != -1)
		return node;
	if (rc_refresh(rc, node == -1, err, errlen) == -1 && node == -1)
		return -1;
	pthread_mutex_lock(&rc->lock);
	node = cluster_map_route(rc->map, slot);
	pthread_mutex_unlock(&rc->lock);
	if (node == -1) {
		snprintf(why, sizeof(why), "slot %u is served by no node", slot);
		return rs_fail(rc->node[0], err, errlen, "cluster", why);
	}
	return node;
}

/* one EVALSHA on the nodes cluster_follow picks */
struct rc_send {
	struct rc_store		*rc;
	struct rs_call		*cl;
	struct redis_store	*last;	/* the node that answered last */
};

/* rc_send - cluster_send_fn: the EVALSHA on map node `node` */
static redisReply *
rc_send(void *arg, int node, int asking, char *err, size_t errlen)
{
	struct rc_send *s = arg;
	redisReply *r;

	if ((s->last = rc_node(s->rc, node, err, errlen)) == NULL ||
	    rs_node_eval(s->last, s->cl, asking, &r, err, errlen) == -1)
		return NULL;
	return r;
}

/* rc_call - one EVALSHA under one hash tag, redirections followed */
static int
rc_call(struct rc_store *rc, const char *tag, struct rs_call *cl,
    redisReply **out, char *err, size_t errlen)
{
	struct rc_send s = { rc, cl, NULL };
	struct cluster_hops h;
	redisReply *r;
	int node;

	memset(&h, 0, sizeof(h));
	h.max_hops = RC_MAX_HOPS;
	h.max_waits = rc->max_waits;
	if ((node = rc_route(rc, tag, err, errlen)) == -1)
		return -1;
	if (cluster_follow(rc->map, &rc->lock, &h, node, RC_WAIT_MS, rc_send,
	    &s, &r, err, errlen) == CLUSTER_DONE) {
		if (h.moved)
			rc_stale(rc);
		*out = r;
		return 0;
	}
	rc_stale(rc);	/* a node down (failed over?), or given up */
	if (r != NULL) {
		rs_fail(s.last, err, errlen, "cluster", r->str);
		freeReplyObject(r);
	}
	return -1;
}

/*
 * rc_group - the call for the items of one scope ("": the sender's) in
 * the given commit mode; their outputs written back into req->items.
 */
static int
rc_group(struct rc_store *rc, const struct store_req *req, const char *scope,
    int commit, struct store_res *res, char *err, size_t errlen)
{
	struct store_item sub[STORE_MAX_ITEMS];
	size_t idx[STORE_MAX_ITEMS], n = 0, i;
	struct redis_store *proto = rc->node[0];
	struct store_req sr;
	struct rs_call call;
	redisReply *r;
	int rc2;

	for (i = 0; i < req->nitems; i++)
		if (strcmp(req->items[i].scope, scope) == 0) {
			idx[n] = i;
			sub[n++] = req->items[i];
		}
	sr = *req;
	sr.items = sub;
	sr.nitems = n;
	sr.commit = commit;
	/* a subject's own transaction key lives in its slot */
	rc2 = rs_call_build(proto, &sr, scope[0] != '\0' ? scope : NULL, &call,
	    err, errlen);
	call.wait = commit == STORE_COMMIT ? proto->wait_replicas : 0;
	if (rc2 == 0 && (rc2 = rc_call(rc, scope[0] ? scope : req->sender,
	    &call, &r, err, errlen)) == 0) {
		rc2 = rs_parse_reply(proto, r, &sr, res, err, errlen);
		freeReplyObject(r);
	}
	for (i = 0; rc2 == 0 && i < n; i++)
		req->items[idx[i]] = sub[i];
	return rc2;
}

/* rc_charge - one call per hash tag: scoped subjects first, sender last */
static int
rc_charge(struct store *st, const struct store_req *req,
    struct store_res *res, char *err, size_t errlen)
{
	struct rc_store *rc = (struct rc_store *)st;
	const char *scopes[STORE_MAX_ITEMS];
	size_t ns = 0, nsender = 0, i, k;
	struct store_res g;
	int refused = 0, owned = 0, mode;

	if (req->nitems > STORE_MAX_ITEMS)
		return rs_fail(rc->node[0], err, errlen, "refused",
		    "too many limits");
	for (i = 0; i < req->nitems; i++) {
		if (req->items[i].scope[0] == '\0') {
			nsender++;
			continue;
		}
		for (k = 0; k < ns; k++)
			if (strcmp(scopes[k], req->items[i].scope) == 0)
				break;
		if (k == ns)
			scopes[ns++] = req->items[i].scope;
	}
	memset(res, 0, sizeof(*res));
	memset(&g, 0, sizeof(g));
	for (k = 0; k < ns; k++) {
		if (rc_group(rc, req, scopes[k], req->commit, &g, err,
		    errlen) == -1)
			return -1;
		if (!g.allowed)
			refused = 1;
	}
	/* refused by the login's own doing? else (a domain's total, a copy)
	 * the sender's call records a refusal only for its own limits */
	for (i = 0; i < req->nitems; i++)
		if (req->items[i].scope[0] != '\0' && req->items[i].over &&
		    !req->items[i].soft && !req->items[i].on_refuse &&
		    !req->items[i].unowned)
			owned = 1;
	mode = !refused || req->commit == STORE_CHECK ? req->commit :
	    owned || req->commit == STORE_REFUSED ? STORE_REFUSED :
	    STORE_CHECK_RECORD;
	if (nsender > 0 || ns == 0) {
		if (rc_group(rc, req, "", mode, &g, err, errlen) == -1)
			return -1;
	}
	res->allowed = g.allowed && !refused;
	res->replayed = g.replayed;
	res->source = STORE_SRC_PRIMARY;
	return 0;
}

/* rc_reset - forget a sender's counters on the node serving its tag */
static int
rc_reset(struct store *st, const char *sender, char *err, size_t errlen)
{
	struct rc_store *rc = (struct rc_store *)st;
	struct redis_store *rs;
	int node;

	if (sender == NULL || !rs_hex_ok(sender, STORE_SENDER_MAX))
		return rs_fail(rc->node[0], err, errlen, "refused",
		    "the sender key is not 1 to 64 hex digits");
	if ((node = rc_route(rc, sender, err, errlen)) == -1 ||
	    (rs = rc_node(rc, node, err, errlen)) == NULL)
		return -1;
	return rs_reset(&rs->base, sender, err, errlen);
}

/* rc_free - every node's store, the map, the options */
static void
rc_free(struct store *st)
{
	struct rc_store *rc = (struct rc_store *)st;
	size_t i;

	for (i = 0; i < CLUSTER_NODES_MAX; i++)
		if (rc->node[i] != NULL)
			rs_free(&rc->node[i]->base);
	free(rc->map);
	pthread_mutex_destroy(&rc->lock);
	pthread_mutex_destroy(&rc->refresh);
	free(rc);
}

static const struct store_ops rc_ops = { rc_charge, rc_reset, rc_free };

/* rs_cluster_new - a cluster store seeded by o->host:o->port; NULL with err */
struct store *
rs_cluster_new(const struct store_redis_opts *o, char *err, size_t errlen)
{
	struct store_redis_opts seed = *o;
	struct rc_store *rc;

	if (o->unix_path != NULL) {
		snprintf(err, errlen, "redis: a cluster needs a TCP "
		    "redis_server (host:port of a node)");
		return NULL;
	}
	seed.cluster = 0;
	if ((rc = calloc(1, sizeof(*rc))) == NULL ||
	    (rc->map = malloc(sizeof(*rc->map))) == NULL) {
		free(rc);
		snprintf(err, errlen, "redis: %s", strerror(ENOMEM));
		return NULL;
	}
	rc->base.ops = &rc_ops;
	rc->base.kind = "redis";
	pthread_mutex_init(&rc->lock, NULL);
	pthread_mutex_init(&rc->refresh, NULL);
	cluster_map_init(rc->map);
	rc->stale = 1;
	rc->max_waits = o->command_timeout_ms / RC_WAIT_MS + 1;
	if ((rc->node[0] = (struct redis_store *)store_redis_new(&seed, err,
	    errlen)) == NULL) {
		rc_free(&rc->base);
		return NULL;
	}
	if (cluster_map_node(rc->map, o->host, o->port) != 0) {
		snprintf(err, errlen, "redis: cluster node name too long");
		rc_free(&rc->base);
		return NULL;
	}
	/* the nodes' options: strings owned by the seed's store */
	rc->o = seed;
	rc->o.host = NULL;
	rc->o.password = rc->node[0]->password;
	rc->o.username = rc->node[0]->username;
	rc->o.prefix = rc->node[0]->prefix;
	return &rc->base;
}
