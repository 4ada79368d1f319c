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
 * to one command into a verdict; one step_* function per protocol step
 * (those three in bench_milter.c); txn_run() and session_run(), which
 * drive a transaction and a connection; worker_main() per thread; the
 * report (bench_stats.c) printed by main().
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
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"

#define ERRORS_SHOWN	10		/* error messages printed */
#define STACK_SIZE	(256 * 1024)
#define MAX_TXNS	1000000000UL

struct opts opt = {
	.connections = 4, .transactions = 1000, .logins = 1000,
	.client_addr = "127.0.0.1", .rcpts = 3, .to = 5, .body = 2048,
	.abort_after_eom = true, .timeout_ms = 10000,
};
char *to_header;			/* built once, read-only */
char *body_tmpl;			/* opt.body bytes, read-only */
static pthread_barrier_t start_barrier;
static atomic_ulong next_session;
static atomic_ulong errors_shown;
long run_stamp;				/* makes Message-IDs and queue ids
					   unique per run */
double t_start;				/* monotonic ms when the run began */

/* fatal - report an unrecoverable start-up problem and exit */
void
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
void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		fatal("out of memory");
	return p;
}

/* now_ms - the monotonic clock, in milliseconds (microsecond steps) */
double
now_ms(void)
{
	return (double)clock_mono_us() / 1e3;
}

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
