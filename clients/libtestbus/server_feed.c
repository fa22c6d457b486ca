/* Feeding a request to the server's handling path without a socket. */
#include <stdlib.h>
#include <string.h>

#include "server_feed.h"
#include "server_internal.h"

int tbi_server_feed(tb_server *srv, const void *request, size_t len, uint8_t **answerp,
                    size_t *lenp)
{
	nng_msg *msg = NULL;
	uint8_t *copy = NULL;
	size_t n = 0;
	int rv = TB_OK;
	if (nng_msg_alloc(&msg, len) != 0)
		return TB_RESOURCE_EXHAUSTED;
	if (len > 0)
		memcpy(nng_msg_body(msg), request, len);
	nng_msg *answer = tbi_server_handle(srv, msg); /* takes msg */
	if (answer != NULL) {
		n = nng_msg_len(answer);
		/* A copy the caller frees with free(), so it needs no NNG. */
		if ((copy = malloc(n > 0 ? n : 1)) != NULL)
			memcpy(copy, nng_msg_body(answer), n);
		else
			rv = TB_RESOURCE_EXHAUSTED;
		nng_msg_free(answer);
	}
	*answerp = rv == TB_OK ? copy : NULL;
	*lenp = rv == TB_OK ? n : 0;
	return rv;
}
