/* domains.h - the local domains, and whether a recipient is in one */
#ifndef SLUICE_DOMAINS_H
#define SLUICE_DOMAINS_H

#include <stddef.h>

#define DOMAINS_MAX	1024	/* entries in one list */
#define DOMAINS_NAME_MAX 253	/* longest domain name (RFC 1035) */

struct domains;

/*
 * domains_parse - "example.com, .example.org" (commas and/or blanks
 * between) into a new list: "example.com" is that domain exactly,
 * ".example.org" every domain below example.org (not example.org
 * itself). NULL with a message in err on a malformed entry or out of
 * memory.
 */
struct domains	*domains_parse(const char *text, char *err,
		    size_t errlen);

/* domains_free - release a list; NULL is fine */
void		 domains_free(struct domains *);

/*
 * domains_local - is this envelope recipient ("<user@host>" or
 * "user@host") internal: its domain (after the last '@', case folded, a
 * trailing dot dropped) in the list, or no domain at all (a local
 * mailbox such as <postmaster>)? A NULL list holds no domain.
 */
int		 domains_local(const struct domains *, const char *rcpt);

/* domains_count - how many entries */
size_t		 domains_count(const struct domains *);

/* domains_format - the entries as domains_parse reads them, joined by
 * sep, into out; returns the length needed (out is cut, NUL-terminated,
 * when that is outlen or more) */
size_t		 domains_format(const struct domains *, const char *sep,
		    char *out, size_t outlen);

#endif
