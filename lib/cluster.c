/*
 * cluster.c - Redis Cluster without I/O: key slots, the slot map from
 * CLUSTER SLOTS, MOVED / ASK / TRYAGAIN replies, and what to do next.
 *
 * The store (store_redis_cluster.c) and redis_link.c own the
 * connections; this file decides, and cluster_follow and cluster_refresh
 * send through their function.
 * A slot is CRC16/XMODEM of the key modulo 16384; when the key holds a
 * '{' followed later by a '}' with at least one byte between them, only
 * those bytes are hashed (the first '{' and the first '}' after it; an
 * empty tag "{}" hashes the whole key), exactly as Redis's keyHashSlot.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "cluster.h"

/* cluster_crc16 - CRC16/XMODEM, bit by bit: keys are short */
uint16_t
cluster_crc16(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint16_t crc = 0;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) :
			    (uint16_t)(crc << 1);
	}
	return crc;
}

/* cluster_keyslot - the slot of a key, honouring a non-empty {hash tag} */
unsigned
cluster_keyslot(const char *key, size_t len)
{
	const char *open, *close;

	if ((open = memchr(key, '{', len)) != NULL) {
		size_t rest = len - (size_t)(open - key) - 1;

		close = memchr(open + 1, '}', rest);
		if (close != NULL && close > open + 1)
			return cluster_crc16(open + 1,
			    (size_t)(close - open - 1)) & (CLUSTER_SLOTS - 1);
	}
	return cluster_crc16(key, len) & (CLUSTER_SLOTS - 1);
}

/* cluster_map_init - an empty map: no node, no slot known */
void
cluster_map_init(struct cluster_map *m)
{
	memset(m, 0, sizeof(*m));
}

/* cluster_map_node - index of a node's address, added when new; -1 full */
int
cluster_map_node(struct cluster_map *m, const char *host, int port)
{
	size_t i;

	if (host[0] == '\0' || strlen(host) > CLUSTER_HOST_MAX || port < 1 ||
	    port > 65535)
		return -1;
	for (i = 0; i < m->nnodes; i++)
		if (m->node[i].port == port && strcmp(m->node[i].host,
		    host) == 0)
			return (int)i;
	if (m->nnodes == CLUSTER_NODES_MAX)
		return -1;
	snprintf(m->node[m->nnodes].host, sizeof(m->node[0].host), "%s", host);
	m->node[m->nnodes].port = port;
	return (int)m->nnodes++;
}

/* range_ok - one CLUSTER SLOTS entry: start, end, [host, port, ...] ... */
static int
range_ok(const redisReply *e)
{
	const redisReply *n;

	if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
	    e->element[0]->type != REDIS_REPLY_INTEGER ||
	    e->element[1]->type != REDIS_REPLY_INTEGER)
		return 0;
	if (e->element[0]->integer < 0 || e->element[1]->integer >=
	    CLUSTER_SLOTS || e->element[0]->integer > e->element[1]->integer)
		return 0;
	n = e->element[2];
	return n->type == REDIS_REPLY_ARRAY && n->elements >= 2 &&
	    n->element[0]->type == REDIS_REPLY_STRING &&
	    n->element[0]->len <= CLUSTER_HOST_MAX &&
	    strlen(n->element[0]->str) == n->element[0]->len &&
	    n->element[1]->type == REDIS_REPLY_INTEGER &&
	    n->element[1]->integer >= 1 && n->element[1]->integer <= 65535;
}

/* cluster_map_parse - the slot assignment from CLUSTER SLOTS; 0 or -1 */
int
cluster_map_parse(struct cluster_map *m, const struct redisReply *r,
    const char *asked, char *err, size_t errlen)
{
	struct cluster_map *t;
	const redisReply *n;
	const char *host;
	size_t i;
	long long s;
	int idx;

	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "CLUSTER SLOTS: %s", r->type ==
		    REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		return -1;
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		snprintf(err, errlen, "CLUSTER SLOTS: out of memory");
		return -1;
	}
	memcpy(t, m, sizeof(*t));
	memset(t->slot, 0, sizeof(t->slot));
	for (i = 0; i < r->elements; i++) {
		if (!range_ok(r->element[i])) {
			snprintf(err, errlen, "CLUSTER SLOTS: range %zu is "
			    "malformed", i);
			free(t);
			return -1;
		}
		n = r->element[i]->element[2];
		host = n->element[0]->len > 0 && strcmp(n->element[0]->str,
		    "?") != 0 ? n->element[0]->str : asked;
		if ((idx = cluster_map_node(t, host,
		    (int)n->element[1]->integer)) == -1) {
			snprintf(err, errlen, "CLUSTER SLOTS: more than %d "
			    "nodes, or a bad address", CLUSTER_NODES_MAX);
			free(t);
			return -1;
		}
		for (s = r->element[i]->element[0]->integer;
		    s <= r->element[i]->element[1]->integer; s++)
			t->slot[s] = (uint8_t)(idx + 1);
	}
	memcpy(m, t, sizeof(*t));
	free(t);
	return 0;
}

/* cluster_map_route - the node index serving a slot, or -1 when unknown */
int
cluster_map_route(const struct cluster_map *m, unsigned slot)
{
	if (slot >= CLUSTER_SLOTS || m->slot[slot] == 0)
		return -1;
	return m->slot[slot] - 1;
}

/* parse_target - "<slot> <host>:<port>" after MOVED/ASK; 0 or -1 */
static int
parse_target(const char *s, size_t len, const char *from, unsigned *slot,
    struct cluster_addr *to)
{
	char buf[CLUSTER_HOST_MAX + 32], *sp, *colon, *end;
	const char *host;
	unsigned long v;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtoul(buf, &end, 10);
	if (end == buf || *end != ' ' || v >= CLUSTER_SLOTS)
		return -1;
	*slot = (unsigned)v;
	sp = end + 1;
	/* the port follows the last colon: IPv6 addresses hold colons */
	if ((colon = strrchr(sp, ':')) == NULL)
		return -1;
	*colon = '\0';
	v = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	host = sp[0] != '\0' ? sp : from;
	if (host == NULL || host[0] == '\0' || strlen(host) >
	    CLUSTER_HOST_MAX || strchr(host, ' ') != NULL)
		return -1;
	snprintf(to->host, sizeof(to->host), "%s", host);
	to->port = (int)v;
	return 0;
}

/* cluster_redirect_parse - MOVED, ASK, TRYAGAIN, CLUSTERDOWN, or a reply */
enum cluster_redir
cluster_redirect_parse(const char *err, size_t len, const char *from,
    unsigned *slot, struct cluster_addr *to)
{
	if (len > 6 && memcmp(err, "MOVED ", 6) == 0)
		return parse_target(err + 6, len - 6, from, slot, to) == 0 ?
		    CLUSTER_MOVED : CLUSTER_REPLY;
	if (len > 4 && memcmp(err, "ASK ", 4) == 0)
		return parse_target(err + 4, len - 4, from, slot, to) == 0 ?
		    CLUSTER_ASK : CLUSTER_REPLY;
	if (len >= 8 && memcmp(err, "TRYAGAIN", 8) == 0)
		return CLUSTER_TRYAGAIN;
	if (len >= 11 && memcmp(err, "CLUSTERDOWN", 11) == 0)
		return CLUSTER_DOWN;
	return CLUSTER_REPLY;
}

/* cluster_next - the routing decision after one reply from *node */
enum cluster_step
cluster_next(struct cluster_map *m, struct cluster_hops *h, const char *err,
    size_t errlen, int *node)
{
	struct cluster_addr to;
	const char *from;
	unsigned slot;
	int idx, asked = h->asking;

	h->asking = 0;
	if (err == NULL)
		return CLUSTER_DONE;
	from = *node >= 0 && (size_t)*node < m->nnodes ? m->node[*node].host :
	    NULL;
	switch (cluster_redirect_parse(err, errlen, from, &slot, &to)) {
	case CLUSTER_REPLY:
		return CLUSTER_DONE;
	case CLUSTER_DOWN:
		return CLUSTER_FAIL;
	case CLUSTER_TRYAGAIN:
		if (h->waits >= h->max_waits)
			return CLUSTER_FAIL;
		h->waits++;
		h->asking = asked;	/* the importing node needs it again */
		return CLUSTER_WAIT;
	case CLUSTER_MOVED:
	case CLUSTER_ASK:
		break;
	}
	if (h->hops >= h->max_hops ||
	    (idx = cluster_map_node(m, to.host, to.port)) == -1)
		return CLUSTER_FAIL;
	h->hops++;
	if (strncmp(err, "MOVED", 5) == 0) {
		m->slot[slot] = (uint8_t)(idx + 1);
		h->moved = 1;
	} else
		h->asking = 1;
	*node = idx;
	return CLUSTER_RETRY;
}

/* cluster_follow - send, then follow the redirections */
enum cluster_step
cluster_follow(struct cluster_map *m, pthread_mutex_t *lock,
    struct cluster_hops *h, int node, unsigned wait_ms,
    cluster_send_fn *send, void *arg, struct redisReply **out, char *err,
    size_t errlen)
{
	struct timespec pause = { (time_t)(wait_ms / 1000),
	    (long)(wait_ms % 1000) * 1000000L };
	enum cluster_step step;
	redisReply *r;

	for (;;) {
		if ((r = send(arg, node, h->asking, err, errlen)) == NULL) {
			*out = NULL;
			return CLUSTER_FAIL;
		}
		if (lock != NULL)
			pthread_mutex_lock(lock);
		step = cluster_next(m, h, r->type == REDIS_REPLY_ERROR ?
		    r->str : NULL, r->len, &node);
		if (lock != NULL)
			pthread_mutex_unlock(lock);
		if (step == CLUSTER_DONE || step == CLUSTER_FAIL) {
			*out = r;
			return step;
		}
		freeReplyObject(r);
		if (step == CLUSTER_WAIT)
			nanosleep(&pause, NULL);
	}
}

/* cluster_refresh - the slot map from the first node answering CLUSTER
 * SLOTS with a map */
int
cluster_refresh(struct cluster_map *m, pthread_mutex_t *lock, size_t n,
    int *stale, cluster_send_fn *send, cluster_bad_fn *bad, void *arg,
    char *err, size_t errlen)
{
	redisReply *r;
	char why[256];
	size_t i;
	int rc = -1;

	if (n == 0)
		snprintf(err, errlen, "no cluster node known");
	for (i = 0; i < n && rc == -1; i++) {
		if ((r = send(arg, (int)i, 0, err, errlen)) == NULL)
			continue;
		if (lock != NULL)
			pthread_mutex_lock(lock);
		/* without bad, the parse's text is err as it stands */
		rc = cluster_map_parse(m, r, m->node[i].host, bad != NULL ? why :
		    err, bad != NULL ? sizeof(why) : errlen);
		if (rc == 0 && stale != NULL)
			*stale = 0;
		if (lock != NULL)
			pthread_mutex_unlock(lock);
		if (rc == -1 && bad != NULL)
			bad(arg, (int)i, why, err, errlen);
		freeReplyObject(r);
	}
	return rc;
}
