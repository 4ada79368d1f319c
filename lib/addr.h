/* addr.h - count the addresses in To/Cc/Resent-To/Resent-Cc header values */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_SEEN_SLOTS	1024	/* distinct-address set size per message */
#define ADDR_SEEN_MAX	(ADDR_SEEN_SLOTS / 4 * 3) /* held exactly; then
					   every unseen one counts as new */
#define ADDR_EW_MAX	75	/* longest encoded word, RFC 2047 section 2 */

/*
 * Parser state for the header value being read. Private to addr.c; it is
 * here only so that callers can embed struct addr_count without malloc.
 */
struct addr_parse {
	uint64_t	h_bare;	/* hash of the element outside <> and comments */
	uint64_t	h_angle; /* hash of the open <...> so far */
	uint64_t	h_addr;	/* hash of the last non-empty <...> */
	uint32_t	comment; /* comment nesting depth, saturating */
	unsigned char	quoted;	/* inside "..." */
	unsigned char	escaped; /* last byte was '\' in quotes or a comment */
	unsigned char	literal; /* inside a domain literal [...] */
	unsigned char	angle;	/* inside <...> */
	unsigned char	route;	/* <...> began with '@': obs-route until ':' */
	unsigned char	route_comma; /* a ',' in the route awaits its '@' */
	unsigned char	angle_any; /* the open <...> holds something */
	unsigned char	bare;	/* element has words outside <> and comments */
	unsigned char	had_angle; /* element had a <...>, even an empty one */
	unsigned char	addr;	/* h_addr is set */
	unsigned char	in_word; /* last byte continued a word */
	unsigned char	ew_phase; /* how far the held encoded word got */
	unsigned char	ew_len;	/* bytes held in ew[]; 0 = none */
	unsigned char	ew[ADDR_EW_MAX + 1]; /* a maybe-encoded word */
};

/* One message's address counts; embedded in the caller's message state. */
struct addr_count {
	struct addr_parse p;	/* state of the header value being read */
	uint64_t	seen[ADDR_SEEN_SLOTS]; /* address hashes; 0 = empty */
	size_t		nseen;	/* hashes held in seen[] */
	uint64_t	total;	/* addresses counted, duplicates included */
	uint64_t	distinct; /* distinct addresses; never under-counted */
	uint64_t	unbalanced; /* values that ended inside "..." or (...),
				   which may have hidden separators */
};

/* addr_count_init - zero the counts: call at the start of each message */
void	addr_count_init(struct addr_count *ac);

/* addr_count_header - count one whole header value of len bytes */
void	addr_count_header(struct addr_count *ac, const char *value,
	    size_t len);

/* addr_count_begin - start a header value to be given in pieces */
void	addr_count_begin(struct addr_count *ac);

/* addr_count_push - feed the next len bytes of the header value */
void	addr_count_push(struct addr_count *ac, const char *p, size_t len);

/* addr_count_end - finish the header value: count its last element */
void	addr_count_end(struct addr_count *ac);

/* addr_header_counted - 1 if header `name` holds counted addresses */
int	addr_header_counted(const char *name);

#endif
