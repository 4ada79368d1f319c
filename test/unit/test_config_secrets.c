/* test_config_secrets.c - config_load_secrets: the hop key into the config */
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

/* load - a config from text with a hop key file; NULL with err */
static struct config *
load(const char *keyfile)
{
	char text[512], err[CONFIG_ERR_MAX];
	struct config *c;

	snprintf(text, sizeof(text), "hop_key_file %s\n", keyfile);
	c = config_parse_string(text, "t.conf", err, sizeof(err));
	assert_non_null(c);
	return c;
}

static void
test_loaded(void **state)
{
	char path[] = "/tmp/sluice-hopkey-XXXXXX", err[CONFIG_ERR_MAX];
	static const char hex[] = "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\n";
	struct config *c;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, hex, sizeof(hex) - 1), sizeof(hex) - 1);
	close(fd);
	chmod(path, 0600);
	c = load(path);
	assert_int_equal(c->hop_key_loaded, 0);
	assert_int_equal(config_load_secrets(c, err, sizeof(err)), 0);
	assert_int_equal(c->hop_key_loaded, 1);
	assert_int_equal(c->hop_key[1], 0x11);
	config_free(c);
	chmod(path, 0644);	/* world-readable: refused */
	c = load(path);
	assert_int_equal(config_load_secrets(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf: hop_key_file: hop key "));
	config_free(c);
	unlink(path);
}

static void
test_missing(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct config *c = load("/nonexistent/hop.key");

	(void)state;
	assert_int_equal(config_load_secrets(c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf: hop_key_file: hop key "
	    "/nonexistent/hop.key: No such file or directory");
	assert_int_equal(c->hop_key_loaded, 0);
	config_free(c);
}

static void
test_none(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct config *c = config_parse_string("", "t.conf", err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_int_equal(config_load_secrets(c, err, sizeof(err)), 0);
	assert_int_equal(c->hop_key_loaded, 0);
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loaded),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
