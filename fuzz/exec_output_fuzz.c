/*
 * Fuzz target: the exec provisioner's reading of what its provision command
 * printed (exec_read_cluster: a JSON ClusterInfo, or a kubeconfig or its
 * path) and of what its kubeconfig command printed (exec_read_kubeconfig).
 * Both need a call, so they run inside a Provision handler of an in-process
 * server. A printed path is read (up to the provisioner's size limit), so
 * inputs may read files of this host; nothing is written or run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec_run.h"
#include "fuzz_bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The command's stdout for the running call: set around each fed request. */
static const char *exec_stdout;

static int exec_fuzz_provision(tb_call *call, const ProtobufCMessage *input,
                               ProtobufCMessage **outputp, void *arg)
{
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__ClusterInfo *ci = tb_arena_zalloc(a, sizeof(*ci));
	ProtobufCBinaryData kubeconfig = {0};
	if (ci == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__cluster_info__init(ci);
	/* The kubeconfig command first: the provision command's error is the answer's. */
	int krv = exec_read_kubeconfig(call, exec_stdout, &kubeconfig);
	fuzz_require(krv != TB_OK || kubeconfig.data != NULL, "a read kubeconfig has its text");
	int rv = exec_read_cluster(call, exec_stdout, "the command's stderr", ci);
	if (rv != TB_OK)
		return rv;
	*outputp = &ci->base;
	return TB_OK;
}

static const tb_method exec_fuzz_methods[] = {
	{"Provision", exec_fuzz_provision},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tb_server *srv;
	static const uint8_t empty_request[1];
	if (srv == NULL)
		srv = fuzz_server_alloc("exec", TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER,
		                        &testbus__v1__provisioner__descriptor, exec_fuzz_methods, 1,
		                        NULL, NULL);
	char *text = malloc(size + 1);
	uint8_t *request = NULL;
	size_t len = 0;
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* what the provisioner keeps of a stream is NUL-terminated */
	exec_stdout = text;
	if (fuzz_request_pack("testbus.v1.Provisioner", "Provision", 0, 0, empty_request, 0,
	                      &request, &len) == TB_OK)
		(void)fuzz_server_send(srv, request, len);
	exec_stdout = NULL;
	free(request);
	free(text);
	return 0;
}
