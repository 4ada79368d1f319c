/* localctl.h - the embedded store's control socket and state file */
#ifndef SLUICE_LOCALCTL_H
#define SLUICE_LOCALCTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "sender.h"
#include "store.h"

/*
 * ctlsock_open - with the memory store, bind control_socket (its
 * directory made if missing; mode 0660, owned by `user` when root), before
 * privileges are dropped; a no-op with redis. -1 with err (the daemon
 * then runs without it).
 */
int	 ctlsock_open(const struct config *, char *err, size_t errlen);

/* ctlsock_start - serve sluicectl on it from a thread; -1 with err */
int	 ctlsock_start(struct store *, char *err, size_t errlen);

/* ctlsock_stop - stop serving, remove the socket; no-op if not started */
void	 ctlsock_stop(void);

/* ctlsock_user_ids - uid and gid of the config's user when root, else -1s */
int	 ctlsock_user_ids(const struct config *, uid_t *, gid_t *, char *err,
	    size_t errlen);

/* ctlsock_mkdir_for - make path's directory if missing (root: chown) */
int	 ctlsock_mkdir_for(const char *path, uid_t, gid_t, mode_t, char *err,
	    size_t errlen);

/* ctlsock_seen - a login (key, printable name) sent mail: for `top` */
void	 ctlsock_seen(const char *key, const char *shown);

/* ctlsock_locked - a login was locked: who and why, for `status` */
void	 ctlsock_locked(const char *key, const char *shown, const char *by,
	    const char *reason, uint64_t until_s);

struct state_buf;

/* ctlnames.c: what the views show beside the counters */
#define CTLNAMES_SHOWN_MAX	200	/* a printable login */
#define CTLNAMES_REASON_MAX	200

/* who locked a login, and why */
struct ctl_lockinfo {
	char	 key[SENDER_KEY_LEN + 1];
	char	 login[CTLNAMES_SHOWN_MAX];
	char	 by[64];
	char	 reason[CTLNAMES_REASON_MAX];
	uint64_t at, until;		/* unix s */
};

/* ctlnames_init - allocate the tables (names are kept from then on) */
int	 ctlnames_init(void);

/* ctlnames_who - a key's printable login, or "" */
void	 ctlnames_who(const char *key, char *out, size_t outlen);

/* ctlnames_lock - who locked a key and why; 0 if unknown */
int	 ctlnames_lock(const char *key, struct ctl_lockinfo *);

/* ctlnames_unlock - forget why a key was locked */
void	 ctlnames_unlock(const char *key);

/* ctlnames_class_set - set (cls "": clear) an override; 1 changed, 0 not,
 * -1 full or out of memory */
int	 ctlnames_class_set(const char *field, const char *cls);

/* ctlnames_class_get - the override of exactly this field ("": none) */
void	 ctlnames_class_get(const char *field, char *out, size_t outlen);

/* ctlsock_class_for - a class override set through sluicectl, or NULL */
const struct config_class *ctlsock_class_for(const struct config *,
	    const char *login);

/* ctlsock_dump - the names and lock records, as a state file section */
void	 ctlsock_dump(struct state_buf *);

/* ctlsock_load - names and lock records from a state payload; how many */
size_t	 ctlsock_load(const unsigned char *payload, size_t len);

/*
 * statefile_load - with the memory store, load state_file into it (its
 * directory made if missing, owned by `user` when root); a missing or
 * bad file is logged in one line and the daemon starts empty
 */
void	 statefile_load(const struct config *, struct store *);

/*
 * statefile_start - load what the store does not hold (names, queue ids
 * for holds: their owners exist now), then save every
 * state_save_interval from a thread
 */
int	 statefile_start(const struct config *, struct store *);

/* statefile_stop - stop the thread and save a last time */
void	 statefile_stop(void);

/* statefile_status - the last save: unix s, bytes, ms it took (0s: none) */
void	 statefile_status(uint64_t *at_s, uint64_t *bytes, uint64_t *ms,
	    uint64_t *max_hold_us);

#endif
