/* fmt_windbg.c - WinDbg stacks: `k`-family output and `!analyze -v` blocks.
 *
 *   fffff800`4876a8c8 fffff800`46dc97e9 : 00000000`0000000a ... : nt!KeBugCheckEx
 *   00 fffff800`4876a8c8 fffff800`46dc97e9 nt!KeBugCheckEx+0x69
 *   nt!KiPageFault+0x23a            mydrv+0x1234 (unsymbolized, only after address columns)
 * Leading columns (frame number, Child-SP, RetAddr, `Args to Child`) are hex; the call
 * site is the first `module!function[+0xoff]` token after them. The first argument of
 * nt!KeBugCheckEx is the bugcheck code. !analyze's `KEY: value` lines give the reason. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stack/format.h"
#include "util/util.h"

static bool is_module_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$' || c == '-';
}

static bool is_function_start(char c) {
  return isalpha((unsigned char)c) || c == '_' || c == '?' || c == '@' || c == '$' || c == '~' || c == '<';
}

/* Function names stop at whitespace, an argument list or the "+offset". */
static bool is_function_char(char c) {
  return c && !isspace((unsigned char)c) && c != '(' && c != '+' && c != '[';
}

/* Length of a `+0x1f` / `+1f` offset at s, or 0. */
static size_t offset_len(const char *s, const char *end) {
  if (s >= end || *s != '+') return 0;
  const char *p = s + 1;
  if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p += 2;
  const char *d = p;
  while (p < end && isxdigit((unsigned char)*p)) p++;
  return p > d ? (size_t)(p - s) : 0;
}

/* `module!function+0xoff`, or `module+0xoff` when allow_bare (unsymbolized). */
static bool frame_token(const char *s, const char *end, bool allow_bare, kb_frame *f) {
  const char *m = s;
  while (m < end && is_module_char(*m)) m++;
  if (m == s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
  if (m < end && *m == '!') {
    const char *fn = m + 1, *fe = fn;
    if (fe >= end || !is_function_start(*fe)) return false;
    while (fe < end && is_function_char(*fe)) fe++;
    size_t ol = offset_len(fe, end);
    f->module = kb_xstrndup(s, (size_t)(m - s));
    f->function = kb_xstrndup(fn, (size_t)(fe - fn));
    if (ol) f->offset = kb_xstrndup(fe + 1, ol - 1);
    return true;
  }
  size_t ol = offset_len(m, end);
  if (!allow_bare || !ol) return false;
  f->module = kb_xstrndup(s, (size_t)(m - s));
  f->offset = kb_xstrndup(m + 1, ol - 1);
  return true;
}

/* The hex argument after the first " : " (nt!KeBugCheckEx's first is the code). */
static unsigned first_argument(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  if (!colon) return 0;
  const char *p = colon + 1, *end = s + n;
  while (p < end && *p == ' ') p++;
  unsigned long long v = 0;
  int digits = 0;
  for (; p < end && (isxdigit((unsigned char)*p) || *p == '`'); p++) {
    if (*p == '`') continue;
    v = v * 16 + (unsigned long long)(isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10);
    if (++digits > 16) return 0;
  }
  return digits ? (unsigned)v : 0;
}

/* `KEY:` at the start of the line (an !analyze -v field); returns the value's offset. */
static size_t analyze_key(const char *s, size_t n, const char *key) {
  size_t kl = strlen(key);
  if (n <= kl || strncmp(s, key, kl) != 0 || s[kl] != ':') return 0;
  return kl + 1;
}

static bool is_analyze_key_line(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (isupper((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_')) i++;
  return i >= 3 && i < n && s[i] == ':';
}

static kb_line_kind windbg_reason(const char *s, size_t n, kb_reason *r) {
  size_t v;
  if ((v = analyze_key(s, n, "BUGCHECK_CODE"))) {
    kb_reason_set(&r->kind, "bugcheck", 8);
    char *code = kb_fmt_strndup_trim(s + v, n - v);
    r->code = kb_xasprintf("0x%lX", strtoul(code, NULL, 16));
    free(code);
    return KB_LINE_REASON;
  }
  if ((v = analyze_key(s, n, "FAILURE_BUCKET_ID"))) {
    kb_reason_set(&r->bucket, s + v, n - v);
    return KB_LINE_REASON;
  }
  return KB_LINE_NONE;
}

static kb_line_kind windbg_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  while (n && *s == ' ') s++, n--;
  if (kb_fmt_starts(s, n, "STACK_TEXT:") || kb_fmt_starts(s, n, "Child-SP") || kb_fmt_starts(s, n, "ChildEBP") ||
      kb_fmt_starts(s, n, "# Child-SP") || kb_fmt_starts(s, n, "# ChildEBP"))
    return KB_LINE_HEADER;
  if (is_analyze_key_line(s, n)) return windbg_reason(s, n, r);
  const char *p = s, *end = s + n;
  int hex_columns = 0;
  const char *addr[2] = {NULL, NULL};
  size_t addr_len[2] = {0, 0};
  while (p < end) {
    while (p < end && *p == ' ') p++;
    const char *t = p;
    while (p < end && *p != ' ') p++;
    size_t tn = (size_t)(p - t);
    if (tn == 0) break;
    if (tn == 1 && *t == ':') continue;
    if (frame_token(t, p, hex_columns > 0, f)) break;
    if (!kb_fmt_is_hex(t, tn)) return KB_LINE_NONE;
    if (hex_columns < 2 && tn >= 8) addr[hex_columns] = t, addr_len[hex_columns] = tn;
    hex_columns++;
  }
  if (!f->module) return KB_LINE_NONE;
  int which = addr[1] ? 1 : 0;
  if (addr[which]) f->address = kb_xstrndup(addr[which], addr_len[which]);
  if (f->function && (strcmp(f->function, "KeBugCheckEx") == 0 || strcmp(f->function, "KeBugCheck2") == 0)) {
    unsigned code = first_argument(s, n);
    if (code) {
      kb_reason_set(&r->kind, "bugcheck", 8);
      r->code = kb_xasprintf("0x%X", code);
    }
  }
  return KB_LINE_FRAME;
}

const kb_format kb_format_windbg = {
    .name = "windbg",
    .platform = "windows",
    .outermost_first = false,
    .reasons_follow = true,
    .min_frames_without_header = 2,
    .classify = windbg_classify,
    .split = NULL,
};
