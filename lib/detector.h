/* detector.h - every limit and detector sluice names: one table */
#ifndef SLUICE_DETECTOR_H
#define SLUICE_DETECTOR_H

#include <stdint.h>

struct config;
struct store_item;

/* the detectors, in the order of the metrics page */
enum detector {
	DET_MESSAGES = 0,	/* messages per window */
	DET_RECIPIENTS,		/* envelope recipients per window */
	DET_FANOUT,		/* To/Cc addresses per message or window */
	DET_REPEATS,		/* one body from one login */
	DET_WAVE,		/* one body from many logins */
	DET_COPIES,		/* one message (Message-ID + body) seen again */
	DET_NEAR,		/* similar bodies from one login */
	DET_CLIENTS,		/* client addresses of one login */
	DET_LOOP,		/* our hop markers: passes through here */
	DET_RECEIVED,		/* too many Received: headers */
	DET_LOCKED,		/* the login is locked */
	DET_LIMIT,		/* refused by the store without a named limit */
	DET_STORE_UNAVAILABLE,	/* no store answered: tempfail fallback */
	DET_MAX_RECIPIENTS,	/* envelope recipients per message */
	DET_FROM,		/* From: not an address of the login */
	DET_EXTERNAL,		/* recipients outside local_domains */
	DET_INTERNAL,		/* recipients in local_domains */
	DET_DOMAIN_MESSAGES,	/* messages of all logins of a domain */
	DET_DOMAIN_RECIPIENTS,	/* recipients of all logins of a domain */
	DET_HISTORY,		/* far above the login's own usual hour */
	DET_REMOTE_REJECTS,	/* accepted mail bounced by remote servers */
	DET_REMOTE_DEFERRALS,	/* ... deferred (4xx) by remote servers */
	DET_REMOTE_UNKNOWN,	/* ... refused as unknown recipients (5.1.1) */
	DET_COUNT
};

/* what a store item counts (store_item.kind) */
enum item_kind {
	ITEM_NONE = 0,		/* not one of policy's (a test's, a tool's) */
	ITEM_MESSAGES,		/* "msg" */
	ITEM_RECIPIENTS,	/* "rcpt" */
	ITEM_FANOUT,		/* "hdr" */
	ITEM_REPEATS,		/* "rep" */
	ITEM_WAVE,		/* "wave" */
	ITEM_COPIES,		/* "copy" */
	ITEM_NEAR,		/* "near" */
	ITEM_CLIENTS,		/* "clients" */
	ITEM_LOCK,		/* "lock": a count that may not be above 0 */
	ITEM_REFUSED,		/* "refused": refusals for lock_after, never
				   a hit of its own */
	ITEM_EXT_RCPT,		/* "ext_rcpt" */
	ITEM_INT_RCPT,		/* "int_rcpt" */
	ITEM_DOM_MSG,		/* "dom_msg": scoped to the domain */
	ITEM_DOM_RCPT,		/* "dom_rcpt": scoped to the domain */
	ITEM_HISTORY,		/* "hist": the login's usual count per hour */
	ITEM_REMOTE_REJECTS,	/* "rrej": delivery feedback (feedback.c) */
	ITEM_REMOTE_DEFERRALS,	/* "rdef" */
	ITEM_REMOTE_UNKNOWN,	/* "runk" */
	ITEM_KINDS
};

/* detector_name - "messages", "near", ...: in hits= and detector="" */
const char *detector_name(enum detector);

/* detector_action - its configured action (enum config_action); the
 * sending limits and the rest without a setting: tempfail */
int	detector_action(const struct config *, enum detector);

/* detector_is_loop - answered with the routing-loop codes (5.4.6/4.4.6)? */
int	detector_is_loop(enum detector);

/* detector_unowned - are its refusals kept out of lock_after (a mail
 * loop, a domain's total: not the login's own doing)? */
int	detector_unowned(enum detector);

/* detector_of_item - the detector an item of this kind fires; DET_COUNT
 * for none (the refusal count, an item not policy's) */
enum detector detector_of_item(unsigned kind);

/* detector_item_set - fill an item of this kind (its store name from the
 * table), as store_item_set does */
void	detector_item_set(struct store_item *, enum item_kind,
	    uint32_t window, uint32_t buckets, uint64_t limit, uint64_t cost);

#endif
