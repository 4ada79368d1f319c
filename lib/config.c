/*
 * config.c - sluice.conf and the class map into one immutable struct.
 *
 * Public: config_load, config_parse_string, config_free; config_table
 * hands the key table to config_dump.c. The values of keys are checked
 * in config_parse.c, class blocks and the class maps are handled in
 * config_class.c (with config_class_for and config_find_class).
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
 * The class maps are read in config_class.c. The identity map
 * (identity_map) is read here line by line; identity.c gives the lines
 * their meaning. trusted_networks takes several words (netlist.c).
 *
 * Input is rejected, never cut (config_parse.c): lines over LINE_MAX_LEN
 * bytes, NUL bytes, control characters, files over FILE_MAX bytes. Every
 * error reads "FILE:LINE: what is wrong" ("FILE: strerror" when it
 * cannot be read).
 *
 * Memory: the caller owns the returned config and frees it with
 * config_free, which frees every string, the map, and wipes hop_key.
 * Classes point at cfg->path; map keys are owned by the config.
 * Thread-safety: loading touches no shared state; once loaded the config
 * is never changed here, so any number of threads may read it and call
 * config_class_for / config_find_class at once. Nothing here logs or
 * exits.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_parse.h"
#include "config_table.h"
#include "domains.h"
#include "identity.h"
#include "journal.h"
#include "netlist.h"
#include "sentinel.h"
#include "store.h"
#include "window.h"

static const struct charset cs_token = { ALNUM "-._",
    "letters, digits and - . _", NULL };
static const struct charset cs_prefix = { ALNUM ":_.-",
    "letters, digits and : _ . -", NULL };
static const struct charset cs_journal = { NULL, "FIELD=VALUE words",
    journal_match_check };

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
	    0, 0, NULL, &cs_journal },
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

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

	if ((n = config_split(p, line, w, LIST_WORDS)) <= 0)
		return n;
	if (strcmp(w[0], "}") == 0)
		return config_class_close(p, n);
	if (strcmp(w[0], "class") == 0)
		return config_class_open(p, w, n);
	if (p->cls != NULL)
		return config_class_line(p, w, n);
	for (i = 0; i < NKEYS; i++)
		if (strcmp(w[0], keys[i].name) == 0)
			break;
	if (i == NKEYS)
		return perr(p, "unknown key \"%s\"", w[0]);
	if (p->seen[i])
		return perr(p, "%s given twice", w[0]);
	p->seen[i] = 1;
	if (keys[i].type == K_ARGV)
		return config_set_argv(p, &keys[i], w, n);
	if (keys[i].type == K_NETS || keys[i].type == K_SENTINELS ||
	    keys[i].type == K_DOMAINS) {
		if (n > LIST_WORDS)
			return perr(p, "%s: more than %d words", w[0],
			    LIST_WORDS);
		join(w + 1, n - 1, list);
		return config_set_key(p, &keys[i], list);
	}
	if (n != 2)
		return perr(p, "%s: expected one value (quote it if it has "
		    "spaces)", w[0]);
	return config_set_key(p, &keys[i], w[1]);
}

/* ident_line - one "LOGIN ADDRESS, @DOMAIN, ..." line of the identity map */
static int
ident_line(struct parse *p, char *line)
{
	char *w[LIST_WORDS], msg[CONFIG_ERR_MAX / 2];
	int n;

	if ((n = config_split(p, line, w, LIST_WORDS)) <= 0)
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

	if ((path = config_rel_path(p, dir, p->cfg->identity_map)) == NULL)
		return -1;
	if ((p->cfg->identities = ident_map_new()) == NULL) {
		p->line = 0;
		perr(p, "out of memory");
		goto out;
	}
	if ((text = config_read_file(p, path, &len)) == NULL)
		goto out;
	rc = config_each_line(p, text, len, ident_line);
	free(text);
	if (rc == 0 && ident_map_finish(p->cfg->identities, &p->line) == -1)
		rc = perr(p, "a login listed twice");
out:
	free(path);
	return rc;
}

/* parse_text - a config from the text of its file; dir: for class_map */
static struct config *
parse_text(const char *text, size_t len, const char *name, const char *dir,
    char *err, size_t errlen)
{
	unsigned char seen[NKEYS] = { 0 };
	struct parse p;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.seen = seen;
	p.file = name;
	p.err = err;
	p.errlen = errlen;
	if ((p.cfg = calloc(1, sizeof(*p.cfg))) == NULL ||
	    (p.cfg->path = strdup(name)) == NULL) {
		perr(&p, "out of memory");
		goto fail;
	}
	for (i = 0; i < NKEYS; i++)
		if (keys[i].def != NULL && config_set_key(&p, &keys[i],
		    keys[i].def) == -1)
			goto fail;
	config_class_default(&p.cfg->classes[0]);
	p.cfg->nclasses = 1;
	if (config_each_line(&p, text, len, config_line) == -1)
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
	if (config_domain_items_fit(&p) == -1)
		goto fail;
	if (p.cfg->class_map != NULL && config_load_map(&p, dir, 0) == -1)
		goto fail;
	if (p.cfg->domain_class_map != NULL &&
	    config_load_map(&p, dir, 1) == -1)
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
	if ((text = config_read_file(&p, path, &len)) == NULL)
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


/* config_table - the key table, for config_dump.c; n: its length */
const struct key *
config_table(size_t *n)
{
	*n = NKEYS;
	return keys;
}
