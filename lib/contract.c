/*
 * contract.c - builds and parses the control contract's key names and
 * events (doc/control-contract.md): the one place that knows them, used
 * by milter/control.c, sluicectl and the tests. lib/store_redis.c writes
 * the counter keys byte by byte for speed, in the same format.
 *
 * Pure functions over the caller's buffers; thread-safe; no I/O.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "window.h"

static const char *const ev_names[] = {
	[CONTRACT_EV_LOCK] = "lock",
	[CONTRACT_EV_UNLOCK] = "unlock",
	[CONTRACT_EV_RESET] = "reset",
	[CONTRACT_EV_CLASS] = "class",
};

/* fits - snprintf's result as 0, or -1 when it was cut */
static int
fits(int n, size_t outlen)
{
	return n >= 0 && (size_t)n < outlen ? 0 : -1;
}

/* contract_key_ok - 32 lower-case hex digits, as sender_key() makes them */
int
contract_key_ok(const char *s, size_t len)
{
	size_t i;

	if (len != CONTRACT_SENDER_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* contract_global - P:name */
int
contract_global(char *out, size_t outlen, const char *prefix,
    const char *name)
{
	return fits(snprintf(out, outlen, "%s%s", prefix, name), outlen);
}

/* contract_sender - P{H}:rest */
int
contract_sender(char *out, size_t outlen, const char *prefix,
    const char *sender, const char *rest)
{
	return fits(snprintf(out, outlen, "%s{%s}:%s", prefix, sender, rest),
	    outlen);
}

/* contract_counter - P{H}:name[:sub]:window:buckets, as store_redis.c
 * names it */
int
contract_counter(char *out, size_t outlen, const char *prefix,
    const char *sender, const char *name, const char *sub, uint32_t window,
    uint32_t buckets)
{
	int has = sub != NULL && sub[0] != '\0';

	return fits(snprintf(out, outlen, "%s{%s}:%s%s%s:%u:%u", prefix,
	    sender, name, has ? ":" : "", has ? sub : "", window, buckets),
	    outlen);
}

/* num - a decimal uint32 of the whole string, > 0; 0 if not */
static uint32_t
num(const char *s)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

/* contract_counter_parse - P{H}:name[:sub]:window:buckets into its fields */
int
contract_counter_parse(const char *prefix, const char *key,
    struct contract_counter *k)
{
	size_t plen = strlen(prefix), n;
	char rest[128], *f[5], *p, *save = NULL;
	int nf = 0;

	if (strncmp(key, prefix, plen) != 0 || key[plen] != '{')
		return -1;
	key += plen + 1;
	n = strspn(key, "0123456789abcdef");
	if (n == 0 || n >= sizeof(k->sender) || key[n] != '}' ||
	    key[n + 1] != ':')
		return -1;
	memcpy(k->sender, key, n);
	k->sender[n] = '\0';
	key += n + 2;
	if (strlen(key) >= sizeof(rest))
		return -1;
	strcpy(rest, key);
	for (p = rest; nf < 5; p = NULL) {
		if ((f[nf] = strtok_r(p, ":", &save)) == NULL)
			break;
		nf++;
	}
	if (nf != 3 && nf != 4)
		return -1;
	if (strlen(f[0]) >= sizeof(k->name))
		return -1;
	strcpy(k->name, f[0]);
	k->sub[0] = '\0';
	if (nf == 4) {
		if (strlen(f[1]) >= sizeof(k->sub))
			return -1;
		strcpy(k->sub, f[1]);
	}
	k->window = num(f[nf - 2]);
	k->buckets = num(f[nf - 1]);
	if (k->window == 0 || k->buckets == 0 ||
	    k->buckets > WINDOW_MAX_BUCKETS)
		return -1;
	return 0;
}

/* contract_event - "lock H", "unlock H", "reset H" or "class" */
int
contract_event(char *out, size_t outlen, enum contract_event ev,
    const char *key)
{
	if (ev <= CONTRACT_EV_NONE || ev > CONTRACT_EV_CLASS ||
	    (ev == CONTRACT_EV_CLASS) != (key == NULL))
		return -1;
	if (key == NULL)
		return fits(snprintf(out, outlen, "%s", ev_names[ev]), outlen);
	return fits(snprintf(out, outlen, "%s %s", ev_names[ev], key), outlen);
}

/* contract_fq_key - P:fq:QUEUEID */
int
contract_fq_key(char *out, size_t outlen, const char *prefix,
    const char *qid)
{
	const char *p;

	if (qid[0] == '\0')
		return -1;
	for (p = qid; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return -1;
	return fits(snprintf(out, outlen, "%s%s:%s", prefix, CONTRACT_FQ,
	    qid), outlen);
}

/* contract_fq_value - "H ORIGIN LOGIN" */
int
contract_fq_value(char *out, size_t outlen, const char *sender,
    const char *origin, const char *login)
{
	if (!contract_key_ok(sender, strlen(sender)))
		return -1;
	return fits(snprintf(out, outlen, "%s %s %s", sender, origin, login),
	    outlen);
}

/* contract_fq_parse - "H ORIGIN LOGIN" split in place */
int
contract_fq_parse(char *value, const char **sender, const char **origin,
    const char **login)
{
	char *sp, *sp2;

	if ((sp = strchr(value, ' ')) == NULL ||
	    (sp2 = strchr(sp + 1, ' ')) == NULL ||
	    !contract_key_ok(value, (size_t)(sp - value)) || sp2 == sp + 1)
		return -1;
	*sp = *sp2 = '\0';
	*sender = value;
	*origin = sp + 1;
	*login = sp2 + 1;
	return 0;
}

/* contract_event_parse - an event and its sender key; NONE if not ours */
enum contract_event
contract_event_parse(const char *s, size_t len, char *key)
{
	size_t n;
	int ev;

	if (len == 5 && memcmp(s, "class", 5) == 0)
		return CONTRACT_EV_CLASS;
	for (ev = CONTRACT_EV_LOCK; ev <= CONTRACT_EV_RESET; ev++) {
		n = strlen(ev_names[ev]);
		if (len == n + 1 + CONTRACT_SENDER_LEN &&
		    memcmp(s, ev_names[ev], n) == 0 && s[n] == ' ' &&
		    contract_key_ok(s + n + 1, CONTRACT_SENDER_LEN)) {
			memcpy(key, s + n + 1, CONTRACT_SENDER_LEN);
			key[CONTRACT_SENDER_LEN] = '\0';
			return (enum contract_event)ev;
		}
	}
	return CONTRACT_EV_NONE;
}
