/* follow.h - read a growing log file line by line, across rotation */
#ifndef SLUICE_FOLLOW_H
#define SLUICE_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#define FOLLOW_LINE_MAX	8192	/* longer lines are skipped (counted) */

struct follow;

/* follow_line_fn - one complete line, without its newline; borrowed */
typedef void (*follow_line_fn)(void *ctx, const char *line, size_t len);

/*
 * follow_new - follow `path`, remembering where it is in `state` (a
 * small file: inode and offset; NULL: nothing remembered, start at the
 * end). With a state file from an earlier run: resume at its offset if
 * the inode is the same and the file not shorter, else finish the
 * rotated "path.1" when it has that inode, else start at 0. Without one:
 * start at the current end. NULL with err on a state file that cannot
 * be written or out of memory; a missing log is no error (retried).
 */
struct follow	*follow_new(const char *path, const char *state, char *err,
		    size_t errlen);

/*
 * follow_read - hand every complete line written since the last call to
 * fn; on a rename (new inode at path) finish the old file and go on with
 * the new one from 0; on a truncation (copytruncate: the file shorter
 * than the offset) go on from 0. Saves the state after the lines. Returns
 * lines handed over, or -1 with err (read error; the next call retries).
 */
long		 follow_read(struct follow *, follow_line_fn fn, void *ctx,
		    char *err, size_t errlen);

/*
 * follow_commit - called from fn: save the state as if the current line
 * were done, before acting on it, so a crash never counts it twice
 */
void		 follow_commit(struct follow *);

/* follow_lag - bytes of the file not read yet (at the last read) */
uint64_t	 follow_lag(const struct follow *);

/* follow_stats - lines read and lines skipped as too long, in all */
void		 follow_stats(const struct follow *, uint64_t *lines,
		    uint64_t *skipped);

/* follow_free - close and release; NULL is fine */
void		 follow_free(struct follow *);

#endif
