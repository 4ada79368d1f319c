/*
 * control_hold.c - a login locked on any relay (our lock rule, a "lock H"
 * event, P:locked found by the poll): the queue ids it got accepted here
 * within hold_window handed to hold_command (hook.c), once per lock,
 * named from P{H}:lockinfo or P{H}:who. held[] remembers the locks dealt
 * with.
 *
 * Thread-safety: the control thread's; with no control thread (the
 * memory store) control_locked calls it under ctl.lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "contract.h"
#include "control.h"
#include "control_int.h"
#include "qidmem.h"
#include "sender.h"
#include "sluice.h"

/* ctl_held_find - index of a lock dealt with, or -1 */
int
ctl_held_find(const char *key)
{
	size_t i;

	for (i = 0; i < ctl.nheld; i++)
		if (strcmp(ctl.held[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* ctl_held_drop - forget a lock dealt with (unlocked, expired) */
void
ctl_held_drop(size_t i)
{
	memmove(&ctl.held[i], &ctl.held[i + 1], (ctl.nheld - i - 1) *
	    sizeof(ctl.held[0]));
	ctl.nheld--;
}

/* held_add - remember a lock dealt with; the oldest goes when full */
static void
held_add(const char *key)
{
	if (ctl.nheld == HELD_MAX)
		ctl_held_drop(0);
	snprintf(ctl.held[ctl.nheld].key, sizeof(ctl.held[0].key), "%s", key);
	ctl.held[ctl.nheld++].since = (uint64_t)time(NULL);
}

/* lock_names - the login, its origin and the locking relay: P{H}:lockinfo,
 * P{H}:who */
static void
lock_names(const char *key, char *who, size_t wlen, enum sender_origin *o,
    char *relay, size_t rlen)
{
	char k[KEY_MAX], *tab;
	redisReply *r;
	int named = 0;

	*o = SENDER_SASL;	/* no origin written: an older relay's lock */
	snprintf(who, wlen, "%s", key);		/* at least the key */
	snprintf(relay, rlen, "unknown");
	contract_sender(k, sizeof(k), ctl.prefix, key, CONTRACT_LOCKINFO);
	if ((r = ctl_command("HMGET", k, CONTRACT_LI_LOGIN, CONTRACT_LI_BY,
	    CONTRACT_LI_ORIGIN, NULL)) == NULL)
		return;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
		if (r->element[2]->type == REDIS_REPLY_STRING &&
		    sender_origin_parse(r->element[2]->str, o) == -1)
			*o = SENDER_SASL;
		if (r->element[0]->type == REDIS_REPLY_STRING) {
			sender_printable(r->element[0]->str, who, wlen, 0);
			named = 1;
		}
		if (r->element[1]->type == REDIS_REPLY_STRING)
			sender_printable(r->element[1]->str, relay, rlen, 0);
	}
	freeReplyObject(r);
	contract_sender(k, sizeof(k), ctl.prefix, key, CONTRACT_WHO);
	if (named || (r = ctl_command("GET", k, NULL)) == NULL)
		return;
	if (r->type == REDIS_REPLY_STRING) {
		/* "login" or "login\torigin" (the TAB is ours: printable
		 * logins hold none) */
		if ((tab = strchr(r->str, '\t')) != NULL) {
			*tab = '\0';
			if (sender_origin_parse(tab + 1, o) == -1)
				*o = SENDER_SASL;
		}
		sender_printable(r->str, who, wlen, 0);
	}
	freeReplyObject(r);
}

/*
 * ctl_lock_seen - a login is locked: hand the ids it got accepted here to the
 * hold command, once per lock. who/relay NULL: read from lockinfo (and
 * the origin with them; else o is who's). A lock
 * found by the poll with nothing to hold is noted silently.
 */
void
ctl_lock_seen(const char *key, const char *who, enum sender_origin o,
    const char *relay, int polled)
{
	char whobuf[SHOWN_MAX], relaybuf[128], win[16];
	char whoval[SHOWN_MAX + 8], relayval[sizeof(relaybuf) + 8];
	char whoshow[sizeof(whoval) + 32];
	struct cfg_ref *ref;
	const struct config *cfg;
	char *ids = NULL;
	size_t n = 0;

	if (ctl_held_find(key) != -1)
		return;
	held_add(key);
	ref = cfg_acquire();
	cfg = ref->cfg;
	if (cfg->hold_command != NULL &&
	    (n = qidmem_take(ctl.qids, key, (uint64_t)time(NULL),
	    cfg->hold_window_ms / 1000, &ids)) == (size_t)-1) {
		log_err("control: out of memory taking the queue ids of %s",
		    key);
		n = 0;
	}
	if (polled && n == 0) {
		cfg_release(ref);
		return;
	}
	if (who == NULL) {
		lock_names(key, whobuf, sizeof(whobuf), &o, relaybuf,
		    sizeof(relaybuf));
		who = whobuf;
		relay = relaybuf;
	}
	/* for the log lines: each one field, whatever a relay wrote */
	sender_logvalue(who, whoval, sizeof(whoval));
	sender_logvalue(relay, relayval, sizeof(relayval));
	control_who(whoval, o, whoshow, sizeof(whoshow));
	who = whoshow;
	relay = relayval;
	if (n == 0)
		log_warnx("login=%s locked on relay %s: held 0 queued messages "
		    "(%s%s)", who, relay, cfg->hold_command == NULL ?
		    "no hold_command" : "none accepted here in the last ",
		    cfg->hold_command == NULL ? "" :
		    config_format_window(cfg->hold_window_ms / 1000, win,
		    sizeof(win)));
	else
		hold_run(cfg->hold_command, ids, n, cfg->hold_batch,
		    cfg->hold_command_timeout_ms, who, relay);
	cfg_release(ref);
}
