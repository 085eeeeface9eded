/* util.h - allocation helpers, string lists, diagnostics and file helpers shared by
 * every module. Allocation failure aborts: kb is a command-line tool and a server whose
 * inputs are bounded, so running out of memory is not a recoverable condition. */
#ifndef KB_UTIL_H
#define KB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

void *kb_xmalloc(size_t n);
void *kb_xcalloc(size_t n, size_t size);
void *kb_xrealloc(void *p, size_t n);
char *kb_xstrdup(const char *s);
char *kb_xstrndup(const char *s, size_t n);
char *kb_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable list of owned strings. */
typedef struct kb_strlist {
  char **v;
  size_t n, cap;
} kb_strlist;
void kb_strlist_push(kb_strlist *l, const char *s);    /* copies s */
void kb_strlist_push_own(kb_strlist *l, char *s);      /* takes ownership of s */
bool kb_strlist_has(const kb_strlist *l, const char *s);
void kb_strlist_release(kb_strlist *l);                /* accepts NULL */

/* Diagnostics: `path:line: message`, collected rather than printed so that a build
 * can decide whether a file is skipped (--keep-going) or the whole build fails. */
typedef enum { KB_WARN, KB_ERROR } kb_severity;
typedef struct kb_diag {
  kb_severity sev;
  char *path;
  int line; /* 1-based; 0 = no line */
  char *msg;
} kb_diag;
typedef struct kb_diags {
  kb_diag *v;
  size_t n, cap;
  size_t errors;
} kb_diags;
void kb_diags_add(kb_diags *d, kb_severity sev, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Move every diagnostic of `src` to the end of `dst`; `src` is left empty. */
void kb_diags_move(kb_diags *dst, kb_diags *src);
/* Write `path:line: error: msg` lines to `f` (a FILE *). */
void kb_diags_print(const kb_diags *d, void *f);
void kb_diags_release(kb_diags *d); /* accepts NULL */

/* Read a whole file into `out` (bounded by out->max). Returns 0, or -1 with errno set
 * (EFBIG when the file is larger than the buffer's maximum). */
int kb_file_read(const char *path, kb_buf *out);
/* Write `len` bytes to `path`, creating parent folders. Returns 0 or -1 with errno. */
int kb_file_write(const char *path, const void *data, size_t len);
/* The same through a new file beside `path` renamed over it: a reader sees the old
 * file or the new one, never a part. 0 or -1 (errno set; the old file stays). */
int kb_file_replace(const char *path, const void *data, size_t len);
/* mkdir -p. Returns 0 or -1 with errno. */
int kb_mkdirs(const char *path);
/* rm -rf; refuses "/" and "". Returns 0 or -1 with errno. */
int kb_remove_tree(const char *path);
/* Join two path parts with exactly one '/'. Caller frees. */
char *kb_path_join(const char *a, const char *b);
/* True if `s` ends with `suffix`. */
bool kb_str_endswith(const char *s, const char *suffix);
/* Monotonic clock in seconds. */
double kb_now(void);
/* A 64-bit hash of a string (FNV-1a, then splitmix64's finalizer): for hash tables, and
 * where a hash stands for the text (related incidents compare frames by it). */
uint64_t kb_str_hash(const char *s);

#endif
