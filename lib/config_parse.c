/*
 * config_parse.c - the words, lines and files of sluice.conf and its maps,
 * and the value of each top-level key checked against its row of keys[].
 *
 * Public (to config.c and config_class.c, through config_parse.h): perr,
 * config_split, config_each_line, config_read_file, config_rel_path,
 * config_set_key, config_set_argv, config_parse_u64, config_ascii_lower;
 * (through config.h) config_parse_duration, config_parse_limit,
 * config_format_window.
 *
 * Words: blanks (SP, HTAB) separate them; '#' starts a comment outside
 * double quotes; "double quotes" group (no escapes). Lines over
 * LINE_MAX_LEN bytes, NUL bytes, control characters and files over
 * FILE_MAX bytes are rejected, never cut. Every error reads
 * "FILE:LINE: what is wrong" ("FILE: strerror" when it cannot be read).
 *
 * Memory: values are copied into the config being built (struct parse's
 * cfg), which config_free releases; config_read_file's buffer and
 * config_rel_path's string belong to the caller. Thread-safety: touches
 * only the parse state it is given; nothing here logs or exits; the
 * ASCII case folding does not depend on the locale.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"
#include "domains.h"
#include "netlist.h"
#include "sentinel.h"

#define NAME_SHOWN	160	/* at most this much of a file's name in an error */
#define NAME_HEAD	40	/* of which its first bytes, then "..." and its tail */

/* perr - "file:line: message" into the error buffer; returns -1 */
int
perr(struct parse *p, const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX], name[NAME_SHOWN + 1];
	unsigned char *q;
	va_list ap;
	size_t fl;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a file name too long for the buffer would push out the line and
	 * the message: keep its head and tail (the file's own name) */
	fl = strlen(p->file);
	if (fl > NAME_SHOWN)
		snprintf(name, sizeof(name), "%.*s...%s", NAME_HEAD, p->file,
		    p->file + fl - (NAME_SHOWN - NAME_HEAD - 3));
	else
		snprintf(name, sizeof(name), "%s", p->file);
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%u: %s", name, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", name, msg);
	/* values are echoed: keep the message one printable line */
	for (q = (unsigned char *)p->err; *q != '\0'; q++)
		if (*q < 0x20 || *q == 0x7f)
			*q = '?';
	return -1;
}

/* config_ascii_lower - fold A-Z only, whatever the locale */
unsigned char
config_ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* is_digit - 0-9, whatever the locale */
static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* is_blank - a word separator */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* config_parse_u64 - leading decimal digits of s (at least one); -1 on
 * overflow */
int
config_parse_u64(const char *s, const char **end, uint64_t *v)
{
	uint64_t n = 0;

	if (!is_digit(*s))
		return -1;
	for (; is_digit(*s); s++) {
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*end = s;
	*v = n;
	return 0;
}

/* config_parse_duration - "90", "90s", "15m", "1h", "2d", "1w", "250ms" */
int
config_parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
	};
	const char *end;
	uint64_t n;
	size_t i;

	if (s == NULL || config_parse_u64(s, &end, &n) == -1)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (n > UINT64_MAX / units[i].ms)
				return -1;
			*ms = n * units[i].ms;
			return 0;
		}
	return -1;
}

/* config_parse_limit - "100/1h" into a limit; whole seconds, 1s to 30d */
int
config_parse_limit(const char *s, struct config_limit *l)
{
	const char *end;
	uint64_t n, ms;

	if (s == NULL || config_parse_u64(s, &end, &n) == -1 || *end != '/' ||
	    config_parse_duration(end + 1, &ms) == -1 || ms % 1000 != 0 ||
	    ms < 1000 || ms / 1000 > LIMIT_WINDOW_MAX)
		return -1;
	l->count = n;
	l->window = (uint32_t)(ms / 1000);
	return 0;
}

/* config_format_window - the largest unit that divides exactly: "1h" */
char *
config_format_window(uint32_t s, char *out, size_t outlen)
{
	static const struct {
		uint32_t	 secs;
		char		 unit;
	} units[] = {
		{ 604800, 'w' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' },
	};
	size_t i;

	if (outlen == 0)
		return out;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s != 0 && s % units[i].secs == 0) {
			snprintf(out, outlen, "%lu%c",
			    (unsigned long)(s / units[i].secs), units[i].unit);
			return out;
		}
	snprintf(out, outlen, "%lus", (unsigned long)s);
	return out;
}

/* ascii_caseeq - equal but for ASCII case? */
static int
ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (config_ascii_lower((unsigned char)*a) !=
		    config_ascii_lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

/* parse_bool - yes/no and friends, any case (OpenDKIM files say "Yes") */
static int
parse_bool(const char *v)
{
	static const char *const t[] = { "yes", "true", "on", "1", NULL };
	static const char *const f[] = { "no", "false", "off", "0", NULL };
	size_t i;

	for (i = 0; t[i] != NULL; i++) {
		if (ascii_caseeq(v, t[i]))
			return 1;
		if (ascii_caseeq(v, f[i]))
			return 0;
	}
	return -1;
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
	int i, r;

	out[0] = '\0';
	for (i = 0; names[i] != NULL && o < outlen; i++) {
		r = snprintf(out + o, outlen - o, "%s%s", i == 0 ? "" :
		    names[i + 1] == NULL ? " or " : ", ", names[i]);
		if (r < 0)
			break;
		o += (size_t)r;
	}
}

/* set_str - replace a string field with a copy of v */
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

/* set_server - "host:port", "[v6 address]:port" or "unix:/path" */
static int
set_server(struct parse *p, const char *v)
{
	struct config *c = p->cfg;
	const char *colon, *host, *hend, *end;
	char hostbuf[256];
	uint64_t port;
	size_t hl;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/')
			return perr(p, "redis_server: unix socket path must be "
			    "absolute, got \"%s\"", v + 5);
		free(c->redis_host);
		c->redis_host = NULL;
		c->redis_port = 0;
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
		if ((colon = strchr(v, ':')) == NULL)
			return perr(p, "redis_server: expected host:port, "
			    "[address]:port or unix:/path, got \"%s\"", v);
		if (strchr(colon + 1, ':') != NULL)
			return perr(p, "redis_server: write an IPv6 address in "
			    "brackets, e.g. [::1]:6379, got \"%s\"", v);
		hend = colon;
	}
	hl = (size_t)(hend - host);
	if (hl == 0)
		return perr(p, "redis_server: no host in \"%s\"", v);
	if (hl >= sizeof(hostbuf))
		return perr(p, "redis_server: host longer than %zu bytes",
		    sizeof(hostbuf) - 1);
	if (config_parse_u64(colon + 1, &end, &port) == -1 || *end != '\0' ||
	    port < 1 || port > 65535)
		return perr(p, "redis_server: expected host:port with a port "
		    "from 1 to 65535, got \"%s\"", v);
	memcpy(hostbuf, host, hl);
	hostbuf[hl] = '\0';
	free(c->redis_socket);
	c->redis_socket = NULL;
	c->redis_port = (int)port;
	return set_str(p, &c->redis_host, hostbuf);
}

/*
 * set_listen - metrics_listen: "127.0.0.1:9188" or "[::1]:9188". Numeric
 * loopback addresses only: the page has no authentication and no TLS,
 * so it is never offered to the network (a remote Prometheus scrapes it
 * through a TLS proxy or a tunnel on the relay).
 */
static int
set_listen(struct parse *p, const char *v)
{
	static const unsigned char v6lo[16] = { [15] = 1 };
	unsigned char a[16];
	const char *h = v, *colon, *end;
	char host[INET6_ADDRSTRLEN];
	uint64_t port;
	size_t hl;
	int v6 = v[0] == '[';

	if (v6) {
		h = v + 1;
		colon = strchr(h, ']');
		if (colon == NULL || colon[1] != ':')
			colon = NULL;
		else
			colon++;
	} else
		colon = strchr(v, ':');
	hl = colon == NULL ? 0 : (size_t)(colon - h) - (size_t)v6;
	if (colon == NULL || hl == 0 || hl >= sizeof(host) ||
	    config_parse_u64(colon + 1, &end, &port) == -1 || *end != '\0' ||
	    port < 1 || port > 65535)
		return perr(p, "metrics_listen: expected ADDRESS:PORT (e.g. "
		    "127.0.0.1:9188 or [::1]:9188), got \"%s\"", v);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1)
		return perr(p, "metrics_listen: \"%s\" is not a numeric IP%s "
		    "address", host, v6 ? "v6" : "v4");
	if (v6 ? memcmp(a, v6lo, 16) != 0 : a[0] != 127)
		return perr(p, "metrics_listen: %s is not a loopback address; "
		    "the metrics page has no authentication, so it listens on "
		    "127.0.0.0/8 or ::1 only", host);
	p->cfg->metrics_port = (int)port;
	return set_str(p, &p->cfg->metrics_host, host);
}

/* socket_ok - a libmilter spec we know: inet:, inet6:, unix:, local: */
static int
socket_ok(const char *v)
{
	static const char *const pfx[] = { "inet:", "inet6:", "unix:",
	    "local:", NULL };
	size_t i, n;

	for (i = 0; pfx[i] != NULL; i++) {
		n = strlen(pfx[i]);
		if (strncmp(v, pfx[i], n) == 0)
			return v[n] != '\0';
	}
	return 0;
}

/* set_nets - a list of networks for a K_NETS key */
static int
set_nets(struct parse *p, const struct key *k, const char *v)
{
	struct netlist **field = (struct netlist **)(void *)((char *)p->cfg +
	    k->off);
	char msg[CONFIG_ERR_MAX / 2];
	struct netlist *l;

	if ((l = netlist_parse(v, msg, sizeof(msg))) == NULL)
		return perr(p, "%s: %s", k->name, msg);
	netlist_free(*field);
	*field = l;
	return 0;
}

/* set_domains - a list of domain names for a K_DOMAINS key */
static int
set_domains(struct parse *p, const struct key *k, const char *v)
{
	struct domains **field = (struct domains **)(void *)((char *)p->cfg +
	    k->off);
	char msg[CONFIG_ERR_MAX / 2];
	struct domains *l;

	if ((l = domains_parse(v, msg, sizeof(msg))) == NULL)
		return perr(p, "%s: %s", k->name, msg);
	domains_free(*field);
	*field = l;
	return 0;
}

/* set_sentinels - "host:port, host:port ..." checked, kept as written */
static int
set_sentinels(struct parse *p, const struct key *k, const char *v)
{
	struct sentinel_addr l[SENTINEL_MAX];
	char msg[CONFIG_ERR_MAX / 2];

	if (sentinel_parse_list(v, l, SENTINEL_MAX, msg, sizeof(msg)) == -1)
		return perr(p, "%s: %s", k->name, msg);
	p->sentinels_line = p->line;
	return set_str(p, (char **)(void *)((char *)p->cfg + k->off), v);
}

/* config_set_key - check one value of a top-level key and store it */
int
config_set_key(struct parse *p, const struct key *k, const char *v)
{
	char *base = (char *)p->cfg, list[256], why[128];
	const char *end;
	uint64_t n;
	size_t len = strlen(v);
	int i;

	/* a value that cannot be shown on one line is no path, name or
	 * number either: refuse it without echoing it */
	for (end = v; *end != '\0'; end++)
		if ((unsigned char)*end < 0x20 || *end == 0x7f)
			return perr(p, "%s: control characters are not allowed",
			    k->name);
	switch (k->type) {
	case K_STR:
		if (len == 0)
			return perr(p, "%s: empty value", k->name);
		if (k->max != 0 && (len < k->min || len > k->max))
			return perr(p, "%s: expected %llu to %llu characters, "
			    "got %zu", k->name, (unsigned long long)k->min,
			    (unsigned long long)k->max, len);
		if (k->chars != NULL && k->chars->set != NULL &&
		    strspn(v, k->chars->set) != len)
			return perr(p, "%s: only %s are allowed, got \"%s\"",
			    k->name, k->chars->desc, v);
		if (k->chars != NULL && k->chars->check != NULL &&
		    k->chars->check(v, why, sizeof(why)) == -1)
			return perr(p, "%s", why);
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_WORD:
		if (in_list(k->names, v) == -1) {
			list_text(k->names, list, sizeof(list));
			return perr(p, "%s: expected %s, got \"%s\"", k->name,
			    list, v);
		}
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_SOCKET:
		if (!socket_ok(v))
			return perr(p, "%s: expected inet:PORT@HOST, "
			    "inet6:PORT@HOST, unix:PATH or local:PATH, got "
			    "\"%s\"", k->name, v);
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_COMMAND:
	case K_ARGV:
		if (v[0] != '/')
			return perr(p, "%s: expected the absolute path of a "
			    "program (it is run without a shell), got \"%s\"",
			    k->name, v);
		if (len > k->max)
			return perr(p, "%s: longer than %llu bytes", k->name,
			    (unsigned long long)k->max);
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_ENUM:
		if ((i = in_list(k->names, v)) == -1) {
			list_text(k->names, list, sizeof(list));
			return perr(p, "%s: expected %s, got \"%s\"", k->name,
			    list, v);
		}
		*(int *)(void *)(base + k->off) = i;
		return 0;
	case K_BOOL:
		if ((i = parse_bool(v)) == -1)
			return perr(p, "%s: expected yes or no, got \"%s\"",
			    k->name, v);
		*(int *)(void *)(base + k->off) = i;
		return 0;
	case K_UINT:
		if (config_parse_u64(v, &end, &n) == -1 || *end != '\0' ||
		    n < k->min || n > k->max)
			return perr(p, "%s: expected a number from %llu to %llu,"
			    " got \"%s\"", k->name,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max, v);
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)n;
		return 0;
	case K_MS:
		if (config_parse_duration(v, &n) == -1 || n < k->min ||
		    n > k->max)
			return perr(p, "%s: expected a duration from %llums to "
			    "%llums (e.g. 250ms, 5s, 1m), got \"%s\"", k->name,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max, v);
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)n;
		return 0;
	case K_LIMIT:
		if (config_parse_limit(v, (struct config_limit *)(void *)
		    (base + k->off)) == -1)
			return perr(p, "%s: expected COUNT/DURATION, e.g. "
			    "100/1h, window 1s to 30d in whole seconds, got "
			    "\"%s\"", k->name, v);
		return 0;
	case K_SERVER:
		return set_server(p, v);
	case K_NETS:
		return set_nets(p, k, v);
	case K_DOMAINS:
		return set_domains(p, k, v);
	case K_LISTEN:
		return set_listen(p, v);
	case K_SENTINELS:
		return set_sentinels(p, k, v);
	}
	return perr(p, "%s: internal error: unknown key type", k->name);
}

/*
 * set_argv - "PROGRAM ARG..." from the words of a line (or quoted):
 * kept joined by single spaces and split again on spaces when run, so
 * no argument can hold a space
 */
int
config_set_argv(struct parse *p, const struct key *k, char **w, int n)
{
	char buf[LINE_MAX_LEN + 1];
	size_t o = 0, len;
	int j;

	if (n < 2)
		return perr(p, "%s: expected a program and its arguments",
		    k->name);
	if (n > MAX_WORDS)
		return perr(p, "%s: at most %d arguments after the program",
		    k->name, MAX_WORDS - 2);
	for (j = 1; j < n; j++) {
		len = strlen(w[j]);
		if (strpbrk(w[j], "\t\r") != NULL || len == 0)
			return perr(p, "%s: an argument may not be empty or "
			    "hold a tab", k->name);
		if (o + len + 1 > sizeof(buf) || o + len > k->max)
			return perr(p, "%s: longer than %llu bytes", k->name,
			    (unsigned long long)k->max);
		if (o > 0)
			buf[o++] = ' ';
		memcpy(buf + o, w[j], len);
		o += len;
	}
	buf[o] = '\0';
	return config_set_key(p, k, buf);
}

/*
 * split - cut a line into words in place: blanks separate, '#' starts a
 * comment, "double quotes" group (no escapes). Keeps the first `max`
 * words in w and returns how many there were in all, so callers can say
 * "too many" in their own words; -1 with err on a quoting mistake.
 */
int
config_split(struct parse *p, char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		while (is_blank(*s))
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (*s == '"') {
			if (n < max)
				w[n] = s + 1;
			n++;
			if ((s = strchr(s + 1, '"')) == NULL)
				return perr(p, "unterminated quote");
			*s++ = '\0';
			if (*s != '\0' && !is_blank(*s) && *s != '#')
				return perr(p, "text right after a closing "
				    "quote");
			continue;
		}
		if (n < max)
			w[n] = s;
		n++;
		for (; *s != '\0' && !is_blank(*s) && *s != '#'; s++)
			if (*s == '"')
				return perr(p, "quote inside a word (quote the "
				    "whole value)");
		if (*s == '#') {
			*s = '\0';
			return n;
		}
		if (*s != '\0')
			*s++ = '\0';
	}
}

/*
 * each_line - call fn on every line of text (len bytes, which need not
 * end in a newline). NUL bytes, control characters and lines longer
 * than LINE_MAX_LEN are errors; a UTF-8 byte order mark is skipped.
 */
int
config_each_line(struct parse *p, const char *text, size_t len,
    int (*fn)(struct parse *, char *))
{
	char buf[LINE_MAX_LEN + 1];
	const char *s = text, *e = text + len, *nl;
	unsigned char ch;
	size_t n, i;

	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	for (p->line = 1; s < e; p->line++) {
		nl = memchr(s, '\n', (size_t)(e - s));
		n = (size_t)((nl != NULL ? nl : e) - s);
		for (i = 0; i < n; i++) {
			ch = (unsigned char)s[i];
			if (ch == '\0')
				return perr(p, "NUL byte in the file");
			if ((ch < 0x20 && ch != '\t' && ch != '\r') ||
			    ch == 0x7f)
				return perr(p, "control character 0x%02x in "
				    "the line", ch);
		}
		if (n > LINE_MAX_LEN)
			return perr(p, "line longer than %d bytes",
			    LINE_MAX_LEN);
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (fn(p, buf) == -1)
			return -1;
		s = nl != NULL ? nl + 1 : e;
	}
	return 0;
}

/* config_read_file - a whole file into memory (not NUL-terminated); NULL
 * + err */
char *
config_read_file(struct parse *p, const char *path, size_t *lenp)
{
	char *buf = NULL, *nb;
	size_t cap = 0, len = 0, r;
	FILE *fp;
	int e;

	p->file = path;
	p->line = 0;
	if ((fp = fopen(path, "rbe")) == NULL) {
		perr(p, "%s", strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			if (cap > FILE_MAX) {
				perr(p, "larger than %d MiB", FILE_MAX >> 20);
				goto fail;
			}
			cap = cap == 0 ? 16384 : cap * 2;
			if (cap > FILE_MAX + 1)
				cap = FILE_MAX + 1;	/* one more: too big */
			if ((nb = realloc(buf, cap)) == NULL) {
				perr(p, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		if ((r = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += r;
	}
	if (ferror(fp)) {
		e = errno != 0 ? errno : EIO;
		perr(p, "%s", strerror(e));
		goto fail;
	}
	fclose(fp);
	*lenp = len;
	return buf;
fail:
	free(buf);
	fclose(fp);
	return NULL;
}

/* config_rel_path - a map file's path: relative ones are taken from dir */
char *
config_rel_path(struct parse *p, const char *dir, const char *name)
{
	char *path;
	size_t len, dl;

	if (name[0] == '/' || dir == NULL) {
		path = strdup(name);
	} else {
		dl = strlen(dir);
		len = dl + 1 + strlen(name) + 1;
		if ((path = malloc(len)) != NULL)
			snprintf(path, len, "%s%s%s", dir,
			    dl > 0 && dir[dl - 1] == '/' ? "" : "/", name);
	}
	if (path == NULL) {
		p->line = 0;
		perr(p, "out of memory");
	}
	return path;
}
