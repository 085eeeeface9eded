/* search.c - FTS5 full-text search (see search.h).
 *
 * User text never reaches FTS5 syntax: each term becomes a quoted phrase, so `node-7`,
 * `c++`, `AND`, `(oom`, `foo:bar` or a stray `"` are plain words. Snippets are made with
 * control-character markers, then HTML-escaped, then the markers become <mark>: the
 * document text can never inject markup. */
#include "search/search.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* statement slots on the kb_index handle (reader.h): search uses 10..19 */
enum { ST_COUNT = 10, ST_HITS, ST_NAMES, ST_ONE };

static bool has_word_char(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isalnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80) return true;
  return false;
}

/* Append each whitespace-separated term of `text` as a quoted FTS5 string ("a""b" for
 * a"b), separated by spaces (AND); terms shorter than min_len bytes, or without a letter
 * or digit, are left out. Returns the number of terms written. */
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

static int quote_terms(const char *text, size_t min_len, kb_buf *q) {
  size_t len = strnlen(text, KB_SEARCH_MAX_QUERY), at = 0, n;
  int terms = 0;
  for (const char *t; terms < KB_SEARCH_MAX_TERMS && (t = next_term(text, len, &at, &n));) {
    if (n < min_len || !has_word_char(t, n)) continue;
    kb_buf_adds(q, terms++ ? " \"" : "\"");
    for (size_t k = 0; k < n; k++) {
      if (t[k] == '"') kb_buf_addc(q, '"');
      kb_buf_addc(q, t[k]);
    }
    kb_buf_addc(q, '"');
  }
  return terms;
}

char *kb_search_fts_query(const char *text) {
  kb_buf q = KB_BUF_INIT;
  if (!quote_terms(text, 1, &q)) {
    kb_buf_release(&q);
    return NULL;
  }
  kb_buf_addc(&q, '*');
  return kb_buf_detach(&q, NULL);
}

static void snippet_html(const char *s, kb_buf *out) {
  for (const char *p = s; *p;) {
    const char *run = p;
    while (*p && *p != '\x01' && *p != '\x02') p++;
    kb_buf_add_html(out, run, (size_t)(p - run));
    if (*p == '\x01') kb_buf_adds(out, "<mark>"), p++;
    else if (*p == '\x02') kb_buf_adds(out, "</mark>"), p++;
  }
}


static int search_total(kb_index *ix, const char *fts, long long *total) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_COUNT, "SELECT count(*) FROM fts WHERE fts MATCH ?");
  if (!st) return -1;
  sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
  if (rc == 0) *total = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc;
}

static int search_hits(kb_index *ix, const char *fts, int limit, int offset, kb_search *out) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_HITS,
      "SELECT ref_id, title, ref_url, ref_tags, snippet(fts, -1, char(1), char(2), '…', 16), rank, rowid"
      " FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT ? OFFSET ?");
  if (!st) return -1;
  const char *base = kb_index_base_url(ix);
  sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, limit);
  sqlite3_bind_int(st, 3, offset);
  if (!out->v) out->v = kb_xcalloc((size_t)limit, sizeof *out->v);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW && out->n < (size_t)limit) {
    kb_search_hit *h = &out->v[out->n++];
    h->id = kb_xstrdup((const char *)sqlite3_column_text(st, 0));
    h->title = kb_xstrdup((const char *)sqlite3_column_text(st, 1));
    h->url = kb_xasprintf("%s%s", base, (const char *)sqlite3_column_text(st, 2) + 1);
    h->tags = kb_xstrdup(sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "[]");
    kb_buf sn = KB_BUF_INIT;
    snippet_html(sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "", &sn);
    h->snippet = kb_buf_detach(&sn, NULL);
    h->score = round(-sqlite3_column_double(st, 5) * 1000) / 1000;
    h->rowid = sqlite3_column_int64(st, 6);
  }
  sqlite3_reset(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

/* `"abc" "def"` for the trigram table: the terms of 3 bytes or more (shorter ones cannot
 * be looked up by trigrams), quotes doubled. NULL when there is none. */
static char *names_query(const char *text) {
  kb_buf q = KB_BUF_INIT;
  if (!quote_terms(text, 3, &q)) {
    kb_buf_release(&q);
    return NULL;
  }
  return kb_buf_detach(&q, NULL);
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

/* Part-of-a-name matches (trigram index) after the word matches (the caller runs it
 * when they leave room on the first page). */
static int search_names(kb_index *ix, const char *text, int limit, kb_search *out) {
  char *q = names_query(text);
  if (!q) return 0;
  sqlite3_stmt *st = kb_index_stmt(ix, ST_NAMES, "SELECT rowid FROM fts_names WHERE fts_names MATCH ? LIMIT 200");
  if (!st) {
    free(q);
    return -1;
  }
  const char *base = kb_index_base_url(ix);
  long long rows[200];
  size_t nrows = 0;
  sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW && nrows < 200) rows[nrows++] = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  int rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < nrows; i++) {
    if (has_rowid(out, rows[i])) continue;
    out->total++;
    if ((int)out->n < limit && names_hit(ix, rows[i], base, &out->v[out->n]) == 0) out->n++;
  }
  free(q);
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
  char *fts = kb_search_fts_query(text);
  if (!fts) return 0;
  int rc = search_total(ix, fts, &out->total);
  if (rc == 0) rc = search_hits(ix, fts, limit, offset, out);
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
