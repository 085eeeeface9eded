/* fmt_macos.c - macOS and iOS crash reports (the text .crash/.ips rendering) for the stack
 * parser's driver (stack.c), through kb_format_macos.
 *
 *   Exception Type:  EXC_BAD_ACCESS (SIGSEGV)                       REASON (name, code)
 *   Exception Codes: KERN_INVALID_ADDRESS at 0x0000000000000000     REASON (message)
 *   Thread 0 Crashed::  Dispatch queue: com.apple.main-thread       HEADER
 *   0   libsystem_kernel.dylib        0x00007fff6c8b833a __pthread_kill + 10       FRAME
 *   1   MyApp                         0x0000000100002051 0x100000000 + 8273        FRAME (unsymbolized)
 *   2   libsystem_kernel.dylib        0x00000001db25c788 0x1db25b000 + 6024 (mach_msg2_trap + 8)
 *   3   MyApp                         0x00000001000043a0 -[View load] + 100 (View.m:25)
 *   Thread 1:: Dispatch queue: com.apple.libdispatch-manager        HEADER: another stack
 *
 * Every thread is its own stack, in the report's order; "Last Exception Backtrace:" too.
 * A frame is: number, module (may contain spaces: "My App"), 0x address, then the symbol
 * with " + offset" (decimal), or "0xbase + offset" when unsymbolized. Fields: module,
 * function (NULL when unsymbolized), offset, address, file and line when printed.
 * Kotlin/Native prints the same columns after "at " and is read too. */
#include <ctype.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

/* "SYMBOL + 10", "0x100000000 + 8273", "0x1db25b000 + 6024 (mach_msg2_trap + 8)", "X + 1 (F.swift:3)". */
static void macos_symbol(kb_span s, kb_frame *f) {
  s = kb_span_trim(s);
  size_t open = kb_span_group_open(s, '(', ')');
  if (open != KB_NPOS && open > 0 && s.p[open - 1] == ' ') {
    kb_span inner = kb_span_head(kb_span_tail(s, open + 1), s.n - open - 2);
    if (kb_frame_set_file_line(f, inner) || kb_span_find(inner, " + ") != KB_NPOS) {
      kb_span outer = kb_span_rtrim(kb_span_head(s, open));
      if (!f->file) s = inner; /* Apple's own symbolication in parentheses */
      else s = outer;
    }
  }
  size_t plus = kb_span_rfind(s, " + ");
  kb_span sym = s;
  if (plus != KB_NPOS) {
    kb_span off = kb_span_trim(kb_span_tail(s, plus + 3));
    if (kb_span_is_uint(off) || kb_span_is_hexaddr(off)) {
      f->offset = kb_span_dup(off);
      sym = kb_span_rtrim(kb_span_head(s, plus));
    }
  }
  if (!kb_span_is_hexaddr(sym) && !kb_span_eq(sym, "<redacted>") && !kb_span_eq(sym, "???"))
    f->function = kb_span_dup(sym);
}

static bool macos_frame(kb_span s, kb_frame *f) {
  s = kb_span_trim(s);
  kb_span_eat(&s, "at "); /* Kotlin/Native */
  kb_span num = kb_span_token(&s);
  if (!kb_span_is_uint(num) || num.n > 4) return false;
  /* the module runs up to the first " 0x..." address column */
  kb_span rest = s;
  kb_span module = {s.p, 0};
  for (int cols = 0; rest.n && cols < 8; cols++) {
    kb_span before = rest;
    kb_span tok = kb_span_token(&rest);
    if (kb_span_is_hexaddr(tok) && cols > 0) {
      module = kb_span_trim(kb_span_head(s, (size_t)(before.p - s.p)));
      f->address = kb_span_dup(tok);
      break;
    }
  }
  if (!f->address) return false;
  if (rest.n == 0 || module.n == 0) {
    kb_frame_release(f);
    return false;
  }
  f->module = kb_span_dup(module);
  macos_symbol(rest, f);
  return true;
}

static bool macos_header(kb_span s) {
  s = kb_span_trim(s);
  if (kb_span_eq(s, "Last Exception Backtrace:")) return true;
  if (!kb_span_eat(&s, "Thread ")) return false;
  size_t i = 0;
  while (i < s.n && isdigit((unsigned char)s.p[i])) i++;
  if (i == 0) return false;
  /* "Thread 3:", "Thread 0 Crashed:", "Thread 1:: Dispatch queue: x", "Thread 0 Crashed:: ..." */
  s = kb_span_tail(s, i);
  kb_span_eat(&s, " Crashed");
  return kb_span_eq(s, ":") || kb_span_starts(s, "::");
}

static bool macos_reason(kb_span s, kb_reason *r) {
  s = kb_span_trim(s);
  if (kb_span_eat(&s, "Exception Type:")) {
    s = kb_span_trim(s);
    kb_span name = kb_span_token(&s);
    if (name.n == 0) return false;
    kb_reason_set(&r->kind, "signal", 6);
    kb_reason_set(&r->name, name.p, name.n);
    if (kb_span_starts(s, "(") && kb_span_ends(s, ")")) kb_reason_set(&r->code, s.p + 1, s.n - 2);
    return true;
  }
  if (kb_span_eat(&s, "Exception Codes:")) {
    kb_reason_set(&r->message, s.p, s.n);
    return r->message != NULL && *r->message;
  }
  /* a kernel panic: "panic(cpu 1 caller 0xffffff7fadbeaa0e): VERIFY3(...) failed (...)" */
  if (kb_span_eat(&s, "panic(cpu ")) {
    const char *close = memchr(s.p, ')', s.n);
    if (!close || close + 2 > s.p + s.n || close[1] != ':') return false;
    kb_reason_set(&r->kind, "panic", 5);
    kb_reason_set(&r->code, "kernel panic", 12);
    kb_reason_set(&r->message, close + 2, (size_t)(s.p + s.n - close - 2));
    return true;
  }
  return false;
}

static kb_line_kind macos_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  if (macos_frame(line, f)) return KB_LINE_FRAME;
  if (macos_header(line)) return KB_LINE_HEADER;
  if (macos_reason(line, r)) return KB_LINE_REASON;
  return KB_LINE_NONE;
}

const kb_format kb_format_macos = {
    .name = "macos",
    .platform = "native",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 3,
    .classify = macos_classify,
    .split = NULL,
};
