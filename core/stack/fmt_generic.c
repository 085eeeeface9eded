/* fmt_generic.c - the last resort of the stack parser's driver (stack.c), through
 * kb_format_generic: frames of tools no other format knows, when at least three of them
 * stand together (min_frames_without_header), so that prose never becomes a stack.
 *
 * A line is a frame when all of it is, after an optional frame number ("#3", "# 3", "3", "3:",
 * "3.", "[3]", "3/24:") and an optional address column ("0x4005d4", "00007f6088264d96 in"), one of:
 *   my_func+0x1f[/0x40]                 symbol and offset (perf, kernel-like, many loggers)
 *   mydriver!DoWork[+0x1f]              module!symbol (where WinDbg did not take the line)
 *   ./app(handler+0x1d) [0x4005d4]      glibc backtrace_symbols(); also "./app(+0x8b4) [0x..]"
 *   handler (src/app.c:120)             symbol (file:line)
 *   handler at src/app.c:120            symbol at file:line
 *   src/app.c:120 in handler            file:line in symbol
 *   at com.acme.Worker.run              "at" and one qualified symbol
 *   0x00401136 handler                  address and one symbol
 *   00005566120dba1a  in "hello"        address and a quoted module (libmemleak)
 * A symbol is one token of identifier characters with a letter in it; anything with two
 * loose words is not a frame. While a generic stack is open it would see every line first,
 * so it lets go of lines another format knows. Fields as the shape gives them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

extern const kb_format kb_format_generic;

static bool is_sym_char(char c) {
  return isalnum((unsigned char)c) || strchr("_$.:<>~?@[]*&-", c) != NULL || (unsigned char)c >= 0x80;
}

/* One symbol token, optionally with a "(...)" parameter list glued to it: "ns::f(int)". */
static bool generic_symbol(kb_span s) {
  if (s.n == 0 || kb_span_chr(s, ' ') != KB_NPOS) return false;
  size_t open = kb_span_group_open(s, '(', ')');
  if (open != KB_NPOS && open > 0) s = kb_span_head(s, open);
  bool letter = false;
  for (size_t i = 0; i < s.n; i++) {
    if (!is_sym_char(s.p[i])) return false;
    letter |= isalpha((unsigned char)s.p[i]) != 0;
  }
  return letter && (isalpha((unsigned char)s.p[0]) || s.p[0] == '_' || s.p[0] == '?' || s.p[0] == '~');
}

static bool is_address(kb_span t) { return kb_span_is_hexaddr(t) || kb_span_is_hexdigits(t, 8); }

/* A frame number: "#3", "# 3", "3", "3:", "3.", "[3]", "3/24:" (glibc's backtrace() users). */
static bool generic_drop_number(kb_span *s) {
  kb_span t = *s;
  kb_span tok = kb_span_token(&t);
  if (kb_span_eq(tok, "#")) tok = kb_span_token(&t);
  else if (!kb_span_eat(&tok, "#")) kb_span_eat(&tok, "[");
  if (!kb_span_eat_end(&tok, ":") && !kb_span_eat_end(&tok, ".")) kb_span_eat_end(&tok, "]");
  size_t slash = kb_span_chr(tok, '/');
  if (slash != KB_NPOS && kb_span_is_uint(kb_span_tail(tok, slash + 1))) tok = kb_span_head(tok, slash);
  if (!kb_span_is_uint(tok) || tok.n > 4 || t.n == 0) return false;
  *s = t;
  return true;
}

/* The frame number and an address column ("0x4005d4 ", "00007f6088264d96 in "): dropped. */
static kb_span generic_drop_columns(kb_span s, kb_span *addr) {
  generic_drop_number(&s);
  kb_span t = s;
  kb_span tok = kb_span_token(&t);
  if (is_address(tok) && t.n) {
    *addr = tok;
    kb_span_eat(&t, "in ");
    s = t;
  }
  return kb_span_trim(s);
}

/* "sym+0x1f[/0x40]", "sym + 0x1f", "mod!sym[+0x1f]": fills function/module/offset. */
static bool generic_offset_frame(kb_span s, kb_frame *f) {
  kb_span off = {0};
  size_t plus = kb_span_rfind(s, "+0x");
  if (plus == KB_NPOS) plus = kb_span_rfind(s, " + 0x");
  if (plus != KB_NPOS) {
    off = kb_span_trim(kb_span_tail(s, plus + 1));
    kb_span_eat(&off, "+ ");
    size_t slash = kb_span_chr(off, '/');
    kb_span first = slash == KB_NPOS ? off : kb_span_head(off, slash);
    if (!kb_span_is_hexaddr(first) || (slash != KB_NPOS && !kb_span_is_hexaddr(kb_span_tail(off, slash + 1))))
      return false;
    s = kb_span_rtrim(kb_span_head(s, plus));
  }
  size_t bang = kb_span_chr(s, '!');
  kb_span mod = {0};
  if (bang != KB_NPOS) {
    mod = kb_span_head(s, bang);
    s = kb_span_tail(s, bang + 1);
    if (!generic_symbol(mod)) return false;
  }
  if ((!off.n && !mod.n) || !generic_symbol(s)) return false;
  f->module = mod.n ? kb_span_dup(mod) : NULL;
  f->function = kb_span_dup(s);
  f->offset = off.n ? kb_span_dup(off) : NULL;
  return true;
}

/* glibc: "./app(handler+0x1d) [0x4005d4]", "/lib/libc.so.6(+0x21b96) [0x7f..]". */
static bool generic_glibc_frame(kb_span s, kb_frame *f) {
  if (!kb_span_ends(s, "]")) return false;
  size_t lb = kb_span_rchr(s, '[');
  if (lb == KB_NPOS || !kb_span_is_hexaddr(kb_span_head(kb_span_tail(s, lb + 1), s.n - lb - 2))) return false;
  kb_span addr = kb_span_head(kb_span_tail(s, lb + 1), s.n - lb - 2);
  kb_span call = kb_span_rtrim(kb_span_head(s, lb));
  size_t open = kb_span_group_open(call, '(', ')');
  if (open == KB_NPOS || open == 0) return false;
  kb_span path = kb_span_head(call, open), inner = kb_span_head(kb_span_tail(call, open + 1), call.n - open - 2);
  for (size_t i = 0; i < path.n; i++)
    if (!(isalnum((unsigned char)path.p[i]) || strchr("./\\_-+~", path.p[i]))) return false;
  kb_frame tmp = {0};
  if (inner.n && !kb_span_starts(inner, "+") && !generic_offset_frame(inner, &tmp)) {
    kb_frame_release(&tmp);
    return false;
  }
  if (kb_span_starts(inner, "+")) tmp.offset = kb_span_dup(kb_span_tail(inner, 1));
  /* "lib.so(mod!sym+0x46)": the library the loader names is the module */
  free(tmp.module);
  tmp.module = kb_span_basename(path);
  tmp.address = kb_span_dup(addr);
  *f = tmp;
  return true;
}

/* "sym (file:line)", "sym at file:line", "file:line in sym". */
static bool generic_source_frame(kb_span s, kb_frame *f) {
  kb_span sym, loc;
  size_t at = kb_span_find(s, " at "), in = kb_span_find(s, " in ");
  size_t open = kb_span_group_open(s, '(', ')');
  if (open != KB_NPOS && open > 0 && s.p[open - 1] == ' ') {
    sym = kb_span_head(s, open - 1);
    loc = kb_span_head(kb_span_tail(s, open + 1), s.n - open - 2);
  } else if (at != KB_NPOS) {
    sym = kb_span_head(s, at);
    loc = kb_span_tail(s, at + 4);
  } else if (in != KB_NPOS) {
    loc = kb_span_head(s, in);
    sym = kb_span_tail(s, in + 4);
  } else {
    return false;
  }
  kb_frame tmp = {0};
  bool unknown = kb_span_eq(sym, "??");
  if (!(unknown || generic_symbol(sym)) || kb_span_chr(kb_span_trim(loc), ' ') != KB_NPOS ||
      !kb_frame_set_file_line(&tmp, loc)) {
    kb_frame_release(&tmp);
    return false;
  }
  *f = tmp;
  if (!unknown) f->function = kb_span_dup(sym);
  return true;
}

/* "at com.acme.Worker.run": a qualified symbol (with '.', "::" or '_'), nothing else. */
static bool generic_at_frame(kb_span s, kb_frame *f) {
  if (!kb_span_eat(&s, "at ")) return false;
  s = kb_span_trim(s);
  if (!generic_symbol(s) || kb_span_ends(s, ".") || s.n < 4) return false;
  if (kb_span_chr(s, '.') == KB_NPOS && kb_span_find(s, "::") == KB_NPOS && kb_span_chr(s, '_') == KB_NPOS) return false;
  f->function = kb_span_dup(s);
  return true;
}

static bool generic_frame(kb_span line, kb_frame *f) {
  kb_span addr = {0};
  kb_span s = generic_drop_columns(kb_span_trim(line), &addr);
  if (s.n == 0) return false;
  bool ok = generic_glibc_frame(s, f) || generic_offset_frame(s, f) || generic_source_frame(s, f) ||
            generic_at_frame(s, f);
  if (!ok && addr.n && generic_symbol(s)) { /* "0x00401136 handler" */
    f->function = kb_span_dup(s);
    ok = true;
  }
  if (!ok && addr.n && s.n > 2 && s.p[0] == '"' && s.p[s.n - 1] == '"' && kb_span_chr(s, ' ') == KB_NPOS) {
    f->module = kb_span_dup(kb_span_head(kb_span_tail(s, 1), s.n - 2)); /* libmemleak: in "hello" */
    ok = f->module != NULL;
  }
  if (ok && addr.n && !f->address) f->address = kb_span_dup(addr);
  return ok;
}

/* Another format's line, which that format must get even while a generic stack is open. */
static bool generic_other_format(const char *s, size_t n) {
  for (size_t i = 0; kb_formats[i]; i++) {
    const kb_format *fmt = kb_formats[i];
    if (fmt == &kb_format_generic) continue;
    kb_frame f = {0};
    kb_reason r = {0};
    kb_line_kind k = fmt->classify(s, n, NULL, &f, &r);
    kb_frame_release(&f);
    kb_reason_release(&r);
    if (k != KB_LINE_NONE) return true;
  }
  return false;
}

/* An exception named anywhere in a line no format took ("[ERROR] ... Fatal error
 * compiling: java.lang.IllegalAccessError: class ..."): a qualified type ending in
 * Exception or Error, followed by ':'. It gives no stack, but a reason whose words the
 * matcher can look up when nothing else is pasted. */
static bool exception_mention(const char *s, size_t n, kb_reason *r) {
  for (size_t i = 0; i + 10 < n; i++) {
    if (!(i == 0 || s[i - 1] == ' ' || s[i - 1] == '(') || !islower((unsigned char)s[i])) continue;
    size_t j = i, dots = 0, last = i;
    while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '.' || s[j] == '_' || s[j] == '$')) {
      if (s[j] == '.') dots++, last = j + 1;
      j++;
    }
    if (j >= n || s[j] != ':' || dots < 1 || !isupper((unsigned char)s[last])) continue;
    size_t tl = j - last;
    bool named = (tl > 9 && memcmp(s + j - 9, "Exception", 9) == 0) || (tl > 5 && memcmp(s + j - 5, "Error", 5) == 0);
    if (!named) continue;
    kb_reason_set(&r->kind, "exception", 9);
    kb_reason_set(&r->name, s + i, j - i);
    kb_reason_set(&r->message, s + j + 1, n - j - 1);
    return true;
  }
  return false;
}

static kb_line_kind generic_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  kb_frame tmp = {0};
  if (!generic_frame(line, &tmp)) return !cur && exception_mention(s, n, r) ? KB_LINE_REASON : KB_LINE_NONE;
  if (cur && generic_other_format(s, n)) {
    kb_frame_release(&tmp);
    return KB_LINE_NONE;
  }
  *f = tmp;
  return KB_LINE_FRAME;
}

const kb_format kb_format_generic = {
    .name = "generic",
    .platform = "native",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 3,
    .classify = generic_classify,
    .split = NULL,
};
