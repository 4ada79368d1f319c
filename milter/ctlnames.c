/*
 * ctlnames.c - what the control socket shows beside the counters, with
 * the memory store: the printable login of recent senders (for top and
 * status), who locked a login and why, and the class overrides set with
 * `sluicectl class` (asked by control_class_for at every message). All
 * kept across restarts in the state file's names section.
 *
 * The names and lock records are direct-mapped tables (WHO_SLOTS,
 * LOCK_SLOTS: a newer key may overwrite an older one, which is then shown
 * by its key); the overrides a list of at most OVERRIDES_MAX, sealed into
 * a classmap for lookups at each change. Thread-safe: nm.names_lock and
 * nm.class_lock, held for a copy or a lookup only.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classmap.h"
#include "fnv.h"
#include "localctl.h"
#include "state.h"

#define WHO_SLOTS	4096
#define LOCK_SLOTS	1024
#define OVERRIDES_MAX	100000	/* class overrides kept */

struct who_slot {
	char	 key[SENDER_KEY_LEN + 1];
	char	 shown[CTLNAMES_SHOWN_MAX];
};


/* a class override: a folded login or @domain, and its class */
struct override {
	char	 field[CTLNAMES_SHOWN_MAX];
	char	 cls[CONFIG_NAME_MAX + 1];
};

static struct {
	pthread_mutex_t	 names_lock;	/* who, locks */
	struct who_slot	*who;
	struct ctl_lockinfo *locks;
	pthread_mutex_t	 class_lock;	/* ovr, novr, cm */
	struct override	*ovr;		/* class overrides, as set */
	size_t		 novr;
	struct classmap	*cm;		/* the same, sealed for lookups */
} nm = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, PTHREAD_MUTEX_INITIALIZER,
	NULL, 0, NULL };

/* ctlnames_init - the tables; -1 when out of memory */
int
ctlnames_init(void)
{
	if ((nm.who = calloc(WHO_SLOTS, sizeof(*nm.who))) == NULL ||
	    (nm.locks = calloc(LOCK_SLOTS, sizeof(*nm.locks))) == NULL)
		return -1;
	return 0;
}

/* slot - a key's slot in a table of n */
static size_t
slot(const char *key, size_t n)
{
	return fnv1a(key) % n;
}

/* ctlsock_seen - remember a login's printable name */
void
ctlsock_seen(const char *key, const char *shown)
{
	struct who_slot *w;

	if (nm.who == NULL)
		return;
	w = &nm.who[slot(key, WHO_SLOTS)];
	pthread_mutex_lock(&nm.names_lock);
	snprintf(w->key, sizeof(w->key), "%s", key);
	snprintf(w->shown, sizeof(w->shown), "%s", shown);
	pthread_mutex_unlock(&nm.names_lock);
}

/* ctlsock_locked - remember who locked a login and why */
void
ctlsock_locked(const char *key, const char *shown, const char *by,
    const char *reason, uint64_t until_s)
{
	struct ctl_lockinfo *l;

	if (nm.locks == NULL)
		return;
	l = &nm.locks[slot(key, LOCK_SLOTS)];
	pthread_mutex_lock(&nm.names_lock);
	snprintf(l->key, sizeof(l->key), "%s", key);
	snprintf(l->login, sizeof(l->login), "%s", shown);
	snprintf(l->by, sizeof(l->by), "%s", by);
	snprintf(l->reason, sizeof(l->reason), "%s", reason);
	l->at = (uint64_t)time(NULL);
	l->until = until_s;
	pthread_mutex_unlock(&nm.names_lock);
	ctlsock_seen(key, shown);
}

/*
 * class_set - set (cls non-empty) or clear a class override and rebuild
 * the sealed map: 1 changed, 0 nothing to do, -1 out of memory or full
 */
int
ctlnames_class_set(const char *field, const char *cls)
{
	struct classmap *cm, *old;
	struct override *o;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&nm.class_lock);
	for (i = 0; i < nm.novr; i++)
		if (strcmp(nm.ovr[i].field, field) == 0)
			break;
	if (cls[0] == '\0' && i < nm.novr) {
		nm.ovr[i] = nm.ovr[--nm.novr];
		rc = 1;
	} else if (cls[0] != '\0' && (i == nm.novr ||
	    strcmp(nm.ovr[i].cls, cls) != 0)) {
		if (i == nm.novr) {
			if (nm.novr == OVERRIDES_MAX || (o = realloc(nm.ovr,
			    (nm.novr + 1) * sizeof(*o))) == NULL) {
				pthread_mutex_unlock(&nm.class_lock);
				return -1;
			}
			nm.ovr = o;
			nm.novr++;
		}
		snprintf(nm.ovr[i].field, sizeof(nm.ovr[i].field), "%s", field);
		snprintf(nm.ovr[i].cls, sizeof(nm.ovr[i].cls), "%s", cls);
		rc = 1;
	}
	if (rc == 1 && (cm = classmap_new()) != NULL) {
		for (i = 0; i < nm.novr; i++)
			classmap_add(cm, nm.ovr[i].field, strlen(nm.ovr[i].field),
			    nm.ovr[i].cls, strlen(nm.ovr[i].cls));
		classmap_seal(cm);
		old = nm.cm;
		nm.cm = cm;
		classmap_free(old);
	} else if (rc == 1)
		rc = -1;
	pthread_mutex_unlock(&nm.class_lock);
	return rc;
}

/* ctlnames_class_get - the override of exactly this field, into out ("" none) */
void
ctlnames_class_get(const char *field, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	pthread_mutex_lock(&nm.class_lock);
	for (i = 0; i < nm.novr; i++)
		if (strcmp(nm.ovr[i].field, field) == 0)
			snprintf(out, outlen, "%s", nm.ovr[i].cls);
	pthread_mutex_unlock(&nm.class_lock);
}

/* ctlsock_class_for - a login's class override set by sluicectl, or NULL */
const struct config_class *
ctlsock_class_for(const struct config *cfg, const char *login)
{
	const struct config_class *c = NULL;
	const char *name;

	if (cfg->store != CONFIG_STORE_MEMORY)
		return NULL;
	pthread_mutex_lock(&nm.class_lock);
	if (nm.cm != NULL && (name = classmap_lookup(nm.cm, login)) != NULL)
		c = config_find_class(cfg, name);	/* unknown: NULL */
	pthread_mutex_unlock(&nm.class_lock);
	return c;
}

/* ctlsock_dump - the names and lock records as a state section */
void
ctlsock_dump(struct state_buf *b)
{
	size_t i, at;

	if (nm.who == NULL)
		return;
	at = state_begin(b, STATE_SEC_NAMES);
	pthread_mutex_lock(&nm.names_lock);
	for (i = 0; i < WHO_SLOTS; i++)
		if (nm.who[i].key[0] != '\0') {
			state_put_u8(b, 'w');
			state_put_str(b, nm.who[i].key);
			state_put_str(b, nm.who[i].shown);
		}
	for (i = 0; i < LOCK_SLOTS; i++)
		if (nm.locks[i].key[0] != '\0') {
			state_put_u8(b, 'l');
			state_put_str(b, nm.locks[i].key);
			state_put_str(b, nm.locks[i].login);
			state_put_str(b, nm.locks[i].by);
			state_put_str(b, nm.locks[i].reason);
			state_put_u64(b, nm.locks[i].at);
			state_put_u64(b, nm.locks[i].until);
		}
	pthread_mutex_unlock(&nm.names_lock);
	pthread_mutex_lock(&nm.class_lock);
	for (i = 0; i < nm.novr; i++) {
		state_put_u8(b, 'c');
		state_put_str(b, nm.ovr[i].field);
		state_put_str(b, nm.ovr[i].cls);
	}
	pthread_mutex_unlock(&nm.class_lock);
	state_end(b, at);
}

/* ctlsock_load - names and lock records from a state payload; how many */
size_t
ctlsock_load(const unsigned char *p, size_t len)
{
	struct state_rd r;
	struct ctl_lockinfo l;
	struct who_slot w;
	size_t n = 0;
	uint8_t kind;

	if (nm.who == NULL || state_section(p, len, STATE_SEC_NAMES, &r) != 1)
		return 0;
	while (r.off < r.len && !r.bad) {
		kind = state_get_u8(&r);
		if (kind == 'w') {
			state_get_str(&r, w.key, sizeof(w.key));
			state_get_str(&r, w.shown, sizeof(w.shown));
			if (!r.bad && w.key[0] != '\0')
				ctlsock_seen(w.key, w.shown);
		} else if (kind == 'l') {
			state_get_str(&r, l.key, sizeof(l.key));
			state_get_str(&r, l.login, sizeof(l.login));
			state_get_str(&r, l.by, sizeof(l.by));
			state_get_str(&r, l.reason, sizeof(l.reason));
			l.at = state_get_u64(&r);
			l.until = state_get_u64(&r);
			if (r.bad || l.key[0] == '\0')
				break;
			pthread_mutex_lock(&nm.names_lock);
			nm.locks[slot(l.key, LOCK_SLOTS)] = l;
			pthread_mutex_unlock(&nm.names_lock);
		} else if (kind == 'c') {
			struct override o;

			state_get_str(&r, o.field, sizeof(o.field));
			state_get_str(&r, o.cls, sizeof(o.cls));
			if (r.bad || o.field[0] == '\0' || o.cls[0] == '\0' ||
			    ctlnames_class_set(o.field, o.cls) == -1)
				break;
		} else
			break;
		n++;
	}
	return n;
}

/* ctlnames_who - a key's printable login, or "" */
void
ctlnames_who(const char *key, char *out, size_t outlen)
{
	const struct who_slot *w;

	out[0] = '\0';
	if (nm.who == NULL)
		return;
	w = &nm.who[slot(key, WHO_SLOTS)];
	pthread_mutex_lock(&nm.names_lock);
	if (strcmp(w->key, key) == 0)
		snprintf(out, outlen, "%s", w->shown);
	pthread_mutex_unlock(&nm.names_lock);
}

/* ctlnames_lock - who locked a key and why; 0 if unknown */
int
ctlnames_lock(const char *key, struct ctl_lockinfo *out)
{
	int found = 0;

	memset(out, 0, sizeof(*out));
	if (nm.locks == NULL)
		return 0;
	pthread_mutex_lock(&nm.names_lock);
	if (strcmp(nm.locks[slot(key, LOCK_SLOTS)].key, key) == 0) {
		*out = nm.locks[slot(key, LOCK_SLOTS)];
		found = 1;
	}
	pthread_mutex_unlock(&nm.names_lock);
	return found;
}

/* ctlnames_unlock - the login was unlocked */
void
ctlnames_unlock(const char *key)
{
	struct ctl_lockinfo *l;

	if (nm.locks == NULL)
		return;
	l = &nm.locks[slot(key, LOCK_SLOTS)];
	pthread_mutex_lock(&nm.names_lock);
	if (strcmp(l->key, key) == 0)
		memset(l, 0, sizeof(*l));
	pthread_mutex_unlock(&nm.names_lock);
}
