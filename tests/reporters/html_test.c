/* The HTML reporter over the bus, its page rendered by headless Chromium: DOM checked, screenshot taken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fixture.h"
#include "harness.h"

/* The Chromium flags for a quiet, offline, throw-away browser. */
#define CHROMIUM                                                                          \
	"timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "          \
	"--no-first-run --disable-background-networking --disable-component-update "         \
	"--disable-sync --user-data-dir='%s/chromium' --window-size=1280,2400"

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * The page loads nothing and runs nothing. Every '<' the page holds starts a
 * tag the reporter wrote (text is escaped), so each tag is checked for
 * elements and attributes that would load or run something, and the style
 * sheet for external references.
 */
static void check_self_contained(const char *html)
{
	static const char *const forbidden[] = { "<script", "<link", "<iframe", "<img", "<object",
		                                 "<embed", "<base", " src=", " href=", " on",
		                                 "javascript:" };
	for (const char *tag = strchr(html, '<'); tag != NULL; tag = strchr(tag + 1, '<')) {
		size_t len = strcspn(tag, ">");
		for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
			const char *hit = strcasestr(tag, forbidden[i]);
			if (hit != NULL && hit < tag + len)
				fail_msg("the page has %s in <%.*s>", forbidden[i], (int)len - 1, tag + 1);
		}
	}
	const char *style = strstr(html, "<style>");
	const char *style_end = strstr(html, "</style>");
	assert_non_null(style);
	assert_non_null(style_end);
	for (const char *p = style; p < style_end; p++)
		if (strncasecmp(p, "url(", 4) == 0 || strncasecmp(p, "@import", 7) == 0)
			fail_msg("the style sheet loads something");
	assert_non_null(strstr(html, "Content-Security-Policy\" content=\"default-src 'none'"));
}

static void check_dom(const char *dom)
{
	assert_non_null(strstr(dom, "<header id=\"run\" class=\"failed\">"));
	assert_non_null(strstr(dom, "<span class=\"run-id\">" FIX_RUN_ID "</span>"));
	assert_int_equal(count(dom, "<svg "), 3);
	assert_non_null(strstr(dom, "id=\"chart-totals\""));
	assert_non_null(strstr(dom, "id=\"chart-targets\""));
	assert_non_null(strstr(dom, "id=\"chart-durations\""));
	assert_int_equal(count(dom, "<rect class=\"part-"), 7); /* the stacked bars' segments */
	assert_int_equal(count(dom, "<tr class=\"target\">"), 3);
	assert_int_equal(count(dom, "<details class=\"failure\">"), FIX_FAILED + FIX_ERRORS);
	assert_int_equal(count(dom, "<tr class=\"finding\">"), 2);
	assert_non_null(strstr(dom, "<div class=\"card\" id=\"total-failed\"><b class=\"bad\">2</b>"));
	assert_non_null(strstr(dom, "<div class=\"card\" id=\"total-flaky\"><b class=\"warn\">2</b>"));
	assert_non_null(strstr(dom, "<section id=\"flaky\">"));
	assert_non_null(strstr(dom, FIX_FINDING_TITLE));
	/* Hostile text stayed text: the browser made no element of it. */
	assert_non_null(strstr(dom, "renders &lt;script&gt;alert('x')&lt;/script&gt; &amp; \"quotes\""));
	assert_non_null(strstr(dom, "&lt;img src=x onerror=alert(1)&gt;"));
	assert_null(strcasestr(dom, "<script"));
	assert_null(strstr(dom, "<b>not bold</b>"));
	assert_non_null(strstr(dom, "deletes a deployment \xe2\x9c\x93 (\xc3\xa9t\xc3\xa9)"));
}

static void test_page_in_chromium(void **state)
{
	rep_proc p;
	tb_arena *a = NULL;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	struct stat sb;
	(void)state;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	Testbus__V1__ReportInput *in = fixture_results(a);
	rep_start(&p, "html", "title: Nightly <e2e>\n", NULL);
	assert_int_equal(rep_initialize(&p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&p, in, &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	const Testbus__V1__Artifact *art = rep_artifact(out, "html");
	assert_string_equal(art->uri, rep_file(&p, "report.html"));
	assert_string_equal(art->media_type, "text/html");
	size_t len = 0;
	char *html = fixture_slurp(art->uri, &len);
	assert_int_equal(len, art->size);
	rep_no_secret("report.html", html, len);
	check_self_contained(html);
	assert_non_null(strstr(html, "<title>Nightly &lt;e2e&gt; - testbus run " FIX_RUN_ID " FAILED</title>"));
	/* The DOM as Chromium built it. */
	int rc = rep_sh(CHROMIUM " --dump-dom 'file://%s' > '%s/dom.html' 2> '%s/chromium.log'", p.dir,
	                art->uri, p.dir, p.dir);
	assert_int_equal(rc, 0);
	char dom_path[256];
	snprintf(dom_path, sizeof(dom_path), "%s/dom.html", p.dir);
	char *dom = fixture_slurp(dom_path, NULL);
	assert_non_null(dom);
	check_dom(dom);
	/* A screenshot: a PNG of some size. */
	char png[256];
	snprintf(png, sizeof(png), "%s/report.png", p.dir);
	rc = rep_sh(CHROMIUM " --screenshot='%s' 'file://%s' 2> '%s/chromium.log'", p.dir, png,
	            art->uri, p.dir);
	assert_int_equal(rc, 0);
	assert_int_equal(stat(png, &sb), 0);
	assert_true(sb.st_size > 20000);
	char *img = fixture_slurp(png, NULL);
	assert_memory_equal(img, "\x89PNG\r\n\x1a\n", 8);
	free(img);
	free(dom);
	free(html);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	rep_stop(&p);
	tb_arena_free(a);
}

/* A passing run with no analysis still makes a whole page. */
static void test_passing_page(void **state)
{
	rep_proc p;
	tb_arena *a = NULL;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	(void)state;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	rep_start(&p, "html", NULL, NULL);
	assert_int_equal(rep_initialize(&p, FIX_RUN_ID, &st), TB_OK);
	assert_int_equal(rep_report(&p, fixture_results_passing(a), &out, &st), TB_OK);
	char *html = fixture_slurp(out->artifacts[0]->uri, NULL);
	assert_non_null(strstr(html, "<header id=\"run\" class=\"passed\">"));
	assert_non_null(strstr(html, "No test failed."));
	assert_null(strstr(html, "id=\"analysis\""));
	assert_non_null(strstr(html, "</html>\n"));
	free(html);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	rep_stop(&p);
	tb_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_in_chromium),
		cmocka_unit_test(test_passing_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
