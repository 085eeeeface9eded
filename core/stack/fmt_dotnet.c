/* fmt_dotnet.c - .NET exception stack traces (Exception.ToString(), the runtime's unhandled
 * exception report, Mono) for the stack parser's driver (stack.c), through kb_format_dotnet.
 *
 *   Unhandled exception. System.InvalidOperationException: msg        HEADER (reason)
 *    ---> System.IO.IOException: disk full                             CONT: the inner exception
 *      at Ns.Type.Method(String arg, Int32 n) in C:\src\File.cs:line 12  FRAME
 *      at Ns.Type.<RunAsync>d__5.MoveNext()                            FRAME (async state machine)
 *   --- End of stack trace from previous location ---                  CONT
 *      --- End of inner exception stack trace ---                      CONT
 *     at X.Y (System.String s) [0x0001c] in <8f2c...>:0                FRAME (Mono)
 *
 * A frame is "at", a method name without spaces and its parameter list "(Type name, ...)" or
 * "()"; Mono puts a space before the list and then always prints "[0x..] in" or "<0x..>", which
 * is required so that JavaScript's "at f (file.js:1:2)" stays out. Fields: function is the name
 * with its parameter list as printed ("Ns.Type.Method(String arg, Int32 n)"; overloads differ
 * only there), file and line from " in path:line N", offset the IL or native offset.
 *
 * The inner exceptions' frames come first and the outer ones continue from where the inner
 * exception was caught, so a whole report is one stack from the throw site outwards; its reason
 * is the innermost exception (the root cause), taken from the last "--->". */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

static bool is_type_char(char c) {
  return isalnum((unsigned char)c) || strchr("_.`&*[]<>,$+|", c) != NULL || (unsigned char)c >= 0x80;
}

static bool is_name_char(char c) { return is_type_char(c) && c != ','; }

/* One parameter: "Int32 n", "String[] args", "Action`1 action", "__ComObject", "ref Int32 x". */
static bool dotnet_param(kb_span p) {
  p = kb_span_trim(p);
  int tokens = 0;
  while (p.n) {
    kb_span t = kb_span_token(&p);
    for (size_t i = 0; i < t.n; i++)
      if (!is_type_char(t.p[i])) return false;
    if (!(isalpha((unsigned char)t.p[0]) || t.p[0] == '_' || t.p[0] == '<')) return false;
    if (++tokens > 3) return false;
  }
  return tokens > 0;
}

/* The parameter list between the parentheses: empty, or parameters split on top-level commas. */
static bool dotnet_params(kb_span a) {
  a = kb_span_trim(a);
  if (a.n == 0) return true;
  if (kb_span_eq(a, "Native Method") || kb_span_starts(a, "Unknown Source")) return false; /* Java's */
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= a.n; i++) {
    char c = i < a.n ? a.p[i] : ',';
    if (c == '[' || c == '<') depth++;
    else if ((c == ']' || c == '>') && depth > 0) depth--;
    else if (c == ',' && depth == 0) {
      if (!dotnet_param(kb_span_head(kb_span_tail(a, start), i - start))) return false;
      start = i + 1;
    }
  }
  return true;
}

/* After the parameters: " in C:\x\File.cs:line 12", " in <hash>:0", " [0x0001c] in ...", " <0x..>",
 * " + 0x133", or nothing (when `required` is false). */
static bool dotnet_suffix(kb_span s, bool required, kb_frame *f) {
  s = kb_span_trim(s);
  if (s.n == 0) return !required;
  bool mono = false;
  if (kb_span_starts(s, "[0x") || kb_span_starts(s, "<0x")) {
    char close = s.p[0] == '[' ? ']' : '>';
    size_t end = kb_span_chr(s, close);
    if (end == KB_NPOS) return false;
    f->offset = kb_span_dup(kb_span_head(kb_span_tail(s, 1), end - 1));
    s = kb_span_trim(kb_span_tail(s, end + 1));
    mono = true;
  } else if (kb_span_eat(&s, "+ ")) { /* .NET Native: "+ 0x133" */
    if (!kb_span_is_hexaddr(kb_span_trim(s))) return false;
    f->offset = kb_span_dup(s);
    return true;
  }
  if (required && !mono) return false;
  if (s.n == 0) return true;
  /* " in path:line 12", localized: " bei ...", " dans C:\\x.cs:ligne 12", " 位置 C:\\x.cs:行号 12" */
  kb_span word = kb_span_token(&s);
  if (word.n == 0 || word.n > 12 || s.n == 0) return false;
  size_t sp = kb_span_rchr(s, ' ');
  if (sp != KB_NPOS && kb_span_is_uint(kb_span_tail(s, sp + 1))) {
    size_t colon = kb_span_rchr(kb_span_head(s, sp), ':');
    if (colon != KB_NPOS && colon > 0 && sp - colon - 1 <= 12) { /* ":line", ":Zeile", ":行号" */
      f->file = kb_span_dup(kb_span_head(s, colon));
      f->line = kb_span_int(kb_span_tail(s, sp + 1));
      return true;
    }
  }
  if (kb_span_starts(s, "<")) return true; /* Mono without symbols: "<8f2c...>:0", "<filename unknown>:0" */
  return kb_frame_set_file_line(f, s);
}

/* Sentry's rendering: "at Ns.Type.Method (Assembly, Version=1.0.0.0, Culture=neutral,
 * PublicKeyToken=null: /src/Pages/Account.razor:234)" - the assembly instead of parameters. */
static bool dotnet_assembly_frame(kb_span name, kb_span inside, kb_frame *f) {
  size_t colon = kb_span_find(inside, ": ");
  if (colon != KB_NPOS) kb_frame_set_file_line(f, kb_span_tail(inside, colon + 2));
  f->function = kb_span_dup(name);
  return true;
}

/* "at" as the runtime prints it in the user's language: English, German, French, Spanish and
 * Portuguese, Russian, Polish, Dutch, Chinese, Japanese, Korean, Turkish. */
static bool dotnet_eat_at(kb_span *s) {
  static const char *const words[] = {"at ", "bei ", "\xC3\xA0 ", "en ", "em ", "\xD0\xB2 ", "w ", "bij ",
                                      "\xE5\x9C\xA8 ", "\xE5\xA0\xB4\xE6\x89\x80 ", "\xEC\x9C\x84\xEC\xB9\x98: ",
                                      "konum: ", NULL};
  for (const char *const *w = words; *w; w++)
    if (kb_span_eat(s, *w)) return true;
  return false;
}

static bool dotnet_frame(kb_span s, kb_frame *f) {
  s = kb_span_trim(s);
  if (!dotnet_eat_at(&s)) return false;
  s = kb_span_ltrim(s);
  size_t i = 0;
  while (i < s.n && is_name_char(s.p[i])) i++;
  kb_span name = kb_span_head(s, i);
  kb_span rest = kb_span_tail(s, i);
  bool mono = kb_span_eat(&rest, " ");
  if (name.n < 3 || kb_span_chr(name, '.') == KB_NPOS || !kb_span_starts(rest, "(")) return false;
  size_t close = kb_span_chr(rest, ')');
  if (close == KB_NPOS) return false;
  kb_span params = kb_span_head(kb_span_tail(rest, 1), close - 1);
  if (mono && kb_span_find(params, ", Version=") != KB_NPOS) return dotnet_assembly_frame(name, params, f);
  if (!dotnet_params(params)) return false;
  kb_frame tmp = {0};
  if (!dotnet_suffix(kb_span_tail(rest, close + 1), mono, &tmp)) {
    kb_frame_release(&tmp);
    return false;
  }
  *f = tmp;
  f->function = kb_xasprintf("%.*s(%.*s)", (int)name.n, name.p, (int)params.n, params.p);
  return true;
}

/* "System.X: msg" and the prefixes the runtimes put before it. Without a prefix only the
 * framework's own namespaces are taken: other dotted names are Java's as much as .NET's. */
static bool dotnet_header(kb_span s, kb_reason *r) {
  kb_span t = kb_span_trim(s);
  bool prefixed = kb_span_eat(&t, "Unhandled exception. ") || kb_span_eat(&t, "Unhandled Exception: ") ||
                  kb_span_eat(&t, "[ERROR] FATAL UNHANDLED EXCEPTION: ");
  size_t sys = kb_span_find(t, ": System.");
  if (!prefixed && sys != KB_NPOS && sys < 40 && kb_span_chr(kb_span_head(t, sys), '.') == KB_NPOS) {
    t = kb_span_tail(t, sys + 2); /* an application's own label: "CRASHING EXCEPTION: System.X: msg" */
    prefixed = true;
  }
  if (!prefixed && kb_span_indent(s) > 0) return false;
  size_t colon = kb_span_find(t, ": ");
  kb_span name, msg;
  if (!kb_span_exception(colon == KB_NPOS ? t : kb_span_head(t, colon), &name, &msg)) return false;
  if (kb_span_chr(name, '.') == KB_NPOS) return false;
  if (!prefixed && !kb_span_starts(name, "System.") && !kb_span_starts(name, "Microsoft.")) return false;
  /* "Outer: msg ---> Inner: msg ---> Innermost: msg": the innermost is the root cause */
  size_t arrow = kb_span_rfind(t, " ---> ");
  if (!kb_span_exception(arrow == KB_NPOS ? t : kb_span_tail(t, arrow + 6), &name, &msg)) return false;
  kb_reason_exception(r, "exception", name, msg);
  return true;
}

/* " ---> System.X: msg" on its own line (.NET Core): the reason becomes the inner exception. */
static bool dotnet_inner(kb_span s, kb_stack *cur) {
  s = kb_span_trim(s);
  kb_span name, msg;
  if (!kb_span_eat(&s, "---> ") || !kb_span_exception(s, &name, &msg)) return false;
  kb_reason r = {0};
  kb_reason_exception(&r, "exception", name, msg);
  kb_reason_release(&cur->reason);
  cur->reason = r;
  return true;
}

static bool dotnet_cont(kb_span s) {
  s = kb_span_trim(s);
  return kb_span_starts(s, "--- End of stack trace from previous location") ||
         kb_span_eq(s, "--- End of inner exception stack trace ---");
}

static kb_line_kind dotnet_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  if (dotnet_frame(line, f)) return KB_LINE_FRAME;
  if (cur && (dotnet_cont(line) || dotnet_inner(line, cur))) return KB_LINE_CONT;
  if (dotnet_header(line, r)) return KB_LINE_HEADER;
  return KB_LINE_NONE;
}

const kb_format kb_format_dotnet = {
    .name = "dotnet",
    .platform = "dotnet",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 2,
    .classify = dotnet_classify,
    .split = NULL,
};
