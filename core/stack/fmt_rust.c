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

/* "   3: sym" or "  12:     0x55d1c2a3b4c5 - sym" */
static bool rust_frame(kb_span s, bool open, kb_frame *f) {
  s = kb_span_trim(s);
  size_t colon = kb_span_chr(s, ':');
  if (colon == KB_NPOS || colon == 0 || colon > 5 || !kb_span_is_uint(kb_span_head(s, colon))) return false;
  kb_span sym = kb_span_trim(kb_span_tail(s, colon + 1));
  if (sym.n == 0 || (colon + 1 < s.n && s.p[colon + 1] != ' ')) return false;
  kb_span addr = {0};
  kb_span rest = sym;
  kb_span first = kb_span_token(&rest);
  if (kb_span_is_hexaddr(first) && kb_span_eat(&rest, "- ")) {
    addr = first;
    sym = kb_span_trim(rest);
  } else if (kb_span_is_hexaddr(first) && rest.n == 0) {
    addr = first;
    sym = rest;
  }
  if (!open && kb_span_find(sym, "::") == KB_NPOS) return false;
  if (!open && !addr.n && kb_span_chr(sym, ' ') != KB_NPOS && kb_span_chr(sym, '<') == KB_NPOS) return false;
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
  /* 1.73+ prints the panic message on the line after "panicked at": read it into the reason */
  if (cur->nframes == 0 && cur->reason.kind && !cur->reason.message && t.n && !kb_span_eq(t, "stack backtrace:")) {
    kb_reason_set(&cur->reason.message, t.p, t.n);
    return true;
  }
  return false;
}

static kb_line_kind rust_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  if (kb_span_eq(kb_span_trim(line), "stack backtrace:")) return KB_LINE_HEADER;
  if (rust_panic(line, r)) return KB_LINE_HEADER;
  if (rust_frame(line, cur != NULL, f)) return KB_LINE_FRAME;
  if (cur && rust_cont(line, cur)) return KB_LINE_CONT;
  return KB_LINE_NONE;
}

const kb_format kb_format_rust = {
    .name = "rust",
    .platform = "rust",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 3,
    .classify = rust_classify,
    .split = NULL,
};
