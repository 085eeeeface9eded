/* sqlite_host.c - the sqlite3_* functions the core's readers call (wasm/include/sqlite3.h),
 * forwarded to the page's SQLite through the kbhost imports (host.h). Text columns are
 * copied into a buffer per statement and column, valid until the next step, reset or
 * finalize of that statement: SQLite's own lifetime rule, which the core already obeys. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define MAX_COLUMNS 32
#define ERRMSG_MAX 512

struct sqlite3 {
  int open;
};

typedef struct column {
  char *p;
  int32_t cap, len; /* len -1: not fetched since the last step */
} column;

struct sqlite3_stmt {
  int32_t id;
  column col[MAX_COLUMNS];
};

static sqlite3 the_db;
static char errbuf[ERRMSG_MAX];

int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs) {
  (void)flags, (void)vfs;
  *db = &the_db;
  int rc = kb_host_open(filename, (int32_t)strlen(filename));
  the_db.open = rc == SQLITE_OK;
  return rc;
}

int sqlite3_close(sqlite3 *db) {
  if (db) db->open = 0;
  return SQLITE_OK;
}

const char *sqlite3_errmsg(sqlite3 *db) {
  (void)db;
  int32_t n = kb_host_errmsg(errbuf, ERRMSG_MAX - 1);
  if (n < 0) n = 0;
  errbuf[n < ERRMSG_MAX - 1 ? n : ERRMSG_MAX - 1] = '\0';
  return errbuf;
}

int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **st, const char **tail) {
  (void)db;
  if (tail) *tail = NULL;
  *st = NULL;
  int32_t id = kb_host_prepare(sql, n < 0 ? (int32_t)strlen(sql) : n);
  if (id <= 0) return SQLITE_ERROR;
  *st = calloc(1, sizeof **st);
  if (!*st) {
    kb_host_finalize(id);
    return SQLITE_NOMEM;
  }
  (*st)->id = id;
  return SQLITE_OK;
}

int sqlite3_prepare_v3(sqlite3 *db, const char *sql, int n, unsigned flags, sqlite3_stmt **st, const char **tail) {
  (void)flags;
  return sqlite3_prepare_v2(db, sql, n, st, tail);
}

static void columns_stale(sqlite3_stmt *st) {
  for (int i = 0; i < MAX_COLUMNS; i++) st->col[i].len = -1;
}

int sqlite3_finalize(sqlite3_stmt *st) {
  if (!st) return SQLITE_OK;
  kb_host_finalize(st->id);
  for (int i = 0; i < MAX_COLUMNS; i++) free(st->col[i].p);
  free(st);
  return SQLITE_OK;
}

int sqlite3_reset(sqlite3_stmt *st) {
  columns_stale(st);
  return kb_host_reset(st->id);
}

int sqlite3_clear_bindings(sqlite3_stmt *st) { return kb_host_clear_bindings(st->id); }
int sqlite3_bind_int(sqlite3_stmt *st, int idx, int v) { return kb_host_bind_int64(st->id, idx, v); }
int sqlite3_bind_int64(sqlite3_stmt *st, int idx, sqlite3_int64 v) { return kb_host_bind_int64(st->id, idx, v); }
int sqlite3_bind_double(sqlite3_stmt *st, int idx, double v) { return kb_host_bind_double(st->id, idx, v); }
int sqlite3_bind_null(sqlite3_stmt *st, int idx) { return kb_host_bind_null(st->id, idx); }

/* The host copies the text at once, so the destructor never has to wait. */
int sqlite3_bind_text(sqlite3_stmt *st, int idx, const char *s, int n, sqlite3_destructor_type d) {
  (void)d;
  if (!s) return kb_host_bind_null(st->id, idx);
  return kb_host_bind_text(st->id, idx, s, n < 0 ? (int32_t)strlen(s) : n);
}

int sqlite3_step(sqlite3_stmt *st) {
  columns_stale(st);
  return kb_host_step(st->id);
}

int sqlite3_column_type(sqlite3_stmt *st, int col) { return kb_host_column_type(st->id, col); }
int sqlite3_column_int(sqlite3_stmt *st, int col) { return (int)kb_host_column_int64(st->id, col); }
sqlite3_int64 sqlite3_column_int64(sqlite3_stmt *st, int col) { return kb_host_column_int64(st->id, col); }
double sqlite3_column_double(sqlite3_stmt *st, int col) { return kb_host_column_double(st->id, col); }

/* Fetch the column into its buffer (once per row); NULL for a NULL column. */
static column *column_fetch(sqlite3_stmt *st, int idx) {
  if (idx < 0 || idx >= MAX_COLUMNS) return NULL;
  column *c = &st->col[idx];
  if (c->len >= 0) return c;
  if (!c->p) {
    c->cap = 256;
    if (!(c->p = malloc((size_t)c->cap))) return NULL;
  }
  int32_t n = kb_host_column_text(st->id, idx, c->p, c->cap - 1);
  if (n < 0) return NULL;
  if (n >= c->cap) {
    char *p = realloc(c->p, (size_t)n + 1);
    if (!p) return NULL;
    c->p = p, c->cap = n + 1;
    n = kb_host_column_text(st->id, idx, c->p, c->cap - 1);
  }
  c->p[n] = '\0';
  c->len = n;
  return c;
}

const unsigned char *sqlite3_column_text(sqlite3_stmt *st, int col) {
  column *c = column_fetch(st, col);
  return c ? (const unsigned char *)c->p : NULL;
}

/* SQLite hands a BLOB's bytes unchanged to column_text (it only adds a NUL), so the
 * text path carries blobs too; the length comes from column_bytes as natively. */
const void *sqlite3_column_blob(sqlite3_stmt *st, int col) {
  column *c = column_fetch(st, col);
  return c ? c->p : NULL;
}

int sqlite3_column_bytes(sqlite3_stmt *st, int col) {
  column *c = column_fetch(st, col);
  return c ? c->len : 0;
}
