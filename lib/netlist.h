/* netlist.h - a list of IPv4/IPv6 networks (CIDR) and a client matcher */
#ifndef SLUICE_NETLIST_H
#define SLUICE_NETLIST_H

#include <stddef.h>

#define NETLIST_MAX	256	/* networks in one list */

struct netlist;

/*
 * netlist_parse - "10.0.0.0/8, 192.0.2.5 ::1/128" (commas and/or blanks
 * between) into a new list; NULL with a message in err on a bad entry,
 * host bits set under the mask included, or out of memory.
 */
struct netlist	*netlist_parse(const char *text, char *err, size_t errlen);

/* netlist_free - release a list; NULL is fine */
void		 netlist_free(struct netlist *);

/* netlist_match - is the address (text: IPv4, IPv6, IPv4-mapped IPv6) in
 * one of the networks? 0 for anything that is not an address */
int		 netlist_match(const struct netlist *, const char *addr);

/* netlist_count - how many networks */
size_t		 netlist_count(const struct netlist *);

/* netlist_format - the networks as netlist_parse reads them, joined by
 * sep, into out; returns the length needed (out is cut, NUL-terminated,
 * when that is outlen or more) */
size_t		 netlist_format(const struct netlist *, const char *sep,
		    char *out, size_t outlen);

#endif
