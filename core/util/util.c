/* util.c - allocation, string lists, diagnostics, small file-system helpers.
 * Used by every other module of the core, by gen and by the server. */
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void) {
  fputs("kb: out of memory\n", stderr);
  abort();
}

void *kb_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom();
  return p;
}

void *kb_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom();
  return p;
}

void *kb_xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) oom();
  return p;
}

char *kb_xstrdup(const char *s) { return kb_xstrndup(s, strlen(s)); }

char *kb_xstrndup(const char *s, size_t n) {
  char *p = kb_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *kb_xasprintf(const char *fmt, ...) {
  kb_buf b = KB_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  kb_buf_vaddf(&b, fmt, ap);
  va_end(ap);
  return kb_buf_detach(&b, NULL);
}

void kb_strlist_push_own(kb_strlist *l, char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = kb_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = s;
}

void kb_strlist_push(kb_strlist *l, const char *s) { kb_strlist_push_own(l, kb_xstrdup(s)); }

bool kb_strlist_has(const kb_strlist *l, const char *s) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0) return true;
  return false;
}

void kb_strlist_release(kb_strlist *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

void kb_diags_add(kb_diags *d, kb_severity sev, const char *path, int line, const char *fmt, ...) {
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 8;
    d->v = kb_xrealloc(d->v, d->cap * sizeof *d->v);
  }
  kb_buf msg = KB_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  kb_buf_vaddf(&msg, fmt, ap);
  va_end(ap);
  d->v[d->n++] = (kb_diag){sev, kb_xstrdup(path ? path : ""), line, kb_buf_detach(&msg, NULL)};
  if (sev == KB_ERROR) d->errors++;
}

void kb_diags_move(kb_diags *dst, kb_diags *src) {
  for (size_t i = 0; i < src->n; i++) {
    if (dst->n == dst->cap) {
      dst->cap = dst->cap ? dst->cap * 2 : 8;
      dst->v = kb_xrealloc(dst->v, dst->cap * sizeof *dst->v);
    }
    dst->v[dst->n++] = src->v[i];
  }
  dst->errors += src->errors;
  free(src->v);
  memset(src, 0, sizeof *src);
}

void kb_diags_print(const kb_diags *d, void *fp) {
  FILE *f = fp;
  for (size_t i = 0; i < d->n; i++) {
    const kb_diag *g = &d->v[i];
    const char *kind = g->sev == KB_ERROR ? "error" : "warning";
    if (g->line > 0)
      fprintf(f, "%s:%d: %s: %s\n", g->path, g->line, kind, g->msg);
    else if (g->path[0])
      fprintf(f, "%s: %s: %s\n", g->path, kind, g->msg);
    else
      fprintf(f, "kb: %s: %s\n", kind, g->msg);
  }
}

void kb_diags_release(kb_diags *d) {
  if (!d) return;
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i].path);
    free(d->v[i].msg);
  }
  free(d->v);
  memset(d, 0, sizeof *d);
}

int kb_file_read(const char *path, kb_buf *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    errno = EISDIR;
    return -1;
  }
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    if (n == 0) break;
    kb_buf_add(out, chunk, (size_t)n);
    if (out->err) {
      close(fd);
      errno = EFBIG;
      return -1;
    }
  }
  close(fd);
  return 0;
}

int kb_mkdirs(const char *path) {
  /* the folder itself first: its parent is usually there already (a site's pages are
   * 10,000 folders side by side: one call each instead of one per level) */
  if (mkdir(path, 0755) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return -1;
  char *p = kb_xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      free(p);
      return -1;
    }
    *s = '/';
  }
  int rc = mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
  free(p);
  return rc;
}

#ifndef __wasi__ /* (the browser build writes no files) */
int kb_file_replace(const char *path, const void *data, size_t len) {
  char *tmp = kb_xasprintf("%s.kb-new-%ld", path, (long)getpid());
  int rc = kb_file_write(tmp, data, len);
  if (rc == 0) rc = rename(tmp, path);
  if (rc) {
    int e = errno;
    unlink(tmp);
    errno = e;
  }
  free(tmp);
  return rc;
}
#endif

int kb_file_write(const char *path, const void *data, size_t len) {
  const char *slash = strrchr(path, '/');
  if (slash && slash != path) {
    char *dir = kb_xstrndup(path, (size_t)(slash - path));
    int rc = kb_mkdirs(dir);
    free(dir);
    if (rc) return -1;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return close(fd);
}

int kb_remove_tree(const char *path) {
  if (!path[0] || strcmp(path, "/") == 0) {
    errno = EINVAL;
    return -1;
  }
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode)) return unlink(path);
  DIR *d = opendir(path);
  if (!d) return -1;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char *child = kb_path_join(path, e->d_name);
    if (kb_remove_tree(child)) rc = -1;
    free(child);
  }
  closedir(d);
  if (rmdir(path)) rc = -1;
  return rc;
}

char *kb_path_join(const char *a, const char *b) {
  size_t la = strlen(a);
  while (la > 1 && a[la - 1] == '/') la--;
  while (*b == '/') b++;
  if (la == 0) return kb_xstrdup(b);
  return kb_xasprintf("%.*s/%s", (int)la, a, b);
}

bool kb_str_endswith(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

uint64_t kb_str_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

double kb_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
