/* A bump allocator: many small allocations freed at once. */
#ifndef TESTBUS_ARENA_H
#define TESTBUS_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "testbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_arena tb_arena;

/* Creates an empty arena in *arenap. Returns TB_OK or TB_RESOURCE_EXHAUSTED. */
TB_EXPORT int tb_arena_alloc(tb_arena **arenap);

/* Frees the arena and everything allocated from it. a may be NULL. */
TB_EXPORT void tb_arena_free(tb_arena *a);

/* Zeroed memory owned by the arena; NULL when out of memory. */
TB_EXPORT void *tb_arena_zalloc(tb_arena *a, size_t size);

/* A copy of s (NULL gives NULL) owned by the arena. */
TB_EXPORT char *tb_arena_strdup(tb_arena *a, const char *s);

/* A copy of len bytes owned by the arena, plus a terminating NUL. */
TB_EXPORT void *tb_arena_memdup(tb_arena *a, const void *p, size_t len);

/* A formatted string owned by the arena; NULL when out of memory. */
TB_EXPORT char *tb_arena_printf(tb_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A protobuf-c allocator that allocates from a; its free is a no-op. Messages
 * unpacked with it are released with the arena, never with
 * protobuf_c_message_free_unpacked.
 */
TB_EXPORT ProtobufCAllocator tb_arena_allocator(tb_arena *a);

#ifdef __cplusplus
}
#endif

#endif
