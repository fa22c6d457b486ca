/* Small helpers shared inside the library: clocks, copies, packing, lookup. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

uint64_t tbi_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t tbi_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *tbi_strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

int tbi_pack_nng(const ProtobufCMessage *msg, size_t limit, nng_msg **nmsgp, tb_status *st)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	if (len > limit)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED,
		                     "message of %zu bytes exceeds the limit of %zu bytes", len,
		                     limit);
	nng_msg *nmsg;
	int rv = nng_msg_alloc(&nmsg, len);
	if (rv != 0)
		return tbi_status_nng(st, rv, "allocate message", NULL);
	protobuf_c_message_pack(msg, nng_msg_body(nmsg));
	*nmsgp = nmsg;
	return TB_OK;
}

int tbi_pack_buf(const ProtobufCMessage *msg, uint8_t **bufp, size_t *lenp)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = NULL;
	if (len > 0) {
		buf = malloc(len);
		if (buf == NULL)
			return TB_RESOURCE_EXHAUSTED;
		protobuf_c_message_pack(msg, buf);
	}
	*bufp = buf;
	*lenp = len;
	return TB_OK;
}

int tbi_method_index(const ProtobufCServiceDescriptor *service, const char *method)
{
	if (service == NULL || method == NULL)
		return -1;
	/* method_indices_by_name is sorted by name: binary search it. */
	unsigned lo = 0, hi = service->n_methods;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		unsigned idx = service->method_indices_by_name[mid];
		if (idx >= service->n_methods)
			return -1;
		int cmp = strcmp(method, service->methods[idx].name);
		if (cmp == 0)
			return (int)idx;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

bool tbi_url_is_tls(const char *url)
{
	return url != NULL && strncmp(url, "tls+", 4) == 0;
}
