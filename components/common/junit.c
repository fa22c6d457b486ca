/* The JUnit/xUnit reader: a libxml2 DOM walk into TestCase records and per-element counts. */
#include "junit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/*
 * No network, no entity substitution (XML_PARSE_NOENT is left out on
 * purpose), no DTD loading, no huge-document mode: libxml2's own depth and
 * text-size limits stay on. Parse errors are collected, never printed.
 */
#define JUNIT_XML_OPTIONS                                                          \
	(XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | \
	 XML_PARSE_NOWARNING)
#define JUNIT_MAX_DEPTH 256

/* The state of one report's walk. */
typedef struct junit_parse {
	tb_junit *j;
	const char *name;
	tb_junit_file_stats stats;
	Testbus__V1__TestCase **cases; /* this report's test cases, in order */
	size_t n, cap;
	tb_status *st;
} junit_parse;

static pthread_once_t junit_once = PTHREAD_ONCE_INIT;

static void junit_init_libxml(void)
{
	xmlInitParser();
}

/* --- small string helpers --- */

static int junit_name_is(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && strcmp((const char *)node->name, name) == 0;
}

/* Cuts len back so that s[0..len) does not end inside a UTF-8 sequence. */
static size_t junit_utf8_cut(const char *s, size_t len)
{
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

/* An arena copy of at most max bytes of s (the first ones), cut on a character. */
static char *junit_head(tb_arena *a, const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len > max)
		len = junit_utf8_cut(s, max);
	return tb_arena_memdup(a, s, len);
}

/* An arena copy of the attribute, or "" when absent. */
static char *junit_attr(tb_arena *a, xmlNode *node, const char *name)
{
	xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
	char *copy = tb_arena_strdup(a, v != NULL ? (const char *)v : "");

	xmlFree(v);
	return copy;
}

static double junit_time_ms(xmlNode *node)
{
	xmlChar *v = xmlGetProp(node, (const xmlChar *)"time");
	double secs = 0;

	if (v != NULL) {
		secs = strtod((const char *)v, NULL);
		xmlFree(v);
	}
	if (!isfinite(secs) || secs < 0)
		secs = 0;
	return secs * 1000.0;
}

/* The message of a failure/error/skipped element: its attribute, else the first text line. */
static char *junit_message(tb_junit *j, xmlNode *el)
{
	xmlChar *v = xmlGetProp(el, (const xmlChar *)"message");
	char *msg = NULL;

	if (v == NULL || v[0] == '\0') {
		xmlFree(v);
		v = xmlNodeGetContent(el);
		if (v != NULL) {
			const char *s = (const char *)v;
			s += strspn(s, " \t\r\n");
			msg = junit_head(j->arena, s, strcspn(s, "\r\n"));
			if (msg != NULL && strlen(msg) > j->opts.max_message)
				msg[junit_utf8_cut(msg, j->opts.max_message)] = '\0';
		}
	} else {
		msg = junit_head(j->arena, (const char *)v, j->opts.max_message);
	}
	xmlFree(v);
	return msg != NULL ? msg : tb_arena_strdup(j->arena, "");
}

/*
 * Appends to out (capacity cap, length *len) a labelled excerpt of el's
 * text: the head of a failure body, the tail of system output.
 */
static void junit_excerpt(char *out, size_t cap, size_t *len, const char *label, xmlNode *el,
                          size_t budget, bool tail)
{
	xmlChar *v;
	const char *s;
	size_t n, lab = strlen(label);

	if (el == NULL || budget <= lab + 4 || (v = xmlNodeGetContent(el)) == NULL)
		return;
	s = (const char *)v;
	n = strlen(s);
	if (n > 0 && *len + lab + 1 < cap) {
		memcpy(out + *len, label, lab);
		*len += lab;
		budget -= lab;
		if (n > budget) {
			if (tail) {
				s += n - budget;
				while (((unsigned char)*s & 0xC0) == 0x80)
					s++;
				n = strlen(s);
			} else {
				n = junit_utf8_cut(s, budget);
			}
		}
		if (n > cap - 1 - *len)
			n = junit_utf8_cut(s, cap - 1 - *len);
		memcpy(out + *len, s, n);
		*len += n;
	}
	xmlFree(v);
}

/* The output excerpt of a failed or errored test: failure body, then system-out/-err tails. */
static char *junit_output(tb_junit *j, xmlNode *decider, xmlNode *out_el, xmlNode *err_el)
{
	size_t cap = j->opts.max_output + 1, len = 0, sys = (out_el != NULL) + (err_el != NULL);
	char *buf = tb_arena_zalloc(j->arena, cap);

	if (buf == NULL)
		return NULL;
	junit_excerpt(buf, cap, &len, "", decider, sys > 0 ? (cap - 1) / 2 : cap - 1, false);
	if (out_el != NULL) {
		junit_excerpt(buf, cap, &len, len > 0 ? "\n[system-out]\n" : "[system-out]\n", out_el,
		              (cap - 1 - len) / sys, true);
		sys--;
	}
	if (err_el != NULL && sys > 0)
		junit_excerpt(buf, cap, &len, len > 0 ? "\n[system-err]\n" : "[system-err]\n", err_el,
		              cap - 1 - len, true);
	buf[len] = '\0';
	return buf;
}

/* --- one test case --- */

/* Child elements of <testcase> that matter, by role. */
enum junit_role { JR_NONE, JR_FAILURE, JR_ERROR, JR_SKIPPED, JR_OUT, JR_ERR, JR_RERUN_FAIL, JR_RERUN_ERR };

static const struct {
	const char *name;
	enum junit_role role;
} junit_children[] = {
	{"failure", JR_FAILURE},          {"error", JR_ERROR},
	{"skipped", JR_SKIPPED},          {"system-out", JR_OUT},
	{"system-err", JR_ERR},           {"flakyFailure", JR_RERUN_FAIL},
	{"rerunFailure", JR_RERUN_FAIL},  {"flakyError", JR_RERUN_ERR},
	{"rerunError", JR_RERUN_ERR},
};

static enum junit_role junit_role_of(const xmlNode *node)
{
	for (size_t i = 0; i < sizeof(junit_children) / sizeof(junit_children[0]); i++)
		if (junit_name_is(node, junit_children[i].name))
			return junit_children[i].role;
	return JR_NONE;
}

/* Appends an earlier attempt to tc (arena-grown array). */
static int junit_push_attempt(tb_arena *a, Testbus__V1__TestCase *tc, Testbus__V1__TestAttempt *at)
{
	Testbus__V1__TestAttempt **arr = tb_arena_zalloc(a, (tc->n_attempts + 1) * sizeof(*arr));

	if (arr == NULL)
		return TB_RESOURCE_EXHAUSTED;
	if (tc->n_attempts > 0)
		memcpy(arr, tc->attempts, tc->n_attempts * sizeof(*arr));
	arr[tc->n_attempts++] = at;
	tc->attempts = arr;
	return TB_OK;
}

/* Adds Surefire's flaky/rerun children of el as earlier attempts of tc. */
static int junit_reruns(tb_junit *j, xmlNode *el, Testbus__V1__TestCase *tc)
{
	for (xmlNode *c = el->children; c != NULL; c = c->next) {
		enum junit_role r = junit_role_of(c);
		Testbus__V1__TestAttempt *at;

		if (r != JR_RERUN_FAIL && r != JR_RERUN_ERR)
			continue;
		at = tbc_junit_attempt_new(j,
		                       r == JR_RERUN_ERR ? TESTBUS__V1__TEST_STATUS__TEST_ERROR
		                                         : TESTBUS__V1__TEST_STATUS__TEST_FAILED,
		                       0, junit_message(j, c));
		if (at == NULL || junit_push_attempt(j->arena, tc, at) != TB_OK)
			return TB_RESOURCE_EXHAUSTED;
		tc->attempt++;
		tc->flaky = true;
	}
	return TB_OK;
}

/* Finds the children that decide a test case's status and output. */
static void junit_case_children(xmlNode *el, xmlNode **found)
{
	for (xmlNode *c = el->children; c != NULL; c = c->next) {
		enum junit_role r = junit_role_of(c);
		if (r != JR_NONE && found[r] == NULL)
			found[r] = c;
	}
}

static void junit_count(tb_junit_file_stats *s, Testbus__V1__TestStatus status)
{
	s->testcases++;
	switch (status) {
	case TESTBUS__V1__TEST_STATUS__TEST_FAILED:
		s->failed++;
		break;
	case TESTBUS__V1__TEST_STATUS__TEST_ERROR:
		s->errored++;
		break;
	case TESTBUS__V1__TEST_STATUS__TEST_SKIPPED:
		s->skipped++;
		break;
	default:
		s->passed++;
	}
}

/* Builds the record of one <testcase> element. */
static int junit_case_build(junit_parse *p, xmlNode *el, const char *suite,
                            Testbus__V1__TestCase **tcp)
{
	tb_junit *j = p->j;
	xmlNode *found[JR_RERUN_ERR + 1] = {0};
	xmlNode *decider;
	Testbus__V1__TestCase *tc = tb_arena_zalloc(j->arena, sizeof(*tc));
	int rv = TB_RESOURCE_EXHAUSTED;

	if (tc == NULL)
		goto out;
	testbus__v1__test_case__init(tc);
	junit_case_children(el, found);
	tc->status = TESTBUS__V1__TEST_STATUS__TEST_PASSED;
	decider = found[JR_ERROR] ? found[JR_ERROR] : found[JR_FAILURE] ? found[JR_FAILURE] : found[JR_SKIPPED];
	if (decider != NULL)
		tc->status = decider == found[JR_ERROR]     ? TESTBUS__V1__TEST_STATUS__TEST_ERROR
		             : decider == found[JR_FAILURE] ? TESTBUS__V1__TEST_STATUS__TEST_FAILED
		                                            : TESTBUS__V1__TEST_STATUS__TEST_SKIPPED;
	tc->name = junit_attr(j->arena, el, "name");
	tc->classname = junit_attr(j->arena, el, "classname");
	tc->suite = tb_arena_strdup(j->arena, suite);
	tc->duration_ms = junit_time_ms(el);
	tc->message = decider != NULL ? junit_message(j, decider) : tb_arena_strdup(j->arena, "");
	tc->output = tbc_junit_is_bad(tc->status)
	                 ? junit_output(j, decider, found[JR_OUT], found[JR_ERR])
	                 : tb_arena_strdup(j->arena, "");
	tc->attempt = 1;
	if (tc->name == NULL || tc->classname == NULL || tc->suite == NULL || tc->message == NULL ||
	    tc->output == NULL)
		goto out;
	if ((rv = junit_reruns(j, el, tc)) != TB_OK)
		goto out;
	junit_count(&p->stats, tc->status);
out:
	*tcp = rv == TB_OK ? tc : NULL;
	return rv;
}

static int junit_parse_push(junit_parse *p, Testbus__V1__TestCase *tc)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		Testbus__V1__TestCase **c = realloc(p->cases, cap * sizeof(*c));
		if (c == NULL)
			return TB_RESOURCE_EXHAUSTED;
		p->cases = c;
		p->cap = cap;
	}
	if (p->n >= p->j->opts.max_tests)
		return tb_status_set(p->st, TB_RESOURCE_EXHAUSTED, "%s: more than %zu test cases",
		                     p->name, p->j->opts.max_tests);
	p->cases[p->n++] = tc;
	return TB_OK;
}

/* Walks the children of a suite-like element. depth counts <testsuite> levels. */
static int junit_walk(junit_parse *p, xmlNode *parent, const char *suite, uint32_t depth)
{
	int rv = TB_OK;

	if (depth > JUNIT_MAX_DEPTH)
		return tb_status_set(p->st, TB_INVALID_ARGUMENT, "%s: suites nested too deep", p->name);
	for (xmlNode *c = parent->children; c != NULL && rv == TB_OK; c = c->next) {
		if (junit_name_is(c, "testsuite")) {
			xmlChar *name = xmlGetProp(c, (const xmlChar *)"name");
			if (depth + 1 > p->stats.max_depth)
				p->stats.max_depth = depth + 1;
			rv = junit_walk(p, c, name != NULL ? (const char *)name : "", depth + 1);
			xmlFree(name);
		} else if (junit_name_is(c, "testsuites")) {
			rv = junit_walk(p, c, suite, depth);
		} else if (junit_name_is(c, "testcase")) {
			Testbus__V1__TestCase *tc = NULL;
			if ((rv = junit_case_build(p, c, suite, &tc)) == TB_OK)
				rv = junit_parse_push(p, tc);
		}
	}
	if (rv == TB_RESOURCE_EXHAUSTED && p->st != NULL && p->st->code != rv)
		tb_status_set(p->st, rv, "%s: out of memory", p->name);
	return rv;
}

/* --- documents --- */

static int junit_parse_doc(junit_parse *p, xmlDoc *doc)
{
	xmlNode *root = xmlDocGetRootElement(doc);

	if (doc->intSubset != NULL || doc->extSubset != NULL)
		return tb_status_set(p->st, TB_INVALID_ARGUMENT,
		                     "%s: a document type declaration is not allowed in a report",
		                     p->name);
	if (root == NULL)
		return tb_status_set(p->st, TB_INVALID_ARGUMENT, "%s: no root element", p->name);
	snprintf(p->stats.root, sizeof(p->stats.root), "%s", (const char *)root->name);
	if (junit_name_is(root, "testsuites"))
		return junit_walk(p, root, "", 0);
	if (junit_name_is(root, "testsuite")) {
		xmlChar *name = xmlGetProp(root, (const xmlChar *)"name");
		int rv;
		p->stats.max_depth = 1;
		rv = junit_walk(p, root, name != NULL ? (const char *)name : "", 1);
		xmlFree(name);
		return rv;
	}
	return tb_status_set(p->st, TB_INVALID_ARGUMENT,
	                     "%s: not a JUnit report (root element <%s>)", p->name,
	                     (const char *)root->name);
}

static int junit_read_xml(junit_parse *p, const void *buf, size_t len)
{
	xmlParserCtxt *ctxt = NULL;
	xmlDoc *doc = NULL;
	int rv;

	if (len > p->j->opts.max_bytes || len > INT32_MAX) {
		rv = tb_status_set(p->st, TB_RESOURCE_EXHAUSTED, "%s: report of %zu bytes exceeds %zu",
		                   p->name, len, p->j->opts.max_bytes);
		goto out;
	}
	pthread_once(&junit_once, junit_init_libxml);
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		rv = tb_status_set(p->st, TB_RESOURCE_EXHAUSTED, "%s: out of memory", p->name);
		goto out;
	}
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, p->name, NULL, JUNIT_XML_OPTIONS);
	if (doc == NULL || !ctxt->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		rv = tb_status_set(p->st, TB_INVALID_ARGUMENT, "%s:%d: malformed XML: %s", p->name,
		                   e != NULL ? e->line : 0,
		                   e != NULL && e->message != NULL ? e->message : "parse error\n");
		if (p->st != NULL && strlen(p->st->message) > 0 &&
		    p->st->message[strlen(p->st->message) - 1] == '\n')
			p->st->message[strlen(p->st->message) - 1] = '\0';
		goto out;
	}
	rv = junit_parse_doc(p, doc);
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rv;
}

int tb_junit_add_memory(tb_junit *j, const void *buf, size_t len, const char *name,
                        tb_junit_file_stats *stats, tb_status *st)
{
	junit_parse p = {.j = j, .name = name != NULL ? name : "report", .st = st};
	int rv;

	if (j == NULL || (buf == NULL && len > 0))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "no collector or buffer");
	if ((rv = junit_read_xml(&p, buf, len)) != TB_OK)
		goto out;
	if (j->n + p.n > j->opts.max_tests) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "%s: more than %zu tests in all", p.name,
		                   j->opts.max_tests);
		goto out;
	}
	if ((rv = tbc_junit_grow(j, p.n)) != TB_OK)
		goto out;
	for (size_t i = 0; i < p.n && rv == TB_OK; i++)
		rv = tbc_junit_merge(j, p.cases[i]);
	if (rv != TB_OK)
		tb_status_set(st, rv, "%s: out of memory", p.name);
out:
	if (rv == TB_OK && stats != NULL)
		*stats = p.stats;
	free(p.cases);
	return rv;
}

/* Reads a whole regular file of at most max bytes into a heap buffer. */
static int junit_slurp(const char *path, size_t max, char **bufp, size_t *lenp, tb_status *st)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rv = TB_OK;

	if (fd < 0) {
		rv = errno == ENOENT ? TB_NOT_FOUND : errno == EACCES ? TB_PERMISSION_DENIED : TB_INTERNAL;
		tb_status_set(st, rv, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "%s: report of %lld bytes exceeds %zu",
		                   path, (long long)sb.st_size, max);
		goto out;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "%s: out of memory", path);
		goto out;
	}
	while (len < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)sb.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rv = tb_status_set(st, TB_INTERNAL, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rv != TB_OK) {
		free(buf);
		buf = NULL;
	}
	*bufp = buf;
	*lenp = rv == TB_OK ? len : 0;
	return rv;
}

int tb_junit_add_file(tb_junit *j, const char *path, tb_junit_file_stats *stats,
                      tb_status *st)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	if (j == NULL || path == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "no collector or path");
	if ((rv = junit_slurp(path, j->opts.max_bytes, &buf, &len, st)) == TB_OK)
		rv = tb_junit_add_memory(j, buf, len, path, stats, st);
	free(buf);
	return rv;
}

int tb_junit_stats_file(const char *path, const tb_junit_opts *opts,
                        tb_junit_file_stats *stats, tb_status *st)
{
	tb_arena *arena = NULL;
	tb_junit *j = NULL;
	int rv;

	if ((rv = tb_arena_alloc(&arena)) != TB_OK || (rv = tb_junit_alloc(arena, opts, &j)) != TB_OK) {
		tb_status_set(st, rv, "out of memory");
		goto out;
	}
	rv = tb_junit_add_file(j, path, stats, st);
out:
	tb_junit_free(j);
	tb_arena_free(arena);
	return rv;
}
