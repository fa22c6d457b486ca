/* Running a phase: its targets in parallel across matching executors, up to capacity. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inflight.h"
#include "listen.h"
#include "progress.h"
#include "run.h"

#define EXECUTE_MAX_EXECUTORS 256
/* The executor enforces the suite's timeout; the call waits a little longer
 * so that its answer, with the partial results, still arrives. */
#define EXECUTE_ANSWER_SLACK_MS 60000u

struct scheduler {
	struct run *r;
	struct phase_run *pr;
	struct comp *executors[EXECUTE_MAX_EXECUTORS];
	uint32_t busy[EXECUTE_MAX_EXECUTORS];
	size_t n_executors;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t running;
};

struct job {
	struct scheduler *s;
	struct target_run *t;
	size_t executor_index;
};

static char *execute_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *execute_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void execute_add_label(struct config_labels *l, const char *key, const char *value)
{
	struct config_kv *items = realloc(l->items, (l->n + 1) * sizeof(*items));
	if (items == NULL)
		return;
	l->items = items;
	l->items[l->n].key = strdup(key);
	l->items[l->n].value = strdup(value);
	l->n++;
}

/* Expands the phase's targets: a target with shards: N becomes N targets. */
static int execute_expand(const struct config_phase *phase, struct phase_run *pr)
{
	size_t n = 0;
	for (size_t i = 0; i < phase->n_targets; i++)
		n += phase->targets[i].shards ? phase->targets[i].shards : 1;
	pr->cfg = phase;
	pr->targets = calloc(n ? n : 1, sizeof(*pr->targets));
	if (pr->targets == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < phase->n_targets; i++) {
		const struct config_target *ct = &phase->targets[i];
		uint32_t shards = ct->shards > 1 ? ct->shards : 0;
		for (uint32_t k = 0; k < (shards ? shards : 1); k++) {
			struct target_run *t = &pr->targets[pr->n++];
			t->cfg = ct;
			t->shard = k;
			t->shards = shards;
			for (size_t j = 0; j < ct->labels.n; j++)
				execute_add_label(&t->labels, ct->labels.items[j].key,
				                  ct->labels.items[j].value);
			if (shards) {
				char num[16], total[16];
				snprintf(num, sizeof(num), "%u", k);
				snprintf(total, sizeof(total), "%u", shards);
				execute_add_label(&t->labels, "shard", num);
				execute_add_label(&t->labels, "shards", total);
				t->target_id = execute_strdup_printf("%s/%s/%u", phase->name, ct->name, k);
			} else {
				t->target_id = execute_strdup_printf("%s/%s", phase->name, ct->name);
			}
		}
	}
	return TB_OK;
}

/* The label of an executor: the config's labels override Describe's. */
static const char *execute_executor_label(const struct comp *c, const char *key)
{
	for (size_t i = 0; i < c->cfg->labels.n; i++) {
		if (strcmp(c->cfg->labels.items[i].key, key) == 0)
			return c->cfg->labels.items[i].value;
	}
	return c->info ? tb_map_get(c->info->labels, c->info->n_labels, key) : NULL;
}

static bool execute_matches(const struct target_run *t, const struct comp *c)
{
	const struct config_selector *sel = &t->cfg->executor;
	if (sel->ref.component != NULL && sel->ref.component != c->cfg)
		return false;
	for (size_t i = 0; i < sel->labels.n; i++) {
		const char *v = execute_executor_label(c, sel->labels.items[i].key);
		if (v == NULL || strcmp(v, sel->labels.items[i].value) != 0)
			return false;
	}
	return true;
}

static void execute_attempt(struct target_run *t, const char *executor, const char *reason)
{
	struct target_attempt *a = realloc(t->attempts, (t->n_attempts + 1) * sizeof(*a));
	if (a == NULL)
		return;
	t->attempts = a;
	a[t->n_attempts].attempt = t->attempt;
	a[t->n_attempts].executor = strdup(executor);
	a[t->n_attempts].reason = strdup(reason);
	t->n_attempts++;
}

/* A result for a target that produced none: it failed, and says why. */
static Testbus__V1__ExecutionResult *execute_failed_result(const char *why, bool cancelled,
                                                           bool timed_out)
{
	Testbus__V1__ExecutionResult *res = calloc(1, sizeof(*res));
	Testbus__V1__ResultSummary *sum = calloc(1, sizeof(*sum));
	if (res == NULL || sum == NULL) {
		free(res);
		free(sum);
		return NULL;
	}
	testbus__v1__execution_result__init(res);
	testbus__v1__result_summary__init(sum);
	res->summary = sum;
	res->error = strdup(why);
	res->exit_code = -1;
	res->cancelled = cancelled;
	res->timed_out = timed_out;
	return res;
}

static Testbus__V1__ExecutionTarget__LabelsEntry **execute_label_entries(
    const struct config_labels *l, Testbus__V1__ExecutionTarget__LabelsEntry *store)
{
	Testbus__V1__ExecutionTarget__LabelsEntry **ptrs = calloc(l->n + 1, sizeof(*ptrs));
	for (size_t i = 0; ptrs != NULL && i < l->n; i++) {
		testbus__v1__execution_target__labels_entry__init(&store[i]);
		store[i].key = l->items[i].key;
		store[i].value = l->items[i].value;
		ptrs[i] = &store[i];
	}
	return ptrs;
}

/*
 * A spawned executor that dropped its connection is gone for this run, even
 * when its process has not been reaped yet; an attached one may come back,
 * and a retry waits for it within the call's deadline.
 */
static void execute_mark_lost(struct comp *c)
{
	if (c->pid != 0 || registry_comp_dead(c))
		c->lost = true;
}

/* One Execute call; sets the result or the reason to try again. */
static bool execute_call(struct scheduler *s, struct target_run *t, struct comp *c)
{
	struct run *r = s->r;
	Testbus__V1__ExecutionTarget target = TESTBUS__V1__EXECUTION_TARGET__INIT;
	Testbus__V1__ExecutionTarget__LabelsEntry *store = calloc(t->labels.n + 1, sizeof(*store));
	Testbus__V1__ClusterInfo cluster = *r->cluster;
	cluster.kubeconfig.data = NULL; /* travels once, in the target */
	cluster.kubeconfig.len = 0;
	target.cluster = &cluster;
	target.kubeconfig.data = r->kubeconfig;
	target.kubeconfig.len = r->kubeconfig_len;
	target.labels = store ? execute_label_entries(&t->labels, store) : NULL;
	target.n_labels = target.labels ? t->labels.n : 0;
	target.timeout_ms = t->cfg->timeout_ms ? t->cfg->timeout_ms : r->cfg->timeouts.execute_ms;
	target.run_id = (char *)r->run_id;
	target.target_id = t->target_id;
	target.attempt = t->attempt;
	tb_kv meta[] = {{TB_META_RUN_ID, r->run_id}};
	tb_call_opts opts = {
		.deadline_ms = target.timeout_ms + EXECUTE_ANSWER_SLACK_MS,
		.metadata = meta, .n_metadata = 1,
	};
	Testbus__V1__ExecutionResult *res = NULL;
	tb_status st;
	int rv;
	if (c->remote != NULL) {
		/* Registered: queued for the executor to pull, under a lease. */
		rv = listen_execute(c, &target, opts.deadline_ms, &res, &st);
	} else {
		opts.call_id = inflight_add(c->conn);
		rv = tb_executor_execute(c->conn, &target, &res, &opts, &st);
		inflight_remove(opts.call_id);
	}
	free(target.labels);
	free(store);
	if (rv == TB_OK) {
		t->result = res;
		execute_attempt(t, comp_name(c), "completed");
		return false;
	}
	char reason[TB_STATUS_MESSAGE_MAX + 64];
	snprintf(reason, sizeof(reason), "%s: %s", tb_strerror(rv), st.message);
	bool lost = rv == TB_UNAVAILABLE || registry_comp_dead(c);
	if (lost) {
		execute_mark_lost(c);
		snprintf(reason, sizeof(reason), "executor lost: %s", st.message);
	}
	execute_attempt(t, comp_name(c), reason);
	blog("target %s on %s: %s", t->target_id, comp_name(c), reason);
	if (lost && t->attempt <= t->cfg->retries && atomic_load(&run_signals) == 0)
		return true;
	t->result = execute_failed_result(reason, rv == TB_CANCELLED, rv == TB_DEADLINE_EXCEEDED);
	return false;
}

static void *execute_job_main(void *arg)
{
	struct job *j = arg;
	struct scheduler *s = j->s;
	struct comp *c = s->executors[j->executor_index];
	bool again = execute_call(s, j->t, c);
	pthread_mutex_lock(&s->mu);
	s->busy[j->executor_index]--;
	s->running--;
	if (again) {
		j->t->attempt++;
		j->t->state = TARGET_PENDING;
	} else {
		j->t->state = TARGET_DONE;
		progress_target_done();
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	free(j);
	return NULL;
}

/* The least busy live executor with room that t may run on; -1 if none now. */
static long execute_pick(struct scheduler *s, const struct target_run *t, bool *any_alivep)
{
	long best = -1;
	*any_alivep = false;
	for (size_t i = 0; i < s->n_executors; i++) {
		struct comp *c = s->executors[i];
		if (c->lost || !execute_matches(t, c) || (c->remote != NULL && !listen_alive(c)))
			continue;
		*any_alivep = true;
		if (s->busy[i] >= c->capacity)
			continue;
		if (best < 0 || s->busy[i] * s->executors[best]->capacity <
		                    s->busy[best] * c->capacity)
			best = (long)i;
	}
	return best;
}

/* Starts what can start; fails what can never run. Called with the lock held. */
static size_t execute_dispatch(struct scheduler *s)
{
	size_t open = 0;
	for (size_t i = 0; i < s->pr->n; i++) {
		struct target_run *t = &s->pr->targets[i];
		if (t->state != TARGET_PENDING)
			continue;
		bool alive = false;
		long e = atomic_load(&run_signals) ? -1 : execute_pick(s, t, &alive);
		if (e < 0 && (!alive || atomic_load(&run_signals))) {
			const char *why = atomic_load(&run_signals) ? "not run: the run was interrupted"
			                                            : "no live executor matches this target";
			if (t->result == NULL)
				t->result = execute_failed_result(why, atomic_load(&run_signals) != 0, false);
			t->state = TARGET_DONE;
			progress_target_done();
			continue;
		}
		open++;
		if (e < 0)
			continue;
		struct job *j = calloc(1, sizeof(*j));
		pthread_t th;
		if (j == NULL)
			continue;
		*j = (struct job){.s = s, .t = t, .executor_index = (size_t)e};
		t->executor = s->executors[e];
		t->state = TARGET_RUNNING;
		s->busy[e]++;
		s->running++;
		if (pthread_create(&th, NULL, execute_job_main, j) != 0) {
			s->busy[e]--;
			s->running--;
			t->state = TARGET_PENDING;
			free(j);
			continue;
		}
		pthread_detach(th);
	}
	return open;
}

/* Shows what each executor runs now on the status line. Locked. */
static void execute_show_load(struct scheduler *s)
{
	char text[256];
	size_t used = 0;
	text[0] = '\0';
	for (size_t i = 0; i < s->n_executors && used < sizeof(text); i++) {
		struct comp *c = s->executors[i];
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s %u/%u%s",
		                         i ? ", " : "", comp_name(c), s->busy[i], c->capacity,
		                         c->lost ? " lost" : "");
	}
	progress_executors(text);
}

static void execute_phase(struct run *r, struct phase_run *pr)
{
	struct scheduler s = {.r = r, .pr = pr};
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	s.n_executors = registry_of_kind(r->reg, TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
	                                 s.executors, EXECUTE_MAX_EXECUTORS);
	blog("phase %s: %zu target%s on %zu executor%s", pr->cfg->name, pr->n,
	     pr->n == 1 ? "" : "s", s.n_executors, s.n_executors == 1 ? "" : "s");
	progress_phase(pr->cfg->name, pr->n);
	for (size_t i = 0; i < pr->n; i++)
		pr->targets[i].attempt = 1;
	pthread_mutex_lock(&s.mu);
	for (;;) {
		size_t open = execute_dispatch(&s);
		execute_show_load(&s);
		if (open == 0 && s.running == 0)
			break;
		/* Woken by a finished job, or each second to notice a signal. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s.cv, &s.mu, &ts);
	}
	pthread_mutex_unlock(&s.mu);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
}

void execute_phases(struct run *r)
{
	r->phases = calloc(r->cfg->n_phases + 1, sizeof(*r->phases));
	if (r->phases == NULL) {
		run_error(r, "out of memory");
		return;
	}
	for (size_t i = 0; i < r->cfg->n_phases; i++) {
		struct phase_run *pr = &r->phases[r->n_phases++];
		if (execute_expand(&r->cfg->phases[i], pr) != TB_OK) {
			run_error(r, "out of memory");
			return;
		}
		execute_phase(r, pr);
		size_t failed = 0;
		for (size_t k = 0; k < pr->n; k++) {
			if (pr->targets[k].result == NULL || !pr->targets[k].result->success)
				failed++;
		}
		blog("phase %s: %zu of %zu target%s passed", pr->cfg->name, pr->n - failed, pr->n,
		     pr->n == 1 ? "" : "s");
		report_checkpoint(r);
	}
}

void phase_run_fini(struct phase_run *pr)
{
	for (size_t i = 0; i < pr->n; i++) {
		struct target_run *t = &pr->targets[i];
		free(t->target_id);
		for (size_t k = 0; k < t->labels.n; k++) {
			free(t->labels.items[k].key);
			free(t->labels.items[k].value);
		}
		free(t->labels.items);
		for (size_t k = 0; k < t->n_attempts; k++) {
			free(t->attempts[k].executor);
			free(t->attempts[k].reason);
		}
		free(t->attempts);
		if (t->result != NULL)
			protobuf_c_message_free_unpacked(&t->result->base, NULL);
		for (size_t k = 0; k < t->n_analysis; k++)
			protobuf_c_message_free_unpacked(&t->analysis[k]->base, NULL);
		free(t->analysis);
	}
	free(pr->targets);
	memset(pr, 0, sizeof(*pr));
}
