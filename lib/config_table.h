/*
 * config_table.h - the shape of the key tables (keys[] in config.c,
 * class_keys[] in config_class.c), shared with config_parse.c and
 * config_dump.c only (not a public interface: callers use config.h).
 */
#ifndef SLUICE_CONFIG_TABLE_H
#define SLUICE_CONFIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum ktype {
	K_STR,		/* non-empty string; optional length and byte set */
	K_WORD,		/* one of names[], kept as a string */
	K_ENUM,		/* one of names[], kept as its index (int) */
	K_BOOL,		/* yes/no and friends, kept as int 0 or 1 */
	K_UINT,		/* uint32_t from min to max */
	K_MS,		/* duration, kept as uint32_t ms from min to max */
	K_LIMIT,	/* COUNT/DURATION, kept as struct config_limit */
	K_SOCKET,	/* libmilter socket spec, kept as a string */
	K_COMMAND,	/* absolute path of a program, at most max bytes */
	K_ARGV,		/* a program and its arguments: the words of the line,
			   kept joined by one space, at most max bytes */
	K_SERVER,	/* redis_server: fills redis_host/port or redis_socket */
	K_NETS,		/* networks, one or more words: struct netlist * */
	K_SENTINELS,	/* host:port list, one or more words: a string */
	K_LISTEN,	/* metrics_listen: loopback ADDR:PORT, [::1]:PORT */
	K_DOMAINS	/* domain names, one or more words: struct domains * */
};

/* what a K_STR may hold: its bytes (and how to say so in an error), or
 * a rule of its own */
struct charset {
	const char	*set;		/* the allowed bytes, or NULL */
	const char	*desc;
	int		(*check)(const char *, char *, size_t);
					/* or: 0, or -1 with "KEY: why" */
};

struct key {
	const char	*name;
	enum ktype	 type;
	const char	*def;		/* default, as it would be written;
					   NULL: unset */
	size_t		 off;		/* offset of the field in struct config */
	uint64_t	 min, max;	/* K_UINT, K_MS (in ms); K_STR length
					   when max != 0 */
	const char	*const *names;	/* K_ENUM, K_WORD: the values; for
					   K_ENUM the index is what is stored */
	const struct charset *chars;	/* K_STR: allowed bytes, NULL: any */
};

/* one key of a class block: a list of limits, or a per-message cap */
struct class_key {
	const char	*name;
	size_t		 lim;	/* offset of the limits, or 0 for a cap */
	size_t		 cnt;	/* offset of their count (size_t), or of the
				   cap (uint32_t, 0 to CAP_MAX) */
	uint64_t	 min, max; /* of each limit's COUNT */
};

/* config_table - every top-level key, in the order of the table */
const struct key	*config_table(size_t *n);

/* config_class_table - every key of a class block */
const struct class_key	*config_class_table(size_t *n);

#endif
