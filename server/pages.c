/* pages.c - the HTML pages the server renders itself from templates/: search results
 * (GET /search), the paste box and its results (GET and POST /match) and error pages.
 * Every value reaches the page through Mustache's escaping `{{ }}`; the only raw
 * value is a search snippet, which the core escapes before marking hits. Called by
 * route.c (pages) and respond.c (errors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "match/match.h"
#include "search/highlight.h"
#include "search/search.h"
#include "stack/stack.h"
#include "util/util.h"

#define PAGE_MAX ((size_t)8 << 20)
#define SEARCH_PAGE_SIZE 20
#define SEARCH_MAX_OFFSET 10000
#define MATCH_PAGE_LIMIT 10

/* The last resort when a template is missing or broken: plain, escaped, no details. */
static enum MHD_Result send_bare(kb_srv_req *r, unsigned status, const char *title) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
  kb_buf_add_html(&b, title, strlen(title));
  kb_buf_adds(&b, "</title></head><body><h1>");
  kb_buf_add_html(&b, title, strlen(title));
  kb_buf_adds(&b, "</h1><p>This page cannot be shown: the server's page templates are missing.</p></body></html>\n");
  size_t len;
  char *body = kb_buf_detach(&b, &len);
  return kb_srv_send(r, status, "text/html; charset=utf-8", body, len);
}

enum MHD_Result kb_srv_page_render(kb_srv_req *r, unsigned status, const char *name, const char *title,
                                   cJSON *data) {
  /* the shared site object is referenced, not copied: renders only read it */
  cJSON_AddItemToObject(data, "site", cJSON_CreateObjectReference(r->snap->site->child));
  cJSON *page = cJSON_AddObjectToObject(data, "page");
  cJSON_AddStringToObject(page, "title", title);
  kb_buf out;
  kb_buf_init(&out, PAGE_MAX);
  char *err = NULL;
  int rc = kb_tmpl_set_render(r->snap->tmpl, name, data, &out, &err);
  cJSON_Delete(data);
  if (rc != 0) {
    fprintf(stderr, "kb serve: page %s: %s\n", name, err ? err : "render failed");
    free(err);
    kb_buf_release(&out);
    return send_bare(r, status == 200 ? 500 : status, title);
  }
  kb_srv_live_inject(r, &out);
  size_t len;
  char *body = kb_buf_detach(&out, &len);
  return kb_srv_send(r, status, "text/html; charset=utf-8", body, len);
}

/* ---- search terms marked in titles (the core marks them in snippets) ---- */

/* ---- the search page: results, tag and category filters ---- */

#define FACET_SCAN 100 /* filters and their counts look at this many of the best hits */

enum { ST_CATEGORIES = 24 }; /* statement slot on the kb_index (incident.c uses 20-21) */

typedef struct search_filter {
  const char *tag, *category; /* NULL when not filtering */
} search_filter;

/* A link to a page of results for `q`, with the filters given. */
static char *search_href(const kb_srv_req *r, const char *q, const search_filter *f, long offset) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, r->snap->base);
  kb_buf_adds(&b, "search?q=");
  kb_srv_url_encode(&b, q, false);
  if (f && f->tag) {
    kb_buf_adds(&b, "&tag=");
    kb_srv_url_encode(&b, f->tag, false);
  }
  if (f && f->category) {
    kb_buf_adds(&b, "&category=");
    kb_srv_url_encode(&b, f->category, false);
  }
  if (offset) kb_buf_addf(&b, "&offset=%ld", offset);
  return kb_buf_detach(&b, NULL);
}

static void add_paging(kb_srv_req *r, cJSON *data, const char *q, const search_filter *f, long offset,
                       long long total, size_t shown) {
  if (offset > 0) {
    char *h = search_href(r, q, f, offset > SEARCH_PAGE_SIZE ? offset - SEARCH_PAGE_SIZE : 0);
    cJSON_AddStringToObject(data, "prev_href", h);
    free(h);
  }
  if (offset + (long long)shown < total && offset + SEARCH_PAGE_SIZE <= SEARCH_MAX_OFFSET) {
    char *h = search_href(r, q, f, offset + SEARCH_PAGE_SIZE);
    cJSON_AddStringToObject(data, "next_href", h);
    free(h);
  }
  cJSON_AddNumberToObject(data, "first", (double)(offset + 1));
  cJSON_AddNumberToObject(data, "last", (double)(offset + (long long)shown));
}

/* The categories of an incident (a JSON array; an empty one when unknown). */
static cJSON *hit_categories(kb_index *ix, const char *id) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_CATEGORIES, "SELECT categories FROM incidents WHERE id = ?");
  cJSON *v = NULL;
  if (st) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
      const char *t = (const char *)sqlite3_column_text(st, 0);
      v = t ? cJSON_Parse(t) : NULL;
    }
    sqlite3_reset(st);
  }
  if (v && !cJSON_IsArray(v)) cJSON_Delete(v), v = NULL;
  return v ? v : cJSON_CreateArray();
}

static bool json_list_has(const cJSON *arr, const char *name) {
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) if (cJSON_IsString(e) && strcmp(e->valuestring, name) == 0) return true;
  return false;
}

/* Count `name` in the facet object {name: count} kept in insertion order. */
static void facet_count(cJSON *facet, const char *name) {
  cJSON *c = cJSON_GetObjectItemCaseSensitive(facet, name);
  if (c) cJSON_SetNumberValue(c, c->valuedouble + 1);
  else cJSON_AddNumberToObject(facet, name, 1);
}

static int facet_cmp(const void *a, const void *b) {
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
  if (x->valuedouble != y->valuedouble) return x->valuedouble < y->valuedouble ? 1 : -1;
  return strcmp(x->string, y->string);
}

/* The facet as a list for the template: most frequent first, with links that set
 * (or, for the active value, clear) the filter. */
static cJSON *facet_list(kb_srv_req *r, const cJSON *facet, const char *q, const search_filter *f, bool tags) {
  size_t n = (size_t)cJSON_GetArraySize(facet), k = 0;
  const cJSON **v = kb_xmalloc((n ? n : 1) * sizeof *v);
  const cJSON *e;
  cJSON_ArrayForEach(e, facet) v[k++] = e;
  if (n) qsort(v, n, sizeof *v, facet_cmp);
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < n && i < 24; i++) {
    const char *active = tags ? f->tag : f->category;
    bool on = active && strcmp(active, v[i]->string) == 0;
    search_filter nf = *f;
    if (tags) nf.tag = on ? NULL : v[i]->string;
    else nf.category = on ? NULL : v[i]->string;
    char *h = search_href(r, q, &nf, 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", v[i]->string);
    cJSON_AddNumberToObject(o, "count", v[i]->valuedouble);
    cJSON_AddStringToObject(o, "href", h);
    cJSON_AddBoolToObject(o, "active", on);
    cJSON_AddItemToArray(arr, o);
    free(h);
  }
  free(v);
  return arr;
}

static cJSON *hit_json(kb_srv_req *r, const kb_search_hit *h, cJSON *cats, const kb_highlight_terms *t, const char *q,
                       const search_filter *f) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", h->id);
  cJSON_AddStringToObject(o, "title", h->title);
  char *th = kb_highlight_html(h->title, t);
  cJSON_AddStringToObject(o, "title_html", th);
  free(th);
  cJSON_AddStringToObject(o, "url", h->url);
  cJSON_AddStringToObject(o, "snippet", h->snippet);
  char score[32];
  snprintf(score, sizeof score, "%.2f", h->score);
  cJSON_AddStringToObject(o, "score", score);
  cJSON *tags = cJSON_Parse(h->tags ? h->tags : "[]");
  cJSON *tl = cJSON_AddArrayToObject(o, "tags");
  const cJSON *e;
  for (int pass = 0; pass < 2; pass++) {
    const cJSON *list = pass ? cats : tags;
    cJSON_ArrayForEach(e, list) {
      if (!cJSON_IsString(e)) continue;
      search_filter nf = *f;
      if (pass) nf.category = e->valuestring;
      else nf.tag = e->valuestring;
      char *href = search_href(r, q, &nf, 0);
      cJSON *x = cJSON_CreateObject();
      cJSON_AddStringToObject(x, "name", e->valuestring);
      cJSON_AddStringToObject(x, "href", href);
      cJSON_AddBoolToObject(x, "category", pass == 1);
      cJSON_AddItemToArray(tl, x);
      free(href);
    }
  }
  cJSON_AddBoolToObject(o, "has_tags", cJSON_GetArraySize(tl) > 0);
  cJSON_Delete(tags);
  return o;
}

static enum MHD_Result render_search(kb_srv_req *r, const char *q, const search_filter *f, long offset) {
  kb_index *ix = kb_srv_index(r->srv, r->snap);
  if (!ix) return kb_srv_send_error(r, 503, "The index is not available right now; try again in a moment.");
  kb_search all = {0}, page = {0};
  char *err = NULL;
  bool filtering = f->tag || f->category;
  int rc = kb_search_run(ix, q, FACET_SCAN, 0, &all, &err);
  /* beyond what the facets looked at, an unfiltered page is searched for itself */
  bool own_page = rc == 0 && !filtering && (size_t)offset + SEARCH_PAGE_SIZE > all.n && all.total > (long long)all.n;
  if (own_page) rc = kb_search_run(ix, q, SEARCH_PAGE_SIZE, (int)offset, &page, &err);
  if (rc != 0) {
    fprintf(stderr, "kb serve: search: %s\n", err);
    free(err);
    kb_search_release(&all);
    kb_search_release(&page);
    return kb_srv_send_error(r, 500, "The index could not be read.");
  }
  kb_highlight_terms terms;
  kb_highlight_terms_init(&terms, q);
  cJSON *data = cJSON_CreateObject();
  cJSON_AddStringToObject(data, "q", q);
  cJSON_AddBoolToObject(data, "has_query", *q != '\0');
  cJSON *tag_facet = cJSON_CreateObject(), *cat_facet = cJSON_CreateObject();
  cJSON *results = cJSON_AddArrayToObject(data, "results");
  long long kept = 0;
  for (size_t i = 0; i < all.n; i++) {
    const kb_search_hit *h = &all.v[i];
    cJSON *tags = cJSON_Parse(h->tags ? h->tags : "[]");
    cJSON *cats = hit_categories(ix, h->id);
    const cJSON *e;
    cJSON_ArrayForEach(e, tags) if (cJSON_IsString(e)) facet_count(tag_facet, e->valuestring);
    cJSON_ArrayForEach(e, cats) if (cJSON_IsString(e)) facet_count(cat_facet, e->valuestring);
    bool keep = (!f->tag || json_list_has(tags, f->tag)) && (!f->category || json_list_has(cats, f->category));
    if (keep && !own_page) {
      if (kept >= offset && kept < offset + SEARCH_PAGE_SIZE) cJSON_AddItemToArray(results, hit_json(r, h, cats, &terms, q, f));
      kept++;
    }
    cJSON_Delete(tags);
    cJSON_Delete(cats);
  }
  for (size_t i = 0; own_page && i < page.n; i++) {
    cJSON *cats = hit_categories(ix, page.v[i].id);
    cJSON_AddItemToArray(results, hit_json(r, &page.v[i], cats, &terms, q, f));
    cJSON_Delete(cats);
  }
  long long total = filtering ? kept : all.total;
  size_t shown = (size_t)cJSON_GetArraySize(results);
  cJSON *search = cJSON_AddObjectToObject(data, "search");
  cJSON_AddStringToObject(search, "query", all.query ? all.query : q);
  cJSON_AddNumberToObject(search, "total", (double)total);
  cJSON_AddBoolToObject(data, "one_result", total == 1);
  cJSON_AddBoolToObject(data, "has_results", shown > 0);
  cJSON *tf = facet_list(r, tag_facet, q, f, true), *cf = facet_list(r, cat_facet, q, f, false);
  cJSON_AddBoolToObject(data, "has_facets", *q && (all.n >= 2 || filtering));
  cJSON_AddBoolToObject(data, "has_tag_facets", cJSON_GetArraySize(tf) > 0);
  cJSON_AddBoolToObject(data, "has_category_facets", cJSON_GetArraySize(cf) > 0);
  cJSON_AddItemToObject(data, "tag_facets", tf);
  cJSON_AddItemToObject(data, "category_facets", cf);
  cJSON_AddBoolToObject(data, "facets_partial", all.total > (long long)all.n);
  cJSON_AddNumberToObject(data, "facet_scan", FACET_SCAN);
  cJSON_Delete(tag_facet);
  cJSON_Delete(cat_facet);
  if (f->tag) cJSON_AddStringToObject(data, "filter_tag", f->tag);
  if (f->category) cJSON_AddStringToObject(data, "filter_category", f->category);
  if (filtering) {
    char *h = search_href(r, q, NULL, 0);
    cJSON_AddStringToObject(data, "unfiltered_href", h);
    free(h);
  }
  add_paging(r, data, q, f, offset, total, shown);
  kb_highlight_terms_release(&terms);
  kb_search_release(&all);
  kb_search_release(&page);
  return kb_srv_page_render(r, 200, "search", *q ? "Search" : "Search the incidents", data);
}

/* ---- the match page ---- */

/* "Module!function+0x1f" as a frame is usually written; the raw line when unnamed. */
static char *frame_label(const cJSON *f) {
  const cJSON *mod = cJSON_GetObjectItemCaseSensitive(f, "module"), *fn = cJSON_GetObjectItemCaseSensitive(f, "function"),
              *off = cJSON_GetObjectItemCaseSensitive(f, "offset"), *raw = cJSON_GetObjectItemCaseSensitive(f, "raw");
  kb_buf b = KB_BUF_INIT;
  if (cJSON_IsString(mod) && *mod->valuestring) kb_buf_adds(&b, mod->valuestring);
  if (cJSON_IsString(fn) && *fn->valuestring) kb_buf_addf(&b, "%s%s", b.len ? "!" : "", fn->valuestring);
  if (cJSON_IsString(off) && *off->valuestring && b.len) kb_buf_addf(&b, "+%s", off->valuestring);
  if (!b.len && cJSON_IsString(raw)) kb_buf_adds(&b, raw->valuestring);
  return kb_buf_detach(&b, NULL);
}

static const char *json_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool json_true(const cJSON *o, const char *key) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key)); }

/* The query's frames for the template: position, label, file:line, flags. */
static void decorate_frames(cJSON *frames) {
  int pos = 0;
  cJSON *f;
  cJSON_ArrayForEach(f, frames) {
    cJSON_AddNumberToObject(f, "pos", pos++);
    char *label = frame_label(f);
    cJSON_AddStringToObject(f, "label", label);
    free(label);
    const char *file = json_str(f, "file");
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(f, "line");
    if (file) {
      char *loc = cJSON_IsNumber(line) ? kb_xasprintf("%s:%d", file, line->valueint) : kb_xstrdup(file);
      cJSON_AddStringToObject(f, "loc", loc);
      free(loc);
    }
  }
}

/* One row of the side-by-side view. */
static cJSON *align_row(const cJSON *qf, int qpos, const cJSON *inf, int ipos, bool matched) {
  cJSON *row = cJSON_CreateObject();
  cJSON_AddBoolToObject(row, "matched", matched);
  if (qf) {
    cJSON_AddNumberToObject(row, "q_pos", qpos);
    cJSON_AddStringToObject(row, "q_label", json_str(qf, "label") ? json_str(qf, "label") : "");
    cJSON_AddBoolToObject(row, "q_skipped", json_true(qf, "skipped"));
    cJSON_AddBoolToObject(row, "q_signature", json_true(qf, "signature"));
  }
  if (inf) {
    cJSON_AddNumberToObject(row, "i_pos", ipos);
    char *label = frame_label(inf);
    cJSON_AddStringToObject(row, "i_label", label);
    free(label);
    cJSON_AddBoolToObject(row, "i_skipped", json_true(inf, "skipped"));
    cJSON_AddBoolToObject(row, "i_signature", json_true(inf, "signature"));
  }
  cJSON_AddBoolToObject(row, "has_q", qf != NULL);
  cJSON_AddBoolToObject(row, "has_i", inf != NULL);
  return row;
}

#define ALIGN_TAIL 2 /* unmatched frames shown after the last shared one */

/* The pasted stack and the incident's stack side by side: shared frames on one row,
 * the frames between them (in either stack) on rows of their own, in order. */
static cJSON *align_rows(const cJSON *qframes, const cJSON *iframes, const cJSON *pairs) {
  cJSON *rows = cJSON_CreateArray();
  int nq = cJSON_GetArraySize(qframes), ni = cJSON_GetArraySize(iframes);
  int pq = 0, pi = 0; /* next frame of each stack not shown yet */
  bool ordered = true;
  const cJSON *p;
  cJSON_ArrayForEach(p, pairs) {
    int q = cJSON_GetObjectItemCaseSensitive(p, "query")->valueint;
    int i = cJSON_GetObjectItemCaseSensitive(p, "incident")->valueint;
    if (q < pq || i < pi || q >= nq || i >= ni) ordered = false;
    if (ordered) pq = q + 1, pi = i + 1;
  }
  pq = pi = 0;
  cJSON_ArrayForEach(p, pairs) {
    int q = cJSON_GetObjectItemCaseSensitive(p, "query")->valueint;
    int i = cJSON_GetObjectItemCaseSensitive(p, "incident")->valueint;
    if (ordered) {
      while (pq < q || pi < i) {
        const cJSON *qf = pq < q ? cJSON_GetArrayItem(qframes, pq) : NULL;
        const cJSON *inf = pi < i ? cJSON_GetArrayItem(iframes, pi) : NULL;
        cJSON_AddItemToArray(rows, align_row(qf, pq, inf, pi, false));
        if (pq < q) pq++;
        if (pi < i) pi++;
      }
      pq = q + 1, pi = i + 1;
    }
    const cJSON *qf = q >= 0 && q < nq ? cJSON_GetArrayItem(qframes, q) : NULL;
    const cJSON *inf = i >= 0 && i < ni ? cJSON_GetArrayItem(iframes, i) : NULL;
    cJSON *row = align_row(qf, q, inf, i, true);
    if (!qf) {
      cJSON_ReplaceItemInObject(row, "has_q", cJSON_CreateTrue());
      cJSON_AddNumberToObject(row, "q_pos", q);
      cJSON_AddStringToObject(row, "q_label", json_str(p, "frame") ? json_str(p, "frame") : "");
    }
    cJSON_AddItemToArray(rows, row);
  }
  for (int k = 0; ordered && cJSON_GetArraySize(pairs) > 0 && k < ALIGN_TAIL && (pq < nq || pi < ni); k++) {
    const cJSON *qf = pq < nq ? cJSON_GetArrayItem(qframes, pq) : NULL;
    const cJSON *inf = pi < ni ? cJSON_GetArrayItem(iframes, pi) : NULL;
    cJSON_AddItemToArray(rows, align_row(qf, pq, inf, pi, false));
    if (pq < nq) pq++;
    if (pi < ni) pi++;
  }
  return rows;
}

/* Whether the pairs of a result refer to the query's first stack (the one shown). */
static bool pairs_on_first_stack(const cJSON *qframes, const cJSON *pairs) {
  const cJSON *p;
  cJSON_ArrayForEach(p, pairs) {
    const cJSON *qf = cJSON_GetArrayItem(qframes, cJSON_GetObjectItemCaseSensitive(p, "query")->valueint);
    const char *fr = json_str(p, "frame");
    if (!qf || !fr) return false;
    const char *mod = json_str(qf, "module"), *fn = json_str(qf, "function");
    char *mf = kb_xasprintf("%s%s%s", mod ? mod : "", mod && fn ? "!" : "", fn ? fn : "");
    bool same = strcmp(mf, fr) == 0;
    free(mf);
    if (!same) return false;
  }
  return true;
}

/* Each result with its score as text, and the side-by-side rows from the incident's
 * stack as the index holds it. */
static void decorate_results(kb_srv_req *r, kb_index *ix, cJSON *result) {
  cJSON *qframes = cJSON_GetObjectItemCaseSensitive(result, "frames");
  cJSON *res = cJSON_GetObjectItemCaseSensitive(result, "results"), *o;
  int rank = 0;
  cJSON_ArrayForEach(o, res) {
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(o, "score");
    char buf[32];
    snprintf(buf, sizeof buf, "%.2f", cJSON_IsNumber(score) ? score->valuedouble : 0.0);
    cJSON_AddStringToObject(o, "score_text", buf);
    cJSON_AddNumberToObject(o, "percent", cJSON_IsNumber(score) ? (int)(score->valuedouble * 100 + 0.5) : 0);
    cJSON_AddNumberToObject(o, "rank", ++rank);
    cJSON_AddBoolToObject(o, "via_text", json_str(o, "via") && strcmp(json_str(o, "via"), "text") == 0);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(o, "matched_frames");
    cJSON_AddNumberToObject(o, "shared_count", cJSON_GetArraySize(pairs));
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "stack");
    if (!cJSON_IsNumber(seq) || !cJSON_GetArraySize(pairs) || !json_str(o, "id")) continue;
    bool failed = false;
    cJSON *inc = kb_srv_incident_json(ix, json_str(o, "id"), r->snap->base_url, &failed);
    const cJSON *stacks = inc ? cJSON_GetObjectItemCaseSensitive(inc, "stacks") : NULL, *st;
    const cJSON *iframes = NULL;
    cJSON_ArrayForEach(st, stacks) {
      const cJSON *sq = cJSON_GetObjectItemCaseSensitive(st, "seq");
      if (cJSON_IsNumber(sq) && sq->valueint == seq->valueint) iframes = cJSON_GetObjectItemCaseSensitive(st, "frames");
    }
    if (iframes) {
      cJSON *empty = cJSON_CreateArray();
      cJSON *rows = align_rows(pairs_on_first_stack(qframes, pairs) ? qframes : empty, iframes, pairs);
      cJSON_AddItemToObject(o, "rows", rows);
      cJSON_AddBoolToObject(o, "has_rows", cJSON_GetArraySize(rows) > 0);
      cJSON_Delete(empty);
    }
    cJSON_Delete(inc);
  }
}

/* For an empty answer: searches for the pasted stack's top frames (not skipped). */
static cJSON *top_frame_searches(kb_srv_req *r, const cJSON *qframes) {
  cJSON *arr = cJSON_CreateArray();
  const cJSON *f;
  cJSON_ArrayForEach(f, qframes) {
    if (cJSON_GetArraySize(arr) >= 3) break;
    const char *fn = json_str(f, "function");
    if (json_true(f, "skipped") || !fn || !*fn) continue;
    /* the name without arguments or templates: what the index tokenizes */
    size_t n = strcspn(fn, "(<[ ");
    char *name = kb_xstrndup(fn, n);
    bool dup = false;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) dup = dup || strcmp(json_str(e, "text"), name) == 0;
    if (*name && !dup) {
      char *h = search_href(r, name, NULL, 0);
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "text", name);
      cJSON_AddStringToObject(o, "href", h);
      cJSON_AddItemToArray(arr, o);
      free(h);
    }
    free(name);
  }
  return arr;
}

/* Match `text` and render the match page (a stack pasted anywhere ends up here). */
static enum MHD_Result render_match(kb_srv_req *r, const char *text, bool from_search) {
  kb_index *ix = kb_srv_index(r->srv, r->snap);
  if (!ix) return kb_srv_send_error(r, 503, "The index is not available right now; try again in a moment.");
  kb_stacks q = {0};
  kb_match m = {0};
  char *err = NULL;
  kb_stacks_parse(text, strlen(text), &q);
  if (q.n && kb_match_run(ix, &q, MATCH_PAGE_LIMIT, &m, &err) != 0) {
    fprintf(stderr, "kb serve: match: %s\n", err);
    free(err);
    kb_stacks_release(&q);
    return kb_srv_send_error(r, 500, "The index could not be read.");
  }
  cJSON *data = cJSON_CreateObject();
  cJSON *result = kb_match_to_json(&q, &m);
  cJSON *qframes = cJSON_GetObjectItemCaseSensitive(result, "frames");
  decorate_frames(qframes);
  int nframes = cJSON_GetArraySize(qframes), nskipped = 0;
  const cJSON *f;
  cJSON_ArrayForEach(f, qframes) nskipped += json_true(f, "skipped");
  cJSON_AddNumberToObject(result, "frame_count", nframes);
  cJSON_AddNumberToObject(result, "skipped_count", nskipped);
  bool sources = false;
  cJSON_ArrayForEach(f, qframes) sources = sources || json_str(f, "loc");
  cJSON_AddBoolToObject(result, "has_sources", sources);
  cJSON_AddBoolToObject(result, "many_stacks", q.n > 1);
  decorate_results(r, ix, result);
  cJSON *searches = top_frame_searches(r, qframes);
  cJSON_AddBoolToObject(data, "has_searches", cJSON_GetArraySize(searches) > 0);
  cJSON_AddItemToObject(data, "searches", searches);
  cJSON_AddItemToObject(data, "result", result);
  cJSON_AddStringToObject(data, "stack", text);
  cJSON_AddBoolToObject(data, "has_input", true);
  cJSON_AddBoolToObject(data, "found_stack", q.n > 0);
  cJSON_AddBoolToObject(data, "from_search", from_search);
  cJSON_AddNumberToObject(data, "count", (double)m.n);
  cJSON_AddBoolToObject(data, "one_result", m.n == 1);
  kb_match_release(&m);
  kb_stacks_release(&q);
  return kb_srv_page_render(r, 200, "match", "Match a stack", data);
}

/* A search box entry that holds a stack: two or more frames the parser recognises. */
static bool looks_like_stack(const char *q) {
  kb_stacks s = {0};
  kb_stacks_parse(q, strlen(q), &s);
  bool yes = false;
  for (size_t i = 0; i < s.n && !yes; i++) yes = s.v[i].nframes >= 2;
  kb_stacks_release(&s);
  return yes;
}

enum MHD_Result kb_srv_page_search(kb_srv_req *r) {
  char *q = NULL, *off = NULL, *tag = NULL, *cat = NULL;
  long offset = 0;
  enum MHD_Result rc;
  if (kb_srv_url_param(r->query, "q", &q) < 0 || kb_srv_url_param(r->query, "offset", &off) < 0 ||
      kb_srv_url_param(r->query, "tag", &tag) < 0 || kb_srv_url_param(r->query, "category", &cat) < 0) {
    rc = kb_srv_send_error(r, 400, "The address has a malformed %-escape or a NUL byte.");
  } else if ((q && !kb_srv_utf8_valid(q, strlen(q))) || (tag && !kb_srv_utf8_valid(tag, strlen(tag))) ||
             (cat && !kb_srv_utf8_valid(cat, strlen(cat)))) {
    rc = kb_srv_send_error(r, 400, "The search text is not valid UTF-8.");
  } else if (off && !kb_srv_parse_int(off, 0, SEARCH_MAX_OFFSET, &offset)) {
    rc = kb_srv_send_error(r, 400, "offset must be a number from 0 to 10000.");
  } else if (q && looks_like_stack(q)) {
    rc = render_match(r, q, true);
  } else {
    const char *text = q ? q : "";
    char *cut = kb_xstrndup(text, kb_srv_utf8_cut(text, strlen(text), KB_SEARCH_MAX_QUERY));
    search_filter f = {tag && *tag ? tag : NULL, cat && *cat ? cat : NULL};
    rc = render_search(r, cut, &f, offset);
    free(cut);
  }
  free(q);
  free(off);
  free(tag);
  free(cat);
  return rc;
}

enum MHD_Result kb_srv_page_match(kb_srv_req *r) {
  if (strcmp(r->method, "POST") != 0) {
    cJSON *data = cJSON_CreateObject();
    cJSON_AddBoolToObject(data, "has_input", false);
    return kb_srv_page_render(r, 200, "match", "Match a stack", data);
  }
  const char *why = NULL;
  char *text = kb_srv_body_stack(r, &why);
  if (!text) return kb_srv_send_error(r, 400, why);
  enum MHD_Result rc = render_match(r, text, false);
  free(text);
  return rc;
}
