/*
 * callbacks.c - libmilter callbacks: copy what the MTA says into lib/
 * structs, ask lib/ (decide.c: a message summary in, a decision and its
 * actions out), turn the answer into an SMTP reply (verdict_reply), log
 * lines, the lock's hooks and the notes for holds and delivery feedback.
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
#include "decide.h"
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
	char			 login[DECIDE_SHOW_MAX]; /* printable copy */
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
 * lock_login - the decision locks the login on every relay (one more
 * store call, once per lock): log it, tell the others, run the lock
 * command once
 */
static void
lock_login(struct conn *c, const struct decide_out *o)
{
	const struct config *cfg = c->ref->cfg;
	char err[256], who[DECIDE_SHOW_MAX + 32];
	char named[SENDER_NAME_MAX + 1];
	int rc;

	control_who(o->v.login, c->msg.origin, who, sizeof(who));
	rc = decide_lock(cfg, rt.store, c->msg.key, err, sizeof(err));
	if (rc == -1) {
		log_err("%s: cannot lock login=%s: %s", o->v.qid, who, err);
		return;
	}
	okcache_forget(rt.okcache, c->msg.key);
	if (rc == 0)
		return;		/* another relay locked it first */
	metrics_count_lock(&sluice_metrics);
	log_warnx("%s: login=%s client=%s locked on every relay: %s",
	    o->v.qid, who, c->client, o->reason);
	control_locked(cfg, c->msg.key, c->msg.login, c->msg.origin,
	    o->reason);
	/* LOGIN names the origin unless SASL: a hook that disables accounts
	 * never disables one for a forged envelope sender */
	if (cfg->lock_command != NULL && c->msg.raw != NULL &&
	    sender_qualified(c->msg.origin, c->msg.raw, named,
	    sizeof(named)) != NULL)
		hook_run(cfg->lock_command, named, who, o->reason,
		    sender_origin_name(c->msg.origin),
		    cfg->lock_command_timeout_ms);
}

/* env_of - what lib/ decides with, for this connection */
static void
env_of(const struct conn *c, struct decide_env *e)
{
	e->cfg = c->ref->cfg;
	e->store = rt.store;
	e->okcache = rt.okcache;
	e->okepoch = c->okepoch;
	e->metrics = &sluice_metrics;
}

/* summary_of - the current message as lib/ reads it; at end of message
 * (commit) the body's fingerprint is finished into *fpr */
static void
summary_of(SMFICTX *ctx, struct conn *c, int commit, struct fp_result *fpr,
    struct decide_msg *s)
{
	memset(s, 0, sizeof(*s));
	s->commit = commit;
	s->inbound = c->msg.inbound;
	s->deferred = c->msg.deferred;
	s->cls = c->msg.cls;
	s->origin = c->msg.origin;
	s->key = c->msg.key;
	s->login = c->msg.login;
	s->raw = c->msg.raw;
	s->dcls = c->msg.dcls;
	s->dkey = c->msg.dkey;
	s->client = c->client;
	s->via = c->msg.via;
	s->qid = macro(ctx, "i");
	s->mta = macro(ctx, "j");
	s->nrcpt = c->msg.nrcpt;
	s->nrcpt_ext = c->msg.nrcpt_ext;
	s->naddr = c->msg.counted ? c->msg.addr.distinct : 0;
	s->received = c->msg.received;
	s->msgid = c->msg.msgid;
	s->hops = &c->msg.hops;
	s->from = c->msg.identity ? &c->msg.from : NULL;
	s->now = (uint64_t)time(NULL);
	if (!commit)
		return;
	if (c->msg.fp_on)
		fp_final(&c->msg.fp, fpr);
	else	/* nothing reads the body: nothing to finish */
		memset(fpr, 0, sizeof(*fpr));
	s->body = fpr;
}

/* carry_out - what an answered decision asks for beyond the reply */
static void
carry_out(SMFICTX *ctx, struct conn *c, const struct decide_out *o)
{
	const struct config *cfg = c->ref->cfg;
	const char *qid = macro(ctx, "i");

	if (o->lock)
		lock_login(c, o);
	if (o->note) {
		control_accepted(cfg, c->msg.key, qid);	/* for a later hold */
		feedback_accepted(qid, c->msg.key, c->msg.raw != NULL ?
		    c->msg.raw : c->msg.login, c->msg.origin); /* bounces */
	}
	if (o->mark[0] != '\0' && smfi_insheader(ctx, 0, cfg->hop_header,
	    (char *)(uintptr_t)o->mark) != MI_SUCCESS)
		log_warnx("%s: cannot add the %s header", o->v.qid,
		    cfg->hop_header);
}

/* check - lib/ decides the current message; the answer for libmilter */
static sfsistat
check(SMFICTX *ctx, struct conn *c, int commit)
{
	struct decide_env e;
	struct decide_msg s;
	struct decide_out o;
	struct fp_result fpr;
	sfsistat st;
	unsigned i;
	int rc;

	env_of(c, &e);
	summary_of(ctx, c, commit, &fpr, &s);
	rc = decide(&e, &s, &o);
	for (i = 0; i < o.nwarn; i++)
		log_warnx("%s", o.warn[i]);
	if (o.stored)
		breaker_watch(o.err);
	if (rc == -1) {
		log_err("%s", o.line);
		return SMFIS_CONTINUE;
	}
	if (o.line[0] != '\0')
		log_info("%s", o.line);
	st = verdict_reply(ctx, c->ref->cfg, &o.d, commit);
	carry_out(ctx, c, &o);
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

/* msg_begin - a counted message starts: its streaming state */
static void
msg_begin(struct conn *c)
{
	c->msg.counted = 1;
	addr_count_init(&c->msg.addr);
	c->msg.fp_on = decide_body_watched(c->ref->cfg);
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
	char shown[DECIDE_SHOW_MAX];

	c->msg.dcls = o == SENDER_ENVELOPE || at == NULL ? NULL :
	    control_domain_class_for(c->ref->cfg, login);
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
	struct decide_env e;
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
		if (!decide_loops_watched(c->ref->cfg))
			return SMFIS_ACCEPT;
		c->msg.inbound = 1;
		c->msg.fp_on = decide_body_watched(c->ref->cfg);
		fp_init(&c->msg.fp);
		hopmark_seen_init(&c->msg.hops);
		return SMFIS_CONTINUE;
	}
	msg_begin(c);
	msg_key(c, SENDER_SASL, login);
	c->msg.identity = 1;
	env_of(c, &e);
	return decide_early_due(&e, c->msg.key) ? check(ctx, c, 0) :
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
	struct decide_env e;
	struct decide_msg s;
	struct decide_out o;
	sfsistat st = SMFIS_CONTINUE;

	if (c == NULL || !c->msg.counted)
		return SMFIS_CONTINUE;
	/* deferred: never refused here, counted at EOM */
	if (!c->msg.deferred) {
		env_of(c, &e);
		summary_of(ctx, c, 0, NULL, &s);
		if (decide_rcpt(&e, &s, &o)) {
			log_info("%s", o.line);
			/* a tempfail refuses this recipient only */
			st = verdict_reply(ctx, c->ref->cfg, &o.d, 0);
		}
	}
	if (st == SMFIS_CONTINUE)
		rcpt_add(c, argv);
	return st;
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
	st = check(ctx, c, 1);
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
	if (!decide_body_watched(ref->cfg))
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
