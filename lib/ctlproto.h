/* ctlproto.h - sluicectl's line protocol on the control socket, no I/O */
#ifndef SLUICE_CTLPROTO_H
#define SLUICE_CTLPROTO_H

#include <stddef.h>

/*
 * Version 1 (doc/embedded-store.md). Every line ends in "\n" and is at
 * most CTLPROTO_LINE_MAX bytes with it. A line is fields separated by
 * one space; a field is percent-encoded: '%', '-' alone, and every byte
 * outside 0x21..0x7e are written %HH, and the empty field is "-".
 *
 *   request   SLUICECTL/1 VERB [ARG ...]
 *   reply     SLUICECTL/1 OK            then data lines, then "."
 *             SLUICECTL/1 ERR CODE TEXT one line: CODE is a word
 *                                       (usage, denied, store, busy)
 */
#define CTLPROTO_MAGIC		"SLUICECTL/1"
#define CTLPROTO_LINE_MAX	4096	/* bytes of a line, "\n" included */
#define CTLPROTO_FIELDS_MAX	16	/* fields of a line */

/* a line split into decoded fields, pointing into its own copy */
struct ctlproto_line {
	size_t		 n;			/* fields */
	char		*f[CTLPROTO_FIELDS_MAX];/* NUL-terminated; a field
						   may hold NUL bytes: see len */
	size_t		 len[CTLPROTO_FIELDS_MAX];
	char		 buf[CTLPROTO_LINE_MAX];
};

/*
 * ctlproto_split - decode one line (without its "\n", len bytes) into
 * fields; 0, or -1 with err (too long, too many fields, an empty field
 * between two spaces, a bad %HH, a control byte)
 */
int	ctlproto_split(const char *s, size_t len, struct ctlproto_line *,
	    char *err, size_t errlen);

/*
 * ctlproto_request - split a request line and check its version: 0 with
 * l->f[0] the verb and l->n the verb plus its arguments; -1 with err
 */
int	ctlproto_request(const char *s, size_t len, struct ctlproto_line *,
	    char *err, size_t errlen);

/*
 * ctlproto_join - n fields (each NUL-terminated) encoded into out as one
 * line with its "\n"; its length, or 0 when it does not fit (outlen or
 * CTLPROTO_LINE_MAX)
 */
size_t	ctlproto_join(char *out, size_t outlen, size_t n,
	    const char *const *f);

#endif
