/* sender.h - turn a login into a key that is safe in any store */
#ifndef SLUICE_SENDER_H
#define SLUICE_SENDER_H

#include <stddef.h>

#define SENDER_KEY_LEN	32	/* hex chars of a sender key */
#define SENDER_LOGIN_MAX 1024	/* longest login accepted, bytes */

/*
 * sender_key - key of a login: lowercase hex of BLAKE2b-128 over the login
 * with ASCII letters folded to lower case (so "Alice" and "alice" share
 * one quota). out must hold SENDER_KEY_LEN + 1 bytes. Any bytes are
 * accepted (braces, colons, CR/LF, NUL-free); the key is [0-9a-f]{32}.
 */
void	sender_key(const char *login, char *out);

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
