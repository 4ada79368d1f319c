/*
 * ctlsock.c - sluicectl's way in with the memory store: a unix socket
 * (control_socket, never TCP) speaking lib/ctlproto's line protocol.
 *
 * One accept thread; each client gets a detached thread of its own, at
 * most CLIENTS_MAX at once (one more is told "busy" and closed). A client
 * is checked with SO_PEERCRED (root, or the daemon's uid or gid), has
 * IO_TIMEOUT_MS to send one request line of at most CTLPROTO_LINE_MAX
 * bytes and to take its reply, then is closed. Nothing here is on a
 * message's path: the store's admin ops lock one stripe at a time, and
 * a silent or slow client only ties up its own thread.
 *
 * The names, lock records and class overrides the views show are kept
 * by ctlnames.c.
 */
#define _GNU_SOURCE	/* SO_PEERCRED, struct ucred, accept4, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "ctlproto.h"
#include "localctl.h"
#include "policy.h"
#include "sender.h"
#include "sluice.h"
#include "state.h"
#include "window.h"

#define CLIENTS_MAX	4	/* sluicectl runs served at once */
#define IO_TIMEOUT_MS	2000	/* to send the request, to take the reply */

static struct {
	int		 fd;		/* listening, or -1 */
	int		 wake[2];	/* stop pipe */
	char		 path[108];
	struct store	*store;
	pthread_t	 tid;
	int		 running;
	pthread_mutex_t	 lock;		/* clients */
	unsigned	 clients;
} cs = { -1, { -1, -1 }, "", NULL, 0, 0, PTHREAD_MUTEX_INITIALIZER, 0 };

/* a reply being built: lines in a growing buffer */
struct out {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

/* out_line - one encoded line of n fields */
static void
out_line(struct out *o, size_t n, const char *const *f)
{
	char line[CTLPROTO_LINE_MAX];
	size_t len = ctlproto_join(line, sizeof(line), n, f);
	char *np;

	if (o->oom || len == 0)
		return;
	if (o->len + len + 1 > o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 4096;

		while (nc < o->len + len + 1)
			nc *= 2;
		if ((np = realloc(o->p, nc)) == NULL) {
			o->oom = 1;
			return;
		}
		o->p = np;
		o->cap = nc;
	}
	memcpy(o->p + o->len, line, len + 1);
	o->len += len;
}

/* out_kv - a line "name value" */
static void
out_kv(struct out *o, const char *name, const char *value)
{
	const char *f[2] = { name, value };

	out_line(o, 2, f);
}

/* out_u64 - a line "name N" */
static void
out_u64(struct out *o, const char *name, uint64_t v)
{
	char n[24];

	snprintf(n, sizeof(n), "%llu", (unsigned long long)v);
	out_kv(o, name, n);
}

/* what a series view keeps: an optional name to match, the output */
struct view_acc {
	struct out	*o;
	const char	*name;		/* or NULL */
	uint32_t	 window;	/* or 0 */
	uint64_t	 lock_events;	/* "lock" series seen */
};

/* view_line - "s SUBJECT NAME SUB WINDOW BUCKETS COUNT NEWEST" */
static void
view_line(void *ctx, const struct store_series *v)
{
	struct view_acc *a = ctx;
	char w[16], b[16], c[24], n[24];
	const char *f[8];

	if (strcmp(v->name, "lock") == 0)
		a->lock_events += v->count;
	if ((a->name != NULL && strcmp(v->name, a->name) != 0) ||
	    (a->window != 0 && v->window != a->window))
		return;
	snprintf(w, sizeof(w), "%u", v->window);
	snprintf(b, sizeof(b), "%u", v->buckets);
	snprintf(c, sizeof(c), "%llu", (unsigned long long)v->count);
	snprintf(n, sizeof(n), "%lld", (long long)v->newest);
	f[0] = "s";
	f[1] = v->subject;
	f[2] = v->name;
	f[3] = v->sub;
	f[4] = w;
	f[5] = b;
	f[6] = c;
	f[7] = n;
	out_line(a->o, 8, f);
}

/* key_arg - a sender key argument: lower-case hex, 1..64 */
static int
key_arg(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n > 0 && n <= SENDER_KEY_LEN && s[n] == '\0';
}

/* lock_line - "l KEY UNTIL LOGIN BY REASON" for one locked subject */
static void
lock_line(struct out *o, const char *key, uint64_t until_s)
{
	struct ctl_lockinfo l;
	char u[24], who[CTLNAMES_SHOWN_MAX];
	const char *f[6];

	ctlnames_lock(key, &l);
	ctlnames_who(key, who, sizeof(who));
	snprintf(u, sizeof(u), "%llu", (unsigned long long)until_s);
	f[0] = "l";
	f[1] = key;
	f[2] = u;
	f[3] = l.login[0] ? l.login : who;
	f[4] = l.by;
	f[5] = l.reason;
	out_line(o, 6, f);
}

/* locks_visit - every live lock series */
struct locks_acc {
	struct out	*o;
};

static void
locks_visit(void *ctx, const struct store_series *v)
{
	struct locks_acc *a = ctx;
	uint64_t w;

	if (strcmp(v->name, "lock") != 0 || v->newest < 0)
		return;
	w = window_width(v->window, v->buckets);
	lock_line(a->o, v->subject, ((uint64_t)(v->newest + v->buckets + 1) *
	    w + 999) / 1000);
}

/*
 * What a request handler returns besides NULL (done) and an error
 * "CODE TEXT": not_mine, the verb or its arguments are another's;
 * store_failed, the store said no and its message is in err.
 */
static const char not_mine[] = "not mine", store_failed[] = "store";

/* run_status - "status" and "now" */
static const char *
run_status(const struct ctlproto_line *l, struct out *o)
{
	struct store *st = cs.store;
	uint64_t at_s, bytes, ms, hold;

	if (strcmp(l->f[0], "status") == 0 && l->n == 1) {
		out_kv(o, "store", st->kind);
		out_u64(o, "now", store_now(st));
		statefile_status(&at_s, &bytes, &ms, &hold);
		out_u64(o, "saved", at_s);
		out_u64(o, "saved_bytes", bytes);
		out_u64(o, "saved_ms", ms);
		out_u64(o, "saved_hold_us", hold);
		return NULL;
	}
	if (strcmp(l->f[0], "now") == 0 && l->n == 1) {
		out_u64(o, "now", store_now(st));
		return NULL;
	}
	return not_mine;
}

/* run_view - "series [KEY [NAME [WINDOW]]]" and "locks" */
static const char *
run_view(const struct ctlproto_line *l, struct out *o, char *err,
    size_t errlen)
{
	struct view_acc va;

	if (strcmp(l->f[0], "series") == 0 && l->n >= 2 && l->n <= 4) {
		if (l->len[1] > 0 && !key_arg(l->f[1]))
			return "usage bad key";
		memset(&va, 0, sizeof(va));
		va.o = o;
		va.name = l->n >= 3 ? l->f[2] : NULL;
		va.window = l->n == 4 ? (uint32_t)strtoul(l->f[3], NULL, 10) : 0;
		if (store_view(cs.store, l->len[1] ? l->f[1] : NULL, view_line,
		    &va, err, errlen) == -1)
			return store_failed;
		return NULL;
	}
	if (strcmp(l->f[0], "locks") == 0 && l->n == 1) {
		struct locks_acc la = { o };

		if (store_view(cs.store, NULL, locks_visit, &la, err, errlen) ==
		    -1)
			return store_failed;
		return NULL;
	}
	return not_mine;
}

/* run_names - "who", "info", "classget", "class" of one KEY or login */
static const char *
run_names(const struct ctlproto_line *l, struct out *o)
{
	const char *verb = l->f[0];
	char who[CTLNAMES_SHOWN_MAX], u[24];
	struct ctl_lockinfo ls;
	struct cfg_ref *ref;
	int rc, known;

	if (strcmp(verb, "who") == 0 && l->n == 2) {
		ctlnames_who(l->f[1], who, sizeof(who));
		out_kv(o, "who", who);
		return NULL;
	}
	if (strcmp(verb, "info") == 0 && l->n == 2) {
		if (ctlnames_lock(l->f[1], &ls)) {
			out_kv(o, "login", ls.login);
			out_kv(o, "reason", ls.reason);
			out_kv(o, "by", ls.by);
			snprintf(u, sizeof(u), "%llu", (unsigned long long)ls.at);
			out_kv(o, "at", u);
			snprintf(u, sizeof(u), "%llu",
			    (unsigned long long)ls.until);
			out_kv(o, "until", u);
		}
		return NULL;
	}
	if (strcmp(verb, "classget") == 0 && l->n == 2) {
		ctlnames_class_get(l->f[1], who, sizeof(who));
		out_kv(o, "class", who);
		return NULL;
	}
	if (strcmp(verb, "class") == 0 && l->n == 3) {
		ref = cfg_acquire();
		known = l->len[2] == 0 ||
		    config_find_class(ref->cfg, l->f[2]) != NULL;
		cfg_release(ref);
		if (!known)
			return "usage no such class in the daemon's config";
		if ((rc = ctlnames_class_set(l->f[1], l->f[2])) == -1)
			return "store too many class overrides, or out of memory";
		out_u64(o, "changed", (uint64_t)rc);
		return NULL;
	}
	return not_mine;
}

/* run_locks - "lock KEY DUR_MS LOGIN REASON", "unlock KEY", "reset KEY" */
static const char *
run_locks(const struct ctlproto_line *l, struct out *o, char *err,
    size_t errlen)
{
	static const char *const lock_names[] = { "lock", "refused", NULL };
	static const char *const keep_lock[] = { "lock", NULL };
	const char *verb = l->f[0];
	struct store *st = cs.store;
	struct store_item it;
	struct view_acc va;
	struct cfg_ref *ref;
	uint64_t ends, dur;
	size_t n;
	char *end;

	if (strcmp(verb, "lock") == 0 && l->n == 5) {
		dur = strtoull(l->f[2], &end, 10);
		if (*end != '\0' || l->len[3] == 0 || l->len[4] == 0)
			return "usage lock KEY DUR_MS LOGIN REASON";
		ref = cfg_acquire();
		policy_lock_item(ref->cfg, &it);
		cfg_release(ref);
		if (store_lock(st, &it, l->f[1], dur, &ends, err, errlen) == -1)
			return store_failed;
		ctlsock_locked(l->f[1], l->f[3], "sluicectl", l->f[4],
		    (ends + 999) / 1000);
		out_u64(o, "ends", ends);
		return NULL;
	}
	if (strcmp(verb, "unlock") == 0 && l->n == 2) {
		memset(&va, 0, sizeof(va));
		va.o = o;
		store_view(st, l->f[1], view_line, &va, err, errlen);
		o->len = 0;		/* only the count is wanted */
		if (store_drop(st, l->f[1], lock_names, 0, &n, err, errlen) ==
		    -1)
			return store_failed;
		ctlnames_unlock(l->f[1]);
		out_u64(o, "was", va.lock_events);
		return NULL;
	}
	if (strcmp(verb, "reset") == 0 && l->n == 2) {
		if (store_drop(st, l->f[1], keep_lock, 1, &n, err, errlen) == -1)
			return store_failed;
		out_u64(o, "deleted", n);
		return NULL;
	}
	return not_mine;
}

/* run - one request; the reply in o; NULL, or the error "CODE TEXT" */
static const char *
run(const struct ctlproto_line *l, struct out *o, char *ebuf, size_t elen)
{
	char err[256];
	const char *r;

	if ((r = run_status(l, o)) == not_mine)
		r = run_view(l, o, err, sizeof(err));
	if (r == not_mine) {
		if (l->n >= 2 && l->len[1] > 0 &&
		    l->len[1] < CTLNAMES_SHOWN_MAX &&
		    strlen(l->f[1]) == l->len[1] &&
		    strncmp(l->f[0], "class", 5) == 0)
			;	/* a login or @domain, checked as the map does */
		else if (l->n < 2 || !key_arg(l->f[1]))
			return "usage unknown command or bad arguments";
		if ((r = run_names(l, o)) == not_mine)
			r = run_locks(l, o, err, sizeof(err));
	}
	if (r == not_mine)
		return "usage unknown command or bad arguments";
	if (r == store_failed) {
		snprintf(ebuf, elen, "store %s", err);
		return ebuf;
	}
	return r;
}

/* io_wait - poll one fd for events until the deadline; 1 ready, 0 not */
static int
io_wait(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { fd, ev, 0 };
	uint64_t now;

	for (;;) {
		if ((now = clock_mono_ms()) >= deadline)
			return 0;
		if (poll(&p, 1, (int)(deadline - now)) == 1)
			return 1;
		if (errno != EINTR && errno != 0)
			return 0;
	}
}

/* send_all - the reply, within the deadline; -1 if it could not go */
static int
send_all(int fd, const char *p, size_t n, uint64_t deadline)
{
	ssize_t w;

	while (n > 0) {
		if (!io_wait(fd, POLLOUT, deadline))
			return -1;
		if ((w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* reply_err - "SLUICECTL/1 ERR CODE TEXT" */
static void
reply_err(int fd, const char *code_text, uint64_t deadline)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "%s ERR %s\n", CTLPROTO_MAGIC,
	    code_text);

	send_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1, deadline);
}

/*
 * finish - close after the reply: what the client sent and we did not
 * read would turn the close into a reset that can destroy the reply in
 * flight, so stop writing and drain until it closes or the deadline
 */
static void
finish(int fd, uint64_t deadline)
{
	char buf[512];
	ssize_t n;

	shutdown(fd, SHUT_WR);
	while (io_wait(fd, POLLIN, deadline)) {
		if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) == -1 &&
		    (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
	}
	close(fd);
}

/* peer_ok - root, or the daemon's own uid or gid */
static int
peer_ok(int fd, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) == -1)
		return 0;
	return cr->uid == 0 || cr->uid == geteuid() || cr->gid == getegid();
}

/*
 * read_request - the request line into buf, within the deadline; its
 * length without the newline, or -1 (the client was told or logged why)
 */
static ssize_t
read_request(int fd, char *buf, size_t size, const struct ucred *cr,
    uint64_t deadline)
{
	size_t got = 0;
	ssize_t n;
	char *nl = NULL;

	while (nl == NULL) {
		if (got == size) {
			reply_err(fd, "usage request longer than 4096 bytes",
			    deadline);
			return -1;
		}
		if (!io_wait(fd, POLLIN, deadline)) {
			log_warnx("control socket: client uid %u sent no "
			    "request within %d ms: dropped", (unsigned)cr->uid,
			    IO_TIMEOUT_MS);
			return -1;
		}
		if ((n = recv(fd, buf + got, size - got, MSG_DONTWAIT)) == -1 &&
		    (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return -1;
		nl = memchr(buf + got, '\n', (size_t)n);
		got += (size_t)n;
	}
	return nl - buf;
}

/* client - one sluicectl run: check, read a line, answer, close */
static void *
client(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[CTLPROTO_LINE_MAX], ebuf[300];
	struct ctlproto_line *l = NULL;
	uint64_t deadline;
	struct out o = { NULL, 0, 0, 0 };
	const char *e;
	struct ucred cr;
	ssize_t len;

	deadline = clock_mono_ms() + IO_TIMEOUT_MS;
	if (!peer_ok(fd, &cr)) {
		reply_err(fd, "denied only root and the sluice daemon's user "
		    "or group may use this socket", deadline);
		log_warnx("control socket: refused uid %u gid %u (not root, "
		    "not the daemon's user or group)", (unsigned)cr.uid,
		    (unsigned)cr.gid);
		goto out;
	}
	if ((len = read_request(fd, buf, sizeof(buf), &cr, deadline)) == -1 ||
	    (l = malloc(sizeof(*l))) == NULL)
		goto out;
	if (ctlproto_request(buf, (size_t)len, l, ebuf + 6,
	    sizeof(ebuf) - 6) == -1) {
		memcpy(ebuf, "usage ", 6);
		reply_err(fd, ebuf, deadline);
		goto out;
	}
	if ((e = run(l, &o, ebuf, sizeof(ebuf))) != NULL || o.oom) {
		reply_err(fd, e != NULL ? e : "store out of memory", deadline);
		goto out;
	}
	snprintf(buf, sizeof(buf), "%s OK\n", CTLPROTO_MAGIC);
	if (send_all(fd, buf, strlen(buf), deadline) == 0 &&
	    send_all(fd, o.p != NULL ? o.p : "", o.len, deadline) == 0)
		send_all(fd, ".\n", 2, deadline);
out:
	free(l);
	free(o.p);
	finish(fd, deadline);
	pthread_mutex_lock(&cs.lock);
	cs.clients--;
	pthread_mutex_unlock(&cs.lock);
	return NULL;
}

/* accept_main - accept clients until told to stop */
static void *
accept_main(void *arg)
{
	struct pollfd p[2];
	uint64_t deadline;
	pthread_attr_t at;
	pthread_t t;
	char drain[512];
	int fd, busy;

	(void)arg;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (;;) {
		p[0].fd = cs.fd;
		p[0].events = POLLIN;
		p[1].fd = cs.wake[0];
		p[1].events = POLLIN;
		if (poll(p, 2, -1) == -1)
			continue;
		if (p[1].revents)
			break;
		if ((fd = accept4(cs.fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		pthread_mutex_lock(&cs.lock);
		busy = cs.clients >= CLIENTS_MAX;
		if (!busy)
			cs.clients++;
		pthread_mutex_unlock(&cs.lock);
		if (!busy && pthread_create(&t, &at, client,
		    (void *)(intptr_t)fd) == 0)
			continue;
		if (!busy) {
			pthread_mutex_lock(&cs.lock);
			cs.clients--;
			pthread_mutex_unlock(&cs.lock);
		}
		deadline = clock_mono_ms() + 1000;
		reply_err(fd, "busy too many sluicectl clients at once; try "
		    "again", deadline);
		/* read what request came already: closed unread, it would
		 * reset the connection over the answer */
		shutdown(fd, SHUT_WR);
		while (recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
			;
		close(fd);
	}
	pthread_attr_destroy(&at);
	return NULL;
}

/* ctlsock_mkdir_for - make the directory of path if missing, owned by uid:gid */
int
ctlsock_mkdir_for(const char *path, uid_t uid, gid_t gid, mode_t mode,
    char *err, size_t errlen)
{
	char dir[1024], *slash;
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (stat(dir, &sb) == 0)
		return 0;
	if (mkdir(dir, mode) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (getuid() == 0 && uid != (uid_t)-1 && chown(dir, uid, gid) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ctlsock_user_ids - the config's user's uid and gid, or -1s (no user, not root) */
int
ctlsock_user_ids(const struct config *cfg, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd *pw;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (cfg->user == NULL || getuid() != 0)
		return 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist", cfg->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * ctlsock_open - bind control_socket before privileges are dropped; on
 * failure nothing is left open and the daemon runs without it
 */
int
ctlsock_open(const struct config *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat sb;
	uid_t uid;
	gid_t gid;
	mode_t old;

	if (cfg->store != CONFIG_STORE_MEMORY)
		return 0;
	if (ctlsock_user_ids(cfg, &uid, &gid, err, errlen) == -1 ||
	    ctlsock_mkdir_for(cfg->control_socket, uid, gid, 0750, err,
	    errlen) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg->control_socket);
	snprintf(cs.path, sizeof(cs.path), "%s", cfg->control_socket);
	/* a socket left by a daemon that died: replace it, nothing else */
	if (lstat(cs.path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "control_socket %s exists and is "
			    "not a socket", cs.path);
			return -1;
		}
		unlink(cs.path);
	}
	if ((cs.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "control_socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117);
	if (bind(cs.fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(cs.fd, 16) == -1) {
		umask(old);
		snprintf(err, errlen, "control_socket %s: %s", cs.path,
		    strerror(errno));
		close(cs.fd);
		cs.fd = -1;
		return -1;
	}
	umask(old);
	if (chmod(cs.path, 0660) == -1 || (uid != (uid_t)-1 &&
	    chown(cs.path, uid, gid) == -1)) {
		snprintf(err, errlen, "control_socket %s: %s", cs.path,
		    strerror(errno));
		close(cs.fd);
		cs.fd = -1;
		unlink(cs.path);
		return -1;
	}
	return 0;
}

/* ctlsock_start - the accept thread */
int
ctlsock_start(struct store *st, char *err, size_t errlen)
{
	if (cs.fd == -1)
		return 0;
	cs.store = st;
	if (ctlnames_init() == -1 || pipe2(cs.wake, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	if (pthread_create(&cs.tid, NULL, accept_main, NULL) != 0) {
		snprintf(err, errlen, "control socket: cannot start its thread");
		return -1;
	}
	cs.running = 1;
	log_info("control socket %s: sluicectl served here (%s, mode 0660)",
	    cs.path, CTLPROTO_MAGIC);
	return 0;
}

/* ctlsock_stop - stop accepting; clients in flight end on their timeout */
void
ctlsock_stop(void)
{
	if (!cs.running)
		return;
	if (write(cs.wake[1], "x", 1) == -1)
		log_warnx("control socket: cannot wake its thread");
	pthread_join(cs.tid, NULL);
	close(cs.fd);
	unlink(cs.path);
	cs.running = 0;
}
