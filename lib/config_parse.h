/*
 * config_parse.h - what config.c, config_parse.c and config_class.c share
 * while a file is loaded: the parse state, the input limits, and the
 * helpers each side calls (not a public interface: callers use config.h).
 */
#ifndef SLUICE_CONFIG_PARSE_H
#define SLUICE_CONFIG_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "config_table.h"

#define LINE_MAX_LEN	4096	/* longest line accepted, bytes */
#define FILE_MAX	(64 * 1024 * 1024) /* longest file accepted, bytes */
#define MAX_WORDS	(CONFIG_MAX_LIMITS + 2)	/* words kept from a line */
#define LIST_WORDS	1024	/* words of a list line (networks, identity
				   map): LINE_MAX_LEN / 4 */
#define CAP_MAX		1000000	/* largest per-message cap in a class */
#define LIMIT_WINDOW_MAX (30U * 86400)	/* longest window, seconds */
#define CLASS_KEYS_MAX	32	/* room for the keys of a class block */

#define ALNUM	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* parse state for one load */
struct parse {
	struct config	*cfg;
	const char	*file;		/* for messages: the file being read */
	unsigned	 line;		/* 0: the error is about the whole file */
	char		*err;
	size_t		 errlen;
	unsigned char	*seen;		/* top-level keys given, one a key of
					   keys[] (config.c) */
	struct config_class *cls;	/* open class block, or NULL */
	unsigned char	 cseen[CLASS_KEYS_MAX]; /* its keys given */
	int		 have_default;	/* the file defined class default */
	unsigned	 sentinels_line; /* where redis_sentinels was given */
	size_t		 mapcap;	/* entries allocated in cfg->map */
	int		 domains;	/* reading domain_class_map */
	size_t		 dmapcap;	/* entries allocated in cfg->dmap */
};

/* config_parse.c: words, lines, files and the values of keys */

/* perr - "file:line: message" into the error buffer; returns -1 */
int	perr(struct parse *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* config_ascii_lower - fold A-Z only, whatever the locale */
unsigned char config_ascii_lower(unsigned char c);
/* config_parse_u64 - leading decimal digits of s; -1 on overflow */
int	config_parse_u64(const char *s, const char **end, uint64_t *v);
/* config_set_key - check one value of a top-level key and store it */
int	config_set_key(struct parse *p, const struct key *k, const char *v);
/* config_set_argv - "PROGRAM ARG..." from the words of a line */
int	config_set_argv(struct parse *p, const struct key *k, char **w, int n);
/* config_split - cut a line into at most max words; how many in all */
int	config_split(struct parse *p, char *s, char **w, int max);
/* config_each_line - call fn on every line of text, checked */
int	config_each_line(struct parse *p, const char *text, size_t len,
	    int (*fn)(struct parse *, char *));
/* config_read_file - a whole file into memory; NULL + err */
char	*config_read_file(struct parse *p, const char *path, size_t *lenp);
/* config_rel_path - a map file's path: relative ones are taken from dir */
char	*config_rel_path(struct parse *p, const char *dir, const char *name);

/* config_class.c: class blocks and the class maps */

/* config_class_open - "class NAME {" */
int	config_class_open(struct parse *p, char **w, int n);
/* config_class_line - one line inside a class block */
int	config_class_line(struct parse *p, char **w, int n);
/* config_class_close - "}": the open class block ends */
int	config_class_close(struct parse *p, int n);
/* config_class_default - the class used when the file defines none */
void	config_class_default(struct config_class *d);
/* config_domain_items_fit - a login's and its domain's limits fit */
int	config_domain_items_fit(struct parse *p);
/* config_load_map - read the class map (domains: domain_class_map) */
int	config_load_map(struct parse *p, const char *dir, int domains);

#endif
