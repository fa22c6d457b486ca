/* The SHA-256 digest of a file, read in chunks (artifacts are described by it). */
#ifndef TESTBUS_COMMON_FILE_SHA256_H
#define TESTBUS_COMMON_FILE_SHA256_H

#include <stdint.h>

#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Room for the digest as lower-case hex and its NUL. */
#define TB_SHA256_HEX_SIZE 65

/*
 * Reads the whole of path in 64 KiB chunks (never holding it in memory) and
 * writes its SHA-256 to hex as 64 lower-case hex digits, and the number of
 * bytes read to *sizep (may be NULL). Blocks for the read: about 4 ms per MiB
 * on a small machine. On error hex is "" and *sizep 0; returns TB_NOT_FOUND,
 * TB_PERMISSION_DENIED, TB_INVALID_ARGUMENT (not a regular file) or
 * TB_INTERNAL, and st (may be NULL) says why.
 */
int tb_file_sha256(const char *path, char hex[TB_SHA256_HEX_SIZE], uint64_t *sizep,
                   tb_status *st);

#ifdef __cplusplus
}
#endif

#endif
