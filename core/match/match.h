/* match.h - rank the incidents whose stacks match a pasted stack.
 *
 * Candidates come from the index by shared normalized frames (frame_stats.postings); each
 * candidate stack is then aligned with the query and scored (see match.c for the
 * similarity). Used by `kb match`, the server's /match and /api/match. */
#ifndef KB_MATCH_H
#define KB_MATCH_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "index/reader.h"
#include "stack/stack.h"

#define KB_MATCH_THRESHOLD 0.35 /* results below this score are not returned */
#define KB_MATCH_STRONG 0.60    /* "strong" from this score, when the crash sites agree */
#define KB_MATCH_EXACT_MIN 0.50 /* "exact" needs equal signatures and at least this score */
#define KB_MATCH_LIMIT_MAX 100

typedef struct kb_match_pair {
  int query_pos;    /* position in the query stack (0 = crash site, skipped frames counted) */
  int incident_pos; /* position in the incident's stack */
  char *frame;      /* the frame as the query wrote it: module!function */
} kb_match_pair;

typedef struct kb_match_result {
  char *id, *title, *url;
  double score;           /* 0..1 */
  const char *confidence; /* static: "exact", "strong", "weak" */
  const char *via;        /* static: "frames" (aligned stacks) or "text" (the crash reason's words) */
  char *signature;        /* signature of the incident's stack that matched */
  int stack_seq;          /* which stack of the incident (0-based) */
  kb_match_pair *pairs;
  size_t npairs;
} kb_match_result;

typedef struct kb_match {
  kb_match_result *v;
  size_t n;
} kb_match;

/* Match every stack of `query` against the index; keep the best `limit` incidents.
 * Returns 0, or -1 and *err (caller frees) when the index cannot be read. */
int kb_match_run(kb_index *ix, const kb_stacks *query, int limit, kb_match *out, char **err);
void kb_match_release(kb_match *m); /* accepts NULL */

/* The JSON body of `kb match --json` and POST /api/match (caller deletes):
 * {"signature", "reason", "format", "frames": [...], "stacks": N, "results": [...]}
 * plus "message" when the text held no stack. */
cJSON *kb_match_to_json(const kb_stacks *query, const kb_match *m);

#endif
