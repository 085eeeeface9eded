/* fmt_scan.c - the scanning helpers of fmt_scan.h, used by the stack formats (fmt_*.c) that
 * read a line several ways before deciding what it is. Everything is bounded by the span. */
#include "stack/fmt_scan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

kb_span kb_span_ltrim(kb_span s) {
  while (s.n && isspace((unsigned char)*s.p)) s.p++, s.n--;
  return s;
}

kb_span kb_span_rtrim(kb_span s) {
  while (s.n && isspace((unsigned char)s.p[s.n - 1])) s.n--;
  return s;
}

kb_span kb_span_trim(kb_span s) { return kb_span_rtrim(kb_span_ltrim(s)); }

size_t kb_span_indent(kb_span s) {
  size_t i = 0;
  while (i < s.n && s.p[i] == ' ') i++;
  return i;
}

bool kb_span_eq(kb_span s, const char *lit) {
  size_t l = strlen(lit);
  return s.n == l && memcmp(s.p, lit, l) == 0;
}

bool kb_span_starts(kb_span s, const char *lit) {
  size_t l = strlen(lit);
  return s.n >= l && memcmp(s.p, lit, l) == 0;
}

bool kb_span_ends(kb_span s, const char *lit) {
  size_t l = strlen(lit);
  return s.n >= l && memcmp(s.p + s.n - l, lit, l) == 0;
}

bool kb_span_eat(kb_span *s, const char *lit) {
  if (!kb_span_starts(*s, lit)) return false;
  *s = kb_span_tail(*s, strlen(lit));
  return true;
}

bool kb_span_eat_end(kb_span *s, const char *lit) {
  if (!kb_span_ends(*s, lit)) return false;
  s->n -= strlen(lit);
  return true;
}

size_t kb_span_chr(kb_span s, char c) {
  const char *q = s.n ? memchr(s.p, c, s.n) : NULL;
  return q ? (size_t)(q - s.p) : KB_NPOS;
}

size_t kb_span_rchr(kb_span s, char c) {
  for (size_t i = s.n; i > 0; i--)
    if (s.p[i - 1] == c) return i - 1;
  return KB_NPOS;
}

size_t kb_span_find(kb_span s, const char *lit) {
  size_t l = strlen(lit);
  if (l == 0 || s.n < l) return KB_NPOS;
  const char *q = memmem(s.p, s.n, lit, l);
  return q ? (size_t)(q - s.p) : KB_NPOS;
}

size_t kb_span_rfind(kb_span s, const char *lit) {
  size_t l = strlen(lit);
  if (l == 0 || s.n < l) return KB_NPOS;
  for (size_t i = s.n - l + 1; i > 0; i--)
    if (s.p[i - 1] == lit[0] && memcmp(s.p + i - 1, lit, l) == 0) return i - 1;
  return KB_NPOS;
}

kb_span kb_span_token(kb_span *s) {
  kb_span t = kb_span_ltrim(*s);
  size_t i = 0;
  while (i < t.n && !isspace((unsigned char)t.p[i])) i++;
  *s = kb_span_ltrim(kb_span_tail(t, i));
  return kb_span_head(t, i);
}

bool kb_span_is_uint(kb_span s) {
  if (s.n == 0) return false;
  for (size_t i = 0; i < s.n; i++)
    if (!isdigit((unsigned char)s.p[i])) return false;
  return true;
}

int kb_span_int(kb_span s) {
  if (!kb_span_is_uint(s)) return -1;
  long long v = 0;
  for (size_t i = 0; i < s.n && v < 1000000000LL; i++) v = v * 10 + (s.p[i] - '0');
  return v > 1000000000LL ? 1000000000 : (int)v;
}

bool kb_span_is_hexdigits(kb_span s, size_t min) {
  if (s.n < min || s.n == 0) return false;
  for (size_t i = 0; i < s.n; i++)
    if (!isxdigit((unsigned char)s.p[i])) return false;
  return true;
}

bool kb_span_is_hexaddr(kb_span s) {
  return s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X') && kb_span_is_hexdigits(kb_span_tail(s, 2), 1);
}

bool kb_span_trailing_int(kb_span *s, int *v) {
  size_t i = s->n;
  while (i > 0 && isdigit((unsigned char)s->p[i - 1])) i--;
  if (i == s->n || i == 0 || s->p[i - 1] != ':') return false;
  *v = kb_span_int(kb_span_tail(*s, i));
  s->n = i - 1;
  return true;
}

size_t kb_span_group_open(kb_span s, char open, char close) {
  if (s.n == 0 || s.p[s.n - 1] != close) return KB_NPOS;
  size_t depth = 0;
  for (size_t i = s.n; i > 0; i--) {
    char c = s.p[i - 1];
    if (c == close) depth++;
    else if (c == open && --depth == 0) return i - 1;
  }
  return KB_NPOS;
}

char *kb_span_dup(kb_span s) {
  s = kb_span_trim(s);
  return s.n ? kb_xstrndup(s.p, s.n) : NULL;
}

char *kb_span_basename(kb_span s) {
  s = kb_span_trim(s);
  size_t a = kb_span_rchr(s, '/'), b = kb_span_rchr(s, '\\');
  size_t cut = a == KB_NPOS ? b : (b == KB_NPOS || a > b ? a : b);
  return kb_span_dup(cut == KB_NPOS ? s : kb_span_tail(s, cut + 1));
}

bool kb_frame_set_file_line(kb_frame *f, kb_span loc) {
  loc = kb_span_trim(loc);
  int line = 0, col = 0;
  if (!kb_span_trailing_int(&loc, &line)) return false;
  kb_span path = loc;
  if (kb_span_trailing_int(&path, &col)) {
    /* "file:12:5": the first number is the line */
    line = col;
    loc = path;
  }
  if (loc.n == 0) return false;
  free(f->file);
  f->file = kb_span_dup(loc);
  f->line = line;
  return true;
}

static bool is_name_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$' || c == '`';
}

bool kb_span_exception(kb_span s, kb_span *name, kb_span *msg) {
  s = kb_span_trim(s);
  size_t i = 0;
  while (i < s.n && is_name_char(s.p[i])) i++;
  if (i == 0 || !(isalpha((unsigned char)s.p[0]) || s.p[0] == '_')) return false;
  *name = kb_span_head(s, i);
  if (i == s.n) {
    *msg = kb_span_tail(s, s.n);
    return true;
  }
  if (s.p[i] != ':' || (i + 1 < s.n && s.p[i + 1] != ' ')) return false;
  *msg = kb_span_trim(kb_span_tail(s, i + 1));
  return true;
}

void kb_reason_exception(kb_reason *r, const char *kind, kb_span name, kb_span msg) {
  kb_reason_set(&r->kind, kind, strlen(kind));
  if (name.n) kb_reason_set(&r->name, name.p, name.n);
  if (msg.n) kb_reason_set(&r->message, msg.p, msg.n);
}

bool kb_span_eat_hash(kb_span *s) {
  kb_span t = *s;
  kb_span_eat(&t, "\\");
  if (!kb_span_eat(&t, "#")) return false;
  kb_span_eat(&t, "\xE2\x80\x8B"); /* U+200B ZERO WIDTH SPACE */
  *s = t;
  return true;
}
