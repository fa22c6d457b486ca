/* Shared pieces of the bus benchmark: payloads, the raw NNG baseline, runs. */
#ifndef TESTBUS_BENCH_H
#define TESTBUS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "testbus/testbus.h"

/* The answer a request asks for, named by the target's label "answer". */
enum bench_payload { BENCH_SMALL, BENCH_LARGE, BENCH_N_PAYLOADS };

enum bench_transport { BENCH_IPC, BENCH_TCP, BENCH_N_TRANSPORTS };

#define BENCH_LABEL_ANSWER "answer"
#define BENCH_MAX_CALLERS 8
/* The server's receivers: one per caller, plus libtestbus's default control slots. */
#define BENCH_SERVE_CAPACITY BENCH_MAX_CALLERS
#define BENCH_CONTROL_SLOTS 4
#define BENCH_URL_MAX 300

/* "small" or "large"; never NULL. */
const char *bench_payload_name(enum bench_payload p);
/* The payload called name, or BENCH_N_PAYLOADS when name is unknown or NULL. */
enum bench_payload bench_payload_from_name(const char *name);
/* "ipc" or "tcp"; never NULL. */
const char *bench_transport_name(enum bench_transport t);

/*
 * The ~200 B ExecutionTarget asking for answer p, allocated from a (the
 * caller owns a). Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int bench_target_build(tb_arena *a, enum bench_payload p, Testbus__V1__ExecutionTarget **tp);

/*
 * The ExecutionResult of payload p (~200 B small, ~3 KB large with a dozen
 * test cases), allocated from a. Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int bench_result_build(tb_arena *a, enum bench_payload p, Testbus__V1__ExecutionResult **rp);

/* The number of test cases the answer of payload p carries. */
size_t bench_result_cases(enum bench_payload p);

/* Packs m into a new buffer. Caller owns *bufp; free with free(). */
int bench_pack(const ProtobufCMessage *m, uint8_t **bufp, size_t *lenp);

/* --- raw NNG REQ/REP, the floor (raw_nng.c) --- */

typedef struct raw_server raw_server;
typedef struct raw_client raw_client;

/*
 * Listens on url with n_workers threads, each with its own REP context, that
 * answer every request with the bytes of answer (borrowed: must outlive the
 * server) without looking at the request. Caller owns *srvp; free with
 * raw_server_close(). Returns 0 or an NNG error.
 */
int raw_server_open(const char *url, unsigned n_workers, const uint8_t *answer, size_t len,
                    raw_server **srvp);

/* The URL actually bound (tcp port 0 resolved). Borrowed from srv. */
const char *raw_server_url(const raw_server *srv);

/* Stops the workers (blocks up to a poll interval), closes and frees. srv may be NULL. */
void raw_server_close(raw_server *srv);

/*
 * Dials url with a REQ socket, re-sends off. Blocks until connected. req is
 * sent by every call and answer_len is the size every answer must have; req
 * is borrowed and must outlive the client. Caller owns *clip; free with
 * raw_client_close(). Returns 0 or an NNG error.
 */
int raw_client_open(const char *url, const uint8_t *req, size_t req_len, size_t answer_len,
                    raw_client **clip);

/* Closes the socket and frees cli. Call with no caller open. cli may be NULL. */
void raw_client_close(raw_client *cli);

/* --- measuring (run.c) --- */

/* One side of a comparison: how a caller thread opens, calls and closes. */
struct bench_side {
	const char *name;
	/* Sets up one caller thread's state in *callerp; 0 on success. */
	int (*open)(void *shared, void **callerp);
	/* One unary call; 0 when the answer arrived and looked right. */
	int (*call)(void *caller);
	/* Releases the caller state; safe on NULL. */
	void (*close)(void *caller);
};

/* The raw side; shared is a raw_client. */
extern const struct bench_side bench_raw_side;

/* Latencies and time of the measured calls of one cell side, over rounds. */
struct bench_samples {
	uint64_t *ns; /* owned; one latency per measured call */
	size_t n;
	size_t cap;
	uint64_t elapsed_ns; /* wall time of the measured phases */
	size_t errors;
};

struct bench_stats {
	double p50_us;
	double p99_us;
	double calls_per_s;
};

/*
 * Runs calls measured calls (split over n_callers threads, each first doing
 * its share of warmup unmeasured calls) and appends their latencies to s.
 * Blocks. Returns 0, or ENOMEM / an errno from thread creation.
 */
int bench_run(const struct bench_side *side, void *shared, unsigned n_callers, size_t calls,
              size_t warmup, struct bench_samples *s);

/* Percentiles and throughput of s (sorts s->ns). */
void bench_stats_of(struct bench_samples *s, struct bench_stats *out);

/* Frees the latencies of s; s may be zeroed. */
void bench_samples_fini(struct bench_samples *s);

/* --- the server process (serve.c) --- */

/*
 * Serves the benchmark until stdin reaches end of file: one tb_server on
 * ipc:// in dir and on tcp://127.0.0.1, and one raw REP server per transport
 * and payload. Prints "endpoint <side> <transport> <payload> <url>" lines,
 * then "ready", on stdout. Returns the process exit status.
 */
int bench_serve_main(const char *dir);

/* --- starting the server process (child.c) --- */

/* Where the server process listens. */
struct bench_endpoints {
	char testbus[BENCH_N_TRANSPORTS][BENCH_URL_MAX];
	char raw[BENCH_N_TRANSPORTS][BENCH_N_PAYLOADS][BENCH_URL_MAX];
};

/* The running server process; zeroed means none. */
struct bench_child {
	pid_t pid;           /* 0: not started */
	int to_child;        /* its stdin: closing it stops the child; -1 when closed */
	FILE *from_child;    /* its stdout */
	char dir[64];        /* private temp dir for the ipc sockets; "" when none */
};

/*
 * Spawns this program again with --serve (posix_spawn, as NNG is not fork
 * safe) and waits until it listens. Fills *ep. On failure everything started
 * is stopped. Returns 0 or -1 with a message on stderr.
 */
int bench_child_start(struct bench_child *c, struct bench_endpoints *ep);

/* Stops the server process, waits for it and removes its temp dir. Idempotent. */
void bench_child_stop(struct bench_child *c);

#endif
