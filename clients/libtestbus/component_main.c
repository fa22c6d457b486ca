/* The main() of a component process: options, serving, signals, shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "internal.h"
#include "register.h"

#define MAIN_MAX_LABELS 32
#define MAIN_STOP_GRACE_MS 10000

struct main_opts {
	const char *listen;
	const char *register_url;
	const char *events;
	const char *config;
	const char *token;
	const char *tls_ca, *tls_cert, *tls_key, *tls_server_name;
	const char *labels;
	uint32_t capacity;
	uint32_t max_message;
	bool insecure;
	bool help;
	bool version;
};

enum opt_type { OPT_STRING, OPT_UINT, OPT_FLAG };

static const struct main_option {
	const char *name;
	enum opt_type type;
	size_t offset;
	const char *help;
} main_options[] = {
	{"--listen", OPT_STRING, offsetof(struct main_opts, listen),
	 "URL to serve on: ipc://PATH, tls+tcp://HOST:PORT, or tcp://HOST:PORT with --insecure"},
	{"--register", OPT_STRING, offsetof(struct main_opts, register_url),
	 "URL of a broker's --listen address to register with and pull work from (executors)"},
	{"--events", OPT_STRING, offsetof(struct main_opts, events),
	 "URL of the broker's event socket, for progress events"},
	{"--capacity", OPT_UINT, offsetof(struct main_opts, capacity),
	 "how many calls of the service run at once"},
	{"--config", OPT_STRING, offsetof(struct main_opts, config),
	 "YAML file with this component's configuration"},
	{"--token", OPT_STRING, offsetof(struct main_opts, token),
	 "identity token every request must carry (default: $TESTBUS_TOKEN)"},
	{"--tls-ca", OPT_STRING, offsetof(struct main_opts, tls_ca),
	 "CA certificate (PEM); requires client certificates signed by it"},
	{"--tls-cert", OPT_STRING, offsetof(struct main_opts, tls_cert),
	 "server certificate (PEM) for tls+tcp://"},
	{"--tls-key", OPT_STRING, offsetof(struct main_opts, tls_key),
	 "private key (PEM) of --tls-cert"},
	{"--tls-server-name", OPT_STRING, offsetof(struct main_opts, tls_server_name),
	 "with --register: the name the broker's certificate must carry (default: the URL's host)"},
	{"--labels", OPT_STRING, offsetof(struct main_opts, labels),
	 "labels reported by Describe, as key=value,key=value"},
	{"--max-message-size", OPT_UINT, offsetof(struct main_opts, max_message),
	 "largest message in bytes (default 4 MiB)"},
	{"--insecure", OPT_FLAG, offsetof(struct main_opts, insecure),
	 "allow plaintext tcp:// (no TLS, no peer authentication)"},
	{"--version", OPT_FLAG, offsetof(struct main_opts, version), "print the version and exit"},
	{"--help", OPT_FLAG, offsetof(struct main_opts, help), "print this help and exit"},
};

#define MAIN_N_OPTIONS (sizeof(main_options) / sizeof(main_options[0]))

static void main_usage(const tb_component *comp, const char *prog, FILE *out)
{
	fprintf(out, "usage: %s --listen URL | --register URL [options]\n", prog);
	if (comp->summary != NULL)
		fprintf(out, "\n%s\n", comp->summary);
	fprintf(out, "\noptions:\n");
	for (size_t i = 0; i < MAIN_N_OPTIONS; i++)
		fprintf(out, "  %-20s %s\n", main_options[i].name, main_options[i].help);
	if (comp->config_help != NULL)
		fprintf(out, "\nconfiguration keys (--config or the broker's config):\n%s\n",
		        comp->config_help);
}

static int main_parse(int argc, char **argv, struct main_opts *o, const char *prog)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *inline_value = NULL;
		size_t len = strcspn(arg, "=");
		if (arg[len] == '=')
			inline_value = arg + len + 1;
		const struct main_option *opt = NULL;
		for (size_t j = 0; j < MAIN_N_OPTIONS; j++) {
			if (strlen(main_options[j].name) == len &&
			    strncmp(main_options[j].name, arg, len) == 0)
				opt = &main_options[j];
		}
		if (opt == NULL) {
			fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, arg);
			return -1;
		}
		void *field = (char *)o + opt->offset;
		if (opt->type == OPT_FLAG) {
			*(bool *)field = true;
			continue;
		}
		const char *value = inline_value;
		if (value == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: %s needs a value\n", prog, opt->name);
				return -1;
			}
			value = argv[++i];
		}
		if (opt->type == OPT_STRING) {
			*(const char **)field = value;
			continue;
		}
		char *end;
		errno = 0;
		unsigned long n = strtoul(value, &end, 10);
		if (errno != 0 || *end != '\0' || n == 0 || n > UINT32_MAX) {
			fprintf(stderr, "%s: %s needs a positive number, not '%s'\n", prog, opt->name,
			        value);
			return -1;
		}
		*(uint32_t *)field = (uint32_t)n;
	}
	return 0;
}

/* Splits "k=v,k=v" in place into labels. */
static int main_split_labels(char *text, tb_kv *labels, size_t *np, const char *prog)
{
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL || eq == tok || n == MAIN_MAX_LABELS) {
			fprintf(stderr, "%s: bad label '%s' (want key=value, at most %d)\n", prog, tok,
			        MAIN_MAX_LABELS);
			return -1;
		}
		*eq = '\0';
		labels[n].key = tok;
		labels[n].value = eq + 1;
		n++;
	}
	*np = n;
	return 0;
}

static int main_check_one_url(const char *url, bool insecure, const char *prog)
{
	if (url != NULL && strncmp(url, "tcp://", 6) == 0 && !insecure) {
		fprintf(stderr,
		        "%s: refusing plaintext %s: use tls+tcp:// with --tls-cert/--tls-key "
		        "(and --tls-ca for mutual TLS), or pass --insecure\n",
		        prog, url);
		return -1;
	}
	return 0;
}

static int main_check_url(const struct main_opts *o, const char *prog)
{
	if (o->listen == NULL && o->register_url == NULL) {
		fprintf(stderr, "%s: --listen URL or --register URL is required (see --help)\n", prog);
		return -1;
	}
	if (main_check_one_url(o->listen, o->insecure, prog) != 0 ||
	    main_check_one_url(o->register_url, o->insecure, prog) != 0)
		return -1;
	return 0;
}

/* Applies --config FILE as a Configure call would. */
static int main_apply_config(tb_server *srv, const char *path, const char *prog)
{
	Testbus__V1__ValueMap *map = NULL;
	Testbus__V1__ComponentConfig cfg = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	tb_status st;
	int rv = tb_value_map_from_yaml_file(path, &map, &st);
	if (rv != TB_OK)
		goto out;
	if ((rv = tb_component_config_wrap(map, &cfg)) != TB_OK) {
		tb_status_set(&st, rv, "out of memory");
		goto out;
	}
	rv = tb_server_configure(srv, &cfg, &st);
out:
	if (rv != TB_OK)
		fprintf(stderr, "%s: config %s: %s\n", prog, path, st.message);
	tb_component_config_unwrap(&cfg);
	if (map != NULL)
		protobuf_c_message_free_unpacked(&map->base, NULL);
	return rv;
}

/* Blocks the stop signals in every thread; the main thread waits for them. */
static void main_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* When spawned by the broker, die with it rather than serve an orphan run. */
static bool main_watch_parent(void)
{
	const char *ppid = getenv("TESTBUS_PARENT_PID");
	if (ppid == NULL)
		return true;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	return getppid() == (pid_t)strtol(ppid, NULL, 10);
}

static int main_serve(const tb_component *comp, const struct main_opts *o, tb_kv *labels,
                      size_t n_labels, const char *prog)
{
	tb_server_opts so = {
		.name = comp->name, .kind = comp->kind, .version = comp->version,
		.capacity = o->capacity ? o->capacity
		                        : (comp->default_capacity ? comp->default_capacity : 1),
		.max_message_size = o->max_message,
		.tls = {.ca_file = o->tls_ca, .cert_file = o->tls_cert, .key_file = o->tls_key},
		.token = o->token, .events_url = o->events,
		.labels = labels, .n_labels = n_labels,
		.configure = comp->configure, .arg = comp->arg,
	};
	tb_server *srv = NULL;
	tbi_register *reg = NULL;
	tb_status st = {0};
	sigset_t set;
	int sig = 0, rv;
	main_block_signals(&set);
	if (!main_watch_parent())
		return 1;
	if ((rv = tb_server_alloc(&so, &srv, &st)) != TB_OK ||
	    (rv = tb_server_add_service(srv, comp->service, comp->methods, comp->n_methods, &st)) !=
	        TB_OK)
		goto out;
	if (o->config != NULL && main_apply_config(srv, o->config, prog) != TB_OK) {
		rv = TB_INVALID_ARGUMENT;
		st.message[0] = '\0';
		goto out;
	}
	if (o->listen != NULL) {
		if ((rv = tb_server_listen(srv, o->listen, &st)) != TB_OK ||
		    (rv = tb_server_start(srv, &st)) != TB_OK)
			goto out;
		fprintf(stderr, "%s: serving %s on %s (capacity %u)\n", prog, comp->service->name,
		        tb_server_url(srv), so.capacity);
	}
	if (o->register_url != NULL) {
		struct tbi_register_opts ro = {
			.url = o->register_url, .capacity = so.capacity, .prog = prog,
			.conn = {.max_message_size = o->max_message, .token = o->token,
			         .tls = {.ca_file = o->tls_ca, .cert_file = o->tls_cert,
			                 .key_file = o->tls_key, .server_name = o->tls_server_name}},
		};
		if ((rv = tbi_register_start(srv, &ro, &reg, &st)) != TB_OK)
			goto out;
		fprintf(stderr, "%s: registering with %s (capacity %u)\n", prog, o->register_url,
		        so.capacity);
	}
	while (sigwait(&set, &sig) != 0) {
	}
	fprintf(stderr, "%s: %s, stopping\n", prog, strsignal(sig));
	/* A handler that ignores its stop must not keep the process alive. */
	alarm(MAIN_STOP_GRACE_MS / 1000 + 5);
	tb_server_stop(srv, MAIN_STOP_GRACE_MS);
out:
	if (rv != TB_OK && st.message[0] != '\0')
		fprintf(stderr, "%s: %s\n", prog, st.message);
	tbi_register_stop(reg);
	tb_server_free(srv);
	return rv == TB_OK ? 0 : 1;
}

int tb_component_main(const tb_component *comp, int argc, char **argv)
{
	struct main_opts o = {0};
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	tb_kv labels[MAIN_MAX_LABELS];
	size_t n_labels = 0;
	char *label_text = NULL;
	int status = 2;
	if (main_parse(argc, argv, &o, prog) != 0)
		goto out;
	if (o.help) {
		main_usage(comp, prog, stdout);
		status = 0;
		goto out;
	}
	if (o.version) {
		printf("%s %s (testbus protocol %d)\n", prog, comp->version ? comp->version : tb_version(),
		       TB_PROTOCOL_VERSION);
		status = 0;
		goto out;
	}
	if (o.token == NULL)
		o.token = getenv("TESTBUS_TOKEN");
	if (main_check_url(&o, prog) != 0)
		goto out;
	if (o.labels != NULL) {
		label_text = tbi_strdup(o.labels);
		if (label_text == NULL || main_split_labels(label_text, labels, &n_labels, prog) != 0)
			goto out;
	}
	status = main_serve(comp, &o, labels, n_labels, prog);
	tb_library_fini();
out:
	free(label_text);
	return status;
}
