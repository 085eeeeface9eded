/* buf.c - kb_buf: the growable, bounded, always-terminated buffer used everywhere.
 * See buf.h for the invariants. */
#include "util/buf.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char kb_buf_empty_[1];

void kb_buf_init(kb_buf *b, size_t max) {
  b->ptr = kb_buf_empty_;
  b->len = b->cap = 0;
  b->max = max ? max : KB_BUF_MAX_DEFAULT;
  b->err = KB_BUF_OK;
}

void kb_buf_release(kb_buf *b) {
  if (!b) return;
  if (b->cap) free(b->ptr);
  kb_buf_init(b, b->max);
}

void kb_buf_reset(kb_buf *b) {
  b->len = 0;
  if (b->cap) b->ptr[0] = '\0'; /* the shared empty string is never written: threads share it */
  b->err = KB_BUF_OK;
}

/* Make room for `extra` more bytes plus the NUL; returns 0 when the append may go on. */
static int buf_reserve(kb_buf *b, size_t extra) {
  if (b->err) return -1;
  if (extra > b->max - b->len) {
    b->err = KB_BUF_TOOBIG;
    return -1;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap < ((size_t)1 << 30) ? cap * 2 : cap + ((size_t)1 << 30);
  if (b->cap) {
    b->ptr = kb_xrealloc(b->ptr, cap);
  } else {
    b->ptr = kb_xmalloc(cap);
    b->ptr[0] = '\0';
  }
  b->cap = cap;
  return 0;
}

char *kb_buf_detach(kb_buf *b, size_t *len) {
  if (b->err) {
    kb_buf_release(b);
    if (len) *len = 0;
    return NULL;
  }
  char *p = b->cap ? b->ptr : kb_xstrdup("");
  if (len) *len = b->len;
  kb_buf_init(b, b->max);
  return p;
}

void kb_buf_add_slow_(kb_buf *b, const void *data, size_t n) {
  if (n == 0 || buf_reserve(b, n)) return;
  memcpy(b->ptr + b->len, data, n);
  b->len += n;
  b->ptr[b->len] = '\0';
}

void kb_buf_adds(kb_buf *b, const char *s) { kb_buf_add(b, s, strlen(s)); }

void kb_buf_addc_slow_(kb_buf *b, char c) { kb_buf_add(b, &c, 1); }

void kb_buf_vaddf(kb_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n <= 0 || buf_reserve(b, (size_t)n)) return;
  vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void kb_buf_addf(kb_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kb_buf_vaddf(b, fmt, ap);
  va_end(ap);
}

void kb_buf_truncate(kb_buf *b, size_t len) {
  if (len >= b->len || !b->cap) return;
  b->len = len;
  b->ptr[len] = '\0';
}

void kb_buf_rtrim(kb_buf *b) {
  size_t n = b->len;
  while (n > 0 && (b->ptr[n - 1] == ' ' || b->ptr[n - 1] == '\t' || b->ptr[n - 1] == '\n' ||
                   b->ptr[n - 1] == '\r'))
    n--;
  kb_buf_truncate(b, n);
}

void kb_buf_add_html(kb_buf *b, const char *s, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    const char *rep = NULL;
    switch (s[i]) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&#39;"; break;
    default: continue;
    }
    kb_buf_add(b, s + run, i - run);
    kb_buf_adds(b, rep);
    run = i + 1;
  }
  kb_buf_add(b, s + run, n - run);
}

size_t kb_varint_put(unsigned char *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (unsigned char)v;
  return n;
}

void kb_buf_add_varint(kb_buf *b, uint64_t v) {
  unsigned char tmp[KB_VARINT_MAX];
  kb_buf_add(b, tmp, kb_varint_put(tmp, v));
}

bool kb_varint_get(const unsigned char **p, const unsigned char *end, uint64_t *v) {
  *v = 0;
  for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
    unsigned char byte = *(*p)++;
    *v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}
