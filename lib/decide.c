/*
 * decide.c - the decision on one message, from the summary milter/ makes
 * of what the MTA said.
 *
 * decide() does what happens between the last callback and the answer:
 * the From: identity check, the hop markers' verdict, the client, body and
 * copy keys, the store items of the class, the one store call (idempotent
 * by "MTA/queue id" where a retry can happen), the verdict, the MAIL cache
 * and the metrics. What milter/ must then do comes back as data: the
 * decision (for verdict_reply), the lines to log, whether to lock the
 * login and why, whether to note the queue id, the hop marker to add.
 * Nothing here logs or talks to the MTA.
 *
 * Memory: the caller owns the summary and the answer; the store items of
 * a decision live on decide()'s stack only (out->d.hit is cleared).
 * Thread-safety: as thread-safe as the store, the okcache and the metrics
 * it is given (all three are).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decide.h"

#define MSGID_KEPT	256	/* bytes of a Message-ID in the copy key */

/* what one decision works on, beside the summary */
struct work {
	struct policy_msg	 m;
	struct store_item	 items[STORE_MAX_ITEMS];
	struct store_req	 req;
	struct store_res	 res;
	struct hopmark_eval	 ev;
	const struct fp_result	*fpr;	/* the body's, or a zero one */
	char			 body[33];
	char			 copy[SENDER_KEY_LEN + 1];
	char			 client[SENDER_KEY_LEN + 1];
	char			 txn[STORE_TXN_MAX + 1];
	char			 why[200];	/* From: mismatch, or "" */
};

/* str - s, or "" for NULL */
static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

/* decide_logvals - the values of a message for a log line */
void
decide_logvals(const struct decide_msg *s, struct decide_logvals *v)
{
	sender_logvalue(str(s->qid)[0] ? s->qid : "NOQUEUE", v->qid,
	    sizeof(v->qid));
	if (s->inbound)
		snprintf(v->login, sizeof(v->login), "-");
	else
		sender_logvalue(s->raw != NULL ? s->raw : str(s->login),
		    v->login, sizeof(v->login));
}

/* warn - one more warning for milter/ to log */
static void __attribute__((format(printf, 2, 3)))
warn(struct decide_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->nwarn >= DECIDE_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(o->warn[o->nwarn++], DECIDE_WARN_LEN, fmt, ap);
	va_end(ap);
}

/* hop_warnings - markers ignored that an administrator should hear of */
static void
hop_warnings(const struct config *cfg, const struct hopmark_eval *ev,
    struct decide_out *o)
{
	if (ev->bad_mac > 0)
		warn(o, "%s: %u %s header(s) with a bad MAC ignored (forged "
		    "or damaged)", o->v.qid, ev->bad_mac, cfg->hop_header);
	if (ev->future > 0)
		warn(o, "%s: %u %s header(s) dated in the future ignored: is "
		    "a relay's clock wrong?", o->v.qid, ev->future,
		    cfg->hop_header);
	if (ev->toomany > 0)
		warn(o, "%s: %u %s header(s) beyond the %d read ignored",
		    o->v.qid, ev->toomany, cfg->hop_header, HOPMARK_SEEN_MAX);
}

/*
 * txn_of - "MTA/queue id": a commit retried after a lost reply charges
 * once (Redis only: the memory store loses no reply; not in a Cluster:
 * no retry there, and an always-new key makes a migrating slot answer
 * TRYAGAIN)
 */
static const char *
txn_of(const struct config *cfg, const struct decide_msg *s, char *txn,
    size_t len)
{
	if (!s->commit || str(s->qid)[0] == '\0' || str(s->mta)[0] == '\0' ||
	    cfg->store != CONFIG_STORE_REDIS || cfg->redis_cluster)
		return NULL;
	return snprintf(txn, len, "%s/%s", s->mta, s->qid) < (int)len ? txn :
	    NULL;
}

/* body_facts - at end of message: the body, copy and hop-marker facts */
static void
body_facts(const struct config *cfg, const struct decide_msg *s,
    struct work *w, struct decide_out *o)
{
	static const struct fp_result none;
	char idbody[MSGID_KEPT + 40];

	w->fpr = s->body != NULL ? s->body : &none;
	fp_hex(w->fpr->exact, w->body);
	if (w->fpr->bytes > 0)	/* an empty body repeats nothing */
		w->m.body = w->body;
	w->m.simhash = w->fpr->simhash;
	w->m.words = w->fpr->words;
	/* one message, wherever it comes from: Message-ID + body (inbound
	 * mail is counted by it, so only when copies are) */
	if (cfg->copies.count > 0) {
		snprintf(idbody, sizeof(idbody), "%s\n%s", str(s->msgid),
		    w->body);
		sender_key(idbody, w->copy);
		w->m.copy = w->copy;
	}
	if (cfg->hop_key_loaded && s->hops != NULL) {
		hopmark_seen_eval(s->hops, cfg->hop_key, cfg->cluster_id,
		    s->now, cfg->hop_lifetime_ms / 1000, str(s->msgid),
		    w->fpr->exact, &w->ev);
		w->m.passes = w->ev.hops;
		hop_warnings(cfg, &w->ev, o);
	}
}

/* work_init - the policy facts and the store request of a message */
static void
work_init(const struct config *cfg, const struct decide_msg *s,
    struct work *w, struct decide_out *o)
{
	memset(w, 0, sizeof(*w));
	w->m.cls = s->inbound ? NULL : s->cls;
	w->m.nrcpt = s->commit ? s->nrcpt : 1;
	w->m.naddr = s->naddr;
	w->m.received = s->received;
	w->m.nrcpt_ext = s->commit ? s->nrcpt_ext : 0;
	w->m.nrcpt_int = s->commit ? s->nrcpt - s->nrcpt_ext : 0;
	w->m.dcls = s->dcls;
	w->m.domain = str(s->dkey)[0] ? s->dkey : NULL;
	if (s->commit && s->from != NULL && ident_check(cfg->identities,
	    s->raw, s->from, w->why, sizeof(w->why)) != IDENT_MISMATCH)
		w->why[0] = '\0';
	if (w->m.cls != NULL && w->m.cls->nclient_addresses > 0) {
		/* counted by a hash: no address is kept in the store */
		sender_key(str(s->client), w->client);
		w->m.client = w->client;
	}
	if (s->commit)
		body_facts(cfg, s, w, o);
	w->req.sender = s->inbound ? w->copy : s->key; /* inbound: no
					   sender, the message itself */
	w->req.txn = txn_of(cfg, s, w->txn, sizeof(w->txn));
	w->req.items = w->items;
}

/* items_text - "msg/1h=5/100 rcpt/1h=15/500" for a log line */
static void
items_text(const struct store_item *it, size_t n, char *out, size_t outlen)
{
	char win[16], lim[40];
	size_t i, o = 0;
	int w;

	out[0] = '\0';
	for (i = 0; i < n && o < outlen; i++) {
		if (it[i].kind == ITEM_LOCK && it[i].count == 0)
			continue;	/* not locked: nothing to say */
		config_format_window(it[i].window, win, sizeof(win));
		if (it[i].kind != ITEM_HISTORY)
			snprintf(lim, sizeof(lim), "/%llu",
			    (unsigned long long)it[i].limit);
		else if (it[i].learning)	/* the current vs the usual */
			snprintf(lim, sizeof(lim), " typical=learning");
		else
			snprintf(lim, sizeof(lim), " typical=%.1f",
			    (double)it[i].typical / 1000);
		w = snprintf(out + o, outlen - o, "%s%s/%s=%llu%s",
		    o ? " " : "", it[i].name, win,
		    (unsigned long long)it[i].count, lim);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* source_text - who answered, for a log line ("" the store itself) */
static const char *
source_text(enum store_source src)
{
	switch (src) {
	case STORE_SRC_PRIMARY:
		break;
	case STORE_SRC_LOCAL:
		return " store=local-fallback";
	case STORE_SRC_ACCEPT:
		return " store=accept-fallback";
	case STORE_SRC_TEMPFAIL:
		return " store=tempfail-fallback";
	}
	return "";
}

/* decision_line - the one line of a decision (none for an accept the
 * store answered, unless log_accepts) */
static void
decision_line(const struct config *cfg, const struct decide_msg *s,
    const struct work *w, const char *err, struct decide_out *o)
{
	char counts[512], hits[160];
	const struct policy_decision *d = &o->d;

	if (d->verdict == VERDICT_ACCEPT && !cfg->log_accepts &&
	    w->res.source == STORE_SRC_PRIMARY)
		return;
	items_text(w->items, w->req.nitems, counts, sizeof(counts));
	policy_hits_text(d, hits, sizeof(hits));
	snprintf(o->line, sizeof(o->line), "%s: %s login=%s%s%s class=%s "
	    "client=%s%s%s rcpts=%llu addrs=%llu %s%s action=%s%s%s%s%s%s",
	    o->v.qid, s->commit ? "eom" : "mail", o->v.login,
	    s->inbound ? "" : " origin=",
	    s->inbound ? "" : sender_origin_name(s->origin),
	    s->inbound ? "inbound" : s->cls->name, str(s->client),
	    s->via != NULL ? " via=" : "", str(s->via),
	    (unsigned long long)s->nrcpt, (unsigned long long)s->naddr,
	    counts, source_text(w->res.source),
	    d->observed ? "accept would=" : "", policy_verdict_name(d->verdict),
	    hits[0] ? " hits=" : "", hits,
	    err != NULL && err[0] ? " store_error=" : "", str(err));
}

/* lock_reason - why the login is locked, in words for the log and hooks */
static void
lock_reason(const struct store_item *items, size_t n, char *out,
    size_t outlen)
{
	char win[16];
	size_t i;

	snprintf(out, outlen, "refused too often");
	for (i = 0; i < n; i++)
		if (items[i].kind == ITEM_REFUSED)
			snprintf(out, outlen, "refused %llu times in %s "
			    "(lock_after %llu/%s)",
			    (unsigned long long)items[i].count,
			    config_format_window(items[i].window, win,
			    sizeof(win)), (unsigned long long)items[i].limit,
			    win);
		else if (items[i].kind == ITEM_HISTORY && items[i].over)
			snprintf(out, outlen, "%llu messages in one %s, more "
			    "than %u times its usual %.1f (history_action "
			    "lock)", (unsigned long long)items[i].count + 1,
			    config_format_window(items[i].window, win,
			    sizeof(win)), items[i].factor,
			    (double)items[i].typical / 1000);
}

/*
 * cache_update - after a store answer: a sender far from every limit
 * may skip the next MAIL checks for a while; any other answer ends that
 */
static void
cache_update(const struct decide_env *e, const struct decide_msg *s,
    const struct work *w, const struct policy_decision *d)
{
	if (e->okcache == NULL || e->cfg->early_check_cache_ms == 0)
		return;
	if (s->commit && w->res.source == STORE_SRC_PRIMARY &&
	    w->res.allowed && d->verdict == VERDICT_ACCEPT &&
	    okcache_fine_items(w->items, w->req.nitems))
		okcache_note(e->okcache, s->key, store_clock_real(NULL) +
		    e->cfg->early_check_cache_ms, e->okepoch);
	else if (s->commit || d->verdict != VERDICT_ACCEPT)
		okcache_forget(e->okcache, s->key);
}

/* charge - the one store call; 0, 1 (a fallback answered), -1 */
static int
charge(const struct decide_env *e, const struct decide_msg *s,
    struct work *w, struct decide_out *o)
{
	int rc;

	if (w->req.nitems == 0 && s->inbound) {
		/* nothing to count: decide on the loop checks alone */
		w->res.allowed = 1;
		return 0;
	}
	o->stored = 1;
	rc = e->metrics != NULL ? metrics_store_charge(e->metrics, e->store,
	    &w->req, &w->res, o->err, sizeof(o->err)) : store_charge(e->store,
	    &w->req, &w->res, o->err, sizeof(o->err));
	if (rc == -1) {
		/* not even the fallback could answer: let the mail through */
		o->failed = 1;
		snprintf(o->line, sizeof(o->line), "%s: %s login=%s origin=%s: "
		    "store failed: %s; accepting", o->v.qid,
		    s->commit ? "eom" : "mail", o->v.login,
		    sender_origin_name(s->origin), o->err);
	} else if (w->req.commit == STORE_REFUSED)
		w->res.allowed = 1;	/* refused here, for reasons named
					   below, not for a limit the store
					   did not name */
	return rc;
}

/* actions - what the decision asks milter/ to carry out */
static void
actions(const struct config *cfg, const struct decide_msg *s,
    const struct work *w, struct decide_out *o)
{
	const struct policy_decision *d = &o->d;

	o->refuse = (d->verdict == VERDICT_TEMPFAIL ||
	    d->verdict == VERDICT_REJECT) && !d->observed;
	if (o->refuse && !s->inbound && (d->lock ||
	    policy_lock_due(w->items, w->req.nitems))) {
		o->lock = 1;
		lock_reason(w->items, w->req.nitems, o->reason,
		    sizeof(o->reason));
	}
	if (!s->commit || o->refuse)
		return;
	o->note = !s->inbound;	/* for a later hold, and bounces */
	if (cfg->hop_key_loaded && hopmark_make(cfg->hop_key,
	    cfg->cluster_id, w->ev.hops + 1, s->now, str(s->msgid),
	    w->fpr->exact, o->mark, sizeof(o->mark)) != 0)
		o->mark[0] = '\0';
}

/* decide - the decision on one message and what to do about it */
int
decide(const struct decide_env *e, const struct decide_msg *s,
    struct decide_out *o)
{
	const struct config *cfg = e->cfg;
	struct work w;
	int rc, refuse;

	memset(o, 0, sizeof(*o));
	decide_logvals(s, &o->v);
	work_init(cfg, s, &w, o);
	/* refused whatever the store says (loops, fan-out, From:, the
	 * recipient cap): charge nothing; record the refusal for lock_after
	 * unless only a loop refused it (then only a limit the store finds
	 * over is recorded, as at MAIL) */
	refuse = s->commit ? policy_refused_locally(cfg, &w.m, w.why,
	    s->deferred ? s->cls : NULL, s->nrcpt) : 0;
	w.req.commit = s->commit && !refuse ? STORE_COMMIT :
	    cfg->lock_after.count == 0 ? STORE_CHECK :
	    refuse == POLICY_LOCAL_OWN ? STORE_REFUSED : STORE_CHECK_RECORD;
	w.req.nitems = policy_items(cfg, &w.m, w.items, STORE_MAX_ITEMS);
	if ((rc = charge(e, s, &w, o)) == -1)
		return -1;
	policy_decide(cfg, &w.m, w.items, w.req.nitems, &w.res, &o->d);
	if (w.why[0] != '\0')
		policy_from_mismatch(cfg, w.why, &o->d);
	if (s->commit && s->deferred)
		policy_rcpt_cap_eom(cfg, s->cls, s->nrcpt, &o->d);
	if (!s->inbound)
		cache_update(e, s, &w, &o->d);
	if (e->metrics != NULL && (s->commit || o->d.verdict != VERDICT_ACCEPT))
		metrics_count_decision(e->metrics, &o->d);
	if ((s->commit && !s->inbound) || o->d.verdict != VERDICT_ACCEPT)
		decision_line(cfg, s, &w, rc == 1 ? o->err : NULL, o);
	actions(cfg, s, &w, o);
	o->d.hit = NULL;	/* pointed into w.items */
	return 0;
}

/* decide_rcpt - is one more recipient over the class's cap? */
int
decide_rcpt(const struct decide_env *e, const struct decide_msg *s,
    struct decide_out *o)
{
	struct policy_decision *d = &o->d;

	memset(o, 0, sizeof(*o));
	if (s->cls == NULL || !policy_rcpt_over(s->cls, s->nrcpt + 1,
	    &d->reply))
		return 0;
	decide_logvals(s, &o->v);
	d->verdict = VERDICT_TEMPFAIL;	/* refuses this recipient only */
	d->observed = e->cfg->mode == CONFIG_MODE_OBSERVE;
	d->hitset = 1u << DET_MAX_RECIPIENTS;
	d->hits[0].detector = DET_MAX_RECIPIENTS;
	d->nhits = 1;
	o->refuse = !d->observed;
	if (e->metrics != NULL)
		metrics_count_hit(e->metrics, DET_MAX_RECIPIENTS);
	snprintf(o->line, sizeof(o->line), "%s: rcpt login=%s origin=%s "
	    "class=%s client=%s rcpts=%llu action=%s hits=%s", o->v.qid,
	    o->v.login, sender_origin_name(s->origin), s->cls->name,
	    str(s->client), (unsigned long long)s->nrcpt,
	    d->observed ? "accept would=tempfail" : "tempfail",
	    detector_name(DET_MAX_RECIPIENTS));
	return 1;
}

/* decide_lock - write the lock of one login: did this relay lock first? */
int
decide_lock(const struct config *cfg, struct store *st, const char *key,
    char *err, size_t errlen)
{
	struct store_item lk;
	struct store_req req;
	struct store_res res;

	policy_lock_item(cfg, &lk);
	memset(&req, 0, sizeof(req));
	req.sender = key;
	req.commit = STORE_COMMIT;
	req.items = &lk;
	req.nitems = 1;
	if (store_charge(st, &req, &res, err, errlen) != 0)
		return -1;
	return lk.count == 1;	/* else another relay locked it first */
}

/* decide_early_due - is the MAIL check worth a store call for this key? */
int
decide_early_due(const struct decide_env *e, const char *key)
{
	if (!e->cfg->early_check)
		return 0;
	return e->okcache == NULL || e->cfg->early_check_cache_ms == 0 ||
	    !okcache_fine(e->okcache, key, store_clock_real(NULL));
}

/* decide_loops_watched - does any loop check need inbound mail's content? */
int
decide_loops_watched(const struct config *cfg)
{
	return cfg->hop_key_loaded || cfg->max_received != 0 ||
	    cfg->copies.count != 0;
}

/* decide_body_watched - does any check read the body's fingerprint? */
int
decide_body_watched(const struct config *cfg)
{
	size_t i;

	if (cfg->hop_key_loaded || cfg->copies.count != 0)
		return 1;
	for (i = 0; i < cfg->nclasses; i++)
		if (cfg->classes[i].nrepeats != 0 ||
		    cfg->classes[i].nbody_senders != 0 ||
		    cfg->classes[i].nnear_repeats != 0)
			return 1;
	return 0;
}
