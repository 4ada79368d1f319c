/*
 * fuzz.c - the helpers of fuzz.h, linked into every libFuzzer target.
 *
 * Memory: the directory's name is a static buffer. Thread-safety: called
 * once, from LLVMFuzzerInitialize, before any input runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

static char workdir[64];

/* workdir_remove - at exit: ./map and the directory */
static void
workdir_remove(void)
{
	char path[sizeof(workdir) + 4];

	snprintf(path, sizeof(path), "%s/map", workdir);
	unlink(path);
	rmdir(workdir);
}

/* fuzz_workdir - a private current directory, removed at exit */
void
fuzz_workdir(const char *name)
{
	snprintf(workdir, sizeof(workdir), "/tmp/sluice-fuzz-%s.XXXXXX", name);
	if (mkdtemp(workdir) == NULL || chdir(workdir) == -1)
		abort();
	atexit(workdir_remove);
}
