/* reader.c - read-only access to kb.sqlite (see reader.h; schema in index.c). */
#include "index/reader.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "index/index.h"
#include "util/util.h"

struct kb_index {
  sqlite3 *db;
  long long incidents;
  char *base_url;
  sqlite3_stmt *stmts[KB_INDEX_STMT_SLOTS];
};

/* file: URI for a path: everything but unreserved characters percent-encoded. */
static char *path_uri(const char *path) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "file:");
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if (isalnum(*p) || strchr("/._-~", *p)) kb_buf_addc(&b, (char)*p);
    else kb_buf_addf(&b, "%%%02X", *p);
  }
  kb_buf_adds(&b, "?mode=ro&immutable=1");
  return kb_buf_detach(&b, NULL);
}

static int check_schema(kb_index *ix, const char *path, char **err) {
  sqlite3_stmt *st = NULL;
  int version = -1;
  if (sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version < 0) {
    *err = kb_xasprintf("%s: not a kb index (%s); rebuild it with 'kb build'", path, sqlite3_errmsg(ix->db));
    return -1;
  }
  if (version != KB_INDEX_SCHEMA_VERSION) {
    *err = kb_xasprintf("%s: index schema version %d, this kb reads version %d; rebuild it with 'kb build'", path,
                        version, KB_INDEX_SCHEMA_VERSION);
    return -1;
  }
  st = NULL;
  if (sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM incidents", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW) {
    *err = kb_xasprintf("%s: damaged kb index (%s); rebuild it with 'kb build'", path, sqlite3_errmsg(ix->db));
    sqlite3_finalize(st);
    return -1;
  }
  ix->incidents = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  st = NULL;
  if (sqlite3_prepare_v2(ix->db, "SELECT value FROM meta WHERE key = 'base_url'", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    ix->base_url = kb_xstrdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  if (!ix->base_url) ix->base_url = kb_xstrdup("/");
  return 0;
}

kb_index *kb_index_open(const char *path, char **err) {
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    *err = kb_xasprintf("%s: no index here; run 'kb build' first (or pass --site DIR)", path);
    return NULL;
  }
  kb_index *ix = kb_xcalloc(1, sizeof *ix);
  char *uri = path_uri(path);
  int rc = sqlite3_open_v2(uri, &ix->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
  free(uri);
  if (rc != SQLITE_OK) {
    *err = kb_xasprintf("%s: cannot open index: %s", path, ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
    kb_index_close(ix);
    return NULL;
  }
  if (check_schema(ix, path, err)) {
    kb_index_close(ix);
    return NULL;
  }
  return ix;
}

void kb_index_close(kb_index *ix) {
  if (!ix) return;
  for (int i = 0; i < KB_INDEX_STMT_SLOTS; i++) sqlite3_finalize(ix->stmts[i]);
  sqlite3_close(ix->db);
  free(ix->base_url);
  free(ix);
}

sqlite3 *kb_index_db(kb_index *ix) { return ix->db; }

long long kb_index_incidents(const kb_index *ix) { return ix->incidents; }

const char *kb_index_base_url(const kb_index *ix) { return ix->base_url; }

sqlite3_stmt *kb_index_stmt(kb_index *ix, int slot, const char *sql) {
  if (slot < 0 || slot >= KB_INDEX_STMT_SLOTS) return NULL;
  sqlite3_stmt *st = ix->stmts[slot];
  if (!st) {
    if (sqlite3_prepare_v3(ix->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) return NULL;
    ix->stmts[slot] = st;
  } else {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  return st;
}
