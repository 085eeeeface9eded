/* test_parse_damage.c - the parser's driver (core/stack/stack.c) against what pasting
 * does to a stack: the seed's 15-frame WinDbg stack in every form it is found in (the
 * published one, read from ../shared/seeds at run time, and the others generated here
 * from its frames), each kind of paste damage on its own, and hostile inputs that must
 * finish quickly with bounded output. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "parse_fixture.h"
#include "stack/stack.h"
#include "util/util.h"

#define SEED_FRAMES 15

/* One seed frame split into its kv columns. */
typedef struct row {
  char *sp, *ret, *args, *site;
} row;

static row rows[SEED_FRAMES];
static size_t nrows;
static char *seed_text;
static size_t seed_len;

static const char summary[] = "BugCheck A, {28, 2, 0, fffff80002134dfe}\n";

/* Split a cleaned kv line "SP RET : ARGS : SITE" into a row. */
static bool row_from_raw(const char *raw, row *r) {
  const char *c1 = strstr(raw, " : ");
  const char *c2 = c1 ? strstr(c1 + 3, " : ") : NULL;
  const char *space = strchr(raw, ' ');
  if (!c2 || !space || space > c1) return false;
  r->sp = kb_xstrndup(raw, (size_t)(space - raw));
  r->ret = kb_xstrndup(space + 1, (size_t)(c1 - space - 1));
  r->args = kb_xstrndup(c1 + 3, (size_t)(c2 - c1 - 3));
  r->site = kb_xstrdup(c2 + 3);
  return true;
}

/* Read the seed and take its rows from the published form; false when it is absent. */
static bool load_seed(void) {
  if (seed_text) return nrows == SEED_FRAMES;
  char *path = kb_xasprintf("%s/seeds/000_da45cf2bb8d44c23.txt", harness_shared_dir());
  seed_text = harness_read_file(path, &seed_len);
  free(path);
  if (!seed_text) return false;
  kb_stacks s = {0};
  kb_stacks_parse(seed_text, seed_len, &s);
  for (size_t i = 0; s.n == 1 && i < s.v[0].nframes && i < SEED_FRAMES; i++)
    if (row_from_raw(s.v[0].frames[i].raw, &rows[nrows])) nrows++;
  kb_stacks_release(&s);
  return nrows == SEED_FRAMES;
}

static void free_rows(void) {
  for (size_t i = 0; i < nrows; i++) {
    free(rows[i].sp);
    free(rows[i].ret);
    free(rows[i].args);
    free(rows[i].site);
  }
  free(seed_text);
}

/* The seed stack, whatever the form: one stack, 15 frames in order, bugcheck 0xA. */
static void check_seed_stack(const char *form, const char *text, size_t len) {
  kb_stacks s = {0};
  kb_stacks_parse(text, len, &s);
  size_t n = s.n ? s.v[0].nframes : 0;
  if (s.n != 1 || n != SEED_FRAMES || s.v[0].bugcheck != 0xA)
    harness_fail(__FILE__, __LINE__, "%s: %zu stacks, %zu frames, bugcheck 0x%X", form, s.n, n,
                 s.n ? s.v[0].bugcheck : 0);
  if (s.n == 1 && n == SEED_FRAMES) {
    CHECK_STR(s.v[0].reason.code, "0xA");
    CHECK_STR(s.v[0].reason.name, "IRQL_NOT_LESS_OR_EQUAL");
    CHECK_STR(s.v[0].frames[0].function, "KeBugCheckEx");
    CHECK_STR(s.v[0].frames[3].norm, "mslbfoprovider!vmqcGetFirstMappedMNic");
    CHECK_STR(s.v[0].frames[3].offset, "0xf");
    CHECK_STR(s.v[0].frames[14].function, "VmsExtMpReturnNetBufferLists");
  }
  kb_stacks_release(&s);
}

static void check_form(const char *form, kb_buf *b) {
  check_seed_stack(form, b->ptr, b->len);
  kb_buf_release(b);
}

static void test_seed_as_published(void) {
  if (!load_seed()) {
    harness_skip("shared/seeds not found");
    return;
  }
  check_seed_stack("published", seed_text, seed_len);
}

static void test_seed_clean_kv_and_analyze(void) {
  if (!load_seed()) {
    harness_skip("shared/seeds not found");
    return;
  }
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "Child-SP          RetAddr           : Args to Child                                        : Call Site\n");
  for (size_t i = 0; i < nrows; i++) kb_buf_addf(&b, "%s %s : %s : %s\n", rows[i].sp, rows[i].ret, rows[i].args, rows[i].site);
  check_form("clean kv", &b);

  kb_buf_adds(&b, "IRQL_NOT_LESS_OR_EQUAL (a)\nAn attempt was made to access a pageable address.\nArguments:\n"
                  "Arg1: 0000000000000028, memory referenced\nArg2: 0000000000000002, IRQL\n"
                  "Arg3: 0000000000000000, bitfield :\nArg4: fffff80002134dfe, address which referenced memory\n\n"
                  "Debugging Details:\n------------------\n\nBUGCHECK_CODE:  a\n\nBUGCHECK_P1: 28\n\nBUGCHECK_P2: 2\n\n"
                  "BUGCHECK_P3: 0\n\nBUGCHECK_P4: fffff80002134dfe\n\nPROCESS_NAME:  System\n\nSTACK_TEXT:  \n");
  for (size_t i = 0; i < nrows; i++) kb_buf_addf(&b, "%s %s : %s : %s\n", rows[i].sp, rows[i].ret, rows[i].args, rows[i].site);
  kb_buf_adds(&b, "\n\nSYMBOL_NAME:  MsLbfoProvider!vmqcGetFirstMappedMNic+f\n\nMODULE_NAME: MsLbfoProvider\n\n"
                  "IMAGE_NAME:  MsLbfoProvider.sys\n\nSTACK_COMMAND:  .thread ; .cxr ; kb\n\n"
                  "FAILURE_BUCKET_ID:  AV_MsLbfoProvider!vmqcGetFirstMappedMNic\n\n"
                  "BUCKET_ID:  AV_MsLbfoProvider!vmqcGetFirstMappedMNic\n");
  kb_stacks s = {0};
  kb_stacks_parse(b.ptr, b.len, &s);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.params, "0x28 0x2 0x0 0xfffff80002134dfe"); /* not eight */
    CHECK_STR(s.v[0].reason.bucket, "AV_MsLbfoProvider!vmqcGetFirstMappedMNic");
  }
  kb_stacks_release(&s);
  check_form("!analyze -v", &b);
}

static void test_seed_k_kn_and_bare_list(void) {
  if (!load_seed()) {
    harness_skip("shared/seeds not found");
    return;
  }
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, summary);
  kb_buf_adds(&b, " # Child-SP          RetAddr           Call Site\n");
  for (size_t i = 0; i < nrows; i++) kb_buf_addf(&b, "%02zx %s %s %s\n", i, rows[i].sp, rows[i].ret, rows[i].site);
  check_form("kn", &b);
  kb_buf_adds(&b, summary);
  kb_buf_adds(&b, "Child-SP          RetAddr           Call Site\n");
  for (size_t i = 0; i < nrows; i++) kb_buf_addf(&b, "%s %s %s\n", rows[i].sp, rows[i].ret, rows[i].site);
  check_form("k", &b);
  kb_buf_adds(&b, summary);
  for (size_t i = 0; i < nrows; i++) kb_buf_addf(&b, "%s\n", rows[i].site);
  check_form("bare list", &b);
}

static void test_seed_joined_on_one_line(void) {
  if (!load_seed()) {
    harness_skip("shared/seeds not found");
    return;
  }
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "The stack was: STACK_TEXT: ");
  for (size_t i = 0; i < nrows; i++) kb_buf_addf(&b, "%s %s : %s : %s ", rows[i].sp, rows[i].ret, rows[i].args, rows[i].site);
  kb_buf_adds(&b, "\nThat is all.\n");
  check_form("joined kv", &b);
  kb_buf_adds(&b, summary);
  for (size_t i = 0; i < nrows; i++) kb_buf_addf(&b, "%02zx %s %s %s ", i, rows[i].sp, rows[i].ret, rows[i].site);
  check_form("joined kn", &b);
  kb_buf_adds(&b, summary);
  for (size_t i = 0; i < nrows; i++) kb_buf_addf(&b, "%s ", rows[i].site);
  check_form("joined bare list", &b);
}

/* HTML-escaped, one line joined by <br /> tags, in spans, with &#96; and &nbsp;. */
static void add_html_escaped(kb_buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '`') kb_buf_adds(b, "&#96;");
    else if (*s == ' ' && s[1] == ':') kb_buf_adds(b, "&nbsp;");
    else kb_buf_addc(b, *s);
  }
}

static void test_seed_html_escaped(void) {
  if (!load_seed()) {
    harness_skip("shared/seeds not found");
    return;
  }
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "<p>Digging deeper &amp; deeper &lt;sigh&gt;:<br />STACK_TEXT:&nbsp;<br />");
  for (size_t i = 0; i < nrows; i++) {
    char *line = kb_xasprintf("%s %s : %s : %s", rows[i].sp, rows[i].ret, rows[i].args, rows[i].site);
    kb_buf_adds(&b, i == 3 ? "<span style=\"color: #ff0000;\">" : "");
    add_html_escaped(&b, line);
    kb_buf_adds(&b, i == 3 ? "</span><br />" : "<br />");
    free(line);
  }
  kb_buf_adds(&b, "</p><p>I you&#8217;re unfamilar with VMQ</p>\n");
  check_form("html one line", &b);
}

/* Damage applied line by line to the clean kv form. */
typedef enum { DOUBLE_SPACED, CRLF_TABS, QUOTED, LINE_NUMBERS, PIPE_NUMBERS, WRAPPED, ESCAPED_SPANS } damage;

static void add_damaged_row(kb_buf *b, const row *r, size_t i, damage d) {
  switch (d) {
  case DOUBLE_SPACED: kb_buf_addf(b, "%s %s : %s : %s\n\n", r->sp, r->ret, r->args, r->site); break;
  case CRLF_TABS: kb_buf_addf(b, "%s\t%s\t:\t%s\t:\t%s\r\n", r->sp, r->ret, r->args, r->site); break;
  case QUOTED: kb_buf_addf(b, "> > %s %s : %s : %s\n", r->sp, r->ret, r->args, r->site); break;
  case LINE_NUMBERS: kb_buf_addf(b, "%zu. %s %s : %s : %s\n", i + 2, r->sp, r->ret, r->args, r->site); break;
  case PIPE_NUMBERS: kb_buf_addf(b, "%3zu | %s %s : %s : %s\n", i + 2, r->sp, r->ret, r->args, r->site); break;
  case WRAPPED: {
    /* a terminal wrapped the line in the middle of the argument columns */
    const char *third = strchr(strchr(r->args, ' ') + 1, ' ');
    kb_buf_addf(b, "%s %s : %.*s\n%s : %s\n", r->sp, r->ret, (int)(third - r->args), r->args, third + 1, r->site);
    break;
  }
  case ESCAPED_SPANS: {
    char *line = kb_xasprintf("<span class=\"x\">%s %s : %s : %s</span>", r->sp, r->ret, r->args, r->site);
    for (const char *p = line; *p; p++) {
      if (*p == '`') kb_buf_addc(b, '\\');
      kb_buf_addc(b, *p);
    }
    kb_buf_adds(b, "  \n"); /* Markdown's hard line break */
    free(line);
    break;
  }
  }
}

static void test_seed_line_damage(void) {
  if (!load_seed()) {
    harness_skip("shared/seeds not found");
    return;
  }
  const char *names[] = {"double-spaced", "CRLF and tabs", "quoted", "line numbers", "pipe numbers", "wrapped",
                         "escaped backticks and spans"};
  for (int d = DOUBLE_SPACED; d <= ESCAPED_SPANS; d++) {
    kb_buf b = KB_BUF_INIT;
    kb_buf_adds(&b, d == QUOTED ? "> > STACK_TEXT:\n" : d == LINE_NUMBERS ? "1. STACK_TEXT:\n"
                                                     : d == PIPE_NUMBERS  ? "  1 | STACK_TEXT:\n"
                                                                          : "STACK_TEXT:\n");
    for (size_t i = 0; i < nrows; i++) add_damaged_row(&b, &rows[i], i, (damage)d);
    check_form(names[d], &b);
  }
}

/* Entities inside a frame and the paste damage of other tools. */
static void test_entities_and_prefixes(void) {
  kb_stacks s = {0};
  const char *text = "00 00000000`0014f8a0 00007ff6`1a2b3c4d app!std::vector&lt;int&gt;::size+0x4\n"
                     "01 00000000`0014f8f0 00007ff6`1a2b3d00 app!Foo&lt;A&amp;&gt;::Run+0x1f\n";
  kb_stacks_parse(text, strlen(text), &s);
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  if (s.n == 1 && s.v[0].nframes == 2) {
    CHECK_STR(s.v[0].frames[0].function, "std::vector<int>::size");
    CHECK_STR(s.v[0].frames[1].function, "Foo<A&>::Run");
  }
  kb_stacks_release(&s);
  text = "<4>[10469.857491] Call Trace:\n<4>[10469.857493]  do_syscall_64+0x8d/0x170\n"
         "2026-11-25T19:30:28.123456+01:00 node7 kernel: entry_SYSCALL_64_after_hwframe+0x76/0x7e\n";
  kb_stacks_parse(text, strlen(text), &s);
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  kb_stacks_release(&s);
}

/* Limits: every input ends fast, and what comes out is bounded by stack.h's limits. */
static void check_bounded(const char *what, const char *text, size_t len, double max_seconds) {
  double t0 = kb_now();
  kb_stacks s = {0};
  kb_stacks_parse(text, len, &s);
  double dt = kb_now() - t0;
  if (dt > max_seconds) harness_fail(__FILE__, __LINE__, "%s took %.2f s", what, dt);
  CHECK(s.n <= KB_STACK_MAX_STACKS);
  size_t raw = 0;
  for (size_t i = 0; i < s.n; i++) {
    CHECK(s.v[i].nframes <= KB_STACK_MAX_FRAMES);
    raw += s.v[i].raw ? strlen(s.v[i].raw) : 0;
  }
  CHECK(raw <= (size_t)KB_STACK_MAX_STACKS << 19);
  kb_stacks_release(&s);
}

static char *repeat(const char *unit, size_t times, size_t *len) {
  size_t ul = strlen(unit);
  char *out = kb_xmalloc(ul * times + 1);
  for (size_t i = 0; i < times; i++) memcpy(out + i * ul, unit, ul);
  out[ul * times] = '\0';
  *len = ul * times;
  return out;
}

static void test_hostile_inputs(void) {
  /* The limits catch work that grows faster than the input (quadratic would take hours),
   * not slow machines: sanitizer builds run every check several times slower, and CI may
   * share its two cores. The measured times are in the README (benchmarks, not tests). */
#if defined(__SANITIZE_ADDRESS__)
  const double limit = 120.0;
#else
  const double limit = 60.0;
#endif
  size_t len;
  char *t = repeat("fffff800`4876a8c8 ", (10u << 20) / 18, &len); /* 10 MB, no newline */
  check_bounded("10 MB line of addresses", t, len, limit);
  free(t);
  t = repeat("<span>", (10u << 20) / 6, &len);
  check_bounded("repeated <span>", t, len, limit);
  free(t);
  t = repeat("<span <span style=", (4u << 20) / 18, &len);
  check_bounded("unterminated tags", t, len, limit);
  free(t);
  t = repeat("a\n", 1000000, &len);
  check_bounded("a million short lines", t, len, limit);
  free(t);
  t = repeat("x!y+0x1\n", 1000000, &len);
  check_bounded("a million frames", t, len, limit);
  free(t);
  t = repeat("fffff800`4876a8c8 fffff800`46dc97e9 : 00000000`0000000a 00000000`00000028 00000000`00000002 "
             "00000000`00000000 : nt!KeBugCheckEx\n",
             100000, &len);
  check_bounded("a 100k-frame kv stack", t, len, limit);
  free(t);
  t = repeat(" ? func+0x1a/0x40 [mod]\n", 100000, &len);
  check_bounded("a 100k-frame kernel trace", t, len, limit);
  free(t);
  t = repeat("nt!KeBugCheckEx ", (2u << 20) / 16, &len); /* a joined bare list on one line */
  check_bounded("joined frames", t, len, limit);
  free(t);
  len = 10u << 20;
  t = kb_xmalloc(len);
  unsigned x = 12345;
  for (size_t i = 0; i < len; i++) x = x * 1103515245u + 12345u, t[i] = (char)(x >> 16);
  check_bounded("binary garbage", t, len, limit);
  free(t);
}

/* Upper-case one-letter "tags" are generics, not HTML: <A> in FnOnce<A> stays. */
static void test_generic_parameters_kept(void) {
  const char *text = "stack backtrace:\n"
                     "   0: <F as core::ops::function::FnOnce<A>>::call_once\n"
                     "   1: playground::main<B>\n"
                     "   2: std::rt::lang_start\n";
  kb_stacks s = {0};
  kb_stacks_parse(text, strlen(text), &s);
  CHECK(s.n == 1);
  if (s.n == 1 && s.v[0].nframes >= 2) {
    CHECK_CONTAINS(s.v[0].frames[0].function, "FnOnce<A>");
    CHECK_CONTAINS(s.v[0].frames[1].function, "main<B>");
  }
  kb_stacks_release(&s);
  /* while <b>bold</b> from a blog is still removed */
  const char *html = "<b>nt!KeBugCheckEx</b>\n<b>nt!KiPageFault+0x23a</b>\n";
  kb_stacks_parse(html, strlen(html), &s);
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  if (s.n == 1) CHECK_STR(s.v[0].frames[0].function, "KeBugCheckEx");
  kb_stacks_release(&s);
}

/* A fuzzer's find: lone frames folded into other stacks while the list was compacted made
 * a later comparison read a released stack (UBSan: strcmp on NULL). Parsed whole here so
 * the sanitizer build sees it on every run. */
static void test_fold_after_release_regression(void) {
  size_t len = 0;
  char *text = read_repo_file("tests/fuzz/corpus/stack/regress-fold-after-release", &len);
  CHECK(text != NULL);
  if (text) {
    kb_stacks s = {0};
    kb_stacks_parse(text, len, &s);
    for (size_t i = 0; i < s.n; i++) CHECK(s.v[i].format != NULL && s.v[i].nframes > 0);
    kb_stacks_release(&s);
  }
  free(text);
}

int main(void) {
  RUN(test_fold_after_release_regression);
  RUN(test_generic_parameters_kept);
  RUN(test_seed_as_published);
  RUN(test_seed_clean_kv_and_analyze);
  RUN(test_seed_k_kn_and_bare_list);
  RUN(test_seed_joined_on_one_line);
  RUN(test_seed_html_escaped);
  RUN(test_seed_line_damage);
  RUN(test_entities_and_prefixes);
  RUN(test_hostile_inputs);
  free_rows();
  return harness_done();
}
