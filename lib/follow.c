/*
 * follow.c - tail -F for one log file, with a position that survives a
 * restart.
 *
 * Public: follow_new, follow_read, follow_commit, follow_lag,
 * follow_stats, follow_free.
 *
 * The file is read with read(2) from an open descriptor, so a rename
 * (logrotate's default, Postfix's postlogd) leaves us on the old file
 * until its end; then, when `path` names another inode, the new file is
 * opened and read from 0. copytruncate is seen as the file getting
 * shorter than our offset: read again from 0 (what was written between
 * logrotate's copy and its truncation is lost to every reader; see
 * doc/feedback.md). A partial last line waits for its newline.
 *
 * The state file holds "INODE OFFSET HEAD\n" (HEAD: a hash of the
 * file's first 64 bytes, so a file truncated and refilled while we were
 * down is read from 0) in one fixed-width pwrite (no
 * fsync: it survives a crash of the process, not of the machine). It is
 * written after each batch of lines and, through follow_commit, before
 * a line is acted on: a line is acted on at most once; a crash loses at
 * most the one line being acted on.
 *
 * Not thread-safe: one thread owns a struct follow. Nothing here logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "follow.h"

#define CHUNK		65536
#define HEAD_BYTES	64	/* the start of a file that tells it apart */

struct follow {
	char		*path, *rotated;	/* path, path.1 */
	int		 fd;			/* the file, or -1 */
	uint64_t	 ino, off;		/* of fd; off: bytes done */
	int		 state_fd;		/* or -1 */
	uint64_t	 saved_ino, saved_off;	/* last written state */
	int		 resume;		/* state read: want saved_ino */
	int		 at_end;		/* no state: start at the end */
	uint64_t	 head;			/* hash of fd's first
						   HEAD_BYTES, or of all if
						   shorter (see head_of) */
	uint64_t	 saved_head;
	uint64_t	 lag, lines, skipped;
	uint64_t	 cur_end;		/* inside fn: end of its line */
	char		*buf;			/* CHUNK + FOLLOW_LINE_MAX */
	size_t		 have;			/* partial line bytes in buf */
	int		 skipping;		/* inside a too-long line */
};

/*
 * head_of - FNV-1a of the first min(off, HEAD_BYTES) bytes of fd: a file
 * truncated and written again (copytruncate while we were down) has
 * another start, so the offset is not trusted
 */
static uint64_t
head_of(int fd, uint64_t off)
{
	unsigned char b[HEAD_BYTES];
	uint64_t h = 1469598103934665603ULL;
	ssize_t n, i;

	n = pread(fd, b, off < HEAD_BYTES ? (size_t)off : HEAD_BYTES, 0);
	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* state_write - the state file says ino off (and the file's head) */
static void
state_write(struct follow *f, uint64_t ino, uint64_t off)
{
	char line[80];

	if (f->state_fd == -1 || (ino == f->saved_ino && off == f->saved_off))
		return;
	if (off <= HEAD_BYTES || f->saved_ino != ino ||
	    f->saved_off < HEAD_BYTES)
		f->head = head_of(f->fd, off);
	snprintf(line, sizeof(line), "%20" PRIu64 " %20" PRIu64 " %016" PRIx64
	    "\n", ino, off, f->head);
	if (pwrite(f->state_fd, line, strlen(line), 0) ==
	    (ssize_t)strlen(line)) {
		f->saved_ino = ino;
		f->saved_off = off;
		f->saved_head = f->head;
	}
}

/* follow_new - set up; read the state file */
struct follow *
follow_new(const char *path, const char *state, char *err, size_t errlen)
{
	struct follow *f;
	char line[80];
	ssize_t n;
	unsigned long long ino, off, head;
	size_t pl = strlen(path);

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->path = strdup(path)) == NULL ||
	    (f->rotated = malloc(pl + 3)) == NULL ||
	    (f->buf = malloc(CHUNK + FOLLOW_LINE_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		follow_free(f);
		return NULL;
	}
	snprintf(f->rotated, pl + 3, "%s.1", path);
	f->fd = f->state_fd = -1;
	f->at_end = 1;
	if (state == NULL)
		return f;
	if ((f->state_fd = open(state, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", state, strerror(errno));
		follow_free(f);
		return NULL;
	}
	n = pread(f->state_fd, line, sizeof(line) - 1, 0);
	if (n > 0) {
		line[n] = '\0';
		if (sscanf(line, "%llu %llu %llx", &ino, &off, &head) == 3) {
			f->saved_ino = ino;
			f->saved_off = off;
			f->saved_head = f->head = head;
			f->resume = 1;
			f->at_end = 0;
		}
	}
	return f;
}

/* open_at - make fd the file at p, read from off; 0, or -1 (not there) */
static int
open_at(struct follow *f, const char *p, uint64_t off)
{
	struct stat st;
	int fd;

	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size < off || (off > 0 && off == f->saved_off &&
	    (uint64_t)st.st_ino == f->saved_ino && head_of(fd, off) !=
	    f->saved_head))
		off = 0;	/* truncated meanwhile */
	if (lseek(fd, (off_t)off, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	if (f->fd != -1)
		close(f->fd);
	f->fd = fd;
	f->ino = (uint64_t)st.st_ino;
	f->off = off;
	f->have = 0;
	f->skipping = 0;
	return 0;
}

/* first_open - the first file: resume, finish path.1, or begin */
static void
first_open(struct follow *f)
{
	struct stat st, rs;

	if (stat(f->path, &st) == -1) {
		f->at_end = 0;	/* when it appears, all of it is new */
		return;
	}
	if (f->at_end) {
		if (open_at(f, f->path, (uint64_t)st.st_size) == 0)
			f->at_end = 0;
		return;
	}
	if (f->resume && (uint64_t)st.st_ino != f->saved_ino &&
	    stat(f->rotated, &rs) == 0 && (uint64_t)rs.st_ino ==
	    f->saved_ino && open_at(f, f->rotated, f->saved_off) == 0) {
		f->resume = 0;	/* the rest of the rotated file first */
		return;
	}
	if (open_at(f, f->path, f->resume && (uint64_t)st.st_ino ==
	    f->saved_ino ? f->saved_off : 0) == 0)
		f->resume = 0;
}

/* lines - hand over the complete lines of buf[0, len) starting at file
 * offset base; keep the partial one */
static long
lines(struct follow *f, size_t len, follow_line_fn fn, void *ctx)
{
	char *s = f->buf, *nl;
	size_t rest = len, l;
	long n = 0;

	while (rest > 0 && (nl = memchr(s, '\n', rest)) != NULL) {
		l = (size_t)(nl - s);
		f->off += l + 1;
		if (f->skipping)
			f->skipping = 0;
		else if (l >= FOLLOW_LINE_MAX)
			f->skipped++;
		else {
			f->cur_end = f->off;
			fn(ctx, s, l);
			f->lines++;
			n++;
		}
		s = nl + 1;
		rest -= l + 1;
	}
	if (rest >= FOLLOW_LINE_MAX) {
		/* too long: skip it up to its newline */
		f->off += rest;
		if (!f->skipping)
			f->skipped++;
		f->skipping = 1;
		rest = 0;
	} else if (f->skipping) {
		f->off += rest;
		rest = 0;
	}
	memmove(f->buf, s, rest);
	f->have = rest;
	return n;
}

/* follow_read - the lines written since the last call */
long
follow_read(struct follow *f, follow_line_fn fn, void *ctx, char *err,
    size_t errlen)
{
	struct stat st, ps;
	ssize_t r;
	long n = 0;
	int turns;

	if (f->fd == -1)
		first_open(f);
	for (turns = 0; f->fd != -1 && turns < 64; turns++) {
		r = read(f->fd, f->buf + f->have, CHUNK);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", f->path,
			    strerror(errno));
			return -1;
		}
		if (r > 0) {
			n += lines(f, f->have + (size_t)r, fn, ctx);
			continue;
		}
		/* at the end: rotated or truncated? */
		if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size <
		    f->off + f->have) {
			lseek(f->fd, 0, SEEK_SET);	/* copytruncate */
			f->off = 0;
			f->have = 0;
			f->skipping = 0;
			continue;
		}
		if (stat(f->path, &ps) == 0 && (uint64_t)ps.st_ino != f->ino) {
			if (open_at(f, f->path, 0) == 0)
				continue;	/* the new file, from 0 */
		}
		f->lag = 0;
		break;
	}
	if (f->fd != -1) {
		if (fstat(f->fd, &st) == 0)
			f->lag = (uint64_t)st.st_size > f->off + f->have ?
			    (uint64_t)st.st_size - f->off - f->have : 0;
		state_write(f, f->ino, f->off);
	}
	return n;
}

/* follow_commit - the current line counts as done from now on */
void
follow_commit(struct follow *f)
{
	state_write(f, f->ino, f->cur_end);
}

/* follow_lag - bytes behind */
uint64_t
follow_lag(const struct follow *f)
{
	return f->lag;
}

/* follow_stats - lines read, lines skipped */
void
follow_stats(const struct follow *f, uint64_t *nlines, uint64_t *skipped)
{
	*nlines = f->lines;
	*skipped = f->skipped;
}

/* follow_free - close everything */
void
follow_free(struct follow *f)
{
	if (f == NULL)
		return;
	if (f->fd != -1)
		close(f->fd);
	if (f->state_fd != -1)
		close(f->state_fd);
	free(f->path);
	free(f->rotated);
	free(f->buf);
	free(f);
}
