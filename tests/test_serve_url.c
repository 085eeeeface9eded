/* test_serve_url.c - the server's decoding of what clients send (server/url.c), without
 * a server: request paths (traversal, NUL, backslashes, bad escapes), query
 * parameters, UTF-8 checks and cuts, Accept-Encoding, If-None-Match, HTTP dates, and
 * the content types of the site's files. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"
#include "util/util.h"

static void expect_path(const char *target, int status, const char *want) {
  char *out = NULL;
  int rc = kb_srv_url_path(target, &out);
  if (rc != status) harness_fail(__FILE__, __LINE__, "%s: status %d, want %d", target, rc, status);
  else if (want) CHECK_STR(out, want);
  free(out);
}

static void test_paths(void) {
  expect_path("/", 0, "/");
  expect_path("/incidents/a-b/", 0, "/incidents/a-b/");
  expect_path("/search?q=x", 0, "/search");
  expect_path("/a%20b", 0, "/a b");
  expect_path("/%E2%9C%93", 0, "/\xe2\x9c\x93");
  expect_path("http://host/x?y", 0, "/x");
  expect_path("https://host", 0, "/");
  expect_path("/a/b.c/d", 0, "/a/b.c/d");
  /* no way out, and nothing hidden */
  expect_path("/../etc/passwd", 404, NULL);
  expect_path("/a/..", 404, NULL);
  expect_path("/%2e%2e/x", 404, NULL);
  expect_path("/%2E%2e%2fx", 404, NULL);
  expect_path("/..%2fetc", 404, NULL);
  expect_path("/.git/config", 404, NULL);
  expect_path("/./x", 404, NULL);
  expect_path("/a\\..\\b", 404, NULL);
  expect_path("/a%5cb", 404, NULL);
  expect_path("/x%00.html", 404, NULL);
  expect_path("/x%0a", 404, NULL);
  expect_path("/x%7f", 404, NULL);
  /* malformed */
  expect_path("/%", 400, NULL);
  expect_path("/%4", 400, NULL);
  expect_path("/%zz", 400, NULL);
  expect_path("x", 400, NULL);
  expect_path("*", 400, NULL);
}

static void expect_param(const char *query, const char *name, int rc_want, const char *want) {
  char *out = NULL;
  int rc = kb_srv_url_param(query, name, &out);
  if (rc != rc_want) harness_fail(__FILE__, __LINE__, "%s in [%s]: rc %d, want %d", name, query, rc, rc_want);
  else if (want) CHECK_STR(out, want);
  free(out);
}

static void test_params(void) {
  expect_param("q=a+b&limit=5", "q", 0, "a b");
  expect_param("q=a+b&limit=5", "limit", 0, "5");
  expect_param("qq=1&q=2", "q", 0, "2");
  expect_param("q", "q", 0, "");
  expect_param("q=", "q", 0, "");
  expect_param("q=%3Cscript%3E", "q", 0, "<script>");
  expect_param("q=a%26b&x=1", "q", 0, "a&b");
  expect_param("q=1;offset=3", "offset", 0, "3");
  expect_param("x=1", "q", 1, NULL);
  expect_param("", "q", 1, NULL);
  expect_param("q=%00", "q", -1, NULL);
  expect_param("q=%g0", "q", -1, NULL);
  expect_param("q=%", "q", -1, NULL);
}

static void test_encode(void) {
  kb_buf b = KB_BUF_INIT;
  kb_srv_url_encode(&b, "a b&c/d\"<", false);
  CHECK_STR(b.ptr, "a%20b%26c%2Fd%22%3C");
  kb_buf_reset(&b);
  kb_srv_url_encode(&b, "incidents/a b/", true);
  CHECK_STR(b.ptr, "incidents/a%20b/");
  kb_buf_release(&b);
}

static void test_utf8(void) {
  CHECK(kb_srv_utf8_valid("plain", 5));
  CHECK(kb_srv_utf8_valid("\xc3\xa9\xe2\x9c\x93\xf0\x9f\x92\xa5", 9));
  CHECK(!kb_srv_utf8_valid("\xff", 1));
  CHECK(!kb_srv_utf8_valid("\xc3", 1));           /* cut short */
  CHECK(!kb_srv_utf8_valid("\xc0\xaf", 2));       /* overlong '/' */
  CHECK(!kb_srv_utf8_valid("\xe0\x80\xaf", 3));   /* overlong */
  CHECK(!kb_srv_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
  CHECK(!kb_srv_utf8_valid("\xf4\x90\x80\x80", 4)); /* beyond U+10FFFF */
  const char *s = "ab\xc3\xa9";
  CHECK(kb_srv_utf8_cut(s, 4, 3) == 2); /* never inside the é */
  CHECK(kb_srv_utf8_cut(s, 4, 4) == 4);
  CHECK(kb_srv_utf8_cut(s, 4, 10) == 4);
}

static void test_accept_encoding(void) {
  CHECK(kb_srv_accepts_gzip("gzip"));
  CHECK(kb_srv_accepts_gzip("br, gzip;q=0.5, deflate"));
  CHECK(kb_srv_accepts_gzip("GZIP"));
  CHECK(kb_srv_accepts_gzip("*"));
  CHECK(kb_srv_accepts_gzip("x-gzip"));
  CHECK(!kb_srv_accepts_gzip(NULL));
  CHECK(!kb_srv_accepts_gzip(""));
  CHECK(!kb_srv_accepts_gzip("br, deflate"));
  CHECK(!kb_srv_accepts_gzip("gzip;q=0"));
  CHECK(!kb_srv_accepts_gzip("gzip; q=0.000"));
  CHECK(!kb_srv_accepts_gzip("gzipx"));
}

static void test_etags(void) {
  CHECK(kb_srv_etag_match("\"abc\"", "\"abc\""));
  CHECK(kb_srv_etag_match("W/\"abc\"", "\"abc\""));
  CHECK(kb_srv_etag_match("\"x\", \"abc\"", "\"abc\""));
  CHECK(kb_srv_etag_match("*", "\"abc\""));
  CHECK(!kb_srv_etag_match("\"abcd\"", "\"abc\""));
  CHECK(!kb_srv_etag_match("\"ab\"", "\"abc\""));
  CHECK(!kb_srv_etag_match(NULL, "\"abc\""));
  CHECK(!kb_srv_etag_match("", "\"abc\""));
}

static void test_dates(void) {
  char buf[40];
  kb_srv_http_date(784111777, buf, sizeof buf);
  CHECK_STR(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(kb_srv_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
  CHECK(kb_srv_http_date_parse("yesterday") == -1);
  CHECK(kb_srv_http_date_parse(NULL) == -1);
  CHECK(kb_srv_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT trailing") == -1);
  long v;
  CHECK(kb_srv_parse_int("42", 0, 100, &v) && v == 42);
  CHECK(!kb_srv_parse_int("-1", 0, 100, &v));
  CHECK(!kb_srv_parse_int("101", 0, 100, &v));
  CHECK(!kb_srv_parse_int("1e3", 0, 10000, &v));
  CHECK(!kb_srv_parse_int("", 0, 100, &v));
  CHECK(!kb_srv_parse_int("99999999999999999999999", 0, 100, &v));
}

static void test_mime_types(void) {
  CHECK_STR(kb_srv_mime_type("index.html"), "text/html; charset=utf-8");
  CHECK_STR(kb_srv_mime_type("/a/style.CSS"), "text/css; charset=utf-8");
  CHECK_STR(kb_srv_mime_type("/feed.xml"), "application/atom+xml; charset=utf-8");
  CHECK_STR(kb_srv_mime_type("/sitemap.xml"), "application/xml; charset=utf-8");
  CHECK_STR(kb_srv_mime_type("/kb-live.js"), "text/javascript; charset=utf-8");
  CHECK_STR(kb_srv_mime_type("/kb.sqlite"), "application/vnd.sqlite3");
  CHECK_STR(kb_srv_mime_type("/a.b/noext"), "application/octet-stream");
  CHECK_STR(kb_srv_mime_type("/x.exe"), "application/octet-stream");
  CHECK(kb_srv_compressible("text/html; charset=utf-8"));
  CHECK(kb_srv_compressible("application/json"));
  CHECK(!kb_srv_compressible("image/png"));
}

int main(void) {
  RUN(test_paths);
  RUN(test_params);
  RUN(test_encode);
  RUN(test_utf8);
  RUN(test_accept_encoding);
  RUN(test_etags);
  RUN(test_dates);
  RUN(test_mime_types);
  return harness_done();
}
