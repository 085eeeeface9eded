/* text.c - UTF-8 validation, line numbers, mojibake repair, HTML entity decoding and
 * HTML-to-text (see text.h). Called by the content loader, the sanitizer and the
 * search index. Every function is a single forward pass over its input. */
#include "util/text.h"

#include <stdint.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Decode the UTF-8 sequence at s[0..n). Returns its length and sets *cp, or 0 when
 * the bytes there are not one complete, shortest-form, non-surrogate sequence.
 * The second byte's range carries all the special cases (Unicode table 3-7). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  if (n == 0) return 0;
  unsigned c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;
  uint32_t v;
  if (c < 0xC2) return 0; /* stray continuation byte or overlong 2-byte lead */
  if (c < 0xE0) {
    len = 2, v = c & 0x1F;
  } else if (c < 0xF0) {
    len = 3, v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c < 0xF5) {
    len = 4, v = c & 0x07;
    if (c == 0xF0) lo = 0x90; /* overlong */
    if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
  } else {
    return 0;
  }
  if (n < len || s[1] < lo || s[1] > hi) return 0;
  v = (v << 6) | (s[1] & 0x3F);
  for (size_t i = 2; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  *cp = v;
  return len;
}

/* Encode a code point (assumed valid) into out; returns the length. */
static size_t utf8_encode(uint32_t cp, unsigned char out[4]) {
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (cp >> 12));
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (cp >> 18));
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

static void add_cp(kb_buf *out, uint32_t cp) {
  unsigned char tmp[4];
  kb_buf_add(out, tmp, utf8_encode(cp, tmp));
}

/* Past the ASCII bytes from u[i] on (eight at a time: most of our text is ASCII). */
static size_t skip_ascii(const unsigned char *u, size_t i, size_t n) {
  for (uint64_t w; i + 8 <= n; i += 8) {
    memcpy(&w, u + i, 8);
    if (w & 0x8080808080808080ull) break;
  }
  while (i < n && u[i] < 0x80) i++;
  return i;
}

bool kb_utf8_valid(const char *s, size_t n, size_t *bad) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while ((i = skip_ascii(u, i, n)) < n) {
    uint32_t cp;
    size_t len = utf8_decode(u + i, n - i, &cp);
    if (len == 0) {
      if (bad) *bad = i;
      return false;
    }
    i += len;
  }
  return true;
}

int kb_text_line_of(const char *s, size_t off) {
  int line = 1;
  for (size_t i = 0; i < off && s[i]; i++)
    if (s[i] == '\n') line++;
  return line;
}

/* ---- Mojibake ------------------------------------------------------------------ */

/* Windows-1252 bytes 0x80..0x9F; 0 marks the five bytes CP1252 leaves undefined. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, /* 80-87 */
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,      /* 88-8F */
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, /* 90-97 */
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178, /* 98-9F */
};

/* The byte a CP1252 (or Latin-1) decoder turned into `cp`, or -1. U+0080..U+009F map
 * to themselves: that is what Latin-1 decoding, and CP1252 decoders that pass the
 * undefined bytes through, produce. */
static int cp1252_byte(uint32_t cp) {
  if (cp >= 0x80 && cp <= 0xFF) return (int)cp;
  for (int i = 0; i < 32; i++)
    if (cp1252_high[i] && cp1252_high[i] == cp) return 0x80 + i;
  return -1;
}

/* If a mojibake sequence starts at u[i], store the original bytes in fix[] (*fix_len)
 * and return the number of input bytes it covers; else 0. */
static size_t mojibake_match(const unsigned char *u, size_t n, size_t i, unsigned char fix[4],
                             size_t *fix_len) {
  uint32_t cp;
  size_t pos = i, len = utf8_decode(u + pos, n - pos, &cp);
  int b = len ? cp1252_byte(cp) : -1;
  if (b < 0xC2 || b > 0xF4) return 0;
  size_t need = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  fix[0] = (unsigned char)b;
  pos += len;
  for (size_t k = 1; k < need; k++) {
    len = pos < n ? utf8_decode(u + pos, n - pos, &cp) : 0;
    b = len ? cp1252_byte(cp) : -1;
    if (b < 0x80 || b > 0xBF) return 0;
    fix[k] = (unsigned char)b;
    pos += len;
  }
  if (utf8_decode(fix, need, &cp) != need) return 0; /* overlong, surrogate, too big */
  if (cp >= 0x80 && cp <= 0x9F) return 0; /* C1 controls are never what was meant */
  *fix_len = need;
  return pos - i;
}

/* Scripts written in runs of letters: a lone repair into them is more likely to be
 * legitimate text ("Gruß“" -> NKo, "café…”" -> CJK) than mojibake. */
static bool repair_needs_company(const unsigned char *fix) {
  return (fix[0] >= 0xD4 && fix[0] <= 0xDF) || (fix[0] >= 0xE3 && fix[0] <= 0xED);
}

size_t kb_mojibake_repair(const char *s, size_t n, kb_buf *out, kb_repair_cb cb, void *ctx) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, copied = 0, repairs = 0, prev_end = (size_t)-1;
  /* ASCII is never part of a repair: skipped without decoding */
  while ((i = skip_ascii(u, i, n)) < n) {
    unsigned char fix[4], next[4];
    size_t fix_len = 0, next_len, used = mojibake_match(u, n, i, fix, &fix_len);
    if (used && repair_needs_company(fix) && i != prev_end &&
        !mojibake_match(u, n, i + used, next, &next_len))
      used = 0;
    if (!used) {
      uint32_t cp;
      size_t len = utf8_decode(u + i, n - i, &cp);
      i += len ? len : 1;
      continue;
    }
    kb_buf_add(out, s + copied, i - copied);
    kb_buf_add(out, fix, fix_len);
    if (cb) cb(ctx, i, s + i, used, (const char *)fix, fix_len);
    repairs++;
    i += used;
    copied = prev_end = i;
  }
  kb_buf_add(out, s + copied, n - copied);
  return repairs;
}

/* ---- HTML character references ------------------------------------------------ */

/* HTML 4 Latin-1 entities, in code point order from U+00A0. */
static const char *const latin1_names[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",
    "uml",    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",
    "deg",    "plusmn", "sup2",   "sup3",   "acute",  "micro",  "para",   "middot",
    "cedil",  "sup1",   "ordm",   "raquo",  "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc",  "Atilde", "Auml",   "Aring",  "AElig",  "Ccedil",
    "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave", "Iacute", "Icirc",  "Iuml",
    "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",   "times",
    "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",  "szlig",
    "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",
    "eth",    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide",
    "oslash", "ugrave", "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml",
};

/* HTML 4 Greek letters from U+0391 (Alpha) and U+03B1 (alpha); U+03A2 is unassigned. */
static const char *const greek_upper[25] = {
    "Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta",  "Eta", "Theta", "Iota",
    "Kappa", "Lambda", "Mu",  "Nu",    "Xi",      "Omicron", "Pi", "Rho",  NULL,
    "Sigma", "Tau",  "Upsilon", "Phi", "Chi",     "Psi",   "Omega",
};
static const char *const greek_lower[25] = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta",  "eta", "theta", "iota",
    "kappa", "lambda", "mu",  "nu",    "xi",      "omicron", "pi", "rho",  "sigmaf",
    "sigma", "tau",  "upsilon", "phi", "chi",     "psi",   "omega",
};

/* Everything else people write in blog posts: markup, punctuation, arrows, math, and
 * the HTML5 names that are used to hide URL schemes (colon, Tab, NewLine). */
static const struct {
  const char *name;
  uint16_t cp;
} other_names[] = {
    {"quot", 34},      {"amp", 38},       {"apos", 39},      {"lt", 60},
    {"gt", 62},        {"Tab", 9},        {"NewLine", 10},   {"colon", 58},
    {"OElig", 0x152},  {"oelig", 0x153},  {"Scaron", 0x160}, {"scaron", 0x161},
    {"Yuml", 0x178},   {"fnof", 0x192},   {"circ", 0x2C6},   {"tilde", 0x2DC},
    {"ensp", 0x2002},  {"emsp", 0x2003},  {"thinsp", 0x2009}, {"zwnj", 0x200C},
    {"zwj", 0x200D},   {"lrm", 0x200E},   {"rlm", 0x200F},   {"ndash", 0x2013},
    {"mdash", 0x2014}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"sbquo", 0x201A},
    {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"bdquo", 0x201E}, {"dagger", 0x2020},
    {"Dagger", 0x2021}, {"bull", 0x2022}, {"hellip", 0x2026}, {"permil", 0x2030},
    {"prime", 0x2032}, {"Prime", 0x2033}, {"lsaquo", 0x2039}, {"rsaquo", 0x203A},
    {"oline", 0x203E}, {"frasl", 0x2044}, {"euro", 0x20AC},  {"trade", 0x2122},
    {"larr", 0x2190},  {"uarr", 0x2191},  {"rarr", 0x2192},  {"darr", 0x2193},
    {"harr", 0x2194},  {"lArr", 0x21D0},  {"uArr", 0x21D1},  {"rArr", 0x21D2},
    {"dArr", 0x21D3},  {"hArr", 0x21D4},  {"forall", 0x2200}, {"part", 0x2202},
    {"exist", 0x2203}, {"empty", 0x2205}, {"nabla", 0x2207}, {"isin", 0x2208},
    {"notin", 0x2209}, {"prod", 0x220F},  {"sum", 0x2211},   {"minus", 0x2212},
    {"lowast", 0x2217}, {"radic", 0x221A}, {"prop", 0x221D}, {"infin", 0x221E},
    {"and", 0x2227},   {"or", 0x2228},    {"cap", 0x2229},   {"cup", 0x222A},
    {"int", 0x222B},   {"there4", 0x2234}, {"sim", 0x223C},  {"cong", 0x2245},
    {"asymp", 0x2248}, {"ne", 0x2260},    {"equiv", 0x2261}, {"le", 0x2264},
    {"ge", 0x2265},    {"sub", 0x2282},   {"sup", 0x2283},   {"sube", 0x2286},
    {"supe", 0x2287},  {"oplus", 0x2295}, {"otimes", 0x2297}, {"perp", 0x22A5},
    {"sdot", 0x22C5},  {"lceil", 0x2308}, {"rceil", 0x2309}, {"lfloor", 0x230A},
    {"rfloor", 0x230B}, {"lang", 0x2329}, {"rang", 0x232A},  {"loz", 0x25CA},
    {"spades", 0x2660}, {"clubs", 0x2663}, {"hearts", 0x2665}, {"diams", 0x2666},
};

static bool name_is(const char *name, const char *s, size_t n) {
  return name && name[0] == s[0] && strlen(name) == n && memcmp(name, s, n) == 0;
}

/* Code point of the entity name s[0..n) (without & and ;), or 0 if unknown. */
static uint32_t entity_lookup(const char *s, size_t n) {
  for (size_t i = 0; i < 96; i++)
    if (name_is(latin1_names[i], s, n)) return 0xA0 + (uint32_t)i;
  for (size_t i = 0; i < 25; i++) {
    if (name_is(greek_upper[i], s, n)) return 0x391 + (uint32_t)i;
    if (name_is(greek_lower[i], s, n)) return 0x3B1 + (uint32_t)i;
  }
  for (size_t i = 0; i < sizeof other_names / sizeof other_names[0]; i++)
    if (name_is(other_names[i].name, s, n)) return other_names[i].cp;
  return 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* What a numeric reference to `v` means to a browser (HTML5 "numeric character
 * reference end state"): NUL, surrogates and out-of-range values are U+FFFD, and the
 * C1 range is read as Windows-1252, which is what old blog posts meant by it. */
static uint32_t numeric_ref_cp(uint32_t v) {
  if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0xFFFD;
  if (v >= 0x80 && v <= 0x9F && cp1252_high[v - 0x80]) return cp1252_high[v - 0x80];
  return v;
}

/* Decode "&#...;" at s[0..n). Returns the bytes consumed (0: not decodable). */
static size_t decode_numeric(const char *s, size_t n, bool lenient, uint32_t *cp) {
  bool hex = n > 2 && (s[2] == 'x' || s[2] == 'X');
  size_t i = hex ? 3 : 2, start = i;
  uint32_t v = 0;
  for (; i < n; i++) {
    int d = hex ? hex_value(s[i]) : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
    if (d < 0) break;
    v = v > 0x10FFFF ? v : v * (hex ? 16 : 10) + (uint32_t)d; /* saturate, never wrap */
  }
  if (i == start) return 0;
  if (i < n && s[i] == ';') {
    i++;
  } else if (!lenient) {
    return 0;
  }
  *cp = numeric_ref_cp(v);
  return i;
}

/* Decode the reference at s[0..n) (s[0] == '&'). Returns the bytes consumed with *cp
 * set, or 0 when it is kept verbatim. */
static size_t decode_ref(const char *s, size_t n, bool lenient, uint32_t *cp) {
  if (n > 1 && s[1] == '#') return decode_numeric(s, n, lenient, cp);
  size_t i = 1;
  while (i < n && i <= 32 && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                              (s[i] >= '0' && s[i] <= '9')))
    i++;
  if (i == 1 || i >= n || s[i] != ';') return 0;
  *cp = entity_lookup(s + 1, i - 1);
  return *cp ? i + 1 : 0;
}

static void entities_decode(const char *s, size_t n, bool lenient, kb_buf *out) {
  size_t i = 0;
  while (i < n) {
    const char *amp = memchr(s + i, '&', n - i);
    size_t at = amp ? (size_t)(amp - s) : n;
    kb_buf_add(out, s + i, at - i);
    if (at == n) break;
    uint32_t cp = 0;
    size_t used = decode_ref(s + at, n - at, lenient, &cp);
    if (used) {
      add_cp(out, cp);
      i = at + used;
    } else {
      kb_buf_addc(out, '&');
      i = at + 1;
    }
  }
}

void kb_html_entities_decode(const char *s, size_t n, kb_buf *out) {
  entities_decode(s, n, false, out);
}

void kb_html_attr_decode(const char *s, size_t n, kb_buf *out) { entities_decode(s, n, true, out); }

/* ---- HTML to text ------------------------------------------------------------------ */

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
static char to_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* Needles are short tag names, so the naive search stays linear. */
size_t kb_text_find_ci(const char *s, size_t n, size_t from, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = from; i + m <= n; i++) {
    size_t k = 0;
    while (k < m && to_lower(s[i + k]) == needle[k]) k++;
    if (k == m) return i;
  }
  return n;
}

/* Position of the '>' ending the tag whose attributes start at s[i], skipping quoted
 * attribute values as a browser does; n if the tag is not terminated. */
static size_t tag_end(const char *s, size_t n, size_t i) {
  while (i < n && s[i] != '>') {
    if (s[i++] != '=') continue;
    while (i < n && is_space(s[i])) i++;
    if (i < n && (s[i] == '"' || s[i] == '\'')) {
      const char *q = memchr(s + i + 1, s[i], n - i - 1);
      if (!q) return n;
      i = (size_t)(q - s) + 1;
    }
  }
  return i;
}

/* Closing tags that end a line of text. */
static bool ends_block(const char *name) {
  static const char *const blocks[] = {
      "p",       "div",    "pre",        "li",      "tr",     "h1",     "h2",      "h3",
      "h4",      "h5",     "h6",         "blockquote", "table", "ul",   "ol",      "dl",
      "dt",      "dd",     "section",    "article", "aside",  "header", "footer",  "nav",
      "figure",  "figcaption", "details", "summary", "address", "main", "caption", "form",
  };
  for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
    if (strcmp(blocks[i], name) == 0) return true;
  return false;
}

/* Handle the tag at s[i] (s[i] == '<' followed by a letter or "/letter"); returns the
 * position after it, or n when it runs off the end. */
static size_t text_tag(const char *s, size_t n, size_t i, kb_buf *out) {
  bool closing = s[i + 1] == '/';
  size_t j = i + (closing ? 2 : 1);
  char name[16];
  size_t len = 0;
  for (; j < n && !is_space(s[j]) && s[j] != '/' && s[j] != '>'; j++)
    if (len < sizeof name - 1) name[len++] = to_lower(s[j]);
  name[len] = '\0';
  size_t end = tag_end(s, n, j);
  if (end >= n) return n;
  end++;
  if (!closing && (strcmp(name, "br") == 0 || strcmp(name, "hr") == 0)) kb_buf_addc(out, '\n');
  if (closing && ends_block(name)) kb_buf_addc(out, '\n');
  if (closing && (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)) kb_buf_addc(out, ' ');
  if (!closing && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)) {
    char close[sizeof name + 2] = "</";
    memcpy(close + 2, name, len + 1);
    size_t at = kb_text_find_ci(s, n, end, close);
    end = at >= n ? n : tag_end(s, n, at + 2);
    if (end < n) end++;
  }
  return end;
}

/* Handle the markup starting at s[i] == '<'. Returns the position after it; sets
 * *literal when the '<' is just text. */
static size_t text_markup(const char *s, size_t n, size_t i, kb_buf *out, bool *literal) {
  *literal = false;
  if (i + 3 < n && memcmp(s + i, "<!--", 4) == 0) {
    size_t at = kb_text_find_ci(s, n, i + 2, "-->"); /* from i+2: "<!-->" is a whole comment */
    return at >= n ? n : at + 3;
  }
  if (i + 1 < n && (is_alpha(s[i + 1]) || (s[i + 1] == '/' && i + 2 < n && is_alpha(s[i + 2]))))
    return text_tag(s, n, i, out);
  if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?' || s[i + 1] == '/')) {
    const char *gt = memchr(s + i, '>', n - i);
    return gt ? (size_t)(gt - s) + 1 : n;
  }
  *literal = true;
  return i + 1;
}

void kb_html_to_text(const char *s, size_t n, kb_buf *out) {
  size_t i = 0, text = 0; /* text: start of the text not yet decoded into out */
  while (i < n) {
    const char *lt = memchr(s + i, '<', n - i);
    if (!lt) break;
    size_t at = (size_t)(lt - s);
    /* Flush the text first so that a tag's newline lands after it. References never
     * contain '<', so splitting the decode here cannot cut one in half. */
    kb_html_entities_decode(s + text, at - text, out);
    text = at;
    bool literal;
    i = text_markup(s, n, at, out, &literal);
    if (!literal) text = i;
  }
  kb_html_entities_decode(s + text, n - text, out);
}
