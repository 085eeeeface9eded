/* fmt_windbg.c - WinDbg (and KD, CDB, Dr. Watson) stacks and the crash reason around
 * them. A kb_format (format.h) offered every line by the parser's driver (stack.c).
 *
 * Frames: leading hex columns, then the call site.
 *   fffff800`4876a8c8 fffff800`46dc97e9 : 00000000`0000000a ... : nt!KeBugCheckEx     (kv, x64)
 *   ba50b8c0 b9e390a8 000335e5 89bc65f4 000000fe nt!ObQueryNameString+0x9b (FPO: [Non-Fpo])
 *   00 fffff800`4876a8c8 fffff800`46dc97e9 nt!KeBugCheckEx+0x69                        (kn)
 *   0015fce4 010e1415 test1!Add(int a = 0n18, int b = 0n52)+0x1e [f:\t\test1.cpp @ 7]  (kp)
 *   0197fb94 77308dc1 0197fbdc 025c1ec0 03478e70 0x77306f5f                  (no symbol)
 *   0100F9E8 00438172 01010460 0100FBE0 0100FB00 00D85698 !<nosymbols>       (Dr. Watson)
 *   nt!KiPageFault+0x23a                                         (a bare list, no columns)
 * Columns: an optional frame number (2-4 hex digits), Child-SP/ChildEBP/FramePtr, RetAddr,
 * then the "Args to Child" (after " : " on x64). The call site is `module!function+0xoff`,
 * `module+0xoff` (only after columns: unsymbolized), or a bare 0x address; `kp` arguments
 * are part of the function as written. The frame's address is the RetAddr column (the
 * bare address for a frame without a module). A `[file @ line]` suffix gives file/line.
 *
 * The reason, from the lines around the stack (kind "bugcheck", code "0xA", params
 * "0x28 0x2 0x0 0xfffff80002134dfe", bucket = FAILURE_BUCKET_ID): the bugcheck title
 * "IRQL_NOT_LESS_OR_EQUAL (a)", "Arguments:" Arg1..Arg4, BUGCHECK_CODE / BUGCHECK_STR /
 * BUGCHECK_P1..P4, the summary "BugCheck A, {28, 2, 0, fffff80002134dfe}", .bugcheck's
 * "Bugcheck code 0000000A" + "Arguments ...", "*** Fatal System Error: 0x..." + its
 * parameter line, "STOP: 0x...", the event log's "The bugcheck was: 0x...", and for
 * user-mode dumps EXCEPTION_CODE / ExceptionCode / Dr. Watson's "Exception number:"
 * (kind "exception"). The first argument of nt!KeBugCheckEx (or KeBugCheck2) is recorded
 * in cur->bugcheck; the driver uses it only when nothing above gave a code. SYMBOL_NAME,
 * MODULE_NAME and IMAGE_NAME are recognised as !analyze keys but not kept: kb_reason has
 * no field for them, and the stack holds the same frame. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/format.h"
#include "util/util.h"

/* ---- tokens ---- */

typedef struct tok {
  const char *s;
  size_t n;
} tok;

/* The next space-separated token at or after *p, or false at the end. */
static bool next_tok(const char **p, const char *end, tok *t) {
  const char *q = *p;
  while (q < end && *q == ' ') q++;
  t->s = q;
  while (q < end && *q != ' ') q++;
  t->n = (size_t)(q - t->s);
  *p = q;
  return t->n > 0;
}

static bool tok_is(const tok *t, const char *word) { return t->n == strlen(word) && memcmp(t->s, word, t->n) == 0; }

/* A stack address column: 8 or 16 hex digits, maybe split by a backtick. */
static bool is_address(const tok *t) {
  size_t digits = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (t->s[i] == '`') continue;
    if (!isxdigit((unsigned char)t->s[i])) return false;
    digits++;
  }
  return digits == 8 || digits == 16;
}

/* A `kn` frame number: 2-4 hex digits. */
static bool is_frame_number(const tok *t) { return t->n >= 2 && t->n <= 4 && kb_fmt_is_hex(t->s, t->n); }

/* "--------`--------", the RetAddr of an inline frame. */
static bool is_dashes(const tok *t) {
  for (size_t i = 0; i < t->n; i++)
    if (t->s[i] != '-' && t->s[i] != '`') return false;
  return t->n >= 8;
}

static bool has_0x(const tok *t) { return t->n > 2 && t->s[0] == '0' && (t->s[1] == 'x' || t->s[1] == 'X'); }

/* ---- the call site ---- */

static bool is_module_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$' || c == '-';
}

static bool is_function_start(char c) {
  return isalpha((unsigned char)c) || c == '_' || c == '?' || c == '@' || c == '$' || c == '~' || c == '<' || c == '`';
}

/* End of a function name: whitespace, an argument list or "+offset" end it, except inside
 * template brackets ("vector<int, alloc<int> >") and `quoted' names ("`anonymous namespace'"). */
static const char *function_end(const char *p, const char *end) {
  int angle = 0;
  bool quoted = false;
  for (; p < end; p++) {
    char c = *p;
    if (quoted) {
      quoted = c != '\'';
      continue;
    }
    if (c == '`') quoted = true;
    else if (c == '<') angle++;
    else if (c == '>' && angle > 0) angle--;
    else if (angle == 0 && (isspace((unsigned char)c) || c == '(' || c == '+' || c == '[')) break;
  }
  return p;
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

/* The ')' closing the '(' at p, or NULL when the list goes on past the line (`kP`). */
static const char *closing_paren(const char *p, const char *end) {
  int depth = 0;
  for (; p < end; p++) {
    if (*p == '(') depth++;
    else if (*p == ')' && --depth == 0) return p;
  }
  return NULL;
}

static void set_offset(kb_frame *f, const char *p, const char *end, const char **after) {
  size_t ol = offset_len(p, end);
  if (ol && f) f->offset = kb_xstrndup(p + 1, ol - 1);
  *after = p + ol;
}

/* `module!function[(args)][+0xoff]`; with columns before it also `module+0xoff`,
 * `!function` (Dr. Watson, no module) and a bare `0x...` address. Fills *f (unless f is
 * NULL: a probe) and returns the end of the call site, or NULL. A name followed by ':'
 * is a disassembly label. */
static const char *call_site(const char *s, const char *end, int columns, kb_frame *f) {
  const char *m = s, *after;
  while (m < end && is_module_char(*m)) m++;
  bool named = m > s && (isalpha((unsigned char)*s) || *s == '_');
  if (m == s && columns >= 2 && *s == '!') named = true; /* Dr. Watson: no module */
  if (!named) {
    if (columns < 2) return NULL;
    tok t = {s, 0};
    while (t.n < (size_t)(end - s) && s[t.n] != ' ') t.n++;
    if (!has_0x(&t) || !kb_fmt_is_hex(t.s, t.n)) return NULL;
    if (f) f->address = kb_xstrndup(t.s, t.n);
    return s + t.n;
  }
  if (m < end && *m == '!') {
    const char *fn = m + 1;
    if (fn >= end || !is_function_start(*fn)) return NULL;
    const char *fe = function_end(fn, end);
    const char *close = fe < end && *fe == '(' ? closing_paren(fe, end) : NULL;
    const char *name_end = close ? close + 1 : fe;
    if (m > s && f) f->module = kb_xstrndup(s, (size_t)(m - s));
    if (!(name_end - fn == 11 && memcmp(fn, "<nosymbols>", 11) == 0) && f)
      f->function = kb_xstrndup(fn, (size_t)(name_end - fn));
    set_offset(f, name_end, end, &after);
    if (!close && fe < end && *fe == '(') after = end; /* kP: the arguments follow on the next lines */
  } else {
    if (columns < 1 || !offset_len(m, end)) return NULL;
    if (f) f->module = kb_xstrndup(s, (size_t)(m - s));
    set_offset(f, m, end, &after);
  }
  if (after < end && *after == ':') {
    if (f) kb_frame_release(f);
    return NULL;
  }
  return after;
}

/* `[d:\path\file.c @ 123]` anywhere in s: sets file and line. */
static bool source_info(const char *s, const char *end, kb_frame *f) {
  for (const char *p = s; p < end; p++) {
    if (*p != '[') continue;
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (!close) return false;
    for (const char *at = close; at > p + 3; at--) {
      if (!(at[-1] == ' ' && at[0] == '@' && at + 1 < close && at[1] == ' ')) continue;
      int line = atoi(at + 2);
      if (line <= 0) break;
      free(f->file);
      f->file = kb_fmt_strndup_trim(p + 1, (size_t)(at - 1 - (p + 1)));
      f->line = line;
      return true;
    }
    p = close;
  }
  return false;
}

/* ---- bugcheck numbers ---- */

/* "0x%llX" of a hex token ("0000000a", "0x1000007e", "00000000`0000000a"); NULL if not hex. */
static char *hex_code(const char *s, size_t n) {
  unsigned long long v;
  if (!n || !kb_fmt_hex_value(s, n, &v)) return NULL;
  return kb_xasprintf("0x%llX", v);
}

/* Append the hex value s[0..n) to the params list as "0x28". */
static bool param_add(kb_buf *b, const char *s, size_t n) {
  unsigned long long v;
  while (n && (*s == ' ' || *s == '{' || *s == '(')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == ',' || s[n - 1] == '}' || s[n - 1] == ')' || s[n - 1] == '.')) n--;
  if (!n || !kb_fmt_hex_value(s, n, &v)) return false;
  kb_buf_addf(b, "%s0x%llx", b->len ? " " : "", v);
  return true;
}

/* "28, 2, 0, fffff80002134dfe" or "00000000`00000028 00000000`00000002 ...": params. */
static void params_list(const char *s, const char *end, kb_reason *r) {
  kb_buf b = KB_BUF_INIT;
  for (const char *p = s; p < end && b.len < 200;) {
    while (p < end && (*p == ' ' || *p == ',' || *p == '{' || *p == '(')) p++;
    const char *t = p;
    while (p < end && *p != ' ' && *p != ',' && *p != '}' && *p != ')') p++;
    if (p > t && !param_add(&b, t, (size_t)(p - t))) break;
    if (p < end && (*p == '}' || *p == ')')) break;
  }
  if (b.len) r->params = kb_buf_detach(&b, NULL);
  kb_buf_release(&b);
}

static size_t words(const char *s) {
  size_t n = 0;
  for (bool in = false; *s; s++) {
    if (*s != ' ' && !in) n++;
    in = *s != ' ';
  }
  return n;
}

static void set_bugcheck(kb_reason *r, const char *code, size_t n) {
  char *c = hex_code(code, n);
  if (!c) return;
  kb_reason_set(&r->kind, "bugcheck", 8);
  free(r->code);
  r->code = c;
}

/* ---- !analyze -v and other reason lines ---- */

/* `KEY:` at the start of the line (an !analyze -v field); returns the value's offset. */
static size_t analyze_key(const char *s, size_t n, const char *key) {
  size_t kl = strlen(key);
  if (n <= kl || strncmp(s, key, kl) != 0 || s[kl] != ':') return 0;
  return kl + 1;
}

static bool is_analyze_key_line(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (isupper((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_')) i++;
  return i >= 3 && i < n && s[i] == ':';
}

/* The value after a key: trimmed, up to the first space. */
static tok value_word(const char *s, size_t n, size_t v) {
  const char *p = s + v, *end = s + n;
  tok t = {end, 0};
  next_tok(&p, end, &t);
  return t;
}

static kb_line_kind set_exception(kb_reason *r, const char *code, size_t n, const char *msg, size_t mn) {
  char *c = hex_code(code, n);
  if (!c) return KB_LINE_NONE;
  kb_reason_set(&r->kind, "exception", 9);
  free(r->code);
  r->code = c;
  if (mn) kb_reason_set(&r->message, msg, mn);
  return KB_LINE_REASON;
}

static kb_line_kind analyze_reason(const char *s, size_t n, kb_reason *r) {
  size_t v;
  if ((v = analyze_key(s, n, "BUGCHECK_CODE"))) {
    tok t = value_word(s, n, v);
    set_bugcheck(r, t.s, t.n);
    return r->code ? KB_LINE_REASON : KB_LINE_NONE;
  }
  if ((v = analyze_key(s, n, "BUGCHECK_STR"))) { /* "0xA", "0x7f_8"; "AV" says nothing */
    tok t = value_word(s, n, v);
    size_t k = 0;
    if (!has_0x(&t)) return KB_LINE_NONE;
    for (k = 2; k < t.n && isxdigit((unsigned char)t.s[k]); k++) {}
    set_bugcheck(r, t.s, k);
    return r->code ? KB_LINE_REASON : KB_LINE_NONE;
  }
  for (int i = 1; i <= 4; i++) {
    char key[16];
    snprintf(key, sizeof key, "BUGCHECK_P%d", i);
    if ((v = analyze_key(s, n, key))) {
      params_list(s + v, s + n, r);
      return r->params ? KB_LINE_REASON : KB_LINE_NONE;
    }
  }
  if ((v = analyze_key(s, n, "FAILURE_BUCKET_ID")) || (v = analyze_key(s, n, "BUCKET_ID"))) {
    kb_reason_set(&r->bucket, s + v, n - v);
    return r->bucket[0] ? KB_LINE_REASON : KB_LINE_NONE;
  }
  if ((v = analyze_key(s, n, "EXCEPTION_CODE_STR"))) {
    tok t = value_word(s, n, v);
    return set_exception(r, t.s, t.n, NULL, 0);
  }
  if ((v = analyze_key(s, n, "EXCEPTION_CODE"))) { /* "(NTSTATUS) 0xc0000005 - The instruction at ..." */
    const char *p = s + v, *end = s + n;
    tok t;
    while (next_tok(&p, end, &t) && t.s[0] == '(') {}
    const char *dash = memmem(t.s, (size_t)(end - t.s), " - ", 3);
    if (!dash) return set_exception(r, t.s, t.n, NULL, 0);
    return set_exception(r, t.s, t.n, dash + 3, (size_t)(end - dash - 3));
  }
  return KB_LINE_NONE;
}

/* "IRQL_NOT_LESS_OR_EQUAL (a)": the bugcheck title !analyze prints first. */
static kb_line_kind title_reason(const char *s, size_t n, kb_reason *r) {
  size_t i = 0;
  bool underscore = false;
  while (i < n && (isupper((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
    underscore |= s[i++] == '_';
  if (i < 4 || !underscore || !isupper((unsigned char)s[0]) || i + 3 > n || s[i] != ' ' || s[i + 1] != '(' ||
      s[n - 1] != ')')
    return KB_LINE_NONE;
  const char *code = s + i + 2;
  size_t cn = (size_t)(s + n - 1 - code);
  if (cn == 0 || cn > 8 || !kb_fmt_is_hex(code, cn)) return KB_LINE_NONE;
  set_bugcheck(r, code, cn);
  kb_reason_set(&r->name, s, i);
  return KB_LINE_REASON;
}

/* "Arg1: 0000000000000028, memory referenced" */
static kb_line_kind argument_reason(const char *s, size_t n, kb_reason *r) {
  if (n < 7 || !kb_fmt_starts(s, n, "Arg") || s[3] < '1' || s[3] > '4' || s[4] != ':') return KB_LINE_NONE;
  const char *p = s + 5, *end = s + n;
  tok t;
  if (!next_tok(&p, end, &t)) return KB_LINE_NONE;
  if (t.s[t.n - 1] == ',') t.n--;
  kb_buf b = KB_BUF_INIT;
  if (param_add(&b, t.s, t.n)) r->params = kb_buf_detach(&b, NULL);
  kb_buf_release(&b);
  return r->params ? KB_LINE_REASON : KB_LINE_NONE;
}

/* "BugCheck A, {28, 2, 0, fffff80002134dfe}" (!analyze's summary) and .bugcheck's
 * "Bugcheck code 0000000A" / "Arguments 00000000`00000028 ...". */
static kb_line_kind summary_reason(const char *s, size_t n, kb_reason *r) {
  const char *end = s + n;
  if (kb_fmt_starts(s, n, "BugCheck ") && memchr(s, '{', n)) {
    const char *p = s + 9, *c = p;
    while (c < end && *c != ',') c++;
    set_bugcheck(r, p, (size_t)(c - p));
    if (!r->code) return KB_LINE_NONE;
    const char *brace = memchr(s, '{', n);
    params_list(brace + 1, end, r);
    return KB_LINE_REASON;
  }
  if (kb_fmt_starts(s, n, "Bugcheck code ")) {
    tok t = value_word(s, n, 14);
    set_bugcheck(r, t.s, t.n);
    return r->code ? KB_LINE_REASON : KB_LINE_NONE;
  }
  if (kb_fmt_starts(s, n, "Arguments ") && n > 10 && isxdigit((unsigned char)s[10])) {
    params_list(s + 10, end, r);
    return r->params && strchr(r->params, ' ') ? KB_LINE_REASON : KB_LINE_NONE;
  }
  return KB_LINE_NONE;
}

/* Whether s has "x: " (a colon after a word, then a space), as each stop mark ends: frame
 * lines have colons only between spaces (" : "), so they skip the mark search. */
static bool word_colon(const char *s, size_t n) {
  for (const char *p = s, *end = s + n; (p = memchr(p, ':', (size_t)(end - p))); p++)
    if (p > s && p[-1] != ' ' && p + 1 < end && p[1] == ' ') return true;
  return false;
}

/* "0x0000007c (0x0000000000000014, 0x..., 0x..., 0x...)" after "STOP: ", "The bugcheck
 * was: " or "Bugcheck code: "; "*** Fatal System Error: 0x000000d1" alone; its parameter line "(0x..,0x..)". */
static kb_line_kind stop_reason(const char *s, size_t n, kb_reason *r) {
  static const char *const marks[] = {"STOP: ", "The bugcheck was: ", "Fatal System Error: ",
                                      "Bugcheck code: " /* WhoCrashed */, NULL};
  const char *end = s + n;
  bool colon = word_colon(s, n);
  for (const char *const *m = marks; colon && *m; m++) {
    size_t ml = strlen(*m);
    const char *at = memmem(s, n, *m, ml);
    if (!at) continue;
    const char *p = at + ml;
    tok t;
    if (!next_tok(&p, end, &t) || !has_0x(&t)) continue;
    set_bugcheck(r, t.s, t.n);
    const char *paren = memchr(p, '(', (size_t)(end - p));
    if (paren) params_list(paren + 1, end, r);
    return r->code ? KB_LINE_REASON : KB_LINE_NONE;
  }
  if (n > 20 && s[0] == '(' && s[1] == '0' && (s[2] == 'x' || s[2] == 'X') && s[n - 1] == ')' &&
      !memchr(s, ' ', n)) {
    params_list(s + 1, end, r);
    if (r->params && words(r->params) == 4) return KB_LINE_REASON;
  }
  return KB_LINE_NONE;
}

/* "ExceptionCode: c0000005 (Access violation)" (.exr), Dr. Watson's
 * "Exception number: c0000005 (access violation)". */
static kb_line_kind exception_reason(const char *s, size_t n, kb_reason *r) {
  static const char *const keys[] = {"ExceptionCode: ", "Exception number: ", NULL};
  for (const char *const *k = keys; *k; k++) {
    size_t kl = strlen(*k);
    if (!kb_fmt_starts(s, n, *k)) continue;
    const char *p = s + kl, *end = s + n;
    tok t;
    if (!next_tok(&p, end, &t)) return KB_LINE_NONE;
    const char *open = memchr(p, '(', (size_t)(end - p));
    const char *close = open ? memchr(open, ')', (size_t)(end - open)) : NULL;
    if (!close) return set_exception(r, t.s, t.n, NULL, 0);
    return set_exception(r, t.s, t.n, open + 1, (size_t)(close - open - 1));
  }
  return KB_LINE_NONE;
}

static kb_line_kind windbg_reason(const char *s, size_t n, kb_reason *r) {
  kb_line_kind (*const readers[])(const char *, size_t, kb_reason *) = {title_reason, argument_reason, summary_reason,
                                                                       stop_reason, exception_reason};
  for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++) {
    kb_line_kind k = readers[i](s, n, r);
    if (k != KB_LINE_NONE) return k;
    kb_reason_release(r);
  }
  return KB_LINE_NONE;
}

/* ---- frames ---- */

typedef struct cols {
  tok addr[2]; /* Child-SP / ChildEBP / FramePtr, RetAddr */
  int naddr;
  tok arg[4];  /* the "Args to Child" */
  int narg;
  int count;   /* hex columns, the frame number included */
} cols;

static void column_add(cols *c, const tok *t, bool colon) {
  if (c->count == 0 && is_frame_number(t)) {
    c->count++;
    return;
  }
  c->count++;
  if (!colon && c->naddr < 2) c->addr[c->naddr++] = *t;
  else if (c->narg < 4) c->arg[c->narg++] = *t;
}

/* The first argument of a kp call site: "KeBugCheckEx(unsigned long BugCheckCode = 0xa, ...". */
static unsigned kp_first_argument(const char *fn) {
  const char *eq = strstr(fn, " = ");
  if (!eq) return 0;
  const char *v = eq + 3, *e = v;
  while (*e && *e != ',' && *e != ')' && *e != ' ') e++;
  unsigned long long x;
  if (kb_fmt_starts(v, (size_t)(e - v), "0n")) return (unsigned)strtoul(v + 2, NULL, 10);
  return kb_fmt_hex_value(v, (size_t)(e - v), &x) ? (unsigned)x : 0;
}

static bool is_bugcheck_call(const kb_frame *f) {
  if (!f->function) return false;
  return kb_fmt_starts(f->function, strlen(f->function), "KeBugCheckEx") ||
         kb_fmt_starts(f->function, strlen(f->function), "KeBugCheck2");
}

/* nt!KeBugCheckEx's first argument is the bugcheck code: kept in cur->bugcheck for the
 * driver, which prefers a code the text states. */
static void note_bugcheck(kb_stack *cur, const kb_frame *f, const cols *c) {
  if (!cur || !is_bugcheck_call(f)) return;
  unsigned long long v = 0;
  if (strchr(f->function, '(')) v = kp_first_argument(f->function);
  else if (c->narg && !kb_fmt_hex_value(c->arg[0].s, c->arg[0].n, &v)) v = 0;
  if (!v || v > 0xFFFFFFFFull) return;
  cur->bugcheck = (unsigned)v;
  /* The next arguments are the bugcheck's parameters (x64: rdx, r8, r9; x86: the stack). */
  kb_buf b = KB_BUF_INIT;
  for (int i = 1; i < c->narg && param_add(&b, c->arg[i].s, c->arg[i].n); i++) {}
  free(cur->bugcheck_args);
  cur->bugcheck_args = b.len ? kb_buf_detach(&b, NULL) : NULL;
  kb_buf_release(&b);
}

static kb_line_kind frame_line(const char *s, size_t n, kb_stack *cur, kb_frame *f) {
  const char *p = s, *end = s + n, *site_end = NULL;
  cols c = {0};
  bool colon = false;
  tok t;
  while (!site_end && next_tok(&p, end, &t)) {
    if (tok_is(&t, ":")) {
      colon = c.count > 0;
      continue;
    }
    if (tok_is(&t, "(Inline") || tok_is(&t, "Function)")) continue;
    if (is_dashes(&t)) {
      column_add(&c, &t, colon);
      continue;
    }
    site_end = call_site(t.s, end, c.count, f);
    if (site_end) break;
    if (!kb_fmt_is_hex(t.s, t.n)) return KB_LINE_NONE;
    column_add(&c, &t, colon);
  }
  if (!site_end) return KB_LINE_NONE;
  source_info(site_end, end, f);
  if (!f->address && c.naddr) {
    const tok *a = &c.addr[c.naddr - 1];
    f->address = kb_xstrndup(a->s, a->n);
  }
  note_bugcheck(cur, f, &c);
  /* a bare symbol (FAULTING_IP's, or the first of a bare list) may be a crash site
   * printed apart from its stack: the driver folds it into a stack that has it */
  if (c.count == 0) f->flags |= KB_FRAME_LONE;
  return KB_LINE_FRAME;
}

/* ---- lines that belong to the open stack ---- */

static kb_frame *last_frame(kb_stack *cur) { return cur && cur->nframes ? &cur->frames[cur->nframes - 1] : NULL; }

/* A `kP` argument on its own line ("int a = 0n18,"), the closing ")+0x1e [f.cpp @ 7]",
 * a `[file @ line]` wrapped onto its own line, WinDbg's unwind warnings. */
static kb_line_kind continuation(const char *s, size_t n, kb_stack *cur) {
  kb_frame *last = last_frame(cur);
  if (!cur) return KB_LINE_NONE;
  if (kb_fmt_starts(s, n, "WARNING: Stack unwind information not available") ||
      kb_fmt_starts(s, n, "WARNING: Frame IP not in any known module"))
    return KB_LINE_CONT;
  if (!last) return KB_LINE_NONE;
  const char *end = s + n;
  const char *close = memchr(s, ')', n);
  if (close && (s[0] == ')' || (last->function && !last->offset && memmem(s, n, " = ", 3)))) {
    /* the end of a kP argument list: "int f = 0n188)+0x1e [f:\t\test1.cpp @ 7]" */
    const char *after;
    while (memchr(close + 1, ')', (size_t)(end - close - 1)) && close[1] != '+')
      close = memchr(close + 1, ')', (size_t)(end - close - 1));
    if (!last->offset) set_offset(last, close + 1, end, &after);
    if (!last->file) source_info(close, end, last);
    return KB_LINE_CONT;
  }
  if (s[0] == '[' && s[n - 1] == ']') {
    kb_frame probe = {0};
    bool ok = source_info(s, end, &probe);
    if (ok && !last->file) last->file = probe.file, last->line = probe.line, probe.file = NULL;
    kb_frame_release(&probe);
    return ok ? KB_LINE_CONT : KB_LINE_NONE;
  }
  if (last->function && !last->offset && (s[n - 1] == ',' || s[n - 1] == ')') && memmem(s, n, " = ", 3))
    return KB_LINE_CONT;
  return KB_LINE_NONE;
}

static bool is_header(const char *s, size_t n) {
  /* FAULTING_IP names the crash site on the next line: when no STACK_TEXT was pasted it
   * is all there is; when there is one, the driver folds this one-frame stack into it */
  static const char *const headers[] = {"STACK_TEXT:", "Child-SP", "ChildEBP", "# Child-SP", "# ChildEBP",
                                        "FramePtr ReturnAd", "FAULTING_IP:", NULL};
  for (const char *const *h = headers; *h; h++)
    if (kb_fmt_starts(s, n, *h)) return true;
  return false;
}

/* "Probably caused by : NETIO.SYS ( NETIO!StreamDataPermitEndOfStream+a )": the one
 * frame !analyze names when nothing more was pasted; with the BugCheck line before it,
 * that is a crash report of its own. */
static bool probably_caused_by(const char *s, size_t n, kb_frame *f) {
  if (!kb_fmt_starts(s, n, "Probably caused by")) return false;
  const char *open = memchr(s, '(', n), *end = s + n;
  if (!open) return false;
  const char *t = open + 1;
  while (t < end && *t == ' ') t++;
  const char *te = t;
  while (te < end && *te != ' ' && *te != ')') te++;
  if (!memchr(t, '!', (size_t)(te - t))) return false;
  if (!call_site(t, te, 0, f) || !f->function) return false;
  f->flags |= KB_FRAME_LONE;
  return true;
}

static kb_line_kind windbg_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  while (n && *s == ' ') s++, n--;
  if (!n) return KB_LINE_NONE;
  if (is_header(s, n)) {
    /* a STACK_TEXT block is often pasted without its frames' line breaks: the driver
     * splits it (windbg_split), so the rest of such a line is never seen here */
    return KB_LINE_HEADER;
  }
  if (kb_fmt_starts(s, n, "State Dump for Thread Id")) return cur ? KB_LINE_END : KB_LINE_NONE;
  if (is_analyze_key_line(s, n)) return analyze_reason(s, n, r);
  kb_line_kind k = windbg_reason(s, n, r);
  if (k != KB_LINE_NONE) return k;
  k = continuation(s, n, cur);
  if (k != KB_LINE_NONE) return k;
  if (probably_caused_by(s, n, f)) return KB_LINE_FRAME;
  k = frame_line(s, n, cur, f);
  if (k == KB_LINE_NONE) kb_frame_release(f);
  return k;
}

/* ---- frames joined on one line ---- */

/* Does a frame start at token t (followed by u, v)? Two address columns, a frame number
 * and two addresses, "STACK_TEXT:", or in a bare list the next `module!function`. */
static bool frame_starts(const tok *t, const tok *u, const tok *v, bool bare_list) {
  if (tok_is(t, "STACK_TEXT:")) return true;
  if (is_address(t) && u->n && is_address(u)) return true;
  if (is_frame_number(t) && u->n && v->n && is_address(u) && is_address(v)) return true;
  if (bare_list && memchr(t->s, '!', t->n)) return call_site(t->s, t->s + t->n, 0, NULL) != NULL;
  return false;
}

/* Past the first call site (or a STACK_TEXT: header), the offset of the next frame's
 * start; 0 when there is none. Scans up to that start only. */
static size_t windbg_split(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  bool passed = false, first = true, bare_list = false;
  int columns = 0;
  tok t, u = {end, 0}, v = {end, 0};
  if (!next_tok(&p, end, &t)) return 0;
  const char *q = p;
  next_tok(&q, end, &u);
  const char *w = q;
  next_tok(&w, end, &v);
  for (;;) {
    if (passed && frame_starts(&t, &u, &v, bare_list)) return (size_t)(t.s - s);
    const char *hdr = t.n > 11 && memchr(t.s, ':', t.n) ? memmem(t.s, t.n, "STACK_TEXT:", 11) : NULL;
    if (hdr && hdr > s) return (size_t)(hdr - s); /* "...looks like this:STACK_TEXT: 9444f6b4 ..." */
    if (tok_is(&t, "STACK_TEXT:")) {
      passed = true;
    } else if (!passed) {
      if (call_site(t.s, t.s + t.n, columns, NULL)) {
        passed = true;
        bare_list = first && memchr(t.s, '!', t.n) != NULL;
      } else if (kb_fmt_is_hex(t.s, t.n)) {
        columns++;
      } else if (!tok_is(&t, ":")) {
        columns = 0; /* prose: a frame may still follow on this line */
      }
    }
    first = false;
    if (!u.n) return 0;
    t = u, u = v;
    v.s = end, v.n = 0;
    next_tok(&w, end, &v);
  }
}

const kb_format kb_format_windbg = {
    .name = "windbg",
    .platform = "windows",
    .outermost_first = false,
    .reasons_follow = true,
    .min_frames_without_header = 2,
    .classify = windbg_classify,
    .split = windbg_split,
};
