/* config.h - sluice.conf and the class map, parsed into one immutable struct */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LIMITS	8	/* windows per dimension per class */
#define CONFIG_MAX_CLASSES	64	/* classes in one file */
#define CONFIG_NAME_MAX		63	/* class name length */
#define CONFIG_ERR_MAX		512	/* size of an error buffer */

struct config_limit {
	uint64_t	 count;		/* events allowed ... */
	uint32_t	 window;	/* ... per this many seconds */
};

struct config_class {
	char			 name[CONFIG_NAME_MAX + 1];
	struct config_limit	 messages[CONFIG_MAX_LIMITS];
	size_t			 nmessages;
	struct config_limit	 recipients[CONFIG_MAX_LIMITS];
	size_t			 nrecipients;
	uint32_t		 max_recipients; /* per message; 0 = no cap */
	uint32_t		 max_header_recipients; /* To/Cc addresses per
						   message; 0 = no cap */
	struct config_limit	 header_recipients[CONFIG_MAX_LIMITS];
	size_t			 nheader_recipients; /* To/Cc per window */
	struct config_limit	 repeats[CONFIG_MAX_LIMITS];
	size_t			 nrepeats;	/* one body from this login */
	struct config_limit	 body_senders[CONFIG_MAX_LIMITS];
	size_t			 nbody_senders;	/* logins sending one body */
	struct config_limit	 near_repeats[CONFIG_MAX_LIMITS];
	size_t			 nnear_repeats;	/* near-duplicate bodies from
						   this login */
	struct config_limit	 client_addresses[CONFIG_MAX_LIMITS];
	size_t			 nclient_addresses; /* distinct client
						   addresses of this login */
	struct config_limit	 external_recipients[CONFIG_MAX_LIMITS];
	size_t			 nexternal_recipients; /* recipients outside
						   local_domains */
	struct config_limit	 internal_recipients[CONFIG_MAX_LIMITS];
	size_t			 ninternal_recipients; /* recipients in them */
	struct config_limit	 domain_messages[CONFIG_MAX_LIMITS];
	size_t			 ndomain_messages; /* all logins of a domain of
						   this class, together */
	struct config_limit	 domain_recipients[CONFIG_MAX_LIMITS];
	size_t			 ndomain_recipients;
	struct config_limit	 remote_rejects[CONFIG_MAX_LIMITS];
	size_t			 nremote_rejects; /* its mail bounced (5xx)
						   by remote servers */
	struct config_limit	 remote_deferrals[CONFIG_MAX_LIMITS];
	size_t			 nremote_deferrals; /* deferred (4xx) */
	struct config_limit	 remote_unknown[CONFIG_MAX_LIMITS];
	size_t			 nremote_unknown; /* unknown recipients */
	const char		*file;	/* where it was defined, for messages */
	unsigned		 line;
};

enum config_mode { CONFIG_MODE_ENFORCE = 0, CONFIG_MODE_OBSERVE };

/* what a content detector does to a message that trips it */
enum config_action {
	CONFIG_ACTION_TEMPFAIL = 0,	/* 451: the client retries later */
	CONFIG_ACTION_REJECT,		/* 550: the sender gets a bounce */
	CONFIG_ACTION_QUARANTINE,	/* accepted and held for a person */
	CONFIG_ACTION_TAG,		/* accepted with a header added */
	CONFIG_ACTION_OBSERVE,		/* accepted, only logged */
	CONFIG_ACTION_LOCK		/* tempfail and lock the login (the
					   history detector only) */
};
enum config_store { CONFIG_STORE_MEMORY = 0, CONFIG_STORE_REDIS };

/* what delivery feedback over a remote_* limit does (feedback_action) */
enum config_feedback {
	CONFIG_FEEDBACK_LOCK = 0,	/* lock the login on every relay */
	CONFIG_FEEDBACK_TEMPFAIL,	/* 451 its mail while over */
	CONFIG_FEEDBACK_OBSERVE		/* log only */
};
enum config_mtalog { CONFIG_MTALOG_POSTFIX = 0, CONFIG_MTALOG_SENDMAIL };

/* mail submitted locally (Postfix non_smtpd_milters, sendmail(1)) */
enum config_local {
	CONFIG_LOCAL_KEY_BY_SENDER = 0,	/* counted as its envelope sender */
	CONFIG_LOCAL_INBOUND		/* not counted, like inbound mail */
};

struct netlist;
struct ident_map;
struct domains;

/* one entry of the class map: a login, or "@domain" */
struct config_map_entry {
	char		*key;	/* lower-cased login or "@domain" */
	size_t		 cls;	/* index into classes[] */
	unsigned	 line;	/* line of the class map it came from */
};

struct config {
	char		*path;		/* file it came from */

	/* daemon */
	char		*socket;	/* libmilter spec, e.g. inet:8890@127.0.0.1 */
	char		*user;		/* drop privileges to; NULL: don't */
	char		*pidfile;	/* NULL: none */
	char		*syslog_facility; /* e.g. "mail" */
	int		 syslog;	/* log to syslog (else stderr only) */
	int		 log_accepts;	/* log a line for accepted messages too */
	enum config_mode mode;		/* enforce or observe */
	int		 early_check;	/* check the sender at MAIL too */
	uint32_t	 early_check_cache_ms; /* skip it this long after an
					   answer far from every limit */
	char		*metrics_host;	/* loopback address of the metrics
					   endpoint; NULL: no endpoint */
	int		 metrics_port;

	/* store */
	enum config_store store;
	char		*redis_host;	/* host, when TCP */
	int		 redis_port;
	char		*redis_socket;	/* unix socket path, or NULL */
	char		*redis_password_file; /* NULL: no AUTH */
	char		*redis_username; /* ACL user, or NULL */
	char		*redis_prefix;	/* key prefix, default "sluice:" */
	uint32_t	 redis_connect_timeout_ms;
	uint32_t	 redis_command_timeout_ms;
	uint32_t	 redis_pool;	/* idle connections kept (per node) */
	uint32_t	 redis_wait_replicas; /* WAIT after a commit; 0: off */
	int		 redis_cluster;	/* redis_server is a Cluster seed node */
	char		*redis_sentinels; /* "host:port, ..." (checked), or NULL:
					   redis_server is the primary */
	char		*redis_sentinel_master; /* name they monitor, or NULL */
	char		*redis_sentinel_password_file; /* NULL: no AUTH */
	int		 fallback;	/* enum store_fallback */
	uint32_t	 breaker_failures;
	uint32_t	 breaker_cooldown_ms;
	uint32_t	 window_buckets;	/* B of window.h */

	/* content detectors */
	int		 fanout_action;	/* enum config_action */
	int		 repeats_action;
	int		 wave_action;
	int		 near_action;
	uint32_t	 near_distance;	/* simhash bits apart still near */
	uint32_t	 near_min_words; /* shorter bodies: not counted as near */
	char		*tag_header;	/* header added by action "tag" */

	/* loops: the signed hop marker, Received: count, copies */
	char		*cluster_id;	/* this cluster's name in markers */
	char		*hop_key_file;	/* secret; NULL: no hop markers */
	char		*hop_header;	/* default X-Sluice-Hop */
	uint32_t	 hop_limit;	/* passes through the cluster allowed */
	uint32_t	 hop_lifetime_ms; /* markers older are ignored */
	uint32_t	 max_received;	/* Received: headers; 0 = no check */
	struct config_limit copies;	/* one message seen per window; count
					   0 = off */
	int		 loop_action;	/* enum config_action */
	int		 copies_action;
	/* identity: one login used from many client addresses */
	int		 clients_action; /* enum config_action */
	/* a login's own history: far above its usual hour */
	int		 history;	/* learn and judge it */
	uint32_t	 history_factor; /* over above this many usual hours */
	uint32_t	 history_floor;	/* ... and above this many events */
	uint32_t	 history_bucket_ms; /* the "hour" */
	uint32_t	 history_window_ms; /* how long it is remembered */
	uint32_t	 history_learn_ms; /* younger: judged by its class */
	int		 history_action; /* enum config_action, LOCK too */
	/* the kill switch */
	struct config_limit lock_after;	/* refusals that lock a login; count
					   0 = never locked automatically */
	uint32_t	 lock_lifetime_ms; /* how long a lock lasts */
	int		 lock_action;	/* tempfail or reject */
	char		*lock_command;	/* run on lock: CMD LOGIN REASON */
	uint32_t	 lock_command_timeout_ms;

	/* the control channel (store redis): live classes, queue clean-up */
	uint32_t	 control_poll_ms; /* poll P:classes and P:locked */
	char		*hold_command;	/* "PROGRAM [ARG...]", split on spaces;
					   run with queue ids appended */
	uint32_t	 hold_command_timeout_ms;
	uint32_t	 hold_window_ms; /* queue ids remembered this long */
	uint32_t	 hold_max_per_login; /* ids kept per login */
	uint32_t	 hold_max_ids;	/* ids kept in all */
	uint32_t	 hold_batch;	/* ids per run of the hold command */
	char		*control_socket; /* sluicectl's unix socket (memory) */
	char		*state_file;	/* memory store saved here */
	uint32_t	 state_save_interval_ms;

	/* delivery feedback: the MTA's log (doc/feedback.md) */
	char		*feedback_log;	/* NULL: off */
	int		 feedback_format; /* enum config_mtalog */
	char		*feedback_state; /* position file, or NULL */
	int		 feedback_action; /* enum config_feedback */
	uint32_t	 feedback_poll_ms; /* read the log this often */
	uint32_t	 feedback_max_ids; /* queue ids remembered */
	char		*feedback_journal_dir; /* journal files, NULL: system */
	char		*feedback_journal_match; /* FIELD=VALUE..., or NULL */
	unsigned char	 hop_key[32];	/* read from hop_key_file by the
					   daemon before the config is used */
	int		 hop_key_loaded;

	/* identities: From: check, trusted relays, local submission */
	char		*identity_map;	/* path, or NULL */
	struct ident_map *identities;	/* loaded from it, or NULL */
	int		 identity_action; /* enum config_action */
	struct netlist	*trusted_networks; /* relays keyed without SASL, or
					   NULL */
	char		*trusted_header; /* their login header, or NULL */
	int		 local_submission; /* enum config_local */
	char		*login_default_domain; /* appended to a bare login
					   ("alice" -> "alice@DOMAIN"), or
					   NULL */
	struct domains	*local_domains;	/* recipients counted as internal,
					   or NULL: every one is external */

	/* classes */
	char		*class_map;	/* path, or NULL */
	struct config_class classes[CONFIG_MAX_CLASSES];
	size_t		 nclasses;	/* classes[0] is always "default" */
	struct config_map_entry *map;	/* sorted by key */
	size_t		 nmap;
	char		*domain_class_map; /* path, or NULL */
	struct config_map_entry *dmap;	/* "domain CLASS", sorted by key */
	size_t		 ndmap;
};

/*
 * config_load - parse `path` (and the class map it names) into a new
 * config; NULL on any error, with "file:line: message" in err (size
 * CONFIG_ERR_MAX). Unknown keys, bad values and duplicates are errors.
 */
struct config	*config_load(const char *path, char *err, size_t errlen);

/* config_load_secrets - read the secrets cfg names (the hop key, into
 * cfg->hop_key); 0, or -1 with "path: hop_key_file: why" in err */
int		 config_load_secrets(struct config *, char *err,
		    size_t errlen);

/* config_parse_string - as config_load, from memory; `name` is for errors */
struct config	*config_parse_string(const char *text, const char *name,
		    char *err, size_t errlen);

/* config_free - release a config; NULL is fine */
void		 config_free(struct config *);

/* config_class_for - the class of a login: exact, then @domain, then default */
const struct config_class *config_class_for(const struct config *,
		    const char *login);

/* config_class_find - the class of a whole name, then of dom ("@domain",
 * or NULL), then default (sender_class_names gives the two names) */
const struct config_class *config_class_find(const struct config *,
		    const char *whole, const char *dom);
/* config_domain_class_for - the class of a login's domain (after its
 * last '@'): domain_class_map, then default; NULL for a bare login */
const struct config_class *config_domain_class_for(const struct config *,
		    const char *login);

/* config_find_class - class by name, or NULL */
const struct config_class *config_find_class(const struct config *,
		    const char *name);

/* config_parse_duration - "90", "90s", "15m", "1h", "2d", "1w", "250ms" into
 * ms; 0 or -1 on a malformed value */
int		 config_parse_duration(const char *s, uint64_t *ms);

/* config_parse_limit - "100/1h" into a limit; 0 or -1 */
int		 config_parse_limit(const char *s, struct config_limit *);

/* config_format_window - "1h", "30m", "90s"... for messages; returns out */
char		*config_format_window(uint32_t seconds, char *out, size_t outlen);

#endif
