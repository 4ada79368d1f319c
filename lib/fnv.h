/* fnv.h - FNV-1a, the string hash of the in-memory tables (not for keys
 * anyone else sees: those are sender_key()'s BLAKE2b) */
#ifndef SLUICE_FNV_H
#define SLUICE_FNV_H

#include <stddef.h>
#include <stdint.h>

/* fnv1a - 64-bit FNV-1a of a NUL-terminated string */
static inline size_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

#endif
