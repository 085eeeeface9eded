/* api.c - the JSON routes: GET /api/search (the `kb search --json` body), POST
 * /api/match (the `kb match --json` body), GET /api/incidents/<id>, GET
 * /api/generation (what kb-live.js polls) and GET /healthz. Called by route.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "match/match.h"
#include "search/search.h"
#include "stack/stack.h"
#include "util/util.h"

#define API_MAX_OFFSET 10000
#define API_DEFAULT_LIMIT 10
#define MAX_ID 200

static enum MHD_Result unavailable(kb_srv_req *r) {
  return kb_srv_send_error(r, 503, "the index is not available right now; try again in a moment");
}

/* ?limit= in [1, max]; false (and a 400 sent) when malformed. */
static bool param_limit(kb_srv_req *r, long max, long *limit, enum MHD_Result *rc) {
  char *v = NULL;
  *limit = API_DEFAULT_LIMIT;
  int got = kb_srv_url_param(r->query, "limit", &v);
  bool ok = got == 1 || (got == 0 && kb_srv_parse_int(v, 1, max, limit));
  free(v);
  if (!ok) *rc = kb_srv_send_error(r, 400, max == 100 ? "limit must be a number from 1 to 100" : "bad limit");
  return ok;
}

static enum MHD_Result search_json(kb_srv_req *r, const char *q, long limit, long offset) {
  kb_index *ix = kb_srv_index(r->srv, r->snap);
  if (!ix) return unavailable(r);
  char *cut = kb_xstrndup(q, kb_srv_utf8_cut(q, strlen(q), KB_SEARCH_MAX_QUERY));
  kb_search s = {0};
  char *err = NULL;
  enum MHD_Result rc;
  if (kb_search_run(ix, cut, (int)limit, (int)offset, &s, &err) != 0) {
    fprintf(stderr, "kb serve: search: %s\n", err);
    rc = kb_srv_send_error(r, 500, "the index could not be read");
  } else {
    rc = kb_srv_send_json(r, 200, kb_search_to_json(&s));
  }
  free(err);
  kb_search_release(&s);
  free(cut);
  return rc;
}

enum MHD_Result kb_srv_api_search(kb_srv_req *r) {
  char *q = NULL, *off = NULL;
  long limit, offset = 0;
  enum MHD_Result rc = MHD_YES;
  int got_q = kb_srv_url_param(r->query, "q", &q);
  int got_off = kb_srv_url_param(r->query, "offset", &off);
  if (got_q < 0 || got_off < 0) rc = kb_srv_send_error(r, 400, "malformed %-escape or NUL byte in the query string");
  else if (got_q == 1) rc = kb_srv_send_error(r, 400, "missing parameter q");
  else if (!kb_srv_utf8_valid(q, strlen(q))) rc = kb_srv_send_error(r, 400, "q is not valid UTF-8");
  else if (off && !kb_srv_parse_int(off, 0, API_MAX_OFFSET, &offset))
    rc = kb_srv_send_error(r, 400, "offset must be a number from 0 to 10000");
  else if (param_limit(r, KB_SEARCH_LIMIT_MAX, &limit, &rc)) rc = search_json(r, q, limit, offset);
  free(q);
  free(off);
  return rc;
}

enum MHD_Result kb_srv_api_match(kb_srv_req *r) {
  long limit;
  enum MHD_Result rc;
  if (!param_limit(r, KB_MATCH_LIMIT_MAX, &limit, &rc)) return rc;
  const char *why = NULL;
  char *text = kb_srv_body_stack(r, &why);
  if (!text) return kb_srv_send_error(r, 400, why);
  kb_index *ix = kb_srv_index(r->srv, r->snap);
  if (!ix) {
    free(text);
    return unavailable(r);
  }
  kb_stacks q = {0};
  kb_match m = {0};
  char *err = NULL;
  kb_stacks_parse(text, strlen(text), &q);
  if (q.n && kb_match_run(ix, &q, (int)limit, &m, &err) != 0) {
    fprintf(stderr, "kb serve: match: %s\n", err);
    rc = kb_srv_send_error(r, 500, "the index could not be read");
  } else {
    cJSON *o = kb_match_to_json(&q, &m);
    rc = kb_srv_send_json(r, 200, o);
  }
  free(err);
  kb_match_release(&m);
  kb_stacks_release(&q);
  free(text);
  return rc;
}

/* Ids are plain names ("kb-0001"); anything else cannot be one. */
static bool id_plausible(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > MAX_ID) return false;
  for (const char *p = id; *p; p++)
    if ((unsigned char)*p < 0x21 || *p == '/' || *p == '"' || *p == '\\' || (unsigned char)*p == 0x7f) return false;
  return kb_srv_utf8_valid(id, n);
}

enum MHD_Result kb_srv_api_incident(kb_srv_req *r) {
  const char *id = r->path + strlen("/api/incidents/");
  if (!id_plausible(id)) return kb_srv_send_error(r, 404, "no incident with this id");
  kb_index *ix = kb_srv_index(r->srv, r->snap);
  if (!ix) return unavailable(r);
  bool failed = false;
  cJSON *o = kb_srv_incident_json(ix, id, r->snap->base_url, &failed);
  if (o) return kb_srv_send_json(r, 200, o);
  return failed ? kb_srv_send_error(r, 500, "the index could not be read")
                : kb_srv_send_error(r, 404, "no incident with this id");
}

enum MHD_Result kb_srv_api_generation(kb_srv_req *r) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "generation", (double)r->snap->gen);
  cJSON_AddStringToObject(o, "built_at", r->snap->built_at);
  cJSON_AddNumberToObject(o, "incidents", (double)r->snap->incidents);
  return kb_srv_send_json(r, 200, o);
}

enum MHD_Result kb_srv_api_health(kb_srv_req *r) {
  kb_index *ix = kb_srv_index(r->srv, r->snap);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "status", ix ? "ok" : "unavailable");
  cJSON_AddNumberToObject(o, "generation", (double)r->snap->gen);
  cJSON_AddNumberToObject(o, "incidents", ix ? (double)kb_index_incidents(ix) : 0);
  cJSON_AddStringToObject(o, "built_at", r->snap->built_at);
  /* the newest published index could not be read: this is the build before it */
  cJSON_AddBoolToObject(o, "stale", atomic_load(&r->srv->stale));
  return kb_srv_send_json(r, ix ? 200 : 503, o);
}
