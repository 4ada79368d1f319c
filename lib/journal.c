/*
 * journal.c - the systemd journal as the feedback reader's log: each
 * entry (sd-journal from libsystemd) becomes the syslog line
 * "SYSLOG_IDENTIFIER[SYSLOG_PID]: MESSAGE" for the same parser the log
 * file feeds (lib/mtalog.c), with a cursor that survives a restart.
 *
 * Public: journal_new, journal_read, journal_commit, journal_lag,
 * journal_stats, journal_has_files, journal_free; without I/O: journal_field,
 * journal_line, journal_match_next, journal_match_check,
 * journal_state_format,
 * journal_state_parse.
 *
 * The journal is a directory of files (journald's, or
 * feedback_journal_dir: what systemd-journal-remote writes, a copy).
 * New entries in open files are seen by sd_journal_next; new files
 * (journald's rotation) through sd-journal's inotify descriptor, which
 * sd_journal_process reads at each call: nothing here blocks.
 *
 * The state file (feedback_state, the file reader's) holds "journal
 * CURSOR", space-padded to JOURNAL_STATE_BYTES and written in one
 * pwrite (no fsync: as lib/follow.c), after each batch and, through
 * journal_commit, before an entry is acted on: an entry is acted on at
 * most once; a crash loses at most the one being acted on.
 *
 * Memory: one struct journal (the sd_journal handle, a line buffer);
 * the caller owns it. Not thread-safe: one thread owns a struct journal
 * (so does sd-journal). Nothing here logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "journal.h"

#define BATCH_BYTES	(64 * 65536)	/* as follow_read: 64 reads of 64 KiB */
#define LAG_PEEK_BYTES	(64u << 20)	/* lag counted up to this far */

struct journal {
	sd_journal	*j;
	int		 state_fd;		/* or -1 */
	char		 saved[JOURNAL_CURSOR_MAX + 1];	/* written, or "" */
	int		 resume;		/* seeked to saved: check it */
	uint64_t	 lag, lines, skipped;
	char		 line[FOLLOW_LINE_MAX];
};

/* journal_field - "name=value": the value */
const char *
journal_field(const void *data, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);

	if (data == NULL || len <= nl || memcmp(data, name, nl) != 0 ||
	    ((const char *)data)[nl] != '=')
		return NULL;
	*vlen = len - nl - 1;
	return (const char *)data + nl + 1;
}

/* journal_line - the entry as a syslog line */
size_t
journal_line(const char *ident, size_t il, const char *pid, size_t pl,
    const char *msg, size_t ml, char *buf, size_t bufsz)
{
	size_t n = 0;

	if (ident == NULL)
		il = pl = 0;
	if (pid == NULL)
		pl = 0;
	if (il + pl + ml + 4 > bufsz)
		return 0;
	if (il > 0) {
		memcpy(buf, ident, il);
		n = il;
		buf[n++] = '[';
		if (pl > 0)
			memcpy(buf + n, pid, pl);
		n += pl;
		memcpy(buf + n, "]: ", 3);
		n += 3;
	}
	memcpy(buf + n, msg, ml);
	return n + ml;
}

/* journal_match_check - a match list of at most JOURNAL_MATCH_MAX
 * FIELD=VALUE words? 0, or -1 with the reason in err */
int
journal_match_check(const char *list, char *err, size_t errlen)
{
	const char *w;
	size_t pos = 0, wl;
	unsigned n = 0;
	int r;

	while ((r = journal_match_next(list, &pos, &w, &wl)) != 0)
		if (r == -1 || ++n > JOURNAL_MATCH_MAX) {
			snprintf(err, errlen, "feedback_journal_match: %s",
			    r == -1 ? "expected FIELD=VALUE words" :
			    "too many words");
			return -1;
		}
	return 0;
}

/* journal_match_next - one FIELD=VALUE word */
int
journal_match_next(const char *list, size_t *pos, const char **word,
    size_t *wlen)
{
	const char *p = list + *pos, *w;
	size_t f;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*pos = (size_t)(p - list);
		return 0;
	}
	for (w = p; *p != '\0' && *p != ' ' && *p != '\t'; p++)
		;
	*pos = (size_t)(p - list);
	*word = w;
	*wlen = (size_t)(p - w);
	f = strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	if (f == 0 || f >= *wlen || w[f] != '=' || (w[0] >= '0' &&
	    w[0] <= '9'))
		return -1;
	return 1;
}

/* journal_state_format - "journal CURSOR", padded */
int
journal_state_format(const char *cursor, char buf[JOURNAL_STATE_BYTES])
{
	size_t cl = strlen(cursor);

	if (cl > JOURNAL_CURSOR_MAX || cl + 9 > JOURNAL_STATE_BYTES)
		return -1;
	memset(buf, ' ', JOURNAL_STATE_BYTES);
	memcpy(buf, "journal ", 8);
	memcpy(buf + 8, cursor, cl);
	buf[JOURNAL_STATE_BYTES - 1] = '\n';
	return 0;
}

/* journal_state_parse - the cursor in state bytes */
int
journal_state_parse(const char *buf, size_t len,
    char cur[JOURNAL_CURSOR_MAX + 1])
{
	size_t i, n;

	if (len < 9 || memcmp(buf, "journal ", 8) != 0)
		return 0;
	for (i = 8; i < len && buf[i] != ' ' && buf[i] != '\n'; i++)
		if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f)
			return 0;
	n = i - 8;
	if (n == 0 || n > JOURNAL_CURSOR_MAX)
		return 0;
	memcpy(cur, buf + 8, n);
	cur[n] = '\0';
	return 1;
}

/* state_write - the state file names cursor c */
static void
state_write(struct journal *jr, const char *c)
{
	char buf[JOURNAL_STATE_BYTES];

	if (jr->state_fd == -1 || strcmp(c, jr->saved) == 0 ||
	    journal_state_format(c, buf) == -1)
		return;
	if (pwrite(jr->state_fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf))
		snprintf(jr->saved, sizeof(jr->saved), "%s", c);
}

/* save_current - the entry we are on is done */
static void
save_current(struct journal *jr)
{
	char *c;

	if (jr->state_fd == -1 || sd_journal_get_cursor(jr->j, &c) < 0)
		return;
	state_write(jr, c);
	free(c);
}

/* add_matches - the FIELD=VALUE words of list; -1 with err */
static int
add_matches(struct journal *jr, const char *list, char *err, size_t errlen)
{
	const char *w;
	size_t pos = 0, wl;
	int r;

	if (list == NULL)
		return 0;
	if (journal_match_check(list, err, errlen) == -1)
		return -1;
	while ((r = journal_match_next(list, &pos, &w, &wl)) != 0) {
		if ((r = sd_journal_add_match(jr->j, w, wl)) < 0) {
			snprintf(err, errlen, "feedback_journal_match: %s",
			    strerror(-r));
			return -1;
		}
	}
	return 0;
}

/* start - seek to the saved cursor, or to the tail */
static void
start(struct journal *jr)
{
	char buf[JOURNAL_STATE_BYTES], cur[JOURNAL_CURSOR_MAX + 1];
	ssize_t n = -1;

	if (jr->state_fd != -1)
		n = pread(jr->state_fd, buf, sizeof(buf), 0);
	if (n > 0 && journal_state_parse(buf, (size_t)n, cur) &&
	    sd_journal_seek_cursor(jr->j, cur) >= 0) {
		snprintf(jr->saved, sizeof(jr->saved), "%s", cur);
		jr->resume = 1;
		return;
	}
	/* on the last entry: what follows is new; remembered at once */
	sd_journal_seek_tail(jr->j);
	if (sd_journal_previous(jr->j) > 0)
		save_current(jr);
	else	/* empty: a next from the tail would skip to the newest */
		sd_journal_seek_head(jr->j);
}

/* journal_new - open, filter, find where to begin */
struct journal *
journal_new(const char *dir, const char *match, const char *state,
    char *err, size_t errlen)
{
	struct journal *jr;
	int r;

	if ((jr = calloc(1, sizeof(*jr))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	jr->state_fd = -1;
	r = dir != NULL ? sd_journal_open_directory(&jr->j, dir, 0) :
	    sd_journal_open(&jr->j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		snprintf(err, errlen, "journal %s: %s", dir != NULL ? dir :
		    "(system)", strerror(-r));
		jr->j = NULL;
		journal_free(jr);
		return NULL;
	}
	/* the inotify watch, so files added later are seen */
	if ((r = sd_journal_get_fd(jr->j)) < 0) {
		snprintf(err, errlen, "journal: %s", strerror(-r));
		journal_free(jr);
		return NULL;
	}
	if (add_matches(jr, match, err, errlen) == -1) {
		journal_free(jr);
		return NULL;
	}
	if (state != NULL && (jr->state_fd = open(state, O_RDWR | O_CREAT |
	    O_CLOEXEC, 0640)) == -1) {
		snprintf(err, errlen, "%s: %s", state, strerror(errno));
		journal_free(jr);
		return NULL;
	}
	start(jr);
	return jr;
}

/* copy_field - field name of the current entry into buf (NUL-ended):
 * its length, or 0 (missing, or longer than bufsz - 1) */
static size_t
copy_field(sd_journal *j, const char *name, char *buf, size_t bufsz)
{
	const void *d;
	const char *v;
	size_t len, vl;

	if (sd_journal_get_data(j, name, &d, &len) < 0 ||
	    (v = journal_field(d, len, name, &vl)) == NULL || vl >= bufsz)
		return 0;
	memcpy(buf, v, vl);
	buf[vl] = '\0';
	return vl;
}

/* entry - the current entry's line in jr->line: its length, 0 (no
 * MESSAGE), or -1 (too long) */
static long
entry(struct journal *jr)
{
	char ident[128], pid[24];
	const void *d;
	const char *msg;
	size_t len, il, pl, ml, n;

	/* each get_data invalidates the last one's data: MESSAGE last */
	il = copy_field(jr->j, "SYSLOG_IDENTIFIER", ident, sizeof(ident));
	if ((pl = copy_field(jr->j, "SYSLOG_PID", pid, sizeof(pid))) == 0)
		pl = copy_field(jr->j, "_PID", pid, sizeof(pid));
	if (sd_journal_get_data(jr->j, "MESSAGE", &d, &len) < 0 ||
	    (msg = journal_field(d, len, "MESSAGE", &ml)) == NULL)
		return 0;
	n = journal_line(il > 0 ? ident : NULL, il, pid, pl, msg, ml,
	    jr->line, sizeof(jr->line));
	return n == 0 ? -1 : (long)n;
}

/* one - hand the current entry to fn; its line's bytes */
static size_t
one(struct journal *jr, follow_line_fn fn, void *ctx, long *n)
{
	long l = entry(jr);

	if (l == -1)
		jr->skipped++;
	if (l <= 0)
		return 0;
	fn(ctx, jr->line, (size_t)l);
	jr->lines++;
	(*n)++;
	return (size_t)l;
}

/* lag - after a full batch: the bytes of the lines still to read
 * (counted up to LAG_PEEK_BYTES), then back to the current entry */
static void
lag(struct journal *jr)
{
	char *c;
	const void *d;
	size_t len;
	uint64_t b = 0;

	jr->lag = 0;
	if (sd_journal_get_cursor(jr->j, &c) < 0)
		return;
	while (b < LAG_PEEK_BYTES && sd_journal_next(jr->j) > 0)
		if (sd_journal_get_data(jr->j, "MESSAGE", &d, &len) >= 0)
			b += len;
	jr->lag = b;
	if (sd_journal_seek_cursor(jr->j, c) >= 0)
		sd_journal_next(jr->j);		/* on it again */
	free(c);
}

/* journal_read - the entries added since the last call */
long
journal_read(struct journal *jr, follow_line_fn fn, void *ctx, char *err,
    size_t errlen)
{
	size_t bytes = 0;
	long n = 0;
	int r = 0, moved = 0;

	sd_journal_process(jr->j);	/* files added or removed */
	if (jr->resume) {
		/* on the saved entry, or (it is gone) the one after it */
		if ((r = sd_journal_next(jr->j)) > 0) {
			jr->resume = 0;
			moved = 1;
			if (sd_journal_test_cursor(jr->j, jr->saved) <= 0)
				bytes += one(jr, fn, ctx, &n);
		}
	}
	while (r >= 0 && bytes < BATCH_BYTES &&
	    (r = sd_journal_next(jr->j)) > 0) {
		moved = 1;
		bytes += one(jr, fn, ctx, &n);
	}
	if (r < 0) {
		snprintf(err, errlen, "journal: %s", strerror(-r));
		if (moved)
			save_current(jr);
		return -1;
	}
	if (bytes >= BATCH_BYTES)
		lag(jr);
	else
		jr->lag = 0;
	if (moved)
		save_current(jr);
	return n;
}

/* journal_commit - the current entry is done from now on */
void
journal_commit(struct journal *jr)
{
	save_current(jr);
}

/* journal_lag - bytes behind */
uint64_t
journal_lag(const struct journal *jr)
{
	return jr->lag;
}

/* journal_stats - lines read, entries skipped */
void
journal_stats(const struct journal *jr, uint64_t *nlines,
    uint64_t *skipped)
{
	*nlines = jr->lines;
	*skipped = jr->skipped;
}

/* journal_has_files - any file open, runtime or persistent */
int
journal_has_files(struct journal *jr)
{
	return sd_journal_has_runtime_files(jr->j) > 0 ||
	    sd_journal_has_persistent_files(jr->j) > 0;
}

/* journal_free - close everything */
void
journal_free(struct journal *jr)
{
	if (jr == NULL)
		return;
	if (jr->j != NULL)
		sd_journal_close(jr->j);
	if (jr->state_fd != -1)
		close(jr->state_fd);
	free(jr);
}
