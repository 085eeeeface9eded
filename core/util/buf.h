/* buf.h - growable byte buffer with a hard maximum size and a sticky error.
 *
 * Invariants (as cmark's strbuf): `ptr` is never NULL and always NUL-terminated,
 * so a kb_buf can be handed to any C string function at any time.
 * Every buffer has a maximum (curl dynbuf): input from outside can never grow one
 * past it. Appends that would exceed it, set `err` to KB_BUF_TOOBIG and are ignored
 * from then on ("sticky" error, as in SQLite's fts5 `int *pRc`), so a long sequence
 * of appends needs a single check at the end.
 *
 * Lifecycle verbs (as git's strbuf): kb_buf_init sets up a caller-owned struct
 * without allocating it; kb_buf_release frees the contents; kb_buf_detach hands the
 * contents to the caller (caller frees) and leaves the buffer empty.
 * Out-of-memory aborts the process (see kb_xmalloc in util.h).
 */
#ifndef KB_BUF_H
#define KB_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KB_BUF_MAX_DEFAULT ((size_t)256 << 20) /* 256 MiB */
enum { KB_BUF_OK = 0, KB_BUF_TOOBIG = 1 };

typedef struct kb_buf {
  char *ptr;  /* never NULL, always NUL-terminated */
  size_t len; /* bytes used, not counting the NUL */
  size_t cap; /* bytes allocated; 0 while ptr points at the shared empty string */
  size_t max; /* hard limit on len */
  int err;    /* sticky: KB_BUF_OK or KB_BUF_TOOBIG */
} kb_buf;

extern char kb_buf_empty_[1];
#define KB_BUF_INIT {kb_buf_empty_, 0, 0, KB_BUF_MAX_DEFAULT, KB_BUF_OK}

/* Set up `b` empty with maximum `max` bytes (0 = KB_BUF_MAX_DEFAULT). */
void kb_buf_init(kb_buf *b, size_t max);
/* Free the contents; `b` is left initialized and empty. Accepts NULL. */
void kb_buf_release(kb_buf *b);
/* Empty the buffer, keep the allocation and clear the error. */
void kb_buf_reset(kb_buf *b);
/* Return the contents as a malloc'd string (caller frees); `b` is left empty.
 * `len` may be NULL. Returns NULL if the buffer is in error. */
char *kb_buf_detach(kb_buf *b, size_t *len);

void kb_buf_add_slow_(kb_buf *b, const void *data, size_t n);
/* Inline when it fits (four million calls in a 1,000-incident build); the slow path
 * grows the buffer and keeps the limits. */
static inline void kb_buf_add(kb_buf *b, const void *data, size_t n) {
  if (n && n < b->cap - b->len && n <= b->max - b->len && !b->err) {
    memcpy(b->ptr + b->len, data, n);
    b->len += n;
    b->ptr[b->len] = '\0';
  } else {
    kb_buf_add_slow_(b, data, n);
  }
}
void kb_buf_adds(kb_buf *b, const char *s);
void kb_buf_addc_slow_(kb_buf *b, char c);
/* Inline: the parsers append one byte at a time, and a call per byte was a tenth of a
 * build's instructions. The slow path grows the buffer and keeps the limits. */
static inline void kb_buf_addc(kb_buf *b, char c) {
  if (b->cap - b->len > 1 && b->len < b->max && !b->err) {
    b->ptr[b->len++] = c;
    b->ptr[b->len] = '\0';
  } else {
    kb_buf_addc_slow_(b, c);
  }
}
void kb_buf_addf(kb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kb_buf_vaddf(kb_buf *b, const char *fmt, va_list ap);
/* Shorten to `len` bytes (no-op if already shorter). */
void kb_buf_truncate(kb_buf *b, size_t len);
/* Remove trailing ASCII whitespace. */
void kb_buf_rtrim(kb_buf *b);

/* Append `v` as a varint: little-endian groups of 7 bits, the high bit set on all but the
 * last (the index's spill file, its packed stack_frames rows and its postings). */
void kb_buf_add_varint(kb_buf *b, uint64_t v);
#define KB_VARINT_MAX 10 /* bytes of the longest varint (64 bits) */
/* Write `v` as the same varint into out (room for KB_VARINT_MAX bytes); returns its
 * length. For byte arrays that are not a kb_buf (the index writer's postings). */
size_t kb_varint_put(unsigned char *out, uint64_t v);
/* Read a varint written by kb_buf_add_varint at *p, never at or past `end`, and advance
 * *p; false when the bytes end first or run past 64 bits (damaged input). */
bool kb_varint_get(const unsigned char **p, const unsigned char *end, uint64_t *v);

/* Append `s` escaped for HTML text and double-quoted attributes: & < > " '. */
void kb_buf_add_html(kb_buf *b, const char *s, size_t n);
/* Append `s` escaped for XML (Atom, sitemap): same set as HTML. */
#define kb_buf_add_xml kb_buf_add_html

#endif
