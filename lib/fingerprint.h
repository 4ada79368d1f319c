/* fingerprint.h - streaming body fingerprint: exact hash and simhash */
#ifndef SLUICE_FINGERPRINT_H
#define SLUICE_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Feed a message's top-level headers, then its body in chunks of any size,
 * and get two fingerprints of the normalised text: an exact BLAKE2b-128
 * (equal bodies, whatever their transfer encoding, line endings or MIME
 * boundaries) and a 64-bit simhash of 3-word shingles (bodies that differ
 * by a name or a token land a few bits apart). The normalisation rules and
 * their limits are stated at the top of fingerprint.c.
 */

/*
 * Near: at most FP_NEAR_DEFAULT of the 64 bits differ. Measured on a
 * generated corpus (test_fingerprint): 0 of 1,999,000 unrelated pairs of
 * 50..500-word bodies are near (the closest are 13 bits apart); 97% of
 * bodies with 1..3 tokens changed stay near. Below FP_MIN_WORDS words a
 * few changed tokens move the simhash further: there recall falls under
 * 90%, so count such bodies by their exact hash only.
 */
#define FP_NEAR_DEFAULT	10	/* simhash bits apart still "near" */
#define FP_MIN_WORDS	100	/* fewer words: near-duplicates missed */
#define FP_STATE_BUDGET	2048	/* sizeof(struct fp_state) stays below */
#define FP_BOUNDARY_MAX	70	/* longest MIME boundary (RFC 2046) */
#define FP_DEPTH	4	/* multiparts nested; deeper: text */
#define FP_HOLD		128	/* bytes of a "--" line kept to test */
#define FP_HDR_MAX	256	/* bytes of one part header kept */
#define FP_STAGE	128	/* normalised bytes per hash update */
#define FP_HASH_STATE	384	/* sizeof(crypto_generichash_state) */

struct fp_result {
	unsigned char	 exact[16];	/* BLAKE2b-128, normalised text */
	uint64_t	 simhash;	/* of word shingles, text parts */
	uint64_t	 bytes;		/* normalised bytes hashed */
	uint64_t	 words;		/* words the simhash saw */
};

struct fp_mime {		/* one entity's MIME headers */
	uint8_t		 kind;	/* text, multipart or other */
	uint8_t		 enc;	/* identity, quoted-printable, base64 */
	uint8_t		 seen;	/* headers parsed already: first wins */
	uint8_t		 blen;	/* boundary length, 0 if none */
	char		 boundary[FP_BOUNDARY_MAX];
};

struct fp_boundary {		/* an open multipart */
	uint8_t		 len;
	char		 s[FP_BOUNDARY_MAX];
};

/*
 * Per message, embedded by the caller: fixed size, no allocation, no
 * alignment beyond uint64_t's. Fields are private to fingerprint.c.
 */
struct fp_state {
	unsigned char	 hash[FP_HASH_STATE];	/* BLAKE2b, as bytes */
	unsigned char	 stage[FP_STAGE];	/* not yet hashed */
	uint32_t	 ones[64];	/* shingles with each bit set */
	uint64_t	 lanes[8];	/* byte-wide counts for ones[] */
	uint64_t	 word;		/* FNV-1a of the word being read */
	uint64_t	 prev[2];	/* hashes of the 2 words before */
	uint64_t	 words;		/* words seen (text parts) */
	uint64_t	 shingles;	/* shingles voted */
	struct fp_result res;		/* kept by fp_final */
	unsigned char	 hold[FP_HOLD];	/* may be a boundary line */
	unsigned char	 hdr[FP_HDR_MAX]; /* part header being read */
	struct fp_mime	 ent;		/* entity whose headers are read */
	struct fp_boundary open[FP_DEPTH]; /* open multiparts */
	uint32_t	 b64_acc;	/* base64 bits not yet output */
	uint16_t	 stage_len;
	uint16_t	 hold_len;
	uint16_t	 hdr_len;
	uint8_t		 depth;		/* entries used in open[] */
	uint8_t		 phase;		/* not started, body, done */
	uint8_t		 mode;		/* part headers or part body */
	uint8_t		 kind;		/* of the part being read */
	uint8_t		 enc;		/* of the part being read */
	uint8_t		 line;		/* raw line: start, held, passed */
	uint8_t		 line_pos;	/* bytes of this line passed on */
	uint8_t		 raw_cr;	/* last raw byte was CR */
	uint8_t		 qp;		/* quoted-printable state */
	uint8_t		 qp_hex;	/* first hex digit after '=' */
	uint8_t		 b64_n;		/* base64 digits in b64_acc */
	uint8_t		 n_cr;		/* last decoded byte was CR */
	uint8_t		 in_line;	/* text seen on this line */
	uint8_t		 pend_sp;	/* blanks wait for more text */
	uint8_t		 pend_nl;	/* 1: newline waits, 2: blank line */
	uint8_t		 in_word;	/* simhash: inside a word */
	uint8_t		 lanes_n;	/* shingles counted in lanes[] */
};

/* fp_init - start a message (also after fp_final, to reuse the state) */
void	fp_init(struct fp_state *st);

/* fp_header - one top-level header; only before the first fp_body */
void	fp_header(struct fp_state *st, const char *name, const char *value);

/* fp_body - the next body chunk; any split gives the same result */
void	fp_body(struct fp_state *st, const unsigned char *chunk, size_t len);

/* fp_final - the fingerprints; a second call gives the same result */
void	fp_final(struct fp_state *st, struct fp_result *res);

/* fp_near - 1 if the simhashes differ in at most max_distance bits */
int	fp_near(uint64_t a, uint64_t b, unsigned max_distance);

/* fp_hex - lower-case hex of an exact hash, NUL-terminated */
void	fp_hex(const unsigned char exact[16], char out[33]);

#endif
