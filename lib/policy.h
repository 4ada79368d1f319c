/* policy.h - from a message's facts and its class to a verdict and a reply */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

enum verdict {
	VERDICT_ACCEPT = 0,
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
	const struct config_class *cls;	/* sender's class; borrowed */
	uint64_t		 nrcpt;	/* accepted envelope recipients */
};

/* the outcome of one decision, for the reply and the log line */
struct policy_decision {
	enum verdict		 verdict;   /* what to do (observe: would do) */
	int			 observed;  /* mode observe: accept anyway */
	struct policy_reply	 reply;	    /* when verdict != ACCEPT */
	const struct store_item	*hit;	    /* first limit over, or NULL */
	char			 reason[64]; /* short tag: "messages", ... */
};

/*
 * policy_items - the store items of a message for its class: one per
 * messages window (cost 1), one per recipients window (cost nrcpt).
 * Returns how many were written to items (at most max).
 */
size_t	policy_items(const struct policy_msg *, uint32_t buckets,
	    struct store_item *items, size_t max);

/* policy_decide - turn a store answer into a decision */
void	policy_decide(const struct config *, const struct policy_msg *,
	    const struct store_item *items, size_t nitems,
	    const struct store_res *, struct policy_decision *);

/* policy_rcpt_over - is recipient number n (1-based) over the class's cap?
 * If so, fills the 452 4.5.3 reply */
int	policy_rcpt_over(const struct config_class *, uint64_t n,
	    struct policy_reply *);

/* policy_verdict_name - "accept", "tempfail", "reject" */
const char *policy_verdict_name(enum verdict);

#endif
