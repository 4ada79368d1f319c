/*
 * detector.c - the one table of sluice's limits and detectors.
 *
 * Each detector has its name (the log line's hits= field, the metrics
 * page's detector label), the store item that counts it if any, the
 * config field of its action, and whether it answers as a mail loop.
 * Store items have a kind; their names in the store (part of every
 * Redis key, so never renamed) are listed here once. Constant data and
 * pure functions; thread-safe.
 */
#include <stddef.h>

#include "config.h"
#include "detector.h"
#include "store.h"

#define FIXED	((size_t)-1)	/* no action setting: tempfail */

static const struct {
	const char	*name;		/* hits= and detector="" */
	enum item_kind	 item;		/* its store item, or ITEM_NONE */
	size_t		 action;	/* offset of its int in struct config,
					   or FIXED */
	int		 loop;		/* a mail loop: 5.4.6 / 4.4.6 */
	int		 unowned;	/* not the login's own doing: its
					   refusals never count toward
					   lock_after (loops; a domain's
					   total, which its other logins
					   fill) */
} detectors[DET_COUNT] = {
	[DET_MESSAGES] = { "messages", ITEM_MESSAGES, FIXED, 0 },
	[DET_RECIPIENTS] = { "recipients", ITEM_RECIPIENTS, FIXED, 0 },
	[DET_FANOUT] = { "fanout", ITEM_FANOUT,
	    offsetof(struct config, fanout_action), 0 },
	[DET_REPEATS] = { "repeats", ITEM_REPEATS,
	    offsetof(struct config, repeats_action), 0 },
	[DET_WAVE] = { "wave", ITEM_WAVE,
	    offsetof(struct config, wave_action), 0 },
	[DET_COPIES] = { "copies", ITEM_COPIES,
	    offsetof(struct config, copies_action), 1, 1 },
	[DET_NEAR] = { "near", ITEM_NEAR,
	    offsetof(struct config, near_action), 0 },
	[DET_CLIENTS] = { "clients", ITEM_CLIENTS,
	    offsetof(struct config, clients_action), 0 },
	[DET_LOOP] = { "loop", ITEM_NONE,
	    offsetof(struct config, loop_action), 1, 1 },
	[DET_RECEIVED] = { "received", ITEM_NONE,
	    offsetof(struct config, loop_action), 1, 1 },
	[DET_LOCKED] = { "locked", ITEM_LOCK,
	    offsetof(struct config, lock_action), 0 },
	[DET_LIMIT] = { "limit", ITEM_NONE, FIXED, 0 },
	[DET_STORE_UNAVAILABLE] = { "store-unavailable", ITEM_NONE, FIXED, 0 },
	[DET_MAX_RECIPIENTS] = { "max_recipients", ITEM_NONE, FIXED, 0 },
	[DET_FROM] = { "from", ITEM_NONE,
	    offsetof(struct config, identity_action), 0 },
	[DET_EXTERNAL] = { "external_recipients", ITEM_EXT_RCPT, FIXED, 0 },
	[DET_INTERNAL] = { "internal_recipients", ITEM_INT_RCPT, FIXED, 0 },
	[DET_DOMAIN_MESSAGES] = { "domain_messages", ITEM_DOM_MSG, FIXED, 0,
	    1 },
	[DET_DOMAIN_RECIPIENTS] = { "domain_recipients", ITEM_DOM_RCPT, FIXED,
	    0, 1 },
	[DET_HISTORY] = { "history", ITEM_HISTORY,
	    offsetof(struct config, history_action), 0 },
	/* in a message's items only with feedback_action tempfail; lock
	 * and observe are the feedback reader's (milter/feedback.c) */
	[DET_REMOTE_REJECTS] = { "remote_rejects", ITEM_REMOTE_REJECTS,
	    FIXED, 0 },
	[DET_REMOTE_DEFERRALS] = { "remote_deferrals", ITEM_REMOTE_DEFERRALS,
	    FIXED, 0 },
	[DET_REMOTE_UNKNOWN] = { "remote_unknown", ITEM_REMOTE_UNKNOWN,
	    FIXED, 0 },
};

/* store names of the item kinds */
static const char *const item_names[ITEM_KINDS] = {
	[ITEM_NONE] = "none", [ITEM_MESSAGES] = "msg",
	[ITEM_RECIPIENTS] = "rcpt", [ITEM_FANOUT] = "hdr",
	[ITEM_REPEATS] = "rep", [ITEM_WAVE] = "wave", [ITEM_COPIES] = "copy",
	[ITEM_NEAR] = "near", [ITEM_CLIENTS] = "clients",
	[ITEM_LOCK] = "lock", [ITEM_REFUSED] = "refused",
	[ITEM_EXT_RCPT] = "ext_rcpt", [ITEM_INT_RCPT] = "int_rcpt",
	[ITEM_DOM_MSG] = "dom_msg", [ITEM_DOM_RCPT] = "dom_rcpt",
	[ITEM_HISTORY] = "hist",
	[ITEM_REMOTE_REJECTS] = "rrej", [ITEM_REMOTE_DEFERRALS] = "rdef",
	[ITEM_REMOTE_UNKNOWN] = "runk",
};

/* detector_name - its name in hits= and in the metrics label */
const char *
detector_name(enum detector d)
{
	return (unsigned)d < DET_COUNT ? detectors[d].name : "unknown";
}

/* detector_action - its configured action; tempfail without a setting */
int
detector_action(const struct config *cfg, enum detector d)
{
	if ((unsigned)d >= DET_COUNT || detectors[d].action == FIXED)
		return CONFIG_ACTION_TEMPFAIL;
	return *(const int *)(const void *)((const char *)cfg +
	    detectors[d].action);
}

/* detector_is_loop - answered with the routing-loop status codes? */
int
detector_is_loop(enum detector d)
{
	return (unsigned)d < DET_COUNT && detectors[d].loop;
}

/* detector_unowned - are its refusals kept out of lock_after? */
int
detector_unowned(enum detector d)
{
	return (unsigned)d < DET_COUNT && detectors[d].unowned;
}

/* detector_of_item - the detector an item kind fires, or DET_COUNT */
enum detector
detector_of_item(unsigned kind)
{
	unsigned d;

	for (d = 0; kind != ITEM_NONE && d < DET_COUNT; d++)
		if (detectors[d].item == kind)
			return (enum detector)d;
	return DET_COUNT;
}

/* detector_item_set - fill an item of a kind, named from the table */
void
detector_item_set(struct store_item *it, enum item_kind kind,
    uint32_t window, uint32_t buckets, uint64_t limit, uint64_t cost)
{
	store_item_set(it, item_names[(unsigned)kind < ITEM_KINDS ? kind :
	    ITEM_NONE], window, buckets, limit, cost);
	it->kind = (uint8_t)kind;
}
