/* stack.c - the stack parser's driver: lines in, stacks out (see stack.h, format.h).
 * Called by the content loader (stacks in incident Markdown), `kb match` and the server.
 *
 * For each physical line: undo paste damage (HTML entities and tags, escaped backticks;
 * `<br>` becomes a line break, so one physical line may give several lines), then per
 * line strip what was put in front of it (e-mail quote markers, pastebin line numbers,
 * printk levels, syslog prefixes, timestamps) and offer it to the format of the stack
 * being read first, then to every format in kb_formats order. A line no format wants is
 * a gap; a second consecutive gap ends the stack. Joined lines (several frames on one
 * line) are split with the format's `split`; a frame wrapped over two lines is re-joined.
 * One pass, bounded look-back and bounded buffers: linear in the input. */
#include "stack/format.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/text.h"
#include "util/util.h"

#define MAX_GAP 1 /* unclassified lines tolerated inside a stack */
/* A physical line is cleaned up to this length: a whole stack joined on one line (by
 * `<br />` tags or by lost newlines) is still read; each resulting line or joined piece
 * is then cut to KB_STACK_MAX_LINE. */
#define MAX_PHYSICAL_LINE ((size_t)64 << 10)
#define MAX_RAW ((size_t)256 << 10) /* bytes of a stack's `raw` text kept */
#define MAX_TAG 256                 /* an HTML tag longer than this is text */
#define MAX_PARAMS 4                /* Windows bugchecks have four parameters */

typedef struct parser {
  kb_stacks *out;
  kb_stack cur;            /* the stack being read; cur.format NULL when none */
  const kb_format *fmt;    /* its format */
  bool had_header;
  int gap;
  kb_reason pending;       /* a reason seen before its stack */
  int pending_idle;        /* lines nobody took since then, while no stack was open */
  const char *pending_fmt; /* format that produced `pending` */
  kb_buf raw;
  kb_buf held;             /* previous unclassified line, for re-joining wrapped frames */
  bool held_columns;       /* `held` is only address/argument columns: a wrapped first half */
  kb_buf scratch;          /* joined lines */
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
  /* most calls release a probe that matched nothing */
  if (!f->module && !f->function && !f->offset && !f->file && !f->address && !f->raw && !f->norm) {
    memset(f, 0, sizeof *f);
    return;
  }
  free(f->module);
  free(f->function);
  free(f->offset);
  free(f->file);
  free(f->address);
  free(f->raw);
  free(f->norm);
  memset(f, 0, sizeof *f);
}

static bool is_hex_digit(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

bool kb_fmt_is_hex(const char *s, size_t n) {
  size_t digits = 0;
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2, n -= 2;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '`') continue;
    if (!is_hex_digit((unsigned char)s[i])) return false;
    digits++;
  }
  return digits > 0;
}

bool kb_fmt_hex_value(const char *s, size_t n, unsigned long long *v) {
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2, n -= 2;
  unsigned long long x = 0;
  int significant = 0;
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '`') continue;
    int c = tolower((unsigned char)s[i]);
    if (!isxdigit(c)) return false;
    any = true;
    if (significant == 0 && c == '0') continue; /* leading zeros: "00000000`0000000a" */
    if (++significant > 16) return false;
    x = x * 16 + (unsigned long long)(isdigit(c) ? c - '0' : c - 'a' + 10);
  }
  if (any) *v = x;
  return any;
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

/* ---- cleaning, stage 1: what HTML and Markdown did to the physical line ---- */

static const char *const html_tags[] = {"span", "br", "p", "div", "font", "b", "i", "strong", "em", "pre",
                                        "code", "a", "td", "tr", "li", "ul", "ol", "table", "tbody", "mark",
                                        "u", "small", "tt", "kbd", "samp", "blockquote", "wbr", NULL};
/* Tags after which the text continues on a new line (`<br>`, and the end of a block). */
static const char *const break_tags[] = {"br", "/p", "/div", "/li", "/tr", "/pre", "/blockquote", NULL};

/* Length of an HTML tag of the list above at s ("<span style=...>", "</span>", "<br />"),
 * or 0. *brk is set when the tag ends a line. Tags are bounded (MAX_TAG) so that a run
 * of unterminated "<span <span ..." costs linear time. */
static size_t html_tag_len(const char *s, size_t n, bool *brk) {
  size_t i = 1;
  if (i < n && s[i] == '/') i++;
  size_t name = i;
  while (i < n && isalpha((unsigned char)s[i])) i++;
  size_t nl = i - name;
  if (nl == 0 || (i < n && s[i] != ' ' && s[i] != '>' && s[i] != '/')) return 0;
  /* <A>, <B>, <T> are type parameters (FnOnce<A>, Foo<B>), <a> and <b> are HTML */
  if (nl == 1 && isupper((unsigned char)s[name])) return 0;
  bool known = false;
  for (const char *const *t = html_tags; *t && !known; t++) known = strlen(*t) == nl && strncasecmp(*t, s + name, nl) == 0;
  if (!known) return 0;
  size_t lim = n - i < MAX_TAG ? n - i : MAX_TAG;
  const char *gt = memchr(s + i, '>', lim);
  if (!gt) return 0;
  size_t full = i - 1; /* the name with its '/' */
  *brk = false;
  for (const char *const *t = break_tags; *t && !*brk; t++)
    *brk = strlen(*t) == full && strncasecmp(*t, s + 1, full) == 0;
  return (size_t)(gt - s) + 1;
}

/* Markdown escapes that pasted stacks get (`\``, `\_`, `\*`, `\[`). */
static bool is_md_escape(char c) { return c == '`' || c == '_' || c == '*' || c == '[' || c == ']'; }

/* A byte line_clean may drop or rewrite: CR, NUL, '<', '\\', the lead bytes of NBSP and U+00D7. */
static const bool clean_special[256] = {['\r'] = true, ['\0'] = true, ['<'] = true, ['\\'] = true,
                                       [0xC2] = true, [0xC3] = true};

/* Entities decoded, known tags removed (line-ending ones become '\n'), escapes undone,
 * CR and NUL dropped, NBSP made a space, WordPress's "0×1f" made "0x1f". */
static void line_clean(const char *s, size_t n, kb_buf *tmp, kb_buf *out) {
  kb_buf_reset(out);
  if (n > MAX_PHYSICAL_LINE) n = MAX_PHYSICAL_LINE;
  if (memchr(s, '&', n)) {
    kb_buf_reset(tmp);
    kb_html_entities_decode(s, n, tmp);
    s = tmp->ptr, n = tmp->len;
  }
  size_t plain = 0; /* the bytes before the first one the loop below may change, copied at once */
  while (plain < n && !clean_special[(unsigned char)s[plain]]) plain++;
  kb_buf_add(out, s, plain);
  for (size_t i = plain; i < n; i++) {
    char c = s[i];
    unsigned char u = (unsigned char)c;
    if (c == '\r' || c == '\0') continue;
    if (c == '<') {
      bool brk = false;
      size_t tl = html_tag_len(s + i, n - i, &brk);
      if (tl) {
        if (brk) kb_buf_addc(out, '\n');
        i += tl - 1;
        continue;
      }
    }
    if (c == '\\' && i + 1 < n && is_md_escape(s[i + 1])) continue;
    if (u == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) { /* NBSP */
      kb_buf_addc(out, ' ');
      i++;
      continue;
    }
    if (u == 0xC3 && i + 2 < n && (unsigned char)s[i + 1] == 0x97 && out->len && out->ptr[out->len - 1] == '0' &&
        isxdigit((unsigned char)s[i + 2])) { /* U+00D7 MULTIPLICATION SIGN for 'x' */
      kb_buf_addc(out, 'x');
      i++;
      continue;
    }
    kb_buf_addc(out, c);
  }
}

/* ---- cleaning, stage 2: what was put in front of each line ---- */

/* "> ", ">> ", "> > " (e-mail and Markdown quotes). */
static size_t quote_len(const char *s, size_t n) {
  size_t i = 0, end = 0;
  while (i < n && s[i] == '>') {
    i++;
    if (i < n && s[i] == ' ') i++;
    end = i;
    size_t j = i;
    while (j < n && s[j] == ' ') j++;
    if (j < n && s[j] == '>') i = j;
  }
  return end;
}

/* Line numbers some pastebins and editors add: "12. ", "12: ", "12 | ", "12) ", "12\t".
 * A bare "12 " is left alone: WinDbg's frame numbers look the same. */
static size_t line_number_len(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && i < 6 && isdigit((unsigned char)s[i])) i++;
  if (i == 0 || i >= n) return 0;
  if (s[i] == '\t') return i + 1;
  size_t j = i;
  if (s[j] == ' ' && j + 1 < n && s[j + 1] == '|') j++;
  if (s[j] != '.' && s[j] != ':' && s[j] != '|' && s[j] != ')') return 0;
  j++;
  if (j < n && (s[j] == ' ' || s[j] == '\t')) return j + 1;
  return 0;
}

/* A printk level: "<4>". */
static size_t printk_level_len(const char *s, size_t n) {
  return n > 3 && s[0] == '<' && s[1] >= '0' && s[1] <= '7' && s[2] == '>' ? 3 : 0;
}

static bool is_time(const char *s, size_t n) {
  return n >= 8 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':' &&
         isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) && s[5] == ':' &&
         isdigit((unsigned char)s[6]) && isdigit((unsigned char)s[7]);
}

/* "host kernel: " after a syslog date: the host and the tag. */
static size_t kernel_tag_len(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && i < 64 && s[i] != ' ') i++;
  if (i == 0 || i >= n || i >= 64) return 0;
  size_t host = i + 1;
  if (kb_fmt_starts(s + host, n - host, "kernel:")) return host + 7;
  return 0;
}

/* Syslog: "Nov 25 19:30:28 host kernel: ", "июл 27 14:08:04 laptop kernel: ", and without a
 * tag "Feb  9 12:50:38 l28 [6437762.553311] ...". The month may be in any language. */
static size_t syslog_len(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && i < 16 && (isalpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80)) i++;
  if (i < 3 || i >= n || s[i] != ' ') return 0;
  while (i < n && s[i] == ' ') i++;
  size_t d = i;
  while (i < n && isdigit((unsigned char)s[i])) i++;
  if (i == d || i - d > 2 || i >= n || s[i] != ' ') return 0;
  i++;
  if (!is_time(s + i, n - i)) return 0;
  i += 8;
  while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '.')) i++;
  if (i >= n || s[i] != ' ') return 0;
  i++;
  size_t tag = kernel_tag_len(s + i, n - i);
  if (tag) return i + tag;
  /* No tag: drop the host only when a kernel timestamp follows it. */
  size_t h = i;
  while (h < n && h - i < 64 && s[h] != ' ') h++;
  if (h + 1 < n && s[h] == ' ' && s[h + 1] == '[') return h + 1;
  return 0;
}

/* "[  123.456789]" (printk), "[Fri Feb  3 15:17:22 2023]" (dmesg -T). */
static size_t bracket_time_len(const char *s, size_t n) {
  if (n < 3 || s[0] != '[') return 0;
  size_t j = 1;
  while (j < n && s[j] == ' ') j++;
  size_t d = j;
  while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '.')) j++;
  if (j > d && j < n && s[j] == ']') return j + 1;
  if (n > 26 && isalpha((unsigned char)s[1]) && isalpha((unsigned char)s[2]) && isalpha((unsigned char)s[3]) &&
      s[4] == ' ') {
    const char *close = memchr(s, ']', n < 32 ? n : 32);
    if (close && memchr(s, ':', (size_t)(close - s))) return (size_t)(close - s) + 1;
  }
  return 0;
}

/* The caller id printk adds after the time: "[   T31]", "[  C0]". */
static size_t caller_id_len(const char *s, size_t n) {
  if (n < 3 || s[0] != '[') return 0;
  size_t j = 1;
  while (j < n && s[j] == ' ') j++;
  if (j >= n || (s[j] != 'T' && s[j] != 'C')) return 0;
  size_t d = ++j;
  while (j < n && isdigit((unsigned char)s[j])) j++;
  return j > d && j < n && s[j] == ']' ? j + 1 : 0;
}

/* "[  123.456789] ", "[  12.3][ T31] ", "2026-11-25T19:30:28.123Z ", "2026-11-25 19:30:28,123 "
 * (+ level, or + "host kernel:"). */
static size_t timestamp_len(const char *s, size_t n) {
  size_t i = bracket_time_len(s, n);
  if (i) {
    i += caller_id_len(s + i, n - i);
  } else if (n > 19 && isdigit((unsigned char)s[0]) && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') &&
             s[13] == ':' && s[16] == ':') {
    i = 19;
    while (i < n && (isdigit((unsigned char)s[i]) || strchr(".,:+-Z", s[i]))) i++;
    while (i < n && s[i] == ' ') i++;
    static const char *const levels[] = {"ERROR", "WARN", "WARNING", "INFO", "DEBUG", "FATAL", "TRACE", "CRITICAL", NULL};
    bool level = false;
    for (const char *const *l = levels; *l && !level; l++) {
      size_t ll = strlen(*l);
      if (n - i > ll && strncmp(s + i, *l, ll) == 0 && (s[i + ll] == ' ' || s[i + ll] == ':')) i += ll + 1, level = true;
    }
    if (!level) i += kernel_tag_len(s + i, n - i);
  }
  if (!i) return 0;
  while (i < n && s[i] == ' ') i++;
  return i;
}

static void buf_drop_front(kb_buf *b, size_t k) {
  memmove(b->ptr, b->ptr + k, b->len - k + 1);
  b->len -= k;
}

/* `', '` or `", "`: the separator of a traceback printed as a Python or JSON list of
 * lines ("['Traceback (most recent call last):\n', '  File ...\n', ...]"). */
static size_t list_item_len(const char *s, size_t n) {
  if (n >= 4 && (s[0] == '\'' || s[0] == '"') && s[1] == ',' && s[2] == ' ' && (s[3] == '\'' || s[3] == '"'))
    return 4;
  return 0;
}

/* "web-1    | ", "aurora-worker-1   | ": docker compose's service prefix. */
static size_t container_len(const char *s, size_t n) {
  size_t i = 0;
  if (n < 4 || !isalnum((unsigned char)s[0])) return 0;
  while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.')) i++;
  size_t name = i;
  while (i < n && s[i] == ' ') i++;
  if (i == name || i + 1 >= n || s[i] != '|' || s[i + 1] != ' ') return 0;
  return i + 2;
}

/* Strip what sits in front of the line. Leading blanks go with a prefix; without one,
 * indentation is kept (Python and Go formats read it). */
static void line_finish(kb_buf *b) {
  kb_buf_rtrim(b);
  size_t lead = 0;
  while (lead < b->len && (b->ptr[lead] == ' ' || b->ptr[lead] == '\t')) lead++;
  size_t k = quote_len(b->ptr + lead, b->len - lead);
  if (k) buf_drop_front(b, lead + k), lead = 0;
  k = line_number_len(b->ptr + lead, b->len - lead);
  if (k) buf_drop_front(b, lead + k), lead = 0;
  for (char *t = b->ptr, *end = b->ptr + b->len; (t = memchr(t, '\t', (size_t)(end - t))); t++) *t = ' ';
  while (lead < b->len && b->ptr[lead] == ' ') lead++;
  size_t (*const prefixes[])(const char *, size_t) = {list_item_len, container_len, printk_level_len, syslog_len,
                                                      timestamp_len};
  for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
    k = prefixes[p](b->ptr + lead, b->len - lead);
    if (!k) continue;
    buf_drop_front(b, lead + k);
    for (lead = 0; lead < b->len && b->ptr[lead] == ' ';) lead++;
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
  free(st->bugcheck_args);
  kb_reason_release(&st->reason);
  memset(st, 0, sizeof *st);
}

static size_t count_words(const char *s) {
  size_t n = 0;
  for (bool in = false; *s; s++) {
    bool sp = *s == ' ';
    if (!sp && !in) n++;
    in = !sp;
  }
  return n;
}

/* Bugcheck parameters come one per line (Arg1..Arg4, BUGCHECK_P1..P4) or four at once:
 * a REASON's params are appended while the stack has fewer than four. */
static void params_merge(char **dst, char **src) {
  if (!*src) return;
  if (!*dst) {
    *dst = *src, *src = NULL;
    return;
  }
  size_t have = count_words(*dst);
  if (have >= MAX_PARAMS || have + count_words(*src) > MAX_PARAMS) return;
  char *joined = kb_xasprintf("%s %s", *dst, *src);
  free(*dst);
  *dst = joined;
}

/* Fill the empty fields of `dst` from `src` (params: see params_merge); `src` is released. */
static void reason_merge(kb_reason *dst, kb_reason *src) {
  char **d[] = {&dst->kind, &dst->code, &dst->name, &dst->message, &dst->bucket};
  char **s[] = {&src->kind, &src->code, &src->name, &src->message, &src->bucket};
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
    if (!*d[i] && *s[i]) *d[i] = *s[i], *s[i] = NULL;
  params_merge(&dst->params, &src->params);
  kb_reason_release(src);
}

static bool reason_empty(const kb_reason *r) {
  return !r->kind && !r->code && !r->name && !r->message && !r->params && !r->bucket;
}

static void frames_reverse(kb_stack *st) {
  for (size_t i = 0, j = st->nframes ? st->nframes - 1 : 0; i < j; i++, j--) {
    kb_frame t = st->frames[i];
    st->frames[i] = st->frames[j];
    st->frames[j] = t;
  }
}

/* True when the reason's bugcheck code is `code` (KeBugCheckEx's arguments belong to it). */
static bool reason_is_code(const kb_reason *r, unsigned code) {
  unsigned long long v;
  return r->code && kb_fmt_hex_value(r->code, strlen(r->code), &v) && v == code;
}

/* "BUGCODE_NDIS_DRIVER" for a bugcheck reason that states only its code. */
static void reason_name_bugcheck(kb_reason *r) {
  unsigned long long v;
  if (r->name || !r->kind || strcmp(r->kind, "bugcheck") != 0 || !r->code ||
      !kb_fmt_hex_value(r->code, strlen(r->code), &v) || v > 0xFFFFFFFFull || !kb_bugcheck_name((unsigned)v))
    return;
  r->name = kb_xstrdup(kb_bugcheck_name((unsigned)v));
}

/* The bugcheck code: what the text says (BUGCHECK_CODE, the title, BugCheck X, {...})
 * wins; the first argument of nt!KeBugCheckEx (set by the windbg format) is the fallback. */
static void stack_finish(kb_stack *st, bool reverse) {
  if (reverse) frames_reverse(st);
  if (st->reason.kind && strcmp(st->reason.kind, "bugcheck") == 0 && st->reason.code) {
    unsigned long long v;
    if (kb_fmt_hex_value(st->reason.code, strlen(st->reason.code), &v) && v && v <= 0xFFFFFFFFull)
      st->bugcheck = (unsigned)v;
  }
  if (st->bugcheck && !st->reason.code) {
    st->reason.code = kb_xasprintf("0x%X", st->bugcheck);
    if (!st->reason.kind) st->reason.kind = kb_xstrdup("bugcheck");
  }
  if (st->bugcheck && !st->reason.params && st->bugcheck_args && reason_is_code(&st->reason, st->bugcheck))
    st->reason.params = st->bugcheck_args, st->bugcheck_args = NULL;
  if (st->bugcheck && !st->reason.name && kb_bugcheck_name(st->bugcheck))
    st->reason.name = kb_xstrdup(kb_bugcheck_name(st->bugcheck));
  kb_stack_normalize(st);
}

static void parser_close(parser *p) {
  if (!p->fmt) return;
  int need = p->had_header ? 1 : p->fmt->min_frames_without_header;
  /* One frame with a stated crash reason is a crash report too: the kernel's RIP line
   * after a WARNING, !analyze's "Probably caused by" after the BugCheck line. */
  const kb_reason *r = &p->cur.reason;
  if (p->cur.nframes == 1 && (p->cur.frames[0].flags & KB_FRAME_LONE) && (r->code || r->name || r->kind)) need = 1;
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
    if (!reason_empty(&p->cur.reason)) {
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
  p->cur.last_line = p->lineno;
  p->had_header = header;
  if (!reason_empty(&p->pending)) reason_merge(&p->cur.reason, &p->pending);
  p->pending_fmt = NULL;
}

static void raw_add(parser *p, const char *s, size_t n) {
  p->cur.last_line = p->lineno;
  if (p->raw.len + n + 1 > MAX_RAW) return;
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
    if (p->fmt != fmt) {
      /* The first frame of a stack: classified again now that the stack exists, so
       * that a format which notes something in `cur` from a frame (the bugcheck code
       * in nt!KeBugCheckEx's arguments) sees it for this frame too. */
      parser_open(p, fmt, false);
      kb_frame again = {0};
      kb_reason unused = {0};
      if (fmt->classify(s, n, &p->cur, &again, &unused) == KB_LINE_FRAME) {
        kb_frame_release(f);
        *f = again;
      } else {
        kb_frame_release(&again);
      }
      kb_reason_release(&unused);
    }
    if (!f->raw) f->raw = kb_fmt_strndup_trim(s, n);
    if (p->cur.nframes == 0) p->cur.first_line = p->lineno;
    stack_push_frame(&p->cur, f);
    raw_add(p, s, n);
    reason_merge(&p->cur.reason, r); /* a frame may carry part of the reason */
    break;
  case KB_LINE_HEADER: {
    /* a header's own reason ("Exception in thread ... X: msg") wins over one seen before */
    kb_reason before = p->pending;
    memset(&p->pending, 0, sizeof p->pending);
    parser_open(p, fmt, true);
    reason_merge(&p->cur.reason, r);
    reason_merge(&p->cur.reason, &before);
    break;
  }
  case KB_LINE_REASON: parser_reason(p, fmt, r); break;
  case KB_LINE_CONT:
    if (p->fmt == fmt) raw_add(p, s, n);
    break;
  case KB_LINE_END:
    if (p->fmt == fmt) {
      raw_add(p, s, n);
      parser_close(p);
    }
    break;
  default: break;
  }
}

/* Offer one cleaned line, to the current stack's format first; true when taken. */
static bool parser_offer(parser *p, const char *s, size_t n, bool only_frames) {
  if (n > KB_STACK_MAX_LINE) n = KB_STACK_MAX_LINE;
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
    /* most lines are nobody's: skip the frees when nothing was filled in */
    if (f.module || f.function || f.offset || f.file || f.address || f.raw || f.norm) kb_frame_release(&f);
    if (!reason_empty(&r)) kb_reason_release(&r);
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
    if (!k || k >= n) continue;
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

/* A reason waits for its stack (Go's "panic:" line above the goroutine, !analyze's
 * BUGCHECK_CODE above STACK_TEXT), but not through pages of prose: a "TypeError" in one
 * paragraph is not the reason of a stack pasted much further down. */
#define PENDING_LIFETIME 60

static void gap_count(parser *p) {
  if (p->fmt && ++p->gap > MAX_GAP) parser_close(p);
  if (!p->fmt && !reason_empty(&p->pending) && ++p->pending_idle > PENDING_LIFETIME) {
    reason_merge(&p->out->reason, &p->pending);
    p->pending_idle = 0;
  }
}

/* Only hexadecimal columns (and WinDbg's ':' separators): the first half of a WinDbg or
 * Dr. Watson line wrapped before its call site. Such a line is never complete alone. */
static bool is_columns_only(const char *s, size_t n) {
  size_t tokens = 0, wide = 0;
  for (size_t i = 0; i < n;) {
    while (i < n && s[i] == ' ') i++;
    size_t t = i;
    while (i < n && s[i] != ' ') i++;
    if (i == t) break;
    if (i - t == 1 && s[t] == ':') continue;
    if (!kb_fmt_is_hex(s + t, i - t)) return false;
    tokens++;
    wide += i - t >= 8;
  }
  return tokens >= 2 && wide >= 1;
}

/* Offer `held` + `s` as one line (frames only); true when it made a frame. */
static bool try_join(parser *p, const char *s, size_t n) {
  kb_buf *j = &p->scratch;
  kb_buf_reset(j);
  kb_buf_add(j, p->held.ptr, p->held.len);
  kb_buf_addc(j, ' ');
  while (n && *s == ' ') s++, n--;
  kb_buf_add(j, s, n);
  return parser_offer(p, j->ptr, j->len, true);
}

static void hold(parser *p, const char *s, size_t n, bool columns) {
  kb_buf_reset(&p->held);
  kb_buf_add(&p->held, s, n);
  p->held_columns = columns;
}

/* One cleaned line. A wrapped frame: a columns-only first half is held without counting
 * a gap and joined with the next line first; any other unclassified line is held too,
 * and joined with the next line when that one is not anything on its own either. */
static void parser_feed(parser *p, const char *s, size_t n) {
  if (p->held_columns) {
    bool ok = n && try_join(p, s, n);
    kb_buf_reset(&p->held);
    p->held_columns = false;
    if (ok) return;
    gap_count(p);
  }
  if (n == 0) {
    gap_count(p);
    kb_buf_reset(&p->held);
    return;
  }
  if (parser_line(p, s, n)) {
    kb_buf_reset(&p->held);
    p->pending_idle = 0;
    return;
  }
  if (n <= KB_STACK_MAX_LINE && is_columns_only(s, n)) {
    hold(p, s, n, true);
    return;
  }
  /* Other unclassified lines are joined only inside a stack: outside one, a line that is
   * nothing is almost always prose, and trying every pair would double the work. */
  if (p->held.len) {
    bool ok = try_join(p, s, n);
    kb_buf_reset(&p->held);
    if (ok) return;
  } else if (p->fmt && n <= KB_STACK_MAX_LINE) {
    hold(p, s, n, false);
  }
  gap_count(p);
}

/* A one-frame stack (a crash site printed apart: FAULTING_IP, RIP, "Probably caused by")
 * whose frame another stack of the same format also has adds nothing: fold it into that
 * stack (its reason included) so the full stack comes first. */
static bool stack_is_lone(const kb_stack *st) { return st->nframes == 1 && (st->frames[0].flags & KB_FRAME_LONE); }

/* The stack of the same format, not lone itself, that has lone stack `st`'s frame; NULL. */
static kb_stack *fold_target(kb_stacks *out, const kb_stack *st) {
  for (size_t j = 0; j < out->n; j++) {
    kb_stack *o = &out->v[j];
    if (o == st || stack_is_lone(o) || strcmp(o->format, st->format) != 0) continue;
    for (size_t k = 0; k < o->nframes; k++)
      if (strcmp(o->frames[k].norm, st->frames[0].norm) == 0) return o;
  }
  return NULL;
}

static void stacks_fold_singles(kb_stacks *out) {
  /* Decide and merge with every stack in place (targets are never lone, so never folded),
   * then release the folded ones and close the gaps: nothing moves while it is looked at. */
  bool *folded = kb_xcalloc(out->n ? out->n : 1, sizeof *folded);
  for (size_t i = 0; i < out->n; i++) {
    kb_stack *into = stack_is_lone(&out->v[i]) ? fold_target(out, &out->v[i]) : NULL;
    if (!into) continue;
    reason_merge(&into->reason, &out->v[i].reason);
    folded[i] = true;
  }
  size_t kept = 0;
  for (size_t i = 0; i < out->n; i++) {
    if (folded[i]) stack_release(&out->v[i]);
    else out->v[kept++] = out->v[i];
  }
  out->n = kept;
  free(folded);
}

void kb_stacks_parse(const char *text, size_t len, kb_stacks *out) {
  parser p = {.out = out, .raw = KB_BUF_INIT, .held = KB_BUF_INIT, .scratch = KB_BUF_INIT};
  kb_buf clean = KB_BUF_INIT, tmp = KB_BUF_INIT, line = KB_BUF_INIT;
  if (len > KB_STACK_MAX_INPUT) len = KB_STACK_MAX_INPUT;
  for (size_t i = 0; i < len;) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
    p.lineno++;
    line_clean(text + i, n, &tmp, &clean);
    /* `<br>` tags made several lines of one */
    for (size_t a = 0; a <= clean.len;) {
      const char *e = memchr(clean.ptr + a, '\n', clean.len - a);
      size_t b = e ? (size_t)(e - clean.ptr) : clean.len;
      if (a == b && b == clean.len && a > 0) break; /* after a final `<br>` */
      kb_buf_reset(&line);
      kb_buf_add(&line, clean.ptr + a, b - a);
      line_finish(&line);
      parser_feed(&p, line.ptr, line.len);
      a = b + 1;
    }
    i += n + (nl ? 1 : 0);
  }
  if (p.held_columns) gap_count(&p);
  parser_close(&p);
  /* a reason no stack took (an event-log bugcheck line, an error with no frames) */
  reason_merge(&out->reason, &p.pending);
  reason_name_bugcheck(&out->reason);
  stacks_fold_singles(out);
  kb_buf_release(&p.raw);
  kb_buf_release(&p.held);
  kb_buf_release(&p.scratch);
  kb_buf_release(&clean);
  kb_buf_release(&tmp);
  kb_buf_release(&line);
}

void kb_stacks_release(kb_stacks *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) stack_release(&s->v[i]);
  free(s->v);
  kb_reason_release(&s->reason);
  memset(s, 0, sizeof *s);
}
