/* server.c - the libmicrohttpd daemon of `kb serve`: options and limits, the
 * callbacks that create, route and finish requests, the connection count behind the
 * 503 answer, reload and a graceful stop. Called by cli/cmd_serve.c (see server.h). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util/util.h"

#define CONNECTION_MEMORY ((size_t)128 << 10) /* per connection: room for a KB_SERVER_MAX_URL target */
#define STOP_GRACE_SECONDS 5.0

/* The request object is born with the request line, before any header is parsed:
 * the raw target is kept here because libmicrohttpd decodes its own copy. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con) {
  kb_server *s = cls;
  kb_srv_req *r = kb_xcalloc(1, sizeof *r);
  r->srv = s;
  r->con = con;
  r->t0 = kb_now();
  r->start = (long long)time(NULL);
  size_t n = strlen(uri);
  r->target_too_long = n > KB_SERVER_MAX_URL;
  r->target = kb_xstrndup(uri, r->target_too_long ? KB_SERVER_MAX_URL : n);
  char *q = strchr(r->target, '?');
  r->query = q ? q + 1 : "";
  kb_buf_init(&r->body, 1);
  atomic_fetch_add(&s->inflight, 1);
  return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **req_cls) {
  kb_server *s = cls;
  kb_srv_req *r = *req_cls;
  if (!r) *req_cls = r = on_uri(s, url, con); /* not expected: on_uri runs first */
  if (!r->method) {
    r->method = kb_xstrdup(method);
    r->version = kb_xstrdup(version);
    r->head = strcmp(method, "HEAD") == 0;
    r->snap = kb_srv_snap_acquire(s);
  }
  return kb_srv_route(r, upload, upload_size);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  kb_server *s = cls;
  kb_srv_req *r = *req_cls;
  if (!r) return;
  kb_srv_alog_write(r);
  atomic_fetch_sub(&s->inflight, 1);
  kb_srv_body_release(r);
  kb_srv_snap_release(r->snap);
  for (int i = 0; i < r->nhdr; i++) free(r->hdr_name[i]), free(r->hdr_value[i]);
  free(r->target);
  free(r->path);
  free(r->method);
  free(r->version);
  free(r);
  *req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  kb_server *s = cls;
  atomic_fetch_add(&s->connections, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/* libmicrohttpd's messages, one a second at most: a flood of connections beyond the
 * limits would otherwise write a line for each one refused. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  kb_server *s = cls;
  double now = kb_now();
  pthread_mutex_lock(&s->log_lock);
  bool show = now - s->mhd_log_last >= 1.0;
  unsigned dropped = s->mhd_log_dropped;
  if (show) s->mhd_log_last = now, s->mhd_log_dropped = 0;
  else s->mhd_log_dropped++;
  pthread_mutex_unlock(&s->log_lock);
  if (!show) return;
  if (dropped) fprintf(stderr, "kb serve: httpd: (%u more messages in the last second not shown)\n", dropped);
  fputs("kb serve: httpd: ", stderr);
  vfprintf(stderr, fmt, ap);
}

/* Numeric addresses only (no name lookups): "127.0.0.1", "::1", "[::1]", "localhost". */
static int parse_bind(const char *bind, unsigned port, struct sockaddr_storage *ss, bool *v6) {
  memset(ss, 0, sizeof *ss);
  char host[INET6_ADDRSTRLEN + 2];
  if (strcasecmp(bind, "localhost") == 0) bind = "127.0.0.1";
  size_t n = strlen(bind);
  if (n >= sizeof host) return -1;
  if (bind[0] == '[' && n > 2 && bind[n - 1] == ']') memcpy(host, bind + 1, n - 2), host[n - 2] = '\0';
  else memcpy(host, bind, n + 1);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *v6 = false;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *v6 = true;
    return 0;
  }
  return -1;
}

static bool is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Every connection is a file descriptor: raise the soft limit on open files as far as
 * the hard limit allows (systemd starts services at 1024), and serve fewer connections
 * when even that is too low, rather than fail to accept with EMFILE. */
static void fit_open_files(kb_server *s) {
  enum { OTHER_FILES = 128 }; /* listen socket, epoll, index handles, files being sent, log */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = (rlim_t)s->max_connections + OTHER_FILES;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur >= want) return;
  unsigned fit = rl.rlim_cur > 2 * OTHER_FILES ? (unsigned)(rl.rlim_cur - OTHER_FILES) : OTHER_FILES;
  fprintf(stderr, "kb serve: warning: open files limited to %llu: serving %u connections at most, not %u\n",
          (unsigned long long)rl.rlim_cur, fit, s->max_connections);
  s->max_connections = fit;
}

static kb_server *server_new(const kb_server_opts *o) {
  kb_server *s = kb_xcalloc(1, sizeof *s);
  s->site_dir = kb_xstrdup(o->site_dir);
  s->templates_dir = kb_xstrdup(o->templates_dir);
  s->index_path = kb_path_join(o->site_dir, "kb.sqlite");
  s->max_body = o->max_body ? o->max_body : KB_SERVER_MAX_BODY;
  s->max_connections = o->max_connections ? o->max_connections : KB_SERVER_MAX_CONNECTIONS;
  fit_open_files(s);
  /* keep a few slots for answering 503 rather than refusing connections outright */
  unsigned spare = s->max_connections / 8 ? s->max_connections / 8 : 1;
  s->soft_limit = s->max_connections > spare ? s->max_connections - spare : 1;
  s->threads = o->threads ? o->threads : KB_SERVER_THREADS;
  s->live_reload = o->live_reload;
  s->index_live = o->index_live;
  s->log = o->access_log;
  pthread_mutex_init(&s->log_lock, NULL);
  pthread_mutex_init(&s->snap_lock, NULL);
  pthread_mutex_init(&s->reload_lock, NULL);
  s->gz = kb_srv_gzcache_new();
  return s;
}

/* The options every daemon of kb's takes: its handlers and per-connection limits
 * (also the fuzzing harness's, tests/fuzz/fuzz_http.c, which runs one without threads
 * or a listening socket). Fills `items` (room for MHD_ITEMS) up to MHD_OPTION_END. */
enum { MHD_ITEMS = 8 };
static void daemon_options(kb_server *s, struct MHD_OptionItem items[MHD_ITEMS]) {
  size_t n = 0;
  items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)KB_SERVER_TIMEOUT, NULL};
  items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)CONNECTION_MEMORY, NULL};
  items[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s};
  items[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
  items[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
  items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->max_connections, NULL};
  items[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

static struct MHD_Daemon *daemon_start(kb_server *s, const kb_server_opts *o, struct sockaddr_storage *addr, bool v6) {
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (v6) flags |= MHD_USE_IPv6;
  /* 0 = no per-address limit (libmicrohttpd's meaning) */
  unsigned per_ip = o->max_per_ip < 0 || (o->max_per_ip == 0 && is_loopback(addr)) ? 0
                    : o->max_per_ip > 0                                          ? (unsigned)o->max_per_ip
                                                                                 : KB_SERVER_PER_IP_CONNECTIONS;
  if (per_ip > s->max_connections) per_ip = s->max_connections;
  struct MHD_OptionItem common[MHD_ITEMS];
  daemon_options(s, common);
  return MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s,
                          MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)addr,
                          MHD_OPTION_THREAD_POOL_SIZE, s->threads,
                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                          MHD_OPTION_ARRAY, common,
                          MHD_OPTION_END);
}

/* Everything kb_server_start does before the daemon: 0, or -1 with *err (caller frees). */
static int server_prepare(kb_server *s, char **err) {
  if (kb_srv_index_key_init(s) != 0) {
    *err = kb_xstrdup("cannot create thread-local storage");
    return -1;
  }
  kb_srv_snap_reload(s, true);
  if (s->snap->error && s->snap->file.ino) { /* there is an index, and it is damaged: refuse to start */
    *err = kb_xstrdup(s->snap->error);
    return -1;
  }
  return 0;
}

kb_server *kb_server_start(const kb_server_opts *o, char **err) {
  struct sockaddr_storage addr;
  bool v6;
  *err = NULL;
  if (parse_bind(o->bind, o->port, &addr, &v6) != 0) {
    *err = kb_xasprintf("--bind wants a numeric IPv4 or IPv6 address, not '%s'", o->bind);
    return NULL;
  }
  kb_server *s = server_new(o);
  if (server_prepare(s, err) != 0) goto err;
  s->daemon = daemon_start(s, o, &addr, v6);
  if (!s->daemon) {
    *err = kb_xasprintf("cannot listen on %s port %u (in use, or not an address of this machine?)", o->bind, o->port);
    goto err;
  }
  atomic_store(&s->serving, true);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : o->port;
  return s;
err:
  kb_server_free(s);
  return NULL;
}

unsigned kb_server_port(const kb_server *s) { return s->port; }

void kb_server_reload(kb_server *s) { kb_srv_snap_reload(s, true); }

/* No new connections; requests already in flight get a few seconds to finish. */
static void daemon_stop(kb_server *s) {
  MHD_socket listen = MHD_quiesce_daemon(s->daemon);
  double until = kb_now() + STOP_GRACE_SECONDS;
  while (atomic_load(&s->inflight) > 0 && kb_now() < until) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  MHD_stop_daemon(s->daemon);
  if (listen != MHD_INVALID_SOCKET) close(listen);
  s->daemon = NULL;
}

void kb_server_free(kb_server *s) {
  if (!s) return;
  if (s->daemon) daemon_stop(s);
  kb_srv_snap_free_all(s);
  kb_srv_gzcache_free(s->gz);
  if (s->index_key_ok) pthread_key_delete(s->index_key);
  pthread_mutex_destroy(&s->log_lock);
  pthread_mutex_destroy(&s->snap_lock);
  pthread_mutex_destroy(&s->reload_lock);
  free(s->site_dir);
  free(s->templates_dir);
  free(s->index_path);
  free(s);
}
