/*
 * config.c - sluice.conf and the class map into one immutable struct.
 *
 * Format: one "key value..." per line; '#' starts a comment outside
 * double quotes; values may be double-quoted. Top-level keys are driven by
 * one table (name, type, default, target, min, max). Classes are blocks:
 *
 *	class NAME {
 *	    messages       100/1h 1000/1d
 *	    recipients     500/1h
 *	    max_recipients 100
 *	}
 *
 * The class map holds "LOGIN CLASS" or "@domain CLASS" lines. Every error
 * reads "FILE:LINE: what is wrong". The caller owns the returned config
 * (config_free); once loaded it is never changed, so any number of
 * threads may read it. Nothing here logs or exits.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "store.h"
#include "window.h"

#define LINE_MAX_LEN	4096	/* longest line accepted, bytes */
#define MAX_WORDS	(CONFIG_MAX_LIMITS + 2)

enum ktype { K_STR, K_BOOL, K_UINT, K_MS, K_ENUM, K_SERVER, K_LIMIT };

struct key {
	const char	*name;
	enum ktype	 type;
	const char	*def;		/* default, as it would be written */
	size_t		 off;		/* offset of the field in struct config */
	uint64_t	 min, max;	/* K_UINT, K_MS (ms) */
	const char	*const *names;	/* K_ENUM: values, index = stored int */
};

static const char *const modes[] = { "enforce", "observe", NULL };
static const char *const stores[] = { "memory", "redis", NULL };
static const char *const fallbacks[] = { "local", "accept", "tempfail", NULL };
static const char *const actions[] = { "tempfail", "reject", "quarantine",
    "tag", "observe", NULL };
static const char *const lock_actions[] = { "tempfail", "reject", NULL };
static const char *const facilities[] = { "mail", "daemon", "user", "local0",
    "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    NULL };

#define OFF(f)	offsetof(struct config, f)

static const struct key keys[] = {
	{ "socket", K_STR, "inet:8890@127.0.0.1", OFF(socket), 0, 0, NULL },
	{ "user", K_STR, NULL, OFF(user), 0, 0, NULL },
	{ "pidfile", K_STR, NULL, OFF(pidfile), 0, 0, NULL },
	{ "syslog", K_BOOL, "yes", OFF(syslog), 0, 0, NULL },
	{ "syslog_facility", K_STR, "mail", OFF(syslog_facility), 0, 0,
	    facilities },
	{ "log_accepts", K_BOOL, "yes", OFF(log_accepts), 0, 0, NULL },
	{ "mode", K_ENUM, "enforce", OFF(mode), 0, 0, modes },
	{ "early_check", K_BOOL, "yes", OFF(early_check), 0, 0, NULL },
	{ "store", K_ENUM, "memory", OFF(store), 0, 0, stores },
	{ "redis_server", K_SERVER, "127.0.0.1:6379", 0, 0, 0, NULL },
	{ "redis_password_file", K_STR, NULL, OFF(redis_password_file), 0, 0,
	    NULL },
	{ "redis_username", K_STR, NULL, OFF(redis_username), 0, 0, NULL },
	{ "redis_prefix", K_STR, "sluice:", OFF(redis_prefix), 1, 64, NULL },
	{ "redis_connect_timeout", K_MS, "250ms",
	    OFF(redis_connect_timeout_ms), 10, 60000, NULL },
	{ "redis_command_timeout", K_MS, "250ms",
	    OFF(redis_command_timeout_ms), 10, 60000, NULL },
	{ "redis_pool", K_UINT, "16", OFF(redis_pool), 1, 1024, NULL },
	{ "store_fallback", K_ENUM, "local", OFF(fallback), 0, 0, fallbacks },
	{ "breaker_failures", K_UINT, "3", OFF(breaker_failures), 1, 1000,
	    NULL },
	{ "breaker_cooldown", K_MS, "5s", OFF(breaker_cooldown_ms), 100,
	    3600000, NULL },
	{ "window_buckets", K_UINT, "12", OFF(window_buckets), 1,
	    WINDOW_MAX_BUCKETS, NULL },
	{ "class_map", K_STR, NULL, OFF(class_map), 0, 0, NULL },
	{ "fanout_action", K_ENUM, "reject", OFF(fanout_action), 0, 0,
	    actions },
	{ "repeats_action", K_ENUM, "quarantine", OFF(repeats_action), 0, 0,
	    actions },
	{ "wave_action", K_ENUM, "quarantine", OFF(wave_action), 0, 0,
	    actions },
	{ "tag_header", K_STR, "X-Sluice-Flag", OFF(tag_header), 1, 64,
	    NULL },
	{ "cluster_id", K_STR, "sluice", OFF(cluster_id), 1, 64, NULL },
	{ "hop_key_file", K_STR, NULL, OFF(hop_key_file), 0, 0, NULL },
	{ "hop_header", K_STR, "X-Sluice-Hop", OFF(hop_header), 1, 64, NULL },
	{ "hop_limit", K_UINT, "5", OFF(hop_limit), 1, 100, NULL },
	{ "hop_lifetime", K_MS, "1d", OFF(hop_lifetime_ms), 60000,
	    30ULL * 86400000, NULL },
	{ "max_received", K_UINT, "50", OFF(max_received), 0, 1000, NULL },
	{ "copies", K_LIMIT, "0/1h", OFF(copies), 0, 0, NULL },
	{ "loop_action", K_ENUM, "reject", OFF(loop_action), 0, 0, actions },
	{ "copies_action", K_ENUM, "tempfail", OFF(copies_action), 0, 0,
	    actions },
	{ "lock_after", K_LIMIT, "0/1h", OFF(lock_after), 0, 0, NULL },
	{ "lock_lifetime", K_MS, "1d", OFF(lock_lifetime_ms), 60000,
	    30ULL * 86400000, NULL },
	{ "lock_action", K_ENUM, "tempfail", OFF(lock_action), 0, 0,
	    lock_actions },
	{ "lock_command", K_STR, NULL, OFF(lock_command), 0, 0, NULL },
	{ "lock_command_timeout", K_MS, "10s", OFF(lock_command_timeout_ms),
	    100, 600000, NULL },
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* parse state for one file */
struct parse {
	struct config	*cfg;
	const char	*file;
	unsigned	 line;
	char		*err;
	size_t		 errlen;
	int		 seen[NKEYS];
	struct config_class *cls;	/* open class block, or NULL */
	int		 have_default;
	size_t		 mapcap;	/* entries allocated in cfg->map */
};

/* perr - "file:line: message" into the error buffer; returns -1 */
static int
perr(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
perr(struct parse *p, const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->file, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
	return -1;
}

/* config_parse_duration - "90", "90s", "15m", "1h", "2d", "1w", "250ms" */
int
config_parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *u; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 }, { "w", 604800000 }, { "", 1000 },
	};
	unsigned long long n;
	char *end;
	size_t i;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].u) == 0) {
			if (n > UINT64_MAX / units[i].ms)
				return -1;
			*ms = n * units[i].ms;
			return 0;
		}
	return -1;
}

/* config_parse_limit - "100/1h" into a limit */
int
config_parse_limit(const char *s, struct config_limit *l)
{
	unsigned long long n;
	uint64_t ms;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '/')
		return -1;
	if (config_parse_duration(end + 1, &ms) == -1 || ms % 1000 != 0 ||
	    ms < 1000 || ms > 30ULL * 86400000)
		return -1;
	l->count = n;
	l->window = (uint32_t)(ms / 1000);
	return 0;
}

/* config_format_window - "1h", "30m", "90s" */
char *
config_format_window(uint32_t s, char *out, size_t outlen)
{
	if (s != 0 && s % 604800 == 0)
		snprintf(out, outlen, "%uw", s / 604800);
	else if (s != 0 && s % 86400 == 0)
		snprintf(out, outlen, "%ud", s / 86400);
	else if (s != 0 && s % 3600 == 0)
		snprintf(out, outlen, "%uh", s / 3600);
	else if (s != 0 && s % 60 == 0)
		snprintf(out, outlen, "%um", s / 60);
	else
		snprintf(out, outlen, "%us", s);
	return out;
}

/* parse_bool - yes/no and friends; -1 when neither */
static int
parse_bool(const char *v)
{
	static const char *const t[] = { "yes", "true", "on", "1" };
	static const char *const f[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, t[i]) == 0)
			return 1;
		if (strcasecmp(v, f[i]) == 0)
			return 0;
	}
	return -1;
}

/* set_str - replace a string field */
static int
set_str(struct parse *p, char **field, const char *v)
{
	char *d = strdup(v);

	if (d == NULL)
		return perr(p, "out of memory");
	free(*field);
	*field = d;
	return 0;
}

/* set_server - "host:port", "[v6]:port" or "unix:/path" */
static int
set_server(struct parse *p, const char *v)
{
	struct config *c = p->cfg;
	const char *colon, *host, *hend;
	unsigned long port;
	char *end, hostbuf[256];
	size_t hl;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/')
			return perr(p, "redis_server: unix socket path must be "
			    "absolute, got \"%s\"", v + 5);
		free(c->redis_host);
		c->redis_host = NULL;
		return set_str(p, &c->redis_socket, v + 5);
	}
	if (v[0] == '[') {
		host = v + 1;
		if ((hend = strchr(host, ']')) == NULL || hend[1] != ':')
			return perr(p, "redis_server: expected [address]:port, "
			    "got \"%s\"", v);
		colon = hend + 1;
	} else {
		host = v;
		if ((colon = strrchr(v, ':')) == NULL)
			return perr(p, "redis_server: expected host:port or "
			    "unix:/path, got \"%s\"", v);
		hend = colon;
	}
	hl = (size_t)(hend - host);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (hl == 0 || hl >= sizeof(hostbuf) || !isdigit((unsigned char)colon[1])
	    || *end != '\0' || errno != 0 || port < 1 || port > 65535)
		return perr(p, "redis_server: expected host:port with a port "
		    "from 1 to 65535, got \"%s\"", v);
	memcpy(hostbuf, host, hl);
	hostbuf[hl] = '\0';
	free(c->redis_socket);
	c->redis_socket = NULL;
	c->redis_port = (int)port;
	return set_str(p, &c->redis_host, hostbuf);
}

/* in_list - index of v in a NULL-terminated list, or -1 */
static int
in_list(const char *const *names, const char *v)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return -1;
}

/* list_text - "a, b or c" for an error message */
static void
list_text(const char *const *names, char *out, size_t outlen)
{
	size_t o = 0;
	int i;

	out[0] = '\0';
	for (i = 0; names[i] != NULL && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s",
		    i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ",
		    names[i]);
}

/* set_key - apply one top-level key from the table */
static int
set_key(struct parse *p, const struct key *k, const char *v)
{
	char *base = (char *)p->cfg, list[256], *end;
	unsigned long long n;
	uint64_t ms;
	int b, i;

	switch (k->type) {
	case K_STR:
		if (k->names != NULL && in_list(k->names, v) == -1) {
			list_text(k->names, list, sizeof(list));
			return perr(p, "%s: expected %s, got \"%s\"", k->name,
			    list, v);
		}
		if (k->max != 0 && (strlen(v) < k->min || strlen(v) > k->max))
			return perr(p, "%s: length must be %llu to %llu",
			    k->name, (unsigned long long)k->min,
			    (unsigned long long)k->max);
		if (k->off == OFF(socket) && strncmp(v, "inet:", 5) != 0 &&
		    strncmp(v, "inet6:", 6) != 0 && strncmp(v, "unix:", 5) &&
		    strncmp(v, "local:", 6) != 0)
			return perr(p, "socket: expected inet:PORT@HOST, "
			    "inet6:PORT@HOST, unix:PATH or local:PATH, got "
			    "\"%s\"", v);
		if ((k->off == OFF(cluster_id) || k->off == OFF(hop_header) ||
		    k->off == OFF(tag_header)) &&
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		    "vwxyz0123456789-._") != strlen(v))
			return perr(p, "%s: only letters, digits and - . _ are "
			    "allowed, got \"%s\"", k->name, v);
		if (k->off == OFF(redis_prefix) &&
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		    "vwxyz0123456789:_.-") != strlen(v))
			return perr(p, "redis_prefix: only letters, digits and "
			    ": _ . - are allowed, got \"%s\"", v);
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_BOOL:
		if ((b = parse_bool(v)) == -1)
			return perr(p, "%s: expected yes or no, got \"%s\"",
			    k->name, v);
		*(int *)(void *)(base + k->off) = b;
		return 0;
	case K_UINT:
		errno = 0;
		n = strtoull(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno ||
		    n < k->min || n > k->max)
			return perr(p, "%s: expected a number from %llu to %llu,"
			    " got \"%s\"", k->name,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max, v);
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)n;
		return 0;
	case K_MS:
		if (config_parse_duration(v, &ms) == -1 || ms < k->min ||
		    ms > k->max)
			return perr(p, "%s: expected a duration from %llums to "
			    "%llums (e.g. 250ms, 5s, 1m), got \"%s\"", k->name,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max, v);
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)ms;
		return 0;
	case K_ENUM:
		if ((i = in_list(k->names, v)) == -1) {
			list_text(k->names, list, sizeof(list));
			return perr(p, "%s: expected %s, got \"%s\"", k->name,
			    list, v);
		}
		*(int *)(void *)(base + k->off) = i;
		return 0;
	case K_SERVER:
		return set_server(p, v);
	case K_LIMIT:
		if (config_parse_limit(v, (struct config_limit *)(void *)
		    (base + k->off)) == -1)
			return perr(p, "%s: expected COUNT/DURATION, e.g. "
			    "100/1h, got \"%s\"", k->name, v);
		return 0;
	}
	return -1;
}

/*
 * split - cut a line into words in place: blanks separate, '#' starts a
 * comment, "double quotes" group (no escapes). Returns the word count, or
 * -1 with err for an unterminated quote or too many words.
 */
static int
split(struct parse *p, char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (n == max)
			return perr(p, "too many values on one line");
		if (*s == '"') {
			w[n++] = ++s;
			if ((s = strchr(s, '"')) == NULL)
				return perr(p, "unterminated quote");
			*s++ = '\0';
			if (*s != '\0' && *s != ' ' && *s != '\t' &&
			    *s != '#' && *s != '\r' && *s != '\n')
				return perr(p, "text right after a closing quote");
			continue;
		}
		w[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '#' &&
		    *s != '\r' && *s != '\n')
			s++;
		if (*s == '#') {
			*s = '\0';
			return n;
		}
		if (*s != '\0')
			*s++ = '\0';
	}
}

/* class_name_ok - 1..63 chars of [A-Za-z0-9_.-] */
static int
class_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CONFIG_NAME_MAX && strspn(s, "ABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* the keys of a class block: lists of limits, and per-message caps */
#define COFF(f)	offsetof(struct config_class, f)

static const struct {
	const char	*name;
	size_t		 lim;	/* offset of the limits, or 0 for a cap */
	size_t		 cnt;	/* offset of their count, or of the cap */
} class_keys[] = {
	{ "messages", COFF(messages), COFF(nmessages) },
	{ "recipients", COFF(recipients), COFF(nrecipients) },
	{ "header_recipients", COFF(header_recipients),
	    COFF(nheader_recipients) },
	{ "repeats", COFF(repeats), COFF(nrepeats) },
	{ "body_senders", COFF(body_senders), COFF(nbody_senders) },
	{ "max_recipients", 0, COFF(max_recipients) },
	{ "max_header_recipients", 0, COFF(max_header_recipients) },
};

/* class_line - one line inside a class block */
static int
class_line(struct parse *p, char **w, int n)
{
	struct config_class *c = p->cls;
	struct config_limit *lim;
	unsigned long long v;
	size_t *cnt, i, k;
	char *end;
	int j;

	for (k = 0; k < sizeof(class_keys) / sizeof(class_keys[0]); k++)
		if (strcmp(w[0], class_keys[k].name) == 0)
			break;
	if (k == sizeof(class_keys) / sizeof(class_keys[0]))
		return perr(p, "unknown key \"%s\" in class %s", w[0], c->name);
	if (class_keys[k].lim == 0) {
		errno = 0;
		if (n != 2 || !isdigit((unsigned char)w[1][0]) ||
		    (v = strtoull(w[1], &end, 10), *end != '\0') || errno ||
		    v > 1000000)
			return perr(p, "%s: expected a number from 0 to 1000000",
			    w[0]);
		*(uint32_t *)(void *)((char *)c + class_keys[k].cnt) =
		    (uint32_t)v;
		return 0;
	}
	lim = (struct config_limit *)(void *)((char *)c + class_keys[k].lim);
	cnt = (size_t *)(void *)((char *)c + class_keys[k].cnt);
	if (n < 2)
		return perr(p, "%s: expected one or more limits like 100/1h",
		    w[0]);
	if (*cnt != 0)
		return perr(p, "%s given twice in class %s", w[0], c->name);
	if (n - 1 > CONFIG_MAX_LIMITS)
		return perr(p, "%s: at most %d limits", w[0], CONFIG_MAX_LIMITS);
	for (j = 1; j < n; j++) {
		if (config_parse_limit(w[j], &lim[j - 1]) == -1)
			return perr(p, "%s: bad limit \"%s\" (expected COUNT/"
			    "DURATION, e.g. 100/1h, window 1s to 30d in whole "
			    "seconds)", w[0], w[j]);
		for (i = 0; i + 1 < (size_t)j; i++)
			if (lim[i].window == lim[j - 1].window)
				return perr(p, "%s: two limits for the same "
				    "window", w[0]);
	}
	*cnt = (size_t)(n - 1);
	return 0;
}

/* class_open - "class NAME {" */
static int
class_open(struct parse *p, char **w, int n)
{
	struct config *c = p->cfg;
	struct config_class *cls;
	size_t i;

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
		for (i = 1; i < c->nclasses; i++)
			if (strcmp(c->classes[i].name, w[1]) == 0)
				return perr(p, "class %s defined twice", w[1]);
		if (c->nclasses == CONFIG_MAX_CLASSES)
			return perr(p, "more than %d classes",
			    CONFIG_MAX_CLASSES);
		cls = &c->classes[c->nclasses++];
	}
	memset(cls, 0, sizeof(*cls));
	snprintf(cls->name, sizeof(cls->name), "%s", w[1]);
	cls->file = c->path;
	cls->line = p->line;
	p->cls = cls;
	return 0;
}

/* config_line - one line of the main file */
static int
config_line(struct parse *p, char *line)
{
	char *w[MAX_WORDS];
	size_t i;
	int n;

	if ((n = split(p, line, w, MAX_WORDS)) <= 0)
		return n;
	if (strcmp(w[0], "}") == 0) {
		if (n != 1)
			return perr(p, "text after \"}\"");
		if (p->cls == NULL)
			return perr(p, "\"}\" without a class");
		p->cls = NULL;
		return 0;
	}
	if (strcmp(w[0], "class") == 0)
		return class_open(p, w, n);
	if (p->cls != NULL)
		return class_line(p, w, n);
	for (i = 0; i < NKEYS; i++)
		if (strcmp(w[0], keys[i].name) == 0)
			break;
	if (i == NKEYS)
		return perr(p, "unknown key \"%s\"", w[0]);
	if (p->seen[i])
		return perr(p, "%s given twice", w[0]);
	p->seen[i] = 1;
	if (n != 2)
		return perr(p, "%s: expected one value (quote it if it has "
		    "spaces)", w[0]);
	return set_key(p, &keys[i], w[1]);
}

/*
 * each_line - call fn on every line of text; the text must hold no NUL
 * before its end (len). Lines longer than LINE_MAX_LEN are errors.
 */
static int
each_line(struct parse *p, const char *text, size_t len,
    int (*fn)(struct parse *, char *))
{
	char buf[LINE_MAX_LEN + 2];
	const char *s = text, *e = text + len, *nl;
	size_t n;

	if (memchr(text, '\0', len) != NULL) {
		p->line = 1;
		for (nl = text; nl < (const char *)memchr(text, '\0', len); nl++)
			if (*nl == '\n')
				p->line++;
		return perr(p, "NUL byte in the file");
	}
	for (p->line = 1; s < e; p->line++) {
		nl = memchr(s, '\n', (size_t)(e - s));
		n = (size_t)((nl ? nl : e) - s);
		if (n > LINE_MAX_LEN)
			return perr(p, "line longer than %d bytes",
			    LINE_MAX_LEN);
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (fn(p, buf) == -1)
			return -1;
		s = nl ? nl + 1 : e;
	}
	return 0;
}

/* read_file - a whole file into memory; NULL with err */
static char *
read_file(struct parse *p, const char *path, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0, r;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		p->line = 0;
		perr(p, "%s", strerror(errno));
		return NULL;
	}
	do {
		if (cap - n < 4096) {
			if (cap > 64 * 1024 * 1024 ||
			    (nb = realloc(buf, cap + 65536)) == NULL) {
				free(buf);
				fclose(fp);
				perr(p, "file too large");
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
	} while (r > 0);
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		p->line = 0;
		perr(p, "%s", strerror(errno ? errno : EIO));
		return NULL;
	}
	fclose(fp);
	*len = n;
	return buf;
}

/* map_cmp - order of map entries */
static int
map_cmp(const void *a, const void *b)
{
	return strcmp(((const struct config_map_entry *)a)->key,
	    ((const struct config_map_entry *)b)->key);
}

/* lower_dup - a lower-cased copy */
static char *
lower_dup(const char *s)
{
	char *d = strdup(s), *q;

	if (d != NULL)
		for (q = d; *q; q++)
			*q = (char)tolower((unsigned char)*q);
	return d;
}

/* map_line - one "LOGIN CLASS" line of the class map */
static int
map_line(struct parse *p, char *line)
{
	struct config *c = p->cfg;
	struct config_map_entry *nm;
	const struct config_class *cls;
	char *w[3];
	int n;

	if ((n = split(p, line, w, 3)) <= 0)
		return n;
	if (n != 2)
		return perr(p, "expected \"LOGIN CLASS\" or \"@domain CLASS\"");
	if ((cls = config_find_class(c, w[1])) == NULL)
		return perr(p, "unknown class \"%s\"", w[1]);
	if (strcmp(w[0], "@") == 0)
		return perr(p, "\"@\" needs a domain");
	if (c->nmap == p->mapcap) {
		nm = realloc(c->map, (p->mapcap * 2 + 16) * sizeof(*nm));
		if (nm == NULL)
			return perr(p, "out of memory");
		c->map = nm;
		p->mapcap = p->mapcap * 2 + 16;
	}
	if ((c->map[c->nmap].key = lower_dup(w[0])) == NULL)
		return perr(p, "out of memory");
	c->map[c->nmap].cls = (size_t)(cls - c->classes);
	c->map[c->nmap].line = p->line;
	c->nmap++;
	return 0;
}

/* load_map - read the class map named by the config */
static int
load_map(struct parse *p, const char *dir)
{
	struct config *c = p->cfg;
	char path[PATH_MAX], *text;
	size_t len, i;
	int rc;

	if (c->class_map[0] == '/' || dir == NULL)
		snprintf(path, sizeof(path), "%s", c->class_map);
	else if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    c->class_map) >= sizeof(path))
		return perr(p, "class_map: path too long");
	p->file = path;
	if ((text = read_file(p, path, &len)) == NULL)
		return -1;
	rc = each_line(p, text, len, map_line);
	free(text);
	if (rc == -1)
		return -1;
	qsort(c->map, c->nmap, sizeof(*c->map), map_cmp);
	for (i = 1; i < c->nmap; i++)
		if (strcmp(c->map[i - 1].key, c->map[i].key) == 0) {
			p->line = c->map[i].line > c->map[i - 1].line ?
			    c->map[i].line : c->map[i - 1].line;
			return perr(p, "\"%s\" listed twice", c->map[i].key);
		}
	return 0;
}

/* defaults - a config holding every default and the built-in class */
static struct config *
defaults(struct parse *p)
{
	struct config_class *d;
	size_t i;

	if ((p->cfg = calloc(1, sizeof(*p->cfg))) == NULL)
		return NULL;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].def != NULL && set_key(p, &keys[i], keys[i].def))
			return NULL;
	d = &p->cfg->classes[0];
	snprintf(d->name, sizeof(d->name), "default");
	d->messages[0] = (struct config_limit){ 100, 3600 };
	d->messages[1] = (struct config_limit){ 1000, 86400 };
	d->nmessages = 2;
	d->recipients[0] = (struct config_limit){ 500, 3600 };
	d->recipients[1] = (struct config_limit){ 2000, 86400 };
	d->nrecipients = 2;
	d->max_recipients = 100;
	d->max_header_recipients = 100;
	d->file = "built-in";
	p->cfg->nclasses = 1;
	return p->cfg;
}

/* parse_text - the whole of a config file's text */
static struct config *
parse_text(const char *text, size_t len, const char *name, const char *dir,
    char *err, size_t errlen)
{
	struct parse p;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.file = name;
	p.err = err;
	p.errlen = errlen;
	if (defaults(&p) == NULL) {
		config_free(p.cfg);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	if ((p.cfg->path = strdup(name)) == NULL)
		goto fail;
	for (i = 0; i < p.cfg->nclasses; i++)
		if (p.cfg->classes[i].file == NULL)
			p.cfg->classes[i].file = p.cfg->path;
	if (each_line(&p, text, len, config_line) == -1)
		goto fail;
	if (p.cls != NULL) {
		p.line = p.cls->line;
		perr(&p, "class %s is not closed with \"}\"", p.cls->name);
		goto fail;
	}
	if (p.cfg->class_map != NULL && load_map(&p, dir) == -1)
		goto fail;
	return p.cfg;
fail:
	config_free(p.cfg);
	return NULL;
}

/* config_load - parse a file and the class map it names */
struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct parse p;
	struct config *c;
	char dir[PATH_MAX], *slash, *text;
	size_t len;

	memset(&p, 0, sizeof(p));
	p.file = path;
	p.err = err;
	p.errlen = errlen;
	if ((text = read_file(&p, path, &len)) == NULL)
		return NULL;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	c = parse_text(text, len, path, slash ? dir : ".", err, errlen);
	free(text);
	return c;
}

/* config_parse_string - as config_load, from memory */
struct config *
config_parse_string(const char *text, const char *name, char *err,
    size_t errlen)
{
	return parse_text(text, strlen(text), name, NULL, err, errlen);
}

/* config_free - release a config; NULL is fine */
void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].type == K_STR)
			free(*(char **)(void *)((char *)c + keys[i].off));
	free(c->redis_host);
	free(c->redis_socket);
	for (i = 0; i < c->nmap; i++)
		free(c->map[i].key);
	free(c->map);
	free(c->path);
	free(c);
}

/* map_find - bsearch the map for a lower-cased key */
static const struct config_map_entry *
map_find(const struct config *c, const char *key)
{
	struct config_map_entry k;

	k.key = (char *)(uintptr_t)key;
	return bsearch(&k, c->map, c->nmap, sizeof(*c->map), map_cmp);
}

/* config_class_for - exact login, then @domain, then default */
const struct config_class *
config_class_for(const struct config *c, const char *login)
{
	char buf[1200];
	const struct config_map_entry *e;
	const char *at;
	size_t n, i;

	if (login == NULL || c->nmap == 0)
		return &c->classes[0];
	n = strlen(login);
	if (n < sizeof(buf)) {
		for (i = 0; i <= n; i++)
			buf[i] = (char)tolower((unsigned char)login[i]);
		if ((e = map_find(c, buf)) != NULL)
			return &c->classes[e->cls];
	}
	if ((at = strrchr(login, '@')) != NULL && strlen(at) < sizeof(buf)) {
		n = strlen(at);
		for (i = 0; i <= n; i++)
			buf[i] = (char)tolower((unsigned char)at[i]);
		if ((e = map_find(c, buf)) != NULL)
			return &c->classes[e->cls];
	}
	return &c->classes[0];
}

/* config_find_class - class by name, or NULL */
const struct config_class *
config_find_class(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nclasses; i++)
		if (strcmp(c->classes[i].name, name) == 0)
			return &c->classes[i];
	return NULL;
}
