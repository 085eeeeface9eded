/* fuzz_http.c - libFuzzer harness for `kb serve`'s request handling: one fuzzed input is
 * the raw bytes a client sends on one connection (request line, headers, body, perhaps
 * several pipelined requests), answered by the server's real request code (route.c
 * and everything behind it: url.c, body.c, static.c, pages.c, api.c, incident.c,
 * respond.c, gzip, the access log) on a small site built from content/ (fuzz_site.c).
 *
 * Why: this is the code anyone who can reach the port talks to.
 *
 * How, and why this way: the handlers take a libmicrohttpd connection (headers, the
 * post processor and responses all go through it), so there is no seam below
 * libmicrohttpd that would still be the real server. Starting `kb serve`'s own daemon
 * and talking TCP to it would run the handlers on libmicrohttpd's worker threads:
 * slower, nondeterministic, and a fuzz run opens millions of connections (ports in
 * TIME_WAIT). Instead the harness includes server/server.c, so that the real request
 * lifecycle callbacks (on_uri, on_request, on_completed, on_connection) and server_new
 * are used as they are, and starts the daemon with the same options as daemon_start
 * except the threading: no listening socket and no internal thread. Each input is one
 * connection from a socketpair handed to the daemon with MHD_add_connection; the
 * harness writes the bytes, runs MHD_run on its own thread until the server has read
 * everything and has nothing more to say, half-closes its end as a client that is
 * done would, and runs the daemon until the connection is closed and cleaned up. So
 * every input is handled completely, deterministically, on the fuzzing thread.
 *
 * Limits are the server's own, enforced by the code under test: the 32 KiB target
 * (414, cut in on_uri), libmicrohttpd's per-connection memory (128 KiB, as server.c
 * sets it), and the body limit, set here to 8 KiB (`--max-body 8192`) so that the
 * 413 paths are within reach of inputs of fuzzing size.
 *
 * Checks besides memory errors: no response names a server-side path (the site or the
 * templates folder, as the README promises), and the first response is never a 500
 * (an FTS5 syntax error from a query, a template that fails to render, ...). */
#include "../../server/server.c"

#include <fcntl.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "fuzz.h"

#define FUZZ_MAX_BODY 8192
#define QUIET_ROUNDS 8                /* MHD_run passes without progress: the server waits */
#define RESPONSE_KEEP ((size_t)4 << 20) /* bytes of the answer kept for the checks */

static kb_server *srv;
static char *templates_dir;
static bool show; /* KB_FUZZ_SHOW=1: print each answer (to look at a reproducer's) */

/* kb's daemon options without the threads and the listening socket. */
static struct MHD_Daemon *daemon_start_external(kb_server *s) {
  struct MHD_OptionItem common[MHD_ITEMS];
  daemon_options(s, common);
  return MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, common,
                          MHD_OPTION_END);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  signal(SIGPIPE, SIG_IGN); /* a connection closed under a write is not a finding */
  show = getenv("KB_FUZZ_SHOW") != NULL;
  templates_dir = kb_path_join(fuzz_source_dir(), "templates");
  FILE *log = fopen("/dev/null", "w"); /* the access log is written, then dropped */
  kb_server_opts o = {.site_dir = fuzz_site_dir(), .templates_dir = templates_dir, .bind = "127.0.0.1",
                      .max_body = FUZZ_MAX_BODY, .live_reload = true, .access_log = log};
  /* kb_server_start's steps, with daemon_start_external for daemon_start */
  srv = server_new(&o);
  char *err = NULL;
  if (server_prepare(srv, &err) != 0 || srv->snap->error) {
    fprintf(stderr, "fuzz: the site's index cannot be read: %s\n", err ? err : srv->snap->error);
    abort();
  }
  srv->daemon = daemon_start_external(srv);
  if (!srv->daemon) {
    fprintf(stderr, "fuzz: cannot start the daemon\n");
    abort();
  }
  atomic_store(&srv->serving, true);
  return 0;
}

typedef struct client {
  int fd;
  const uint8_t *data;
  size_t size, sent;
  kb_buf answer;
  bool eof;
  int outq; /* bytes written but not yet read by the server */
} client;

/* Send what the socket takes; read what the server wrote. True if anything moved. */
static bool client_io(client *c) {
  bool moved = false;
  if (c->sent < c->size) {
    ssize_t n = send(c->fd, c->data + c->sent, c->size - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) c->sent += (size_t)n, moved = true;
  }
  static char buf[65536]; /* static: ASan would poison 64 KiB of stack on every call */
  ssize_t n;
  while ((n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    if (c->answer.len < RESPONSE_KEEP) kb_buf_add(&c->answer, buf, (size_t)n);
    moved = true;
  }
  if (n == 0) c->eof = moved = true;
  int q = 0;
  if (ioctl(c->fd, SIOCOUTQ, &q) == 0 && q != c->outq) c->outq = q, moved = true;
  return moved;
}

/* Run the daemon until the connection is closed, or (when `until_idle`) until the
 * server has read everything it will read and sends nothing more. */
static void pump(client *c, bool until_idle) {
  for (int quiet = 0; !c->eof && (!until_idle || quiet < QUIET_ROUNDS);) {
    MHD_run(srv->daemon);
    quiet = client_io(c) ? 0 : quiet + 1;
  }
}

static unsigned connections(void) {
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
  return info ? info->num_connections : 0;
}

/* Whether the answer names `path` when the request did not (pages echo the query). */
static bool leaks(const kb_buf *a, const uint8_t *req, size_t n, const char *path) {
  size_t len = strlen(path);
  return memmem(a->ptr, a->len, path, len) && !memmem(req, n, path, len);
}

/* The answer never shows where the site lives, and the first one is not a 500. */
static void check_answer(const kb_buf *a, const uint8_t *req, size_t n) {
  if (show) fprintf(stderr, "---- answer (%zu bytes)\n%.*s\n----\n", a->len, (int)a->len, a->ptr);
  if (leaks(a, req, n, srv->site_dir) || leaks(a, req, n, templates_dir)) {
    fprintf(stderr, "fuzz: a response names a server path\n");
    abort();
  }
  if (a->len >= 12 && memcmp(a->ptr, "HTTP/1.", 7) == 0 && memcmp(a->ptr + 8, " 500", 4) == 0) {
    fprintf(stderr, "fuzz: 500 answer:\n%.*s\n", (int)(a->len < 2000 ? a->len : 2000), a->ptr);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) abort();
  struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (MHD_add_connection(srv->daemon, sv[1], (struct sockaddr *)&peer, sizeof peer) != MHD_YES) abort();
  client c = {.fd = sv[0], .data = data, .size = size};
  kb_buf_init(&c.answer, RESPONSE_KEEP);
  pump(&c, true);
  shutdown(c.fd, SHUT_WR); /* the client is done: the server answers what is left and closes */
  pump(&c, false);
  close(c.fd);
  while (connections() > 0) MHD_run(srv->daemon);
  check_answer(&c.answer, data, size);
  kb_buf_release(&c.answer);
  return 0;
}
