/*
 * ctlproto.c - split and join the lines of sluicectl's control socket
 * protocol (ctlproto.h). Never does I/O: the daemon (milter/ctlsock.c)
 * and sluicectl (tools/ctl_sock.c) read and write, this only turns
 * bytes into fields and back. Input is hostile: every byte is checked,
 * nothing is truncated silently, no allocation.
 *
 * Thread-safe: no state.
 */
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"

/* hexval - a hex digit's value, or -1 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ctlproto_split - decode a line into fields */
int
ctlproto_split(const char *s, size_t len, struct ctlproto_line *l, char *err,
    size_t errlen)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	char *o = l->buf;
	int hi, lo;

	l->n = 0;
	if (len + 1 > CTLPROTO_LINE_MAX) {
		snprintf(err, errlen, "line longer than %d bytes",
		    CTLPROTO_LINE_MAX);
		return -1;
	}
	if (len == 0) {
		snprintf(err, errlen, "empty line");
		return -1;
	}
	while (p < end) {
		if (l->n == CTLPROTO_FIELDS_MAX) {
			snprintf(err, errlen, "more than %d fields",
			    CTLPROTO_FIELDS_MAX);
			return -1;
		}
		l->f[l->n] = o;
		if (*p == ' ') {
			snprintf(err, errlen, "empty field at byte %zu",
			    (size_t)(p - (const unsigned char *)s));
			return -1;
		}
		if (*p == '-' && (p + 1 == end || p[1] == ' ')) {
			p++;		/* "-": the empty field */
		} else {
			for (; p < end && *p != ' '; p++) {
				if (*p < 0x21 || *p > 0x7e) {
					snprintf(err, errlen, "byte 0x%02x at "
					    "%zu", *p, (size_t)(p -
					    (const unsigned char *)s));
					return -1;
				}
				if (*p != '%') {
					*o++ = (char)*p;
					continue;
				}
				if (end - p < 3 || (hi = hexval(p[1])) < 0 ||
				    (lo = hexval(p[2])) < 0) {
					snprintf(err, errlen, "bad %%HH at "
					    "byte %zu", (size_t)(p -
					    (const unsigned char *)s));
					return -1;
				}
				*o++ = (char)(hi << 4 | lo);
				p += 2;
			}
		}
		l->len[l->n] = (size_t)(o - l->f[l->n]);
		*o++ = '\0';	/* decoding never grows: buf holds it */
		l->n++;
		if (p < end) {
			p++;	/* the space */
			if (p == end) {
				snprintf(err, errlen, "space at the end");
				return -1;
			}
		}
	}
	return 0;
}

/* ctlproto_request - split a request and check its version */
int
ctlproto_request(const char *s, size_t len, struct ctlproto_line *l,
    char *err, size_t errlen)
{
	size_t i;

	if (ctlproto_split(s, len, l, err, errlen) == -1)
		return -1;
	if (strcmp(l->f[0], CTLPROTO_MAGIC) != 0) {
		snprintf(err, errlen, "not a %s request", CTLPROTO_MAGIC);
		return -1;
	}
	if (l->n < 2 || l->len[1] == 0) {
		snprintf(err, errlen, "no command");
		return -1;
	}
	for (i = 1; i < l->n; i++) {	/* drop the version */
		l->f[i - 1] = l->f[i];
		l->len[i - 1] = l->len[i];
	}
	l->n--;
	return 0;
}

/* ctlproto_join - encode fields as one line with its "\n" */
size_t
ctlproto_join(char *out, size_t outlen, size_t n, const char *const *f)
{
	static const char hex[] = "0123456789ABCDEF";
	/* the line with its "\n" is at most max - 1 bytes: room for a NUL */
	size_t i, o = 0, max = outlen < CTLPROTO_LINE_MAX + 1 ? outlen :
	    CTLPROTO_LINE_MAX + 1;
	const unsigned char *p;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		p = (const unsigned char *)f[i];
		if (i > 0) {
			if (o + 1 >= max)
				return 0;
			out[o++] = ' ';
		}
		if (*p == '\0') {
			if (o + 1 >= max)
				return 0;
			out[o++] = '-';
			continue;
		}
		for (; *p != '\0'; p++) {
			if (*p >= 0x21 && *p <= 0x7e && *p != '%' &&
			    !(*p == '-' && p == (const unsigned char *)f[i] &&
			    p[1] == '\0')) {
				if (o + 1 >= max)
					return 0;
				out[o++] = (char)*p;
				continue;
			}
			if (o + 3 >= max)
				return 0;
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o + 1 >= max)
		return 0;
	out[o++] = '\n';
	out[o] = '\0';
	return o;
}
