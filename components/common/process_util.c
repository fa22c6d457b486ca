/* Support for the process runner: PATH search, environments, /proc group scans, UTF-8 repair. */
#include "process_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define PROCESS_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

int tbc_process_errno(tb_status *st, int e, const char *what, const char *subject)
{
	int code;

	switch (e) {
	case ENOENT:
	case ENOTDIR:
		code = TB_NOT_FOUND;
		break;
	case EACCES:
	case EPERM:
		code = TB_PERMISSION_DENIED;
		break;
	case ENOEXEC:
	case E2BIG:
		code = TB_INVALID_ARGUMENT;
		break;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case EAGAIN:
		code = TB_RESOURCE_EXHAUSTED;
		break;
	default:
		code = TB_INTERNAL;
	}
	return tb_status_set(st, code, "%s%s%s: %s", what, subject ? " " : "", subject ? subject : "",
	                     strerror(e));
}

/* The value of PATH in env (NULL: the caller's environment). */
static const char *process_env_path(const char *const *env)
{
	if (env == NULL)
		return getenv("PATH");
	for (; *env != NULL; env++)
		if (strncmp(*env, "PATH=", 5) == 0)
			return *env + 5;
	return NULL;
}

static bool process_is_exec(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

int tbc_process_resolve(const char *argv0, const char *const *env, char **pathp, tb_status *st)
{
	const char *dirs = process_env_path(env), *p;
	char *found = NULL;
	int rv = TB_OK;

	if (strchr(argv0, '/') != NULL) {
		if ((found = strdup(argv0)) == NULL)
			rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (p = dirs ? dirs : PROCESS_DEFAULT_PATH; found == NULL && *p != '\0';) {
		size_t n = strcspn(p, ":");
		char *cand = NULL;
		if (n > 0 && asprintf(&cand, "%.*s/%s", (int)n, p, argv0) < 0) {
			rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
			goto out;
		}
		if (cand != NULL && process_is_exec(cand))
			found = cand;
		else
			free(cand);
		p += n + (p[n] == ':');
	}
	if (found == NULL)
		rv = tb_status_set(st, TB_NOT_FOUND, "cannot run %s: not found in PATH", argv0);
out:
	*pathp = rv == TB_OK ? found : NULL;
	return rv;
}

int tbc_process_check_cwd(const char *cwd, tb_status *st)
{
	struct stat sb;

	if (cwd == NULL)
		return TB_OK;
	if (stat(cwd, &sb) != 0)
		return tbc_process_errno(st, errno, "working folder", cwd);
	if (!S_ISDIR(sb.st_mode))
		return tb_status_set(st, TB_NOT_FOUND, "working folder %s: not a folder", cwd);
	return TB_OK;
}

/* Reads the state and process group of /proc/<pid>/stat; false when gone. */
static bool process_stat(const char *pid, char *state, long *pgrp)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL)
		return false;
	return sscanf(p + 1, " %c %*d %ld", state, pgrp) == 2;
}

int tb_process_group_count(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char state;
		long pgrp;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (process_stat(de->d_name, &state, &pgrp) && pgrp == (long)pgid && state != 'Z' &&
		    state != 'X' && state != 'x')
			count++;
	}
	closedir(d);
	return count;
}

/* The length of the name part of "NAME=value" (or of a bare "NAME"). */
static size_t process_env_name_len(const char *s)
{
	return strcspn(s, "=");
}

/* True when var is named by one of the n entries of set. */
static bool process_env_overridden(const char *var, const char *const *set, size_t n)
{
	size_t len = process_env_name_len(var);

	for (size_t i = 0; i < n; i++)
		if (process_env_name_len(set[i]) == len && strncmp(var, set[i], len) == 0)
			return true;
	return false;
}

int tb_process_env_build(const char *const *env, const char *const *set, size_t n_set,
                         char ***envp)
{
	const char *const *base = env != NULL ? env : (const char *const *)environ;
	size_t n_base = 0, k = 0;
	char **out = NULL;
	int rv = TB_RESOURCE_EXHAUSTED;

	while (base[n_base] != NULL)
		n_base++;
	if ((out = calloc(n_base + n_set + 1, sizeof(*out))) == NULL)
		goto out;
	for (size_t i = 0; i < n_base; i++) {
		if (process_env_overridden(base[i], set, n_set))
			continue;
		if ((out[k++] = strdup(base[i])) == NULL)
			goto out;
	}
	for (size_t i = 0; i < n_set; i++) {
		bool later = process_env_overridden(set[i], set + i + 1, n_set - i - 1);
		if (strchr(set[i], '=') == NULL || later)
			continue; /* a removal, or replaced by a later entry */
		if ((out[k++] = strdup(set[i])) == NULL)
			goto out;
	}
	rv = TB_OK;
out:
	if (rv != TB_OK) {
		tb_process_env_free(out);
		out = NULL;
	}
	*envp = out;
	return rv;
}

void tb_process_env_free(char **env)
{
	if (env == NULL)
		return;
	for (char **p = env; *p != NULL; p++)
		free(*p);
	free(env);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t process_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] >= 0x01 && s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

size_t tb_utf8_repair(char *s, size_t len)
{
	size_t fixed = 0;

	for (size_t i = 0; i < len;) {
		size_t n = process_utf8_seq((const unsigned char *)s + i, len - i);
		if (n == 0) {
			s[i++] = '?';
			fixed++;
		} else {
			i += n;
		}
	}
	return fixed;
}
