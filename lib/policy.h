/* policy.h - from a message's facts and its class to a verdict and a reply */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "detector.h"
#include "store.h"

/* verdicts, from the mildest to the strictest: the strictest hit wins */
enum verdict {
	VERDICT_ACCEPT = 0,
	VERDICT_TAG,		/* accept, add the tag header */
	VERDICT_QUARANTINE,	/* accept, hold for a person */
	VERDICT_TEMPFAIL,	/* 4xx: retry later */
	VERDICT_REJECT		/* 5xx */
};

/* an SMTP reply: "451", "4.7.1", text (no CR/LF, '%' escaped) */
struct policy_reply {
	char	 rcode[4];
	char	 xcode[8];
	char	 text[256];
};

/* what sluice knows about one message when it decides */
struct policy_msg {
	const struct config_class *cls;	/* sender's class; borrowed; NULL
					   for inbound mail (no limits) */
	uint64_t		 nrcpt;	/* accepted envelope recipients */
	uint64_t		 naddr;	/* distinct To/Cc addresses */
	const char		*body;	/* hex body fingerprint, or NULL
					   (empty body, or not known yet) */
	const char		*copy;	/* hex key of Message-ID + body, or
					   NULL: not counted as a copy */
	uint32_t		 passes; /* earlier passes through the
					   cluster (valid hop markers) */
	uint32_t		 received; /* Received: headers */
	uint64_t		 simhash; /* the body's simhash (fingerprint.h) */
	uint64_t		 words;	/* words it saw; near_min_words or more:
					   counted by the near detector */
	const char		*client; /* hex key of the client address, or
					   NULL: not counted */
	uint64_t		 nrcpt_ext; /* of nrcpt: outside local_domains
					   (0 before the recipients are known) */
	uint64_t		 nrcpt_int; /* of nrcpt: in local_domains */
	const struct config_class *dcls; /* class of the login's domain
					   (its domain_* limits); borrowed;
					   NULL: a bare login, no domain */
	const char		*domain; /* hex key of the domain: the scope of
					   its items (all its logins share
					   them); NULL with dcls */
};

/* one detector that fired */
struct policy_hit {
	uint8_t			 detector;  /* enum detector */
	uint8_t			 observe;   /* its action is observe */
	uint8_t			 refuses;   /* its verdict refuses (tempfail
					       or reject, observe or not) */
};

/* the outcome of one decision, for the reply, the log line, the metrics */
struct policy_decision {
	enum verdict		 verdict;   /* what to do (observe: would do) */
	int			 observed;  /* mode observe: accept anyway */
	struct policy_reply	 reply;	    /* for TEMPFAIL and REJECT */
	const struct store_item	*hit;	    /* the item behind the verdict */
	uint32_t		 hitset;    /* 1 << enum detector: fired */
	struct policy_hit	 hits[DET_COUNT]; /* each once, in the order
					       they fired */
	unsigned		 nhits;
	char			 note[256]; /* quarantine reason / tag value */
	int			 lock;	    /* an action "lock" fired: lock the
					       login (history_action) */
};

/*
 * policy_items - the store items of a message for its class: its message
 * and recipient windows (hard), its external and internal recipient
 * windows (hard, only when the class has them), its domain's message and
 * recipient windows (hard, scoped to the domain: all its logins add up),
 * To/Cc addresses per window, the login's
 * client addresses, its body per login (exact and near) and across logins
 * (soft when the detector's action does not refuse). Returns how many were written to items (at most max).
 */
size_t	policy_items(const struct config *, const struct policy_msg *,
	    struct store_item *items, size_t max);

/* policy_decide - turn a store answer into a decision */
void	policy_decide(const struct config *, const struct policy_msg *,
	    const struct store_item *items, size_t nitems,
	    const struct store_res *, struct policy_decision *);

/* policy_from_mismatch - add the identity check's hit ("from": the From:
 * address is not the login's, `why`) to a decision made at EOM */
void	policy_from_mismatch(const struct config *, const char *why,
	    struct policy_decision *);

/* policy_rcpt_cap_eom - the recipient cap of mail whose RCPT could not be
 * refused (local submission, trusted relays): add its hit if over */
void	policy_rcpt_cap_eom(const struct config *,
	    const struct config_class *, uint64_t nrcpt,
	    struct policy_decision *);

/*
 * policy_refused_locally - does a check that needs no store refuse the
 * message (tempfail or reject, observe mode included): a loop, the
 * Received: count, the To/Cc cap, the From: identity (why: its finding,
 * or "" / NULL), the recipient cap of cap's class at end of message (cap
 * NULL: none)? Such a message is not charged. POLICY_LOCAL_OWN: a check
 * of the login's own doing refused it (the refusal counts toward
 * lock_after: STORE_REFUSED); POLICY_LOCAL_UNOWNED: only loop checks did
 * (it does not: a forwarding loop is not a hijacked account); 0: none.
 */
#define POLICY_LOCAL_OWN	1
#define POLICY_LOCAL_UNOWNED	2
int	policy_refused_locally(const struct config *,
	    const struct policy_msg *, const char *why,
	    const struct config_class *cap, uint64_t nrcpt);

/* policy_refusal_owned - does a refusing hit of d count toward lock_after
 * (not a loop, not a domain's total)? */
int	policy_refusal_owned(const struct policy_decision *);

/* policy_lock_due - did this refusal trip the lock rule of an unlocked
 * login? */
int	policy_lock_due(const struct store_item *items, size_t nitems);

/* policy_lock_item - the item that writes a lock (commit it) */
void	policy_lock_item(const struct config *, struct store_item *);

/* policy_rcpt_over - is recipient number n (1-based) over the class's cap?
 * If so, fills the 452 4.5.3 reply */
int	policy_rcpt_over(const struct config_class *, uint64_t n,
	    struct policy_reply *);

/* policy_hits_text - the hits for a log line: "messages,repeats(observe)"
 * ("" for none), cut to outlen - 1 bytes */
void	policy_hits_text(const struct policy_decision *, char *out,
	    size_t outlen);

/* policy_reply_set - fill an SMTP reply; the one place a reply's text is
 * made safe: '%' doubled (libmilter and Sendmail read it as a format),
 * CR, LF and every byte outside printable ASCII as \xHH, '\' doubled,
 * cut with "..." to fit */
void	policy_reply_set(struct policy_reply *, const char *rcode,
	    const char *xcode, const char *text);

/* policy_verdict_name - "accept", "tag", "quarantine", "tempfail"... */
const char *policy_verdict_name(enum verdict);

#endif
