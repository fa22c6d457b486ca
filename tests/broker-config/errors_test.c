/* Tests of bad configs: each is rejected with every problem as an exact "file:line: message". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "testbus/status.h"

static struct fixture_bin bin;

static int setup(void **state)
{
	fixture_bin_init(&bin, fixture_programs);
	return 0;
}

static int teardown(void **state)
{
	fixture_bin_fini(&bin, fixture_programs);
	return 0;
}

/* The components and phases most cases start from (lines 1 to 6). */
#define BASE                                                                                  \
	"components:\n"                                                                       \
	"  - provisioner: local\n"                                                            \
	"  - executor: shell\n"                                                               \
	"phases:\n"                                                                           \
	"  - name: p\n"                                                                       \
	"    targets: [{executor: shell}]\n"

struct bad_case {
	const char *what;
	const char *text;
	const char *errors; /* every line, joined with '\n' */
};

static const struct bad_case cases[] = {
    {"unknown top-level key, with a suggestion", BASE "phase: []\nfoo: 1\n",
     "bad.yaml:7: unknown key 'phase' in the config (did you mean 'phases'?)\n"
     "bad.yaml:8: unknown key 'foo' in the config"},
    {"unknown key in a target",
     "components: [{provisioner: local}, {executor: shell}]\n"
     "phases:\n"
     "  - name: p\n"
     "    targets:\n"
     "      - shard: 2\n",
     "bad.yaml:5: unknown key 'shard' in target (did you mean 'shards'?)"},
    {"missing required keys", "cluster: {}\n",
     "bad.yaml:1: the config is missing 'components'\n"
     "bad.yaml:1: the config is missing 'phases'"},
    {"phase without name and targets",
     "components: [{provisioner: local}, {executor: shell}]\n"
     "phases:\n"
     "  - {}\n",
     "bad.yaml:3: phase is missing 'name'\n"
     "bad.yaml:3: phase is missing 'targets'"},
    {"required values left empty",
     "components: [{provisioner: local}, {executor: shell}]\n"
     "phases:\n"
     "  - name: ~\n"
     "    targets: [{}]\n"
     "  - name: ${TB_SURELY_UNSET:-}\n"
     "    targets: ~\n",
     "bad.yaml:3: 'name' must not be empty\n"
     "bad.yaml:5: 'name' must not be empty\n"
     "bad.yaml:6: 'targets' must be a non-empty sequence, not null"},
    {"wrong types",
     "components: {provisioner: local}\n"
     "phases: [{name: p, targets: {executor: shell}}]\n"
     "timeouts: 10m\n"
     "cluster: {labels: [a, b], keep: sometimes, destroy_reused: yes}\n",
     "bad.yaml:1: 'components' must be a sequence, not a mapping\n"
     "bad.yaml:2: 'targets' must be a non-empty sequence, not a mapping\n"
     "bad.yaml:3: 'timeouts' must be a mapping, not a string\n"
     "bad.yaml:4: 'labels' must be a mapping of strings, not a sequence\n"
     "bad.yaml:4: 'keep' must be one of never, on-failure, always, not 'sometimes'\n"
     "bad.yaml:4: 'destroy_reused' must be true or false, not 'yes'"},
    {"a label that is not a string", BASE "cluster:\n  labels:\n    a: {b: c}\n",
     "bad.yaml:9: 'a' must be a string, not a mapping"},
    {"bad durations", BASE "timeouts:\n  start: 10\n  health: 1.5h\n  destroy: 60d\n",
     "bad.yaml:8: 'start' must be a duration such as 30s, 10m or 1h30m, not '10'\n"
     "bad.yaml:9: 'health' must be a duration such as 30s, 10m or 1h30m, not '1.5h'\n"
     "bad.yaml:10: 'destroy' is too long: '60d' (at most 49 days)"},
    {"shards and retries out of bounds",
     "components: [{provisioner: local}, {executor: shell}]\n"
     "phases:\n"
     "  - name: p\n"
     "    targets:\n"
     "      - {name: a, shards: 0, retries: 11}\n"
     "      - {name: b, shards: 1001, retries: -1}\n"
     "      - {name: c, shards: many, retries: 1.5}\n"
     "      - {name: d, shards: 1000, retries: 10}\n",
     "bad.yaml:5: 'shards' must be an integer from 1 to 1000, not '0'\n"
     "bad.yaml:5: 'retries' must be an integer from 0 to 10, not '11'\n"
     "bad.yaml:6: 'shards' must be an integer from 1 to 1000, not '1001'\n"
     "bad.yaml:6: 'retries' must be an integer from 0 to 10, not '-1'\n"
     "bad.yaml:7: 'shards' must be an integer from 1 to 1000, not 'many'\n"
     "bad.yaml:7: 'retries' must be an integer from 0 to 10, not '1.5'"},
    {"version", BASE "version: 2\n", "bad.yaml:7: 'version' must be 1, not '2'"},
    {"references to missing components and wrong kinds",
     "components:\n"
     "  - provisioner: local\n"
     "  - executor: shell\n"
     "  - analyzer: rules\n"
     "cluster: {provisioner: ocm}\n"
     "phases:\n"
     "  - name: p\n"
     "    targets:\n"
     "      - executor: pytest\n"
     "      - executor: rules\n"
     "      - executor: {name: local, labels: {region: eu}}\n",
     "bad.yaml:5: cluster.provisioner 'ocm' is not a component in 'components'\n"
     "bad.yaml:9: executor 'pytest' is not a component in 'components'\n"
     "bad.yaml:10: executor 'rules' is an analyzer, not an executor\n"
     "bad.yaml:11: executor 'local' is a provisioner, not an executor"},
    {"duplicates",
     "components:\n"
     "  - provisioner: local\n"
     "  - executor: shell\n"
     "  - executor: shell\n"
     "    config: {a: 1}\n"
     "    config: {a: 2}\n"
     "phases:\n"
     "  - name: p\n"
     "    targets: [{name: t}, {name: t}]\n"
     "  - name: p\n"
     "    targets: [{}]\n",
     "bad.yaml:4: duplicate component name 'shell' (first at line 3)\n"
     "bad.yaml:6: duplicate key 'config' in component (first at line 5)\n"
     "bad.yaml:9: duplicate target name 't' in phase 'p' (first at line 9)\n"
     "bad.yaml:10: duplicate phase name 'p' (first at line 8)"},
    {"no provisioner and no executor",
     "components:\n"
     "  - reporter: console\n"
     "phases: [{name: p, targets: [{}]}]\n",
     "bad.yaml:2: no provisioner: add a component such as 'provisioner: local'\n"
     "bad.yaml:2: no executor: add a component such as 'executor: shell'"},
    {"two provisioners without a choice",
     "components:\n"
     "  - provisioner: local\n"
     "  - provisioner: ocm\n"
     "  - executor: shell\n"
     "phases: [{name: p, targets: [{}]}]\n",
     "bad.yaml:2: 2 provisioners: name the one to use in 'cluster.provisioner'"},
    {"component kinds",
     "components:\n"
     "  - provisioner: local\n"
     "  - executor: shell\n"
     "  - executor: x\n"
     "    analyzer: y\n"
     "  - config: {}\n"
     "  - executor: 'bad name'\n"
     "  - config: {kept: no}\n"
     "phases: [{name: p, targets: [{}]}]\n",
     "bad.yaml:4: executor 'x': program 'testbus-executor-x' not found in @BIN@ or on PATH\n"
     "bad.yaml:5: a component has one kind, not both 'executor' and 'analyzer'\n"
     "bad.yaml:6: a component needs one of 'provisioner', 'executor', 'analyzer' or "
     "'reporter', with its name\n"
     "bad.yaml:7: 'executor' must be a name of letters, digits, '.', '_' and '-' (at most 64, "
     "starting with a letter or digit), not 'bad name'\n"
     "bad.yaml:8: a component needs one of 'provisioner', 'executor', 'analyzer' or "
     "'reporter', with its name"},
    {"keys that do not fit how a component is reached",
     "components:\n"
     "  - provisioner: local\n"
     "    token: abc\n"
     "    tls: {ca: ca.pem}\n"
     "  - executor: shell\n"
     "    command: [sh, run.sh]\n"
     "    program: shell\n"
     "    when: always\n"
     "  - executor: remote\n"
     "    address: ipc:///tmp/x.sock\n"
     "    env: {A: b}\n"
     "    registered: {}\n"
     "  - reporter: console\n"
     "    env: {1A: b, OK_NAME: c}\n"
     "phases: [{name: p, targets: [{}]}]\n",
     "bad.yaml:3: 'token' is only for attached and registered components\n"
     "bad.yaml:4: 'tls' is only for attached components (with 'address')\n"
     "bad.yaml:7: 'program' is only for components spawned by name (without 'command', "
     "'address' or 'registered')\n"
     "bad.yaml:8: 'when' is only for analyzers\n"
     "bad.yaml:11: 'env' is only for spawned components\n"
     "bad.yaml:12: give only one of 'command', 'address' and 'registered'\n"
     "bad.yaml:14: 'env': '1A' is not a variable name"},
    {"addresses",
     "components:\n"
     "  - provisioner: local\n"
     "  - executor: shell\n"
     "  - executor: a\n"
     "    address: http://host:80\n"
     "  - executor: b\n"
     "    address: tcp://host\n"
     "    insecure: true\n"
     "  - executor: c\n"
     "    address: tcp://host:7400\n"
     "  - executor: d\n"
     "    address: tls+tcp://host:7400\n"
     "    tls: {ca: ca.pem}\n"
     "  - executor: e\n"
     "    address: ipc://\n"
     "    tls: {ca: ca.pem, cert: c.pem, key: k.pem}\n"
     "phases: [{name: p, targets: [{}]}]\n",
     "bad.yaml:5: address 'http://host:80' must start with ipc://, tcp:// or tls+tcp://\n"
     "bad.yaml:7: address 'tcp://host' needs a port (tcp://host:port)\n"
     "bad.yaml:10: plain tcp:// carries kubeconfigs unencrypted: use tls+tcp://, or set "
     "'insecure: true'\n"
     "bad.yaml:12: a tls+tcp:// address needs 'tls' with 'ca', 'cert' and 'key' (mutual "
     "TLS)\n"
     "bad.yaml:15: address 'ipc://' has nothing after ipc://\n"
     "bad.yaml:15: 'tls' is only used with tls+tcp:// addresses"},
    {"registered executors need a listen address, and only executors register",
     "components:\n"
     "  - provisioner: local\n"
     "  - executor: shell\n"
     "  - executor: fleet\n"
     "    registered: {labels: {region: eu}, min: 1001}\n"
     "  - analyzer: remote\n"
     "    registered: {}\n"
     "phases: [{name: p, targets: [{}]}]\n",
     "bad.yaml:4: registered executor 'fleet' needs a 'listen' address to register with\n"
     "bad.yaml:5: 'min' must be an integer from 0 to 1000, not '1001'\n"
     "bad.yaml:6: registered analyzer 'remote' needs a 'listen' address to register with\n"
     "bad.yaml:7: 'registered' is only for executors"},
    {"listen", BASE "listen:\n  tls: {ca: ca.pem}\n  port: 7\n",
     "bad.yaml:8: 'listen' is missing 'address'\n"
     "bad.yaml:9: unknown key 'port' in listen"},
    {"command shapes",
     "components:\n"
     "  - provisioner: local\n"
     "  - executor: shell\n"
     "  - executor: a\n"
     "    command: ./run.sh --fast\n"
     "  - executor: b\n"
     "    command: []\n"
     "  - executor: c\n"
     "    command: [sh, {x: 1}]\n"
     "phases: [{name: p, targets: [{}]}]\n",
     "bad.yaml:5: 'command' must be a non-empty sequence of strings (program and "
     "arguments), not a string\n"
     "bad.yaml:7: 'command' must be a non-empty sequence of strings (program and "
     "arguments), not an empty sequence\n"
     "bad.yaml:9: 'command' must be a sequence of strings, not a mapping"},
    {"programs that cannot be found",
     "components:\n"
     "  - provisioner: local\n"
     "  - executor: shell\n"
     "  - executor: nowhere\n"
     "  - executor: script\n"
     "    command: [./missing.sh]\n"
     "  - executor: maybe\n"
     "    optional: true\n"
     "phases: [{name: p, targets: [{}]}]\n",
     "bad.yaml:4: executor 'nowhere': program 'testbus-executor-nowhere' not found in "
     "@BIN@ or on PATH\n"
     "bad.yaml:5: executor 'script': './missing.sh' is not an executable file in @CWD@"},
    {"YAML syntax", BASE "cluster:\n  name: a: b\n",
     "bad.yaml:8: YAML: mapping values are not allowed in this context"},
    {"empty document", "# nothing\n", "bad.yaml:1: the config is empty"},
    {"root is not a mapping", "- a\n- b\n",
     "bad.yaml:1: the config must be a mapping of keys, not a sequence"},
    {"two documents", BASE "---\nmore: 1\n", "bad.yaml:8: only one YAML document is allowed"},
};

/* Replaces @BIN@ and @CWD@ in the expected text with the folders they stand for. */
static char *expand_expected(const char *s)
{
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	char *out = strdup(s);
	assert_non_null(out);
	const char *marks[][2] = {{"@BIN@", bin.dir}, {"@CWD@", cwd}};
	for (size_t i = 0; i < 2; i++) {
		char *at = strstr(out, marks[i][0]);
		char *next = NULL;
		if (at == NULL)
			continue;
		*at = '\0';
		assert_true(asprintf(&next, "%s%s%s", out, marks[i][1], at + 5) > 0);
		free(out);
		out = next;
	}
	return out;
}

static void test_bad_configs(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct broker_config *cfg = (struct broker_config *)1;
		struct config_errors errs = {0};
		int rv = fixture_load("bad.yaml", cases[i].text, bin.dir, &cfg, &errs);
		char *all = fixture_join(&errs);
		char *want = expand_expected(cases[i].errors);
		if (rv != TB_INVALID_ARGUMENT || strcmp(all, want) != 0)
			fail_msg("%s: rv %d\n--- got:\n%s\n--- want:\n%s", cases[i].what, rv, all, want);
		assert_null(cfg);
		free(want);
		free(all);
		config_errors_fini(&errs);
	}
}

static void test_too_many_problems(void **state)
{
	char text[16384] = BASE "cluster:\n";
	for (int i = 0; i < 120; i++) {
		size_t len = strlen(text);
		snprintf(text + len, sizeof(text) - len, "  bogus%d: 1\n", i);
	}
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	assert_int_equal(fixture_load("many.yaml", text, bin.dir, &cfg, &errs),
	                 TB_INVALID_ARGUMENT);
	assert_int_equal(errs.n, CONFIG_MAX_ERRORS + 1);
	assert_string_equal(errs.lines[0], "many.yaml:8: unknown key 'bogus0' in cluster");
	assert_string_equal(errs.lines[CONFIG_MAX_ERRORS], "many.yaml: ... and 20 more problems");
	config_errors_fini(&errs);
}

static void test_missing_file(void **state)
{
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	assert_int_equal(config_load_file("/nonexistent/testbus.yaml", NULL, &cfg, &errs),
	                 TB_NOT_FOUND);
	assert_null(cfg);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.lines[0],
	                    "/nonexistent/testbus.yaml: cannot open: No such file or directory");
	config_errors_fini(&errs);
	config_errors_fini(&errs); /* safe twice */
}

static void test_alias_bomb(void **state)
{
	char text[4096] = BASE "cluster:\n  properties:\n    a0: &a0 [x, x, x, x, x, x, x, x]\n";
	for (int i = 1; i < 9; i++) {
		size_t len = strlen(text);
		snprintf(text + len, sizeof(text) - len,
		         "    a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
		         i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	}
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	assert_int_equal(fixture_load("bomb.yaml", text, bin.dir, &cfg, &errs),
	                 TB_INVALID_ARGUMENT);
	assert_null(cfg);
	assert_true(errs.n >= 1);
	assert_non_null(strstr(errs.lines[0], "nested too deeply or too large"));
	config_errors_fini(&errs);

	/* an anchor used inside itself makes a cycle */
	const char *cycle = BASE "cluster:\n  properties:\n    loop: &l [1, *l]\n";
	assert_int_equal(fixture_load("cycle.yaml", cycle, bin.dir, &cfg, &errs),
	                 TB_INVALID_ARGUMENT);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.lines[0], "cycle.yaml:9: nested too deeply or too large");
	config_errors_fini(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_too_many_problems),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_alias_bomb),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
