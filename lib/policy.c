/*
 * policy.c - what a message's class and the store's answer mean for it.
 *
 * Builds the store items of a message from its class, and turns the
 * store's answer into one verdict: every limit or detector that fired is
 * named in the reason, and the strictest action among them wins (reject >
 * tempfail > quarantine > tag > accept). Sending limits always tempfail
 * (or reject a message that can never fit); each content detector acts as
 * configured. Pure functions over caller-owned structs; thread-safe.
 */
#include <stdio.h>
#include <string.h>

#include "contract.h"
#include "policy.h"

#include "sender.h"


/* for_domain - a limit on every login of a domain together */
static int
for_domain(enum detector d)
{
	return d == DET_DOMAIN_MESSAGES || d == DET_DOMAIN_RECIPIENTS;
}

/* is_limit - a sending limit (always tempfail), not a content detector */
static int
is_limit(enum detector d)
{
	return d == DET_MESSAGES || d == DET_RECIPIENTS || d == DET_EXTERNAL ||
	    d == DET_INTERNAL || for_domain(d);
}

/* noun - what a sending limit counts, in a reply's words */
static const char *
noun(enum detector d)
{
	switch (d) {
	case DET_EXTERNAL:
		return "external recipients";
	case DET_INTERNAL:
		return "internal recipients";
	case DET_DOMAIN_MESSAGES:
		return "messages";
	case DET_DOMAIN_RECIPIENTS:
		return "recipients";
	default:
		return detector_name(d);
	}
}

/* soft - does this action let the message through (and charge it)? */
static int
soft(int action)
{
	return action == CONFIG_ACTION_QUARANTINE ||
	    action == CONFIG_ACTION_TAG || action == CONFIG_ACTION_OBSERVE;
}

/* add - append one item per limit of a list */
static size_t
add(struct store_item *items, size_t n, size_t max, enum item_kind kind,
    const struct config_limit *lim, size_t nlim, uint32_t buckets,
    uint64_t cost, int is_soft)
{
	size_t i;

	for (i = 0; i < nlim && n < max; i++, n++) {
		detector_item_set(&items[n], kind, lim[i].window, buckets,
		    lim[i].count, cost);
		items[n].soft = (uint8_t)is_soft;
		/* a domain's total, a copy: a refusal for it alone is not
		 * the login's doing, and not counted toward lock_after */
		items[n].unowned = (uint8_t)detector_unowned(
		    detector_of_item(kind));
	}
	return n;
}

/*
 * recipient_items - the external and internal recipient windows: hard
 * limits like rcpt, each charged with its own share of the recipients.
 * None when the class has neither (the request is then as before).
 */
static size_t
recipient_items(const struct config *cfg, const struct policy_msg *m,
    struct store_item *items, size_t n, size_t max)
{
	const struct config_class *c = m->cls;
	uint32_t b = cfg->window_buckets;

	n = add(items, n, max, ITEM_EXT_RCPT, c->external_recipients,
	    c->nexternal_recipients, b, m->nrcpt_ext, 0);
	return add(items, n, max, ITEM_INT_RCPT, c->internal_recipients,
	    c->ninternal_recipients, b, m->nrcpt_int, 0);
}

/*
 * domain_items - the windows of the login's domain: hard, scoped to the
 * domain's key so every login of it charges the same counters (one
 * subject more: on single-node Redis still one call, under a Cluster one
 * call more, see store_redis.c). None for a bare login or a domain class
 * without domain_* limits.
 */
static size_t
domain_items(const struct config *cfg, const struct policy_msg *m,
    struct store_item *items, size_t n, size_t max)
{
	const struct config_class *d = m->dcls;
	size_t first = n;

	if (d == NULL || m->domain == NULL || m->domain[0] == '\0')
		return n;
	n = add(items, n, max, ITEM_DOM_MSG, d->domain_messages,
	    d->ndomain_messages, cfg->window_buckets, 1, 0);
	n = add(items, n, max, ITEM_DOM_RCPT, d->domain_recipients,
	    d->ndomain_recipients, cfg->window_buckets, m->nrcpt, 0);
	for (; first < n; first++)
		snprintf(items[first].scope, sizeof(items[first].scope), "%s",
		    m->domain);
	return n;
}

/* policy_items - the store items of a message for its class */
size_t
policy_items(const struct config *cfg, const struct policy_msg *m,
    struct store_item *items, size_t max)
{
	const struct config_class *c = m->cls;
	uint32_t b = cfg->window_buckets;
	size_t n = 0, first;

	if (m->copy != NULL && cfg->copies.count > 0 && n < max) {
		n = add(items, n, max, ITEM_COPIES, &cfg->copies, 1, b, 1,
		    soft(cfg->copies_action));
		snprintf(items[0].scope, sizeof(items[0].scope), "%s", m->copy);
	}
	if (c == NULL)
		return n;	/* inbound: no sender, no limits */
	n = add(items, n, max, ITEM_MESSAGES, c->messages, c->nmessages, b, 1,
	    0);
	n = add(items, n, max, ITEM_RECIPIENTS, c->recipients,
	    c->nrecipients, b, m->nrcpt, 0);
	n = recipient_items(cfg, m, items, n, max);
	n = domain_items(cfg, m, items, n, max);
	n = add(items, n, max, ITEM_FANOUT, c->header_recipients,
	    c->nheader_recipients, b, m->naddr, soft(cfg->fanout_action));
	if (n < max)	/* a lock is a count that may not be above 0 */
		detector_item_set(&items[n++], ITEM_LOCK,
		    cfg->lock_lifetime_ms / 1000, CONTRACT_LOCK_BUCKETS, 0, 0);
	if (cfg->lock_after.count > 0 && n < max) {
		n = add(items, n, max, ITEM_REFUSED, &cfg->lock_after, 1, b, 1,
		    1);
		items[n - 1].on_refuse = 1;
	}
	if (cfg->history && n < max) {
		/* the login's own usual hour (history.h): one state */
		detector_item_set(&items[n], ITEM_HISTORY,
		    cfg->history_bucket_ms / 1000, 1, cfg->history_floor, 1);
		items[n].history = 1;
		items[n].factor = cfg->history_factor;
		items[n].learn = cfg->history_learn_ms / 1000;
		items[n].keep = cfg->history_window_ms / 1000;
		items[n++].soft = (uint8_t)soft(cfg->history_action);
	}
	if (cfg->feedback_log != NULL &&
	    cfg->feedback_action == CONFIG_FEEDBACK_TEMPFAIL) {
		/* delivery feedback: refused while over, never charged here */
		n = add(items, n, max, ITEM_REMOTE_REJECTS, c->remote_rejects,
		    c->nremote_rejects, b, 0, 0);
		n = add(items, n, max, ITEM_REMOTE_DEFERRALS,
		    c->remote_deferrals, c->nremote_deferrals, b, 0, 0);
		n = add(items, n, max, ITEM_REMOTE_UNKNOWN, c->remote_unknown,
		    c->nremote_unknown, b, 0, 0);
	}
	if (m->client != NULL && m->client[0] != '\0') {
		/* the login's distinct client addresses (hashed), exactly */
		first = n;
		n = add(items, n, max, ITEM_CLIENTS, c->client_addresses,
		    c->nclient_addresses, b, 1, soft(cfg->clients_action));
		for (; first < n; first++) {
			items[first].distinct = 1;
			snprintf(items[first].member,
			    sizeof(items[first].member), "%s", m->client);
		}
	}
	if (m->words >= cfg->near_min_words && m->words > 0) {
		/* the login's recent bodies within near_distance bits */
		first = n;
		n = add(items, n, max, ITEM_NEAR, c->near_repeats,
		    c->nnear_repeats, 1, 1, soft(cfg->near_action));
		for (; first < n; first++) {
			items[first].near = 1;
			items[first].distance = (uint8_t)cfg->near_distance;
			items[first].simhash = m->simhash;
		}
	}
	if (m->body == NULL || m->body[0] == '\0')
		return n;
	first = n;
	n = add(items, n, max, ITEM_REPEATS, c->repeats, c->nrepeats, b, 1,
	    soft(cfg->repeats_action));
	for (; first < n; first++)
		snprintf(items[first].sub, sizeof(items[first].sub), "%s",
		    m->body);
	n = add(items, n, max, ITEM_WAVE, c->body_senders, c->nbody_senders,
	    b, 1, soft(cfg->wave_action));
	for (; first < n; first++) {
		snprintf(items[first].scope, sizeof(items[first].scope), "%s",
		    m->body);
		items[first].distinct = 1;
	}
	return n;
}

/* policy_reply_set - fill an SMTP reply, its text made safe for one */
void
policy_reply_set(struct policy_reply *r, const char *rcode,
    const char *xcode, const char *text)
{
	snprintf(r->rcode, sizeof(r->rcode), "%s", rcode);
	snprintf(r->xcode, sizeof(r->xcode), "%s", xcode);
	sender_printable(text, r->text, sizeof(r->text), 1);
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

/* what - a detector's finding in words, for replies and notes */
static void
what(enum detector d, const struct store_item *it, uint64_t naddr,
    uint32_t cap, char *out, size_t outlen)
{
	char win[16] = "";

	if (it != NULL)
		config_format_window(it->window, win, sizeof(win));
	switch (d) {
	case DET_MESSAGES:
	case DET_RECIPIENTS:
	case DET_EXTERNAL:
	case DET_INTERNAL:
		snprintf(out, outlen, "%llu %s per %s",
		    (unsigned long long)it->limit, noun(d), win);
		break;
	case DET_DOMAIN_MESSAGES:
	case DET_DOMAIN_RECIPIENTS:
		snprintf(out, outlen, "%llu %s per %s for all accounts of this "
		    "domain", (unsigned long long)it->limit, noun(d), win);
		break;
	case DET_FANOUT:
		if (it == NULL)
			snprintf(out, outlen, "%llu addresses in To/Cc, at most "
			    "%u per message", (unsigned long long)naddr, cap);
		else
			snprintf(out, outlen, "more than %llu To/Cc addresses "
			    "per %s", (unsigned long long)it->limit, win);
		break;
	case DET_REPEATS:
		snprintf(out, outlen, "more than %llu identical messages from "
		    "this account per %s", (unsigned long long)it->limit, win);
		break;
	case DET_WAVE:
		snprintf(out, outlen, "the same message from more than %llu "
		    "accounts per %s", (unsigned long long)it->limit, win);
		break;
	case DET_COPIES:
		snprintf(out, outlen, "more than %llu copies of this message "
		    "per %s (a mail loop?)", (unsigned long long)it->limit,
		    win);
		break;
	case DET_NEAR:
		snprintf(out, outlen, "more than %llu similar messages from "
		    "this account per %s", (unsigned long long)it->limit, win);
		break;
	case DET_CLIENTS:
		snprintf(out, outlen, "this account was used from more than "
		    "%llu client addresses per %s",
		    (unsigned long long)it->limit, win);
		break;
	case DET_HISTORY:
		snprintf(out, outlen, "%llu messages this %s, more than %u "
		    "times this account's usual %.1f",
		    (unsigned long long)it->count + it->cost, win,
		    it->factor, (double)it->typical / 1000);
		break;
	case DET_REMOTE_REJECTS:
	case DET_REMOTE_DEFERRALS:
	case DET_REMOTE_UNKNOWN:
		snprintf(out, outlen, "more than %llu of this account's "
		    "recipients %s by remote servers per %s",
		    (unsigned long long)it->limit, d == DET_REMOTE_REJECTS ?
		    "refused" : d == DET_REMOTE_DEFERRALS ? "deferred" :
		    "unknown", win);
		break;
	default:	/* decided without a store item: worded where found */
		snprintf(out, outlen, "%s", detector_name(d));
		break;
	}
}

/* limit_reply - the reply for a sending limit that was reached */
static enum verdict
limit_reply(const struct store_item *hit, enum detector d,
    struct policy_reply *r)
{
	char text[256], when[32], win[16], w[128];

	config_format_window(hit->window, win, sizeof(win));
	if (hit->limit == 0) {
		policy_reply_set(r, "550", "5.7.1", for_domain(d) ? "This "
		    "domain is not allowed to send mail through this relay" :
		    "This account is not allowed to send mail through this "
		    "relay");
		return VERDICT_REJECT;
	}
	if (hit->cost > hit->limit) {
		/* can never fit: say so now rather than retry forever */
		snprintf(text, sizeof(text), "This message has more %s (%llu) "
		    "than %s may send per %s (%llu)",
		    noun(d), (unsigned long long)hit->cost, for_domain(d) ?
		    "this domain" : "this account", win,
		    (unsigned long long)hit->limit);
		policy_reply_set(r, "550", "5.7.1", text);
		return VERDICT_REJECT;
	}
	what(d, hit, 0, 0, w, sizeof(w));
	retry_text(hit->retry ? hit->retry : 1, when, sizeof(when));
	snprintf(text, sizeof(text), "Sending limit reached (%s); please try "
	    "again %s", w, when);
	policy_reply_set(r, "451", "4.7.1", text);
	return VERDICT_TEMPFAIL;
}

/*
 * detector_reply - the verdict and reply of a detector's action; loops
 * answer with the routing-loop status codes (5.4.6 / 4.4.6), as MTAs do
 */
static enum verdict
detector_reply(int action, const char *w, uint32_t retry, int loop,
    struct policy_reply *r)
{
	char text[256], when[32];

	switch (action) {
	case CONFIG_ACTION_REJECT:
		snprintf(text, sizeof(text), "Message refused: %s", w);
		policy_reply_set(r, loop ? "554" : "550",
		    loop ? "5.4.6" : "5.7.1", text);
		return VERDICT_REJECT;
	case CONFIG_ACTION_TEMPFAIL:
	case CONFIG_ACTION_LOCK:	/* and policy_decide says lock */
		retry_text(retry ? retry : 60, when, sizeof(when));
		snprintf(text, sizeof(text), "Message deferred: %s; please "
		    "try again %s", w, when);
		policy_reply_set(r, "451", loop ? "4.4.6" : "4.7.1", text);
		return VERDICT_TEMPFAIL;
	case CONFIG_ACTION_QUARANTINE:
		return VERDICT_QUARANTINE;
	case CONFIG_ACTION_TAG:
		return VERDICT_TAG;
	}
	return VERDICT_ACCEPT;	/* observe */
}

/* note_hit - record one detector that fired; keep the strictest verdict */
static void
note_hit(struct policy_decision *d, enum detector det, int action,
    enum verdict v, const struct policy_reply *r,
    const struct store_item *it, const char *w)
{
	if (!(d->hitset & (1u << det)) && d->nhits < DET_COUNT) {
		d->hitset |= 1u << det;
		d->hits[d->nhits].detector = (uint8_t)det;
		d->hits[d->nhits].observe = action == CONFIG_ACTION_OBSERVE;
		d->hits[d->nhits++].refuses = v >= VERDICT_TEMPFAIL;
	}
	if (v > d->verdict || (v == d->verdict && d->note[0] == '\0')) {
		if (v > d->verdict) {
			d->verdict = v;
			d->hit = it;
			if (r != NULL)
				d->reply = *r;
		}
		if (w != NULL && (v == VERDICT_QUARANTINE || v == VERDICT_TAG))
			snprintf(d->note, sizeof(d->note), "%s: %s",
			    detector_name(det), w);
	}
}

/* policy_hits_text - "messages,repeats(observe)" for a log line */
void
policy_hits_text(const struct policy_decision *d, char *out, size_t outlen)
{
	size_t o = 0;
	unsigned i;
	int w;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < d->nhits && o < outlen; i++) {
		w = snprintf(out + o, outlen - o, "%s%s%s", i ? "," : "",
		    detector_name((enum detector)d->hits[i].detector),
		    d->hits[i].observe ? "(observe)" : "");
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* policy_decide - turn a store answer into a decision */
void
policy_decide(const struct config *cfg, const struct policy_msg *m,
    const struct store_item *items, size_t nitems,
    const struct store_res *res, struct policy_decision *d)
{
	struct policy_reply r;
	enum detector det;
	enum verdict v;
	char w[160];
	size_t i;
	int action;

	memset(d, 0, sizeof(d[0]));
	d->verdict = VERDICT_ACCEPT;
	if (res->source == STORE_SRC_TEMPFAIL) {
		policy_reply_set(&r, "451", "4.3.0", "Sending limits cannot "
		    "be checked right now; please try again later");
		note_hit(d, DET_STORE_UNAVAILABLE, CONFIG_ACTION_TEMPFAIL,
		    VERDICT_TEMPFAIL, &r, NULL, NULL);
	}
	/* a locked login: refused whatever else it is, and told so first */
	for (i = 0; i < nitems; i++)
		if (items[i].kind == ITEM_LOCK && items[i].over) {
			if (cfg->lock_action == CONFIG_ACTION_REJECT)
				policy_reply_set(&r, "550", "5.7.1", "This "
				    "account is locked; please contact your "
				    "provider");
			else
				policy_reply_set(&r, "451", "4.7.1", "This "
				    "account is locked; please contact your "
				    "provider");
			note_hit(d, DET_LOCKED, cfg->lock_action,
			    cfg->lock_action == CONFIG_ACTION_REJECT ?
			    VERDICT_REJECT : VERDICT_TEMPFAIL, &r, &items[i],
			    NULL);
		}
	/* loops: our own hop markers, then the MTA-style Received: count */
	if (m->passes >= cfg->hop_limit) {
		snprintf(w, sizeof(w), "mail loop: this message has passed "
		    "through this cluster %u times", m->passes);
		memset(&r, 0, sizeof(r));
		v = detector_reply(cfg->loop_action, w, 0, 1, &r);
		note_hit(d, DET_LOOP, cfg->loop_action, v, &r, NULL, w);
	}
	if (cfg->max_received != 0 && m->received > cfg->max_received) {
		snprintf(w, sizeof(w), "mail loop: too many Received: headers "
		    "(%u, at most %u)", m->received, cfg->max_received);
		memset(&r, 0, sizeof(r));
		v = detector_reply(cfg->loop_action, w, 0, 1, &r);
		note_hit(d, DET_RECEIVED, cfg->loop_action, v, &r, NULL, w);
	}
	/* the per-message To/Cc cap needs no store */
	if (m->cls != NULL && m->cls->max_header_recipients != 0 &&
	    m->naddr > m->cls->max_header_recipients) {
		what(DET_FANOUT, NULL, m->naddr, m->cls->max_header_recipients,
		    w, sizeof(w));
		memset(&r, 0, sizeof(r));
		v = detector_reply(cfg->fanout_action, w, 0, 0, &r);
		note_hit(d, DET_FANOUT, cfg->fanout_action, v, &r, NULL, w);
	}
	for (i = 0; i < nitems; i++) {
		const struct store_item *it = &items[i];

		if (!it->over)
			continue;
		if ((det = detector_of_item(it->kind)) == DET_COUNT ||
		    det == DET_LOCKED)
			continue;	/* the lock: above; refusals: no hit */
		action = detector_action(cfg, det);
		memset(&r, 0, sizeof(r));
		what(det, it, m->naddr, 0, w, sizeof(w));
		if (is_limit(det))
			v = limit_reply(it, det, &r);
		else
			v = detector_reply(action, w, it->retry,
			    detector_is_loop(det), &r);
		note_hit(d, det, action, v, &r, it, w);
		if (det == DET_HISTORY && action == CONFIG_ACTION_LOCK)
			d->lock = 1;
	}
	if (d->verdict == VERDICT_ACCEPT && !res->allowed &&
	    res->source != STORE_SRC_TEMPFAIL) {
		/* refused without a named limit: never let it pass quietly */
		policy_reply_set(&r, "451", "4.7.1", "Sending limit reached; "
		    "please try again later");
		note_hit(d, DET_LIMIT, CONFIG_ACTION_TEMPFAIL, VERDICT_TEMPFAIL,
		    &r, NULL, NULL);
	}
	if (d->verdict != VERDICT_ACCEPT && cfg->mode == CONFIG_MODE_OBSERVE)
		d->observed = 1;
	if (d->observed)
		d->lock = 0;
}

/* policy_from_mismatch - the From: identity hit, with its action */
void
policy_from_mismatch(const struct config *cfg, const char *why,
    struct policy_decision *d)
{
	struct policy_reply r;
	enum verdict v;

	memset(&r, 0, sizeof(r));
	v = detector_reply(cfg->identity_action, why, 0, 0, &r);
	note_hit(d, DET_FROM, cfg->identity_action, v, &r, NULL, why);
	if (d->verdict != VERDICT_ACCEPT && cfg->mode == CONFIG_MODE_OBSERVE)
		d->observed = 1;
}

/* policy_rcpt_cap_eom - a cap decided at EOM: over it, it can never fit */
void
policy_rcpt_cap_eom(const struct config *cfg, const struct config_class *c,
    uint64_t nrcpt, struct policy_decision *d)
{
	struct policy_reply r;
	char text[160];

	if (c == NULL || c->max_recipients == 0 || nrcpt <= c->max_recipients)
		return;
	snprintf(text, sizeof(text), "Too many recipients in one message "
	    "(%llu, at most %u)", (unsigned long long)nrcpt,
	    c->max_recipients);
	policy_reply_set(&r, "550", "5.5.3", text);
	note_hit(d, DET_MAX_RECIPIENTS, CONFIG_ACTION_REJECT, VERDICT_REJECT,
	    &r, NULL, NULL);
	if (cfg->mode == CONFIG_MODE_OBSERVE)
		d->observed = 1;
}

/* policy_refused_locally - refused by the checks that need no store? */
int
policy_refused_locally(const struct config *cfg, const struct policy_msg *m,
    const char *why, const struct config_class *cap, uint64_t nrcpt)
{
	struct store_res res;
	struct policy_decision d;

	memset(&res, 0, sizeof(res));
	res.allowed = 1;	/* no store item: only the local checks hit */
	policy_decide(cfg, m, NULL, 0, &res, &d);
	if (why != NULL && why[0] != '\0')
		policy_from_mismatch(cfg, why, &d);
	policy_rcpt_cap_eom(cfg, cap, nrcpt, &d);
	return d.verdict < VERDICT_TEMPFAIL ? 0 : policy_refusal_owned(&d) ?
	    POLICY_LOCAL_OWN : POLICY_LOCAL_UNOWNED;
}

/* policy_refusal_owned - did a detector of the login's own doing refuse? */
int
policy_refusal_owned(const struct policy_decision *d)
{
	unsigned i;

	for (i = 0; i < d->nhits; i++)
		if (d->hits[i].refuses &&
		    !detector_unowned((enum detector)d->hits[i].detector))
			return 1;
	return 0;
}

/* policy_lock_due - did this refusal trip the lock rule of an unlocked login? */
int
policy_lock_due(const struct store_item *items, size_t nitems)
{
	int due = 0, locked = 0;
	size_t i;

	for (i = 0; i < nitems; i++) {
		if (items[i].kind == ITEM_REFUSED && items[i].over)
			due = 1;
		if (items[i].kind == ITEM_LOCK && items[i].over)
			locked = 1;
	}
	return due && !locked;
}

/* policy_lock_item - the item that writes a lock (commit it) */
void
policy_lock_item(const struct config *cfg, struct store_item *it)
{
	detector_item_set(it, ITEM_LOCK, cfg->lock_lifetime_ms / 1000,
	    CONTRACT_LOCK_BUCKETS, UINT64_MAX, 1);
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
	policy_reply_set(r, "452", "4.5.3", text);
	return 1;
}

/* policy_verdict_name - "accept", "tag", "quarantine", "tempfail"... */
const char *
policy_verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_ACCEPT:
		return "accept";
	case VERDICT_TAG:
		return "tag";
	case VERDICT_QUARANTINE:
		return "quarantine";
	case VERDICT_TEMPFAIL:
		return "tempfail";
	case VERDICT_REJECT:
		return "reject";
	}
	return "unknown";
}
