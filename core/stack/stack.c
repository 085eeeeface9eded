/* stack.c - the stack parser's driver: lines in, stacks out (see stack.h, format.h).
 *
 * For each line: clean it (paste damage), then offer it to the format of the stack
 * being read first, then to every format in kb_formats order. A line no format wants
 * is a gap; a second consecutive gap ends the stack. Joined lines (several frames on
 * one line) are split with the format's `split`; a frame broken over two lines is
 * re-joined when neither half is anything on its own. One pass, bounded look-back:
 * linear in the input. */
#include "stack/format.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/text.h"
#include "util/util.h"

#define MAX_GAP 1 /* unclassified lines tolerated inside a stack */

typedef struct parser {
  kb_stacks *out;
  kb_stack cur;            /* the stack being read; cur.format NULL when none */
  const kb_format *fmt;    /* its format */
  bool had_header;
  int gap;
  kb_reason pending;       /* a reason seen before its stack */
  const char *pending_fmt; /* format that produced `pending` */
  kb_buf raw;
  kb_buf held;             /* previous unclassified line, for re-joining wrapped frames */
  int held_line;
  int lineno;
} parser;

/* ---- helpers shared with the formats ---- */

char *kb_fmt_strndup_trim(const char *s, size_t n) {
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  return kb_xstrndup(s, n);
}

void kb_reason_set(char **field, const char *s, size_t n) {
  free(*field);
  *field = kb_fmt_strndup_trim(s, n > 1024 ? 1024 : n);
}

void kb_reason_release(kb_reason *r) {
  free(r->kind);
  free(r->code);
  free(r->name);
  free(r->message);
  free(r->params);
  free(r->bucket);
  memset(r, 0, sizeof *r);
}

void kb_frame_release(kb_frame *f) {
  free(f->module);
  free(f->function);
  free(f->offset);
  free(f->file);
  free(f->address);
  free(f->raw);
  free(f->norm);
  memset(f, 0, sizeof *f);
}

bool kb_fmt_is_hex(const char *s, size_t n) {
  size_t digits = 0;
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2, n -= 2;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '`') continue;
    if (!isxdigit((unsigned char)s[i])) return false;
    digits++;
  }
  return digits > 0;
}

bool kb_fmt_starts(const char *s, size_t n, const char *prefix) {
  size_t pl = strlen(prefix);
  return n >= pl && memcmp(s, prefix, pl) == 0;
}

char *kb_module_normalize(const char *module, size_t len) {
  static const char *const exts[] = {".sys", ".dll", ".exe", NULL};
  for (const char *const *e = exts; *e; e++) {
    size_t el = strlen(*e);
    if (len > el && strncasecmp(module + len - el, *e, el) == 0) {
      len -= el;
      break;
    }
  }
  char *out = kb_xstrndup(module, len);
  for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
  return out;
}

/* ---- line cleaning: undo what blogs, forums and chat do to a pasted stack ---- */

static const char *const html_tags[] = {"span", "br", "p", "div", "font", "b", "i", "strong", "em", "pre",
                                        "code", "a", "td", "tr", "li", "ul", "ol", "table", "tbody", "mark",
                                        "u", "small", "tt", "kbd", "samp", NULL};

/* Length of an HTML tag of the list above at s ("<span style=...>", "</span>", "<br />"), or 0. */
static size_t html_tag_len(const char *s, size_t n) {
  size_t i = 1;
  if (i < n && s[i] == '/') i++;
  size_t name = i;
  while (i < n && isalpha((unsigned char)s[i])) i++;
  size_t nl = i - name;
  if (nl == 0 || (i < n && s[i] != ' ' && s[i] != '>' && s[i] != '/')) return 0;
  bool known = false;
  for (const char *const *t = html_tags; *t && !known; t++) known = strlen(*t) == nl && strncasecmp(*t, s + name, nl) == 0;
  if (!known) return 0;
  const char *gt = memchr(s + i, '>', n - i);
  return gt ? (size_t)(gt - s) + 1 : 0;
}

/* "[  123.456789] ", "2026-11-25T19:30:28.123Z ", "2026-11-25 19:30:28,123 " (+ level). */
static size_t timestamp_len(const char *s, size_t n) {
  size_t i = 0;
  if (n > 3 && s[0] == '[') {
    size_t j = 1;
    while (j < n && s[j] == ' ') j++;
    size_t d = j;
    while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '.')) j++;
    if (j > d && j < n && s[j] == ']') i = j + 1;
  } else if (n > 19 && isdigit((unsigned char)s[0]) && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') &&
             s[13] == ':' && s[16] == ':') {
    i = 19;
    while (i < n && (isdigit((unsigned char)s[i]) || strchr(".,:+-Z", s[i]))) i++;
    while (i < n && s[i] == ' ') i++;
    static const char *const levels[] = {"ERROR", "WARN", "WARNING", "INFO", "DEBUG", "FATAL", "TRACE", "CRITICAL", NULL};
    for (const char *const *l = levels; *l; l++) {
      size_t ll = strlen(*l);
      if (n - i > ll && strncmp(s + i, *l, ll) == 0 && (s[i + ll] == ' ' || s[i + ll] == ':')) {
        i += ll + 1;
        break;
      }
    }
  }
  if (!i) return 0;
  while (i < n && s[i] == ' ') i++;
  return i;
}

static void line_clean(const char *s, size_t n, kb_buf *out) {
  kb_buf_reset(out);
  if (n > KB_STACK_MAX_LINE) n = KB_STACK_MAX_LINE;
  kb_buf tmp = KB_BUF_INIT;
  bool has_amp = false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\r' || c == '\0') continue;
    if (c == '<') {
      size_t tl = html_tag_len(s + i, n - i);
      if (tl) {
        i += tl - 1;
        continue;
      }
    }
    if (c == '\\' && i + 1 < n && (s[i + 1] == '`' || s[i + 1] == '_' || s[i + 1] == '*')) continue;
    has_amp |= c == '&';
    kb_buf_addc(&tmp, c == '\t' ? ' ' : c);
  }
  if (has_amp) kb_html_entities_decode(tmp.ptr, tmp.len, out);
  else kb_buf_add(out, tmp.ptr, tmp.len);
  kb_buf_release(&tmp);
  /* NBSP (from HTML) is a space to a debugger. */
  for (size_t i = 0; i + 1 < out->len; i++)
    if ((unsigned char)out->ptr[i] == 0xC2 && (unsigned char)out->ptr[i + 1] == 0xA0) out->ptr[i] = ' ', out->ptr[i + 1] = ' ';
  kb_buf_rtrim(out);
  size_t ts = timestamp_len(out->ptr, out->len);
  if (ts) {
    memmove(out->ptr, out->ptr + ts, out->len - ts + 1);
    out->len -= ts;
  }
}

/* ---- stacks ---- */

static void stack_push_frame(kb_stack *st, kb_frame *f) {
  if (st->nframes >= KB_STACK_MAX_FRAMES) {
    kb_frame_release(f);
    return;
  }
  if (st->nframes == st->cap) {
    st->cap = st->cap ? st->cap * 2 : 16;
    st->frames = kb_xrealloc(st->frames, st->cap * sizeof *st->frames);
  }
  st->frames[st->nframes++] = *f;
  memset(f, 0, sizeof *f);
}

static void stack_release(kb_stack *st) {
  for (size_t i = 0; i < st->nframes; i++) kb_frame_release(&st->frames[i]);
  free(st->frames);
  free(st->raw);
  free(st->signature);
  kb_reason_release(&st->reason);
  memset(st, 0, sizeof *st);
}

/* Fill the empty fields of `dst` from `src`; `src` is released. */
static void reason_merge(kb_reason *dst, kb_reason *src) {
  char **d[] = {&dst->kind, &dst->code, &dst->name, &dst->message, &dst->params, &dst->bucket};
  char **s[] = {&src->kind, &src->code, &src->name, &src->message, &src->params, &src->bucket};
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
    if (!*d[i] && *s[i]) *d[i] = *s[i], *s[i] = NULL;
  kb_reason_release(src);
}

static void frames_reverse(kb_stack *st) {
  for (size_t i = 0, j = st->nframes ? st->nframes - 1 : 0; i < j; i++, j--) {
    kb_frame t = st->frames[i];
    st->frames[i] = st->frames[j];
    st->frames[j] = t;
  }
}

static void stack_finish(kb_stack *st, bool reverse) {
  if (reverse) frames_reverse(st);
  if (!st->bugcheck && st->reason.kind && strcmp(st->reason.kind, "bugcheck") == 0 && st->reason.code)
    st->bugcheck = (unsigned)strtoul(st->reason.code, NULL, 16);
  if (st->bugcheck && !st->reason.code) {
    st->reason.code = kb_xasprintf("0x%X", st->bugcheck);
    if (!st->reason.kind) st->reason.kind = kb_xstrdup("bugcheck");
  }
  if (st->bugcheck && !st->reason.name && kb_bugcheck_name(st->bugcheck))
    st->reason.name = kb_xstrdup(kb_bugcheck_name(st->bugcheck));
  kb_stack_normalize(st);
}

static void parser_close(parser *p) {
  if (!p->fmt) return;
  int need = p->had_header ? 1 : p->fmt->min_frames_without_header;
  if ((int)p->cur.nframes >= need && p->out->n < KB_STACK_MAX_STACKS) {
    p->cur.raw = kb_buf_detach(&p->raw, NULL);
    stack_finish(&p->cur, p->fmt->outermost_first);
    kb_stacks *o = p->out;
    if (o->n == o->cap) {
      o->cap = o->cap ? o->cap * 2 : 4;
      o->v = kb_xrealloc(o->v, o->cap * sizeof *o->v);
    }
    o->v[o->n++] = p->cur;
    memset(&p->cur, 0, sizeof p->cur);
  } else {
    /* too short to trust; its reason may still belong to the next stack */
    if (p->cur.reason.kind || p->cur.reason.name) {
      reason_merge(&p->pending, &p->cur.reason);
      p->pending_fmt = p->fmt->name;
    }
    stack_release(&p->cur);
  }
  kb_buf_reset(&p->raw);
  p->fmt = NULL;
  p->had_header = false;
  p->gap = 0;
}

static void parser_open(parser *p, const kb_format *fmt, bool header) {
  parser_close(p);
  p->fmt = fmt;
  p->cur.format = fmt->name;
  p->cur.platform = fmt->platform;
  p->cur.first_line = p->lineno;
  p->had_header = header;
  if (p->pending.kind || p->pending.name || p->pending.code || p->pending.bucket) reason_merge(&p->cur.reason, &p->pending);
  p->pending_fmt = NULL;
}

static void raw_add(parser *p, const char *s, size_t n) {
  kb_buf_add(&p->raw, s, n);
  kb_buf_addc(&p->raw, '\n');
}

/* A reason line: into the current stack of its format; for formats that print the
 * reason after the frames (WinDbg's SYMBOL_NAME, FAILURE_BUCKET_ID) into the last stack
 * of that format; otherwise kept for the next stack (Go's "panic:" line). */
static void parser_reason(parser *p, const kb_format *fmt, kb_reason *r) {
  if (p->fmt == fmt) {
    reason_merge(&p->cur.reason, r);
    return;
  }
  kb_stacks *o = p->out;
  if (fmt->reasons_follow && o->n && strcmp(o->v[o->n - 1].format, fmt->name) == 0) {
    reason_merge(&o->v[o->n - 1].reason, r);
    return;
  }
  reason_merge(&p->pending, r);
  p->pending_fmt = fmt->name;
}

static void parser_take(parser *p, const kb_format *fmt, kb_line_kind k, kb_frame *f, kb_reason *r,
                        const char *s, size_t n) {
  switch (k) {
  case KB_LINE_FRAME:
    if (p->fmt != fmt) parser_open(p, fmt, false);
    if (!f->raw) f->raw = kb_fmt_strndup_trim(s, n);
    if (p->cur.nframes == 0) p->cur.first_line = p->lineno;
    stack_push_frame(&p->cur, f);
    raw_add(p, s, n);
    reason_merge(&p->cur.reason, r); /* a frame may carry the reason (KeBugCheckEx's code) */
    break;
  case KB_LINE_HEADER:
    parser_open(p, fmt, true);
    reason_merge(&p->cur.reason, r);
    break;
  case KB_LINE_REASON: parser_reason(p, fmt, r); break;
  case KB_LINE_CONT: raw_add(p, s, n); break;
  default: break;
  }
}

/* Offer one cleaned line, to the current stack's format first; true when taken. */
static bool parser_offer(parser *p, const char *s, size_t n, bool only_frames) {
  const kb_format *order[64];
  size_t count = 0;
  if (p->fmt) order[count++] = p->fmt;
  for (size_t i = 0; kb_formats[i] && count < 64; i++)
    if (kb_formats[i] != p->fmt) order[count++] = kb_formats[i];
  for (size_t i = 0; i < count; i++) {
    kb_frame f = {0};
    kb_reason r = {0};
    kb_line_kind k = order[i]->classify(s, n, order[i] == p->fmt ? &p->cur : NULL, &f, &r);
    bool take = k != KB_LINE_NONE && (!only_frames || k == KB_LINE_FRAME);
    if (take) parser_take(p, order[i], k, &f, &r, s, n);
    kb_frame_release(&f);
    kb_reason_release(&r);
    if (take) {
      p->gap = 0;
      return true;
    }
  }
  return false;
}

/* Split frames joined on one line, then offer each piece. */
static bool parser_line(parser *p, const char *s, size_t n) {
  for (size_t i = 0; kb_formats[i]; i++) {
    const kb_format *fmt = kb_formats[i];
    if (!fmt->split) continue;
    size_t k = fmt->split(s, n);
    if (!k) continue;
    bool any = false;
    while (k && k < n) {
      any |= parser_offer(p, s, k, false);
      s += k, n -= k;
      k = fmt->split(s, n);
    }
    return parser_offer(p, s, n, false) || any;
  }
  return parser_offer(p, s, n, false);
}

static void parser_gap(parser *p, const char *s, size_t n) {
  /* A frame wrapped over two lines: the first half was held, join and retry. */
  if (p->held.len && n) {
    kb_buf joined = KB_BUF_INIT;
    kb_buf_add(&joined, p->held.ptr, p->held.len);
    kb_buf_addc(&joined, ' ');
    while (n && *s == ' ') s++, n--;
    kb_buf_add(&joined, s, n);
    bool ok = parser_offer(p, joined.ptr, joined.len, true);
    kb_buf_release(&joined);
    kb_buf_reset(&p->held);
    if (ok) return;
  } else {
    kb_buf_reset(&p->held);
    kb_buf_add(&p->held, s, n);
  }
  if (p->fmt && ++p->gap > MAX_GAP) parser_close(p);
}

void kb_stacks_parse(const char *text, size_t len, kb_stacks *out) {
  parser p = {.out = out, .raw = KB_BUF_INIT, .held = KB_BUF_INIT};
  kb_buf clean = KB_BUF_INIT;
  if (len > KB_STACK_MAX_INPUT) len = KB_STACK_MAX_INPUT;
  for (size_t i = 0; i < len;) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
    p.lineno++;
    line_clean(text + i, n, &clean);
    if (clean.len == 0) {
      if (p.fmt && ++p.gap > MAX_GAP) parser_close(&p);
      kb_buf_reset(&p.held);
    } else if (parser_line(&p, clean.ptr, clean.len)) {
      kb_buf_reset(&p.held);
    } else {
      parser_gap(&p, clean.ptr, clean.len);
    }
    i += n + (nl ? 1 : 0);
  }
  parser_close(&p);
  kb_reason_release(&p.pending);
  kb_buf_release(&p.raw);
  kb_buf_release(&p.held);
  kb_buf_release(&clean);
}

void kb_stacks_release(kb_stacks *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) stack_release(&s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}
