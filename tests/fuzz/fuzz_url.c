/* fuzz_url.c - libFuzzer harness for the server's decoding of what clients send
 * (server/url.c): request paths (percent-decoding, absolute form, the traversal and
 * hidden-name checks), query parameters, percent-encoding, UTF-8 checks and cuts,
 * Accept-Encoding, If-None-Match, HTTP dates, numbers, and content types (static.c).
 *
 * Why: these pure functions stand between every request and the file system; a path
 * they let through is a file served. Besides memory errors the harness checks:
 *  - a decoded path starts with '/', holds no control byte or backslash and no segment
 *    starting with '.', and encoding it and decoding it again gives it back;
 *  - a decoded parameter holds no NUL and survives the same round trip;
 *  - kb_srv_utf8_valid agrees with the content loader's kb_utf8_valid, and a cut
 *    is never longer than asked and never splits a character of valid text.
 *
 * The input is a request target as libmicrohttpd hands it over: a C string (cut at the
 * first NUL), cut at KB_SERVER_MAX_URL as server.c's on_uri cuts it; the query is what
 * follows its first '?', as on_uri finds it. The same string is also fed to the header
 * parsers, which get C strings from libmicrohttpd too. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"
#include "util/text.h"
#include "util/util.h"

static void check_path(const char *target) {
  char *path = NULL;
  int rc = kb_srv_url_path(target, &path);
  if (rc != 0 && rc != 400 && rc != 404) abort();
  if (rc != 0) {
    if (path) abort();
    return;
  }
  if (path[0] != '/') abort();
  for (const char *p = path; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\' || (*p == '.' && p[-1] == '/')) abort();
  kb_buf enc = KB_BUF_INIT;
  kb_srv_url_encode(&enc, path, true);
  char *again = NULL;
  if (kb_srv_url_path(enc.ptr, &again) != 0 || strcmp(again, path) != 0) abort();
  free(again);
  kb_buf_release(&enc);
  (void)kb_srv_mime_type(path);
  free(path);
}

static void check_param(const char *query, const char *name) {
  char *v = NULL;
  int rc = kb_srv_url_param(query, name, &v);
  if (rc != 0) {
    if (v || (rc != 1 && rc != -1)) abort();
    return;
  }
  kb_buf q = KB_BUF_INIT;
  kb_buf_addf(&q, "%s=", name);
  kb_srv_url_encode(&q, v, false);
  char *again = NULL;
  if (kb_srv_url_param(q.ptr, name, &again) != 0 || strcmp(again, v) != 0) abort();
  free(again);
  kb_buf_release(&q);
  long n;
  if (kb_srv_parse_int(v, 0, 10000, &n) && (n < 0 || n > 10000)) abort();
  size_t len = strlen(v);
  bool valid = kb_srv_utf8_valid(v, len);
  if (valid != kb_utf8_valid(v, len, NULL)) abort();
  for (size_t max = 0; max <= len; max += 1 + max / 2) {
    size_t cut = kb_srv_utf8_cut(v, len, max);
    if (cut > max || (valid && !kb_srv_utf8_valid(v, cut))) abort();
  }
  free(v);
}

static void check_headers(const char *s) {
  (void)kb_srv_accepts_gzip(s);
  (void)kb_srv_etag_match(s, "\"5f3a-1c2b\"");
  (void)kb_srv_etag_match(s, "W/\"5f3a-1c2b\"");
  long long t = kb_srv_http_date_parse(s);
  if (t >= 0) {
    char buf[64];
    kb_srv_http_date(t, buf, sizeof buf);
  }
  long n;
  (void)kb_srv_parse_int(s, 0, 1L << 60, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > KB_SERVER_MAX_URL) size = KB_SERVER_MAX_URL;
  char *target = kb_xstrndup((const char *)data, size);
  check_path(target);
  const char *q = strchr(target, '?');
  static const char *const names[] = {"q", "offset", "limit", "tag", "category", "stack"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) check_param(q ? q + 1 : "", names[i]);
  check_headers(target);
  free(target);
  return 0;
}
