/*
 * fuzz_hopmark.c - libFuzzer target for the hop marker parser, lib/hopmark.c.
 *
 * Input: a header value, then optionally a NUL and a Message-ID (both cut
 * at their first NUL, as libmilter hands over C strings; no NUL: no
 * Message-ID). Checked with a fixed key, cluster, body fingerprint and
 * clock, so the seeds in corpus_hopmark/ (made with those) reach the MAC.
 * Aborts when a property breaks:
 *   - the status is one of enum hopmark_status;
 *   - a value that parsed gives the same status with its blanks removed;
 *   - a verified value (VALID, EXPIRED, FUTURE) carries exactly the MAC
 *     hopmark_make writes for its hops and time: one spelling per marker;
 *   - hopmark_seen_add + hopmark_seen_eval count it once, in the place
 *     hopmark_check puts it;
 *   - make then check with this Message-ID is VALID, and also with it
 *     put in angle brackets.
 * Sanitizers catch the rest. Built with -DSLUICE_FUZZ=ON;
 * test/fuzz/run.sh builds and runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hopmark.h"
#include "fuzz.h"

#define NOW	1700000000ULL
#define LIFE	86400U
#define CLUSTER	"fuzz.c1"
#define ID_MAX	1024		/* longest Message-ID tried */

static const unsigned char key[HOPMARK_KEY_LEN] = {
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x43 };
static const unsigned char fp[16] = "fuzz-body-fp-16b";

/* squeeze - s without SP, HTAB, CR, LF into out (as large as s) */
static void
squeeze(const char *s, char *out)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			*out++ = *s;
	*out = '\0';
}

/* bracketed - 1 if s, without outer blanks, starts '<' or ends '>' */
static int
bracketed(const char *s)
{
	size_t first = 0, last = strlen(s);

	while (first < last && strchr(" \t\r\n", s[first]) != NULL)
		first++;
	while (last > first && strchr(" \t\r\n", s[last - 1]) != NULL)
		last--;
	return last > first && (s[first] == '<' || s[last - 1] == '>');
}

/* counted - the eval counter that status st goes to */
static unsigned
counted(const struct hopmark_eval *ev, enum hopmark_status st)
{
	switch (st) {
	case HOPMARK_VALID:	return ev->valid;
	case HOPMARK_FOREIGN:	return ev->foreign;
	case HOPMARK_EXPIRED:	return ev->expired;
	case HOPMARK_FUTURE:	return ev->future;
	case HOPMARK_BAD_MAC:	return ev->bad_mac;
	case HOPMARK_MALFORMED:	return ev->malformed;
	}
	abort();
}

/* LLVMFuzzerTestOneInput - split, check, and test the properties */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hopmark_seen seen;
	char made[HOPMARK_VALUE_MAX + 1], sq[HOPMARK_VALUE_MAX + 1], *value,
	    *sqv, id[ID_MAX + 3];
	const char *msgid = NULL;
	const uint8_t *nul;
	struct hopmark_eval ev;
	enum hopmark_status st, st2;
	unsigned h, total;
	uint64_t t;
	size_t vlen, ilen;

	nul = memchr(data, '\0', size);
	vlen = nul != NULL ? (size_t)(nul - data) : size;
	value = malloc(vlen + 1);	/* exact size: ASan sees overreads */
	sqv = malloc(vlen + 1);
	if (value == NULL || sqv == NULL)
		abort();
	memcpy(value, data, vlen);
	value[vlen] = '\0';
	if (nul != NULL) {
		ilen = strnlen((const char *)nul + 1, size - vlen - 1);
		if (ilen > ID_MAX)
			ilen = ID_MAX;
		memcpy(id, nul + 1, ilen);
		id[ilen] = '\0';
		msgid = id;
	}

	st = hopmark_check(key, CLUSTER, value, NOW, LIFE, msgid, fp, &h, &t);
	if ((unsigned)st > HOPMARK_MALFORMED)
		abort();

	if (st != HOPMARK_MALFORMED) {
		squeeze(value, sqv);
		st2 = hopmark_check(key, CLUSTER, sqv, NOW, LIFE, msgid, fp,
		    NULL, NULL);
		if (st2 != st)
			abort();
	}

	if (st == HOPMARK_VALID || st == HOPMARK_EXPIRED ||
	    st == HOPMARK_FUTURE) {
		if (hopmark_make(key, CLUSTER, h, t, msgid, fp, made,
		    sizeof(made)) != 0)
			abort();
		squeeze(made, sq);
		squeeze(value, sqv);
		if (strstr(sqv, strstr(sq, "m=")) == NULL)
			abort();
	}

	hopmark_seen_init(&seen);
	hopmark_seen_add(&seen, CLUSTER, value);
	hopmark_seen_eval(&seen, key, CLUSTER, NOW, LIFE, msgid, fp, &ev);
	total = ev.valid + ev.foreign + ev.expired + ev.future + ev.bad_mac +
	    ev.malformed;
	if (total != 1 || counted(&ev, st) != 1 || ev.toomany != 0 ||
	    ev.hops != (st == HOPMARK_VALID ? h : 0))
		abort();

	if (hopmark_make(key, CLUSTER, 2, NOW, msgid, fp, made,
	    sizeof(made)) != 0 ||
	    hopmark_check(key, CLUSTER, made, NOW, LIFE, msgid, fp, &h,
	    &t) != HOPMARK_VALID || h != 2 || t != NOW)
		abort();
	/* "<id>" is the same identity as "id" unless id has brackets */
	if (msgid != NULL && !bracketed(id)) {
		memmove(id + 1, id, ilen + 1);
		id[0] = '<';
		id[ilen + 1] = '>';
		id[ilen + 2] = '\0';
		if (hopmark_check(key, CLUSTER, made, NOW, LIFE, id, fp, NULL,
		    NULL) != HOPMARK_VALID)
			abort();
	}
	free(value);
	free(sqv);
	return 0;
}
