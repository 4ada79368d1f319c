/*
 * state.c - the state file's envelope (state.h): a magic, a version, a
 * checksum around sections written by the modules that own the state
 * (store_memory_state.c for the counters). A file is replaced whole: a
 * temporary file, fsync, rename, so a crash leaves the old file or the
 * new one, never half of one. A file that fails any check is refused
 * whole; the caller logs it and starts empty.
 *
 * Thread-safe: no state of its own. Buffers belong to their caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "state.h"

/* state_reserve - room for n more bytes without growing */
void
state_reserve(struct state_buf *b, size_t n)
{
	unsigned char *np;
	size_t nc;

	if (b->oom || b->len + n <= b->cap)
		return;
	nc = b->cap ? b->cap : 4096;
	while (nc < b->len + n)
		nc *= 2;
	if ((np = realloc(b->p, nc)) == NULL) {
		b->oom = 1;
		return;
	}
	b->p = np;
	b->cap = nc;
}

/* state_put - append bytes */
void
state_put(struct state_buf *b, const void *p, size_t n)
{
	state_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* state_put_u8 - one byte */
void
state_put_u8(struct state_buf *b, uint8_t v)
{
	state_put(b, &v, 1);
}

/* state_put_u32 - little-endian */
void
state_put_u32(struct state_buf *b, uint32_t v)
{
	unsigned char x[4];
	int i;

	for (i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	state_put(b, x, 4);
}

/* state_put_u64 - little-endian */
void
state_put_u64(struct state_buf *b, uint64_t v)
{
	unsigned char x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	state_put(b, x, 8);
}

/* state_put_str - length (u8) and bytes; longer strings are a caller bug */
void
state_put_str(struct state_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n > 255) {
		b->oom = 1;
		return;
	}
	state_put_u8(b, (uint8_t)n);
	state_put(b, s, n);
}

/* state_begin - open a section: its tag, a length filled in by state_end */
size_t
state_begin(struct state_buf *b, uint8_t tag)
{
	size_t at;

	state_put_u8(b, tag);
	at = b->len;
	state_put_u64(b, 0);
	return at;
}

/* state_end - close the section state_begin opened at `at` */
void
state_end(struct state_buf *b, size_t at)
{
	uint64_t sz = b->len - at - 8;
	int i;

	if (b->oom)
		return;
	for (i = 0; i < 8; i++)
		b->p[at + (size_t)i] = (unsigned char)(sz >> (8 * i));
}

/* state_section - the first section with this tag; 1 found, 0 not, -1 bad */
int
state_section(const unsigned char *p, size_t len, uint8_t tag,
    struct state_rd *sec)
{
	struct state_rd r = { p, len, 0, 0 };
	uint64_t sz;
	uint8_t t;

	while (r.off < r.len) {
		t = state_get_u8(&r);
		sz = state_get_u64(&r);
		if (r.bad || sz > r.len - r.off)
			return -1;
		sec->p = state_get(&r, (size_t)sz);
		sec->len = (size_t)sz;
		sec->off = 0;
		sec->bad = 0;
		if (t == tag)
			return 1;
	}
	return 0;
}

/* state_buf_free - release the bytes */
void
state_buf_free(struct state_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* state_get - n bytes at the cursor, borrowed */
const unsigned char *
state_get(struct state_rd *r, size_t n)
{
	const unsigned char *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

/* le - a little-endian integer of n bytes, 0 when short */
static uint64_t
le(struct state_rd *r, size_t n)
{
	const unsigned char *p = state_get(r, n);
	uint64_t v = 0;

	while (p != NULL && n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

/* state_get_u8 - one byte */
uint8_t
state_get_u8(struct state_rd *r)
{
	return (uint8_t)le(r, 1);
}

/* state_get_u32 - little-endian */
uint32_t
state_get_u32(struct state_rd *r)
{
	return (uint32_t)le(r, 4);
}

/* state_get_u64 - little-endian */
uint64_t
state_get_u64(struct state_rd *r)
{
	return le(r, 8);
}

/* state_get_str - length (u8) and bytes into out */
void
state_get_str(struct state_rd *r, char *out, size_t max)
{
	size_t n = state_get_u8(r);
	const unsigned char *p = state_get(r, n);

	out[0] = '\0';
	if (p == NULL)
		return;
	if (n >= max || memchr(p, '\0', n) != NULL) {
		r->bad = 1;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

/* write_all - write n bytes or fail */
static int
write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* state_write - header, payload, checksum; temporary file, fsync, rename */
int
state_write(const char *path, const struct state_buf *payload,
    uint64_t saved_ms, char *err, size_t errlen)
{
	struct state_buf h = { NULL, 0, 0, 0 };
	unsigned char sum[STATE_HASH];
	crypto_generichash_state gs;
	char tmp[4096], dir[4096], *slash;
	int fd, dfd, rc = -1;

	if (payload->oom) {
		snprintf(err, errlen, "state: out of memory");
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "state: path too long");
		return -1;
	}
	state_put(&h, STATE_MAGIC, 8);
	state_put_u32(&h, STATE_VERSION);
	state_put_u64(&h, saved_ms);
	state_put_u64(&h, payload->len);
	if (h.oom) {
		snprintf(err, errlen, "state: out of memory");
		return -1;
	}
	crypto_generichash_init(&gs, NULL, 0, sizeof(sum));
	crypto_generichash_update(&gs, h.p, h.len);
	crypto_generichash_update(&gs, payload->p, payload->len);
	crypto_generichash_final(&gs, sum, sizeof(sum));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		snprintf(err, errlen, "state: %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) == -1 || write_all(fd, h.p, h.len) == -1 ||
	    write_all(fd, payload->p, payload->len) == -1 ||
	    write_all(fd, sum, sizeof(sum)) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "state: %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		snprintf(err, errlen, "state: %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);	/* the rename itself survives a crash */
		close(dfd);
	}
	rc = 0;
out:
	state_buf_free(&h);
	return rc;
}

/* state_parse - check a whole file's bytes; payload borrowed from buf */
int
state_parse(const unsigned char *buf, size_t n, const unsigned char **payload,
    size_t *len, uint64_t *saved_ms, char *err, size_t errlen)
{
	struct state_rd r = { buf, n, 0, 0 };
	unsigned char sum[STATE_HASH];
	const unsigned char *magic = state_get(&r, 8);
	uint32_t version = state_get_u32(&r);
	uint64_t plen;

	*saved_ms = state_get_u64(&r);
	plen = state_get_u64(&r);
	if (magic == NULL || memcmp(magic, STATE_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a sluice state file");
		return -1;
	}
	if (version != STATE_VERSION) {
		snprintf(err, errlen, "state file version %u, this sluice reads "
		    "version %u", version, STATE_VERSION);
		return -1;
	}
	if (r.bad || n < STATE_HEADER + STATE_HASH ||
	    plen != n - STATE_HEADER - STATE_HASH) {
		snprintf(err, errlen, "truncated or overlong (%zu bytes)", n);
		return -1;
	}
	crypto_generichash(sum, sizeof(sum), buf, n - STATE_HASH, NULL, 0);
	if (sodium_memcmp(sum, buf + n - STATE_HASH, STATE_HASH) != 0) {
		snprintf(err, errlen, "checksum mismatch");
		return -1;
	}
	*payload = buf + STATE_HEADER;
	*len = (size_t)plen;
	return 1;
}

/* state_read - read and check a state file; 0 when there is none */
int
state_read(const char *path, unsigned char **payload, size_t *len,
    uint64_t *saved_ms, char *err, size_t errlen)
{
	const unsigned char *p;
	unsigned char *buf;
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	char why[200];
	int fd;

	*payload = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > STATE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %lu "
		    "bytes", path, STATE_MAX);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (got < (size_t)sb.st_size && (n = read(fd, buf + got,
	    (size_t)sb.st_size - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			free(buf);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	if (state_parse(buf, got, &p, len, saved_ms, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(buf);
		return -1;
	}
	memmove(buf, p, *len);
	*payload = buf;
	return 1;
}
