/* test_text.c - util/text: UTF-8 validity, line numbers, mojibake repair (real
 * WordPress examples and the legitimate text it must leave alone), HTML entities and
 * HTML-to-text. The source is UTF-8; escapes are used only for invisible characters. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/buf.h"
#include "util/text.h"

static bool valid(const char *s, size_t n, size_t *bad) { return kb_utf8_valid(s, n, bad); }

static void test_utf8_valid(void) {
  const char *ok[] = {"", "plain ASCII", "café", "日本語", "🙂", "\xF4\x8F\xBF\xBF",
                      "\xEF\xBB\xBF" "BOM", "\xED\x9F\xBF" /* U+D7FF, just below surrogates */};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) CHECK(valid(ok[i], strlen(ok[i]), NULL));
  CHECK(valid("a\0b", 3, NULL)); /* NUL is valid UTF-8; the length decides */
}

static void test_utf8_invalid(void) {
  static const struct {
    const char *s;
    size_t bad;
  } cases[] = {
      {"\xC0\xAF", 0},              /* overlong '/' */
      {"ab\xC1\xBF", 2},            /* overlong */
      {"\xE0\x80\xAF", 0},          /* overlong 3-byte */
      {"x\xF0\x80\x80\xAF", 1},     /* overlong 4-byte */
      {"\xED\xA0\x80", 0},          /* surrogate U+D800 */
      {"ok \xED\xBF\xBF", 3},       /* surrogate U+DFFF */
      {"\xF4\x90\x80\x80", 0},      /* U+110000 */
      {"\xF5\x80\x80\x80", 0},      /* lead byte beyond F4 */
      {"\xFF", 0},
      {"a\x80", 1},                 /* stray continuation */
      {"ab\xE2\x82", 2},            /* truncated at the end */
      {"x\xE2\x82y", 1},            /* truncated in the middle */
      {"caf\xC3", 3},               /* truncated 2-byte */
      {"\xF0\x9F\x99", 0},          /* truncated 4-byte */
      {"é\xC3(", 2},                /* bad continuation */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t bad = 999;
    CHECK(!valid(cases[i].s, strlen(cases[i].s), &bad));
    if (bad != cases[i].bad) harness_fail(__FILE__, __LINE__, "case %zu: bad=%zu", i, bad);
  }
  CHECK(!valid("\xC0\xAF", 2, NULL)); /* bad may be NULL */
}

static void test_line_of(void) {
  const char *s = "one\ntwo\n\nfour";
  CHECK(kb_text_line_of(s, 0) == 1);
  CHECK(kb_text_line_of(s, 3) == 1); /* the '\n' itself is still on line 1 */
  CHECK(kb_text_line_of(s, 4) == 2);
  CHECK(kb_text_line_of(s, 9) == 4);
  CHECK(kb_text_line_of(s, 1000) == 4); /* stops at the NUL */
}

/* ---- mojibake ---- */

typedef struct repair_log {
  int calls;
  size_t first_off;
  kb_buf before, after;
} repair_log;

static void log_repair(void *ctx, size_t off, const char *before, size_t before_len,
                       const char *after, size_t after_len) {
  repair_log *log = ctx;
  if (log->calls++ == 0) log->first_off = off;
  kb_buf_add(&log->before, before, before_len);
  kb_buf_addc(&log->before, '|');
  kb_buf_add(&log->after, after, after_len);
  kb_buf_addc(&log->after, '|');
}

/* Repair `in`; check the output and the number of repairs. */
static void check_repair(const char *in, const char *want, size_t want_repairs, int line) {
  kb_buf out = KB_BUF_INIT;
  size_t n = kb_mojibake_repair(in, strlen(in), &out, NULL, NULL);
  if (strcmp(out.ptr, want) != 0 || n != want_repairs)
    harness_fail(__FILE__, line, "repair [%s]: got [%s] (%zu repairs), want [%s] (%zu)", in,
                 out.ptr, n, want, want_repairs);
  kb_buf_release(&out);
}
#define REPAIR(in, want, count) check_repair(in, want, count, __LINE__)
#define UNTOUCHED(in) check_repair(in, in, 0, __LINE__)

static void test_mojibake_examples(void) {
  REPAIR("RÃ¼efli", "Rüefli", 1);
  REPAIR("\xC3\x82\xC2\xA0", "\xC2\xA0", 1); /* "Â" + NBSP -> NBSP */
  REPAIR("ðŸ™‚", "🙂", 1);
  REPAIR("â€™", "\xE2\x80\x99", 1);
  /* ” is E2 80 9D; CP1252 leaves 0x9D undefined, so it went through as U+009D */
  REPAIR("itâ€™s â€œquotedâ€\xC2\x9D â€“ ok", "it’s “quoted” – ok", 4);
  REPAIR("ZaÅ¼Ã³Å‚Ä‡", "Zażółć", 4);
  REPAIR("ÐŸÑ€Ð¸Ð²ÐµÑ‚", "Привет", 6);
  REPAIR("Ù…Ø±Ø\xC2\xAD" "Ø¨Ø§", "مرحبا", 5); /* U+00AD is the soft hyphen */
  REPAIR("æ—¥æœ¬èªž", "日本語", 3);
  REPAIR("Viá»‡t Nam", "Việt Nam", 1);
  REPAIR("ï»¿# Title", "\xEF\xBB\xBF# Title", 1);
  REPAIR("Ã‰tÃ©", "Été", 2);
  REPAIR("Ã\xC2\x89t", "Ét", 1); /* U+0089 from Latin-1 decoding */
  REPAIR("Â©2013", "©2013", 1);  /* "Â©" is the classic mojibake of "©" */
}

static void test_mojibake_callback(void) {
  repair_log log = {0, 0, KB_BUF_INIT, KB_BUF_INIT};
  kb_buf out = KB_BUF_INIT;
  const char *in = "RÃ¼efli says â€™";
  CHECK(kb_mojibake_repair(in, strlen(in), &out, log_repair, &log) == 2);
  CHECK_STR(out.ptr, "Rüefli says ’");
  CHECK(log.calls == 2);
  CHECK(log.first_off == 1);
  CHECK_STR(log.before.ptr, "Ã¼|â€™|");
  CHECK_STR(log.after.ptr, "ü|’|");
  kb_buf_release(&out);
  kb_buf_release(&log.before);
  kb_buf_release(&log.after);
}

static void test_mojibake_leaves_text_alone(void) {
  UNTOUCHED("Ã");
  UNTOUCHED("Ã alone");
  UNTOUCHED("SÃO PAULO, NÃO");
  UNTOUCHED("café");
  UNTOUCHED("naïve");
  UNTOUCHED("Größe, „Gruß“, Fuß» und Maß’");
  UNTOUCHED("À bientôt, garçon — déjà vu, “café…”");
  UNTOUCHED("Zażółć gęślą jaźń");
  UNTOUCHED("Привет, мир");
  UNTOUCHED("日本語のテキスト, 한국어");
  UNTOUCHED("©2013");
  UNTOUCHED("Â 2013");
  UNTOUCHED("Â2013");
  UNTOUCHED("Â€5 Â‚"); /* would give C1 controls U+0080, U+0082 */
  UNTOUCHED("ÄÖÜ äöü ß €5 ™ “Ö”");
  UNTOUCHED("plain ASCII text");
  UNTOUCHED("");
  UNTOUCHED("\xFF\xC3 invalid bytes pass \x80");
  REPAIR("\xFFRÃ¼\xC3", "\xFFRü\xC3", 1);
}

/* ---- entities ---- */

static void check_decode(const char *in, const char *want, bool attr, int line) {
  kb_buf out = KB_BUF_INIT;
  if (attr)
    kb_html_attr_decode(in, strlen(in), &out);
  else
    kb_html_entities_decode(in, strlen(in), &out);
  if (strcmp(out.ptr, want) != 0)
    harness_fail(__FILE__, line, "decode [%s]:\n  got:  [%s]\n  want: [%s]", in, out.ptr, want);
  kb_buf_release(&out);
}
#define DECODE(in, want) check_decode(in, want, false, __LINE__)

static void test_entities_named(void) {
  DECODE("&amp;&lt;&gt;&quot;&apos;", "&<>\"'");
  DECODE("a&nbsp;b", "a\xC2\xA0" "b");
  DECODE("&copy;&reg;&trade;&hellip;&mdash;&ndash;", "©®™…—–");
  DECODE("&lsquo;&rsquo;&ldquo;&rdquo;&laquo;&raquo;", "‘’“”«»");
  DECODE("&bull;&middot;&deg;&plusmn;&times;&divide;", "•·°±×÷");
  DECODE("&euro;&pound;&yen;&cent;&sect;&para;", "€£¥¢§¶");
  DECODE("x&shy;y", "x\xC2\xAD" "y");
  DECODE("&auml;&ouml;&uuml;&Auml;&szlig;&eacute;&egrave;&agrave;&ccedil;&ntilde;&yuml;",
         "äöüÄßéèàçñÿ");
  DECODE("&alpha;&Omega;&sigmaf;&rarr;&le;&ne;&infin;", "αΩς→≤≠∞");
}

static void test_entities_numeric(void) {
  DECODE("&#8230;|&#x2026;|&#X2026;|&#65;", "…|…|…|A");
  DECODE("&#128512;", "😀");
  DECODE("&#146;s", "’s"); /* C1 range read as Windows-1252 */
  DECODE("&#0;|&#xD800;|&#x110000;|&#99999999999999999999;", "\xEF\xBF\xBD|\xEF\xBF\xBD|"
                                                             "\xEF\xBF\xBD|\xEF\xBF\xBD");
}

static void test_entities_kept(void) {
  DECODE("&foo; &amp &#; &#x; & x &#65 &;", "&foo; &amp &#; &#x; & x &#65 &;");
  DECODE("AT&T R&D", "AT&T R&D");
  DECODE("trailing &", "trailing &");
  DECODE("&AMP;", "&AMP;"); /* names are case-sensitive */
  check_decode("&#106avascript&#58", "javascript:", true, __LINE__);
  check_decode("&#x6A&#x61;va", "java", true, __LINE__);
}

/* ---- html to text ---- */

static void check_text(const char *in, const char *want, int line) {
  kb_buf out = KB_BUF_INIT;
  kb_html_to_text(in, strlen(in), &out);
  if (strcmp(out.ptr, want) != 0)
    harness_fail(__FILE__, line, "to_text [%s]:\n  got:  [%s]\n  want: [%s]", in, out.ptr, want);
  kb_buf_release(&out);
}
#define TO_TEXT(in, want) check_text(in, want, __LINE__)

static void test_html_to_text(void) {
  TO_TEXT("<p>Hello&nbsp;<b>world</b></p>Line<br>two &amp; &#8230;",
          "Hello\xC2\xA0world\nLine\ntwo & …");
  TO_TEXT("a<script>var x = '<p>';</script>b<style>p { color: red }</style>c", "abc");
  TO_TEXT("a<SCRIPT type=\"x\">if (a</b) {}</SCRIPT >b", "ab");
  TO_TEXT("a<!-- <p>hidden</p> -->b<!---->c<!-->d", "abcd");
  TO_TEXT("<div class=\"x\" title='a > b'>in</div><pre>code</pre>", "in\ncode\n");
  TO_TEXT("<table><tr><td>A</td><td>B</td></tr></table>", "A B \n\n");
  TO_TEXT("1 < 2 and 3 > 2", "1 < 2 and 3 > 2");
  TO_TEXT("<!DOCTYPE html><?xml x?>text", "text");
  TO_TEXT("<span\nstyle=\"color: red\"\n>multi-line tag</span>", "multi-line tag");
  TO_TEXT("before<a href=\"x", "before");             /* unterminated tag */
  TO_TEXT("a<script>never closed", "a");
  TO_TEXT("<ul><li>one</li><li>two</li></ul>", "one\ntwo\n\n");
  TO_TEXT("", "");
}

int main(void) {
  RUN(test_utf8_valid);
  RUN(test_utf8_invalid);
  RUN(test_line_of);
  RUN(test_mojibake_examples);
  RUN(test_mojibake_callback);
  RUN(test_mojibake_leaves_text_alone);
  RUN(test_entities_named);
  RUN(test_entities_numeric);
  RUN(test_entities_kept);
  RUN(test_html_to_text);
  return harness_done();
}
