/* decide.h - from one message's summary to a decision and its actions */
#ifndef SLUICE_DECIDE_H
#define SLUICE_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fingerprint.h"
#include "hopmark.h"
#include "identity.h"
#include "metrics.h"
#include "okcache.h"
#include "policy.h"
#include "sender.h"
#include "store.h"

#define DECIDE_SHOW_MAX	200	/* bytes of a login shown in a log line */
#define DECIDE_QID_MAX	64	/* bytes of a queue id shown */
#define DECIDE_LINE_MAX	2048	/* one log line, NUL included (no cut:
				   every part of it is bounded below that) */
#define DECIDE_WARN_MAX	3	/* warnings about hop markers */
#define DECIDE_WARN_LEN	384	/* one warning, NUL included */
#define DECIDE_REASON_MAX 160	/* a lock's reason */

/*
 * What the MTA said about one message, copied by milter/ (every pointer
 * borrowed for the call; strings "" when not known, never NULL unless
 * said so).
 */
struct decide_msg {
	int			 commit;   /* end of message: charge; 0: the
					      MAIL check (check only) */
	int			 inbound;  /* no login: loop checks only */
	int			 deferred; /* keyed at end of message (trusted
					      relay, local submission) */
	const struct config_class *cls;	   /* the login's class; NULL when
					      inbound */
	enum sender_origin	 origin;   /* where the login comes from */
	const char		*key;	   /* sender key (sender_origin_key) */
	const char		*login;	   /* printable copy of the login */
	const char		*raw;	   /* the login as sent, or NULL */
	const struct config_class *dcls;   /* its domain's class, or NULL */
	const char		*dkey;	   /* its domain's key, or "" */
	const char		*client;   /* client address as text */
	const char		*via;	   /* how a deferred one was keyed, or
					      NULL */
	const char		*qid;	   /* queue id ({i}), or "" */
	const char		*mta;	   /* the MTA's name ({j}), or "" */
	uint64_t		 nrcpt;	   /* recipients accepted so far */
	uint64_t		 nrcpt_ext; /* of them, outside local_domains */
	uint64_t		 naddr;	   /* distinct To/Cc (0: not counted) */
	unsigned		 received; /* Received: headers */
	const char		*msgid;	   /* Message-ID, or "" */
	const struct fp_result	*body;	   /* commit: the body's fingerprint
					      (NULL or zero: nothing read it) */
	const struct hopmark_seen *hops;   /* our markers seen, or NULL */
	const struct ident_from	*from;	   /* From: addresses to check against
					      the login, or NULL: no check */
	uint64_t		 now;	   /* seconds since the epoch */
};

/* what decide() works with besides the message (borrowed) */
struct decide_env {
	const struct config	*cfg;
	struct store		*store;
	struct okcache		*okcache;  /* senders that may skip the MAIL
					      check, or NULL */
	uint64_t		 okepoch;  /* okcache_epoch() read before cfg */
	struct metrics		*metrics;  /* counted there, or NULL */
};

/* the client-derived values of a log line, each escaped as one value */
struct decide_logvals {
	char	 qid[DECIDE_QID_MAX];	  /* the queue id, or NOQUEUE */
	char	 login[DECIDE_SHOW_MAX];  /* the login, or "-" (inbound) */
};

/* a decision and what milter/ must carry out, in this order */
struct decide_out {
	struct policy_decision	 d;	   /* verdict_reply() turns it into the
					      answer; d.hit is NULL */
	struct decide_logvals	 v;	   /* for milter/'s own lines */
	char			 warn[DECIDE_WARN_MAX][DECIDE_WARN_LEN];
	unsigned		 nwarn;	   /* warnings to log (log_warnx) */
	int			 stored;   /* a store call was made: err says
					      how it went (the breaker) */
	char			 err[256]; /* the store's error, or "" */
	int			 failed;   /* neither store nor fallback
					      answered: accept, log line as an
					      error */
	char			 line[DECIDE_LINE_MAX]; /* the line to log,
					      or "" */
	int			 refuse;   /* the answer refuses (4xx/5xx) */
	int			 lock;	   /* lock the login (decide_lock) */
	char			 reason[DECIDE_REASON_MAX]; /* why */
	int			 note;	   /* accepted: note the queue id (holds,
					      delivery feedback) */
	char			 mark[HOPMARK_VALUE_MAX + 1]; /* hop marker
					      header to add, or "" */
};

/*
 * decide - the whole decision on one message: identity, loops (hop
 * markers), items, the one store call, the verdict, the MAIL cache and
 * the metrics; fills out. Returns 0, or -1 when the store failed and
 * nothing answered (out->failed: accept).
 */
int	decide(const struct decide_env *, const struct decide_msg *,
	    struct decide_out *out);

/*
 * decide_rcpt - one more recipient (msg->nrcpt + 1) of a login's message:
 * 1 with out filled (a tempfail, or observe's would=) when it is over the
 * class's cap, else 0
 */
int	decide_rcpt(const struct decide_env *, const struct decide_msg *,
	    struct decide_out *out);

/*
 * decide_lock - lock a login on every relay (one store call): 1 when
 * this relay locked it first, 0 when another did, -1 with err
 */
int	decide_lock(const struct config *, struct store *, const char *key,
	    char *err, size_t errlen);

/* decide_early_due - is the MAIL check worth a store call for key? */
int	decide_early_due(const struct decide_env *, const char *key);

/* decide_loops_watched - does any loop check need inbound mail's
 * content (else inbound mail is accepted at MAIL)? */
int	decide_loops_watched(const struct config *);

/* decide_body_watched - does any check read the body's fingerprint (else
 * the MTA need not send it)? */
int	decide_body_watched(const struct config *);

/* decide_logvals - the queue id and login of msg as log values */
void	decide_logvals(const struct decide_msg *, struct decide_logvals *);

#endif
