/*
 * bench.h - what the files of sluice-bench share: the options, the
 * per-worker connection and statistics, and the functions each file
 * offers the others (sluice-bench.c: options, threads, transactions;
 * bench_milter.c: the milter-protocol client; bench_stats.c: the report).
 */
#ifndef SLUICE_BENCH_H
#define SLUICE_BENCH_H

#include <sys/socket.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Protocol constants only (SMFIC_*, SMFIR_*, SMFIP_*, SMFIF_*): nothing
 * from libmilter is linked; the protocol is spoken here. */
#include <libmilter/mfapi.h>

#define REPLY_TEXT	512		/* reply text kept for the report */
#define LAST_REPLIES	5		/* distinct refusal texts reported */
#define ERR_LEN		200

enum writes { WRITES_POSTFIX, WRITES_STAGE, WRITES_PACKET };
enum verdict { V_ACCEPT, V_TEMPFAIL, V_REJECT, V_DISCARD, V_COUNT };
enum stage { S_CONNECT, S_MAIL, S_RCPT, S_DATA, S_EOM, S_COUNT };
enum rkind { R_CONTINUE, R_ACCEPT, R_TEMPFAIL, R_REJECT, R_DISCARD,
	R_SKIP, R_SHUTDOWN };

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

extern struct opts opt;		/* parsed once, read-only in the threads */
extern char *to_header;		/* built once, read-only */
extern char *body_tmpl;		/* opt.body bytes, read-only */
extern long run_stamp;		/* makes Message-IDs and queue ids unique */
extern double t_start;		/* monotonic ms when the run began */

/* sluice-bench.c */

/* fatal - report an unrecoverable start-up problem and exit */
__attribute__((format(printf, 1, 2), noreturn))
void	fatal(const char *fmt, ...);
/* xrealloc - realloc or die */
void	*xrealloc(void *p, size_t n);
/* now_ms - the monotonic clock, in milliseconds */
double	now_ms(void);

/* bench_milter.c */

/* conn_fail - record why the connection failed; returns -1 */
__attribute__((format(printf, 2, 3)))
int	conn_fail(struct conn *c, const char *fmt, ...);
/* conn_open - connect to the milter socket, waiting at most the timeout */
int	conn_open(struct conn *c);
/* conn_close - close the socket, keeping the buffers for the next one */
void	conn_close(struct conn *c);
/* conn_flush - write out every buffered packet */
int	conn_flush(struct conn *c);
/* step_optneg - offer version 6, every action and step; take the answer */
int	step_optneg(struct session *s);
/* step_connect - report the client connection (SMFIC_CONNECT) */
int	step_connect(struct session *s, struct reply *r);
/* step_helo - report EHLO (SMFIC_HELO) */
int	step_helo(struct session *s, struct reply *r);
/* step_mail - report MAIL FROM (SMFIC_MAIL) with the auth macros */
int	step_mail(struct session *s, struct reply *r);
/* step_rcpt - report RCPT TO (SMFIC_RCPT) for recipient j */
int	step_rcpt(struct session *s, unsigned long j, struct reply *r);
/* step_bare - DATA, EOH or end of message: macro i, a command, no data */
int	step_bare(struct session *s, int cmd, uint32_t no_flag,
	    uint32_t nr_flag, struct reply *r);
/* step_header - send one header (SMFIC_HEADER) */
int	step_header(struct session *s, const char *name, const char *value,
	    struct reply *r);
/* step_body - send one body chunk (SMFIC_BODY) */
int	step_body(struct session *s, size_t off, size_t len, struct reply *r);
/* step_simple - queue a command that has no data and gets no reply */
int	step_simple(struct session *s, int cmd);

/* bench_stats.c */

/* report - merge the workers' statistics and print them */
void	report(struct worker *ws, unsigned long nw);

#endif
