/* fuzz_search.c - libFuzzer harness for the search-query sanitiser (core/search/search.c):
 * kb_search_fts_query turns user text into an FTS5 MATCH expression, and kb_search_run
 * runs it (and its trigram variant for part-of-a-name matches) on a real index.
 *
 * Why: the text comes straight from the search box, /search and /api/search. Every
 * term is meant to be quoted so that no input is read as FTS5 syntax; an FTS5 syntax
 * error from user input is a bug (the user would get a 500 rather than results). The
 * harness proves it on the real thing: the index of content/ built by the real build
 * (fuzz_site.c), with the production tokenizers (unicode61 and trigram), and aborts on
 * any error kb_search_run reports. It also checks the shape of the expression: only
 * double-quoted terms separated by single spaces, a '*' at the end.
 *
 * The input is the query as the callers pass it: a C string (the server refuses a
 * query parameter holding a NUL, and argv cannot hold one), so it is cut at the first
 * NUL; the KB_SEARCH_MAX_QUERY cut is the sanitiser's own. The JSON body is built as
 * /api/search builds it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "search/search.h"
#include "util/util.h"

static kb_index *ix;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  char *path = kb_path_join(fuzz_site_dir(), "kb.sqlite"), *err = NULL;
  ix = kb_index_open(path, &err);
  if (!ix) {
    fprintf(stderr, "fuzz: %s\n", err);
    abort();
  }
  free(path);
  return 0;
}

/* `"a" "b""c" "d"*`: quoted terms (inner quotes doubled), one space apart, a final '*'. */
static void check_expression(const char *q) {
  size_t n = strlen(q), i = 0;
  if (n < 3 || q[n - 1] != '*') abort();
  n--;
  while (i < n) {
    if (q[i++] != '"') abort();
    for (;; i++) {
      if (i >= n) abort();
      if (q[i] == '"' && i + 1 < n && q[i + 1] == '"') i++;
      else if (q[i] == '"') break;
    }
    i++;
    if (i < n && q[i++] != ' ') abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = kb_xstrndup((const char *)data, size); /* cut at the first NUL */
  char *fts = kb_search_fts_query(text);
  if (fts) check_expression(fts);
  kb_search s;
  char *err = NULL;
  /* offset 0 runs both the word search and the part-of-a-name search */
  if (kb_search_run(ix, text, 10, 0, &s, &err) != 0) {
    fprintf(stderr, "fuzz: query [%s] -> [%s]: %s\n", text, fts ? fts : "(none)", err);
    abort();
  }
  if (!fts && (s.total || s.n)) abort(); /* no term, no hit */
  cJSON *o = kb_search_to_json(&s);
  char *json = cJSON_PrintUnformatted(o);
  if (!json) abort();
  free(json);
  cJSON_Delete(o);
  kb_search_release(&s);
  free(fts);
  free(text);
  return 0;
}
