/*
 * config_class.c - class blocks of sluice.conf, the class maps, and the
 * look-ups that find a login's class.
 *
 * Public (through config.h): config_class_for, config_class_find,
 * config_domain_class_for, config_find_class, config_class_table; (to
 * config.c, through config_parse.h) config_class_open, config_class_line,
 * config_class_close, config_class_default, config_domain_items_fit,
 * config_load_map.
 *
 * A class block's keys are driven by class_keys[] (lists of limits, and
 * per-message caps). The class map holds "LOGIN CLASS" or "@domain CLASS"
 * lines (domain_class_map: "DOMAIN CLASS"), kept lower-cased and sorted
 * so config_class_for is a bsearch that folds the login as it compares
 * (no copy, so no length limit).
 *
 * Memory: classes live in the config (cfg->classes) and point at
 * cfg->path; map keys are owned by the config and freed by config_free.
 * Thread-safety: loading touches only its parse state; the look-ups only
 * read a loaded config, so any number of threads may call them at once.
 * Nothing here logs or exits.
 */
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"
#include "store.h"

/* the keys of a class block: lists of limits, and per-message caps */
#define COFF(f)	offsetof(struct config_class, f)

static const struct class_key class_keys[] = {
	{ "messages", COFF(messages), COFF(nmessages), 0, UINT64_MAX },
	{ "recipients", COFF(recipients), COFF(nrecipients), 0, UINT64_MAX },
	{ "header_recipients", COFF(header_recipients),
	    COFF(nheader_recipients), 0, UINT64_MAX },
	{ "repeats", COFF(repeats), COFF(nrepeats), 0, UINT64_MAX },
	{ "body_senders", COFF(body_senders), COFF(nbody_senders), 0,
	    UINT64_MAX },
	/* the store keeps a login's last STORE_NEAR_KEEP bodies */
	{ "near_repeats", COFF(near_repeats), COFF(nnear_repeats), 1,
	    STORE_NEAR_KEEP - 1 },
	/* the memory store keeps at most 65,536 members of a set */
	{ "client_addresses", COFF(client_addresses),
	    COFF(nclient_addresses), 1, 65535 },
	{ "external_recipients", COFF(external_recipients),
	    COFF(nexternal_recipients), 0, UINT64_MAX },
	{ "internal_recipients", COFF(internal_recipients),
	    COFF(ninternal_recipients), 0, UINT64_MAX },
	{ "domain_messages", COFF(domain_messages), COFF(ndomain_messages), 0,
	    UINT64_MAX },
	{ "domain_recipients", COFF(domain_recipients),
	    COFF(ndomain_recipients), 0, UINT64_MAX },
	{ "remote_rejects", COFF(remote_rejects), COFF(nremote_rejects), 1,
	    UINT64_MAX },
	{ "remote_deferrals", COFF(remote_deferrals), COFF(nremote_deferrals),
	    1, UINT64_MAX },
	{ "remote_unknown", COFF(remote_unknown), COFF(nremote_unknown), 1,
	    UINT64_MAX },
	{ "max_recipients", 0, COFF(max_recipients), 0, 0 },
	{ "max_header_recipients", 0, COFF(max_header_recipients), 0, 0 },
};

#define NCLASS_KEYS	(sizeof(class_keys) / sizeof(class_keys[0]))
_Static_assert(NCLASS_KEYS <= CLASS_KEYS_MAX,
    "struct parse's cseen[] has no room for every class key");
/* items of a request that are no class limit: copies, lock, refusals */
#define CLASS_FIXED_ITEMS	3

/* class_name_ok - 1..CONFIG_NAME_MAX of [A-Za-z0-9_.-] */
static int
class_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CONFIG_NAME_MAX && strspn(s, ALNUM "_.-") == n;
}

/* config_class_line - one line inside a class block */
int
config_class_line(struct parse *p, char **w, int n)
{
	struct config_class *c = p->cls;
	struct config_limit *lim;
	const char *end;
	uint64_t v;
	size_t *cnt, i, k;
	int j;

	for (k = 0; k < NCLASS_KEYS; k++)
		if (strcmp(w[0], class_keys[k].name) == 0)
			break;
	if (k == NCLASS_KEYS)
		return perr(p, "unknown key \"%s\" in class %s", w[0], c->name);
	if (p->cseen[k])
		return perr(p, "%s given twice in class %s", w[0], c->name);
	p->cseen[k] = 1;
	if (class_keys[k].lim == 0) {
		if (n != 2 || config_parse_u64(w[1], &end, &v) == -1 ||
		    *end != '\0' || v > CAP_MAX)
			return perr(p, "%s: expected a number from 0 to %d",
			    w[0], CAP_MAX);
		*(uint32_t *)(void *)((char *)c + class_keys[k].cnt) =
		    (uint32_t)v;
		return 0;
	}
	lim = (struct config_limit *)(void *)((char *)c + class_keys[k].lim);
	cnt = (size_t *)(void *)((char *)c + class_keys[k].cnt);
	if (n < 2)
		return perr(p, "%s: expected one or more limits like 100/1h",
		    w[0]);
	if (n - 1 > CONFIG_MAX_LIMITS)
		return perr(p, "%s: at most %d limits", w[0], CONFIG_MAX_LIMITS);
	for (j = 1; j < n; j++) {
		if (config_parse_limit(w[j], &lim[j - 1]) == -1)
			return perr(p, "%s: bad limit \"%s\" (expected COUNT/"
			    "DURATION, e.g. 100/1h, window 1s to 30d in whole "
			    "seconds)", w[0], w[j]);
		if (lim[j - 1].count < class_keys[k].min ||
		    lim[j - 1].count > class_keys[k].max)
			return perr(p, "%s: bad limit \"%s\" (COUNT from %llu "
			    "to %llu)", w[0], w[j],
			    (unsigned long long)class_keys[k].min,
			    (unsigned long long)class_keys[k].max);
		for (i = 0; i + 1 < (size_t)j; i++)
			if (lim[i].window == lim[j - 1].window)
				return perr(p, "%s: two limits for the same "
				    "window (%s and %s)", w[0], w[i + 1], w[j]);
	}
	*cnt = (size_t)(n - 1);
	return 0;
}

/* config_class_open - "class NAME {": a new class, or the one replacing
 * default */
int
config_class_open(struct parse *p, char **w, int n)
{
	struct config *c = p->cfg;
	struct config_class *cls;

	if (p->cls != NULL)
		return perr(p, "class inside class %s (missing \"}\"?)",
		    p->cls->name);
	if (n != 3 || strcmp(w[2], "{") != 0)
		return perr(p, "expected \"class NAME {\"");
	if (!class_name_ok(w[1]))
		return perr(p, "bad class name \"%s\" (1 to %d of A-Z a-z 0-9 "
		    "_ . -)", w[1], CONFIG_NAME_MAX);
	if (strcmp(w[1], "default") == 0) {
		if (p->have_default)
			return perr(p, "class default defined twice");
		p->have_default = 1;
		cls = &c->classes[0];
	} else {
		if (config_find_class(c, w[1]) != NULL)
			return perr(p, "class %s defined twice", w[1]);
		if (c->nclasses == CONFIG_MAX_CLASSES)
			return perr(p, "more than %d classes",
			    CONFIG_MAX_CLASSES);
		cls = &c->classes[c->nclasses++];
	}
	memset(cls, 0, sizeof(*cls));
	memcpy(cls->name, w[1], strlen(w[1]) + 1);
	cls->file = c->path;
	cls->line = p->line;
	p->cls = cls;
	memset(p->cseen, 0, sizeof(p->cseen));
	return 0;
}

/* class_items - store items a message of the class can need at most */
static size_t
class_items(const struct config_class *c)
{
	size_t k, n = CLASS_FIXED_ITEMS;

	for (k = 0; k < NCLASS_KEYS; k++)
		if (class_keys[k].lim != 0)
			n += *(const size_t *)(const void *)((const char *)c +
			    class_keys[k].cnt);
	return n;
}

/* config_class_close - "}": the open class block ends, if it fits */
int
config_class_close(struct parse *p, int n)
{
	if (p->cls == NULL)
		return perr(p, "\"}\" without a class");
	if (n != 1)
		return perr(p, "text after \"}\"");
	if (class_items(p->cls) > STORE_MAX_ITEMS)
		return perr(p, "class %s: %zu limits in all, at most %d "
		    "(they are checked in one store call)", p->cls->name,
		    class_items(p->cls) - CLASS_FIXED_ITEMS,
		    STORE_MAX_ITEMS - CLASS_FIXED_ITEMS);
	p->cls = NULL;
	return 0;
}

/* map_cmp - order of map entries: bytes of their lower-cased keys */
static int
map_cmp(const void *a, const void *b)
{
	return strcmp(((const struct config_map_entry *)a)->key,
	    ((const struct config_map_entry *)b)->key);
}

/*
 * map_fold_cmp - a login (bsearch key) against an entry: the login folded
 * to lower case as it goes, in the order map_cmp sorted the entries
 */
static int
map_fold_cmp(const void *login, const void *entry)
{
	const unsigned char *a = login;
	const unsigned char *b = (const unsigned char *)
	    ((const struct config_map_entry *)entry)->key;
	unsigned char ca;

	for (;; a++, b++) {
		ca = config_ascii_lower(*a);
		if (ca != *b || ca == '\0')
			return (int)ca - (int)*b;
	}
}

/* lower_dup - a copy folded to ASCII lower case */
static char *
lower_dup(const char *s)
{
	char *d = strdup(s), *q;

	if (d != NULL)
		for (q = d; *q != '\0'; q++)
			*q = (char)config_ascii_lower((unsigned char)*q);
	return d;
}

/* map_line - one "LOGIN CLASS" or "@domain CLASS" line of the class map */
static int
map_line(struct parse *p, char *line)
{
	struct config *c = p->cfg;
	struct config_map_entry *nm, **map = p->domains ? &c->dmap : &c->map;
	size_t *nmap = p->domains ? &c->ndmap : &c->nmap;
	size_t *cap = p->domains ? &p->dmapcap : &p->mapcap;
	const struct config_class *cls;
	char *w[2];
	size_t ncap;
	int n;

	if ((n = config_split(p, line, w, 2)) <= 0)
		return n;
	if (p->domains) {
		if (n != 2)
			return perr(p, "expected \"DOMAIN CLASS\"");
		if (strchr(w[0], '@') != NULL)
			return perr(p, "\"%s\": expected a domain, without "
			    "\"@\"", w[0]);
	} else {
		if (n != 2)
			return perr(p, "expected \"LOGIN CLASS\" or "
			    "\"@domain CLASS\"");
		if (w[0][0] == '\0')
			return perr(p, "empty login");
		if (w[0][0] == '@' && (w[0][1] == '\0' ||
		    strchr(w[0] + 1, '@')))
			return perr(p, "\"%s\": expected @domain, with one "
			    "\"@\" and a domain after it", w[0]);
	}
	if ((cls = config_find_class(c, w[1])) == NULL)
		return perr(p, "unknown class \"%s\"", w[1]);
	if (*nmap == *cap) {
		ncap = *cap == 0 ? 64 : *cap * 2;
		if ((nm = realloc(*map, ncap * sizeof(*nm))) == NULL)
			return perr(p, "out of memory");
		*map = nm;
		*cap = ncap;
	}
	if (((*map)[*nmap].key = lower_dup(w[0])) == NULL)
		return perr(p, "out of memory");
	(*map)[*nmap].cls = (size_t)(cls - c->classes);
	(*map)[*nmap].line = p->line;
	(*nmap)++;
	return 0;
}

/* config_load_map - read the class map; a relative path is taken from dir */
int
config_load_map(struct parse *p, const char *dir, int domains)
{
	struct config *c = p->cfg;
	struct config_map_entry *map;
	char *path, *text;
	size_t len, i, n;
	int rc = -1;

	p->domains = domains;
	if ((path = config_rel_path(p, dir, domains ? c->domain_class_map :
	    c->class_map)) == NULL)
		return -1;
	if ((text = config_read_file(p, path, &len)) == NULL)
		goto out;
	rc = config_each_line(p, text, len, map_line);
	free(text);
	if (rc == -1)
		goto out;
	map = domains ? c->dmap : c->map;
	n = domains ? c->ndmap : c->nmap;
	if (n > 1)	/* qsort wants a non-NULL array, even empty */
		qsort(map, n, sizeof(*map), map_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(map[i - 1].key, map[i].key) == 0) {
			p->line = map[i].line > map[i - 1].line ?
			    map[i].line : map[i - 1].line;
			rc = perr(p, "\"%s\" listed twice", map[i].key);
			goto out;
		}
	rc = 0;
out:
	free(path);
	return rc;
}

/* config_class_default - the class used when the file defines no "default" */
void
config_class_default(struct config_class *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->name, "default", sizeof("default"));
	d->messages[0] = (struct config_limit){ 100, 3600 };
	d->messages[1] = (struct config_limit){ 1000, 86400 };
	d->nmessages = 2;
	d->recipients[0] = (struct config_limit){ 500, 3600 };
	d->recipients[1] = (struct config_limit){ 2000, 86400 };
	d->nrecipients = 2;
	d->max_recipients = 100;
	d->max_header_recipients = 100;
	d->file = "built-in";
	d->line = 0;
}

/*
 * domain_items_fit - a login's limits and its domain's go in one store
 * request: every class's own limits with the most any class has for a
 * domain must fit in it
 */
int
config_domain_items_fit(struct parse *p)
{
	const struct config *c = p->cfg;
	size_t i, own, dom, most = 0;

	for (i = 0; i < c->nclasses; i++) {
		dom = c->classes[i].ndomain_messages +
		    c->classes[i].ndomain_recipients;
		if (dom > most)
			most = dom;
	}
	for (i = 0; i < c->nclasses; i++) {
		const struct config_class *k = &c->classes[i];

		/* with history yes, its item is one more in the same call */
		own = class_items(k) - k->ndomain_messages -
		    k->ndomain_recipients + (c->history ? 1 : 0);
		if (own + most > STORE_MAX_ITEMS) {
			p->line = k->line;
			if (most == 0)	/* history yes made it too many */
				return perr(p, "class %s: %zu limits in all, at "
				    "most %d with history yes", k->name,
				    own - CLASS_FIXED_ITEMS - 1,
				    STORE_MAX_ITEMS - CLASS_FIXED_ITEMS - 1);
			return perr(p, "class %s: %zu limits%s and a domain's "
			    "%zu are more than %d in all (they are checked in "
			    "one store call)", k->name, own - CLASS_FIXED_ITEMS,
			    c->history ? " (history's included)" : "", most,
			    STORE_MAX_ITEMS - CLASS_FIXED_ITEMS);
		}
	}
	return 0;
}

/*
 * config_class_for - exact login, then @domain after the last '@', then
 * default; the login is folded while compared, so any length is fine
 */
const struct config_class *
config_class_for(const struct config *c, const char *login)
{
	return config_class_find(c, login, login != NULL ?
	    strrchr(login, '@') : NULL);
}

/* config_class_find - the class of a whole name, then of its @domain */
const struct config_class *
config_class_find(const struct config *c, const char *whole, const char *dom)
{
	const struct config_map_entry *e = NULL;

	if (whole == NULL || c->nmap == 0)
		return &c->classes[0];
	e = bsearch(whole, c->map, c->nmap, sizeof(*c->map), map_fold_cmp);
	if (e == NULL && dom != NULL)
		e = bsearch(dom, c->map, c->nmap, sizeof(*c->map),
		    map_fold_cmp);
	return e != NULL ? &c->classes[e->cls] : &c->classes[0];
}

/* config_domain_class_for - the class of the login's domain, or NULL */
const struct config_class *
config_domain_class_for(const struct config *c, const char *login)
{
	const struct config_map_entry *e = NULL;
	const char *at;

	if (login == NULL || (at = strrchr(login, '@')) == NULL ||
	    at[1] == '\0')
		return NULL;	/* a bare login has no domain */
	if (c->ndmap > 0)
		e = bsearch(at + 1, c->dmap, c->ndmap, sizeof(*c->dmap),
		    map_fold_cmp);
	return e != NULL ? &c->classes[e->cls] : &c->classes[0];
}

/* config_find_class - class by name, or NULL */
const struct config_class *
config_find_class(const struct config *c, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < c->nclasses; i++)
		if (strcmp(c->classes[i].name, name) == 0)
			return &c->classes[i];
	return NULL;
}


/* config_class_table - the keys of a class block, for config_dump.c */
const struct class_key *
config_class_table(size_t *n)
{
	*n = NCLASS_KEYS;
	return class_keys;
}
