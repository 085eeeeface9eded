/* route.c - what happens to a request once its headers are in: the target is checked
 * (414, 400, 404), the route found (405 with Allow when the method does not fit), an
 * overloaded server answers 503, a POST body is collected (413, 415), then the
 * route's handler answers. Called by server.c for every call libmicrohttpd makes to
 * the access handler. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util/util.h"

/* M_OTHER: any method kb does not serve (PUT, DELETE, ...); M_ANY routes take those too,
 * so they never answer 405 (they have no Allow list to send). */
enum { M_GET = 1, M_HEAD = 2, M_POST = 4, M_OTHER = 8, M_ANY = 15 };

typedef struct route {
  const char *path;
  bool prefix;      /* `path` is a prefix of the request path */
  unsigned methods; /* M_* */
  const char *allow;
  bool body; /* POST takes a body */
  enum MHD_Result (*handler)(kb_srv_req *r);
} route;

static enum MHD_Result api_not_found(kb_srv_req *r) { return kb_srv_send_error(r, 404, "no such API route"); }

/* First match wins; the site's files take whatever no other route does. */
static const route routes[] = {
    {"/healthz", false, M_GET | M_HEAD, "GET, HEAD", false, kb_srv_api_health},
    {"/api/search", false, M_GET | M_HEAD, "GET, HEAD", false, kb_srv_api_search},
    {"/api/match", false, M_POST, "POST", true, kb_srv_api_match},
    {"/api/generation", false, M_GET | M_HEAD, "GET, HEAD", false, kb_srv_api_generation},
    {"/api/incidents/", true, M_GET | M_HEAD, "GET, HEAD", false, kb_srv_api_incident},
    {"/api/", true, M_ANY, NULL, false, api_not_found},
    {"/api", false, M_ANY, NULL, false, api_not_found},
    {"/search", false, M_GET | M_HEAD, "GET, HEAD", false, kb_srv_page_search},
    {"/match", false, M_GET | M_HEAD | M_POST, "GET, HEAD, POST", true, kb_srv_page_match},
    {"/", true, M_GET | M_HEAD, "GET, HEAD", false, kb_srv_static},
};

static const route *route_find(const char *path) {
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const route *rt = &routes[i];
    if (rt->prefix ? strncmp(path, rt->path, strlen(rt->path)) == 0 : strcmp(path, rt->path) == 0) return rt;
  }
  return NULL;
}

static unsigned method_bit(const char *m) {
  if (strcmp(m, "GET") == 0) return M_GET;
  if (strcmp(m, "HEAD") == 0) return M_HEAD;
  if (strcmp(m, "POST") == 0) return M_POST;
  return M_OTHER;
}

/* The part of `path` below the site's base ("/kb/x" -> "/x"); NULL when outside. */
static const char *below_base(const char *path, const char *base) {
  size_t n = strlen(base);
  if (n <= 1) return path;
  if (strncmp(path, base, n) == 0) return path + n - 1;
  if (strncmp(path, base, n - 1) == 0 && path[n - 1] == '\0') return "/";
  return NULL;
}

/* Errors about the target itself are JSON when it plainly asks for the API. */
static bool target_is_api(const char *target, const char *base) {
  const char *t = below_base(target, base);
  return t && (strncmp(t, "/api/", 5) == 0 || strncmp(t, "/api?", 5) == 0 || strcmp(t, "/api") == 0);
}

static bool overloaded(const kb_server *s) { return atomic_load(&s->connections) > (int)s->soft_limit; }

/* A request whose answer is already known (an error) waits for the next call too:
 * libmicrohttpd 0.9.75 closes the connection after a response queued on the first
 * call, and keep-alive matters for throughput. */
static void fail(kb_srv_req *r, unsigned status, const char *message) {
  r->err_status = status;
  r->err_message = message;
}

/* Headers are in: check the target, pick the route, start reading a body. */
static void first_call(kb_srv_req *r) {
  r->api = target_is_api(r->target, r->snap->base);
  if (r->target_too_long) {
    fail(r, 414, "The address is too long.");
    return;
  }
  char *decoded = NULL;
  int bad = kb_srv_url_path(r->target, &decoded);
  if (bad) {
    fail(r, (unsigned)bad, bad == 400 ? "The address has a malformed %-escape." : "There is no page at this address.");
    return;
  }
  const char *rel = below_base(decoded, r->snap->base);
  if (!rel) {
    free(decoded);
    fail(r, 404, "There is no page at this address.");
    return;
  }
  r->path = kb_xstrdup(rel);
  free(decoded);
  const route *rt = route_find(r->path);
  r->api = r->api || strncmp(r->path, "/api", 4) == 0 || strcmp(r->path, "/healthz") == 0;
  unsigned m = method_bit(r->method);
  if (!(rt->methods & m)) {
    kb_srv_header_add(r, "Allow", rt->allow);
    fail(r, 405, "This method is not allowed here.");
    return;
  }
  if (overloaded(r->srv)) {
    kb_srv_header_add(r, "Retry-After", "1");
    fail(r, 503, "The server is busy; try again in a moment.");
    return;
  }
  r->route = rt;
  if (rt->body && m == M_POST) {
    unsigned status = kb_srv_body_begin(r);
    if (status == 413) fail(r, 413, "The request body is larger than the server accepts.");
    else if (status == 415) fail(r, 415, "Send the stack as text/plain, application/json or a form.");
    else if (status) fail(r, status, "The request body cannot be read.");
  }
}

enum MHD_Result kb_srv_route(kb_srv_req *r, const char *upload, size_t *upload_size) {
  if (!r->started) {
    r->started = true;
    first_call(r);
    /* no use reading a body that is refused already: answer now (and close) */
    if (r->err_status == 413) return kb_srv_send_error(r, 413, r->err_message);
    return MHD_YES;
  }
  if (*upload_size) {
    kb_srv_body_feed(r, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->responded) return MHD_YES;
  if (r->err_status) return kb_srv_send_error(r, r->err_status, r->err_message);
  if (r->body_too_big) return kb_srv_send_error(r, 413, "The request body is larger than the server accepts.");
  return ((const route *)r->route)->handler(r);
}
