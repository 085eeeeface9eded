/* cmd_serve.c - `kb serve`: build the site (unless --no-build), serve it over HTTP
 * (server/), and with --watch rebuild when content or templates change and tell the
 * server a new build is in place. Under --watch the build is a session (gen.h): an
 * edit of incidents' prose is applied to the published page and index in place, in
 * milliseconds, and anything else rebuilds the site. The build and the server meet
 * only here: the server never calls gen. SIGINT and SIGTERM stop the server after the
 * requests in flight. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gen.h"
#include "index/index.h"
#include "server.h"
#include "util/util.h"
#include "watch.h"

/* Quiet time after the last event before acting on an edit: an editor's save is a few
 * events within a millisecond or two (write, close; or write a new file, rename it). */
#define DEBOUNCE_MS 20

static const char serve_usage[] =
    "usage: kb serve [--site DIR] [--content DIR] [--templates DIR] [--bind ADDR] [--port N]\n"
    "                [--no-build] [--watch] [--log FILE] [--max-body BYTES]\n"
    "                [--max-connections N] [--max-per-ip N]\n"
    "\n"
    "Build the site from the content folder (as 'kb build' does), then serve it with\n"
    "full-text search and stack matching: http://127.0.0.1:8080/ by default.\n"
    "\n"
    "  --site DIR            where the site is built and served from (default public)\n"
    "  --content DIR         incident write-ups (default content)\n"
    "  --templates DIR       templates, also of the search and match pages (default templates)\n"
    "  --bind ADDR           numeric address to listen on (default 127.0.0.1; 0.0.0.0 = every\n"
    "                        interface, only when you mean it)\n"
    "  --port N              port (default 8080; 0 = any free port, printed at start)\n"
    "  --no-build            serve the site as it is in --site\n"
    "  --watch               rebuild when content or templates change; open pages reload\n"
    "  --log FILE            access log in common log format (default standard output;\n"
    "                        '-' = standard output, 'off' = none)\n"
    "  --max-body BYTES      largest request body, for a pasted stack (default 1048576)\n"
    "  --max-connections N   open connections at most (default 1024; 503 near the limit)\n"
    "  --max-per-ip N        connections from one address at most (default 64, none when\n"
    "                        bound to loopback; 0 = none: behind a reverse proxy on another host)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Routes: / (the site), /search?q=, /match (paste a stack), /api/search?q=&limit=&offset=,\n"
    "POST /api/match, /api/incidents/ID, /api/generation, /healthz.\n";

typedef struct serve_opts {
  kb_build_opts build;
  kb_server_opts server;
  bool no_build, watch;
  const char *log_path;
} serve_opts;

static int parse_size(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || errno || v < 1024 || v > ((unsigned long long)1 << 30)) return -1;
  *out = (size_t)v;
  return 0;
}

static int parse_args(int argc, char **argv, serve_opts *o) {
  enum { OPT_SITE = 256, OPT_CONTENT, OPT_TEMPLATES, OPT_BIND, OPT_PORT, OPT_NOBUILD, OPT_WATCH, OPT_LOG, OPT_BODY, OPT_CONNS, OPT_PER_IP };
  static const struct option opts[] = {
      {"site", required_argument, NULL, OPT_SITE},       {"content", required_argument, NULL, OPT_CONTENT},
      {"templates", required_argument, NULL, OPT_TEMPLATES}, {"bind", required_argument, NULL, OPT_BIND},
      {"port", required_argument, NULL, OPT_PORT},       {"no-build", no_argument, NULL, OPT_NOBUILD},
      {"watch", no_argument, NULL, OPT_WATCH},           {"log", required_argument, NULL, OPT_LOG},
      {"max-body", required_argument, NULL, OPT_BODY},   {"max-connections", required_argument, NULL, OPT_CONNS},
      {"max-per-ip", required_argument, NULL, OPT_PER_IP},
      {"help", no_argument, NULL, 'h'},                  {NULL, 0, NULL, 0}};
  int c, n;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_SITE: o->build.out_dir = o->server.site_dir = optarg; break;
    case OPT_CONTENT: o->build.content_dir = optarg; break;
    case OPT_TEMPLATES: o->build.templates_dir = o->server.templates_dir = optarg; break;
    case OPT_BIND: o->server.bind = optarg; break;
    case OPT_PORT:
      if (strcmp(optarg, "0") == 0) o->server.port = 0;
      else if (cli_parse_count(optarg, 65535, &n)) o->server.port = (unsigned)n;
      else return cli_usage_error(serve_usage, "serve: --port must be a number from 0 to 65535, not '%s'", optarg);
      break;
    case OPT_NOBUILD: o->no_build = true; break;
    case OPT_WATCH: o->watch = true; break;
    case OPT_LOG: o->log_path = optarg; break;
    case OPT_BODY:
      if (parse_size(optarg, &o->server.max_body))
        return cli_usage_error(serve_usage, "serve: --max-body must be a number of bytes from 1024 to 1073741824, not '%s'", optarg);
      break;
    case OPT_CONNS:
      if (!cli_parse_count(optarg, 100000, &n) || n < 2)
        return cli_usage_error(serve_usage, "serve: --max-connections must be a number from 2 to 100000, not '%s'", optarg);
      o->server.max_connections = (unsigned)n;
      break;
    case OPT_PER_IP:
      if (strcmp(optarg, "0") == 0) o->server.max_per_ip = -1;
      else if (cli_parse_count(optarg, 100000, &n)) o->server.max_per_ip = n;
      else return cli_usage_error(serve_usage, "serve: --max-per-ip must be a number from 0 to 100000, not '%s'", optarg);
      break;
    case 'h': fputs(serve_usage, stdout); return -1;
    default: return cli_usage_error(serve_usage, "serve: unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error(serve_usage, "serve: unexpected argument '%s'", argv[optind]);
  const char *out = o->build.out_dir;
  if (!out[0] || strcmp(out, "/") == 0 || strcmp(out, ".") == 0)
    return cli_usage_error(serve_usage, "serve: refusing to build into '%s'", out);
  return 0;
}

/* Roll back an edit in place that a killed `kb serve --watch` left half committed: the
 * readers refuse the index until then (and the first build may fail and leave it served). */
static void recover_index(const serve_opts *o) {
  char *path = kb_path_join(o->server.site_dir, "kb.sqlite"), *err = NULL;
  int rc = kb_index_patch_recover(path, &err);
  if (rc > 0) fprintf(stderr, "kb: rolled back an edit of %s that was interrupted\n", path);
  if (rc < 0) fprintf(stderr, "kb: %s\n", err);
  free(err);
  free(path);
}

/* The first build (a session's under --watch): a failure still serves the last
 * published site if there is one. */
static int initial_build(const serve_opts *o, kb_build_session *session) {
  kb_build_stats st;
  if ((session ? kb_build_session_build(session, o->build.quiet, &st) : kb_build_run(&o->build, &st)) == 0) return 0;
  char *ix = kb_path_join(o->server.site_dir, "kb.sqlite");
  struct stat sb;
  int rc = stat(ix, &sb) == 0 ? 0 : -1;
  if (rc == 0) fprintf(stderr, "kb: serving the site published before; fix the errors above and save again\n");
  free(ix);
  return rc;
}

/* Signals are taken through a file descriptor: the server's threads inherit the mask
 * and never see them. */
static int signals_block(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
  return signalfd(-1, &set, SFD_CLOEXEC);
}

/* After an edit, wait for DEBOUNCE_MS without one, collecting the paths. */
static void debounce(kb_watch *w, kb_strlist *paths) {
  struct pollfd p = {kb_watch_fd(w), POLLIN, 0};
  while (poll(&p, 1, DEBOUNCE_MS) > 0) kb_watch_drain(w, paths);
}

/* Apply an edit of `paths`: in place when it is prose only, else a full build. */
static void rebuild(kb_build_session *session, kb_server *srv, const kb_strlist *paths) {
  kb_build_stats st;
  double t0 = kb_now();
  int rc = kb_build_session_edit(session, (const char *const *)paths->v, paths->n, &st);
  if (rc == 0 && st.incidents == 0) return; /* files the build does not read */
  if (rc == 0) {
    kb_server_reload(srv);
    fprintf(stderr, "kb: updated %zu incident%s in place in %.0f ms; pages reload\n", st.incidents,
            st.incidents == 1 ? "" : "s", (kb_now() - t0) * 1000);
    return;
  }
  if (kb_build_session_build(session, true, &st) == 0) {
    kb_server_reload(srv);
    fprintf(stderr, "kb: rebuilt %zu incidents in %.2f s; pages reload\n", st.incidents, kb_now() - t0);
  } else {
    fprintf(stderr, "kb: rebuild failed; still serving the previous build\n");
  }
}

/* Until SIGINT/SIGTERM: sleep, or rebuild on edits when watching. */
static void serve_loop(kb_build_session *session, kb_server *srv, int sigfd, kb_watch *w) {
  struct pollfd p[2] = {{sigfd, POLLIN, 0}, {w ? kb_watch_fd(w) : -1, POLLIN, 0}};
  for (;;) {
    if (poll(p, w ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[0].revents) {
      struct signalfd_siginfo si;
      if (read(sigfd, &si, sizeof si) > 0)
        fprintf(stderr, "kb: %s, stopping after the requests in flight\n", si.ssi_signo == SIGINT ? "interrupted" : "terminated");
      return;
    }
    kb_strlist paths = {0};
    if (w && p[1].revents && kb_watch_drain(w, &paths)) {
      debounce(w, &paths);
      rebuild(session, srv, &paths);
    }
    kb_strlist_release(&paths);
  }
}

static FILE *open_log(const char *path) {
  if (!path || strcmp(path, "-") == 0) return stdout;
  if (strcmp(path, "off") == 0) return NULL;
  FILE *f = fopen(path, "ae");
  if (!f) fprintf(stderr, "kb: cannot open the access log %s: %s\n", path, strerror(errno));
  return f ? f : stdout;
}

static void print_listening(const serve_opts *o, const kb_server *srv) {
  const char *host = o->server.bind;
  bool v6 = strchr(host, ':') && host[0] != '[';
  printf("kb: listening on http://%s%s%s:%u/ (site %s%s)\n", v6 ? "[" : "", host, v6 ? "]" : "", kb_server_port(srv),
         o->server.site_dir, o->watch ? ", watching for changes" : "");
  fflush(stdout);
  if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0 && strcmp(host, "[::1]") != 0 &&
      strcmp(host, "localhost") != 0)
    fprintf(stderr, "kb: warning: not a loopback address: anyone who can reach %s can use this server\n", host);
}

static kb_watch *watch_start(const serve_opts *o) {
  const char *dirs[] = {o->build.content_dir, o->build.templates_dir};
  char *err = NULL;
  kb_watch *w = kb_watch_new(dirs, 2, &err);
  if (!w) fprintf(stderr, "kb: %s\n", err);
  free(err);
  return w;
}

int cmd_serve(int argc, char **argv) {
  serve_opts o = {.build = {.content_dir = "content", .templates_dir = "templates", .out_dir = "public", .base_url = "/"},
                  .server = {.site_dir = "public", .templates_dir = "templates", .bind = "127.0.0.1",
                             .port = KB_SERVER_PORT}};
  int rc = parse_args(argc, argv, &o);
  if (rc) return rc < 0 ? KB_EXIT_OK : rc; /* -1: --help was printed */
  o.server.live_reload = o.watch;
  o.server.index_live = o.watch; /* edits patch the index in place */
  char *wasm_dir = cli_default_wasm_dir(); /* the snapshot it publishes searches without us too */
  o.build.wasm_dir = wasm_dir;
  kb_build_session *session = o.watch ? kb_build_session_new(&o.build, 0) : NULL;
  if (session) recover_index(&o); /* an edit the last --watch died in */
  if (!o.no_build && initial_build(&o, session) != 0) {
    kb_build_session_free(session);
    free(wasm_dir);
    return KB_EXIT_FAIL;
  }
  char *index = kb_path_join(o.server.site_dir, "kb.sqlite");
  if (access(index, R_OK) != 0)
    fprintf(stderr, "kb: warning: no %s yet: search and match answer 503 until 'kb build' publishes one\n", index);
  free(index);
  char *probe = kb_path_join(o.server.templates_dir, "search.mustache");
  if (access(probe, R_OK) != 0)
    fprintf(stderr, "kb: warning: %s not found: the search and match pages cannot be shown (the site and "
            "/api/ work); pass --templates DIR\n", probe);
  free(probe);
  o.server.access_log = open_log(o.log_path);
  int sigfd = signals_block();
  char *err = NULL;
  kb_server *srv = sigfd >= 0 ? kb_server_start(&o.server, &err) : NULL;
  kb_watch *w = srv && o.watch ? watch_start(&o) : NULL;
  if (!srv || (o.watch && !w)) {
    if (err) fprintf(stderr, "kb: serve: %s\n", err);
    rc = KB_EXIT_FAIL;
    goto err;
  }
  print_listening(&o, srv);
  serve_loop(session, srv, sigfd, w);
err:
  kb_build_session_free(session);
  kb_watch_free(w);
  kb_server_free(srv);
  if (sigfd >= 0) close(sigfd);
  if (o.server.access_log && o.server.access_log != stdout) fclose(o.server.access_log);
  free(err);
  free(wasm_dir);
  return rc;
}
