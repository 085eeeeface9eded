/* test_serve.c - `kb serve` over real HTTP on loopback. The test builds a site from
 * the repository's content (plus a hostile incident), starts the kb binary on a free
 * port (--port 0, the port read back from its first line of output) and talks to it
 * with a small socket client of its own: every route, each error status, the hostile
 * search inputs and traversal paths listed below, conditional requests, HEAD and
 * gzip, a concurrent burst, a rebuild swapped in under load, 503 when connections run
 * out, --watch rebuilding and reloading, and a clean stop on SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "httpc.h"
#include "util/util.h"

/* ---------------------------------------------------------------- the client */

/* The shared loopback client (harness/httpc.h), bodies de-chunked. */
typedef httpc_resp resp;
#define resp_free httpc_resp_free
#define header httpc_header

static int connect_port(int port) { return httpc_connect(NULL, port, 30); }

/* Send a whole raw request on a new connection and read the answer until close. */
static bool http_raw(int port, const char *req, size_t n, resp *r) {
  bool ok = httpc_raw(NULL, port, req, n, 30, r);
  httpc_dechunk(r);
  return ok;
}

static int server_port; /* the main server's */

static bool http(const char *method, const char *target, const char *headers, const char *body, size_t blen,
                 resp *r) {
  kb_buf req = KB_BUF_INIT;
  kb_buf_addf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, target,
              headers ? headers : "");
  if (body) kb_buf_addf(&req, "Content-Length: %zu\r\n", blen);
  kb_buf_adds(&req, "\r\n");
  if (body) kb_buf_add(&req, body, blen);
  bool ok = http_raw(server_port, req.ptr, req.len, r);
  kb_buf_release(&req);
  return ok;
}

static bool get(const char *target, resp *r) { return http("GET", target, NULL, NULL, 0, r); }

static void url_encode(kb_buf *b, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
      kb_buf_addc(b, (char)*p);
    else
      kb_buf_addf(b, "%%%02X", *p);
  }
}

static char *target_with_q(const char *path, const char *q) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, path);
  kb_buf_adds(&b, "?q=");
  url_encode(&b, q);
  return kb_buf_detach(&b, NULL);
}

/* ---------------------------------------------------------------- the server */

static char *tmp_dir, *site_dir, *content_dir, *access_log;

typedef struct server {
  pid_t pid;
  int port;
  char *out, *err;
} server;

static server main_server;
static pid_t live_pids[8];

static void kill_leftovers(void) {
  for (size_t i = 0; i < sizeof live_pids / sizeof live_pids[0]; i++)
    if (live_pids[i] > 0) kill(live_pids[i], SIGKILL);
}

static void track_pid(pid_t pid, bool add) {
  for (size_t i = 0; i < sizeof live_pids / sizeof live_pids[0]; i++)
    if (add ? live_pids[i] == 0 : live_pids[i] == pid) {
      live_pids[i] = add ? pid : 0;
      return;
    }
}

/* Start `kb serve ARGS...`; stdout and stderr go to files; the port is read from the
 * "listening on http://127.0.0.1:PORT/" line. */
static bool server_start(server *s, const char *name, const char *const *args) {
  memset(s, 0, sizeof *s);
  s->out = kb_xasprintf("%s/%s.out", tmp_dir, name);
  s->err = kb_xasprintf("%s/%s.err", tmp_dir, name);
  const char *argv[32] = {harness_kb_binary(), "serve"};
  int n = 2;
  for (const char *const *a = args; *a && n < 30; a++) argv[n++] = *a;
  argv[n] = NULL;
  fflush(NULL); /* or the child's freopen writes this process's buffered output again */
  pid_t pid = fork();
  if (pid == 0) {
    FILE *o = freopen(s->out, "w", stdout), *e = freopen(s->err, "w", stderr);
    if (o && e) execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  s->pid = pid;
  track_pid(pid, true);
  for (int i = 0; i < 3000 && s->port == 0; i++) { /* up to 60 s: a sanitizer build starts slowly */
    char *text = harness_read_file(s->out, NULL);
    const char *at = text ? strstr(text, "listening on http://127.0.0.1:") : NULL;
    if (at) s->port = atoi(at + strlen("listening on http://127.0.0.1:"));
    free(text);
    if (s->port == 0) {
      if (waitpid(pid, NULL, WNOHANG) == pid) break;
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  if (s->port == 0) {
    char *err = harness_read_file(s->err, NULL);
    harness_fail(__FILE__, __LINE__, "kb serve did not start: %s", err ? err : "");
    free(err);
  }
  return s->port != 0;
}

/* SIGTERM, then the exit status (-1 when it had to be killed). */
static int server_stop(server *s) {
  int status = -1;
  if (s->pid <= 0) return -1;
  kill(s->pid, SIGTERM);
  for (int i = 0; i < 1500; i++) {
    int st;
    if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (status < 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
  }
  track_pid(s->pid, false);
  s->pid = 0;
  return status;
}

static void server_release(server *s) {
  free(s->out);
  free(s->err);
}

static const char hostile_incident[] =
    "---\ntitle: Hostile <b>text</b> \"quoted\"\nid: hostile-1\n---\nA body about `<script>alert(1)</script>` and "
    "<script>alert(2)</script> quoting \"x\" & more; zebracorn marker.\n\n"
    "```\nSystem.NullReferenceException: Object reference not set\n"
    "   at App.Foo.Bar(String s) in C:\\src\\app \"x\"\\Foo.cs:line 42\n"
    "   at App.Foo.Main() in C:\\src\\app \"x\"\\Program.cs:line 7\n```\n";

static bool setup(void) {
  tmp_dir = harness_tmpdir("serve");
  site_dir = kb_path_join(tmp_dir, "public");
  content_dir = kb_path_join(tmp_dir, "content");
  access_log = kb_path_join(tmp_dir, "access.log");
  char *cmd = kb_xasprintf("cp -r '%s/content' '%s'", harness_source_dir(), tmp_dir);
  int rc = harness_run_cmd(cmd, NULL, NULL);
  free(cmd);
  char *hostile = kb_path_join(content_dir, "hostile.md");
  harness_write_file(hostile, hostile_incident);
  free(hostile);
  if (rc != 0 || harness_kb_build(content_dir, site_dir) != 0) return false;
  char *templates = kb_path_join(harness_source_dir(), "templates");
  const char *args[] = {"--no-build", "--site", site_dir, "--templates", templates, "--port", "0", "--log", access_log,
                        NULL};
  bool ok = server_start(&main_server, "main", args);
  free(templates);
  server_port = main_server.port;
  return ok;
}

/* ---------------------------------------------------------------- helpers */

static cJSON *get_json(const char *target, int want_status) {
  resp r;
  if (!get(target, &r)) {
    harness_fail(__FILE__, __LINE__, "GET %s: no response", target);
    return NULL;
  }
  if (r.status != want_status) harness_fail(__FILE__, __LINE__, "GET %s: status %d, want %d", target, r.status, want_status);
  cJSON *o = cJSON_Parse(r.body);
  if (!o) harness_fail(__FILE__, __LINE__, "GET %s: not JSON: %.300s", target, r.body);
  resp_free(&r);
  return o;
}

/* id of the first result of a search or match body */
static const char *first_id(const cJSON *o) {
  const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "results"), 0);
  const cJSON *id = cJSON_GetObjectItem(first, "id");
  return cJSON_IsString(id) ? id->valuestring : "(none)";
}

/* The seed's stack as WinDbg printed it (the STACK_TEXT lines of the starter incident). */
static char *seed_stack(void) {
  char *path = kb_xasprintf("%s/content/2013-12-22-kb2887595-mslbfoprovider-bugcheck.md", harness_source_dir());
  char *md = harness_read_file(path, NULL);
  free(path);
  const char *at = md ? strstr(md, "STACK_TEXT:") : NULL;
  const char *end = at ? strstr(at, "```") : NULL;
  char *s = at ? kb_xstrndup(at, end ? (size_t)(end - at) : strlen(at)) : kb_xstrdup("");
  free(md);
  return s;
}

static void check_security_headers(const resp *r, const char *what) {
  char v[512];
  const char *csp = header(r, "Content-Security-Policy", v, sizeof v);
  if (!csp || !strstr(csp, "default-src 'self'") || strstr(csp, "unsafe-inline"))
    harness_fail(__FILE__, __LINE__, "%s: Content-Security-Policy: %s", what, csp ? csp : "(none)");
  if (!header(r, "X-Content-Type-Options", v, sizeof v) || strcmp(v, "nosniff") != 0)
    harness_fail(__FILE__, __LINE__, "%s: no X-Content-Type-Options: nosniff", what);
  if (!header(r, "Referrer-Policy", v, sizeof v)) harness_fail(__FILE__, __LINE__, "%s: no Referrer-Policy", what);
  if (!header(r, "X-Frame-Options", v, sizeof v)) harness_fail(__FILE__, __LINE__, "%s: no X-Frame-Options", what);
}

/* ---------------------------------------------------------------- routes */

static void test_home_and_static_files(void) {
  resp r;
  CHECK(get("/", &r) && r.status == 200);
  char v[256];
  CHECK(header(&r, "Content-Type", v, sizeof v) && strncmp(v, "text/html", 9) == 0);
  CHECK_CONTAINS(r.body, "kb2887595-mslbfoprovider-bugcheck");
  check_security_headers(&r, "GET /");
  resp_free(&r);
  const struct {
    const char *path, *type;
  } files[] = {{"/style.css", "text/css"},
               {"/feed.xml", "application/atom+xml"},
               {"/sitemap.xml", "application/xml"},
               {"/incidents/kb2887595-mslbfoprovider-bugcheck/", "text/html"},
               {"/tags/", "text/html"},
               {"/kb.sqlite", "application/vnd.sqlite3"}};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    CHECK(get(files[i].path, &r));
    if (r.status != 200 || !header(&r, "Content-Type", v, sizeof v) || strncmp(v, files[i].type, strlen(files[i].type)))
      harness_fail(__FILE__, __LINE__, "%s: status %d type %s", files[i].path, r.status, v);
    CHECK(header(&r, "ETag", v, sizeof v) && header(&r, "Last-Modified", v, sizeof v));
    resp_free(&r);
  }
  /* a folder without its slash is redirected to it */
  CHECK(get("/incidents/kb2887595-mslbfoprovider-bugcheck", &r) && r.status == 301);
  CHECK(header(&r, "Location", v, sizeof v) && strcmp(v, "/incidents/kb2887595-mslbfoprovider-bugcheck/") == 0);
  resp_free(&r);
}

static void test_healthz_and_generation(void) {
  cJSON *o = get_json("/healthz", 200);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "status")), "ok");
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "incidents")) >= 14);
  cJSON_Delete(o);
  o = get_json("/api/generation", 200);
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "generation")) >= 1);
  CHECK(cJSON_IsString(cJSON_GetObjectItem(o, "built_at")));
  cJSON_Delete(o);
}

static void test_api_search(void) {
  /* the identifiers people type, as they type them */
  const char *queries[] = {"VMQ live migration", "vmqcGetFirstMappedMNic", "vmqc", "0x0000000A", "KB2887595",
                           "MsLbfoProvider.sys", "82599"};
  for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
    char *t = target_with_q("/api/search", queries[i]);
    cJSON *o = get_json(t, 200);
    if (strcmp(first_id(o), "kb-0001") != 0)
      harness_fail(__FILE__, __LINE__, "search %s: first %s, want kb-0001", queries[i], first_id(o));
    cJSON_Delete(o);
    free(t);
  }
  cJSON *o = get_json("/api/search?q=windows&limit=2&offset=1", 200);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "results")) <= 2);
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "total")) >= 2);
  cJSON_Delete(o);
  o = get_json("/api/search?q=", 200);
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "total")) == 0);
  cJSON_Delete(o);
}

static void test_search_page(void) {
  resp r;
  CHECK(get("/search?q=VMQ+live+migration", &r) && r.status == 200);
  CHECK_CONTAINS(r.body, "href=\"/incidents/kb2887595-mslbfoprovider-bugcheck/\"");
  CHECK_CONTAINS(r.body, "<mark>");
  CHECK_CONTAINS(r.body, ">VMQ live migration</textarea>");
  check_security_headers(&r, "GET /search");
  resp_free(&r);
  CHECK(get("/search", &r) && r.status == 200);
  CHECK_CONTAINS(r.body, "<form");
  resp_free(&r);
  /* paging: next link keeps the query, encoded */
  CHECK(get("/search?q=the", &r) && r.status == 200);
  resp_free(&r);
}

static void test_incident_json(void) {
  cJSON *o = get_json("/api/incidents/kb-0001", 200);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "id")), "kb-0001");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "url")), "/incidents/kb2887595-mslbfoprovider-bugcheck/");
  const cJSON *stack = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "stacks"), 0);
  const cJSON *frames = cJSON_GetObjectItem(stack, "frames");
  CHECK(cJSON_GetArraySize(frames) >= 10);
  /* every field of a frame, as the page's stack table shows them */
  const cJSON *f = cJSON_GetArrayItem(frames, 3);
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(f, "pos")) == 3);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "module")), "MsLbfoProvider");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "function")), "vmqcGetFirstMappedMNic");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "offset")), "0xf");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "norm")), "mslbfoprovider!vmqcGetFirstMappedMNic");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(f, "file")) && cJSON_IsNull(cJSON_GetObjectItem(f, "line")));
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(f, "signature")) && cJSON_IsFalse(cJSON_GetObjectItem(f, "skipped")));
  f = cJSON_GetArrayItem(frames, 0);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "function")), "KeBugCheckEx");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(f, "offset")));
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(f, "skipped")) && cJSON_IsFalse(cJSON_GetObjectItem(f, "signature")));
  int pos = 0;
  cJSON_ArrayForEach(f, frames) CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(f, "pos")) == pos++);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "tags")) > 0);
  /* the identifiers, in the order the write-up names them */
  const cJSON *ids = cJSON_GetObjectItem(o, "identifiers");
  CHECK(cJSON_GetArraySize(ids) == 7);
  const char *want[][2] = {{"bugcheck", "0xA"}, {"bugcheck_name", "IRQL_NOT_LESS_OR_EQUAL"},
                           {"module", "MsLbfoProvider.sys"}, {"kb", "KB2887595"}};
  for (int k = 0; k < 4; k++) {
    const cJSON *id = cJSON_GetArrayItem(ids, k);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(id, "kind")), want[k][0]);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(id, "value")), want[k][1]);
  }
  char *text = cJSON_PrintUnformatted(o);
  CHECK_NOT_CONTAINS(text, "source_path");
  CHECK_NOT_CONTAINS(text, tmp_dir);
  free(text);
  cJSON_Delete(o);
  /* quotes and backslashes in a frame come back as written */
  o = get_json("/api/incidents/hostile-1", 200);
  frames = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "stacks"), 0), "frames");
  CHECK(cJSON_GetArraySize(frames) == 2);
  f = cJSON_GetArrayItem(frames, 0);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "file")), "C:\\src\\app \"x\"\\Foo.cs");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "function")), "App.Foo.Bar(String s)");
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(f, "line")) == 42);
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(f, "module")));
  cJSON_Delete(o);
  o = get_json("/api/incidents/no-such-id", 404);
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "status")) == 404);
  cJSON_Delete(o);
}

static void expect_match_first(const char *ctype, const char *body, size_t len, const char *what) {
  char *headers = kb_xasprintf("Content-Type: %s\r\n", ctype);
  resp r;
  if (!http("POST", "/api/match", headers, body, len, &r) || r.status != 200) {
    harness_fail(__FILE__, __LINE__, "%s: status %d: %.300s", what, r.status, r.body ? r.body : "");
  } else {
    cJSON *o = cJSON_Parse(r.body);
    if (!o || strcmp(first_id(o), "kb-0001") != 0)
      harness_fail(__FILE__, __LINE__, "%s: first %s, want kb-0001", what, o ? first_id(o) : "(not JSON)");
    cJSON_Delete(o);
  }
  resp_free(&r);
  free(headers);
}

static void test_api_match(void) {
  char *stack = seed_stack();
  CHECK(strstr(stack, "vmqcGetFirstMappedMNic") != NULL);
  expect_match_first("text/plain", stack, strlen(stack), "text/plain");
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "stack", stack);
  char *json = cJSON_PrintUnformatted(j);
  expect_match_first("application/json", json, strlen(json), "JSON");
  kb_buf form = KB_BUF_INIT;
  kb_buf_adds(&form, "other=1&stack=");
  url_encode(&form, stack);
  expect_match_first("application/x-www-form-urlencoded", form.ptr, form.len, "urlencoded form");
  kb_buf mp = KB_BUF_INIT;
  kb_buf_addf(&mp, "--XyZ\r\nContent-Disposition: form-data; name=\"stack\"\r\n\r\n%s\r\n--XyZ--\r\n", stack);
  expect_match_first("multipart/form-data; boundary=XyZ", mp.ptr, mp.len, "multipart form");
  char *seed_path = kb_xasprintf("%s/seeds/000_da45cf2bb8d44c23.txt", harness_shared_dir());
  size_t seed_len;
  char *seed = harness_read_file(seed_path, &seed_len);
  if (seed) expect_match_first("text/plain", seed, seed_len, "the seed as published");
  /* text without a stack: 200 with a message, as `kb match --json` */
  resp r;
  CHECK(http("POST", "/api/match", "Content-Type: text/plain\r\n", "just words", 10, &r) && r.status == 200);
  CHECK_CONTAINS(r.body, "\"message\"");
  resp_free(&r);
  free(seed);
  free(seed_path);
  kb_buf_release(&mp);
  kb_buf_release(&form);
  free(json);
  cJSON_Delete(j);
  free(stack);
}

static void test_match_pages(void) {
  resp r;
  CHECK(get("/match", &r) && r.status == 200);
  CHECK_CONTAINS(r.body, "<textarea");
  CHECK_CONTAINS(r.body, "method=\"post\"");
  resp_free(&r);
  char *stack = seed_stack();
  kb_buf form = KB_BUF_INIT;
  kb_buf_adds(&form, "stack=");
  url_encode(&form, stack);
  CHECK(http("POST", "/match", "Content-Type: application/x-www-form-urlencoded\r\n", form.ptr, form.len, &r));
  CHECK(r.status == 200);
  CHECK_CONTAINS(r.body, "href=\"/incidents/kb2887595-mslbfoprovider-bugcheck/\"");
  CHECK_CONTAINS(r.body, "vmqcGetFirstMappedMNic");
  resp_free(&r);
  /* the same stack typed into the search box is answered as a match */
  char *t = target_with_q("/search", stack);
  CHECK(get(t, &r) && r.status == 200);
  CHECK_CONTAINS(r.body, "looked like a crash stack");
  CHECK_CONTAINS(r.body, "href=\"/incidents/kb2887595-mslbfoprovider-bugcheck/\"");
  resp_free(&r);
  free(t);
  /* ordinary words are not a stack */
  CHECK(get("/search?q=nt%21KeBugCheckEx", &r) && r.status == 200);
  CHECK_NOT_CONTAINS(r.body, "looked like a crash stack");
  resp_free(&r);
  kb_buf_release(&form);
  free(stack);
}

/* ---------------------------------------------------------------- errors */

static void expect_status(const char *method, const char *target, const char *headers, const char *body, int want,
                          const char *allow) {
  resp r;
  if (!http(method, target, headers, body, body ? strlen(body) : 0, &r) || r.status != want) {
    harness_fail(__FILE__, __LINE__, "%s %.80s: status %d, want %d", method, target, r.status, want);
  } else {
    char v[128];
    if (allow && (!header(&r, "Allow", v, sizeof v) || strcmp(v, allow) != 0))
      harness_fail(__FILE__, __LINE__, "%s %s: Allow %s, want %s", method, target, header(&r, "Allow", v, sizeof v) ? v : "(none)", allow);
    bool api = strncmp(target, "/api/", 5) == 0;
    if (api ? r.body[0] != '{' : !strstr(r.body, "<html"))
      harness_fail(__FILE__, __LINE__, "%s %s: error body not %s: %.200s", method, target, api ? "JSON" : "HTML", r.body);
    if (strstr(r.body, tmp_dir) || strstr(r.body, "kb.sqlite:"))
      harness_fail(__FILE__, __LINE__, "%s %s: the response names a server path", method, target);
    check_security_headers(&r, target);
  }
  resp_free(&r);
}

static void test_error_statuses(void) {
  expect_status("GET", "/no/such/page", NULL, NULL, 404, NULL);
  expect_status("GET", "/api/no-such-route", NULL, NULL, 404, NULL);
  expect_status("GET", "/api/search?q=%zz", NULL, NULL, 400, NULL);
  expect_status("GET", "/api/search?q=a&limit=0", NULL, NULL, 400, NULL);
  expect_status("GET", "/api/search?q=a&limit=x", NULL, NULL, 400, NULL);
  expect_status("GET", "/api/search?q=a&offset=-1", NULL, NULL, 400, NULL);
  expect_status("GET", "/api/search", NULL, NULL, 400, NULL);
  expect_status("GET", "/api/search?q=%FF%FE", NULL, NULL, 400, NULL);
  expect_status("GET", "/search?q=%zz", NULL, NULL, 400, NULL);
  expect_status("POST", "/api/match", "Content-Type: application/json\r\n", "{\"stack\": ", 400, NULL);
  expect_status("POST", "/api/match", "Content-Type: application/json\r\n", "{\"other\": 1}", 400, NULL);
  expect_status("POST", "/api/match", "Content-Type: text/plain\r\n", "", 400, NULL);
  expect_status("POST", "/api/match", "Content-Type: image/png\r\n", "x", 415, NULL);
  expect_status("DELETE", "/", NULL, NULL, 405, "GET, HEAD");
  expect_status("PUT", "/style.css", NULL, "x", 405, "GET, HEAD");
  expect_status("GET", "/api/match", NULL, NULL, 405, "POST");
  expect_status("POST", "/search", "Content-Type: text/plain\r\n", "x", 405, "GET, HEAD");
  expect_status("DELETE", "/match", NULL, NULL, 405, "GET, HEAD, POST");
  /* found by fuzz_http: other methods on the API's catch-all routes crashed the server */
  expect_status("PUT", "/api/", NULL, "x", 404, NULL);
  expect_status("DELETE", "/api/incidents", NULL, NULL, 404, NULL);
  expect_status("OPTIONS", "/api/no-such-route", NULL, NULL, 404, NULL);
  /* found by fuzz_http: a multipart part without a name crashed the server */
  expect_status("POST", "/api/match", "Content-Type: multipart/form-data; boundary=XyZ\r\n",
                "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n", 400, NULL);
}

static void test_body_limit_413(void) {
  /* announced too large: answered before the body is sent */
  resp r;
  const char *req = "POST /api/match HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1048577\r\n\r\n";
  CHECK(http_raw(server_port, req, strlen(req), &r) && r.status == 413);
  resp_free(&r);
  /* chunked, no length: read, dropped, answered at the end */
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "POST /api/match HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n");
  char *chunk = kb_xmalloc(65536);
  memset(chunk, 'a', 65536);
  for (int i = 0; i < 18; i++) {
    kb_buf_addf(&b, "10000\r\n");
    kb_buf_add(&b, chunk, 65536);
    kb_buf_adds(&b, "\r\n");
  }
  kb_buf_adds(&b, "0\r\n\r\n");
  CHECK(http_raw(server_port, b.ptr, b.len, &r) && r.status == 413);
  CHECK_CONTAINS(r.body, "\"status\":413");
  resp_free(&r);
  /* just under the limit is read */
  size_t n = ((size_t)1 << 20) - 16;
  char *text = kb_xmalloc(n + 1);
  memset(text, 'x', n);
  text[n] = '\0';
  CHECK(http("POST", "/api/match", "Content-Type: text/plain\r\n", text, n, &r) && r.status == 200);
  resp_free(&r);
  free(text);
  free(chunk);
  kb_buf_release(&b);
}

static void test_long_url_414(void) {
  kb_buf t = KB_BUF_INIT;
  kb_buf_adds(&t, "/search?q=");
  for (int i = 0; i < 40000; i++) kb_buf_addc(&t, 'a');
  expect_status("GET", t.ptr, NULL, NULL, 414, NULL);
  kb_buf_reset(&t);
  kb_buf_adds(&t, "/api/search?q=");
  for (int i = 0; i < 40000; i++) kb_buf_addc(&t, 'a');
  expect_status("GET", t.ptr, NULL, NULL, 414, NULL);
  /* far beyond what the server buffers: still a 414, never a hang or a crash */
  kb_buf_reset(&t);
  kb_buf_adds(&t, "/");
  for (int i = 0; i < 300000; i++) kb_buf_addc(&t, 'a');
  resp r;
  CHECK(get(t.ptr, &r) && r.status == 414);
  resp_free(&r);
  kb_buf_release(&t);
}

/* ---------------------------------------------------------------- hostile input */

/* Search input that breaks naive FTS5 or HTML handling; each must give 200 and JSON. */
static const char *const hostile_queries[] = {
    "\"", "\"unbalanced", "'", "''", "*", "a*", "*a", "-", "-x", "a-b", "node-7", "e-mail", ":", "foo:bar",
    "title:x", "body:", "AND", "OR", "NOT", "NEAR", "a AND", "AND b", "NOT b", "a OR b", "NEAR(a b)", "NEAR(a b, 2)",
    "(", ")", "(oom", "a)", "((((((((((", "))))", "^", "^a", "$", "c++", "don't", "10.0.0.53", "a/b", "\\",
    "%", "%%", "_", "{}", "[]", "{a}", "+", "&", "#", "=", ";", "?", "a?b", "\t", " ", "",
    "<script>alert(1)</script>", "\"><script>alert(1)</script>", "</textarea><script>alert(1)</script>",
    "' OR 1=1 --", "'; DROP TABLE incidents; --", "\xe2\x80\x8b", "\xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9",
    "\xf0\x9f\x92\xa5 crash", "zebracorn", "alert", NULL};

static char *ten_kb_query(void) {
  kb_buf b = KB_BUF_INIT;
  while (b.len < 10240) kb_buf_adds(&b, "vmqc AND (NEAR \"x\" -y:* ");
  return kb_buf_detach(&b, NULL);
}

static void check_hostile(const char *q) {
  char *t = target_with_q("/api/search", q);
  resp r;
  cJSON *o = get(t, &r) && r.status == 200 ? cJSON_Parse(r.body) : NULL;
  if (!o) harness_fail(__FILE__, __LINE__, "/api/search q=[%.60s]: status %d: %.200s", q, r.status, r.body ? r.body : "");
  cJSON_Delete(o);
  resp_free(&r);
  free(t);
  t = target_with_q("/search", q);
  if (!get(t, &r) || r.status != 200)
    harness_fail(__FILE__, __LINE__, "/search q=[%.60s]: status %d", q, r.status);
  else if (strstr(r.body, "<script>") || strstr(r.body, "<b>text"))
    harness_fail(__FILE__, __LINE__, "/search q=[%.60s]: unescaped markup in the page", q);
  resp_free(&r);
  free(t);
}

static void test_hostile_search_input(void) {
  for (const char *const *q = hostile_queries; *q; q++) check_hostile(*q);
  char *big = ten_kb_query();
  check_hostile(big);
  free(big);
  /* the hostile incident is found, and its markup shows as text */
  resp r;
  CHECK(get("/search?q=zebracorn", &r) && r.status == 200);
  CHECK_CONTAINS(r.body, "Hostile &lt;b&gt;text&lt;/b&gt;");
  CHECK_NOT_CONTAINS(r.body, "<script>alert");
  resp_free(&r);
  CHECK(get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &r) && r.status == 200);
  CHECK_CONTAINS(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;");
  resp_free(&r);
}

static void test_hostile_match_input(void) {
  for (const char *const *q = hostile_queries; *q; q++) {
    resp r;
    if (!http("POST", "/api/match", "Content-Type: text/plain\r\n", *q, strlen(*q), &r) ||
        (r.status != 200 && r.status != 400))
      harness_fail(__FILE__, __LINE__, "/api/match [%.60s]: status %d", *q, r.status);
    resp_free(&r);
    kb_buf form = KB_BUF_INIT;
    kb_buf_adds(&form, "stack=");
    url_encode(&form, *q);
    if (!http("POST", "/match", "Content-Type: application/x-www-form-urlencoded\r\n", form.ptr, form.len, &r) ||
        (r.status != 200 && r.status != 400) || strstr(r.body, "<script>"))
      harness_fail(__FILE__, __LINE__, "/match [%.60s]: status %d", *q, r.status);
    resp_free(&r);
    kb_buf_release(&form);
  }
}

/* Paths that try to leave the site folder: every one is a 404. */
static const char *const traversal_paths[] = {
    "/../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2fetc/passwd", "/..%2Fetc%2Fpasswd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/incidents/../../etc/passwd",
    "/a\\..\\b", "/..\\..\\etc\\passwd", "/%5c..%5c..%5cetc%5cpasswd", "/index.html%00", "/%00",
    "/index.html%00.css", "/./index.html", "/.hidden", "/..", "/.", "//etc/passwd", "/etc-link/passwd",
    "/passwd-link", "/etc-link/", "/incidents/etc-link/hostname", NULL};

static void test_path_traversal(void) {
  char *link = kb_path_join(site_dir, "etc-link");
  char *plink = kb_path_join(site_dir, "passwd-link");
  char *inner = kb_xasprintf("%s/incidents/etc-link", site_dir);
  CHECK(symlink("/etc", link) == 0 && symlink("/etc/passwd", plink) == 0 && symlink("/etc", inner) == 0);
  for (const char *const *p = traversal_paths; *p; p++) {
    resp r;
    if (!get(*p, &r) || r.status != 404 || strstr(r.body, "root:"))
      harness_fail(__FILE__, __LINE__, "GET %s: status %d, want 404", *p, r.status);
    resp_free(&r);
  }
  /* absolute-form targets are no way out either */
  resp r;
  CHECK(get("http://127.0.0.1/../etc/passwd", &r) && r.status == 404);
  resp_free(&r);
  unlink(link);
  unlink(plink);
  unlink(inner);
  free(link);
  free(plink);
  free(inner);
}

/* ---------------------------------------------------------------- HTTP caching, HEAD, gzip */

static void test_conditional_requests(void) {
  resp r;
  char etag[128], lm[128];
  CHECK(get("/style.css", &r) && r.status == 200);
  bool have = header(&r, "ETag", etag, sizeof etag) && header(&r, "Last-Modified", lm, sizeof lm);
  CHECK(have);
  resp_free(&r);
  if (!have) return;
  char *h = kb_xasprintf("If-None-Match: %s\r\n", etag);
  CHECK(http("GET", "/style.css", h, NULL, 0, &r) && r.status == 304 && r.len == 0);
  resp_free(&r);
  free(h);
  CHECK(http("GET", "/style.css", "If-None-Match: \"other\"\r\n", NULL, 0, &r) && r.status == 200);
  resp_free(&r);
  h = kb_xasprintf("If-Modified-Since: %s\r\n", lm);
  CHECK(http("GET", "/style.css", h, NULL, 0, &r) && r.status == 304);
  resp_free(&r);
  free(h);
  CHECK(http("GET", "/style.css", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n", NULL, 0, &r) &&
        r.status == 200);
  resp_free(&r);
}

static void test_head(void) {
  resp full, head;
  const char *paths[] = {"/", "/style.css", "/api/search?q=vmqc", "/healthz", "/search?q=vmq"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    CHECK(get(paths[i], &full) && full.status == 200);
    CHECK(http("HEAD", paths[i], NULL, NULL, 0, &head) && head.status == 200 && head.len == 0);
    char a[32], b[32];
    if (!header(&head, "Content-Length", a, sizeof a) || !header(&full, "Content-Length", b, sizeof b) ||
        strcmp(a, b) != 0)
      harness_fail(__FILE__, __LINE__, "HEAD %s: Content-Length differs from GET", paths[i]);
    resp_free(&full);
    resp_free(&head);
  }
}

static char *gunzip(const char *data, size_t len, size_t *out_len) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 16) != Z_OK) return NULL;
  kb_buf out = KB_BUF_INIT;
  char chunk[65536];
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)len;
  int rc;
  do {
    z.next_out = (Bytef *)chunk;
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    kb_buf_add(&out, chunk, sizeof chunk - z.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    kb_buf_release(&out);
    return NULL;
  }
  return kb_buf_detach(&out, out_len);
}

static void test_gzip(void) {
  const char *paths[] = {"/", "/style.css", "/api/search?q=windows", "/search?q=windows"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    resp plain, gz;
    CHECK(get(paths[i], &plain) && plain.status == 200);
    CHECK(http("GET", paths[i], "Accept-Encoding: br;q=1.0, gzip;q=0.8\r\n", NULL, 0, &gz) && gz.status == 200);
    char v[64];
    if (!header(&gz, "Content-Encoding", v, sizeof v) || strcmp(v, "gzip") != 0) {
      harness_fail(__FILE__, __LINE__, "%s: not gzipped", paths[i]);
    } else {
      size_t n = 0;
      char *un = gunzip(gz.body, gz.len, &n);
      CHECK(un != NULL);
      CHECK(gz.len < plain.len);
      /* static files are byte for byte the same; rendered pages too, but for times */
      if (i < 2) CHECK(un && n == plain.len && memcmp(un, plain.body, n) == 0);
      free(un);
    }
    CHECK(header(&plain, "Content-Encoding", v, sizeof v) == NULL);
    CHECK(header(&gz, "Vary", v, sizeof v) && strstr(v, "Accept-Encoding"));
    resp_free(&plain);
    resp_free(&gz);
  }
  resp r;
  CHECK(http("GET", "/", "Accept-Encoding: gzip;q=0\r\n", NULL, 0, &r) && r.status == 200);
  char v[64];
  CHECK(header(&r, "Content-Encoding", v, sizeof v) == NULL);
  resp_free(&r);
}

/* ---------------------------------------------------------------- load */

typedef struct load {
  atomic_int requests, failures;
  atomic_bool stop;
  int per_thread; /* 0 = until stop */
  char *stack;
  char first_failure[256];
  pthread_mutex_t lock;
} load;

static void load_fail(load *l, const char *what, int status) {
  atomic_fetch_add(&l->failures, 1);
  pthread_mutex_lock(&l->lock);
  if (!l->first_failure[0]) snprintf(l->first_failure, sizeof l->first_failure, "%s: status %d", what, status);
  pthread_mutex_unlock(&l->lock);
}

static void *load_thread(void *arg) {
  load *l = arg;
  const char *paths[] = {"/", "/api/search?q=vmqc", "/api/incidents/kb-0001", "/style.css",
                         "/incidents/kb2887595-mslbfoprovider-bugcheck/", "/search?q=live+migration", NULL};
  for (int i = 0; l->per_thread ? i < l->per_thread : !atomic_load(&l->stop); i++) {
    resp r;
    const char *what = paths[i % 7];
    bool ok = what ? get(what, &r)
                   : http("POST", "/api/match", "Content-Type: text/plain\r\n", l->stack, strlen(l->stack), &r);
    if (!what) what = "POST /api/match";
    atomic_fetch_add(&l->requests, 1);
    if (!ok || r.status != 200) load_fail(l, what, r.status);
    else if (i % 7 == 6 && !strstr(r.body, "kb-0001")) load_fail(l, "match lost kb-0001", r.status);
    resp_free(&r);
  }
  return NULL;
}

static void load_init(load *l, int per_thread) {
  memset(l, 0, sizeof *l);
  l->per_thread = per_thread;
  l->stack = seed_stack();
  pthread_mutex_init(&l->lock, NULL);
}

static void test_concurrent_burst(void) {
  enum { THREADS = 8, PER_THREAD = 50 };
  load l;
  load_init(&l, PER_THREAD);
  pthread_t t[THREADS];
  double t0 = kb_now();
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, load_thread, &l);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  double dt = kb_now() - t0;
  printf("burst: %d requests in %.2f s (%.0f/s, a new connection each), %d failed\n", atomic_load(&l.requests), dt,
         atomic_load(&l.requests) / dt, atomic_load(&l.failures));
  CHECK(atomic_load(&l.requests) == THREADS * PER_THREAD);
  if (atomic_load(&l.failures)) harness_fail(__FILE__, __LINE__, "%d failed; first: %s", atomic_load(&l.failures), l.first_failure);
  free(l.stack);
  pthread_mutex_destroy(&l.lock);
}

static void test_rebuild_swap_under_load(void) {
  enum { THREADS = 4 };
  load l;
  load_init(&l, 0);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, load_thread, &l);
  char *added = kb_path_join(content_dir, "added.md");
  bool built = true;
  for (int i = 0; i < 3 && built; i++) {
    char *md = kb_xasprintf("---\ntitle: Added during load %d\nid: kb-9999\n---\nThe quokkafrost incident, build %d.\n",
                            i, i);
    harness_write_file(added, md);
    free(md);
    built = harness_kb_build(content_dir, site_dir) == 0;
  }
  int before = atomic_load(&l.requests);
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  atomic_store(&l.stop, true);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  printf("rebuild under load: %d requests, %d failed\n", atomic_load(&l.requests), atomic_load(&l.failures));
  CHECK(before > 20);
  if (atomic_load(&l.failures)) harness_fail(__FILE__, __LINE__, "%d failed; first: %s", atomic_load(&l.failures), l.first_failure);
  /* the new index is served at once */
  cJSON *o = get_json("/api/incidents/kb-9999", 200);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "title")), "Added during load 2");
  cJSON_Delete(o);
  o = get_json("/api/search?q=quokkafrost", 200);
  CHECK_STR(first_id(o), "kb-9999");
  cJSON_Delete(o);
  o = get_json("/api/generation", 200);
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "generation")) >= 2);
  cJSON_Delete(o);
  resp r;
  CHECK(get("/search?q=quokkafrost", &r) && r.status == 200);
  CHECK_CONTAINS(r.body, "Added during load 2");
  resp_free(&r);
  free(added);
  free(l.stack);
  pthread_mutex_destroy(&l.lock);
}

/* A server with 8 connection slots: with 7 held open, the next request gets a 503. */
static void test_overload_503(void) {
  server s;
  const char *args[] = {"--no-build", "--site", site_dir, "--port", "0", "--log", "off", "--max-connections", "8", NULL};
  if (!server_start(&s, "small", args)) {
    server_release(&s);
    return;
  }
  int idle[7];
  for (int i = 0; i < 7; i++) idle[i] = connect_port(s.port);
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  resp r;
  CHECK(http_raw(s.port, req, strlen(req), &r) && r.status == 503);
  char v[32];
  CHECK(header(&r, "Retry-After", v, sizeof v) != NULL);
  resp_free(&r);
  for (int i = 0; i < 7; i++)
    if (idle[i] >= 0) close(idle[i]);
  nanosleep(&ts, NULL);
  CHECK(http_raw(s.port, req, strlen(req), &r) && r.status == 200);
  resp_free(&r);
  CHECK(server_stop(&s) == 0);
  server_release(&s);
}

/* --watch: an edit in content/ is rebuilt, published and served; pages poll for it. */
static void test_watch_rebuilds(void) {
  char *content = kb_path_join(tmp_dir, "watch-content");
  char *site = kb_path_join(tmp_dir, "watch-public");
  char *templates = kb_path_join(harness_source_dir(), "templates");
  char *cmd = kb_xasprintf("cp -r '%s' '%s'", content_dir, content);
  CHECK(harness_run_cmd(cmd, NULL, NULL) == 0);
  server s;
  const char *args[] = {"--watch", "--site", site, "--content", content, "--templates", templates, "--port", "0",
                        "--log", "off", NULL};
  int saved = server_port;
  if (server_start(&s, "watch", args)) {
    server_port = s.port;
    resp r;
    CHECK(get("/", &r) && r.status == 200);
    CHECK_CONTAINS(r.body, "<script src=\"/kb-live.js\" defer></script>");
    resp_free(&r);
    CHECK(get("/kb-live.js", &r) && r.status == 200);
    CHECK_CONTAINS(r.body, "api/generation");
    resp_free(&r);
    cJSON *g = get_json("/api/generation", 200);
    double gen0 = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "generation"));
    cJSON_Delete(g);
    char *md = kb_path_join(content, "watched.md");
    /* a first paragraph longer than a summary: the edit below, after it, is prose only */
    const char *text = "---\ntitle: Watched edit\nid: kb-8888\n---\nThe wombatglass incident. The storage "
                       "array behind the cluster stopped answering for ninety seconds while its controller "
                       "failed over; every node paused its virtual machines and some of them never resumed "
                       "because the guest clocks jumped. The vendor's firmware notes describe the same pause.\n";
    harness_write_file(md, text);
    double gen = gen0;
    for (int i = 0; i < 200 && gen == gen0; i++) { /* 20 s at most */
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
      g = get_json("/api/generation", 200);
      gen = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "generation"));
      cJSON_Delete(g);
    }
    CHECK(gen > gen0);
    cJSON *o = get_json("/api/incidents/kb-8888", 200);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "title")), "Watched edit");
    cJSON_Delete(o);
    /* an edit of the prose: the same index file, edited in place, serves it */
    char *index = kb_path_join(site, "kb.sqlite");
    struct stat before, after;
    CHECK(stat(index, &before) == 0);
    char *edited = kb_xasprintf("%s\nThe numbatquill setting fixed it.\n", text);
    harness_write_file(md, edited);
    long long total = 0;
    for (int i = 0; i < 200 && total == 0; i++) { /* 20 s at most; a few ms expected */
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
      o = get_json("/api/search?q=numbatquill", 200);
      total = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "total"));
      cJSON_Delete(o);
    }
    CHECK(total == 1);
    CHECK(stat(index, &after) == 0 && after.st_ino == before.st_ino);
    g = get_json("/api/generation", 200); /* open pages reload */
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(g, "generation")) > gen);
    cJSON_Delete(g);
    resp r2;
    CHECK(get("/incidents/watched/", &r2) && r2.status == 200);
    CHECK_CONTAINS(r2.body, "numbatquill");
    resp_free(&r2);
    free(edited);
    free(index);
    free(md);
    CHECK(server_stop(&s) == 0);
  }
  server_port = saved;
  server_release(&s);
  free(cmd);
  free(templates);
  free(site);
  free(content);
}

static void test_bad_arguments(void) {
  char *cmd = kb_xasprintf("'%s' serve --port 70000", harness_kb_binary());
  CHECK(harness_run_cmd(cmd, NULL, NULL) == 2);
  free(cmd);
  cmd = kb_xasprintf("'%s' serve --no-build --site '%s' --bind not-an-address --port 0", harness_kb_binary(), site_dir);
  char *err = NULL;
  CHECK(harness_run_cmd(cmd, NULL, &err) == 1);
  CHECK_CONTAINS(err, "--bind");
  free(err);
  free(cmd);
  /* the port is taken: a clear failure, not a hang */
  cmd = kb_xasprintf("'%s' serve --no-build --site '%s' --port %d --log off", harness_kb_binary(), site_dir, server_port);
  CHECK(harness_run_cmd(cmd, NULL, NULL) == 1);
  free(cmd);
}

/* SIGTERM: exit 0; the access log has a common-log-format line per request. */
static void test_sigterm_and_access_log(void) {
  CHECK(server_stop(&main_server) == 0);
  char *log = harness_read_file(access_log, NULL);
  CHECK(log != NULL);
  if (!log) return;
  CHECK(strncmp(log, "127.0.0.1 - - [", 15) == 0);
  CHECK_CONTAINS(log, "] \"GET / HTTP/1.1\" 200 ");
  CHECK_CONTAINS(log, "\"POST /api/match HTTP/1.1\" 200 ");
  CHECK_CONTAINS(log, "\"GET /api/search?q=a&limit=x HTTP/1.1\" 400 ");
  CHECK_CONTAINS(log, "\"GET /a\\x5C..\\x5Cb HTTP/1.1\" 404 "); /* a backslash is escaped, as quotes are */
  size_t lines = 0;
  for (const char *p = log; (p = strchr(p, '\n')); p++) lines++;
  CHECK(lines > 500);
  free(log);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  atexit(kill_leftovers);
  if (!setup()) return harness_done();
  RUN(test_home_and_static_files);
  RUN(test_healthz_and_generation);
  RUN(test_api_search);
  RUN(test_search_page);
  RUN(test_incident_json);
  RUN(test_api_match);
  RUN(test_match_pages);
  RUN(test_error_statuses);
  RUN(test_body_limit_413);
  RUN(test_long_url_414);
  RUN(test_hostile_search_input);
  RUN(test_hostile_match_input);
  RUN(test_path_traversal);
  RUN(test_conditional_requests);
  RUN(test_head);
  RUN(test_gzip);
  RUN(test_concurrent_burst);
  RUN(test_rebuild_swap_under_load);
  RUN(test_overload_503);
  RUN(test_watch_rebuilds);
  RUN(test_bad_arguments);
  RUN(test_sigterm_and_access_log);
  server_release(&main_server);
  free(tmp_dir);
  free(site_dir);
  free(content_dir);
  free(access_log);
  return harness_done();
}
