/* site.c - render the site's pages from the templates (see site.h).
 *
 * Every page gets one JSON context: `site` (title, base, generator, build time) plus
 * what the page shows. Templates are logic-less Mustache; the data carries every
 * derived value (hrefs with the base prefix, formatted dates, counts, flags), so the
 * templates never compute. Pages are written as <path>/index.html ("pretty URLs").
 *
 * An incident page is written from a record (kb_site_digest) rather than from the
 * loaded incident, so that the build can let go of each incident once it is indexed:
 * the related incidents, which the page shows, are only known after every incident was
 * read. A record is the page's own data in a flat binary form: strings as a varint of
 * length+1 (0 = NULL) followed by the bytes and a NUL, so reading needs no copies. */
#include "site.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "content/date.h"
#include "content/extract.h"
#include "content/sanitize.h"
#include "util/util.h"

#define FEED_ENTRIES 50

/* One taxonomy term (a tag or a category) and the incidents that carry it. */
typedef struct site_term {
  char *name;
  char *slug;
  size_t *members; /* indexes into site->incidents */
  size_t n, cap;
} site_term;

typedef struct site_terms {
  const char *kind;  /* "tags" | "categories" */
  const char *label; /* "Tags" | "Categories" */
  site_term *v;
  size_t n, cap;
} site_terms;

int kb_site_base_parse(const char *base_url, char **base, char **abs_base) {
  const char *u = base_url && *base_url ? base_url : "/";
  *base = *abs_base = NULL;
  for (const char *p = u; *p; p++)
    if ((unsigned char)*p <= 0x20 || strchr("\"'<>\\`{}|^", *p)) return -1;
  const char *path = u;
  if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) {
    const char *host = strstr(u, "//") + 2;
    if (!*host || *host == '/') return -1;
    path = strchr(host, '/');
    if (!path) path = "/";
  } else if (u[0] != '/') {
    return -1;
  }
  if (strstr(path, "/../") || strstr(path, "/./") || strstr(path, "?") || strstr(path, "#")) return -1;
  size_t pl = strlen(path);
  *base = pl && path[pl - 1] == '/' ? kb_xstrdup(path) : kb_xasprintf("%s/", path);
  if (path != u) {
    size_t hl = (size_t)(path - u);
    if (strcmp(path, "/") == 0 && u[strlen(u) - 1] != '/') hl = strlen(u);
    *abs_base = kb_xasprintf("%.*s%s", (int)hl, u, *base);
  }
  return 0;
}

bool kb_site_path_reserved(const char *url) {
  static const char *const exact[] = {"/", "/index.html", "/feed.xml", "/sitemap.xml", "/404.html",
                                      "/kb.sqlite", "/style.css", "/kb.js", "/kb-live.js", "/kb-worker.js", NULL};
  /* the server's routes (server/route.c) too, so a published page never hides behind one */
  static const char *const prefixes[] = {"/tags/", "/categories/", "/static/", "/search", "/match", "/api/",
                                         "/healthz", "/_kb/", "/page/", NULL};
  for (const char *const *e = exact; *e; e++)
    if (strcmp(url, *e) == 0) return true;
  for (const char *const *p = prefixes; *p; p++)
    if (strncmp(url, *p, strlen(*p)) == 0) return true;
  return false;
}

/* "/incidents/x/" -> "<base>incidents/x/" */
static char *site_href(const kb_site *s, const char *url) {
  size_t nb = strlen(s->base), nu = strlen(url + 1);
  char *href = kb_xmalloc(nb + nu + 1);
  memcpy(href, s->base, nb);
  memcpy(href + nb, url + 1, nu + 1);
  return href;
}

static char *site_abs(const kb_site *s, const char *url) {
  return kb_xasprintf("%s%s", s->abs_base ? s->abs_base : s->base, url + 1);
}

/* File in the output folder for a site path: "/x/" -> "<dir>/x/index.html". */
static char *site_file(const kb_site *s, const char *url) {
  size_t n = strlen(url);
  if (n && url[n - 1] == '/') return kb_xasprintf("%s%sindex.html", s->dir, url);
  return kb_xasprintf("%s%s", s->dir, url);
}

/* A page's context takes its strings without copying where it can, under literal keys
 * (cJSON_AddStringToObject copies both): strings that outlive the render (the page
 * record, the incidents, the site) by reference, strings made for the page by taking
 * them over. A 10,000-incident build shows 700,000 frames of ten fields and 400,000
 * identifiers and links: the copies were two of the three allocations of every field. */
static void add_ref(cJSON *o, const char *key, const char *value) {
  cJSON_AddItemToObjectCS(o, key, cJSON_CreateStringReference(value ? value : ""));
}

/* `value` (from malloc) now belongs to the context: without cJSON_IsReference,
 * cJSON_Delete frees an item's valuestring. */
static void add_owned(cJSON *o, const char *key, char *value) {
  cJSON *item = cJSON_CreateStringReference(value ? value : kb_xstrdup(""));
  item->type &= ~cJSON_IsReference;
  cJSON_AddItemToObjectCS(o, key, item);
}

static void add_copy(cJSON *o, const char *key, const char *value) { cJSON_AddItemToObjectCS(o, key, cJSON_CreateString(value)); }

static void add_num(cJSON *o, const char *key, double value) { cJSON_AddItemToObjectCS(o, key, cJSON_CreateNumber(value)); }

static void add_bool(cJSON *o, const char *key, bool value) { cJSON_AddItemToObjectCS(o, key, cJSON_CreateBool(value)); }

static cJSON *site_object(const kb_site *s) {
  cJSON *o = cJSON_CreateObject();
  add_ref(o, "title", "Incident knowledge base");
  add_ref(o, "base", s->base);
  add_ref(o, "base_url", s->abs_base ? s->abs_base : s->base);
  add_ref(o, "generator", "kb " KB_GEN_VERSION);
  add_ref(o, "built_at", s->built_at);
  add_num(o, "incident_count", (double)s->n);
  return o;
}

static cJSON *page_context(const kb_site *s, const char *title, const char *url) {
  cJSON *ctx = cJSON_CreateObject();
  cJSON_AddItemToObjectCS(ctx, "site", site_object(s));
  cJSON *page = cJSON_CreateObject();
  cJSON_AddItemToObjectCS(ctx, "page", page);
  add_copy(page, "title", title);
  add_owned(page, "href", site_href(s, url));
  return ctx;
}

/* An error about `path` (no line); pages are written on several threads at once. */
static void site_error(kb_site *s, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void site_error(kb_site *s, const char *path, const char *fmt, ...) {
  kb_buf msg = KB_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  kb_buf_vaddf(&msg, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&s->lock);
  kb_diags_add(s->diags, KB_ERROR, path, 0, "%s", msg.ptr);
  pthread_mutex_unlock(&s->lock);
  kb_buf_release(&msg);
}

/* Render template `name` with ctx into the page at site path `url`. */
static int site_render(kb_site *s, const char *name, cJSON *ctx, const char *url) {
  kb_buf out = KB_BUF_INIT;
  char *err = NULL;
  int rc = kb_tmpl_set_render(s->templates, name, ctx, &out, &err);
  if (rc) {
    site_error(s, s->opts->templates_dir, "%s", err ? err : "template error");
    free(err);
  } else {
    char *file = site_file(s, url);
    rc = s->replace_files ? kb_file_replace(file, out.ptr, out.len) : kb_file_write(file, out.ptr, out.len);
    int e = errno;
    pthread_mutex_lock(&s->lock);
    if (rc) kb_diags_add(s->diags, KB_ERROR, file, 0, "cannot write: %s", strerror(e));
    else s->pages++;
    pthread_mutex_unlock(&s->lock);
    free(file);
  }
  kb_buf_release(&out);
  return rc;
}

static void add_term_links(const kb_site *s, cJSON *obj, const char *key, const char *kind, const kb_strlist *l) {
  cJSON *arr = cJSON_AddArrayToObject(obj, key);
  for (size_t i = 0; i < l->n; i++) {
    char *slug = kb_slugify(l->v[i], strlen(l->v[i]));
    kb_buf url = KB_BUF_INIT; /* "/kind/slug/" (no printf: 60,000 links at 1,000 incidents) */
    kb_buf_addc(&url, '/');
    kb_buf_adds(&url, kind);
    kb_buf_addc(&url, '/');
    kb_buf_adds(&url, slug);
    kb_buf_addc(&url, '/');
    cJSON *t = cJSON_CreateObject();
    add_ref(t, "name", l->v[i]);
    add_owned(t, "href", site_href(s, url.ptr));
    cJSON_AddItemToArray(arr, t);
    kb_buf_release(&url);
    free(slug);
  }
}

static void add_dates(cJSON *o, const kb_incident *inc) {
  char buf[40];
  add_bool(o, "has_date", inc->has_date);
  if (!inc->has_date) return;
  kb_date_format_rfc3339(inc->date, inc->tz_min, buf, sizeof buf);
  add_copy(o, "date_iso", buf);
  kb_date_format_human(inc->date, inc->tz_min, buf, sizeof buf);
  add_copy(o, "date_human", buf);
  kb_date_format_ymd(inc->date, inc->tz_min, buf, sizeof buf);
  add_copy(o, "date_ymd", buf);
}

/* What lists show of an incident. */
static cJSON *incident_card(const kb_site *s, const kb_site_item *item) {
  const kb_incident *inc = item->inc;
  cJSON *o = cJSON_CreateObject();
  add_ref(o, "id", inc->id);
  add_ref(o, "title", inc->title);
  add_owned(o, "href", site_href(s, inc->url));
  add_ref(o, "summary", inc->summary);
  add_bool(o, "draft", inc->draft);
  add_num(o, "stack_count", (double)item->stacks);
  add_dates(o, inc);
  add_bool(o, "has_tags", inc->tags.n > 0);
  add_term_links(s, o, "tags", "tags", &inc->tags);
  add_bool(o, "has_categories", inc->categories.n > 0);
  add_term_links(s, o, "categories", "categories", &inc->categories);
  return o;
}

static const char *ident_label(const char *kind) {
  if (strcmp(kind, "kb") == 0) return "KB article";
  if (strcmp(kind, "cve") == 0) return "CVE";
  if (strcmp(kind, "bugcheck") == 0) return "Bugcheck";
  if (strcmp(kind, "bugcheck_name") == 0) return "Bugcheck name";
  if (strcmp(kind, "module") == 0) return "Module";
  if (strcmp(kind, "exception") == 0) return "Exception";
  return kind;
}

/* "<base>search?q=<value, percent-encoded>": a link that searches for `value`. */
static char *search_href(const kb_site *s, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, s->base);
  kb_buf_adds(&b, "search?q=");
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if (isalnum(*p) || strchr("-_.~", *p)) {
      kb_buf_addc(&b, (char)*p);
    } else {
      kb_buf_addc(&b, '%');
      kb_buf_addc(&b, hex[*p >> 4]);
      kb_buf_addc(&b, hex[*p & 15]);
    }
  }
  return kb_buf_detach(&b, NULL);
}

/* ---- the record an incident page is written from (see the top of this file) ---- */

static void rec_uint(kb_buf *b, uint64_t v) {
  while (v >= 0x80) {
    kb_buf_addc(b, (char)(v | 0x80));
    v >>= 7;
  }
  kb_buf_addc(b, (char)v);
}

static void rec_str(kb_buf *b, const char *str) {
  if (!str) {
    rec_uint(b, 0);
    return;
  }
  size_t n = strlen(str);
  rec_uint(b, (uint64_t)n + 1);
  kb_buf_add(b, str, n + 1);
}

/* Reading a record: a cursor that turns bad (and stays bad) at the first field that
 * would run past the end, so a damaged record gives an error, not a crash. */
typedef struct rec_cursor {
  const char *p, *end;
  bool bad;
} rec_cursor;

static uint64_t rec_get_uint(rec_cursor *c) {
  uint64_t v = 0;
  for (unsigned shift = 0; !c->bad; shift += 7) {
    if (c->p >= c->end || shift > 63) {
      c->bad = true;
      break;
    }
    unsigned char byte = (unsigned char)*c->p++;
    v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
  return 0;
}

static const char *rec_get_str(rec_cursor *c) {
  uint64_t n = rec_get_uint(c);
  if (c->bad || n == 0) return NULL;
  if (n > (uint64_t)(c->end - c->p) || c->p[n - 1] != '\0') {
    c->bad = true;
    return NULL;
  }
  const char *str = c->p;
  c->p += n;
  return str;
}

static void rec_put_stack(kb_buf *b, const kb_stack *st) {
  rec_str(b, st->format);
  rec_str(b, st->signature);
  rec_str(b, st->reason.kind);
  rec_str(b, st->reason.name);
  rec_uint(b, st->bugcheck);
  rec_uint(b, st->nframes);
  for (size_t j = 0; j < st->nframes; j++) {
    const kb_frame *f = &st->frames[j];
    const char *strs[] = {f->module, f->function, f->offset, f->address, f->raw, f->norm, f->file};
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) rec_str(b, strs[k]);
    rec_uint(b, (uint64_t)(uint32_t)f->line);
    rec_uint(b, f->flags);
  }
}

/* Body, front matter, identifiers and stacks: what only the incident's own page shows. */
static void rec_put_incident(kb_buf *b, const kb_incident *inc) {
  rec_str(b, inc->md.html);
  char *params = inc->params ? cJSON_PrintUnformatted(inc->params) : NULL;
  rec_str(b, params);
  free(params);
  rec_uint(b, inc->idents.n);
  for (size_t i = 0; i < inc->idents.n; i++) {
    rec_str(b, inc->idents.v[i].kind);
    rec_str(b, inc->idents.v[i].value);
  }
  rec_uint(b, inc->md.stacks.n);
  for (size_t i = 0; i < inc->md.stacks.n; i++) rec_put_stack(b, &inc->md.stacks.v[i]);
}

static cJSON *rec_identifiers(const kb_site *s, rec_cursor *c) {
  cJSON *arr = cJSON_CreateArray();
  for (uint64_t i = 0, n = rec_get_uint(c); i < n && !c->bad; i++) {
    const char *kind = rec_get_str(c), *value = rec_get_str(c);
    if (!kind || !value) {
      c->bad = true;
      break;
    }
    cJSON *o = cJSON_CreateObject();
    add_ref(o, "kind", kind);
    add_ref(o, "label", ident_label(kind));
    add_ref(o, "value", value);
    add_owned(o, "href", search_href(s, value));
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

/* One frame of the stack table; sets *source and *module when it shows them. */
static cJSON *rec_frame(rec_cursor *c, size_t pos, bool *source, bool *module) {
  const char *mod = rec_get_str(c), *fn = rec_get_str(c), *off = rec_get_str(c), *addr = rec_get_str(c);
  const char *raw = rec_get_str(c), *norm = rec_get_str(c), *file = rec_get_str(c);
  int line = (int)(uint32_t)rec_get_uint(c);
  unsigned flags = (unsigned)rec_get_uint(c);
  cJSON *o = cJSON_CreateObject();
  add_num(o, "pos", (double)pos);
  add_ref(o, "module", mod);
  add_ref(o, "function", fn);
  add_ref(o, "offset", off);
  add_ref(o, "address", addr);
  add_ref(o, "raw", raw);
  add_ref(o, "norm", norm);
  if (file && line > 0) {
    add_owned(o, "loc", kb_xasprintf("%s:%d", file, line));
  } else if (file) {
    add_ref(o, "loc", file);
  }
  add_bool(o, "skipped", (flags & KB_FRAME_SKIP) != 0);
  add_bool(o, "signature", (flags & KB_FRAME_SIGNATURE) != 0);
  *source = *source || file;
  *module = *module || (mod && *mod);
  return o;
}

static cJSON *rec_stack(rec_cursor *c, size_t number) {
  const char *format = rec_get_str(c), *signature = rec_get_str(c);
  const char *reason_kind = rec_get_str(c), *reason_name = rec_get_str(c);
  unsigned bugcheck = (unsigned)rec_get_uint(c);
  uint64_t nframes = rec_get_uint(c);
  cJSON *o = cJSON_CreateObject();
  add_num(o, "number", (double)number);
  add_ref(o, "format", format);
  add_num(o, "frame_count", (double)nframes);
  if (signature) add_ref(o, "signature", signature);
  if (reason_kind) add_ref(o, "reason_kind", reason_kind);
  if (reason_name && !bugcheck) add_ref(o, "reason_name", reason_name);
  if (bugcheck) {
    char hex[16];
    snprintf(hex, sizeof hex, "0x%X", bugcheck);
    add_copy(o, "bugcheck", hex);
    const char *name = kb_bugcheck_name(bugcheck);
    if (name) add_ref(o, "bugcheck_name", name);
  }
  cJSON *frames = cJSON_CreateArray();
  cJSON_AddItemToObjectCS(o, "frames", frames);
  bool sources = false, modules = false;
  for (uint64_t j = 0; j < nframes && !c->bad; j++) cJSON_AddItemToArray(frames, rec_frame(c, j, &sources, &modules));
  add_bool(o, "has_sources", sources);
  add_bool(o, "has_modules", modules);
  return o;
}

static cJSON *rec_stacks(rec_cursor *c) {
  cJSON *arr = cJSON_CreateArray();
  for (uint64_t i = 0, n = rec_get_uint(c); i < n && !c->bad; i++) cJSON_AddItemToArray(arr, rec_stack(c, i + 1));
  return arr;
}

/* ---- related incidents: the ones sharing normalized frames (not skipped) or tags ---- */

#define RELATED_MAX 5
#define RELATED_GROUP_MAX 100 /* a frame or tag shared by more incidents tells little (and costs) */

/* Frames and tags are compared by a 64-bit hash of their text: the digests keep 8 bytes
 * per frame instead of the names (a collision among a few million names is a ~1e-7
 * chance, and would only add one shared frame to a related list). */
typedef struct rel_post {
  uint64_t key;
  size_t inc;
} rel_post;

typedef struct rel_list {
  rel_post *v;
  size_t n, cap;
} rel_list;

struct kb_site_rel {
  size_t idx[RELATED_MAX];
  unsigned frames[RELATED_MAX], tags[RELATED_MAX];
  size_t n;
};

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static size_t u64_sort_unique(uint64_t *v, size_t n) {
  if (n) qsort(v, n, sizeof *v, u64_cmp);
  size_t w = 0;
  for (size_t r = 0; r < n; r++)
    if (!w || v[r] != v[w - 1]) v[w++] = v[r];
  return w;
}

/* The hashes of the distinct frames (norms, not skipped) of an incident, sorted. */
static uint64_t *incident_norms(const kb_incident *inc, size_t *n) {
  size_t cap = 0;
  for (size_t i = 0; i < inc->md.stacks.n; i++) cap += inc->md.stacks.v[i].nframes;
  uint64_t *v = kb_xmalloc((cap ? cap : 1) * sizeof *v);
  size_t k = 0;
  for (size_t i = 0; i < inc->md.stacks.n; i++)
    for (size_t j = 0; j < inc->md.stacks.v[i].nframes; j++) {
      const kb_frame *f = &inc->md.stacks.v[i].frames[j];
      if (f->norm && *f->norm && !(f->flags & KB_FRAME_SKIP)) v[k++] = kb_str_hash(f->norm);
    }
  *n = u64_sort_unique(v, k);
  return v;
}

/* The hashes of an incident's distinct tags, sorted; caller frees. */
static uint64_t *incident_tags(const kb_incident *inc, size_t *n) {
  uint64_t *v = kb_xmalloc((inc->tags.n ? inc->tags.n : 1) * sizeof *v);
  for (size_t t = 0; t < inc->tags.n; t++) v[t] = kb_str_hash(inc->tags.v[t]);
  *n = u64_sort_unique(v, inc->tags.n);
  return v;
}

static int rel_post_cmp(const void *a, const void *b) {
  const rel_post *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? 1 : -1;
  return (x->inc > y->inc) - (x->inc < y->inc);
}

static void rel_push(rel_list *l, uint64_t key, size_t inc) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 256;
    l->v = kb_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = (rel_post){key, inc};
}

/* Sort by (key, incident); the posts are distinct already. */
static void rel_finish(rel_list *l) {
  if (l->n) qsort(l->v, l->n, sizeof *l->v, rel_post_cmp);
}

/* The incidents whose counts are not zero, so a pass touches only them, not all n. */
typedef struct rel_touched {
  size_t *v;
  size_t n;
} rel_touched;

/* Add 1 to count[j] for every other incident j filed under `key`. */
static void rel_count(const rel_list *l, uint64_t key, size_t self, unsigned *count, const unsigned *other,
                      rel_touched *touched) {
  size_t lo = 0, hi = l->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (l->v[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  /* a group too large to count is skipped without walking it: plumbing frames and
   * common tags have tens of thousands of posts at 100,000 incidents */
  if (lo + RELATED_GROUP_MAX < l->n && l->v[lo + RELATED_GROUP_MAX].key == key) return;
  size_t end = lo;
  while (end < l->n && l->v[end].key == key) end++;
  for (size_t k = lo; k < end; k++) {
    size_t j = l->v[k].inc;
    if (j == self) continue;
    if (count[j]++ == 0 && other[j] == 0) touched->v[touched->n++] = j;
  }
}

/* Keep j in r if it is among the RELATED_MAX best: a shared frame counts three times a
 * shared tag; ties go to the newer incident (lower index: newest first). */
static void rel_offer(kb_site_rel *r, size_t j, unsigned frames, unsigned tags) {
  unsigned score = 3 * frames + tags;
  if (!score) return;
  size_t at = r->n;
  while (at > 0 && (3 * r->frames[at - 1] + r->tags[at - 1] < score ||
                    (3 * r->frames[at - 1] + r->tags[at - 1] == score && r->idx[at - 1] > j)))
    at--;
  if (at >= RELATED_MAX) return;
  size_t last = r->n < RELATED_MAX ? r->n : RELATED_MAX - 1;
  for (size_t m = last; m > at; m--) {
    r->idx[m] = r->idx[m - 1];
    r->frames[m] = r->frames[m - 1];
    r->tags[m] = r->tags[m - 1];
  }
  r->idx[at] = j;
  r->frames[at] = frames;
  r->tags[at] = tags;
  if (r->n < RELATED_MAX) r->n++;
}

void kb_site_related(kb_site *s) {
  size_t n1 = s->n ? s->n : 1;
  s->rel = kb_xcalloc(n1, sizeof *s->rel);
  rel_list frames = {0}, tags = {0};
  uint64_t **tagv = kb_xcalloc(n1, sizeof *tagv);
  size_t *ntags = kb_xcalloc(n1, sizeof *ntags);
  for (size_t i = 0; i < s->n; i++) {
    for (size_t k = 0; k < s->items[i].nnorms; k++) rel_push(&frames, s->items[i].norms[k], i);
    tagv[i] = incident_tags(s->items[i].inc, &ntags[i]);
    for (size_t t = 0; t < ntags[i]; t++) rel_push(&tags, tagv[i][t], i);
  }
  rel_finish(&frames);
  rel_finish(&tags);
  unsigned *fc = kb_xcalloc(n1, sizeof *fc), *tc = kb_xcalloc(n1, sizeof *tc);
  rel_touched touched = {kb_xcalloc(n1, sizeof *touched.v), 0};
  for (size_t i = 0; i < s->n; i++) {
    touched.n = 0;
    for (size_t k = 0; k < s->items[i].nnorms; k++) rel_count(&frames, s->items[i].norms[k], i, fc, tc, &touched);
    for (size_t t = 0; t < ntags[i]; t++) rel_count(&tags, tagv[i][t], i, tc, fc, &touched);
    for (size_t tj = 0; tj < touched.n; tj++) {
      size_t j = touched.v[tj];
      rel_offer(&s->rel[i], j, fc[j], tc[j]);
      fc[j] = tc[j] = 0;
    }
    free(tagv[i]);
  }
  free(tagv);
  free(ntags);
  free(fc);
  free(tc);
  free(touched.v);
  free(frames.v);
  free(tags.v);
}

void kb_site_digest(kb_site *s, size_t i, const kb_incident *full, kb_buf *rec) {
  kb_site_item *item = &s->items[i];
  if (!item->inc->summary && full->summary) item->inc->summary = kb_xstrdup(full->summary);
  item->stacks = full->md.stacks.n;
  free(item->norms);
  item->norms = incident_norms(full, &item->nnorms);
  rec_put_incident(rec, full);
}

static cJSON *related_json(const kb_site *s, const kb_incident *inc, const kb_site_rel *r) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t k = 0; r && k < r->n; k++) {
    const kb_incident *other = s->items[r->idx[k]].inc;
    cJSON *o = incident_card(s, &s->items[r->idx[k]]);
    kb_buf why = KB_BUF_INIT;
    if (r->frames[k]) kb_buf_addf(&why, "%u shared frame%s", r->frames[k], r->frames[k] == 1 ? "" : "s");
    if (r->tags[k]) {
      kb_buf_adds(&why, why.len ? " · tags " : "tags ");
      size_t shown = 0;
      for (size_t t = 0; t < inc->tags.n; t++)
        if (kb_strlist_has(&other->tags, inc->tags.v[t])) kb_buf_addf(&why, "%s%s", shown++ ? ", " : "", inc->tags.v[t]);
    }
    add_owned(o, "why", kb_buf_detach(&why, NULL));
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

/* Front matter links shown as links: only http(s) URLs that pass the sanitizer. */
static bool is_web_url(const char *u) {
  return (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) && kb_url_is_safe(u, strlen(u));
}

/* The `incident` object of an incident page: the card, the record's data, related. */
static cJSON *incident_object(const kb_site *s, size_t i, rec_cursor *c) {
  const kb_incident *inc = s->items[i].inc;
  cJSON *o = incident_card(s, &s->items[i]);
  const char *body = rec_get_str(c), *params_json = rec_get_str(c);
  add_ref(o, "body", body);
  add_ref(o, "slug", inc->slug);
  cJSON *related = related_json(s, inc, s->rel ? &s->rel[i] : NULL);
  add_bool(o, "has_related", cJSON_GetArraySize(related) > 0);
  cJSON_AddItemToObjectCS(o, "related", related);
  cJSON *ids = rec_identifiers(s, c);
  add_bool(o, "has_identifiers", cJSON_GetArraySize(ids) > 0);
  cJSON_AddItemToObjectCS(o, "identifiers", ids);
  cJSON *stacks = rec_stacks(c);
  add_bool(o, "has_stacks", cJSON_GetArraySize(stacks) > 0);
  cJSON_AddItemToObjectCS(o, "stacks", stacks);
  cJSON *params = params_json ? cJSON_Parse(params_json) : NULL;
  cJSON_AddItemToObjectCS(o, "params", params ? params : cJSON_CreateObject());
  const cJSON *src = cJSON_GetObjectItemCaseSensitive(params, "source");
  if (cJSON_IsString(src) && is_web_url(src->valuestring)) add_ref(o, "source", src->valuestring);
  return o;
}

static int write_alias(kb_site *s, const char *alias, const kb_incident *inc);

/* ---- an incident page's context: its memory from an arena ----
 *
 * The context of an incident page is some 1,200 cJSON items (a stack table is 70 frames
 * of ten fields); allocated and freed one by one they were a tenth of the pages'
 * instructions. While a thread builds, renders and deletes one page's context, cJSON
 * takes its memory from that thread's arena, freed at once after the page. The hooks
 * are process-wide (cJSON_InitHooks) but the arena is per thread, and only on between
 * page_arena_begin and page_arena_end: any other thread, or this one at any other time,
 * gets malloc and free. Strings a context takes over (add_owned) come from malloc and
 * are freed by cJSON_Delete as before. */
#define ARENA_CHUNK ((size_t)96 << 10) /* under glibc's mmap threshold: no syscall per page */

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  alignas(max_align_t) unsigned char data[];
} arena_chunk;

static _Thread_local arena_chunk *page_arena;
static _Thread_local bool page_arena_on;

static void *arena_alloc(size_t n) {
  if (!page_arena_on) return kb_xmalloc(n ? n : 1);
  n = n ? (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1) : alignof(max_align_t);
  arena_chunk *c = page_arena;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    c = kb_xmalloc(sizeof *c + cap);
    *c = (arena_chunk){.next = page_arena, .used = 0, .cap = cap};
    page_arena = c;
  }
  void *p = c->data + c->used;
  c->used += n;
  return p;
}

static void arena_free(void *p) {
  for (const arena_chunk *c = page_arena; c; c = c->next)
    if ((unsigned char *)p >= c->data && (unsigned char *)p < c->data + c->cap) return; /* freed with the page */
  free(p);
}

/* Installed before main, while the process has one thread: cJSON reads its hooks
 * unlocked. */
__attribute__((constructor)) static void arena_hooks_install(void) {
  cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = arena_alloc, .free_fn = arena_free});
}

static void page_arena_begin(void) { page_arena_on = true; }

static void page_arena_end(void) {
  page_arena_on = false;
  for (arena_chunk *c = page_arena, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  page_arena = NULL;
}

int kb_site_write_incident(kb_site *s, size_t i, const char *rec, size_t len) {
  const kb_incident *inc = s->items[i].inc;
  rec_cursor c = {rec, rec + len, false};
  page_arena_begin();
  cJSON *ctx = page_context(s, inc->title, inc->url);
  cJSON_AddItemToObjectCS(ctx, "incident", incident_object(s, i, &c));
  int rc;
  if (c.bad) {
    site_error(s, inc->path, "internal error: damaged page record");
    rc = -1;
  } else {
    rc = site_render(s, "incident", ctx, inc->url);
  }
  cJSON_Delete(ctx);
  page_arena_end();
  for (size_t a = 0; rc == 0 && a < inc->aliases.n; a++) rc = write_alias(s, inc->aliases.v[a], inc);
  return rc;
}

static int write_alias(kb_site *s, const char *alias, const kb_incident *inc) {
  cJSON *ctx = page_context(s, inc->title, alias);
  char *href = site_href(s, inc->url);
  cJSON_AddStringToObject(ctx, "target", href);
  free(href);
  int rc = site_render(s, "alias", ctx, alias);
  cJSON_Delete(ctx);
  return rc;
}

static cJSON *cards(const kb_site *s, const size_t *idx, size_t from, size_t to) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = from; i < to; i++) cJSON_AddItemToArray(arr, incident_card(s, &s->items[idx ? idx[i] : i]));
  return arr;
}

/* Site path of page p (0-based) of the list at `base`: base, then base/page/2/, ... */
static char *list_page_url(const char *base, size_t p) {
  return p == 0 ? kb_xstrdup(base) : kb_xasprintf("%spage/%zu/", base, p + 1);
}

/* The pager of page p of `pages` (only when there is more than one): its number, the
 * count, and the neighbours' links. */
static void add_pager(const kb_site *s, cJSON *ctx, const char *base, size_t p, size_t pages) {
  if (pages < 2) return;
  cJSON *pg = cJSON_AddObjectToObject(ctx, "pager");
  cJSON_AddNumberToObject(pg, "page", (double)(p + 1));
  cJSON_AddNumberToObject(pg, "pages", (double)pages);
  const struct { const char *key; bool has; size_t to; } links[] = {
      {"prev", p > 0, p - 1}, {"next", p + 1 < pages, p + 1}, {"first", p > 1, 0}, {"last", p + 2 < pages, pages - 1}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    if (!links[i].has) continue;
    char *url = list_page_url(base, links[i].to), *href = site_href(s, url);
    cJSON_AddStringToObject(pg, links[i].key, href);
    free(href);
    free(url);
  }
}

typedef void (*list_fill)(cJSON *ctx, const void *arg);

/* A list of incidents (idx[0..n); idx NULL: all, in site order) as pages of
 * KB_LIST_PAGE_SIZE cards: base, base/page/2/, ... Each page's context gets `fill`'s
 * fields, its cards, the list's count and a pager. A list of 100,000 on one page was a
 * 46 MB home page, rendered from a context of every card at once. */
static int write_list(kb_site *s, const char *tmpl, const char *title, const char *base, const size_t *idx, size_t n,
                      list_fill fill, const void *arg) {
  size_t pages = n ? (n + KB_LIST_PAGE_SIZE - 1) / KB_LIST_PAGE_SIZE : 1;
  int rc = 0;
  for (size_t p = 0; p < pages && !rc; p++) {
    char *url = list_page_url(base, p);
    char *t = p ? kb_xasprintf("%s, page %zu of %zu", title, p + 1, pages) : kb_xstrdup(title);
    cJSON *ctx = page_context(s, t, url);
    if (fill) fill(ctx, arg);
    size_t from = p * KB_LIST_PAGE_SIZE, to = from + KB_LIST_PAGE_SIZE < n ? from + KB_LIST_PAGE_SIZE : n;
    cJSON_AddItemToObject(ctx, "incidents", cards(s, idx, from, to));
    cJSON_AddNumberToObject(ctx, "count", (double)n);
    cJSON_AddNumberToObject(ctx, "first_number", (double)(from + 1));
    add_pager(s, ctx, base, p, pages);
    rc = site_render(s, tmpl, ctx, url);
    cJSON_Delete(ctx);
    free(t);
    free(url);
  }
  return rc;
}

static int write_home(kb_site *s) { return write_list(s, "home", "Incidents", "/", NULL, s->n, NULL, NULL); }

static site_term *term_get(site_terms *t, const char *name) {
  char *slug = kb_slugify(name, strlen(name));
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].slug, slug) == 0) {
      free(slug);
      return &t->v[i];
    }
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 16;
    t->v = kb_xrealloc(t->v, t->cap * sizeof *t->v);
  }
  t->v[t->n] = (site_term){kb_xstrdup(name), slug, NULL, 0, 0};
  return &t->v[t->n++];
}

static void term_add(site_term *term, size_t idx) {
  if (term->n && term->members[term->n - 1] == idx) return;
  if (term->n == term->cap) {
    term->cap = term->cap ? term->cap * 2 : 8;
    term->members = kb_xrealloc(term->members, term->cap * sizeof *term->members);
  }
  term->members[term->n++] = idx;
}

static int term_cmp(const void *a, const void *b) {
  return strcmp(((const site_term *)a)->slug, ((const site_term *)b)->slug);
}

static void terms_collect(const kb_site *s, site_terms *t, bool categories) {
  for (size_t i = 0; i < s->n; i++) {
    const kb_strlist *l = categories ? &s->items[i].inc->categories : &s->items[i].inc->tags;
    for (size_t j = 0; j < l->n; j++) term_add(term_get(t, l->v[j]), i);
  }
  if (t->n) qsort(t->v, t->n, sizeof *t->v, term_cmp);
}

static void terms_release(site_terms *t) {
  for (size_t i = 0; i < t->n; i++) {
    free(t->v[i].name);
    free(t->v[i].slug);
    free(t->v[i].members);
  }
  free(t->v);
}

typedef struct term_page {
  const site_terms *t;
  const site_term *term;
} term_page;

static void term_fill(cJSON *ctx, const void *arg) {
  const term_page *tp = arg;
  cJSON_AddStringToObject(ctx, "kind", tp->t->kind);
  cJSON_AddStringToObject(ctx, "label", tp->t->label);
  cJSON_AddStringToObject(ctx, "name", tp->term->name);
  cJSON_AddBoolToObject(ctx, "one", tp->term->n == 1);
}

static int write_terms(kb_site *s, site_terms *t) {
  char *url = kb_xasprintf("/%s/", t->kind);
  cJSON *ctx = page_context(s, t->label, url);
  cJSON_AddStringToObject(ctx, "kind", t->kind);
  cJSON_AddStringToObject(ctx, "label", t->label);
  cJSON *arr = cJSON_AddArrayToObject(ctx, "terms");
  int rc = 0;
  for (size_t i = 0; i < t->n; i++) {
    char *turl = kb_xasprintf("/%s/%s/", t->kind, t->v[i].slug);
    char *href = site_href(s, turl);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->v[i].name);
    cJSON_AddStringToObject(o, "href", href);
    cJSON_AddNumberToObject(o, "count", (double)t->v[i].n);
    cJSON_AddItemToArray(arr, o);
    term_page tp = {t, &t->v[i]};
    if (!rc) rc = write_list(s, "term", t->v[i].name, turl, t->v[i].members, t->v[i].n, term_fill, &tp);
    free(turl);
    free(href);
  }
  cJSON_AddBoolToObject(ctx, "empty", t->n == 0);
  if (!rc) rc = site_render(s, "terms", ctx, url);
  cJSON_Delete(ctx);
  free(url);
  return rc;
}

static int write_404(kb_site *s) {
  cJSON *ctx = page_context(s, "Page not found", "/404.html");
  int rc = site_render(s, "404", ctx, "/404.html");
  cJSON_Delete(ctx);
  return rc;
}

/* The search page and the paste box without a query, as kb serve renders GET /search and
 * GET /match: on a static host (no kb serve behind the pages) a link to /search?q=x lands
 * on search/index.html, and kb.js answers from the snapshot (kb-worker.js, kb.wasm). */
static int write_app_pages(kb_site *s) {
  cJSON *ctx = page_context(s, "Search the incidents", "/search/");
  cJSON *search = cJSON_AddObjectToObject(ctx, "search");
  cJSON_AddStringToObject(search, "query", "");
  cJSON_AddNumberToObject(search, "total", 0);
  int rc = site_render(s, "search", ctx, "/search/");
  cJSON_Delete(ctx);
  if (rc) return rc;
  ctx = page_context(s, "Match a stack", "/match/");
  cJSON_AddBoolToObject(ctx, "has_input", false);
  rc = site_render(s, "match", ctx, "/match/");
  cJSON_Delete(ctx);
  return rc;
}

static int write_text_file(kb_site *s, const char *url, kb_buf *b) {
  char *file = site_file(s, url);
  int rc = 0;
  if (b->err || kb_file_write(file, b->ptr, b->len)) {
    site_error(s, file, "cannot write: %s", b->err ? "too large" : strerror(errno));
    rc = -1;
  }
  free(file);
  return rc;
}

static void xml_text(kb_buf *b, const char *tag, const char *text) {
  kb_buf_addf(b, "<%s>", tag);
  kb_buf_add_xml(b, text, strlen(text));
  kb_buf_addf(b, "</%s>", tag);
}

/* Atom 1.0 feed of the newest incidents. Entry ids are URNs so that moving the site
 * to another host does not make every entry look new to feed readers. */
static int write_feed(kb_site *s) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
  xml_text(&b, "title", "Incident knowledge base");
  char *self = site_abs(s, "/feed.xml"), *home = site_abs(s, "/");
  kb_buf_adds(&b, "\n<link rel=\"self\" href=\"");
  kb_buf_add_xml(&b, self, strlen(self));
  kb_buf_adds(&b, "\"/>\n<link href=\"");
  kb_buf_add_xml(&b, home, strlen(home));
  kb_buf_adds(&b, "\"/>\n<id>urn:kb:site</id>\n");
  char updated[40];
  if (s->n && s->items[0].inc->has_date)
    kb_date_format_rfc3339(s->items[0].inc->date, s->items[0].inc->tz_min, updated, sizeof updated);
  else
    snprintf(updated, sizeof updated, "%s", s->built_at);
  xml_text(&b, "updated", updated);
  kb_buf_adds(&b, "\n<generator>kb</generator>\n");
  for (size_t i = 0; i < s->n && i < FEED_ENTRIES; i++) {
    const kb_incident *inc = s->items[i].inc;
    char *link = site_abs(s, inc->url);
    char date[40];
    if (inc->has_date) kb_date_format_rfc3339(inc->date, inc->tz_min, date, sizeof date);
    else snprintf(date, sizeof date, "%s", s->built_at);
    kb_buf_adds(&b, "<entry>");
    xml_text(&b, "title", inc->title);
    kb_buf_adds(&b, "<link href=\"");
    kb_buf_add_xml(&b, link, strlen(link));
    kb_buf_adds(&b, "\"/><id>urn:kb:incident:");
    kb_buf_add_xml(&b, inc->id, strlen(inc->id));
    kb_buf_adds(&b, "</id>");
    xml_text(&b, "updated", date);
    xml_text(&b, "summary", inc->summary ? inc->summary : "");
    for (size_t t = 0; t < inc->tags.n; t++) {
      kb_buf_adds(&b, "<category term=\"");
      kb_buf_add_xml(&b, inc->tags.v[t], strlen(inc->tags.v[t]));
      kb_buf_adds(&b, "\"/>");
    }
    kb_buf_adds(&b, "<author><name>kb</name></author></entry>\n");
    free(link);
  }
  kb_buf_adds(&b, "</feed>\n");
  int rc = write_text_file(s, "/feed.xml", &b);
  kb_buf_release(&b);
  free(self);
  free(home);
  return rc;
}

static void sitemap_url(kb_buf *b, const kb_site *s, const char *url, const char *lastmod) {
  char *loc = site_abs(s, url);
  kb_buf_adds(b, "<url><loc>");
  kb_buf_add_xml(b, loc, strlen(loc));
  kb_buf_adds(b, "</loc>");
  if (lastmod) kb_buf_addf(b, "<lastmod>%s</lastmod>", lastmod);
  kb_buf_adds(b, "</url>\n");
  free(loc);
}

static int write_sitemap(kb_site *s, const site_terms *tags, const site_terms *cats) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                  "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
  sitemap_url(&b, s, "/", NULL);
  for (size_t i = 0; i < s->n; i++) {
    char ymd[40];
    const kb_incident *inc = s->items[i].inc;
    if (inc->has_date) kb_date_format_ymd(inc->date, inc->tz_min, ymd, sizeof ymd);
    sitemap_url(&b, s, inc->url, inc->has_date ? ymd : NULL);
  }
  const site_terms *all[] = {tags, cats};
  for (size_t k = 0; k < 2; k++) {
    char *u = kb_xasprintf("/%s/", all[k]->kind);
    sitemap_url(&b, s, u, NULL);
    free(u);
    for (size_t i = 0; i < all[k]->n; i++) {
      u = kb_xasprintf("/%s/%s/", all[k]->kind, all[k]->v[i].slug);
      sitemap_url(&b, s, u, NULL);
      free(u);
    }
  }
  kb_buf_adds(&b, "</urlset>\n");
  int rc = write_text_file(s, "/sitemap.xml", &b);
  kb_buf_release(&b);
  return rc;
}

/* Copy templates/static/ into the site root (style sheet, images, scripts). */
static int copy_tree(kb_site *s, const char *from, const char *to) {
  DIR *d = opendir(from);
  if (!d) return errno == ENOENT ? 0 : -1;
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *src = kb_path_join(from, e->d_name), *dst = kb_path_join(to, e->d_name);
    struct stat st;
    if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
      rc = copy_tree(s, src, dst);
    } else if (stat(src, &st) == 0 && S_ISREG(st.st_mode)) {
      kb_buf data = KB_BUF_INIT;
      rc = kb_file_read(src, &data) || kb_file_write(dst, data.ptr, data.len) ? -1 : 0;
      if (rc) site_error(s, src, "cannot copy: %s", strerror(errno));
      kb_buf_release(&data);
    }
    free(src);
    free(dst);
  }
  closedir(d);
  return rc;
}

int kb_site_write_lists(kb_site *s) {
  site_terms tags = {"tags", "Tags", NULL, 0, 0}, cats = {"categories", "Categories", NULL, 0, 0};
  terms_collect(s, &tags, false);
  terms_collect(s, &cats, true);
  int rc = write_home(s);
  if (rc == 0) rc = write_terms(s, &tags);
  if (rc == 0) rc = write_terms(s, &cats);
  if (rc == 0) rc = write_404(s);
  if (rc == 0) rc = write_app_pages(s);
  if (rc == 0) rc = write_feed(s);
  if (rc == 0) rc = write_sitemap(s, &tags, &cats);
  if (rc == 0) {
    char *static_dir = kb_path_join(s->opts->templates_dir, "static");
    rc = copy_tree(s, static_dir, s->dir);
    free(static_dir);
  }
  if (rc == 0 && s->opts->wasm_dir) { /* the in-browser search of a snapshot (wasm/exports.c) */
    char *to = kb_path_join(s->dir, "_kb/wasm");
    rc = copy_tree(s, s->opts->wasm_dir, to);
    free(to);
  }
  terms_release(&tags);
  terms_release(&cats);
  return rc;
}

void kb_site_release(kb_site *s) {
  if (!s) return;
  for (size_t i = 0; s->items && i < s->n; i++) {
    free(s->items[i].norms);
    s->items[i].norms = NULL;
  }
  free(s->rel);
  s->rel = NULL;
}
