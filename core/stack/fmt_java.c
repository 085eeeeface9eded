/* fmt_java.c - JVM stack traces (Java, Kotlin, Scala, Groovy, Android) as
 * Throwable.printStackTrace() and the logging frameworks print them. The stack parser's driver
 * (stack.c) calls java_classify for every line through kb_format_java.
 *
 *   Exception in thread "main" java.lang.IllegalStateException: msg   HEADER (reason)
 *   	at com.acme.Foo.bar(Foo.java:12) ~[acme-1.0.jar:1.0]             FRAME
 *   	at java.base/java.lang.Thread.run(Thread.java:833)                FRAME
 *   	at jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
 *   	... 12 more                                                       CONT
 *   Caused by: java.io.IOException: disk full                         HEADER: a new stack
 *   	Suppressed: x.CloseFailException: id 3                            HEADER: a new stack
 *
 * A frame is "at", a qualified method and "(source)" with nothing between the name and the
 * parenthesis; the source is File.ext[:line], "Native Method" or "Unknown Source". That shape
 * is what keeps JavaScript's "at f (file.js:1:2)" and .NET's "at N.T.M(String s)" out.
 * Maven's space before the parenthesis is taken when the file is a JVM language's, and
 * Tomcat's frames without "at" inside an open stack.
 * Fields: function "pkg.Class.method", file "Foo.java", line. The JPMS module or class loader
 * prefix ("java.base/", "app//") is dropped and module stays NULL: the same frame is printed
 * with and without the prefix across JDK versions, and the class name already says where the
 * code lives. Each exception of a chain is its own stack, so the root cause (the last
 * "Caused by") can be matched on its own. */
#include <ctype.h>
#include <string.h>

#include "stack/fmt_scan.h"
#include "util/util.h"

static bool is_method_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '$' || c == '.' || c == '<' || c == '>' || c == '/' ||
         c == '-' || c == '@' || (unsigned char)c >= 0x80;
}

/* Drop "java.base/", "app//", "com.foo@1.2/": a segment before '/' without '$' that is not
 * followed by "0x" (hidden classes such as "Main$$Lambda$14/0x0000000800c02a00" keep theirs).
 * One pass: the segment since the last cut is tracked, not searched again. */
static kb_span java_drop_module(kb_span m) {
  size_t cut = 0;
  bool dollar = false;
  for (size_t i = 0; i < m.n; i++) {
    if (m.p[i] == '$') dollar = true;
    if (m.p[i] != '/') continue;
    if (dollar || kb_span_starts(kb_span_tail(m, i + 1), "0x")) break;
    cut = i + 1;
  }
  return kb_span_tail(m, cut);
}

/* "pkg.Class.method": method characters only, a '.' that is neither first nor last. */
static bool java_method_ok(kb_span m) {
  if (m.n < 3 || m.p[0] == '.' || m.p[m.n - 1] == '.' || kb_span_chr(m, '.') == KB_NPOS) return false;
  for (size_t i = 0; i < m.n; i++)
    if (!is_method_char(m.p[i])) return false;
  return isalpha((unsigned char)m.p[0]) || m.p[0] == '_' || m.p[0] == '$' || (unsigned char)m.p[0] >= 0x80;
}

static bool is_file_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '$' || c == '.' || c == '-'; }

/* The parenthesized source: "Foo.java:12", "Foo.kt", "SourceFile:3", "Native Method", and in
 * jstack thread dumps with the module inside: "java.base@11.0.4/Thread.java:834". */
static bool java_source(kb_span src, kb_frame *f) {
  static const char *const words[] = {"Native Method", "Unknown Source", "Compiled Code", "Unknown", NULL};
  size_t slash = kb_span_rchr(src, '/');
  if (slash != KB_NPOS) src = kb_span_tail(src, slash + 1);
  int line = 0;
  bool has_line = kb_span_trailing_int(&src, &line);
  for (const char *const *w = words; *w; w++)
    if (kb_span_eq(src, *w)) {
      f->line = line;
      return true;
    }
  if (src.n == 0) return false;
  for (size_t i = 0; i < src.n; i++)
    if (!is_file_char(src.p[i])) return false;
  size_t dot = kb_span_rchr(src, '.');
  bool has_ext = dot != KB_NPOS && dot > 0 && dot + 1 < src.n && isalpha((unsigned char)src.p[dot + 1]);
  if (!has_ext && !has_line) return false;
  f->file = kb_span_dup(src);
  f->line = line;
  return true;
}

/* Logback/log4j append the jar after the frame: " ~[spring-core-5.3.9.jar:5.3.9]", " [na:1.8.0]". */
static kb_span java_drop_jar(kb_span s) {
  s = kb_span_rtrim(s);
  if (!kb_span_ends(s, "]")) return s;
  size_t open = kb_span_rchr(s, '[');
  if (open == KB_NPOS) return s;
  kb_span rest = kb_span_rtrim(kb_span_head(s, open));
  kb_span_eat_end(&rest, "~");
  return kb_span_rtrim(rest);
}

/* A JVM language's source file: what Maven's "at x.Y.z (Y.java:3)" and Tomcat's frames
 * without "at" must name to be taken. */
static bool java_jvm_file(const kb_frame *f) {
  static const char *const exts[] = {".java", ".kt", ".kts", ".scala", ".groovy", ".clj", ".jsp", NULL};
  if (!f->file) return true; /* "Native Method", "Unknown Source" */
  for (const char *const *e = exts; *e; e++)
    if (kb_str_endswith(f->file, *e)) return true;
  return false;
}

/* "at pkg.Class.method(File.java:12)"; Maven puts a space before the parenthesis, Tomcat's
 * error pages leave "at" out (taken inside an open stack, or with a JVM file and a line). */
static bool java_frame(kb_span s, bool open, kb_frame *f) {
  s = kb_span_ltrim(s);
  bool at = kb_span_eat(&s, "at ");
  s = java_drop_jar(kb_span_ltrim(s));
  size_t open_paren = kb_span_group_open(s, '(', ')');
  if (open_paren == KB_NPOS || open_paren == 0) return false;
  kb_span method = kb_span_head(s, open_paren);
  bool spaced = kb_span_eat_end(&method, " ");
  method = java_drop_module(method);
  kb_span src = kb_span_head(kb_span_tail(s, open_paren + 1), s.n - open_paren - 2);
  if (!java_method_ok(method)) return false;
  kb_frame tmp = {0};
  if (!java_source(src, &tmp)) return false;
  bool ok = (!spaced || java_jvm_file(&tmp)) &&
            (at || open || (tmp.line > 0 && tmp.file && java_jvm_file(&tmp)));
  if (!ok) {
    kb_frame_release(&tmp);
    return false;
  }
  *f = tmp;
  f->function = kb_span_dup(method);
  return true;
}

/* A bare exception line (no "Caused by:"): a qualified class whose name says it is one. */
static bool java_exception_name(kb_span name) {
  static const char *const ends[] = {"Exception", "Error", "Throwable", "Failure", "Fault", NULL};
  size_t dot = kb_span_rchr(name, '.');
  if (dot == KB_NPOS || dot + 1 >= name.n || !isupper((unsigned char)name.p[dot + 1])) return false;
  /* .NET prints the same shape; its namespaces go to fmt_dotnet.c */
  if (kb_span_starts(name, "System.") || kb_span_starts(name, "Microsoft.")) return false;
  for (const char *const *e = ends; *e; e++)
    if (kb_span_ends(name, *e)) return true;
  return false;
}

static bool java_header(kb_span s, kb_reason *r) {
  kb_span t = kb_span_ltrim(s);
  bool prefixed = true;
  if (kb_span_eat(&t, "Exception in thread \"")) {
    size_t q = kb_span_chr(t, '"');
    if (q == KB_NPOS) return false;
    t = kb_span_ltrim(kb_span_tail(t, q + 1));
  } else if (!kb_span_eat(&t, "Caused by: ") && !kb_span_eat(&t, "Suppressed: ")) {
    prefixed = false;
    if (kb_span_indent(s) > 0) return false; /* bare exception lines start the line */
  }
  kb_span name, msg;
  if (!kb_span_exception(t, &name, &msg)) return false;
  if (!prefixed && !java_exception_name(name)) return false;
  kb_reason_exception(r, "exception", name, msg);
  return true;
}

/* Lines inside a stack that are not frames: elisions, coroutine markers, jstack's locks. */
static bool java_cont(kb_span s) {
  s = kb_span_trim(s);
  if (kb_span_eq(s, "(Coroutine boundary)")) return true;
  if (kb_span_starts(s, "- locked <") || kb_span_starts(s, "- waiting to lock <") ||
      kb_span_starts(s, "- waiting on <") || kb_span_starts(s, "- parking to wait for <"))
    return true;
  if (!kb_span_eat(&s, "... ")) return false;
  kb_span count = kb_span_token(&s);
  return kb_span_is_uint(count) && (kb_span_eq(s, "more") || kb_span_eq(s, "common frames omitted"));
}

/* Android's logcat puts "E/AndroidRuntime( 1234): " or "E AndroidRuntime: " before each line. */
static kb_span java_drop_logcat(kb_span s) {
  static const char levels[] = "VDIWEF";
  kb_span t = kb_span_ltrim(s);
  if (t.n < 4 || !strchr(levels, t.p[0]) || (t.p[1] != '/' && t.p[1] != ' ')) return s;
  size_t colon = kb_span_find(t, ": ");
  if (colon == KB_NPOS || colon < 3) return s;
  kb_span tag = kb_span_head(kb_span_tail(t, 2), colon - 2);
  for (size_t i = 0; i < tag.n; i++) {
    char c = tag.p[i];
    if (!(isalnum((unsigned char)c) || c == '_' || c == '.' || c == '(' || c == ')' || c == ' ' || c == '-')) return s;
  }
  return kb_span_tail(t, colon + 2);
}

static kb_line_kind java_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  kb_span line = java_drop_logcat(kb_span_of(s, n));
  if (java_frame(line, cur != NULL, f)) return KB_LINE_FRAME;
  if (cur && java_cont(line)) return KB_LINE_CONT;
  if (java_header(line, r)) return KB_LINE_HEADER;
  return KB_LINE_NONE;
}

/* Does a frame "at pkg.C.m(Src.java:1)" start at s? Only the frame's own characters are
 * read: the method (no blank) and a source of at most 256 bytes ("Native Method" has one). */
static bool java_frame_starts(const char *s, size_t n) {
  size_t i = 3;
  while (i < n && s[i] != ' ' && s[i] != '(') i++;
  if (i >= n || s[i] != '(') return false;
  size_t lim = n - i < 256 ? n : i + 256;
  const char *close = memchr(s + i, ')', lim - i);
  if (!close) return false;
  kb_frame f = {0};
  bool ok = java_frame(kb_span_of(s, (size_t)(close - s) + 1), false, &f);
  kb_frame_release(&f);
  return ok;
}

/* Frames pasted on one line when the newlines were lost ("...Bar.java:12) at com.x.Y.z(Y.java:3)
 * Caused by: ..."): the offset of the next " at " frame, "Caused by:" or "... 3 more". */
static size_t java_split(const char *s, size_t n) {
  for (const char *p = memchr(s, ' ', n); p; p = memchr(p + 1, ' ', n - (size_t)(p + 1 - s))) {
    size_t i = (size_t)(p - s) + 1, rest = n - i;
    if (rest < 4 || s[i] == ' ') continue;
    const char *q = p;
    while (q > s && q[-1] == ' ') q--;
    if (q == s) continue; /* only blanks before: the line's own indentation */
    size_t m = (size_t)(q - s);
    bool after_frame = q[-1] == ')' || q[-1] == ']' || (m >= 4 && memcmp(q - 4, "more", 4) == 0) ||
                       (m >= 7 && memcmp(q - 7, "omitted", 7) == 0);
    if (memcmp(s + i, "at ", 3) == 0 && java_frame_starts(s + i, rest)) return i;
    if (after_frame && rest > 11 && memcmp(s + i, "Caused by: ", 11) == 0) return i;
    if (after_frame && rest > 4 && memcmp(s + i, "... ", 4) == 0 && isdigit((unsigned char)s[i + 4])) return i;
  }
  return 0;
}

const kb_format kb_format_java = {
    .name = "java",
    .platform = "jvm",
    .outermost_first = false,
    .reasons_follow = false,
    .min_frames_without_header = 2,
    .classify = java_classify,
    .split = java_split,
};
