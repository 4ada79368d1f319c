/*
 * addr.c - a streaming counter of the addresses in address-list headers
 * (To, Cc, Resent-To, Resent-Cc): the header fan-out of seed 003, where
 * one message with ~630 addresses in To: was re-relayed to each of them.
 *
 * Public: addr_count_init, addr_count_header, addr_count_begin,
 * addr_count_push, addr_count_end, addr_header_counted.
 *
 * Memory: nothing is allocated. The caller owns struct addr_count (about
 * 8.3 KiB, embedded in its per-message state) and the header bytes, which
 * are only read, never kept. Thread-safety: no global state; one struct
 * must not be fed from two threads at once.
 *
 * What is accepted: RFC 5322 section 3.4, leniently. A value is read once,
 * byte by byte, in O(len) time, as a list of elements:
 *
 *   value    = element *( "," / ";" element )
 *   element  = [ group-name ":" ] [ display-name ]
 *              [ "<" [ route ":" ] spec ">" ]   /   spec   /   nothing
 *
 * - Separators: ',' and ';' outside quotes, comments and <...>. ';' ends
 *   a group, and Outlook also writes it between addresses; either way it
 *   ends the element, so group nesting need not be tracked.
 * - ':' outside <...> ends a group's display-name: what came before it in
 *   the element is dropped (`undisclosed-recipients:;` counts 0).
 * - "..." quoted strings (with \ escapes) and (...) comments (nested,
 *   with \ escapes) hide separators. Comments are dropped entirely.
 * - <...> holds the address; inside it a ',' is part of an obs-route
 *   (`<@a,@b:j@x>`) only while the content began with '@', no ':' has
 *   come yet and the next word after the ',' begins with '@' again; if it
 *   does not, the ',' separated after all (`<@a, b@c` is 2). Any other
 *   ',' or ';' closes an unclosed '<' and separates. A second '<' in one
 *   element starts a new angle address.
 * - [...] domain literals hide ':'; ',' ';' and '>' still close them.
 * - An RFC 2047 encoded word (`=?charset?Q?text?=`, at most 75 bytes, no
 *   space, no '@' in the text) starting a word outside quotes, comments
 *   and <...> is one opaque atom: a ',' in it does not separate. Until the
 *   closing "?=" arrives the bytes are held in ew[]; if it turns out not
 *   to be an encoded word they are read again as plain text. The '@' rule
 *   keeps a sender from hiding addresses in a fake encoded word.
 * - Whitespace: SP, HTAB, CR and LF anywhere (folded or bare). Inside
 *   quotes CR and LF are dropped (unfolding); SP and HTAB are kept.
 * - Any other byte (controls, NUL, 8-bit) is part of a word.
 *
 * What counts: an element counts 1 if it had a non-empty <...>; else 0 if
 * it had only empty ones (`Name <>`); else 1 if it has any word outside
 * comments -- a spec with no '@' (`root`, `undisclosed`) is a local user
 * the MTA will qualify, so it counts. Elements with only whitespace or
 * comments count 0.
 *
 * Malformed input: an unterminated quote or comment runs to the end of
 * the value (the element then counts 1 if it had a word, quoted words
 * included); an unclosed '<' ends at the next ',' ';' or the end; stray
 * '>' and ')' are ignored. Counts therefore err upward, except that an
 * unterminated quote or comment hides the separators after it (as it
 * does for an MTA that parses the header): such values are counted in
 * `unbalanced` so that policy may treat them as suspect.
 *
 * Identity (for distinct): the last non-empty <...>, else the element's
 * words outside comments, hashed on the fly with 64-bit FNV-1a over the
 * bytes with ASCII letters lower-cased, whitespace and quote marks left
 * out (`A@X.org`, `<a@x.org>` and `Bob <a@x.org>` are one). Hashes live
 * in an open-addressing set of ADDR_SEEN_SLOTS filled to ADDR_SEEN_MAX;
 * past that, every address not already held counts as new, so distinct
 * may over-count but never under-counts -- except through a 64-bit hash
 * collision, which FNV-1a does not make hard to craft: charge `total`
 * where a sender may be adversarial.
 */
#include <string.h>

#include "addr.h"

#define FNV_BASIS	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

/* How far a held maybe-encoded word has got: =?charset?E?text?= */
enum ew_phase {
	EW_QMARK1,	/* have "=" */
	EW_CHARSET,	/* have "=?" and maybe some charset */
	EW_ENCODING,	/* have "=?charset?" */
	EW_QMARK3,	/* have "=?charset?E" */
	EW_TEXT,	/* in the encoded text */
	EW_EQUALS	/* have the final '?' */
};

enum ew_result { EW_MORE, EW_DONE, EW_FAIL };

/* hash_byte - one FNV-1a step over c with ASCII letters lower-cased */
static uint64_t
hash_byte(uint64_t h, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	return (h ^ c) * FNV_PRIME;
}

/* is_space - whitespace: SP, HTAB, and CR or LF wherever they appear */
static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* content - add byte c to the address being built, in or out of <> */
static void
content(struct addr_parse *p, unsigned char c)
{
	if (p->angle) {
		p->h_angle = hash_byte(p->h_angle, c);
		p->angle_any = 1;
	} else {
		p->h_bare = hash_byte(p->h_bare, c);
		p->bare = 1;
	}
}

/* angle_close - end a <...>; a non-empty one becomes the identity */
static void
angle_close(struct addr_parse *p)
{
	if (p->angle_any) {
		p->h_addr = p->h_angle;
		p->addr = 1;
	}
	p->angle = 0;
	p->route = p->route_comma = 0;
	p->angle_any = 0;
	p->h_angle = FNV_BASIS;
}

/* element_reset - forget the element read so far */
static void
element_reset(struct addr_parse *p)
{
	p->h_bare = p->h_angle = p->h_addr = FNV_BASIS;
	p->literal = p->angle = p->route = p->route_comma = p->angle_any = 0;
	p->bare = p->had_angle = p->addr = p->in_word = 0;
}

/* seen_add - count one address with hash h, total and distinct */
static void
seen_add(struct addr_count *ac, uint64_t h)
{
	size_t i;

	ac->total++;
	if (h == 0)
		h = 1;
	/* nseen <= ADDR_SEEN_MAX < ADDR_SEEN_SLOTS: an empty slot ends this */
	for (i = h & (ADDR_SEEN_SLOTS - 1); ac->seen[i] != 0;
	    i = (i + 1) & (ADDR_SEEN_SLOTS - 1))
		if (ac->seen[i] == h)
			return;
	if (ac->nseen < ADDR_SEEN_MAX) {
		ac->seen[i] = h;
		ac->nseen++;
	}
	ac->distinct++;
}

/* element_end - count the element just read, then start the next */
static void
element_end(struct addr_count *ac)
{
	struct addr_parse *p = &ac->p;

	if (p->angle)
		angle_close(p);
	if (p->addr)
		seen_add(ac, p->h_addr);
	else if (!p->had_angle && p->bare)
		seen_add(ac, p->h_bare);
	element_reset(p);
}

/* addr_step - read one byte that is not part of a held encoded word */
static void
addr_step(struct addr_count *ac, unsigned char c)
{
	struct addr_parse *p = &ac->p;

	if (p->escaped) {
		p->escaped = 0;
		if (p->quoted && c != '\r' && c != '\n')
			content(p, c);
		return;
	}
	if (p->comment) {
		if (c == '\\')
			p->escaped = 1;
		else if (c == '(' && p->comment < UINT32_MAX)
			p->comment++;
		else if (c == ')')
			p->comment--;
		return;
	}
	if (p->quoted) {
		if (c == '\\')
			p->escaped = 1;
		else if (c == '"')
			p->quoted = 0;
		else if (c != '\r' && c != '\n')
			content(p, c);
		return;
	}
	if (p->literal) {
		if (c == ']') {
			p->literal = 0;
			content(p, c);
			return;
		}
		if (c != ',' && c != ';' && c != '>') {
			if (!is_space(c))
				content(p, c);
			return;
		}
		p->literal = 0;	/* unclosed: let the separator through */
	}

	if (p->route_comma && !is_space(c) && c != '(' && c != ',') {
		p->route_comma = 0;
		if (c != '@')	/* `<@a, b@c`: no route, the ',' separated */
			element_end(ac);
	}
	p->in_word = 0;
	switch (c) {
	case ' ': case '\t': case '\r': case '\n':
	case ')':		/* stray: ignored */
		break;
	case '(':
		p->comment = 1;
		break;
	case '"':
		p->quoted = 1;
		p->in_word = 1;	/* `"x"=?...` is not the start of a word */
		break;
	case '[':
		p->literal = 1;
		p->in_word = 1;
		content(p, c);
		break;
	case '<':
		if (p->angle)
			angle_close(p);
		p->angle = 1;
		p->had_angle = 1;
		break;
	case '>':
		if (p->angle)
			angle_close(p);
		break;
	case ':':
		if (p->route) {		/* end of "@a,@b:" */
			p->route = p->route_comma = 0;
			p->angle_any = 0;
			p->h_angle = FNV_BASIS;
		} else if (p->angle) {
			content(p, c);
		} else {
			element_reset(p); /* it was a group's display-name */
		}
		break;
	case ',':
		if (p->route)
			p->route_comma = 1;
		else
			element_end(ac);
		break;
	case ';':
		element_end(ac);
		break;
	default:
		if (p->angle && !p->angle_any && c == '@')
			p->route = 1;
		content(p, c);
		p->in_word = 1;
		break;
	}
}

/* ew_may_start - may a '=' here begin an encoded word? */
static int
ew_may_start(const struct addr_parse *p)
{
	return p->ew_len == 0 && !p->escaped && !p->comment && !p->quoted &&
	    !p->literal && !p->angle && !p->in_word;
}

/* is_especial - RFC 2047 especials, which a charset may not contain */
static int
is_especial(unsigned char c)
{
	return c != '\0' && strchr("()<>@,;:\"/[]?.=", c) != NULL;
}

/* ew_step - add byte c to the held encoded word and judge it */
static enum ew_result
ew_step(struct addr_parse *p, unsigned char c)
{
	p->ew[p->ew_len++] = c;
	if (p->ew_len > ADDR_EW_MAX)
		return EW_FAIL;
	switch (p->ew_phase) {
	case EW_QMARK1:
		if (c != '?')
			return EW_FAIL;
		p->ew_phase = EW_CHARSET;
		return EW_MORE;
	case EW_CHARSET:
		if (c == '?') {
			if (p->ew_len == 3)	/* empty charset */
				return EW_FAIL;
			p->ew_phase = EW_ENCODING;
			return EW_MORE;
		}
		if (c <= ' ' || c >= 0x7f || is_especial(c))
			return EW_FAIL;
		return EW_MORE;
	case EW_ENCODING:
		if (c != 'Q' && c != 'q' && c != 'B' && c != 'b')
			return EW_FAIL;
		p->ew_phase = EW_QMARK3;
		return EW_MORE;
	case EW_QMARK3:
		if (c != '?')
			return EW_FAIL;
		p->ew_phase = EW_TEXT;
		return EW_MORE;
	case EW_TEXT:
		if (c == '?') {
			p->ew_phase = EW_EQUALS;
			return EW_MORE;
		}
		if (c <= ' ' || c >= 0x7f || c == '@')
			return EW_FAIL;
		return EW_MORE;
	case EW_EQUALS:
	default:
		return c == '=' ? EW_DONE : EW_FAIL;
	}
}

/* ew_commit - a confirmed encoded word is one word of the element */
static void
ew_commit(struct addr_parse *p)
{
	size_t i;

	for (i = 0; i < p->ew_len; i++)
		content(p, p->ew[i]);
	p->ew_len = 0;
	p->in_word = 1;
}

/*
 * addr_run - read the n bytes of q, holding possible encoded words. q has
 * room for ADDR_EW_MAX + 1 bytes: a failed encoded word is put back in
 * front of what is left of q, and held + left never exceeds that. If
 * `plain` is set the first byte (a '=') may not start an encoded word.
 */
static void
addr_run(struct addr_count *ac, unsigned char *q, size_t n, int plain)
{
	struct addr_parse *p = &ac->p;
	size_t i = 0, rest;
	unsigned char c;

	while (i < n) {
		c = q[i++];
		if (p->ew_len > 0) {
			switch (ew_step(p, c)) {
			case EW_MORE:
				continue;
			case EW_DONE:
				ew_commit(p);
				continue;
			case EW_FAIL:
				break;
			}
			rest = n - i;
			memmove(q + p->ew_len, q + i, rest);
			memcpy(q, p->ew, p->ew_len);
			n = p->ew_len + rest;
			i = 0;
			p->ew_len = 0;
			plain = 1;
			continue;
		}
		if (c == '=' && !plain && ew_may_start(p)) {
			p->ew[0] = c;
			p->ew_len = 1;
			p->ew_phase = EW_QMARK1;
			continue;
		}
		plain = 0;
		addr_step(ac, c);
	}
}

/* addr_count_init - zero the counts: call at the start of each message */
void
addr_count_init(struct addr_count *ac)
{
	memset(ac, 0, sizeof(*ac));
	addr_count_begin(ac);
}

/* addr_count_begin - start a header value to be given in pieces */
void
addr_count_begin(struct addr_count *ac)
{
	memset(&ac->p, 0, sizeof(ac->p));
	element_reset(&ac->p);
}

/* addr_count_push - feed the next len bytes of the header value */
void
addr_count_push(struct addr_count *ac, const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	unsigned char q[ADDR_EW_MAX + 1];
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < len; i++) {
		if (ac->p.ew_len == 0 &&
		    (s[i] != '=' || !ew_may_start(&ac->p))) {
			addr_step(ac, s[i]);	/* the common case */
			continue;
		}
		q[0] = s[i];
		addr_run(ac, q, 1, 0);
	}
}

/* addr_count_end - finish the header value: count its last element */
void
addr_count_end(struct addr_count *ac)
{
	unsigned char q[ADDR_EW_MAX + 1];
	size_t n;

	/* an encoded word still open at the end was not one: reread it */
	while ((n = ac->p.ew_len) > 0) {
		memcpy(q, ac->p.ew, n);
		ac->p.ew_len = 0;
		addr_run(ac, q, n, 1);
	}
	if (ac->p.quoted || ac->p.comment)
		ac->unbalanced++;
	element_end(ac);
	addr_count_begin(ac);
}

/* addr_count_header - count one whole header value of len bytes */
void
addr_count_header(struct addr_count *ac, const char *value, size_t len)
{
	addr_count_begin(ac);
	addr_count_push(ac, value, len);
	addr_count_end(ac);
}

/* addr_header_counted - 1 for To, Cc, Resent-To, Resent-Cc, any case */
int
addr_header_counted(const char *name)
{
	static const char *const counted[] = {
		"to", "cc", "resent-to", "resent-cc",
	};
	size_t len, i, j;
	unsigned char c;

	if (name == NULL)
		return 0;
	len = strlen(name);
	/* obsolete syntax allows blanks before the colon: "To :" */
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	for (i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
		if (strlen(counted[i]) != len)
			continue;
		for (j = 0; j < len; j++) {
			c = (unsigned char)name[j];
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (c != (unsigned char)counted[i][j])
				break;
		}
		if (j == len)
			return 1;
	}
	return 0;
}
