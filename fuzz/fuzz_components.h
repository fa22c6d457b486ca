/*
 * In-process servers for the four services whose handlers run the real
 * component code that is safe without processes or network: the rules
 * analyzer and the LLM analyzer's prompt building, the json/junit/console/
 * html reporters' rendering, the kubeconfig and property reading of the
 * provisioners, and the executors' label, filter and placeholder handling.
 */
#ifndef TESTBUS_FUZZ_COMPONENTS_H
#define TESTBUS_FUZZ_COMPONENTS_H

#include "testbus/testbus.h"

/*
 * The server of kind (PROVISIONER, EXECUTOR, ANALYZER or REPORTER), built
 * on first use and kept for the whole process, as a component keeps
 * serving. Aborts when it cannot be built. Borrowed.
 */
tb_server *fuzz_component(Testbus__V1__ComponentKind kind);

/* A method the request target and its seeds address by index. */
struct fuzz_method {
	Testbus__V1__ComponentKind kind; /* the server that serves it */
	const char *service;
	const char *method;
};

/* Every method of the four services, then Configure and Cancel. */
extern const struct fuzz_method fuzz_methods[];
extern const size_t fuzz_n_methods;

#endif
