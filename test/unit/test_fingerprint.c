/*
 * test_fingerprint.c - the body fingerprint: normalisation rules, MIME,
 * chunking, hostile input, and the simhash's measured error rates on a
 * corpus generated here from a fixed seed (no data files).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "fingerprint.h"

#define BIG	(1 << 20)	/* scratch buffers for generated bodies */

static unsigned char big_a[BIG], big_b[BIG], big_c[BIG];

/* rng - xorshift64 from a fixed seed: the same corpus on every run */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* rng_next - next pseudo-random 64 bits */
static uint64_t
rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* rng_below - pseudo-random integer in [0, n) */
static unsigned
rng_below(unsigned n)
{
	return (unsigned)(rng_next() % n);
}

/* hdrs - top-level headers of a test message, NULL-terminated pairs */
struct hdrs {
	const char	*h[10];
};

/*
 * fingerprint - run one message through fp_*; split: 0 whole, 1 one byte
 * at a time, N > 1 random chunks of 1..N bytes (seeded by N).
 */
static void
fingerprint(const struct hdrs *hd, const void *body, size_t len,
    unsigned split, struct fp_result *res)
{
	const unsigned char *p = body;
	struct fp_state st;
	uint64_t seed = 0x2545f4914f6cdd1dULL * (split + 1);
	size_t off = 0, n;
	int i;

	fp_init(&st);
	for (i = 0; hd != NULL && hd->h[i] != NULL; i += 2)
		fp_header(&st, hd->h[i], hd->h[i + 1]);
	while (off < len) {
		if (split == 0)
			n = len;
		else if (split == 1)
			n = 1;
		else {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			n = 1 + (size_t)(seed % split);
		}
		if (n > len - off)
			n = len - off;
		fp_body(&st, p + off, n);
		off += n;
	}
	fp_final(&st, res);
}

/* fp_str - fingerprint of a NUL-terminated body, whole */
static void
fp_str(const struct hdrs *hd, const char *body, struct fp_result *res)
{
	fingerprint(hd, body, strlen(body), 0, res);
}

/* same_result - all fields equal */
static int
same_result(const struct fp_result *a, const struct fp_result *b)
{
	return memcmp(a->exact, b->exact, sizeof(a->exact)) == 0 &&
	    a->simhash == b->simhash && a->bytes == b->bytes &&
	    a->words == b->words;
}

/* distance - Hamming distance of two simhashes */
static unsigned
distance(uint64_t a, uint64_t b)
{
	unsigned n = 0;

	for (a ^= b; a != 0; a &= a - 1)
		n++;
	return n;
}

/* b64_encode - base64 of in, a line break every `wrap` chars (0: none) */
static size_t
b64_encode(const unsigned char *in, size_t n, char *out, size_t wrap,
    const char *eol)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0, col = 0, k;
	uint32_t v;
	char q[4];

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		q[0] = al[v >> 18 & 63];
		q[1] = al[v >> 12 & 63];
		q[2] = i + 1 < n ? al[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? al[v & 63] : '=';
		for (k = 0; k < 4; k++) {
			if (wrap != 0 && col == wrap) {
				o += (size_t)sprintf(out + o, "%s", eol);
				col = 0;
			}
			out[o++] = q[k];
			col++;
		}
	}
	o += (size_t)sprintf(out + o, "%s", eol);
	return o;
}

/* qp_encode - quoted-printable of LF-text in, lines <= maxline chars */
static size_t
qp_encode(const unsigned char *in, size_t n, char *out, size_t maxline,
    const char *eol)
{
	size_t i, o = 0, col = 0, w;
	char tok[4];
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = in[i];
		if (c == '\n') {
			o += (size_t)sprintf(out + o, "%s", eol);
			col = 0;
			continue;
		}
		if ((c == ' ' || c == '\t') &&
		    (i + 1 == n || in[i + 1] == '\n'))	/* trailing */
			w = (size_t)sprintf(tok, "=%02X", c);
		else if ((c >= 33 && c <= 126 && c != '=') || c == ' ' ||
		    c == '\t') {
			tok[0] = (char)c;
			tok[1] = '\0';
			w = 1;
		} else
			w = (size_t)sprintf(tok, "=%02X", c);
		if (col + w > maxline - 1) {		/* soft break */
			o += (size_t)sprintf(out + o, "=%s", eol);
			col = 0;
		}
		memcpy(out + o, tok, w);
		o += w;
		col += w;
	}
	return o;
}

/* replace_all - copy in to out with every `from` byte made `to` string */
static size_t
replace_all(const char *in, char from, const char *to, char *out)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		if (*in == from)
			o += (size_t)sprintf(out + o, "%s", to);
		else
			out[o++] = *in;
	}
	out[o] = '\0';
	return o;
}

/* is_norm - is the exact hash BLAKE2b-128 of `norm`, bytes its length? */
static int
is_norm(const struct fp_result *r, const void *norm, size_t len)
{
	unsigned char h[16];

	crypto_generichash(h, sizeof(h), norm, len, NULL, 0);
	return r->bytes == len && memcmp(r->exact, h, sizeof(h)) == 0;
}

/* Text with paragraphs, UTF-8, '=' signs, a long line, trailing blanks. */
static const char base_text[] =
    "Dear customer,\n"
    "\n"
    "Your account 4711 needs verification = urgent. Caf\xc3\xa9 r\xc3\xa9"
    "sum\xc3\xa9 na\xc3\xafve \xe2\x82\xac 100.\n"
    "Please click the link below within 24 hours, otherwise your mailbox "
    "will be suspended and all messages deleted permanently from our "
    "servers.\n"
    "\n"
    "\n"
    "   http://example.invalid/verify?id=1234&token=abcdef\n"
    "\tThanks,\n"
    "The Support Team";

/* boundaries of 70 (the longest allowed) and 71 characters */
#define X70	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X71	X70 "x"

/* test_normalise - table: input and headers -> exact normalised bytes */
static void
test_normalise(void **state)
{
	static const struct hdrs qp = { { "Content-Transfer-Encoding",
	    "quoted-printable", NULL } };
	static const struct hdrs b64 = { { "Content-Transfer-Encoding",
	    " Base64 (comment)", NULL } };
	static const struct hdrs mp = { { "Content-Type",
	    "multipart/mixed;\r\n\tboundary=\"b1\"", NULL } };
	static const struct hdrs longb = { { "Content-Type",
	    "multipart/mixed; boundary=" X71, NULL } };
	static const struct hdrs b70 = { { "Content-Type",
	    "multipart/mixed; boundary=" X70, NULL } };
	static const struct hdrs nob = { { "Content-Type",
	    "multipart/mixed", NULL } };
	static const struct hdrs first = { { "Content-Type", "text/plain",
	    "Content-Type", "multipart/mixed; boundary=b1",
	    "content-transfer-encoding", "QUOTED-PRINTABLE",
	    "Content-Transfer-Encoding", "base64", NULL } };
	static const struct {
		const struct hdrs *hd;
		const char	*in;
		const char	*out;
		size_t		 outlen;	/* 0: strlen(out) */
	} cases[] = {
		{ NULL, "", "", 0 },
		{ NULL, "\r\n \r\n\t\r\n", "", 0 },
		{ NULL, "Hello  world \r\n\r\n\r\nSecond\tline\t\r\n\r\n",
		    "Hello world\n\nSecond line", 0 },
		{ NULL, "\n\n  Indented \t text\n", "Indented text", 0 },
		{ NULL, "a\rb\r\nc\nd\n\re", "a\nb\nc\nd\n\ne", 0 },
		{ NULL, "Case Kept", "Case Kept", 0 },
		{ NULL, "no line break at end", "no line break at end", 0 },
		{ &qp, "caf=C3=A9 =3D x=\r\ny\r\n", "caf\xc3\xa9 = xy", 0 },
		{ &qp, "ab= \t\r\ncd=0D=0Aef=0d=0a", "abcd\nef", 0 },
		{ &qp, "a=ZZb=4\r\nc=\r\n=", "a=ZZb=4\nc", 0 },
		{ &qp, "x=4", "x=4", 0 },
		{ &qp, "x= y", "x= y", 0 },
		{ &qp, "====", "===", 0 },
		{ &b64, "SGVsbG8=", "Hello", 0 },
		{ &b64, "SGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n", "Hello world", 0 },
		{ &b64, "SGk=SGk=", "HiHi", 0 },
		{ &b64, "S G k *\r\n!", "Hi", 0 },
		{ &b64, "S", "", 0 },
		{ &mp, "preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
		    "part one\r\n--b1  \r\nContent-type: application/pdf\r\n"
		    "Content-Transfer-Encoding:\r\n base64\r\n\r\nQUJD\r\n"
		    "--b1--\r\nepilogue\r\n",
		    "preamble\n\npart one\n\nABC\n\nepilogue", 0 },
		{ &mp, "--b1\r\n\r\none\r\n--b1x\r\n---b1\r\n--b1--\r\n",
		    "one\n--b1x\n---b1", 0 },
		{ &mp, "--b1\r\nContent-Type: multipart/alternative; "
		    "boundary=b2\r\n\r\n--b2\r\n\r\ninner\r\n--b1\r\n\r\n"
		    "outer\r\n--b2\r\n--b1--\r\n",
		    "inner\n\nouter\n--b2", 0 },
		{ &mp, "--b1\r\nContent-Type: text/plain\r\n--b1\r\n\r\nx",
		    "x", 0 },
		{ &longb, "--" X71 "\r\nbody", "--" X71 "\nbody", 0 },
		{ &b70, "--" X70 "\r\n\r\nbody\r\n--" X70 "--  \r\n", "body",
		    0 },
		{ &nob, "--b1\r\nbody", "--b1\nbody", 0 },
		{ &first, "plain", "plain", 0 },
	};
	struct fp_result r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fp_str(cases[i].hd, cases[i].in, &r);
		if (!is_norm(&r, cases[i].out, cases[i].outlen ?
		    cases[i].outlen : strlen(cases[i].out)))
			fail_msg("case %zu: %s", i, cases[i].in);
	}
	/* a NUL in the raw body is kept too */
	fingerprint(NULL, "nul\0byte", 8, 1, &r);
	assert_true(is_norm(&r, "nul\0byte", 8));
}

/* test_encodings - one text, every transfer encoding: one exact hash */
static void
test_encodings(void **state)
{
	static char crlf[4096], trail[4096], cr[4096];
	static const struct hdrs qp = { { "Content-Transfer-Encoding",
	    "quoted-printable", NULL } };
	static const struct hdrs qp2 = { { "Content-Type",
	    "text/plain; charset=utf-8", "content-transfer-encoding",
	    "Quoted-Printable", NULL } };
	static const struct hdrs b64 = { { "Content-Transfer-Encoding",
	    "base64", NULL } };
	static const struct hdrs b64u = { { "CONTENT-TRANSFER-ENCODING",
	    "BASE64", NULL } };
	const unsigned char *t = (const unsigned char *)base_text;
	size_t tn = strlen(base_text), n, i;
	struct fp_result ref, r;
	const char *p;
	char *o;

	(void)state;
	fp_str(NULL, base_text, &ref);
	assert_true(ref.bytes > 0 && ref.words > 30);

	replace_all(base_text, '\n', "\r\n", crlf);
	fp_str(NULL, crlf, &r);
	assert_true(same_result(&ref, &r));
	replace_all(base_text, '\n', "\r", cr);
	fp_str(NULL, cr, &r);
	assert_true(same_result(&ref, &r));
	replace_all(base_text, '\n', "  \t \r\n", trail);
	fp_str(NULL, trail, &r);
	assert_true(same_result(&ref, &r));
	n = (size_t)sprintf((char *)big_a, "\r\n\r\n%s\r\n\r\n\r\n", crlf);
	fingerprint(NULL, big_a, n, 0, &r);
	assert_true(same_result(&ref, &r));

	n = qp_encode(t, tn, (char *)big_a, 76, "\r\n");
	fingerprint(&qp, big_a, n, 0, &r);
	assert_true(same_result(&ref, &r));
	n = qp_encode(t, tn, (char *)big_a, 20, "\n");
	fingerprint(&qp2, big_a, n, 0, &r);
	assert_true(same_result(&ref, &r));

	n = b64_encode(t, tn, (char *)big_a, 76, "\r\n");
	fingerprint(&b64, big_a, n, 0, &r);
	assert_true(same_result(&ref, &r));
	n = b64_encode(t, tn, (char *)big_a, 60, "\n");
	fingerprint(&b64u, big_a, n, 0, &r);
	assert_true(same_result(&ref, &r));
	n = b64_encode(t, tn, (char *)big_a, 0, "");
	fingerprint(&b64, big_a, n, 0, &r);
	assert_true(same_result(&ref, &r));
	/* base64 of CRLF text with trailing blanks: same once decoded */
	n = b64_encode((const unsigned char *)trail, strlen(trail),
	    (char *)big_a, 72, "\r\n");
	fingerprint(&b64, big_a, n, 0, &r);
	assert_true(same_result(&ref, &r));

	/* case is kept in the exact hash, folded in the simhash */
	for (p = base_text, o = (char *)big_b; *p != '\0'; p++)
		*o++ = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	*o = '\0';
	fp_str(NULL, (char *)big_b, &r);
	assert_memory_not_equal(r.exact, ref.exact, sizeof(r.exact));
	assert_int_equal(r.simhash, ref.simhash);

	/* a different word breaks the exact match */
	memcpy(big_b, base_text, tn + 1);
	for (i = 0; i < tn; i++)
		if (big_b[i] == '4')
			big_b[i] = '5';
	fp_str(NULL, (char *)big_b, &r);
	assert_memory_not_equal(r.exact, ref.exact, sizeof(r.exact));
}

/* make_boundary - a random boundary of `len` chars like MUAs make */
static void
make_boundary(char *b, size_t len)
{
	static const char al[] = "0123456789abcdefABCDEF=_.-";
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = al[rng_below(sizeof(al) - 1)];
	b[0] = '_';	/* never starts like another boundary's prefix */
	b[len] = '\0';
}

/*
 * build_alternative - multipart/mixed holding a multipart/alternative
 * (text as qp, html as base64) and an attachment; returns the length.
 */
static size_t
build_alternative(unsigned char *out, struct hdrs *hd, char *ctype,
    const char *b1, const char *b2, const char *attach)
{
	static char html[4096];
	char *o = (char *)out;
	size_t n;

	sprintf(ctype, "multipart/mixed; boundary=\"%s\"", b1);
	hd->h[0] = "Content-Type";
	hd->h[1] = ctype;
	hd->h[2] = NULL;
	sprintf(html, "<html><body><p>%s</p></body></html>\n", base_text);
	o += sprintf(o, "This is a multi-part message in MIME format.\r\n"
	    "\r\n--%s\r\nContent-Type: multipart/alternative;\r\n"
	    " boundary=\"%s\"\r\n\r\n\r\n--%s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", b1, b2, b2);
	o += qp_encode((const unsigned char *)base_text, strlen(base_text),
	    o, 76, "\r\n");
	o += sprintf(o, "\r\n--%s\r\nContent-Type: text/html; "
	    "charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", b2);
	o += b64_encode((const unsigned char *)html, strlen(html), o, 76,
	    "\r\n");
	o += sprintf(o, "--%s--\r\n\r\n--%s\r\nContent-Type: "
	    "application/octet-stream; name=\"a.bin\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", b2, b1);
	n = strlen(attach);
	o += b64_encode((const unsigned char *)attach, n, o, 64, "\r\n");
	o += sprintf(o, "--%s--\r\n", b1);
	return (size_t)(o - (char *)out);
}

/* test_multipart - random boundaries don't matter; attachments do */
static void
test_multipart(void **state)
{
	char b1[80], b2[80], ct1[160], ct2[160];
	struct hdrs h1, h2;
	struct fp_result ref, r;
	size_t n1, n2;
	int i;

	(void)state;
	make_boundary(b1, 30);
	make_boundary(b2, 40);
	n1 = build_alternative(big_a, &h1, ct1, b1, b2, "attachment one");
	fingerprint(&h1, big_a, n1, 0, &ref);
	assert_true(ref.words > 60);	/* text and html both seen */
	for (i = 0; i < 20; i++) {
		make_boundary(b1, 1 + rng_below(FP_BOUNDARY_MAX));
		make_boundary(b2, 1 + rng_below(FP_BOUNDARY_MAX));
		n2 = build_alternative(big_b, &h2, ct2, b1, b2,
		    "attachment one");
		assert_true(n2 != n1 || memcmp(big_a, big_b, n1) != 0);
		fingerprint(&h2, big_b, n2, 0, &r);
		assert_true(same_result(&ref, &r));
	}
	/* another attachment: another exact hash, the same simhash */
	n2 = build_alternative(big_b, &h2, ct2, b1, b2, "attachment two");
	fingerprint(&h2, big_b, n2, 0, &r);
	assert_memory_not_equal(r.exact, ref.exact, sizeof(r.exact));
	assert_int_equal(r.simhash, ref.simhash);
	assert_int_equal(r.words, ref.words);
}

/* test_chunking - every split of every kind of body gives one result */
static void
test_chunking(void **state)
{
	static const struct hdrs qp = { { "Content-Transfer-Encoding",
	    "quoted-printable", NULL } };
	static const struct hdrs b64 = { { "Content-Transfer-Encoding",
	    "base64", NULL } };
	static const unsigned splits[] = { 1, 2, 3, 5, 7, 64, 1000, 4096,
	    17, 33, 250 };
	const unsigned char *t = (const unsigned char *)base_text;
	size_t tn = strlen(base_text), n, i, cut;
	const struct hdrs *hd;
	struct fp_result ref, r, r2;
	char b1[80], b2[80], ct[160];
	struct hdrs mh;
	int k;

	(void)state;
	for (k = 0; k < 6; k++) {
		hd = NULL;
		switch (k) {
		case 0:
			n = replace_all(base_text, '\n', "  \r\n",
			    (char *)big_a);
			break;
		case 1:
			hd = &qp;
			n = qp_encode(t, tn, (char *)big_a, 30, "\r\n");
			break;
		case 2:
			hd = &b64;
			n = b64_encode(t, tn, (char *)big_a, 76, "\r\n");
			break;
		case 3:
			make_boundary(b1, 70);
			make_boundary(b2, 12);
			n = build_alternative(big_a, &mh, ct, b1, b2, "att");
			hd = &mh;
			break;
		case 4:		/* long lines, CR-only and mixed endings */
			for (n = 0; n < 300000; n++)
				big_a[n] = (unsigned char)"ab -=\r\n\t"[
				    n % 977 == 0 ? 5 : n % 131 == 0 ? 6 :
				    n % 7 == 0 ? 2 : n % 2];
			break;
		default:	/* random bytes */
			for (n = 0; n < 100000; n++)
				big_a[n] = (unsigned char)rng_next();
			break;
		}
		fingerprint(hd, big_a, n, 0, &ref);
		for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
			fingerprint(hd, big_a, n, splits[i], &r);
			assert_true(same_result(&ref, &r));
		}
		/* every two-piece split of the first KiB of the body */
		for (cut = 0; cut <= 1024 && cut <= n; cut += (k < 3 ? 1 : 7)) {
			struct fp_state st;
			size_t j;

			fp_init(&st);
			for (j = 0; hd != NULL && hd->h[j] != NULL; j += 2)
				fp_header(&st, hd->h[j], hd->h[j + 1]);
			fp_body(&st, big_a, cut);
			fp_body(&st, big_a + cut, n - cut);
			fp_final(&st, &r2);
			assert_true(same_result(&ref, &r2));
		}
	}
}

/* Word list and names for the generated corpus. */
#define NWORDS	5000
static char words[NWORDS][12];
static double word_cdf[NWORDS];		/* Zipf, s = 1 */

static const char *const names[] = { "John", "Mary", "Alice", "Bob",
    "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy" };

/* make_words - pseudo-words of 1..3 syllables, Zipf-distributed */
static void
make_words(void)
{
	static const char cons[] = "bcdfghjklmnprstvwz", vow[] = "aeiou";
	double total = 0;
	char *p;
	int i, s, syl;

	for (i = 0; i < NWORDS; i++) {
		syl = 1 + (int)rng_below(3);
		p = words[i];
		for (s = 0; s < syl; s++) {
			*p++ = cons[rng_below(sizeof(cons) - 1)];
			*p++ = vow[rng_below(sizeof(vow) - 1)];
			if (rng_below(3) == 0)
				*p++ = cons[rng_below(sizeof(cons) - 1)];
		}
		*p = '\0';
		total += 1.0 / (i + 1);
		word_cdf[i] = total;
	}
	for (i = 0; i < NWORDS; i++)
		word_cdf[i] /= total;
}

/* zipf_word - a word drawn from the Zipf distribution */
static const char *
zipf_word(void)
{
	double u = (double)(rng_next() >> 11) / 9007199254740992.0;
	int lo = 0, hi = NWORDS - 1, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (word_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return words[lo];
}

#define MAXTOK	500
struct body {
	int	 n;			/* tokens; token 1 is the name */
	char	 tok[MAXTOK + 8][16];
};

/* make_body - "Dear <name>," then 50..500 words, then a signature */
static void
make_body(struct body *b)
{
	int i, n = 50 + (int)rng_below(451);

	b->n = n;
	strcpy(b->tok[0], "Dear");
	strcpy(b->tok[1], names[rng_below(12)]);
	for (i = 2; i < n - 2; i++)
		strcpy(b->tok[i], zipf_word());
	strcpy(b->tok[n - 2], "Regards");
	strcpy(b->tok[n - 1], names[rng_below(12)]);
}

/* render - the body as text: sentences, lines, paragraphs */
static size_t
render(const struct body *b, char *out)
{
	char *o = out;
	int i;

	o += sprintf(o, "%s %s,\r\n\r\n", b->tok[0], b->tok[1]);
	for (i = 2; i < b->n - 2; i++)
		o += sprintf(o, "%s%s", b->tok[i], i % 13 == 0 ? ".\r\n" :
		    i % 61 == 0 ? ".\r\n\r\n" : " ");
	o += sprintf(o, "\r\n\r\n%s,\r\n%s\r\n", b->tok[b->n - 2],
	    b->tok[b->n - 1]);
	return (size_t)(o - out);
}

/* body_fp - fingerprint of a rendered body */
static void
body_fp(const struct body *b, struct fp_result *r)
{
	size_t n = render(b, (char *)big_c);

	fingerprint(NULL, big_c, n, 0, r);
}

/* mutate - change 1..3 tokens: the name, a random token, another word */
static int
mutate(struct body *b)
{
	int k, changes = 1 + (int)rng_below(3), pos;
	const char *old;

	for (k = 0; k < changes; k++) {
		switch (rng_below(3)) {
		case 0:		/* the greeting's name */
			old = b->tok[1];
			do
				pos = (int)rng_below(12);
			while (strcmp(names[pos], old) == 0);
			strcpy(b->tok[1], names[pos]);
			break;
		case 1:		/* a random token, e.g. a tracking id */
			pos = 2 + (int)rng_below((unsigned)b->n - 4);
			sprintf(b->tok[pos], "%c%08x", 'A' + rng_below(26),
			    (unsigned)rng_next());
			break;
		default:	/* one word for another */
			pos = 2 + (int)rng_below((unsigned)b->n - 4);
			strcpy(b->tok[pos], zipf_word());
			break;
		}
	}
	return changes;
}

/* test_one_token - one token apart: exact differs, simhash is near */
static void
test_one_token(void **state)
{
	static struct body b, v;
	struct fp_result r1, r2;
	unsigned d, worst = 0, sum = 0;
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		do
			make_body(&b);
		while (b.n < 200);		/* "a few hundred words" */
		body_fp(&b, &r1);
		v = b;
		sprintf(v.tok[2 + rng_below((unsigned)v.n - 4)], "T%08x",
		    (unsigned)rng_next());
		body_fp(&v, &r2);
		assert_memory_not_equal(r1.exact, r2.exact, sizeof(r1.exact));
		d = distance(r1.simhash, r2.simhash);
		sum += d;
		if (d > worst)
			worst = d;
		assert_true(fp_near(r1.simhash, r2.simhash, FP_NEAR_DEFAULT));
		/* "Dear John" / "Dear Mary" */
		v = b;
		strcpy(v.tok[1], strcmp(b.tok[1], "John") ? "John" : "Mary");
		body_fp(&v, &r2);
		assert_memory_not_equal(r1.exact, r2.exact, sizeof(r1.exact));
		assert_true(fp_near(r1.simhash, r2.simhash, FP_NEAR_DEFAULT));
	}
	print_message("one token in 200..500 words: distance mean %.1f, "
	    "worst %u (threshold %d)\n", sum / 50.0, worst, FP_NEAR_DEFAULT);
}

#define CORPUS	2000
#define MUTANTS	500

/*
 * test_rates - on 2,000 generated bodies: how often unrelated pairs are
 * near (all 1,999,000 pairs), and how often a body with 1..3 tokens
 * changed stays near its original (500 mutants).
 */
static void
test_rates(void **state)
{
	static struct body b[CORPUS], v;
	static uint64_t sim[CORPUS];
	unsigned long pairs = 0, near = 0, hist[65] = { 0 };
	struct fp_result r, rv;
	int i, j, recalled = 0, d, big, by_size[2][2] = { { 0 } };
	double fm, rec;

	(void)state;
	for (i = 0; i < CORPUS; i++) {
		make_body(&b[i]);
		body_fp(&b[i], &r);
		sim[i] = r.simhash;
	}
	for (i = 0; i < CORPUS; i++)
		for (j = i + 1; j < CORPUS; j++) {
			pairs++;
			hist[distance(sim[i], sim[j])]++;
			near += (unsigned long)fp_near(sim[i], sim[j],
			    FP_NEAR_DEFAULT);
		}
	for (d = 0; d < 64 && hist[d] == 0; d++)
		;
	fm = (double)near / (double)pairs;
	print_message("false-match rate at %d: %lu / %lu pairs = %.3g "
	    "(closest unrelated pair: %d bits)\n", FP_NEAR_DEFAULT, near,
	    pairs, fm, d);
	assert_true(fm < 1e-4);

	for (i = 0; i < MUTANTS; i++) {
		v = b[i];
		mutate(&v);
		body_fp(&b[i], &r);
		body_fp(&v, &rv);
		d = fp_near(r.simhash, rv.simhash, FP_NEAR_DEFAULT);
		recalled += d;
		big = r.words >= FP_MIN_WORDS;
		by_size[big][0]++;
		by_size[big][1] += d;
	}
	rec = (double)recalled / MUTANTS;
	print_message("near-duplicate recall at %d: %d / %d = %.3f "
	    "(%d / %d under %d words, %d / %d from %d)\n", FP_NEAR_DEFAULT,
	    recalled, MUTANTS, rec, by_size[0][1], by_size[0][0],
	    FP_MIN_WORDS, by_size[1][1], by_size[1][0], FP_MIN_WORDS);
	assert_true(rec >= 0.95);
	assert_true(by_size[1][1] >= 0.97 * by_size[1][0]);
}

/* hostile - one hostile message, fed whole, bytewise and in random chunks */
static void
hostile(const struct hdrs *hd, const unsigned char *p, size_t n)
{
	struct fp_result r0, r;

	fingerprint(hd, p, n, 0, &r0);
	fingerprint(hd, p, n, 1, &r);
	assert_true(same_result(&r0, &r));
	fingerprint(hd, p, n, 97, &r);
	assert_true(same_result(&r0, &r));
}

/* test_hostile - long lines, garbage, broken MIME, deep nesting, NULs */
static void
test_hostile(void **state)
{
	static const struct hdrs qp = { { "Content-Transfer-Encoding",
	    "quoted-printable", NULL } };
	static const struct hdrs b64 = { { "Content-Transfer-Encoding",
	    "base64", NULL } };
	static const struct hdrs mp = { { "Content-Type",
	    "multipart/mixed; boundary=b", NULL } };
	static const struct hdrs weird = { { "Content-Type",
	    "multipart/(unterminated; boundary=\"\\", "Content-Type",
	    "", "Content-Transfer-Encoding", "(((", NULL } };
	struct fp_result r;
	size_t n, i;
	char *o;

	(void)state;
	/* 64 KiB lines, plain and inside a multipart, starting with "--" */
	memset(big_a, 'x', 65536);
	memcpy(big_a, "--b", 3);
	hostile(NULL, big_a, 65536);
	hostile(&mp, big_a, 65536);
	big_a[65536] = '\n';
	memset(big_a + 65537, '-', 65536);
	hostile(&mp, big_a, 131073);
	/* a 64 KiB part header, folded many times */
	o = (char *)big_a;
	o += sprintf(o, "--b\r\nContent-Type: multipart/mixed;");
	for (i = 0; i < 4000; i++)
		o += sprintf(o, "\r\n x=\"%010zu\";", i);
	o += sprintf(o, " boundary=c\r\n\r\n--c\r\n\r\nbody\r\n");
	hostile(&mp, big_a, (size_t)(o - (char *)big_a));
	/* only '=', base64 garbage, unterminated escapes */
	memset(big_a, '=', 100000);
	hostile(&qp, big_a, 100000);
	hostile(&b64, big_a, 100000);
	for (i = 0; i < 100000; i++)
		big_a[i] = (unsigned char)rng_next();
	hostile(&qp, big_a, 100000);
	hostile(&b64, big_a, 100000);
	hostile(&mp, big_a, 100000);
	hostile(&weird, big_a, 100000);
	hostile(&qp, (const unsigned char *)"=", 1);
	hostile(&qp, (const unsigned char *)"abc=4", 5);
	hostile(&b64, (const unsigned char *)"QQ", 2);
	/* boundary lines that never close, headers that never end */
	n = (size_t)sprintf((char *)big_a, "--b\r\nContent-Type: text/plain"
	    "\r\n--b\r\n--b\r\nX: y\r\n\r\nopen part\r\n--b\r\n");
	hostile(&mp, big_a, n);
	/* nested multiparts deeper than FP_DEPTH, never closed */
	o = (char *)big_a;
	for (i = 0; i < 3 * FP_DEPTH; i++)
		o += sprintf(o, "--b%zu\r\nContent-Type: multipart/mixed; "
		    "boundary=b%zu\r\n\r\npreamble %zu\r\n", i, i + 1, i);
	o += sprintf(o, "--b%zu\r\n\r\ndeep text\r\n--b2--\r\nafter\r\n",
	    3 * (size_t)FP_DEPTH);
	{
		static const struct hdrs b0 = { { "Content-Type",
		    "multipart/mixed; boundary=b0", NULL } };

		hostile(&b0, big_a, (size_t)(o - (char *)big_a));
		fingerprint(&b0, big_a, (size_t)(o - (char *)big_a), 0, &r);
		assert_true(r.words > 10);
	}
	/* NUL bytes everywhere, and in a boundary line */
	memset(big_a, 0, 10000);
	hostile(NULL, big_a, 10000);
	hostile(&mp, big_a, 10000);
	hostile(&mp, (const unsigned char *)"--b\0\r\n\r\nx\r\n--b\r\n\r\ny",
	    19);
	/* fp_body(NULL, 0), header after body, fp_final twice */
	{
		struct fp_state st;
		struct fp_result r2;

		fp_init(&st);
		fp_body(&st, NULL, 0);
		fp_body(&st, (const unsigned char *)"text", 4);
		fp_header(&st, "Content-Transfer-Encoding", "base64");
		fp_header(&st, NULL, NULL);
		fp_final(&st, &r);
		assert_true(is_norm(&r, "text", 4));
		fp_body(&st, (const unsigned char *)"more", 4);
		fp_final(&st, &r2);
		assert_true(same_result(&r, &r2));
		fp_init(&st);	/* reusable */
		fp_final(&st, &r2);
		assert_true(is_norm(&r2, "", 0));
		assert_int_equal(r2.simhash, 0);
	}
}

/* test_helpers - fp_near, fp_hex, and the size budget */
static void
test_helpers(void **state)
{
	static const unsigned char e[16] = { 0x00, 0x01, 0xab, 0xff, 0x10,
	    0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc9 };
	char hex[33];

	(void)state;
	assert_true(fp_near(0, 0, 0));
	assert_false(fp_near(0, 1, 0));
	assert_true(fp_near(0xff, 0, 8));
	assert_false(fp_near(0xff, 0, 7));
	assert_true(fp_near(0, UINT64_MAX, 64));
	assert_false(fp_near(0, UINT64_MAX, 63));
	fp_hex(e, hex);
	assert_string_equal(hex, "0001abff102030405060708090a0b0c9");
	assert_true(sizeof(struct fp_state) < FP_STATE_BUDGET);
	print_message("sizeof(struct fp_state) = %zu (budget %d)\n",
	    sizeof(struct fp_state), FP_STATE_BUDGET);
}

/* main - the suite; the corpus word list is built once, from the seed */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_one_token),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_hostile),
	};

	make_words();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
