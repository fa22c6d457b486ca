/* The SHA-256 digest of a file, streamed through mbedtls (already there for NNG's TLS). */
#include "file_sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#define SHA256_CHUNK 65536
#define SHA256_LEN 32

/* mbedtls 3 dropped the _ret suffix its 2.x series needs for checked results. */
#if MBEDTLS_VERSION_MAJOR >= 3
#define sha256_starts mbedtls_sha256_starts
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#else
#define sha256_starts mbedtls_sha256_starts_ret
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#endif

static int sha256_errno(tb_status *st, int e, const char *path)
{
	int code = e == ENOENT || e == ENOTDIR ? TB_NOT_FOUND
	           : e == EACCES || e == EPERM ? TB_PERMISSION_DENIED
	                                       : TB_INTERNAL;

	return tb_status_set(st, code, "%s: %s", path, strerror(e));
}

/* Feeds every byte of fd to ctx; counts them in *total. */
static int sha256_feed(mbedtls_sha256_context *ctx, int fd, const char *path, uint64_t *total,
                       tb_status *st)
{
	unsigned char buf[SHA256_CHUNK];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sha256_errno(st, errno, path);
		if (n == 0)
			return TB_OK;
		if (sha256_update(ctx, buf, (size_t)n) != 0)
			return tb_status_set(st, TB_INTERNAL, "%s: SHA-256 failed", path);
		*total += (uint64_t)n;
	}
}

int tb_file_sha256(const char *path, char hex[TB_SHA256_HEX_SIZE], uint64_t *sizep,
                   tb_status *st)
{
	static const char digits[] = "0123456789abcdef";
	mbedtls_sha256_context ctx;
	unsigned char digest[SHA256_LEN];
	uint64_t total = 0;
	struct stat sb;
	int fd, rv;

	hex[0] = '\0';
	mbedtls_sha256_init(&ctx);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		rv = sha256_errno(st, errno, path);
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "%s: not a regular file", path);
		goto out;
	}
	if (sha256_starts(&ctx, 0) != 0) {
		rv = tb_status_set(st, TB_INTERNAL, "%s: SHA-256 failed", path);
		goto out;
	}
	if ((rv = sha256_feed(&ctx, fd, path, &total, st)) != TB_OK)
		goto out;
	if (sha256_finish(&ctx, digest) != 0) {
		rv = tb_status_set(st, TB_INTERNAL, "%s: SHA-256 failed", path);
		goto out;
	}
	for (size_t i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0x0f];
	}
	hex[2 * SHA256_LEN] = '\0';
out:
	if (fd >= 0)
		close(fd);
	mbedtls_sha256_free(&ctx);
	if (sizep != NULL)
		*sizep = rv == TB_OK ? total : 0;
	return rv;
}
