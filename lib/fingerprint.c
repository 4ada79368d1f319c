/*
 * fingerprint.c - streaming body fingerprint: BLAKE2b-128 of the
 * normalised text and a 64-bit simhash of its 3-word shingles.
 *
 * The body goes through four layers in one pass, with no buffer that
 * grows with the message:
 *
 *   raw lines    CR, LF and CRLF end a line. Inside a multipart, a line
 *                that starts with '-' is held (up to FP_HOLD bytes) and
 *                tested against the open boundaries, innermost first:
 *                "--b" or "--b--", then only spaces/tabs. A longer line
 *                is never a boundary and is passed on in pieces.
 *   MIME         part headers are read from the stream; only Content-Type
 *                (type, boundary) and Content-Transfer-Encoding count, the
 *                first of each wins, the first FP_HDR_MAX bytes of a
 *                (folded) header are kept. No Content-Type, or one that
 *                can't be parsed, means text/plain; a multipart without a
 *                boundary of 1..70 bytes is text/plain; a multipart's own
 *                transfer encoding is ignored. Multiparts nest up to
 *                FP_DEPTH levels; deeper ones are read as plain text
 *                (their boundary lines and headers then count as text).
 *                Preambles and epilogues are plain text. Boundary lines
 *                and part headers are never hashed, so random boundaries
 *                don't change the hashes. Charsets are not converted.
 *   decoding     base64 (non-alphabet bytes skipped, '=' ends a quantum,
 *                so re-wrapped or concatenated base64 decodes the same)
 *                and quoted-printable (soft breaks, also "=" + blanks;
 *                a malformed escape passes through as is), per part,
 *                names case-blind; any other encoding is taken as is.
 *   normalising  the decoded bytes of every part: CR, LF, CRLF are one
 *                newline; blanks (space, tab) at the start and end of a
 *                line are dropped and a run inside a line becomes one
 *                space (a blank run can't be buffered to learn whether it
 *                ends the line, and blanks don't make a message another
 *                one); blank lines at the start and end are dropped, a
 *                run of them becomes one; parts are joined by one blank
 *                line. Case is kept.
 *
 * The exact hash covers the normalised bytes of every part, attachments
 * included (through the same normalisation: one code path, and two
 * messages with different attachments still differ). An empty body gives
 * bytes == 0; callers should not count those as repeats. The simhash
 * covers text parts only (text/<any>, or no Content-Type): words are runs
 * of ASCII letters and digits and of bytes >= 0x80, ASCII folded to lower
 * case; every 3 consecutive words make a shingle that votes on the 64
 * bits (after 2^30 shingles votes stop, so counters never overflow).
 * Bodies of one or two words vote once with what they have; no word at
 * all gives simhash 0. FP_NEAR_DEFAULT and FP_MIN_WORDS come from the
 * rates test/unit/test_fingerprint.c measures.
 *
 * Memory: everything lives in the caller's struct fp_state (no
 * allocation, below FP_STATE_BUDGET bytes). The BLAKE2b state needs
 * 64-byte alignment that a caller's malloc'ed struct may not give, so it
 * is kept as bytes and copied to an aligned local once per FP_STAGE
 * normalised bytes. Thread-safe: no shared state but libsodium's one
 * initialisation (pthread_once) and constant tables; one thread per
 * fp_state at a time.
 */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "fingerprint.h"

_Static_assert(sizeof(crypto_generichash_state) <= FP_HASH_STATE,
    "FP_HASH_STATE too small for this libsodium");
_Static_assert(sizeof(struct fp_state) < FP_STATE_BUDGET,
    "struct fp_state over budget");
_Static_assert(FP_HOLD >= 2 * 2 + FP_BOUNDARY_MAX, "FP_HOLD too small");
_Static_assert(FP_HOLD < 65536 && FP_HDR_MAX < 65536 && FP_STAGE < 65536,
    "buffer lengths are uint16_t");

enum { KIND_TEXT, KIND_MULTI, KIND_OTHER };
enum { ENC_ID, ENC_QP, ENC_B64 };
enum { SEEN_CT = 1, SEEN_CTE = 2 };
enum { PHASE_NEW, PHASE_BODY, PHASE_DONE };
enum { MODE_BODY, MODE_HEADERS };
enum { LINE_START, LINE_HOLD, LINE_PASS };
enum { QP_NONE, QP_EQ, QP_HEX, QP_EQ_WS };

#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL
#define MAX_SHINGLES	(1ULL << 30)	/* votes stop here: no overflow */

static pthread_once_t fp_once = PTHREAD_ONCE_INIT;

/* fp_sodium - initialise libsodium once per process */
static void
fp_sodium(void)
{
	/* if this fails generichash still works: init only picks CPU code */
	if (sodium_init() < 0)
		return;
}

/* fmix64 - MurmurHash3's finaliser: every input bit moves every output */
static uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

/* rotl64 - rotate left by r (0 < r < 64) */
static uint64_t
rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/* hash_flush - feed the staged normalised bytes to BLAKE2b */
static void
hash_flush(struct fp_state *st)
{
	crypto_generichash_state h;

	if (st->stage_len == 0)
		return;
	memcpy(&h, st->hash, sizeof(h));
	crypto_generichash_update(&h, st->stage, st->stage_len);
	memcpy(st->hash, &h, sizeof(h));
	st->stage_len = 0;
}

/*
 * Voting counts, per bit, the shingles that have it set (a bit is set in
 * the simhash when more than half do). Eight byte-wide counters share a
 * uint64_t, so a shingle costs 8 table look-ups and adds, not 64; they go
 * to ones[] before they can wrap (255 shingles).
 */
#define SPREAD(b)	((uint64_t)((b) & 1) | (uint64_t)((b) >> 1 & 1) << 8 | \
	    (uint64_t)((b) >> 2 & 1) << 16 | (uint64_t)((b) >> 3 & 1) << 24 | \
	    (uint64_t)((b) >> 4 & 1) << 32 | (uint64_t)((b) >> 5 & 1) << 40 | \
	    (uint64_t)((b) >> 6 & 1) << 48 | (uint64_t)((b) >> 7 & 1) << 56)
#define SPREAD4(b)	SPREAD(b), SPREAD((b) + 1), SPREAD((b) + 2), \
	    SPREAD((b) + 3)
#define SPREAD16(b)	SPREAD4(b), SPREAD4((b) + 4), SPREAD4((b) + 8), \
	    SPREAD4((b) + 12)
#define SPREAD64(b)	SPREAD16(b), SPREAD16((b) + 16), SPREAD16((b) + 32), \
	    SPREAD16((b) + 48)

/* bit k of a byte b becomes byte k of spread[b] */
static const uint64_t spread[256] = {
	SPREAD64(0), SPREAD64(64), SPREAD64(128), SPREAD64(192)
};

/* sim_lanes - move the byte-wide counts into ones[] */
static void
sim_lanes(struct fp_state *st)
{
	int j, k;

	for (j = 0; j < 8; j++) {
		for (k = 0; k < 8; k++)
			st->ones[8 * j + k] +=
			    (uint32_t)(st->lanes[j] >> (8 * k) & 0xff);
		st->lanes[j] = 0;
	}
	st->lanes_n = 0;
}

/* sim_vote - one shingle votes on the 64 simhash bits */
static void
sim_vote(struct fp_state *st, uint64_t s)
{
	int j;

	if (st->shingles >= MAX_SHINGLES)
		return;
	st->shingles++;
	for (j = 0; j < 8; j++)
		st->lanes[j] += spread[s >> (8 * j) & 0xff];
	if (++st->lanes_n == 255)
		sim_lanes(st);
}

/* sim_shingle - hash of three consecutive word hashes, order-sensitive */
static uint64_t
sim_shingle(uint64_t a, uint64_t b, uint64_t c)
{
	return fmix64(a ^ rotl64(b, 21) ^ rotl64(c, 42));
}

/* sim_word_end - close the current word; vote its shingle */
static void
sim_word_end(struct fp_state *st)
{
	uint64_t w = fmix64(st->word);

	if (st->words >= 2)
		sim_vote(st, sim_shingle(st->prev[0], st->prev[1], w));
	st->prev[0] = st->prev[1];
	st->prev[1] = w;
	st->words++;
	st->word = FNV_OFFSET;
	st->in_word = 0;
}

/* the word byte that c is (ASCII folded to lower case), 0 if none */
#define FOLD(c)		((c) >= 'A' && (c) <= 'Z' ? (c) | 0x20 : \
	    ((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9') || \
	    (c) >= 0x80 ? (c) : 0)
#define FOLD4(c)	FOLD(c), FOLD((c) + 1), FOLD((c) + 2), FOLD((c) + 3)
#define FOLD16(c)	FOLD4(c), FOLD4((c) + 4), FOLD4((c) + 8), \
	    FOLD4((c) + 12)
#define FOLD64(c)	FOLD16(c), FOLD16((c) + 16), FOLD16((c) + 32), \
	    FOLD16((c) + 48)

static const unsigned char word_fold[256] = {
	FOLD64(0), FOLD64(64), FOLD64(128), FOLD64(192)
};

/* out_byte - one normalised byte: into the hash, and the simhash if text */
static void
out_byte(struct fp_state *st, unsigned char c)
{
	unsigned char f = word_fold[c];

	st->res.bytes++;
	st->stage[st->stage_len++] = c;
	if (st->stage_len == FP_STAGE)
		hash_flush(st);
	if (st->kind != KIND_TEXT)
		return;
	if (f != 0) {
		st->word = (st->word ^ f) * FNV_PRIME;
		st->in_word = 1;
	} else if (st->in_word)
		sim_word_end(st);
}

/* norm_byte - one decoded byte through the line/blank normalisation */
static void
norm_byte(struct fp_state *st, unsigned char c)
{
	if (c == '\r' || c == '\n') {
		if (c == '\n' && st->n_cr) {	/* the LF of a CRLF */
			st->n_cr = 0;
			return;
		}
		st->n_cr = c == '\r';
		if (st->in_line) {
			st->in_line = 0;
			st->pend_nl = 1;
		} else if (st->pend_nl)
			st->pend_nl = 2;
		st->pend_sp = 0;
		return;
	}
	st->n_cr = 0;
	if (c == ' ' || c == '\t') {
		if (st->in_line)
			st->pend_sp = 1;
		return;
	}
	if (!st->in_line) {
		if (st->pend_nl >= 1)
			out_byte(st, '\n');
		if (st->pend_nl >= 2)
			out_byte(st, '\n');
		st->pend_nl = 0;
		st->in_line = 1;
	} else if (st->pend_sp)
		out_byte(st, ' ');
	st->pend_sp = 0;
	out_byte(st, c);
}

/* stage_full - the stage was filled by a caller's local copy */
static void
stage_full(struct fp_state *st)
{
	st->stage_len = FP_STAGE;
	hash_flush(st);
}

/* norm_line - norm_span's fast path: text inside a line, up to CR/LF */
static size_t
norm_line(struct fp_state *st, const unsigned char *p, size_t n, size_t i)
{
	/* hot state in locals: stores to the stage may alias any field */
	unsigned char *stage = st->stage, c, f;
	size_t sl = st->stage_len, out = 0;
	uint64_t w = st->word;
	int sp = st->pend_sp, in = st->in_word, text = st->kind == KIND_TEXT;

	for (; i < n; i++) {
		c = p[i];
		if (c == ' ' || c == '\t') {
			sp = 1;
			continue;
		}
		if (c == '\r' || c == '\n')
			break;
		if (sp) {		/* a run of blanks inside a line */
			sp = 0;
			out++;
			stage[sl++] = ' ';
			if (sl == FP_STAGE) {
				stage_full(st);
				sl = 0;
			}
			if (in) {
				st->word = w;
				sim_word_end(st);
				w = FNV_OFFSET;
				in = 0;
			}
		}
		out++;
		stage[sl++] = c;
		if (sl == FP_STAGE) {
			stage_full(st);
			sl = 0;
		}
		if (!text)
			continue;
		f = word_fold[c];
		if (f != 0) {
			w = (w ^ f) * FNV_PRIME;
			in = 1;
		} else if (in) {
			st->word = w;
			sim_word_end(st);
			w = FNV_OFFSET;
			in = 0;
		}
	}
	st->res.bytes += out;
	st->stage_len = (uint16_t)sl;
	st->word = w;
	st->in_word = (uint8_t)in;
	st->pend_sp = (uint8_t)sp;
	return i;
}

/* norm_span - decoded bytes through the normalisation */
static void
norm_span(struct fp_state *st, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (st->in_line && p[i] != '\r' && p[i] != '\n')
			i = norm_line(st, p, n, i);
		else
			norm_byte(st, p[i++]);
	}
}

/* hex_value - value of a hex digit, -1 if c is none */
static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* qp_byte - one raw byte of a quoted-printable line */
static void
qp_byte(struct fp_state *st, unsigned char c)
{
	switch (st->qp) {
	case QP_EQ:
		if (hex_value(c) >= 0) {
			st->qp_hex = c;
			st->qp = QP_HEX;
			return;
		}
		if (c == ' ' || c == '\t') {	/* soft break + padding? */
			st->qp = QP_EQ_WS;
			return;
		}
		norm_byte(st, '=');
		break;
	case QP_HEX:
		st->qp = QP_NONE;
		if (hex_value(c) >= 0) {
			c = (unsigned char)(hex_value(st->qp_hex) << 4 |
			    hex_value(c));
			norm_byte(st, c);
			return;
		}
		norm_byte(st, '=');
		norm_byte(st, st->qp_hex);
		break;
	case QP_EQ_WS:
		if (c == ' ' || c == '\t')
			return;
		norm_byte(st, '=');
		norm_byte(st, ' ');
		break;
	default:
		break;
	}
	/* QP_NONE, or a malformed escape passed through: c is plain */
	if (c == '=')
		st->qp = QP_EQ;
	else {
		st->qp = QP_NONE;
		norm_byte(st, c);
	}
}

/* qp_end - end of a quoted-printable line (eol) or of the part */
static void
qp_end(struct fp_state *st, int eol)
{
	switch (st->qp) {
	case QP_EQ:
	case QP_EQ_WS:
		if (!eol)		/* a soft break needs a line break */
			norm_byte(st, '=');
		break;
	case QP_HEX:
		norm_byte(st, '=');
		norm_byte(st, st->qp_hex);
		if (eol)
			norm_byte(st, '\n');
		break;
	default:
		if (eol)
			norm_byte(st, '\n');
		break;
	}
	st->qp = QP_NONE;
}

/* b64_value - value of a base64 digit, -1 if c is none */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* b64_flush - output the bytes of a partial quantum ('=' or part end) */
static void
b64_flush(struct fp_state *st)
{
	uint32_t a = st->b64_acc;

	if (st->b64_n == 2)
		norm_byte(st, (unsigned char)(a >> 4));
	else if (st->b64_n == 3) {
		norm_byte(st, (unsigned char)(a >> 10));
		norm_byte(st, (unsigned char)(a >> 2));
	}
	st->b64_n = 0;
	st->b64_acc = 0;
}

/* b64_span - raw bytes of a base64 part, decoded in batches */
static void
b64_span(struct fp_state *st, const unsigned char *p, size_t n)
{
	unsigned char out[192];
	size_t i, o = 0;
	int v;

	for (i = 0; i < n; i++) {
		v = b64_value(p[i]);
		if (v < 0) {
			if (p[i] == '=') {
				norm_span(st, out, o);
				o = 0;
				b64_flush(st);
			}
			continue;
		}
		st->b64_acc = st->b64_acc << 6 | (uint32_t)v;
		if (++st->b64_n < 4)
			continue;
		out[o++] = (unsigned char)(st->b64_acc >> 16);
		out[o++] = (unsigned char)(st->b64_acc >> 8);
		out[o++] = (unsigned char)st->b64_acc;
		st->b64_n = 0;
		st->b64_acc = 0;
		if (o + 3 > sizeof(out)) {
			norm_span(st, out, o);
			o = 0;
		}
	}
	norm_span(st, out, o);
}

/* part_begin - start the body of a part (or preamble, epilogue) */
static void
part_begin(struct fp_state *st, int kind, int enc)
{
	st->mode = MODE_BODY;
	st->kind = (uint8_t)kind;
	st->enc = (uint8_t)enc;
	st->qp = QP_NONE;
	st->b64_n = 0;
	st->b64_acc = 0;
	st->n_cr = 0;
	st->pend_sp = 0;
	st->in_line = 0;
	if (st->res.bytes > 0)
		st->pend_nl = 2;	/* parts are joined by a blank line */
}

/* part_end - flush the decoder and the word of the part being read */
static void
part_end(struct fp_state *st)
{
	if (st->mode == MODE_BODY) {
		if (st->enc == ENC_QP)
			qp_end(st, 0);
		else if (st->enc == ENC_B64)
			b64_flush(st);
	}
	if (st->in_word)
		sim_word_end(st);
}

/* is_blank - space or tab */
static int
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* skip_cfws - skip blanks, folds and (nested) comments */
static size_t
skip_cfws(const unsigned char *v, size_t n, size_t i)
{
	int depth = 0;

	while (i < n) {
		if (depth > 0 && v[i] == '\\' && i + 1 < n)
			i += 2;
		else if (v[i] == '(') {
			depth++;
			i++;
		} else if (depth > 0) {
			if (v[i] == ')')
				depth--;
			i++;
		} else if (is_blank(v[i]) || v[i] == '\r' || v[i] == '\n')
			i++;
		else
			break;
	}
	return i;
}

/* is_token - RFC 2045 token byte; loose (only ';' and blanks stop) */
static int
is_token(unsigned char c, int loose)
{
	if (c <= ' ' || c >= 0x7f || c == ';' || c == '"')
		return 0;
	return loose || strchr("()<>@,:\\/[]?=", c) == NULL;
}

/* get_token - the token at i; returns the index after it */
static size_t
get_token(const unsigned char *v, size_t n, size_t i, int loose,
    const unsigned char **tok, size_t *len)
{
	size_t s = i;

	while (i < n && is_token(v[i], loose))
		i++;
	*tok = v + s;
	*len = i - s;
	return i;
}

/* same_word - does the token equal the lower-case word, ASCII case-blind? */
static int
same_word(const unsigned char *t, size_t len, const char *word)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		if (word[i] == '\0')
			return 0;
		c = t[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)word[i])
			return 0;
	}
	return word[len] == '\0';
}

/* mime_param - read one "; name=value" of a Content-Type into m */
static size_t
mime_param(struct fp_mime *m, const unsigned char *v, size_t n, size_t i,
    int *bad)
{
	const unsigned char *name, *val = NULL;
	size_t nlen, vlen = 0;
	char buf[FP_BOUNDARY_MAX];
	int quoted = 0;

	i = skip_cfws(v, n, i);
	i = get_token(v, n, i, 0, &name, &nlen);
	i = skip_cfws(v, n, i);
	if (i >= n || v[i] != '=')
		return i;
	i = skip_cfws(v, n, i + 1);
	if (i < n && v[i] == '"') {
		quoted = 1;
		for (i++; i < n && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < n)
				i++;
			if (vlen < sizeof(buf))
				buf[vlen] = (char)v[i];
			vlen++;
		}
		if (i < n)
			i++;
	} else
		i = get_token(v, n, i, 1, &val, &vlen);
	if (!same_word(name, nlen, "boundary") || m->blen != 0 || *bad)
		return i;
	if (vlen == 0 || vlen > FP_BOUNDARY_MAX) {
		*bad = 1;	/* unusable: read the body as text */
		return i;
	}
	memcpy(m->boundary, quoted ? (const void *)buf : (const void *)val,
	    vlen);
	m->blen = (uint8_t)vlen;
	return i;
}

/* mime_content_type - parse a Content-Type value into m */
static void
mime_content_type(struct fp_mime *m, const unsigned char *v, size_t n)
{
	const unsigned char *type, *sub;
	size_t tlen, slen, i;
	int bad = 0;

	m->kind = KIND_TEXT;
	m->blen = 0;
	i = skip_cfws(v, n, 0);
	i = get_token(v, n, i, 0, &type, &tlen);
	i = skip_cfws(v, n, i);
	if (i >= n || v[i] != '/')
		return;		/* RFC 2045 5.2: unparseable is text/plain */
	i = skip_cfws(v, n, i + 1);
	i = get_token(v, n, i, 0, &sub, &slen);
	if (tlen == 0 || slen == 0)
		return;
	if (same_word(type, tlen, "multipart"))
		m->kind = KIND_MULTI;
	else if (!same_word(type, tlen, "text"))
		m->kind = KIND_OTHER;
	while (i < n) {
		i = skip_cfws(v, n, i);
		if (i < n && v[i] == ';')
			i = mime_param(m, v, n, i + 1, &bad);
		else if (i < n)
			i++;	/* junk between parameters */
	}
	if (m->kind == KIND_MULTI && (m->blen == 0 || bad)) {
		m->kind = KIND_TEXT;
		m->blen = 0;
	}
}

/* mime_header - apply one header (name, value) to m */
static void
mime_header(struct fp_mime *m, const unsigned char *name, size_t nlen,
    const unsigned char *v, size_t n)
{
	const unsigned char *tok;
	size_t tlen, i;

	while (nlen > 0 && is_blank(name[nlen - 1]))
		nlen--;
	if (same_word(name, nlen, "content-type")) {
		if (m->seen & SEEN_CT)
			return;
		m->seen |= SEEN_CT;
		mime_content_type(m, v, n);
	} else if (same_word(name, nlen, "content-transfer-encoding")) {
		if (m->seen & SEEN_CTE)
			return;
		m->seen |= SEEN_CTE;
		i = skip_cfws(v, n, 0);
		(void)get_token(v, n, i, 0, &tok, &tlen);
		if (same_word(tok, tlen, "base64"))
			m->enc = ENC_B64;
		else if (same_word(tok, tlen, "quoted-printable"))
			m->enc = ENC_QP;
		else
			m->enc = ENC_ID;
	}
}

/* mime_reset - an entity with no headers: text/plain, 7bit */
static void
mime_reset(struct fp_mime *m)
{
	memset(m, 0, sizeof(*m));
	m->kind = KIND_TEXT;
	m->enc = ENC_ID;
}

/* entity_begin - headers of st->ent are done: start its body */
static void
entity_begin(struct fp_state *st)
{
	struct fp_mime *m = &st->ent;

	if (m->kind != KIND_MULTI) {
		part_begin(st, m->kind, m->enc);
		return;
	}
	if (st->depth < FP_DEPTH) {	/* else too deep: read as text */
		st->open[st->depth].len = m->blen;
		memcpy(st->open[st->depth].s, m->boundary, m->blen);
		st->depth++;
	}
	part_begin(st, KIND_TEXT, ENC_ID);	/* the preamble */
}

/* hdr_done - a part header is complete: parse what was kept of it */
static void
hdr_done(struct fp_state *st)
{
	const unsigned char *colon;

	if (st->hdr_len == 0)
		return;
	colon = memchr(st->hdr, ':', st->hdr_len);
	if (colon != NULL)
		mime_header(&st->ent, st->hdr, (size_t)(colon - st->hdr),
		    colon + 1, st->hdr_len - (size_t)(colon - st->hdr) - 1);
	st->hdr_len = 0;
}

/* line_bytes - bytes of a raw line (not its end) for the current part */
static void
line_bytes(struct fp_state *st, const unsigned char *p, size_t n)
{
	size_t i, j, room;

	if (n == 0)
		return;
	if (st->mode == MODE_HEADERS) {
		if (st->line_pos == 0 && !is_blank(p[0]))
			hdr_done(st);	/* a new header, not a fold */
		room = FP_HDR_MAX - st->hdr_len;
		if (n < room)
			room = n;
		memcpy(st->hdr + st->hdr_len, p, room);
		st->hdr_len = (uint16_t)(st->hdr_len + room);
	} else if (st->enc == ENC_QP) {
		for (i = 0; i < n; i = j) {
			j = i + 1;
			if (st->qp != QP_NONE || p[i] == '=') {
				qp_byte(st, p[i]);
				continue;
			}
			while (j < n && p[j] != '=')	/* plain run */
				j++;
			norm_span(st, p + i, j - i);
		}
	} else if (st->enc == ENC_B64)
		b64_span(st, p, n);
	else
		norm_span(st, p, n);
	st->line_pos = 1;
}

/* boundary_line - is the held line a boundary? If so, act on it */
static int
boundary_line(struct fp_state *st)
{
	const unsigned char *h = st->hold;
	size_t n = st->hold_len, bl;
	unsigned d;

	while (n > 0 && is_blank(h[n - 1]))
		n--;
	if (n < 3 || h[0] != '-' || h[1] != '-')
		return 0;
	for (d = st->depth; d-- > 0;) {
		bl = st->open[d].len;
		if (n < 2 + bl || memcmp(h + 2, st->open[d].s, bl) != 0)
			continue;
		if (n == 2 + bl) {		/* next part of level d */
			part_end(st);
			st->depth = (uint8_t)(d + 1);
			st->mode = MODE_HEADERS;
			st->hdr_len = 0;
			mime_reset(&st->ent);
			return 1;
		}
		if (n == 4 + bl && h[2 + bl] == '-' && h[3 + bl] == '-') {
			part_end(st);		/* level d closes: epilogue */
			st->depth = (uint8_t)d;
			part_begin(st, KIND_TEXT, ENC_ID);
			return 1;
		}
	}
	return 0;
}

/* line_end - a raw line ends (CR, LF or CRLF) */
static void
line_end(struct fp_state *st)
{
	if (st->line == LINE_HOLD) {
		st->line = LINE_START;
		if (boundary_line(st)) {
			st->line_pos = 0;
			return;
		}
		line_bytes(st, st->hold, st->hold_len);
	}
	st->line = LINE_START;
	if (st->mode == MODE_HEADERS) {
		if (st->line_pos == 0) {	/* blank line: body follows */
			hdr_done(st);
			entity_begin(st);
		}
	} else if (st->enc == ENC_QP)
		qp_end(st, 1);
	else if (st->enc == ENC_ID)
		norm_byte(st, '\n');
	st->line_pos = 0;
}

/* body_start - the top-level headers are done */
static void
body_start(struct fp_state *st)
{
	st->phase = PHASE_BODY;
	entity_begin(st);
}

/* fp_init - start a message (also after fp_final, to reuse the state) */
void
fp_init(struct fp_state *st)
{
	crypto_generichash_state h;

	pthread_once(&fp_once, fp_sodium);
	memset(st, 0, sizeof(*st));
	crypto_generichash_init(&h, NULL, 0, sizeof(st->res.exact));
	memcpy(st->hash, &h, sizeof(h));
	st->word = FNV_OFFSET;
	mime_reset(&st->ent);
}

/* fp_header - one top-level header; only before the first fp_body */
void
fp_header(struct fp_state *st, const char *name, const char *value)
{
	if (st->phase != PHASE_NEW || name == NULL || value == NULL)
		return;
	mime_header(&st->ent, (const unsigned char *)name, strlen(name),
	    (const unsigned char *)value, strlen(value));
}

/* fp_body - the next body chunk; any split gives the same result */
void
fp_body(struct fp_state *st, const unsigned char *p, size_t len)
{
	size_t i = 0, j, room;
	unsigned char c;

	if (st->phase == PHASE_DONE || p == NULL)
		return;
	if (st->phase == PHASE_NEW)
		body_start(st);
	while (i < len) {
		c = p[i];
		if (st->raw_cr) {
			st->raw_cr = 0;
			if (c == '\n') {	/* the LF of a CRLF */
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			line_end(st);
			st->raw_cr = c == '\r';
			i++;
			continue;
		}
		if (st->line == LINE_START) {
			st->hold_len = 0;
			st->line = st->depth > 0 && c == '-' ? LINE_HOLD :
			    LINE_PASS;
		}
		for (j = i; j < len && p[j] != '\r' && p[j] != '\n'; j++)
			;
		if (st->line == LINE_PASS) {
			line_bytes(st, p + i, j - i);
			i = j;
			continue;
		}
		room = FP_HOLD - st->hold_len;
		if (j - i < room)
			room = j - i;
		memcpy(st->hold + st->hold_len, p + i, room);
		st->hold_len = (uint16_t)(st->hold_len + room);
		i += room;
		if (st->hold_len == FP_HOLD) {	/* too long for a boundary */
			st->line = LINE_PASS;
			line_bytes(st, st->hold, st->hold_len);
		}
	}
}

/* fp_final - the fingerprints; a second call gives the same result */
void
fp_final(struct fp_state *st, struct fp_result *res)
{
	crypto_generichash_state h;
	uint64_t sim = 0;
	int i;

	if (st->phase != PHASE_DONE) {
		if (st->phase == PHASE_NEW)
			body_start(st);
		if (st->line != LINE_START)
			line_end(st);	/* last line had no line break */
		part_end(st);
		if (st->words == 1)
			sim_vote(st, sim_shingle(0, 0, st->prev[1]));
		else if (st->words == 2)
			sim_vote(st, sim_shingle(0, st->prev[0], st->prev[1]));
		sim_lanes(st);
		for (i = 0; i < 64; i++)
			if (2 * (uint64_t)st->ones[i] > st->shingles)
				sim |= 1ULL << i;
		hash_flush(st);
		memcpy(&h, st->hash, sizeof(h));
		crypto_generichash_final(&h, st->res.exact,
		    sizeof(st->res.exact));
		st->res.simhash = sim;
		st->res.words = st->words;
		st->phase = PHASE_DONE;
	}
	*res = st->res;
}

/* fp_near - 1 if the simhashes differ in at most max_distance bits */
int
fp_near(uint64_t a, uint64_t b, unsigned max_distance)
{
	uint64_t x = a ^ b;
	unsigned n = 0;

	for (; x != 0; x &= x - 1)
		n++;
	return n <= max_distance;
}

/* fp_hex - lower-case hex of an exact hash, NUL-terminated */
void
fp_hex(const unsigned char exact[16], char out[33])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[exact[i] >> 4];
		out[2 * i + 1] = hex[exact[i] & 15];
	}
	out[32] = '\0';
}
