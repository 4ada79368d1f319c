/*
 * cloexec.c - mark descriptors close-on-exec (see cloexec.h for why).
 * Linux: close_range(2) with CLOSE_RANGE_CLOEXEC (5.11), else a walk of
 * /proc/self/fd. No state; thread-safe.
 */
#define _GNU_SOURCE		/* close_range, CLOSE_RANGE_CLOEXEC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "cloexec.h"

/* cloexec_set - mark one descriptor close-on-exec */
int
cloexec_set(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	return (fl & FD_CLOEXEC) ? 0 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* cloexec_from - mark every open descriptor >= from close-on-exec */
int
cloexec_from(int from)
{
	struct dirent *de;
	DIR *d;
	long fd;
	char *end;
	int rc = 0, e;

#ifdef CLOSE_RANGE_CLOEXEC
	if (close_range((unsigned)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
#endif
	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		fd = strtol(de->d_name, &end, 10);
		if (end == de->d_name || *end != '\0' || fd < from ||
		    fd == dirfd(d))
			continue;
		if (cloexec_set((int)fd) == -1 && errno != EBADF)
			rc = -1;
	}
	e = errno;
	closedir(d);
	errno = e;
	return rc;
}
