/* Tests of valid configs: the documented example, the built-in default, defaults and paths. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "testbus/status.h"
#include "testbus/value.h"

#define FULL_EXAMPLE SOURCE_DIR "/examples/config/full.yaml"

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

static const char *label(const struct config_labels *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->items[i].key, key) == 0)
			return l->items[i].value;
	}
	return NULL;
}

static const struct config_component *find(const struct broker_config *cfg, const char *name)
{
	const struct config_component *c = config_component_find(cfg, name);
	if (c == NULL)
		fail_msg("no component '%s'", name);
	return c;
}

static void load_full(struct broker_config **cfgp)
{
	struct config_options opts = {.bin_dir = bin.dir};
	struct config_errors errs = {0};
	unsetenv("TESTBUS_REGISTER_TOKEN");
	unsetenv("REUSE_CLUSTER_ID");
	unsetenv("OCM_TOKEN");
	setenv("LAB_TOKEN", "lab-secret", 1);
	setenv("USER", "nightly", 1);
	int rv = config_load_file(FULL_EXAMPLE, &opts, cfgp, &errs);
	if (rv != TB_OK)
		fail_msg("%d: %s", rv, errs.n ? errs.lines[0] : "");
	config_errors_fini(&errs);
}

static void test_full_example_top(void **state)
{
	struct broker_config *cfg = NULL;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	assert_non_null(realpath(SOURCE_DIR "/examples/config", dir));
	load_full(&cfg);
	assert_string_equal(cfg->source, FULL_EXAMPLE);
	assert_string_equal(cfg->base_dir, dir);
	assert_int_equal(cfg->version, 1);
	assert_string_equal(cfg->artifacts_dir, "./testbus-artifacts");
	assert_string_equal(cfg->listen.address, "tls+tcp://0.0.0.0:7400");
	snprintf(path, sizeof(path), "%s/certs/ca.pem", dir);
	assert_string_equal(cfg->listen.tls.ca_file, path);
	assert_null(cfg->listen.token); /* ${TESTBUS_REGISTER_TOKEN:-} is empty */
	const struct config_timeouts *t = &cfg->timeouts;
	assert_int_equal(t->start_ms, 15000);
	assert_int_equal(t->provision_ms, 45 * 60000);
	assert_int_equal(t->health_ms, 10 * 60000);
	assert_int_equal(t->destroy_ms, 30 * 60000);
	assert_int_equal(t->execute_ms, 90 * 60000);
	assert_int_equal(t->analyze_ms, 5 * 60000);
	assert_int_equal(t->report_ms, 2 * 60000);
	const struct config_cluster *cl = &cfg->cluster;
	assert_ptr_equal(cl->provisioner.component, find(cfg, "ocm"));
	assert_null(cl->reuse_id);
	assert_string_equal(cl->name, "e2e-nightly");
	assert_int_equal(cl->keep, CONFIG_KEEP_ON_FAILURE);
	assert_false(cl->destroy_reused);
	assert_string_equal(label(&cl->labels, "team"), "storage");
	int64_t n = 0;
	bool b = true;
	assert_string_equal(tb_value_string(tb_value_map_get(cl->properties, "version")), "4.15");
	assert_int_equal(tb_value_int(tb_value_map_get(cl->properties, "compute_nodes"), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(tb_value_bool(tb_value_map_get(cl->properties, "multi_az"), &b), 0);
	assert_false(b);
	config_free(cfg);
}

static void test_full_example_spawned(void **state)
{
	struct broker_config *cfg = NULL;
	char path[PATH_MAX];
	load_full(&cfg);
	assert_int_equal(cfg->n_components, 9);
	const struct config_component *ocm = find(cfg, "ocm");
	assert_int_equal(ocm->kind, TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER);
	assert_int_equal(ocm->reach, CONFIG_SPAWN_PROGRAM);
	assert_true(ocm->optional);
	/* quoted, so a string even when empty */
	assert_string_equal(tb_value_string(tb_value_map_get(ocm->config, "token")), "");
	assert_string_equal(tb_value_string(tb_value_map_get(ocm->config, "region")), "us-east-1");

	const struct config_component *smoke = find(cfg, "smoke");
	assert_int_equal(smoke->reach, CONFIG_SPAWN_PROGRAM);
	assert_string_equal(smoke->program, "shell");
	assert_string_equal(smoke->executable, "testbus-executor-shell");
	snprintf(path, sizeof(path), "%s/testbus-executor-shell", bin.dir);
	assert_string_equal(smoke->path, path);
	assert_int_equal(smoke->argc, 1);
	assert_string_equal(smoke->argv[0], path);
	assert_null(smoke->argv[1]);
	assert_string_equal(smoke->workdir, cfg->base_dir);
	assert_string_equal(label(&smoke->env, "LOG_LEVEL"), "debug");
	assert_string_equal(label(&smoke->labels, "speed"), "fast");
	const Testbus__V1__ValueList *cmd =
	    tb_value_list(tb_value_map_get(smoke->config, "command"));
	assert_int_equal(cmd->n_values, 3);
	assert_string_equal(tb_value_string(cmd->values[2]), "{suite}");

	const struct config_component *custom = find(cfg, "custom");
	assert_int_equal(custom->reach, CONFIG_SPAWN_COMMAND);
	assert_null(custom->program);
	assert_int_equal(custom->argc, 3);
	assert_string_equal(custom->argv[0], "python3");
	assert_string_equal(custom->argv[2], "--verbose");
	assert_null(custom->argv[3]);
	snprintf(path, sizeof(path), "%s/tools", cfg->base_dir);
	assert_string_equal(custom->workdir, path);
	assert_int_equal(custom->config->n_fields, 0);
	config_free(cfg);
}

static void test_full_example_remote(void **state)
{
	struct broker_config *cfg = NULL;
	load_full(&cfg);
	const struct config_component *lab = find(cfg, "lab");
	assert_int_equal(lab->reach, CONFIG_ATTACH);
	assert_string_equal(lab->address, "tls+tcp://lab-runner.example.com:7401");
	assert_string_equal(lab->tls.server_name, "lab-runner");
	assert_non_null(strstr(lab->tls.key_file, "/examples/config/certs/client-key.pem"));
	assert_string_equal(lab->token, "lab-secret");
	assert_null(lab->path);

	const struct config_component *fleet = find(cfg, "eu-fleet");
	assert_int_equal(fleet->reach, CONFIG_REGISTER);
	assert_string_equal(fleet->match_name, "testbus-executor-ginkgo");
	assert_string_equal(label(&fleet->match_labels, "region"), "eu");
	assert_int_equal(fleet->min_count, 2);
	assert_int_equal(fleet->wait_ms, 180000);

	const struct config_component *rules = find(cfg, "rules");
	assert_int_equal(rules->kind, TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER);
	assert_int_equal(rules->when, CONFIG_WHEN_ON_FAILURE);
	static const char *const reporters[] = {"console", "junit", "html"};
	for (size_t i = 0; i < 3; i++) {
		const struct config_component *r = &cfg->components[6 + i];
		assert_string_equal(r->name, reporters[i]);
		assert_int_equal(r->kind, TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER);
	}
	config_free(cfg);
}

static void test_full_example_phases(void **state)
{
	struct broker_config *cfg = NULL;
	load_full(&cfg);
	assert_int_equal(cfg->n_phases, 2);
	const struct config_phase *smoke = &cfg->phases[0];
	assert_string_equal(smoke->name, "smoke");
	assert_int_equal(smoke->n_targets, 1);
	assert_string_equal(smoke->targets[0].name, "basic");
	assert_ptr_equal(smoke->targets[0].executor.ref.component, find(cfg, "smoke"));
	assert_int_equal(smoke->targets[0].timeout_ms, 600000);
	assert_int_equal(smoke->targets[0].shards, 1);
	const struct config_phase *conf = &cfg->phases[1];
	assert_int_equal(conf->n_targets, 2);
	const struct config_target *e2e = &conf->targets[0];
	assert_string_equal(e2e->name, "e2e");
	assert_string_equal(label(&e2e->labels, "type"), "e2e");
	assert_ptr_equal(e2e->executor.ref.component, find(cfg, "eu-fleet"));
	assert_string_equal(label(&e2e->executor.labels, "region"), "eu");
	assert_int_equal(e2e->timeout_ms, 2 * 3600000);
	assert_int_equal(e2e->shards, 12);
	assert_int_equal(e2e->retries, 2);
	const struct config_target *upgrade = &conf->targets[1];
	assert_string_equal(upgrade->name, "target-2");
	assert_null(upgrade->executor.ref.name);
	assert_null(upgrade->executor.ref.component);
	assert_int_equal(upgrade->executor.labels.n, 0);
	assert_int_equal(upgrade->timeout_ms, 0);
	config_free(cfg);
}

/* docs/config.md shows the example and the built-in default verbatim. */
static void test_doc_shows_configs(void **state)
{
	static const char *const shown[] = {FULL_EXAMPLE, SOURCE_DIR "/broker/default_config.yaml"};
	char *doc = fixture_read(SOURCE_DIR "/docs/config.md");
	assert_non_null(doc);
	for (size_t i = 0; i < 2; i++) {
		char *text = fixture_read(shown[i]);
		char *block = NULL;
		assert_non_null(text);
		assert_true(asprintf(&block, "```yaml\n%s```\n", text) > 0);
		if (strstr(doc, block) == NULL)
			fail_msg("docs/config.md does not show %s verbatim", shown[i]);
		free(block);
		free(text);
	}
	free(doc);
}

/* The built-in text is default_config.yaml. */
static void test_default_text(void **state)
{
	char *text = fixture_read(SOURCE_DIR "/broker/default_config.yaml");
	assert_non_null(text);
	assert_string_equal(config_default_text(NULL), text);
	free(text);
}

static void test_default(void **state)
{
	struct config_options opts = {.bin_dir = bin.dir, .home_dir = SOURCE_DIR};
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	char home[PATH_MAX], suite[PATH_MAX + 64];
	assert_non_null(realpath(SOURCE_DIR, home));
	int rv = config_load_default(&opts, &cfg, &errs);
	if (rv != TB_OK)
		fail_msg("%d: %s", rv, errs.n ? errs.lines[0] : "");
	assert_string_equal(cfg->source, CONFIG_DEFAULT_NAME);
	assert_string_equal(cfg->base_dir, home);
	assert_string_equal(cfg->artifacts_dir, CONFIG_DEFAULT_ARTIFACTS);
	assert_string_equal(cfg->cluster.provisioner.component->name, "local");
	assert_int_equal(cfg->cluster.keep, CONFIG_KEEP_NEVER);
	static const char *const names[] = {"local", "shell", "rules", "console",
	                                    "junit", "json",  "html"};
	static const Testbus__V1__ComponentKind kinds[] = {
	    TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER, TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
	    TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER,    TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER,
	    TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER,    TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER,
	    TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER};
	assert_int_equal(cfg->n_components, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_string_equal(cfg->components[i].name, names[i]);
		assert_int_equal(cfg->components[i].kind, kinds[i]);
		assert_int_equal(cfg->components[i].reach, CONFIG_SPAWN_PROGRAM);
		assert_non_null(cfg->components[i].path);
	}
	const Testbus__V1__ValueList *cmd =
	    tb_value_list(tb_value_map_get(cfg->components[1].config, "command"));
	snprintf(suite, sizeof(suite), "%s/examples/suite/run.sh", home);
	assert_string_equal(tb_value_string(cmd->values[1]), suite);
	assert_int_equal(cfg->n_phases, 1);
	assert_int_equal(cfg->phases[0].n_targets, 1);
	assert_ptr_equal(cfg->phases[0].targets[0].executor.ref.component, &cfg->components[1]);
	config_free(cfg);
	config_errors_fini(&errs);
}

/* The default text loads from a file exactly as it does built in. */
static void test_default_as_file(void **state)
{
	size_t len = 0;
	const char *text = config_default_text(&len);
	assert_int_equal(strlen(text), len);
	char path[] = "/tmp/testbus-default-XXXXXX.yaml";
	int fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	setenv("TESTBUS_HOME", SOURCE_DIR, 1);
	struct config_options opts = {.bin_dir = bin.dir};
	struct broker_config *file = NULL, *builtin = NULL;
	struct config_errors errs = {0};
	assert_int_equal(config_load_file(path, &opts, &file, &errs), TB_OK);
	assert_int_equal(config_load_default(&opts, &builtin, &errs), TB_OK);
	unsetenv("TESTBUS_HOME");
	unlink(path);
	assert_int_equal(file->n_components, builtin->n_components);
	for (size_t i = 0; i < file->n_components; i++) {
		assert_string_equal(file->components[i].name, builtin->components[i].name);
		assert_string_equal(file->components[i].path, builtin->components[i].path);
		size_t a = protobuf_c_message_get_packed_size(&file->components[i].config->base);
		size_t b = protobuf_c_message_get_packed_size(&builtin->components[i].config->base);
		assert_int_equal(a, b);
	}
	config_free(file);
	config_free(builtin);
}

/* An installed layout: <prefix>/bin/testbus finds <prefix>/share/testbus. */
static void test_home_dir(void **state)
{
	char root[] = "/tmp/testbus-home-XXXXXX";
	char bindir[128], share[128], examples[160], want[PATH_MAX];
	assert_non_null(mkdtemp(root));
	snprintf(bindir, sizeof(bindir), "%s/bin", root);
	snprintf(share, sizeof(share), "%s/share", root);
	snprintf(examples, sizeof(examples), "%s/share/testbus/examples", root);
	assert_int_equal(mkdir(bindir, 0755), 0);
	assert_int_equal(mkdir(share, 0755), 0);
	snprintf(want, sizeof(want), "%s/share/testbus", root);
	assert_int_equal(mkdir(want, 0755), 0);
	assert_int_equal(mkdir(examples, 0755), 0);
	unsetenv("TESTBUS_HOME");
	struct config_options opts = {.bin_dir = bindir};
	char *home = NULL;
	assert_int_equal(config_home_dir(&opts, &home), TB_OK);
	assert_string_equal(home, want);
	free(home);
	setenv("TESTBUS_HOME", root, 1); /* the environment wins over the layout */
	assert_int_equal(config_home_dir(&opts, &home), TB_OK);
	assert_string_equal(home, root);
	free(home);
	opts.home_dir = want; /* and the caller over both */
	assert_int_equal(config_home_dir(&opts, &home), TB_OK);
	assert_string_equal(home, want);
	free(home);
	unsetenv("TESTBUS_HOME");
	rmdir(examples);
	rmdir(want);
	rmdir(share);
	rmdir(bindir);
	rmdir(root);
}

static void test_minimal_defaults(void **state)
{
	const char *text = "components:\n"
	                   "  - provisioner: local\n"
	                   "  - executor: shell\n"
	                   "phases:\n"
	                   "  - name: only\n"
	                   "    targets: [{}]\n";
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	assert_int_equal(fixture_load("min.yaml", text, bin.dir, &cfg, &errs), TB_OK);
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg->artifacts_dir, "testbus-artifacts");
	assert_null(cfg->listen.address);
	assert_int_equal(cfg->timeouts.start_ms, 10000);
	assert_int_equal(cfg->timeouts.provision_ms, 30 * 60000);
	assert_int_equal(cfg->timeouts.health_ms, 10 * 60000);
	assert_int_equal(cfg->timeouts.destroy_ms, 30 * 60000);
	assert_int_equal(cfg->timeouts.execute_ms, 60 * 60000);
	assert_int_equal(cfg->cluster.keep, CONFIG_KEEP_NEVER);
	assert_ptr_equal(cfg->cluster.provisioner.component, &cfg->components[0]);
	assert_null(cfg->cluster.provisioner.name);
	assert_non_null(cfg->cluster.properties);
	assert_int_equal(cfg->cluster.properties->n_fields, 0);
	assert_non_null(cfg->components[1].config);
	assert_int_equal(cfg->components[1].when, CONFIG_WHEN_ASK);
	assert_false(cfg->components[1].optional);
	const struct config_target *t = &cfg->phases[0].targets[0];
	assert_string_equal(t->name, "target-1");
	assert_int_equal(t->shards, 1);
	assert_int_equal(t->retries, 0);
	assert_int_equal(t->timeout_ms, 0);
	config_free(cfg);
}

/* A command's relative program resolves against the config file's folder. */
static void test_relative_command(void **state)
{
	char dir[] = "/tmp/testbus-rel-XXXXXX";
	char cfgpath[128], script[128];
	assert_non_null(mkdtemp(dir));
	snprintf(cfgpath, sizeof(cfgpath), "%s/testbus.yaml", dir);
	snprintf(script, sizeof(script), "%s/run.sh", dir);
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n", f);
	fclose(f);
	assert_int_equal(chmod(script, 0755), 0);
	f = fopen(cfgpath, "w");
	assert_non_null(f);
	fputs("components:\n"
	      "  - provisioner: local\n"
	      "  - executor: mine\n"
	      "    command: [./run.sh, fast]\n"
	      "phases: [{name: p, targets: [{}]}]\n",
	      f);
	fclose(f);
	struct config_options opts = {.bin_dir = bin.dir};
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	assert_int_equal(config_load_file(cfgpath, &opts, &cfg, &errs), TB_OK);
	const struct config_component *c = find(cfg, "mine");
	assert_string_equal(c->path, script);
	assert_string_equal(c->argv[0], "./run.sh");
	assert_string_equal(c->workdir, dir);
	config_free(cfg);
	unlink(cfgpath);
	unlink(script);
	rmdir(dir);
}

/* --listen and --artifacts replace the file's values and are checked like them. */
static void test_overrides(void **state)
{
	const char *text = "components:\n"
	                   "  - provisioner: local\n"
	                   "  - executor: shell\n"
	                   "  - executor: fleet\n"
	                   "    registered: {labels: {region: eu}}\n"
	                   "phases: [{name: p, targets: [{executor: fleet}]}]\n";
	struct config_options opts = {.bin_dir = bin.dir,
	                              .listen_address = "ipc:///tmp/testbus-listen.sock",
	                              .artifacts_dir = "/tmp/runs"};
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	assert_int_equal(config_load_string(text, strlen(text), "o.yaml", &opts, &cfg, &errs),
	                 TB_OK);
	assert_string_equal(cfg->listen.address, "ipc:///tmp/testbus-listen.sock");
	assert_string_equal(cfg->artifacts_dir, "/tmp/runs");
	config_free(cfg);

	opts.listen_address = "tcp://0.0.0.0:7400";
	assert_int_equal(config_load_string(text, strlen(text), "o.yaml", &opts, &cfg, &errs),
	                 TB_INVALID_ARGUMENT);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.lines[0],
	                    "o.yaml: --listen: plain tcp:// carries kubeconfigs unencrypted: use "
	                    "tls+tcp://, or set 'insecure: true'");
	config_errors_fini(&errs);

	opts.listen_address = NULL;
	assert_int_equal(config_load_string(text, strlen(text), "o.yaml", &opts, &cfg, &errs),
	                 TB_INVALID_ARGUMENT);
	assert_string_equal(errs.lines[0], "o.yaml:4: registered executor 'fleet' needs a "
	                                   "'listen' address to register with");
	config_errors_fini(&errs);
}

static void test_should_destroy(void **state)
{
	struct config_cluster cl = {0};
	cl.keep = CONFIG_KEEP_NEVER;
	assert_true(config_should_destroy(&cl, true, true));
	assert_true(config_should_destroy(&cl, true, false));
	assert_false(config_should_destroy(&cl, false, false)); /* reused: left alone */
	cl.keep = CONFIG_KEEP_ON_FAILURE;
	assert_true(config_should_destroy(&cl, true, true));
	assert_false(config_should_destroy(&cl, true, false));
	cl.keep = CONFIG_KEEP_ALWAYS;
	assert_false(config_should_destroy(&cl, true, true));
	cl.destroy_reused = true;
	assert_true(config_should_destroy(&cl, false, true));
	assert_string_equal(config_keep_name(CONFIG_KEEP_ON_FAILURE), "on-failure");
	assert_string_equal(config_kind_name(TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER),
	                    "analyzer");
	config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_example_top),
	    cmocka_unit_test(test_full_example_spawned),
	    cmocka_unit_test(test_full_example_remote),
	    cmocka_unit_test(test_full_example_phases),
	    cmocka_unit_test(test_doc_shows_configs),
	    cmocka_unit_test(test_default_text),
	    cmocka_unit_test(test_default),
	    cmocka_unit_test(test_default_as_file),
	    cmocka_unit_test(test_home_dir),
	    cmocka_unit_test(test_minimal_defaults),
	    cmocka_unit_test(test_relative_command),
	    cmocka_unit_test(test_overrides),
	    cmocka_unit_test(test_should_destroy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
