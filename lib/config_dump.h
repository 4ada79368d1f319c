/* config_dump.h - a loaded config written back as sluice.conf text */
#ifndef SLUICE_CONFIG_DUMP_H
#define SLUICE_CONFIG_DUMP_H

#include <stdio.h>

struct config;

/*
 * config_dump - every key with its value after defaults (unset ones as
 * "# key (unset)" comments), then every class; text that config_load
 * accepts. File names of secrets, never their contents. 0, or -1 when
 * writing failed.
 */
int	config_dump(const struct config *, FILE *out);

#endif
