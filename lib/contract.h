/*
 * contract.h - the control contract: the Redis key names, the channel,
 * its events and the lock info that the daemons, the store and sluicectl
 * share (doc/control-contract.md). One place builds and parses them.
 */
#ifndef SLUICE_CONTRACT_H
#define SLUICE_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#define CONTRACT_KEY_MAX	256	/* a key: prefix (64) + {tag} + rest */
#define CONTRACT_EVENT_MAX	48	/* "unlock " + a sender key + NUL */
#define CONTRACT_LOCK_BUCKETS	60	/* a lock ends within 1/60 of its
					   lifetime (the lock counter) */
#define CONTRACT_SENDER_LEN	32	/* hex digits of sender_key() */

/* names after the prefix, whole-relay keys (P:name) */
#define CONTRACT_CLASSES	"classes"	/* hash login|@domain -> class */
#define CONTRACT_LOCKED		"locked"	/* sorted set H -> until */
#define CONTRACT_EVENTS		"events"	/* the channel */
#define CONTRACT_FQ		"fq"		/* P:fq:QUEUEID -> "H ORIGIN
						   LOGIN" (feedback) */
#define CONTRACT_FQ_TTL		86400		/* s a P:fq key lives */

/* names after P{H}: */
#define CONTRACT_WHO		"who"		/* printable login */
#define CONTRACT_LOCKINFO	"lockinfo"	/* hash, fields below */
#define CONTRACT_LOCK		"lock"		/* the lock counter's name */
#define CONTRACT_REFUSED	"refused"	/* the refusal counters' name */

/* P{H}:lockinfo fields */
#define CONTRACT_LI_LOGIN	"login"		/* printable login */
#define CONTRACT_LI_ORIGIN	"origin"	/* its origin (sender.h); absent:
						   sasl (an older relay) */
#define CONTRACT_LI_REASON	"reason"	/* why */
#define CONTRACT_LI_BY		"by"		/* relay host name, "sluicectl" */
#define CONTRACT_LI_AT		"at"		/* unix seconds, locked */
#define CONTRACT_LI_UNTIL	"until"		/* unix seconds, ends */

/* what a message of P:events says */
enum contract_event {
	CONTRACT_EV_NONE,	/* none of ours: ignored */
	CONTRACT_EV_LOCK,	/* "lock H": H is locked */
	CONTRACT_EV_UNLOCK,	/* "unlock H": H's lock is lifted */
	CONTRACT_EV_RESET,	/* "reset H": H's counters are forgotten */
	CONTRACT_EV_CLASS	/* "class": P:classes changed */
};

/* one counter of one sender: P{H}:name[:sub]:window:buckets */
struct contract_counter {
	char		 sender[65];	/* the hash tag */
	char		 name[17];	/* "msg", "lock", ... */
	char		 sub[33];	/* "" or the sub-name */
	uint32_t	 window;	/* seconds */
	uint32_t	 buckets;
};

/* contract_key_ok - is s (len bytes) a sender key (32 lower-case hex)? */
int	contract_key_ok(const char *s, size_t len);

/* contract_global - P:name; -1 if it does not fit */
int	contract_global(char *out, size_t outlen, const char *prefix,
	    const char *name);

/* contract_sender - P{H}:rest; -1 if it does not fit */
int	contract_sender(char *out, size_t outlen, const char *prefix,
	    const char *sender, const char *rest);

/* contract_counter - P{H}:name[:sub]:window:buckets (sub NULL or "");
 * -1 if it does not fit */
int	contract_counter(char *out, size_t outlen, const char *prefix,
	    const char *sender, const char *name, const char *sub,
	    uint32_t window, uint32_t buckets);

/* contract_counter_parse - split a counter key; 0, or -1 if none of ours */
int	contract_counter_parse(const char *prefix, const char *key,
	    struct contract_counter *);

/* contract_fq_key - P:fq:QUEUEID; -1 if it does not fit or qid is empty
 * or holds a space or control byte */
int	contract_fq_key(char *out, size_t outlen, const char *prefix,
	    const char *qid);

/* contract_fq_value - "H ORIGIN LOGIN" (origin: its name, sender.h);
 * -1 if it does not fit or H is not a sender key */
int	contract_fq_value(char *out, size_t outlen, const char *sender,
	    const char *origin, const char *login);

/*
 * contract_fq_parse - split a P:fq value in place: *sender (a sender
 * key), *origin (a name, not checked here), *login (the rest, may hold
 * spaces). 0, or -1 if it is none of ours.
 */
int	contract_fq_parse(char *value, const char **sender,
	    const char **origin, const char **login);

/* contract_event - the message for ev (key NULL for CLASS); -1: bad */
int	contract_event(char *out, size_t outlen, enum contract_event ev,
	    const char *key);

/* contract_event_parse - what a message says; key gets H (33 bytes) */
enum contract_event contract_event_parse(const char *s, size_t len,
	    char *key);

#endif
