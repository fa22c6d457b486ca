/* Measuring one side of a cell: caller threads, warm-up, latencies, percentiles. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* Starts and stops the clock of a run together with its caller threads. */
struct run_gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned ready;    /* threads warmed up */
	unsigned finished; /* threads done with their measured calls */
	bool go;           /* the clock runs: make the measured calls */
	bool cancel;       /* a thread could not start: skip them */
};

/* One caller thread of a run. */
struct run_thread {
	const struct bench_side *side;
	void *shared;
	struct run_gate *gate;
	size_t warmup;
	size_t calls;
	uint64_t *ns; /* calls slots, borrowed from the samples */
	size_t errors;
	pthread_t thread;
};

static uint64_t run_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Counts the thread in *count, then waits for go (or cancel) when asked to. */
static bool run_gate_pass(struct run_gate *g, unsigned *count, bool wait_go)
{
	pthread_mutex_lock(&g->mu);
	(*count)++;
	pthread_cond_broadcast(&g->cv);
	while (wait_go && !g->go && !g->cancel)
		pthread_cond_wait(&g->cv, &g->mu);
	bool go = !g->cancel;
	pthread_mutex_unlock(&g->mu);
	return go;
}

/* The main thread's side: waits until count reaches n. */
static void run_gate_wait(struct run_gate *g, const unsigned *count, unsigned n)
{
	pthread_mutex_lock(&g->mu);
	while (*count < n)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void run_gate_open(struct run_gate *g, bool cancel)
{
	pthread_mutex_lock(&g->mu);
	g->go = !cancel;
	g->cancel = cancel;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void *run_thread_main(void *arg)
{
	struct run_thread *t = arg;
	struct run_gate *g = t->gate;
	void *caller = NULL;
	bool ok = t->side->open(t->shared, &caller) == 0;
	for (size_t i = 0; ok && i < t->warmup; i++)
		t->side->call(caller);
	bool go = run_gate_pass(g, &g->ready, true);
	for (size_t i = 0; go && i < t->calls; i++) {
		uint64_t t0 = run_now_ns();
		int rv = ok ? t->side->call(caller) : -1;
		t->ns[i] = run_now_ns() - t0;
		if (rv != 0)
			t->errors++;
	}
	run_gate_pass(g, &g->finished, false);
	t->side->close(caller);
	return NULL;
}

static int run_reserve(struct bench_samples *s, size_t more)
{
	if (s->n + more <= s->cap)
		return 0;
	size_t cap = s->n + more;
	uint64_t *ns = realloc(s->ns, cap * sizeof(*ns));
	if (ns == NULL)
		return ENOMEM;
	s->ns = ns;
	s->cap = cap;
	return 0;
}

/* Starts the threads of a run; on failure *startedp says how many run. */
static int run_spawn(struct run_thread *threads, unsigned n, unsigned *startedp)
{
	int rv = 0;
	unsigned i;
	for (i = 0; i < n; i++) {
		if ((rv = pthread_create(&threads[i].thread, NULL, run_thread_main, &threads[i])) != 0)
			break;
	}
	*startedp = i;
	return rv;
}

int bench_run(const struct bench_side *side, void *shared, unsigned n_callers, size_t calls,
              size_t warmup, struct bench_samples *s)
{
	struct run_thread threads[BENCH_MAX_CALLERS];
	struct run_gate gate = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	unsigned started = 0;
	int rv;
	if (n_callers == 0 || n_callers > BENCH_MAX_CALLERS)
		return EINVAL;
	calls -= calls % n_callers; /* every caller makes the same number */
	if ((rv = run_reserve(s, calls)) != 0)
		return rv;
	for (unsigned i = 0; i < n_callers; i++) {
		threads[i] = (struct run_thread){
			.side = side, .shared = shared, .gate = &gate,
			.warmup = (warmup + n_callers - 1) / n_callers, .calls = calls / n_callers,
			.ns = s->ns + s->n + i * (calls / n_callers),
		};
	}
	rv = run_spawn(threads, n_callers, &started);
	run_gate_wait(&gate, &gate.ready, started);
	uint64_t t0 = run_now_ns();
	run_gate_open(&gate, rv != 0);
	run_gate_wait(&gate, &gate.finished, started);
	uint64_t elapsed = run_now_ns() - t0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(threads[i].thread, NULL);
		s->errors += threads[i].errors;
	}
	if (rv == 0) {
		s->elapsed_ns += elapsed;
		s->n += calls;
	}
	pthread_mutex_destroy(&gate.mu);
	pthread_cond_destroy(&gate.cv);
	return rv;
}

static int run_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile pct of the sorted latencies, in µs. */
static double run_percentile(const struct bench_samples *s, unsigned pct)
{
	if (s->n == 0)
		return 0;
	size_t rank = (s->n * pct + 99) / 100;
	return (double)s->ns[rank > 0 ? rank - 1 : 0] / 1000.0;
}

void bench_stats_of(struct bench_samples *s, struct bench_stats *out)
{
	if (s->n > 0)
		qsort(s->ns, s->n, sizeof(*s->ns), run_cmp);
	out->p50_us = run_percentile(s, 50);
	out->p99_us = run_percentile(s, 99);
	out->calls_per_s = s->elapsed_ns ? (double)s->n * 1e9 / (double)s->elapsed_ns : 0;
}

void bench_samples_fini(struct bench_samples *s)
{
	free(s->ns);
	memset(s, 0, sizeof(*s));
}
