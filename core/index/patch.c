/* patch.c - apply an edit of incidents' prose to a published index in place, for
 * `kb serve --watch` (gen/build.c's session calls it, then tells the server): a write-up
 * being typed should be served within milliseconds of each save, not after the whole
 * index is built again.
 *
 * Only an edit that changes nothing but the body is applied. Everything else the index
 * holds about the incident - its incidents row (title, date, summary, tags, front
 * matter, identifiers), its stacks and frames - must read exactly as kb_index_add_rows
 * would write it for the edited file; the patch compares them and answers
 * KB_INDEX_PATCH_REBUILD at the first difference. Those rows are what the derived
 * tables are made of (terms, bugchecks, frame_stats, stack_frames, names and the document
 * frequencies stored in other incidents' frames), so when they are equal the derived
 * tables are too, and only two things need writing: the fts row's body column and the
 * stacks' source lines (text added above a stack moves it down); and, derived from the
 * body, the counts in word_docs of the common words the body gains or loses (the words
 * are cut by fts's own tokenizer, so they are the words FTS5 indexes).
 *
 * One transaction with a rollback journal, so readers see the rows before or after the
 * edit, never a mix; readers must open the file with kb_index_open_live (an immutable
 * handle would not see the change, or see half of it). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content/date.h"
#include "index/index.h"
#include "index/rank.h"
#include "index/rows.h"
#include "stack/reason.h"
#include "util/util.h"

#define PATCH_BUSY_MS 5000 /* how long to wait for readers to let go of the file */

struct kb_index_patch {
  sqlite3 *db;
  char *path;
};

static int patch_fail(kb_index_patch *p, char **err, const char *what) {
  *err = kb_xasprintf("%s: %s: %s", p->path, what, sqlite3_errmsg(p->db));
  return -1;
}

static int index_version(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  int version = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return version;
}

kb_index_patch *kb_index_patch_begin(const char *path, char **err) {
  kb_index_patch *p = kb_xcalloc(1, sizeof *p);
  p->path = kb_xstrdup(path);
  if (sqlite3_open_v2(path, &p->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) goto err;
  sqlite3_busy_timeout(p->db, PATCH_BUSY_MS);
  if (index_version(p->db) != KB_INDEX_SCHEMA_VERSION) {
    *err = kb_xasprintf("%s: not a kb index of schema %d; build it again", path, KB_INDEX_SCHEMA_VERSION);
    kb_index_patch_abort(p);
    return NULL;
  }
  if (sqlite3_exec(p->db, "PRAGMA journal_mode=DELETE; BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) return p;
err:
  *err = kb_xasprintf("%s: cannot open the index for an edit: %s", path,
                      p->db ? sqlite3_errmsg(p->db) : "out of memory");
  kb_index_patch_abort(p);
  return NULL;
}

int kb_index_patch_recover(const char *path, char **err) {
  char *journal = kb_xasprintf("%s-journal", path);
  bool hot = access(journal, F_OK) == 0;
  free(journal);
  if (!hot) return 0;
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
  if (rc == SQLITE_OK) sqlite3_busy_timeout(db, PATCH_BUSY_MS);
  /* The first read of a handle that takes locks plays a hot journal back. A journal of
   * an edit killed before its commit wrote anything is not hot and stays: a write
   * transaction (the schema version set to itself) replaces it and deletes it. */
  char *sql = kb_xasprintf("SELECT count(*) FROM sqlite_schema; BEGIN IMMEDIATE; PRAGMA user_version = %d; COMMIT",
                           KB_INDEX_SCHEMA_VERSION);
  if (rc == SQLITE_OK && index_version(db) != KB_INDEX_SCHEMA_VERSION) rc = SQLITE_MISMATCH;
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  free(sql);
  if (rc != SQLITE_OK)
    *err = kb_xasprintf("%s: cannot roll back an interrupted edit: %s", path,
                        rc == SQLITE_MISMATCH ? "not a kb index of this version"
                        : db                  ? sqlite3_errmsg(db)
                                              : "out of memory");
  sqlite3_close(db);
  return rc == SQLITE_OK ? 1 : -1;
}

void kb_index_patch_abort(kb_index_patch *p) {
  if (!p) return;
  if (p->db && !sqlite3_get_autocommit(p->db)) sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(p->db);
  free(p->path);
  free(p);
}

/* The build merged the full-text index into one segment, automatic merging off. Each
 * edit adds a small segment, and FTS5's automatic merging would only start after 64
 * pages of them: a bounded step of merging with each edit (64 pages at most, only where
 * 4 segments share a level) keeps hundreds of edits from leaving hundreds of segments
 * that every query reads. */
#define PATCH_MERGE "INSERT INTO fts(fts, rank) VALUES('merge', 64)"

int kb_index_patch_commit(kb_index_patch *p, char **err) {
  int rc = sqlite3_exec(p->db, PATCH_MERGE "; COMMIT", NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : patch_fail(p, err, "cannot commit the edit");
  kb_index_patch_abort(p);
  return rc;
}

/* ---- comparing a stored row with the value the writer would store ---- */

/* Column `col` holds `want`: NULL for NULL, else the same text. */
static bool col_is(sqlite3_stmt *q, int col, const char *want) {
  if (sqlite3_column_type(q, col) == SQLITE_NULL) return want == NULL;
  const char *have = (const char *)sqlite3_column_text(q, col);
  return want && have && strcmp(have, want) == 0;
}

/* Column `col` holds the integer `want`, or NULL when `want` is 0 and NULL stands for it. */
static bool col_int_is(sqlite3_stmt *q, int col, long long want, bool null_is_zero) {
  if (sqlite3_column_type(q, col) == SQLITE_NULL) return null_is_zero && want == 0;
  return sqlite3_column_int64(q, col) == want;
}

static sqlite3_stmt *prepare_int(kb_index_patch *p, const char *sql, sqlite3_int64 v) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(p->db, sql, -1, &q, NULL) != SQLITE_OK) return NULL;
  sqlite3_bind_int64(q, 1, v);
  return q;
}

/* The incidents row of inc->id as the writer would store it; its rowid in *row. */
static bool incident_row_same(kb_index_patch *p, const kb_incident *inc, sqlite3_int64 *row) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(p->db,
                         "SELECT rowid, slug, url, title, date, date_unix, summary, tags, categories, source_path, "
                         "params, identifiers FROM incidents WHERE id = ?",
                         -1, &q, NULL) != SQLITE_OK)
    return false;
  sqlite3_bind_text(q, 1, inc->id, -1, SQLITE_STATIC);
  char date[40] = "";
  if (inc->has_date) kb_date_format_rfc3339(inc->date, inc->tz_min, date, sizeof date);
  char *tags = kb_index_json_list(&inc->tags), *cats = kb_index_json_list(&inc->categories);
  char *params = cJSON_PrintUnformatted(inc->params);
  kb_buf idents = KB_BUF_INIT;
  kb_index_idents_json(&inc->idents, &idents);
  bool same = sqlite3_step(q) == SQLITE_ROW && col_is(q, 1, inc->slug) && col_is(q, 2, inc->url) &&
              col_is(q, 3, inc->title) && col_is(q, 4, inc->has_date ? date : NULL) &&
              (inc->has_date ? col_int_is(q, 5, inc->date, false) : sqlite3_column_type(q, 5) == SQLITE_NULL) &&
              col_is(q, 6, inc->summary) && col_is(q, 7, tags) && col_is(q, 8, cats) && col_is(q, 9, inc->path) &&
              col_is(q, 10, params ? params : "{}") && col_is(q, 11, idents.ptr);
  *row = same ? sqlite3_column_int64(q, 0) : 0;
  sqlite3_finalize(q);
  free(tags);
  free(cats);
  free(params);
  kb_buf_release(&idents);
  return same;
}

/* The fts row: every column but the body. */
static bool fts_row_same(kb_index_patch *p, sqlite3_int64 row, const kb_incident *inc, const char *stacks) {
  sqlite3_stmt *q = prepare_int(
      p, "SELECT title, tags, summary, stacks, identifiers, ref_id, ref_url, ref_tags FROM fts WHERE rowid = ?", row);
  if (!q) return false;
  kb_buf tags = KB_BUF_INIT;
  kb_index_tags_text(inc, &tags);
  char *idents = kb_index_ident_text(&inc->idents), *ref_tags = kb_index_json_list(&inc->tags);
  bool same = sqlite3_step(q) == SQLITE_ROW && col_is(q, 0, inc->title) && col_is(q, 1, tags.ptr) &&
              col_is(q, 2, inc->summary) && col_is(q, 3, stacks) && col_is(q, 4, idents) && col_is(q, 5, inc->id) &&
              col_is(q, 6, inc->url) && col_is(q, 7, ref_tags);
  sqlite3_finalize(q);
  kb_buf_release(&tags);
  free(idents);
  free(ref_tags);
  return same;
}

/* Rows of q (finalized here) against n wanted values: the same count, and row i
 * matching value i by same_row. */
typedef bool (*row_same_fn)(kb_index_patch *p, sqlite3_stmt *q, size_t i, const void *want);

static bool rows_same(kb_index_patch *p, sqlite3_stmt *q, size_t n, row_same_fn same_row, const void *want) {
  size_t i = 0;
  bool same = q != NULL;
  for (; same && sqlite3_step(q) == SQLITE_ROW; i++) same = i < n && same_row(p, q, i, want);
  sqlite3_finalize(q);
  return same && i == n;
}

/* A stacks row and its frames, all but the source line. */
static bool stack_row_same(kb_index_patch *p, sqlite3_stmt *q, size_t i, const void *want) {
  (void)p;
  const kb_stack *st = &((const kb_stacks *)want)->v[i];
  char *reason = kb_reason_json(&st->reason);
  kb_buf frames = KB_BUF_INIT;
  kb_index_frames_json(st, &frames);
  bool same = col_int_is(q, 1, (long long)i, false) && col_is(q, 2, st->format) && col_is(q, 3, st->platform) &&
              col_int_is(q, 4, st->bugcheck, true) && col_is(q, 5, st->signature) && col_is(q, 6, reason) &&
              col_is(q, 7, frames.ptr);
  free(reason);
  kb_buf_release(&frames);
  return same;
}

static bool stacks_same(kb_index_patch *p, sqlite3_int64 row, const kb_stacks *stacks) {
  sqlite3_stmt *q = prepare_int(
      p, "SELECT rowid, seq, format, platform, bugcheck, signature, reason, frames FROM stacks WHERE incident = ?"
         " ORDER BY seq",
      row);
  return rows_same(p, q, stacks->n, stack_row_same, stacks);
}

/* ---- writing the two things a prose edit changes ---- */

static int write_body(kb_index_patch *p, sqlite3_int64 row, const kb_incident *inc, char **err) {
  sqlite3_stmt *q = prepare_int(p, "UPDATE fts SET body = ?2 WHERE rowid = ?1", row);
  if (!q) return patch_fail(p, err, "cannot update the full-text row");
  sqlite3_bind_text(q, 2, inc->md.text ? inc->md.text : "", -1, SQLITE_STATIC);
  int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : patch_fail(p, err, "cannot update the full-text row");
  sqlite3_finalize(q);
  return rc;
}

static int write_stack_lines(kb_index_patch *p, sqlite3_int64 row, const kb_stacks *stacks, char **err) {
  sqlite3_stmt *q = prepare_int(p, "UPDATE stacks SET line = ?3 WHERE incident = ?1 AND seq = ?2", row);
  int rc = q ? 0 : patch_fail(p, err, "cannot update the stacks");
  for (size_t i = 0; rc == 0 && i < stacks->n; i++) {
    sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
    sqlite3_bind_int(q, 3, stacks->v[i].first_line);
    if (sqlite3_step(q) != SQLITE_DONE) rc = patch_fail(p, err, "cannot update the stacks");
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  return rc;
}

/* ---- word_docs: the counts of common words stay exact ---- */

static int collect_token(void *words, const char *token, int n) {
  kb_strlist_push_own(words, kb_xstrndup(token, (size_t)n));
  return 0;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void words_sort_unique(kb_strlist *l) {
  if (l->n) qsort(l->v, l->n, sizeof *l->v, str_cmp);
  size_t k = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (k && strcmp(l->v[i], l->v[k - 1]) == 0) free(l->v[i]);
    else l->v[k++] = l->v[i];
  }
  l->n = k;
}

static bool words_has(const kb_strlist *l, const char *w) {
  return l->n && bsearch(&w, l->v, l->n, sizeof *l->v, str_cmp) != NULL;
}

/* Add `delta` to the count of each word of `from` that neither `other` nor `rest` has:
 * the words the row gains (or loses) with its new body. */
static int words_count(kb_index_patch *p, const kb_strlist *from, const kb_strlist *other, const kb_strlist *rest,
                       int delta) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(p->db, "UPDATE word_docs SET incidents = incidents + ?2 WHERE word = ?1", -1, &q, NULL))
    return -1;
  sqlite3_bind_int(q, 2, delta);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < from->n; i++) {
    if (words_has(other, from->v[i]) || words_has(rest, from->v[i])) continue;
    sqlite3_bind_text(q, 1, from->v[i], -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) rc = -1;
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  return rc;
}

/* The distinct words of the row's columns but the body (`rest`), of its stored body
 * (`old`) and of `body`, as fts's tokenizer cuts them. */
static int row_words(kb_index_patch *p, sqlite3_int64 row, const char *body, kb_strlist *rest, kb_strlist *old,
                     kb_strlist *new_words) {
  kb_fts_tokenizer *t = kb_fts_tokenizer_new(p->db);
  sqlite3_stmt *q = prepare_int(p, "SELECT title, tags, summary, stacks, identifiers, body FROM fts WHERE rowid = ?", row);
  int rc = t && q && sqlite3_step(q) == SQLITE_ROW ? SQLITE_OK : -1;
  for (int col = 0; rc == SQLITE_OK && col < 6; col++) {
    const char *text = (const char *)sqlite3_column_text(q, col);
    if (text) rc = kb_fts_tokenize(t, text, sqlite3_column_bytes(q, col), collect_token, col < 5 ? rest : old);
  }
  if (rc == SQLITE_OK) rc = kb_fts_tokenize(t, body, (int)strlen(body), collect_token, new_words);
  sqlite3_finalize(q);
  kb_fts_tokenizer_free(t);
  words_sort_unique(rest);
  words_sort_unique(old);
  words_sort_unique(new_words);
  return rc == SQLITE_OK ? 0 : -1;
}

/* Before the body is replaced: the count of every common word the row gains or loses. */
static int write_word_docs(kb_index_patch *p, sqlite3_int64 row, const char *body, char **err) {
  kb_strlist rest = {0}, old = {0}, new_words = {0};
  int rc = row_words(p, row, body, &rest, &old, &new_words);
  if (rc == 0) rc = words_count(p, &old, &new_words, &rest, -1);
  if (rc == 0) rc = words_count(p, &new_words, &old, &rest, +1);
  kb_strlist_release(&rest);
  kb_strlist_release(&old);
  kb_strlist_release(&new_words);
  return rc == 0 ? 0 : patch_fail(p, err, "cannot count the edited words");
}

int kb_index_patch_body(kb_index_patch *p, const kb_incident *inc, char **err) {
  sqlite3_int64 row = 0;
  if (!incident_row_same(p, inc, &row)) return KB_INDEX_PATCH_REBUILD;
  kb_buf stacks = KB_BUF_INIT;
  for (size_t i = 0; i < inc->md.stacks.n; i++) kb_index_stack_text(&inc->md.stacks.v[i], &stacks);
  bool same = fts_row_same(p, row, inc, stacks.ptr) && stacks_same(p, row, &inc->md.stacks);
  kb_buf_release(&stacks);
  if (!same) return KB_INDEX_PATCH_REBUILD;
  if (write_word_docs(p, row, inc->md.text ? inc->md.text : "", err) || write_body(p, row, inc, err) ||
      write_stack_lines(p, row, &inc->md.stacks, err))
    return -1;
  return 0;
}
