/*
 * ctl_sock.c - sluicectl with the memory store: the daemon's control
 * socket (control_socket), protocol SLUICECTL/1 (lib/ctlproto.c,
 * doc/embedded-store.md).
 *
 * The views (status, top, show) read the store through the handful of
 * Redis reads they make anyway (TIME, HGETALL of a counter or lockinfo,
 * GET who, SCAN, ZRANGEBYSCORE P:locked, HGET P:classes): with a socket,
 * ctl_sock_cmd answers those from the daemon's replies, built here as
 * hiredis replies, so one rendering serves both stores and the text and
 * --json are the same. A counter comes back as one bucket (its newest
 * live index) holding its live count: what ctl_live_sum needs. The
 * writes (lock, unlock, reset, class) are one request each
 * (ctl_sock_call).
 * One request per connection; every failure exits 3 with one line.
 * Single-threaded.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"
#include "sluicectl.h"

#define SOCK_TIMEOUT_MS	10000	/* a reply from a busy daemon */
#define BUSY_TRIES	40	/* asks while the daemon says "busy": 4 s,
				   beyond its 2 s for a silent client */
#define BUSY_PAUSE_MS	100	/* between them */

/* what one subject's (or one listing's) series replies held */
struct sock_series {
	char		 subject[65], name[17], sub[33];
	uint32_t	 window, buckets;
	uint64_t	 count;
	long long	 newest;
};

static struct {
	struct sock_series *s;
	size_t		 n, cap;
	char		 fetched[64][65];	/* subjects asked for */
	size_t		 nfetched;
	struct ctlproto_line *locks;		/* "l" lines of P:locked */
	size_t		 nlocks;
} cache;

/* sock_connect - one connection to the control socket; exits 3 */
static int
sock_connect(const struct ctl *x)
{
	struct sockaddr_un sa;
	struct timeval tv = { SOCK_TIMEOUT_MS / 1000, 0 };
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
	    x->cfg->control_socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		fprintf(stderr, "sluicectl: %s: %s (is sluice running with "
		    "this config?)\n", x->where, strerror(errno));
		exit(CTL_STORE);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * ctl_sock_call - one request (fields after the version); fn gets each
 * data line; exits 3 naming the daemon's error, or the socket's
 */
void
ctl_sock_call(struct ctl *x, size_t n, const char *const *f,
    void (*fn)(struct ctl *, const struct ctlproto_line *, void *), void *arg)
{
	const char *all[CTLPROTO_FIELDS_MAX];
	char line[CTLPROTO_LINE_MAX], err[256], *buf = NULL, *p, *nl;
	struct ctlproto_line *l;
	const struct timespec pause = { 0, BUSY_PAUSE_MS * 1000000L };
	size_t len, got = 0, cap = 0, i;
	ssize_t r;
	int fd, first = 1, busy = 0;

	all[0] = CTLPROTO_MAGIC;
	for (i = 0; i < n && i + 1 < CTLPROTO_FIELDS_MAX; i++)
		all[i + 1] = f[i];
	if ((len = ctlproto_join(line, sizeof(line), n + 1, all)) == 0)
		ctl_die(x, f[0], "request too long");
	if ((l = malloc(sizeof(*l))) == NULL)
		ctl_die(x, f[0], "out of memory");
again:
	fd = sock_connect(x);
	got = 0;
	first = 1;
	/* a refused peer is answered before its request is read: a failed
	 * send still leaves that answer to read */
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		shutdown(fd, SHUT_WR);
	for (;;) {
		if (got + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL)
				ctl_die(x, f[0], "out of memory");
		}
		if ((r = recv(fd, buf + got, cap - got - 1, 0)) == -1 &&
		    errno == EINTR)
			continue;
		if (r == -1 && errno == ECONNRESET && got > 0)
			break;	/* closed with our request unread (a "busy"
				   answer): what came before is the reply */
		if (r == -1)
			ctl_die(x, f[0], errno == EAGAIN ? "no reply in time" :
			    strerror(errno));
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	for (p = buf; p != NULL && p < buf + got; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + got - p))) == NULL)
			break;
		if (first) {
			first = 0;
			if ((size_t)(nl - p) >= 12 && strncmp(p, CTLPROTO_MAGIC
			    " ERR ", 16) == 0) {
				*nl = '\0';
				p += 16;
				if (strncmp(p, "busy ", 5) == 0 &&
				    ++busy < BUSY_TRIES) {
					/* the daemon's few client slots are
					 * taken (each freed as its client
					 * closes): wait a little, ask again */
					nanosleep(&pause, NULL);
					goto again;
				}
				p += strcspn(p, " ");
				fprintf(stderr, "sluicectl: %s: %s: %s\n",
				    x->where, f[0], *p ? p + 1 : "error");
				exit(CTL_STORE);
			}
			if ((size_t)(nl - p) != strlen(CTLPROTO_MAGIC " OK") ||
			    strncmp(p, CTLPROTO_MAGIC " OK", (size_t)(nl - p))
			    != 0)
				ctl_die(x, f[0], "not a SLUICECTL/1 reply");
			continue;
		}
		if (nl - p == 1 && *p == '.') {
			free(l);
			free(buf);
			return;
		}
		if (ctlproto_split(p, (size_t)(nl - p), l, err,
		    sizeof(err)) == -1)
			ctl_die(x, f[0], err);
		if (fn != NULL)
			fn(x, l, arg);
	}
	ctl_die(x, f[0], first ? "connection closed without a reply" :
	    "reply cut short");
}

/* sock_open - the context sluicectl says it talks to */
void
ctl_sock_open(struct ctl *x)
{
	snprintf(x->where, sizeof(x->where), "sluice %.200s",
	    x->cfg->control_socket);
	x->prefix = x->cfg->redis_prefix;
	x->sock = 1;
}

/* series_line - keep an "s" line in the cache */
static void
series_line(struct ctl *x, const struct ctlproto_line *l, void *arg)
{
	struct sock_series *s;

	(void)arg;
	if (l->n != 8 || strcmp(l->f[0], "s") != 0)
		return;
	if (cache.n == cache.cap) {
		cache.cap = cache.cap ? cache.cap * 2 : 256;
		if ((cache.s = realloc(cache.s, cache.cap * sizeof(*s))) == NULL)
			ctl_die(x, "series", "out of memory");
	}
	s = &cache.s[cache.n++];
	snprintf(s->subject, sizeof(s->subject), "%s", l->f[1]);
	snprintf(s->name, sizeof(s->name), "%s", l->f[2]);
	snprintf(s->sub, sizeof(s->sub), "%s", l->f[3]);
	s->window = (uint32_t)strtoul(l->f[4], NULL, 10);
	s->buckets = (uint32_t)strtoul(l->f[5], NULL, 10);
	s->count = strtoull(l->f[6], NULL, 10);
	s->newest = strtoll(l->f[7], NULL, 10);
}

/* fetch - a subject's series, asked for once */
static void
fetch(struct ctl *x, const char *subject)
{
	const char *f[2] = { "series", subject };
	size_t i;

	for (i = 0; i < cache.nfetched; i++)
		if (strcmp(cache.fetched[i], subject) == 0)
			return;
	if (cache.nfetched < 64)
		snprintf(cache.fetched[cache.nfetched++], 65, "%s", subject);
	ctl_sock_call(x, 2, f, series_line, NULL);
}

/* reply_new - an empty reply of one type, as hiredis frees them */
static redisReply *
reply_new(struct ctl *x, int type)
{
	redisReply *r = calloc(1, sizeof(*r));

	if (r == NULL)
		ctl_die(x, "reply", "out of memory");
	r->type = type;
	return r;
}

/* reply_str - a string reply */
static redisReply *
reply_str(struct ctl *x, const char *s)
{
	redisReply *r = reply_new(x, REDIS_REPLY_STRING);

	if ((r->str = strdup(s)) == NULL)
		ctl_die(x, "reply", "out of memory");
	r->len = strlen(s);
	return r;
}

/* reply_push - append a string to an array reply */
static void
reply_push(struct ctl *x, redisReply *a, const char *s)
{
	redisReply **e = realloc(a->element, (a->elements + 1) * sizeof(*e));

	if (e == NULL)
		ctl_die(x, "reply", "out of memory");
	a->element = e;
	a->element[a->elements++] = reply_str(x, s);
}

/* now_line - "now MS" */
static void
now_line(struct ctl *x, const struct ctlproto_line *l, void *arg)
{
	(void)x;
	if (l->n == 2 && strcmp(l->f[0], "now") == 0)
		*(uint64_t *)arg = strtoull(l->f[1], NULL, 10);
}

/* kv_line - "name value" lines into a hash reply */
static void
kv_line(struct ctl *x, const struct ctlproto_line *l, void *arg)
{
	if (l->n == 2) {
		reply_push(x, arg, l->f[0]);
		reply_push(x, arg, l->f[1]);
	}
}

/* who_line - "who LOGIN": a string, or nil when unknown */
static void
who_line(struct ctl *x, const struct ctlproto_line *l, void *arg)
{
	redisReply **r = arg;

	if (l->n == 2 && strcmp(l->f[0], "who") == 0 && l->len[1] > 0) {
		freeReplyObject(*r);
		*r = reply_str(x, l->f[1]);
	}
}

/* class_line - "class NAME": a string, or nil when there is none */
static void
class_line(struct ctl *x, const struct ctlproto_line *l, void *arg)
{
	redisReply **r = arg;

	if (l->n == 2 && strcmp(l->f[0], "class") == 0 && l->len[1] > 0) {
		freeReplyObject(*r);
		*r = reply_str(x, l->f[1]);
	}
}

/* locks_line - keep an "l KEY UNTIL LOGIN BY REASON" line */
static void
locks_line(struct ctl *x, const struct ctlproto_line *l, void *arg)
{
	redisReply *z = arg;
	size_t i;

	if (l->n != 6 || strcmp(l->f[0], "l") != 0)
		return;
	if ((cache.locks = realloc(cache.locks, (cache.nlocks + 1) *
	    sizeof(*cache.locks))) == NULL)
		ctl_die(x, "locks", "out of memory");
	cache.locks[cache.nlocks] = *l;	/* its fields point into its buf */
	for (i = 0; i < l->n; i++)
		cache.locks[cache.nlocks].f[i] = cache.locks[cache.nlocks].buf +
		    (l->f[i] - l->buf);
	cache.nlocks++;
	reply_push(x, z, l->f[1]);
	reply_push(x, z, l->f[2]);
}

/* subject_of - the H of P{H}:rest, into h; rest returned, or NULL */
static const char *
subject_of(const struct ctl *x, const char *key, char *h)
{
	size_t plen = strlen(x->prefix), n;

	if (strncmp(key, x->prefix, plen) != 0 || key[plen] != '{')
		return NULL;
	key += plen + 1;
	n = strcspn(key, "}");
	if (n == 0 || n > 64 || key[n] != '}' || key[n + 1] != ':')
		return NULL;
	memcpy(h, key, n);
	h[n] = '\0';
	return key + n + 2;
}

/* hgetall - a counter as one live bucket, or lockinfo's fields */
static redisReply *
hgetall(struct ctl *x, const char *key)
{
	redisReply *r = reply_new(x, REDIS_REPLY_ARRAY);
	const char *f[2] = { "info", NULL }, *rest;
	struct contract_counter k;
	char h[65], idx[24], cnt[24];
	size_t i;

	if ((rest = subject_of(x, key, h)) == NULL)
		return r;
	if (strcmp(rest, CONTRACT_LOCKINFO) == 0) {
		for (i = 0; i < cache.nlocks; i++)
			if (strcmp(cache.locks[i].f[1], h) == 0) {
				if (cache.locks[i].len[3] > 0) {
					reply_push(x, r, CONTRACT_LI_LOGIN);
					reply_push(x, r, cache.locks[i].f[3]);
				}
				if (cache.locks[i].len[4] > 0) {
					reply_push(x, r, CONTRACT_LI_BY);
					reply_push(x, r, cache.locks[i].f[4]);
				}
				if (cache.locks[i].len[5] > 0) {
					reply_push(x, r, CONTRACT_LI_REASON);
					reply_push(x, r, cache.locks[i].f[5]);
				}
				return r;
			}
		f[1] = h;
		ctl_sock_call(x, 2, f, kv_line, r);
		return r;
	}
	if (ctl_counter_parse(x, key, &k) == -1)
		return r;
	fetch(x, h);
	for (i = 0; i < cache.n; i++) {
		const struct sock_series *s = &cache.s[i];

		if (strcmp(s->subject, h) != 0 || strcmp(s->name, k.name) != 0 ||
		    strcmp(s->sub, k.sub) != 0 || s->window != k.window ||
		    s->buckets != k.buckets || s->newest < 0)
			continue;
		snprintf(idx, sizeof(idx), "%lld", s->newest);
		snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)s->count);
		reply_push(x, r, idx);
		reply_push(x, r, cnt);
		break;	/* a listing may have cached it once already */
	}
	return r;
}

/* scan - the keys of the counters a pattern names: P{*}:msg:W:*, P{H}:rep:* */
static redisReply *
scan(struct ctl *x, const char *pattern)
{
	redisReply *r = reply_new(x, REDIS_REPLY_ARRAY), *keys;
	char h[65], want[17] = "", key[CTL_KEY_MAX], w[16] = "";
	const char *rest, *f[4] = { "series", "", NULL, NULL };
	size_t i, from = cache.n;
	int all;

	reply_push(x, r, "0");
	keys = reply_new(x, REDIS_REPLY_ARRAY);
	reply_push(x, r, "");	/* replaced by keys below */
	freeReplyObject(r->element[1]);
	r->element[1] = keys;
	ctl_key(x, key, "*", "");
	all = strncmp(pattern, key, strlen(key)) == 0;
	if (all) {
		rest = pattern + strlen(key);
		h[0] = '\0';
	} else if ((rest = subject_of(x, pattern, h)) == NULL)
		return r;
	snprintf(want, sizeof(want), "%.*s", (int)strcspn(rest, ":*"), rest);
	if (rest[strlen(want)] == ':')
		snprintf(w, sizeof(w), "%.*s", (int)strcspn(rest +
		    strlen(want) + 1, ":*"), rest + strlen(want) + 1);
	if (all) {
		f[1] = "";
		f[2] = want;
		f[3] = w;
		ctl_sock_call(x, w[0] ? 4 : 3, f, series_line, NULL);
	} else {
		fetch(x, h);
		from = 0;
	}
	for (i = from; i < cache.n; i++) {
		const struct sock_series *s = &cache.s[i];

		if ((!all && strcmp(s->subject, h) != 0) ||
		    strcmp(s->name, want) != 0)
			continue;
		contract_counter(key, sizeof(key), x->prefix, s->subject,
		    s->name, s->sub, s->window, s->buckets);
		reply_push(x, keys, key);
	}
	return r;
}

/* ctl_sock_cmd - the Redis reads of the views, answered by the daemon */
redisReply *
ctl_sock_cmd(struct ctl *x, const char *what, int argc, const char **argv)
{
	const char *f[2] = { "now", NULL };
	redisReply *r;
	uint64_t now = 0;
	char s[24], h[65];

	(void)what;
	if (strcmp(argv[0], "TIME") == 0 || strcmp(argv[0], "PING") == 0) {
		ctl_sock_call(x, 1, f, now_line, &now);
		r = reply_new(x, REDIS_REPLY_ARRAY);
		snprintf(s, sizeof(s), "%llu", (unsigned long long)(now / 1000));
		reply_push(x, r, s);
		snprintf(s, sizeof(s), "%llu", (unsigned long long)(now %
		    1000) * 1000);
		reply_push(x, r, s);
		return r;
	}
	if (strcmp(argv[0], "HGETALL") == 0 && argc == 2)
		return hgetall(x, argv[1]);
	if (strcmp(argv[0], "SCAN") == 0 && argc >= 4)
		return scan(x, argv[3]);
	if (strcmp(argv[0], "GET") == 0 && argc == 2) {
		r = reply_new(x, REDIS_REPLY_NIL);
		f[0] = "who";
		if (subject_of(x, argv[1], h) == NULL)
			return r;
		f[1] = h;
		ctl_sock_call(x, 2, f, who_line, &r);
		return r;
	}
	if (strcmp(argv[0], "ZRANGEBYSCORE") == 0) {
		r = reply_new(x, REDIS_REPLY_ARRAY);
		f[0] = "locks";
		ctl_sock_call(x, 1, f, locks_line, r);
		return r;
	}
	if (strcmp(argv[0], "HGET") == 0 && argc == 3) {	/* P:classes */
		r = reply_new(x, REDIS_REPLY_NIL);
		f[0] = "classget";
		f[1] = argv[2];
		ctl_sock_call(x, 2, f, class_line, &r);
		return r;
	}
	ctl_die(x, argv[0], "not served by the control socket");
	return NULL;
}
