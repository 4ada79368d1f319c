/* journal.h - read the systemd journal entry by entry, as log lines */
#ifndef SLUICE_JOURNAL_H
#define SLUICE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "follow.h"

#define JOURNAL_CURSOR_MAX	255	/* longest cursor kept, bytes */
#define JOURNAL_STATE_BYTES	300	/* "journal CURSOR", padded, '\n' */
#define JOURNAL_MATCH_MAX	16	/* FIELD=VALUE matches at most */

struct journal;

/*
 * journal_new - read the journal files in dir (NULL: the local system
 * journal), only entries with one of the FIELD=VALUE words of match
 * (space-separated; NULL or "": every entry), remembering the cursor
 * of the last entry done in `state` (the file follow_new uses; NULL:
 * nothing remembered). With a cursor saved: resume after that entry.
 * Without one (or a state file of the file reader): start at the tail.
 * NULL with err on a journal that cannot be opened, a bad match or a
 * state file that cannot be written.
 */
struct journal	*journal_new(const char *dir, const char *match,
		    const char *state, char *err, size_t errlen);

/*
 * journal_read - hand every entry added since the last call to fn as a
 * syslog line (journal_line); at most 4 MiB of lines a call, as
 * follow_read. Saves the cursor after the entries. Returns lines handed
 * over, or -1 with err (the next call retries).
 */
long		 journal_read(struct journal *, follow_line_fn fn, void *ctx,
		    char *err, size_t errlen);

/* journal_commit - called from fn: the current entry counts as done */
void		 journal_commit(struct journal *);

/* journal_lag - bytes of lines not read yet (at the last read) */
uint64_t	 journal_lag(const struct journal *);

/* journal_stats - lines read, entries skipped as too long, in all */
void		 journal_stats(const struct journal *, uint64_t *lines,
		    uint64_t *skipped);

/* journal_has_files - does it see a file of the system journal (0:
 * none readable, e.g. not in group systemd-journal) */
int		 journal_has_files(struct journal *);

/* journal_free - close and release; NULL is fine */
void		 journal_free(struct journal *);

/* The parts without I/O, unit-tested alone. */

/*
 * journal_field - the value of a "FIELD=value" datum (as sd-journal
 * gives it, not NUL-terminated) if it is field `name`; NULL if not
 */
const char	*journal_field(const void *data, size_t len, const char *name,
		    size_t *vlen);

/*
 * journal_line - the syslog line of an entry: "IDENT[PID]: MESSAGE"
 * ("IDENT[]: " without a pid; MESSAGE alone without an identifier), so
 * the one parser (lib/mtalog.c) tells smtp from local by its name.
 * Its length, or 0 when it does not fit in buf (then skipped).
 */
size_t		 journal_line(const char *ident, size_t il, const char *pid,
		    size_t pl, const char *msg, size_t ml, char *buf,
		    size_t bufsz);

/*
 * journal_match_next - the next FIELD=VALUE word of a match list from
 * *pos (advanced): its start and length, 0 at the end, -1 when the word
 * is no FIELD=VALUE (FIELD: A-Z, 0-9, '_', not starting with a digit)
 */
int		 journal_match_next(const char *list, size_t *pos,
		    const char **word, size_t *wlen);

/* journal_match_check - at most JOURNAL_MATCH_MAX FIELD=VALUE words?
 * 0, or -1 with "feedback_journal_match: WHY" in err */
int		 journal_match_check(const char *list, char *err,
		    size_t errlen);

/* journal_state_format - the state bytes of cursor: exactly
 * JOURNAL_STATE_BYTES; -1 when the cursor is too long */
int		 journal_state_format(const char *cursor,
		    char buf[JOURNAL_STATE_BYTES]);

/* journal_state_parse - the cursor of state bytes into cur; 0 when they
 * hold none (empty, or the file reader's "INODE OFFSET HEAD") */
int		 journal_state_parse(const char *buf, size_t len,
		    char cur[JOURNAL_CURSOR_MAX + 1]);

#endif
