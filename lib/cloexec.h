/* cloexec.h - descriptors the programs sluice runs must not inherit */
#ifndef SLUICE_CLOEXEC_H
#define SLUICE_CLOEXEC_H

/*
 * A hook (lock_command, hold_command) is a program of the
 * administrator's; it must not inherit an authenticated Redis
 * connection, the milter socket or an MTA's connection. Everything
 * sluice opens is close-on-exec (O_CLOEXEC where it opens, these two
 * where a library opened it), and the hook spawner closes every
 * descriptor above 2 in the child as well (milter/hook.c).
 */

/* cloexec_set - mark one descriptor close-on-exec; 0, or -1 with errno */
int	cloexec_set(int fd);

/* cloexec_from - mark every open descriptor >= from close-on-exec; 0, or
 * -1 with errno (then some may be left as they were) */
int	cloexec_from(int from);

#endif
