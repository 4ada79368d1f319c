/*
 * bench_milter.c - sluice-bench's milter-protocol client: the buffered
 * packet reader and writer (conn_*, pkt_*) that bounds-checks every
 * length the milter sends and enforces a deadline on every reply, written
 * as Postfix 3.7 writes (--writes, see sluice-bench.c); reply_read(),
 * which turns the milter's answer to one command into a verdict; and one
 * step_* function per protocol step.
 *
 * Memory: each connection's buffers belong to its worker (struct conn),
 * grown here with xrealloc and freed by main. Thread-safety: a worker
 * calls these on its own connection only; the options and the body
 * template are read-only while the threads run; the refusal texts are
 * ordered by one atomic counter, and the negotiation is shown once.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MTA_ACTIONS	SMFI_CURR_ACTS	/* we take every action */
#define MTA_PROTO	SMFI_CURR_PROT	/* every step, no-reply bit, SKIP */
#define MILTER_MAX_DATA	65535		/* largest data we send */
#define REPLY_MAX_LEN	(65536 + 4096)	/* largest packet we accept */
#define OUT_FLUSH_AT	(256 * 1024)	/* flush no-reply packets beyond */
#define MTA_NAME	"mx.bench.test"
#define MAX_PACKETS	100000		/* per reply, modifications included */

static atomic_bool negotiation_shown;
static atomic_ulong reply_seq;

/* errno_str - thread-safe strerror into buf */
static const char *
errno_str(int e, char *buf, size_t len)
{
	if (strerror_r(e, buf, len) != 0)
		snprintf(buf, len, "error %d", e);
	return buf;
}

/* be32 - read a big-endian 32-bit number */
static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* conn_fail - record why the connection failed; returns -1 */
int
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
int
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
void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
}

/* conn_flush - write out every buffered packet */
int
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
int
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
int
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
int
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
int
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
int
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
int
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
int
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
int
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
int
step_simple(struct session *s, int cmd)
{
	pkt_begin(s->c, cmd);
	return pkt_end(s->c);
}
