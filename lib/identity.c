/*
 * identity.c - which From: addresses a message has, and may its login use
 * them.
 *
 * Public: ident_from_init, ident_from_header, ident_extract,
 * ident_map_new, ident_map_free, ident_map_add, ident_map_finish,
 * ident_check.
 *
 * Extraction reads an RFC 5322 address list the way a mail reader shows
 * it: a display name (quoted, with comments, with RFC 2047 encoded words,
 * even with an unquoted '@') is dropped when the element has <angle
 * brackets>; comments and folding white space are dropped; a quoted local
 * part loses its quotes and backslashes ("al\"ice"@x reads al"ice@x), so
 * "alice"@example.com is alice@example.com. Group names are dropped and
 * their members read. Anything that is not one addr-spec with a domain
 * of letters, digits, '.', '-' (or a [literal]) counts as bad: an
 * unclosed quote, comment or angle, two <...> in one element, "<>".
 * Addresses are compared without regard to ASCII case, local part
 * included: mail systems treat Alice@ and alice@ as one mailbox, and a
 * user's client writing either must not be flagged.
 *
 * Memory: struct ident_from is the caller's; a map owns its strings and
 * is freed with ident_map_free. Thread-safety: a finished map is only
 * read, by any number of threads. Nothing here logs, allocates while
 * checking, or depends on the locale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

#define MAP_ALLOW_MAX	1024	/* addresses one login may be given */

struct ident_entry {
	char		*key;	/* lower-cased login or "@domain" */
	char		**allow; /* lower-cased addr@dom, "@domain" or "*" */
	size_t		 nallow;
	unsigned	 line;
};

struct ident_map {
	struct ident_entry *v;	/* sorted by key once finished */
	size_t		 n, cap;
};

/* one element of an address list being read */
struct elem {
	char		 bare[IDENT_ADDR_MAX + 1]; /* outside <> and comments */
	size_t		 nbare;
	char		 ang[IDENT_ADDR_MAX + 1]; /* inside <> */
	size_t		 nang;
	unsigned	 nangles; /* <...> seen */
	int		 over;	/* something did not fit */
	int		 broken; /* a stray '>' or a second '<' */
};

/* lower - fold A-Z only, whatever the locale */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* put - append a byte to the element's current part */
static void
put(struct elem *e, int angle, char c)
{
	char *b = angle ? e->ang : e->bare;
	size_t *n = angle ? &e->nang : &e->nbare;

	if (c == '\0')
		e->broken = 1;	/* a C string would end here */
	if (*n >= IDENT_ADDR_MAX) {
		e->over = 1;
		return;
	}
	b[(*n)++] = c;
}

/* domain_ok - letters, digits, '.', '-', or one [literal] */
static int
domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0)
		return 0;
	if (d[0] == '[')
		return n >= 3 && d[n - 1] == ']' && strcspn(d + 1, "[]\\") ==
		    n - 2;
	return strspn(d, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n && d[0] != '.';
}

/* addr_ok - one local@domain: a local part and a domain after the last @ */
static int
addr_ok(const char *a)
{
	const char *at = strrchr(a, '@');

	return at != NULL && at != a && domain_ok(at + 1);
}

/* elem_end - an element is complete: keep its address, or count it bad */
static void
elem_end(struct elem *e, int unbalanced, char (*out)[IDENT_ADDR_MAX + 1],
    unsigned max, unsigned *n, unsigned *bad)
{
	const char *cand;
	size_t i, len;

	if (e->nbare == 0 && e->nangles == 0 && !e->over && !unbalanced &&
	    !e->broken) {
		memset(e, 0, sizeof(*e));
		return;		/* empty: "a@x,,b@y" or a trailing comma */
	}
	e->bare[e->nbare] = '\0';
	e->ang[e->nang] = '\0';
	cand = e->nangles == 1 ? e->ang : e->bare;
	if (unbalanced || e->over || e->broken || e->nangles > 1 ||
	    !addr_ok(cand)) {
		(*bad)++;
		memset(e, 0, sizeof(*e));
		return;
	}
	if (*n < max) {
		len = strlen(cand);
		for (i = 0; i < len; i++)
			out[*n][i] = lower(cand[i]);
		out[*n][len] = '\0';
	}
	(*n)++;
	memset(e, 0, sizeof(*e));
}

/* ew_len - length of the RFC 2047 encoded word at s, or 0 if there is none */
static size_t
ew_len(const char *s, size_t len)
{
	size_t i, q[2], nq = 0;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	for (i = 2; i < len && i + 1 < IDENT_EW_MAX; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n' || s[i] == '\0')
			return 0;
		if (s[i] != '?')
			continue;
		if (nq < 2) {
			q[nq++] = i;
			continue;
		}
		/* =?charset?X?text?= : a charset, a one-letter encoding */
		return i + 1 < len && s[i + 1] == '=' && q[0] > 2 &&
		    q[1] == q[0] + 2 ? i + 2 : 0;
	}
	return 0;
}

/* ident_extract - the addr-specs of one address-list value */
unsigned
ident_extract(const char *v, size_t len, char (*out)[IDENT_ADDR_MAX + 1],
    unsigned max, unsigned *bad)
{
	struct elem e;
	unsigned n = 0, comment = 0;
	int quoted = 0, esc = 0, literal = 0, angle = 0;
	size_t i, k, ew;
	char c;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < len; i++) {
		c = v[i];
		if (quoted) {
			if (esc)
				esc = 0;
			else if (c == '\\') {
				esc = 1;
				continue;
			} else if (c == '"') {
				quoted = 0;
				continue;
			}
			put(&e, angle, c);
			continue;
		}
		if (comment > 0) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '(')
				comment += comment < 1000 ? 1 : 0;
			else if (c == ')')
				comment--;
			continue;
		}
		if (literal) {
			put(&e, angle, c);
			if (c == ']')
				literal = 0;
			continue;
		}
		switch (c) {
		case '"':
			quoted = 1;
			break;
		case '(':
			comment = 1;
			break;
		case '[':
			literal = 1;
			put(&e, angle, c);
			break;
		case '<':
			if (angle)
				e.broken = 1;
			angle = 1;
			e.nangles++;
			e.nang = 0;
			break;
		case '>':
			if (!angle)
				e.broken = 1;
			angle = 0;
			break;
		case ' ': case '\t': case '\r': case '\n':
			break;
		case ':':
			if (angle) {	/* obs-route "<@a,@b:x@y>": drop it */
				if (e.nang > 0 && e.ang[0] == '@')
					e.nang = 0;
				else
					put(&e, 1, c);
			} else if (e.nangles == 0) {
				e.nbare = 0;	/* a group's name */
				e.over = 0;
			} else
				e.broken = 1;
			break;
		case ',':
		case ';':
			if (angle)
				put(&e, 1, c);
			else
				elem_end(&e, 0, out, max, &n, bad);
			break;
		case '=':
			if (!angle && (ew = ew_len(v + i, len - i)) > 0) {
				/* one word: its commas separate nothing */
				for (k = 0; k < ew; k++)
					put(&e, 0, v[i + k]);
				i += ew - 1;
				break;
			}
			put(&e, angle, c);
			break;
		default:
			put(&e, angle, c);
			break;
		}
	}
	elem_end(&e, quoted || comment > 0 || literal || angle, out, max, &n,
	    bad);
	return n;
}

/* ident_from_init - forget the From: headers */
void
ident_from_init(struct ident_from *f)
{
	memset(f, 0, sizeof(*f));
}

/* ident_from_header - one From: header: its addresses after the others' */
void
ident_from_header(struct ident_from *f, const char *value, size_t len)
{
	unsigned kept = f->naddr < IDENT_FROM_MAX ? f->naddr : IDENT_FROM_MAX;

	f->nheaders += f->nheaders < 1000 ? 1 : 0;
	f->naddr += ident_extract(value, len, f->addr + kept,
	    IDENT_FROM_MAX - kept, &f->bad);
}

/* ident_map_new - an empty map */
struct ident_map *
ident_map_new(void)
{
	return calloc(1, sizeof(struct ident_map));
}

/* entry_free - one entry's strings */
static void
entry_free(struct ident_entry *e)
{
	size_t i;

	for (i = 0; i < e->nallow; i++)
		free(e->allow[i]);
	free(e->allow);
	free(e->key);
}

/* ident_map_free - release a map; NULL is fine */
void
ident_map_free(struct ident_map *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		entry_free(&m->v[i]);
	free(m->v);
	free(m);
}

/* lower_ndup - a lower-cased copy of n bytes */
static char *
lower_ndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	size_t i;

	if (d == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		d[i] = lower(s[i]);
	d[n] = '\0';
	return d;
}

/* token_ok - "*", "@domain" or "local@domain" */
static int
token_ok(const char *t, size_t n)
{
	char buf[IDENT_ADDR_MAX + 1];

	if (n == 1 && t[0] == '*')
		return 1;
	if (n == 0 || n > IDENT_ADDR_MAX)
		return 0;
	memcpy(buf, t, n);
	buf[n] = '\0';
	if (buf[0] == '@')
		return domain_ok(buf + 1);
	return addr_ok(buf) && strcspn(buf, "<>\"(),;: \t") == n;
}

/* ident_map_add - one "login addr@dom, @domain, *" line */
int
ident_map_add(struct ident_map *m, char *const *w, size_t nw, unsigned line,
    char *err, size_t errlen)
{
	struct ident_entry e, *nv;
	const char *t;
	char **na;
	size_t i, tl, cap = 0;

	memset(&e, 0, sizeof(e));
	if (nw < 2) {
		snprintf(err, errlen, "expected \"LOGIN ADDRESS, @DOMAIN, "
		    "...\"");
		return -1;
	}
	if (w[0][0] == '\0' || (w[0][0] == '@' && !domain_ok(w[0] + 1))) {
		snprintf(err, errlen, "\"%s\": expected a login or @domain",
		    w[0]);
		return -1;
	}
	if ((e.key = lower_ndup(w[0], strlen(w[0]))) == NULL)
		goto nomem;
	e.line = line;
	for (i = 1; i < nw; i++)
		for (t = w[i]; *t != '\0'; t += tl + (t[tl] == ',')) {
			tl = strcspn(t, ",");
			if (tl == 0)
				continue;
			if (!token_ok(t, tl)) {
				snprintf(err, errlen, "\"%.*s\": expected "
				    "addr@domain, @domain or *", (int)(tl > 200 ?
				    200 : tl), t);
				goto fail;
			}
			if (e.nallow == MAP_ALLOW_MAX) {
				snprintf(err, errlen, "more than %d addresses "
				    "for one login", MAP_ALLOW_MAX);
				goto fail;
			}
			if (e.nallow == cap) {
				cap = cap == 0 ? 4 : cap * 2;
				if ((na = realloc(e.allow, cap *
				    sizeof(*na))) == NULL)
					goto nomem;
				e.allow = na;
			}
			if ((e.allow[e.nallow] = lower_ndup(t, tl)) == NULL)
				goto nomem;
			e.nallow++;
		}
	if (e.nallow == 0) {
		snprintf(err, errlen, "no address for \"%s\"", w[0]);
		goto fail;
	}
	if (m->n == m->cap) {
		cap = m->cap == 0 ? 64 : m->cap * 2;
		if ((nv = realloc(m->v, cap * sizeof(*nv))) == NULL)
			goto nomem;
		m->v = nv;
		m->cap = cap;
	}
	m->v[m->n++] = e;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	entry_free(&e);
	return -1;
}

/* entry_cmp - order of entries: bytes of their keys */
static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ident_entry *)a)->key,
	    ((const struct ident_entry *)b)->key);
}

/* ident_map_finish - sort; a login listed twice is an error */
int
ident_map_finish(struct ident_map *m, unsigned *line)
{
	size_t i;

	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
	for (i = 1; i < m->n; i++)
		if (strcmp(m->v[i - 1].key, m->v[i].key) == 0) {
			*line = m->v[i].line > m->v[i - 1].line ?
			    m->v[i].line : m->v[i - 1].line;
			return -1;
		}
	return 0;
}

/* fold_cmp - a login (folded as it goes) against an entry's key */
static int
fold_cmp(const void *login, const void *entry)
{
	const char *a = login;
	const char *b = ((const struct ident_entry *)entry)->key;
	unsigned char ca;

	for (;; a++, b++) {
		ca = (unsigned char)lower(*a);
		if (ca != (unsigned char)*b || ca == '\0')
			return (int)ca - (int)(unsigned char)*b;
	}
}

/* caseeq - equal but for ASCII case */
static int
caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && lower(*a) == lower(*b); a++, b++)
		;
	return lower(*a) == lower(*b);
}

/* allowed - is the address the login itself, or on the entry's list? */
static int
allowed(const struct ident_entry *e, const char *login, const char *addr)
{
	const char *dom = strrchr(addr, '@');
	size_t i;

	if (caseeq(login, addr))
		return 1;	/* an address login may always use itself */
	if (e == NULL)
		return 0;
	for (i = 0; i < e->nallow; i++) {
		if (strcmp(e->allow[i], "*") == 0)
			return 1;
		if (e->allow[i][0] == '@' ? dom != NULL &&
		    strcmp(e->allow[i] + 1, dom + 1) == 0 :
		    strcmp(e->allow[i], addr) == 0)
			return 1;
	}
	return 0;
}

/* shown - an address fit for a log line and a header: printable ASCII */
static void
shown(const char *a, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; a[i] != '\0' && i + 1 < outlen && i < 120; i++)
		out[i] = a[i] > ' ' && a[i] < 0x7f ? a[i] : '?';
	out[i] = '\0';
}

/* ident_check - may the login use every From: address of the message? */
enum ident_result
ident_check(const struct ident_map *m, const char *login,
    const struct ident_from *f, char *why, size_t whylen)
{
	const struct ident_entry *e = NULL;
	const char *at;
	char a[128];
	unsigned i;

	why[0] = '\0';
	if (login == NULL)
		return IDENT_UNCHECKED;
	if (m != NULL && m->n > 0) {
		e = bsearch(login, m->v, m->n, sizeof(*m->v), fold_cmp);
		if (e == NULL && (at = strrchr(login, '@')) != NULL)
			e = bsearch(at, m->v, m->n, sizeof(*m->v), fold_cmp);
	}
	if (e == NULL && !addr_ok(login))
		return IDENT_UNCHECKED;
	if (f->nheaders == 0)
		snprintf(why, whylen, "no From: header");
	else if (f->nheaders > 1)
		snprintf(why, whylen, "%u From: headers", f->nheaders);
	else if (f->bad > 0)
		snprintf(why, whylen, "an unreadable From: address");
	else if (f->naddr == 0)
		snprintf(why, whylen, "no address in From:");
	else if (f->naddr > IDENT_FROM_MAX)
		snprintf(why, whylen, "%u From: addresses", f->naddr);
	else
		for (i = 0; i < f->naddr; i++)
			if (!allowed(e, login, f->addr[i])) {
				shown(f->addr[i], a, sizeof(a));
				snprintf(why, whylen, "From: %s is not an "
				    "address of this account", a);
				break;
			}
	return why[0] != '\0' ? IDENT_MISMATCH : IDENT_OK;
}
