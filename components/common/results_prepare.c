/* Making a run's results fit to leave the machine: secrets redacted, text cleaned, times and names formatted. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "results_json.h"

/* --- text cleaning --- */

/* Length of the terminal escape sequence at s[0] == ESC (at most len). */
static size_t prepare_escape_len(const unsigned char *s, size_t len)
{
	size_t i = 1;
	if (len < 2)
		return 1;
	if (s[1] == '[') { /* CSI: parameters, intermediates, one final byte */
		for (i = 2; i < len && s[i] >= 0x20 && s[i] <= 0x3f; i++)
			;
		return i < len && s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : i;
	}
	if (s[1] == ']') { /* OSC: up to BEL or ESC \ */
		for (i = 2; i < len; i++) {
			if (s[i] == 0x07)
				return i + 1;
			if (s[i] == 0x1b && i + 1 < len && s[i + 1] == '\\')
				return i + 2;
		}
		return len;
	}
	return 2;
}

/*
 * Length of the valid UTF-8 sequence at s, with its code point in *cpp; 0 when
 * the bytes there are not one (overlong, surrogate, beyond U+10FFFF, cut).
 */
static size_t prepare_utf8_len(const unsigned char *s, size_t len, unsigned *cpp)
{
	static const unsigned mins[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (n == 0 || s[0] > 0xf4 || n > len)
		return 0;
	unsigned cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < mins[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cpp = cp;
	return n;
}

/* Appends n bytes to out (when not NULL) at *posp. */
static void prepare_put(char *out, size_t *posp, const void *p, size_t n)
{
	if (out != NULL)
		memcpy(out + *posp, p, n);
	*posp += n;
}

/*
 * Cleans len bytes of s into out (which may be NULL to measure) and returns
 * the length written: valid UTF-8 without control characters other than tab
 * and newline; CR LF and lone CR become newline; escapes are dropped.
 */
static size_t prepare_clean(const unsigned char *s, size_t len, char *out)
{
	static const char replacement[] = "\xef\xbf\xbd";
	size_t pos = 0;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		unsigned cp = 0;
		size_t n;
		if (c == 0x1b) {
			i += prepare_escape_len(s + i, len - i);
		} else if (c == '\r') {
			i += i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
			prepare_put(out, &pos, "\n", 1);
		} else if (c == '\t' || c == '\n' || (c >= 0x20 && c < 0x7f)) {
			prepare_put(out, &pos, s + i++, 1);
		} else if (c < 0x80) {
			i++; /* other C0 controls and DEL */
		} else if ((n = prepare_utf8_len(s + i, len - i, &cp)) == 0) {
			prepare_put(out, &pos, replacement, 3);
			i++;
		} else if (cp < 0xa0) {
			i += n; /* C1 controls */
		} else if (cp == 0xfffe || cp == 0xffff) {
			prepare_put(out, &pos, replacement, 3);
			i += n;
		} else {
			prepare_put(out, &pos, s + i, n);
			i += n;
		}
	}
	return pos;
}

char *tb_results_clean_text(tb_arena *a, const char *s, size_t len)
{
	if (s == NULL)
		return tb_arena_strdup(a, "");
	size_t n = prepare_clean((const unsigned char *)s, len, NULL);
	char *out = tb_arena_zalloc(a, n + 1);
	if (out != NULL)
		prepare_clean((const unsigned char *)s, len, out);
	return out;
}

/* --- the redacted deep copy --- */

typedef struct prepare_ctx {
	const tb_redactor *r;
	tb_arena *a;
} prepare_ctx;

static int prepare_message(prepare_ctx *p, ProtobufCMessage *m);

/* A cleaned, redacted arena copy of s; NULL when out of memory. */
static char *prepare_string(prepare_ctx *p, const char *s)
{
	if (s == NULL)
		s = "";
	if (p->r == NULL)
		return tb_results_clean_text(p->a, s, strlen(s));
	char *red = tb_redact_str(p->r, s, NULL);
	if (red == NULL)
		return NULL;
	char *out = tb_results_clean_text(p->a, red, strlen(red));
	free(red);
	return out;
}

/* Redacts bytes that read as text; binary data (with a NUL) is kept as is. */
static int prepare_bytes(prepare_ctx *p, ProtobufCBinaryData *b, const char *field)
{
	if (strcmp(field, "kubeconfig") == 0) {
		b->data = NULL;
		b->len = 0;
		return TB_OK;
	}
	if (p->r == NULL || b->len == 0 || memchr(b->data, 0, b->len) != NULL)
		return TB_OK;
	char *red = tb_redact(p->r, (const char *)b->data, b->len, NULL);
	if (red == NULL)
		return TB_RESOURCE_EXHAUSTED;
	size_t n = strlen(red);
	b->data = tb_arena_memdup(p->a, red, n);
	b->len = n;
	free(red);
	return b->data != NULL ? TB_OK : TB_RESOURCE_EXHAUSTED;
}

/* Prepares element i of the field at member (an array when repeated). */
static int prepare_element(prepare_ctx *p, const ProtobufCFieldDescriptor *f, void *member,
                           size_t i)
{
	bool rep = f->label == PROTOBUF_C_LABEL_REPEATED;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		char **sp = rep ? &(*(char ***)member)[i] : (char **)member;
		*sp = prepare_string(p, *sp);
		return *sp != NULL ? TB_OK : TB_RESOURCE_EXHAUSTED;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return prepare_bytes(
		    p, rep ? &(*(ProtobufCBinaryData **)member)[i] : (ProtobufCBinaryData *)member,
		    f->name);
	case PROTOBUF_C_TYPE_MESSAGE: {
		ProtobufCMessage *sub = rep ? (*(ProtobufCMessage ***)member)[i]
		                            : *(ProtobufCMessage **)member;
		return sub != NULL ? prepare_message(p, sub) : TB_OK;
	}
	default:
		return TB_OK;
	}
}

/* Walks every string, bytes and message field of m, by its descriptor. */
static int prepare_message(prepare_ctx *p, ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned k = 0; k < d->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &d->fields[k];
		char *base = (char *)m;
		size_t n = 1;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(size_t *)(base + f->quantifier_offset);
		}
		for (size_t i = 0; i < n; i++) {
			int rv = prepare_element(p, f, base + f->offset, i);
			if (rv != TB_OK)
				return rv;
		}
	}
	return TB_OK;
}

int tb_results_prepare(const Testbus__V1__ReportInput *in, const tb_redactor *r, tb_arena *a,
                       Testbus__V1__ReportInput **outp, tb_status *st)
{
	Testbus__V1__ReportInput *out = NULL;
	ProtobufCAllocator alloc = tb_arena_allocator(a);
	size_t len = protobuf_c_message_get_packed_size(&in->base);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	int rv = TB_OK;
	if (buf == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "results: out of memory");
		goto out;
	}
	protobuf_c_message_pack(&in->base, buf);
	out = testbus__v1__report_input__unpack(&alloc, len, buf);
	if (out == NULL) {
		rv = tb_status_set(st, TB_INTERNAL, "results: the report does not copy");
		goto out;
	}
	prepare_ctx p = { .r = r, .a = a };
	if ((rv = prepare_message(&p, &out->base)) != TB_OK)
		tb_status_set(st, rv, "results: out of memory while redacting");
out:
	free(buf);
	*outp = rv == TB_OK ? out : NULL;
	return rv;
}

/* --- names, times, summaries, files --- */

const char *tb_results_status_name(Testbus__V1__TestStatus status)
{
	static const char *const names[] = {
		[TESTBUS__V1__TEST_STATUS__TEST_PASSED] = "passed",
		[TESTBUS__V1__TEST_STATUS__TEST_FAILED] = "failed",
		[TESTBUS__V1__TEST_STATUS__TEST_ERROR] = "error",
		[TESTBUS__V1__TEST_STATUS__TEST_SKIPPED] = "skipped",
	};
	unsigned i = (unsigned)status;
	return i < sizeof(names) / sizeof(names[0]) && names[i] != NULL ? names[i] : "unknown";
}

const char *tb_results_severity_name(Testbus__V1__Severity severity)
{
	static const char *const names[] = {
		[TESTBUS__V1__SEVERITY__SEVERITY_INFO] = "info",
		[TESTBUS__V1__SEVERITY__SEVERITY_LOW] = "low",
		[TESTBUS__V1__SEVERITY__SEVERITY_MEDIUM] = "medium",
		[TESTBUS__V1__SEVERITY__SEVERITY_HIGH] = "high",
		[TESTBUS__V1__SEVERITY__SEVERITY_CRITICAL] = "critical",
	};
	unsigned i = (unsigned)severity;
	return i < sizeof(names) / sizeof(names[0]) && names[i] != NULL ? names[i] : "unknown";
}

char *tb_results_format_time(int64_t ms, char *buf, size_t n)
{
	if (n > 0)
		buf[0] = '\0';
	if (ms == 0 || n < 25)
		return buf;
	int64_t secs = ms / 1000;
	int64_t frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	time_t t = (time_t)secs;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		return buf;
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03dZ", (int)frac);
	return buf;
}

/* Parses ".ddd" (any number of digits) into milliseconds; returns the end. */
static const char *prepare_fraction(const char *p, int64_t *msp)
{
	int64_t ms = 0;
	int scale = 100;
	if (*p != '.')
		return p;
	for (p++; *p >= '0' && *p <= '9'; p++) {
		ms += (*p - '0') * scale;
		scale /= 10;
	}
	*msp = ms;
	return p;
}

int tb_results_parse_time(const char *text, int64_t *msp)
{
	struct tm tm = { 0 };
	int used = 0;
	int64_t frac = 0;
	int oh = 0, om = 0;
	if (text == NULL || sscanf(text, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year,
	                           &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	                           &used) != 6 || used != 19)
		return TB_INVALID_ARGUMENT;
	const char *p = prepare_fraction(text + used, &frac);
	int sign = *p == '+' ? 1 : *p == '-' ? -1 : 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		sign = 0;
	else if (sign == 0 || sscanf(p + 1, "%2d:%2d%n", &oh, &om, &used) != 2 || used != 5 ||
	         p[6] != '\0')
		return TB_INVALID_ARGUMENT;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || oh > 23 || om > 59)
		return TB_INVALID_ARGUMENT;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t secs = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	*msp = secs * 1000 + frac;
	return TB_OK;
}

void tb_results_add_summary(Testbus__V1__ResultSummary *sum,
                            const Testbus__V1__ResultSummary *add)
{
	if (add == NULL)
		return;
	sum->total += add->total;
	sum->passed += add->passed;
	sum->failed += add->failed;
	sum->errors += add->errors;
	sum->skipped += add->skipped;
	sum->flaky += add->flaky;
}

void tb_results_phase_summary(const Testbus__V1__PhaseReport *ph,
                              Testbus__V1__ResultSummary *sum)
{
	for (size_t i = 0; i < ph->n_targets; i++) {
		const Testbus__V1__ExecutionResult *res = ph->targets[i]->result;
		if (res != NULL)
			tb_results_add_summary(sum, res->summary);
	}
}

void tb_results_run_summary(const Testbus__V1__ReportInput *in,
                            Testbus__V1__ResultSummary *sum)
{
	if (in->summary != NULL) {
		tb_results_add_summary(sum, in->summary);
		return;
	}
	for (size_t i = 0; i < in->n_phases; i++)
		tb_results_phase_summary(in->phases[i], sum);
}

/* The status code for an errno value met on a file. */
static int prepare_errno_code(int err)
{
	return err == ENOENT || err == ENOTDIR ? TB_NOT_FOUND
	       : err == EACCES || err == EPERM ? TB_PERMISSION_DENIED
	       : err == ENOSPC || err == EFBIG ? TB_RESOURCE_EXHAUSTED
	                                       : TB_INTERNAL;
}

int tb_results_slurp(const char *path, size_t max, char **textp, size_t *lenp, tb_status *st)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	int rv = TB_OK;
	if (f == NULL || fstat(fileno(f), &sb) != 0) {
		rv = tb_status_set(st, prepare_errno_code(errno), "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	/* One byte more than the size shows a file that grew meanwhile. */
	if ((buf = malloc((size_t)sb.st_size + 2)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "%s: out of memory", path);
		goto out;
	}
	len = fread(buf, 1, (size_t)sb.st_size + 1, f);
	if (ferror(f))
		rv = tb_status_set(st, TB_INTERNAL, "%s: read error", path);
	else if (len > (size_t)sb.st_size)
		rv = tb_status_set(st, TB_ABORTED, "%s: changed while being read", path);
	else
		buf[len] = '\0';
out:
	if (f != NULL)
		fclose(f);
	if (rv != TB_OK) {
		free(buf);
		buf = NULL;
	}
	*textp = buf;
	if (lenp != NULL)
		*lenp = rv == TB_OK ? len : 0;
	return rv;
}

/* Writes all of data to fd; returns 0 or an errno value. */
static int prepare_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		data += n;
		len -= (size_t)n;
	}
	return fsync(fd) == 0 ? 0 : errno;
}

int tb_results_write_text(const char *path, const char *data, size_t len, tb_status *st)
{
	char tmp[4096];
	int fd = -1;
	int err = 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	if ((err = prepare_write_all(fd, data, len)) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		err = errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		err = errno;
out:
	if (fd >= 0)
		close(fd);
	if (err == 0)
		return TB_OK;
	unlink(tmp);
	return tb_status_set(st, prepare_errno_code(err), "%s: %s", path, strerror(err));
}
