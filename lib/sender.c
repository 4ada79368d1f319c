/*
 * sender.c - logins into store keys and into text safe to show.
 *
 * A login is whatever the MTA's SASL layer accepted: it may hold braces,
 * colons, spaces, CR/LF or '%'. It never reaches a store key or an SMTP
 * reply as is: keys carry a BLAKE2b-128 hash (libsodium), replies an
 * escaped copy, log lines a value that stays one field (sender_logvalue:
 * plain, or quoted and escaped). Thread-safe; no allocation.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "sender.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

/* sodium_start - initialise libsodium once per process */
static void
sodium_start(void)
{
	if (sodium_init() < 0)
		sodium_misuse();
}

/* key_hash - lower-case hex BLAKE2b-128 of tag (with its NUL, if any)
 * and the case-folded login */
static void
key_hash(const char *tag, const char *login, char *out)
{
	static const char hex[] = "0123456789abcdef";
	crypto_generichash_state st;
	unsigned char buf[256], h[SENDER_KEY_LEN / 2];
	size_t len = strlen(login), off, n, i;

	pthread_once(&sodium_once, sodium_start);
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	if (tag != NULL)	/* "envelope\0": no login holds a NUL */
		crypto_generichash_update(&st, (const unsigned char *)tag,
		    strlen(tag) + 1);
	for (off = 0; off < len; off += n) {
		n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = (unsigned char)tolower((unsigned char)login[off + i]);
		crypto_generichash_update(&st, buf, n);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	for (i = 0; i < sizeof(h); i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[SENDER_KEY_LEN] = '\0';
}

/* sender_key - lower-case hex BLAKE2b-128 of the case-folded login */
void
sender_key(const char *login, char *out)
{
	key_hash(NULL, login, out);
}

/* sender_origin_key - the key of a login of one origin */
void
sender_origin_key(enum sender_origin o, const char *login, char *out)
{
	key_hash(o == SENDER_SASL ? NULL : sender_origin_name(o), login, out);
}

/* sender_origin_name - "sasl", "header" or "envelope" */
const char *
sender_origin_name(enum sender_origin o)
{
	switch (o) {
	case SENDER_SASL:
		break;
	case SENDER_HEADER:
		return "header";
	case SENDER_ENVELOPE:
		return "envelope";
	}
	return "sasl";
}

/* sender_origin_parse - an origin by its name */
int
sender_origin_parse(const char *name, enum sender_origin *o)
{
	static const enum sender_origin all[] = { SENDER_SASL, SENDER_HEADER,
	    SENDER_ENVELOPE };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(name, sender_origin_name(all[i])) == 0) {
			*o = all[i];
			return 0;
		}
	return -1;
}

/* sender_qualified - the login, or "origin:login" when not SASL */
char *
sender_qualified(enum sender_origin o, const char *login, char *out,
    size_t outlen)
{
	int w;

	if (o == SENDER_SASL)
		w = snprintf(out, outlen, "%s", login);
	else
		w = snprintf(out, outlen, "%s:%s", sender_origin_name(o), login);
	return w >= 0 && (size_t)w < outlen ? out : NULL;
}

/* sender_class_names - whole name and @domain to look a login up by */
int
sender_class_names(enum sender_origin o, const char *login, char *whole,
    char *dom, const char **wp, const char **dp)
{
	const char *at = strrchr(login, '@');

	*wp = login;
	*dp = at;
	if (o != SENDER_ENVELOPE)
		return 0;
	if (sender_qualified(o, login, whole, SENDER_NAME_MAX + 1) == NULL)
		return -1;
	*wp = whole;
	if (at != NULL) {
		sender_qualified(o, at, dom, SENDER_NAME_MAX + 1);
		*dp = dom;
	}
	return 0;
}

/* sender_with_domain - login@domain for a bare login */
char *
sender_with_domain(const char *login, const char *domain, char *out,
    size_t outlen)
{
	int w;

	if (domain == NULL || strchr(login, '@') != NULL)
		w = snprintf(out, outlen, "%s", login);
	else
		w = snprintf(out, outlen, "%s@%s", login, domain);
	return w >= 0 && (size_t)w < outlen ? out : NULL;
}

/* sender_printable - escaped copy of in for a log line or a reply */
void
sender_printable(const char *in, char *out, size_t outlen, int for_reply)
{
	size_t o = 0, need;
	char tmp[5];
	const char *add;
	unsigned char c;

	if (outlen == 0)
		return;
	for (; (c = (unsigned char)*in) != '\0'; in++) {
		if (c == '%' && for_reply)
			add = "%%";
		else if (c == '\\')
			add = "\\\\";
		else if (c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			add = tmp;
		} else {
			tmp[0] = (char)c;
			tmp[1] = '\0';
			add = tmp;
		}
		need = strlen(add);
		if (o + need + 4 > outlen) {	/* room for "..." and NUL */
			if (outlen >= 4) {
				memcpy(out + (o < outlen - 4 ? o : outlen - 4),
				    "...", 4);
				return;
			}
			break;
		}
		memcpy(out + o, add, need);
		o += need;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

/* plain_byte - may this byte stand unquoted in a log field's value? */
static int
plain_byte(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '=' && c != '"' && c != '\\';
}

/* sender_logvalue - in as one log field's value: plain, or quoted */
void
sender_logvalue(const char *in, char *out, size_t outlen)
{
	const unsigned char *p;
	size_t o = 1, need;
	char tmp[5];

	if (outlen < 8) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	for (p = (const unsigned char *)in; *p != '\0' && plain_byte(*p); p++)
		;
	if (*p == '\0' && p != (const unsigned char *)in) {
		/* nothing to escape: sender_printable copies (or cuts) it */
		sender_printable(in, out, outlen, 0);
		return;
	}
	out[0] = '"';
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			snprintf(tmp, sizeof(tmp), "\\%c", *p);
		else if (*p < ' ' || *p >= 0x7f)
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		else
			snprintf(tmp, sizeof(tmp), "%c", *p);
		need = strlen(tmp);
		/* the last byte needs room for '"' and NUL after it, any
		 * other for "...\"" and NUL, in case it is cut after it */
		if (o + need + (p[1] != '\0' ? 5 : 2) > outlen)
			break;
		memcpy(out + o, tmp, need);
		o += need;
	}
	if (*p != '\0') {
		memcpy(out + o, "...", 3);	/* o + 5 <= outlen: it fits */
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}
