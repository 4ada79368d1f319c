/*
 * test_config.c - sluice.conf and the class map: good files, bad files.
 *
 * Good input: defaults, every key, classes, the built-in default, the
 * class map (exact, @domain, case, relative paths, long logins), the
 * shipped samples. Bad input: one table of texts, each with the exact
 * "file:line: message" it must give, and the file-level failures (long
 * lines, NUL bytes, missing files, bad class maps). Files are written to
 * a mkdtemp directory; test/data/config holds a complete one. Run under
 * ASan, every failed load also checks that nothing leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "sender.h"
#include "domains.h"
#include "store.h"

#define MAX_FILES	64	/* files one run writes to the scratch dir */

static char dir[64];			/* scratch directory */
static char written[MAX_FILES][64];	/* names in it, for teardown */
static size_t nwritten;

/* setup_dir - a scratch directory for files the tests write */
static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_config.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* teardown_dir - remove what write_file wrote, then the directory */
static int
teardown_dir(void **state)
{
	char path[160];
	size_t i;

	(void)state;
	for (i = 0; i < nwritten; i++) {
		snprintf(path, sizeof(path), "%.63s/%.63s", dir, written[i]);
		unlink(path);
	}
	return rmdir(dir);
}

/* write_file - dir/name holding text (len bytes); returns the path */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char path[2][160];
	static int which;
	char *p = path[which ^= 1];
	size_t i;
	FILE *fp;

	for (i = 0; i < nwritten && strcmp(written[i], name) != 0; i++)
		;
	if (i == nwritten) {
		assert_true(nwritten < MAX_FILES);
		snprintf(written[nwritten++], sizeof(written[0]), "%s", name);
	}
	snprintf(p, sizeof(path[0]), "%.63s/%.63s", dir, name);
	fp = fopen(p, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return p;
}

/* write_str - write_file for a C string */
static const char *
write_str(const char *name, const char *text)
{
	return write_file(name, text, strlen(text));
}

/* src_path - a file of the source tree, found from SLUICE_TEST_DATA */
static void
src_path(const char *rel, char *out, size_t outlen)
{
	const char *data = getenv("SLUICE_TEST_DATA");
	size_t n;

	if (data != NULL && (n = strlen(data)) > 10 &&
	    strcmp(data + n - 10, "/test/data") == 0) {
		snprintf(out, outlen, "%.*s/%s", (int)(n - 10), data, rel);
		return;
	}
	n = strlen(__FILE__);	/* .../test/unit/test_config.c */
	snprintf(out, outlen, "%.*s/%s", (int)(n > 23 ? n - 23 : 0), __FILE__,
	    rel);
}

/* parse - a config from a string that must be good */
static struct config *
parse(const char *text)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config *c = config_parse_string(text, "t.conf", err, sizeof(err));

	if (c == NULL)
		fail_msg("unexpected error: %s", err);
	return c;
}

/* load - a config from a file that must be good */
static struct config *
load(const char *path)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config *c = config_load(path, err, sizeof(err));

	if (c == NULL)
		fail_msg("unexpected error: %s", err);
	return c;
}

/* load_err - load a file that must be bad; its error in err */
static void
load_err(const char *path, char *err, size_t errlen)
{
	err[0] = '\0';
	assert_null(config_load(path, err, errlen));
	assert_true(err[0] != '\0');
}

/* class_of - the name of the class a login gets */
static const char *
class_of(const struct config *c, const char *login)
{
	const struct config_class *cls = config_class_for(c, login);

	assert_non_null(cls);
	return cls->name;
}

/* str_same - both NULL, or equal strings */
static int
str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* limits_same - two lists of limits */
static int
limits_same(const struct config_limit *a, size_t na,
    const struct config_limit *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (a[i].count != b[i].count || a[i].window != b[i].window)
			return 0;
	return 1;
}

/* class_same - two classes limit the same way */
static int
class_same(const struct config_class *x, const struct config_class *y)
{
	return strcmp(x->name, y->name) == 0 &&
	    x->max_recipients == y->max_recipients &&
	    x->max_header_recipients == y->max_header_recipients &&
	    limits_same(x->messages, x->nmessages, y->messages,
	    y->nmessages) &&
	    limits_same(x->recipients, x->nrecipients, y->recipients,
	    y->nrecipients) &&
	    limits_same(x->header_recipients, x->nheader_recipients,
	    y->header_recipients, y->nheader_recipients) &&
	    limits_same(x->repeats, x->nrepeats, y->repeats, y->nrepeats) &&
	    limits_same(x->body_senders, x->nbody_senders, y->body_senders,
	    y->nbody_senders) &&
	    limits_same(x->near_repeats, x->nnear_repeats, y->near_repeats,
	    y->nnear_repeats) &&
	    limits_same(x->client_addresses, x->nclient_addresses,
	    y->client_addresses, y->nclient_addresses) &&
	    limits_same(x->external_recipients, x->nexternal_recipients,
	    y->external_recipients, y->nexternal_recipients) &&
	    limits_same(x->internal_recipients, x->ninternal_recipients,
	    y->internal_recipients, y->ninternal_recipients) &&
	    limits_same(x->domain_messages, x->ndomain_messages,
	    y->domain_messages, y->ndomain_messages) &&
	    limits_same(x->domain_recipients, x->ndomain_recipients,
	    y->domain_recipients, y->ndomain_recipients);
}

/* config_same - what two configs decide is the same (not path, file) */
static int
config_same(const struct config *a, const struct config *b)
{
	size_t i;

	if (!str_same(a->socket, b->socket) || !str_same(a->user, b->user) ||
	    !str_same(a->pidfile, b->pidfile) ||
	    !str_same(a->syslog_facility, b->syslog_facility) ||
	    a->syslog != b->syslog || a->log_accepts != b->log_accepts ||
	    a->mode != b->mode || a->early_check != b->early_check ||
	    a->store != b->store || !str_same(a->redis_host, b->redis_host) ||
	    a->redis_port != b->redis_port ||
	    !str_same(a->redis_socket, b->redis_socket) ||
	    !str_same(a->redis_password_file, b->redis_password_file) ||
	    !str_same(a->redis_username, b->redis_username) ||
	    !str_same(a->redis_prefix, b->redis_prefix) ||
	    a->redis_connect_timeout_ms != b->redis_connect_timeout_ms ||
	    a->redis_command_timeout_ms != b->redis_command_timeout_ms ||
	    a->redis_pool != b->redis_pool ||
	    a->redis_wait_replicas != b->redis_wait_replicas ||
	    a->fallback != b->fallback ||
	    a->breaker_failures != b->breaker_failures ||
	    a->breaker_cooldown_ms != b->breaker_cooldown_ms ||
	    a->window_buckets != b->window_buckets ||
	    a->fanout_action != b->fanout_action ||
	    a->repeats_action != b->repeats_action ||
	    a->wave_action != b->wave_action ||
	    a->near_action != b->near_action ||
	    a->near_distance != b->near_distance ||
	    a->near_min_words != b->near_min_words ||
	    a->clients_action != b->clients_action ||
	    !str_same(a->tag_header, b->tag_header) ||
	    !str_same(a->cluster_id, b->cluster_id) ||
	    !str_same(a->hop_key_file, b->hop_key_file) ||
	    !str_same(a->hop_header, b->hop_header) ||
	    a->hop_limit != b->hop_limit ||
	    a->hop_lifetime_ms != b->hop_lifetime_ms ||
	    a->max_received != b->max_received ||
	    !limits_same(&a->copies, 1, &b->copies, 1) ||
	    a->loop_action != b->loop_action ||
	    a->copies_action != b->copies_action ||
	    !limits_same(&a->lock_after, 1, &b->lock_after, 1) ||
	    a->lock_lifetime_ms != b->lock_lifetime_ms ||
	    a->lock_action != b->lock_action ||
	    !str_same(a->lock_command, b->lock_command) ||
	    a->lock_command_timeout_ms != b->lock_command_timeout_ms ||
	    a->control_poll_ms != b->control_poll_ms ||
	    !str_same(a->hold_command, b->hold_command) ||
	    a->hold_command_timeout_ms != b->hold_command_timeout_ms ||
	    a->hold_window_ms != b->hold_window_ms ||
	    a->hold_max_per_login != b->hold_max_per_login ||
	    a->hold_max_ids != b->hold_max_ids ||
	    a->hold_batch != b->hold_batch ||
	    !str_same(a->class_map, b->class_map) ||
	    !str_same(a->domain_class_map, b->domain_class_map) ||
	    !str_same(a->identity_map, b->identity_map) ||
	    a->identity_action != b->identity_action ||
	    (a->trusted_networks == NULL) != (b->trusted_networks == NULL) ||
	    (a->local_domains == NULL) != (b->local_domains == NULL) ||
	    !str_same(a->trusted_header, b->trusted_header) ||
	    !str_same(a->login_default_domain, b->login_default_domain) ||
	    a->local_submission != b->local_submission ||
	    a->nclasses != b->nclasses || a->nmap != b->nmap)
		return 0;
	for (i = 0; i < a->nclasses; i++)
		if (!class_same(&a->classes[i], &b->classes[i]))
			return 0;
	return 1;
}

/* test_defaults - an empty file is a working config */
static void
test_defaults(void **state)
{
	struct config *c = parse("");
	const struct config_class *d;

	(void)state;
	assert_string_equal(c->path, "t.conf");
	assert_string_equal(c->socket, "inet:8890@127.0.0.1");
	assert_null(c->user);
	assert_null(c->pidfile);
	assert_true(c->syslog);
	assert_string_equal(c->syslog_facility, "mail");
	assert_true(c->log_accepts);
	assert_int_equal(c->mode, CONFIG_MODE_ENFORCE);
	assert_true(c->early_check);
	assert_int_equal(c->store, CONFIG_STORE_MEMORY);
	assert_string_equal(c->redis_host, "127.0.0.1");
	assert_int_equal(c->redis_port, 6379);
	assert_null(c->redis_socket);
	assert_null(c->redis_password_file);
	assert_null(c->redis_username);
	assert_string_equal(c->redis_prefix, "sluice:");
	assert_int_equal(c->redis_connect_timeout_ms, 250);
	assert_int_equal(c->redis_command_timeout_ms, 1000);
	assert_int_equal(c->redis_pool, 16);
	assert_int_equal(c->redis_wait_replicas, 0);
	assert_int_equal(c->fallback, STORE_FALLBACK_LOCAL);
	assert_int_equal(c->breaker_failures, 3);
	assert_int_equal(c->breaker_cooldown_ms, 5000);
	assert_int_equal(c->window_buckets, 12);
	assert_int_equal(c->fanout_action, CONFIG_ACTION_REJECT);
	assert_int_equal(c->repeats_action, CONFIG_ACTION_QUARANTINE);
	assert_int_equal(c->wave_action, CONFIG_ACTION_QUARANTINE);
	assert_int_equal(c->near_action, CONFIG_ACTION_QUARANTINE);
	assert_int_equal(c->near_distance, 10);
	assert_int_equal(c->near_min_words, 100);
	assert_int_equal(c->clients_action, CONFIG_ACTION_TEMPFAIL);
	assert_string_equal(c->tag_header, "X-Sluice-Flag");
	assert_string_equal(c->cluster_id, "sluice");
	assert_null(c->hop_key_file);
	assert_string_equal(c->hop_header, "X-Sluice-Hop");
	assert_int_equal(c->hop_limit, 5);
	assert_int_equal(c->hop_lifetime_ms, 86400000);
	assert_int_equal(c->max_received, 50);
	assert_int_equal(c->copies.count, 0);
	assert_int_equal(c->copies.window, 3600);
	assert_int_equal(c->loop_action, CONFIG_ACTION_REJECT);
	assert_int_equal(c->copies_action, CONFIG_ACTION_TEMPFAIL);
	assert_int_equal(c->lock_after.count, 0);
	assert_int_equal(c->lock_after.window, 3600);
	assert_int_equal(c->lock_lifetime_ms, 86400000);
	assert_int_equal(c->lock_action, CONFIG_ACTION_TEMPFAIL);
	assert_null(c->lock_command);
	assert_int_equal(c->lock_command_timeout_ms, 10000);
	assert_int_equal(c->control_poll_ms, 5000);
	assert_null(c->hold_command);
	assert_int_equal(c->hold_command_timeout_ms, 30000);
	assert_int_equal(c->hold_window_ms, 3600000);
	assert_int_equal(c->hold_max_per_login, 20000);
	assert_int_equal(c->hold_max_ids, 200000);
	assert_int_equal(c->hold_batch, 100);
	assert_false(c->hop_key_loaded);
	assert_null(c->class_map);
	assert_int_equal(c->nmap, 0);
	/* the built-in default class */
	assert_int_equal(c->nclasses, 1);
	d = &c->classes[0];
	assert_string_equal(d->name, "default");
	assert_int_equal(d->nmessages, 2);
	assert_int_equal(d->messages[0].count, 100);
	assert_int_equal(d->messages[0].window, 3600);
	assert_int_equal(d->messages[1].count, 1000);
	assert_int_equal(d->messages[1].window, 86400);
	assert_int_equal(d->nrecipients, 2);
	assert_int_equal(d->recipients[0].count, 500);
	assert_int_equal(d->recipients[0].window, 3600);
	assert_int_equal(d->recipients[1].count, 2000);
	assert_int_equal(d->recipients[1].window, 86400);
	assert_int_equal(d->max_recipients, 100);
	assert_int_equal(d->max_header_recipients, 100);
	assert_int_equal(d->nheader_recipients, 0);
	assert_int_equal(d->nrepeats, 0);
	assert_int_equal(d->nbody_senders, 0);
	assert_int_equal(d->nnear_repeats, 0);
	assert_int_equal(d->nclient_addresses, 0);
	assert_string_equal(d->file, "built-in");
	assert_int_equal(d->line, 0);
	assert_ptr_equal(config_find_class(c, "default"), d);
	assert_ptr_equal(config_class_for(c, "anyone@example.com"), d);
	assert_ptr_equal(config_class_for(c, NULL), d);
	config_free(c);

	/* comments and blank lines only, CRLF, a UTF-8 byte order mark */
	c = parse("\xef\xbb\xbf# sluice.conf\r\n\r\n   \t\n# end");
	assert_int_equal(c->classes[0].nmessages, 2);
	config_free(c);
}

/* test_every_key - each top-level key lands in its field */
static void
test_every_key(void **state)
{
	struct config *c = parse(
	    "# a comment\n"
	    "socket unix:/run/sluice/sluice.sock   # trailing comment\n"
	    "user sluice\n"
	    "pidfile \"/run/sluice/sluice #1.pid\"  # quoted: holds a '#'\n"
	    "syslog no\n"
	    "syslog_facility local3\n"
	    "log_accepts off\n"
	    "mode observe\n"
	    "\tearly_check\tFalse\n"
	    "store redis\n"
	    "redis_server [::1]:6380\n"
	    "redis_password_file /etc/sluice/redis.pw\n"
	    "redis_username sluice\n"
	    "redis_prefix relay-a:\n"
	    "redis_connect_timeout 1s\n"
	    "redis_command_timeout 150ms\n"
	    "redis_pool 4\n"
	    "store_fallback tempfail\n"
	    "breaker_failures 5\n"
	    "breaker_cooldown 1m\n"
	    "window_buckets 60\n"
	    "fanout_action tag\n"
	    "repeats_action observe\n"
	    "wave_action reject\n"
	    "near_action tag\n"
	    "near_distance 8\n"
	    "near_min_words 40\n"
	    "client_addresses_action reject\n"
	    "tag_header X-Relay-Flag\n"
	    "cluster_id shropshire\n"
	    "hop_key_file /etc/sluice/hop.key\n"
	    "hop_header X-Relay-Hop\n"
	    "hop_limit 9\n"
	    "hop_lifetime 2d\n"
	    "max_received 0\n"
	    "copies 999/1h\n"
	    "loop_action tempfail\n"
	    "copies_action quarantine\n"
	    "lock_after 50/1h\n"
	    "lock_lifetime 12h\n"
	    "lock_action reject\n"
	    "lock_command \"/usr/local/sbin/disable account\"\n"
	    "lock_command_timeout 30s\n"
	    "control_poll 2s\n"
	    "hold_command /usr/bin/sudo  -n\t/usr/local/sbin/sluice-hold\n"
	    "hold_command_timeout 1m\n"
	    "hold_window 2h\n"
	    "hold_max_per_login 500\n"
	    "hold_max_ids 9000\n"
	    "hold_batch 20\n"
	    "login_default_domain Example.COM\n"
	    "\r\n\t\n");

	(void)state;
	assert_string_equal(c->socket, "unix:/run/sluice/sluice.sock");
	assert_string_equal(c->user, "sluice");
	assert_string_equal(c->pidfile, "/run/sluice/sluice #1.pid");
	assert_string_equal(c->login_default_domain, "Example.COM");
	assert_false(c->syslog);
	assert_string_equal(c->syslog_facility, "local3");
	assert_false(c->log_accepts);
	assert_int_equal(c->mode, CONFIG_MODE_OBSERVE);
	assert_false(c->early_check);
	assert_int_equal(c->store, CONFIG_STORE_REDIS);
	assert_string_equal(c->redis_host, "::1");
	assert_int_equal(c->redis_port, 6380);
	assert_null(c->redis_socket);
	assert_string_equal(c->redis_password_file, "/etc/sluice/redis.pw");
	assert_string_equal(c->redis_username, "sluice");
	assert_string_equal(c->redis_prefix, "relay-a:");
	assert_int_equal(c->redis_connect_timeout_ms, 1000);
	assert_int_equal(c->redis_command_timeout_ms, 150);
	assert_int_equal(c->redis_pool, 4);
	assert_int_equal(c->fallback, STORE_FALLBACK_TEMPFAIL);
	assert_int_equal(c->breaker_failures, 5);
	assert_int_equal(c->breaker_cooldown_ms, 60000);
	assert_int_equal(c->window_buckets, 60);
	assert_int_equal(c->fanout_action, CONFIG_ACTION_TAG);
	assert_int_equal(c->repeats_action, CONFIG_ACTION_OBSERVE);
	assert_int_equal(c->wave_action, CONFIG_ACTION_REJECT);
	assert_int_equal(c->near_action, CONFIG_ACTION_TAG);
	assert_int_equal(c->near_distance, 8);
	assert_int_equal(c->near_min_words, 40);
	assert_int_equal(c->clients_action, CONFIG_ACTION_REJECT);
	assert_string_equal(c->tag_header, "X-Relay-Flag");
	assert_string_equal(c->cluster_id, "shropshire");
	assert_string_equal(c->hop_key_file, "/etc/sluice/hop.key");
	assert_string_equal(c->hop_header, "X-Relay-Hop");
	assert_int_equal(c->hop_limit, 9);
	assert_int_equal(c->hop_lifetime_ms, 2 * 86400000U);
	assert_int_equal(c->max_received, 0);
	assert_int_equal(c->copies.count, 999);
	assert_int_equal(c->copies.window, 3600);
	assert_int_equal(c->loop_action, CONFIG_ACTION_TEMPFAIL);
	assert_int_equal(c->copies_action, CONFIG_ACTION_QUARANTINE);
	assert_int_equal(c->lock_after.count, 50);
	assert_int_equal(c->lock_after.window, 3600);
	assert_int_equal(c->lock_lifetime_ms, 12 * 3600000U);
	assert_int_equal(c->lock_action, CONFIG_ACTION_REJECT);
	assert_string_equal(c->lock_command, "/usr/local/sbin/disable account");
	assert_int_equal(c->lock_command_timeout_ms, 30000);
	assert_int_equal(c->control_poll_ms, 2000);
	/* the words of the line, joined by one space */
	assert_string_equal(c->hold_command,
	    "/usr/bin/sudo -n /usr/local/sbin/sluice-hold");
	assert_int_equal(c->hold_command_timeout_ms, 60000);
	assert_int_equal(c->hold_window_ms, 7200000);
	assert_int_equal(c->hold_max_per_login, 500);
	assert_int_equal(c->hold_max_ids, 9000);
	assert_int_equal(c->hold_batch, 20);
	config_free(c);
	c = parse("hold_command \"/usr/sbin/postsuper -h\"\n");
	assert_string_equal(c->hold_command, "/usr/sbin/postsuper -h");
	config_free(c);
}

/* test_values - the accepted spellings of each kind of value */
static void
test_values(void **state)
{
#define F(f)	offsetof(struct config, f)
	static const struct {
		const char	*text;
		size_t		 off;	/* int field of struct config */
		int		 want;
	} ints[] = {
		{ "syslog yes\n", F(syslog), 1 },
		{ "syslog YES\n", F(syslog), 1 },
		{ "syslog true\n", F(syslog), 1 },
		{ "syslog on\n", F(syslog), 1 },
		{ "syslog 1\n", F(syslog), 1 },
		{ "syslog no\n", F(syslog), 0 },
		{ "syslog False\n", F(syslog), 0 },
		{ "syslog off\n", F(syslog), 0 },
		{ "syslog 0\n", F(syslog), 0 },
		{ "mode enforce\n", F(mode), CONFIG_MODE_ENFORCE },
		{ "store memory\n", F(store), CONFIG_STORE_MEMORY },
		{ "store_fallback local\n", F(fallback), STORE_FALLBACK_LOCAL },
		{ "store_fallback accept\n", F(fallback),
		    STORE_FALLBACK_ACCEPT },
		{ "fanout_action tempfail\n", F(fanout_action),
		    CONFIG_ACTION_TEMPFAIL },
		{ "fanout_action quarantine\n", F(fanout_action),
		    CONFIG_ACTION_QUARANTINE },
		{ "lock_action tempfail\n", F(lock_action),
		    CONFIG_ACTION_TEMPFAIL },
		{ "redis_server h:1\n", F(redis_port), 1 },
		{ "redis_server h:65535\n", F(redis_port), 65535 },
	};
	static const struct {
		const char	*text;
		size_t		 off;	/* uint32_t field of struct config */
		uint32_t	 want;
	} u32[] = {
		{ "redis_pool 1\n", F(redis_pool), 1 },
		{ "redis_pool 1024\n", F(redis_pool), 1024 },
		{ "redis_pool 0016\n", F(redis_pool), 16 },
		{ "redis_wait_replicas 0\n", F(redis_wait_replicas), 0 },
		{ "redis_wait_replicas 64\n", F(redis_wait_replicas), 64 },
		{ "window_buckets 1\n", F(window_buckets), 1 },
		{ "breaker_failures 1000\n", F(breaker_failures), 1000 },
		{ "breaker_cooldown 100ms\n", F(breaker_cooldown_ms), 100 },
		{ "breaker_cooldown 1h\n", F(breaker_cooldown_ms), 3600000 },
		{ "breaker_cooldown 90\n", F(breaker_cooldown_ms), 90000 },
		{ "redis_connect_timeout 10ms\n", F(redis_connect_timeout_ms),
		    10 },
		{ "redis_connect_timeout 60s\n", F(redis_connect_timeout_ms),
		    60000 },
		{ "redis_command_timeout 1m\n", F(redis_command_timeout_ms),
		    60000 },
		{ "hop_lifetime 1m\n", F(hop_lifetime_ms), 60000 },
		{ "hop_lifetime 30d\n", F(hop_lifetime_ms), 2592000000U },
		{ "max_received 1000\n", F(max_received), 1000 },
		{ "lock_lifetime 1w\n", F(lock_lifetime_ms), 604800000 },
		{ "lock_command_timeout 100ms\n", F(lock_command_timeout_ms),
		    100 },
		{ "lock_command_timeout 10m\n", F(lock_command_timeout_ms),
		    600000 },
	};
#undef F
	static const struct {
		const char	*text;
		const char	*host;
		const char	*sock;
		int		 port;
	} servers[] = {
		{ "redis_server 10.0.0.5:7000\n", "10.0.0.5", NULL, 7000 },
		{ "redis_server redis.example.net:6379\n", "redis.example.net",
		    NULL, 6379 },
		{ "redis_server [2001:db8::1]:6379\n", "2001:db8::1", NULL,
		    6379 },
		{ "redis_server unix:/run/redis/redis.sock\n", NULL,
		    "/run/redis/redis.sock", 0 },
	};
	static const char *const sockets[] = { "inet:8890@127.0.0.1",
	    "inet6:8890@[::1]", "unix:/run/sluice/sluice.sock",
	    "local:/run/sluice/sluice.sock" };
	static const char *const facilities[] = { "mail", "daemon", "user",
	    "local0", "local7" };
	char text[128];
	struct config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		c = parse(ints[i].text);
		if (*(int *)(void *)((char *)c + ints[i].off) != ints[i].want)
			fail_msg("%s", ints[i].text);
		config_free(c);
	}
	for (i = 0; i < sizeof(u32) / sizeof(u32[0]); i++) {
		c = parse(u32[i].text);
		if (*(uint32_t *)(void *)((char *)c + u32[i].off) !=
		    u32[i].want)
			fail_msg("%s", u32[i].text);
		config_free(c);
	}
	c = parse("redis_sentinels 10.0.0.1:26379, [::1]:26380 h:3\n"
	    "redis_sentinel_master mymaster\n"
	    "redis_sentinel_password_file /etc/sluice/sentinel.pw\n");
	assert_string_equal(c->redis_sentinels,
	    "10.0.0.1:26379, [::1]:26380 h:3");
	assert_string_equal(c->redis_sentinel_master, "mymaster");
	assert_string_equal(c->redis_sentinel_password_file,
	    "/etc/sluice/sentinel.pw");
	config_free(c);
	for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		c = parse(servers[i].text);
		if (!str_same(c->redis_host, servers[i].host) ||
		    !str_same(c->redis_socket, servers[i].sock) ||
		    c->redis_port != servers[i].port)
			fail_msg("%s", servers[i].text);
		config_free(c);
	}
	for (i = 0; i < sizeof(sockets) / sizeof(sockets[0]); i++) {
		snprintf(text, sizeof(text), "socket %s\n", sockets[i]);
		c = parse(text);
		assert_string_equal(c->socket, sockets[i]);
		config_free(c);
	}
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		snprintf(text, sizeof(text), "syslog_facility %s\n",
		    facilities[i]);
		c = parse(text);
		assert_string_equal(c->syslog_facility, facilities[i]);
		config_free(c);
	}
	/* 64 characters of the prefix set: the longest */
	c = parse("redis_prefix abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZ0123456789:-\n");
	assert_int_equal(strlen(c->redis_prefix), 64);
	config_free(c);
}

/* test_lengths - the longest value of each bounded key, and one more */
static void
test_lengths(void **state)
{
	static const struct {
		const char	*key;	/* text before the value */
		const char	*tail;	/* text after it */
		char		 first;	/* the value's first byte */
		size_t		 max;	/* longest accepted */
		const char	*err;	/* for max + 1 */
	} cases[] = {
		{ "lock_command ", "\n", '/', 255,
		    "t.conf:1: lock_command: longer than 255 bytes" },
		{ "redis_server ", ":6379\n", 'h', 255,
		    "t.conf:1: redis_server: host longer than 255 bytes" },
		{ "redis_prefix ", "\n", 'p', 64,
		    "t.conf:1: redis_prefix: expected 1 to 64 characters, got 65" },
		{ "tag_header ", "\n", 'X', 64,
		    "t.conf:1: tag_header: expected 1 to 64 characters, got 65" },
		{ "hop_header ", "\n", 'X', 64,
		    "t.conf:1: hop_header: expected 1 to 64 characters, got 65" },
		{ "cluster_id ", "\n", 'c', 64,
		    "t.conf:1: cluster_id: expected 1 to 64 characters, got 65" },
	};
	char value[300], text[400], err[CONFIG_ERR_MAX];
	struct config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(value, 'a', cases[i].max);
		value[0] = cases[i].first;
		value[cases[i].max] = '\0';
		snprintf(text, sizeof(text), "%s%s%s", cases[i].key, value,
		    cases[i].tail);
		c = parse(text);
		config_free(c);
		value[cases[i].max] = 'a';
		value[cases[i].max + 1] = '\0';
		snprintf(text, sizeof(text), "%s%s%s", cases[i].key, value,
		    cases[i].tail);
		assert_null(config_parse_string(text, "t.conf", err,
		    sizeof(err)));
		assert_string_equal(err, cases[i].err);
	}
}

/* test_classes - class blocks, the default replaced, every class key */
static void
test_classes(void **state)
{
	struct config *c = parse(
	    "class bulk {\n"
	    "    messages        2000/1h 20000/1d\n"
	    "    recipients      20000/1h\n"
	    "    max_recipients  1000\n"
	    "    max_header_recipients 0\n"
	    "    header_recipients 5000/1h\n"
	    "    repeats 50/1h 200/1d\n"
	    "    body_senders 30/10m\n"
	    "    near_repeats 5/1h 31/1d\n"
	    "    client_addresses 10/1h 65535/1w\n"
	    "}   # end of bulk\n"
	    "\n"
	    "class default {\n"
	    "    messages 10/1h\n"
	    "}\n"
	    "class blocked {\n"
	    "    messages 0/1d\n"
	    "}\n"
	    "class relay.2_b-x {\n"
	    "}\n");
	const struct config_class *d, *b;

	(void)state;
	assert_int_equal(c->nclasses, 4);
	d = &c->classes[0];	/* defined second, still first */
	assert_string_equal(d->name, "default");
	assert_int_equal(d->nmessages, 1);
	assert_int_equal(d->messages[0].count, 10);
	assert_int_equal(d->nrecipients, 0);	/* replaced entirely */
	assert_int_equal(d->max_recipients, 0);
	assert_int_equal(d->max_header_recipients, 0);
	assert_string_equal(d->file, "t.conf");
	assert_int_equal(d->line, 13);
	b = config_find_class(c, "bulk");
	assert_ptr_equal(b, &c->classes[1]);
	assert_string_equal(b->file, "t.conf");
	assert_int_equal(b->line, 1);
	assert_int_equal(b->nmessages, 2);
	assert_int_equal(b->messages[0].count, 2000);
	assert_int_equal(b->messages[0].window, 3600);
	assert_int_equal(b->messages[1].count, 20000);
	assert_int_equal(b->messages[1].window, 86400);
	assert_int_equal(b->nrecipients, 1);
	assert_int_equal(b->recipients[0].count, 20000);
	assert_int_equal(b->max_recipients, 1000);
	assert_int_equal(b->max_header_recipients, 0);
	assert_int_equal(b->nheader_recipients, 1);
	assert_int_equal(b->header_recipients[0].count, 5000);
	assert_int_equal(b->nrepeats, 2);
	assert_int_equal(b->repeats[1].count, 200);
	assert_int_equal(b->repeats[1].window, 86400);
	assert_int_equal(b->nbody_senders, 1);
	assert_int_equal(b->body_senders[0].count, 30);
	assert_int_equal(b->body_senders[0].window, 600);
	assert_int_equal(b->nnear_repeats, 2);
	assert_int_equal(b->near_repeats[0].count, 5);
	assert_int_equal(b->near_repeats[1].count, 31);
	assert_int_equal(b->near_repeats[1].window, 86400);
	assert_int_equal(b->nclient_addresses, 2);
	assert_int_equal(b->client_addresses[0].count, 10);
	assert_int_equal(b->client_addresses[0].window, 3600);
	assert_int_equal(b->client_addresses[1].count, 65535);
	b = config_find_class(c, "blocked");
	assert_non_null(b);
	assert_int_equal(b->nmessages, 1);
	assert_int_equal(b->messages[0].count, 0);	/* nothing allowed */
	assert_int_equal(b->line, 16);
	b = config_find_class(c, "relay.2_b-x");
	assert_non_null(b);
	assert_int_equal(b->nmessages, 0);	/* no limit of that kind */
	assert_int_equal(b->nrecipients, 0);
	assert_null(config_find_class(c, "nope"));
	assert_null(config_find_class(c, "Bulk"));	/* names keep case */
	config_free(c);

	/* eight limits; a 63-character name */
	c = parse("class a123456789b123456789c123456789d123456789e123456789"
	    "f123456789g12 {\n"
	    " messages 1/1s 2/2s 3/3s 4/4s 5/5s 6/6s 7/7s 8/30d\n"
	    " max_recipients 1000000\n"
	    "}\n");
	assert_int_equal(c->classes[1].nmessages, CONFIG_MAX_LIMITS);
	assert_int_equal(c->classes[1].messages[7].window, 30 * 86400);
	assert_int_equal(c->classes[1].max_recipients, 1000000);
	assert_int_equal(strlen(c->classes[1].name), CONFIG_NAME_MAX);
	config_free(c);
}

/* test_many_classes - CONFIG_MAX_CLASSES classes fit, one more does not */
static void
test_many_classes(void **state)
{
	char *text, err[CONFIG_ERR_MAX], want[64];
	size_t cap = CONFIG_MAX_CLASSES * 32, o = 0;
	struct config *c;
	int i;

	(void)state;
	text = malloc(cap);
	assert_non_null(text);
	for (i = 1; i < CONFIG_MAX_CLASSES; i++)
		o += (size_t)snprintf(text + o, cap - o, "class c%d {\n}\n", i);
	c = parse(text);
	assert_int_equal(c->nclasses, CONFIG_MAX_CLASSES);
	assert_string_equal(c->classes[CONFIG_MAX_CLASSES - 1].name, "c63");
	config_free(c);
	/* "default" does not take a new slot even then */
	snprintf(text + o, cap - o, "class default {\n}\n");
	c = parse(text);
	assert_int_equal(c->nclasses, CONFIG_MAX_CLASSES);
	config_free(c);
	snprintf(text + o, cap - o, "class one_more {\n}\n");
	assert_null(config_parse_string(text, "t.conf", err, sizeof(err)));
	snprintf(want, sizeof(want), "t.conf:%d: more than %d classes",
	    2 * CONFIG_MAX_CLASSES - 1, CONFIG_MAX_CLASSES);
	assert_string_equal(err, want);
	free(text);
}

/* test_class_map - exact logins, @domain, case, the last '@' */
static void
test_class_map(void **state)
{
	const char map[] =
	    "# login            class\n"
	    "Newsletter@Example.COM  bulk\n"
	    "@partner.example        bulk\n"
	    "\n"
	    "vip@partner.example     default   # exact beats @domain\n"
	    "\"odd login#1@example.com\" bulk\n"
	    "no-domain               bulk\n"
	    "\xc3\x84gir@example.com   bulk\n";
	const char conf[] =
	    "class bulk {\n  messages 2000/1h\n}\n"
	    "class_map classes\n";
	struct config *c;
	size_t i;

	(void)state;
	write_file("classes", map, sizeof(map) - 1);
	c = load(write_str("sluice.conf", conf));
	assert_int_equal(c->nmap, 6);
	assert_string_equal(c->class_map, "classes");	/* as written */
	assert_string_equal(class_of(c, "newsletter@example.com"), "bulk");
	assert_string_equal(class_of(c, "NEWSLETTER@example.com"), "bulk");
	assert_string_equal(class_of(c, "anyone@partner.example"), "bulk");
	assert_string_equal(class_of(c, "Anyone@PARTNER.example"), "bulk");
	assert_string_equal(class_of(c, "x@y@Partner.Example"), "bulk");
	assert_string_equal(class_of(c, "x@partner.example@y"), "default");
	assert_string_equal(class_of(c, "vip@partner.example"), "default");
	assert_string_equal(class_of(c, "VIP@partner.example"), "default");
	assert_string_equal(class_of(c, "odd login#1@example.com"), "bulk");
	assert_string_equal(class_of(c, "No-Domain"), "bulk");
	assert_string_equal(class_of(c, "no-domain@partner.example"), "bulk");
	assert_string_equal(class_of(c, "other@example.com"), "default");
	assert_string_equal(class_of(c, "no-at-sign"), "default");
	assert_string_equal(class_of(c, "partner.example"), "default");
	assert_string_equal(class_of(c, "@partner.example"), "bulk");
	assert_string_equal(class_of(c, "x@"), "default");
	assert_string_equal(class_of(c, ""), "default");
	assert_string_equal(class_of(c, NULL), "default");
	/* folding is ASCII only, whatever the locale: Ä is not ä */
	assert_string_equal(class_of(c, "\xc3\x84GIR@example.com"), "bulk");
	assert_string_equal(class_of(c, "\xc3\xa4gir@example.com"), "default");
	/* sorted, lower-cased, with the line each came from */
	for (i = 1; i < c->nmap; i++)
		assert_true(strcmp(c->map[i - 1].key, c->map[i].key) < 0);
	for (i = 0; i < c->nmap; i++)
		if (strcmp(c->map[i].key, "newsletter@example.com") == 0)
			break;
	assert_true(i < c->nmap);
	assert_int_equal(c->map[i].line, 2);
	assert_string_equal(c->classes[c->map[i].cls].name, "bulk");
	config_free(c);
}

/*
 * test_class_origins - envelope senders are looked up by names of their
 * own ("envelope:ADDR", then "envelope:@domain"): a SASL login's entry
 * or its domain's never classes a forged envelope sender, and an entry
 * for an envelope sender never classes the SASL login
 */
static void
test_class_origins(void **state)
{
	const char map[] =
	    "bob@example.com              bulk\n"
	    "@partner.example             bulk\n"
	    "envelope:www-data@example.com bulk\n"
	    "Envelope:@lists.example       bulk\n";
	const char conf[] =
	    "class bulk {\n  messages 2000/1h\n}\n"
	    "class_map classes\n"
	    "login_default_domain example.com\n";
	char whole[SENDER_NAME_MAX + 1], dom[SENDER_NAME_MAX + 1];
	const char *w, *d;
	struct config *c;
	static const struct {
		enum sender_origin o;
		const char *login, *want;
	} cases[] = {
		{ SENDER_SASL, "bob@example.com", "bulk" },
		{ SENDER_HEADER, "Bob@Example.com", "bulk" },	/* shared */
		{ SENDER_ENVELOPE, "bob@example.com", "default" },
		{ SENDER_SASL, "x@partner.example", "bulk" },
		{ SENDER_ENVELOPE, "x@partner.example", "default" },
		{ SENDER_ENVELOPE, "WWW-data@example.com", "bulk" },
		{ SENDER_SASL, "www-data@example.com", "default" },
		{ SENDER_ENVELOPE, "news@lists.example", "bulk" },
		{ SENDER_SASL, "news@lists.example", "default" },
		{ SENDER_SASL, "envelope:news@lists.example", "default" },
	};
	size_t i;

	(void)state;
	write_file("classes", map, sizeof(map) - 1);
	c = load(write_str("sluice.conf", conf));
	assert_string_equal(c->login_default_domain, "example.com");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sender_class_names(cases[i].o, cases[i].login,
		    whole, dom, &w, &d), 0);
		if (strcmp(config_class_find(c, w, d)->name, cases[i].want))
			fail_msg("%s %s: class %s, expected %s",
			    sender_origin_name(cases[i].o), cases[i].login,
			    config_class_find(c, w, d)->name, cases[i].want);
	}
	config_free(c);
}

/* test_long_logins - any login up to and past 1 KiB, any bytes */
static void
test_long_logins(void **state)
{
	static char login[1025], big[4000], mapline[4200];
	const char *conf = "class bulk {\n}\nclass_map longmap\n";
	struct config *c;
	size_t i;

	(void)state;
	/* a map entry of 2000 bytes matches a login of 2000 bytes */
	memset(big, 'a', 2000);
	memcpy(big + 1990, "@Long.Test", 10);
	big[2000] = '\0';
	snprintf(mapline, sizeof(mapline), "%s bulk\n@example.com bulk\n", big);
	write_str("longmap", mapline);
	c = load(write_str("long.conf", conf));
	assert_string_equal(class_of(c, big), "bulk");
	big[5] = 'A';
	assert_string_equal(class_of(c, big), "bulk");
	big[5] = 'b';
	assert_string_equal(class_of(c, big), "default");
	/* 1 KiB logins of every byte value, with and without a domain */
	for (i = 0; i < sizeof(login) - 1; i++)
		login[i] = (char)(1 + i % 255);
	login[sizeof(login) - 1] = '\0';
	assert_string_equal(class_of(c, login), "default");
	memset(login, 'X', sizeof(login) - 1);
	memcpy(login + sizeof(login) - 1 - 12, "@EXAMPLE.COM", 12);
	assert_string_equal(class_of(c, login), "bulk");
	memset(big, 0xff, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_string_equal(class_of(c, big), "default");
	config_free(c);
}

/* test_map_paths - relative class_map: from the file's dir, or from "." */
static void
test_map_paths(void **state)
{
	char data[1024], path[1200], cwd[1024], text[1200];
	const char *env = getenv("SLUICE_TEST_DATA");
	struct config *c;

	(void)state;
	/* test/data/config/relay.conf names "relay.classes" */
	if (env != NULL)
		snprintf(data, sizeof(data), "%s", env);
	else
		src_path("test/data", data, sizeof(data));
	snprintf(path, sizeof(path), "%s/config/relay.conf", data);
	c = load(path);
	assert_string_equal(c->socket, "unix:/run/sluice/sluice.sock");
	assert_int_equal(c->mode, CONFIG_MODE_OBSERVE);
	assert_int_equal(c->store, CONFIG_STORE_REDIS);
	assert_string_equal(c->redis_host, "2001:db8::7");
	assert_int_equal(c->redis_port, 6390);
	assert_int_equal(c->fallback, STORE_FALLBACK_ACCEPT);
	assert_int_equal(c->breaker_cooldown_ms, 90000);
	assert_int_equal(c->nclasses, 3);
	assert_int_equal(c->classes[0].max_recipients, 50);
	assert_int_equal(c->classes[0].line, 15);
	assert_string_equal(c->classes[0].file, path);
	assert_int_equal(c->nmap, 4);
	assert_string_equal(class_of(c, "newsletter@example.com"), "bulk");
	assert_string_equal(class_of(c, "x@LISTS.example.com"), "bulk");
	assert_string_equal(class_of(c, "odd#login@example.com"), "blocked");
	assert_string_equal(class_of(c, "spammer@example.org"), "blocked");
	assert_string_equal(class_of(c, "someone@example.org"), "default");
	config_free(c);

	/* an absolute class_map */
	write_str("abs.map", "a@b bulk\n");
	snprintf(text, sizeof(text), "class bulk {\n}\nclass_map %s/abs.map\n",
	    dir);
	c = parse(text);
	assert_string_equal(class_of(c, "A@B"), "bulk");
	config_free(c);

	/* a string's relative class_map is taken from the current dir */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	c = parse("class bulk {\n}\nclass_map abs.map\n");
	assert_string_equal(class_of(c, "a@b"), "bulk");
	config_free(c);
	/* and so is a file's named without a directory */
	write_str("here.conf", "class bulk {\n}\nclass_map abs.map\n");
	c = load("here.conf");
	assert_string_equal(class_of(c, "a@b"), "bulk");
	assert_string_equal(c->path, "here.conf");
	config_free(c);
	assert_int_equal(chdir(cwd), 0);
}

/* test_samples - the shipped files load, and show the true defaults */
static void
test_samples(void **state)
{
	static const char *const unset[] = { "user", "pidfile",
	    "redis_password_file", "redis_username", "hop_key_file",
	    "lock_command", "hold_command", "class_map", "identity_map",
	    "trusted_networks", "trusted_header", "login_default_domain",
	    "local_domains", "domain_class_map", NULL };
	char path[1024], line[512], key[64], text[1200];
	struct config *c, *def, *one;
	unsigned checked = 0;
	int in_class = 0;
	size_t i;
	FILE *fp;

	(void)state;
	src_path("contrib/sluice-dev.conf", path, sizeof(path));
	c = load(path);
	assert_int_equal(c->store, CONFIG_STORE_MEMORY);
	config_free(c);

	src_path("contrib/sluice.conf", path, sizeof(path));
	c = load(path);
	assert_non_null(config_find_class(c, "default"));
	assert_non_null(config_find_class(c, "bulk"));
	assert_null(c->class_map);
	config_free(c);

	/*
	 * Every "#key value" line outside a class states the default: the
	 * line uncommented gives the same config as no line at all.
	 */
	def = parse("");
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "class ", 6) == 0)
			in_class = 1;
		if (line[0] == '}')
			in_class = 0;
		if (in_class || line[0] != '#' || line[1] < 'a' ||
		    line[1] > 'z' || sscanf(line + 1, "%63s", key) != 1)
			continue;
		for (i = 0; unset[i] != NULL && strcmp(unset[i], key) != 0; i++)
			;
		if (unset[i] != NULL)
			continue;	/* shows an example, not a default */
		snprintf(text, sizeof(text), "%s", line + 1);
		one = parse(text);
		if (!config_same(def, one))
			fail_msg("contrib/sluice.conf: \"%.*s\" is not the "
			    "default", (int)strcspn(line, "\n"), line);
		config_free(one);
		checked++;
	}
	fclose(fp);
	config_free(def);
	assert_true(checked >= 25);

	/* the sample class map loads against the sample's classes */
	src_path("contrib/classes", path, sizeof(path));
	snprintf(text, sizeof(text), "class bulk {\n}\nclass_map %s\n", path);
	c = parse(text);
	config_free(c);
}

/* test_durations - durations, limits and how windows are shown */
static void
test_durations(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		uint64_t	 ms;
	} d[] = {
		{ "90", 0, 90000 }, { "90s", 0, 90000 }, { "15m", 0, 900000 },
		{ "1h", 0, 3600000 }, { "2d", 0, 172800000 },
		{ "1w", 0, 604800000 }, { "250ms", 0, 250 }, { "0", 0, 0 },
		{ "0ms", 0, 0 }, { "007s", 0, 7000 },
		{ "18446744073709551615ms", 0, UINT64_MAX },
		{ "18446744073709551s", 0, 18446744073709551000ULL },
		{ "", -1, 0 }, { "1x", -1, 0 }, { "-5", -1, 0 }, { "+5", -1, 0 },
		{ "1h30", -1, 0 }, { "1h30m", -1, 0 }, { "h", -1, 0 },
		{ " 1h", -1, 0 }, { "1h ", -1, 0 }, { "1 h", -1, 0 },
		{ "1H", -1, 0 }, { "1.5h", -1, 0 }, { "1sec", -1, 0 },
		{ "0x10", -1, 0 }, { "1mss", -1, 0 },
		{ "18446744073709551616ms", -1, 0 },
		{ "18446744073709552s", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "9999999999999999w", -1, 0 },
	};
	static const struct {
		const char	*in;
		int		 rc;
		uint64_t	 count;
		uint32_t	 window;
	} l[] = {
		{ "100/1h", 0, 100, 3600 }, { "0/1d", 0, 0, 86400 },
		{ "1/1s", 0, 1, 1 }, { "1/1", 0, 1, 1 },
		{ "5/30d", 0, 5, 2592000 }, { "5/720h", 0, 5, 2592000 },
		{ "5/1000ms", 0, 5, 1 }, { "5/1w", 0, 5, 604800 },
		{ "18446744073709551615/1h", 0, UINT64_MAX, 3600 },
		{ "18446744073709551616/1h", -1, 0, 0 },
		{ "5/1500ms", -1, 0, 0 }, { "5/500ms", -1, 0, 0 },
		{ "5/31d", -1, 0, 0 }, { "5/2592001", -1, 0, 0 },
		{ "5/5w", -1, 0, 0 }, { "5/0", -1, 0, 0 }, { "5/0s", -1, 0, 0 },
		{ "/1h", -1, 0, 0 }, { "5", -1, 0, 0 }, { "5/", -1, 0, 0 },
		{ "x/1h", -1, 0, 0 }, { "5/1h ", -1, 0, 0 },
		{ " 5/1h", -1, 0, 0 }, { "-5/1h", -1, 0, 0 },
		{ "5/1h/1d", -1, 0, 0 }, { "5//1h", -1, 0, 0 },
		{ "5/-1h", -1, 0, 0 }, { "", -1, 0, 0 },
	};
	static const struct {
		uint32_t	 s;
		const char	*out;
	} w[] = {
		{ 3600, "1h" }, { 90, "90s" }, { 5400, "90m" }, { 86400, "1d" },
		{ 604800, "1w" }, { 1209600, "2w" }, { 172800, "2d" },
		{ 60, "1m" }, { 59, "59s" }, { 1, "1s" }, { 0, "0s" },
		{ 2592000, "30d" }, { 90000, "25h" }, { 3601, "3601s" },
		{ UINT32_MAX, "4294967295s" },
	};
	struct config_limit lim;
	char out[16];
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		ms = 12345;
		if (config_parse_duration(d[i].in, &ms) != d[i].rc)
			fail_msg("duration \"%s\": want %d", d[i].in, d[i].rc);
		if (d[i].rc == 0 && ms != d[i].ms)
			fail_msg("duration \"%s\": got %llu", d[i].in,
			    (unsigned long long)ms);
	}
	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		lim.count = 7;
		lim.window = 7;
		if (config_parse_limit(l[i].in, &lim) != l[i].rc)
			fail_msg("limit \"%s\": want %d", l[i].in, l[i].rc);
		if (l[i].rc == 0 && (lim.count != l[i].count ||
		    lim.window != l[i].window))
			fail_msg("limit \"%s\": got %llu/%u", l[i].in,
			    (unsigned long long)lim.count, lim.window);
		if (l[i].rc != 0 && (lim.count != 7 || lim.window != 7))
			fail_msg("limit \"%s\": changed on error", l[i].in);
	}
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		assert_string_equal(config_format_window(w[i].s, out,
		    sizeof(out)), w[i].out);
	/* a small buffer is cut, never overrun; the result is a string */
	assert_ptr_equal(config_format_window(604800, out, 2), out);
	assert_string_equal(out, "1");
	assert_ptr_equal(config_format_window(3600, out, 0), out);
}

/*
 * test_bad - every malformed input gives "file:line: what", exactly:
 * an administrator reading it knows where to look and what to fix
 */
static void
test_bad(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;	/* the whole message, or its start */
	} cases[] = {
		/* keys and values */
		{ "mesages 10/1h\n", "t.conf:1: unknown key \"mesages\"" },
		{ "Mode observe\n", "t.conf:1: unknown key \"Mode\"" },
		{ "\n\nmode enfroce\n", "t.conf:3: mode: expected enforce or "
		    "observe, got \"enfroce\"" },
		{ "mode Observe\n", "t.conf:1: mode: expected enforce or "
		    "observe, got \"Observe\"" },
		{ "store mysql\n", "t.conf:1: store: expected memory or redis, "
		    "got \"mysql\"" },
		{ "syslog maybe\n", "t.conf:1: syslog: expected yes or no, got "
		    "\"maybe\"" },
		{ "early_check 2\n", "t.conf:1: early_check: expected yes or "
		    "no, got \"2\"" },
		{ "redis_pool 0\n", "t.conf:1: redis_pool: expected a number "
		    "from 1 to 1024, got \"0\"" },
		{ "redis_pool 1025\n", "t.conf:1: redis_pool: expected a number "
		    "from 1 to 1024, got \"1025\"" },
		{ "redis_pool -1\n", "t.conf:1: redis_pool: expected a number" },
		{ "redis_wait_replicas 65\n", "t.conf:1: redis_wait_replicas: "
		    "expected a number from 0 to 64, got \"65\"" },
		{ "redis_pool +4\n", "t.conf:1: redis_pool: expected a number" },
		{ "redis_pool 4x\n", "t.conf:1: redis_pool: expected a number" },
		{ "redis_pool 18446744073709551617\n", "t.conf:1: redis_pool: "
		    "expected a number" },
		{ "redis_pool 4294967312\n", "t.conf:1: redis_pool: expected a "
		    "number" },
		{ "window_buckets 61\n", "t.conf:1: window_buckets: expected a "
		    "number from 1 to 60, got \"61\"" },
		{ "breaker_failures 0\n", "t.conf:1: breaker_failures: expected "
		    "a number from 1 to 1000" },
		{ "hop_limit 101\n", "t.conf:1: hop_limit: expected a number "
		    "from 1 to 100" },
		{ "max_received 1001\n", "t.conf:1: max_received: expected a "
		    "number from 0 to 1000" },
		{ "redis_command_timeout 1h\n", "t.conf:1: "
		    "redis_command_timeout: expected a duration from 10ms to "
		    "60000ms (e.g. 250ms, 5s, 1m), got \"1h\"" },
		{ "redis_connect_timeout 9ms\n", "t.conf:1: "
		    "redis_connect_timeout: expected a duration" },
		{ "breaker_cooldown 1h30\n", "t.conf:1: breaker_cooldown: "
		    "expected a duration" },
		{ "breaker_cooldown 5x\n", "t.conf:1: breaker_cooldown: "
		    "expected a duration" },
		{ "breaker_cooldown 99ms\n", "t.conf:1: breaker_cooldown: "
		    "expected a duration from 100ms to 3600000ms" },
		{ "hop_lifetime 31d\n", "t.conf:1: hop_lifetime: expected a "
		    "duration" },
		{ "lock_lifetime 59s\n", "t.conf:1: lock_lifetime: expected a "
		    "duration" },
		{ "lock_command_timeout 11m\n", "t.conf:1: "
		    "lock_command_timeout: expected a duration" },
		{ "lock_action quarantine\n", "t.conf:1: lock_action: expected "
		    "tempfail or reject, got \"quarantine\"" },
		{ "copies 5/500ms\n", "t.conf:1: copies: expected COUNT/"
		    "DURATION, e.g. 100/1h" },
		{ "lock_after 50\n", "t.conf:1: lock_after: expected COUNT/"
		    "DURATION" },
		{ "lock_command disable-account\n", "t.conf:1: lock_command: "
		    "expected the absolute path of a program (it is run without "
		    "a shell), got \"disable-account\"" },
		{ "hold_command sluice-hold -x\n", "t.conf:1: hold_command: "
		    "expected the absolute path of a program (it is run without "
		    "a shell), got \"sluice-hold -x\"" },
		{ "hold_command\n", "t.conf:1: hold_command: expected a program "
		    "and its arguments" },
		{ "hold_command /a \"\"\n", "t.conf:1: hold_command: an "
		    "argument may not be empty" },
		{ "hold_command /a 1 2 3 4 5 6 7 8 9\n", "t.conf:1: "
		    "hold_command: at most 8 arguments after the program" },
		{ "hold_command /a\nhold_command /b\n", "t.conf:2: hold_command "
		    "given twice" },
		{ "control_poll 500ms\n", "t.conf:1: control_poll: expected a "
		    "duration from 1000ms" },
		{ "hold_window 59s\n", "t.conf:1: hold_window: expected a "
		    "duration" },
		{ "hold_batch 0\n", "t.conf:1: hold_batch: expected a number "
		    "from 1 to 1000" },
		{ "hold_max_ids 0\n", "t.conf:1: hold_max_ids: expected a "
		    "number" },
		{ "lock_command \"\"\n", "t.conf:1: lock_command: expected the "
		    "absolute path" },
		{ "redis_sentinels 10.0.0.1:26379, 10.0.0.2\n",
		    "t.conf:1: redis_sentinels: expected host:port or "
		    "[address]:port with a port from 1 to 65535, got "
		    "\"10.0.0.2\"" },
		{ "redis_sentinels ,\n", "t.conf:1: redis_sentinels: no "
		    "sentinel given" },
		{ "syslog no\nredis_sentinels h:26379\n", "t.conf:2: "
		    "redis_sentinels needs redis_sentinel_master" },
		{ "redis_cluster yes\nredis_sentinels h:1\n", "t.conf:2: "
		    "redis_sentinels and redis_cluster exclude each other" },
		{ "redis_sentinel_master mymaster\n", "t.conf: "
		    "redis_sentinel_master needs redis_sentinels" },
		{ "redis_sentinels h:1\nredis_sentinel_master \"a b\"\n",
		    "t.conf:2: redis_sentinel_master: only letters, digits and "
		    "- . _ are allowed" },
		{ "redis_server localhost\n", "t.conf:1: redis_server: expected "
		    "host:port, [address]:port or unix:/path, got "
		    "\"localhost\"" },
		{ "redis_server 127.0.0.1:0\n", "t.conf:1: redis_server: "
		    "expected host:port with a port from 1 to 65535, got "
		    "\"127.0.0.1:0\"" },
		{ "redis_server h:65536\n", "t.conf:1: redis_server: expected "
		    "host:port with a port" },
		{ "redis_server h:\n", "t.conf:1: redis_server: expected "
		    "host:port with a port" },
		{ "redis_server h:6379x\n", "t.conf:1: redis_server: expected "
		    "host:port with a port" },
		{ "redis_server :6379\n", "t.conf:1: redis_server: no host in "
		    "\":6379\"" },
		{ "redis_server []:6379\n", "t.conf:1: redis_server: no host" },
		{ "redis_server ::1:6379\n", "t.conf:1: redis_server: write an "
		    "IPv6 address in brackets" },
		{ "redis_server [::1]6379\n", "t.conf:1: redis_server: expected "
		    "[address]:port" },
		{ "redis_server [::1\n", "t.conf:1: redis_server: expected "
		    "[address]:port" },
		{ "redis_server unix:relative\n", "t.conf:1: redis_server: unix "
		    "socket path must be absolute, got \"relative\"" },
		{ "redis_server unix:\n", "t.conf:1: redis_server: unix socket "
		    "path must be absolute" },
		{ "redis_prefix a{b}\n", "t.conf:1: redis_prefix: only letters, "
		    "digits and : _ . - are allowed, got \"a{b}\"" },
		{ "redis_prefix abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
		    "WXYZ0123456789:_.-\n", "t.conf:1: redis_prefix: expected 1 "
		    "to 64 characters, got 66" },
		{ "redis_prefix \"\"\n", "t.conf:1: redis_prefix: empty value" },
		{ "cluster_id \"two words\"\n", "t.conf:1: cluster_id: only "
		    "letters, digits and - . _ are allowed" },
		{ "hop_header X-Hop:\n", "t.conf:1: hop_header: only letters" },
		{ "log_accepts no\nfeedback_journal_match postfix/smtp\n",
		    "t.conf:2: feedback_journal_match: expected FIELD=VALUE "
		    "words" },
		{ "feedback_journal_match \"A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9 "
		    "J=10 K=11 L=12 M=13 N=14 O=15 P=16 Q=17\"\n", "t.conf:1: "
		    "feedback_journal_match: too many words" },
		{ "identity_map \"ids\rx\"\n", "t.conf:1: identity_map: "
		    "control characters are not allowed" },
		{ "hop_header \"X\rY\"\n", "t.conf:1: hop_header: control "
		    "characters are not allowed" },
		{ "socket 8890\n", "t.conf:1: socket: expected inet:PORT@HOST, "
		    "inet6:PORT@HOST, unix:PATH or local:PATH, got \"8890\"" },
		{ "socket unix:\n", "t.conf:1: socket: expected inet:PORT@HOST" },
		{ "socket INET:8890@127.0.0.1\n", "t.conf:1: socket: expected "
		    "inet:PORT@HOST" },
		{ "store_fallback maybe\n", "t.conf:1: store_fallback: expected "
		    "local, accept or tempfail, got \"maybe\"" },
		{ "fanout_action drop\n", "t.conf:1: fanout_action: expected "
		    "tempfail, reject, quarantine, tag or observe, got "
		    "\"drop\"" },
		{ "syslog_facility kern\n", "t.conf:1: syslog_facility: "
		    "expected mail, daemon, user, local0, local1, local2, local3, "
		    "local4, local5, local6 or local7, got \"kern\"" },
		{ "mode observe\nmode enforce\n", "t.conf:2: mode given twice" },
		{ "user a\n# again\nuser a\n", "t.conf:3: user given twice" },
		{ "user a b\n", "t.conf:1: user: expected one value (quote it if "
		    "it has spaces)" },
		{ "user\n", "t.conf:1: user: expected one value" },
		{ "user \"\"\n", "t.conf:1: user: empty value" },
		{ "pidfile \"\"\n", "t.conf:1: pidfile: empty value" },
		{ "class_map \"\"\n", "t.conf:1: class_map: empty value" },
		/* words and quotes */
		{ "user \"a b\n", "t.conf:1: unterminated quote" },
		{ "user \"a\"b\n", "t.conf:1: text right after a closing quote" },
		{ "user a\"b\"\n", "t.conf:1: quote inside a word (quote the "
		    "whole value)" },
		{ "\"\" x\n", "t.conf:1: unknown key \"\"" },
		{ "mode\vobserve\n", "t.conf:1: control character 0x0b in the "
		    "line" },
		{ "mode observe\x7f\n", "t.conf:1: control character 0x7f" },
		{ "user \"\x1b[2Jx\"\n", "t.conf:1: control character 0x1b" },
		/* classes */
		{ "class x {\n messages 1/1h 2/1h\n}\n", "t.conf:2: messages: "
		    "two limits for the same window (1/1h and 2/1h)" },
		{ "class x {\n recipients 1/60s 5/1d 2/1m\n}\n", "t.conf:2: "
		    "recipients: two limits for the same window (1/60s and "
		    "2/1m)" },
		{ "class x {\n messages 1/1h\n messages 2/1d\n}\n", "t.conf:3: "
		    "messages given twice in class x" },
		{ "class x {\n max_recipients 5\n max_recipients 5\n}\n",
		    "t.conf:3: max_recipients given twice in class x" },
		{ "class x {\n messages 10/1q\n}\n", "t.conf:2: messages: bad "
		    "limit \"10/1q\" (expected COUNT/DURATION, e.g. 100/1h, "
		    "window 1s to 30d in whole seconds)" },
		{ "class x {\n repeats 10/500ms\n}\n", "t.conf:2: repeats: bad "
		    "limit \"10/500ms\"" },
		{ "class x {\n body_senders 10/31d\n}\n", "t.conf:2: "
		    "body_senders: bad limit \"10/31d\"" },
		{ "class x {\n near_repeats 5/1h 0/1d\n}\n", "t.conf:2: "
		    "near_repeats: bad limit \"0/1d\" (COUNT from 1 to 31)" },
		{ "class x {\n\n near_repeats 32/1h\n}\n", "t.conf:3: "
		    "near_repeats: bad limit \"32/1h\" (COUNT from 1 to 31)" },
		{ "class x {\n near_repeats 5/1x\n}\n", "t.conf:2: "
		    "near_repeats: bad limit \"5/1x\" (expected COUNT/" },
		{ "class x {\n client_addresses 0/1h\n}\n", "t.conf:2: "
		    "client_addresses: bad limit \"0/1h\" (COUNT from 1 to "
		    "65535)" },
		{ "class x {\n client_addresses 65536/1h\n}\n", "t.conf:2: "
		    "client_addresses: bad limit \"65536/1h\" (COUNT from 1 "
		    "to 65535)" },
		{ "class x {\n client_addresses\n}\n", "t.conf:2: "
		    "client_addresses: expected one or more limits" },
		{ "class x {\n messages 1/1s 2/2s 3/3s 4/4s 5/5s 6/6s 7/7s "
		    "8/8s\n recipients 1/1s 2/2s 3/3s 4/4s 5/5s 6/6s 7/7s "
		    "8/8s\n repeats 1/1s 2/2s 3/3s 4/4s 5/5s 6/6s 7/7s 8/8s\n"
		    " near_repeats 1/1s 2/2s 3/3s 4/4s 5/5s 6/6s\n}\n",
		    "t.conf:6: class x: 30 limits in all, at most 29 (they are "
		    "checked in one store call)" },
		{ "history yes\nclass x {\n messages 1/1s 2/2s 3/3s 4/4s 5/5s "
		    "6/6s 7/7s 8/8s\n recipients 1/1s 2/2s 3/3s 4/4s 5/5s 6/6s "
		    "7/7s 8/8s\n repeats 1/1s 2/2s 3/3s 4/4s 5/5s 6/6s 7/7s "
		    "8/8s\n near_repeats 1/1s 2/2s 3/3s 4/4s 5/5s\n}\n",
		    "t.conf:2: class x: 29 limits in all, at most 28 with "
		    "history yes" },
		{ "history_bucket 2h\nhistory_window 1h\n", "t.conf: "
		    "history_window must be at least history_bucket" },
		{ "near_action lock\n", "t.conf:1: near_action: " },
		{ "history_action block\n", "t.conf:1: history_action: " },
		{ "history_factor 1\n", "t.conf:1: history_factor: " },
		{ "near_distance 13\n", "t.conf:1: near_distance: expected a "
		    "number from 0 to 12, got \"13\"" },
		{ "near_distance -1\n", "t.conf:1: near_distance: expected a "
		    "number from 0 to 12" },
		{ "near_min_words 0\n", "t.conf:1: near_min_words: expected a "
		    "number from 1 to 1000000, got \"0\"" },
		{ "near_action drop\n", "t.conf:1: near_action: expected "
		    "tempfail, reject, quarantine, tag or observe, got "
		    "\"drop\"" },
		{ "\nclient_addresses_action lock\n", "t.conf:2: "
		    "client_addresses_action: expected tempfail, reject, "
		    "quarantine, tag or observe, got \"lock\"" },
		{ "class x {\n header_recipients -1/1h\n}\n", "t.conf:2: "
		    "header_recipients: bad limit \"-1/1h\"" },
		{ "class x {\n messages\n}\n", "t.conf:2: messages: expected "
		    "one or more limits like 100/1h" },
		{ "class x {\n max_recipients -1\n}\n", "t.conf:2: "
		    "max_recipients: expected a number from 0 to 1000000" },
		{ "class x {\n max_recipients 1000001\n}\n", "t.conf:2: "
		    "max_recipients: expected a number from 0 to 1000000" },
		{ "class x {\n max_header_recipients 1 2\n}\n", "t.conf:2: "
		    "max_header_recipients: expected a number from 0 to "
		    "1000000" },
		{ "class x {\n colour blue\n}\n", "t.conf:2: unknown key "
		    "\"colour\" in class x" },
		{ "class x {\n mode observe\n}\n", "t.conf:2: unknown key "
		    "\"mode\" in class x" },
		{ "class x {\n}\nclass x {\n}\n", "t.conf:3: class x defined "
		    "twice" },
		{ "class default {\n}\nclass default {\n}\n", "t.conf:3: class "
		    "default defined twice" },
		{ "class x {\n messages 1/1h\n", "t.conf:1: class x is not "
		    "closed with \"}\"" },
		{ "mode observe\n\nclass x {\n# }\n", "t.conf:3: class x is not "
		    "closed" },
		{ "}\n", "t.conf:1: \"}\" without a class" },
		{ "class x {\n}\n}\n", "t.conf:3: \"}\" without a class" },
		{ "class x {\nclass y {\n}\n", "t.conf:2: class inside class x "
		    "(missing \"}\"?)" },
		{ "class x\n", "t.conf:1: expected \"class NAME {\"" },
		{ "class x{\n}\n", "t.conf:1: expected \"class NAME {\"" },
		{ "class {\n}\n", "t.conf:1: expected \"class NAME {\"" },
		{ "class x { messages 1/1h }\n", "t.conf:1: expected \"class "
		    "NAME {\"" },
		{ "class x y {\n}\n", "t.conf:1: expected \"class NAME {\"" },
		{ "class a{b {\n}\n", "t.conf:1: bad class name \"a{b\" (1 to 63 "
		    "of A-Z a-z 0-9 _ . -)" },
		{ "class \"\" {\n}\n", "t.conf:1: bad class name \"\"" },
		{ "class a123456789b123456789c123456789d123456789e123456789"
		    "f123456789g123 {\n}\n", "t.conf:1: bad class name" },
		{ "class x {\n} extra\n", "t.conf:2: text after \"}\"" },
		/* the metrics page: numeric loopback only */
		{ "metrics_listen 0.0.0.0:9188\n", "t.conf:1: metrics_listen: "
		    "0.0.0.0 is not a loopback address" },
		{ "metrics_listen 192.0.2.1:9188\n", "t.conf:1: metrics_listen: "
		    "192.0.2.1 is not a loopback address" },
		{ "metrics_listen [::]:9188\n", "t.conf:1: metrics_listen: :: is "
		    "not a loopback address" },
		{ "metrics_listen localhost:9188\n", "t.conf:1: metrics_listen: "
		    "\"localhost\" is not a numeric IPv4 address" },
		{ "metrics_listen 127.0.0.1\n", "t.conf:1: metrics_listen: "
		    "expected ADDRESS:PORT" },
		{ "metrics_listen 127.0.0.1:0\n", "t.conf:1: metrics_listen: "
		    "expected ADDRESS:PORT" },
		{ "metrics_listen 127.0.0.1:65536\n", "t.conf:1: metrics_listen: "
		    "expected ADDRESS:PORT" },
		{ "metrics_listen ::1:9188\n", "t.conf:1: metrics_listen: "
		    "expected ADDRESS:PORT (e.g. 127.0.0.1:9188 or [::1]:9188)" },
		{ "metrics_listen [::1:9188\n", "t.conf:1: metrics_listen: "
		    "expected ADDRESS:PORT" },
		{ "metrics_listen :9188\n", "t.conf:1: metrics_listen: "
		    "expected ADDRESS:PORT" },
		{ "class x {\n messages 1/1h 2/2h 3/3h 4/4h 5/5h 6/6h 7/7h "
		    "8/8h 9/9h\n}\n", "t.conf:2: messages: at most 8 limits" },
		{ "class x {\n messages 1/1h 2/2h 3/3h 4/4h 5/5h 6/6h 7/7h "
		    "8/8h 9/9h 10/10h 11/11h 12/12h\n}\n", "t.conf:2: messages: "
		    "at most 8 limits" },
	};
	char err[CONFIG_ERR_MAX];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(err, 'z', sizeof(err));
		err[sizeof(err) - 1] = '\0';
		if (config_parse_string(cases[i].text, "t.conf", err,
		    sizeof(err)) != NULL)
			fail_msg("case %zu: \"%s\" was accepted", i,
			    cases[i].text);
		n = strlen(cases[i].err);
		if (strncmp(err, cases[i].err, n) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err,
			    cases[i].err);
		/* one printable line, whatever the input held */
		for (n = 0; err[n] != '\0'; n++)
			if ((unsigned char)err[n] < 0x20)
				fail_msg("case %zu: control byte in \"%s\"", i,
				    err);
	}
}

/* test_metrics_listen - off by default; loopback v4 and v6 accepted */
static void
test_metrics_listen(void **state)
{
	static const struct {
		const char	*text;
		const char	*host;
		int		 port;
	} ok[] = {
		{ "metrics_listen 127.0.0.1:9188\n", "127.0.0.1", 9188 },
		{ "metrics_listen 127.1.2.3:1\n", "127.1.2.3", 1 },
		{ "metrics_listen [::1]:65535\n", "::1", 65535 },
		{ "metrics_listen [0:0::1]:80\n", "0:0::1", 80 },
		{ "metrics_listen [::1]:9188\nredis_server 127.0.0.1:6379\n",
		    "::1", 9188 },
	};
	char err[CONFIG_ERR_MAX];
	struct config *c;
	size_t i;

	(void)state;
	assert_non_null(c = config_parse_string("", "t.conf", err,
	    sizeof(err)));
	assert_null(c->metrics_host);
	config_free(c);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		c = config_parse_string(ok[i].text, "t.conf", err, sizeof(err));
		if (c == NULL)
			fail_msg("%s: %s", ok[i].text, err);
		assert_string_equal(c->metrics_host, ok[i].host);
		assert_int_equal(c->metrics_port, ok[i].port);
		config_free(c);
	}
}

/* test_errbuf - short or absent error buffers are never overrun */
static void
test_errbuf(void **state)
{
	char err[8];

	(void)state;
	memset(err, 'z', sizeof(err));
	assert_null(config_parse_string("mesages 1\n", "t.conf", err, 8));
	assert_string_equal(err, "t.conf:");
	assert_null(config_parse_string("mesages 1\n", "t.conf", NULL, 0));
	err[0] = 'z';
	assert_null(config_parse_string("mesages 1\n", "t.conf", err, 0));
	assert_int_equal(err[0], 'z');
	assert_null(config_load("/nonexistent/sluice.conf", NULL, 0));
}

/* test_bad_files - long lines, NUL bytes, missing files, bad maps */
static void
test_bad_files(void **state)
{
	static const struct {
		const char	*map;	/* class map text */
		size_t		 len;	/* its length, 0: strlen */
		const char	*err;	/* after "<dir>/badmap:" */
	} maps[] = {
		{ "a@x bluk\n", 0, "1: unknown class \"bluk\"" },
		{ "# c\n\nb@x default\n  a@x   Bulk  # x\n", 0,
		    "4: unknown class \"Bulk\"" },
		{ "a@x default\n\nA@X default\n", 0, "3: \"a@x\" listed twice" },
		{ "A@X default\nb@x default\na@x bulk\n", 0,
		    "3: \"a@x\" listed twice" },
		{ "@X.org bulk\n@x.ORG default\n", 0,
		    "2: \"@x.org\" listed twice" },
		{ "a@x default extra\n", 0, "1: expected \"LOGIN CLASS\" or "
		    "\"@domain CLASS\"" },
		{ "a@x\n", 0, "1: expected \"LOGIN CLASS\"" },
		{ "a@x \"default\n", 0, "1: unterminated quote" },
		{ "\"\" default\n", 0, "1: empty login" },
		{ "@ default\n", 0, "1: \"@\": expected @domain, with one \"@\" "
		    "and a domain after it" },
		{ "@a@b default\n", 0, "1: \"@a@b\": expected @domain" },
		{ "a@x default\nb@x\0 default\n", 25, "2: NUL byte in the file" },
		{ "a@x default\r\nb@x\fdefault\n", 0,
		    "2: control character 0x0c in the line" },
	};
	char err[CONFIG_ERR_MAX], *longline, want[512], conf[160];
	const char *path;
	struct config *c;
	size_t i;

	(void)state;
	/* 4096 bytes is the longest line; 4097 is an error */
	longline = malloc(5000);
	assert_non_null(longline);
	memset(longline, ' ', 4999);
	memcpy(longline, "mode observe", 12);
	longline[4096] = '\n';
	c = load(write_file("max.conf", longline, 4097));
	assert_int_equal(c->mode, CONFIG_MODE_OBSERVE);
	config_free(c);
	longline[4096] = ' ';
	longline[4097] = '\n';
	path = write_file("long.conf", longline, 4098);
	load_err(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:1: line longer than 4096 bytes", path);
	assert_string_equal(err, want);
	/* on a later line, and as the last line without a newline */
	memset(longline, 'x', 4999);
	memcpy(longline, "# x\n\n", 5);
	path = write_file("long2.conf", longline, 4999);
	load_err(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:3: line longer than 4096 bytes", path);
	assert_string_equal(err, want);
	free(longline);

	path = write_file("nul.conf", "mode observe\nuser a\0b\n", 22);
	load_err(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:2: NUL byte in the file", path);
	assert_string_equal(err, want);

	/* an error in a file names the file as it was given */
	path = write_str("bad.conf", "# sluice.conf\n\nmode enfroce\n");
	load_err(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:3: mode: expected enforce or "
	    "observe, got \"enfroce\"", path);
	assert_string_equal(err, want);

	snprintf(want, sizeof(want), "%s/missing.conf", dir);
	load_err(want, err, sizeof(err));
	snprintf(want, sizeof(want), "%s/missing.conf: No such file or "
	    "directory", dir);
	assert_string_equal(err, want);

	load_err(dir, err, sizeof(err));	/* a directory */
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	assert_string_equal(err, want);

	/* the class map: each bad one names the map file and line */
	snprintf(conf, sizeof(conf), "%s", write_str("m.conf",
	    "class bulk {\n}\nclass_map badmap\n"));
	path = conf;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		write_file("badmap", maps[i].map, maps[i].len != 0 ?
		    maps[i].len : strlen(maps[i].map));
		load_err(path, err, sizeof(err));
		snprintf(want, sizeof(want), "%s/badmap:%s", dir, maps[i].err);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("map %zu: got \"%s\", want \"%s...\"", i, err,
			    want);
	}
	longline = malloc(4200);
	assert_non_null(longline);
	memset(longline, 'a', 4200);
	memcpy(longline, "x default\n", 10);
	memcpy(longline + 4200 - 9, " default\n", 9);
	write_file("badmap", longline, 4200);
	load_err(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s/badmap:2: line longer than 4096 bytes",
	    dir);
	assert_string_equal(err, want);
	free(longline);

	path = write_str("m4.conf", "class_map nomap\n");
	load_err(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s/nomap: No such file or directory",
	    dir);
	assert_string_equal(err, want);

	/* a map name too long for the error: its head and tail are kept,
	 * so the message still reads "NAME: what is wrong" (fuzz_config) */
	longline = malloc(3000);
	assert_non_null(longline);
	memset(longline, 'A', 3000);
	memcpy(longline, "class_map ", 10);
	memcpy(longline + 3000 - 5, "name\n", 5);
	path = write_file("m5.conf", longline, 3000);
	load_err(path, err, sizeof(err));
	assert_non_null(strstr(err, "..."));
	assert_non_null(strstr(err, "AAAname: File name too long"));
	assert_true(strlen(err) < 200);
	free(longline);

	/* all good again: nothing leaks from failed loads (ASan checks) */
	c = parse("mode observe\n");
	config_free(c);
	config_free(NULL);
}

/* test_local_domains - the local domains and the per-class external and
 * internal recipient limits */
static void
test_local_domains(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct config *c = parse(
	    "local_domains example.com, .Corp.Example\texample.org\n"
	    "class default {\n"
	    "    recipients          2000/1h\n"
	    "    external_recipients 500/1h 2000/1d\n"
	    "    internal_recipients 1000/1h\n"
	    "}\n");
	const struct config_class *d = &c->classes[0];

	(void)state;
	assert_non_null(c->local_domains);
	assert_int_equal(domains_count(c->local_domains), 3);
	assert_true(domains_local(c->local_domains, "<a@x.corp.example>"));
	assert_false(domains_local(c->local_domains, "<a@corp.example>"));
	assert_int_equal(d->nexternal_recipients, 2);
	assert_int_equal(d->external_recipients[0].count, 500);
	assert_int_equal(d->external_recipients[1].window, 86400);
	assert_int_equal(d->ninternal_recipients, 1);
	assert_int_equal(d->internal_recipients[0].count, 1000);
	config_free(c);
	/* unset: no list, no limits */
	c = parse("");
	assert_null(c->local_domains);
	assert_int_equal(c->classes[0].nexternal_recipients, 0);
	assert_int_equal(c->classes[0].ninternal_recipients, 0);
	config_free(c);
	assert_null(config_parse_string("local_domains example.com [1.2.3.4]\n",
	    "t.conf", err, sizeof(err)));
	assert_string_equal(err, "t.conf:1: local_domains: \"[1.2.3.4]\" is "
	    "no domain name (example.com, or .example.com for every domain "
	    "below it)");
	assert_null(config_parse_string("local_domains a..b\n", "t.conf", err,
	    sizeof(err)));
	assert_null(config_parse_string("local_domains ,\n", "t.conf", err,
	    sizeof(err)));
	assert_string_equal(err, "t.conf:1: local_domains: no domain given");
	assert_null(config_parse_string("class default {\n"
	    "external_recipients 500\n}\n", "t.conf", err, sizeof(err)));
	assert_true(strncmp(err, "t.conf:2: external_recipients", 29) == 0);
}

/* test_domain_classes - domain_class_map and the domain_* class keys */
static void
test_domain_classes(void **state)
{
	char err[CONFIG_ERR_MAX], text[2400], big[400];
	const char *map = write_str("domains", "# customers\n"
	    "Big.Example  big\n"
	    "small.example  default\n");
	struct config *c;
	size_t i;

	(void)state;
	snprintf(text, sizeof(text), "domain_class_map %s\n"
	    "class default {\n messages 100/1h\n domain_messages 30/1h\n}\n"
	    "class big {\n domain_messages 300/1h 3000/1d\n"
	    " domain_recipients 9000/1h\n}\n", map);
	c = parse(text);
	assert_int_equal(c->ndmap, 2);
	assert_null(config_domain_class_for(c, "alice"));	/* bare */
	assert_null(config_domain_class_for(c, "alice@"));
	assert_ptr_equal(config_domain_class_for(c, "a@BIG.example"),
	    config_find_class(c, "big"));
	assert_ptr_equal(config_domain_class_for(c, "a@small.example"),
	    &c->classes[0]);
	assert_ptr_equal(config_domain_class_for(c, "a@other.example"),
	    &c->classes[0]);
	assert_ptr_equal(config_domain_class_for(c, "a@sub.big.example"),
	    &c->classes[0]);	/* exact domains only */
	assert_int_equal(config_find_class(c, "big")->ndomain_messages, 2);
	assert_int_equal(c->classes[0].domain_messages[0].count, 30);
	config_free(c);
	/* errors */
	snprintf(text, sizeof(text), "domain_class_map %s\n", write_str("d2",
	    "@big.example default\n"));
	assert_null(config_parse_string(text, "t.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "d2:1: \"@big.example\": expected a "
	    "domain, without \"@\""));
	snprintf(text, sizeof(text), "domain_class_map %s\n", write_str("d3",
	    "a.example nope\n"));
	assert_null(config_parse_string(text, "t.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "d3:1: unknown class \"nope\""));
	/* a login's 26 limits and a domain's 8 do not fit one request */
	big[0] = '\0';
	for (i = 0; i < 8; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big),
		    " %zu/%zuh", i + 1, i + 1);
	snprintf(text, sizeof(text), "class default {\n messages%s\n"
	    " recipients%s\n repeats%s\n body_senders 1/1h 2/2h\n}\n"
	    "class big {\n domain_messages%s\n}\n", big, big, big, big);
	assert_null(config_parse_string(text, "t.conf", err, sizeof(err)));
	assert_string_equal(err, "t.conf:1: class default: 26 limits and a "
	    "domain's 8 are more than 29 in all (they are checked in one store "
	    "call)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_many_classes),
		cmocka_unit_test(test_class_map),
		cmocka_unit_test(test_class_origins),
		cmocka_unit_test(test_long_logins),
		cmocka_unit_test(test_map_paths),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_metrics_listen),
		cmocka_unit_test(test_errbuf),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_local_domains),
		cmocka_unit_test(test_domain_classes),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
