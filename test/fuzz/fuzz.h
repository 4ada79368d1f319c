/*
 * fuzz.h - what the libFuzzer targets of test/fuzz share: libFuzzer's
 * entry points, CHECK for a broken property, and a private working
 * directory for targets that write a map file.
 */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* CHECK - say which property broke and abort, so libFuzzer keeps the input */
#define CHECK(cond)	do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/*
 * fuzz_workdir - /tmp/sluice-fuzz-NAME.XXXXXX made and made the current
 * directory; it and its ./map are removed at exit. Aborts if it cannot.
 */
void	fuzz_workdir(const char *name);

#endif
