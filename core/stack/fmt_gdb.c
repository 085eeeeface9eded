/* fmt_gdb.c - gdb backtraces ("bt", "bt full", "thread apply all bt") for the stack parser's
 * driver (stack.c), through kb_format_gdb.
 *
 *   Program received signal SIGSEGV, Segmentation fault.             REASON
 *   Thread 2 (Thread 0x7ffff6fd5700 (LWP 1235)):                     HEADER (one stack per thread)
 *   #0  0x00007ffff7a42428 in __GI_raise (sig=sig@entry=6) at ../sysdeps/unix/sysv/linux/raise.c:54
 *   #1  0x00007ffff7a4402a in abort () from /lib/x86_64-linux-gnu/libc.so.6     FRAME (module)
 *   #2  foo (a=1) at foo.c:12                                         FRAME (inlined: no address)
 *   #3  <signal handler called>                                       FRAME (a marker)
 *           i = 5                                                     CONT ("bt full" locals)
 *
 * A frame is "#N", an optional "0xADDR in", the function and its argument list "(name=value,
 * ...)" or "()" after a space, then " at file:line" or " from library". The space and the
 * "name=" inside the list tell it from AddressSanitizer's "#0 0x.. in f (a.out+0x1d)".
 * Fields: function with its argument list as printed, address, file and line, module (the
 * library's file name) for " from"; "??" is an unknown function (NULL). "<signal handler
 * called>" is kept as a frame: the frames above it are the handler, the ones below the crash.
 * systemd-coredump's reports (coredumpctl, ABRT) have the same "#N" frames with
 * "(module + 0xoffset)" instead of arguments and are read here too. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

/* " at file.c:12", " at /lib/libQt6Core.so.6" (no line: a library), " from /lib/libc.so.6". */
static void gdb_location(kb_span loc, bool from, kb_frame *f) {
  loc = kb_span_trim(loc);
  if (!from && kb_frame_set_file_line(f, loc)) return;
  if (from || kb_span_find(loc, ".so") != KB_NPOS || kb_span_ends(loc, ".dll") || kb_span_ends(loc, ".dylib"))
    f->module = kb_span_basename(loc);
  else
    f->file = kb_span_dup(loc);
}

/* Where the argument list ends and " at ..." / " from ..." begins (KB_NPOS when neither). */
static size_t gdb_location_start(kb_span s, bool *from) {
  size_t at = kb_span_rfind(s, ") at "), fr = kb_span_rfind(s, ") from ");
  *from = fr != KB_NPOS && (at == KB_NPOS || fr > at);
  size_t cut = *from ? fr : at;
  if (cut == KB_NPOS) return KB_NPOS;
  kb_span rest = kb_span_tail(s, cut + 1);
  /* a location has no parentheses or quotes: otherwise " at " was inside an argument string */
  if (kb_span_chr(rest, '(') != KB_NPOS || kb_span_chr(rest, '"') != KB_NPOS) return KB_NPOS;
  return cut + 1;
}

static bool gdb_args_ok(kb_span a) {
  a = kb_span_trim(a);
  return a.n == 0 || kb_span_chr(a, '=') != KB_NPOS || kb_span_eq(a, "...");
}

/* systemd-coredump (coredumpctl, ABRT) prints "#4  0x00007f3ee277b0cb ev_invoke_pending
 * (libev.so.4 + 0x50cb)" after "Stack trace of thread 1113:"; "n/a" is an unknown function. */
static bool gdb_coredump_frame(kb_span s, kb_frame *f) {
  kb_span addr = kb_span_token(&s);
  size_t open = kb_span_group_open(s, '(', ')');
  if (!kb_span_is_hexaddr(addr) || open == KB_NPOS || open < 2 || s.p[open - 1] != ' ') return false;
  kb_span g = kb_span_head(kb_span_tail(s, open + 1), s.n - open - 2);
  size_t plus = kb_span_rfind(g, " + 0x");
  if (plus == KB_NPOS || plus == 0 || !kb_span_is_hexaddr(kb_span_tail(g, plus + 3))) return false;
  kb_span fn = kb_span_trim(kb_span_head(s, open));
  f->address = kb_span_dup(addr);
  f->module = kb_span_basename(kb_span_head(g, plus));
  f->offset = kb_span_dup(kb_span_tail(g, plus + 3));
  if (!kb_span_eq(fn, "n/a")) f->function = kb_span_dup(fn);
  return true;
}

static bool gdb_frame(kb_span s, kb_frame *f) {
  s = kb_span_trim(s);
  if (!kb_span_eat_hash(&s)) return false;
  kb_span num = kb_span_token(&s);
  if (!kb_span_is_uint(num) || s.n == 0) return false;
  if (gdb_coredump_frame(s, f)) return true;
  kb_frame tmp = {0};
  if (kb_span_eq(s, "<signal handler called>")) {
    f->function = kb_span_dup(s);
    return true;
  }
  kb_span body = s;
  kb_span addr = kb_span_token(&body);
  if (kb_span_is_hexaddr(addr) && kb_span_eat(&body, "in ")) tmp.address = kb_span_dup(addr);
  else body = s;
  bool from = false;
  size_t loc = gdb_location_start(body, &from);
  kb_span call = loc == KB_NPOS ? kb_span_rtrim(body) : kb_span_head(body, loc);
  size_t open = kb_span_group_open(call, '(', ')');
  if (open == KB_NPOS || open < 2 || call.p[open - 1] != ' ' ||
      !gdb_args_ok(kb_span_head(kb_span_tail(call, open + 1), call.n - open - 2))) {
    kb_frame_release(&tmp);
    return false;
  }
  kb_span fn = kb_span_trim(kb_span_head(call, open));
  if (loc != KB_NPOS) gdb_location(kb_span_tail(body, loc + (from ? 6 : 4)), from, &tmp);
  if (!kb_span_eq(fn, "??") && !kb_span_eq(fn, "???")) tmp.function = kb_span_dup(call);
  *f = tmp;
  return true;
}

static bool gdb_header(kb_span s) {
  s = kb_span_trim(s);
  if (kb_span_eat(&s, "Stack trace of thread ")) return kb_span_ends(s, ":"); /* systemd-coredump */
  static const char *const cmds[] = {"(gdb) bt", "(gdb) bt full", "(gdb) backtrace", "(gdb) backtrace full",
                                     "(gdb) where", "(gdb) thread apply all bt", "(gdb) thread apply all bt full",
                                     "(gdb) thread apply all backtrace", NULL};
  for (const char *const *c = cmds; *c; c++)
    if (kb_span_eq(s, *c)) return true;
  /* "Thread 2 (Thread 0x7ffff6fd5700 (LWP 1235)):", "Thread 1 (LWP 42) "name"):" */
  if (!kb_span_eat(&s, "Thread ") || !kb_span_is_uint(kb_span_token(&s))) return false;
  return kb_span_starts(s, "(") && kb_span_ends(s, "):");
}

/* "Program received signal SIGSEGV, Segmentation fault.", "Program terminated with signal
 * SIGABRT, Aborted.", "Thread 2 "worker" received signal SIGABRT, Aborted." */
static bool gdb_reason(kb_span s, kb_reason *r) {
  s = kb_span_trim(s);
  if (kb_span_eat(&s, "Signal: ")) { /* systemd-coredump: "Signal: 11 (SEGV)" */
    size_t open = kb_span_chr(s, '(');
    if (open == KB_NPOS || !kb_span_ends(s, ")") || !kb_span_is_uint(kb_span_trim(kb_span_head(s, open))))
      return false;
    kb_span name = kb_span_head(kb_span_tail(s, open + 1), s.n - open - 2);
    char *code = kb_xasprintf("SIG%.*s", (int)name.n, name.p);
    kb_reason_set(&r->kind, "signal", 6);
    kb_reason_set(&r->code, code, strlen(code));
    free(code);
    return true;
  }
  size_t at = kb_span_find(s, " received signal ");
  size_t skip = 17;
  if (at == KB_NPOS) at = kb_span_find(s, " terminated with signal "), skip = 24;
  if (at == KB_NPOS || !(kb_span_starts(s, "Program") || kb_span_starts(s, "Thread "))) return false;
  kb_span rest = kb_span_tail(s, at + skip);
  size_t comma = kb_span_find(rest, ", ");
  kb_span sig = comma == KB_NPOS ? kb_span_trim(rest) : kb_span_head(rest, comma);
  kb_span_eat_end(&sig, ".");
  if (!kb_span_starts(sig, "SIG")) return false;
  kb_reason_set(&r->kind, "signal", 6);
  kb_reason_set(&r->code, sig.p, sig.n);
  if (comma != KB_NPOS) {
    kb_span desc = kb_span_trim(kb_span_tail(rest, comma + 2));
    kb_span_eat_end(&desc, ".");
    kb_reason_set(&r->message, desc.p, desc.n);
  }
  return true;
}

/* Lines of a backtrace that belong to the frame above: a wrapped " at file:line" or " from lib",
 * "bt full" locals ("    i = 5"), and gdb's own remarks. */
static bool gdb_cont(kb_span s, kb_stack *cur) {
  kb_span t = kb_span_trim(s);
  if (kb_span_eq(t, "No locals.") || kb_span_eq(t, "No symbol table info available.") ||
      kb_span_starts(t, "Backtrace stopped:") ||
      kb_span_eq(t, "(More stack frames follow...)"))
    return true;
  if (kb_span_indent(s) < 4 || t.n == 0) return false;
  kb_frame *last = cur->nframes ? &cur->frames[cur->nframes - 1] : NULL;
  bool at = kb_span_starts(t, "at "), from = kb_span_starts(t, "from ");
  if (at || from) {
    if (last && !last->file && !last->module) gdb_location(kb_span_tail(t, from ? 5 : 3), from, last);
    return true;
  }
  /* a local: "name = value" */
  size_t i = 0;
  while (i < t.n && (isalnum((unsigned char)t.p[i]) || t.p[i] == '_')) i++;
  return i > 0 && kb_span_starts(kb_span_tail(t, i), " = ");
}

static kb_line_kind gdb_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  if (gdb_frame(line, f)) return KB_LINE_FRAME;
  if (gdb_header(line)) return KB_LINE_HEADER;
  if (gdb_reason(line, r)) return KB_LINE_REASON;
  if (cur && gdb_cont(line, cur)) return KB_LINE_CONT;
  return KB_LINE_NONE;
}

const kb_format kb_format_gdb = {
    .name = "gdb",
    .platform = "native",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 2,
    .classify = gdb_classify,
    .split = NULL,
};
