/* search.c - FTS5 full-text search (see search.h).
 *
 * User text never reaches FTS5 syntax: each term becomes a quoted phrase, so `node-7`,
 * `c++`, `AND`, `(oom`, `foo:bar` or a stray `"` are plain words. Snippets are cut from
 * the hit's stored text and escaped before <mark> goes in (highlight.c): the document
 * text can never inject markup.
 *
 * Cost is bounded whatever the query: at most KB_SEARCH_RANK_BUDGET matches x terms are scored,
 * KB_SEARCH_COUNT_MAX counted, and only the page's hits are read back; the one unbounded
 * read left is a last-term prefix longer than the prefix indexes (see search_fts_query). */
#include "search/search.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index/rank.h"
#include "search/highlight.h"
#include "util/util.h"

/* statement slots on the kb_index handle (reader.h): search uses 10..19 */
enum { ST_COUNT = 10, ST_ANY, ST_WINDOW, ST_PAST, ST_HIT, ST_NAMES, ST_ONE };

static bool has_word_char(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isalnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80) return true;
  return false;
}

/* The next whitespace-separated term of text[0..len) from *at: its start and *n bytes,
 * *at moved past it; NULL when none is left. */
static const char *next_term(const char *text, size_t len, size_t *at, size_t *n) {
  size_t i = *at;
  while (i < len && isspace((unsigned char)text[i])) i++;
  size_t s = i;
  while (i < len && !isspace((unsigned char)text[i])) i++;
  *at = i;
  *n = i - s;
  return i > s ? text + s : NULL;
}

/* One term as an FTS5 string: "a""b" for a"b. */
static void quote_one(const char *t, size_t n, kb_buf *q) {
  kb_buf_addc(q, '"');
  for (size_t k = 0; k < n; k++) {
    if (t[k] == '"') kb_buf_addc(q, '"');
    kb_buf_addc(q, t[k]);
  }
  kb_buf_addc(q, '"');
}

/* Call fn for each whitespace-separated term of `text` that search uses (one with a letter
 * or digit, of min_len bytes or more; at most KB_SEARCH_MAX_TERMS), in order: the phrases
 * of the FTS5 query. Returns the number of terms. */
static int each_term(const char *text, size_t min_len, void (*fn)(const char *t, size_t n, int i, void *arg),
                     void *arg) {
  size_t len = strnlen(text, KB_SEARCH_MAX_QUERY), at = 0, n;
  int terms = 0;
  for (const char *t; terms < KB_SEARCH_MAX_TERMS && (t = next_term(text, len, &at, &n));) {
    if (n < min_len || !has_word_char(t, n)) continue;
    fn(t, n, terms++, arg);
  }
  return terms;
}

static void quote_next(const char *t, size_t n, int i, void *arg) {
  if (i) kb_buf_addc(arg, ' ');
  quote_one(t, n, arg);
}

/* Append each term of `text` (each_term) as a quoted FTS5 string, separated by spaces
 * (AND). Returns the number of terms written. */
static int quote_terms(const char *text, size_t min_len, kb_buf *q) { return each_term(text, min_len, quote_next, q); }

static char *fts_query(const char *text, int *nterms) {
  kb_buf q = KB_BUF_INIT;
  if (!(*nterms = quote_terms(text, 1, &q))) {
    kb_buf_release(&q);
    return NULL;
  }
  kb_buf_addc(&q, '*');
  return kb_buf_detach(&q, NULL);
}

char *kb_search_fts_query(const char *text) {
  int nterms;
  return fts_query(text, &nterms);
}

/* 1 when the FTS5 query matches some incident, 0 when none, -1 on error. */
static int fts_matches_any(kb_index *ix, const char *fts) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_ANY, "SELECT 1 FROM fts WHERE fts MATCH ? LIMIT 1");
  if (!st) return -1;
  sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
}

/* The FTS5 query for the user's text. The last term is a prefix ("vmqc" while typing)
 * unless the query already matches with it as a whole word: for a prefix longer than the prefix
 * indexes (2 to 6 characters, see index.c) FTS5 merges the doclists of every completion
 * before the first row comes out, which for a word in most incidents ("rollback*" at
 * 100,000) costs 50-100 ms, while the whole word is one doclist, read only as far as
 * needed. So "rollback" finds the word rollback, and "rollb" rollback and rollbacks. */
static char *search_fts_query(kb_index *ix, const char *text, int *nterms, int *rc) {
  char *q = fts_query(text, nterms);
  if (!q) return NULL;
  size_t n = strlen(q);
  q[n - 1] = '\0'; /* the same query without the final '*' */
  int whole = fts_matches_any(ix, q);
  if (whole < 0) *rc = -1;
  if (whole != 1) q[n - 1] = '*';
  return q;
}

/* How many incidents match: counted up to KB_SEARCH_COUNT_MAX (*more set beyond). */
static int search_count(kb_index *ix, const char *fts, long long *total, bool *more) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_COUNT, "SELECT count(*) FROM (SELECT 1 FROM fts WHERE fts MATCH ? LIMIT ?)");
  if (!st) return -1;
  sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, KB_SEARCH_COUNT_MAX + 1);
  int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
  if (rc == 0) {
    *total = sqlite3_column_int64(st, 0);
    *more = *total > KB_SEARCH_COUNT_MAX;
    if (*more) *total = KB_SEARCH_COUNT_MAX;
  }
  sqlite3_reset(st);
  return rc;
}

/* The score search orders by: kb_bm25 (core/index/rank.c) told the counts of the query's
 * common words; in the browser, whose SQLite has no kb_bm25, FTS5's bm25 (the same
 * scores, computed by reading every match of every word). */
#ifdef __wasi__
#define RANK_EXPR "rank"
#else
#define RANK_EXPR "kb_bm25(fts, ?3, " KB_RANK_WEIGHTS ")"
#endif

/* A query as FTS5 runs it, with what kb_bm25 is told (native builds): per phrase, the
 * number of incidents it matches when word_docs has it, else -1. FTS5 makes a phrase of
 * each quoted term's tokens and drops a term without any ("—", "..."): the term is cut
 * with fts's own tokenizer to know, so that the list lines up with FTS5's phrases (a
 * list of another length makes kb_bm25 count every phrase, the slow way). A term of one
 * token is looked up ("Error:" is the word error), unless it is the prefix; a term of
 * several tokens ("node-7") is a phrase, counted. On a live index (kb serve --watch) an
 * edit committed between the lookups and the query can make one request's counts one
 * incident off. */
typedef struct query {
  const char *fts;
  kb_buf dfs; /* int64_t per phrase */
} query;

#ifndef __wasi__
typedef struct term_tokens {
  int n;
  char first[128]; /* the first token, when it fits */
  int first_len;
} term_tokens;

static int count_token(void *arg, const char *token, int len) {
  term_tokens *t = arg;
  if (t->n++ == 0 && len < (int)sizeof t->first) {
    memcpy(t->first, token, (size_t)len);
    t->first_len = len;
  }
  return 0;
}

typedef struct dfs_ctx {
  kb_index *ix;
  int prefix; /* the term that is a prefix, or -1 */
  kb_buf *out;
  bool failed; /* no tokenizer: the list stays empty */
} dfs_ctx;

static void dfs_next(const char *t, size_t n, int i, void *arg) {
  dfs_ctx *c = arg;
  kb_fts_tokenizer *tk = kb_index_tokenizer(c->ix);
  term_tokens tokens = {0};
  if (c->failed || !tk || kb_fts_tokenize(tk, t, (int)n, count_token, &tokens) != SQLITE_OK) {
    kb_buf_reset(c->out); /* an empty list: kb_bm25 counts every phrase */
    c->failed = true;
    return;
  }
  if (tokens.n == 0) return; /* no phrase for FTS5 */
  int64_t df = -1;
  if (i != c->prefix && tokens.n == 1 && tokens.first_len > 0)
    df = kb_index_common_word_docs(c->ix, tokens.first, (size_t)tokens.first_len);
  kb_buf_add(c->out, &df, sizeof df);
}
#endif

static void query_init(query *q, kb_index *ix, const char *fts, const char *text, int nterms) {
  q->fts = fts;
  kb_buf_init(&q->dfs, KB_BUF_MAX_DEFAULT);
#ifndef __wasi__
  size_t len = strlen(fts);
  dfs_ctx c = {ix, len && fts[len - 1] == '*' ? nterms - 1 : -1, &q->dfs, false};
  each_term(text, 1, dfs_next, &c);
#else
  (void)ix, (void)text, (void)nterms;
#endif
}

static void query_bind(const query *q, sqlite3_stmt *st) {
  sqlite3_bind_text(st, 1, q->fts, -1, SQLITE_STATIC);
#ifndef __wasi__
  sqlite3_bind_blob(st, 3, q->dfs.ptr, (int)q->dfs.len, SQLITE_STATIC);
#endif
}

typedef struct ranked {
  long long rowid;
  double rank; /* bm25 as FTS5 gives it: lower is better */
} ranked;

static int ranked_cmp(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

/* The window: the first `window` matches in index order (rowid order, which is the site's
 * order: newest first) with their bm25, sorted best first, *n of them; *more when more
 * match (one row past the window is read to know). FTS5's own ORDER BY rank scores every
 * match before the first row comes out (100,000 at 100,000 incidents for a common word,
 * 150-550 ms); the window bounds that. Caller frees *out. */
static int search_window(kb_index *ix, const query *q, size_t window, ranked **out, size_t *n, bool *more) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_WINDOW, "SELECT rowid, " RANK_EXPR " FROM fts WHERE fts MATCH ?1 LIMIT ?2");
  *out = NULL;
  *n = 0;
  *more = false;
  if (!st) return -1;
  query_bind(q, st);
  sqlite3_bind_int(st, 2, (int)window + 1);
  size_t cap = 64;
  ranked *v = kb_xmalloc(cap * sizeof *v);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) v = kb_xrealloc(v, (cap *= 2) * sizeof *v);
    v[(*n)++] = (ranked){sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1)};
  }
  sqlite3_reset(st);
  *more = *n > window;
  if (*more) *n = window;
  qsort(v, *n, sizeof *v, ranked_cmp);
  *out = v;
  return step == SQLITE_DONE ? 0 : -1;
}

/* The matches at index-order positions [from, from + n) (past the window), with their
 * bm25 (computed for the rows returned only: OFFSET skips rows before their columns). */
static int search_past_window(kb_index *ix, const query *q, long long from, int n, ranked *out, int *got) {
  sqlite3_stmt *st =
      kb_index_stmt(ix, ST_PAST, "SELECT rowid, " RANK_EXPR " FROM fts WHERE fts MATCH ?1 LIMIT ?2 OFFSET ?4");
  *got = 0;
  if (!st) return -1;
  query_bind(q, st);
  sqlite3_bind_int(st, 2, n);
  sqlite3_bind_int64(st, 4, from);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW && *got < n)
    out[(*got)++] = (ranked){sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1)};
  sqlite3_reset(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

/* One hit's fields and snippet, by rowid (no MATCH: FTS5 reads the row and nothing
 * else). 0, 1 when there is no such row (not expected: the hit came from the same
 * index), -1 on error. */
static int search_hit(kb_index *ix, const ranked *r, const kb_highlight_terms *terms, kb_search_hit *h) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_HIT,
      "SELECT ref_id, title, ref_url, ref_tags, summary, body, stacks, identifiers FROM fts WHERE rowid = ?");
  if (!st) return -1;
  sqlite3_bind_int64(st, 1, r->rowid);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    h->id = kb_xstrdup((const char *)sqlite3_column_text(st, 0));
    h->title = kb_xstrdup((const char *)sqlite3_column_text(st, 1));
    h->url = kb_xasprintf("%s%s", kb_index_base_url(ix), (const char *)sqlite3_column_text(st, 2) + 1);
    h->tags = kb_xstrdup(sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "[]");
    const char *texts[4];
    for (int k = 0; k < 4; k++) texts[k] = (const char *)sqlite3_column_text(st, 4 + k);
    h->snippet = kb_highlight_snippet(texts, 4, terms);
    h->score = round(-r->rank * 1000) / 1000;
    h->rowid = r->rowid;
  }
  sqlite3_reset(st);
  return step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? 1 : -1;
}

/* The page [offset, offset + limit) of the word matches: positions inside the window in
 * bm25 order, positions past it (only when more than the window match) in index order. */
static int search_hits(kb_index *ix, const char *fts, int nterms, const char *text, int limit, int offset,
                       kb_search *out) {
  ranked *win;
  bool more;
  size_t window = (size_t)(KB_SEARCH_RANK_BUDGET / nterms);
  if (window < KB_SEARCH_RANK_MIN) window = KB_SEARCH_RANK_MIN;
  query q;
  query_init(&q, ix, fts, text, nterms);
  int rc = search_window(ix, &q, window, &win, &out->ranked, &more);
  out->total = (long long)out->ranked;
  if (rc == 0 && more) rc = search_count(ix, fts, &out->total, &out->total_more);
  ranked *page = kb_xcalloc((size_t)limit, sizeof *page);
  int n = 0;
  for (long long pos = offset; pos < offset + limit && pos < (long long)out->ranked; pos++) page[n++] = win[pos];
  if (rc == 0 && n < limit && offset + n >= (long long)out->ranked && offset + n < out->total) {
    int got;
    rc = search_past_window(ix, &q, offset + n, limit - n, page + n, &got);
    n += got;
  }
  kb_highlight_terms terms;
  kb_highlight_terms_init(&terms, text);
  if (!out->v) out->v = kb_xcalloc((size_t)limit, sizeof *out->v);
  for (int i = 0; rc >= 0 && i < n; i++)
    if ((rc = search_hit(ix, &page[i], &terms, &out->v[out->n])) == 0) out->n++;
  if (rc > 0) rc = 0;
  kb_highlight_terms_release(&terms);
  kb_buf_release(&q.dfs);
  free(page);
  free(win);
  return rc;
}

static bool has_rowid(const kb_search *s, long long rowid) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].rowid == rowid) return true;
  return false;
}

/* One hit found only by part of a name: its summary stands in for a snippet. */
static int names_hit(kb_index *ix, long long rowid, const char *base, kb_search_hit *h) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_ONE, "SELECT id, title, url, tags, summary FROM incidents WHERE rowid = ?");
  if (!st) return -1;
  sqlite3_bind_int64(st, 1, rowid);
  int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
  if (rc == 0) {
    h->id = kb_xstrdup((const char *)sqlite3_column_text(st, 0));
    h->title = kb_xstrdup((const char *)sqlite3_column_text(st, 1));
    h->url = kb_xasprintf("%s%s", base, (const char *)sqlite3_column_text(st, 2) + 1);
    h->tags = kb_xstrdup(sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "[]");
    const char *sum = sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "";
    kb_buf sn = KB_BUF_INIT;
    kb_buf_add_html(&sn, sum, strlen(sum));
    h->snippet = kb_buf_detach(&sn, NULL);
    h->rowid = rowid;
  }
  sqlite3_reset(st);
  return rc;
}

/* A sorted set of incident rowids. */
typedef struct rowset {
  long long *v;
  size_t n, cap;
} rowset;

static void rowset_add(rowset *r, long long id) {
  if (r->n == r->cap) r->v = kb_xrealloc(r->v, (r->cap = r->cap ? 2 * r->cap : 256) * sizeof *r->v);
  r->v[r->n++] = id;
}

static int ll_cmp(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

static void rowset_sort_unique(rowset *r) {
  if (r->n) qsort(r->v, r->n, sizeof *r->v, ll_cmp);
  size_t k = 0;
  for (size_t i = 0; i < r->n; i++)
    if (!k || r->v[i] != r->v[k - 1]) r->v[k++] = r->v[i];
  r->n = k;
}

/* Keep in r only what `other` has too (both sorted). */
static void rowset_intersect(rowset *r, const rowset *other) {
  size_t k = 0, j = 0;
  for (size_t i = 0; i < r->n; i++) {
    while (j < other->n && other->v[j] < r->v[i]) j++;
    if (j < other->n && other->v[j] == r->v[i]) r->v[k++] = r->v[i];
  }
  r->n = k;
}

#define NAMES_PER_TERM 500      /* names read for one term of the query */
#define NAMES_MAX_INCIDENTS 20000 /* incidents read from their postings, per term */
#define NAMES_MAX_HITS 200      /* incidents found by part of a name, at most */

/* The incidents that have a name containing the term (trigram lookup, then each name's
 * postings), sorted. Bounded: a term inside thousands of names ("Exception") reads the
 * first NAMES_PER_TERM of them. */
static int term_incidents(kb_index *ix, const char *t, size_t n, rowset *out) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_NAMES,
      "SELECT n.postings FROM fts_names f JOIN names n ON n.rowid = f.rowid WHERE fts_names MATCH ? LIMIT ?");
  if (!st) return -1;
  kb_buf q = KB_BUF_INIT;
  quote_one(t, n, &q);
  sqlite3_bind_text(st, 1, q.ptr, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, NAMES_PER_TERM);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW && out->n < NAMES_MAX_INCIDENTS) {
    const unsigned char *p = sqlite3_column_blob(st, 0), *end = p ? p + sqlite3_column_bytes(st, 0) : p;
    long long id = 0;
    while (out->n < NAMES_MAX_INCIDENTS && kb_postings_next(&p, end, &id)) rowset_add(out, id);
  }
  sqlite3_reset(st);
  kb_buf_release(&q);
  rowset_sort_unique(out);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

/* Part-of-a-name matches after the word matches (the caller runs it when they leave room
 * on the first page): incidents with, for every term of 3 bytes or more, a name that
 * contains it (not necessarily the same name). The newest NAMES_MAX_HITS count. */
static int search_names(kb_index *ix, const char *text, int limit, kb_search *out) {
  size_t len = strnlen(text, KB_SEARCH_MAX_QUERY), at = 0, n;
  rowset all = {0};
  int rc = 0, terms = 0;
  for (const char *t; rc == 0 && terms < KB_SEARCH_MAX_TERMS && (t = next_term(text, len, &at, &n));) {
    if (n < 3 || !has_word_char(t, n)) continue;
    rowset one = {0};
    rc = term_incidents(ix, t, n, &one);
    if (terms++) {
      rowset_intersect(&all, &one);
      free(one.v);
    } else {
      all = one;
    }
    if (all.n == 0) break;
  }
  const char *base = kb_index_base_url(ix);
  for (size_t i = 0; rc == 0 && i < all.n && i < NAMES_MAX_HITS; i++) {
    if (has_rowid(out, all.v[i])) continue;
    out->total++;
    if ((int)out->n < limit && names_hit(ix, all.v[i], base, &out->v[out->n]) == 0) out->n++;
  }
  free(all.v);
  return rc;
}

/* True when every term the trigram lookup would use (3 bytes or more) is made of whole
 * words of the index that carry a digit: identifiers such as "KB2092730", "CVE-2021-44228",
 * "0x0000000A". Part-of-a-name matches of those would repeat the word matches, and the
 * lookup is the costliest read of a search (every trigram's doclist: 42 pages for a KB
 * number at 10,000 incidents, most of a snapshot's requests for that answer). Words
 * without digits keep it: "Exception" finds NullReferenceException. Non-ASCII text is not
 * checked (unicode61 folds it in ways this does not repeat): false. */
static bool term_is_identifier(kb_index *ix, const char *t, size_t n) {
  bool digit = false;
  for (size_t k = 0; k < n; k++) {
    if ((unsigned char)t[k] >= 0x80) return false;
    digit |= isdigit((unsigned char)t[k]) != 0;
  }
  if (!digit) return false;
  /* each of its words (letters, digits, '_'), as unicode61 cuts it, is in the index */
  for (size_t k = 0; k < n;) {
    size_t w = k;
    while (k < n && (isalnum((unsigned char)t[k]) || t[k] == '_')) k++;
    if (k > w && kb_index_word_docs(ix, t + w, k - w) == 0) return false;
    if (k == w) k++;
  }
  return true;
}

static bool terms_are_identifiers(kb_index *ix, const char *text) {
  size_t len = strnlen(text, KB_SEARCH_MAX_QUERY), at = 0, n;
  bool any = false;
  for (const char *t; (t = next_term(text, len, &at, &n));) {
    if (n < 3) continue;
    if (!term_is_identifier(ix, t, n)) return false;
    any = true;
  }
  return any;
}

int kb_search_run(kb_index *ix, const char *text, int limit, int offset, kb_search *out, char **err) {
  memset(out, 0, sizeof *out);
  out->query = kb_xstrndup(text, strnlen(text, KB_SEARCH_MAX_QUERY));
  if (limit < 1) limit = 1;
  if (limit > KB_SEARCH_LIMIT_MAX) limit = KB_SEARCH_LIMIT_MAX;
  if (offset < 0) offset = 0;
  int rc = 0, nterms = 0;
  char *fts = search_fts_query(ix, text, &nterms, &rc);
  if (!fts) return 0;
  if (rc == 0) rc = search_hits(ix, fts, nterms, out->query, limit, offset, out);
  if (rc == 0 && offset == 0 && out->n < (size_t)limit && !terms_are_identifiers(ix, text))
    rc = search_names(ix, text, limit, out);
  if (rc) *err = kb_xasprintf("search: %s", sqlite3_errmsg(kb_index_db(ix)));
  free(fts);
  return rc;
}

void kb_search_release(kb_search *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].id);
    free(s->v[i].title);
    free(s->v[i].url);
    free(s->v[i].snippet);
    free(s->v[i].tags);
  }
  free(s->v);
  free(s->query);
  memset(s, 0, sizeof *s);
}

cJSON *kb_search_to_json(const kb_search *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "query", s->query ? s->query : "");
  cJSON_AddNumberToObject(o, "total", (double)s->total);
  if (s->total_more) cJSON_AddBoolToObject(o, "total_more", true);
  cJSON *arr = cJSON_AddArrayToObject(o, "results");
  for (size_t i = 0; i < s->n; i++) {
    const kb_search_hit *h = &s->v[i];
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", h->id);
    cJSON_AddStringToObject(r, "title", h->title);
    cJSON_AddStringToObject(r, "url", h->url);
    cJSON_AddStringToObject(r, "snippet", h->snippet);
    cJSON_AddNumberToObject(r, "score", h->score);
    cJSON *tags = cJSON_Parse(h->tags);
    cJSON_AddItemToObject(r, "tags", tags ? tags : cJSON_CreateArray());
    cJSON_AddItemToArray(arr, r);
  }
  return o;
}
