/* index.c - write kb.sqlite, the index of a built site.
 *
 * On-disk format (schema version 3; `PRAGMA user_version` holds the version):
 *
 *   meta(key TEXT PRIMARY KEY, value TEXT)
 *       schema_version, generator, built_at (RFC 3339), base_url, incidents.
 *   incidents(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, slug TEXT, url TEXT UNIQUE,
 *             title TEXT, date TEXT (RFC 3339 or NULL), date_unix INTEGER, summary TEXT,
 *             tags TEXT (JSON array), categories TEXT (JSON array), source_path TEXT,
 *             params TEXT (front matter as JSON))
 *       url is the site path ("/incidents/<slug>/"), without the base URL.
 *   terms(incident -> incidents.rowid, kind TEXT 'tag'|'category', name TEXT)
 *   identifiers(incident, kind TEXT, value TEXT)
 *       kind: kb, cve, bugcheck, bugcheck_name, module, exception (see extract.h).
 *   stacks(rowid INTEGER PRIMARY KEY, incident, seq INTEGER (0-based in the incident),
 *          format TEXT, platform TEXT, bugcheck INTEGER, line INTEGER (in the source file),
 *          signature TEXT, reason TEXT (JSON: kind, code, name, message, params, bucket))
 *       the stack as written stays in the page; the index keeps what search and matching use
 *   frames(stack -> stacks.rowid, pos INTEGER (0 = crash site), module TEXT, function TEXT,
 *          offset TEXT, file TEXT, line INTEGER, norm TEXT, flags INTEGER, df INTEGER)
 *       norm is what matching compares (see core/stack/normalize.c); flags are KB_FRAME_*
 *       (stack.h); df is frame_stats.incidents for the norm, copied here so matching reads
 *       a candidate stack's weights in one range scan. Index frames_norm(norm) finds
 *       candidate stacks by shared frames.
 *   frame_stats(norm TEXT PRIMARY KEY, incidents INTEGER, stacks INTEGER)
 *       how many incidents/stacks contain each normalized frame (frames flagged SKIP not
 *       counted): the document frequency for idf weighting, so that frames of common
 *       plumbing (NDIS, the JVM's thread start) weigh less.
 *   fts: FTS5(title, tags, summary, body, stacks, identifiers), rowid = incidents.rowid,
 *       tokenizer unicode61 with '_' as a token character, prefix indexes 2 and 3;
 *       default ranking bm25 with weights title 10, tags 5, summary 3, body 1,
 *       stacks 2, identifiers 8 (stored with the 'rank' config, so ORDER BY rank uses it).
 *   fts_names: contentless FTS5 with the trigram tokenizer over the names an engineer
 *       types part of (identifiers, and each distinct module and function of the stacks),
 *       rowid = incidents.rowid: "GetFirstMapped" finds vmqcGetFirstMappedMNic, which
 *       unicode61 keeps as one token.
 *
 * The file is written once, in one transaction, by one writer, then compacted (FTS5
 * 'optimize', VACUUM) and never modified again: readers open it read-only/immutable.
 * Errors are sticky (`int *rc`), as in SQLite's fts5, so a long series of inserts
 * needs one check at the end. */
#include "index/index.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/date.h"
#include "util/util.h"

struct kb_index_writer {
  sqlite3 *db;
  sqlite3_stmt *ins_incident, *ins_term, *ins_ident, *ins_stack, *ins_frame, *ins_fts, *ins_names, *ins_meta;
  char errmsg[512];
};

static const char schema_sql[] =
    "PRAGMA page_size=4096;"
    "PRAGMA journal_mode=OFF;"
    "PRAGMA synchronous=OFF;"
    "PRAGMA cache_size=-32768;"
    "PRAGMA temp_store=MEMORY;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE incidents(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, slug TEXT NOT NULL,"
    " url TEXT NOT NULL UNIQUE, title TEXT NOT NULL, date TEXT, date_unix INTEGER, summary TEXT,"
    " tags TEXT NOT NULL, categories TEXT NOT NULL, source_path TEXT, params TEXT NOT NULL);"
    "CREATE TABLE terms(incident INTEGER NOT NULL REFERENCES incidents, kind TEXT NOT NULL,"
    " name TEXT NOT NULL);"
    "CREATE TABLE identifiers(incident INTEGER NOT NULL REFERENCES incidents, kind TEXT NOT NULL,"
    " value TEXT NOT NULL);"
    "CREATE TABLE stacks(rowid INTEGER PRIMARY KEY, incident INTEGER NOT NULL REFERENCES incidents,"
    " seq INTEGER NOT NULL, format TEXT NOT NULL, platform TEXT NOT NULL, bugcheck INTEGER, line INTEGER,"
    " signature TEXT, reason TEXT);"
    "CREATE TABLE frames(stack INTEGER NOT NULL REFERENCES stacks, pos INTEGER NOT NULL,"
    " module TEXT, function TEXT, offset TEXT, file TEXT, line INTEGER,"
    " norm TEXT NOT NULL, flags INTEGER NOT NULL, df INTEGER NOT NULL DEFAULT 0);"
    "CREATE VIRTUAL TABLE fts USING fts5(title, tags, summary, body, stacks, identifiers,"
    " tokenize=\"unicode61 remove_diacritics 2 tokenchars '_'\", prefix='2 3');"
    "INSERT INTO fts(fts, rank) VALUES('rank', 'bm25(10.0, 5.0, 3.0, 1.0, 2.0, 8.0)');"
    "CREATE VIRTUAL TABLE fts_names USING fts5(names, tokenize='trigram', content='');";

/* Built after the rows are in: cheaper than maintaining them during the inserts. */
static const char finish_sql[] =
    "CREATE INDEX frames_norm ON frames(norm, stack);"
    "CREATE INDEX frames_stack ON frames(stack, pos);"
    "CREATE INDEX stacks_incident ON stacks(incident);"
    "CREATE INDEX terms_name ON terms(kind, name);"
    "CREATE INDEX terms_incident ON terms(incident);"
    "CREATE INDEX identifiers_value ON identifiers(value COLLATE NOCASE);"
    "CREATE INDEX identifiers_incident ON identifiers(incident);"
    "CREATE INDEX incidents_date ON incidents(date_unix DESC);"
    "CREATE TABLE frame_stats(norm TEXT PRIMARY KEY, incidents INTEGER NOT NULL,"
    " stacks INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO frame_stats SELECT f.norm, COUNT(DISTINCT s.incident), COUNT(DISTINCT f.stack)"
    " FROM frames f JOIN stacks s ON s.rowid = f.stack WHERE (f.flags & 1) = 0 GROUP BY f.norm;"
    "UPDATE frames SET df = coalesce((SELECT incidents FROM frame_stats WHERE frame_stats.norm = frames.norm), 0);"
    "INSERT INTO fts(fts) VALUES('optimize');"
    "INSERT INTO fts_names(fts_names) VALUES('optimize');";

static void writer_fail(kb_index_writer *w, int *rc, const char *what) {
  if (*rc) return;
  *rc = -1;
  snprintf(w->errmsg, sizeof w->errmsg, "index: %s: %s", what, sqlite3_errmsg(w->db));
}

static sqlite3_stmt *writer_prepare(kb_index_writer *w, const char *sql, int *rc) {
  sqlite3_stmt *st = NULL;
  if (*rc) return NULL;
  if (sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
    writer_fail(w, rc, "prepare");
  return st;
}

/* Bind, step and reset one statement; values come as text (NULL allowed) or int64. */
static void writer_step(kb_index_writer *w, sqlite3_stmt *st, int *rc) {
  if (*rc) return;
  if (sqlite3_step(st) != SQLITE_DONE) writer_fail(w, rc, "insert");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, i);
}

kb_index_writer *kb_index_create(const char *path, char **err) {
  kb_index_writer *w = kb_xcalloc(1, sizeof *w);
  int rc = 0;
  if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE,
                      NULL) != SQLITE_OK) {
    *err = kb_xasprintf("%s: cannot create index: %s", path, w->db ? sqlite3_errmsg(w->db) : "out of memory");
    kb_index_abort(w);
    return NULL;
  }
  if (sqlite3_exec(w->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) writer_fail(w, &rc, "schema");
  char version[48];
  snprintf(version, sizeof version, "PRAGMA user_version=%d", KB_INDEX_SCHEMA_VERSION);
  if (!rc && sqlite3_exec(w->db, version, NULL, NULL, NULL) != SQLITE_OK) writer_fail(w, &rc, "schema");
  if (!rc && sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) writer_fail(w, &rc, "begin");
  w->ins_incident = writer_prepare(w,
      "INSERT INTO incidents(id, slug, url, title, date, date_unix, summary, tags, categories,"
      " source_path, params) VALUES(?,?,?,?,?,?,?,?,?,?,?)", &rc);
  w->ins_term = writer_prepare(w, "INSERT INTO terms(incident, kind, name) VALUES(?,?,?)", &rc);
  w->ins_ident = writer_prepare(w, "INSERT INTO identifiers(incident, kind, value) VALUES(?,?,?)", &rc);
  w->ins_stack = writer_prepare(w,
      "INSERT INTO stacks(incident, seq, format, platform, bugcheck, line, signature, reason)"
      " VALUES(?,?,?,?,?,?,?,?)", &rc);
  w->ins_frame = writer_prepare(w,
      "INSERT INTO frames(stack, pos, module, function, offset, file, line, norm, flags)"
      " VALUES(?,?,?,?,?,?,?,?,?)", &rc);
  w->ins_fts = writer_prepare(w,
      "INSERT INTO fts(rowid, title, tags, summary, body, stacks, identifiers) VALUES(?,?,?,?,?,?,?)", &rc);
  w->ins_names = writer_prepare(w, "INSERT INTO fts_names(rowid, names) VALUES(?,?)", &rc);
  w->ins_meta = writer_prepare(w, "INSERT OR REPLACE INTO meta(key, value) VALUES(?,?)", &rc);
  if (rc) {
    *err = kb_xasprintf("%s: %s", path, w->errmsg);
    kb_index_abort(w);
    return NULL;
  }
  return w;
}

static char *strlist_json(const kb_strlist *l) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < l->n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(l->v[i]));
  char *s = cJSON_PrintUnformatted(arr);
  cJSON_Delete(arr);
  return s;
}

static void add_terms(kb_index_writer *w, sqlite3_int64 row, const char *kind, const kb_strlist *l, int *rc) {
  for (size_t i = 0; i < l->n && !*rc; i++) {
    sqlite3_bind_int64(w->ins_term, 1, row);
    bind_text(w->ins_term, 2, kind);
    bind_text(w->ins_term, 3, l->v[i]);
    writer_step(w, w->ins_term, rc);
  }
}

static void add_frames(kb_index_writer *w, sqlite3_int64 stack_row, const kb_stack *st, int *rc) {
  for (size_t i = 0; i < st->nframes && !*rc; i++) {
    const kb_frame *f = &st->frames[i];
    sqlite3_stmt *q = w->ins_frame;
    sqlite3_bind_int64(q, 1, stack_row);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
    bind_text(q, 3, f->module);
    bind_text(q, 4, f->function);
    bind_text(q, 5, f->offset);
    bind_text(q, 6, f->file);
    if (f->line) sqlite3_bind_int(q, 7, f->line);
    bind_text(q, 8, f->norm);
    sqlite3_bind_int(q, 9, (int)f->flags);
    writer_step(w, q, rc);
  }
}

/* What full-text search sees of a stack: its symbols, signature and reason, not the
 * address and argument columns. */
static void stack_fts_text(const kb_stack *st, kb_buf *text) {
  const kb_reason *r = &st->reason;
  const char *parts[] = {st->signature, r->code, r->name, r->message, r->bucket};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (parts[i]) kb_buf_addf(text, "%s\n", parts[i]);
  for (size_t i = 0; i < st->nframes; i++) {
    const kb_frame *f = &st->frames[i];
    if (f->module && f->function) kb_buf_addf(text, "%s!%s", f->module, f->function);
    else if (f->function) kb_buf_adds(text, f->function);
    else if (f->module) kb_buf_adds(text, f->module);
    if (f->file) kb_buf_addf(text, " %s", f->file);
    kb_buf_addc(text, '\n');
  }
}

static void add_stacks(kb_index_writer *w, sqlite3_int64 row, const kb_stacks *stacks, kb_buf *text, int *rc) {
  for (size_t i = 0; i < stacks->n && !*rc; i++) {
    const kb_stack *st = &stacks->v[i];
    sqlite3_stmt *q = w->ins_stack;
    sqlite3_bind_int64(q, 1, row);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
    char *reason = kb_reason_json(&st->reason);
    bind_text(q, 3, st->format);
    bind_text(q, 4, st->platform);
    if (st->bugcheck) sqlite3_bind_int64(q, 5, st->bugcheck);
    sqlite3_bind_int(q, 6, st->first_line);
    bind_text(q, 7, st->signature);
    bind_text(q, 8, reason);
    writer_step(w, q, rc);
    free(reason);
    add_frames(w, sqlite3_last_insert_rowid(w->db), st, rc);
    stack_fts_text(st, text);
  }
}

char *kb_reason_json(const kb_reason *r) {
  cJSON *o = kb_reason_to_json(r);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

cJSON *kb_reason_to_json(const kb_reason *r) {
  cJSON *o = cJSON_CreateObject();
  const char *keys[] = {"kind", "code", "name", "message", "params", "bucket"};
  const char *vals[] = {r->kind, r->code, r->name, r->message, r->params, r->bucket};
  for (size_t i = 0; i < 6; i++)
    if (vals[i]) cJSON_AddStringToObject(o, keys[i], vals[i]);
  return o;
}

char *kb_index_ident_text(const kb_idents *ids) {
  kb_buf b = KB_BUF_INIT;
  for (size_t i = 0; i < ids->n; i++) {
    const kb_ident *id = &ids->v[i];
    kb_buf_adds(&b, id->value);
    kb_buf_addc(&b, ' ');
    if (strcmp(id->kind, "bugcheck") == 0) {
      unsigned code = (unsigned)strtoul(id->value, NULL, 16);
      kb_buf_addf(&b, "0x%08X %X ", code, code);
    } else if (strcmp(id->kind, "module") == 0) {
      char *m = kb_module_normalize(id->value, strlen(id->value));
      kb_buf_addf(&b, "%s ", m);
      free(m);
    }
  }
  kb_buf_rtrim(&b);
  return kb_buf_detach(&b, NULL);
}

static void add_idents(kb_index_writer *w, sqlite3_int64 row, const kb_idents *ids, int *rc) {
  for (size_t i = 0; i < ids->n && !*rc; i++) {
    sqlite3_bind_int64(w->ins_ident, 1, row);
    bind_text(w->ins_ident, 2, ids->v[i].kind);
    bind_text(w->ins_ident, 3, ids->v[i].value);
    writer_step(w, w->ins_ident, rc);
  }
}

/* The trigram table's text: identifiers, then each distinct module and function. */
static void add_names(kb_index_writer *w, sqlite3_int64 row, const kb_incident *inc, const char *idents, int *rc) {
  if (*rc) return;
  kb_buf b = KB_BUF_INIT;
  kb_strlist seen = {0};
  kb_buf_adds(&b, idents);
  for (size_t i = 0; i < inc->md.stacks.n; i++)
    for (size_t j = 0; j < inc->md.stacks.v[i].nframes; j++) {
      const kb_frame *f = &inc->md.stacks.v[i].frames[j];
      const char *parts[] = {f->module, f->function};
      for (size_t k = 0; k < 2; k++) {
        if (!parts[k] || kb_strlist_has(&seen, parts[k])) continue;
        kb_strlist_push(&seen, parts[k]);
        kb_buf_addf(&b, "\n%s", parts[k]);
      }
    }
  sqlite3_bind_int64(w->ins_names, 1, row);
  bind_text(w->ins_names, 2, b.ptr);
  writer_step(w, w->ins_names, rc);
  kb_strlist_release(&seen);
  kb_buf_release(&b);
}

static void add_fts(kb_index_writer *w, sqlite3_int64 row, const kb_incident *inc, const char *stack_text, int *rc) {
  if (*rc) return;
  kb_buf tags = KB_BUF_INIT;
  for (size_t i = 0; i < inc->tags.n; i++) kb_buf_addf(&tags, "%s ", inc->tags.v[i]);
  for (size_t i = 0; i < inc->categories.n; i++) kb_buf_addf(&tags, "%s ", inc->categories.v[i]);
  char *idents = kb_index_ident_text(&inc->idents);
  sqlite3_stmt *q = w->ins_fts;
  sqlite3_bind_int64(q, 1, row);
  bind_text(q, 2, inc->title);
  bind_text(q, 3, tags.ptr);
  bind_text(q, 4, inc->summary);
  bind_text(q, 5, inc->md.text);
  bind_text(q, 6, stack_text);
  bind_text(q, 7, idents);
  writer_step(w, q, rc);
  add_names(w, row, inc, idents, rc);
  free(idents);
  kb_buf_release(&tags);
}

void kb_index_add(kb_index_writer *w, const kb_incident *inc, int *rc) {
  if (*rc) return;
  sqlite3_stmt *q = w->ins_incident;
  char *tags = strlist_json(&inc->tags), *cats = strlist_json(&inc->categories);
  char *params = cJSON_PrintUnformatted(inc->params);
  char date[40] = "";
  if (inc->has_date) kb_date_format_rfc3339(inc->date, inc->tz_min, date, sizeof date);
  bind_text(q, 1, inc->id);
  bind_text(q, 2, inc->slug);
  bind_text(q, 3, inc->url);
  bind_text(q, 4, inc->title);
  bind_text(q, 5, inc->has_date ? date : NULL);
  if (inc->has_date) sqlite3_bind_int64(q, 6, inc->date);
  bind_text(q, 7, inc->summary);
  bind_text(q, 8, tags);
  bind_text(q, 9, cats);
  bind_text(q, 10, inc->path);
  bind_text(q, 11, params ? params : "{}");
  writer_step(w, q, rc);
  free(tags);
  free(cats);
  free(params);
  sqlite3_int64 row = sqlite3_last_insert_rowid(w->db);
  add_terms(w, row, "tag", &inc->tags, rc);
  add_terms(w, row, "category", &inc->categories, rc);
  add_idents(w, row, &inc->idents, rc);
  kb_buf stack_text = KB_BUF_INIT;
  add_stacks(w, row, &inc->md.stacks, &stack_text, rc);
  add_fts(w, row, inc, stack_text.ptr, rc);
  kb_buf_release(&stack_text);
}

void kb_index_set_meta(kb_index_writer *w, const char *key, const char *value, int *rc) {
  if (*rc) return;
  bind_text(w->ins_meta, 1, key);
  bind_text(w->ins_meta, 2, value);
  writer_step(w, w->ins_meta, rc);
}

const char *kb_index_errmsg(const kb_index_writer *w) { return w->errmsg; }

static void writer_finalize(kb_index_writer *w) {
  sqlite3_stmt *all[] = {w->ins_incident, w->ins_term, w->ins_ident, w->ins_stack,
                         w->ins_frame,    w->ins_fts,  w->ins_names, w->ins_meta};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) sqlite3_finalize(all[i]);
}

int kb_index_finish(kb_index_writer *w, char **err) {
  int rc = 0;
  writer_finalize(w);
  /* one statement at a time, so KB_TIMINGS can tell which step is slow */
  const char *sql = finish_sql;
  bool timings = getenv("KB_TIMINGS") != NULL;
  while (!rc && *sql) {
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    double t0 = kb_now();
    if (sqlite3_prepare_v2(w->db, sql, -1, &st, &tail) != SQLITE_OK) writer_fail(w, &rc, "finish");
    else if (st && sqlite3_step(st) != SQLITE_DONE) writer_fail(w, &rc, "finish");
    if (timings && st) fprintf(stderr, "kb: index %.3f s: %.60s\n", kb_now() - t0, sqlite3_sql(st));
    sqlite3_finalize(st);
    sql = tail ? tail : "";
  }
  if (!rc && sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) writer_fail(w, &rc, "commit");
  double tv = kb_now();
  if (!rc && sqlite3_exec(w->db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK) writer_fail(w, &rc, "vacuum");
  if (timings) fprintf(stderr, "kb: index %.3f s: VACUUM\n", kb_now() - tv);
  if (rc) *err = kb_xstrdup(w->errmsg);
  if (sqlite3_close(w->db) != SQLITE_OK && !rc) {
    rc = -1;
    *err = kb_xstrdup("index: close failed");
  }
  free(w);
  return rc;
}

void kb_index_abort(kb_index_writer *w) {
  if (!w) return;
  writer_finalize(w);
  sqlite3_close(w->db);
  free(w);
}
