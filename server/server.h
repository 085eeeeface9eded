/* server.h - `kb serve`: HTTP on a built site and its index (libmicrohttpd).
 *
 * The server answers from the folder `kb build` published: static pages, full-text
 * search, stack matching and incidents as JSON (routes in route.c). It never builds:
 * cli/cmd_serve.c runs the build and calls kb_server_reload() when a new site is in
 * place; a site swapped in by any other `kb build` is noticed on the next request.
 *
 * Threads: libmicrohttpd's internal thread pool (epoll); each worker thread keeps its
 * own read-only kb_index, reopened when the site's generation changes. */
#ifndef KB_SERVER_H
#define KB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define KB_SERVER_PORT 8080
#define KB_SERVER_MAX_BODY ((size_t)1 << 20)  /* bytes of a POST body (413 above) */
#define KB_SERVER_MAX_URL 32768               /* bytes of a request target (414 above) */
#define KB_SERVER_MAX_CONNECTIONS 1024        /* open connections; 503 near the limit */
#define KB_SERVER_PER_IP_CONNECTIONS 64       /* from one address, when listening beyond loopback */
#define KB_SERVER_TIMEOUT 15                  /* seconds a connection may stay idle */
#define KB_SERVER_THREADS 4                   /* worker threads */

typedef struct kb_server kb_server;

typedef struct kb_server_opts {
  const char *site_dir;      /* the published site: pages and kb.sqlite */
  const char *templates_dir; /* search.mustache, match.mustache, error.mustache, base... */
  const char *bind;          /* numeric IPv4 or IPv6 address, or "localhost" */
  unsigned port;             /* 0 = any free port (see kb_server_port) */
  size_t max_body;           /* 0 = KB_SERVER_MAX_BODY */
  unsigned max_connections;  /* 0 = KB_SERVER_MAX_CONNECTIONS */
  /* Connections from one address: 0 = the default, KB_SERVER_PER_IP_CONNECTIONS, or no
   * limit when bound to loopback (every client there is local: a local reverse proxy
   * would count as one address); -1 = no limit (behind a proxy on another host). */
  int max_per_ip;
  unsigned threads;          /* 0 = KB_SERVER_THREADS */
  bool live_reload;          /* HTML pages load kb-live.js, which reloads them on a new build */
  bool index_live;           /* kb.sqlite may be edited in place (kb_index_patch_begin) while
                                served: its handles are not immutable (kb_index_open_live) */
  FILE *access_log;          /* common log format; NULL = no access log */
} kb_server_opts;

/* Start serving. NULL and *err (caller frees) when the address cannot be used. */
kb_server *kb_server_start(const kb_server_opts *opts, char **err);
/* The port actually bound (the one chosen by the system when opts->port was 0). */
unsigned kb_server_port(const kb_server *s);
/* A new build was published: reload templates and site data, reopen the index. */
void kb_server_reload(kb_server *s);
/* Stop accepting, let the requests in flight finish (a few seconds at most), stop
 * the threads and free everything. Accepts NULL. */
void kb_server_free(kb_server *s);

#endif
