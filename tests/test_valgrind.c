/* test_valgrind.c - `kb serve` under valgrind (memcheck, --leak-check=full): the real
 * binary on a real site answers every kind of request, well-formed and hostile (paths
 * that climb out, bad escapes, oversized targets and bodies, broken JSON and forms,
 * requests cut off mid-way), goes through a damaged index being published and a good
 * build after it, then stops on SIGTERM; valgrind must report no error and no leak
 * (its exit status is the test's verdict, and its summary is checked too).
 * Skipped (77) without valgrind, and in the sanitizer build (KB_SANITIZE=1), where
 * AddressSanitizer does this job and the two cannot run together. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "httpc.h"
#include "util/util.h"

static char *tmp_dir, *site, *templates;
static int port;

static int status_of(const char *raw) {
  httpc_resp r;
  httpc_raw(NULL, port, raw, strlen(raw), 60, &r);
  int st = r.status;
  httpc_resp_free(&r);
  return st;
}

static void expect(const char *raw, int want) {
  int got = status_of(raw);
  if (got != want) harness_fail(__FILE__, __LINE__, "[%.60s]: status %d, want %d", raw, got, want);
}

static char *post(const char *target, const char *ctype, const char *body) {
  return kb_xasprintf("POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                      target, ctype, strlen(body), body);
}

static void expect_post(const char *target, const char *ctype, const char *body, int want) {
  char *req = post(target, ctype, body);
  expect(req, want);
  free(req);
}

#define GET(t) "GET " t " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

static void well_formed(void) {
  expect(GET("/"), 200);
  expect(GET("/style.css"), 200);
  expect(GET("/incidents/kb2887595-mslbfoprovider-bugcheck/"), 200);
  expect("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Encoding: gzip\r\n\r\n", 200);
  expect("HEAD /api/search?q=vmqc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200);
  expect(GET("/api/search?q=vmqc"), 200);
  expect(GET("/api/search?q=VMQ+live+migra&limit=3&offset=1"), 200);
  expect(GET("/search?q=live+migration"), 200);
  expect(GET("/search?q=nt%21KeBugCheckEx%0AMsLbfoProvider%21vmqcGetFirstMappedMNic%2B0x42"), 200);
  expect(GET("/api/incidents/kb-0001"), 200);
  expect(GET("/api/generation"), 200);
  expect(GET("/healthz"), 200);
  expect(GET("/match"), 200);
  const char *stack = "nt!KeBugCheckEx\nnt!KiPageFault+0x260\nMsLbfoProvider!vmqcGetFirstMappedMNic+0x42\n";
  expect_post("/api/match", "text/plain", stack, 200);
  expect_post("/api/match", "application/json", "{\"stack\": \"nt!KeBugCheckEx\\nMsLbfoProvider!vmqcGetFirstMappedMNic\"}", 200);
  expect_post("/match", "application/x-www-form-urlencoded", "stack=nt%21KeBugCheckEx%0Afoo%21bar%2B0x1", 200);
  expect_post("/match", "multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"stack\"\r\n\r\n"
              "nt!KeBugCheckEx\r\n--XyZ--\r\n", 200);
}

static void hostile(void) {
  expect(GET("/../etc/passwd"), 404);
  expect(GET("/%2e%2e/%2e%2e/etc/passwd"), 404);
  expect(GET("/index.html%00.css"), 404);
  expect(GET("/a\\..\\b"), 404);
  expect(GET("/api/search?q=%zz"), 400);
  expect(GET("/api/search?q=%C3%28"), 400);
  expect(GET("/api/search?q=a&limit=999999999999999999999"), 400);
  expect(GET("/api/incidents/%00"), 404);
  expect(GET("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"), 200);
  expect(GET("/api/search?q=%22%20OR%20*%20NEAR(%22"), 200);
  expect("DELETE /api/search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405);
  expect_post("/api/match", "application/json", "{\"stack\": ", 400);
  expect_post("/api/match", "application/json", "[1,2,3]", 400);
  expect_post("/api/match", "text/plain", "\xff\xfe not utf-8", 400);
  expect_post("/api/match", "image/png", "x", 415);
  /* a form that never ends, and a boundary libmicrohttpd refuses (one character): 400 */
  expect_post("/match", "multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"stack\"\r\n\r\nno end", 200);
  expect_post("/match", "multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"stack\"\r\n\r\nx\r\n--B--\r\n", 400);
  /* a target above 32 KiB, a body above the limit (announced, and not announced) */
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "GET /api/search?q=");
  for (int i = 0; i < 40000; i++) kb_buf_addc(&b, 'a');
  kb_buf_adds(&b, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  expect(b.ptr, 414);
  kb_buf_reset(&b);
  kb_buf_adds(&b, "POST /api/match HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                  "Content-Length: 5000000\r\n\r\nnt!KeBugCheckEx\n");
  expect(b.ptr, 413);
  kb_buf_reset(&b);
  kb_buf_adds(&b, "POST /api/match HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 1200; i++) kb_buf_addf(&b, "400\r\n%01024d\r\n", 0);
  kb_buf_adds(&b, "0\r\n\r\n");
  expect(b.ptr, 413);
  kb_buf_release(&b);
  /* garbage, and requests cut off mid-way: headers, then a body */
  httpc_resp r;
  const char *junk = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n";
  httpc_raw(NULL, port, junk, strlen(junk), 60, &r);
  httpc_resp_free(&r);
  const char *cuts[] = {"GET /api/search?q=vm", "GET / HTTP/1.1\r\nHost: x\r\nX-Half: ",
                        "POST /api/match HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nnt!Ke"};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    int fd = httpc_connect(NULL, port, 10);
    if (fd >= 0) send(fd, cuts[i], strlen(cuts[i]), MSG_NOSIGNAL), close(fd);
  }
  /* keep-alive: two requests on one connection */
  const char *two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/generation HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  httpc_raw(NULL, port, two, strlen(two), 60, &r);
  CHECK(r.status == 200 && r.body && strstr(r.body, "HTTP/1.1 200"));
  httpc_resp_free(&r);
}

/* A damaged index published (kept out), then a good build (taken). */
static void reloads(void) {
  char *file = kb_path_join(site, "kb.sqlite"), *next = kb_path_join(site, ".next");
  harness_write_file(next, "not an index at all");
  CHECK(rename(next, file) == 0);
  expect(GET("/api/search?q=vmqc"), 200);
  char *content = kb_path_join(harness_source_dir(), "content");
  CHECK(harness_kb_build(content, site) == 0);
  expect(GET("/api/search?q=vmqc"), 200);
  expect(GET("/search?q=vmqc"), 200);
  free(content);
  free(next);
  free(file);
}

static void test_serve_under_valgrind(void) {
  const char *san = getenv("KB_SANITIZE");
  if (san && (strcmp(san, "1") == 0 || strcasecmp(san, "ON") == 0 || strcasecmp(san, "true") == 0)) {
    harness_skip("sanitizer build: AddressSanitizer checks the server there");
    return;
  }
  if (harness_run_cmd("valgrind --version", NULL, NULL) != 0) {
    harness_skip("valgrind is not installed (scripts/deps --test installs it)");
    return;
  }
  tmp_dir = harness_tmpdir("valgrind");
  site = kb_path_join(tmp_dir, "public");
  templates = kb_path_join(harness_source_dir(), "templates");
  char *content = kb_path_join(harness_source_dir(), "content");
  CHECK(harness_kb_build(content, site) == 0);
  const char *argv[] = {"/usr/bin/valgrind", "--error-exitcode=1", "--leak-check=full", "--errors-for-leak-kinds=all",
                        "--show-leak-kinds=all", "-q", harness_kb_binary(), "serve", "--no-build", "--site", site,
                        "--templates", templates, "--port", "0", "--log", "off", NULL};
  kbserve s;
  if (!kbserve_start(&s, tmp_dir, "valgrind", argv, 120)) {
    char *err = kbserve_stderr(&s);
    harness_fail(__FILE__, __LINE__, "kb serve under valgrind did not start:\n%s", err);
    free(err);
  } else {
    port = s.port;
    well_formed();
    hostile();
    reloads();
    well_formed();
    int rc = kbserve_stop(&s, 120);
    char *err = kbserve_stderr(&s);
    if (rc != 0) harness_fail(__FILE__, __LINE__, "valgrind exit status %d (1 = errors or leaks found):\n%s", rc, err);
    if (strstr(err, "==") && strstr(err, "ERROR SUMMARY") && !strstr(err, "ERROR SUMMARY: 0 errors"))
      harness_fail(__FILE__, __LINE__, "valgrind reported errors:\n%s", err);
    free(err);
  }
  kbserve_release(&s);
  free(content);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  RUN(test_serve_under_valgrind);
  free(tmp_dir);
  free(site);
  free(templates);
  return harness_done();
}
