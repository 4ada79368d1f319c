/*
 * fuzz_sender.c - libFuzzer target for what sluice does with a macro
 * value the MTA sends ({auth_authen}, {i}, {client_addr}): lib/sender.c
 * keys and escapes it, lib/config.c picks its class.
 *
 * Input: one or more values separated by NUL bytes, each copied into a
 * buffer of exactly its length plus its NUL (as libmilter hands them
 * over), so any read past the end is caught. Checked for each value:
 *   - the key is 32 lower-case hex digits, the same for the value with
 *     its ASCII letters folded (one quota for Alice and alice);
 *   - the log copy and the reply copy hold only printable ASCII, fit
 *     their buffers, and in the reply copy every '%' is doubled
 *     (smfi_setreply would eat a lone one);
 *   - the log field value (sender_logvalue) is one field: plain bytes
 *     only, or a double-quoted string of printable ASCII whose every
 *     '"' and '\\' is escaped and whose \xHH are well formed; decoded,
 *     it gives back the value (or, when cut, a prefix of it and "...");
 *   - the class is one of the configuration's, "bulk" for a login of
 *     the mapped domain and "default" for an unlisted one.
 * Sanitizers catch the rest. Built with -DSLUICE_FUZZ=ON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "sender.h"
#include "fuzz.h"

#define SHOW_MAX	200	/* as LOGIN_SHOW_MAX in milter/callbacks.c */

static struct config *cfg;

/* LLVMFuzzerInitialize - a config with a class map, in a private dir */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[CONFIG_ERR_MAX];
	FILE *fp;

	(void)argc;
	(void)argv;
	fuzz_workdir("sender");
	if ((fp = fopen("map", "w")) == NULL)
		abort();
	fputs("alice@example.com bulk\n@bulk.example bulk\n"
	    "(null) bulk\n", fp);
	fclose(fp);
	cfg = config_parse_string("class_map map\nclass bulk {\n"
	    "messages 10/1h\n}\n", "fuzz.conf", err, sizeof(err));
	if (cfg == NULL)
		abort();
	return 0;
}

/* printable_ok - printable ASCII only; with reply, no lone '%' */
static int
printable_ok(const char *s, size_t outlen, int reply)
{
	size_t i, n = strlen(s);

	if (n >= outlen)
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
		if (reply && s[i] == '%') {
			if (s[i + 1] != '%')
				return 0;
			i++;
		}
	}
	return 1;
}

/* logvalue_ok - v, made of s by sender_logvalue into outlen bytes, is
 * one log field's value and decodes back to s (or a prefix, when cut) */
static int
logvalue_ok(const char *v, size_t outlen, const char *s)
{
	size_t i, n = strlen(v), o = 0, len = strlen(s);
	char dec[SHOW_MAX];
	unsigned x;

	if (n >= outlen || n == 0)
		return 0;
	if (v[0] != '"') {	/* plain: no byte that could end the field */
		for (i = 0; i < n; i++)
			if (v[i] <= ' ' || v[i] >= 0x7f || v[i] == '=' ||
			    v[i] == '"' || v[i] == '\\')
				return 0;
		/* whole, or cut: a prefix and "..." */
		return strcmp(v, s) == 0 || (n > 3 && strcmp(v + n - 3,
		    "...") == 0 && strncmp(v, s, n - 3) == 0);
	}
	if (n < 2 || v[n - 1] != '"')
		return 0;
	for (i = 1; i < n - 1; i++) {
		if (v[i] < ' ' || v[i] >= 0x7f || v[i] == '"')
			return 0;
		if (v[i] != '\\')
			dec[o++] = v[i];
		else if (v[i + 1] == '"' || v[i + 1] == '\\')
			dec[o++] = v[++i];
		else if (v[i + 1] == 'x' && sscanf(v + i + 2, "%2x", &x) == 1 &&
		    strspn(v + i + 2, "0123456789abcdef") >= 2) {
			dec[o++] = (char)x;
			i += 3;
		} else
			return 0;
	}
	if (o == len && memcmp(dec, s, o) == 0)
		return 1;
	/* cut: what is left of "..." is a prefix */
	return o >= 3 && memcmp(dec + o - 3, "...", 3) == 0 && o - 3 < len &&
	    memcmp(dec, s, o - 3) == 0;
}

/* one - everything the milter does with one value */
static void
one(const uint8_t *v, size_t len)
{
	char key[SENDER_KEY_LEN + 1], key2[SENDER_KEY_LEN + 1];
	char show[SHOW_MAX], reply[SHOW_MAX];
	const struct config_class *cls;
	const char *at;
	char *s, *f;
	size_t i;

	if ((s = malloc(len + 1)) == NULL || (f = malloc(len + 1)) == NULL)
		abort();
	memcpy(s, v, len);
	s[len] = '\0';
	for (i = 0; i <= len; i++)
		f[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') :
		    s[i];
	sender_key(s, key);
	sender_key(f, key2);
	CHECK(strlen(key) == SENDER_KEY_LEN);
	CHECK(strspn(key, "0123456789abcdef") == SENDER_KEY_LEN);
	CHECK(strcmp(key, key2) == 0);
	sender_printable(s, show, sizeof(show), 0);
	CHECK(printable_ok(show, sizeof(show), 0));
	sender_printable(s, reply, sizeof(reply), 1);
	CHECK(printable_ok(reply, sizeof(reply), 1));
	sender_logvalue(s, show, sizeof(show));
	CHECK(logvalue_ok(show, sizeof(show), s));
	cls = config_class_for(cfg, s);
	CHECK(cls == &cfg->classes[0] || cls == &cfg->classes[1]);
	at = strrchr(f, '@');
	if (strcmp(f, "alice@example.com") == 0 || strcmp(f, "(null)") == 0 ||
	    (at != NULL && strcmp(at, "@bulk.example") == 0))
		CHECK(strcmp(cls->name, "bulk") == 0);
	else
		CHECK(strcmp(cls->name, "default") == 0);
	free(s);
	free(f);
}

/* LLVMFuzzerTestOneInput - each NUL-separated value, and the whole */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *e = data + size, *nul;

	while (p <= e) {
		nul = memchr(p, 0, (size_t)(e - p));
		one(p, (size_t)((nul != NULL ? nul : e) - p));
		if (nul == NULL)
			break;
		p = nul + 1;
	}
	return 0;
}
