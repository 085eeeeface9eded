/* normalize.c - what matching compares: a key per frame (`norm`), flags per frame and a
 * signature per stack. The parser driver (stack.c) calls kb_stack_normalize on every
 * stack it returns; `kb match`, the index and the tests read the results.
 *
 * A norm keeps what identifies the code and drops what varies between two reports of the
 * same crash: addresses, offsets, arguments, line numbers, build hashes, generated lambda
 * and proxy numbers, module case and extension. Per platform (the stack's `platform`):
 *   windows  module!function         "mslbfoprovider!vmqcGetFirstMappedMNic"; "mydrv!?"
 *            (ntoskrnl, ntkrnlmp, ... are "nt"; halmacpi, ... are "hal")
 *   linux    function alone ("tcp_v4_rcv"); syscall stubs -> the syscall; "zfs!?"
 *   native   function alone ("abort", "Parser::readChunk"); "lib!?" when unsymbolized
 *   rust     path without the ::h<hash>; generics collapsed to <T>; {{closure}} kept
 *   go       pkg.(*T).Method without arguments; closures main.main.func1 -> main.main.func
 *   jvm      pkg.Class.method; lambda, CGLIB, accessor and proxy numbers dropped
 *   dotnet   Ns.Type.Method without arguments; async <M>d__5.MoveNext -> M
 *   python   file-basename:function  "views:index" (a package's __init__.py: the package)
 *   js       function:file-basename  "handler:app.js" (no query, line, column, build hash)
 * C++ names (windows, linux, native, rust) lose return types, argument lists, [clone .x],
 * .isra/.constprop/.part/.cold suffixes, @plt/@GLIBC versions, and template arguments
 * become <T>. A frame without a function name is "module!?" (or "?") and flagged
 * KB_FRAME_UNSYMBOLIZED: it then only matches another unsymbolized frame of that module.
 * Native and Linux frames drop the module once the function is known: it is printed
 * inconsistently for one and the same code (ASan shows "(libexiv2.so.26+0x..)" in one
 * report and a source file in the next; gdb only without debug info; lldb always; drm is
 * "[drm]" on one kernel and built in on another), so "mod!f" and "f" of one crash would
 * never compare equal, and C symbol names are global in a process or kernel anyway.
 * Windows keeps it: WinDbg always prints module!function, and modules are never merged.
 *
 * Flags come from the platform's skip/prefix list (skiplist.h, data/skiplists/).
 * Signature (Socorro's walk, !analyze's follow-up frame): from the crash site outwards,
 * skip SKIP frames (in Go also the deferred functions above the last panic() frame: a
 * recover handler that re-panics is not where it broke); append every other frame's norm,
 * joined with " | "; keep going after a PREFIX or UNSYMBOLIZED frame (in Go also after an
 * inlined call, printed "f(...)"), stop after the first frame that is neither. At most
 * 1024 bytes (Socorro cuts at 255, but our signatures decide "exact" and a cut one would
 * call two crashes the same when they differ after the cut): a frame that would not fit ends the walk (only a first frame is cut to fit).
 * A stack whose frames are all skipped gets its first frame's norm; no frames, "". The
 * frames used are flagged KB_FRAME_SIGNATURE. Signatures are built from norms, so they
 * compare as plain strings across debuggers ("mslbfoprovider!vmqcGetFirstMappedMNic"
 * whether WinDbg printed MsLbfoProvider or MSLBFOPROVIDER.SYS); the crash reason stays
 * out of them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stack/skiplist.h"
#include "stack/stack.h"
#include "util/util.h"

#define SIGNATURE_MAX 1024

/* ---- small helpers ---- */

static bool is_ident(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '$';
}

static bool has_prefix(const char *s, size_t n, const char *lit) {
  size_t l = strlen(lit);
  return n >= l && memcmp(s, lit, l) == 0;
}

/* `lit` followed by a space or the end: a whole word. */
static bool has_word(const char *s, size_t n, const char *lit) {
  size_t l = strlen(lit);
  return has_prefix(s, n, lit) && (n == l || s[l] == ' ');
}

static size_t span_digits(const char *s, size_t n, bool underscores) {
  size_t i = 0;
  while (i < n && (isdigit((unsigned char)s[i]) || (underscores && s[i] == '_'))) i++;
  return i;
}

static void trim(const char **s, size_t *n) {
  while (*n && isspace((unsigned char)**s)) (*s)++, (*n)--;
  while (*n && isspace((unsigned char)(*s)[*n - 1])) (*n)--;
}

/* Where the last path component of s[0..n) starts ('/' or '\\'). */
static size_t basename_at(const char *s, size_t n) {
  size_t b = n;
  while (b && s[b - 1] != '/' && s[b - 1] != '\\') b--;
  return b;
}

/* No usable function name: NULL, "", "??", "<unknown>", a number, or a "0x..." address. */
static bool name_missing(const char *fn) {
  if (!fn) return true;
  size_t n = strlen(fn);
  trim(&fn, &n);
  if (n == 0 || strspn(fn, "?") >= n || strspn(fn, "0123456789") >= n) return true;
  if (n == 9 && strncmp(fn, "<unknown>", 9) == 0) return true;
  if (n > 2 && fn[0] == '0' && (fn[1] == 'x' || fn[1] == 'X')) {
    size_t i = 2;
    while (i < n && (isxdigit((unsigned char)fn[i]) || fn[i] == '`')) i++;
    return i == n;
  }
  return false;
}

/* Index of the bracket closing the group opened at s[i] (one of ( < [ {), counting only
 * that pair ("->" does not close a '<'); n when unclosed. */
static size_t group_close(const char *s, size_t n, size_t i) {
  char open = s[i], close = open == '(' ? ')' : open == '<' ? '>' : open == '[' ? ']' : '}';
  int depth = 0;
  for (size_t j = i; j < n; j++) {
    if (s[j] == open) depth++;
    else if (s[j] == close && !(close == '>' && j > 0 && s[j - 1] == '-') && --depth == 0) return j;
  }
  return n;
}

/* ---- modules ---- */

/* Strip version tails left after ".so"/".dylib": "libpthread-2.31" -> "libpthread",
 * "libc++.1" -> "libc++". */
static size_t strip_version(const char *m, size_t n) {
  for (;;) {
    size_t d = n;
    while (d && isdigit((unsigned char)m[d - 1])) d--;
    if (d == n || d < 2 || (m[d - 1] != '.' && m[d - 1] != '-')) return n;
    n = d - 1;
  }
}

/* The module as compared: basename, lowercase, no brackets, no .sys/.dll/.exe, no
 * .so[.N]/.dylib and their versions. "C:\\x\\NDIS.SYS" -> "ndis", "[zfs]" -> "zfs",
 * "/lib/x86_64-linux-gnu/libc.so.6" and "libc-2.31.so" -> "libc". Caller frees. */
static char *module_key(const char *module) {
  size_t n = strlen(module);
  trim(&module, &n);
  size_t b = basename_at(module, n);
  module += b, n -= b;
  if (n >= 2 && module[0] == '[' && module[n - 1] == ']') module++, n -= 2;
  bool shared = false;
  for (size_t i = 1; i + 3 <= n && !shared; i++) {
    if (memcmp(module + i, ".so", 3) == 0 && (i + 3 == n || module[i + 3] == '.')) n = i, shared = true;
  }
  if (!shared && n > 6 && memcmp(module + n - 6, ".dylib", 6) == 0) n -= 6, shared = true;
  if (shared) n = strip_version(module, n);
  return kb_module_normalize(module, n);
}

/* One name for the Windows kernel and HAL, whatever image the machine loaded. */
static const char *const module_aliases[][2] = {
    {"ntoskrnl", "nt"}, {"ntkrnlmp", "nt"},  {"ntkrnlpa", "nt"},   {"ntkrpamp", "nt"},
    {"ntkrla57", "nt"}, {"halmacpi", "hal"}, {"halacpi", "hal"},   {"halaacpi", "hal"},
};

/* "module!" when the frame has a module worth naming ("vmlinux" is the kernel itself,
 * "???" is a report's way of saying none). */
static void add_module(const kb_frame *f, kb_buf *b) {
  if (!f->module) return;
  char *m = module_key(f->module);
  for (size_t i = 0; i < sizeof module_aliases / sizeof module_aliases[0]; i++)
    if (strcmp(m, module_aliases[i][0]) == 0) strcpy(m, module_aliases[i][1]);
  if (*m && strspn(m, "?") < strlen(m) && strcmp(m, "vmlinux") != 0) {
    kb_buf_adds(b, m);
    kb_buf_addc(b, '!');
  }
  free(m);
}

/* ---- C, C++ and Rust names ---- */

/* A scan over one function name, writing the cleaned name to b from `base` on. `lit`
 * counts brackets copied literally (Rust's <X as Y>, Objective-C's -[A b]): inside them
 * a space is text, not a return-type separator. */
typedef struct sym {
  const char *s;
  size_t n;
  kb_buf *b;
  size_t base;
  int lit;
} sym;

static char last_out(const sym *y) {
  return y->b->len > y->base ? y->b->ptr[y->b->len - 1] : 0;
}

static bool at_operator(const sym *y, size_t i) {
  return has_prefix(y->s + i, y->n - i, "operator") && (i == 0 || !is_ident(y->s[i - 1])) &&
         (i + 8 >= y->n || !is_ident(y->s[i + 8]));
}

/* "operator" and what names it: (), [], <<=, " new", " delete[]", a conversion's type. */
static size_t sym_operator(sym *y, size_t i) {
  const char *s = y->s;
  size_t n = y->n, j = i + 8, k = j;
  if (j + 1 < n && s[j] == '(' && s[j + 1] == ')') {
    k = j + 2;
  } else if (j < n && s[j] == ' ') {
    for (k = j + 1; k < n && is_ident(s[k]);) k++;
    if (k + 1 < n && s[k] == '[' && s[k + 1] == ']') k += 2;
  } else {
    while (k < n && s[k] && strchr("+-*/%^&|~!=<>,[]", s[k])) k++;
  }
  kb_buf_add(y->b, s + i, k - i);
  return k - i;
}

/* '(': an argument list ends the name; "(anonymous namespace)::" and Go-like "(*T)." are
 * part of it; an enclosing function's arguments before "::" are dropped. */
static size_t sym_paren(sym *y, size_t i) {
  size_t c = group_close(y->s, y->n, i), after = c < y->n ? c + 1 : y->n;
  bool scope = has_prefix(y->s + after, y->n - after, "::");
  bool anon = c - i == 20 && memcmp(y->s + i + 1, "anonymous namespace", 19) == 0;
  if (scope && !anon) return after - i;
  if (!anon && y->lit == 0 && last_out(y) && !(after < y->n && y->s[after] == '.')) return 0;
  kb_buf_add(y->b, y->s + i, after - i);
  return after - i;
}

/* '<': template or generic arguments (after a name, or Rust's "::<") become <T>; MSVC's
 * <lambda_9f8e...> becomes <lambda>; anything else (<X as Y>, <impl X>) is kept. */
static size_t sym_angle(sym *y, size_t i) {
  size_t c = group_close(y->s, y->n, i), after = c < y->n ? c + 1 : y->n;
  const char *in = y->s + i + 1;
  size_t in_n = (c < y->n ? c : y->n) - i - 1;
  bool turbofish = y->b->len >= y->base + 2 && memcmp(y->b->ptr + y->b->len - 2, "::", 2) == 0 &&
                   !has_prefix(in, in_n, "impl ");
  if (has_prefix(in, in_n, "lambda_")) {
    kb_buf_adds(y->b, "<lambda>");
  } else if (turbofish || is_ident(last_out(y))) {
    if (turbofish) kb_buf_truncate(y->b, y->b->len - 2);
    kb_buf_adds(y->b, "<T>");
  } else {
    kb_buf_addc(y->b, '<');
    y->lit++;
    return 1;
  }
  return after - i;
}

static bool all_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i])) return false;
  return true;
}

/* '[': gcc's [clone .cold.1] and [abi:cxx11], Rust's [1a2b3c4d] disambiguator: dropped. */
static size_t sym_square(sym *y, size_t i) {
  size_t c = group_close(y->s, y->n, i), after = c < y->n ? c + 1 : y->n;
  const char *in = y->s + i + 1;
  size_t in_n = (c < y->n ? c : y->n) - i - 1;
  if (has_prefix(in, in_n, "clone ") || has_prefix(in, in_n, "abi:") || (in_n >= 4 && all_hex(in, in_n)))
    return after - i;
  kb_buf_addc(y->b, '[');
  y->lit++;
  return 1;
}

/* '{': gcc's {lambda(int)#1} -> {lambda}; Rust's {closure#0} -> {{closure}} (the legacy
 * spelling); {{closure}} and the rest are kept. */
static size_t sym_brace(sym *y, size_t i) {
  size_t c = group_close(y->s, y->n, i), after = c < y->n ? c + 1 : y->n;
  const char *in = y->s + i + 1;
  size_t in_n = (c < y->n ? c : y->n) - i - 1, w = 0;
  while (w < in_n && in[w] != '(' && in[w] != '#') w++;
  if (w == in_n) {
    kb_buf_add(y->b, y->s + i, after - i);
  } else if (w == 7 && memcmp(in, "closure", 7) == 0) {
    kb_buf_adds(y->b, "{{closure}}");
  } else {
    kb_buf_addc(y->b, '{');
    kb_buf_add(y->b, in, w);
    kb_buf_addc(y->b, '}');
  }
  return after - i;
}

/* MSVC's `anonymous namespace' and `2': copied whole (they contain spaces). */
static size_t sym_tick(sym *y, size_t i) {
  const char *q = memchr(y->s + i + 1, '\'', y->n - i - 1);
  size_t after = q ? (size_t)(q - y->s) + 1 : y->n;
  kb_buf_add(y->b, y->s + i, after - i);
  return after - i;
}

/* A space outside brackets: what came before was a return type, a calling convention or
 * "virtual thunk to", and is dropped; " + 8", " at file.c:3", " from libx.so" end the name. */
static size_t sym_space(sym *y, size_t i) {
  if (y->lit > 0) {
    kb_buf_addc(y->b, ' ');
    return 1;
  }
  size_t j = i;
  while (j < y->n && isspace((unsigned char)y->s[j])) j++;
  const char *r = y->s + j;
  size_t rn = y->n - j;
  if (rn == 0 || *r == '+' || has_word(r, rn, "at") || has_word(r, rn, "from")) return 0;
  if (*r != '(' && *r != '[') kb_buf_truncate(y->b, y->base);
  return j - i;
}

/* "::h0123456789abcdef" at s: Rust's legacy symbol hash (19 characters), else 0. */
static size_t rust_hash_len(const char *s, size_t n) {
  if (n < 19 || !has_prefix(s, n, "::h") || !all_hex(s + 3, 16)) return 0;
  return n == 19 || !isalnum((unsigned char)s[19]) ? 19 : 0;
}

/* One step of the scan: characters consumed, or 0 when the rest is not the name. */
static size_t sym_step(sym *y, size_t i) {
  const char *s = y->s + i;
  size_t n = y->n - i;
  switch (*s) {
  case '(': return sym_paren(y, i);
  case '<': return sym_angle(y, i);
  case '[': return sym_square(y, i);
  case '{': return sym_brace(y, i);
  case '`': return sym_tick(y, i);
  case ' ':
  case '\t': return sym_space(y, i);
  case '>':
  case ']':
    if (y->lit > 0) y->lit--;
    break;
  case '+': /* "+0x1f", "+31": an offset */
    if (y->lit == 0 && n > 1 && isdigit((unsigned char)s[1])) return 0;
    break;
  case '@': /* memcpy@plt, pthread_kill@@GLIBC_2.34, _foo@12 (stdcall) */
    if (y->lit == 0 && n > 1 && (isdigit((unsigned char)s[1]) || s[1] == '@' || has_prefix(s + 1, n - 1, "plt") ||
                                 has_prefix(s + 1, n - 1, "GLIBC")))
      return 0;
    break;
  case ':':
    if (rust_hash_len(s, n)) return 19;
    break;
  case '$': /* clang's lambda classes $_0, $_1 */
    if (n > 2 && s[1] == '_' && isdigit((unsigned char)s[2])) {
      kb_buf_adds(y->b, "$_");
      return 2 + span_digits(s + 2, n - 2, false);
    }
    break;
  case 'o':
    if (at_operator(y, i)) return sym_operator(y, i);
    break;
  default: break;
  }
  kb_buf_addc(y->b, *s);
  return 1;
}

static const char *const clone_suffixes[] = {".isra", ".constprop", ".part", ".cold", ".lto_priv",
                                             ".llvm", ".localalias", NULL};

/* gcc/clang clones: foo.isra.0, foo.constprop.3.cold, foo.llvm.1234 -> foo. */
static void strip_clone_suffixes(kb_buf *b, size_t base) {
  for (bool again = true; again;) {
    again = false;
    size_t end = b->len, d = end;
    while (d > base && isdigit((unsigned char)b->ptr[d - 1])) d--;
    if (d < end && d > base && b->ptr[d - 1] == '.') end = d - 1;
    for (const char *const *x = clone_suffixes; *x && !again; x++) {
      size_t l = strlen(*x);
      if (end - base > l && memcmp(b->ptr + end - l, *x, l) == 0) {
        kb_buf_truncate(b, end - l);
        again = true;
      }
    }
  }
}

/* Append the cleaned C/C++/Rust name of s[0..n) to b. */
static void symbol_clean(const char *s, size_t n, kb_buf *b) {
  trim(&s, &n);
  sym y = {s, n, b, b->len, 0};
  for (size_t i = 0, k; i < n; i += k)
    if (!(k = sym_step(&y, i))) break;
  kb_buf_rtrim(b);
  strip_clone_suffixes(b, y.base);
}

/* ---- textual rewrites (JVM, .NET, Go) ---- */

typedef enum { DROP_DIGITS, DROP_WORD, DROP_SEGMENT, DROP_DOTTED_DIGITS } drop_kind;

/* marker -> emit, then drop what follows the marker. `at_segment`: only right after a '.'. */
typedef struct rewrite {
  const char *marker;
  const char *emit;
  drop_kind drop;
  bool at_segment;
} rewrite;

static size_t drop_len(const char *s, size_t n, drop_kind how) {
  size_t i = 0;
  for (; i < n; i++) {
    char c = s[i];
    bool keep_going = how == DROP_DIGITS         ? isdigit((unsigned char)c)
                      : how == DROP_WORD         ? is_ident(c)
                      : how == DROP_SEGMENT      ? c != '.'
                                                 : isdigit((unsigned char)c) ||
                                                  (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]));
    if (!keep_going) break;
  }
  return i;
}

static void apply_rewrites(const char *s, size_t n, const rewrite *rw, size_t nrw, kb_buf *b) {
  bool starts[256] = {false}; /* first characters of the markers: most characters start none */
  for (size_t r = 0; r < nrw; r++) starts[(unsigned char)rw[r].marker[0]] = true;
  for (size_t i = 0, k; i < n; i += k) {
    k = 0;
    for (size_t r = 0; r < nrw && !k && starts[(unsigned char)s[i]]; r++) {
      if (!has_prefix(s + i, n - i, rw[r].marker) || (rw[r].at_segment && i > 0 && s[i - 1] != '.')) continue;
      size_t ml = strlen(rw[r].marker);
      kb_buf_adds(b, rw[r].emit);
      k = ml + drop_len(s + i + ml, n - i - ml, rw[r].drop);
    }
    if (k) continue;
    for (k = 1; i + k < n && !starts[(unsigned char)s[i + k]];) k++; /* copy up to the next possible marker */
    kb_buf_add(b, s + i, k);
  }
}

/* Generated Java names whose numbers change from build to build or run to run. */
static const rewrite jvm_rewrites[] = {
    {"$$Lambda$", "$$Lambda", DROP_DIGITS, false},      /* Foo$$Lambda$14 (the /0x... is gone) */
    {"$$EnhancerBy", "", DROP_WORD, false},             /* $$EnhancerBySpringCGLIB$$1a2b */
    {"$$FastClassBy", "", DROP_WORD, false},            /* $$FastClassBySpringCGLIB$$1a2b */
    {"$$SpringCGLIB$$", "", DROP_WORD, false},          /* Spring 6 */
    {"$HibernateProxy$", "", DROP_WORD, false},
    {"$ByteBuddy$", "", DROP_WORD, false},
    {"$MockitoMock$", "", DROP_WORD, false},
    {"GeneratedMethodAccessor", "GeneratedMethodAccessor", DROP_DIGITS, false},
    {"GeneratedConstructorAccessor", "GeneratedConstructorAccessor", DROP_DIGITS, false},
    {"GeneratedSerializationConstructorAccessor", "GeneratedSerializationConstructorAccessor", DROP_DIGITS, false},
    {"$Proxy", "$Proxy", DROP_DIGITS, false},           /* jdk.proxy2.$Proxy45 */
    {"lambda$", "lambda$", DROP_SEGMENT, true},         /* lambda$main$0 */
    {"$lambda$", "$lambda", DROP_DIGITS, false},        /* Kotlin */
    {"$lambda-", "$lambda", DROP_DIGITS, false},
    {"access$", "access$", DROP_DIGITS, true},          /* javac's synthetic accessors */
    {"accessor$", "accessor$", DROP_DIGITS, true},
};

static void norm_jvm(const kb_frame *f, kb_buf *b) {
  const char *s = f->function;
  size_t n = strcspn(s, "(");
  trim(&s, &n);
  kb_buf tmp = KB_BUF_INIT;
  if (f->module && !memchr(s, '.', n)) kb_buf_addf(&tmp, "%s.", f->module);
  /* hidden-class suffixes: $$Lambda$14/0x0000000800c03000, $$Lambda$1/1072591677 */
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '/' && i + 1 < n && isdigit((unsigned char)s[i + 1])) {
      while (i + 1 < n && (isxdigit((unsigned char)s[i + 1]) || s[i + 1] == 'x')) i++;
      continue;
    }
    kb_buf_addc(&tmp, s[i]);
  }
  /* Java 9 module and class loader prefixes: java.base@17/..., app//... */
  size_t start = basename_at(tmp.ptr, tmp.len);
  if (start == tmp.len) start = 0;
  apply_rewrites(tmp.ptr + start, tmp.len - start, jvm_rewrites, sizeof jvm_rewrites / sizeof jvm_rewrites[0], b);
  kb_buf_release(&tmp);
}

static void dotnet_scan(const char *s, size_t n, kb_buf *b, int depth);

/* .NET compiler-generated names at s[0] == '<' (not after a name): <M>d__5 and <M>d
 * (.MoveNext) are method M's async/iterator state machine -> "M" (M itself cleaned, for
 * async lambdas <<M>b__49_0>d); lambda and closure numbers are dropped: <M>b__0_1 ->
 * <M>b__, <M>g__Local|0_0 -> <M>g__Local, <>c__DisplayClass5_0 -> <>c__DisplayClass. */
static size_t dotnet_generated(const char *s, size_t n, kb_buf *b, int depth) {
  size_t c = group_close(s, n, 0);
  if (c >= n || depth > 8) {
    size_t k = c < n ? c + 1 : n;
    kb_buf_add(b, s, k);
    return k;
  }
  const char *t = s + c + 1;
  size_t tn = n - c - 1, k = 0;
  if (has_prefix(t, tn, "d__") || (tn >= 1 && t[0] == 'd' && (tn == 1 || t[1] == '.'))) {
    dotnet_scan(s + 1, c - 1, b, depth + 1);
    k = has_prefix(t, tn, "d__") ? 3 + span_digits(t + 3, tn - 3, true) : 1;
    if (has_prefix(t + k, tn - k, ".MoveNext")) k += 9;
    return c + 1 + k;
  }
  kb_buf_add(b, s, c + 1);
  if (has_prefix(t, tn, "b__") || has_prefix(t, tn, "c__DisplayClass")) {
    k = t[0] == 'b' ? 3 : 15;
    kb_buf_add(b, t, k);
    k += span_digits(t + k, tn - k, true);
  } else if (has_prefix(t, tn, "g__")) {
    for (k = 3; k < tn && t[k] != '|' && t[k] != '.';) k++;
    kb_buf_add(b, t, k);
    if (k < tn && t[k] == '|') k += 1 + span_digits(t + k + 1, tn - k - 1, true);
  }
  return c + 1 + k;
}

/* Length of the method name: up to the argument list or " in file:line", skipping the
 * spaces inside generic brackets (List`1[[System.String, mscorlib]]). */
static size_t dotnet_name_len(const char *s) {
  int depth = 0;
  size_t i = 0;
  for (; s[i]; i++) {
    if (depth == 0 && (s[i] == '(' || s[i] == ' ')) break;
    if (s[i] == '[') depth++;
    else if (s[i] == ']' && depth > 0) depth--;
  }
  return i;
}

static void dotnet_scan(const char *s, size_t n, kb_buf *b, int depth) {
  for (size_t i = 0, k; i < n; i += k) {
    char c = s[i];
    bool after_name = i > 0 && (is_ident(s[i - 1]) || s[i - 1] == '`');
    k = 1;
    if ((c == '[' || c == '<') && after_name) k = group_close(s, n, i) + 1 - i; /* generic arguments */
    else if (c == '<') k = dotnet_generated(s + i, n - i, b, depth);
    else if (has_prefix(s + i, n - i, "lambda_method"))
      kb_buf_adds(b, "lambda_method"), k = 13 + span_digits(s + i + 13, n - i - 13, false);
    else kb_buf_addc(b, c == '+' ? '.' : c); /* nested types: Outer+Inner */
    if (i + k > n) k = n - i;
  }
}

static void norm_dotnet(const kb_frame *f, kb_buf *b) {
  const char *s = f->function;
  while (isspace((unsigned char)*s)) s++;
  size_t n = dotnet_name_len(s);
  if (f->module && !memchr(s, '.', n)) kb_buf_addf(b, "%s.", f->module);
  dotnet_scan(s, n, b, 0);
}

/* Go closures and wrappers are numbered in source order: main.main.func1.2 -> main.main.func. */
static const rewrite go_rewrites[] = {
    {".func", ".func", DROP_DOTTED_DIGITS, false},
    {".gowrap", ".gowrap", DROP_DOTTED_DIGITS, false},
    {".deferwrap", ".deferwrap", DROP_DOTTED_DIGITS, false},
};

static void norm_go(const kb_frame *f, kb_buf *b) {
  const char *s = f->function;
  size_t n = strlen(s);
  trim(&s, &n);
  /* the argument list: the first (...) not followed by '.' (a receiver "(*T)." is kept) */
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '(') continue;
    size_t c = group_close(s, n, i);
    if (c + 1 < n && s[c + 1] == '.') i = c;
    else n = i;
  }
  apply_rewrites(s, n, go_rewrites, sizeof go_rewrites / sizeof go_rewrites[0], b);
}

/* ---- file-based platforms ---- */

/* views.py -> "views"; pkg/__init__.py -> "pkg"; <frozen importlib._bootstrap> stays.
 * "pkg__init__.py" is pkg\__init__.py after a Markdown renderer ate the "\_": "pkg". */
static void python_module(const char *file, kb_buf *b) {
  size_t n = strlen(file);
  trim(&file, &n);
  if (n > 3 && memcmp(file + n - 3, ".py", 3) == 0) n -= 3;
  size_t base = basename_at(file, n);
  bool init = n - base >= 8 && memcmp(file + n - 8, "__init__", 8) == 0;
  if (init && n - base > 8) {
    n -= 8;
  } else if (init && base > 1) {
    n = base - 1;
    base = basename_at(file, n);
  }
  kb_buf_add(b, file + base, n - base);
}

static void norm_python(const kb_frame *f, kb_buf *b) {
  if (f->file) {
    python_module(f->file, b);
  } else if (f->module) {
    const char *dot = strrchr(f->module, '.');
    kb_buf_adds(b, dot ? dot + 1 : f->module);
  }
  if (b->len) kb_buf_addc(b, ':');
  const char *fn = f->function ? f->function : "?";
  size_t n = strlen(fn);
  trim(&fn, &n);
  kb_buf_add(b, fn, n);
}

/* Length of a bundler's content hash at s ("-3f2a1b9c", ".3f2a1b7c" before '.' or the
 * end, 8 or more hex digits), or 0. */
static size_t build_hash_len(const char *s, size_t n) {
  if (n < 9 || (s[0] != '.' && s[0] != '-')) return 0;
  size_t h = 1;
  while (h < n && isxdigit((unsigned char)s[h])) h++;
  return h >= 9 && (h == n || s[h] == '.') ? h : 0;
}

/* "http://x/static/app.3f2a1b7c.js?v=3:10:15" -> "app.js". */
static void js_file(const char *file, kb_buf *b) {
  size_t n = strlen(file);
  trim(&file, &n);
  for (int k = 0; k < 2; k++) { /* :line:column */
    size_t d = n;
    while (d && isdigit((unsigned char)file[d - 1])) d--;
    if (d < n && d > 0 && file[d - 1] == ':') n = d - 1;
  }
  size_t query = strcspn(file, "?#");
  if (query < n) n = query;
  size_t base = basename_at(file, n);
  for (size_t i = base, k; i < n; i += k) {
    k = build_hash_len(file + i, n - i);
    if (!k) kb_buf_addc(b, file[i]), k = 1;
  }
}

static void norm_js(const kb_frame *f, kb_buf *b) {
  const char *fn = f->function ? f->function : "";
  size_t n = strlen(fn);
  trim(&fn, &n);
  for (bool again = true; again;) {
    again = has_prefix(fn, n, "async ") || has_prefix(fn, n, "new ");
    if (again) {
      size_t w = fn[0] == 'a' ? 6 : 4;
      fn += w, n -= w;
    }
  }
  const char *alias = strstr(fn, " [as "); /* V8's "Layer.handle [as handle_request]" */
  if (alias && (size_t)(alias - fn) < n) n = (size_t)(alias - fn);
  if (n) kb_buf_add(b, fn, n);
  else kb_buf_adds(b, "<anonymous>");
  if (f->file) {
    kb_buf_addc(b, ':');
    js_file(f->file, b);
  }
}

/* ---- symbol platforms ---- */

static void norm_windows(const kb_frame *f, kb_buf *b) {
  add_module(f, b);
  symbol_clean(f->function, strlen(f->function), b);
}

/* native and rust: the function alone (see the top of the file for why not "lib!f"). */
static void norm_symbol(const kb_frame *f, kb_buf *b) {
  symbol_clean(f->function, strlen(f->function), b);
}

/* Syscall entry stubs name the syscall: __x64_sys_ioctl, __se_sys_ioctl, SyS_ioctl -> ioctl. */
static const char *const syscall_prefixes[] = {
    "__x64_sys_", "__ia32_sys_", "__arm64_sys_", "__riscv_sys_", "__s390x_sys_", "__x64_compat_sys_",
    "__ia32_compat_sys_", "__arm64_compat_sys_", "__se_compat_sys_", "__do_compat_sys_", "compat_sys_",
    "__se_sys_", "__do_sys_", "SyS_", "sys_", NULL};

static void norm_linux(const kb_frame *f, kb_buf *b) {
  size_t at = b->len;
  symbol_clean(f->function, strlen(f->function), b);
  for (const char *const *p = syscall_prefixes; *p; p++) {
    size_t l = strlen(*p);
    if (b->len - at > l && memcmp(b->ptr + at, *p, l) == 0) {
      memmove(b->ptr + at, b->ptr + at + l, b->len - at - l + 1);
      b->len -= l;
      break;
    }
  }
}

/* ---- the driver ---- */

typedef struct platform_norm {
  const char *name;
  void (*norm)(const kb_frame *f, kb_buf *b);
  bool by_file; /* python, js: the file names the code, a missing function is no loss */
  bool modules; /* an unsymbolized frame is still "module!?" */
} platform_norm;

static const platform_norm platforms[] = {
    {"native", norm_symbol, false, true}, /* first: the fallback */
    {"windows", norm_windows, false, true},
    {"linux", norm_linux, false, true},
    {"rust", norm_symbol, false, false},
    {"go", norm_go, false, false},
    {"jvm", norm_jvm, false, false},
    {"dotnet", norm_dotnet, false, false},
    {"python", norm_python, true, false},
    {"js", norm_js, true, false},
};

static const platform_norm *platform_find(const char *name) {
  for (size_t i = 0; name && i < sizeof platforms / sizeof platforms[0]; i++)
    if (strcmp(platforms[i].name, name) == 0) return &platforms[i];
  return &platforms[0];
}

/* The frame's norm into f->norm and KB_FRAME_UNSYMBOLIZED into f->flags. */
static void frame_normalize(kb_frame *f, const platform_norm *p) {
  kb_buf b = KB_BUF_INIT;
  bool missing = p->by_file ? !f->file && name_missing(f->function) : name_missing(f->function);
  if (!missing) p->norm(f, &b);
  if (missing || b.len == 0 || b.ptr[b.len - 1] == '!') {
    kb_buf_reset(&b);
    if (p->modules) add_module(f, &b);
    kb_buf_addc(&b, '?');
    f->flags |= KB_FRAME_UNSYMBOLIZED;
  }
  free(f->norm);
  f->norm = kb_buf_detach(&b, NULL);
  if (!f->norm) f->norm = kb_xstrdup("?"); /* only if the buffer overflowed its maximum */
}

/* Append a frame's norm to the signature when it fits; a first frame is cut to fit (at a
 * UTF-8 character boundary). False when it does not fit. */
static bool signature_add(kb_buf *sig, kb_frame *f) {
  size_t n = strlen(f->norm), sep = sig->len ? 3 : 0;
  if (sig->len + sep + n > SIGNATURE_MAX) {
    if (sig->len) return false;
    n = SIGNATURE_MAX;
    while (n && ((unsigned char)f->norm[n] & 0xC0) == 0x80) n--;
  }
  if (sep) kb_buf_adds(sig, " | ");
  kb_buf_add(sig, f->norm, n);
  f->flags |= KB_FRAME_SIGNATURE;
  return true;
}

/* Go's structure: frames above the last panic() are deferred functions that ran while
 * panicking (typically a recover that re-panics): the crash is where that panic came
 * from, so they are SKIP. A call Go inlined prints its arguments as "(...)"; inlining
 * changes with the compiler version, so such a frame is a PREFIX: it does not end the
 * signature, which would otherwise stop at it in one build and go past it in the next. */
static void go_structure(kb_stack *st) {
  size_t last = 0;
  for (size_t i = 1; i < st->nframes; i++) {
    const char *n = st->frames[i].norm;
    if (strcmp(n, "panic") == 0 || strcmp(n, "runtime.gopanic") == 0) last = i;
  }
  for (size_t i = 0; i < st->nframes; i++) {
    kb_frame *f = &st->frames[i];
    if (i < last) f->flags |= KB_FRAME_SKIP;
    bool inlined = f->function && kb_str_endswith(f->function, "(...)");
    if (inlined && !(f->flags & KB_FRAME_SKIP)) f->flags |= KB_FRAME_PREFIX;
  }
}

static void stack_signature(kb_stack *st) {
  kb_buf sig = KB_BUF_INIT;
  for (size_t i = 0; i < st->nframes; i++) {
    kb_frame *f = &st->frames[i];
    if (f->flags & KB_FRAME_SKIP) continue;
    if (!signature_add(&sig, f)) break;
    if (!(f->flags & (KB_FRAME_PREFIX | KB_FRAME_UNSYMBOLIZED))) break;
  }
  if (sig.len == 0 && st->nframes) signature_add(&sig, &st->frames[0]);
  free(st->signature);
  st->signature = kb_buf_detach(&sig, NULL);
}

void kb_stack_normalize(kb_stack *st) {
  const platform_norm *p = platform_find(st->platform);
  const kb_skiplist *list = kb_skiplist_get(p->name); /* an unknown platform reads as native */
  for (size_t i = 0; i < st->nframes; i++) {
    kb_frame *f = &st->frames[i];
    f->flags &= ~(unsigned)(KB_FRAME_SKIP | KB_FRAME_PREFIX | KB_FRAME_SIGNATURE | KB_FRAME_UNSYMBOLIZED);
    frame_normalize(f, p);
    f->flags |= kb_skiplist_classify(list, f->norm, f->file);
  }
  if (strcmp(p->name, "go") == 0) go_structure(st);
  stack_signature(st);
}
