/* url.c - decoding what an HTTP client sends: the path and query of a request target,
 * percent-encoding, UTF-8 checks, Accept-Encoding, ETags and HTTP dates. Pure
 * functions; the server decodes the raw target itself (libmicrohttpd's own decoding
 * would turn %00 into a string cut short). Used by route.c, static.c, pages.c, api.c. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"
#include "util/util.h"

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode s[0..n) into b; '+' is a space when plus_space. -1 on a bad escape. */
static int percent_decode(const char *s, size_t n, bool plus_space, kb_buf *b) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      int hi = i + 2 < n ? hex_value((unsigned char)s[i + 1]) : -1;
      int lo = i + 2 < n ? hex_value((unsigned char)s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return -1;
      kb_buf_addc(b, (char)(hi * 16 + lo));
      i += 2;
    } else {
      kb_buf_addc(b, plus_space && s[i] == '+' ? ' ' : s[i]);
    }
  }
  return 0;
}

/* "http://host/path" (absolute form) -> "/path". */
static const char *target_path(const char *target) {
  if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
    const char *p = strchr(target + 8 - (target[4] == ':'), '/');
    return p ? p : "/";
  }
  return target;
}

/* Every segment must be a plain name: not empty-dot, not hidden, no control bytes. */
static bool path_safe(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x20 || c == 0x7f || c == '\\') return false;
    if (c == '.' && p[i - 1] == '/') return false; /* p[0] is '/', so i >= 1 here */
  }
  return true;
}

int kb_srv_url_path(const char *target, char **out) {
  *out = NULL;
  const char *t = target_path(target);
  if (t[0] != '/') return 400;
  size_t n = strcspn(t, "?#");
  if (memchr(t, '\\', n)) return 404;
  kb_buf b;
  kb_buf_init(&b, n + 1);
  if (percent_decode(t, n, false, &b) != 0 || b.err) {
    kb_buf_release(&b);
    return 400;
  }
  if (!path_safe(b.ptr, b.len)) {
    kb_buf_release(&b);
    return 404;
  }
  *out = kb_buf_detach(&b, NULL);
  return 0;
}

int kb_srv_url_param(const char *query, const char *name, char **out) {
  *out = NULL;
  size_t nlen = strlen(name);
  for (const char *p = query; p && *p;) {
    size_t len = strcspn(p, "&;");
    if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      kb_buf b;
      kb_buf_init(&b, len + 1);
      int rc = percent_decode(p + nlen + 1, len - nlen - 1, true, &b);
      if (rc != 0 || b.err || memchr(b.ptr, '\0', b.len)) {
        kb_buf_release(&b);
        return -1;
      }
      *out = kb_buf_detach(&b, NULL);
      return 0;
    }
    if (len == nlen && strncmp(p, name, nlen) == 0) {
      *out = kb_xstrdup("");
      return 0;
    }
    p += len;
    if (*p) p++;
  }
  return 1;
}

void kb_srv_url_encode(kb_buf *b, const char *s, bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || strchr("-._~", *p) || (keep_slash && *p == '/')) {
      kb_buf_addc(b, (char)*p);
    } else {
      kb_buf_addc(b, '%');
      kb_buf_addc(b, hex[*p >> 4]);
      kb_buf_addc(b, hex[*p & 15]);
    }
  }
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when it is not one. */
static size_t utf8_char(const unsigned char *s, size_t n) {
  if (s[0] < 0x80) return 1;
  size_t len = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
  if (len == 0 || len > n) return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xc0) != 0x80) return 0;
  /* overlong 3-byte forms, UTF-16 surrogates, beyond U+10FFFF */
  if (len == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
  if (len == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
  return len;
}

bool kb_srv_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t len = utf8_char(p + i, n - i);
    if (!len) return false;
    i += len;
  }
  return true;
}

size_t kb_srv_utf8_cut(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  size_t cut = max;
  while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80) cut--;
  return cut;
}

/* Skip spaces and tabs. */
static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

/* q value of a list element's parameters ("; q=0.5"); 1 when absent. */
static double element_q(const char *params, size_t n) {
  const char *q = NULL;
  for (size_t i = 0; i + 1 < n; i++)
    if ((params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=') q = params + i + 2;
  return q ? strtod(q, NULL) : 1.0;
}

bool kb_srv_accepts_gzip(const char *ae) {
  for (const char *p = ae; p && *p;) {
    p = skip_ws(p);
    size_t len = strcspn(p, ",");
    size_t name = strcspn(p, " \t;,");
    bool gz = (name == 4 && strncasecmp(p, "gzip", 4) == 0) || (name == 6 && strncasecmp(p, "x-gzip", 6) == 0) ||
              (name == 1 && *p == '*');
    if (gz && element_q(p + name, len - name) > 0) return true;
    p += len;
    if (*p) p++;
  }
  return false;
}

bool kb_srv_etag_match(const char *inm, const char *etag) {
  if (!inm) return false;
  if (strncmp(etag, "W/", 2) == 0) etag += 2;
  size_t elen = strlen(etag);
  for (const char *p = inm; *p;) {
    p = skip_ws(p);
    size_t len = strcspn(p, ",");
    const char *t = p;
    size_t tlen = len;
    while (tlen && (t[tlen - 1] == ' ' || t[tlen - 1] == '\t')) tlen--;
    if (tlen == 1 && *t == '*') return true;
    if (tlen >= 2 && strncmp(t, "W/", 2) == 0) t += 2, tlen -= 2;
    if (tlen == elen && memcmp(t, etag, elen) == 0) return true;
    p += len;
    if (*p) p++;
  }
  return false;
}

long long kb_srv_http_date_parse(const char *s) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = s ? strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
  if (!end || *skip_ws(end)) return -1;
  return (long long)timegm(&tm);
}

void kb_srv_http_date(long long t, char *buf, size_t size) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

bool kb_srv_parse_int(const char *s, long lo, long hi, long *out) {
  if (!s || !*s || strlen(s) > 18) return false;
  for (const char *p = s; *p; p++)
    if (!isdigit((unsigned char)*p)) return false;
  errno = 0;
  long v = strtol(s, NULL, 10);
  if (errno || v < lo || v > hi) return false;
  *out = v;
  return true;
}
