/* hopmark.h - the signed hop marker: spots mail looping through the cluster */
#ifndef SLUICE_HOPMARK_H
#define SLUICE_HOPMARK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Header value, made by hopmark_make (format and MAC input: hopmark.c):
 *   v=1; c=<cluster>; h=<hops>; t=<unix time>; m=<base64url HMAC-SHA-256>
 */
#define HOPMARK_KEY_LEN		32	/* HMAC-SHA-256 key, bytes */
#define HOPMARK_VALUE_MAX	256	/* longest value taken; enough for make */
#define HOPMARK_CLUSTER_MAX	64	/* cluster id: [A-Za-z0-9._-]{1,64} */
#define HOPMARK_HOPS_MAX	999	/* highest hop count written or read */
#define HOPMARK_SKEW_S		300	/* a marker may be this far in the future */
#define HOPMARK_SEEN_MAX	8	/* markers of this cluster kept a message */

enum hopmark_status {
	HOPMARK_VALID,		/* ours, MAC good, within lifetime */
	HOPMARK_FOREIGN,	/* another cluster's id: not verifiable */
	HOPMARK_EXPIRED,	/* ours, MAC good, older than the lifetime */
	HOPMARK_FUTURE,		/* ours, MAC good, over HOPMARK_SKEW_S ahead */
	HOPMARK_BAD_MAC,	/* claims to be ours; MAC does not verify */
	HOPMARK_MALFORMED	/* not a v=1 marker, or too long */
};

/*
 * One message's marker values, kept from the header callbacks until the
 * body fingerprint is known at end of message. Embedded in the caller's
 * per-message state (about 2 KiB); fields private to hopmark.c.
 */
struct hopmark_seen {
	char		value[HOPMARK_SEEN_MAX][HOPMARK_VALUE_MAX + 1];
				/* well-formed, this cluster's, unfolded */
	unsigned	n;	/* entries used in value[] */
	unsigned	foreign; /* well-formed, another cluster's */
	unsigned	malformed; /* not kept: syntax, version or length */
	unsigned	toomany; /* this cluster's, not kept: value[] full */
};

/* What a message's markers say; every count saturates at UINT_MAX. */
struct hopmark_eval {
	unsigned	hops;	/* highest VALID hop count; 0 if none */
	unsigned	valid;	/* HOPMARK_VALID markers */
	unsigned	bad_mac; /* forged or damaged: ignored, report them */
	unsigned	expired; /* HOPMARK_EXPIRED: ignored */
	unsigned	future;	/* HOPMARK_FUTURE: ignored; a relay's clock */
	unsigned	foreign; /* other clusters' markers */
	unsigned	malformed; /* toomany included */
	unsigned	toomany; /* this cluster's markers beyond SEEN_MAX */
};

/* hopmark_key_load - read the key file; refuses a world-readable one */
int	hopmark_key_load(const char *path,
	    unsigned char key[HOPMARK_KEY_LEN], char *err, size_t errlen);

/* hopmark_cluster_valid - 1 if `cluster` is a usable cluster id */
int	hopmark_cluster_valid(const char *cluster);

/* hopmark_make - the value for a message leaving with `hops` hops; 0/-1 */
int	hopmark_make(const unsigned char key[HOPMARK_KEY_LEN],
	    const char *cluster, unsigned hops, uint64_t now,
	    const char *message_id, const unsigned char body_fp[16],
	    char *out, size_t outlen);

/* hopmark_check - verify one value; *hops, *t set if VALID/EXPIRED/FUTURE */
enum hopmark_status hopmark_check(const unsigned char key[HOPMARK_KEY_LEN],
	    const char *cluster, const char *value, uint64_t now,
	    uint32_t lifetime_s, const char *message_id,
	    const unsigned char body_fp[16], unsigned *hops, uint64_t *t);

/* hopmark_seen_init - forget all markers: call at the start of a message */
void	hopmark_seen_init(struct hopmark_seen *s);

/* hopmark_seen_add - one marker header value, in header order */
void	hopmark_seen_add(struct hopmark_seen *s, const char *cluster,
	    const char *value);

/* hopmark_seen_eval - verify the kept markers at end of message */
void	hopmark_seen_eval(const struct hopmark_seen *s,
	    const unsigned char key[HOPMARK_KEY_LEN], const char *cluster,
	    uint64_t now, uint32_t lifetime_s, const char *message_id,
	    const unsigned char body_fp[16], struct hopmark_eval *out);

#endif
