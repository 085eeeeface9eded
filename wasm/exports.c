/* exports.c - what kb.wasm offers the page (templates/static/kb-worker.js): full-text
 * search and stack matching with the same core code and the same JSON bodies as
 * `kb serve`'s /api/search and /api/match, over the snapshot's kb.sqlite, which the
 * page's SQLite reads (host.h). Strings in are (pointer, length) in this module's memory;
 * strings out are NUL-terminated JSON the caller frees with kb_wasm_free. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"
#include "index/reader.h"
#include "match/match.h"
#include "search/search.h"
#include "stack/stack.h"
#include "util/util.h"

#define KB_EXPORT(name) __attribute__((export_name(#name)))

static kb_index *ix;
static char *open_error;

KB_EXPORT(kb_wasm_alloc) void *kb_wasm_alloc(size_t n) { return malloc(n ? n : 1); }
KB_EXPORT(kb_wasm_free) void kb_wasm_free(void *p) { free(p); }

/* Open the snapshot's index once; 0 when ready. */
KB_EXPORT(kb_wasm_init) int32_t kb_wasm_init(void) {
  if (ix) return 0;
  free(open_error);
  open_error = NULL;
  ix = kb_index_open(KB_INDEX_FILE, &open_error);
  return ix ? 0 : 1;
}

static char *error_json(const char *msg) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "error", msg);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static char *json_take(cJSON *o) {
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static int clamp_limit(int32_t limit, int max) { return limit < 1 ? 10 : limit > max ? max : limit; }

/* /api/search's body for the query text (cut at KB_SEARCH_MAX_QUERY bytes, as the server). */
KB_EXPORT(kb_wasm_search) char *kb_wasm_search(const char *q, size_t len, int32_t limit) {
  if (kb_wasm_init()) return error_json(open_error);
  size_t n = len > KB_SEARCH_MAX_QUERY ? KB_SEARCH_MAX_QUERY : len;
  while (n > 0 && n < len && ((unsigned char)q[n] & 0xc0) == 0x80) n--; /* not inside a character */
  char *text = kb_xstrndup(q, n);
  kb_search s = {0};
  char *err = NULL, *out;
  if (kb_search_run(ix, text, clamp_limit(limit, KB_SEARCH_LIMIT_MAX), 0, &s, &err) != 0) out = error_json(err);
  else out = json_take(kb_search_to_json(&s));
  free(err);
  kb_search_release(&s);
  free(text);
  return out;
}

/* /api/match's body for the pasted text (KB_STACK_MAX_INPUT bytes at most, as the parser). */
KB_EXPORT(kb_wasm_match) char *kb_wasm_match(const char *text, size_t len, int32_t limit) {
  if (kb_wasm_init()) return error_json(open_error);
  kb_stacks q = {0};
  kb_match m = {0};
  char *err = NULL, *out;
  kb_stacks_parse(text, len, &q);
  if (q.n && kb_match_run(ix, &q, clamp_limit(limit, KB_MATCH_LIMIT_MAX), &m, &err) != 0) out = error_json(err);
  else out = json_take(kb_match_to_json(&q, &m));
  free(err);
  kb_match_release(&m);
  kb_stacks_release(&q);
  return out;
}
