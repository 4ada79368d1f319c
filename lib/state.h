/* state.h - the state file: what the embedded store keeps across restarts */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A file is: "SLUICEST" (8 bytes), version (u32), saved at (u64 ms),
 * payload length (u64), the payload, and a 32-byte BLAKE2b
 * (crypto_generichash) of everything before it. Integers little-endian.
 * The payload is a list of sections: tag (u8), length (u64), bytes; a
 * reader skips the tags it does not know.
 */
#define STATE_MAGIC		"SLUICEST"
#define STATE_VERSION		1
#define STATE_HEADER		28	/* magic, version, saved, length */
#define STATE_HASH		32	/* BLAKE2b-256 */
#define STATE_MAX		(1024UL * 1024 * 1024) /* bytes read at most */
#define STATE_SEC_MEMORY	'M'	/* the memory store's subjects */
#define STATE_SEC_QIDS		'Q'	/* queue ids remembered for holds */
#define STATE_SEC_NAMES		'N'	/* logins' names, who locked and why */

/* a growing buffer of bytes; oom is set, never cleared, on a failed grow */
struct state_buf {
	unsigned char	*p;
	size_t		 len, cap;
	int		 oom;
};

/* a cursor on bytes read; bad is set, never cleared, on a short read */
struct state_rd {
	const unsigned char *p;
	size_t		 len, off;
	int		 bad;
};

/* state_reserve - room for n more bytes, so no append grows the buffer */
void	 state_reserve(struct state_buf *, size_t n);
/* state_put - append bytes */
void	 state_put(struct state_buf *, const void *, size_t);
/* state_put_u8, _u32, _u64 - append an integer, little-endian */
void	 state_put_u8(struct state_buf *, uint8_t);
void	 state_put_u32(struct state_buf *, uint32_t);
void	 state_put_u64(struct state_buf *, uint64_t);
/* state_put_str - a string of at most 255 bytes: length (u8), bytes */
void	 state_put_str(struct state_buf *, const char *);
/* state_begin - open a section (tag, length to come); returns its place */
size_t	 state_begin(struct state_buf *, uint8_t tag);
/* state_end - fill in the length of the section opened at `at` */
void	 state_end(struct state_buf *, size_t at);
/*
 * state_section - the first section with `tag` in a payload, as a cursor
 * on its bytes: 1 found, 0 none, -1 when the sections are malformed
 */
int	 state_section(const unsigned char *payload, size_t len, uint8_t tag,
	    struct state_rd *sec);
/* state_buf_free - release the bytes; the struct is reusable */
void	 state_buf_free(struct state_buf *);

/* state_get_u8, _u32, _u64 - read an integer; 0 and bad when short */
uint8_t	 state_get_u8(struct state_rd *);
uint32_t state_get_u32(struct state_rd *);
uint64_t state_get_u64(struct state_rd *);
/* state_get_str - a string into out (max bytes with NUL); bad if longer */
void	 state_get_str(struct state_rd *, char *out, size_t max);
/* state_get - n bytes, borrowed from the buffer; NULL and bad when short */
const unsigned char *state_get(struct state_rd *, size_t n);

/*
 * state_write - write payload to path as a state file: a temporary file
 * beside it (mode 0600), fsync, rename, fsync of the directory. 0, or -1
 * with err (path unchanged).
 */
int	 state_write(const char *path, const struct state_buf *payload,
	    uint64_t saved_ms, char *err, size_t errlen);

/*
 * state_read - read and check a state file: 1 with *payload (the
 * caller's, free()) and *len; 0 when there is none; -1 with err when it
 * cannot be read, is not a state file, has another version, or fails
 * its checksum.
 */
int	 state_read(const char *path, unsigned char **payload, size_t *len,
	    uint64_t *saved_ms, char *err, size_t errlen);

/*
 * state_parse - check a whole file's bytes (as state_read): 1 with
 * *payload and *len borrowed from buf; -1 with err
 */
int	 state_parse(const unsigned char *buf, size_t n,
	    const unsigned char **payload, size_t *len, uint64_t *saved_ms,
	    char *err, size_t errlen);

#endif
