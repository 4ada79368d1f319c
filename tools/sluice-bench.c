/*
 * sluice-bench - milter-protocol load generator and test client
 *
 * Speaks the Sendmail milter protocol, version 6, to a milter socket the
 * way Postfix's milter client does, without an MTA: from N threads, each
 * holding one milter connection at a time, it negotiates, reports a
 * client connection and HELO, then runs transactions (MAIL, RCPT..., DATA,
 * headers, end of headers, body, end of message, ABORT) and finally QUIT.
 * It honours the steps and no-reply flags the milter negotiates, consumes
 * end-of-message modification requests, and reports throughput, latency
 * percentiles (MAIL sent to the reply that decided the transaction), the
 * verdicts and the stage that decided them, and the last refusal texts.
 * Used to size a relay and to drive sluice from integration tests.
 *
 * Writes: by default as Postfix 3.7's milter client writes (strace of its
 * smtpd and cleanup, bench/README.md "How Postfix writes"), Nagle left on
 * (no TCP_NODELAY): what is queued goes out in one write(2) when a reply
 * is awaited (a stage's macro packet with its command; ABORT with the next
 * MAIL), except that the macros of the DATA stage are written alone (smtpd
 * flushes them when it hands the milter to cleanup; with DATA skipped no
 * reply follows) and the first header follows as a second small write:
 * a milter that acknowledges late shows the delayed-ACK stall here as it
 * would through Postfix. --writes stage (no DATA flush) with --nodelay is
 * the old behaviour; --writes packet writes every packet alone.
 *
 * With --duration the run lasts that long instead of N transactions; a
 * connection that fails is counted and opened again, and --interval
 * reports throughput, percentiles and errors per interval (a soak).
 *
 * Layers, bottom up: a buffered packet reader and writer (conn_*, pkt_*)
 * that bounds-checks every length the milter sends and enforces a
 * deadline on every reply; reply_read(), which turns the milter's answer
 * to one command into a verdict; one step_* function per protocol step;
 * txn_run() and session_run(), which drive a transaction and a
 * connection; worker_main() per thread; the report in main().
 *
 * Memory and threads: the options, the To: header and the body template
 * are built before the threads start and are read-only afterwards.  Each
 * worker owns its connection buffers, statistics and latency array; main
 * merges them after joining.  Threads share only atomic counters.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Protocol constants only (SMFIC_*, SMFIR_*, SMFIP_*, SMFIF_*): nothing
 * from libmilter is linked; the protocol is spoken here. */
#include <libmilter/mfapi.h>

#define MTA_ACTIONS	SMFI_CURR_ACTS	/* we take every action */
#define MTA_PROTO	SMFI_CURR_PROT	/* every step, no-reply bit, SKIP */
#define MILTER_MAX_DATA	65535		/* largest data we send */
#define REPLY_MAX_LEN	(65536 + 4096)	/* largest packet we accept */

#define REPLY_TEXT	512		/* reply text kept for the report */
#define LAST_REPLIES	5		/* distinct refusal texts reported */
#define ERR_LEN		200
#define ERRORS_SHOWN	10		/* error messages printed */
#define OUT_FLUSH_AT	(256 * 1024)	/* flush no-reply packets beyond */
#define STACK_SIZE	(256 * 1024)
#define MTA_NAME	"mx.bench.test"
#define MAX_TXNS	1000000000UL
#define MAX_PACKETS	100000		/* per reply, modifications included */

enum writes { WRITES_POSTFIX, WRITES_STAGE, WRITES_PACKET };
enum verdict { V_ACCEPT, V_TEMPFAIL, V_REJECT, V_DISCARD, V_COUNT };
enum stage { S_CONNECT, S_MAIL, S_RCPT, S_DATA, S_EOM, S_COUNT };
enum rkind { R_CONTINUE, R_ACCEPT, R_TEMPFAIL, R_REJECT, R_DISCARD,
	R_SKIP, R_SHUTDOWN };

static const char *const verdict_names[V_COUNT] = {
	"accept", "tempfail", "reject", "discard" };
static const char *const stage_names[S_COUNT] = {
	"connect", "mail", "rcpt", "data", "eom" };

struct header {
	char	*name;			/* header name, without the colon */
	char	*value;			/* value, without leading space */
};

struct umacro {
	int	 stage;			/* SMFIC_* command it goes with */
	char	*name;			/* "j" or "{name}" */
	char	*value;
};

struct opts {
	struct sockaddr_storage addr;	/* milter socket */
	socklen_t addrlen;
	unsigned long connections;	/* concurrent threads */
	unsigned long transactions;	/* total */
	unsigned long per_conn;		/* per milter connection, 0: all */
	unsigned long logins;		/* user<i>@bench.test to cycle */
	const char *login;		/* fixed login, or NULL */
	const char *from;		/* fixed MAIL FROM, or NULL */
	bool	 inbound;		/* no auth macros */
	const char *client_addr;	/* CONNECT address */
	unsigned long client_addrs;	/* cycle 10.0.x.y if nonzero */
	bool	 local;			/* connect as Postfix's sendmail(1)
					   submissions do: "localhost",
					   127.0.0.1, port 0 */
	unsigned long rcpts;		/* envelope recipients */
	unsigned long to;		/* addresses in To: */
	unsigned long body;		/* body bytes */
	bool	 vary_body;
	bool	 same_msgid;
	bool	 abort_after_eom;
	struct header *hdrs;		/* --header */
	size_t	 nhdrs;
	struct umacro *macros;		/* --macro */
	size_t	 nmacros;
	const char *qid_prefix;		/* --qid-prefix, or NULL */
	int	 timeout_ms;
	int	 writes;		/* WRITES_* */
	bool	 nodelay;		/* TCP_NODELAY on inet sockets */
	double	 duration_ms;		/* --duration, 0: N transactions */
	double	 interval_ms;		/* --interval, 0: none */
	bool	 json, quiet, verbose;
};

/* One reply texts ring entry; seq orders entries across workers. */
struct last_reply {
	unsigned long seq;
	char	 text[REPLY_TEXT];
};

struct stats {
	unsigned long verdicts[V_COUNT][S_COUNT];
	unsigned long quarantined;	/* transactions with SMFIR_QUARANTINE */
	unsigned long rcpt_refused;	/* individual recipients refused */
	unsigned long headers_added;	/* ADDHEADER + INSHEADER */
	unsigned long errors;
	unsigned long done;		/* transactions with a verdict */
	uint32_t *lat;			/* latency samples, microseconds */
	uint32_t *lat_t;		/* when each ended, ms after t_start */
	size_t	 nlat, lat_cap;
	uint32_t *err_t;		/* when each error happened (ms) */
	size_t	 nerr_t, err_cap;
	double	 first, last;		/* first connect, last reply (ms) */
	struct last_reply replies[LAST_REPLIES];
};

/* A milter connection with its input and output buffers. */
struct conn {
	int	 fd;
	unsigned char *in;		/* bytes in[in_off..in_len) unread */
	size_t	 in_cap, in_off, in_len;
	unsigned char *out;		/* packets not yet written */
	size_t	 out_cap, out_len, pkt_off;
	char	 err[ERR_LEN];		/* why the connection failed */
};

struct worker {
	pthread_t tid;
	unsigned long id;		/* 0..connections-1 */
	unsigned long share;		/* transactions id, id+C, ... */
	unsigned long k;		/* of them done or attempted */
	struct conn conn;		/* reused across sessions */
	struct stats st;
	/* The transaction being run (txn_prepare). */
	unsigned long g;		/* global transaction number */
	const char *auth;		/* login, NULL: no auth macros */
	char	 from[300], qid[24], msgid[96], subject[64], date[64];
	char	 login[64];
};

/* The state of one milter connection, as negotiated. */
struct session {
	struct worker *w;
	struct conn *c;
	uint32_t version, actions, proto;
	unsigned long index;		/* global session number */
	char	 client_addr[INET6_ADDRSTRLEN];
};

struct reply {
	enum rkind kind;
	bool	 quarantine;		/* EOM carried SMFIR_QUARANTINE */
};

static struct opts opt = {
	.connections = 4, .transactions = 1000, .logins = 1000,
	.client_addr = "127.0.0.1", .rcpts = 3, .to = 5, .body = 2048,
	.abort_after_eom = true, .timeout_ms = 10000,
};
static char *to_header;			/* built once, read-only */
static char *body_tmpl;			/* opt.body bytes, read-only */
static pthread_barrier_t start_barrier;
static atomic_ulong next_session;
static atomic_ulong errors_shown;
static atomic_bool negotiation_shown;
static atomic_ulong reply_seq;
static long run_stamp;			/* makes Message-IDs and queue ids
					   unique per run */
static double t_start;			/* monotonic ms when the run began */

/* fatal - report an unrecoverable start-up problem and exit */
__attribute__((format(printf, 1, 2), noreturn))
static void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("sluice-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* xrealloc - realloc or die */
static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		fatal("out of memory");
	return p;
}

/* errno_str - thread-safe strerror into buf */
static const char *
errno_str(int e, char *buf, size_t len)
{
	if (strerror_r(e, buf, len) != 0)
		snprintf(buf, len, "error %d", e);
	return buf;
}

/* now_ms - the monotonic clock, in milliseconds */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* be32 - read a big-endian 32-bit number */
static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* conn_fail - record why the connection failed; returns -1 */
__attribute__((format(printf, 2, 3)))
static int
conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* conn_wait - wait until fd is ready for events or the deadline passes */
static int
conn_wait(struct conn *c, short events, double dl, const char *doing)
{
	struct pollfd p;
	char eb[64];
	int ms, n;

	for (;;) {
		if ((ms = (int)ceil(dl - now_ms())) <= 0)
			return conn_fail(c, "timeout (%d ms) %s milter",
			    opt.timeout_ms, doing);
		p.fd = c->fd;
		p.events = events;
		p.revents = 0;
		if ((n = poll(&p, 1, ms)) > 0)
			return 0;	/* errors show up in recv/send */
		if (n < 0 && errno != EINTR)
			return conn_fail(c, "poll: %s",
			    errno_str(errno, eb, sizeof(eb)));
	}
}

/* conn_open - connect to the milter socket, waiting at most the timeout */
static int
conn_open(struct conn *c)
{
	struct timeval tv;
	double dl = now_ms() + opt.timeout_ms;
	socklen_t len = sizeof(int);
	char eb[64];
	int one = 1, e = 0;

	c->in_off = c->in_len = c->out_len = 0;
	c->err[0] = '\0';
	c->fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return conn_fail(c, "socket: %s",
		    errno_str(errno, eb, sizeof(eb)));
	if (opt.nodelay && opt.addr.ss_family != AF_UNIX)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	/* Bounds a blocking connect(2); reads and writes use poll. */
	tv.tv_sec = opt.timeout_ms / 1000;
	tv.tv_usec = (opt.timeout_ms % 1000) * 1000;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&opt.addr, opt.addrlen) == 0)
		return 0;
	if (errno != EINTR && errno != EINPROGRESS)
		return conn_fail(c, "connect: %s",
		    errno_str(errno, eb, sizeof(eb)));
	if (conn_wait(c, POLLOUT, dl, "connecting to") < 0)
		return -1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	return e == 0 ? 0 : conn_fail(c, "connect: %s",
	    errno_str(e, eb, sizeof(eb)));
}

/* conn_close - close the socket, keeping the buffers for the next one */
static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
}

/* conn_flush - write out every buffered packet */
static int
conn_flush(struct conn *c)
{
	double dl = now_ms() + opt.timeout_ms;
	size_t off = 0;
	ssize_t n;
	char eb[64];

	while (off < c->out_len) {
		n = send(c->fd, c->out + off, c->out_len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (conn_wait(c, POLLOUT, dl, "writing to") < 0)
				return -1;
		} else if (n < 0 && errno != EINTR) {
			return conn_fail(c, "write: %s",
			    errno_str(errno, eb, sizeof(eb)));
		}
	}
	c->out_len = 0;
	return 0;
}

/* conn_fill - have at least need unread input bytes, reading as needed */
static int
conn_fill(struct conn *c, size_t need, double dl)
{
	ssize_t n;
	char eb[64];

	while (c->in_len - c->in_off < need) {
		if (c->in_off + need > c->in_cap) {
			memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
			if (need > c->in_cap) {
				c->in_cap = need + 4096;
				c->in = xrealloc(c->in, c->in_cap);
			}
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len,
		    MSG_DONTWAIT);
		if (n > 0)
			c->in_len += (size_t)n;
		else if (n == 0)
			return conn_fail(c, "milter closed the connection");
		else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (conn_wait(c, POLLIN, dl, "reading from") < 0)
				return -1;
		} else if (errno != EINTR)
			return conn_fail(c, "read: %s",
			    errno_str(errno, eb, sizeof(eb)));
	}
	return 0;
}

/* pkt_read - flush, then read one packet; *data is valid until the next */
static int
pkt_read(struct conn *c, int *cmd, const unsigned char **data, size_t *len)
{
	double dl;
	uint32_t n;

	if (c->out_len > 0 && conn_flush(c) < 0)
		return -1;
	dl = now_ms() + opt.timeout_ms;
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	if (conn_fill(c, 4, dl) < 0)
		return -1;
	n = be32(c->in + c->in_off);
	if (n < 1 || n > REPLY_MAX_LEN)
		return conn_fail(c, "bad packet length %lu from milter",
		    (unsigned long)n);
	if (conn_fill(c, 4 + (size_t)n, dl) < 0)
		return -1;
	*cmd = c->in[c->in_off + 4];
	*data = c->in + c->in_off + 5;
	*len = n - 1;
	c->in_off += 4 + (size_t)n;
	return 0;
}

/* pkt_put - append bytes to the packet being built */
static void
pkt_put(struct conn *c, const void *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		c->out_cap = (c->out_len + n) * 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

/* pkt_put_str - append a string with its terminating NUL */
static void
pkt_put_str(struct conn *c, const char *s)
{
	pkt_put(c, s, strlen(s) + 1);
}

/* pkt_put_u32 - append a big-endian 32-bit number */
static void
pkt_put_u32(struct conn *c, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24),
	    (unsigned char)(v >> 16), (unsigned char)(v >> 8),
	    (unsigned char)v };

	pkt_put(c, b, 4);
}

/* pkt_begin - start a packet: room for the length, then the command */
static void
pkt_begin(struct conn *c, int cmd)
{
	unsigned char hdr[5] = { 0, 0, 0, 0, (unsigned char)cmd };

	c->pkt_off = c->out_len;
	pkt_put(c, hdr, sizeof(hdr));
}

/* pkt_end - fill in the length of the packet just built */
static int
pkt_end(struct conn *c)
{
	size_t len = c->out_len - c->pkt_off - 4;
	unsigned char *p = c->out + c->pkt_off;

	if (len - 1 > MILTER_MAX_DATA) {
		c->out_len = c->pkt_off;
		return conn_fail(c, "command '%c' too long (%zu bytes)",
		    p[4], len);
	}
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return opt.writes == WRITES_PACKET ? conn_flush(c) : 0;
}

/* strings_count - NUL-terminated strings in p[0..len), -1 if unterminated */
static int
strings_count(const unsigned char *p, size_t len)
{
	int n = 0;
	size_t i;

	if (len > 0 && p[len - 1] != '\0')
		return -1;
	for (i = 0; i < len; i++)
		n += p[i] == '\0';
	return n;
}

/* stats_reply_text - remember a refusal text (last LAST_REPLIES distinct) */
static void
stats_reply_text(struct stats *st, const char *text)
{
	struct last_reply *oldest = &st->replies[0];
	size_t i;

	for (i = 0; i < LAST_REPLIES; i++) {
		if (st->replies[i].seq != 0 &&
		    strcmp(st->replies[i].text, text) == 0) {
			oldest = &st->replies[i];
			break;
		}
		if (st->replies[i].seq < oldest->seq)
			oldest = &st->replies[i];
	}
	if (i == LAST_REPLIES)		/* new: replaces the oldest */
		snprintf(oldest->text, sizeof(oldest->text), "%s", text);
	oldest->seq = atomic_fetch_add(&reply_seq, 1) + 1;
}

/* reply_code - check an SMFIR_REPLYCODE text; tempfail or reject */
static int
reply_code(struct session *s, const unsigned char *d, size_t n,
    struct reply *r)
{
	char text[REPLY_TEXT];
	const char *t = (const char *)d;

	if (strings_count(d, n) != 1 || n < 4 || (t[0] != '4' && t[0] != '5')
	    || t[1] < '0' || t[1] > '9' || t[2] < '0' || t[2] > '9' ||
	    (t[3] != '\0' && t[3] != ' ' && t[3] != '-'))
		return conn_fail(s->c, "malformed reply code from milter");
	r->kind = t[0] == '4' ? R_TEMPFAIL : R_REJECT;
	if (n - 1 >= sizeof(text))	/* keep it, but show it was cut */
		snprintf(text, sizeof(text), "%.*s...",
		    (int)sizeof(text) - 4, t);
	else
		memcpy(text, t, n);
	stats_reply_text(&s->w->st, text);
	return (int)r->kind;
}

/* reply_modify - check and count one end-of-message modification request */
static int
reply_modify(struct session *s, int event, int cmd, const unsigned char *d,
    size_t n, struct reply *r)
{
	uint32_t need;
	int lo, hi, k;
	size_t skip = 0;

	switch (cmd) {
	case SMFIR_ADDHEADER: need = SMFIF_ADDHDRS; lo = hi = 2; break;
	case SMFIR_INSHEADER: need = SMFIF_ADDHDRS; lo = hi = 2; skip = 4;
		break;
	case SMFIR_CHGHEADER: need = SMFIF_CHGHDRS; lo = hi = 2; skip = 4;
		break;
	case SMFIR_ADDRCPT: need = SMFIF_ADDRCPT; lo = hi = 1; break;
	case SMFIR_DELRCPT: need = SMFIF_DELRCPT; lo = hi = 1; break;
	case SMFIR_ADDRCPT_PAR: need = SMFIF_ADDRCPT_PAR; lo = 1; hi = 2;
		break;
	case SMFIR_CHGFROM: need = SMFIF_CHGFROM; lo = 1; hi = 2; break;
	case SMFIR_QUARANTINE: need = SMFIF_QUARANTINE; lo = hi = 1; break;
	case SMFIR_REPLBODY: need = SMFIF_CHGBODY; lo = 0; hi = -1; break;
	case SMFIR_SETSYMLIST: need = SMFIF_SETSYMLIST; lo = 0; hi = -1;
		break;
	default:
		return conn_fail(s->c, "unexpected reply 0x%02x to '%c'",
		    cmd, event);
	}
	if (event != SMFIC_BODYEOB)
		return conn_fail(s->c, "modification '%c' outside end of "
		    "message (after '%c')", cmd, event);
	if ((s->actions & need) == 0)
		return conn_fail(s->c, "modification '%c' not negotiated "
		    "(actions 0x%lx)", cmd, (unsigned long)s->actions);
	if (hi >= 0 && (n < skip || (k = strings_count(d + skip, n - skip)) <
	    lo || k > hi))
		return conn_fail(s->c, "malformed modification '%c'", cmd);
	if (cmd == SMFIR_ADDHEADER || cmd == SMFIR_INSHEADER)
		s->w->st.headers_added++;
	if (cmd == SMFIR_QUARANTINE)
		r->quarantine = true;
	return 0;
}

/* reply_read - read the answer to event up to the decisive reply; its kind */
static int
reply_read(struct session *s, int event, struct reply *r)
{
	const unsigned char *d;
	size_t n;
	int cmd, count;

	for (count = 0;; count++) {
		if (count == MAX_PACKETS)	/* PROGRESS resets the timeout */
			return conn_fail(s->c, "over %d packets in reply to "
			    "'%c'", MAX_PACKETS, event);
		if (pkt_read(s->c, &cmd, &d, &n) < 0)
			return -1;
		switch (cmd) {
		case SMFIR_PROGRESS:
			continue;
		case SMFIR_CONTINUE: r->kind = R_CONTINUE; break;
		case SMFIR_ACCEPT: r->kind = R_ACCEPT; break;
		case SMFIR_DISCARD: r->kind = R_DISCARD; break;
		case SMFIR_SKIP: r->kind = R_SKIP; break;
		case SMFIR_SHUTDOWN:
		case SMFIR_CONN_FAIL:
			r->kind = R_SHUTDOWN;
			stats_reply_text(&s->w->st,
			    "421 4.7.0 Server closing connection");
			break;
		case SMFIR_TEMPFAIL:	/* the texts Postfix would use */
			r->kind = R_TEMPFAIL;
			stats_reply_text(&s->w->st,
			    "451 4.7.1 Service unavailable - try again later");
			break;
		case SMFIR_REJECT:
			r->kind = R_REJECT;
			stats_reply_text(&s->w->st, "550 5.7.1 Command rejected");
			break;
		case SMFIR_REPLYCODE:
			return reply_code(s, d, n, r);
		default:
			if (reply_modify(s, event, cmd, d, n, r) < 0)
				return -1;
			continue;
		}
		if (n != 0)
			return conn_fail(s->c, "reply '%c' with %zu data bytes",
			    cmd, n);
		if (r->kind == R_SKIP && event != SMFIC_BODY)
			return conn_fail(s->c, "SKIP in reply to '%c'", event);
		if (r->kind == R_DISCARD &&
		    (event == SMFIC_CONNECT || event == SMFIC_HELO))
			return conn_fail(s->c, "DISCARD in reply to '%c'", event);
		return (int)r->kind;
	}
}

/* step_reply - read the reply to a step unless skipped or no-reply */
static int
step_reply(struct session *s, int event, uint32_t no_flag, uint32_t nr_flag,
    struct reply *r)
{
	r->kind = R_CONTINUE;
	r->quarantine = false;
	if ((s->proto & (no_flag | nr_flag)) != 0)
		return R_CONTINUE;
	return reply_read(s, event, r);
}

/* macro_user - whether --macro sets name at stage (it wins over ours) */
static bool
macro_user(int stage, const char *name)
{
	size_t i;

	for (i = 0; i < opt.nmacros; i++)
		if (opt.macros[i].stage == stage &&
		    strcmp(opt.macros[i].name, name) == 0)
			return true;
	return false;
}

/* macro_send - queue the SMFIC_MACRO packet for stage: pairs plus --macro */
static int
macro_send(struct session *s, int stage, const char *const *pairs,
    size_t npairs)
{
	unsigned char st = (unsigned char)stage;
	size_t i, start = s->c->out_len;

	pkt_begin(s->c, SMFIC_MACRO);
	pkt_put(s->c, &st, 1);
	for (i = 0; i + 1 < npairs; i += 2) {
		if (pairs[i + 1] == NULL || macro_user(stage, pairs[i]))
			continue;
		pkt_put_str(s->c, pairs[i]);
		pkt_put_str(s->c, pairs[i + 1]);
	}
	for (i = 0; i < opt.nmacros; i++) {
		if (opt.macros[i].stage != stage)
			continue;
		pkt_put_str(s->c, opt.macros[i].name);
		pkt_put_str(s->c, opt.macros[i].value);
	}
	if (s->c->out_len == start + 6) {	/* nothing to define */
		s->c->out_len = start;
		return 0;
	}
	return pkt_end(s->c);
}

/* step_optneg - offer version 6, every action and step; take the answer */
static int
step_optneg(struct session *s)
{
	const unsigned char *d;
	size_t n, off, end;
	int cmd;

	pkt_begin(s->c, SMFIC_OPTNEG);
	pkt_put_u32(s->c, SMFI_PROT_VERSION);
	pkt_put_u32(s->c, MTA_ACTIONS);
	pkt_put_u32(s->c, MTA_PROTO);
	if (pkt_end(s->c) < 0 || pkt_read(s->c, &cmd, &d, &n) < 0)
		return -1;
	if (cmd != SMFIC_OPTNEG || n < 12)
		return conn_fail(s->c, "bad negotiation reply 0x%02x, %zu "
		    "bytes", cmd, n);
	s->version = be32(d);
	s->actions = be32(d + 4);
	s->proto = be32(d + 8);
	if (s->version < 2 || s->version > SMFI_PROT_VERSION)
		return conn_fail(s->c, "milter protocol version %lu",
		    (unsigned long)s->version);
	if ((s->actions & ~MTA_ACTIONS) != 0 || (s->proto & ~MTA_PROTO) != 0)
		return conn_fail(s->c, "milter asks for actions 0x%lx, "
		    "protocol 0x%lx, not offered",
		    (unsigned long)s->actions, (unsigned long)s->proto);
	if (!opt.verbose || atomic_exchange(&negotiation_shown, true))
		return 0;
	printf("negotiated: version %lu, actions 0x%03lx, protocol 0x%06lx\n",
	    (unsigned long)s->version, (unsigned long)s->actions,
	    (unsigned long)s->proto);
	/* Requested macros: (stage, "names\0") pairs; shown, not obeyed. */
	for (off = 12; n - off >= 4; off = end + 1) {
		for (end = off + 4; end < n && d[end] != '\0'; end++)
			continue;
		if (end >= n)
			break;
		printf("  macros for stage %lu: %s\n",
		    (unsigned long)be32(d + off), (const char *)d + off + 4);
	}
	return 0;
}

/* step_connect - report the client connection (SMFIC_CONNECT) */
static int
step_connect(struct session *s, struct reply *r)
{
	const char *name = opt.local ? "localhost" : "unknown";
	const char *m[] = { "j", MTA_NAME, "{daemon_name}", "sluice-bench",
	    "{client_addr}", s->client_addr, "{client_name}", name };
	unsigned char fam[3];
	unsigned port = opt.local ? 0 : 1024 + (unsigned)(s->index % 60000);

	if (macro_send(s, SMFIC_CONNECT, m, 8) < 0)
		return -1;
	if ((s->proto & SMFIP_NOCONNECT) == 0) {
		fam[0] = strchr(s->client_addr, ':') != NULL ? SMFIA_INET6 :
		    SMFIA_INET;
		fam[1] = (unsigned char)(port >> 8);
		fam[2] = (unsigned char)port;
		pkt_begin(s->c, SMFIC_CONNECT);
		pkt_put_str(s->c, name);
		pkt_put(s->c, fam, 3);
		pkt_put_str(s->c, s->client_addr);
		if (pkt_end(s->c) < 0)
			return -1;
	}
	return step_reply(s, SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN, r);
}

/* step_helo - report EHLO (SMFIC_HELO) */
static int
step_helo(struct session *s, struct reply *r)
{
	if (macro_send(s, SMFIC_HELO, NULL, 0) < 0)
		return -1;
	if ((s->proto & SMFIP_NOHELO) == 0) {
		pkt_begin(s->c, SMFIC_HELO);
		pkt_put_str(s->c, "client.bench.test");
		if (pkt_end(s->c) < 0)
			return -1;
	}
	return step_reply(s, SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, r);
}

/* step_mail - report MAIL FROM (SMFIC_MAIL) with the auth macros */
static int
step_mail(struct session *s, struct reply *r)
{
	struct worker *w = s->w;
	const char *m[] = { "i", w->qid, "{mail_addr}", w->from,
	    "{mail_mailer}", "smtp", "{auth_type}", w->auth ? "PLAIN" : NULL,
	    "{auth_authen}", w->auth };
	char arg[320], size[32];

	if (macro_send(s, SMFIC_MAIL, m, 10) < 0)
		return -1;
	if ((s->proto & SMFIP_NOMAIL) == 0) {
		snprintf(arg, sizeof(arg), "<%s>", w->from);
		snprintf(size, sizeof(size), "SIZE=%zu", opt.body + 512);
		pkt_begin(s->c, SMFIC_MAIL);
		pkt_put_str(s->c, arg);
		pkt_put_str(s->c, size);
		if (pkt_end(s->c) < 0)
			return -1;
	}
	return step_reply(s, SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL, r);
}

/* step_rcpt - report RCPT TO (SMFIC_RCPT) for recipient j */
static int
step_rcpt(struct session *s, unsigned long j, struct reply *r)
{
	char addr[64], arg[72];
	const char *m[] = { "{rcpt_addr}", addr, "{rcpt_host}", "dest.test",
	    "{rcpt_mailer}", "smtp", "i", opt.qid_prefix != NULL ? s->w->qid :
	    NULL };

	snprintf(addr, sizeof(addr), "rcpt%lu@dest.test", j + 1);
	snprintf(arg, sizeof(arg), "<%s>", addr);
	if (macro_send(s, SMFIC_RCPT, m, 8) < 0)
		return -1;
	if ((s->proto & SMFIP_NORCPT) == 0) {
		pkt_begin(s->c, SMFIC_RCPT);
		pkt_put_str(s->c, arg);
		if (pkt_end(s->c) < 0)
			return -1;
	}
	return step_reply(s, SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT, r);
}

/* step_bare - DATA, EOH or end of message: macro i, a command, no data */
static int
step_bare(struct session *s, int cmd, uint32_t no_flag, uint32_t nr_flag,
    struct reply *r)
{
	const char *m[] = { "i", s->w->qid };

	if (macro_send(s, cmd, m, 2) < 0)
		return -1;
	if ((s->proto & no_flag) == 0) {
		pkt_begin(s->c, cmd);
		if (pkt_end(s->c) < 0)
			return -1;
	}
	return step_reply(s, cmd, no_flag, nr_flag, r);
}

/* step_header - send one header (SMFIC_HEADER) */
static int
step_header(struct session *s, const char *name, const char *value,
    struct reply *r)
{
	const char *m[] = { "i", s->w->qid };

	if (macro_send(s, SMFIC_HEADER, m, 2) < 0)
		return -1;
	if ((s->proto & SMFIP_NOHDRS) == 0) {
		pkt_begin(s->c, SMFIC_HEADER);
		pkt_put_str(s->c, name);
		if (s->proto & SMFIP_HDR_LEADSPC)
			pkt_put(s->c, " ", 1);
		pkt_put_str(s->c, value);
		if (pkt_end(s->c) < 0)
			return -1;
	}
	return step_reply(s, SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR, r);
}

/* step_body - send one body chunk (SMFIC_BODY) */
static int
step_body(struct session *s, size_t off, size_t len, struct reply *r)
{
	const char *m[] = { "i", s->w->qid };
	char tag[32];
	size_t t;

	if (macro_send(s, SMFIC_BODY, m, 2) < 0)
		return -1;
	if ((s->proto & SMFIP_NOBODY) == 0) {
		if (s->c->out_len > OUT_FLUSH_AT && conn_flush(s->c) < 0)
			return -1;
		pkt_begin(s->c, SMFIC_BODY);
		pkt_put(s->c, body_tmpl + off, len);
		if (off == 0 && opt.vary_body) {	/* overwrite the start */
			t = (size_t)snprintf(tag, sizeof(tag), "txn %lu ",
			    s->w->g);
			memcpy(s->c->out + s->c->pkt_off + 5, tag,
			    t < len ? t : len);
		}
		if (pkt_end(s->c) < 0)
			return -1;
	}
	return step_reply(s, SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY, r);
}

/* step_simple - queue a command that has no data and gets no reply */
static int
step_simple(struct session *s, int cmd)
{
	pkt_begin(s->c, cmd);
	return pkt_end(s->c);
}

/* txn_prepare - fill in the worker's per-transaction strings for g */
static void
txn_prepare(struct worker *w, unsigned long g)
{
	struct tm tm;
	time_t t = time(NULL);

	w->g = g;
	if (opt.inbound)
		w->auth = NULL;
	else if (opt.login != NULL)
		w->auth = opt.login;
	else {
		snprintf(w->login, sizeof(w->login), "user%lu@bench.test",
		    g % opt.logins);
		w->auth = w->login;
	}
	snprintf(w->from, sizeof(w->from), "%s", opt.from != NULL ? opt.from :
	    w->auth != NULL && strchr(w->auth, '@') != NULL ? w->auth :
	    "bench@bench.test");
	/* unique per run too, like an MTA's: sluice keys its txn on it */
	if (opt.qid_prefix != NULL)
		snprintf(w->qid, sizeof(w->qid), "%s%010lX", opt.qid_prefix,
		    g + 1);
	else
		snprintf(w->qid, sizeof(w->qid), "%06lX%010lX",
		    (unsigned long)run_stamp & 0xffffff, g + 1);
	if (opt.same_msgid)
		snprintf(w->msgid, sizeof(w->msgid), "<bench@bench.test>");
	else
		snprintf(w->msgid, sizeof(w->msgid), "<%lu.%ld@bench.test>",
		    g, run_stamp);
	snprintf(w->subject, sizeof(w->subject), "sluice-bench message %lu",
	    g);
	gmtime_r(&t, &tm);
	strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* txn_end - record a transaction's verdict and latency, queue ABORT */
static int
txn_end(struct session *s, const struct reply *r, enum stage stage,
    double t0, bool early)
{
	static const enum verdict v[] = { [R_CONTINUE] = V_ACCEPT,
	    [R_ACCEPT] = V_ACCEPT, [R_TEMPFAIL] = V_TEMPFAIL,
	    [R_REJECT] = V_REJECT, [R_DISCARD] = V_DISCARD,
	    [R_SKIP] = V_ACCEPT, [R_SHUTDOWN] = V_TEMPFAIL };
	struct stats *st = &s->w->st;
	double us;

	st->last = now_ms();
	us = (st->last - t0) * 1e3;
	if (st->nlat == st->lat_cap) {	/* --duration: no fixed share */
		st->lat_cap = st->lat_cap * 2 + 1024;
		st->lat = xrealloc(st->lat, st->lat_cap * sizeof(uint32_t));
		st->lat_t = xrealloc(st->lat_t, st->lat_cap * sizeof(uint32_t));
	}
	st->lat_t[st->nlat] = (uint32_t)(st->last - t_start);
	st->lat[st->nlat++] = us >= UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	st->verdicts[v[r->kind]][stage]++;
	st->quarantined += r->quarantine;
	st->done++;
	if ((early || opt.abort_after_eom) && step_simple(s, SMFIC_ABORT) < 0)
		return -1;
	return r->kind == R_SHUTDOWN ? 1 : 0;
}

/* txn_content - DATA, headers, EOH, body: the kind that ended it, or -1 */
static int
txn_content(struct session *s, struct reply *r)
{
	struct worker *w = s->w;
	const char *fixed[] = { "From", w->from, "To", to_header, "Subject",
	    w->subject, "Message-ID", w->msgid, "Date", w->date };
	size_t i, off, len;
	int k;

	if ((k = step_bare(s, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, r))
	    != R_CONTINUE)
		return k;
	/* Postfix's smtpd flushes here, handing the milter to cleanup */
	if (opt.writes == WRITES_POSTFIX && s->c->out_len > 0 &&
	    conn_flush(s->c) < 0)
		return -1;
	for (i = 0; i < 10; i += 2)
		if ((k = step_header(s, fixed[i], fixed[i + 1], r)) !=
		    R_CONTINUE)
			return k;
	for (i = 0; i < opt.nhdrs; i++)
		if ((k = step_header(s, opt.hdrs[i].name, opt.hdrs[i].value,
		    r)) != R_CONTINUE)
			return k;
	if ((k = step_bare(s, SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, r)) !=
	    R_CONTINUE)
		return k;
	for (off = 0; off < opt.body; off += len) {
		len = opt.body - off;
		if (len > MILTER_CHUNK_SIZE)
			len = MILTER_CHUNK_SIZE;
		if ((k = step_body(s, off, len, r)) == R_SKIP)
			break;		/* the milter has seen enough */
		if (k != R_CONTINUE)
			return k;
	}
	return R_CONTINUE;
}

/* txn_run - one transaction, MAIL to verdict; 1: the session must end */
static int
txn_run(struct session *s, unsigned long g)
{
	struct reply r, refusal = { R_REJECT, false };
	double t0;
	unsigned long j, refused = 0;
	int k;

	txn_prepare(s->w, g);
	t0 = now_ms();
	if ((k = step_mail(s, &r)) != R_CONTINUE)
		return k < 0 ? -1 : txn_end(s, &r, S_MAIL, t0, true);
	for (j = 0; j < opt.rcpts; j++) {
		if ((k = step_rcpt(s, j, &r)) < 0)
			return -1;
		if (k == R_TEMPFAIL || k == R_REJECT) {
			s->w->st.rcpt_refused++;
			refused++;
			if (k == R_TEMPFAIL)	/* any 4xx: retryable */
				refusal.kind = R_TEMPFAIL;
		} else if (k != R_CONTINUE)
			return txn_end(s, &r, S_RCPT, t0, true);
	}
	if (refused == opt.rcpts)
		return txn_end(s, &refusal, S_RCPT, t0, true);
	if ((k = txn_content(s, &r)) != R_CONTINUE)
		return k < 0 ? -1 : txn_end(s, &r, S_DATA, t0, true);
	if ((k = step_bare(s, SMFIC_BODYEOB, 0, 0, &r)) < 0)
		return -1;
	if (k == R_SKIP)
		return conn_fail(s->c, "SKIP at end of message");
	return txn_end(s, &r, S_EOM, t0, false);
}

/* time_up - --duration and the run has lasted that long */
static bool
time_up(void)
{
	return opt.duration_ms > 0 && now_ms() - t_start >= opt.duration_ms;
}

/* session_run - one milter connection: negotiate, connect, transactions */
static int
session_run(struct worker *w, unsigned long limit)
{
	struct session s = { .w = w, .c = &w->conn };
	struct reply r;
	unsigned long i, x;
	int rc = 0, k;

	s.index = atomic_fetch_add(&next_session, 1);
	if (opt.client_addrs > 0) {
		x = s.index % opt.client_addrs;
		snprintf(s.client_addr, sizeof(s.client_addr), "10.0.%lu.%lu",
		    x / 254, x % 254 + 1);
	} else
		snprintf(s.client_addr, sizeof(s.client_addr), "%s",
		    opt.client_addr);
	if (conn_open(s.c) < 0 || step_optneg(&s) < 0 ||
	    (k = step_connect(&s, &r)) < 0 ||
	    (k == R_CONTINUE && (k = step_helo(&s, &r)) < 0)) {
		conn_close(s.c);
		return -1;
	}
	if (k != R_CONTINUE) {
		/* Refused (or accepted) for the whole connection: so is
		 * every transaction an MTA would try on it. */
		x = k == R_ACCEPT ? V_ACCEPT : k == R_REJECT ? V_REJECT :
		    V_TEMPFAIL;
		w->st.verdicts[x][S_CONNECT] += limit;
		w->st.done += limit;
		w->st.last = now_ms();
		w->k += limit;
	}
	for (i = 0; k == R_CONTINUE && i < limit && rc == 0 && !time_up();
	    i++) {
		if ((rc = txn_run(&s, w->id + w->k * opt.connections)) < 0)
			break;
		w->k++;
	}
	if (rc >= 0 && step_simple(&s, SMFIC_QUIT) == 0)
		(void)conn_flush(s.c);	/* the milter may have gone */
	conn_close(s.c);
	return rc < 0 ? -1 : 0;
}

/* worker_main - thread: run sessions until this worker's share is done */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct stats *st = &w->st;
	unsigned long left;

	pthread_barrier_wait(&start_barrier);
	st->first = now_ms();
	while (opt.duration_ms > 0 ? !time_up() : w->k < w->share) {
		left = opt.duration_ms > 0 ? 1000 : w->share - w->k;
		if (opt.per_conn > 0 && left > opt.per_conn)
			left = opt.per_conn;
		if (session_run(w, left) == 0)
			continue;
		st->errors++;
		if (atomic_fetch_add(&errors_shown, 1) < ERRORS_SHOWN)
			fprintf(stderr, "sluice-bench: connection %lu, after "
			    "%lu transactions: %s\n", w->id, w->k,
			    w->conn.err);
		if (opt.duration_ms == 0)
			break;
		/* a soak goes on: note when, open a new connection */
		if (st->nerr_t == st->err_cap) {
			st->err_cap = st->err_cap * 2 + 16;
			st->err_t = xrealloc(st->err_t, st->err_cap *
			    sizeof(uint32_t));
		}
		st->err_t[st->nerr_t++] = (uint32_t)(now_ms() - t_start);
		(void)poll(NULL, 0, 100);
	}
	return NULL;
}

/* usage - print the synopsis and exit with status */
static void
usage(FILE *fp, int status)
{
	fprintf(fp,
"usage: sluice-bench -s SOCKET [options]\n"
"  -s, --socket SPEC          inet:PORT[@HOST], inet6:PORT[@HOST], unix:PATH,\n"
"                             local:PATH (required)\n"
"  -c, --connections N        concurrent connections (threads) [4]\n"
"  -n, --transactions N       total transactions [1000]\n"
"      --per-connection M     transactions per milter connection, then\n"
"                             reconnect [all]; without -n: N = connections*M\n"
"  -l, --logins N             cycle {auth_authen} user<i>@bench.test [1000]\n"
"      --login NAME           one fixed login\n"
"      --inbound              no auth macros at all\n"
"      --from ADDR            MAIL FROM [the login, or bench@bench.test]\n"
"      --client-addr A        client address in CONNECT [127.0.0.1]\n"
"      --client-addrs N       cycle N client addresses 10.0.x.y\n"
"      --local-submission     connect as Postfix does for sendmail(1) mail\n"
"                             (non_smtpd_milters): localhost, port 0\n"
"  -r, --recipients K         envelope recipients per message [3]\n"
"  -t, --to H                 addresses in the To: header [5]\n"
"  -b, --body B               body bytes [2048]\n"
"      --vary-body            make each body different\n"
"      --same-message-id      one Message-ID for every message\n"
"      --header 'Name: value' extra header (repeatable)\n"
"      --qid-prefix P         queue ids P0000000001... (unique per run), sent\n"
"                             at RCPT too, as Postfix does\n"
"      --macro STAGE:NAME=VALUE  extra macro (repeatable); STAGE is connect,\n"
"                             helo, mail, rcpt, data, eoh or eom\n"
"      --no-abort-after-eom   no ABORT after the end-of-message reply\n"
"      --timeout SECONDS      limit on every connect, write and reply [10]\n"
"      --writes MODE          postfix: as Postfix 3.7 (one write per reply\n"
"                             awaited, DATA's macros alone); stage: one per\n"
"                             reply awaited; packet: one per packet [postfix]\n"
"      --nodelay              TCP_NODELAY on inet sockets (Postfix: no)\n"
"      --duration SECONDS     run this long instead of -n; a failed\n"
"                             connection is counted and opened again\n"
"      --interval SECONDS     JSON: figures per interval too (with --json)\n"
"      --json                 also print one JSON line of results\n"
"  -q, --quiet                print only the JSON line (or one summary line)\n"
"  -v, --verbose              show what the first connection negotiated\n"
"  -h, --help                 this text\n");
	exit(status);
}

/* parse_num - strict unsigned number in [lo, hi], or usage */
static unsigned long
parse_num(const char *s, const char *what, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '-' || *s == '\0' || *end != '\0' || errno != 0 || v < lo ||
	    v > hi) {
		fprintf(stderr, "sluice-bench: %s must be %lu..%lu: %s\n", what,
		    lo, hi, s);
		usage(stderr, 2);
	}
	return v;
}

/* parse_socket - resolve a milter socket spec into opt.addr */
static void
parse_socket(char *spec)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&opt.addr;
	static char v4[] = "127.0.0.1", v6[] = "::1";
	struct addrinfo hints, *res;
	char *port, *host, *end;
	int fam, e;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		port = spec + (spec[0] == 'u' ? 5 : 6);
		if (*port == '\0' || strlen(port) >= sizeof(un->sun_path))
			goto bad;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, port, strlen(port) + 1);
		opt.addrlen = sizeof(*un);
		return;
	}
	if (strncmp(spec, "inet:", 5) == 0) {
		fam = AF_INET;
		port = spec + 5;
	} else if (strncmp(spec, "inet6:", 6) == 0) {
		fam = AF_INET6;
		port = spec + 6;
	} else
		goto bad;
	if ((host = strchr(port, '@')) != NULL)
		*host++ = '\0';
	else
		host = fam == AF_INET ? v4 : v6;
	if (*host == '[' && (end = strchr(host, ']')) != NULL && end[1] == 0) {
		host++;
		*end = '\0';
	}
	(void)parse_num(port, "port", 1, 65535);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = fam;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "sluice-bench: %s: %s\n", host,
		    gai_strerror(e));
		usage(stderr, 2);
	}
	memcpy(&opt.addr, res->ai_addr, res->ai_addrlen);
	opt.addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return;
bad:
	fprintf(stderr, "sluice-bench: bad socket: %s\n", spec);
	usage(stderr, 2);
}

/* parse_header - --header 'Name: value' */
static void
parse_header(char *arg)
{
	char *colon = strchr(arg, ':');
	struct header *h;

	if (colon == NULL || colon == arg || strcspn(arg, " \t") <
	    (size_t)(colon - arg) || strlen(arg) > 60000) {
		fprintf(stderr, "sluice-bench: bad header: %s\n", arg);
		usage(stderr, 2);
	}
	*colon++ = '\0';
	opt.hdrs = xrealloc(opt.hdrs, (opt.nhdrs + 1) * sizeof(*opt.hdrs));
	h = &opt.hdrs[opt.nhdrs++];
	h->name = arg;
	h->value = colon + (*colon == ' ');
}

/* parse_macro - --macro STAGE:NAME=VALUE */
static void
parse_macro(char *arg)
{
	static const struct { const char *name; int cmd; } stages[] = {
		{ "connect", SMFIC_CONNECT }, { "helo", SMFIC_HELO },
		{ "mail", SMFIC_MAIL }, { "rcpt", SMFIC_RCPT },
		{ "data", SMFIC_DATA }, { "eoh", SMFIC_EOH },
		{ "eom", SMFIC_BODYEOB } };
	char *colon = strchr(arg, ':'), *eq;
	struct umacro *m;
	size_t i;

	if (colon == NULL || (eq = strchr(colon, '=')) == NULL ||
	    eq == colon + 1 || strlen(eq) > 4096)
		goto bad;
	*colon = *eq = '\0';
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if (strcmp(arg, stages[i].name) == 0)
			break;
	if (i == sizeof(stages) / sizeof(stages[0]))
		goto bad;
	opt.macros = xrealloc(opt.macros, (opt.nmacros + 1) *
	    sizeof(*opt.macros));
	m = &opt.macros[opt.nmacros++];
	m->stage = stages[i].cmd;
	m->name = colon + 1;
	m->value = eq + 1;
	return;
bad:
	fprintf(stderr, "sluice-bench: bad macro (STAGE:NAME=VALUE)\n");
	usage(stderr, 2);
}

/* parse_args - options into opt; usage (exit 2) on anything wrong */
static void
parse_args(int argc, char **argv)
{
	enum { O_PERCONN = 256, O_LOGIN, O_INBOUND, O_CADDR, O_CADDRS,
	    O_VARY, O_SAMEID, O_HEADER, O_MACRO, O_NOABORT, O_TIMEOUT,
	    O_JSON, O_LOCAL, O_QID, O_FROM, O_WRITES, O_NODELAY, O_DURATION,
	    O_INTERVAL };
	static const struct option lopts[] = {
		{ "socket", 1, NULL, 's' }, { "connections", 1, NULL, 'c' },
		{ "transactions", 1, NULL, 'n' },
		{ "per-connection", 1, NULL, O_PERCONN },
		{ "logins", 1, NULL, 'l' }, { "login", 1, NULL, O_LOGIN },
		{ "inbound", 0, NULL, O_INBOUND },
		{ "from", 1, NULL, O_FROM },
		{ "client-addr", 1, NULL, O_CADDR },
		{ "client-addrs", 1, NULL, O_CADDRS },
		{ "local-submission", 0, NULL, O_LOCAL },
		{ "recipients", 1, NULL, 'r' }, { "to", 1, NULL, 't' },
		{ "body", 1, NULL, 'b' }, { "vary-body", 0, NULL, O_VARY },
		{ "same-message-id", 0, NULL, O_SAMEID },
		{ "header", 1, NULL, O_HEADER }, { "macro", 1, NULL, O_MACRO },
		{ "qid-prefix", 1, NULL, O_QID },
		{ "no-abort-after-eom", 0, NULL, O_NOABORT },
		{ "timeout", 1, NULL, O_TIMEOUT }, { "json", 0, NULL, O_JSON },
		{ "writes", 1, NULL, O_WRITES },
		{ "nodelay", 0, NULL, O_NODELAY },
		{ "duration", 1, NULL, O_DURATION },
		{ "interval", 1, NULL, O_INTERVAL },
		{ "quiet", 0, NULL, 'q' }, { "verbose", 0, NULL, 'v' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	static const struct {
		int	 ch;
		const char *name;
		unsigned long *dst, lo, hi;
	} nums[] = {
		{ 'c', "connections", &opt.connections, 1, 100000 },
		{ 'n', "transactions", &opt.transactions, 1, MAX_TXNS },
		{ O_PERCONN, "per-connection", &opt.per_conn, 1, MAX_TXNS },
		{ 'l', "logins", &opt.logins, 1, 1000000000 },
		{ O_CADDRS, "client-addrs", &opt.client_addrs, 1, 256 * 254 },
		{ 'r', "recipients", &opt.rcpts, 1, 10000 },
		{ 't', "to", &opt.to, 0, 2000 },
		{ 'b', "body", &opt.body, 0, 1024 * 1024 * 1024 } };
	unsigned char a6[16];
	bool have_sock = false, have_n = false;
	char *end;
	double t;
	size_t i;
	int ch;

	while ((ch = getopt_long(argc, argv, "s:c:n:l:r:t:b:qvh", lopts,
	    NULL)) != -1) {
		for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
			if (nums[i].ch == ch)
				*nums[i].dst = parse_num(optarg, nums[i].name,
				    nums[i].lo, nums[i].hi);
		switch (ch) {
		case 's': parse_socket(optarg); have_sock = true; break;
		case 'n': have_n = true; break;
		case O_LOGIN:
			if (*optarg == '\0' || strlen(optarg) > 256) {
				fprintf(stderr, "sluice-bench: bad login\n");
				usage(stderr, 2);
			}
			opt.login = optarg;
			break;
		case O_INBOUND: opt.inbound = true; break;
		case O_FROM:
			if (strlen(optarg) > 256 || strpbrk(optarg, "<> \r\n")) {
				fprintf(stderr, "sluice-bench: bad --from\n");
				usage(stderr, 2);
			}
			opt.from = optarg;
			break;
		case O_LOCAL: opt.local = true; break;
		case O_CADDR:
			if (inet_pton(AF_INET, optarg, a6) != 1 &&
			    inet_pton(AF_INET6, optarg, a6) != 1) {
				fprintf(stderr, "sluice-bench: bad client "
				    "address: %s\n", optarg);
				usage(stderr, 2);
			}
			opt.client_addr = optarg;
			break;
		case O_VARY: opt.vary_body = true; break;
		case O_SAMEID: opt.same_msgid = true; break;
		case O_HEADER: parse_header(optarg); break;
		case O_MACRO: parse_macro(optarg); break;
		case O_QID:
			if (*optarg == '\0' || strlen(optarg) > 8 ||
			    strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789") !=
			    strlen(optarg)) {
				fprintf(stderr, "sluice-bench: --qid-prefix: "
				    "1 to 8 letters or digits\n");
				usage(stderr, 2);
			}
			opt.qid_prefix = optarg;
			break;
		case O_NOABORT: opt.abort_after_eom = false; break;
		case O_TIMEOUT:
			t = strtod(optarg, &end);
			if (*end != '\0' || !(t >= 0.001 && t <= 3600)) {
				fprintf(stderr, "sluice-bench: timeout must "
				    "be 0.001..3600 seconds\n");
				usage(stderr, 2);
			}
			opt.timeout_ms = (int)(t * 1000);
			break;
		case O_WRITES:
			if (strcmp(optarg, "postfix") == 0)
				opt.writes = WRITES_POSTFIX;
			else if (strcmp(optarg, "stage") == 0)
				opt.writes = WRITES_STAGE;
			else if (strcmp(optarg, "packet") == 0)
				opt.writes = WRITES_PACKET;
			else {
				fprintf(stderr, "sluice-bench: --writes postfix, "
				    "stage or packet\n");
				usage(stderr, 2);
			}
			break;
		case O_NODELAY: opt.nodelay = true; break;
		case O_DURATION:
		case O_INTERVAL:
			t = strtod(optarg, &end);
			if (*end != '\0' || !(t >= 0.1 && t <= 86400 * 7)) {
				fprintf(stderr, "sluice-bench: --%s must be "
				    "0.1..604800 seconds\n", ch == O_DURATION ?
				    "duration" : "interval");
				usage(stderr, 2);
			}
			*(ch == O_DURATION ? &opt.duration_ms :
			    &opt.interval_ms) = t * 1000;
			break;
		case O_JSON: opt.json = true; break;
		case 'q': opt.quiet = true; break;
		case 'v': opt.verbose = true; break;
		case 'h': usage(stdout, 0); break;
		case 'c': case 'l': case 'r': case 't': case 'b': case O_PERCONN:
		case O_CADDRS: break;
		default: usage(stderr, 2);
		}
	}
	if (!have_sock || optind != argc)
		usage(stderr, 2);
	if (opt.per_conn > 0 && !have_n) {
		if (opt.per_conn > MAX_TXNS / opt.connections) {
			fprintf(stderr, "sluice-bench: more than %lu "
			    "transactions\n", MAX_TXNS);
			usage(stderr, 2);
		}
		opt.transactions = opt.per_conn * opt.connections;
	}
	if (opt.duration_ms == 0 && opt.connections > opt.transactions)
		opt.connections = opt.transactions;
}

/* build_fixed - the To: header and the body, shared by every message */
static void
build_fixed(void)
{
	size_t len = 0, cap = opt.to * 40 + 1, i;
	unsigned long j;

	to_header = xrealloc(NULL, cap);
	to_header[0] = '\0';
	for (j = 0; j < opt.to; j++)	/* folded after every 4 addresses */
		len += (size_t)snprintf(to_header + len, cap - len,
		    "%srcpt%lu@dest.test", j == 0 ? "" : j % 4 ? ", " :
		    ",\n\t", j + 1);
	body_tmpl = xrealloc(NULL, opt.body);
	for (i = 0; i < opt.body; i++)	/* 76 letters and CRLF a line */
		body_tmpl[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' :
		    (char)('a' + (i / 78 + i % 78) % 26);
	if (opt.body >= 2) {
		body_tmpl[opt.body - 2] = '\r';
		body_tmpl[opt.body - 1] = '\n';
	}
}

/* cmp_u32 - qsort order for latency samples */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* pct_ms - nearest-rank percentile of sorted samples, in milliseconds */
static double
pct_ms(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)n + 0.999999);
	return v[i == 0 ? 0 : i > n ? n - 1 : i - 1] / 1000.0;
}

/* json_str - print s as a JSON string */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned)(unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* report_replies - the most recent distinct refusal texts of all workers */
static size_t
report_replies(struct worker *ws, unsigned long nw,
    const struct last_reply **last)
{
	const struct last_reply *best, *r;
	size_t n = 0, i, k;
	unsigned long w;

	for (n = 0; n < LAST_REPLIES; n++) {
		best = NULL;
		for (w = 0; w < nw; w++)
			for (i = 0; i < LAST_REPLIES; i++) {
				r = &ws[w].st.replies[i];
				for (k = 0; k < n; k++)
					if (strcmp(last[k]->text, r->text) == 0)
						break;
				if (r->seq != 0 && k == n &&
				    (best == NULL || r->seq > best->seq))
					best = r;
			}
		if (best == NULL)
			break;
		last[n] = best;
	}
	return n;
}

/* report_intervals - per --interval: transactions/s, p50, p99, errors */
static void
report_intervals(struct worker *ws, unsigned long nw)
{
	size_t nb, b, i, total = 0, *cnt, *off, *fill;
	unsigned long *errs, w;
	uint32_t *v;
	double span = 0;

	for (w = 0; w < nw; w++) {
		total += ws[w].st.nlat;
		for (i = 0; i < ws[w].st.nlat; i++)
			if (ws[w].st.lat_t[i] > span)
				span = ws[w].st.lat_t[i];
	}
	if (opt.duration_ms > 0)	/* what ends after it: the last one */
		span = opt.duration_ms;
	nb = (size_t)ceil(span / opt.interval_ms);
	if (nb == 0)
		nb = 1;
	cnt = xrealloc(NULL, nb * sizeof(*cnt));
	off = xrealloc(NULL, nb * sizeof(*off));
	fill = xrealloc(NULL, nb * sizeof(*fill));
	errs = xrealloc(NULL, nb * sizeof(*errs));
	v = xrealloc(NULL, (total + 1) * sizeof(*v));
	memset(cnt, 0, nb * sizeof(*cnt));
	memset(errs, 0, nb * sizeof(*errs));
#define BUCKET(ms) ((size_t)((ms) / opt.interval_ms) < nb ? \
	(size_t)((ms) / opt.interval_ms) : nb - 1)
	for (w = 0; w < nw; w++) {
		for (i = 0; i < ws[w].st.nlat; i++)
			cnt[BUCKET(ws[w].st.lat_t[i])]++;
		for (i = 0; i < ws[w].st.nerr_t; i++)
			errs[BUCKET(ws[w].st.err_t[i])]++;
	}
	for (b = 0, i = 0; b < nb; i += cnt[b++])
		off[b] = fill[b] = i;
	for (w = 0; w < nw; w++)
		for (i = 0; i < ws[w].st.nlat; i++) {
			b = BUCKET(ws[w].st.lat_t[i]);
			v[fill[b]++] = ws[w].st.lat[i];
		}
#undef BUCKET
	printf(",\"interval_s\":%.3f,\"intervals\":[", opt.interval_ms / 1e3);
	for (b = 0; b < nb; b++) {
		qsort(v + off[b], cnt[b], sizeof(*v), cmp_u32);
		printf("%s{\"end_s\":%.3f,\"transactions\":%zu,\"tps\":%.1f,"
		    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
		    "\"errors\":%lu}", b > 0 ? "," : "",
		    (double)(b + 1) * opt.interval_ms / 1e3, cnt[b],
		    (double)cnt[b] * 1e3 / opt.interval_ms,
		    pct_ms(v + off[b], cnt[b], .5),
		    pct_ms(v + off[b], cnt[b], .99),
		    pct_ms(v + off[b], cnt[b], 1), errs[b]);
	}
	putchar(']');
	free(v);
	free(errs);
	free(fill);
	free(off);
	free(cnt);
}

/* report - merge the workers' statistics and print them */
static void
report(struct worker *ws, unsigned long nw)
{
	const struct last_reply *last[LAST_REPLIES];
	struct stats t, *s;
	unsigned long w, v[V_COUNT] = { 0 }, refused[S_COUNT] = { 0 };
	size_t nlast, i, j;
	double secs, tps, p50, p99, p999, max;

	memset(&t, 0, sizeof(t));
	for (w = 0, i = 0; w < nw; w++)
		i += ws[w].st.nlat;
	t.lat = xrealloc(NULL, (i + 1) * sizeof(uint32_t));
	for (w = 0; w < nw; w++) {
		s = &ws[w].st;
		for (i = 0; i < V_COUNT; i++)
			for (j = 0; j < S_COUNT; j++)
				t.verdicts[i][j] += s->verdicts[i][j];
		t.quarantined += s->quarantined;
		t.rcpt_refused += s->rcpt_refused;
		t.headers_added += s->headers_added;
		t.errors += s->errors;
		t.done += s->done;
		memcpy(t.lat + t.nlat, s->lat, s->nlat * sizeof(uint32_t));
		t.nlat += s->nlat;
		if (w == 0 || s->first < t.first)
			t.first = s->first;
		if (s->done > 0 && s->last > t.last)
			t.last = s->last;
	}
	nlast = report_replies(ws, nw, last);
	for (i = 0; i < V_COUNT; i++)
		for (j = 0; j < S_COUNT; j++) {
			v[i] += t.verdicts[i][j];
			if (i == V_TEMPFAIL || i == V_REJECT)
				refused[j] += t.verdicts[i][j];
		}
	qsort(t.lat, t.nlat, sizeof(uint32_t), cmp_u32);
	p50 = pct_ms(t.lat, t.nlat, .5);
	p99 = pct_ms(t.lat, t.nlat, .99);
	p999 = pct_ms(t.lat, t.nlat, .999);
	max = pct_ms(t.lat, t.nlat, 1);
	secs = t.done > 0 ? (t.last - t.first) / 1e3 : 0;
	tps = secs > 0 ? (double)t.done / secs : 0;

	if (!opt.quiet) {
		printf("%lu transactions on %lu connections in %.3f s: "
		    "%.1f transactions/s\n", t.done, nw, secs, tps);
		if (opt.duration_ms == 0 && t.done < opt.transactions)
			printf("not run: %lu (after errors)\n",
			    opt.transactions - t.done);
		printf("latency ms:  p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f"
		    "\n", p50, p99, p999, max);
		printf("verdicts:    accept %lu  tempfail %lu  reject %lu  "
		    "discard %lu  quarantined %lu\n", v[V_ACCEPT],
		    v[V_TEMPFAIL], v[V_REJECT], v[V_DISCARD], t.quarantined);
		for (i = 0; i < V_COUNT; i++) {
			if (v[i] == 0)
				continue;
			printf("  %-8s by stage:", verdict_names[i]);
			for (j = 0; j < S_COUNT; j++)
				printf(" %s %lu", stage_names[j],
				    t.verdicts[i][j]);
			putchar('\n');
		}
		printf("refused recipients %lu, headers added %lu, errors %lu\n",
		    t.rcpt_refused, t.headers_added, t.errors);
		for (i = 0; i < nlast; i++)
			printf("%s %s\n", i == 0 ? "replies:" : "        ",
			    last[i]->text);
	} else if (!opt.json)
		printf("tps %.1f p50 %.3f p99 %.3f accept %lu tempfail %lu "
		    "reject %lu errors %lu\n", tps, p50, p99, v[V_ACCEPT],
		    v[V_TEMPFAIL], v[V_REJECT], t.errors);
	if (opt.json) {
		printf("{\"connections\":%lu,\"transactions\":%lu,\"tps\":%.1f,"
		    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
		    "\"max_ms\":%.3f,\"accept\":%lu,\"tempfail\":%lu,"
		    "\"reject\":%lu,\"discard\":%lu,\"quarantine\":%lu,"
		    "\"mail_refused\":%lu,\"rcpt_refused\":%lu,"
		    "\"eom_refused\":%lu,\"headers_added\":%lu,\"errors\":%lu,"
		    "\"connect_refused\":%lu,\"data_refused\":%lu,"
		    "\"recipients_refused\":%lu,\"not_run\":%lu,"
		    "\"seconds\":%.3f,\"replies\":[", nw, t.done, tps, p50,
		    p99, p999, max, v[V_ACCEPT], v[V_TEMPFAIL], v[V_REJECT],
		    v[V_DISCARD], t.quarantined, refused[S_MAIL],
		    refused[S_RCPT], refused[S_EOM], t.headers_added, t.errors,
		    refused[S_CONNECT], refused[S_DATA], t.rcpt_refused,
		    opt.duration_ms > 0 || t.done > opt.transactions ? 0 :
		    opt.transactions - t.done, secs);
		for (i = 0; i < nlast; i++) {
			if (i > 0)
				putchar(',');
			json_str(last[i]->text);
		}
		putchar(']');
		if (opt.interval_ms > 0)
			report_intervals(ws, nw);
		printf("}\n");
	}
	free(t.lat);
}

int
main(int argc, char **argv)
{
	struct worker *ws;
	struct rlimit rl;
	pthread_attr_t attr;
	unsigned long i;
	int e;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	run_stamp = (long)time(NULL) * 100000 + (long)getpid() % 100000;
	build_fixed();

	ws = calloc(opt.connections, sizeof(*ws));
	if (ws == NULL)
		fatal("out of memory");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	pthread_barrier_init(&start_barrier, NULL, (unsigned)opt.connections);
	t_start = now_ms();
	for (i = 0; i < opt.connections; i++) {
		ws[i].id = i;
		ws[i].share = (opt.transactions - i + opt.connections - 1) /
		    opt.connections;
		ws[i].conn.fd = -1;
		ws[i].conn.in_cap = ws[i].conn.out_cap = 16384;
		ws[i].conn.in = xrealloc(NULL, ws[i].conn.in_cap);
		ws[i].conn.out = xrealloc(NULL, ws[i].conn.out_cap);
		ws[i].st.lat_cap = ws[i].share;
		ws[i].st.lat = xrealloc(NULL, ws[i].share * sizeof(uint32_t));
		ws[i].st.lat_t = xrealloc(NULL, ws[i].share *
		    sizeof(uint32_t));
		if ((e = pthread_create(&ws[i].tid, &attr, worker_main,
		    &ws[i])) != 0)
			fatal("cannot start thread %lu of %lu: %s", i + 1,
			    opt.connections, strerror(e));
	}
	for (i = 0; i < opt.connections; i++)
		pthread_join(ws[i].tid, NULL);
	report(ws, opt.connections);
	e = 0;
	for (i = 0; i < opt.connections; i++) {
		e |= ws[i].st.errors > 0;
		free(ws[i].st.lat);
		free(ws[i].st.lat_t);
		free(ws[i].st.err_t);
		free(ws[i].conn.in);
		free(ws[i].conn.out);
	}
	free(ws);
	free(body_tmpl);
	free(to_header);
	free(opt.hdrs);
	free(opt.macros);
	return e ? 1 : 0;
}
