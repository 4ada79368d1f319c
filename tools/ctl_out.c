/*
 * ctl_out.c - sluicectl's output: JSON strings, logins in text, times.
 *
 * Logins are hostile: in text they are escaped like the daemon's log
 * lines (sender_printable: \xHH for anything not printable ASCII), in
 * JSON they become valid JSON strings whatever their bytes: quotes,
 * backslashes and control bytes escaped, valid UTF-8 kept, and each byte
 * of invalid UTF-8 written as the code point of the same value (\u00HH),
 * so the output always parses.
 */
#include <string.h>
#include <time.h>

#include "sender.h"
#include "sluicectl.h"

/* utf8_len - length of the valid UTF-8 sequence at s (n bytes left), or 0 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* no overlong forms, no surrogates, nothing past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* json_strn - s[0..len) as a JSON string, quotes included */
void
json_strn(FILE *fp, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	fputc('"', fp);
	while (i < len) {
		if (p[i] == '"' || p[i] == '\\') {
			fputc('\\', fp);
			fputc(p[i++], fp);
		} else if (p[i] == '\n') {
			fputs("\\n", fp);
			i++;
		} else if (p[i] == '\t') {
			fputs("\\t", fp);
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			fprintf(fp, "\\u%04x", p[i++]);
		} else if ((n = utf8_len(p + i, len - i)) == 0) {
			fprintf(fp, "\\u%04x", p[i++]);
		} else {
			fwrite(p + i, 1, n, fp);
			i += n;
		}
	}
	fputc('"', fp);
}

/* json_str - a NUL-terminated string as JSON; NULL as null */
void
json_str(FILE *fp, const char *s)
{
	if (s == NULL)
		fputs("null", fp);
	else
		json_strn(fp, s, strlen(s));
}

/* text_login - a login escaped for a terminal, left-aligned in width */
void
text_login(FILE *fp, const char *s, int width)
{
	char buf[256];

	sender_printable(s, buf, sizeof(buf), 0);
	fprintf(fp, "%-*s", width, buf);
}

/* fmt_time - unix seconds as "2026-11-30T01:20:00Z" */
void
fmt_time(uint64_t unix_s, char *out, size_t outlen)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%llu", (unsigned long long)unix_s);
}

/* fmt_window - seconds as "1h", "15m", "90s", "1d" */
void
fmt_window(uint32_t s, char *out, size_t outlen)
{
	config_format_window(s, out, outlen);
}

/* ctl_who - a who value split into the login and its origin's name */
const char *
ctl_who(char *who, const char **origin)
{
	char *tab = strchr(who, '\t');
	enum sender_origin o;

	*origin = "sasl";	/* no TAB: a SASL login (and older daemons) */
	if (tab != NULL) {
		*tab = '\0';
		if (sender_origin_parse(tab + 1, &o) == 0)
			*origin = sender_origin_name(o);
	}
	return who;
}
