/* identity.h - From: addresses of a message and the addresses a login may use */
#ifndef SLUICE_IDENTITY_H
#define SLUICE_IDENTITY_H

#include <stddef.h>

#define IDENT_ADDR_MAX	320	/* longest addr-spec kept (64 + 1 + 255) */
#define IDENT_FROM_MAX	4	/* From: addresses kept per message */
#define IDENT_EW_MAX	75	/* longest encoded word, RFC 2047 */

/* the From: header(s) of one message; embedded, no malloc */
struct ident_from {
	unsigned	 nheaders;	/* From: headers seen */
	unsigned	 naddr;		/* addresses found, kept or not */
	unsigned	 bad;		/* elements that are not an addr-spec,
					   too long, or unbalanced */
	char		 addr[IDENT_FROM_MAX][IDENT_ADDR_MAX + 1]; /* lower-
					   cased addr-specs, quotes removed */
};

/* what ident_check found */
enum ident_result {
	IDENT_UNCHECKED = 0,	/* login has no identities: nothing to check */
	IDENT_OK,		/* every From: address is the login's */
	IDENT_MISMATCH		/* see the reason */
};

struct ident_map;

/* ident_from_init - forget the From: headers: call at each message */
void	ident_from_init(struct ident_from *);

/* ident_from_header - read one From: header value (len bytes, any bytes) */
void	ident_from_header(struct ident_from *, const char *value, size_t len);

/* ident_extract - the addr-specs of one address-list value into out[max]
 * (each IDENT_ADDR_MAX + 1 bytes); returns how many were found (maybe
 * more than max) and counts the unreadable elements in *bad */
unsigned ident_extract(const char *value, size_t len,
	    char (*out)[IDENT_ADDR_MAX + 1], unsigned max, unsigned *bad);

/* ident_map_new - an empty identity map; NULL when out of memory */
struct ident_map *ident_map_new(void);

/* ident_map_free - release a map; NULL is fine */
void	ident_map_free(struct ident_map *);

/*
 * ident_map_add - "login addr@dom, @domain, *" from one line: words[0] is
 * the login (or @domain), the rest are addresses separated by commas
 * and/or words. -1 with a message in err on a bad line.
 */
int	ident_map_add(struct ident_map *, char *const *words, size_t nwords,
	    unsigned line, char *err, size_t errlen);

/* ident_map_finish - sort; a login listed twice is an error: its line in
 * *line, -1 */
int	ident_map_finish(struct ident_map *, unsigned *line);

/*
 * ident_check - may `login` use every From: address of the message? The
 * map may be NULL. Without an entry, an address-like login may use
 * itself only; another login is not checked. On a mismatch, why says so
 * in words fit for a log line and a tag header (never the login).
 */
enum ident_result ident_check(const struct ident_map *, const char *login,
	    const struct ident_from *, char *why, size_t whylen);

#endif
