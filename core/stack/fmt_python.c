/* fmt_python.c - Python tracebacks for the stack parser's driver (stack.c), through
 * kb_format_python.
 *
 *   Traceback (most recent call last):                              HEADER
 *     File "/srv/app/views.py", line 12, in handler                 FRAME
 *       return data["user"]                                         CONT (source line)
 *              ~~~~^^^^^^^^                                         CONT (3.11+ carets)
 *   KeyError: 'user'                                                REASON (after the frames)
 *
 *   During handling of the above exception, another exception occurred:   CONT
 *   Traceback (most recent call last):                              HEADER: the next stack
 *
 * Python prints the outermost call first, so the format sets outermost_first and the driver
 * reverses the frames. A chained report gives one stack per traceback, the original error
 * first. The exception line is only taken inside a traceback that has frames, at the start of
 * the line: elsewhere "ValueError: x" is just words. Fields: function, file, line; no module. */
#include <ctype.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

/*   File "path", line 12, in func      (", in func" is absent for a SyntaxError) */
static bool python_frame(kb_span s, kb_frame *f) {
  s = kb_span_trim(s);
  if (!kb_span_eat(&s, "File \"")) return false;
  size_t q = kb_span_find(s, "\", line ");
  if (q == KB_NPOS || q == 0) return false;
  kb_span path = kb_span_head(s, q);
  kb_span rest = kb_span_tail(s, q + 8);
  size_t comma = kb_span_chr(rest, ',');
  kb_span num = comma == KB_NPOS ? rest : kb_span_head(rest, comma);
  if (!kb_span_is_uint(num)) return false;
  kb_span func = {0};
  if (comma != KB_NPOS) {
    func = kb_span_tail(rest, comma + 1);
    if (!kb_span_eat(&func, " in ")) return false;
    func = kb_span_trim(func);
    if (func.n == 0) return false;
  }
  f->file = kb_span_dup(path);
  f->line = kb_span_int(num);
  f->function = func.n ? kb_span_dup(func) : NULL;
  return true;
}

/* Rich's tracebacks (typer, pip, many CLIs) draw boxes: "│ /x/filters.py:13 in <module> │",
 * "╭──── Traceback (most recent call last) ────╮". The borders are taken off, nested ones too. */
#define BOX_V "\xE2\x94\x82" /* U+2502 BOX DRAWINGS LIGHT VERTICAL */
static kb_span python_unbox(kb_span s, bool *boxed) {
  s = kb_span_trim(s);
  *boxed = false;
  while (kb_span_eat(&s, BOX_V)) {
    *boxed = true;
    kb_span_eat_end(&s, BOX_V);
    s = kb_span_trim(s);
  }
  return s;
}

/* Rich's frame: "path.py:13 in func". */
static bool python_rich_frame(kb_span s, kb_frame *f) {
  size_t in = kb_span_rfind(s, " in ");
  if (in == KB_NPOS || in == 0) return false;
  kb_span loc = kb_span_head(s, in), func = kb_span_trim(kb_span_tail(s, in + 4));
  kb_span path = loc;
  int line;
  bool pathy = kb_span_ends(path, ".py") || kb_span_chr(path, '/') != KB_NPOS || kb_span_chr(path, '\\') != KB_NPOS;
  if (!kb_span_trailing_int(&path, &line) || !pathy || func.n == 0 ||
      kb_span_chr(func, ' ') != KB_NPOS)
    return false;
  kb_frame_set_file_line(f, loc);
  f->function = kb_span_dup(func);
  return true;
}

/* The final "ExcType: message": a class name (CamelCase, or dotted with a message). */
static bool python_exception(kb_span s, kb_reason *r) {
  kb_span name, msg;
  if (!kb_span_exception(s, &name, &msg)) return false;
  size_t dot = kb_span_rchr(name, '.');
  kb_span last = dot == KB_NPOS ? name : kb_span_tail(name, dot + 1);
  bool colon = name.p + name.n < s.p + s.n && name.p[name.n] == ':';
  if (last.n == 0 || !(isupper((unsigned char)last.p[0]) || (dot != KB_NPOS && colon))) return false;
  kb_reason_exception(r, "exception", name, msg);
  return true;
}

static bool python_chain(kb_span s) {
  s = kb_span_trim(s);
  return kb_span_eq(s, "During handling of the above exception, another exception occurred:") ||
         kb_span_eq(s, "The above exception was the direct cause of the following exception:");
}

/* A traceback kept as a JSON list of lines (logs, bug-report payloads): `"  File \"x.py\",
 * line 3, in f",` is read as the line it quotes. The unescaped text goes to buf. */
static kb_span python_unjson(kb_span s, char *buf, size_t cap) {
  kb_span t = kb_span_trim(s);
  kb_span_eat_end(&t, ",");
  t = kb_span_rtrim(t);
  if (t.n < 2 || t.p[0] != '"' || t.p[t.n - 1] != '"') return s;
  size_t o = 0;
  for (size_t i = 1; i + 1 < t.n && o + 1 < cap; i++) {
    char c = t.p[i];
    if (c == '\\' && i + 2 < t.n) {
      c = t.p[++i];
      if (c == 'n' || c == 't') c = ' ';
    }
    buf[o++] = c;
  }
  return kb_span_of(buf, o);
}

/* A line of a Rich traceback: inside its box, and the box's own lines. */
static kb_line_kind python_rich(kb_span line, kb_stack *cur, kb_frame *f) {
  bool boxed;
  kb_span t = python_unbox(line, &boxed);
  if (kb_span_find(t, "Traceback (most recent call last)") != KB_NPOS && kb_span_starts(t, "\xE2\x95\xAD")) /* ╭ */
    return KB_LINE_HEADER;
  if (!boxed) return KB_LINE_NONE;
  if (python_rich_frame(t, f)) return KB_LINE_FRAME;
  return cur ? KB_LINE_CONT : KB_LINE_NONE; /* source lines, locals, rules, blank box lines */
}

static kb_line_kind python_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  char buf[KB_STACK_MAX_LINE];
  kb_span line = python_unjson(kb_span_of(s, n), buf, sizeof buf);
  if (kb_span_eq(kb_span_trim(line), "Traceback (most recent call last):")) return KB_LINE_HEADER;
  if (python_frame(line, f)) return KB_LINE_FRAME;
  kb_line_kind rich = python_rich(line, cur, f);
  if (rich != KB_LINE_NONE) return rich;
  if (!cur) return KB_LINE_NONE;
  if (python_chain(line)) return KB_LINE_CONT;
  if (cur->nframes == 0) return KB_LINE_NONE;
  if (kb_span_indent(line) >= 2) return KB_LINE_CONT; /* source line, carets, "[Previous line repeated]" */
  if (python_exception(line, r)) return KB_LINE_REASON;
  return KB_LINE_NONE;
}

const kb_format kb_format_python = {
    .name = "python",
    .platform = "python",
    .outermost_first = true,
    .reasons_follow = false,
    .min_frames_without_header = 1, /* "File "x.py", line 3, in f" is unmistakable alone */
    .classify = python_classify,
    .split = NULL,
};
