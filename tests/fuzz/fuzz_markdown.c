/* fuzz_markdown.c - libFuzzer harness for what `kb build` does with one incident file
 * (gen/build.c: kb_incident_load -> kb_incident_parse): UTF-8 check, CR LF and
 * double-encoding repair, front matter and fields (dates, slugs, permalinks, lists), the
 * Markdown render with cmark-gfm, the raw-HTML sanitizer and URL checks
 * (core/content/markdown.c, sanitize.c), the plain text and stack extraction from every
 * block, the summary, and the identifiers (extract.c).
 *
 * Why: incidents are imported from old blogs full of raw HTML and pasted debugger
 * output; the page they become is served to everyone. Besides memory errors the
 * harness checks the sanitizer's promise on the finished page: no dangerous element
 * (script, iframe, svg, ...), no on* attribute and no href/src with a scheme other than
 * http, https, mailto or ftp.
 *
 * The input is the file's bytes, passed as kb_incident_load passes them (the length,
 * the file-size limit KB_INCIDENT_MAX_BYTES checked inside kb_incident_parse). An
 * input that does not start with a front matter fence gets a fixed one with a title
 * first (`title` is required; without it nothing after the front matter would run). */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "content/incident.h"
#include "content/sanitize.h"
#include "fuzz.h"

static const char fixed_front_matter[] = "---\ntitle: Fuzzed incident\n---\n";

/* Elements that must never reach a page (sanitizer drops them, tagfilter escapes them). */
static const char *const banned_tags[] = {"script", "style", "iframe", "object", "embed", "svg", "math", "base",
                                          "link", "meta", "form", "frame", "frameset", "textarea", "noscript",
                                          "template", "xmp", "plaintext", "title", "applet", "noembed",
                                          "noframes", NULL};

static bool name_is(const char *s, size_t n, const char *want) {
  if (strlen(want) != n) return false;
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)s[i]) != want[i]) return false;
  return true;
}

/* Check one attribute of a tag on the page. */
static void check_attr(const char *name, size_t nlen, const char *val, size_t vlen) {
  if (nlen >= 2 && tolower((unsigned char)name[0]) == 'o' && tolower((unsigned char)name[1]) == 'n') abort();
  if ((name_is(name, nlen, "href") || name_is(name, nlen, "src")) && !kb_url_is_safe(val, vlen)) abort();
}

/* Walk the attributes of the tag whose name ends at p; returns the position after '>'. */
static const char *check_attrs(const char *p) {
  for (;;) {
    while (*p && (isspace((unsigned char)*p) || *p == '/')) p++;
    if (!*p || *p == '>') return *p ? p + 1 : p;
    const char *name = p;
    while (*p && !isspace((unsigned char)*p) && *p != '=' && *p != '>' && *p != '/') p++;
    size_t nlen = (size_t)(p - name);
    const char *val = p;
    size_t vlen = 0;
    if (*p == '=') {
      p++;
      char q = (*p == '"' || *p == '\'') ? *p++ : 0;
      val = p;
      while (*p && (q ? *p != q : !isspace((unsigned char)*p) && *p != '>')) p++;
      vlen = (size_t)(p - val);
      if (q && *p) p++;
    }
    check_attr(name, nlen, val, vlen);
  }
}

/* Every '<' on the page starts markup that cmark or the sanitizer wrote (text has its
 * '<' escaped); none of it may be dangerous. */
static void check_page(const char *html) {
  for (const char *p = strchr(html, '<'); p; p = strchr(p, '<')) {
    p++;
    if (*p == '!' || *p == '?') continue; /* comments cmark writes */
    if (*p == '/') p++;
    const char *name = p;
    while (isalnum((unsigned char)*p)) p++;
    for (const char *const *b = banned_tags; *b; b++)
      if (name_is(name, (size_t)(p - name), *b)) abort();
    p = check_attrs(p);
  }
}

static bool starts_with_fence(const char *s, size_t n) {
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, n -= 3;
  return n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "+++", 3) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  bool own = !starts_with_fence(text, size);
  size_t len = size + (own ? sizeof fixed_front_matter - 1 : 0);
  char *file = malloc(len ? len : 1);
  if (own) memcpy(file, fixed_front_matter, sizeof fixed_front_matter - 1);
  if (size) memcpy(file + len - size, text, size);
  kb_diags diags = {0};
  kb_incident *inc = kb_incident_parse("content/2013-12-22-fuzz.md", file, len, &diags);
  if (inc) {
    if (!inc->md.html || !inc->md.text || !inc->summary || inc->url[0] != '/') abort();
    if (inc->idents.n > KB_IDENTS_MAX) abort();
    check_page(inc->md.html);
  } else if (diags.errors == 0) {
    abort(); /* a refused file always says why */
  }
  kb_incident_free(inc);
  kb_diags_release(&diags);
  free(file);
  return 0;
}
