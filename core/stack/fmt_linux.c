/* fmt_linux.c - Linux kernel oopses, panics, BUG:, WARNING: and KASAN/KMSAN reports.
 * A kb_format (format.h) offered every line by the parser's driver (stack.c), which has
 * already removed syslog prefixes ("Nov 25 19:30:28 host kernel: "), printk levels and
 * timestamps ("[  123.456789]", "[  12.3][ T31]").
 *
 * Frames, innermost first as the kernel prints them:
 *    func+0x1a/0x40 [module]                       (x86, arm64; "[module]" when not built in)
 *    ? func+0x1a/0x40                              (unreliable: see below)
 *    [<ffffffff81234567>] func+0x1a/0x40           (before 4.x; "[]" when a blog ate the <...>)
 *    [<80311ae4>] (__vunmap) from [<80311dbc>] (__vfree+0x50/0x90)       (ARM, before 5.x)
 *    rtw_core_start [rtw_core] from rtw_ops_start+0x28/0x3c [rtw_core]   (ARM, 5.x on)
 *    __dump_stack lib/dump_stack.c:94 [inline]     (symbolized: file and line)
 *    __switch_to+0x2b0/0x6e0 (T)                   (arm64 with the unwinder's mark)
 * The frame's module is the bracketed name without brackets, NULL for vmlinux itself;
 * the offset is "0x1a/0x40" as printed.
 *
 * Unreliable frames ("? func+0x1a/0x40") are stack words that merely look like return
 * addresses. They are kept, in order, so that the stack reads as printed; the '?' stays
 * visible in frame->raw and frame->address is NULL (even where the old format printed
 * one), which is how the normalizer tells them apart: deciding to skip them is its job.
 *
 * The crash site: "RIP: 0010:func+0x1a/0x40 [module]" (also "IP: [<...>] func", "EIP is
 * at func", "PC is at func", arm64's "pc : func") is made a frame where it is printed.
 * From 4.x on it comes before "Call Trace:", so it becomes frame 0 and the trace follows;
 * before that, and for an exception taken inside the trace, it comes in the middle, where
 * the interrupted function belongs (under the handler's frames). It is a frame rather
 * than a reason field because matching compares frames, and the crash site is the most
 * telling one; the reason already names the function where the kernel does (KASAN,
 * WARNING). A trace that repeats the crash site as its first frame does not duplicate it,
 * and user-mode RIPs ("RIP: 0033:0x465b29") are not frames.
 *
 * The reason (kind "kernel"): code "NULL pointer dereference", "paging request",
 * "general protection fault", "kernel BUG" (message "fs/x.c:123"), "WARNING" (message
 * "net/x.c:12", name the function), "KASAN: use-after-free" (name the function), "Kernel
 * panic" (message the panic text), and for other "BUG:"/"INFO:" lines the text up to
 * its first ':' or ','. KASAN's "Allocated by task", "Freed by task" and KMSAN's "Uninit
 * was created at:" stacks are stacks of their own; "---[ end trace" ends a stack. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stack/format.h"
#include "util/util.h"

static bool starts(const char *s, size_t n, const char *prefix) { return kb_fmt_starts(s, n, prefix); }
/* A literal prefix, its length known at compile time (classify runs on every line). */
#define STARTS(s, n, lit) ((n) >= sizeof(lit) - 1 && memcmp((s), (lit), sizeof(lit) - 1) == 0)

static bool starts_ci(const char *s, size_t n, const char *prefix) {
  size_t pl = strlen(prefix);
  if (n < pl) return false;
  for (size_t i = 0; i < pl; i++)
    if (tolower((unsigned char)s[i]) != tolower((unsigned char)prefix[i])) return false;
  return true;
}

static const char *skip_spaces(const char *p, const char *end) {
  while (p < end && *p == ' ') p++;
  return p;
}

/* ---- frames ---- */

static bool is_sym_start(char c) { return isalpha((unsigned char)c) || c == '_' || c == '.' || c == '$'; }
static bool is_sym_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$'; }

/* "+0x1a/0x40" (or "+0x1a"): its length, 0 if none; *sized when it has the "/0x40". */
static size_t offset_len(const char *p, const char *end, bool *sized) {
  *sized = false;
  if (p + 3 >= end || p[0] != '+' || p[1] != '0' || p[2] != 'x') return 0;
  const char *q = p + 3, *d = q;
  while (q < end && isxdigit((unsigned char)*q)) q++;
  if (q == d) return 0;
  if (q + 3 < end && q[0] == '/' && q[1] == '0' && q[2] == 'x' && isxdigit((unsigned char)q[3])) {
    q += 3;
    while (q < end && isxdigit((unsigned char)*q)) q++;
    *sized = true;
  }
  return (size_t)(q - p);
}

/* "[module]" at p: the name's bounds, the end of the brackets returned (p if none). */
static const char *module_at(const char *p, const char *end, const char **m, size_t *mn) {
  if (p >= end || *p != '[') return p;
  const char *q = p + 1;
  while (q < end && (is_sym_char(*q) || *q == '-')) q++;
  if (q == p + 1 || q >= end || *q != ']') return p;
  *m = p + 1, *mn = (size_t)(q - p - 1);
  return q + 1;
}

/* "lib/dump_stack.c:94" (a symbolized trace) or "(arch/x86/x.c:523)": file and line. */
static const char *file_line_at(const char *p, const char *end, kb_frame *f) {
  bool paren = p < end && *p == '(';
  const char *s = p + paren, *q = s, *colon = NULL;
  while (q < end && *q != ' ' && *q != ')') {
    if (*q == ':') colon = q;
    q++;
  }
  if (!colon || colon == s || colon + 1 >= q || !memchr(s, '.', (size_t)(colon - s))) return p;
  for (const char *d = colon + 1; d < q; d++)
    if (!isdigit((unsigned char)*d)) return p;
  f->file = kb_xstrndup(s, (size_t)(colon - s));
  f->line = atoi(colon + 1);
  if (paren && q < end && *q == ')') q++;
  return q;
}

/* What may follow a frame: "[inline]", the arm64 unwinder's "(T)", ARM's "from caller". */
static bool frame_tail_ok(const char *p, const char *end) {
  for (;;) {
    p = skip_spaces(p, end);
    if (p >= end) return true;
    if (STARTS(p, (size_t)(end - p), "[inline]")) p += 8;
    else if (end - p >= 3 && p[0] == '(' && isupper((unsigned char)p[1]) && p[2] == ')') p += 3;
    else if (STARTS(p, (size_t)(end - p), "(unreliable)")) p += 12;
    else return STARTS(p, (size_t)(end - p), "from ");
  }
}

/* ARM's " from caller+0x20/0xac": the caller must look like a frame. */
static bool from_caller(const char *p, const char *end) {
  if (!STARTS(p, (size_t)(end - p), "from ")) return false;
  p += 5;
  if (p >= end || !is_sym_start(*p)) return false;
  while (p < end && is_sym_char(*p)) p++;
  bool sized;
  return offset_len(p, end, &sized) && sized;
}

/* "func+0x1a/0x40 [module] file.c:12 [inline]" at p. Without "/size" a frame is taken only
 * inside a stack (`loose`), after an old-format address, or when followed by a file or
 * "from"; a symbol alone never is. */
static bool symbol_frame(const char *p, const char *end, bool loose, kb_frame *f) {
  if (p >= end || !is_sym_start(*p)) return false;
  const char *q = p;
  while (q < end && is_sym_char(*q)) q++;
  bool sized;
  size_t ol = offset_len(q, end, &sized);
  const char *r = skip_spaces(q + ol, end);
  const char *m = NULL;
  size_t mn = 0;
  r = skip_spaces(module_at(r, end, &m, &mn), end);
  kb_frame probe = {0};
  const char *after_file = file_line_at(r, end, &probe);
  const char *tail = skip_spaces(after_file, end);
  bool from = from_caller(tail, end);
  bool inl = STARTS(tail, (size_t)(end - tail), "[inline]");
  bool ok = (sized || (ol && loose) || (probe.file && (inl || loose)) || from) && frame_tail_ok(after_file, end);
  if (!ok) {
    kb_frame_release(&probe);
    return false;
  }
  f->function = kb_xstrndup(p, (size_t)(q - p));
  if (ol) f->offset = kb_xstrndup(q + 1, ol - 1);
  if (m) f->module = kb_xstrndup(m, mn);
  f->file = probe.file, f->line = probe.line;
  return true;
}

/* "[<ffffffff81234567>]" (or the "[]" a blog leaves of it): its end, the address. */
static const char *old_address(const char *p, const char *end, const char **a, size_t *an) {
  if (end - p >= 2 && p[0] == '[' && p[1] == ']') return p + 2;
  if (end - p < 5 || p[0] != '[' || p[1] != '<') return NULL;
  const char *q = p + 2;
  while (q < end && isxdigit((unsigned char)*q)) q++;
  if (q == p + 2 || end - q < 2 || q[0] != '>' || q[1] != ']') return NULL;
  *a = p + 2, *an = (size_t)(q - p - 2);
  return q + 2;
}

/* ARM before 5.x: "(__vunmap) from [<...>] (caller)" or "(func+0x18/0x64) from ...". */
static bool arm_paren_frame(const char *p, const char *end, kb_frame *f) {
  if (p >= end || *p != '(') return false;
  const char *close = memchr(p, ')', (size_t)(end - p));
  if (!close) return false;
  const char *q = p + 1;
  while (q < close && is_sym_char(*q)) q++;
  if (q == p + 1 || !is_sym_start(p[1])) return false;
  bool sized;
  size_t ol = offset_len(q, close, &sized);
  if (q + ol != close) return false;
  f->function = kb_xstrndup(p + 1, (size_t)(q - p - 1));
  if (ol) f->offset = kb_xstrndup(q + 1, ol - 1);
  return true;
}

/* PowerPC: "[c000003fdc18bc80] [c000000000159400] " (stack pointer, then address). */
static const char *ppc_address(const char *p, const char *end, const char **a, size_t *an) {
  for (int i = 0; i < 2; i++) {
    if (p >= end || *p != '[') return NULL;
    const char *q = p + 1;
    while (q < end && isxdigit((unsigned char)*q)) q++;
    if (q - p < 9 || q >= end || *q != ']') return NULL;
    *a = p + 1, *an = (size_t)(q - p - 1);
    p = skip_spaces(q + 1, end);
  }
  return p;
}

static bool ends_with(const char *s, const char *end, const char *suffix) {
  size_t k = strlen(suffix);
  return (size_t)(end - s) >= k && memcmp(end - k, suffix, k) == 0;
}

static kb_line_kind frame_line(const char *s, size_t n, kb_stack *cur, kb_frame *f) {
  const char *p = s, *end = s + n, *a = NULL;
  size_t an = 0;
  const char *after = old_address(p, end, &a, &an);
  if (!after) after = ppc_address(p, end, &a, &an);
  bool old = after != NULL;
  if (old) p = skip_spaces(after, end);
  bool unreliable = (p < end && *p == '?') || ends_with(p, end, " (unreliable)");
  if (p < end && *p == '?') p = skip_spaces(p + 1, end);
  bool ok = old && arm_paren_frame(p, end, f);
  if (!ok) ok = symbol_frame(p, end, cur != NULL || old, f);
  if (!ok && cur && !old && end - p > 2 && p[0] == '0' && p[1] == 'x') { /* unsymbolized */
    const char *q = p + 2;
    while (q < end && isxdigit((unsigned char)*q)) q++;
    if (q == end && q > p + 2) {
      if (!unreliable) f->address = kb_xstrndup(p, (size_t)(q - p));
      return KB_LINE_FRAME;
    }
  }
  if (!ok) return KB_LINE_NONE;
  if (a && !unreliable) f->address = kb_xstrndup(a, an);
  return KB_LINE_FRAME;
}

/* ---- the crash site ---- */

static bool same_site(const kb_frame *a, const kb_frame *b) {
  return a->function && b->function && strcmp(a->function, b->function) == 0 &&
         (!a->offset || !b->offset || strcmp(a->offset, b->offset) == 0);
}

static bool is_site_raw(const char *raw) {
  static const char *const marks[] = {"RIP: ", "IP: ", "EIP is at ", "PC is at ", "pc : ", "NIP [", NULL};
  for (const char *const *m = marks; *m; m++)
    if (starts(raw, strlen(raw), *m)) return true;
  return false;
}

/* Only the crash site so far: the "Call Trace:" that follows belongs to it. */
static bool only_site(const kb_stack *cur) {
  return cur && (cur->nframes == 0 || (cur->nframes == 1 && cur->frames[0].raw && is_site_raw(cur->frames[0].raw)));
}

/* "RIP: 0010:func+0x1a/0x40 [mod]", "RIP: 0010:[<ffffffff82d4e304>]  [<...>] __memset+0x24/0x30",
 * "IP: [<ffffffffa009e8fa>] netflow_target+0x8aa/0x1210 [ipt_NETFLOW]", "EIP is at func",
 * "PC is at func", "pc : func+0x18/0x64". NONE when the line is none of these. */
static kb_line_kind site_line(const char *s, size_t n, kb_stack *cur, kb_frame *f) {
  const char *end = s + n, *p = NULL;
  if (STARTS(s, n, "RIP: ") && n > 10 && s[9] == ':') {
    if (memcmp(s + 5, "0010", 4) != 0) return cur ? KB_LINE_CONT : KB_LINE_NONE; /* user mode */
    p = s + 10;
  } else if (STARTS(s, n, "IP: ")) {
    p = s + 4;
  } else if (STARTS(s, n, "NIP [")) {
    p = s + 4;
  } else if (STARTS(s, n, "EIP is at ") || STARTS(s, n, "PC is at ")) {
    p = s + (s[0] == 'E' ? 10 : 9);
  } else if (STARTS(s, n, "pc : ") && n > 5 && s[5] != '[') {
    p = s + 5;
  } else {
    return KB_LINE_NONE;
  }
  const char *a = NULL, *after;
  size_t an = 0;
  while ((after = old_address(skip_spaces(p, end), end, &a, &an))) p = after;
  if (STARTS(s, n, "NIP [")) { /* PowerPC: "NIP [c000000000ac0ce8] func+0x18/0xf0" */
    const char *q = p + 1;
    while (q < end && isxdigit((unsigned char)*q)) q++;
    if (q >= end || *q != ']') return cur ? KB_LINE_CONT : KB_LINE_NONE;
    a = p + 1, an = (size_t)(q - p - 1), p = q + 1;
  }
  p = skip_spaces(p, end);
  if (end - p > 2 && p[0] == '0' && p[1] == 'x') { /* "RIP: 0010:0x0": no symbol */
    f->address = kb_fmt_strndup_trim(p, (size_t)(end - p));
  } else if (!symbol_frame(p, end, true, f)) {
    kb_frame_release(f);
    return cur ? KB_LINE_CONT : KB_LINE_NONE;
  }
  if (a && !f->address) f->address = kb_xstrndup(a, an);
  if (cur && cur->nframes && same_site(&cur->frames[cur->nframes - 1], f)) {
    kb_frame_release(f);
    return KB_LINE_CONT;
  }
  f->flags |= KB_FRAME_LONE; /* the crash site: with the oops line, a report of its own */
  return KB_LINE_FRAME;
}

/* ---- reasons ---- */

/* The function named after " in " or " at FILE:LINE " ("func+0x1a/0x40" -> "func"). */
static void name_function(const char *p, const char *end, kb_reason *r) {
  p = skip_spaces(p, end);
  const char *q = p;
  while (q < end && is_sym_char(*q)) q++;
  if (q > p && is_sym_start(*p)) kb_reason_set(&r->name, p, (size_t)(q - p));
}

static const char *find(const char *s, const char *end, const char *needle) {
  return memmem(s, (size_t)(end - s), needle, strlen(needle));
}

static void set_kind(kb_reason *r) { kb_reason_set(&r->kind, "kernel", 6); }

/* "KASAN: use-after-free in func+0x.../0x..." (also KMSAN, KCSAN, KFENCE, UBSAN). */
static bool sanitizer_reason(const char *s, const char *end, kb_reason *r) {
  static const char *const tools[] = {"KASAN: ", "KMSAN: ", "KCSAN: ", "KFENCE: ", "UBSAN: ", NULL};
  for (const char *const *t = tools; *t; t++) {
    if (!starts(s, (size_t)(end - s), *t)) continue;
    const char *kind = s + strlen(*t), *q = kind;
    while (q < end && *q != ' ') q++;
    set_kind(r);
    kb_reason_set(&r->code, s, (size_t)(q - s));
    const char *in = find(q, end, " in ");
    if (in && !STARTS(in, (size_t)(end - in), " in range ")) name_function(in + 4, end, r);
    kb_reason_set(&r->message, s, (size_t)(end - s));
    return true;
  }
  return false;
}

/* The text of a BUG:/INFO: line up to its first ':' ',' '!' " - " " at " " in ". */
static size_t phrase_len(const char *p, const char *end) {
  const char *q = p;
  for (; q < end; q++) {
    if (*q == ':' || *q == ',' || *q == '!') break;
    if (*q == ' ' && (STARTS(q, (size_t)(end - q), " - ") || STARTS(q, (size_t)(end - q), " at ") ||
                      STARTS(q, (size_t)(end - q), " in ")))
      break;
  }
  return (size_t)(q - p);
}

/* "unable to handle kernel NULL pointer dereference at ..." and its forms. */
static bool fault_reason(const char *p, const char *end, kb_reason *r) {
  static const struct {
    const char *text, *code;
  } faults[] = {{"NULL pointer dereference", "NULL pointer dereference"},
                {"paging request", "paging request"},
                {"page fault", "page fault"}};
  if (!starts_ci(p, (size_t)(end - p), "unable to handle ") && !STARTS(p, (size_t)(end - p), "kernel NULL pointer"))
    return false;
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
    if (!find(p, end, faults[i].text)) continue;
    set_kind(r);
    kb_reason_set(&r->code, faults[i].code, strlen(faults[i].code));
    kb_reason_set(&r->message, p, (size_t)(end - p));
    return true;
  }
  return false;
}

/* "WARNING: CPU: 1 PID: 2 at net/x.c:12 func+0x1a/0x40 [mod]", "WARNING: at x.c:12 func()",
 * and lockdep's "WARNING: possible circular locking dependency detected". WinDbg's
 * "WARNING: Stack unwind information not available" is not the kernel's. */
static bool warning_reason(const char *s, const char *end, kb_reason *r) {
  if (!STARTS(s, (size_t)(end - s), "WARNING: ")) return false;
  const char *p = s + 9;
  const char *at = STARTS(p, (size_t)(end - p), "at ") ? p - 1 : NULL;
  if (!at && STARTS(p, (size_t)(end - p), "CPU: ")) at = find(p, end, " at ");
  if (at) {
    const char *file = at + 4, *fe = file;
    while (fe < end && *fe != ' ') fe++;
    set_kind(r);
    kb_reason_set(&r->code, "WARNING", 7);
    kb_reason_set(&r->message, file, (size_t)(fe - file));
    name_function(fe, end, r);
    return true;
  }
  if (p < end && islower((unsigned char)*p)) {
    set_kind(r);
    size_t k = (size_t)(end - p);
    while (k && (p[k - 1] == '!' || p[k - 1] == '.')) k--;
    kb_reason_set(&r->code, p, k);
    return true;
  }
  return false;
}

/* ZFS/SPL assertions: "PANIC at zfs_vfsops.c:400:zfs_space_delta_cb()" and the older
 * "SPLError: 324:0:(zfs_vfsops.c:390:zfs_space_delta_cb()) SPL PANIC": the function
 * named is the crash site, whatever the (often cut) trace below shows. */
static bool spl_panic_reason(const char *s, const char *end, kb_reason *r) {
  const char *at;
  if (STARTS(s, (size_t)(end - s), "PANIC at ")) at = s + 9;
  else if (STARTS(s, (size_t)(end - s), "SPLError: ") && find(s, end, "SPL PANIC") && (at = memchr(s, '(', (size_t)(end - s))))
    at++;
  else
    return false;
  const char *paren = memchr(at, '(', (size_t)(end - at));
  if (!paren) return false;
  const char *fn = paren;
  while (fn > at && fn[-1] != ':') fn--;
  set_kind(r);
  kb_reason_set(&r->code, "SPL PANIC", 9);
  kb_reason_set(&r->name, fn, (size_t)(paren - fn));
  kb_reason_set(&r->message, at, (size_t)(fn - at > 1 ? fn - at - 1 : 0));
  return true;
}

static kb_line_kind reason_line(const char *s, size_t n, kb_reason *r) {
  const char *end = s + n, *p;
  if (STARTS(s, n, "BUG: ")) {
    p = s + 5;
    if (sanitizer_reason(p, end, r) || fault_reason(p, end, r)) return KB_LINE_REASON;
    set_kind(r);
    kb_reason_set(&r->code, p, phrase_len(p, end));
    kb_reason_set(&r->message, p, (size_t)(end - p));
    return KB_LINE_REASON;
  }
  if (sanitizer_reason(s, end, r) || fault_reason(s, end, r) || warning_reason(s, end, r)) return KB_LINE_REASON;
  if (STARTS(s, n, "kernel BUG at ")) {
    p = s + 14;
    const char *q = p;
    while (q < end && *q != '!' && *q != ' ') q++;
    set_kind(r);
    kb_reason_set(&r->code, "kernel BUG", 10);
    kb_reason_set(&r->message, p, (size_t)(q - p));
    return KB_LINE_REASON;
  }
  if (spl_panic_reason(s, end, r)) return KB_LINE_REASON;
  if (STARTS(s, n, "Kernel panic - not syncing: ")) {
    set_kind(r);
    kb_reason_set(&r->code, "Kernel panic", 12);
    kb_reason_set(&r->message, s + 28, n - 28);
    return KB_LINE_REASON;
  }
  static const char *const traps[] = {"general protection fault", "divide error:", "invalid opcode:",
                                      "stack segment:", "double fault:", NULL};
  for (const char *const *t = traps; *t; t++) {
    if (!starts(s, n, *t)) continue;
    size_t k = strlen(*t);
    set_kind(r);
    kb_reason_set(&r->code, s, (*t)[k - 1] == ':' ? k - 1 : k);
    kb_reason_set(&r->message, s, n);
    return KB_LINE_REASON;
  }
  if (STARTS(s, n, "INFO: task ") && find(s, end, " blocked ") && find(s, end, " for more than ")) {
    set_kind(r);
    kb_reason_set(&r->code, "hung task", 9);
    kb_reason_set(&r->message, s + 6, n - 6);
    return KB_LINE_REASON;
  }
  if (STARTS(s, n, "INFO: ") && n > 6 && islower((unsigned char)s[6])) {
    set_kind(r);
    kb_reason_set(&r->code, s + 6, phrase_len(s + 6, end));
    kb_reason_set(&r->message, s + 6, n - 6);
    return KB_LINE_REASON;
  }
  return KB_LINE_NONE;
}

/* ---- the lines of a report that are neither frames nor reasons ---- */

/* Registers and memory: "RSP: 0018:ffff...", "RAX: 0000... RBX:", "FS:  0000...", "CR2:",
 * "r10: c5cf5dc0  r9 : 00000000", "r4:85c53340", "5d20: bf094288 ...", and lines of
 * hex words (the old "Stack:" dump). */
static bool register_line(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && i < 6 && isalnum((unsigned char)s[i])) i++;
  if (i >= 1 && i < n) {
    size_t j = i;
    while (j < n && s[j] == ' ') j++;
    if (j < n && s[j] == ':') {
      j++;
      while (j < n && s[j] == ' ') j++;
      size_t h = j;
      while (j < n && isxdigit((unsigned char)s[j])) j++;
      if (j - h >= 4 && (j == n || s[j] == ' ' || s[j] == ':' || s[j] == '(')) return true;
    }
  }
  size_t words = 0;
  for (size_t k = 0; k < n;) {
    while (k < n && s[k] == ' ') k++;
    size_t t = k;
    while (k < n && s[k] != ' ') k++;
    if (k == t) break;
    if (!kb_fmt_is_hex(s + t, k - t)) return false;
    words++;
  }
  return words >= 2;
}

static bool context_line(const char *s, size_t n) {
  static const char *const prefixes[] = {
      "Code: ", "Oops: ", "Oops#", "#PF: ", "PGD ", "CPU: ", "Hardware name: ", "Workqueue: ", "Modules linked in:",
      "Dumping ftrace buffer:", "(ftrace buffer empty)", "Tainted: ", "task: ", "Stack:", "Kernel Offset:",
      "---[ ", "------------[ cut here ]", "Read of size ", "Write of size ", "Free of addr", "Call trace:",
      "Exception stack(", "Flags: ", "Process ", "Internal error: ", "LR is at ", "lr : ", "sp : ", "pc : [<",
      "RIP  [<", "EIP: ", "RSP <", "Backtrace:", "list_del corruption", "list_add corruption", "note: ",
      "irq event stamp:", "hardirqs ", "softirqs ", "Mem abort info:", "Data abort info:", "  ESR = ",
      "ESR = ", "EC = ", "SET = ", "FSC = ", "ISV = ", "CM = ", "user pgtable:", "[0000", "Disabling lock debugging",
      "Unable to handle kernel", "printing eip:", "*pde = ", "Last Branch", "LR [", "Instruction dump:",
      "MSR: ", "CFAR: ", "IRQMASK: ", "NIP:  ", NULL};
  for (const char *const *p = prefixes; *p; p++)
    if (starts(s, n, *p)) return true;
  return register_line(s, n);
}

static kb_line_kind block_line(const char *s, size_t n, kb_stack *cur) {
  static const char *const marks[] = {"<TASK>", "</TASK>", "<IRQ>", "</IRQ>", "<EOI>", "<NMI>", "</NMI>", "<#DF>",
                                      "</#DF>", NULL};
  for (const char *const *m = marks; *m; m++)
    if (n == strlen(*m) && memcmp(s, *m, n) == 0) return cur ? KB_LINE_CONT : KB_LINE_HEADER;
  if (starts_ci(s, n, "Call Trace:") || STARTS(s, n, "Backtrace:"))
    return only_site(cur) ? KB_LINE_CONT : KB_LINE_HEADER;
  static const char *const others[] = {"Allocated by task ", "Freed by task ", "Uninit was created at:",
                                       "Uninit was stored to memory at:", "Last potentially related work creation:",
                                       "Second to last potentially related work creation:", NULL};
  for (const char *const *o = others; *o; o++)
    if (starts(s, n, *o)) return KB_LINE_HEADER;
  static const char *const ends[] = {"---[ end trace", "---[ end Kernel panic", "The buggy address belongs to",
                                     "Memory state around the buggy address", NULL};
  for (const char *const *e = ends; *e; e++)
    if (starts(s, n, *e)) return cur ? KB_LINE_END : KB_LINE_NONE;
  return KB_LINE_NONE;
}

/* "<EOI>  [<ffffffff8176b061>] ? anon_vma_clone+0x321/0x460": a context marker printed in
 * front of the next frame (before 4.x). Its length, 0 if none. */
static size_t marker_len(const char *s, size_t n) {
  static const char *const marks[] = {"<EOI> ", "<IRQ> ", "<NMI> ", "<EOE> ", NULL};
  for (const char *const *m = marks; *m; m++)
    if (starts(s, n, *m) && n > strlen(*m)) return strlen(*m);
  return 0;
}

static kb_line_kind linux_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  while (n && *s == ' ') s++, n--;
  size_t mk = marker_len(s, n);
  if (mk) {
    s += mk, n -= mk;
    while (n && *s == ' ') s++, n--;
  }
  if (!n) return KB_LINE_NONE;
  kb_line_kind k = block_line(s, n, cur);
  if (k == KB_LINE_NONE) k = reason_line(s, n, r);
  if (k == KB_LINE_NONE) k = site_line(s, n, cur, f);
  if (k == KB_LINE_NONE) {
    k = frame_line(s, n, cur, f);
    /* the trace's first frame repeating the crash site (arm64 prints both) */
    if (k == KB_LINE_FRAME && only_site(cur) && cur->nframes == 1 && same_site(&cur->frames[0], f)) k = KB_LINE_CONT;
  }
  if (k == KB_LINE_NONE && cur && context_line(s, n)) k = KB_LINE_CONT;
  if (k != KB_LINE_FRAME) kb_frame_release(f);
  return k;
}

const kb_format kb_format_linux = {
    .name = "linux",
    .platform = "linux",
    .min_frames_without_header = 2,
    .classify = linux_classify,
};
