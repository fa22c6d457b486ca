/* Helpers shared by the config tests: a folder of stand-in programs and loading text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

const char *const fixture_programs[] = {
    "testbus-provisioner-local", "testbus-provisioner-ocm", "testbus-executor-shell",
    "testbus-analyzer-rules",    "testbus-reporter-console", "testbus-reporter-junit",
    "testbus-reporter-json",     "testbus-reporter-html",    NULL,
};

void fixture_bin_init(struct fixture_bin *bin, const char *const *names)
{
	snprintf(bin->dir, sizeof(bin->dir), "/tmp/testbus-config-XXXXXX");
	assert_non_null(mkdtemp(bin->dir));
	for (size_t i = 0; names[i] != NULL; i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", bin->dir, names[i]);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("#!/bin/sh\nexit 0\n", f);
		fclose(f);
		assert_int_equal(chmod(path, 0755), 0);
	}
}

void fixture_bin_fini(struct fixture_bin *bin, const char *const *names)
{
	for (size_t i = 0; names[i] != NULL; i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", bin->dir, names[i]);
		unlink(path);
	}
	rmdir(bin->dir);
}

int fixture_load(const char *name, const char *text, const char *bin_dir,
                 struct broker_config **cfgp, struct config_errors *errs)
{
	struct config_options opts = {.bin_dir = bin_dir};
	return config_load_string(text, strlen(text), name, &opts, cfgp, errs);
}

char *fixture_join(const struct config_errors *errs)
{
	size_t len = 1;
	for (size_t i = 0; i < errs->n; i++)
		len += strlen(errs->lines[i]) + 1;
	char *s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < errs->n; i++) {
		if (i > 0)
			strcat(s, "\n");
		strcat(s, errs->lines[i]);
	}
	return s;
}

char *fixture_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = (len + 4096 + 1) * 2;
			char *p = realloc(buf, cap);
			if (p == NULL)
				break;
			buf = p;
		}
		size_t n = fread(buf + len, 1, 4096, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}
