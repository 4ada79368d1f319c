/*
 * fuzz_mtalog.c - libFuzzer target for lib/mtalog.c: any bytes as one
 * log line, in both formats, copied into a buffer of exactly their
 * length (no NUL), so any read past the end is caught. Checked: an
 * outcome has a queue id of 5 to MTALOG_QID_MAX letters and digits and a
 * dsn of digits and dots; no outcome leaves the record zeroed.
 * Built with -DSLUICE_FUZZ=ON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtalog.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - the invariants of one parse */
static void
check(const struct mtalog_rec *r, enum mtalog_outcome o)
{
	size_t n = strlen(r->qid), i;

	if (o == MTALOG_NONE) {
		if (r->qid[0] != '\0' || r->dsn[0] != '\0' || r->unknown)
			abort();
		return;
	}
	if (n < 5 || n > MTALOG_QID_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (!((r->qid[i] >= 'A' && r->qid[i] <= 'Z') ||
		    (r->qid[i] >= 'a' && r->qid[i] <= 'z') ||
		    (r->qid[i] >= '0' && r->qid[i] <= '9')))
			abort();
	if (strspn(r->dsn, "0123456789.") != strlen(r->dsn))
		abort();
	if (r->unknown && strcmp(r->dsn, "5.1.1") != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtalog_rec r;
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	check(&r, mtalog_parse(MTALOG_POSTFIX, buf, size, &r));
	check(&r, mtalog_parse(MTALOG_SENDMAIL, buf, size, &r));
	free(buf);
	return 0;
}
