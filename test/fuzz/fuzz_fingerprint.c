/*
 * fuzz_fingerprint.c - libFuzzer target for lib/fingerprint.c.
 *
 * Input: byte 0 picks the top-level headers (bits 0-1: no CTE, 7bit,
 * quoted-printable, base64; bit 2: the Content-Type value is the input up
 * to its first '\n'); the rest is the body. The body is fed whole, then in
 * random chunks (sizes from a seed in the input), then one byte at a time
 * when short: all three must give the same fp_result, or the target
 * aborts. Sanitizers catch the rest. Built with -DSLUICE_FUZZ=ON;
 * test/fuzz/run.sh builds and runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "fuzz.h"

/* run - one pass over the body; chunk 0: whole, 1: bytes, else random */
static void
run(uint8_t sel, const char *ctype, const uint8_t *body, size_t len,
    uint64_t seed, int chunk, struct fp_result *res)
{
	static const char *const cte[] = { NULL, "7bit", "quoted-printable",
	    "base64" };
	struct fp_state st;
	size_t off = 0, n;

	fp_init(&st);
	fp_header(&st, "Subject", "fuzz");
	if (ctype != NULL)
		fp_header(&st, "Content-Type", ctype);
	if (cte[sel & 3] != NULL)
		fp_header(&st, "Content-Transfer-Encoding", cte[sel & 3]);
	while (off < len) {
		if (chunk == 0)
			n = len - off;
		else if (chunk == 1)
			n = 1;
		else {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			n = 1 + (size_t)(seed % 300);
			if (n > len - off)
				n = len - off;
		}
		fp_body(&st, body + off, n);
		off += n;
	}
	fp_final(&st, res);
}

/* same - two results equal in every field */
static int
same(const struct fp_result *a, const struct fp_result *b)
{
	return memcmp(a->exact, b->exact, sizeof(a->exact)) == 0 &&
	    a->simhash == b->simhash && a->bytes == b->bytes &&
	    a->words == b->words;
}

/* LLVMFuzzerTestOneInput - split the input into headers and body, check */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ctype[1025], hex[33];
	const char *ct = NULL;
	const uint8_t *body, *nl;
	struct fp_result whole, part;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t len, i, n;
	uint8_t sel;

	if (size == 0)
		return 0;
	sel = data[0];
	body = data + 1;
	len = size - 1;
	if (sel & 4) {
		nl = memchr(body, '\n', len);
		n = nl != NULL ? (size_t)(nl - body) : len;
		if (n > sizeof(ctype) - 1)
			n = sizeof(ctype) - 1;
		memcpy(ctype, body, n);
		ctype[n] = '\0';	/* a NUL inside just cuts it short */
		ct = ctype;
		if (nl != NULL) {
			len -= (size_t)(nl - body) + 1;
			body = nl + 1;
		} else
			len = 0;
	}
	for (i = 0; i < len && i < 8; i++)
		seed = (seed ^ body[i]) * 0x100000001b3ULL;
	run(sel, ct, body, len, 0, 0, &whole);
	run(sel, ct, body, len, seed | 1, 2, &part);
	if (!same(&whole, &part))
		abort();
	if (len <= 4096) {
		run(sel, ct, body, len, 0, 1, &part);
		if (!same(&whole, &part))
			abort();
	}
	fp_hex(whole.exact, hex);
	if (strlen(hex) != 32 || !fp_near(whole.simhash, whole.simhash, 0))
		abort();
	return 0;
}
