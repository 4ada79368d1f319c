/*
 * fuzz_addr.c - libFuzzer target for the address counter (lib/addr.c).
 *
 * The input is one header value. Checked, besides memory safety:
 *   - pushing it in pieces (sizes drawn from its first byte) gives the
 *     same counts as one addr_count_header call;
 *   - distinct <= total <= number of ',' and ';' + 1;
 *   - `unbalanced` agrees too, and is at most 1 for one value;
 *   - counting it again in the same message doubles total and, while the
 *     set never filled, leaves distinct alone.
 * Built with -DSLUICE_FUZZ=ON; test/fuzz/run.sh builds and runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz.h"

static struct addr_count whole, split;

/* LLVMFuzzerTestOneInput - count one value whole, in pieces, twice */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data;
	uint32_t seed = size ? data[0] : 0;
	size_t off, n, seps = 0, i;
	uint64_t t1, d1;
	char *name;

	for (i = 0; i < size; i++)
		if (data[i] == ',' || data[i] == ';')
			seps++;

	addr_count_init(&whole);
	addr_count_header(&whole, v, size);
	CHECK(whole.distinct <= whole.total);
	CHECK(whole.total <= seps + 1);
	CHECK(whole.nseen <= ADDR_SEEN_MAX);

	addr_count_init(&split);
	addr_count_begin(&split);
	for (off = 0; off < size; off += n) {
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 17;
		if (n > size - off)
			n = size - off;
		addr_count_push(&split, v + off, n);
	}
	addr_count_end(&split);
	CHECK(split.total == whole.total);
	CHECK(split.distinct == whole.distinct);
	CHECK(split.unbalanced == whole.unbalanced && whole.unbalanced <= 1);

	t1 = whole.total;
	d1 = whole.distinct;
	addr_count_header(&whole, v, size);
	CHECK(whole.total == 2 * t1);
	if (d1 == whole.nseen)	/* the set held every address */
		CHECK(whole.distinct == d1);
	else
		CHECK(whole.distinct >= d1 && whole.distinct <= 2 * d1);

	/* the header-name check on the same bytes, NUL-terminated */
	name = malloc(size + 1);
	if (name != NULL) {
		memcpy(name, data, size);
		name[size] = '\0';
		(void)addr_header_counted(name);
		free(name);
	}
	return 0;
}
