/* search.h - full-text search over the index's FTS5 table, safe for any user input.
 * Used by `kb search`, the server's /search and /api/search. */
#ifndef KB_SEARCH_H
#define KB_SEARCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "index/reader.h"

#define KB_SEARCH_MAX_QUERY 1024 /* bytes of query text used; the rest is ignored */
#define KB_SEARCH_MAX_TERMS 32
#define KB_SEARCH_LIMIT_MAX 100
/* bm25 costs per match and per term of the query (it reads each match's positions of
 * each term; the idf of the common words comes from word_docs, see core/index/rank.c).
 * When more
 * incidents match than KB_SEARCH_RANK_BUDGET / terms (at least KB_SEARCH_RANK_MIN), bm25
 * ranks that many, the first in index order (the site's order, newest first); the
 * matches past them follow in index order. */
#define KB_SEARCH_RANK_BUDGET 1000
#define KB_SEARCH_RANK_MIN 100
#define KB_SEARCH_COUNT_MAX 10000 /* matches counted; past it `total` stops, total_more set */

typedef struct kb_search_hit {
  char *id, *title, *url;
  char *snippet; /* HTML: text escaped, hits wrapped in <mark> */
  char *tags;    /* JSON array text, as stored */
  double score;  /* higher is better; 0 for hits found by part of a name */
  long long rowid;
} kb_search_hit;

typedef struct kb_search {
  char *query;
  long long total;
  bool total_more; /* more than `total` match (total == KB_SEARCH_COUNT_MAX) */
  size_t ranked;   /* the first `ranked` word matches are in bm25 order; the rest in index order */
  kb_search_hit *v;
  size_t n;
} kb_search;

/* Turn user text into an FTS5 query: every term quoted (quotes doubled) so no input is
 * read as FTS5 syntax, terms ANDed, the last one a prefix ("vmqc" finds while typing).
 * Returns NULL when the text has no searchable term. Caller frees. */
char *kb_search_fts_query(const char *text);
/* Run a search; 0, or -1 with *err (caller frees). An empty query gives 0 results.
 * Word matches come first, best first (bm25; past KB_SEARCH_RANK_BUDGET / terms matches,
 * see there), each with its snippet; the last term is a prefix unless the query already
 * matches with it as a whole word (see search.c). When they do not fill the first page,
 * incidents with names (identifiers, modules, functions) that contain every term as a
 * substring (trigram index over the distinct names) follow, and `total` counts them too,
 * unless every term is an identifier found whole ("KB2092730": a word with a digit that
 * the index has): their part-of-a-name matches would repeat the word matches. */
int kb_search_run(kb_index *ix, const char *text, int limit, int offset, kb_search *out, char **err);
void kb_search_release(kb_search *s); /* accepts NULL */
/* {"query", "total", "results": [{"id","title","url","snippet","score","tags"}]}, and
 * "total_more": true when more than `total` incidents match. */
cJSON *kb_search_to_json(const kb_search *s);

#endif
