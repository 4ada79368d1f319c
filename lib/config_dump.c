/*
 * config_dump.c - a loaded config written back as a sluice.conf: every
 * key of config.c's table with its value after defaults, then every
 * class with its limits (sluice -n -v).
 *
 * Public: config_dump.
 *
 * The output is itself a valid configuration: config_parse_string on it
 * gives a config whose dump is the same text. A key without a value
 * (user, pidfile, class_map... unset) is written as a comment
 * "# key (unset)", so every key of the table appears. Secrets are never
 * read here: the config holds only the names of the files that keep
 * them (redis_password_file, hop_key_file), and those are what is
 * written. Relative map file names are written as given (they are taken
 * from the configuration's directory).
 *
 * Memory: nothing is allocated. Thread-safety: only reads the config.
 * Nothing here logs; the only output goes to the caller's stream.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_dump.h"
#include "config_parse.h"
#include "config_table.h"
#include "domains.h"
#include "netlist.h"

#define VALUE_MAX	(LINE_MAX_LEN + 1) /* a value of such a line */

/* field - the address of a key's field in the config */
static const void *
field(const struct config *c, const struct key *k)
{
	return (const char *)c + k->off;
}

/* format_ms - the largest unit that divides exactly: "1h", "250ms" */
static void
format_ms(uint32_t ms, char *out, size_t outlen)
{
	static const struct {
		uint32_t	 ms;
		const char	*unit;
	} units[] = {
		{ 604800000, "w" }, { 86400000, "d" }, { 3600000, "h" },
		{ 60000, "m" }, { 1000, "s" },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(out, outlen, "%lu%s",
			    (unsigned long)(ms / units[i].ms), units[i].unit);
			return;
		}
	snprintf(out, outlen, "%lu%s", (unsigned long)ms, ms ? "ms" : "s");
}

/* format_limit - "100/1h" */
static void
format_limit(const struct config_limit *l, char *out, size_t outlen)
{
	char w[32];

	snprintf(out, outlen, "%llu/%s", (unsigned long long)l->count,
	    config_format_window(l->window, w, sizeof(w)));
}

/* host_port - "host:port", "[v6]:port" */
static void
host_port(const char *host, int port, char *out, size_t outlen)
{
	snprintf(out, outlen, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d",
	    host, port);
}

/* value - the text of a key's value; NULL when the key is unset */
static const char *
value(const struct config *c, const struct key *k, char *out, size_t len)
{
	const char *s;

	switch (k->type) {
	case K_STR:
	case K_WORD:
	case K_SOCKET:
	case K_COMMAND:
	case K_ARGV:
	case K_SENTINELS:
		s = *(char *const *)field(c, k);
		return s;
	case K_ENUM:
		return k->names[*(const int *)field(c, k)];
	case K_BOOL:
		return *(const int *)field(c, k) ? "yes" : "no";
	case K_UINT:
		snprintf(out, len, "%lu",
		    (unsigned long)*(const uint32_t *)field(c, k));
		return out;
	case K_MS:
		format_ms(*(const uint32_t *)field(c, k), out, len);
		return out;
	case K_LIMIT:
		format_limit(field(c, k), out, len);
		return out;
	case K_SERVER:
		if (c->redis_socket != NULL)
			snprintf(out, len, "unix:%s", c->redis_socket);
		else
			host_port(c->redis_host, c->redis_port, out, len);
		return out;
	case K_LISTEN:
		if (c->metrics_host == NULL)
			return NULL;
		host_port(c->metrics_host, c->metrics_port, out, len);
		return out;
	case K_NETS:
		if (*(struct netlist *const *)field(c, k) == NULL)
			return NULL;
		/* it came from one line, so with single blanks it fits one */
		if (strlen(k->name) + 1 + netlist_format(*(struct netlist
		    *const *)field(c, k), ", ", out, len) > LINE_MAX_LEN)
			netlist_format(*(struct netlist *const *)field(c, k),
			    " ", out, len);
		return out;
	case K_DOMAINS:
		if (*(struct domains *const *)field(c, k) == NULL)
			return NULL;
		if (strlen(k->name) + 1 + domains_format(*(struct domains
		    *const *)field(c, k), ", ", out, len) > LINE_MAX_LEN)
			domains_format(*(struct domains *const *)field(c, k),
			    " ", out, len);
		return out;
	}
	return NULL;
}

/* needs_quotes - a value the parser would split or cut: blanks, '#';
 * lists of words (networks, sentinels) are read word by word, so they
 * go unquoted and a list fits the line it came from */
static int
needs_quotes(const struct key *k, const char *v)
{
	if (k->type == K_NETS || k->type == K_SENTINELS ||
	    k->type == K_DOMAINS)
		return 0;
	return strpbrk(v, " \t#") != NULL;
}

/* dump_class - one class block */
static void
dump_class(const struct config_class *cls, FILE *out)
{
	const struct class_key *ck;
	const struct config_limit *lim;
	char text[64];
	size_t i, j, n, nck;

	ck = config_class_table(&nck);
	fprintf(out, "\nclass %s {\n", cls->name);
	for (i = 0; i < nck; i++) {
		if (ck[i].lim == 0) {
			fprintf(out, "    %s %lu\n", ck[i].name, (unsigned long)
			    *(const uint32_t *)(const void *)
			    ((const char *)cls + ck[i].cnt));
			continue;
		}
		lim = (const struct config_limit *)(const void *)
		    ((const char *)cls + ck[i].lim);
		n = *(const size_t *)(const void *)((const char *)cls +
		    ck[i].cnt);
		if (n == 0)
			continue;
		fprintf(out, "    %s", ck[i].name);
		for (j = 0; j < n; j++) {
			format_limit(&lim[j], text, sizeof(text));
			fprintf(out, " %s", text);
		}
		fputc('\n', out);
	}
	fputs("}\n", out);
}

/* config_dump - the effective configuration as sluice.conf text */
int
config_dump(const struct config *c, FILE *out)
{
	const struct key *keys;
	char buf[VALUE_MAX];
	const char *v;
	size_t i, n;

	keys = config_table(&n);
	fprintf(out, "# effective configuration of %s (sluice -n -v)\n",
	    c->path);
	for (i = 0; i < n; i++) {
		if ((v = value(c, &keys[i], buf, sizeof(buf))) == NULL)
			fprintf(out, "# %s (unset)\n", keys[i].name);
		else
			fprintf(out, needs_quotes(&keys[i], v) ? "%s \"%s\"\n" :
			    "%s %s\n", keys[i].name, v);
	}
	for (i = 0; i < c->nclasses; i++)
		dump_class(&c->classes[i], out);
	return ferror(out) ? -1 : 0;
}
