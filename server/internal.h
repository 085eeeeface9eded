/* internal.h - what the server's files share: the server and request structures and
 * the functions one file offers the others. Not for use outside server/. */
#ifndef KB_SERVER_INTERNAL_H
#define KB_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "index/reader.h"
#include "server.h"
#include "template/mustache.h"
#include "util/buf.h"

/* ---- snapshot.c: what one published build looks like to the server ---- */

/* Which kb.sqlite: an inode number alone can come back for a later file once the
 * file that had it is gone, so size and modification time are compared too. */
typedef struct kb_srv_fileid {
  dev_t dev;
  ino_t ino; /* 0 = no file */
  off_t size;
  long long mtime_ns;
} kb_srv_fileid;

/* Built when the server starts and whenever a new build is published; shared by the
 * requests that started while it was current (reference counted), never changed. */
typedef struct kb_srv_snap {
  unsigned long gen;   /* generation: 1, 2, ... one per build seen */
  atomic_int refs;
  kb_tmpl_set *tmpl;   /* the server's pages, compiled on first use */
  cJSON *site;         /* the `site` object the templates expect */
  char *base;          /* path every URL of the site starts with: "/" or "/kb/" */
  char *base_url;      /* prefix of links to incidents ("/" or "https://host/kb/") */
  char *built_at;      /* "" when the index could not be read */
  long long incidents;
  kb_srv_fileid file;  /* the kb.sqlite this snapshot describes */
  kb_index **ix;       /* that file opened once per worker thread (kb_srv_index) */
  unsigned nix;
  char *error;         /* why the index cannot be read (names the file: stderr only); NULL = fine */
} kb_srv_snap;

/* The current snapshot, reloaded first if kb.sqlite was replaced; release when done. */
kb_srv_snap *kb_srv_snap_acquire(kb_server *s);
void kb_srv_snap_release(kb_srv_snap *snap); /* accepts NULL */
/* Load a new snapshot and make it current (force: even if kb.sqlite looks the same);
 * an unreadable index does not replace a readable one. */
void kb_srv_snap_reload(kb_server *s, bool force);
void kb_srv_snap_free_all(kb_server *s);
/* This worker thread's handle on `snap`'s index; NULL when it cannot be read. */
kb_index *kb_srv_index(kb_server *s, const kb_srv_snap *snap);
int kb_srv_index_key_init(kb_server *s);

/* ---- gzcache.c: gzipped site files, compressed once ---- */
#define KB_SRV_GZCACHE_SLOTS 256
#define KB_SRV_GZCACHE_ENTRY ((size_t)128 << 10) /* bytes; larger results are not kept */
typedef struct kb_srv_gzcache kb_srv_gzcache;
kb_srv_gzcache *kb_srv_gzcache_new(void);
void kb_srv_gzcache_free(kb_srv_gzcache *c); /* accepts NULL */
/* A malloc'd copy of the entry for `key` (caller frees), or NULL. */
char *kb_srv_gzcache_get(kb_srv_gzcache *c, const char *key, size_t *len);
void kb_srv_gzcache_put(kb_srv_gzcache *c, const char *key, const char *data, size_t len);

/* ---- server.c ---- */

struct kb_server {
  char *site_dir, *templates_dir, *index_path;
  size_t max_body;
  unsigned max_connections, soft_limit, port;
  bool live_reload;
  bool index_live; /* the index may be edited in place: opened with kb_index_open_live */
  FILE *log;
  pthread_mutex_t log_lock;  /* the access log, and the rate of libmicrohttpd's messages: */
  double mhd_log_last;       /* when one was last shown */
  unsigned mhd_log_dropped;  /* how many since were not */
  struct MHD_Daemon *daemon;
  pthread_mutex_t snap_lock;   /* guards `snap` */
  pthread_mutex_t reload_lock; /* one reload at a time */
  kb_srv_snap *snap;
  kb_srv_fileid bad;      /* a published kb.sqlite refused as unreadable */
  atomic_bool stale;      /* the published index was refused: answering from an older build */
  atomic_bool serving;    /* started: reload problems go to stderr (before, the caller says) */
  atomic_ulong gen;
  atomic_int connections; /* open connections */
  atomic_int inflight;    /* requests between their first byte and their completion */
  unsigned threads;       /* libmicrohttpd's worker threads: one index handle each */
  atomic_uint next_slot;  /* the next worker thread's slot (snapshot.c) */
  pthread_key_t index_key;
  bool index_key_ok;
  kb_srv_gzcache *gz;
};

enum { KB_SRV_MAX_HEADERS = 4 };
enum { KB_SRV_BODY_NONE, KB_SRV_BODY_TEXT, KB_SRV_BODY_JSON, KB_SRV_BODY_FORM };

typedef struct kb_srv_req {
  kb_server *srv;
  struct MHD_Connection *con;
  char *target;       /* the request target as received, cut at KB_SERVER_MAX_URL */
  bool target_too_long;
  char *path;         /* decoded path below the site's base, "/..." (route.c) */
  const char *query;  /* raw query string inside `target` ("" when none) */
  char *method, *version;
  long long start;    /* wall-clock time the request began, for the access log */
  bool head, api, started, responded;
  const void *route;  /* route.c's route for this request */
  unsigned err_status; /* the error to answer with, when known before the handler */
  const char *err_message;
  double t0;
  unsigned status;    /* status sent, for the access log */
  uint64_t bytes;     /* body bytes sent */
  kb_srv_snap *snap;  /* held while the request is handled */
  /* request body (body.c) */
  int body_kind;
  kb_buf body;
  bool body_too_big;
  size_t body_seen;   /* bytes of body received, framing included */
  struct MHD_PostProcessor *pp;
  /* extra response headers (respond.c) */
  char *hdr_name[KB_SRV_MAX_HEADERS], *hdr_value[KB_SRV_MAX_HEADERS];
  int nhdr;
} kb_srv_req;

/* ---- route.c ---- */
enum MHD_Result kb_srv_route(kb_srv_req *r, const char *upload, size_t *upload_size);

/* ---- url.c: decoding what the client sent (pure functions) ---- */

/* Decode the path part of a request target into *out (caller frees). Returns 0, 400
 * (malformed escape) or 404 (NUL, control byte, backslash, or a segment starting with
 * '.', which covers `..`): such paths can name nothing the site serves. */
int kb_srv_url_path(const char *target, char **out);
/* The value of `name` in a query string, decoded ('+' is a space) into *out (caller
 * frees). Returns 0, 1 when absent, -1 when malformed (bad escape, NUL byte). */
int kb_srv_url_param(const char *query, const char *name, char **out);
/* Append `s` percent-encoded for a query value (or a path when keep_slash). */
void kb_srv_url_encode(kb_buf *b, const char *s, bool keep_slash);
/* Whether `s` is valid UTF-8. */
bool kb_srv_utf8_valid(const char *s, size_t n);
/* Length of the longest prefix of s[0..n) not longer than max that ends on a character. */
size_t kb_srv_utf8_cut(const char *s, size_t n, size_t max);
/* Accept-Encoding allows gzip (q > 0). */
bool kb_srv_accepts_gzip(const char *accept_encoding);
/* If-None-Match lists `etag` (or "*"); weak and strong forms compare equal. */
bool kb_srv_etag_match(const char *if_none_match, const char *etag);
/* Parse an HTTP date; -1 when it is not one. */
long long kb_srv_http_date_parse(const char *s);
/* Format a time as an HTTP date into buf (at least 30 bytes). */
void kb_srv_http_date(long long t, char *buf, size_t size);
/* Parse a decimal number in [lo, hi]; false when it is not one. */
bool kb_srv_parse_int(const char *s, long lo, long hi, long *out);

/* ---- respond.c ---- */

/* Add a header to the response about to be sent (copied). */
void kb_srv_header_add(kb_srv_req *r, const char *name, const char *value);
/* Queue `resp` with the security headers and the extra ones; takes the response. */
enum MHD_Result kb_srv_queue(kb_srv_req *r, unsigned status, struct MHD_Response *resp, uint64_t bytes);
/* Send a body held in memory (taken; freed with free()), gzipped when the client
 * accepts it and it is worth it. Dynamic bodies are never cached. */
enum MHD_Result kb_srv_send(kb_srv_req *r, unsigned status, const char *type, char *body, size_t len);
/* Send `o` (deleted) as JSON. */
enum MHD_Result kb_srv_send_json(kb_srv_req *r, unsigned status, cJSON *o);
/* An error: JSON {"status", "error"} under /api/, the error page elsewhere. `message`
 * is shown to the client: never a path or an internal detail. */
enum MHD_Result kb_srv_send_error(kb_srv_req *r, unsigned status, const char *message);
/* Whether a body of this type is worth compressing. */
bool kb_srv_compressible(const char *type);
/* Gzip `len` bytes into a malloc'd buffer; NULL on failure. */
char *kb_srv_gzip(const char *data, size_t len, size_t *out_len);

/* ---- static.c ---- */
enum MHD_Result kb_srv_static(kb_srv_req *r);
/* Content type for a file name. */
const char *kb_srv_mime_type(const char *name);
/* Insert the live-reload script before </body> (HTML pages under --watch). */
void kb_srv_live_inject(kb_srv_req *r, kb_buf *html);

/* ---- pages.c: the HTML pages rendered from templates ---- */
enum MHD_Result kb_srv_page_render(kb_srv_req *r, unsigned status, const char *name, const char *title,
                                   cJSON *data);
enum MHD_Result kb_srv_page_search(kb_srv_req *r);
enum MHD_Result kb_srv_page_match(kb_srv_req *r);

/* ---- api.c ---- */
enum MHD_Result kb_srv_api_search(kb_srv_req *r);
enum MHD_Result kb_srv_api_match(kb_srv_req *r);
enum MHD_Result kb_srv_api_incident(kb_srv_req *r);
enum MHD_Result kb_srv_api_generation(kb_srv_req *r);
enum MHD_Result kb_srv_api_health(kb_srv_req *r);

/* ---- incident.c ---- */
/* One incident from the index as JSON; NULL when there is no such id (*failed set
 * when the index could not be read). */
cJSON *kb_srv_incident_json(kb_index *ix, const char *id, const char *base_url, bool *failed);

/* ---- body.c: POST bodies ---- */
/* Called once the headers are in: 0, or the status to answer (413, 415). */
unsigned kb_srv_body_begin(kb_srv_req *r);
void kb_srv_body_feed(kb_srv_req *r, const char *data, size_t n);
/* The pasted stack text (caller frees), or NULL and *why (static) for a 400. */
char *kb_srv_body_stack(kb_srv_req *r, const char **why);
void kb_srv_body_release(kb_srv_req *r);

/* ---- alog.c ---- */
void kb_srv_alog_write(kb_srv_req *r);

#endif
