/* A minimal testbus executor: runs `sh -c "$TARGET_COMMAND"` from its label. */
#include <stdlib.h>
#include <sys/wait.h>

#include <testbus/testbus.h>

static int execute(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outputp,
                   void *arg)
{
	const Testbus__V1__ExecutionTarget *t = (const Testbus__V1__ExecutionTarget *)input;
	const char *cmd = tb_map_get(t->labels, t->n_labels, "command");
	(void)arg;
	if (cmd == NULL)
		return tb_call_error(call, TB_INVALID_ARGUMENT, "the target has no command label");

	tb_arena *a = tb_call_arena(call);
	Testbus__V1__ExecutionResult *r = tb_arena_zalloc(a, sizeof(*r));
	Testbus__V1__ResultSummary *sum = tb_arena_zalloc(a, sizeof(*sum));
	if (r == NULL || sum == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__execution_result__init(r);
	testbus__v1__result_summary__init(sum);

	tb_call_event(call, TESTBUS__V1__EVENT_KIND__EVENT_STARTED, NULL, cmd, 0);
	int status = system(cmd); /* a real executor enforces the timeout and Cancel */
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->success = r->exit_code == 0;
	sum->total = 1;
	sum->passed = r->success;
	sum->failed = !r->success;
	r->summary = sum;
	*outputp = &r->base;
	return TB_OK;
}

static const tb_method methods[] = {{"Execute", execute}};

static const tb_component minimal = {
	.name = "minimal",
	.kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
	.summary = "Runs the command label of each target with sh -c.",
	.service = &testbus__v1__executor__descriptor,
	.methods = methods,
	.n_methods = 1,
};

int main(int argc, char **argv)
{
	return tb_component_main(&minimal, argc, argv);
}
