/* Test helpers: temporary folders, the Python test servers and component processes. */
#ifndef TESTBUS_TESTS_PROVISIONERS_HARNESS_H
#define TESTBUS_TESTS_PROVISIONERS_HARNESS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "testbus/testbus.h"

/* A child process: its stdin stays open (closing it ends a test server). */
typedef struct h_proc {
	pid_t pid;
	int in_fd;
	int out_fd;
} h_proc;

/* A component process and a connection to it. */
typedef struct h_comp {
	h_proc proc;
	tb_conn *conn;
	char log[512];
} h_comp;

/* A fresh private folder for one test; caller frees the string. Aborts on failure. */
char *h_tmpdir(void);

/* Removes dir and everything in it. */
void h_rmrf(const char *dir);

/* path = dir "/" name, in a static-free caller buffer. */
void h_path(char *buf, size_t size, const char *dir, const char *name);

/* Makes the test PKI (see make_certs.sh) in dir. Aborts on failure. */
void h_make_certs(const char *dir);

/*
 * Starts testservers.py in mode with args (NULL-terminated; may be NULL) and
 * returns its port, or -1 (with the server stopped) when it did not start.
 */
int h_server_start(const char *mode, const char *const *args, h_proc *p);

/*
 * Starts a component executable (a name in the build's bin folder) with
 * --listen on a socket in dir and --config written from config_yaml (may be
 * NULL), its stderr in dir/<binary>.log, and env_set entries ("NAME=value"
 * sets, bare "NAME" unsets; NULL-terminated; may be NULL) on top of the test's
 * environment. Connects and does the handshake. Returns TB_OK or an error.
 */
int h_comp_start(h_comp *c, const char *dir, const char *binary, const char *config_yaml,
                 const char *const *env_set);

/*
 * Closes the connection and stops the component with SIGTERM. Returns its
 * exit status (0 for a clean stop, which also means no leak under ASan), or
 * 128 + signal.
 */
int h_comp_stop(h_comp *c);

/* Stops a process: closes its stdin, sends SIGTERM, waits. Returns as h_comp_stop. */
int h_stop(h_proc *p);

/* The whole file (NUL-terminated; caller frees), or NULL. */
char *h_read(const char *path);

/* Writes text to path with mode; aborts on failure. */
void h_write(const char *path, const char *text, int mode);

/* Parses the JSON file at path; NULL when absent or bad. Caller puts it. */
json_object *h_json_file(const char *path);

/* GETs https://127.0.0.1:port/path with CA ca_file and returns the parsed JSON, or NULL. */
json_object *h_get_json(int port, const char *ca_file, const char *path);

/* True when the text of file path contains needle. */
bool h_file_contains(const char *path, const char *needle);

/* Dir of the test sources (scripts) and of the built executables. */
extern const char h_src_dir[];
extern const char h_bin_dir[];

#endif
