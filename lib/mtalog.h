/* mtalog.h - one line of an MTA's log: a remote delivery outcome? */
#ifndef SLUICE_MTALOG_H
#define SLUICE_MTALOG_H

#include <stddef.h>

#define MTALOG_QID_MAX	23	/* longest queue id, bytes (as qidmem) */
#define MTALOG_DSN_MAX	15	/* longest dsn= value kept, bytes */
#define MTALOG_LINE_MAX	4096	/* longer lines are not delivery lines */

enum mtalog_format { MTALOG_POSTFIX = 0, MTALOG_SENDMAIL };

enum mtalog_outcome {
	MTALOG_NONE = 0,	/* not a remote outcome we count */
	MTALOG_BOUNCED,		/* 5xx from the remote server: given up */
	MTALOG_DEFERRED		/* 4xx: to be retried */
};

struct mtalog_rec {
	enum mtalog_outcome outcome;
	int	 unknown;	/* dsn=5.1.1: no such recipient */
	char	 qid[MTALOG_QID_MAX + 1];
	char	 dsn[MTALOG_DSN_MAX + 1];	/* "5.1.1", or "" */
};

/*
 * mtalog_parse - read one line (no newline needed, not NUL-terminated)
 * of a Postfix smtp/lmtp or Sendmail log: MTALOG_BOUNCED or
 * MTALOG_DEFERRED with *rec filled, or MTALOG_NONE (rec->outcome too).
 * No I/O, no allocation; any bytes are safe.
 */
enum mtalog_outcome mtalog_parse(enum mtalog_format, const char *line,
		    size_t len, struct mtalog_rec *rec);

#endif
