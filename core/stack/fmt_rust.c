/* fmt_rust.c - Rust panics and their backtraces (RUST_BACKTRACE=1/full) for the stack
 * parser's driver (stack.c), through kb_format_rust.
 *
 *   thread 'main' panicked at 'explicit panic', src/main.rs:2:5    HEADER (reason; before 1.73)
 *   thread 'main' panicked at src/main.rs:2:5:                      HEADER (1.73+) ...
 *   called `Option::unwrap()` on a `None` value                      CONT: ... the message
 *   stack backtrace:                                                HEADER
 *      0: std::panicking::begin_panic                              FRAME
 *                at /rustc/9eb3afe9e/library/std/src/panicking.rs:616:12     CONT: its file/line
 *     12:     0x55d1c2a3b4c5 - app::main::h5d1ab4e5f6b6c7d8         FRAME (full format)
 *   note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.  CONT
 *
 * The panic line opens a stack so that the message printed on the next line by newer Rust can
 * be read into the reason; "stack backtrace:" then opens the stack that gets the frames and
 * the driver carries the reason over. Fields: function as printed (with its "::h<hash>" when
 * the full format prints one), address, file and line. A frame line outside a backtrace is
 * taken only when its symbol has a "::" path. */
#include <ctype.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

/* A symbol as Rust prints it: a path ("std::rt::lang_start::{{closure}}::h93e5a390"), a
 * qualified impl ("<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once")
 * or a bare name ("rust_begin_unwind"). Spaces only inside <...>. */
static bool rust_symbol(kb_span s) {
  if (s.n == 0 || !(isalpha((unsigned char)s.p[0]) || s.p[0] == '_' || s.p[0] == '<')) return false;
  int depth = 0;
  for (size_t i = 0; i < s.n; i++) {
    char c = s.p[i];
    if (c == '<') depth++;
    else if (c == '>' && depth > 0) depth--;
    else if (c == ' ' && depth == 0) return false;
    else if (c == '"' || c == '\'' || c == '`' || (c == ',' && depth == 0)) return false;
  }
  return true;
}

/* "   3: sym", "  12:     0x55d1c2a3b4c5 - sym". The driver takes "3: " off as a pastebin
 * line number, so the number is optional; without it, a symbol alone is a frame only inside
 * a backtrace (`open`), and outside one only "0xADDR - path::sym" is. */
static bool rust_frame(kb_span s, bool open, kb_frame *f) {
  s = kb_span_trim(s);
  bool numbered = false;
  size_t colon = kb_span_chr(s, ':');
  if (colon != KB_NPOS && colon > 0 && colon <= 5 && kb_span_is_uint(kb_span_head(s, colon)) &&
      (colon + 1 == s.n || s.p[colon + 1] == ' ')) {
    s = kb_span_trim(kb_span_tail(s, colon + 1));
    numbered = true;
  }
  kb_span addr = {0}, sym = s, rest = s;
  kb_span first = kb_span_token(&rest);
  if (kb_span_is_hexaddr(first) && (kb_span_eat(&rest, "- ") || rest.n == 0)) {
    addr = first;
    sym = kb_span_trim(rest);
  }
  bool path = kb_span_find(sym, "::") != KB_NPOS;
  if (!(kb_span_eq(sym, "<unknown>") || rust_symbol(sym)) || (sym.n == 0 && !addr.n)) return false;
  if (!open && !(path && (numbered || addr.n))) return false;
  if (addr.n) f->address = kb_span_dup(addr);
  if (sym.n && !kb_span_eq(sym, "<unknown>")) f->function = kb_span_dup(sym);
  return f->function || f->address;
}

/* thread 'main' panicked at 'msg', src/main.rs:2:5  |  thread 'main' panicked at src/main.rs:2:5: */
static bool rust_panic(kb_span s, kb_reason *r) {
  s = kb_span_trim(s);
  if (!kb_span_eat(&s, "thread '")) return false;
  size_t q = kb_span_find(s, "' panicked at ");
  size_t ov = kb_span_find(s, "' has overflowed its stack");
  kb_reason_set(&r->kind, "panic", 5);
  if (ov != KB_NPOS) {
    kb_reason_set(&r->message, "stack overflow", 14);
    return true;
  }
  if (q == KB_NPOS) {
    kb_reason_release(r);
    return false;
  }
  kb_span rest = kb_span_tail(s, q + 14);
  if (kb_span_starts(rest, "'")) { /* old: the message quoted, then the location */
    size_t end = kb_span_rfind(rest, "', ");
    if (end != KB_NPOS && end > 0) kb_reason_set(&r->message, rest.p + 1, end - 1);
  }
  return true;
}

/* Inside a backtrace: "at file:line:col" amends the frame above; notes are kept with the stack. */
static bool rust_cont(kb_span s, kb_stack *cur) {
  kb_span t = kb_span_trim(s);
  if (kb_span_starts(t, "note: ") || kb_span_starts(t, "fatal runtime error: ")) return true;
  if (kb_span_eat(&t, "at ")) {
    kb_frame *last = cur->nframes ? &cur->frames[cur->nframes - 1] : NULL;
    if (last && !last->file) kb_frame_set_file_line(last, t);
    return last != NULL;
  }
  return false;
}

/* 1.73+ prints the panic message on the line after "panicked at": read it into the reason
 * of the stack that line opened (no frames yet, a reason without a message). */
static bool rust_message(kb_span s, kb_stack *cur) {
  kb_span t = kb_span_trim(s);
  if (cur->nframes || !cur->reason.kind || cur->reason.message || t.n == 0) return false;
  if (kb_span_starts(t, "note: ") || kb_span_starts(t, "0x") || kb_span_eq(t, "stack backtrace:")) return false;
  kb_reason_set(&cur->reason.message, t.p, t.n);
  return true;
}

static kb_line_kind rust_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  if (kb_span_eq(kb_span_trim(line), "stack backtrace:")) return KB_LINE_HEADER;
  if (rust_panic(line, r)) return KB_LINE_HEADER;
  if (cur && rust_message(line, cur)) return KB_LINE_CONT;
  if (rust_frame(line, cur != NULL, f)) return KB_LINE_FRAME;
  if (cur && rust_cont(line, cur)) return KB_LINE_CONT;
  return KB_LINE_NONE;
}

/* Frames pasted onto the line of the one above ("...panicking.rs:492:40  59:     0x560b2ae5c5fe
 * - std::panicking::try"): the offset of "59:" when two spaces, a number, ':' and an
 * "0x... - " address column follow. */
static size_t rust_split(const char *s, size_t n) {
  for (const char *c = memchr(s, ':', n); c; c = memchr(c + 1, ':', n - (size_t)(c + 1 - s))) {
    size_t i = (size_t)(c - s), d = i;
    while (d > 0 && i - d < 4 && isdigit((unsigned char)s[d - 1])) d--;
    if (d == i || d < 3 || s[d - 1] != ' ' || s[d - 2] != ' ') continue;
    size_t j = i + 1;
    while (j < n && s[j] == ' ') j++;
    if (j == i + 1 || j + 3 >= n || s[j] != '0' || s[j + 1] != 'x') continue;
    j += 2;
    size_t h = j;
    while (j < n && isxdigit((unsigned char)s[j])) j++;
    if (j > h && j + 3 <= n && memcmp(s + j, " - ", 3) == 0) return d;
  }
  return 0;
}

const kb_format kb_format_rust = {
    .name = "rust",
    .platform = "rust",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 3,
    .classify = rust_classify,
    .split = rust_split,
};
