/* control.h - the daemon's control channel: live classes, who, locks, holds */
#ifndef SLUICE_CONTROL_H
#define SLUICE_CONTROL_H

#include <stdint.h>

#include "config.h"
#include "sender.h"

/*
 * control_start - with store redis, start the control thread (its own
 * Redis connections: the server, the primary behind Sentinel, or a
 * Cluster's nodes; the passwords borrowed only during the call); a no-op
 * with store memory. -1 when the thread cannot start.
 */
int		 control_start(const struct config *, const char *password,
		    const char *sentinel_password);

/* control_stop - stop the control thread and wait for it; no-op if none */
void		 control_stop(void);

/* control_reloaded - the config changed: check the live classes again */
void		 control_reloaded(void);

/* control_class_for - a login's class: live override, then the map file
 * (looked up by sender_class_names: envelope senders by their own names) */
const struct config_class *control_class_for(const struct config *,
		    enum sender_origin, const char *login);

/* control_domain_class_for - the class giving a login's domain its
 * domain_* limits: live "@domain" override, then domain_class_map, then
 * default; NULL for a bare login */
const struct config_class *control_domain_class_for(const struct config *,
		    const char *login);

/* control_who - "LOGIN origin=ORIGIN" (shown: printable), for log lines */
void		 control_who(const char *shown, enum sender_origin, char *out,
		    size_t outlen);

/* control_seen - a login sent mail: write its `who` key, at most hourly */
void		 control_seen(const char *key, const char *shown,
		    enum sender_origin);

/* control_accepted - remember a queue id accepted from a login */
void		 control_accepted(const struct config *, const char *key,
		    const char *qid);

/* control_qid_put - delivery feedback: tell the other relays' readers
 * (through Redis, by the control thread) whose queue id qid is */
void		 control_qid_put(const char *qid, const char *key,
		    const char *login, enum sender_origin);

/* control_qid_get - delivery feedback: ask Redis whose queue id another
 * relay accepted; waits at most timeout_ms; 1 found, 0 not */
int		 control_qid_get(const char *qid, char *key, size_t keylen,
		    char *login, size_t loginlen, enum sender_origin *,
		    unsigned timeout_ms);

/* control_locked - this relay locked a login: tell the others, hold */
void		 control_locked(const struct config *, const char *key,
		    const char *shown, enum sender_origin, const char *reason);

/* control_qids - the queue ids remembered for holds, or NULL (none kept) */
struct qidmem	*control_qids(void);

#endif
