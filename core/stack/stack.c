/* stack.c - find crash stacks in text and split them into frames.
 *
 * Works line by line, so it is linear in the input and never backtracks: each line is
 * cleaned of paste damage (escaped backticks), then tested for the frame shapes in
 * stack.h. Two or more consecutive frame lines make a stack. Called by incident.c for
 * every code block, raw HTML block and paragraph of an incident body. */
#include "stack/stack.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

/* One candidate frame line, cleaned: `\`` -> '`', trimmed. */
typedef struct line_view {
  char *s;
  size_t n;
  int lineno;
} line_view;

static bool is_module_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$' || c == '-';
}

static bool is_function_start(char c) {
  return isalpha((unsigned char)c) || c == '_' || c == '?' || c == '@' || c == '$' || c == '~' ||
         c == '<';
}

/* Function names stop at whitespace, an argument list or the "+offset". */
static bool is_function_char(char c) {
  return c && !isspace((unsigned char)c) && c != '(' && c != '+' && c != '[';
}

static bool is_hex_token(const char *s, size_t n) {
  size_t digits = 0;
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2, n -= 2;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '`') continue;
    if (!isxdigit((unsigned char)s[i])) return false;
    digits++;
  }
  return digits > 0;
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

/* `KEY:` or `KEY_NAME:` at the start: a line of !analyze -v output, not a frame. */
static bool is_analyze_key_line(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (isupper((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_')) i++;
  return i >= 3 && i < n && s[i] == ':';
}

/* Length of a `+0x1f` / `+1f` offset at s, or 0. */
static size_t offset_len(const char *s, const char *end) {
  if (s >= end || *s != '+') return 0;
  const char *p = s + 1;
  if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p += 2;
  const char *d = p;
  while (p < end && isxdigit((unsigned char)*p)) p++;
  return p > d ? (size_t)(p - s) : 0;
}

/* Try to read `module!function+0xoff` (or `module+0xoff` when unsymbolized) at s. */
static bool frame_token(const char *s, const char *end, bool allow_bare, kb_frame *f) {
  const char *m = s;
  while (m < end && is_module_char(*m)) m++;
  if (m == s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
  if (m < end && *m == '!') {
    const char *fn = m + 1, *fe = fn;
    if (fe >= end || !is_function_start(*fe)) return false;
    while (fe < end && is_function_char(*fe)) fe++;
    size_t ol = offset_len(fe, end);
    f->module = kb_xstrndup(s, (size_t)(m - s));
    f->function = kb_xstrndup(fn, (size_t)(fe - fn));
    if (ol) f->offset = kb_xstrndup(fe + 1, ol - 1);
    return true;
  }
  size_t ol = offset_len(m, end);
  if (!allow_bare || !ol) return false;
  f->module = kb_xstrndup(s, (size_t)(m - s));
  f->offset = kb_xstrndup(m + 1, ol - 1);
  return true;
}

/* Parse the hex argument after the first " : " (the bugcheck code for KeBugCheckEx). */
static unsigned first_argument(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  if (!colon) return 0;
  const char *p = colon + 1, *end = s + n;
  while (p < end && *p == ' ') p++;
  unsigned long long v = 0;
  int digits = 0;
  for (; p < end && (isxdigit((unsigned char)*p) || *p == '`'); p++) {
    if (*p == '`') continue;
    v = v * 16 + (unsigned long long)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
    if (++digits > 16) return 0;
  }
  return digits ? (unsigned)v : 0;
}

/* Read one frame from a cleaned line; false when the line is not a frame. */
static bool frame_parse_line(const line_view *lv, kb_frame *f, unsigned *bugcheck) {
  const char *s = lv->s, *end = lv->s + lv->n;
  if (lv->n == 0 || lv->n > KB_STACK_MAX_LINE || is_analyze_key_line(s, lv->n)) return false;
  memset(f, 0, sizeof *f);
  int hex_columns = 0;
  const char *addr[2] = {NULL, NULL};
  size_t addr_len[2] = {0, 0};
  const char *p = s;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    const char *t = p;
    while (p < end && *p != ' ' && *p != '\t') p++;
    size_t tn = (size_t)(p - t);
    if (tn == 0) break;
    if (tn == 1 && *t == ':') continue;
    if (frame_token(t, p, hex_columns > 0, f)) break;
    if (!is_hex_token(t, tn)) return false;
    if (hex_columns < 2 && tn >= 8) {
      addr[hex_columns] = t;
      addr_len[hex_columns] = tn;
    }
    hex_columns++;
  }
  if (!f->module) return false;
  int which = addr[1] ? 1 : 0;
  if (addr[which]) f->address = kb_xstrndup(addr[which], addr_len[which]);
  f->raw = kb_xstrndup(s, lv->n);
  char *mod = kb_module_normalize(f->module, strlen(f->module));
  f->norm = f->function ? kb_xasprintf("%s!%s", mod, f->function) : kb_xasprintf("%s+%s", mod, f->offset);
  free(mod);
  if (f->function && (strcmp(f->function, "KeBugCheckEx") == 0 || strcmp(f->function, "KeBugCheck2") == 0))
    *bugcheck = first_argument(s, lv->n);
  return true;
}

static void frame_release(kb_frame *f) {
  free(f->module);
  free(f->function);
  free(f->offset);
  free(f->file);
  free(f->address);
  free(f->raw);
  free(f->norm);
}

static void stack_push_frame(kb_stack *st, kb_frame *f) {
  if (st->nframes >= KB_STACK_MAX_FRAMES) {
    frame_release(f);
    return;
  }
  if (st->nframes == st->cap) {
    st->cap = st->cap ? st->cap * 2 : 16;
    st->frames = kb_xrealloc(st->frames, st->cap * sizeof *st->frames);
  }
  st->frames[st->nframes++] = *f;
}

static void stack_release(kb_stack *st) {
  for (size_t i = 0; i < st->nframes; i++) frame_release(&st->frames[i]);
  free(st->frames);
  free(st->raw);
}

/* Close the stack being collected: keep it when it has two frames or more. */
static void stacks_close(kb_stacks *out, kb_stack *cur, kb_buf *raw) {
  if (cur->nframes >= 2 && out->n < KB_STACK_MAX_STACKS) {
    cur->raw = kb_buf_detach(raw, NULL);
    if (out->n == out->cap) {
      out->cap = out->cap ? out->cap * 2 : 4;
      out->v = kb_xrealloc(out->v, out->cap * sizeof *out->v);
    }
    out->v[out->n++] = *cur;
  } else {
    stack_release(cur);
  }
  kb_buf_reset(raw);
  memset(cur, 0, sizeof *cur);
}

/* Copy one line, turning `\`` into '`' and trimming, into `clean`. */
static void line_clean(const char *s, size_t n, kb_buf *clean) {
  kb_buf_reset(clean);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 1 < n && s[i + 1] == '`') continue;
    if (s[i] == '\r') continue;
    kb_buf_addc(clean, s[i] == '\t' ? ' ' : s[i]);
  }
  size_t b = 0;
  while (b < clean->len && clean->ptr[b] == ' ') b++;
  memmove(clean->ptr, clean->ptr + b, clean->len - b + 1);
  clean->len -= b;
  kb_buf_rtrim(clean);
}

void kb_stacks_parse(const char *text, size_t len, kb_stacks *out) {
  kb_stack cur = {0};
  kb_buf raw = KB_BUF_INIT, clean;
  kb_buf_init(&clean, KB_STACK_MAX_LINE * 2);
  int lineno = 0;
  for (size_t i = 0; i < len;) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
    lineno++;
    kb_frame f;
    bool is_frame = false;
    if (n <= KB_STACK_MAX_LINE) {
      line_clean(text + i, n, &clean);
      line_view lv = {clean.ptr, clean.len, lineno};
      is_frame = frame_parse_line(&lv, &f, &cur.bugcheck);
    }
    if (is_frame) {
      if (cur.nframes == 0) cur.first_line = lineno, cur.format = "windbg";
      kb_buf_add(&raw, clean.ptr, clean.len);
      kb_buf_addc(&raw, '\n');
      stack_push_frame(&cur, &f);
    } else if (cur.nframes || cur.bugcheck) {
      stacks_close(out, &cur, &raw);
    }
    i += n + (nl ? 1 : 0);
  }
  stacks_close(out, &cur, &raw);
  kb_buf_release(&raw);
  kb_buf_release(&clean);
}

void kb_stacks_release(kb_stacks *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) stack_release(&s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}
