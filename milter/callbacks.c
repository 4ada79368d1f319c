/*
 * callbacks.c - libmilter callbacks: copy what the MTA says into lib/
 * structs, ask lib/, turn the answer into an SMTP reply.
 *
 * Memory: one struct conn per SMTP connection (smfi_setpriv), created at
 * connect and freed at close; it holds the config the connection started
 * under and the state of the current message, which is reset at MAIL and
 * at ABORT (Postfix sends ABORT after every EOM on a reused connection)
 * without touching the connection's. Thread-safety: libmilter runs one
 * thread per connection; the struct conn is that thread's alone; the
 * store is thread-safe.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/un.h>

#include <libmilter/mfapi.h>

#include "addr.h"
#include "control.h"
#include "domains.h"
#include "feedback.h"
#include "fingerprint.h"
#include "hopmark.h"
#include "identity.h"
#include "netlist.h"
#include "policy.h"
#include "sender.h"
#include "sluice.h"
#include "tcpconn.h"

#define LOGIN_SHOW_MAX	200	/* bytes of a login shown in a log line */

#define MSGID_MAX	256	/* bytes of a Message-ID kept */

struct msg {
	int			 counted;   /* authenticated: counts and limits */
	int			 inbound;   /* not authenticated: loops only */
	unsigned		 received;  /* Received: headers */
	char			 msgid[MSGID_MAX]; /* Message-ID, or "" */
	const struct config_class *cls;
	enum sender_origin	 origin;    /* where the login comes from */
	char			 key[SENDER_KEY_LEN + 1];
	const struct config_class *dcls; /* the login's domain's class, or
					       NULL: a bare login */
	char			 dkey[SENDER_KEY_LEN + 1]; /* its domain's
					       key (of "@domain"), or "" */
	char			 login[LOGIN_SHOW_MAX]; /* printable copy */
	char			*raw;	    /* the login as sent, for the lock
					       command; owned, freed at reset */
	int			 deferred;  /* keyed at EOM: trusted relay or
					       local submission (no SASL) */
	int			 identity;  /* keyed by a login: check From: */
	const char		*via;	    /* how a deferred one was keyed */
	char			*env;	    /* MAIL FROM address (deferred);
					       owned */
	char			*hdr;	    /* trusted_header value; owned */
	uint64_t		 nrcpt;	    /* recipients accepted */
	uint64_t		 nrcpt_ext; /* of them, outside local_domains */
	uint64_t		 nrefused;  /* recipients refused at RCPT */
	int			 fp_on;	    /* a detector reads the body */
	/* from here on: set up by msg_begin() or the inbound path before
	 * use, never cleared by msg_reset() (about 13 KiB) */
	struct hopmark_seen	 hops;	    /* our markers, verified at EOM */
	struct ident_from	 from;	    /* From: addresses */
	struct addr_count	 addr;	    /* To/Cc fan-out, streaming */
	struct fp_state		 fp;	    /* body fingerprint, streaming */
};

struct conn {
	struct cfg_ref		*ref;
	uint64_t		 okepoch;   /* okcache epoch, read before ref */
	char			 client[INET6_ADDRSTRLEN + 8];
	int			 trusted;   /* in trusted_networks */
	int			 local;	    /* local submission: no client
					       address, or localhost */
	struct msg		 msg;
};

/* conn_get - the connection's state, or NULL */
static struct conn *
conn_get(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* macro - a macro's value, or "" when the MTA did not send it */
static const char *
macro(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)(uintptr_t)name);

	return v != NULL ? v : "";
}

/* client_text - the client address as text */
static void
client_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	const void *a = NULL;

	snprintf(out, outlen, "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else if (sa->sa_family == AF_UNIX) {
		snprintf(out, outlen, "local");
		return;
	}
	if (a == NULL || inet_ntop(sa->sa_family, a, out, (socklen_t)outlen) ==
	    NULL)
		snprintf(out, outlen, "unknown");
}

/*
 * client_local - a local submission? No address, a unix socket, or what
 * Postfix's cleanup pretends for sendmail(1) mail (non_smtpd_milters):
 * "localhost" at 127.0.0.1 port 0. A real TCP client on loopback has a
 * port, so it stays what it is (inbound without SASL).
 */
static int
client_local(const struct sockaddr *sa, const char *host)
{
	const struct sockaddr_in *in4;
	const struct sockaddr_in6 *in6;

	if (sa == NULL || sa->sa_family == AF_UNIX)
		return 1;
	if (host == NULL || strcasecmp(host, "localhost") != 0)
		return 0;
	if (sa->sa_family == AF_INET) {
		in4 = (const struct sockaddr_in *)(const void *)sa;
		return in4->sin_port == 0 &&
		    in4->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	}
	if (sa->sa_family == AF_INET6) {
		in6 = (const struct sockaddr_in6 *)(const void *)sa;
		return in6->sin6_port == 0 &&
		    IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
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

/* the client-derived values of a log line, each one field's value */
struct logvals {
	char	 qid[64];		/* the queue id, or NOQUEUE */
	char	 login[LOGIN_SHOW_MAX];	/* the login, or "-" (inbound) */
};

/* logvals_of - the values of c's current message, for a log line */
static const struct logvals *
logvals_of(const struct conn *c, const char *qid, struct logvals *v)
{
	sender_logvalue(qid[0] ? qid : "NOQUEUE", v->qid, sizeof(v->qid));
	if (c->msg.inbound)
		snprintf(v->login, sizeof(v->login), "-");
	else
		sender_logvalue(c->msg.raw != NULL ? c->msg.raw :
		    c->msg.login, v->login, sizeof(v->login));
	return v;
}

/* verdict_reply - the one place a decision becomes an SMTP answer */
static sfsistat
verdict_reply(SMFICTX *ctx, const struct config *cfg,
    const struct policy_decision *d, int eom)
{
	char note[sizeof(d->note)];

	if (d->verdict == VERDICT_ACCEPT || d->observed)
		return SMFIS_CONTINUE;
	if (d->verdict == VERDICT_TAG || d->verdict == VERDICT_QUARANTINE) {
		/* only possible at end of message; before, nothing to hold */
		if (!eom)
			return SMFIS_CONTINUE;
		sender_printable(d->note, note, sizeof(note), 0);
		if (d->verdict == VERDICT_TAG && smfi_addheader(ctx,
		    cfg->tag_header, note) != MI_SUCCESS)
			log_warnx("smfi_addheader(%s) failed", cfg->tag_header);
		if (d->verdict == VERDICT_QUARANTINE &&
		    smfi_quarantine(ctx, note) != MI_SUCCESS)
			log_warnx("smfi_quarantine failed; message accepted");
		return SMFIS_CONTINUE;
	}
	if (smfi_setreply(ctx, (char *)(uintptr_t)d->reply.rcode,
	    (char *)(uintptr_t)d->reply.xcode,
	    (char *)(uintptr_t)d->reply.text) != MI_SUCCESS)
		log_warnx("smfi_setreply refused the reply \"%s %s %s\"",
		    d->reply.rcode, d->reply.xcode, d->reply.text);
	return d->verdict == VERDICT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* log_decision - one line per decision */
static void
log_decision(const struct conn *c, const char *qid, const char *stage,
    const struct store_item *items, size_t n, const struct store_res *res,
    const struct policy_decision *d, const char *err)
{
	char counts[512], hits[160];
	struct logvals v;
	const char *src = "";

	if (d->verdict == VERDICT_ACCEPT && !c->ref->cfg->log_accepts &&
	    res->source == STORE_SRC_PRIMARY)
		return;
	items_text(items, n, counts, sizeof(counts));
	policy_hits_text(d, hits, sizeof(hits));
	logvals_of(c, qid, &v);
	switch (res->source) {
	case STORE_SRC_PRIMARY:
		break;
	case STORE_SRC_LOCAL:
		src = " store=local-fallback";
		break;
	case STORE_SRC_ACCEPT:
		src = " store=accept-fallback";
		break;
	case STORE_SRC_TEMPFAIL:
		src = " store=tempfail-fallback";
		break;
	}
	log_info("%s: %s login=%s%s%s class=%s client=%s%s%s rcpts=%llu "
	    "addrs=%llu %s%s action=%s%s%s%s%s%s",
	    v.qid, stage, v.login,
	    c->msg.inbound ? "" : " origin=",
	    c->msg.inbound ? "" : sender_origin_name(c->msg.origin),
	    c->msg.inbound ? "inbound" : c->msg.cls->name,
	    c->client, c->msg.via != NULL ? " via=" : "",
	    c->msg.via != NULL ? c->msg.via : "",
	    (unsigned long long)c->msg.nrcpt,
	    (unsigned long long)(c->msg.counted ? c->msg.addr.distinct : 0),
	    counts, src,
	    d->observed ? "accept would=" : "", policy_verdict_name(d->verdict),
	    hits[0] ? " hits=" : "", hits,
	    err && err[0] ? " store_error=" : "", err ? err : "");
}

/*
 * breaker_watch - log when the store's circuit breaker changes state: the
 * line an administrator needs when Redis fails (each message's own line
 * then says store=...-fallback).
 */
static void
breaker_watch(const char *err)
{
	static int last = BREAKER_CLOSED;
	struct store_guard_stats st;
	int prev;

	store_guard_stats(rt.store, &st);
	prev = __atomic_exchange_n(&last, (int)st.state, __ATOMIC_RELAXED);
	if (prev == (int)st.state)
		return;
	if (st.state == BREAKER_OPEN && prev == BREAKER_CLOSED)
		log_warnx("store: circuit breaker open after %llu errors, "
		    "answering with the fallback: %s",
		    (unsigned long long)st.errors, err[0] ? err : "?");
	else if (st.state == BREAKER_CLOSED)
		log_info("store: circuit breaker closed, the store answers "
		    "again (%llu requests answered by the fallback so far)",
		    (unsigned long long)st.fallbacks);
}

/*
 * lock_login - the lock rule tripped: lock the login on every relay (one
 * more store call, once per lock), log it, run the lock command once
 */
static void
lock_login(struct conn *c, const char *qid, const struct store_item *items,
    size_t n)
{
	const struct config *cfg = c->ref->cfg;
	struct store_item lk;
	struct store_req req;
	struct store_res res;
	char err[256], reason[160], win[16], who[LOGIN_SHOW_MAX + 32];
	char named[SENDER_NAME_MAX + 1];
	struct logvals v;
	size_t i;

	logvals_of(c, qid, &v);
	control_who(v.login, c->msg.origin, who, sizeof(who));
	snprintf(reason, sizeof(reason), "refused too often");
	for (i = 0; i < n; i++)
		if (items[i].kind == ITEM_REFUSED)
			snprintf(reason, sizeof(reason), "refused %llu times "
			    "in %s (lock_after %llu/%s)",
			    (unsigned long long)items[i].count,
			    config_format_window(items[i].window, win,
			    sizeof(win)), (unsigned long long)items[i].limit,
			    win);
		else if (items[i].kind == ITEM_HISTORY && items[i].over)
			snprintf(reason, sizeof(reason), "%llu messages in "
			    "one %s, more than %u times its usual %.1f "
			    "(history_action lock)",
			    (unsigned long long)items[i].count + 1,
			    config_format_window(items[i].window, win,
			    sizeof(win)), items[i].factor,
			    (double)items[i].typical / 1000);
	policy_lock_item(cfg, &lk);
	memset(&req, 0, sizeof(req));
	req.sender = c->msg.key;
	req.commit = STORE_COMMIT;
	req.items = &lk;
	req.nitems = 1;
	if (store_charge(rt.store, &req, &res, err, sizeof(err)) != 0) {
		log_err("%s: cannot lock login=%s: %s", v.qid, who, err);
		return;
	}
	okcache_forget(rt.okcache, c->msg.key);
	if (lk.count != 1)
		return;		/* another relay locked it first */
	metrics_count_lock(&sluice_metrics);
	log_warnx("%s: login=%s client=%s locked on every relay: %s",
	    v.qid, who, c->client, reason);
	control_locked(cfg, c->msg.key, c->msg.login, c->msg.origin, reason);
	/* LOGIN names the origin unless SASL: a hook that disables accounts
	 * never disables one for a forged envelope sender */
	if (cfg->lock_command != NULL && c->msg.raw != NULL &&
	    sender_qualified(c->msg.origin, c->msg.raw, named,
	    sizeof(named)) != NULL)
		hook_run(cfg->lock_command, named, who, reason,
		    sender_origin_name(c->msg.origin),
		    cfg->lock_command_timeout_ms);
}

/*
 * okcache_update - after a store answer: a sender far from every limit
 * may skip the next MAIL checks for a while; any other answer ends that
 */
static void
okcache_update(const struct conn *c, const char *key, int commit,
    const struct store_item *items, size_t n, const struct store_res *res,
    const struct policy_decision *d)
{
	const struct config *cfg = c->ref->cfg;

	if (rt.okcache == NULL || cfg->early_check_cache_ms == 0)
		return;
	if (commit && res->source == STORE_SRC_PRIMARY && res->allowed &&
	    d->verdict == VERDICT_ACCEPT && okcache_fine_items(items, n))
		okcache_note(rt.okcache, key, store_clock_real(NULL) +
		    cfg->early_check_cache_ms, c->okepoch);
	else if (commit || d->verdict != VERDICT_ACCEPT)
		okcache_forget(rt.okcache, key);
}

/* early_due - is the MAIL check worth a store call for this sender? */
static int
early_due(const struct config *cfg, const char *key)
{
	if (!cfg->early_check)
		return 0;
	return rt.okcache == NULL || cfg->early_check_cache_ms == 0 ||
	    !okcache_fine(rt.okcache, key, store_clock_real(NULL));
}

/* check - ask the store about the current message; the answer for libmilter */
static sfsistat
check(SMFICTX *ctx, struct conn *c, int commit, const char *stage)
{
	const struct config *cfg = c->ref->cfg;
	struct store_item items[STORE_MAX_ITEMS];
	struct policy_msg m = { c->msg.cls, commit ? c->msg.nrcpt : 1,
	    c->msg.counted ? c->msg.addr.distinct : 0, NULL, NULL, 0,
	    c->msg.received, 0, 0,
	    NULL, commit ? c->msg.nrcpt_ext : 0,
	    commit ? c->msg.nrcpt - c->msg.nrcpt_ext : 0, c->msg.dcls,
	    c->msg.dkey[0] ? c->msg.dkey : NULL };
	struct policy_decision d;
	struct hopmark_eval ev;
	struct fp_result fpr;
	char body[33], copy[SENDER_KEY_LEN + 1] = "", idbody[MSGID_MAX + 40];
	char client[SENDER_KEY_LEN + 1];
	char mark[HOPMARK_VALUE_MAX + 1], txn[STORE_TXN_MAX + 1];
	uint64_t now = (uint64_t)time(NULL);
	sfsistat st;
	struct store_req req;
	struct store_res res;
	const char *qid = macro(ctx, "i");
	char err[256] = "", why[200] = "";
	struct logvals lv;
	int rc, refuse;

	if (commit && c->msg.identity && ident_check(cfg->identities,
	    c->msg.raw, &c->msg.from, why, sizeof(why)) != IDENT_MISMATCH)
		why[0] = '\0';
	memset(&req, 0, sizeof(req));
	req.sender = c->msg.key;
	req.items = items;
	/* "MTA/queue id": a commit retried after a lost reply charges once
	 * (Redis only: the memory store loses no reply; not in a Cluster:
	 * no retry there, and an always-new key makes a migrating slot
	 * answer TRYAGAIN) */
	if (commit && qid[0] && macro(ctx, "j")[0] &&
	    cfg->store == CONFIG_STORE_REDIS && !cfg->redis_cluster &&
	    snprintf(txn, sizeof(txn), "%s/%s", macro(ctx, "j"), qid) <
	    (int)sizeof(txn))
		req.txn = txn;
	memset(&ev, 0, sizeof(ev));
	if (m.cls != NULL && m.cls->nclient_addresses > 0) {
		/* counted by a hash: no address is kept in the store */
		sender_key(c->client, client);
		m.client = client;
	}
	if (commit) {
		if (c->msg.fp_on)
			fp_final(&c->msg.fp, &fpr);
		else	/* nothing reads the body: nothing to finish */
			memset(&fpr, 0, sizeof(fpr));
		fp_hex(fpr.exact, body);
		if (fpr.bytes > 0)	/* an empty body repeats nothing */
			m.body = body;
		m.simhash = fpr.simhash;
		m.words = fpr.words;
		/* one message, wherever it comes from: Message-ID + body
		 * (inbound mail is counted by it, so only when copies are) */
		if (cfg->copies.count > 0) {
			snprintf(idbody, sizeof(idbody), "%s\n%s",
			    c->msg.msgid, body);
			sender_key(idbody, copy);
			m.copy = copy;
		}
		if (cfg->hop_key_loaded) {
			hopmark_seen_eval(&c->msg.hops, cfg->hop_key,
			    cfg->cluster_id, now, cfg->hop_lifetime_ms / 1000,
			    c->msg.msgid, fpr.exact, &ev);
			m.passes = ev.hops;
			if (ev.bad_mac > 0)
				log_warnx("%s: %u %s header(s) with a bad MAC "
				    "ignored (forged or damaged)",
				    qid[0] ? qid : "NOQUEUE", ev.bad_mac,
				    cfg->hop_header);
			if (ev.future > 0)
				log_warnx("%s: %u %s header(s) dated in the "
				    "future ignored: is a relay's clock wrong?",
				    qid[0] ? qid : "NOQUEUE", ev.future,
				    cfg->hop_header);
			if (ev.toomany > 0)
				log_warnx("%s: %u %s header(s) beyond the %d "
				    "read ignored", qid[0] ? qid : "NOQUEUE",
				    ev.toomany, cfg->hop_header,
				    HOPMARK_SEEN_MAX);
		}
	}
	if (c->msg.inbound) {
		m.cls = NULL;
		req.sender = copy;	/* no sender: the message itself */
	}
	/* refused whatever the store says (loops, fan-out, From:, the
	 * recipient cap): charge nothing, record the refusal for lock_after */
	refuse = commit && policy_refused_locally(cfg, &m, why,
	    c->msg.deferred ? c->msg.cls : NULL, c->msg.nrcpt);
	req.commit = commit && !refuse ? STORE_COMMIT :
	    cfg->lock_after.count == 0 ? STORE_CHECK : commit ? STORE_REFUSED :
	    STORE_CHECK_RECORD;
	req.nitems = policy_items(cfg, &m, items, STORE_MAX_ITEMS);
	if (req.nitems == 0 && c->msg.inbound) {
		/* nothing to count: decide on the loop checks alone */
		memset(&res, 0, sizeof(res));
		res.allowed = 1;
		rc = 0;
		goto decide;
	}
	rc = metrics_store_charge(&sluice_metrics, rt.store, &req, &res, err,
	    sizeof(err));
	breaker_watch(err);
	if (rc == -1) {
		/* not even the fallback could answer: let the mail through */
		logvals_of(c, qid, &lv);
		log_err("%s: %s login=%s origin=%s: store failed: %s; "
		    "accepting", lv.qid, stage, lv.login,
		    sender_origin_name(c->msg.origin), err);
		return SMFIS_CONTINUE;
	}
	if (req.commit == STORE_REFUSED)
		res.allowed = 1;	/* refused here, for reasons named below,
					   not for a limit the store did not name */
decide:
	policy_decide(cfg, &m, items, req.nitems, &res, &d);
	if (why[0] != '\0')
		policy_from_mismatch(cfg, why, &d);
	if (commit && c->msg.deferred)
		policy_rcpt_cap_eom(cfg, c->msg.cls, c->msg.nrcpt, &d);
	if (!c->msg.inbound)
		okcache_update(c, c->msg.key, commit, items, req.nitems,
		    &res, &d);
	if (commit || d.verdict != VERDICT_ACCEPT)
		metrics_count_decision(&sluice_metrics, &d);
	if ((commit && !c->msg.inbound) || d.verdict != VERDICT_ACCEPT)
		log_decision(c, qid, stage, items, req.nitems, &res, &d,
		    rc == 1 ? err : NULL);
	st = verdict_reply(ctx, cfg, &d, commit);
	if (st != SMFIS_CONTINUE && !c->msg.inbound &&
	    (policy_lock_due(items, req.nitems) || d.lock))
		lock_login(c, qid, items, req.nitems);
	if (commit && st == SMFIS_CONTINUE && !c->msg.inbound)
	{
		control_accepted(cfg, c->msg.key, qid);	/* for a later hold */
		feedback_accepted(qid, c->msg.key, c->msg.raw != NULL ?
		    c->msg.raw : c->msg.login, c->msg.origin); /* bounces */
	}
	if (commit && st == SMFIS_CONTINUE && cfg->hop_key_loaded &&
	    hopmark_make(cfg->hop_key, cfg->cluster_id, ev.hops + 1, now,
	    c->msg.msgid, fpr.exact, mark, sizeof(mark)) == 0 &&
	    smfi_insheader(ctx, 0, cfg->hop_header, mark) != MI_SUCCESS)
		log_warnx("%s: cannot add the %s header", qid[0] ? qid :
		    "NOQUEUE", cfg->hop_header);
	return st;
}

/* msg_reset - forget the current message, keep the connection */
static void
msg_reset(struct conn *c)
{
	free(c->msg.raw);
	free(c->msg.env);
	free(c->msg.hdr);
	memset(&c->msg, 0, offsetof(struct msg, hops));
}

/* sl_connect - a new SMTP connection */
static sfsistat
sl_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
	struct conn *c;
	int e;

	if ((e = tcpconn_failed()) != 0)
		log_warnx("milter connection: cannot set TCP_NODELAY or "
		    "TCP_QUICKACK: %s; each message may wait ~40 ms on delayed "
		    "ACKs: %s", strerror(e), TCPCONN_HINT);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("out of memory at connect; accepting the connection");
		return SMFIS_ACCEPT;
	}
	/* before the config and any class: a change after it ends notes */
	c->okepoch = okcache_epoch(rt.okcache);
	c->ref = cfg_acquire();
	metrics_count_conn(&sluice_metrics, 1);
	client_text(sa, c->client, sizeof(c->client));
	c->trusted = netlist_match(c->ref->cfg->trusted_networks, c->client);
	c->local = client_local(sa, host);
	smfi_setpriv(ctx, c);
	return SMFIS_CONTINUE;
}

/* loops_watched - does any loop check need inbound mail's content? */
static int
loops_watched(const struct config *cfg)
{
	return cfg->hop_key_loaded || cfg->max_received != 0 ||
	    cfg->copies.count != 0;
}

/* body_watched - does any check read the body's fingerprint? */
static int
body_watched(const struct config *cfg)
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

/* msg_begin - a counted message starts: its streaming state */
static void
msg_begin(struct conn *c)
{
	c->msg.counted = 1;
	addr_count_init(&c->msg.addr);
	c->msg.fp_on = body_watched(c->ref->cfg);
	fp_init(&c->msg.fp);
	hopmark_seen_init(&c->msg.hops);
	ident_from_init(&c->msg.from);
}

/* domain_key - the login's domain: its class and the key of "@domain"
 * of this origin (the domain totals' subject, shared by every login of
 * it); none for an envelope sender, which anyone can forge */
static void
domain_key(struct conn *c, enum sender_origin o, const char *login)
{
	const char *at = strrchr(login, '@');
	char shown[LOGIN_SHOW_MAX];

	c->msg.dcls = o == SENDER_ENVELOPE || at == NULL ? NULL :
	    config_domain_class_for(c->ref->cfg, login);
	c->msg.dkey[0] = '\0';
	if (c->msg.dcls != NULL) {
		sender_origin_key(o, at, c->msg.dkey);
		/* its name, for sluicectl top --domains */
		sender_printable(at, shown, sizeof(shown), 0);
		control_seen(c->msg.dkey, shown, o);
	}
}

/*
 * msg_key - the message's sender is this login of this origin: class,
 * key, shown name. A bare login of SASL or the trusted header gets
 * login_default_domain ("alice" is "alice@example.com").
 */
static void
msg_key(struct conn *c, enum sender_origin o, const char *login)
{
	char full[SENDER_LOGIN_MAX + 1];	/* longer: kept bare */

	if (o != SENDER_ENVELOPE && sender_with_domain(login,
	    c->ref->cfg->login_default_domain, full, sizeof(full)) != NULL)
		login = full;
	c->msg.origin = o;
	c->msg.cls = control_class_for(c->ref->cfg, o, login);
	sender_origin_key(o, login, c->msg.key);
	domain_key(c, o, login);
	sender_printable(login, c->msg.login, sizeof(c->msg.login), 0);
	control_seen(c->msg.key, c->msg.login, o);
	c->msg.raw = strndup(login, sizeof(full));
}

/*
 * deferred_begin - mail without SASL from a trusted relay or submitted
 * locally: its key (the trusted header, else the envelope sender) is
 * known at EOM, so nothing is refused before it
 */
static sfsistat
deferred_begin(struct conn *c, const char *from)
{
	size_t n;

	msg_begin(c);
	c->msg.deferred = 1;
	if (from == NULL)
		return SMFIS_CONTINUE;
	from += strspn(from, " \t<");
	n = strcspn(from, ">");
	if (n > 0 && n <= SENDER_LOGIN_MAX)
		c->msg.env = strndup(from, n);
	return SMFIS_CONTINUE;
}

/*
 * deferred_key - at EOM: key a deferred message by the trusted header
 * (a login: its From: is checked), else by the envelope sender; 0 if it
 * has neither (a bounce): then it is inbound
 */
static int
deferred_key(struct conn *c)
{
	if (c->msg.hdr != NULL) {
		msg_key(c, SENDER_HEADER, c->msg.hdr);
		c->msg.identity = 1;
		c->msg.via = "trusted-header";
		return 1;
	}
	if (c->msg.env == NULL)
		return 0;
	msg_key(c, SENDER_ENVELOPE, c->msg.env);
	c->msg.via = c->trusted ? "trusted-sender" : "local-sender";
	return 1;
}

/* header_login - the trusted header's value, trimmed; NULL if empty */
static char *
header_login(const char *v)
{
	size_t n;

	v += strspn(v, " \t\r\n");
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
	    v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	return n > 0 && n <= SENDER_LOGIN_MAX ? strndup(v, n) : NULL;
}

/* sl_envfrom - MAIL FROM: who is sending, and are they already over? */
static sfsistat
sl_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	const char *login;

	if (c == NULL)
		return SMFIS_ACCEPT;
	msg_reset(c);
	login = macro(ctx, "{auth_authen}");
	if (login[0] == '\0' && (c->trusted || (c->local &&
	    c->ref->cfg->local_submission == CONFIG_LOCAL_KEY_BY_SENDER)))
		return deferred_begin(c, argv != NULL ? argv[0] : NULL);
	if (login[0] == '\0') {
		/* inbound: never counted (seed 000); only looked at for loops */
		if (!loops_watched(c->ref->cfg))
			return SMFIS_ACCEPT;
		c->msg.inbound = 1;
		c->msg.fp_on = body_watched(c->ref->cfg);
		fp_init(&c->msg.fp);
		hopmark_seen_init(&c->msg.hops);
		return SMFIS_CONTINUE;
	}
	msg_begin(c);
	msg_key(c, SENDER_SASL, login);
	c->msg.identity = 1;
	return early_due(c->ref->cfg, c->msg.key) ? check(ctx, c, 0, "mail") :
	    SMFIS_CONTINUE;
}

/* rcpt_add - one more recipient of the message, external or internal */
static void
rcpt_add(struct conn *c, char **argv)
{
	c->msg.nrcpt++;
	if (argv == NULL || !domains_local(c->ref->cfg->local_domains,
	    argv[0]))
		c->msg.nrcpt_ext++;
}

/* sl_envrcpt - RCPT TO: one more recipient, within the per-message cap? */
static sfsistat
sl_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	struct policy_reply r;
	struct logvals v;

	if (c == NULL || !c->msg.counted)
		return SMFIS_CONTINUE;
	if (c->msg.deferred) {	/* never refused here: counted at EOM */
		rcpt_add(c, argv);
		return SMFIS_CONTINUE;
	}
	if (!policy_rcpt_over(c->msg.cls, c->msg.nrcpt + 1, &r)) {
		rcpt_add(c, argv);
		return SMFIS_CONTINUE;
	}
	c->msg.nrefused++;
	metrics_count_hit(&sluice_metrics, DET_MAX_RECIPIENTS);
	logvals_of(c, macro(ctx, "i"), &v);
	log_info("%s: rcpt login=%s origin=%s class=%s client=%s rcpts=%llu "
	    "action=%s hits=%s", v.qid, v.login,
	    sender_origin_name(c->msg.origin), c->msg.cls->name, c->client,
	    (unsigned long long)c->msg.nrcpt,
	    c->ref->cfg->mode == CONFIG_MODE_OBSERVE ?
	    "accept would=tempfail" : "tempfail",
	    detector_name(DET_MAX_RECIPIENTS));
	if (c->ref->cfg->mode == CONFIG_MODE_OBSERVE) {
		rcpt_add(c, argv);
		return SMFIS_CONTINUE;
	}
	if (smfi_setreply(ctx, r.rcode, r.xcode, r.text) != MI_SUCCESS)
		log_warnx("smfi_setreply refused \"%s %s %s\"", r.rcode,
		    r.xcode, r.text);
	return SMFIS_TEMPFAIL;	/* refuses this recipient only */
}

/* sl_header - one header: To/Cc fan-out, MIME headers for the body */
static sfsistat
sl_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_get(ctx);

	const struct config *cfg;
	size_t n;

	if (c == NULL || (!c->msg.counted && !c->msg.inbound) || name == NULL ||
	    value == NULL)
		return SMFIS_CONTINUE;
	cfg = c->ref->cfg;
	if (c->msg.counted && addr_header_counted(name))
		addr_count_header(&c->msg.addr, value, strlen(value));
	if (c->msg.counted && strcasecmp(name, "From") == 0)
		ident_from_header(&c->msg.from, value, strlen(value));
	/* the relay's login header: believed from trusted relays only */
	if (c->msg.deferred && c->trusted && c->msg.hdr == NULL &&
	    cfg->trusted_header != NULL &&
	    strcasecmp(name, cfg->trusted_header) == 0)
		c->msg.hdr = header_login(value);
	if (strcasecmp(name, "Received") == 0)
		c->msg.received++;
	else if (strcasecmp(name, "Message-ID") == 0 && c->msg.msgid[0] == 0) {
		/* whole, folding and all: hopmark unfolds it, and a relay may
		 * refold it between passes */
		n = strlen(value);
		if (n < sizeof(c->msg.msgid))	/* longer: not an id we keep */
			memcpy(c->msg.msgid, value, n + 1);
	} else if (cfg->hop_key_loaded && strcasecmp(name, cfg->hop_header) == 0)
		hopmark_seen_add(&c->msg.hops, cfg->cluster_id, value);
	if (c->msg.fp_on)
		fp_header(&c->msg.fp, name, value);
	return SMFIS_CONTINUE;
}

/* sl_body - a body chunk, streamed into the fingerprint (never kept) */
static sfsistat
sl_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = conn_get(ctx);

	if (c != NULL && c->msg.fp_on && chunk != NULL)
		fp_body(&c->msg.fp, chunk, len);
	return SMFIS_CONTINUE;
}

/* sl_eom - end of message: one atomic check-and-charge */
static sfsistat
sl_eom(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);
	sfsistat st;

	if (c == NULL || (!c->msg.counted && !c->msg.inbound))
		return SMFIS_CONTINUE;
	if (c->msg.deferred && !deferred_key(c)) {
		/* no login and no sender: inbound, as without trust */
		c->msg.counted = 0;
		c->msg.inbound = 1;
	}
	st = check(ctx, c, 1, "eom");
	msg_reset(c);
	return st;
}

/* sl_abort - the MTA dropped the message; the connection goes on */
static sfsistat
sl_abort(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);

	if (c != NULL)
		msg_reset(c);
	return SMFIS_CONTINUE;
}

/* sl_close - the connection ended (NULL priv is fine) */
static sfsistat
sl_close(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);

	if (c != NULL) {
		msg_reset(c);
		cfg_release(c->ref);
		metrics_count_conn(&sluice_metrics, -1);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

/*
 * sl_negotiate - the protocol steps this connection needs: no body when
 * no check reads it (the MTA then never sends it). Stages whose callback
 * is NULL (HELO, DATA, EOH, unknown) are turned off too (libmilter does
 * that itself only without this callback). No "no reply" flags:
 * through Postfix on inet: sockets they cost ~40 ms a message (Nagle;
 * milter/tcpconn.c).
 */
static sfsistat
sl_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct cfg_ref *ref;
	/* the stages sluice has no callback for: never sent at all */
	unsigned long want = SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NODATA |
	    SMFIP_NOUNKNOWN;

	(void)ctx;
	(void)f2;
	(void)f3;
	ref = cfg_acquire();
	if (!body_watched(ref->cfg))
		want |= SMFIP_NOBODY;
	cfg_release(ref);
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_QUARANTINE);
	*pf1 = f1 & want;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static char sluice_name[] = "sluice";

static struct smfiDesc sluice_desc = {
	sluice_name,		/* filter name */
	SMFI_VERSION,		/* version code */
	SMFIF_ADDHDRS | SMFIF_QUARANTINE, /* tag and hold */
	sl_connect,		/* connection info filter */
	NULL,			/* SMTP HELO command filter */
	sl_envfrom,		/* envelope sender filter */
	sl_envrcpt,		/* envelope recipient filter */
	sl_header,		/* header filter */
	NULL,			/* end of header */
	sl_body,		/* body block filter */
	sl_eom,			/* end of message */
	sl_abort,		/* message aborted */
	sl_close,		/* connection cleanup */
	NULL,			/* unknown SMTP commands */
	NULL,			/* DATA command */
	sl_negotiate		/* option negotiation */
};

/* callbacks_register - register the libmilter callbacks */
int
callbacks_register(void)
{
	return smfi_register(sluice_desc) == MI_SUCCESS ? 0 : -1;
}
