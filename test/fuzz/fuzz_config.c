/*
 * fuzz_config.c - libFuzzer target for the configuration parser,
 * lib/config.c, config_parse.c, config_class.c (sluice.conf and the
 * class map).
 *
 * Input: the text of sluice.conf up to the first NUL; after it, the
 * map's bytes (NULs and all), written to ./map in a private directory
 * when the text names a class_map or an identity_map. Inputs whose map
 * could leave that directory (a '/' anywhere) are skipped: the parser
 * would read whatever file it names. Aborts when a property breaks:
 *   - refused: the error is one printable line naming the file,
 *     "fuzz.conf:" or the map's name (file:line, or file: for a
 *     whole-file error such as a missing map);
 *   - accepted: class 0 is "default", every map entry names a class,
 *     config_class_for finds a class for any login;
 *   - the same text parses the same way twice (no hidden state);
 *   - accepted: its dump (config_dump, sluice -n -v) is accepted too and
 *     dumps to the same text (the dump is a valid config that says the
 *     same).
 * Sanitizers catch the rest. Built with -DSLUICE_FUZZ=ON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_dump.h"
#include "fuzz.h"

/* LLVMFuzzerInitialize - work in a private directory for ./map */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{

	(void)argc;
	(void)argv;
	fuzz_workdir("config");
	return 0;
}

/* error_ok - one printable line naming the file (or the map, if any) */
static int
error_ok(const char *err, int map)
{
	const unsigned char *p;

	if (strncmp(err, "fuzz.conf:", 10) != 0 &&
	    (!map || strchr(err, ':') == NULL))
		return 0;
	for (p = (const unsigned char *)err; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* dump - config_dump into a new string, after its first line (which
 * names the file); the caller frees *whole */
static const char *
dump(const struct config *c, char **whole)
{
	size_t len = 0;
	FILE *f;

	*whole = NULL;
	if ((f = open_memstream(whole, &len)) == NULL)
		abort();
	CHECK(config_dump(c, f) == 0);
	fclose(f);
	CHECK(strchr(*whole, '\n') != NULL);
	return strchr(*whole, '\n') + 1;
}

/* dump_round_trip - the dump of c loads, and dumps to the same text */
static void
dump_round_trip(const struct config *c)
{
	char err[CONFIG_ERR_MAX], *one, *two;
	const char *b1;
	struct config *again;

	b1 = dump(c, &one);
	again = config_parse_string(b1, "dump.conf", err, sizeof(err));
	if (again == NULL)
		fprintf(stderr, "dump refused: %s\n%s", err, one);
	CHECK(again != NULL);
	CHECK(strcmp(b1, dump(again, &two)) == 0);
	config_free(again);
	free(one);
	free(two);
}

/* LLVMFuzzerTestOneInput - parse one config (and map) twice */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul != NULL ? (size_t)(nul - data) : size, i;
	char err[CONFIG_ERR_MAX], err2[CONFIG_ERR_MAX];
	struct config *c, *c2;
	char *text;
	FILE *fp;
	int map;

	if ((text = malloc(tlen + 1)) == NULL)
		return 0;
	memcpy(text, data, tlen);
	text[tlen] = '\0';
	/* a map file named by the config: its errors name the map */
	map = strstr(text, "class_map") != NULL ||
	    strstr(text, "identity_map") != NULL;
	if (map) {
		if (strchr(text, '/') != NULL) {
			free(text);
			return 0;
		}
		if ((fp = fopen("map", "wb")) == NULL)
			abort();
		if (nul != NULL)
			fwrite(nul + 1, 1, size - tlen - 1, fp);
		fclose(fp);
	}
	err[0] = '\0';
	c = config_parse_string(text, "fuzz.conf", err, sizeof(err));
	c2 = config_parse_string(text, "fuzz.conf", err2, sizeof(err2));
	CHECK((c == NULL) == (c2 == NULL));
	if (c == NULL) {
		CHECK(error_ok(err, map));
		CHECK(strcmp(err, err2) == 0);
	} else {
		CHECK(c->nclasses >= 1 && c->nclasses <= CONFIG_MAX_CLASSES);
		CHECK(strcmp(c->classes[0].name, "default") == 0);
		CHECK(c->nmap == c2->nmap && c->nclasses == c2->nclasses);
		for (i = 0; i < c->nmap; i++) {
			CHECK(c->map[i].cls < c->nclasses);
			CHECK(config_class_for(c, c->map[i].key) ==
			    &c->classes[c->map[i].cls]);
		}
		CHECK(config_class_for(c, text) != NULL);
		CHECK(config_class_for(c, "") != NULL);
		CHECK(c->socket != NULL && c->redis_prefix != NULL);
		dump_round_trip(c);
	}
	config_free(c);
	config_free(c2);
	free(text);
	return 0;
}
