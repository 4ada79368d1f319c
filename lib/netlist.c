/*
 * netlist.c - IPv4 and IPv6 networks in CIDR notation, and whether an
 * address is in one of them.
 *
 * Public: netlist_parse, netlist_free, netlist_match, netlist_count,
 * netlist_format.
 *
 * Every network is kept as 16 bytes and a prefix length: an IPv4 network
 * a.b.c.d/n as the IPv4-mapped ::ffff:a.b.c.d/(96 + n), so a client that
 * an IPv6 socket reports as ::ffff:10.1.2.3 matches 10.0.0.0/8. A bare
 * address is a /32 or /128. Host bits set under the mask
 * (10.1.2.3/8) are an error, as a typo there would trust the wrong
 * network. Zone ids (fe80::1%eth0) and host names are refused.
 *
 * Memory: the caller owns the list (netlist_free). Thread-safety: a list
 * is only read after parsing. Nothing here logs.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlist.h"

#define ENTRY_TEXT_MAX	64	/* longest "address/prefix" */

struct net {
	unsigned char	 a[16];	/* network, host bits zero */
	unsigned	 bits;	/* prefix length, 0..128 */
};

struct netlist {
	struct net	 v[NETLIST_MAX];
	size_t		 n;
};

/* to16 - an IPv4 or IPv6 address into 16 bytes; is4 says which; -1 if
 * neither */
static int
to16(const char *s, unsigned char a[16], int *is4)
{
	struct in_addr v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &v4, 4);
		*is4 = 1;
		return 0;
	}
	*is4 = 0;
	return inet_pton(AF_INET6, s, a) == 1 ? 0 : -1;
}

/* in_net - are the first bits of a and the network equal? */
static int
in_net(const unsigned char a[16], const struct net *n)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;
	unsigned char mask;

	if (memcmp(a, n->a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == n->a[full];
}

/* entry - one "address[/prefix]" into n */
static int
entry(const char *t, size_t len, struct net *n, char *err, size_t errlen)
{
	char buf[ENTRY_TEXT_MAX + 1], *slash;
	unsigned long bits;
	unsigned char host[16];
	char *end;
	int is4;
	size_t i;

	if (len > ENTRY_TEXT_MAX) {
		snprintf(err, errlen, "\"%.*s...\": not a network", 20, t);
		return -1;
	}
	memcpy(buf, t, len);
	buf[len] = '\0';
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	if (to16(buf, n->a, &is4) == -1) {
		snprintf(err, errlen, "\"%s\": expected an IPv4 or IPv6 "
		    "address, optionally /prefix", buf);
		return -1;
	}
	n->bits = 128;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' ||
		    (bits = strtoul(slash + 1, &end, 10)) > (is4 ? 32UL :
		    128UL) || *end != '\0' || end - slash > 4) {
			snprintf(err, errlen, "\"%s/%s\": the prefix must be "
			    "0 to %d", buf, slash + 1, is4 ? 32 : 128);
			return -1;
		}
		n->bits = (unsigned)bits + (is4 ? 96 : 0);
	}
	memcpy(host, n->a, 16);
	for (i = 0; i < 16; i++) {
		if (i * 8 >= n->bits)
			n->a[i] = 0;
		else if (i * 8 + 8 > n->bits)
			n->a[i] &= (unsigned char)(0xff << (8 - (n->bits -
			    i * 8)));
	}
	if (memcmp(host, n->a, 16) != 0) {
		snprintf(err, errlen, "\"%s/%s\": host bits set under the "
		    "mask", buf, slash != NULL ? slash + 1 : "");
		return -1;
	}
	return 0;
}

/* netlist_parse - networks separated by commas and/or blanks */
struct netlist *
netlist_parse(const char *s, char *err, size_t errlen)
{
	static const char sep[] = ", \t";
	struct netlist *l;
	size_t len;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (;;) {
		s += strspn(s, sep);
		if (*s == '\0')
			break;
		len = strcspn(s, sep);
		if (l->n == NETLIST_MAX) {
			snprintf(err, errlen, "more than %d networks",
			    NETLIST_MAX);
			goto fail;
		}
		if (entry(s, len, &l->v[l->n], err, errlen) == -1)
			goto fail;
		l->n++;
		s += len;
	}
	if (l->n == 0) {
		snprintf(err, errlen, "expected one or more networks, e.g. "
		    "10.0.0.0/8, 192.0.2.5, ::1/128");
		goto fail;
	}
	return l;
fail:
	free(l);
	return NULL;
}

/* netlist_free - release a list; NULL is fine */
void
netlist_free(struct netlist *l)
{
	free(l);
}

/* netlist_match - is the address in one of the networks? */
int
netlist_match(const struct netlist *l, const char *addr)
{
	unsigned char a[16];
	size_t i;
	int is4;

	if (l == NULL || addr == NULL || strlen(addr) > ENTRY_TEXT_MAX ||
	    to16(addr, a, &is4) == -1)
		return 0;
	for (i = 0; i < l->n; i++)
		if (in_net(a, &l->v[i]))
			return 1;
	return 0;
}

/* netlist_count - how many networks */
size_t
netlist_count(const struct netlist *l)
{
	return l != NULL ? l->n : 0;
}

/*
 * shortest6 - an IPv6 address in its shortest text: groups without
 * leading zeros, the longest run of zero groups (even a single one, which
 * inet_ntop writes out) as "::". Never longer than any text inet_pton
 * reads as that address, so a list written back fits its line.
 */
static void
shortest6(const unsigned char a[16], char *out, size_t outlen)
{
	unsigned g[8];
	int i, run = 0, best = 0, at = -1;
	size_t o = 0;

	for (i = 0; i < 8; i++) {
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		run = g[i] == 0 ? run + 1 : 0;
		if (run > best) {
			best = run;
			at = i - run + 1;
		}
	}
	out[0] = '\0';
	for (i = 0; i < 8 && o < outlen; i++) {
		if (i == at) {
			o += (size_t)snprintf(out + o, outlen - o, "::");
			i += best - 1;
			continue;
		}
		o += (size_t)snprintf(out + o, outlen - o, "%s%x",
		    i > 0 && i != at + best ? ":" : "", g[i]);
	}
}

/*
 * netlist_format - the list as netlist_parse reads it back: "10.0.0.0/8,
 * 192.0.2.5, ::1" (IPv4 networks as IPv4, a whole address bare), joined
 * by sep; returns the length the text needs, like snprintf
 */
size_t
netlist_format(const struct netlist *l, const char *sep, char *out,
    size_t outlen)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	char addr[INET6_ADDRSTRLEN], one[INET6_ADDRSTRLEN + 8];
	size_t i, o = 0, len;
	int is4;
	unsigned bits;

	if (outlen > 0)
		out[0] = '\0';
	for (i = 0; i < l->n; i++) {
		is4 = l->v[i].bits >= 96 && memcmp(l->v[i].a, mapped, 12) == 0;
		bits = is4 ? l->v[i].bits - 96 : l->v[i].bits;
		if (is4)
			inet_ntop(AF_INET, l->v[i].a + 12, addr, sizeof(addr));
		else
			shortest6(l->v[i].a, addr, sizeof(addr));
		if (bits == (is4 ? 32U : 128U))
			snprintf(one, sizeof(one), "%s%s", i > 0 ? sep : "",
			    addr);
		else
			snprintf(one, sizeof(one), "%s%s/%u", i > 0 ? sep : "",
			    addr, bits);
		len = strlen(one);
		if (o + len < outlen)
			memcpy(out + o, one, len + 1);
		o += len;
	}
	return o;
}
