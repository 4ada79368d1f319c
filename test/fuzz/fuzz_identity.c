/*
 * fuzz_identity.c - libFuzzer target for the From: reader (lib/identity.c).
 *
 * The input is one From: header value. Checked, besides memory safety:
 *   - addresses + unreadable elements <= number of ',' and ';' + 1;
 *   - every kept address has a non-empty local part, one last '@' with a
 *     domain after it, and no ASCII capital;
 *   - reading it as two From: headers is always a mismatch for an
 *     address login, and one header is a mismatch unless every address
 *     is the login's own.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib
 *        lib/identity.c test/fuzz/fuzz_identity.c -o fuzz_identity
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "fuzz.h"

static char out[IDENT_FROM_MAX][IDENT_ADDR_MAX + 1];
static struct ident_from from;

/* LLVMFuzzerTestOneInput - read one value; check the invariants */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data;
	unsigned n, bad = 0, i;
	size_t seps = 0, k;
	char why[200];
	const char *at;

	for (k = 0; k < size; k++)
		seps += v[k] == ',' || v[k] == ';';
	n = ident_extract(v, size, out, IDENT_FROM_MAX, &bad);
	CHECK((size_t)n + bad <= seps + 1);
	for (i = 0; i < n && i < IDENT_FROM_MAX; i++) {
		at = strrchr(out[i], '@');
		CHECK(at != NULL && at != out[i] && at[1] != '\0');
		for (k = 0; out[i][k] != '\0'; k++)
			CHECK(out[i][k] < 'A' || out[i][k] > 'Z');
	}
	ident_from_init(&from);
	ident_from_header(&from, v, size);
	CHECK(from.naddr == n && from.bad == bad);
	if (ident_check(NULL, "alice@example.com", &from, why, sizeof(why)) ==
	    IDENT_OK)
		for (i = 0; i < n; i++)
			CHECK(strcmp(out[i], "alice@example.com") == 0);
	ident_from_header(&from, v, size);
	CHECK(ident_check(NULL, "alice@example.com", &from, why,
	    sizeof(why)) == IDENT_MISMATCH);
	return 0;
}
