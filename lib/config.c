/*
 * config.c - sluice.conf and the class map into one immutable struct.
 *
 * Public: config_load, config_parse_string, config_free,
 * config_class_for, config_find_class, config_parse_duration,
 * config_parse_limit, config_format_window; config_table and
 * config_class_table hand the key tables to config_dump.c.
 *
 * Format: one "key value..." per line; blanks (SP, HTAB) separate words;
 * '#' starts a comment outside double quotes; a value holding blanks or
 * '#' is written in double quotes (no escapes). Top-level keys are driven
 * by one table, keys[] (name, type, default, field offset, min, max).
 * Classes are blocks, their keys driven by class_keys[]:
 *
 *	class NAME {
 *	    messages       100/1h 1000/1d
 *	    recipients     500/1h
 *	    max_recipients 100
 *	}
 *
 * The class map holds "LOGIN CLASS" or "@domain CLASS" lines, kept
 * lower-cased and sorted so config_class_for is a bsearch that folds the
 * login as it compares (no copy, so no length limit). The identity map
 * (identity_map) is read here line by line; identity.c gives the lines
 * their meaning. trusted_networks takes several words (netlist.c).
 *
 * Input is rejected, never cut: lines over LINE_MAX_LEN bytes, NUL bytes,
 * control characters, files over FILE_MAX bytes. Every error reads
 * "FILE:LINE: what is wrong" ("FILE: strerror" when it cannot be read).
 *
 * Memory: the caller owns the returned config and frees it with
 * config_free, which frees every string, the map, and wipes hop_key.
 * Classes point at cfg->path; map keys are owned by the config.
 * Thread-safety: loading touches no shared state; once loaded the config
 * is never changed here, so any number of threads may read it and call
 * config_class_for / config_find_class at once. Nothing here logs or
 * exits; the ASCII case folding does not depend on the locale.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_table.h"
#include "domains.h"
#include "identity.h"
#include "netlist.h"
#include "sentinel.h"
#include "store.h"
#include "window.h"

#define LINE_MAX_LEN	4096	/* longest line accepted, bytes */
#define FILE_MAX	(64 * 1024 * 1024) /* longest file accepted, bytes */
#define MAX_WORDS	(CONFIG_MAX_LIMITS + 2)	/* words kept from a line */
#define LIST_WORDS	1024	/* words of a list line (networks, identity
				   map): LINE_MAX_LEN / 4 */
#define CAP_MAX		1000000	/* largest per-message cap in a class */
#define LIMIT_WINDOW_MAX (30U * 86400)	/* longest window, seconds */

#define ALNUM	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static const struct charset cs_token = { ALNUM "-._",
    "letters, digits and - . _" };
static const struct charset cs_prefix = { ALNUM ":_.-",
    "letters, digits and : _ . -" };

/* the values of each K_ENUM, at the index of the enum value they stand for */
static const char *const modes[] = {
	[CONFIG_MODE_ENFORCE] = "enforce", [CONFIG_MODE_OBSERVE] = "observe",
	[CONFIG_MODE_OBSERVE + 1] = NULL };
static const char *const stores[] = {
	[CONFIG_STORE_MEMORY] = "memory", [CONFIG_STORE_REDIS] = "redis",
	[CONFIG_STORE_REDIS + 1] = NULL };
static const char *const fallbacks[] = {
	[STORE_FALLBACK_LOCAL] = "local", [STORE_FALLBACK_ACCEPT] = "accept",
	[STORE_FALLBACK_TEMPFAIL] = "tempfail",
	[STORE_FALLBACK_TEMPFAIL + 1] = NULL };
static const char *const actions[] = {
	[CONFIG_ACTION_TEMPFAIL] = "tempfail", [CONFIG_ACTION_REJECT] = "reject",
	[CONFIG_ACTION_QUARANTINE] = "quarantine", [CONFIG_ACTION_TAG] = "tag",
	[CONFIG_ACTION_OBSERVE] = "observe", [CONFIG_ACTION_OBSERVE + 1] = NULL };
static const char *const lock_actions[] = {
	[CONFIG_ACTION_TEMPFAIL] = "tempfail", [CONFIG_ACTION_REJECT] = "reject",
	[CONFIG_ACTION_REJECT + 1] = NULL };
static const char *const history_actions[] = {
	[CONFIG_ACTION_TEMPFAIL] = "tempfail", [CONFIG_ACTION_REJECT] = "reject",
	[CONFIG_ACTION_QUARANTINE] = "quarantine", [CONFIG_ACTION_TAG] = "tag",
	[CONFIG_ACTION_OBSERVE] = "observe", [CONFIG_ACTION_LOCK] = "lock",
	[CONFIG_ACTION_LOCK + 1] = NULL };
static const char *const feedbacks[] = {
	[CONFIG_FEEDBACK_LOCK] = "lock", [CONFIG_FEEDBACK_TEMPFAIL] = "tempfail",
	[CONFIG_FEEDBACK_OBSERVE] = "observe",
	[CONFIG_FEEDBACK_OBSERVE + 1] = NULL };
static const char *const mtalogs[] = {
	[CONFIG_MTALOG_POSTFIX] = "postfix",
	[CONFIG_MTALOG_SENDMAIL] = "sendmail",
	[CONFIG_MTALOG_SENDMAIL + 1] = NULL };
static const char *const locals[] = {
	[CONFIG_LOCAL_KEY_BY_SENDER] = "key-by-sender",
	[CONFIG_LOCAL_INBOUND] = "inbound", [CONFIG_LOCAL_INBOUND + 1] = NULL };
static const char *const facilities[] = { "mail", "daemon", "user",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7", NULL };

#define OFF(f)	offsetof(struct config, f)

static const struct key keys[] = {
	/* daemon */
	{ "socket", K_SOCKET, "inet:8890@127.0.0.1", OFF(socket), 0, 0,
	    NULL, NULL },
	{ "user", K_STR, NULL, OFF(user), 0, 0, NULL, NULL },
	{ "pidfile", K_STR, NULL, OFF(pidfile), 0, 0, NULL, NULL },
	{ "syslog", K_BOOL, "yes", OFF(syslog), 0, 0, NULL, NULL },
	{ "syslog_facility", K_WORD, "mail", OFF(syslog_facility), 0, 0,
	    facilities, NULL },
	{ "log_accepts", K_BOOL, "yes", OFF(log_accepts), 0, 0, NULL, NULL },
	{ "mode", K_ENUM, "enforce", OFF(mode), 0, 0, modes, NULL },
	{ "early_check", K_BOOL, "yes", OFF(early_check), 0, 0, NULL, NULL },
	{ "early_check_cache", K_MS, "10s", OFF(early_check_cache_ms), 0,
	    3600000, NULL, NULL },
	{ "metrics_listen", K_LISTEN, NULL, 0, 0, 0, NULL, NULL },

	/* store */
	{ "store", K_ENUM, "memory", OFF(store), 0, 0, stores, NULL },
	{ "redis_server", K_SERVER, "127.0.0.1:6379", 0, 0, 0, NULL, NULL },
	{ "redis_password_file", K_STR, NULL, OFF(redis_password_file), 0, 0,
	    NULL, NULL },
	{ "redis_username", K_STR, NULL, OFF(redis_username), 0, 0, NULL,
	    NULL },
	{ "redis_prefix", K_STR, "sluice:", OFF(redis_prefix), 1, 64, NULL,
	    &cs_prefix },
	{ "redis_connect_timeout", K_MS, "250ms",
	    OFF(redis_connect_timeout_ms), 10, 60000, NULL, NULL },
	{ "redis_command_timeout", K_MS, "1s",
	    OFF(redis_command_timeout_ms), 10, 60000, NULL, NULL },
	{ "redis_pool", K_UINT, "16", OFF(redis_pool), 1, 1024, NULL, NULL },
	{ "redis_wait_replicas", K_UINT, "0", OFF(redis_wait_replicas), 0, 64,
	    NULL, NULL },
	{ "redis_cluster", K_BOOL, "no", OFF(redis_cluster), 0, 0, NULL, NULL },
	{ "redis_sentinels", K_SENTINELS, NULL, OFF(redis_sentinels), 0, 0,
	    NULL, NULL },
	{ "redis_sentinel_master", K_STR, NULL, OFF(redis_sentinel_master), 1,
	    SENTINEL_NAME_MAX, NULL, &cs_token },
	{ "redis_sentinel_password_file", K_STR, NULL,
	    OFF(redis_sentinel_password_file), 0, 0, NULL, NULL },
	{ "store_fallback", K_ENUM, "local", OFF(fallback), 0, 0, fallbacks,
	    NULL },
	{ "breaker_failures", K_UINT, "3", OFF(breaker_failures), 1, 1000,
	    NULL, NULL },
	{ "breaker_cooldown", K_MS, "5s", OFF(breaker_cooldown_ms), 100,
	    3600000, NULL, NULL },
	{ "window_buckets", K_UINT, "12", OFF(window_buckets), 1,
	    WINDOW_MAX_BUCKETS, NULL, NULL },

	/* classes */
	{ "class_map", K_STR, NULL, OFF(class_map), 0, 0, NULL, NULL },
	{ "domain_class_map", K_STR, NULL, OFF(domain_class_map), 0, 0, NULL,
	    NULL },

	/* identities */
	{ "identity_map", K_STR, NULL, OFF(identity_map), 0, 0, NULL, NULL },
	{ "identity_action", K_ENUM, "tag", OFF(identity_action), 0, 0,
	    actions, NULL },
	{ "trusted_networks", K_NETS, NULL, OFF(trusted_networks), 0, 0, NULL,
	    NULL },
	{ "trusted_header", K_STR, NULL, OFF(trusted_header), 1, 64, NULL,
	    &cs_token },
	{ "local_submission", K_ENUM, "key-by-sender", OFF(local_submission),
	    0, 0, locals, NULL },
	{ "login_default_domain", K_STR, NULL, OFF(login_default_domain), 1,
	    253, NULL, &cs_token },
	{ "local_domains", K_DOMAINS, NULL, OFF(local_domains), 0, 0, NULL,
	    NULL },

	/* content detectors */
	{ "fanout_action", K_ENUM, "reject", OFF(fanout_action), 0, 0,
	    actions, NULL },
	{ "repeats_action", K_ENUM, "quarantine", OFF(repeats_action), 0, 0,
	    actions, NULL },
	{ "wave_action", K_ENUM, "quarantine", OFF(wave_action), 0, 0,
	    actions, NULL },
	{ "near_action", K_ENUM, "quarantine", OFF(near_action), 0, 0,
	    actions, NULL },
	/* 12: below the closest unrelated pair measured (13 bits apart) */
	{ "near_distance", K_UINT, "10", OFF(near_distance), 0, 12, NULL,
	    NULL },
	{ "near_min_words", K_UINT, "100", OFF(near_min_words), 1, 1000000,
	    NULL, NULL },
	{ "tag_header", K_STR, "X-Sluice-Flag", OFF(tag_header), 1, 64,
	    NULL, &cs_token },

	/* loops */
	{ "cluster_id", K_STR, "sluice", OFF(cluster_id), 1, 64, NULL,
	    &cs_token },
	{ "hop_key_file", K_STR, NULL, OFF(hop_key_file), 0, 0, NULL, NULL },
	{ "hop_header", K_STR, "X-Sluice-Hop", OFF(hop_header), 1, 64, NULL,
	    &cs_token },
	{ "hop_limit", K_UINT, "5", OFF(hop_limit), 1, 100, NULL, NULL },
	{ "hop_lifetime", K_MS, "1d", OFF(hop_lifetime_ms), 60000,
	    30ULL * 86400000, NULL, NULL },
	{ "max_received", K_UINT, "50", OFF(max_received), 0, 1000, NULL,
	    NULL },
	{ "copies", K_LIMIT, "0/1h", OFF(copies), 0, 0, NULL, NULL },
	{ "loop_action", K_ENUM, "reject", OFF(loop_action), 0, 0, actions,
	    NULL },
	{ "copies_action", K_ENUM, "tempfail", OFF(copies_action), 0, 0,
	    actions, NULL },

	/* identity */
	{ "client_addresses_action", K_ENUM, "tempfail", OFF(clients_action),
	    0, 0, actions, NULL },

	/* a login's own history (doc/history.md) */
	{ "history", K_BOOL, "no", OFF(history), 0, 0, NULL, NULL },
	{ "history_factor", K_UINT, "10", OFF(history_factor), 2, 10000,
	    NULL, NULL },
	{ "history_floor", K_UINT, "20", OFF(history_floor), 1, 100000000,
	    NULL, NULL },
	{ "history_bucket", K_MS, "1h", OFF(history_bucket_ms), 1000, 86400000,
	    NULL, NULL },
	{ "history_window", K_MS, "14d", OFF(history_window_ms), 1000,
	    30ULL * 86400000, NULL, NULL },
	{ "history_learn", K_MS, "7d", OFF(history_learn_ms), 0,
	    30ULL * 86400000, NULL, NULL },
	{ "history_action", K_ENUM, "observe", OFF(history_action), 0, 0,
	    history_actions, NULL },

	/* the kill switch */
	{ "lock_after", K_LIMIT, "0/1h", OFF(lock_after), 0, 0, NULL, NULL },
	{ "lock_lifetime", K_MS, "1d", OFF(lock_lifetime_ms), 60000,
	    30ULL * 86400000, NULL, NULL },
	{ "lock_action", K_ENUM, "tempfail", OFF(lock_action), 0, 0,
	    lock_actions, NULL },
	/* run without a shell (posix_spawn, not the PATH); hook.c keeps 255 */
	{ "lock_command", K_COMMAND, NULL, OFF(lock_command), 1, 255, NULL,
	    NULL },
	{ "lock_command_timeout", K_MS, "10s", OFF(lock_command_timeout_ms),
	    100, 600000, NULL, NULL },

	/* the control channel: live classes, queue clean-up on lock */
	{ "control_poll", K_MS, "5s", OFF(control_poll_ms), 1000, 3600000,
	    NULL, NULL },
	{ "hold_command", K_ARGV, NULL, OFF(hold_command), 1, 1000, NULL,
	    NULL },
	{ "hold_command_timeout", K_MS, "30s", OFF(hold_command_timeout_ms),
	    100, 600000, NULL, NULL },
	{ "hold_window", K_MS, "1h", OFF(hold_window_ms), 60000,
	    7ULL * 86400000, NULL, NULL },
	{ "hold_max_per_login", K_UINT, "20000", OFF(hold_max_per_login), 1,
	    10000000, NULL, NULL },
	{ "hold_max_ids", K_UINT, "200000", OFF(hold_max_ids), 1, 10000000,
	    NULL, NULL },
	{ "hold_batch", K_UINT, "100", OFF(hold_batch), 1, 1000, NULL, NULL },

	/* the embedded store's control socket and state file */
	{ "control_socket", K_STR, "/run/sluice/sluicectl.sock",
	    OFF(control_socket), 1, 107, NULL, NULL },
	{ "state_file", K_STR, "/var/lib/sluice/state", OFF(state_file), 1,
	    1000, NULL, NULL },
	{ "state_save_interval", K_MS, "30s", OFF(state_save_interval_ms),
	    1000, 86400000, NULL, NULL },
	/* delivery feedback */
	{ "feedback_log", K_STR, NULL, OFF(feedback_log), 0, 0, NULL, NULL },
	{ "feedback_format", K_ENUM, "postfix", OFF(feedback_format), 0, 0,
	    mtalogs, NULL },
	{ "feedback_state", K_STR, NULL, OFF(feedback_state), 0, 0, NULL,
	    NULL },
	{ "feedback_action", K_ENUM, "lock", OFF(feedback_action), 0, 0,
	    feedbacks, NULL },
	{ "feedback_poll", K_MS, "1s", OFF(feedback_poll_ms), 100, 60000,
	    NULL, NULL },
	{ "feedback_max_ids", K_UINT, "100000", OFF(feedback_max_ids), 1,
	    10000000, NULL, NULL },
	{ "feedback_journal_dir", K_STR, NULL, OFF(feedback_journal_dir), 0,
	    0, NULL, NULL },
	{ "feedback_journal_match", K_STR, NULL, OFF(feedback_journal_match),
	    0, 0, NULL, NULL },
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* the keys of a class block: lists of limits, and per-message caps */
#define COFF(f)	offsetof(struct config_class, f)

static const struct class_key class_keys[] = {
	{ "messages", COFF(messages), COFF(nmessages), 0, UINT64_MAX },
	{ "recipients", COFF(recipients), COFF(nrecipients), 0, UINT64_MAX },
	{ "header_recipients", COFF(header_recipients),
	    COFF(nheader_recipients), 0, UINT64_MAX },
	{ "repeats", COFF(repeats), COFF(nrepeats), 0, UINT64_MAX },
	{ "body_senders", COFF(body_senders), COFF(nbody_senders), 0,
	    UINT64_MAX },
	/* the store keeps a login's last STORE_NEAR_KEEP bodies */
	{ "near_repeats", COFF(near_repeats), COFF(nnear_repeats), 1,
	    STORE_NEAR_KEEP - 1 },
	/* the memory store keeps at most 65,536 members of a set */
	{ "client_addresses", COFF(client_addresses),
	    COFF(nclient_addresses), 1, 65535 },
	{ "external_recipients", COFF(external_recipients),
	    COFF(nexternal_recipients), 0, UINT64_MAX },
	{ "internal_recipients", COFF(internal_recipients),
	    COFF(ninternal_recipients), 0, UINT64_MAX },
	{ "domain_messages", COFF(domain_messages), COFF(ndomain_messages), 0,
	    UINT64_MAX },
	{ "domain_recipients", COFF(domain_recipients),
	    COFF(ndomain_recipients), 0, UINT64_MAX },
	{ "remote_rejects", COFF(remote_rejects), COFF(nremote_rejects), 1,
	    UINT64_MAX },
	{ "remote_deferrals", COFF(remote_deferrals), COFF(nremote_deferrals),
	    1, UINT64_MAX },
	{ "remote_unknown", COFF(remote_unknown), COFF(nremote_unknown), 1,
	    UINT64_MAX },
	{ "max_recipients", 0, COFF(max_recipients), 0, 0 },
	{ "max_header_recipients", 0, COFF(max_header_recipients), 0, 0 },
};

#define NCLASS_KEYS	(sizeof(class_keys) / sizeof(class_keys[0]))
/* items of a request that are no class limit: copies, lock, refusals */
#define CLASS_FIXED_ITEMS	3

/* parse state for one load */
struct parse {
	struct config	*cfg;
	const char	*file;		/* for messages: the file being read */
	unsigned	 line;		/* 0: the error is about the whole file */
	char		*err;
	size_t		 errlen;
	unsigned char	 seen[NKEYS];	/* top-level keys given */
	struct config_class *cls;	/* open class block, or NULL */
	unsigned char	 cseen[NCLASS_KEYS]; /* its keys given */
	int		 have_default;	/* the file defined class default */
	unsigned	 sentinels_line; /* where redis_sentinels was given */
	size_t		 mapcap;	/* entries allocated in cfg->map */
	int		 domains;	/* reading domain_class_map */
	size_t		 dmapcap;	/* entries allocated in cfg->dmap */
};

/* perr - "file:line: message" into the error buffer; returns -1 */
static int
perr(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
perr(struct parse *p, const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX];
	unsigned char *q;
	va_list ap;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->file, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
	/* values are echoed: keep the message one printable line */
	for (q = (unsigned char *)p->err; *q != '\0'; q++)
		if (*q < 0x20 || *q == 0x7f)
			*q = '?';
	return -1;
}

/* ascii_lower - fold A-Z only, whatever the locale */
static unsigned char
ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* is_digit - 0-9, whatever the locale */
static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* is_blank - a word separator */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* parse_u64 - leading decimal digits of s (at least one); -1 on overflow */
static int
parse_u64(const char *s, const char **end, uint64_t *v)
{
	uint64_t n = 0;

	if (!is_digit(*s))
		return -1;
	for (; is_digit(*s); s++) {
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*end = s;
	*v = n;
	return 0;
}

/* config_parse_duration - "90", "90s", "15m", "1h", "2d", "1w", "250ms" */
int
config_parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
	};
	const char *end;
	uint64_t n;
	size_t i;

	if (s == NULL || parse_u64(s, &end, &n) == -1)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (n > UINT64_MAX / units[i].ms)
				return -1;
			*ms = n * units[i].ms;
			return 0;
		}
	return -1;
}

/* config_parse_limit - "100/1h" into a limit; whole seconds, 1s to 30d */
int
config_parse_limit(const char *s, struct config_limit *l)
{
	const char *end;
	uint64_t n, ms;

	if (s == NULL || parse_u64(s, &end, &n) == -1 || *end != '/' ||
	    config_parse_duration(end + 1, &ms) == -1 || ms % 1000 != 0 ||
	    ms < 1000 || ms / 1000 > LIMIT_WINDOW_MAX)
		return -1;
	l->count = n;
	l->window = (uint32_t)(ms / 1000);
	return 0;
}

/* config_format_window - the largest unit that divides exactly: "1h" */
char *
config_format_window(uint32_t s, char *out, size_t outlen)
{
	static const struct {
		uint32_t	 secs;
		char		 unit;
	} units[] = {
		{ 604800, 'w' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' },
	};
	size_t i;

	if (outlen == 0)
		return out;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s != 0 && s % units[i].secs == 0) {
			snprintf(out, outlen, "%lu%c",
			    (unsigned long)(s / units[i].secs), units[i].unit);
			return out;
		}
	snprintf(out, outlen, "%lus", (unsigned long)s);
	return out;
}

/* ascii_caseeq - equal but for ASCII case? */
static int
ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (ascii_lower((unsigned char)*a) !=
		    ascii_lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

/* parse_bool - yes/no and friends, any case (OpenDKIM files say "Yes") */
static int
parse_bool(const char *v)
{
	static const char *const t[] = { "yes", "true", "on", "1", NULL };
	static const char *const f[] = { "no", "false", "off", "0", NULL };
	size_t i;

	for (i = 0; t[i] != NULL; i++) {
		if (ascii_caseeq(v, t[i]))
			return 1;
		if (ascii_caseeq(v, f[i]))
			return 0;
	}
	return -1;
}

/* in_list - index of v in a NULL-terminated list, or -1 */
static int
in_list(const char *const *names, const char *v)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return -1;
}

/* list_text - "a, b or c" for an error message */
static void
list_text(const char *const *names, char *out, size_t outlen)
{
	size_t o = 0;
	int i, r;

	out[0] = '\0';
	for (i = 0; names[i] != NULL && o < outlen; i++) {
		r = snprintf(out + o, outlen - o, "%s%s", i == 0 ? "" :
		    names[i + 1] == NULL ? " or " : ", ", names[i]);
		if (r < 0)
			break;
		o += (size_t)r;
	}
}

/* set_str - replace a string field with a copy of v */
static int
set_str(struct parse *p, char **field, const char *v)
{
	char *d = strdup(v);

	if (d == NULL)
		return perr(p, "out of memory");
	free(*field);
	*field = d;
	return 0;
}

/* set_server - "host:port", "[v6 address]:port" or "unix:/path" */
static int
set_server(struct parse *p, const char *v)
{
	struct config *c = p->cfg;
	const char *colon, *host, *hend, *end;
	char hostbuf[256];
	uint64_t port;
	size_t hl;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/')
			return perr(p, "redis_server: unix socket path must be "
			    "absolute, got \"%s\"", v + 5);
		free(c->redis_host);
		c->redis_host = NULL;
		c->redis_port = 0;
		return set_str(p, &c->redis_socket, v + 5);
	}
	if (v[0] == '[') {
		host = v + 1;
		if ((hend = strchr(host, ']')) == NULL || hend[1] != ':')
			return perr(p, "redis_server: expected [address]:port, "
			    "got \"%s\"", v);
		colon = hend + 1;
	} else {
		host = v;
		if ((colon = strchr(v, ':')) == NULL)
			return perr(p, "redis_server: expected host:port, "
			    "[address]:port or unix:/path, got \"%s\"", v);
		if (strchr(colon + 1, ':') != NULL)
			return perr(p, "redis_server: write an IPv6 address in "
			    "brackets, e.g. [::1]:6379, got \"%s\"", v);
		hend = colon;
	}
	hl = (size_t)(hend - host);
	if (hl == 0)
		return perr(p, "redis_server: no host in \"%s\"", v);
	if (hl >= sizeof(hostbuf))
		return perr(p, "redis_server: host longer than %zu bytes",
		    sizeof(hostbuf) - 1);
	if (parse_u64(colon + 1, &end, &port) == -1 || *end != '\0' ||
	    port < 1 || port > 65535)
		return perr(p, "redis_server: expected host:port with a port "
		    "from 1 to 65535, got \"%s\"", v);
	memcpy(hostbuf, host, hl);
	hostbuf[hl] = '\0';
	free(c->redis_socket);
	c->redis_socket = NULL;
	c->redis_port = (int)port;
	return set_str(p, &c->redis_host, hostbuf);
}

/*
 * set_listen - metrics_listen: "127.0.0.1:9188" or "[::1]:9188". Numeric
 * loopback addresses only: the page has no authentication and no TLS,
 * so it is never offered to the network (a remote Prometheus scrapes it
 * through a TLS proxy or a tunnel on the relay).
 */
static int
set_listen(struct parse *p, const char *v)
{
	static const unsigned char v6lo[16] = { [15] = 1 };
	unsigned char a[16];
	const char *h = v, *colon, *end;
	char host[INET6_ADDRSTRLEN];
	uint64_t port;
	size_t hl;
	int v6 = v[0] == '[';

	if (v6) {
		h = v + 1;
		colon = strchr(h, ']');
		if (colon == NULL || colon[1] != ':')
			colon = NULL;
		else
			colon++;
	} else
		colon = strchr(v, ':');
	hl = colon == NULL ? 0 : (size_t)(colon - h) - (size_t)v6;
	if (colon == NULL || hl == 0 || hl >= sizeof(host) ||
	    parse_u64(colon + 1, &end, &port) == -1 || *end != '\0' ||
	    port < 1 || port > 65535)
		return perr(p, "metrics_listen: expected ADDRESS:PORT (e.g. "
		    "127.0.0.1:9188 or [::1]:9188), got \"%s\"", v);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1)
		return perr(p, "metrics_listen: \"%s\" is not a numeric IP%s "
		    "address", host, v6 ? "v6" : "v4");
	if (v6 ? memcmp(a, v6lo, 16) != 0 : a[0] != 127)
		return perr(p, "metrics_listen: %s is not a loopback address; "
		    "the metrics page has no authentication, so it listens on "
		    "127.0.0.0/8 or ::1 only", host);
	p->cfg->metrics_port = (int)port;
	return set_str(p, &p->cfg->metrics_host, host);
}

/* socket_ok - a libmilter spec we know: inet:, inet6:, unix:, local: */
static int
socket_ok(const char *v)
{
	static const char *const pfx[] = { "inet:", "inet6:", "unix:",
	    "local:", NULL };
	size_t i, n;

	for (i = 0; pfx[i] != NULL; i++) {
		n = strlen(pfx[i]);
		if (strncmp(v, pfx[i], n) == 0)
			return v[n] != '\0';
	}
	return 0;
}

/* set_nets - a list of networks for a K_NETS key */
static int
set_nets(struct parse *p, const struct key *k, const char *v)
{
	struct netlist **field = (struct netlist **)(void *)((char *)p->cfg +
	    k->off);
	char msg[CONFIG_ERR_MAX / 2];
	struct netlist *l;

	if ((l = netlist_parse(v, msg, sizeof(msg))) == NULL)
		return perr(p, "%s: %s", k->name, msg);
	netlist_free(*field);
	*field = l;
	return 0;
}

/* set_domains - a list of domain names for a K_DOMAINS key */
static int
set_domains(struct parse *p, const struct key *k, const char *v)
{
	struct domains **field = (struct domains **)(void *)((char *)p->cfg +
	    k->off);
	char msg[CONFIG_ERR_MAX / 2];
	struct domains *l;

	if ((l = domains_parse(v, msg, sizeof(msg))) == NULL)
		return perr(p, "%s: %s", k->name, msg);
	domains_free(*field);
	*field = l;
	return 0;
}

/* set_sentinels - "host:port, host:port ..." checked, kept as written */
static int
set_sentinels(struct parse *p, const struct key *k, const char *v)
{
	struct sentinel_addr l[SENTINEL_MAX];
	char msg[CONFIG_ERR_MAX / 2];

	if (sentinel_parse_list(v, l, SENTINEL_MAX, msg, sizeof(msg)) == -1)
		return perr(p, "%s: %s", k->name, msg);
	p->sentinels_line = p->line;
	return set_str(p, (char **)(void *)((char *)p->cfg + k->off), v);
}

/* set_key - check one value of a top-level key and store it */
static int
set_key(struct parse *p, const struct key *k, const char *v)
{
	char *base = (char *)p->cfg, list[256];
	const char *end;
	uint64_t n;
	size_t len = strlen(v);
	int i;

	/* a value that cannot be shown on one line is no path, name or
	 * number either: refuse it without echoing it */
	for (end = v; *end != '\0'; end++)
		if ((unsigned char)*end < 0x20 || *end == 0x7f)
			return perr(p, "%s: control characters are not allowed",
			    k->name);
	switch (k->type) {
	case K_STR:
		if (len == 0)
			return perr(p, "%s: empty value", k->name);
		if (k->max != 0 && (len < k->min || len > k->max))
			return perr(p, "%s: expected %llu to %llu characters, "
			    "got %zu", k->name, (unsigned long long)k->min,
			    (unsigned long long)k->max, len);
		if (k->chars != NULL && strspn(v, k->chars->set) != len)
			return perr(p, "%s: only %s are allowed, got \"%s\"",
			    k->name, k->chars->desc, v);
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_WORD:
		if (in_list(k->names, v) == -1) {
			list_text(k->names, list, sizeof(list));
			return perr(p, "%s: expected %s, got \"%s\"", k->name,
			    list, v);
		}
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_SOCKET:
		if (!socket_ok(v))
			return perr(p, "%s: expected inet:PORT@HOST, "
			    "inet6:PORT@HOST, unix:PATH or local:PATH, got "
			    "\"%s\"", k->name, v);
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_COMMAND:
	case K_ARGV:
		if (v[0] != '/')
			return perr(p, "%s: expected the absolute path of a "
			    "program (it is run without a shell), got \"%s\"",
			    k->name, v);
		if (len > k->max)
			return perr(p, "%s: longer than %llu bytes", k->name,
			    (unsigned long long)k->max);
		return set_str(p, (char **)(void *)(base + k->off), v);
	case K_ENUM:
		if ((i = in_list(k->names, v)) == -1) {
			list_text(k->names, list, sizeof(list));
			return perr(p, "%s: expected %s, got \"%s\"", k->name,
			    list, v);
		}
		*(int *)(void *)(base + k->off) = i;
		return 0;
	case K_BOOL:
		if ((i = parse_bool(v)) == -1)
			return perr(p, "%s: expected yes or no, got \"%s\"",
			    k->name, v);
		*(int *)(void *)(base + k->off) = i;
		return 0;
	case K_UINT:
		if (parse_u64(v, &end, &n) == -1 || *end != '\0' ||
		    n < k->min || n > k->max)
			return perr(p, "%s: expected a number from %llu to %llu,"
			    " got \"%s\"", k->name,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max, v);
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)n;
		return 0;
	case K_MS:
		if (config_parse_duration(v, &n) == -1 || n < k->min ||
		    n > k->max)
			return perr(p, "%s: expected a duration from %llums to "
			    "%llums (e.g. 250ms, 5s, 1m), got \"%s\"", k->name,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max, v);
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)n;
		return 0;
	case K_LIMIT:
		if (config_parse_limit(v, (struct config_limit *)(void *)
		    (base + k->off)) == -1)
			return perr(p, "%s: expected COUNT/DURATION, e.g. "
			    "100/1h, window 1s to 30d in whole seconds, got "
			    "\"%s\"", k->name, v);
		return 0;
	case K_SERVER:
		return set_server(p, v);
	case K_NETS:
		return set_nets(p, k, v);
	case K_DOMAINS:
		return set_domains(p, k, v);
	case K_LISTEN:
		return set_listen(p, v);
	case K_SENTINELS:
		return set_sentinels(p, k, v);
	}
	return perr(p, "%s: internal error: unknown key type", k->name);
}

/*
 * set_argv - "PROGRAM ARG..." from the words of a line (or quoted):
 * kept joined by single spaces and split again on spaces when run, so
 * no argument can hold a space
 */
static int
set_argv(struct parse *p, const struct key *k, char **w, int n)
{
	char buf[LINE_MAX_LEN + 1];
	size_t o = 0, len;
	int j;

	if (n < 2)
		return perr(p, "%s: expected a program and its arguments",
		    k->name);
	if (n > MAX_WORDS)
		return perr(p, "%s: at most %d arguments after the program",
		    k->name, MAX_WORDS - 2);
	for (j = 1; j < n; j++) {
		len = strlen(w[j]);
		if (strpbrk(w[j], "\t\r") != NULL || len == 0)
			return perr(p, "%s: an argument may not be empty or "
			    "hold a tab", k->name);
		if (o + len + 1 > sizeof(buf) || o + len > k->max)
			return perr(p, "%s: longer than %llu bytes", k->name,
			    (unsigned long long)k->max);
		if (o > 0)
			buf[o++] = ' ';
		memcpy(buf + o, w[j], len);
		o += len;
	}
	buf[o] = '\0';
	return set_key(p, k, buf);
}

/*
 * split - cut a line into words in place: blanks separate, '#' starts a
 * comment, "double quotes" group (no escapes). Keeps the first `max`
 * words in w and returns how many there were in all, so callers can say
 * "too many" in their own words; -1 with err on a quoting mistake.
 */
static int
split(struct parse *p, char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		while (is_blank(*s))
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (*s == '"') {
			if (n < max)
				w[n] = s + 1;
			n++;
			if ((s = strchr(s + 1, '"')) == NULL)
				return perr(p, "unterminated quote");
			*s++ = '\0';
			if (*s != '\0' && !is_blank(*s) && *s != '#')
				return perr(p, "text right after a closing "
				    "quote");
			continue;
		}
		if (n < max)
			w[n] = s;
		n++;
		for (; *s != '\0' && !is_blank(*s) && *s != '#'; s++)
			if (*s == '"')
				return perr(p, "quote inside a word (quote the "
				    "whole value)");
		if (*s == '#') {
			*s = '\0';
			return n;
		}
		if (*s != '\0')
			*s++ = '\0';
	}
}

/* class_name_ok - 1..CONFIG_NAME_MAX of [A-Za-z0-9_.-] */
static int
class_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CONFIG_NAME_MAX && strspn(s, ALNUM "_.-") == n;
}

/* class_line - one line inside a class block */
static int
class_line(struct parse *p, char **w, int n)
{
	struct config_class *c = p->cls;
	struct config_limit *lim;
	const char *end;
	uint64_t v;
	size_t *cnt, i, k;
	int j;

	for (k = 0; k < NCLASS_KEYS; k++)
		if (strcmp(w[0], class_keys[k].name) == 0)
			break;
	if (k == NCLASS_KEYS)
		return perr(p, "unknown key \"%s\" in class %s", w[0], c->name);
	if (p->cseen[k])
		return perr(p, "%s given twice in class %s", w[0], c->name);
	p->cseen[k] = 1;
	if (class_keys[k].lim == 0) {
		if (n != 2 || parse_u64(w[1], &end, &v) == -1 ||
		    *end != '\0' || v > CAP_MAX)
			return perr(p, "%s: expected a number from 0 to %d",
			    w[0], CAP_MAX);
		*(uint32_t *)(void *)((char *)c + class_keys[k].cnt) =
		    (uint32_t)v;
		return 0;
	}
	lim = (struct config_limit *)(void *)((char *)c + class_keys[k].lim);
	cnt = (size_t *)(void *)((char *)c + class_keys[k].cnt);
	if (n < 2)
		return perr(p, "%s: expected one or more limits like 100/1h",
		    w[0]);
	if (n - 1 > CONFIG_MAX_LIMITS)
		return perr(p, "%s: at most %d limits", w[0], CONFIG_MAX_LIMITS);
	for (j = 1; j < n; j++) {
		if (config_parse_limit(w[j], &lim[j - 1]) == -1)
			return perr(p, "%s: bad limit \"%s\" (expected COUNT/"
			    "DURATION, e.g. 100/1h, window 1s to 30d in whole "
			    "seconds)", w[0], w[j]);
		if (lim[j - 1].count < class_keys[k].min ||
		    lim[j - 1].count > class_keys[k].max)
			return perr(p, "%s: bad limit \"%s\" (COUNT from %llu "
			    "to %llu)", w[0], w[j],
			    (unsigned long long)class_keys[k].min,
			    (unsigned long long)class_keys[k].max);
		for (i = 0; i + 1 < (size_t)j; i++)
			if (lim[i].window == lim[j - 1].window)
				return perr(p, "%s: two limits for the same "
				    "window (%s and %s)", w[0], w[i + 1], w[j]);
	}
	*cnt = (size_t)(n - 1);
	return 0;
}

/* class_open - "class NAME {": a new class, or the one replacing default */
static int
class_open(struct parse *p, char **w, int n)
{
	struct config *c = p->cfg;
	struct config_class *cls;

	if (p->cls != NULL)
		return perr(p, "class inside class %s (missing \"}\"?)",
		    p->cls->name);
	if (n != 3 || strcmp(w[2], "{") != 0)
		return perr(p, "expected \"class NAME {\"");
	if (!class_name_ok(w[1]))
		return perr(p, "bad class name \"%s\" (1 to %d of A-Z a-z 0-9 "
		    "_ . -)", w[1], CONFIG_NAME_MAX);
	if (strcmp(w[1], "default") == 0) {
		if (p->have_default)
			return perr(p, "class default defined twice");
		p->have_default = 1;
		cls = &c->classes[0];
	} else {
		if (config_find_class(c, w[1]) != NULL)
			return perr(p, "class %s defined twice", w[1]);
		if (c->nclasses == CONFIG_MAX_CLASSES)
			return perr(p, "more than %d classes",
			    CONFIG_MAX_CLASSES);
		cls = &c->classes[c->nclasses++];
	}
	memset(cls, 0, sizeof(*cls));
	memcpy(cls->name, w[1], strlen(w[1]) + 1);
	cls->file = c->path;
	cls->line = p->line;
	p->cls = cls;
	memset(p->cseen, 0, sizeof(p->cseen));
	return 0;
}

/* class_items - store items a message of the class can need at most */
static size_t
class_items(const struct config_class *c)
{
	size_t k, n = CLASS_FIXED_ITEMS;

	for (k = 0; k < NCLASS_KEYS; k++)
		if (class_keys[k].lim != 0)
			n += *(const size_t *)(const void *)((const char *)c +
			    class_keys[k].cnt);
	return n;
}

/* join - words back into one string, blank-separated (they came from one
 * line, so they fit in LINE_MAX_LEN + 1) */
static void
join(char *const *w, int n, char *out)
{
	size_t o = 0, l;
	int j;

	for (j = 0; j < n; j++) {
		l = strlen(w[j]);
		if (o + l + 2 > LINE_MAX_LEN + 1)
			break;
		if (j > 0)
			out[o++] = ' ';
		memcpy(out + o, w[j], l);
		o += l;
	}
	out[o] = '\0';
}

/* config_line - one line of the main file */
static int
config_line(struct parse *p, char *line)
{
	char *w[LIST_WORDS], list[LINE_MAX_LEN + 1];
	size_t i;
	int n;

	if ((n = split(p, line, w, LIST_WORDS)) <= 0)
		return n;
	if (strcmp(w[0], "}") == 0) {
		if (p->cls == NULL)
			return perr(p, "\"}\" without a class");
		if (n != 1)
			return perr(p, "text after \"}\"");
		if (class_items(p->cls) > STORE_MAX_ITEMS)
			return perr(p, "class %s: %zu limits in all, at most %d "
			    "(they are checked in one store call)", p->cls->name,
			    class_items(p->cls) - CLASS_FIXED_ITEMS,
			    STORE_MAX_ITEMS - CLASS_FIXED_ITEMS);
		p->cls = NULL;
		return 0;
	}
	if (strcmp(w[0], "class") == 0)
		return class_open(p, w, n);
	if (p->cls != NULL)
		return class_line(p, w, n);
	for (i = 0; i < NKEYS; i++)
		if (strcmp(w[0], keys[i].name) == 0)
			break;
	if (i == NKEYS)
		return perr(p, "unknown key \"%s\"", w[0]);
	if (p->seen[i])
		return perr(p, "%s given twice", w[0]);
	p->seen[i] = 1;
	if (keys[i].type == K_ARGV)
		return set_argv(p, &keys[i], w, n);
	if (keys[i].type == K_NETS || keys[i].type == K_SENTINELS ||
	    keys[i].type == K_DOMAINS) {
		if (n > LIST_WORDS)
			return perr(p, "%s: more than %d words", w[0],
			    LIST_WORDS);
		join(w + 1, n - 1, list);
		return set_key(p, &keys[i], list);
	}
	if (n != 2)
		return perr(p, "%s: expected one value (quote it if it has "
		    "spaces)", w[0]);
	return set_key(p, &keys[i], w[1]);
}

/*
 * each_line - call fn on every line of text (len bytes, which need not
 * end in a newline). NUL bytes, control characters and lines longer
 * than LINE_MAX_LEN are errors; a UTF-8 byte order mark is skipped.
 */
static int
each_line(struct parse *p, const char *text, size_t len,
    int (*fn)(struct parse *, char *))
{
	char buf[LINE_MAX_LEN + 1];
	const char *s = text, *e = text + len, *nl;
	unsigned char ch;
	size_t n, i;

	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	for (p->line = 1; s < e; p->line++) {
		nl = memchr(s, '\n', (size_t)(e - s));
		n = (size_t)((nl != NULL ? nl : e) - s);
		for (i = 0; i < n; i++) {
			ch = (unsigned char)s[i];
			if (ch == '\0')
				return perr(p, "NUL byte in the file");
			if ((ch < 0x20 && ch != '\t' && ch != '\r') ||
			    ch == 0x7f)
				return perr(p, "control character 0x%02x in "
				    "the line", ch);
		}
		if (n > LINE_MAX_LEN)
			return perr(p, "line longer than %d bytes",
			    LINE_MAX_LEN);
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (fn(p, buf) == -1)
			return -1;
		s = nl != NULL ? nl + 1 : e;
	}
	return 0;
}

/* read_file - a whole file into memory (not NUL-terminated); NULL + err */
static char *
read_file(struct parse *p, const char *path, size_t *lenp)
{
	char *buf = NULL, *nb;
	size_t cap = 0, len = 0, r;
	FILE *fp;
	int e;

	p->file = path;
	p->line = 0;
	if ((fp = fopen(path, "rbe")) == NULL) {
		perr(p, "%s", strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			if (cap > FILE_MAX) {
				perr(p, "larger than %d MiB", FILE_MAX >> 20);
				goto fail;
			}
			cap = cap == 0 ? 16384 : cap * 2;
			if (cap > FILE_MAX + 1)
				cap = FILE_MAX + 1;	/* one more: too big */
			if ((nb = realloc(buf, cap)) == NULL) {
				perr(p, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		if ((r = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += r;
	}
	if (ferror(fp)) {
		e = errno != 0 ? errno : EIO;
		perr(p, "%s", strerror(e));
		goto fail;
	}
	fclose(fp);
	*lenp = len;
	return buf;
fail:
	free(buf);
	fclose(fp);
	return NULL;
}

/* map_cmp - order of map entries: bytes of their lower-cased keys */
static int
map_cmp(const void *a, const void *b)
{
	return strcmp(((const struct config_map_entry *)a)->key,
	    ((const struct config_map_entry *)b)->key);
}

/*
 * map_fold_cmp - a login (bsearch key) against an entry: the login folded
 * to lower case as it goes, in the order map_cmp sorted the entries
 */
static int
map_fold_cmp(const void *login, const void *entry)
{
	const unsigned char *a = login;
	const unsigned char *b = (const unsigned char *)
	    ((const struct config_map_entry *)entry)->key;
	unsigned char ca;

	for (;; a++, b++) {
		ca = ascii_lower(*a);
		if (ca != *b || ca == '\0')
			return (int)ca - (int)*b;
	}
}

/* lower_dup - a copy folded to ASCII lower case */
static char *
lower_dup(const char *s)
{
	char *d = strdup(s), *q;

	if (d != NULL)
		for (q = d; *q != '\0'; q++)
			*q = (char)ascii_lower((unsigned char)*q);
	return d;
}

/* map_line - one "LOGIN CLASS" or "@domain CLASS" line of the class map */
static int
map_line(struct parse *p, char *line)
{
	struct config *c = p->cfg;
	struct config_map_entry *nm, **map = p->domains ? &c->dmap : &c->map;
	size_t *nmap = p->domains ? &c->ndmap : &c->nmap;
	size_t *cap = p->domains ? &p->dmapcap : &p->mapcap;
	const struct config_class *cls;
	char *w[2];
	size_t ncap;
	int n;

	if ((n = split(p, line, w, 2)) <= 0)
		return n;
	if (p->domains) {
		if (n != 2)
			return perr(p, "expected \"DOMAIN CLASS\"");
		if (strchr(w[0], '@') != NULL)
			return perr(p, "\"%s\": expected a domain, without "
			    "\"@\"", w[0]);
	} else {
		if (n != 2)
			return perr(p, "expected \"LOGIN CLASS\" or "
			    "\"@domain CLASS\"");
		if (w[0][0] == '\0')
			return perr(p, "empty login");
		if (w[0][0] == '@' && (w[0][1] == '\0' ||
		    strchr(w[0] + 1, '@')))
			return perr(p, "\"%s\": expected @domain, with one "
			    "\"@\" and a domain after it", w[0]);
	}
	if ((cls = config_find_class(c, w[1])) == NULL)
		return perr(p, "unknown class \"%s\"", w[1]);
	if (*nmap == *cap) {
		ncap = *cap == 0 ? 64 : *cap * 2;
		if ((nm = realloc(*map, ncap * sizeof(*nm))) == NULL)
			return perr(p, "out of memory");
		*map = nm;
		*cap = ncap;
	}
	if (((*map)[*nmap].key = lower_dup(w[0])) == NULL)
		return perr(p, "out of memory");
	(*map)[*nmap].cls = (size_t)(cls - c->classes);
	(*map)[*nmap].line = p->line;
	(*nmap)++;
	return 0;
}

/* rel_path - a map file's path: relative ones are taken from dir */
static char *
rel_path(struct parse *p, const char *dir, const char *name)
{
	char *path;
	size_t len, dl;

	if (name[0] == '/' || dir == NULL) {
		path = strdup(name);
	} else {
		dl = strlen(dir);
		len = dl + 1 + strlen(name) + 1;
		if ((path = malloc(len)) != NULL)
			snprintf(path, len, "%s%s%s", dir,
			    dl > 0 && dir[dl - 1] == '/' ? "" : "/", name);
	}
	if (path == NULL) {
		p->line = 0;
		perr(p, "out of memory");
	}
	return path;
}

/* ident_line - one "LOGIN ADDRESS, @DOMAIN, ..." line of the identity map */
static int
ident_line(struct parse *p, char *line)
{
	char *w[LIST_WORDS], msg[CONFIG_ERR_MAX / 2];
	int n;

	if ((n = split(p, line, w, LIST_WORDS)) <= 0)
		return n;
	if (n > LIST_WORDS)
		return perr(p, "more than %d words on one line", LIST_WORDS);
	if (ident_map_add(p->cfg->identities, w, (size_t)n, p->line, msg,
	    sizeof(msg)) == -1)
		return perr(p, "%s", msg);
	return 0;
}

/* load_identities - read the identity map; relative to dir */
static int
load_identities(struct parse *p, const char *dir)
{
	char *path, *text;
	size_t len;
	int rc = -1;

	if ((path = rel_path(p, dir, p->cfg->identity_map)) == NULL)
		return -1;
	if ((p->cfg->identities = ident_map_new()) == NULL) {
		p->line = 0;
		perr(p, "out of memory");
		goto out;
	}
	if ((text = read_file(p, path, &len)) == NULL)
		goto out;
	rc = each_line(p, text, len, ident_line);
	free(text);
	if (rc == 0 && ident_map_finish(p->cfg->identities, &p->line) == -1)
		rc = perr(p, "a login listed twice");
out:
	free(path);
	return rc;
}

/* load_map - read the class map; a relative path is taken from dir */
static int
load_map(struct parse *p, const char *dir, int domains)
{
	struct config *c = p->cfg;
	struct config_map_entry *map;
	char *path, *text;
	size_t len, i, n;
	int rc = -1;

	p->domains = domains;
	if ((path = rel_path(p, dir, domains ? c->domain_class_map :
	    c->class_map)) == NULL)
		return -1;
	if ((text = read_file(p, path, &len)) == NULL)
		goto out;
	rc = each_line(p, text, len, map_line);
	free(text);
	if (rc == -1)
		goto out;
	map = domains ? c->dmap : c->map;
	n = domains ? c->ndmap : c->nmap;
	if (n > 1)	/* qsort wants a non-NULL array, even empty */
		qsort(map, n, sizeof(*map), map_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(map[i - 1].key, map[i].key) == 0) {
			p->line = map[i].line > map[i - 1].line ?
			    map[i].line : map[i - 1].line;
			rc = perr(p, "\"%s\" listed twice", map[i].key);
			goto out;
		}
	rc = 0;
out:
	free(path);
	return rc;
}

/* builtin_default - the class used when the file defines no "default" */
static void
builtin_default(struct config_class *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->name, "default", sizeof("default"));
	d->messages[0] = (struct config_limit){ 100, 3600 };
	d->messages[1] = (struct config_limit){ 1000, 86400 };
	d->nmessages = 2;
	d->recipients[0] = (struct config_limit){ 500, 3600 };
	d->recipients[1] = (struct config_limit){ 2000, 86400 };
	d->nrecipients = 2;
	d->max_recipients = 100;
	d->max_header_recipients = 100;
	d->file = "built-in";
	d->line = 0;
}

/*
 * domain_items_fit - a login's limits and its domain's go in one store
 * request: every class's own limits with the most any class has for a
 * domain must fit in it
 */
static int
domain_items_fit(struct parse *p)
{
	const struct config *c = p->cfg;
	size_t i, own, dom, most = 0;

	for (i = 0; i < c->nclasses; i++) {
		dom = c->classes[i].ndomain_messages +
		    c->classes[i].ndomain_recipients;
		if (dom > most)
			most = dom;
	}
	for (i = 0; i < c->nclasses; i++) {
		const struct config_class *k = &c->classes[i];

		/* with history yes, its item is one more in the same call */
		own = class_items(k) - k->ndomain_messages -
		    k->ndomain_recipients + (c->history ? 1 : 0);
		if (own + most > STORE_MAX_ITEMS) {
			p->line = k->line;
			if (most == 0)	/* history yes made it too many */
				return perr(p, "class %s: %zu limits in all, at "
				    "most %d with history yes", k->name,
				    own - CLASS_FIXED_ITEMS - 1,
				    STORE_MAX_ITEMS - CLASS_FIXED_ITEMS - 1);
			return perr(p, "class %s: %zu limits%s and a domain's "
			    "%zu are more than %d in all (they are checked in "
			    "one store call)", k->name, own - CLASS_FIXED_ITEMS,
			    c->history ? " (history's included)" : "", most,
			    STORE_MAX_ITEMS - CLASS_FIXED_ITEMS);
		}
	}
	return 0;
}

/* parse_text - a config from the text of its file; dir: for class_map */
static struct config *
parse_text(const char *text, size_t len, const char *name, const char *dir,
    char *err, size_t errlen)
{
	struct parse p;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.file = name;
	p.err = err;
	p.errlen = errlen;
	if ((p.cfg = calloc(1, sizeof(*p.cfg))) == NULL ||
	    (p.cfg->path = strdup(name)) == NULL) {
		perr(&p, "out of memory");
		goto fail;
	}
	for (i = 0; i < NKEYS; i++)
		if (keys[i].def != NULL && set_key(&p, &keys[i],
		    keys[i].def) == -1)
			goto fail;
	builtin_default(&p.cfg->classes[0]);
	p.cfg->nclasses = 1;
	if (each_line(&p, text, len, config_line) == -1)
		goto fail;
	if (p.cls != NULL) {
		p.line = p.cls->line;
		perr(&p, "class %s is not closed with \"}\"", p.cls->name);
		goto fail;
	}
	if (p.cfg->redis_sentinels != NULL && p.cfg->redis_cluster) {
		p.line = p.sentinels_line;
		perr(&p, "redis_sentinels and redis_cluster exclude each other "
		    "(a Cluster fails over by itself)");
		goto fail;
	}
	if ((p.cfg->redis_sentinels != NULL) !=
	    (p.cfg->redis_sentinel_master != NULL)) {
		p.line = p.sentinels_line;
		perr(&p, p.line > 0 ? "redis_sentinels needs "
		    "redis_sentinel_master (the name the sentinels monitor)" :
		    "redis_sentinel_master needs redis_sentinels");
		goto fail;
	}
	if (p.cfg->history_window_ms < p.cfg->history_bucket_ms) {
		p.line = 0;
		perr(&p, "history_window must be at least history_bucket");
		goto fail;
	}
	if (domain_items_fit(&p) == -1)
		goto fail;
	if (p.cfg->class_map != NULL && load_map(&p, dir, 0) == -1)
		goto fail;
	if (p.cfg->domain_class_map != NULL && load_map(&p, dir, 1) == -1)
		goto fail;
	if (p.cfg->identity_map != NULL && load_identities(&p, dir) == -1)
		goto fail;
	return p.cfg;
fail:
	config_free(p.cfg);
	return NULL;
}

/* config_load - parse a file and the class map it names */
struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct parse p;
	struct config *c;
	char *dir = NULL, *slash, *text;
	size_t len;

	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	if ((text = read_file(&p, path, &len)) == NULL)
		return NULL;
	/* a relative class_map is taken from the config's directory */
	if (strchr(path, '/') != NULL) {
		if ((dir = strdup(path)) == NULL) {
			free(text);
			perr(&p, "out of memory");
			return NULL;
		}
		slash = strrchr(dir, '/');
		slash[slash == dir ? 1 : 0] = '\0';	/* "/x" -> "/" */
	}
	c = parse_text(text, len, path, dir, err, errlen);
	free(dir);
	free(text);
	return c;
}

/* config_parse_string - as config_load, from memory; class_map from "." */
struct config *
config_parse_string(const char *text, const char *name, char *err,
    size_t errlen)
{
	if (name == NULL)
		name = "(string)";
	return parse_text(text, strlen(text), name, NULL, err, errlen);
}

/* config_free - release a config and wipe the key it holds; NULL is fine */
void
config_free(struct config *c)
{
	/* through a volatile pointer, so the wipe is not optimised away */
	static void *(*const volatile wipe)(void *, int, size_t) = memset;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++)
		switch (keys[i].type) {
		case K_STR:
		case K_WORD:
		case K_SOCKET:
		case K_COMMAND:
		case K_ARGV:
		case K_SENTINELS:
			free(*(char **)(void *)((char *)c + keys[i].off));
			break;
		default:
			break;
		}
	free(c->redis_host);
	free(c->redis_socket);
	netlist_free(c->trusted_networks);
	domains_free(c->local_domains);
	ident_map_free(c->identities);
	free(c->metrics_host);
	for (i = 0; i < c->nmap; i++)
		free(c->map[i].key);
	free(c->map);
	for (i = 0; i < c->ndmap; i++)
		free(c->dmap[i].key);
	free(c->dmap);
	free(c->path);
	wipe(c->hop_key, 0, sizeof(c->hop_key));
	free(c);
}

/*
 * config_class_for - exact login, then @domain after the last '@', then
 * default; the login is folded while compared, so any length is fine
 */
const struct config_class *
config_class_for(const struct config *c, const char *login)
{
	return config_class_find(c, login, login != NULL ?
	    strrchr(login, '@') : NULL);
}

/* config_class_find - the class of a whole name, then of its @domain */
const struct config_class *
config_class_find(const struct config *c, const char *whole, const char *dom)
{
	const struct config_map_entry *e = NULL;

	if (whole == NULL || c->nmap == 0)
		return &c->classes[0];
	e = bsearch(whole, c->map, c->nmap, sizeof(*c->map), map_fold_cmp);
	if (e == NULL && dom != NULL)
		e = bsearch(dom, c->map, c->nmap, sizeof(*c->map),
		    map_fold_cmp);
	return e != NULL ? &c->classes[e->cls] : &c->classes[0];
}

/* config_domain_class_for - the class of the login's domain, or NULL */
const struct config_class *
config_domain_class_for(const struct config *c, const char *login)
{
	const struct config_map_entry *e = NULL;
	const char *at;

	if (login == NULL || (at = strrchr(login, '@')) == NULL ||
	    at[1] == '\0')
		return NULL;	/* a bare login has no domain */
	if (c->ndmap > 0)
		e = bsearch(at + 1, c->dmap, c->ndmap, sizeof(*c->dmap),
		    map_fold_cmp);
	return e != NULL ? &c->classes[e->cls] : &c->classes[0];
}

/* config_find_class - class by name, or NULL */
const struct config_class *
config_find_class(const struct config *c, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < c->nclasses; i++)
		if (strcmp(c->classes[i].name, name) == 0)
			return &c->classes[i];
	return NULL;
}

/* config_table - the key table, for config_dump.c; n: its length */
const struct key *
config_table(size_t *n)
{
	*n = NKEYS;
	return keys;
}

/* config_class_table - the keys of a class block, for config_dump.c */
const struct class_key *
config_class_table(size_t *n)
{
	*n = NCLASS_KEYS;
	return class_keys;
}
