/*
 * secret.c - passwords (Redis, Sentinel) read from files, for the daemon
 * and sluicectl alike. The caller owns the returned string and gives it
 * back with secret_free, which wipes it. Thread-safe (no shared state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "secret.h"

/* secret_read - the first line of a file that must not be world-readable */
char *
secret_read(const char *path, char *err, size_t errlen)
{
	char buf[1024], *nl, *s;
	struct stat sb;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {	/* e: close-on-exec */
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &sb) == -1 || (sb.st_mode & S_IROTH)) {
		snprintf(err, errlen, "%s: must not be readable by others",
		    path);
		fclose(fp);
		return NULL;
	}
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	if ((nl = strpbrk(buf, "\r\n")) != NULL)
		*nl = '\0';
	if ((s = strdup(buf)) == NULL)
		snprintf(err, errlen, "%s: out of memory", path);
	explicit_bzero(buf, sizeof(buf));
	return s;
}

/* secret_free - wipe and free a secret; NULL is fine */
void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
