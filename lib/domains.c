/*
 * domains.c - the local domains of local_domains, and whether an envelope
 * recipient is internal (in one of them) or external.
 *
 * Public: domains_parse, domains_free, domains_local, domains_count,
 * domains_format.
 *
 * An entry is a domain name (letters, digits, '-', '.'), kept lower-cased
 * in one sorted array: "example.com" matches that domain only;
 * ".example.com" matches every name that ends in ".example.com". The
 * recipient's domain is looked up once for itself and once for each of
 * its parent suffixes (".b.example.com", ".example.com", ".com"): a
 * bsearch each, so a lookup costs O(labels * log n), no allocation.
 *
 * Memory: the caller owns the list (domains_free). Thread-safety: a list
 * is only read after parsing. Nothing here logs; case folding is ASCII,
 * whatever the locale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domains.h"

struct domains {
	char	**v;	/* sorted, lower-cased; owned */
	size_t	  n;
};

/* lower - ASCII A-Z to a-z */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* cmp - qsort/bsearch order of two entries */
static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* entry_ok - letters, digits, '-' and '.', no empty label, at most
 * DOMAINS_NAME_MAX (the leading dot of a subdomain entry aside) */
static int
entry_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len > 0 && s[0] == '.') {
		s++;
		len--;
	}
	if (len == 0 || len > DOMAINS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = lower(s[i]);

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* domains_free - release a list; NULL is fine */
void
domains_free(struct domains *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
	free(d);
}

/* domains_parse - a list from "a.example, .b.example ..." */
struct domains *
domains_parse(const char *text, char *err, size_t errlen)
{
	struct domains *d;
	const char *s = text, *e;
	size_t len, i, o;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->v = calloc(DOMAINS_MAX, sizeof(*d->v))) == NULL) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (;;) {
		s += strspn(s, " \t,");
		if (*s == '\0')
			break;
		len = strcspn(s, " \t,");
		e = s + len;
		if (!entry_ok(s, len)) {
			snprintf(err, errlen, "\"%.*s\" is no domain name "
			    "(example.com, or .example.com for every domain "
			    "below it)", len > 80 ? 80 : (int)len, s);
			goto fail;
		}
		if (d->n == DOMAINS_MAX) {
			snprintf(err, errlen, "more than %d domains",
			    DOMAINS_MAX);
			goto fail;
		}
		if ((d->v[d->n] = malloc(len + 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (i = 0; i < len; i++)
			d->v[d->n][i] = lower(s[i]);
		d->v[d->n++][len] = '\0';
		s = e;
	}
	if (d->n == 0) {
		snprintf(err, errlen, "no domain given");
		goto fail;
	}
	qsort(d->v, d->n, sizeof(*d->v), cmp);
	for (i = 1, o = 1; i < d->n; i++) {	/* a repeat is harmless */
		if (strcmp(d->v[i], d->v[o - 1]) == 0)
			free(d->v[i]);
		else
			d->v[o++] = d->v[i];
	}
	d->n = o;
	return d;
fail:
	domains_free(d);
	return NULL;
}

/* has - is this exact string an entry? */
static int
has(const struct domains *d, const char *s)
{
	return bsearch(&s, d->v, d->n, sizeof(*d->v), cmp) != NULL;
}

/* domains_local - is the recipient's domain a local one (or none)? */
int
domains_local(const struct domains *d, const char *rcpt)
{
	char name[DOMAINS_NAME_MAX + 2];
	const char *at, *p;
	size_t len, i;

	if (rcpt == NULL)
		return 0;
	if ((at = strrchr(rcpt, '@')) == NULL)
		return 1;	/* <postmaster>: a mailbox of this system */
	p = at + 1;
	len = strlen(p);
	if (len > 0 && p[len - 1] == '>')
		len--;
	if (len > 0 && p[len - 1] == '.')
		len--;
	if (d == NULL || len == 0 || len > DOMAINS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		name[i] = lower(p[i]);
	name[len] = '\0';
	if (has(d, name))
		return 1;
	for (i = 0; i < len; i++)	/* ".parent" suffixes, longest first */
		if (name[i] == '.' && has(d, name + i))
			return 1;
	return 0;
}

/* domains_count - how many entries */
size_t
domains_count(const struct domains *d)
{
	return d == NULL ? 0 : d->n;
}

/* domains_format - the entries joined by sep */
size_t
domains_format(const struct domains *d, const char *sep, char *out,
    size_t outlen)
{
	size_t i, o = 0, l, s = strlen(sep);

	if (outlen > 0)
		out[0] = '\0';
	for (i = 0; d != NULL && i < d->n; i++) {
		l = strlen(d->v[i]);
		if (i > 0) {
			if (o + s < outlen)
				memcpy(out + o, sep, s + 1);
			o += s;
		}
		if (o + l < outlen)
			memcpy(out + o, d->v[i], l + 1);
		o += l;
	}
	if (outlen > 0 && o >= outlen)
		out[outlen - 1] = '\0';
	return o;
}
