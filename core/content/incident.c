/* incident.c - load one incident: bytes -> checked UTF-8 -> repaired text -> front
 * matter -> fields -> rendered body -> identifiers. See incident.h for the keys.
 * Every problem is reported as `path:line: message`; a file with an error yields no
 * incident at all, so a build never publishes a half-understood page. */
#include "content/incident.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "content/date.h"
#include "content/frontmatter.h"
#include "util/text.h"

#define MAX_REPAIR_REPORTS 3

typedef struct repair_log {
  const char *path;
  const char *text;
  kb_diags *diags;
  size_t count;
} repair_log;

static void repair_note(void *ctx, size_t off, const char *before, size_t bn, const char *after, size_t an) {
  repair_log *log = ctx;
  if (log->count++ >= MAX_REPAIR_REPORTS) return;
  kb_diags_add(log->diags, KB_WARN, log->path, kb_text_line_of(log->text, off),
               "repaired double-encoded UTF-8 '%.*s' -> '%.*s'", (int)bn, before, (int)an, after);
}

/* Bytes -> clean UTF-8 with `\n` line ends and no BOM; -1 after an error. */
static int incident_text(const char *path, const char *text, size_t len, kb_buf *out, kb_diags *diags) {
  if (len > KB_INCIDENT_MAX_BYTES) {
    kb_diags_add(diags, KB_ERROR, path, 0, "file is larger than %zu bytes", KB_INCIDENT_MAX_BYTES);
    return -1;
  }
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) text += 3, len -= 3;
  size_t bad;
  if (!kb_utf8_valid(text, len, &bad)) {
    kb_diags_add(diags, KB_ERROR, path, kb_text_line_of(text, bad),
                 "invalid UTF-8 (byte 0x%02X); save the file as UTF-8", (unsigned char)text[bad]);
    return -1;
  }
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    kb_diags_add(diags, KB_ERROR, path, kb_text_line_of(text, (size_t)(nul - text)), "NUL byte in text");
    return -1;
  }
  kb_buf lf = KB_BUF_INIT;
  for (size_t i = 0; i < len;) { /* CRLF -> LF, a run at a time */
    const char *cr = memchr(text + i, '\r', len - i);
    size_t end = cr ? (size_t)(cr - text) : len;
    kb_buf_add(&lf, text + i, end - i);
    if (end < len && !(end + 1 < len && text[end + 1] == '\n')) kb_buf_addc(&lf, '\r');
    i = end + 1;
  }
  repair_log log = {path, lf.ptr, diags, 0};
  kb_mojibake_repair(lf.ptr, lf.len, out, repair_note, &log);
  if (log.count > MAX_REPAIR_REPORTS)
    kb_diags_add(diags, KB_WARN, path, 0, "%zu more double-encoded sequences repaired",
                 log.count - MAX_REPAIR_REPORTS);
  kb_buf_release(&lf);
  return 0;
}

/* A scalar front matter value as a string (numbers too); NULL when absent or not scalar. */
static char *param_string(const cJSON *params, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
  if (cJSON_IsString(v)) return kb_xstrdup(v->valuestring);
  if (cJSON_IsNumber(v)) {
    if (v->valuedouble == (double)(long long)v->valuedouble) return kb_xasprintf("%lld", (long long)v->valuedouble);
    return kb_xasprintf("%g", v->valuedouble);
  }
  return NULL;
}

static bool field_ok(const char *path, int line, const char *key, const char *v, kb_diags *diags) {
  if (strlen(v) > KB_INCIDENT_MAX_FIELD) {
    kb_diags_add(diags, KB_ERROR, path, line, "'%s' is longer than %d bytes", key, KB_INCIDENT_MAX_FIELD);
    return false;
  }
  for (const char *p = v; *p; p++)
    if ((unsigned char)*p < 0x20) {
      kb_diags_add(diags, KB_ERROR, path, line, "'%s' contains a control character", key);
      return false;
    }
  return true;
}

/* tags/categories/aliases: a list of scalars, or a space-separated string (Jekyll). */
static int param_list(const char *path, const kb_frontmatter *fm, const char *key, bool split_spaces,
                      kb_strlist *out, kb_diags *diags) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(fm->data, key);
  int line = kb_frontmatter_line(fm, key);
  if (!v || cJSON_IsNull(v)) return 0;
  if (cJSON_IsString(v) && split_spaces) {
    const char *s = v->valuestring;
    while (*s) {
      while (*s == ' ' || *s == ',') s++;
      const char *e = s;
      while (*e && *e != ' ' && *e != ',') e++;
      if (e > s) kb_strlist_push_own(out, kb_xstrndup(s, (size_t)(e - s)));
      s = e;
    }
    return 0;
  }
  if (cJSON_IsString(v)) {
    kb_strlist_push(out, v->valuestring);
    return 0;
  }
  if (!cJSON_IsArray(v)) {
    kb_diags_add(diags, KB_ERROR, path, line, "'%s' must be a list", key);
    return -1;
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, v) {
    char *s = cJSON_IsString(item) ? kb_xstrdup(item->valuestring)
              : cJSON_IsNumber(item) ? kb_xasprintf("%g", item->valuedouble) : NULL;
    if (!s || !s[0] || !field_ok(path, line, key, s, diags)) {
      if (s && !s[0]) kb_diags_add(diags, KB_ERROR, path, line, "'%s' has an empty entry", key);
      else if (!s) kb_diags_add(diags, KB_ERROR, path, line, "'%s' entries must be strings", key);
      free(s);
      return -1;
    }
    if (!kb_strlist_has(out, s)) kb_strlist_push_own(out, s);
    else free(s);
  }
  return 0;
}

char *kb_slugify(const char *s, size_t n) {
  kb_buf b = KB_BUF_INIT;
  bool dash = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (isalnum(c) || c >= 0x80) {
      if (dash && b.len) kb_buf_addc(&b, '-');
      dash = false;
      kb_buf_addc(&b, (char)tolower(c));
    } else {
      dash = true;
    }
  }
  return kb_buf_detach(&b, NULL);
}

char *kb_site_path_clean(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || s[0] != '/' || n > KB_INCIDENT_MAX_FIELD) return NULL;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f || c == '\\' || c == '?' || c == '#' || c == '%' || c == '"' || c == '<' ||
        c == '>' || c == '\'' || c == ' ')
      return NULL;
    if (c == '/' && i + 1 < n && s[i + 1] == '/') return NULL;
  }
  /* No "." or ".." segment anywhere. */
  for (const char *seg = s; seg && *seg;) {
    seg++;
    const char *end = strchr(seg, '/');
    size_t len = end ? (size_t)(end - seg) : strlen(seg);
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) return NULL;
    seg = end;
  }
  const char *last = strrchr(s, '/');
  bool has_ext = strchr(last, '.') != NULL;
  if (s[n - 1] == '/' || has_ext) return kb_xstrdup(s);
  return kb_xasprintf("%s/", s);
}

/* File name without folders, ".md" and a Jekyll "YYYY-MM-DD-" prefix; sets *date from it. */
static char *name_stem(const char *path, int64_t *date, bool *has_date) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 3 && strcmp(base + n - 3, ".md") == 0) n -= 3;
  else if (n > 9 && strcmp(base + n - 9, ".markdown") == 0) n -= 9;
  if (n > 11 && isdigit((unsigned char)base[0]) && base[4] == '-' && base[7] == '-' && base[10] == '-') {
    char ymd[11];
    memcpy(ymd, base, 10);
    ymd[10] = '\0';
    int tz;
    if (kb_date_parse(ymd, date, &tz) == 0) {
      *has_date = true;
      base += 11;
      n -= 11;
    }
  }
  return kb_xstrndup(base, n);
}

static int incident_dates(kb_incident *inc, const kb_frontmatter *fm, kb_diags *diags) {
  char *s = param_string(fm->data, "date");
  if (!s) return 0;
  int rc = 0;
  if (kb_date_parse(s, &inc->date, &inc->tz_min) == 0) {
    inc->has_date = true;
  } else {
    kb_diags_add(diags, KB_ERROR, inc->path, kb_frontmatter_line(fm, "date"),
                 "unknown date '%.60s' (write it as 2013-12-22 or 2013-12-22T12:09:10+02:00)", s);
    rc = -1;
  }
  free(s);
  return rc;
}

static int incident_identity(kb_incident *inc, const kb_frontmatter *fm, char *stem, kb_diags *diags) {
  const char *path = inc->path;
  char *slug_src = param_string(fm->data, "slug");
  inc->slug = slug_src ? kb_slugify(slug_src, strlen(slug_src)) : kb_slugify(stem, strlen(stem));
  free(slug_src);
  if (!inc->slug[0]) {
    kb_diags_add(diags, KB_ERROR, path, kb_frontmatter_line(fm, "slug"),
                 "cannot make a URL slug from the file name; add a 'slug:'");
    return -1;
  }
  inc->id = param_string(fm->data, "id");
  if (!inc->id) inc->id = kb_xstrdup(inc->slug);
  if (!inc->id[0] || !field_ok(path, kb_frontmatter_line(fm, "id"), "id", inc->id, diags)) {
    if (!inc->id[0]) kb_diags_add(diags, KB_ERROR, path, kb_frontmatter_line(fm, "id"), "'id' is empty");
    return -1;
  }
  char *link = param_string(fm->data, "permalink");
  const char *key = "permalink";
  if (!link) link = param_string(fm->data, "url"), key = "url";
  if (link) {
    inc->url = kb_site_path_clean(link);
    if (!inc->url)
      kb_diags_add(diags, KB_ERROR, path, kb_frontmatter_line(fm, key),
                   "'%s' must be a path like /incidents/my-crash/ (no .., spaces, ?, # or %%): '%.80s'", key, link);
    free(link);
    if (!inc->url) return -1;
  } else {
    inc->url = kb_xasprintf("/incidents/%s/", inc->slug);
  }
  return 0;
}

static int incident_aliases(kb_incident *inc, const kb_frontmatter *fm, kb_diags *diags) {
  kb_strlist raw = {0};
  int rc = param_list(inc->path, fm, "aliases", false, &raw, diags);
  if (rc == 0) rc = param_list(inc->path, fm, "redirect_from", false, &raw, diags);
  for (size_t i = 0; rc == 0 && i < raw.n; i++) {
    char *clean = kb_site_path_clean(raw.v[i]);
    if (!clean) {
      kb_diags_add(diags, KB_ERROR, inc->path, kb_frontmatter_line(fm, "aliases"),
                   "alias must be a path like /old/address/: '%.80s'", raw.v[i]);
      rc = -1;
    } else {
      kb_strlist_push_own(&inc->aliases, clean);
    }
  }
  kb_strlist_release(&raw);
  return rc;
}

static bool param_true(const cJSON *params, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, key));
}

/* The first sentences of the body, cut at a word near KB_SUMMARY_CHARS. */
static char *summary_from_text(const char *text) {
  kb_buf b = KB_BUF_INIT;
  bool space = false;
  for (const char *p = text; *p && b.len < KB_SUMMARY_CHARS; p++) {
    if (isspace((unsigned char)*p)) {
      space = b.len > 0;
      continue;
    }
    if (space) kb_buf_addc(&b, ' ');
    space = false;
    kb_buf_addc(&b, *p);
  }
  if (b.len >= KB_SUMMARY_CHARS) {
    char *cut = strrchr(b.ptr, ' ');
    if (cut && cut > b.ptr + KB_SUMMARY_CHARS / 2) kb_buf_truncate(&b, (size_t)(cut - b.ptr));
    /* never end inside a UTF-8 sequence */
    while (b.len && ((unsigned char)b.ptr[b.len - 1] & 0xC0) == 0x80) kb_buf_truncate(&b, b.len - 1);
    if (b.len && ((unsigned char)b.ptr[b.len - 1] & 0xC0) == 0xC0) kb_buf_truncate(&b, b.len - 1);
    kb_buf_adds(&b, "…");
  }
  return kb_buf_detach(&b, NULL);
}

static int incident_fields(kb_incident *inc, const kb_frontmatter *fm, kb_diags *diags) {
  const char *path = inc->path;
  inc->title = param_string(fm->data, "title");
  if (!inc->title || !inc->title[0]) {
    kb_diags_add(diags, KB_ERROR, path, kb_frontmatter_line(fm, "title"), "missing 'title' in front matter");
    return -1;
  }
  if (!field_ok(path, kb_frontmatter_line(fm, "title"), "title", inc->title, diags)) return -1;
  int64_t name_date = 0;
  bool name_has_date = false;
  char *stem = name_stem(path, &name_date, &name_has_date);
  int rc = incident_dates(inc, fm, diags);
  if (rc == 0 && !inc->has_date && name_has_date) inc->date = name_date, inc->has_date = true;
  if (rc == 0) rc = incident_identity(inc, fm, stem, diags);
  free(stem);
  if (rc == 0) rc = param_list(path, fm, "tags", true, &inc->tags, diags);
  if (rc == 0) rc = param_list(path, fm, "categories", true, &inc->categories, diags);
  if (rc == 0) rc = incident_aliases(inc, fm, diags);
  inc->draft = param_true(fm->data, "draft") ||
               cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(fm->data, "published"));
  const char *const summary_keys[] = {"summary", "description", "excerpt", NULL};
  for (const char *const *k = summary_keys; !inc->summary && *k; k++) inc->summary = param_string(fm->data, *k);
  return rc;
}

/* Everything that can fail is checked before the body is rendered, so a front-only
 * load (with_body false) finds exactly the errors a full load finds. */
static kb_incident *incident_parse(const char *path, const char *text, size_t len, bool with_body,
                                   kb_diags *diags) {
  kb_buf clean = KB_BUF_INIT;
  kb_frontmatter fm = {0};
  kb_incident *inc = kb_xcalloc(1, sizeof *inc);
  inc->path = kb_xstrdup(path);
  if (incident_text(path, text, len, &clean, diags)) goto err;
  if (kb_frontmatter_parse(path, clean.ptr, &fm, diags)) goto err;
  if (incident_fields(inc, &fm, diags)) goto err;
  if (with_body) {
    const char *body = fm.body;
    kb_markdown_render(body, strlen(body), fm.body_line, &inc->md);
    if (!inc->summary) inc->summary = summary_from_text(inc->md.text);
    kb_idents_extract(inc->title, strlen(inc->title), &inc->idents);
    kb_idents_extract(inc->md.text, strlen(inc->md.text), &inc->idents);
    kb_idents_from_stacks(&inc->md.stacks, &inc->idents);
    inc->params = fm.data;
    fm.data = NULL;
  }
  kb_frontmatter_release(&fm);
  kb_buf_release(&clean);
  return inc;
err:
  kb_frontmatter_release(&fm);
  kb_buf_release(&clean);
  kb_incident_free(inc);
  return NULL;
}

kb_incident *kb_incident_parse(const char *path, const char *text, size_t len, kb_diags *diags) {
  return incident_parse(path, text, len, true, diags);
}

static kb_incident *incident_load(const char *path, bool with_body, kb_diags *diags) {
  kb_buf raw;
  kb_buf_init(&raw, KB_INCIDENT_MAX_BYTES + 1);
  if (kb_file_read(path, &raw)) {
    if (errno == EFBIG)
      kb_diags_add(diags, KB_ERROR, path, 0, "file is larger than %zu bytes", KB_INCIDENT_MAX_BYTES);
    else
      kb_diags_add(diags, KB_ERROR, path, 0, "cannot read: %s", strerror(errno));
    kb_buf_release(&raw);
    return NULL;
  }
  kb_incident *inc = incident_parse(path, raw.ptr, raw.len, with_body, diags);
  kb_buf_release(&raw);
  return inc;
}

kb_incident *kb_incident_load(const char *path, kb_diags *diags) { return incident_load(path, true, diags); }

kb_incident *kb_incident_load_front(const char *path, kb_diags *diags) { return incident_load(path, false, diags); }

void kb_incident_free(kb_incident *inc) {
  if (!inc) return;
  free(inc->path);
  free(inc->id);
  free(inc->slug);
  free(inc->url);
  free(inc->title);
  free(inc->summary);
  kb_strlist_release(&inc->tags);
  kb_strlist_release(&inc->categories);
  kb_strlist_release(&inc->aliases);
  cJSON_Delete(inc->params);
  kb_markdown_release(&inc->md);
  kb_idents_release(&inc->idents);
  free(inc);
}
