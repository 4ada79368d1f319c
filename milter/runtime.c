/*
 * runtime.c - the daemon's shared state: rt (store, MAIL cache, config
 * path; set up in main before the milter threads start, read-only after)
 * and the current config, a refcounted snapshot (lib/snapshot.h) each
 * connection holds from its start to its close, swapped whole on reload.
 *
 * Public: rt, cfg_acquire, cfg_release, cfg_install.
 *
 * Thread-safe: the snapshot's own mutex guards the config pointer and
 * the counts; a config is immutable once installed.
 */
#include <stdlib.h>

#include "sluice.h"
#include "snapshot.h"

struct runtime rt;

static struct snapshot cfg_snap = SNAPSHOT_INITIALIZER;

/* cfg_free - a config's last user let go (or it was never current) */
static void
cfg_free(struct snapshot_ref *s)
{
	struct cfg_ref *r = (struct cfg_ref *)s;	/* s is its first member */

	config_free(r->cfg);
	free(r);
}

/* cfg_acquire - the current config, held until cfg_release */
struct cfg_ref *
cfg_acquire(void)
{
	return (struct cfg_ref *)snapshot_acquire(&cfg_snap);
}

/* cfg_release - let go of a config; freed with its last user */
void
cfg_release(struct cfg_ref *r)
{
	snapshot_release(&cfg_snap, &r->snap);
}

/* cfg_install - make cfg the current config; -1: out of memory (cfg is
 * still the caller's) */
int
cfg_install(struct config *cfg)
{
	struct cfg_ref *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->snap.free = cfg_free;
	r->cfg = cfg;
	snapshot_install(&cfg_snap, &r->snap);
	return 0;
}
