/*
 * sentinel.c - finding the Redis primary through Redis Sentinel.
 *
 * Public: sentinel_parse_list, sentinel_master_reply, sentinel_role_master,
 * sentinel_due, sentinel_addr_text, sentinel_discover.
 *
 * The parsers take no I/O (a list as written in sluice.conf, replies as
 * hiredis built them) so the unit tests feed them anything. Only
 * sentinel_discover talks to the network: it asks each sentinel in the
 * order given "SENTINEL get-master-addr-by-name NAME" on a connection of
 * its own, closed at once, and returns the first address given. The
 * caller confirms that address with ROLE on its own connections (a
 * sentinel's view can lag behind a failover) and decides how often to
 * ask (sentinel_due).
 *
 * Thread-safe: no state; the caller owns every buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "redis_conn.h"
#include "sentinel.h"

/* one_addr - "host:port" or "[v6]:port", len bytes of s; 0 or -1 */
static int
one_addr(const char *s, size_t len, struct sentinel_addr *a, char *err,
    size_t errlen)
{
	const char *host = s, *hend, *colon, *end = s + len, *p;
	long port = 0;
	size_t hl;

	if (s[0] == '[') {
		host = s + 1;
		hend = memchr(host, ']', len - 1);
		if (hend == NULL || hend + 1 >= end || hend[1] != ':')
			goto bad;
		colon = hend + 1;
	} else {
		colon = memchr(s, ':', len);
		if (colon == NULL || memchr(colon + 1, ':', (size_t)(end -
		    colon - 1)) != NULL)
			goto bad;
		hend = colon;
	}
	hl = (size_t)(hend - host);
	if (hl == 0 || hl > SENTINEL_HOST_MAX || colon + 1 == end ||
	    end - colon > 6)
		goto bad;
	for (p = colon + 1; p < end; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535)
		goto bad;
	memcpy(a->host, host, hl);
	a->host[hl] = '\0';
	a->port = (int)port;
	return 0;
bad:
	snprintf(err, errlen, "expected host:port or [address]:port with a "
	    "port from 1 to 65535, got \"%.*s\"", (int)(len > 80 ? 80 : len),
	    s);
	return -1;
}

/* sentinel_parse_list - "host:port, [v6]:port ..." into out; count or -1 */
int
sentinel_parse_list(const char *v, struct sentinel_addr *out, size_t max,
    char *err, size_t errlen)
{
	static const char sep[] = ", \t";
	size_t n = 0, len;

	for (;;) {
		v += strspn(v, sep);
		if (*v == '\0')
			break;
		len = strcspn(v, sep);
		if (n == max) {
			snprintf(err, errlen, "more than %zu sentinels", max);
			return -1;
		}
		if (one_addr(v, len, &out[n], err, errlen) == -1)
			return -1;
		n++;
		v += len;
	}
	if (n == 0) {
		snprintf(err, errlen, "no sentinel given");
		return -1;
	}
	return (int)n;
}

/* sentinel_master_reply - a get-master-addr-by-name reply: 1 address,
 * 0 master unknown (nil), -1 garbled */
int
sentinel_master_reply(const redisReply *r, struct sentinel_addr *a)
{
	const redisReply *h, *p;
	char buf[8];

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return -1;
	h = r->element[0];
	p = r->element[1];
	if (h == NULL || p == NULL || h->type != REDIS_REPLY_STRING ||
	    p->type != REDIS_REPLY_STRING || h->len == 0 ||
	    h->len > SENTINEL_HOST_MAX || memchr(h->str, '\0', h->len) !=
	    NULL || p->len == 0 || p->len > 5)
		return -1;
	memcpy(buf, p->str, p->len);
	buf[p->len] = '\0';
	if (strspn(buf, "0123456789") != p->len || atoi(buf) < 1 ||
	    atoi(buf) > 65535)
		return -1;
	memcpy(a->host, h->str, h->len);
	a->host[h->len] = '\0';
	a->port = atoi(buf);
	return 1;
}

/* sentinel_role_master - does a ROLE reply say "master"? */
int
sentinel_role_master(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0] != NULL && (r->element[0]->type ==
	    REDIS_REPLY_STRING || r->element[0]->type == REDIS_REPLY_STATUS) &&
	    r->element[0]->len == 6 && memcmp(r->element[0]->str, "master",
	    6) == 0;
}

/* sentinel_due - may we ask the sentinels again, last asked at last_ms? */
int
sentinel_due(uint64_t now_ms, uint64_t last_ms, uint64_t every_ms)
{
	return last_ms == 0 || now_ms < last_ms || now_ms - last_ms >=
	    every_ms;
}

/* sentinel_addr_text - "host:port" or "[v6]:port" into out */
const char *
sentinel_addr_text(const struct sentinel_addr *a, char *out, size_t outlen)
{
	int v6 = strchr(a->host, ':') != NULL;

	snprintf(out, outlen, "%s%s%s:%d", v6 ? "[" : "", a->host,
	    v6 ? "]" : "", a->port);
	return out;
}

/* ask_one - one sentinel's answer: 1 address, 0 unknown, -1 with why */
static int
ask_one(const struct sentinel_opts *o, const struct sentinel_addr *s,
    struct sentinel_addr *a, char *why, size_t whylen)
{
	struct redis_conn_opts co;
	const char *what;
	char e[160];
	redisContext *c;
	redisReply *r;
	int rc = -1;

	memset(&co, 0, sizeof(co));
	co.host = s->host;
	co.port = s->port;
	co.password = o->password;
	co.connect_timeout_ms = co.command_timeout_ms = o->timeout_ms;
	if ((c = redis_conn_open(&co, &what, e, sizeof(e))) == NULL) {
		if (strcmp(what, "connect") == 0)
			snprintf(why, whylen, "%s", e);
		else
			snprintf(why, whylen, "%s: %.140s", what, e);
		return -1;
	}
	r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", o->master);
	if (r == NULL)
		snprintf(why, whylen, "%s", c->errstr);
	else if (r->type == REDIS_REPLY_ERROR)
		snprintf(why, whylen, "%s", r->str);
	else if ((rc = sentinel_master_reply(r, a)) == 0)
		snprintf(why, whylen, "does not know master %s", o->master);
	else if (rc == -1)
		snprintf(why, whylen, "unexpected reply");
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return rc;
}

/* sentinel_discover - ask each sentinel in turn for the primary; 0 with
 * *a filled, -1 with err naming what the last sentinel said */
int
sentinel_discover(const struct sentinel_opts *o, struct sentinel_addr *a,
    char *err, size_t errlen)
{
	char why[160], at[SENTINEL_HOST_MAX + 10];
	size_t i;

	snprintf(err, errlen, "no sentinel configured");
	for (i = 0; i < o->nsentinels; i++) {
		if (ask_one(o, &o->sentinels[i], a, why, sizeof(why)) == 1)
			return 0;
		snprintf(err, errlen, "no sentinel answered for %s (%zu "
		    "asked; last, %s: %s)", o->master, i + 1,
		    sentinel_addr_text(&o->sentinels[i], at, sizeof(at)), why);
	}
	return -1;
}
