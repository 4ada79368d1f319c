/*
 * policy.c - what a message's class and the store's answer mean for it.
 *
 * Builds the store items of a message from its class, and turns the
 * store's answer into a verdict and the SMTP reply the client will see.
 * Pure functions over caller-owned structs; thread-safe.
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* policy_items - the store items of a message for its class */
size_t
policy_items(const struct policy_msg *m, uint32_t buckets,
    struct store_item *items, size_t max)
{
	const struct config_class *c = m->cls;
	size_t n = 0, i;

	for (i = 0; i < c->nmessages && n < max; i++)
		store_item_set(&items[n++], "msg", c->messages[i].window,
		    buckets, c->messages[i].count, 1);
	for (i = 0; i < c->nrecipients && n < max; i++)
		store_item_set(&items[n++], "rcpt", c->recipients[i].window,
		    buckets, c->recipients[i].count, m->nrcpt);
	return n;
}

/* reply_set - fill an SMTP reply */
static void
reply_set(struct policy_reply *r, const char *rcode, const char *xcode,
    const char *text)
{
	snprintf(r->rcode, sizeof(r->rcode), "%s", rcode);
	snprintf(r->xcode, sizeof(r->xcode), "%s", xcode);
	snprintf(r->text, sizeof(r->text), "%s", text);
}

/* retry_text - "in 12 minutes", for a reply */
static void
retry_text(uint32_t s, char *out, size_t outlen)
{
	if (s < 60)
		snprintf(out, outlen, "in %u second%s", s, s == 1 ? "" : "s");
	else if (s < 2 * 3600)
		snprintf(out, outlen, "in %u minute%s", (s + 59) / 60,
		    (s + 59) / 60 == 1 ? "" : "s");
	else
		snprintf(out, outlen, "in %u hours", (s + 3599) / 3600);
}

/* item_noun - what an item counts, for humans */
static const char *
item_noun(const struct store_item *it)
{
	return strcmp(it->name, "rcpt") == 0 ? "recipients" : "messages";
}

/* policy_decide - turn a store answer into a decision */
void
policy_decide(const struct config *cfg, const struct policy_msg *m,
    const struct store_item *items, size_t nitems,
    const struct store_res *res, struct policy_decision *d)
{
	char when[32], win[16], text[256];
	const struct store_item *hit = NULL;
	size_t i;

	(void)m;
	memset(d, 0, sizeof(*d));
	d->verdict = VERDICT_ACCEPT;
	if (res->source == STORE_SRC_TEMPFAIL) {
		d->verdict = VERDICT_TEMPFAIL;
		snprintf(d->reason, sizeof(d->reason), "store-unavailable");
		reply_set(&d->reply, "451", "4.3.0",
		    "Sending limits cannot be checked right now; "
		    "please try again later");
	} else if (!res->allowed) {
		for (i = 0; i < nitems && hit == NULL; i++)
			if (items[i].count + items[i].cost > items[i].limit)
				hit = &items[i];
		d->hit = hit;
		d->verdict = VERDICT_TEMPFAIL;
		if (hit == NULL) {
			snprintf(d->reason, sizeof(d->reason), "limit");
			reply_set(&d->reply, "451", "4.7.1",
			    "Sending limit reached; please try again later");
		} else if (hit->limit == 0) {
			d->verdict = VERDICT_REJECT;
			snprintf(d->reason, sizeof(d->reason), "%s",
			    item_noun(hit));
			reply_set(&d->reply, "550", "5.7.1", "This account "
			    "is not allowed to send mail through this relay");
		} else if (hit->cost > hit->limit) {
			/* can never fit: say so now rather than retry forever */
			d->verdict = VERDICT_REJECT;
			snprintf(d->reason, sizeof(d->reason), "%s",
			    item_noun(hit));
			config_format_window(hit->window, win, sizeof(win));
			snprintf(text, sizeof(text), "This message has more "
			    "%s (%llu) than this account may send per %s "
			    "(%llu)", item_noun(hit),
			    (unsigned long long)hit->cost, win,
			    (unsigned long long)hit->limit);
			reply_set(&d->reply, "550", "5.7.1", text);
		} else {
			snprintf(d->reason, sizeof(d->reason), "%s",
			    item_noun(hit));
			config_format_window(hit->window, win, sizeof(win));
			retry_text(hit->retry ? hit->retry : 1, when,
			    sizeof(when));
			snprintf(text, sizeof(text), "Sending limit reached "
			    "(%llu %s per %s); please try again %s",
			    (unsigned long long)hit->limit, item_noun(hit),
			    win, when);
			reply_set(&d->reply, "451", "4.7.1", text);
		}
	}
	if (d->verdict != VERDICT_ACCEPT && cfg->mode == CONFIG_MODE_OBSERVE)
		d->observed = 1;
}

/* policy_rcpt_over - is recipient number n over the class's cap? */
int
policy_rcpt_over(const struct config_class *c, uint64_t n,
    struct policy_reply *r)
{
	char text[160];

	if (c->max_recipients == 0 || n <= c->max_recipients)
		return 0;
	snprintf(text, sizeof(text), "Too many recipients in one message "
	    "(at most %u); send to the others in another message",
	    c->max_recipients);
	reply_set(r, "452", "4.5.3", text);
	return 1;
}

/* policy_verdict_name - "accept", "tempfail", "reject" */
const char *
policy_verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_ACCEPT:
		return "accept";
	case VERDICT_TEMPFAIL:
		return "tempfail";
	case VERDICT_REJECT:
		return "reject";
	}
	return "unknown";
}
