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

/* The search box's own link to a page of results. */
static char *search_href(const kb_srv_req *r, const char *q, long offset) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, r->snap->base);
  kb_buf_adds(&b, "search?q=");
  kb_srv_url_encode(&b, q, false);
  if (offset) kb_buf_addf(&b, "&offset=%ld", offset);
  return kb_buf_detach(&b, NULL);
}

static void add_paging(kb_srv_req *r, cJSON *data, const char *q, long offset, long long total, size_t shown) {
  if (offset > 0) {
    char *h = search_href(r, q, offset > SEARCH_PAGE_SIZE ? offset - SEARCH_PAGE_SIZE : 0);
    cJSON_AddStringToObject(data, "prev_href", h);
    free(h);
  }
  if (offset + (long long)shown < total && offset + SEARCH_PAGE_SIZE <= SEARCH_MAX_OFFSET) {
    char *h = search_href(r, q, offset + SEARCH_PAGE_SIZE);
    cJSON_AddStringToObject(data, "next_href", h);
    free(h);
  }
  cJSON_AddNumberToObject(data, "first", (double)(offset + 1));
  cJSON_AddNumberToObject(data, "last", (double)(offset + (long long)shown));
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
  cJSON_AddNumberToObject(result, "frame_count", (double)cJSON_GetArraySize(cJSON_GetObjectItem(result, "frames")));
  cJSON_AddItemToObject(data, "result", result);
  cJSON_AddStringToObject(data, "stack", text);
  cJSON_AddBoolToObject(data, "has_input", true);
  cJSON_AddBoolToObject(data, "found_stack", q.n > 0);
  cJSON_AddBoolToObject(data, "from_search", from_search);
  cJSON_AddNumberToObject(data, "count", (double)m.n);
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

static enum MHD_Result render_search(kb_srv_req *r, const char *q, long offset) {
  kb_index *ix = kb_srv_index(r->srv, r->snap);
  if (!ix) return kb_srv_send_error(r, 503, "The index is not available right now; try again in a moment.");
  kb_search s = {0};
  char *err = NULL;
  if (kb_search_run(ix, q, SEARCH_PAGE_SIZE, (int)offset, &s, &err) != 0) {
    fprintf(stderr, "kb serve: search: %s\n", err);
    free(err);
    kb_search_release(&s);
    return kb_srv_send_error(r, 500, "The index could not be read.");
  }
  cJSON *data = cJSON_CreateObject();
  cJSON_AddStringToObject(data, "q", q);
  cJSON_AddBoolToObject(data, "has_query", *q != '\0');
  cJSON_AddItemToObject(data, "search", kb_search_to_json(&s));
  cJSON_AddBoolToObject(data, "has_results", s.n > 0);
  add_paging(r, data, q, offset, s.total, s.n);
  kb_search_release(&s);
  return kb_srv_page_render(r, 200, "search", *q ? "Search" : "Search the incidents", data);
}

enum MHD_Result kb_srv_page_search(kb_srv_req *r) {
  char *q = NULL, *off = NULL;
  long offset = 0;
  enum MHD_Result rc;
  if (kb_srv_url_param(r->query, "q", &q) < 0 || kb_srv_url_param(r->query, "offset", &off) < 0) {
    rc = kb_srv_send_error(r, 400, "The address has a malformed %-escape or a NUL byte.");
  } else if (q && !kb_srv_utf8_valid(q, strlen(q))) {
    rc = kb_srv_send_error(r, 400, "The search text is not valid UTF-8.");
  } else if (off && !kb_srv_parse_int(off, 0, SEARCH_MAX_OFFSET, &offset)) {
    rc = kb_srv_send_error(r, 400, "offset must be a number from 0 to 10000.");
  } else if (q && looks_like_stack(q)) {
    rc = render_match(r, q, true);
  } else {
    const char *text = q ? q : "";
    char *cut = kb_xstrndup(text, kb_srv_utf8_cut(text, strlen(text), KB_SEARCH_MAX_QUERY));
    rc = render_search(r, cut, offset);
    free(cut);
  }
  free(q);
  free(off);
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
