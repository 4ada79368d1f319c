/* secret.h - passwords read from files, and wiped after use */
#ifndef SLUICE_SECRET_H
#define SLUICE_SECRET_H

#include <stddef.h>

/*
 * secret_read - the first line of `path` (without its line end), a file
 * that must not be readable by others; NULL with err ("PATH: why")
 */
char	*secret_read(const char *path, char *err, size_t errlen);

/* secret_free - wipe and free a secret; NULL is fine */
void	 secret_free(char *);

#endif
