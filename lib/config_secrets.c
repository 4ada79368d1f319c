/*
 * config_secrets.c - the secrets a loaded config names, read into it:
 * the hop-marker key (hop_key_file). Separate from config_load because
 * only the daemon needs them (sluicectl reads its config without the
 * hop key, and must not fail on a key it cannot read).
 *
 * Public: config_load_secrets. Runs before the config is shared; not
 * thread-safe on one config.
 */
#include <stdio.h>

#include "config.h"
#include "hopmark.h"

/* config_load_secrets - read the hop key into cfg; 0, or -1 with err */
int
config_load_secrets(struct config *cfg, char *err, size_t errlen)
{
	char kerr[256];

	if (cfg->hop_key_file == NULL)
		return 0;
	if (hopmark_key_load(cfg->hop_key_file, cfg->hop_key, kerr,
	    sizeof(kerr)) == -1) {
		snprintf(err, errlen, "%s: hop_key_file: %s", cfg->path, kerr);
		return -1;
	}
	cfg->hop_key_loaded = 1;
	return 0;
}
