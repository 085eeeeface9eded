/* rank.c - kb_bm25: FTS5's bm25 with the document frequencies given (see rank.h).
 *
 * Why: bm25 weighs each phrase of the query by its idf, and FTS5's bm25 learns how many
 * rows a phrase matches by reading every one of them (xQueryPhrase), once per query,
 * however few rows the query returns. For the common words people type ("root cause
 * fixed") that is most of the index: at 100,000 incidents 8-12 ms for three words, while
 * scoring the 333 matches search ranks costs ~1 ms. The build stores the counts of the
 * common words (word_docs, index.c); search passes those it has, and this function counts
 * the others as bm25 does (a rare word, a prefix, a phrase of several tokens: few rows,
 * or as many as matching itself reads).
 *
 * The score is bm25's, term for term, so that ranking does not depend on which of the two
 * ran (the WebAssembly build uses FTS5's; tests/test_search.c compares them):
 *   idf(p)  = ln((N - n(p) + 0.5) / (n(p) + 0.5)), at least 1e-6
 *   f(p)    = sum over p's hits of the weight of the hit's column
 *   score   = -sum over p of idf(p) * f(p) * (k1 + 1) / (f(p) + k1 * (1 - b + b * D / avgD))
 * with N the rows, D the row's tokens, avgD the mean over rows, k1 = 1.2, b = 0.75. */
#include "index/rank.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BM25_K1 1.2
#define BM25_B 0.75
#define IDF_MIN 1e-6

/* What one query needs on every row, computed on its first row. */
typedef struct rank_query {
  int phrases;
  double avg_tokens; /* mean tokens per row */
  double *idf;       /* per phrase */
  double *freq;      /* per phrase, this row's weighted hits (scratch) */
} rank_query;

static void rank_query_free(void *p) {
  rank_query *q = p;
  if (!q) return;
  free(q->idf);
  free(q->freq);
  free(q);
}

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *user) {
  (void)api, (void)fts;
  (*(sqlite3_int64 *)user)++;
  return SQLITE_OK;
}

static _Atomic unsigned long phrases_counted;

unsigned long kb_rank_phrases_counted(void) { return phrases_counted; }

/* Rows matched by phrase i: the caller's count when it gave one, else counted. */
static int phrase_rows(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_value *dfs, int i,
                       sqlite3_int64 *rows) {
  int phrases = api->xPhraseCount(fts);
  if (sqlite3_value_type(dfs) == SQLITE_BLOB && sqlite3_value_bytes(dfs) == phrases * (int)sizeof(int64_t)) {
    int64_t given;
    memcpy(&given, (const char *)sqlite3_value_blob(dfs) + (size_t)i * sizeof given, sizeof given);
    if (given >= 0) {
      *rows = given;
      return SQLITE_OK;
    }
  }
  *rows = 0;
  phrases_counted++;
  return api->xQueryPhrase(fts, i, rows, count_row);
}

static int rank_query_new(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_value *dfs, rank_query **out) {
  rank_query *q = calloc(1, sizeof *q);
  if (!q) return SQLITE_NOMEM;
  q->phrases = api->xPhraseCount(fts);
  q->idf = calloc((size_t)q->phrases + 1, sizeof *q->idf);
  q->freq = calloc((size_t)q->phrases + 1, sizeof *q->freq);
  sqlite3_int64 rows = 0, tokens = 0;
  int rc = q->idf && q->freq ? api->xRowCount(fts, &rows) : SQLITE_NOMEM;
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &tokens);
  if (rc == SQLITE_OK) q->avg_tokens = (double)tokens / (double)rows;
  for (int i = 0; rc == SQLITE_OK && i < q->phrases; i++) {
    sqlite3_int64 n = 0;
    rc = phrase_rows(api, fts, dfs, i, &n);
    double idf = log(((double)(rows - n) + 0.5) / ((double)n + 0.5));
    q->idf[i] = idf <= 0.0 ? IDF_MIN : idf;
  }
  if (rc != SQLITE_OK) {
    rank_query_free(q);
    return rc;
  }
  *out = q;
  return SQLITE_OK;
}

/* This row's score, from its hits and its length. */
static int rank_row(const Fts5ExtensionApi *api, Fts5Context *fts, rank_query *q, int nweights,
                    sqlite3_value **weights, double *score) {
  memset(q->freq, 0, (size_t)q->phrases * sizeof *q->freq);
  int hits = 0, rc = api->xInstCount(fts, &hits);
  for (int i = 0; rc == SQLITE_OK && i < hits; i++) {
    int phrase, col, off;
    rc = api->xInst(fts, i, &phrase, &col, &off);
    if (rc == SQLITE_OK && phrase >= 0 && phrase < q->phrases)
      q->freq[phrase] += col < nweights ? sqlite3_value_double(weights[col]) : 1.0;
  }
  int tokens = 0;
  if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &tokens);
  double norm = BM25_K1 * (1 - BM25_B + BM25_B * (double)tokens / q->avg_tokens), sum = 0.0;
  for (int i = 0; i < q->phrases; i++) sum += q->idf[i] * ((q->freq[i] * (BM25_K1 + 1.0)) / (q->freq[i] + norm));
  *score = -1.0 * sum;
  return rc;
}

static void kb_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                    sqlite3_value **val) {
  if (nval < 1) {
    sqlite3_result_error(ctx, "kb_bm25: the document frequencies are missing", -1);
    return;
  }
  rank_query *q = api->xGetAuxdata(fts, 0);
  int rc = SQLITE_OK;
  if (!q) {
    rc = rank_query_new(api, fts, val[0], &q);
    if (rc == SQLITE_OK) rc = api->xSetAuxdata(fts, q, rank_query_free);
  }
  double score = 0.0;
  if (rc == SQLITE_OK) rc = rank_row(api, fts, q, nval - 1, val + 1, &score);
  if (rc == SQLITE_OK) sqlite3_result_double(ctx, score);
  else sqlite3_result_error_code(ctx, rc);
}

fts5_api *kb_fts5_api(sqlite3 *db) {
  fts5_api *fts5 = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK) return NULL;
  sqlite3_bind_pointer(st, 1, (void *)&fts5, "fts5_api_ptr", NULL);
  sqlite3_step(st);
  sqlite3_finalize(st);
  return fts5;
}

int kb_rank_register(sqlite3 *db) {
  fts5_api *fts5 = kb_fts5_api(db);
  if (!fts5) return SQLITE_ERROR;
  return fts5->xCreateFunction(fts5, "kb_bm25", NULL, kb_bm25, NULL);
}

/* ---- fts's tokenizer ---- */

/* KB_FTS_TOKENIZE's arguments, one by one. */
static const char *const tokenizer_args[] = {"remove_diacritics", "2", "tokenchars", "_"};

struct kb_fts_tokenizer {
  fts5_tokenizer api;
  Fts5Tokenizer *t;
};

kb_fts_tokenizer *kb_fts_tokenizer_new(sqlite3 *db) {
  fts5_api *fts5 = kb_fts5_api(db);
  kb_fts_tokenizer *t = calloc(1, sizeof *t);
  void *ud = NULL;
  if (!t || !fts5 || fts5->xFindTokenizer(fts5, "unicode61", &ud, &t->api) != SQLITE_OK ||
      t->api.xCreate(ud, (const char **)tokenizer_args, 4, &t->t) != SQLITE_OK) {
    free(t);
    return NULL;
  }
  return t;
}

typedef struct token_call {
  int (*fn)(void *ctx, const char *token, int len);
  void *ctx;
  int rc; /* fn's non-zero return */
} token_call;

static int on_token(void *arg, int flags, const char *token, int n, int start, int end) {
  (void)flags, (void)start, (void)end;
  token_call *c = arg;
  c->rc = c->fn(c->ctx, token, n > KB_FTS_MAX_TOKEN ? KB_FTS_MAX_TOKEN : n);
  return c->rc ? SQLITE_DONE : SQLITE_OK;
}

int kb_fts_tokenize(kb_fts_tokenizer *t, const char *text, int n, int (*fn)(void *ctx, const char *token, int len),
                    void *ctx) {
  token_call c = {fn, ctx, 0};
  int rc = t->api.xTokenize(t->t, &c, FTS5_TOKENIZE_DOCUMENT, text, n, on_token);
  return c.rc ? c.rc : rc;
}

void kb_fts_tokenizer_free(kb_fts_tokenizer *t) {
  if (!t) return;
  t->api.xDelete(t->t);
  free(t);
}
