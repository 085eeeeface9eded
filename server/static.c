/* static.c - the site's files: content types, ETag / If-None-Match, Last-Modified /
 * If-Modified-Since, gzip when the client accepts it, HEAD (libmicrohttpd drops the
 * body). Files are opened one path segment at a time from the site folder with
 * O_NOFOLLOW, so no symbolic link is ever followed and nothing outside the folder can
 * be reached; url.c has already refused `..`, hidden names, NUL and backslashes.
 * A build swaps the whole folder in one rename: a walk that started in the old folder
 * and lost it to the swap starts again in the new one. Called by route.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util/util.h"

#define MAX_SEGMENT 255
#define MAX_IN_MEMORY ((size_t)32 << 20) /* larger files are sent as they are, never gzipped */
#define GZIP_MIN 512
/* Files up to this size are read and sent from memory, with the header in the same write
 * (libmicrohttpd sends a buffer's header and body together; a file's header goes first,
 * then sendfile()). A replica behind nginx that dies between the two leaves nginx with a
 * header it has already passed on and no body: the client gets a cut-off page, which
 * nginx cannot retry (deploy/nginx/kb.conf reads the first 64 KB at once). */
#define ONE_WRITE_MAX ((size_t)64 << 10)

static const struct {
  const char *ext, *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},  {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},         {".xml", "application/xml; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"}, {".md", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},             {".png", "image/png"},
    {".jpg", "image/jpeg"},                {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},                 {".webp", "image/webp"},
    {".ico", "image/x-icon"},              {".woff2", "font/woff2"},
    {".woff", "font/woff"},                {".pdf", "application/pdf"},
    {".wasm", "application/wasm"},         {".sqlite", "application/vnd.sqlite3"},
    {".webmanifest", "application/manifest+json"}};

const char *kb_srv_mime_type(const char *name) {
  if (strcmp(name, "feed.xml") == 0 || kb_str_endswith(name, "/feed.xml")) return "application/atom+xml; charset=utf-8";
  const char *dot = strrchr(name, '.');
  if (dot && !strchr(dot, '/'))
    for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
      if (strcasecmp(dot, mime_types[i].ext) == 0) return mime_types[i].type;
  return "application/octet-stream";
}

/* Walk `path` ("/a/b.html") from `dir` without following links. Returns an open fd
 * (directories included), or -1 with errno. */
static int open_below(int dir, const char *path) {
  int fd = dup(dir);
  const char *p = path;
  while (fd >= 0) {
    while (*p == '/') p++;
    size_t len = strcspn(p, "/");
    if (len == 0) return fd; /* the path ended (or ended with '/'): fd is the folder */
    if (len > MAX_SEGMENT) {
      close(fd);
      errno = ENAMETOOLONG;
      return -1;
    }
    char name[MAX_SEGMENT + 1];
    memcpy(name, p, len);
    name[len] = '\0';
    p += len;
    int next = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (*p ? O_DIRECTORY : 0));
    close(fd);
    fd = next;
  }
  return -1;
}

/* The file for `path`: a folder gives its index.html. *is_dir when the path named a
 * folder without the trailing slash (the caller redirects). -1 when there is none. */
static int open_site_file(kb_srv_req *r, const char *path, struct stat *st, bool *is_dir) {
  *is_dir = false;
  for (int attempt = 0; attempt < 3; attempt++) {
    int dir = open(r->srv->site_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    struct stat dst;
    fstat(dir, &dst);
    int fd = open_below(dir, path);
    if (fd >= 0 && fstat(fd, st) == 0 && S_ISDIR(st->st_mode)) {
      if (path[strlen(path) - 1] != '/') {
        *is_dir = true;
        close(fd);
        close(dir);
        return -1;
      }
      int idx = openat(fd, "index.html", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      close(fd);
      fd = idx;
      if (fd >= 0) fstat(fd, st);
    }
    if (fd >= 0 && !S_ISREG(st->st_mode)) close(fd), fd = -1;
    /* lost the folder to a build's swap? then walk the new one */
    struct stat now;
    bool swapped = fd < 0 && stat(r->srv->site_dir, &now) == 0 && (now.st_ino != dst.st_ino || now.st_dev != dst.st_dev);
    close(dir);
    if (fd >= 0 || !swapped) return fd;
  }
  return -1;
}

static enum MHD_Result redirect_to_folder(kb_srv_req *r, const char *path) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, r->snap->base);
  kb_srv_url_encode(&b, path + 1, true);
  kb_buf_addc(&b, '/');
  kb_srv_header_add(r, "Location", b.ptr);
  kb_buf_release(&b);
  char *body = kb_xstrdup("Moved to the folder's address (with a trailing slash).\n");
  return kb_srv_send(r, 301, "text/plain; charset=utf-8", body, strlen(body));
}

/* Whether the client's cached copy is current: If-None-Match first, then the date. */
static bool not_modified(kb_srv_req *r, const char *etag, const struct stat *st) {
  const char *inm = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "If-None-Match");
  if (inm) return kb_srv_etag_match(inm, etag);
  long long ims = kb_srv_http_date_parse(MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "If-Modified-Since"));
  return ims >= 0 && (long long)st->st_mtime <= ims;
}

static char *read_fd(int fd, size_t size) {
  char *data = kb_xmalloc(size + 1);
  size_t got = 0;
  while (got < size) {
    ssize_t n = pread(fd, data + got, size - got, (off_t)got);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      free(data);
      return NULL;
    }
    got += (size_t)n;
  }
  data[size] = '\0';
  return data;
}

/* The file's bytes as they are sent: live-reload script added when asked for. */
static char *file_body(kb_srv_req *r, int fd, const struct stat *st, bool live, size_t *len) {
  char *data = read_fd(fd, (size_t)st->st_size);
  *len = (size_t)st->st_size;
  if (!data || !live) return data;
  kb_buf b = KB_BUF_INIT;
  kb_buf_add(&b, data, *len);
  free(data);
  kb_srv_live_inject(r, &b);
  return kb_buf_detach(&b, len);
}

/* The body from memory: a small file (ONE_WRITE_MAX), or with the live-reload script,
 * or gzipped (compressed once and kept in the server's cache under the variant's ETag). */
static enum MHD_Result send_from_memory(kb_srv_req *r, int fd, const struct stat *st, const char *type,
                                        const char *etag, bool gz, bool live) {
  size_t len = 0;
  char *data = gz ? kb_srv_gzcache_get(r->srv->gz, etag, &len) : NULL;
  if (!data) {
    data = file_body(r, fd, st, live, &len);
    if (data && gz) {
      size_t zlen;
      char *z = kb_srv_gzip(data, len, &zlen);
      free(data);
      data = z, len = zlen;
      if (z) kb_srv_gzcache_put(r->srv->gz, etag, z, zlen);
    }
  }
  close(fd);
  if (!data) return kb_srv_send_error(r, 500, "The file could not be read.");
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
  if (!resp) return free(data), MHD_NO;
  MHD_add_response_header(resp, "Content-Type", type);
  if (gz) MHD_add_response_header(resp, "Content-Encoding", "gzip");
  return kb_srv_queue(r, 200, resp, len);
}

/* Inode, size and modification time: a build writes new files, so a new ETag. The
 * variants (live-reload script, gzip) are different bytes, so different ETags. */
static void file_etag(const struct stat *st, const char *live, const char *gz, char *buf, size_t size) {
  unsigned long long ns = (unsigned long long)st->st_mtim.tv_sec * 1000000000ull + (unsigned long long)st->st_mtim.tv_nsec;
  snprintf(buf, size, "\"%llx-%llx-%llx%s%s\"", (unsigned long long)st->st_ino, (unsigned long long)st->st_size, ns,
           live, gz);
}

enum MHD_Result kb_srv_static(kb_srv_req *r) {
  struct stat st;
  bool is_dir;
  int fd = open_site_file(r, r->path, &st, &is_dir);
  if (is_dir) return redirect_to_folder(r, r->path);
  if (fd < 0) return kb_srv_send_error(r, 404, "There is no page at this address.");
  const char *slash = strrchr(r->path, '/');
  const char *type = kb_srv_mime_type(slash && slash[1] ? r->path : "index.html");
  bool html = strncmp(type, "text/html", 9) == 0;
  bool small = (size_t)st.st_size <= MAX_IN_MEMORY;
  bool live = r->srv->live_reload && html && small;
  bool can_gz = small && (size_t)st.st_size >= GZIP_MIN && kb_srv_compressible(type);
  bool gz = can_gz && kb_srv_accepts_gzip(MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Accept-Encoding"));
  char etag[96], date[40];
  file_etag(&st, live ? "-l" : "", gz ? "-z" : "", etag, sizeof etag);
  kb_srv_http_date((long long)st.st_mtime, date, sizeof date);
  kb_srv_header_add(r, "ETag", etag);
  kb_srv_header_add(r, "Last-Modified", date);
  kb_srv_header_add(r, "Cache-Control", "no-cache"); /* revalidate: the next build may change it */
  if (can_gz) kb_srv_header_add(r, "Vary", "Accept-Encoding");
  if (not_modified(r, etag, &st)) {
    close(fd);
    return kb_srv_queue(r, 304, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), 0);
  }
  if (gz || live || (size_t)st.st_size <= ONE_WRITE_MAX) return send_from_memory(r, fd, &st, type, etag, gz, live);
  struct MHD_Response *resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
  if (!resp) return close(fd), MHD_NO;
  MHD_add_response_header(resp, "Content-Type", type);
  return kb_srv_queue(r, 200, resp, (uint64_t)st.st_size);
}

void kb_srv_live_inject(kb_srv_req *r, kb_buf *html) {
  if (!r->srv->live_reload) return;
  char *tag = kb_xasprintf("<script src=\"%skb-live.js\" defer></script>\n", r->snap->base);
  size_t at = html->len; /* before the last </body>, or at the end */
  for (const char *p = html->ptr; (p = strstr(p, "</body>")) != NULL; p++) at = (size_t)(p - html->ptr);
  kb_buf out = KB_BUF_INIT;
  kb_buf_add(&out, html->ptr, at);
  kb_buf_adds(&out, tag);
  kb_buf_add(&out, html->ptr + at, html->len - at);
  kb_buf_release(html);
  *html = out;
  free(tag);
}
