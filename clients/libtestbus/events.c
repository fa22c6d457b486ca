/* Progress events: pushed by components, pulled by the broker. */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

#include <nng/protocol/pipeline0/pull.h>

struct tb_events {
	nng_socket sock;
	nng_aio *aio;
	_Atomic bool interrupted;
};

void tbi_event_push(nng_socket sock, const Testbus__V1__Event *ev)
{
	size_t len = protobuf_c_message_get_packed_size(&ev->base);
	uint8_t stackbuf[1024];
	uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
	if (buf == NULL)
		return;
	protobuf_c_message_pack(&ev->base, buf);
	/* Best effort: a slow or absent broker never blocks a handler. */
	(void)nng_send(sock, buf, len, NNG_FLAG_NONBLOCK);
	if (buf != stackbuf)
		free(buf);
}

int tb_events_open(const char *url, uint32_t max_message_size, tb_events **evp, tb_status *st)
{
	tb_events *ev = calloc(1, sizeof(*ev));
	int rv = TB_OK;
	if (ev == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	int nrv = nng_pull0_open(&ev->sock);
	if (nrv != 0) {
		free(ev);
		return tbi_status_nng(st, nrv, "cannot open an events socket for", url);
	}
	nng_socket_set_size(ev->sock, NNG_OPT_RECVMAXSZ,
	                    max_message_size ? max_message_size : TB_DEFAULT_MAX_MESSAGE);
	if ((nrv = nng_aio_alloc(&ev->aio, NULL, NULL)) != 0 ||
	    (nrv = nng_listen(ev->sock, url, NULL, 0)) != 0) {
		rv = tbi_status_nng(st, nrv, "cannot listen for events on", url);
		tb_events_close(ev);
		return rv;
	}
	*evp = ev;
	return TB_OK;
}

int tb_events_recv(tb_events *ev, uint32_t timeout_ms, Testbus__V1__Event **eventp)
{
	for (;;) {
		if (atomic_load(&ev->interrupted))
			return TB_CANCELLED;
		nng_aio_set_timeout(ev->aio, (nng_duration)timeout_ms);
		nng_recv_aio(ev->sock, ev->aio);
		nng_aio_wait(ev->aio);
		int rv = nng_aio_result(ev->aio);
		if (rv != 0)
			return rv == NNG_ETIMEDOUT ? TB_DEADLINE_EXCEEDED : TB_CANCELLED;
		nng_msg *msg = nng_aio_get_msg(ev->aio);
		Testbus__V1__Event *e = testbus__v1__event__unpack(NULL, nng_msg_len(msg),
		                                                    nng_msg_body(msg));
		nng_msg_free(msg);
		if (e != NULL) {
			*eventp = e;
			return TB_OK;
		}
	}
}

void tb_events_interrupt(tb_events *ev)
{
	atomic_store(&ev->interrupted, true);
	nng_aio_abort(ev->aio, NNG_ECANCELED);
}

void tb_events_close(tb_events *ev)
{
	if (ev == NULL)
		return;
	nng_close(ev->sock);
	if (ev->aio != NULL)
		nng_aio_free(ev->aio);
	free(ev);
}
