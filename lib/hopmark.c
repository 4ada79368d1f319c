/*
 * hopmark.c - the signed hop marker: a header sluice adds to every message
 * it accepts, so that a message coming back through the cluster is known
 * and its hops counted (seed 003: servers re-relayed one message to every
 * address in its To: and to each other until 1,500,000 copies existed).
 *
 * Public: hopmark_key_load, hopmark_cluster_valid, hopmark_make,
 * hopmark_check, hopmark_seen_init, hopmark_seen_add, hopmark_seen_eval.
 *
 * The value (ASCII, no byte a relay would rewrite, at most 149 bytes):
 *
 *   v=1; c=<cluster>; h=<hops>; t=<unix time>; m=<mac>
 *
 *   cluster  [A-Za-z0-9._-]{1,64}, compared case-sensitively
 *   hops     decimal 0..HOPMARK_HOPS_MAX, no leading zero
 *   time     decimal seconds since the epoch, no leading zero, < 2^64
 *   mac      HMAC-SHA-256 (libsodium), base64url without padding, 43
 *            characters, canonical (unused low bits zero)
 *
 * Reading is lenient about whitespace only: SP, HTAB, CR and LF are
 * dropped wherever they are (a relay may refold the header anywhere; no
 * field holds a blank). Tags may come in any order, each exactly once,
 * with one optional trailing ';'. Anything else -- another version, an
 * unknown tag, any other byte, a raw value over HOPMARK_VALUE_MAX bytes
 * -- is malformed. The value is read once and never past its NUL or its
 * HOPMARK_VALUE_MAX + 1st byte.
 *
 * MAC input: fixed-width or length-prefixed fields, so no two field sets
 * give the same bytes (integers big-endian):
 *
 *   "sluice-hop\0"  u8 version  u8 len + cluster  u32 hops  u64 time
 *   u64 len + Message-ID  16-byte body fingerprint
 *
 * The Message-ID is taken without any SP, HTAB, CR or LF, then without
 * one enclosing pair of '<' '>': "<a@b>", " < a@b >" folded, and "a@b"
 * are one identity. A missing Message-ID (NULL) is the empty one. A
 * comment after it ("<a@b> (x)") is part of it.
 *
 * What a verified marker means (hopmark_check, in this order):
 *   MALFORMED  it does not parse.
 *   FOREIGN    another cluster's id. Unauthenticated: only counted.
 *   BAD_MAC    our id, MAC wrong (forged, other key, or the Message-ID
 *              or body changed on the way); compared in constant time
 *              (crypto_verify_32). Never counts toward the hop limit --
 *              nobody gets mail stopped by forging a marker.
 *   FUTURE     MAC good, time more than HOPMARK_SKEW_S ahead of now: a
 *              relay's clock is wrong. Ignored like an expired one, since
 *              honouring it would stretch its lifetime; kept apart so the
 *              milter can say "clock" rather than "expired".
 *   EXPIRED    MAC good, now - time > lifetime_s.
 *   VALID      MAC good, within [now - lifetime_s, now + HOPMARK_SKEW_S].
 *
 * Several markers in one message (hopmark_seen_*): the header callback
 * cannot verify (the body fingerprint comes at end of message), so the
 * well-formed values claiming this cluster are kept, unfolded, the first
 * HOPMARK_SEEN_MAX in header order; later ones count as toomany (and as
 * malformed), malformed and foreign ones are counted at once and not
 * kept. A sender can add markers only below the trace headers relays
 * insert on top, so when the milter inserts its marker at the top
 * (smfi_insheader index 0) the newest markers are the ones kept, however
 * many forged ones the sender appended.
 *
 * Key file: exactly 32 raw bytes, or 64 hex digits (either case) with
 * optional trailing whitespace. Make one, the same on every relay, with
 *   (umask 077; head -c 32 /dev/urandom | xxd -p -c 64 > /etc/sluice/hop.key)
 * (or `openssl rand -hex 32`); without the umask the file is 0644 and
 * refused.
 * Refused: missing, not a regular file, readable or writable by others
 * (group-readable is allowed, for a sluice group), shorter or longer than
 * those forms, over 4 KiB, 32 bytes that are all text (a password or a
 * 16-byte key in hex, not 256 random bits), all zero bytes. Symbolic
 * links are followed (secret volumes use them); the mode checked is the
 * target's.
 *
 * Memory: nothing is allocated. Callers own the key, the strings (only
 * read, never kept) and struct hopmark_seen (embedded, about 2 KiB).
 * Key material on the stack (the file's bytes, the HMAC state) is wiped.
 * Thread-safe: no shared state but libsodium's one initialisation
 * (pthread_once); one struct hopmark_seen must not be used from two
 * threads at once. lib/ rule: nothing logs, nothing exits.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L	/* O_CLOEXEC when built by hand, -std=c11 */
#endif

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hopmark.h"

#define VERSION		1
#define MAC_LEN		crypto_auth_hmacsha256_BYTES
#define B64_VARIANT	sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define MAC_B64_LEN	43	/* base64url characters of 32 bytes */
#define KEY_FILE_MAX	4096	/* longer key files are refused */
#define LABEL		"sluice-hop"	/* MAC domain, sent with its NUL */

_Static_assert(MAC_LEN == 32, "crypto_verify_32 needs a 32-byte MAC");
_Static_assert(HOPMARK_KEY_LEN == crypto_auth_hmacsha256_KEYBYTES,
    "key length");
_Static_assert(sodium_base64_ENCODED_LEN(MAC_LEN, B64_VARIANT) ==
    MAC_B64_LEN + 1, "MAC_B64_LEN");
/* the longest value hopmark_make writes fits what hopmark_check reads */
_Static_assert(sizeof("v=1; c=; h=; t=; m=") - 1 + HOPMARK_CLUSTER_MAX + 3 +
    20 + MAC_B64_LEN <= HOPMARK_VALUE_MAX, "HOPMARK_VALUE_MAX too small");
_Static_assert(HOPMARK_HOPS_MAX < 1000, "hop counts have 3 digits at most");

/* One parsed value. */
struct fields {
	char		 cluster[HOPMARK_CLUSTER_MAX + 1];
	unsigned	 hops;
	uint64_t	 t;
	unsigned char	 mac[MAC_LEN];
};

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;		/* written once, under sodium_once */

/* sodium_start - libsodium's initialisation, run once per process */
static void
sodium_start(void)
{
	sodium_ok = sodium_init() >= 0;
}

/* sodium_ready - 1 when libsodium is initialised */
static int
sodium_ready(void)
{
	if (pthread_once(&sodium_once, sodium_start) != 0)
		return 0;
	return sodium_ok;
}

/* seterr - format into the caller's err[], if it gave one */
static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* is_blank - SP, HTAB, CR or LF: folding whitespace, dropped on reading */
static int
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* inc - add one to a counter, stopping at UINT_MAX */
static void
inc(unsigned *n)
{
	if (*n < UINT_MAX)
		(*n)++;
}

/* cluster_ok - 1 if s[0..len) is a cluster id */
static int
cluster_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > HOPMARK_CLUSTER_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* hopmark_cluster_valid - 1 if `cluster` is a usable cluster id */
int
hopmark_cluster_valid(const char *cluster)
{
	if (cluster == NULL)
		return 0;
	return cluster_ok(cluster, strnlen(cluster, HOPMARK_CLUSTER_MAX + 1));
}

/* unfold - value without blanks into buf; -1 if too long or not ASCII */
static int
unfold(const char *value, char buf[HOPMARK_VALUE_MAX + 1])
{
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; value[i] != '\0'; i++) {
		if (i == HOPMARK_VALUE_MAX)
			return -1;
		c = (unsigned char)value[i];
		if (is_blank(c))
			continue;
		if (c < 0x21 || c > 0x7e)
			return -1;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return 0;
}

/* parse_dec - canonical decimal s[0..len) no greater than max; 0/-1 */
static int
parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* parse_mac - the 43 base64url characters s[0..len), canonical; 0/-1 */
static int
parse_mac(const char *s, size_t len, unsigned char mac[MAC_LEN])
{
	char again[MAC_B64_LEN + 1];
	const char *end;
	size_t n;

	if (len != MAC_B64_LEN)
		return -1;
	if (sodium_base642bin(mac, MAC_LEN, s, len, NULL, &n, &end,
	    B64_VARIANT) != 0 || n != MAC_LEN || end != s + len)
		return -1;
	/* one spelling per MAC: the 2 spare bits of the last digit are 0 */
	sodium_bin2base64(again, sizeof(again), mac, MAC_LEN, B64_VARIANT);
	return memcmp(again, s, len) == 0 ? 0 : -1;
}

/* parse - an unfolded value into its fields; 0, or -1 if malformed */
static int
parse(const char *buf, struct fields *f)
{
	const char *p = buf, *end = buf + strlen(buf), *semi, *val;
	unsigned seen = 0, bit;
	uint64_t n;
	size_t len;
	int ok;

	if (end > buf && end[-1] == ';')
		end--;			/* one trailing ';' */
	for (;;) {
		semi = memchr(p, ';', (size_t)(end - p));
		if (semi == NULL)
			semi = end;
		if (semi - p < 2 || p[1] != '=')
			return -1;
		val = p + 2;
		len = (size_t)(semi - val);
		switch (p[0]) {
		case 'v':
			bit = 1;
			ok = len == 1 && val[0] == '0' + VERSION;
			break;
		case 'c':
			bit = 2;
			ok = cluster_ok(val, len);
			if (ok) {
				memcpy(f->cluster, val, len);
				f->cluster[len] = '\0';
			}
			break;
		case 'h':
			bit = 4;
			ok = parse_dec(val, len, HOPMARK_HOPS_MAX, &n) == 0;
			if (ok)
				f->hops = (unsigned)n;
			break;
		case 't':
			bit = 8;
			ok = parse_dec(val, len, UINT64_MAX, &f->t) == 0;
			break;
		case 'm':
			bit = 16;
			ok = parse_mac(val, len, f->mac) == 0;
			break;
		default:
			return -1;
		}
		if (!ok || (seen & bit) != 0)
			return -1;
		seen |= bit;
		if (semi == end)
			break;
		p = semi + 1;
	}
	return seen == 31 ? 0 : -1;
}

/* put_be - n-byte big-endian v into b */
static void
put_be(unsigned char *b, uint64_t v, int n)
{
	while (n-- > 0) {
		b[n] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* mac_id - feed the Message-ID, normalised, with its length first */
static void
mac_id(crypto_auth_hmacsha256_state *st, const char *id)
{
	unsigned char b[8];
	size_t first = 0, last, i, run, n = 0;

	last = id != NULL ? strlen(id) : 0;
	while (first < last && is_blank((unsigned char)id[first]))
		first++;
	while (last > first && is_blank((unsigned char)id[last - 1]))
		last--;
	if (last - first >= 2 && id[first] == '<' && id[last - 1] == '>') {
		first++;
		last--;
	}
	for (i = first; i < last; i++)
		n += !is_blank((unsigned char)id[i]);
	put_be(b, n, 8);
	crypto_auth_hmacsha256_update(st, b, 8);
	for (i = first; i < last; i += run) {
		for (run = 0; i + run < last &&
		    !is_blank((unsigned char)id[i + run]); run++)
			;
		if (run > 0)
			crypto_auth_hmacsha256_update(st,
			    (const unsigned char *)id + i, run);
		else
			run = 1;	/* a blank: skip it */
	}
}

/* mac_compute - the MAC of a marker's fields and the message identity */
static void
mac_compute(const unsigned char key[HOPMARK_KEY_LEN], const char *cluster,
    unsigned hops, uint64_t t, const char *message_id,
    const unsigned char body_fp[16], unsigned char mac[MAC_LEN])
{
	crypto_auth_hmacsha256_state st;
	unsigned char b[8];
	size_t clen = strlen(cluster);

	crypto_auth_hmacsha256_init(&st, key, HOPMARK_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)LABEL,
	    sizeof(LABEL));
	b[0] = VERSION;
	b[1] = (unsigned char)clen;	/* cluster_ok: at most 64 */
	crypto_auth_hmacsha256_update(&st, b, 2);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)cluster,
	    clen);
	put_be(b, hops, 4);
	crypto_auth_hmacsha256_update(&st, b, 4);
	put_be(b, t, 8);
	crypto_auth_hmacsha256_update(&st, b, 8);
	mac_id(&st, message_id);
	crypto_auth_hmacsha256_update(&st, body_fp, 16);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

/* hopmark_make - the value for a message leaving with `hops` hops; 0/-1 */
int
hopmark_make(const unsigned char key[HOPMARK_KEY_LEN], const char *cluster,
    unsigned hops, uint64_t now, const char *message_id,
    const unsigned char body_fp[16], char *out, size_t outlen)
{
	unsigned char mac[MAC_LEN];
	char b64[MAC_B64_LEN + 1];
	int n;

	if (out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	if (key == NULL || body_fp == NULL || !hopmark_cluster_valid(cluster) ||
	    hops > HOPMARK_HOPS_MAX || !sodium_ready())
		return -1;
	mac_compute(key, cluster, hops, now, message_id, body_fp, mac);
	sodium_bin2base64(b64, sizeof(b64), mac, MAC_LEN, B64_VARIANT);
	n = snprintf(out, outlen, "v=%d; c=%s; h=%u; t=%" PRIu64 "; m=%s",
	    VERSION, cluster, hops, now, b64);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* hopmark_check - verify one value; *hops, *t set if VALID/EXPIRED/FUTURE */
enum hopmark_status
hopmark_check(const unsigned char key[HOPMARK_KEY_LEN], const char *cluster,
    const char *value, uint64_t now, uint32_t lifetime_s,
    const char *message_id, const unsigned char body_fp[16],
    unsigned *hops, uint64_t *t)
{
	char buf[HOPMARK_VALUE_MAX + 1];
	unsigned char want[MAC_LEN];
	struct fields f;
	enum hopmark_status st;

	if (hops != NULL)
		*hops = 0;
	if (t != NULL)
		*t = 0;
	if (value == NULL || unfold(value, buf) != 0 || parse(buf, &f) != 0)
		return HOPMARK_MALFORMED;
	if (cluster == NULL || strcmp(f.cluster, cluster) != 0)
		return HOPMARK_FOREIGN;
	if (key == NULL || body_fp == NULL || !sodium_ready())
		return HOPMARK_BAD_MAC;	/* cannot verify: never trusted */
	mac_compute(key, f.cluster, f.hops, f.t, message_id, body_fp, want);
	if (crypto_verify_32(want, f.mac) != 0)
		return HOPMARK_BAD_MAC;
	if (f.t > now && f.t - now > HOPMARK_SKEW_S)
		st = HOPMARK_FUTURE;
	else if (now > f.t && now - f.t > lifetime_s)
		st = HOPMARK_EXPIRED;
	else
		st = HOPMARK_VALID;
	if (hops != NULL)
		*hops = f.hops;
	if (t != NULL)
		*t = f.t;
	return st;
}

/* hopmark_seen_init - forget all markers: call at the start of a message */
void
hopmark_seen_init(struct hopmark_seen *s)
{
	s->n = 0;
	s->foreign = 0;
	s->malformed = 0;
	s->toomany = 0;
}

/* hopmark_seen_add - one marker header value, in header order */
void
hopmark_seen_add(struct hopmark_seen *s, const char *cluster,
    const char *value)
{
	char buf[HOPMARK_VALUE_MAX + 1];
	struct fields f;

	if (value == NULL || unfold(value, buf) != 0 || parse(buf, &f) != 0)
		inc(&s->malformed);
	else if (cluster == NULL || strcmp(f.cluster, cluster) != 0)
		inc(&s->foreign);
	else if (s->n >= HOPMARK_SEEN_MAX)
		inc(&s->toomany);
	else
		memcpy(s->value[s->n++], buf, strlen(buf) + 1);
}

/* hopmark_seen_eval - verify the kept markers at end of message */
void
hopmark_seen_eval(const struct hopmark_seen *s,
    const unsigned char key[HOPMARK_KEY_LEN], const char *cluster,
    uint64_t now, uint32_t lifetime_s, const char *message_id,
    const unsigned char body_fp[16], struct hopmark_eval *out)
{
	unsigned i, h;

	memset(out, 0, sizeof(*out));
	out->foreign = s->foreign;
	out->toomany = s->toomany;
	out->malformed = s->malformed > UINT_MAX - s->toomany ? UINT_MAX :
	    s->malformed + s->toomany;
	for (i = 0; i < s->n && i < HOPMARK_SEEN_MAX; i++) {
		switch (hopmark_check(key, cluster, s->value[i], now,
		    lifetime_s, message_id, body_fp, &h, NULL)) {
		case HOPMARK_VALID:
			inc(&out->valid);
			if (h > out->hops)
				out->hops = h;
			break;
		case HOPMARK_FOREIGN:	/* eval's cluster is not add's */
			inc(&out->foreign);
			break;
		case HOPMARK_EXPIRED:
			inc(&out->expired);
			break;
		case HOPMARK_FUTURE:
			inc(&out->future);
			break;
		case HOPMARK_BAD_MAC:
			inc(&out->bad_mac);
			break;
		case HOPMARK_MALFORMED:
			inc(&out->malformed);
			break;
		}
	}
}

/* hopmark_key_load - read the key file; refuses a world-readable one */
int
hopmark_key_load(const char *path, unsigned char key[HOPMARK_KEY_LEN],
    char *err, size_t errlen)
{
	unsigned char buf[KEY_FILE_MAX + 1];
	struct stat sb;
	size_t len = 0, hexlen, i, text = 0, bin;
	ssize_t r;
	int fd, rc = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (key == NULL) {
		seterr(err, errlen, "hop key: no buffer");
		return -1;
	}
	memset(key, 0, HOPMARK_KEY_LEN);
	if (path == NULL || path[0] == '\0') {
		seterr(err, errlen, "hop key: no file configured");
		return -1;
	}
	if (!sodium_ready()) {
		seterr(err, errlen, "hop key %s: libsodium failed to start",
		    path);
		return -1;
	}
	/* O_NONBLOCK: a FIFO must not hang us before fstat refuses it */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		seterr(err, errlen, "hop key %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0) {
		seterr(err, errlen, "hop key %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		seterr(err, errlen, "hop key %s: not a regular file", path);
		goto out;
	}
	if ((sb.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		seterr(err, errlen, "hop key %s: readable or writable by "
		    "others (mode %04o); run chmod o-rwx on it", path,
		    (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, "hop key %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > KEY_FILE_MAX) {
		seterr(err, errlen, "hop key %s: over %d bytes; want 64 hex "
		    "digits or 32 raw bytes", path, KEY_FILE_MAX);
		goto out;
	}
	for (hexlen = len; hexlen > 0 && is_blank(buf[hexlen - 1]); hexlen--)
		;
	for (i = 0; i < len; i++)
		text += (buf[i] >= 0x20 && buf[i] < 0x7f) || is_blank(buf[i]);
	if (len == HOPMARK_KEY_LEN && text < len) {
		memcpy(key, buf, HOPMARK_KEY_LEN);
	} else if (len == HOPMARK_KEY_LEN) {
		seterr(err, errlen, "hop key %s: 32 bytes of text, not random "
		    "bytes; want 64 hex digits or 32 raw bytes", path);
		goto out;
	} else if (hexlen == 2 * HOPMARK_KEY_LEN && text == len) {
		if (sodium_hex2bin(key, HOPMARK_KEY_LEN, (const char *)buf,
		    hexlen, NULL, &bin, NULL) != 0 || bin != HOPMARK_KEY_LEN) {
			seterr(err, errlen, "hop key %s: 64 characters but not "
			    "all hex digits", path);
			goto out;
		}
	} else {
		seterr(err, errlen, "hop key %s: %s (%zu bytes); want 64 hex "
		    "digits or 32 raw bytes", path,
		    len < HOPMARK_KEY_LEN ? "too short" : "not a key", len);
		goto out;
	}
	if (sodium_is_zero(key, HOPMARK_KEY_LEN)) {
		seterr(err, errlen, "hop key %s: all zero bytes", path);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		sodium_memzero(key, HOPMARK_KEY_LEN);
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}
