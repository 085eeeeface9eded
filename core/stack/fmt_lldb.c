/* fmt_lldb.c - lldb backtraces ("bt", "thread backtrace all") for the stack parser's driver
 * (stack.c), through kb_format_lldb.
 *
 *   * thread #1, queue = 'com.apple.main-thread', stop reason = EXC_BAD_ACCESS (code=1, address=0x0)
 *     * frame #0: 0x0000000100003f50 a.out`main at main.c:5:3              HEADER, FRAME
 *       frame #1: 0x00007fff6c7a3cc9 libdyld.dylib`start + 1              FRAME
 *       frame #4: 0x00007ffff7a42428 libc.so.6`__GI_raise(sig=6) at raise.c:51:1 [opt]
 *
 * Each "thread #N" line starts a stack; its "stop reason" is the reason ("EXC_BAD_ACCESS (...)"
 * -> name EXC_BAD_ACCESS, "signal SIGABRT" -> code SIGABRT; breakpoints and steps are not
 * crashes and give none). Fields: module (before the backtick), function, offset (" + 1"),
 * file and line (" at f.c:5:3"), address. Paste damage seen in bug trackers is tolerated:
 * "\#1", "#&#8203;1" and a '+' marker where lldb printed '*'. */
#include <ctype.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

/* The selected-thread/frame marker. */
static kb_span lldb_drop_marker(kb_span s) {
  s = kb_span_trim(s);
  if (kb_span_eat(&s, "* ") || kb_span_eat(&s, "+ ")) s = kb_span_ltrim(s);
  return s;
}

/* "func(args) + 12 at file.c:5:3 [opt]" -> function, offset, file, line. */
static void lldb_symbol(kb_span sym, kb_frame *f) {
  sym = kb_span_trim(sym);
  for (int tags = 0; tags < 4 && kb_span_ends(sym, "]"); tags++) { /* [opt], [inlined], [artificial] */
    size_t open = kb_span_rchr(sym, '[');
    if (open == KB_NPOS || open == 0 || sym.p[open - 1] != ' ') break;
    sym = kb_span_rtrim(kb_span_head(sym, open));
  }
  size_t at = kb_span_rfind(sym, " at ");
  if (at != KB_NPOS && kb_frame_set_file_line(f, kb_span_tail(sym, at + 4))) sym = kb_span_head(sym, at);
  size_t plus = kb_span_rfind(sym, " + ");
  if (plus != KB_NPOS && kb_span_is_uint(kb_span_trim(kb_span_tail(sym, plus + 3)))) {
    f->offset = kb_span_dup(kb_span_tail(sym, plus + 3));
    sym = kb_span_head(sym, plus);
  }
  f->function = kb_span_dup(sym);
}

static bool lldb_frame(kb_span s, kb_frame *f) {
  s = lldb_drop_marker(s);
  if (!kb_span_eat(&s, "frame ") || !kb_span_eat_hash(&s)) return false;
  size_t colon = kb_span_chr(s, ':');
  if (colon == KB_NPOS || !kb_span_is_uint(kb_span_head(s, colon))) return false;
  s = kb_span_tail(s, colon + 1);
  kb_span addr = kb_span_token(&s);
  if (!kb_span_is_hexaddr(addr)) return false;
  f->address = kb_span_dup(addr);
  if (s.n == 0) return true; /* no symbol at all */
  size_t tick = kb_span_chr(s, '`');
  if (tick != KB_NPOS && kb_span_chr(kb_span_head(s, tick), ' ') == KB_NPOS) {
    f->module = kb_span_dup(kb_span_head(s, tick));
    lldb_symbol(kb_span_tail(s, tick + 1), f);
    return true;
  }
  /* The backtick lost on the way (Markdown): "app main_uF9bc + 239 at /x/t01.nim:6". */
  kb_span rest = s;
  kb_span first = kb_span_token(&rest);
  if (rest.n && !kb_span_starts(rest, "+ ") && !kb_span_starts(rest, "at ") && kb_span_chr(first, '(') == KB_NPOS) {
    f->module = kb_span_dup(first);
    s = rest;
  }
  lldb_symbol(s, f);
  return true;
}

/* "stop reason = EXC_BAD_ACCESS (code=1, address=0x0)", "stop reason = signal SIGABRT". */
static void lldb_stop_reason(kb_span s, kb_reason *r) {
  size_t at = kb_span_find(s, "stop reason = ");
  if (at == KB_NPOS) return;
  kb_span why = kb_span_trim(kb_span_tail(s, at + 14));
  size_t comma = kb_span_find(why, ", ");
  if (comma != KB_NPOS && kb_span_chr(kb_span_head(why, comma), '(') == KB_NPOS) why = kb_span_head(why, comma);
  if (kb_span_eat(&why, "signal ")) {
    kb_span sig = kb_span_token(&why);
    kb_reason_set(&r->kind, "signal", 6);
    kb_reason_set(&r->code, sig.p, sig.n);
  } else if (kb_span_starts(why, "EXC_")) {
    kb_span rest = why;
    kb_span name = kb_span_token(&rest);
    kb_reason_set(&r->kind, "signal", 6);
    kb_reason_set(&r->name, name.p, name.n);
    if (rest.n) kb_reason_set(&r->message, rest.p, rest.n);
  } else if (!kb_span_starts(why, "breakpoint") && !kb_span_starts(why, "step") && why.n) {
    kb_reason_set(&r->kind, "signal", 6);
    kb_reason_set(&r->message, why.p, why.n);
  }
}

static bool lldb_header(kb_span s, kb_reason *r) {
  kb_span t = lldb_drop_marker(s);
  if (kb_span_eq(t, "(lldb) bt") || kb_span_eq(t, "(lldb) bt all") || kb_span_eq(t, "(lldb) thread backtrace") ||
      kb_span_eq(t, "(lldb) thread backtrace all"))
    return true;
  if (!kb_span_eat(&t, "thread ") || !kb_span_eat_hash(&t)) return false;
  size_t i = 0;
  while (i < t.n && isdigit((unsigned char)t.p[i])) i++;
  if (i == 0 || (i < t.n && t.p[i] != ',' && t.p[i] != ':')) return false;
  lldb_stop_reason(t, r);
  return true;
}

static kb_line_kind lldb_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  if (lldb_frame(line, f)) return KB_LINE_FRAME;
  if (lldb_header(line, r)) return KB_LINE_HEADER;
  return KB_LINE_NONE;
}

const kb_format kb_format_lldb = {
    .name = "lldb",
    .platform = "native",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 2,
    .classify = lldb_classify,
    .split = NULL,
};
