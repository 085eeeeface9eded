/* test_sanitize.c - content/sanitize: a list of hostile fragments must come out
 * harmless (no <script, no on* attribute, no javascript:), legitimate markup from a
 * real blog post must come out intact, and kb_url_is_safe must see through disguises. */
#include <stdlib.h>
#include <string.h>

#include "content/sanitize.h"
#include "harness.h"
#include "util/buf.h"

static char *sanitize(const char *in, size_t n) {
  kb_buf out = KB_BUF_INIT;
  kb_html_sanitize(in, n, &out);
  return kb_buf_detach(&out, NULL);
}

static void lower_in_place(char *s) {
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

/* True if some tag in `html` has an attribute whose name starts with "on". Quoted
 * values are skipped: the sanitizer always quotes and escapes them. */
static bool has_event_attribute(const char *html) {
  for (const char *p = strchr(html, '<'); p; p = strchr(p, '<')) {
    for (p++; *p && *p != '>'; p++) {
      if (*p == '"') {
        const char *q = strchr(p + 1, '"');
        if (!q) return true; /* an unterminated value would itself be a bug */
        p = q;
      } else if ((p[-1] == ' ' || p[-1] == '/' || p[-1] == '\n' || p[-1] == '\t') &&
                 (p[0] == 'o' || p[0] == 'O') && (p[1] == 'n' || p[1] == 'N')) {
        return true;
      }
    }
    if (!*p) break;
  }
  return false;
}

static const char *const hostile[] = {
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://x/x.js></SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    "<script/src=x>",
    "<script\n>alert(1)</script\n>",
    "<script>never closed",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)//",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<img src=\"x\" onerror    =   \"alert(1)\">",
    "<img src=x\nonerror=alert(1)>",
    "<img src=x on&#x65;rror=alert(1)>",
    "<img src=\"x` `<script>alert(1)</script>\"` `>",
    "<img \"\"\"><script>alert(1)</script>\">",
    "<img src=\"jav&#x09;ascript:alert(1)\">",
    "<img src=\"data:image/svg+xml,<svg onload=alert(1)>\">",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href='javascript:alert(1)'>x</a>",
    "<a href=javascript:alert(1)>x</a>",
    "<A HREF=\"JAVASCRIPT:alert(1)\">x</A>",
    "<a href=\" JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"java\tscript:alert(1)\">x</a>",
    "<a href=\"\x01javascript:alert(1)\">x</a>",
    "<a href=\"jav&#x61;script:alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    ("<a href=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#00001"
     "12&#0000116&#0000058alert(1)\">x</a>"), /* parenthesized: one string on purpose */
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=\"jav&#x0A;ascript:alert(1)\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<a/href=\"javascript:alert(1)\">x</a>",
    "<a href=\"http://ok/\" onmouseover=\"alert(1)\">x</a>",
    "<a href=\"javascript:alert(1)",
    "<div onclick=alert(1)>x</div>",
    "<div ONCLICK=\"alert(1)\" on&#x63;lick=\"alert(1)\">x</div>",
    "<body onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><a xlink:href=\"javascript:alert(1)\">x</a></math>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\">",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><input type=submit onfocus=alert(1) autofocus></form>",
    "<button formaction=\"javascript:alert(1)\">x</button>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<link rel=stylesheet href=\"javascript:alert(1)\">",
    "<style>@import 'javascript:alert(1)';</style>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<div style=\"width: expression(alert(1))\">x</div>",
    "<div style=\"x:\\65xpression(alert(1))\">x</div>",
    "<p style=\"color:red;background-image:url('javascript:alert(1)')\">x</p>",
    "<table background=\"javascript:alert(1)\"><tr><td background=\"javascript:alert(1)\">x",
    "<details open ontoggle=alert(1)>",
    "<time datetime=\"2013\" onfocus=alert(1) autofocus>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<textarea><script>alert(1)</script></textarea>",
    "<title><script>alert(1)</script></title>",
    "<template><script>alert(1)</script></template>",
    "<plaintext><script>alert(1)</script>",
    "<noembed><script>alert(1)</script></noembed>",
    "<!--<script>alert(1)//-->",
    "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?xml-stylesheet href=\"javascript:alert(1)\"?>",
    "<!DOCTYPE html><script>alert(1)</script>",
    "<span style=\"color:red\" onmouseover=\"alert(1)\"",
    "<div title=\"a\"onclick=\"alert(1)\">x</div>",
    "<img src=x onerror=\"&#97;&#108;&#101;&#114;&#116;(1)\">",
    "<a href=\"http://x\" style=\"behavior:url(x.htc)\">x</a>",
    "<scr\0ipt>alert(1)</scr\0ipt>",
};

static void test_hostile_inputs_are_harmless(void) {
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    /* one test string holds a NUL: sanitize the full literal length */
    size_t n = strlen(hostile[i]);
    if (strncmp(hostile[i], "<scr", 4) == 0 && hostile[i][4] == '\0')
      n = sizeof "<scr\0ipt>alert(1)</scr\0ipt>" - 1;
    char *out = sanitize(hostile[i], n);
    lower_in_place(out);
    CHECK_NOT_CONTAINS(out, "<script");
    CHECK_NOT_CONTAINS(out, "javascript:");
    CHECK_NOT_CONTAINS(out, "<svg");
    CHECK_NOT_CONTAINS(out, "<iframe");
    CHECK_NOT_CONTAINS(out, "<style");
    if (has_event_attribute(out))
      harness_fail(__FILE__, __LINE__, "event attribute survived: [%s] -> [%s]", hostile[i], out);
    free(out);
  }
}

/* Exact outputs for a few hostile inputs, so that "harmless" does not mean "empty". */
static void check_san(const char *in, const char *want, int line) {
  char *out = sanitize(in, strlen(in));
  if (strcmp(out, want) != 0)
    harness_fail(__FILE__, line, "sanitize [%s]:\n  got:  [%s]\n  want: [%s]", in, out, want);
  free(out);
}
#define SAN(in, want) check_san(in, want, __LINE__)

static void test_hostile_exact(void) {
  SAN("<img src=x onerror=alert(1)>", "<img src=\"x\" />");
  SAN("<a href=\"javascript:alert(1)\">x</a>", "<a>x</a>");
  SAN("<scr<script>ipt>alert(1)</script>", "ipt>alert(1)");
  SAN("<<script>script>alert(1)<</script>/script>", "&lt;/script>");
  SAN("<div style=\"background:url(javascript:alert(1))\">x</div>", "<div>x</div>");
  SAN("<svg/onload=alert(1)>after", "");
  SAN("<svg/>after", "after");
  SAN("ok<span title=\"x\" onclick=\"y\"", "ok"); /* unterminated tag at the end */
  SAN("<button>Click</button><form><input value=x>", "Click");
  SAN("a<!-- comment -->b<!DOCTYPE html>c<?php x ?>d", "abcd");
  SAN("<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
      "<img src=\"x\" />\">");
}

static void test_blog_post_markup_kept(void) {
  SAN("<span style=\"color: #ff0000;\">", "<span style=\"color: #ff0000;\">");
  SAN("</span>", "</span>");
  SAN("<pre>Get-NetAdapter | ? {$_.InterfaceDescription -match '82599'}</pre>",
      "<pre>Get-NetAdapter | ? {$_.InterfaceDescription -match '82599'}</pre>");
  SAN("<a href=\"http://blogs.technet.com/b/networking/archive/2013/09/10/"
      "vmq-deep-dive-1-of-3.aspx\" target=\"_blank\">",
      "<a href=\"http://blogs.technet.com/b/networking/archive/2013/09/10/"
      "vmq-deep-dive-1-of-3.aspx\" target=\"_blank\" rel=\"noopener noreferrer\">");
  SAN("<pre>if (a < b && c > d) { x = \"&lt;\"; }</pre>",
      "<pre>if (a &lt; b &amp;&amp; c > d) { x = \"&lt;\"; }</pre>");
  SAN("<p>Tom &amp; Jerry &copy; 2013 &#8230; AT&T</p>",
      "<p>Tom &amp; Jerry &copy; 2013 &#8230; AT&amp;T</p>");
}

static void test_tags_and_attributes(void) {
  SAN("<P CLASS=note>x</P>", "<p class=\"note\">x</p>");
  SAN("<img src='/img/a.png' alt='a \"quoted\" <alt>' width=10 height=\"20\" id=x>",
      "<img src=\"/img/a.png\" alt=\"a &quot;quoted&quot; &lt;alt&gt;\" width=\"10\" "
      "height=\"20\" />");
  SAN("<br><br/><hr>", "<br /><br /><hr />");
  SAN("<a href=\"https://x/?a=1&amp;b=2\" title=\"it's\">", "<a href=\"https://x/?a=1&amp;b=2\" "
      "title=\"it&#39;s\">");
  SAN("<a href=\"#sec\" target=\"_top\">", "<a href=\"#sec\">");
  SAN("<a href=\"mailto:x@example.com\" target=\"_BLANK\" rel=\"opener\">",
      "<a href=\"mailto:x@example.com\" target=\"_blank\" rel=\"noopener noreferrer\">");
  SAN("<td colspan=2 align=\"right\" onclick=x>", "<td colspan=\"2\" align=\"right\">");
  SAN("<div colspan=2 lang=de dir=ltr>", "<div lang=\"de\" dir=\"ltr\">");
  SAN("<details open><summary>More</summary>", "<details open=\"\"><summary>More</summary>");
  SAN("<time datetime=\"2013-12-22\">Sunday</time>", "<time datetime=\"2013-12-22\">Sunday</time>");
  SAN("<div\n  class=\"a\"\n  style='margin: 0 auto; font-weight: bold !important'>",
      "<div class=\"a\" style=\"margin: 0 auto; font-weight: bold !important\">");
  SAN("<span style=\"font-family: 'Segoe UI'\">", "<span>");
  SAN("<o:p></o:p><font color=red>x</font><center>y</center>", "xy");
  SAN("</br></img>", "");
  SAN("1 < 2 <3 </ 4 </>", "1 &lt; 2 &lt;3 ");
}

static void test_url_is_safe(void) {
  static const char *const good[] = {
      "http://example.com/", "https://example.com/a?b=c#d", "HTTPS://EXAMPLE.COM",
      "mailto:someone@example.com", "ftp://ftp.example.com/file", "/relative/path",
      "relative.html", "#fragment", "?query=1", "", "//example.com/x", "a/b:c", "./x:y",
      " http://example.com/ "};
  static const char *const bad[] = {
      "javascript:alert(1)", "JaVaScRiPt:alert(1)", " JaVaScRiPt:alert(1)",
      "jav&#x09;ascript:alert(1)", "jav\tascript:alert(1)", "javascript&#58;alert(1)",
      "javascript&colon;alert(1)", "&#106avascript:alert(1)", "vbscript:x", "data:text/html,x",
      "data:image/png;base64,AAAA", "file:///etc/passwd", "\x01javascript:x", "x:y"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (!kb_url_is_safe(good[i], strlen(good[i])))
      harness_fail(__FILE__, __LINE__, "rejected [%s]", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (kb_url_is_safe(bad[i], strlen(bad[i])))
      harness_fail(__FILE__, __LINE__, "accepted [%s]", bad[i]);
  CHECK(!kb_url_is_safe("java\0script:alert(1)", 20));
}

static void test_linear_on_nesting(void) {
  /* Deep nesting and many stray '<': must be quick and leave nothing unescaped. */
  kb_buf in = KB_BUF_INIT;
  for (int i = 0; i < 100000; i++) kb_buf_adds(&in, "<div><span title='<'>");
  for (int i = 0; i < 100000; i++) kb_buf_adds(&in, "<<<");
  kb_buf_adds(&in, "<script>");
  for (int i = 0; i < 100000; i++) kb_buf_adds(&in, "</scrip");
  char *out = sanitize(in.ptr, in.len);
  CHECK(strstr(out, "<span title=\"&lt;\">") != NULL);
  CHECK_NOT_CONTAINS(out, "<<");
  CHECK_NOT_CONTAINS(out, "scrip");
  free(out);
  kb_buf_release(&in);
}

int main(void) {
  RUN(test_hostile_inputs_are_harmless);
  RUN(test_hostile_exact);
  RUN(test_blog_post_markup_kept);
  RUN(test_tags_and_attributes);
  RUN(test_url_is_safe);
  RUN(test_linear_on_nesting);
  return harness_done();
}
