/* sanitize.c - allowlist HTML sanitizer for raw HTML fragments in Markdown (see
 * sanitize.h). Called by the Markdown renderer for every raw HTML node.
 *
 * The scanner follows the HTML5 tokenizer closely enough (tag names end at whitespace,
 * '/' or '>'; quoted and unquoted attribute values; comments; raw-text elements) that
 * legitimate markup survives. Safety does not depend on that fidelity: nothing from
 * the input is copied into markup context. Text is copied with '<' escaped, tags are
 * re-emitted by name from the allowlist, and attribute values are entity-decoded,
 * checked, and re-escaped, so the value a browser sees is exactly the value we checked. */
#include "content/sanitize.h"

#include <string.h>

#include "util/text.h"

enum {
  TAG_KEEP = 1, /* emitted (with filtered attributes) */
  TAG_VOID = 2, /* no content, no closing tag */
  TAG_RAW = 4,  /* dropped together with everything up to its closing tag */
};

typedef struct tag_rule {
  const char *name;
  unsigned flags;
  const char *attrs; /* tag-specific attributes, space-separated */
} tag_rule;

/* Tags that are not listed are dropped and their text kept; that covers object, embed,
 * applet, form, input, button, select, option, link, meta, base, frame, frameset. */
static const tag_rule tag_rules[] = {
    {"p", TAG_KEEP, ""},          {"br", TAG_KEEP | TAG_VOID, ""},
    {"hr", TAG_KEEP | TAG_VOID, ""}, {"div", TAG_KEEP, ""},
    {"span", TAG_KEEP, ""},       {"pre", TAG_KEEP, ""},
    {"code", TAG_KEEP, ""},       {"kbd", TAG_KEEP, ""},
    {"samp", TAG_KEEP, ""},       {"var", TAG_KEEP, ""},
    {"em", TAG_KEEP, ""},         {"strong", TAG_KEEP, ""},
    {"b", TAG_KEEP, ""},          {"i", TAG_KEEP, ""},
    {"u", TAG_KEEP, ""},          {"s", TAG_KEEP, ""},
    {"del", TAG_KEEP, ""},        {"ins", TAG_KEEP, ""},
    {"mark", TAG_KEEP, ""},       {"small", TAG_KEEP, ""},
    {"sub", TAG_KEEP, ""},        {"sup", TAG_KEEP, ""},
    {"a", TAG_KEEP, "href target"},
    {"img", TAG_KEEP | TAG_VOID, "src alt width height"},
    {"h1", TAG_KEEP, ""},         {"h2", TAG_KEEP, ""},
    {"h3", TAG_KEEP, ""},         {"h4", TAG_KEEP, ""},
    {"h5", TAG_KEEP, ""},         {"h6", TAG_KEEP, ""},
    {"ul", TAG_KEEP, ""},         {"ol", TAG_KEEP, ""},
    {"li", TAG_KEEP, ""},         {"dl", TAG_KEEP, ""},
    {"dt", TAG_KEEP, ""},         {"dd", TAG_KEEP, ""},
    {"blockquote", TAG_KEEP, ""}, {"q", TAG_KEEP, ""},
    {"cite", TAG_KEEP, ""},       {"abbr", TAG_KEEP, ""},
    {"table", TAG_KEEP, ""},      {"thead", TAG_KEEP, ""},
    {"tbody", TAG_KEEP, ""},      {"tfoot", TAG_KEEP, ""},
    {"tr", TAG_KEEP, ""},
    {"th", TAG_KEEP, "colspan rowspan align scope"},
    {"td", TAG_KEEP, "colspan rowspan align scope"},
    {"caption", TAG_KEEP, ""},    {"colgroup", TAG_KEEP, ""},
    {"col", TAG_KEEP | TAG_VOID, ""}, {"figure", TAG_KEEP, ""},
    {"figcaption", TAG_KEEP, ""}, {"details", TAG_KEEP, "open"},
    {"summary", TAG_KEEP, ""},    {"section", TAG_KEEP, ""},
    {"article", TAG_KEEP, ""},    {"aside", TAG_KEEP, ""},
    {"header", TAG_KEEP, ""},     {"footer", TAG_KEEP, ""},
    {"nav", TAG_KEEP, ""},        {"time", TAG_KEEP, "datetime"},
    {"script", TAG_RAW, ""},      {"style", TAG_RAW, ""},
    {"xmp", TAG_RAW, ""},         {"plaintext", TAG_RAW, ""},
    {"textarea", TAG_RAW, ""},    {"title", TAG_RAW, ""},
    {"noscript", TAG_RAW, ""},    {"template", TAG_RAW, ""},
    {"iframe", TAG_RAW, ""},      {"noembed", TAG_RAW, ""},
    {"noframes", TAG_RAW, ""},    {"svg", TAG_RAW, ""},
    {"math", TAG_RAW, ""},
};

/* Allowed on every kept tag. */
static const char global_attrs[] = "title class lang dir style";

enum { NAME_MAX_LEN = 15 }; /* longer tag or attribute names are never allowlisted */

typedef struct san {
  const char *s;
  size_t n;
  kb_buf *out;
  kb_buf val; /* scratch: the decoded value of the attribute being checked */
} san;

typedef struct attr {
  const char *name, *val;
  size_t name_len, val_len;
} attr;

/* ---- small helpers ----------------------------------------------------------------- */

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static char to_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* Lowercase s[0..n) into dst (NAME_MAX_LEN + 1 bytes); false if it is too long. */
static bool lower_name(const char *s, size_t n, char *dst) {
  if (n == 0 || n > NAME_MAX_LEN) return false;
  for (size_t i = 0; i < n; i++) dst[i] = to_lower(s[i]);
  dst[n] = '\0';
  return true;
}

/* True if `word` is one of the space-separated words in `list`. */
static bool word_in(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, " ");
    if (len == n && memcmp(p, word, n) == 0) return true;
    p += len;
    while (*p == ' ') p++;
  }
  return false;
}


static const tag_rule *tag_lookup(const char *name) {
  for (size_t i = 0; i < sizeof tag_rules / sizeof tag_rules[0]; i++)
    if (strcmp(tag_rules[i].name, name) == 0) return &tag_rules[i];
  return NULL;
}

/* ---- URLs and styles --------------------------------------------------------------- */

static bool scheme_allowed(const char *s, size_t n) {
  static const char *const schemes[] = {"http", "https", "mailto", "ftp"};
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
    size_t len = strlen(schemes[i]), k = 0;
    while (k < n && k < len && to_lower(s[k]) == schemes[i][k]) k++;
    if (k == n && k == len) return true;
  }
  return false;
}

/* Judge an already decoded URL. Whatever precedes the first ':' (unless a '/', '?' or
 * '#' comes first, which makes the colon part of a path) must be an allowed scheme
 * exactly, so spaces, controls or stray characters inside a scheme reject the URL. */
static bool url_decoded_is_safe(const char *u, size_t n) {
  while (n > 0 && (unsigned char)u[0] <= 0x20) u++, n--; /* browsers strip these */
  while (n > 0 && (unsigned char)u[n - 1] <= 0x20) n--;
  size_t end = n; /* the first ':', '/', '?' or '#' */
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)u[i] < 0x20 || u[i] == 0x7F) return false;
    if (end == n && (u[i] == ':' || u[i] == '/' || u[i] == '?' || u[i] == '#')) end = i;
  }
  if (end == n || u[end] != ':') return true; /* relative, or only a path/query/fragment */
  return scheme_allowed(u, end);
}

bool kb_url_is_safe(const char *url, size_t n) {
  kb_buf d = KB_BUF_INIT;
  kb_html_attr_decode(url, n, &d);
  bool ok = !d.err && url_decoded_is_safe(d.ptr, d.len);
  kb_buf_release(&d);
  return ok;
}

/* Inline styles are kept only for simple declarations such as "color: #ff0000;":
 * a short character set leaves no room for escapes, strings, comments or at-rules,
 * and the keyword check removes the ways CSS can load or run anything. */
static bool style_is_safe(const char *v, size_t n) {
  static const char *const banned[] = {"url(", "expression", "javascript", "@import", "\\", "<"};
  for (size_t i = 0; i < n; i++)
    if (!is_alpha(v[i]) && !is_digit(v[i]) && (v[i] == '\0' || !strchr(" #:;%,.-()!/", v[i])))
      return false;
  for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
    if (kb_text_find_ci(v, n, 0, banned[i]) < n) return false;
  return true;
}

/* ---- text ---------------------------------------------------------------------------- */

/* True if s[0..n) (s[0] == '&') starts a syntactically complete character reference. */
static bool starts_reference(const char *s, size_t n) {
  size_t i = 1, start;
  if (i < n && s[i] == '#') {
    i++;
    bool hex = i < n && (s[i] == 'x' || s[i] == 'X');
    i += hex;
    for (start = i; i < n && i < 40 && (hex ? is_hex(s[i]) : is_digit(s[i]));) i++;
  } else {
    for (start = i; i < n && i < 40 && (is_alpha(s[i]) || is_digit(s[i]));) i++;
  }
  return i > start && i < n && s[i] == ';';
}

/* Copy text s[from..to), which holds no '<': bare '&' becomes &amp;, NUL is dropped. */
static void emit_text(san *z, size_t from, size_t to) {
  size_t run = from;
  for (size_t i = from; i < to; i++) {
    char c = z->s[i];
    if (c != '\0' && (c != '&' || starts_reference(z->s + i, to - i))) continue;
    kb_buf_add(z->out, z->s + run, i - run);
    if (c == '&') kb_buf_adds(z->out, "&amp;");
    run = i + 1;
  }
  kb_buf_add(z->out, z->s + run, to - run);
}

/* ---- attributes ---------------------------------------------------------------------- */

/* Read an attribute value at s[*p] (just after the '='), quoted or not. Returns false
 * when the input ends first. */
static bool read_value(const char *s, size_t n, size_t *p, attr *a) {
  size_t q = *p;
  while (q < n && is_space(s[q])) q++;
  if (q >= n) return false;
  if (s[q] == '"' || s[q] == '\'') {
    const char *close = memchr(s + q + 1, s[q], n - q - 1);
    if (!close) return false;
    a->val = s + q + 1, a->val_len = (size_t)(close - a->val);
    *p = (size_t)(close - s) + 1;
    return true;
  }
  a->val = s + q;
  while (q < n && !is_space(s[q]) && s[q] != '>') q++;
  a->val_len = (size_t)(s + q - a->val);
  *p = q;
  return true;
}

/* Read the next attribute of the tag being scanned at s[*i] (HTML5 "before attribute
 * name" state). Returns 1 with *a filled, 0 after consuming the tag's '>' (with
 * *self_closing set for "/>"), or -1 when the input ends inside the tag. */
static int next_attr(const char *s, size_t n, size_t *i, attr *a, bool *self_closing) {
  size_t p = *i;
  while (p < n && (is_space(s[p]) || (s[p] == '/' && (p + 1 >= n || s[p + 1] != '>')))) p++;
  if (p >= n) return -1;
  if (s[p] == '>' || s[p] == '/') {
    *self_closing = s[p] == '/';
    *i = p + (s[p] == '/' ? 2 : 1);
    return 0;
  }
  a->name = s + p; /* the first character belongs to the name even if it is '=' */
  for (p++; p < n && !is_space(s[p]) && s[p] != '/' && s[p] != '>' && s[p] != '=';) p++;
  a->name_len = (size_t)(s + p - a->name);
  a->val = s + p, a->val_len = 0;
  size_t q = p;
  while (q < n && is_space(s[q])) q++;
  if (q < n && s[q] == '=') {
    p = q + 1;
    if (!read_value(s, n, &p, a)) return -1;
  }
  *i = p;
  return 1;
}

/* Is `name` (lowercase) allowed on this tag, with this decoded value? */
static bool attr_allowed(const tag_rule *t, const char *name, const char *v, size_t n) {
  if (name[0] == 'o' && name[1] == 'n') return false; /* every event handler */
  if (!word_in(global_attrs, name) && !word_in(t->attrs, name)) return false;
  if (strcmp(name, "href") == 0 || strcmp(name, "src") == 0) return url_decoded_is_safe(v, n);
  if (strcmp(name, "style") == 0) return style_is_safe(v, n);
  return true;
}

/* Filter one attribute and append it. target is kept only as "_blank", which sets
 * *blank so that the tag gets rel="noopener noreferrer". */
static void emit_attr(san *z, const tag_rule *t, const attr *a, bool *blank) {
  char name[NAME_MAX_LEN + 1];
  if (!lower_name(a->name, a->name_len, name)) return;
  kb_buf_reset(&z->val);
  kb_html_attr_decode(a->val, a->val_len, &z->val);
  if (z->val.err || !attr_allowed(t, name, z->val.ptr, z->val.len)) return;
  if (strcmp(name, "target") == 0) {
    if (z->val.len != 6 || kb_text_find_ci(z->val.ptr, 6, 0, "_blank") != 0 || *blank) return;
    *blank = true;
    kb_buf_adds(z->out, " target=\"_blank\"");
    return;
  }
  kb_buf_addf(z->out, " %s=\"", name);
  kb_buf_add_html(z->out, z->val.ptr, z->val.len);
  kb_buf_addc(z->out, '"');
}

/* ---- tags ---------------------------------------------------------------------------- */

/* Skip the content of a raw-text tag up to and including "</name" + '>'; returns the
 * position after it, or n. Nested markup inside is never looked at. */
static size_t skip_raw(san *z, size_t i, const char *name) {
  char close[NAME_MAX_LEN + 3] = "</";
  strcat(close, name);
  size_t m = strlen(close);
  for (;;) {
    size_t at = kb_text_find_ci(z->s, z->n, i, close);
    if (at >= z->n) return z->n;
    size_t p = at + m;
    if (p >= z->n || is_space(z->s[p]) || z->s[p] == '/' || z->s[p] == '>') {
      attr a;
      bool self_closing;
      int r;
      while ((r = next_attr(z->s, z->n, &p, &a, &self_closing)) == 1) {}
      return r < 0 ? z->n : p;
    }
    i = at + 1; /* "</scripts": not the end */
  }
}

/* The tag name starting at s[i]: up to whitespace, '/' or '>'. Returns its end. */
static size_t tag_name_end(const char *s, size_t n, size_t i) {
  while (i < n && !is_space(s[i]) && s[i] != '/' && s[i] != '>') i++;
  return i;
}

/* Start tag whose name begins at s[i]. Returns the position after the tag. */
static size_t do_start_tag(san *z, size_t i) {
  size_t end = tag_name_end(z->s, z->n, i);
  char name[NAME_MAX_LEN + 1];
  const tag_rule *t = lower_name(z->s + i, end - i, name) ? tag_lookup(name) : NULL;
  bool keep = t && (t->flags & TAG_KEEP), blank = false, self_closing = false;
  size_t mark = z->out->len;
  if (keep) kb_buf_addf(z->out, "<%s", name);
  attr a;
  int r;
  while ((r = next_attr(z->s, z->n, &end, &a, &self_closing)) == 1)
    if (keep) emit_attr(z, t, &a, &blank);
  if (r < 0) { /* unterminated: a browser drops it, and so do we */
    kb_buf_truncate(z->out, mark);
    return z->n;
  }
  if (keep) {
    if (blank) kb_buf_adds(z->out, " rel=\"noopener noreferrer\"");
    kb_buf_adds(z->out, t->flags & TAG_VOID ? " />" : ">");
  }
  /* <svg/> and <math/> really are empty (foreign elements honour "/>"). */
  bool foreign_empty = self_closing && (strcmp(name, "svg") == 0 || strcmp(name, "math") == 0);
  if (t && (t->flags & TAG_RAW) && !foreign_empty) end = skip_raw(z, end, name);
  return end;
}

/* End tag whose name begins at s[i]. Returns the position after the tag. */
static size_t do_end_tag(san *z, size_t i) {
  size_t end = tag_name_end(z->s, z->n, i);
  char name[NAME_MAX_LEN + 1];
  const tag_rule *t = lower_name(z->s + i, end - i, name) ? tag_lookup(name) : NULL;
  attr a;
  bool self_closing;
  int r;
  while ((r = next_attr(z->s, z->n, &end, &a, &self_closing)) == 1) {}
  if (r < 0) return z->n;
  if (t && (t->flags & TAG_KEEP) && !(t->flags & TAG_VOID)) kb_buf_addf(z->out, "</%s>", name);
  return end;
}

/* Markup at s[i] == '<'. Returns the position after it. */
static size_t do_markup(san *z, size_t i) {
  const char *s = z->s;
  size_t n = z->n;
  char c1 = i + 1 < n ? s[i + 1] : '\0';
  if (is_alpha(c1)) return do_start_tag(z, i + 1);
  if (c1 == '/' && i + 2 < n && is_alpha(s[i + 2])) return do_end_tag(z, i + 2);
  if (c1 == '!' && i + 3 < n && s[i + 2] == '-' && s[i + 3] == '-') {
    size_t at = kb_text_find_ci(s, n, i + 2, "-->"); /* from i+2: "<!-->" is a whole comment */
    return at >= n ? n : at + 3;
  }
  if (c1 == '!' || c1 == '?' || c1 == '/') { /* doctype, CDATA, processing instruction */
    const char *gt = memchr(s + i, '>', n - i);
    return gt ? (size_t)(gt - s) + 1 : n;
  }
  kb_buf_adds(z->out, "&lt;"); /* a '<' that starts nothing */
  return i + 1;
}

void kb_html_sanitize(const char *html, size_t n, kb_buf *out) {
  san z = {html, n, out, KB_BUF_INIT};
  size_t i = 0;
  while (i < n) {
    const char *lt = memchr(html + i, '<', n - i);
    size_t at = lt ? (size_t)(lt - html) : n;
    emit_text(&z, i, at);
    i = at < n ? do_markup(&z, at) : n;
  }
  kb_buf_release(&z.val);
}
