/*
 * test_config_dump.c - sluice -n -v's text: every key of the table with
 * its effective value, classes with their limits, in sluice.conf's own
 * syntax, so that loading the dump gives the same dump again.
 *
 * Cases: the defaults of an empty file (built-in class default), a file
 * giving every key a value that is not its default (quoting, durations,
 * networks, IPv6 addresses, lists of words), and each key of the table
 * appearing exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "config_dump.h"
#include "config_table.h"

/* every key set, none to its default (the maps need files: not here) */
static const char every_key[] =
    "socket unix:/tmp/s.sock\n"
    "user nobody\n"
    "pidfile \"/run/x#1.pid\"\n"
    "syslog no\n"
    "syslog_facility local3\n"
    "log_accepts no\n"
    "mode observe\n"
    "early_check no\n"
    "early_check_cache 1500ms\n"
    "metrics_listen [::1]:9188\n"
    "store redis\n"
    "redis_server unix:/run/redis.sock\n"
    "redis_password_file /etc/sluice/redis.pw\n"
    "redis_username sluice\n"
    "redis_prefix relay-b:\n"
    "redis_connect_timeout 2s\n"
    "redis_command_timeout 60s\n"
    "redis_pool 4\n"
    "redis_wait_replicas 1\n"
    "redis_sentinels 10.0.0.11:26379, [2001:db8::1]:26379\n"
    "redis_sentinel_master mymaster\n"
    "redis_sentinel_password_file /etc/sluice/sentinel.pw\n"
    "store_fallback tempfail\n"
    "breaker_failures 7\n"
    "breaker_cooldown 120\n"
    "window_buckets 6\n"
    "identity_action reject\n"
    "trusted_networks 10.0.0.0/8, 192.0.2.5 2001:db8::/32 "
    "::ffff:10.1.0.0/112\n"
    "trusted_header X-Webmail-User\n"
    "local_submission inbound\n"
    "login_default_domain example.com\n"
    "local_domains Example.COM .corp.example, example.org\n"
    "fanout_action tempfail\n"
    "repeats_action tag\n"
    "wave_action observe\n"
    "near_action reject\n"
    "near_distance 8\n"
    "near_min_words 50\n"
    "tag_header X-Flag\n"
    "cluster_id east\n"
    "hop_key_file /etc/sluice/hop.key\n"
    "hop_header X-Hop\n"
    "hop_limit 9\n"
    "hop_lifetime 14d\n"
    "max_received 30\n"
    "copies 100/1h\n"
    "loop_action quarantine\n"
    "copies_action reject\n"
    "client_addresses_action quarantine\n"
    "lock_after 50/30m\n"
    "lock_lifetime 12h\n"
    "lock_action reject\n"
    "lock_command /usr/local/sbin/disable-account\n"
    "lock_command_timeout 20s\n"
    "control_poll 1m\n"
    "hold_command /usr/bin/sudo -n /usr/local/sbin/sluice-hold\n"
    "hold_command_timeout 45s\n"
    "hold_window 2h\n"
    "hold_max_per_login 100\n"
    "hold_max_ids 1000\n"
    "hold_batch 10\n"
    "control_socket /tmp/ctl.sock\n"
    "state_file /tmp/sluice.state\n"
    "state_save_interval 90s\n"
    "class default {\n"
    "    messages 10/1h 100/1d\n"
    "    recipients 50/1h\n"
    "    header_recipients 200/1h\n"
    "    repeats 5/1h\n"
    "    body_senders 20/1h\n"
    "    near_repeats 5/1h\n"
    "    client_addresses 10/1h\n"
    "    max_recipients 20\n"
    "    max_header_recipients 30\n"
    "}\n"
    "class bulk {\n"
    "    messages 5/90s 0/7d\n"
    "}\n";

/* dump - config_dump of a config into a new string (caller frees) */
static char *
dump(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(config_dump(c, f), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* body - the dump after its first line (which names the file) */
static const char *
body(const char *text)
{
	const char *nl = strchr(text, '\n');

	assert_non_null(nl);
	return nl + 1;
}

/* round_trip - parse text, dump, parse the dump, dump: the same text */
static char *
round_trip(const char *text)
{
	char err[CONFIG_ERR_MAX], *one, *two;
	struct config *c, *again;

	c = config_parse_string(text, "in.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	one = dump(c);
	again = config_parse_string(body(one), "dump.conf", err, sizeof(err));
	if (again == NULL)
		fail_msg("the dump is refused: %s\n%s", err, one);
	two = dump(again);
	assert_string_equal(body(one), body(two));
	config_free(c);
	config_free(again);
	free(two);
	return one;
}

/* has_line - text holds this whole line */
static void
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *s;

	for (s = text; (s = strstr(s, line)) != NULL; s += n)
		if ((s == text || s[-1] == '\n') && s[n] == '\n')
			return;
	fail_msg("no line \"%s\" in:\n%s", line, text);
}

/* test_defaults - an empty file: defaults, unset keys, built-in default */
static void
test_defaults(void **state)
{
	char *text = round_trip("");

	(void)state;
	has_line(text, "# effective configuration of in.conf (sluice -n -v)");
	has_line(text, "socket inet:8890@127.0.0.1");
	has_line(text, "# user (unset)");
	has_line(text, "# metrics_listen (unset)");
	has_line(text, "# trusted_networks (unset)");
	has_line(text, "# local_domains (unset)");
	has_line(text, "redis_server 127.0.0.1:6379");
	has_line(text, "early_check_cache 10s");
	has_line(text, "redis_connect_timeout 250ms");
	has_line(text, "copies 0/1h");
	has_line(text, "class default {");
	has_line(text, "    messages 100/1h 1000/1d");
	has_line(text, "    recipients 500/1h 2000/1d");
	has_line(text, "    max_recipients 100");
	has_line(text, "    max_header_recipients 100");
	free(text);
}

/* test_every_key - values off their defaults, written so they read back */
static void
test_every_key(void **state)
{
	char *text = round_trip(every_key);

	(void)state;
	has_line(text, "pidfile \"/run/x#1.pid\"");
	has_line(text, "metrics_listen [::1]:9188");
	has_line(text, "redis_server unix:/run/redis.sock");
	has_line(text, "redis_password_file /etc/sluice/redis.pw");
	has_line(text, "early_check_cache 1500ms");
	has_line(text, "redis_command_timeout 1m");
	has_line(text, "breaker_cooldown 2m");
	has_line(text, "hop_lifetime 2w");
	has_line(text, "redis_sentinels 10.0.0.11:26379, "
	    "[2001:db8::1]:26379");
	has_line(text, "trusted_networks 10.0.0.0/8, 192.0.2.5, "
	    "2001:db8::/32, 10.1.0.0/16");
	has_line(text, "local_domains .corp.example, example.com, "
	    "example.org");
	has_line(text, "hold_command \"/usr/bin/sudo -n "
	    "/usr/local/sbin/sluice-hold\"");
	has_line(text, "lock_after 50/30m");
	has_line(text, "syslog_facility local3");
	has_line(text, "mode observe");
	has_line(text, "syslog no");
	has_line(text, "    messages 10/1h 100/1d");
	has_line(text, "    near_repeats 5/1h");
	has_line(text, "    client_addresses 10/1h");
	has_line(text, "    max_header_recipients 30");
	has_line(text, "class bulk {");
	has_line(text, "    messages 5/90s 0/1w");
	has_line(text, "    max_recipients 0");
	free(text);
}

/* count_key - lines of text that give key or say it is unset */
static size_t
count_key(const char *text, const char *key)
{
	char unset[128];
	size_t n = 0, kl = strlen(key);
	const char *s;

	snprintf(unset, sizeof(unset), "# %s (unset)\n", key);
	for (s = text; *s != '\0'; s = strchr(s, '\n') + 1)
		if (strncmp(s, unset, strlen(unset)) == 0 ||
		    (strncmp(s, key, kl) == 0 && s[kl] == ' '))
			n++;
	return n;
}

/* test_each_key_once - every key of the table, set or not, exactly once */
static void
test_each_key_once(void **state)
{
	const struct key *keys;
	char *empty = round_trip(""), *full = round_trip(every_key);
	size_t n, i;

	(void)state;
	keys = config_table(&n);
	for (i = 0; i < n; i++) {
		if (count_key(empty, keys[i].name) != 1)
			fail_msg("%s: not once in the defaults", keys[i].name);
		if (count_key(full, keys[i].name) != 1)
			fail_msg("%s: not once in every_key", keys[i].name);
	}
	free(empty);
	free(full);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_each_key_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
