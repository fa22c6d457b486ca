/* A bump allocator: many small allocations released together. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testbus/arena.h"

#define ARENA_BLOCK 8192u

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	max_align_t data[]; /* keeps every allocation maximally aligned */
};

struct tb_arena {
	struct arena_block *head;
};

int tb_arena_alloc(tb_arena **arenap)
{
	tb_arena *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return TB_RESOURCE_EXHAUSTED;
	*arenap = a;
	return TB_OK;
}

void tb_arena_free(tb_arena *a)
{
	if (a == NULL)
		return;
	struct arena_block *b = a->head;
	while (b != NULL) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	free(a);
}

static size_t arena_round(size_t n)
{
	size_t align = _Alignof(max_align_t);
	return (n + align - 1) / align * align;
}

void *tb_arena_zalloc(tb_arena *a, size_t size)
{
	size = arena_round(size == 0 ? 1 : size);
	struct arena_block *b = a->head;
	if (b == NULL || b->size - b->used < size) {
		size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->size = cap;
		b->used = 0;
		/* A big one-off allocation goes behind the current block so the
		 * current block's free space stays in use. */
		if (a->head != NULL && size > ARENA_BLOCK) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

void *tb_arena_memdup(tb_arena *a, const void *p, size_t len)
{
	char *q = tb_arena_zalloc(a, len + 1);
	if (q != NULL && len > 0)
		memcpy(q, p, len);
	return q;
}

char *tb_arena_strdup(tb_arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return tb_arena_memdup(a, s, strlen(s));
}

char *tb_arena_printf(tb_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = tb_arena_zalloc(a, (size_t)n + 1);
	if (s == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static void *arena_pb_alloc(void *data, size_t size)
{
	return tb_arena_zalloc(data, size);
}

static void arena_pb_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

ProtobufCAllocator tb_arena_allocator(tb_arena *a)
{
	ProtobufCAllocator alloc = {
		.alloc = arena_pb_alloc,
		.free = arena_pb_free,
		.allocator_data = a,
	};
	return alloc;
}
