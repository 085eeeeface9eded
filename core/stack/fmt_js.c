/* fmt_js.c - JavaScript stack traces: V8 (Node.js, Chrome, Edge, Deno) and the
 * SpiderMonkey/JavaScriptCore form (Firefox, Safari), for the stack parser's driver
 * (stack.c), through kb_format_js.
 *
 *   TypeError: Cannot read properties of undefined (reading 'x')   HEADER (reason)
 *       at Object.<anonymous> (/app/index.js:12:5)                  FRAME
 *       at Module._compile (node:internal/modules/cjs/loader:1105:14)
 *       at async Promise.all (index 0)                              FRAME (no file)
 *       at /app/x.js:3:9                                            FRAME (anonymous function)
 *   handleClick@https://example.com/static/app.js:1:2345            FRAME (Firefox, Safari)
 *
 * V8's frame is "at name (location)" with a space before the parenthesis, or "at location";
 * a location is "path:line:col" (also "native", "<anonymous>", "index N"). The space and the
 * two numbers are what tell it from Java's "at a.B.c(B.java:1)" and .NET's "at A.B(Int32 x)";
 * prose such as "at home (the office)" has no location. Fields: function (NULL for an
 * anonymous one; V8's "async " marker dropped), file (the path or URL as printed), line.
 * The header is an error class name at the start of the line: the standard ones and any
 * "...Error"/"...Exception" name, optionally after Chrome's "Uncaught ". */
#include <ctype.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

/* "path:line:col" (or "path:line" when !need_col) whose path looks like a path or URL. Blanks
 * are allowed in a path only where they cannot be a name: inside parentheses (`spaced`) or
 * in an absolute path ("E:\\full stack web dev\\x.js", "/home/me/my app/x.js"). */
static bool js_location(kb_span loc, bool need_col, bool spaced, kb_frame *f) {
  loc = kb_span_trim(loc);
  size_t arrow = kb_span_rfind(loc, " -> "); /* Firefox: "loader.js -> resource://x/y.js:1:2" */
  if (arrow != KB_NPOS) loc = kb_span_tail(loc, arrow + 4);
  kb_span path = loc;
  int line, col;
  if (!kb_span_trailing_int(&path, &line)) return false;
  if (!kb_span_trailing_int(&path, &col) && need_col) return false;
  bool absolute = kb_span_starts(path, "/") || (path.n > 3 && isalpha((unsigned char)path.p[0]) && path.p[1] == ':' &&
                                                 (path.p[2] == '\\' || path.p[2] == '/'));
  if (path.n == 0 || kb_span_chr(path, '(') != KB_NPOS) return false;
  if (kb_span_chr(path, ' ') != KB_NPOS && !spaced && !absolute) return false;
  bool pathy = kb_span_chr(path, '/') != KB_NPOS || kb_span_chr(path, '\\') != KB_NPOS ||
               kb_span_chr(path, '.') != KB_NPOS || kb_span_eq(path, "<anonymous>") || kb_span_starts(path, "node:");
  if (!pathy) return false;
  return kb_frame_set_file_line(f, loc);
}

/* Locations without a file: V8's built-ins and Promise combinators. */
static bool js_no_file(kb_span loc) {
  loc = kb_span_trim(loc);
  if (kb_span_eq(loc, "native") || kb_span_eq(loc, "<anonymous>")) return true;
  return kb_span_eat(&loc, "index ") && kb_span_is_uint(loc);
}

static bool js_name_ok(kb_span name) {
  if (name.n == 0 || name.p[0] == '(' || name.p[0] == '"') return false;
  for (size_t i = 0; i < name.n; i++)
    if (name.p[i] == '"' || name.p[i] == ',') return false;
  return true;
}

static void js_set_function(kb_frame *f, kb_span name) {
  name = kb_span_trim(name);
  kb_span_eat(&name, "async ");
  if (name.n) f->function = kb_span_dup(name);
}

/* V8: "at name (loc)" | "at loc" */
static bool js_v8_frame(kb_span s, kb_frame *f) {
  s = kb_span_trim(s);
  if (!kb_span_eat(&s, "at ")) return false;
  s = kb_span_ltrim(s);
  if (kb_span_eat_end(&s, " {")) s = kb_span_rtrim(s); /* Node prints the error's own fields after the last frame */
  size_t open = kb_span_group_open(s, '(', ')');
  kb_frame tmp = {0};
  if (open != KB_NPOS && open > 0 && s.p[open - 1] == ' ') {
    kb_span name = kb_span_head(s, open - 1);
    kb_span loc = kb_span_head(kb_span_tail(s, open + 1), s.n - open - 2);
    /* eval frames nest: "eval at f (x.js:1:2), <anonymous>:1:1" - the outer location is last */
    size_t comma = kb_span_rfind(loc, ", ");
    if (kb_span_starts(loc, "eval at ") && comma != KB_NPOS) loc = kb_span_tail(loc, comma + 2);
    if (!js_name_ok(name) || !(js_location(loc, false, true, &tmp) || js_no_file(loc))) {
      kb_frame_release(&tmp);
      return false;
    }
    *f = tmp;
    js_set_function(f, name);
    return true;
  }
  if (!js_location(s, true, false, &tmp)) {
    kb_frame_release(&tmp);
    return false;
  }
  *f = tmp;
  return true;
}

/* Firefox/Safari: "name@url:line:col", "@url:line:col", "name/<@url:line:col". */
static bool js_gecko_frame(kb_span s, kb_frame *f) {
  s = kb_span_trim(s);
  size_t at = kb_span_chr(s, '@');
  if (at == KB_NPOS) return false;
  kb_span name = kb_span_head(s, at), loc = kb_span_tail(s, at + 1);
  if (kb_span_chr(name, ' ') != KB_NPOS && !kb_span_starts(name, "promise callback") &&
      !kb_span_starts(name, "global code") && !kb_span_starts(name, "eval code"))
    return false;
  bool url = kb_span_find(loc, "://") != KB_NPOS || kb_span_starts(loc, "/");
  kb_frame tmp = {0};
  if (!url || !js_location(loc, false, false, &tmp)) {
    kb_frame_release(&tmp);
    return false;
  }
  *f = tmp;
  js_set_function(f, name);
  return true;
}

static bool js_error_name(kb_span name) {
  static const char *const names[] = {"Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError",
                                      "EvalError", "URIError", "AggregateError", "InternalError", "DOMException",
                                      NULL};
  for (const char *const *e = names; *e; e++)
    if (kb_span_eq(name, *e)) return true;
  if (name.n < 6 || !isupper((unsigned char)name.p[0]) || kb_span_chr(name, '.') != KB_NPOS) return false;
  return kb_span_ends(name, "Error") || kb_span_ends(name, "Exception");
}

/* "TypeError: msg", "Uncaught (in promise) TypeError: msg", "Error [ERR_X]: msg". */
static bool js_header(kb_span s, kb_reason *r) {
  if (kb_span_indent(s) > 0) return false;
  kb_span t = kb_span_trim(s);
  if (kb_span_eat(&t, "Uncaught ")) kb_span_eat(&t, "(in promise) ");
  size_t i = 0;
  while (i < t.n && (isalnum((unsigned char)t.p[i]) || t.p[i] == '_' || t.p[i] == '$')) i++;
  kb_span name = kb_span_head(t, i), rest = kb_span_tail(t, i);
  if (kb_span_starts(rest, " [")) { /* Node's error code */
    size_t close = kb_span_chr(rest, ']');
    if (close == KB_NPOS) return false;
    rest = kb_span_tail(rest, close + 1);
  }
  if (!js_error_name(name) || !(rest.n == 0 || kb_span_starts(rest, ": "))) return false;
  kb_reason_exception(r, "exception", name, kb_span_tail(rest, 2));
  return true;
}

static kb_line_kind js_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = kb_span_of(s, n);
  if (js_v8_frame(line, f) || js_gecko_frame(line, f)) return KB_LINE_FRAME;
  if (js_header(line, r)) return KB_LINE_HEADER;
  return KB_LINE_NONE;
}

const kb_format kb_format_js = {
    .name = "js",
    .platform = "js",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 2,
    .classify = js_classify,
    .split = NULL,
};
