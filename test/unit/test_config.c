/* test_config.c - sluice.conf and the class map: good files, bad files */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "store.h"

static char dir[64];

/* setup_dir - a scratch directory for files the tests write */
static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_config.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* teardown_dir - remove the scratch directory */
static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* write_file - dir/name holding text (len bytes); returns the path */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char path[2][128];
	static int which;
	char *p = path[which ^= 1];
	FILE *fp;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	fp = fopen(p, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
	return p;
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

/* test_defaults - an empty file is a working config */
static void
test_defaults(void **state)
{
	struct config *c = parse("");
	const struct config_class *d;

	(void)state;
	assert_string_equal(c->socket, "inet:8890@127.0.0.1");
	assert_null(c->user);
	assert_null(c->pidfile);
	assert_true(c->syslog);
	assert_string_equal(c->syslog_facility, "mail");
	assert_int_equal(c->mode, CONFIG_MODE_ENFORCE);
	assert_true(c->early_check);
	assert_int_equal(c->store, CONFIG_STORE_MEMORY);
	assert_string_equal(c->redis_host, "127.0.0.1");
	assert_int_equal(c->redis_port, 6379);
	assert_null(c->redis_socket);
	assert_string_equal(c->redis_prefix, "sluice:");
	assert_int_equal(c->redis_connect_timeout_ms, 250);
	assert_int_equal(c->redis_command_timeout_ms, 250);
	assert_int_equal(c->redis_pool, 16);
	assert_int_equal(c->fallback, STORE_FALLBACK_LOCAL);
	assert_int_equal(c->breaker_failures, 3);
	assert_int_equal(c->breaker_cooldown_ms, 5000);
	assert_int_equal(c->window_buckets, 12);
	assert_int_equal(c->fanout_action, CONFIG_ACTION_REJECT);
	assert_int_equal(c->repeats_action, CONFIG_ACTION_QUARANTINE);
	assert_int_equal(c->wave_action, CONFIG_ACTION_QUARANTINE);
	assert_string_equal(c->tag_header, "X-Sluice-Flag");
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
	assert_int_equal(d->max_recipients, 100);
	assert_int_equal(d->max_header_recipients, 100);
	assert_ptr_equal(config_class_for(c, "anyone@example.com"), d);
	assert_ptr_equal(config_class_for(c, NULL), d);
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
	    "pidfile \"/run/sluice/sluice.pid\"\n"
	    "syslog no\n"
	    "syslog_facility local3\n"
	    "log_accepts off\n"
	    "mode observe\n"
	    "early_check false\n"
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
	    "tag_header X-Relay-Flag\n"
	    "\r\n\t\n");

	(void)state;
	assert_string_equal(c->socket, "unix:/run/sluice/sluice.sock");
	assert_string_equal(c->user, "sluice");
	assert_string_equal(c->pidfile, "/run/sluice/sluice.pid");
	assert_false(c->syslog);
	assert_string_equal(c->syslog_facility, "local3");
	assert_false(c->log_accepts);
	assert_int_equal(c->mode, CONFIG_MODE_OBSERVE);
	assert_false(c->early_check);
	assert_int_equal(c->store, CONFIG_STORE_REDIS);
	assert_string_equal(c->redis_host, "::1");
	assert_int_equal(c->redis_port, 6380);
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
	assert_string_equal(c->tag_header, "X-Relay-Flag");
	config_free(c);

	c = parse("redis_server unix:/run/redis/redis.sock\n");
	assert_string_equal(c->redis_socket, "/run/redis/redis.sock");
	assert_null(c->redis_host);
	config_free(c);
}

/* test_classes - class blocks, the default replaced, every class key */
static void
test_classes(void **state)
{
	struct config *c = parse(
	    "class default {\n"
	    "    messages 10/1h\n"
	    "}\n"
	    "class bulk {\n"
	    "    messages        2000/1h 20000/1d\n"
	    "    recipients      20000/1h\n"
	    "    max_recipients  1000\n"
	    "    max_header_recipients 0\n"
	    "    header_recipients 5000/1h\n"
	    "    repeats 50/1h 200/1d\n"
	    "    body_senders 30/10m\n"
	    "}\n");
	const struct config_class *d, *b;

	(void)state;
	assert_int_equal(c->nclasses, 2);
	d = &c->classes[0];
	assert_string_equal(d->name, "default");
	assert_int_equal(d->nmessages, 1);
	assert_int_equal(d->messages[0].count, 10);
	assert_int_equal(d->nrecipients, 0);	/* replaced entirely */
	assert_int_equal(d->max_recipients, 0);
	assert_int_equal(d->line, 1);
	b = config_find_class(c, "bulk");
	assert_non_null(b);
	assert_int_equal(b->line, 4);
	assert_int_equal(b->nmessages, 2);
	assert_int_equal(b->messages[1].count, 20000);
	assert_int_equal(b->messages[1].window, 86400);
	assert_int_equal(b->recipients[0].count, 20000);
	assert_int_equal(b->max_recipients, 1000);
	assert_int_equal(b->max_header_recipients, 0);
	assert_int_equal(b->nheader_recipients, 1);
	assert_int_equal(b->nrepeats, 2);
	assert_int_equal(b->repeats[1].window, 86400);
	assert_int_equal(b->nbody_senders, 1);
	assert_int_equal(b->body_senders[0].count, 30);
	assert_int_equal(b->body_senders[0].window, 600);
	assert_null(config_find_class(c, "nope"));
	config_free(c);
}

/* test_class_map - exact logins, @domain, case, relative path */
static void
test_class_map(void **state)
{
	const char map[] =
	    "# login            class\n"
	    "Newsletter@Example.COM  bulk\n"
	    "@partner.example        bulk\n"
	    "\n"
	    "vip@partner.example     default   # exact beats @domain\n";
	const char conf[] =
	    "class bulk {\n  messages 2000/1h\n}\n"
	    "class_map classes\n";
	char err[CONFIG_ERR_MAX];
	struct config *c;
	const char *path;
	static char big[1100];

	(void)state;
	write_file("classes", map, sizeof(map) - 1);
	path = write_file("sluice.conf", conf, sizeof(conf) - 1);
	c = config_load(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->nmap, 3);
	assert_string_equal(config_class_for(c, "newsletter@example.com")->name,
	    "bulk");
	assert_string_equal(config_class_for(c, "NEWSLETTER@example.com")->name,
	    "bulk");
	assert_string_equal(config_class_for(c, "anyone@partner.example")->name,
	    "bulk");
	assert_string_equal(config_class_for(c, "x@y@Partner.Example")->name,
	    "bulk");
	assert_string_equal(config_class_for(c, "vip@partner.example")->name,
	    "default");
	assert_string_equal(config_class_for(c, "other@example.com")->name,
	    "default");
	assert_string_equal(config_class_for(c, "no-at-sign")->name,
	    "default");
	memset(big, 'a', sizeof(big) - 1);
	big[500] = '@';
	assert_string_equal(config_class_for(c, big)->name, "default");
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
		{ "", -1, 0 }, { "1x", -1, 0 }, { "-5", -1, 0 },
		{ "1h30", -1, 0 }, { "h", -1, 0 }, { " 1h", -1, 0 },
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
		{ "1/1s", 0, 1, 1 }, { "5/30d", 0, 5, 2592000 },
		{ "5/31d", -1, 0, 0 }, { "5/500ms", -1, 0, 0 },
		{ "5/0", -1, 0, 0 }, { "/1h", -1, 0, 0 }, { "5", -1, 0, 0 },
		{ "5/", -1, 0, 0 }, { "x/1h", -1, 0, 0 }, { "5/1h ", -1, 0, 0 },
	};
	struct config_limit lim;
	char out[16];
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		ms = 0;
		assert_int_equal(config_parse_duration(d[i].in, &ms), d[i].rc);
		if (d[i].rc == 0)
			assert_int_equal(ms, d[i].ms);
	}
	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		assert_int_equal(config_parse_limit(l[i].in, &lim), l[i].rc);
		if (l[i].rc == 0) {
			assert_int_equal(lim.count, l[i].count);
			assert_int_equal(lim.window, l[i].window);
		}
	}
	assert_string_equal(config_format_window(3600, out, sizeof(out)), "1h");
	assert_string_equal(config_format_window(90, out, sizeof(out)), "90s");
	assert_string_equal(config_format_window(5400, out, sizeof(out)),
	    "90m");
	assert_string_equal(config_format_window(86400, out, sizeof(out)),
	    "1d");
	assert_string_equal(config_format_window(604800, out, sizeof(out)),
	    "1w");
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
		const char	*err;
	} cases[] = {
		{ "mesages 10/1h\n", "t.conf:1: unknown key \"mesages\"" },
		{ "\n\nmode enfroce\n", "t.conf:3: mode: expected enforce or "
		    "observe, got \"enfroce\"" },
		{ "syslog maybe\n", "t.conf:1: syslog: expected yes or no, got "
		    "\"maybe\"" },
		{ "redis_pool 0\n", "t.conf:1: redis_pool: expected a number "
		    "from 1 to 1024, got \"0\"" },
		{ "window_buckets 61\n", "t.conf:1: window_buckets: expected a "
		    "number from 1 to 60, got \"61\"" },
		{ "redis_command_timeout 1h\n", "t.conf:1: "
		    "redis_command_timeout: expected a duration" },
		{ "redis_server localhost\n", "t.conf:1: redis_server: expected "
		    "host:port" },
		{ "redis_server 127.0.0.1:0\n", "t.conf:1: redis_server: "
		    "expected host:port with a port from 1 to 65535" },
		{ "redis_server unix:relative\n", "t.conf:1: redis_server: unix "
		    "socket path must be absolute" },
		{ "redis_prefix a{b}\n", "t.conf:1: redis_prefix: only letters" },
		{ "socket 8890\n", "t.conf:1: socket: expected inet:PORT@HOST" },
		{ "store_fallback maybe\n", "t.conf:1: store_fallback: expected "
		    "local, accept or tempfail, got \"maybe\"" },
		{ "fanout_action drop\n", "t.conf:1: fanout_action: expected "
		    "tempfail, reject, quarantine, tag or observe" },
		{ "syslog_facility kern\n", "t.conf:1: syslog_facility: "
		    "expected mail" },
		{ "mode observe\nmode enforce\n", "t.conf:2: mode given twice" },
		{ "user a b\n", "t.conf:1: user: expected one value" },
		{ "user \"a b\n", "t.conf:1: unterminated quote" },
		{ "class x {\n messages 1/1h 2/1h\n}\n", "t.conf:2: messages: "
		    "two limits for the same window" },
		{ "class x {\n messages 1/1h\n messages 2/1d\n}\n", "t.conf:3: "
		    "messages given twice in class x" },
		{ "class x {\n messages 10/1q\n}\n", "t.conf:2: messages: bad "
		    "limit \"10/1q\"" },
		{ "class x {\n messages\n}\n", "t.conf:2: messages: expected "
		    "one or more limits" },
		{ "class x {\n max_recipients -1\n}\n", "t.conf:2: "
		    "max_recipients: expected a number from 0 to 1000000" },
		{ "class x {\n colour blue\n}\n", "t.conf:2: unknown key "
		    "\"colour\" in class x" },
		{ "class x {\n}\nclass x {\n}\n", "t.conf:3: class x defined "
		    "twice" },
		{ "class default {\n}\nclass default {\n}\n", "t.conf:3: class "
		    "default defined twice" },
		{ "class x {\n messages 1/1h\n", "t.conf:1: class x is not "
		    "closed" },
		{ "}\n", "t.conf:1: \"}\" without a class" },
		{ "class x {\nclass y {\n}\n", "t.conf:2: class inside class x" },
		{ "class x\n", "t.conf:1: expected \"class NAME {\"" },
		{ "class a{b {\n}\n", "t.conf:1: bad class name \"a{b\"" },
		{ "class x {\n} extra\n", "t.conf:2: text after \"}\"" },
		{ "class x {\n messages 1/1h 2/2h 3/3h 4/4h 5/5h 6/6h 7/7h "
		    "8/8h 9/9h\n}\n", "t.conf:2: messages: at most 8 limits" },
	};
	char err[CONFIG_ERR_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_null(config_parse_string(cases[i].text, "t.conf", err,
		    sizeof(err)));
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err,
			    cases[i].err);
	}
}

/* test_bad_files - long lines, NUL bytes, missing files, bad maps */
static void
test_bad_files(void **state)
{
	char err[CONFIG_ERR_MAX], *longline, want[256];
	const char *path;
	struct config *c;

	(void)state;
	longline = malloc(5000);
	assert_non_null(longline);
	memset(longline, 'x', 4999);
	longline[4998] = '\n';
	longline[4999] = '\0';
	path = write_file("long.conf", longline, 4999);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:1: line longer than 4096 bytes", path);
	assert_string_equal(err, want);
	free(longline);

	path = write_file("nul.conf", "mode observe\nuser a\0b\n", 22);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: NUL byte in the file", path);
	assert_string_equal(err, want);

	snprintf(want, sizeof(want), "%s/missing.conf", dir);
	assert_null(config_load(want, err, sizeof(err)));
	assert_non_null(strstr(err, "missing.conf: No such file or directory"));

	/* the class map: unknown class, duplicate login, missing file */
	write_file("map1", "a@x bluk\n", strlen("a@x bluk\n"));
	path = write_file("m1.conf", "class_map map1\n", 15);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/map1:1: unknown class \"bluk\"", dir);
	assert_string_equal(err, want);

	write_file("map2", "a@x default\n\nA@X default\n",
	    strlen("a@x default\n\nA@X default\n"));
	path = write_file("m2.conf", "class_map map2\n", 15);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/map2:3: \"a@x\" listed twice", dir);
	assert_string_equal(err, want);

	write_file("map3", "a@x default extra\n",
	    strlen("a@x default extra\n"));
	path = write_file("m3.conf", "class_map map3\n", 15);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/map3:1: expected \"LOGIN CLASS\"",
	    dir);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);

	path = write_file("m4.conf", "class_map nomap\n", 16);
	assert_null(config_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "nomap: No such file or directory"));

	/* all good again: nothing leaks from failed loads (ASan checks) */
	c = parse("mode observe\n");
	config_free(c);
	config_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_class_map),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
