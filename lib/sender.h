/* sender.h - turn a login into a key that is safe in any store */
#ifndef SLUICE_SENDER_H
#define SLUICE_SENDER_H

#include <stddef.h>

#define SENDER_KEY_LEN	32	/* hex chars of a sender key */
#define SENDER_LOGIN_MAX 1024	/* longest login accepted, bytes */
#define SENDER_NAME_MAX	(SENDER_LOGIN_MAX + 16) /* a login with its origin
					   tag ("envelope:"), bytes */

/*
 * Where a message's sender name comes from. Each origin has keys of its
 * own: a count, a lock, a hold or a class override of one never touches
 * another, whatever the text (an envelope sender anyone can forge never
 * shares a key with the SASL login it imitates).
 */
enum sender_origin {
	SENDER_SASL = 0,	/* the MTA's SASL login ({auth_authen}) */
	SENDER_HEADER,		/* trusted_header of a trusted relay */
	SENDER_ENVELOPE		/* MAIL FROM (local submission, trusted
				   relay without the header) */
};

/*
 * sender_key - key of a login: lowercase hex of BLAKE2b-128 over the login
 * with ASCII letters folded to lower case (so "Alice" and "alice" share
 * one quota). out must hold SENDER_KEY_LEN + 1 bytes. Any bytes are
 * accepted (braces, colons, CR/LF, NUL-free); the key is [0-9a-f]{32}.
 */
void	sender_key(const char *login, char *out);

/*
 * sender_origin_key - key of a login of an origin: sender_key() for
 * SENDER_SASL (so SASL keys are those of earlier releases); for the
 * others the hash also covers the origin's name and a NUL byte, which no
 * login holds, so no login of one origin has the key of another's.
 */
void	sender_origin_key(enum sender_origin, const char *login, char *out);

/* sender_origin_name - "sasl", "header" or "envelope" */
const char *sender_origin_name(enum sender_origin);

/* sender_origin_parse - the origin of a name sender_origin_name gives;
 * 0, or -1 for any other text */
int	sender_origin_parse(const char *name, enum sender_origin *);

/*
 * sender_qualified - the name of a login outside sluice (lock_command's
 * LOGIN, class map entries of envelope senders): the login itself for
 * SASL, else "origin:login" ("envelope:bob@example.com"), so a hook
 * never mistakes a forged envelope sender for an account. Returns out,
 * or NULL when it does not fit in outlen.
 */
char	*sender_qualified(enum sender_origin, const char *login, char *out,
	    size_t outlen);

/*
 * sender_class_names - the two names a login is looked up by in class
 * maps: the whole name and its "@domain" (the part from the last '@';
 * NULL without one). SASL and trusted-header logins are looked up as
 * they are (the relay authenticated that user: the account's class is
 * theirs); envelope senders by "envelope:ADDRESS" and
 * "envelope:@domain", so only entries written for them apply. whole and
 * dom (each SENDER_NAME_MAX + 1 bytes) hold the names when they need a
 * copy. 0, or -1 when the login is too long for a tag.
 */
int	sender_class_names(enum sender_origin, const char *login,
	    char *whole, char *dom, const char **wp, const char **dp);

/*
 * sender_with_domain - a bare login (no '@') with "@domain" appended
 * (login_default_domain), so "alice" and "alice@example.com" are one
 * account; a login with an '@', or domain NULL, is copied as it is.
 * Returns out, or NULL when the result does not fit.
 */
char	*sender_with_domain(const char *login, const char *domain, char *out,
	    size_t outlen);

/*
 * sender_printable - copy `in` to `out` (size outlen) for a log line or an
 * SMTP reply: bytes outside printable ASCII become \xHH, and '%' becomes
 * "%%" when for_reply is set; truncated with "..." if too long.
 */
void	sender_printable(const char *in, char *out, size_t outlen,
	    int for_reply);

/*
 * sender_logvalue - `in` as the value of one key=value field of a log
 * line, so that no value can end its field, add a field or a line: as
 * it is when it is printable ASCII without space, '=', '"' or '\\';
 * else (and when empty) in double quotes, '"' and '\\' escaped with a
 * '\\', each byte outside printable ASCII (CR, LF, tab, 8-bit) as \xHH.
 * Cut with "..." (inside the quotes) to fit outlen, which should be 8
 * or more (less: "").
 */
void	sender_logvalue(const char *in, char *out, size_t outlen);

#endif
