/* The run journal: what a run created, on disk before and after every step. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

#define JOURNAL_LINE_MAX (1u << 20)

static const char b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of len bytes. Caller frees the result. */
static char *journal_b64(const uint8_t *in, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);
	size_t o = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64_chars[(v >> 18) & 63];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64_chars[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* Decodes base64 text in place-independent storage. Caller frees *outp. */
static int journal_unb64(const char *in, uint8_t **outp, size_t *lenp)
{
	size_t n = strlen(in);
	uint8_t *out = malloc(n / 4 * 3 + 3);
	size_t o = 0;
	uint32_t v = 0;
	int bits = 0;
	if (out == NULL)
		return -1;
	for (size_t i = 0; i < n && in[i] != '='; i++) {
		const char *p = strchr(b64_chars, in[i]);
		if (p == NULL || in[i] == '\0') {
			free(out);
			return -1;
		}
		v = (v << 6) | (uint32_t)(p - b64_chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	*outp = out;
	*lenp = o;
	return 0;
}

int journal_open(struct journal *j, const char *path, tb_status *st)
{
	j->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
	if (j->fd < 0)
		return tb_status_set(st, TB_UNAVAILABLE, "cannot create the journal %s: %s", path,
		                     strerror(errno));
	return TB_OK;
}

int journal_reopen(struct journal *j, const char *path, tb_status *st)
{
	j->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (j->fd < 0)
		return tb_status_set(st, TB_UNAVAILABLE, "cannot open the journal %s: %s", path,
		                     strerror(errno));
	return TB_OK;
}

int journal_write(struct journal *j, const char *fmt, ...)
{
	char *text = NULL, *line = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return TB_RESOURCE_EXHAUSTED;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = asprintf(&line, "%lld %s\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, text);
	free(text);
	if (n < 0)
		return TB_RESOURCE_EXHAUSTED;
	int rv = TB_OK;
	/* One write per line with O_APPEND, then fsync: the line is on disk
	 * before the step it announces starts. */
	if (write(j->fd, line, (size_t)n) != n || fsync(j->fd) != 0)
		rv = TB_DATA_LOSS;
	free(line);
	return rv;
}

int journal_cluster(struct journal *j, const Testbus__V1__ClusterInfo *cluster, bool created)
{
	Testbus__V1__ClusterInfo copy = *cluster;
	copy.kubeconfig.data = NULL; /* a secret: never in the journal */
	copy.kubeconfig.len = 0;
	size_t len = testbus__v1__cluster_info__get_packed_size(&copy);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__cluster_info__pack(&copy, buf);
	char *b64 = journal_b64(buf, len);
	free(buf);
	if (b64 == NULL)
		return TB_RESOURCE_EXHAUSTED;
	int rv = journal_write(j, "provisioned %s %s", created ? "created" : "reused", b64);
	free(b64);
	return rv;
}

void journal_close(struct journal *j)
{
	if (j->fd > 0)
		close(j->fd);
	j->fd = -1;
}

static void journal_take(struct journal_state *s, const char *event, char *args)
{
	char *save = NULL;
	if (strcmp(event, "run") == 0) {
		char *id = strtok_r(args, " ", &save);
		char *pid = strtok_r(NULL, " ", &save);
		char *source = strtok_r(NULL, "\n", &save);
		free(s->run_id);
		free(s->config_source);
		s->run_id = id ? strdup(id) : NULL;
		s->pid = pid ? strtol(pid, NULL, 10) : 0;
		s->config_source = source ? strdup(source) : NULL;
	} else if (strcmp(event, "sockets") == 0) {
		free(s->sock_dir);
		s->sock_dir = strdup(args);
	} else if (strcmp(event, "provisioning") == 0) {
		free(s->provisioner);
		s->provisioner = strdup(args);
	} else if (strcmp(event, "provisioned") == 0) {
		char *how = strtok_r(args, " ", &save);
		char *b64 = strtok_r(NULL, " ", &save);
		uint8_t *buf = NULL;
		size_t len = 0;
		if (how == NULL || b64 == NULL || journal_unb64(b64, &buf, &len) != 0)
			return;
		Testbus__V1__ClusterInfo *c = testbus__v1__cluster_info__unpack(NULL, len, buf);
		free(buf);
		if (c == NULL)
			return;
		if (s->cluster != NULL)
			testbus__v1__cluster_info__free_unpacked(s->cluster, NULL);
		s->cluster = c;
		s->created = strcmp(how, "created") == 0;
		s->destroyed = s->kept = false;
	} else if (strcmp(event, "destroyed") == 0) {
		s->destroyed = true;
	} else if (strcmp(event, "kept") == 0) {
		s->kept = true;
	} else if (strcmp(event, "finished") == 0) {
		s->finished = true;
		s->exit_status = atoi(args);
	}
}

int journal_read(const char *path, struct journal_state *s, tb_status *st)
{
	memset(s, 0, sizeof(*s));
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return tb_status_set(st, TB_NOT_FOUND, "%s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if ((size_t)n > JOURNAL_LINE_MAX)
			continue;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		else
			break; /* a torn last line: the broker died while writing it */
		char *save = NULL;
		char *stamp = strtok_r(line, " ", &save);
		char *event = strtok_r(NULL, " ", &save);
		char *args = strtok_r(NULL, "", &save);
		if (stamp != NULL && event != NULL)
			journal_take(s, event, args ? args : (char *)"");
	}
	free(line);
	fclose(f);
	return TB_OK;
}

void journal_state_fini(struct journal_state *s)
{
	free(s->run_id);
	free(s->config_source);
	free(s->provisioner);
	free(s->sock_dir);
	if (s->cluster != NULL)
		testbus__v1__cluster_info__free_unpacked(s->cluster, NULL);
	memset(s, 0, sizeof(*s));
}
