/*
 * fuzz_ctlproto.c - libFuzzer target for the control socket's line
 * protocol, lib/ctlproto.c: what the daemon reads from any local client.
 *
 * Input: one line (without its "\n"). Aborts when a property breaks:
 *   - a line that splits has 1..CTLPROTO_FIELDS_MAX fields;
 *   - joining its fields again and splitting the result gives the same
 *     fields (one encoding per value; a field with a NUL byte can only
 *     come from %00 and is skipped);
 *   - what ctlproto_request accepts has a non-empty command.
 * Also feeds the input to store_memory_load (the state file's records,
 * the other bytes read from outside) on a fresh store. Built with
 * -DSLUICE_FUZZ=ON; test/fuzz/run.sh builds and runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "store.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctlproto_line a, b, r;
	const char *f[CTLPROTO_FIELDS_MAX];
	char line[CTLPROTO_LINE_MAX], err[128];
	struct store *st;
	size_t i, n, loaded;
	int nul = 0;

	if (ctlproto_split((const char *)data, size, &a, err, sizeof(err)) ==
	    0) {
		if (a.n == 0 || a.n > CTLPROTO_FIELDS_MAX)
			abort();
		for (i = 0; i < a.n; i++) {
			f[i] = a.f[i];
			if (strlen(a.f[i]) != a.len[i])
				nul = 1;
		}
		n = ctlproto_join(line, sizeof(line), a.n, f);
		if (!nul && n > 0) {
			if (line[n - 1] != '\n' ||
			    ctlproto_split(line, n - 1, &b, err, sizeof(err)) ==
			    -1 || b.n != a.n)
				abort();
			for (i = 0; i < a.n; i++)
				if (b.len[i] != a.len[i] ||
				    memcmp(b.f[i], a.f[i], a.len[i]) != 0)
					abort();
		}
	}
	if (ctlproto_request((const char *)data, size, &r, err, sizeof(err)) ==
	    0 && (r.n < 1 || r.len[0] == 0))
		abort();
	if ((st = store_memory_new(NULL, NULL)) != NULL) {
		store_memory_load(st, data, size, &loaded, err, sizeof(err));
		store_free(st);
	}
	return 0;
}
