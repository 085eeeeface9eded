/* fmt_asan.c - sanitizer reports (AddressSanitizer, LeakSanitizer, ThreadSanitizer,
 * MemorySanitizer, UndefinedBehaviorSanitizer) for the stack parser's driver (stack.c),
 * through kb_format_asan.
 *
 *   ==1234==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 ...  HEADER
 *   READ of size 4 at 0x602000000010 thread T0                       HEADER (the access)
 *       #0 0x4f5e2a in foo /src/x.c:12:3                             FRAME
 *       #1 0x7f0e3c in main (/path/a.out+0x4f5e2a)                   FRAME (module+offset)
 *       #2 0x7f0e3c  (/lib/x86_64-linux-gnu/libc.so.6+0x21b96)       FRAME (no symbol)
 *   freed by thread T0 here:                                         HEADER (a separate stack)
 *   previously allocated by thread T0 here:                          HEADER (a separate stack)
 *   SUMMARY: AddressSanitizer: heap-use-after-free /src/x.c:12:3 in foo    CONT
 *   WARNING: ThreadSanitizer: data race (pid=9337)                   HEADER
 *     Write of size 4 at 0x7fe3c3075190 by thread T1:                HEADER
 *       #0 Thread1 race.c:5:10 (a.out+0x4c8f3e)                      FRAME (TSan: no address)
 *   x.c:12:5: runtime error: signed integer overflow: ...            HEADER (UBSan)
 *
 * The report's first line gives the reason: kind "sanitizer", name the sanitizer, code the
 * error ("heap-use-after-free", "SEGV", "data-race", "memory-leak"). The access stack gets it
 * (the driver carries a reason over an empty stack); the allocation and free stacks follow as
 * stacks of their own without one. A frame is "#N", then optionally "0xADDR in", the
 * function, then "file:line[:col]" and/or "(module+0xoffset)"; a location is required and gdb's
 * "... at file:line" / "from lib" is not one, which keeps gdb's "#0 0x.. in f (a=1) at x.c:3"
 * out. Fields: function, file, line, module (file name) and offset, address. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

/* "(/lib/x86_64-linux-gnu/libc.so.6+0x21b96)", "(a.out+0x4c8f3e)", "(<unknown module>)",
 * "(libclang_rt.asan_osx_dynamic.dylib:x86_64h+0x4be0b)", then maybe "(BuildId: 69389d48...)":
 * taken off the end of *rest into f->module and f->offset. */
static bool asan_take_module(kb_span *rest, kb_frame *f) {
  size_t open = kb_span_group_open(*rest, '(', ')');
  if (open != KB_NPOS && kb_span_starts(kb_span_tail(*rest, open), "(BuildId: ")) {
    *rest = kb_span_rtrim(kb_span_head(*rest, open));
    open = kb_span_group_open(*rest, '(', ')');
  }
  if (open == KB_NPOS || (open > 0 && rest->p[open - 1] != ' ')) return false;
  kb_span g = kb_span_head(kb_span_tail(*rest, open + 1), rest->n - open - 2);
  if (!kb_span_eq(g, "<unknown module>")) {
    size_t plus = kb_span_rfind(g, "+0x");
    if (plus == KB_NPOS || plus == 0 || !kb_span_is_hexaddr(kb_span_tail(g, plus + 1))) return false;
    kb_span mod = kb_span_head(g, plus);
    size_t colon = kb_span_rchr(mod, ':'); /* macOS architecture suffix; not a drive letter */
    if (colon != KB_NPOS && colon > 1) mod = kb_span_head(mod, colon);
    f->module = kb_span_basename(mod);
    f->offset = kb_span_dup(kb_span_tail(g, plus + 1));
  }
  *rest = kb_span_rtrim(kb_span_head(*rest, open));
  return true;
}

/* The source location at the end of *rest, taken off into f->file and f->line: a token
 * "file:line[:col]", a Windows path with spaces ("C:\Program Files\x\functional:874"), TSan's
 * "<null>", or - when the line is surely a sanitizer's (`sure`) - a path without a line. */
static bool asan_take_file(kb_span *rest, bool sure, kb_frame *f) {
  kb_span s = *rest;
  size_t sp = kb_span_rchr(s, ' ');
  if (sp == KB_NPOS) return false;
  kb_span tok = kb_span_tail(s, sp + 1);
  size_t cut = KB_NPOS;
  for (size_t d = sp + 1; d-- > 0 && cut == KB_NPOS;) /* " C:\" */
    if (s.p[d] == ' ' && d + 3 < s.n && isalpha((unsigned char)s.p[d + 1]) && s.p[d + 2] == ':' &&
        s.p[d + 3] == '\\' && kb_frame_set_file_line(f, kb_span_tail(s, d + 1)))
      cut = d;
  if (cut == KB_NPOS && (kb_span_eq(tok, "<null>") || kb_frame_set_file_line(f, tok))) cut = sp;
  size_t dot = kb_span_rchr(tok, '.');
  if (cut == KB_NPOS && sure && kb_span_chr(tok, '(') == KB_NPOS && kb_span_chr(tok, '<') == KB_NPOS && dot != KB_NPOS &&
      (kb_span_chr(tok, '/') != KB_NPOS || kb_span_chr(tok, '\\') != KB_NPOS || dot + 5 > tok.n)) {
    f->file = kb_span_dup(tok);
    cut = sp;
  }
  if (cut == KB_NPOS) return false;
  *rest = kb_span_rtrim(kb_span_head(s, cut));
  return true;
}

/* "#N [0xADDR] [in] [function] [file:line[:col]] [(module+0xoff)] [(BuildId: ...)]" */
static bool asan_frame(kb_span s, kb_frame *f) {
  s = kb_span_trim(s);
  if (!kb_span_eat(&s, "#")) return false;
  kb_span num = kb_span_token(&s);
  if (!kb_span_is_uint(num) || s.n == 0) return false;
  kb_frame tmp = {0};
  kb_span rest = s;
  kb_span addr = kb_span_token(&rest);
  if (kb_span_is_hexaddr(addr)) tmp.address = kb_span_dup(addr);
  else rest = s;
  bool module = asan_take_module(&rest, &tmp);
  bool in = kb_span_eat(&rest, "in ");
  rest = kb_span_trim(rest);
  bool file = (tmp.address || module) && asan_take_file(&rest, in || module, &tmp);
  /* TSan always prints the module, the others the address; a location is required; gdb's
   * "in f (args) at file:line" and "from lib" are not sanitizer locations */
  bool ok = (tmp.address || module) && (module || file) && !(tmp.address && !in && rest.n) &&
            !kb_span_ends(rest, " at") && !kb_span_ends(rest, " from");
  if (!ok) {
    kb_frame_release(&tmp);
    return false;
  }
  size_t plus = kb_span_rfind(rest, "+0x");
  if (plus != KB_NPOS && plus > 0 && kb_span_is_hexaddr(kb_span_tail(rest, plus + 1))) {
    if (!tmp.offset) tmp.offset = kb_span_dup(kb_span_tail(rest, plus + 1));
    rest = kb_span_head(rest, plus);
  }
  if (rest.n && !kb_span_eq(rest, "<null>")) tmp.function = kb_span_dup(rest);
  *f = tmp;
  return true;
}

/* "heap-use-after-free on address ..." -> "heap-use-after-free"; "detected memory leaks" ->
 * "memory-leak"; "data race (pid=1)" -> "data-race"; "attempting double-free" -> "double-free". */
static void asan_code(kb_span what, kb_reason *r) {
  kb_span rest = what;
  kb_span w = kb_span_token(&rest);
  if (kb_span_eq(w, "attempting")) w = kb_span_token(&rest);
  if (kb_span_eq(what, "detected memory leaks")) {
    kb_reason_set(&r->code, "memory-leak", 11);
    return;
  }
  if (kb_span_eq(w, "data") && kb_span_starts(rest, "race")) {
    kb_reason_set(&r->code, "data-race", 9);
    return;
  }
  kb_span_eat_end(&w, ":");
  if (w.n) kb_reason_set(&r->code, w.p, w.n);
}

/* "==1234==ERROR: AddressSanitizer: heap-use-after-free on ...", "WARNING: ThreadSanitizer: ..." */
static bool asan_report(kb_span s, kb_reason *r) {
  s = kb_span_trim(s);
  if (kb_span_eat(&s, "==")) { /* "==1234==" */
    size_t end = kb_span_find(s, "==");
    if (end == KB_NPOS || !kb_span_is_uint(kb_span_head(s, end))) return false;
    s = kb_span_ltrim(kb_span_tail(s, end + 2));
  }
  if (!kb_span_eat(&s, "ERROR: ") && !kb_span_eat(&s, "WARNING: ")) return false;
  kb_span name = kb_span_token(&s);
  if (!kb_span_eat_end(&name, ":") || !kb_span_ends(name, "Sanitizer")) return false;
  kb_reason_set(&r->kind, "sanitizer", 9);
  kb_reason_set(&r->name, name.p, name.n);
  asan_code(s, r);
  if (s.n) kb_reason_set(&r->message, s.p, s.n);
  return true;
}

/* UBSan: "src/x.c:12:5: runtime error: signed integer overflow: 2147483647 + 1 cannot ..." */
static bool asan_ubsan(kb_span s, kb_reason *r) {
  s = kb_span_trim(s);
  size_t at = kb_span_find(s, ": runtime error: ");
  if (at == KB_NPOS) return false;
  kb_span where = kb_span_head(s, at); /* "src/x.c:12:5": Go's "panic: runtime error:" is not UBSan's */
  int line;
  if (!kb_span_trailing_int(&where, &line) || where.n == 0 || kb_span_chr(where, ' ') != KB_NPOS) return false;
  kb_span what = kb_span_tail(s, at + 17);
  size_t colon = kb_span_find(what, ": ");
  kb_span code = colon == KB_NPOS ? kb_span_of("undefined-behavior", 18) : kb_span_head(what, colon);
  kb_reason_set(&r->kind, "sanitizer", 9);
  kb_reason_set(&r->name, "UndefinedBehaviorSanitizer", 26);
  kb_reason_set(&r->code, code.p, code.n);
  for (char *p = r->code; *p; p++)
    if (*p == ' ') *p = '-';
  kb_reason_set(&r->message, what.p, what.n);
  return true;
}

/* The lines that start the other stacks of a report. */
static bool asan_section(kb_span s) {
  s = kb_span_trim(s);
  static const char *const starts[] = {"READ of size ", "WRITE of size ", "Read of size ", "Write of size ",
                                       "Previous read of size ", "Previous write of size ", "Atomic read of size ",
                                       "Atomic write of size ", "Previous atomic ", "Direct leak of ",
                                       "Indirect leak of ", "Location is heap block ", "Mutex M",
                                       "Uninitialized value was ", "As if synchronized via ", NULL};
  for (const char *const *p = starts; *p; p++)
    if (kb_span_starts(s, *p)) return kb_span_ends(s, ":") || kb_span_find(s, " thread T") != KB_NPOS;
  if (kb_span_ends(s, " here:")) /* "freed by thread T0 here:", "previously allocated by thread T0 here:" */
    return kb_span_find(s, " by ") != KB_NPOS;
  /* TSan: "Thread T1 (tid=9338, running) created by main thread at:" */
  return kb_span_starts(s, "Thread T") && kb_span_find(s, " created by ") != KB_NPOS && kb_span_ends(s, ":");
}

static bool asan_cont(kb_span s) {
  s = kb_span_trim(s);
  if (kb_span_starts(s, "SUMMARY: ") || kb_span_eq(s, "[failed to restore the stack]") || kb_span_starts(s, "note: "))
    return true;
  if (!kb_span_eat(&s, "==")) return false; /* "==1234==The signal is caused by a READ memory access." */
  size_t end = kb_span_find(s, "==");
  return end != KB_NPOS && kb_span_is_uint(kb_span_head(s, end));
}

static kb_line_kind asan_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  if (asan_frame(line, f)) return KB_LINE_FRAME;
  if (asan_report(line, r) || asan_ubsan(line, r)) return KB_LINE_HEADER;
  if (asan_section(line)) return KB_LINE_HEADER;
  if (cur && asan_cont(line)) return KB_LINE_CONT;
  return KB_LINE_NONE;
}

const kb_format kb_format_asan = {
    .name = "asan",
    .platform = "native",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 2,
    .classify = asan_classify,
    .split = NULL,
};
