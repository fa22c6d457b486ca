/*
 * Replays inputs through a fuzz target's LLVMFuzzerTestOneInput without
 * libFuzzer, so any compiler's build re-checks old findings and the seeds:
 *   fuzz-<target>-replay PATH...   (files, or folders read recursively)
 * A crash or a broken promise aborts; otherwise it prints how many inputs ran.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the whole file at path into a new buffer (caller frees); NULL on error. */
static uint8_t *replay_read(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *nbuf = realloc(buf, ncap);
			if (nbuf == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nbuf;
			cap = ncap;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (buf != NULL && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*lenp = len;
	return buf;
}

/* Runs every file under path; returns the number run, or -1 on an error. */
static long replay_path(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(sb.st_mode)) {
		size_t len = 0;
		uint8_t *data = replay_read(path, &len);
		if (data == NULL) {
			fprintf(stderr, "replay: cannot read %s\n", path);
			return -1;
		}
		fprintf(stderr, "replay: %s\n", path); /* names the input should it crash */
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		return 1;
	}
	if (!S_ISDIR(sb.st_mode))
		return 0;
	DIR *dir = opendir(path);
	if (dir == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	long total = 0;
	struct dirent *de;
	while (total >= 0 && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		size_t n = strlen(path) + strlen(de->d_name) + 2;
		char *child = malloc(n);
		if (child == NULL) {
			total = -1;
			break;
		}
		snprintf(child, n, "%s/%s", path, de->d_name);
		long got = replay_path(child);
		free(child);
		total = got < 0 ? -1 : total + got;
	}
	closedir(dir);
	return total;
}

int main(int argc, char **argv)
{
	long total = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH...   (input files, or folders of them)\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		long got = replay_path(argv[i]);
		if (got < 0)
			return 1;
		total += got;
	}
	printf("replayed %ld inputs\n", total);
	return 0;
}
