/* reader.c - read-only access to kb.sqlite (see reader.h; schema in index.c). */
#include "index/reader.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"
#include "index/rank.h"
#include "util/util.h"

/* A live handle waits this long for an edit's commit: as long as the edit waits for
 * readers (PATCH_BUSY_MS), so that a slow reader does not make the others fail. */
#define LIVE_BUSY_MS 5000

struct kb_index {
  sqlite3 *db;
  long long incidents;
  char *base_url;
  sqlite3_stmt *stmts[KB_INDEX_STMT_SLOTS];
#ifndef __wasi__
  kb_fts_tokenizer *tokenizer; /* created on first use */
#endif
};

/* file: URI for a path: everything but unreserved characters percent-encoded. */
static char *path_uri(const char *path, bool live) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "file:");
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if (isalnum(*p) || strchr("/._-~", *p)) kb_buf_addc(&b, (char)*p);
    else kb_buf_addf(&b, "%%%02X", *p);
  }
  kb_buf_adds(&b, live ? "?mode=ro" : "?mode=ro&immutable=1");
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
  if (version == 0) { /* SQLite's default: some other database, or kb's never finished */
    *err = kb_xasprintf("%s: not a kb index (an SQLite database without kb's schema version); rebuild it with "
                        "'kb build'", path);
    return -1;
  }
  if (version != KB_INDEX_SCHEMA_VERSION) {
    *err = kb_xasprintf("%s: index schema version %d, this kb reads version %d; rebuild it with 'kb build'", path,
                        version, KB_INDEX_SCHEMA_VERSION);
    return -1;
  }
  st = NULL;
  /* The count the build recorded: counting the rows reads the whole incidents table, 150 KB
   * at 10,000 incidents, which a browser reading the file over HTTP would download. */
  if (sqlite3_prepare_v2(ix->db,
                         "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'incidents'),"
                         " (SELECT count(*) FROM incidents))",
                         -1, &st, NULL) != SQLITE_OK ||
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

#ifndef __wasi__
static unsigned long be32(const unsigned char *p) {
  return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* What a look at the file itself shows is wrong with it (NULL: nothing), in words for
 * the user (caller frees). SQLite alone would take a zero-byte file for an empty
 * database and a cut-off one for whole until a query reached a missing page, so the
 * 100-byte header is checked here: the magic string, the page size and, when the
 * header vouches for it (version-valid-for = change counter), the page count. Not the
 * page count of a live index: an edit's commit writes the header before it extends
 * the file, and this read takes no lock. */
static char *file_problem(const char *path, const struct stat *sb, bool live) {
  if (sb->st_size == 0) return kb_xstrdup("empty file (0 bytes), not a kb index");
  unsigned char h[100];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? pread(fd, h, sizeof h, 0) : -1;
  if (fd >= 0) close(fd);
  if (n < 0) return kb_xasprintf("cannot read: %s", strerror(errno));
  if ((size_t)n < sizeof h || memcmp(h, "SQLite format 3", 16) != 0)
    return kb_xstrdup("not an SQLite database (no SQLite header), not a kb index");
  unsigned long page = (unsigned long)h[16] << 8 | h[17];
  if (page == 1) page = 65536;
  if (page < 512 || (page & (page - 1)) != 0) return kb_xasprintf("damaged SQLite header (page size %lu)", page);
  unsigned long pages = be32(h + 28);
  long long want = (long long)pages * (long long)page;
  if (!live && pages && be32(h + 92) == be32(h + 24) && (long long)sb->st_size < want)
    return kb_xasprintf("truncated (%lld of %lld bytes)", (long long)sb->st_size, want);
  if (sb->st_size % (off_t)page != 0)
    return kb_xasprintf("truncated or damaged (%lld bytes is not a whole number of %lu-byte pages)",
                        (long long)sb->st_size, page);
  return NULL;
}
#endif

#ifndef __wasi__
/* A rollback journal beside the index: `kb serve --watch` is committing an edit, or
 * died while it did. An immutable handle would read the half-written pages as they
 * are (SQLite rolls a journal back only for a handle that takes locks), so none is
 * opened then. */
static bool interrupted_edit(const char *path) {
  char *journal = kb_xasprintf("%s-journal", path);
  bool there = access(journal, F_OK) == 0;
  free(journal);
  return there;
}
#endif

static kb_index *index_open(const char *path, bool live, char **err) {
#ifndef __wasi__ /* in the browser the page's SQLite opens the snapshot's file (wasm/host.h) */
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    *err = kb_xasprintf("%s: no index here; run 'kb build' first (or pass --site DIR)", path);
    return NULL;
  }
  char *why = file_problem(path, &sb, live);
  if (why) {
    *err = kb_xasprintf("%s: %s; rebuild it with 'kb build'", path, why);
    free(why);
    return NULL;
  }
  if (!live && interrupted_edit(path)) {
    *err = kb_xasprintf("%s: an edit in place was interrupted (its rollback journal %s-journal is beside it); "
                        "'kb serve --watch' rolls it back when it starts, or 'kb build' publishes a new index",
                        path, path);
    return NULL;
  }
#endif
  kb_index *ix = kb_xcalloc(1, sizeof *ix);
  char *uri = path_uri(path, live);
  int rc = sqlite3_open_v2(uri, &ix->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
  free(uri);
  if (rc != SQLITE_OK) {
    *err = kb_xasprintf("%s: cannot open index: %s", path, ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
    kb_index_close(ix);
    return NULL;
  }
#ifndef __wasi__ /* (the snapshot in a browser is never edited) */
  if (live) sqlite3_busy_timeout(ix->db, LIVE_BUSY_MS);
#endif
  if (check_schema(ix, path, err)) {
    kb_index_close(ix);
    return NULL;
  }
  /* Read pages through a memory map instead of a pread() each: a search of three common
   * words at 100,000 incidents read ~1,000 pages, and the system calls cost more than
   * the reading. Safe because the file is never written once
   * published: a build renames a new file over it, which leaves this mapping whole; a
   * live handle's file is written in place, through SQLite, which keeps its mappings
   * coherent with what it writes. */
#ifndef __wasi__
  sqlite3_exec(ix->db, "PRAGMA mmap_size=2147418112", NULL, NULL, NULL);
  if (kb_rank_register(ix->db) != SQLITE_OK) {
    *err = kb_xasprintf("%s: cannot register the ranking function: %s", path, sqlite3_errmsg(ix->db));
    kb_index_close(ix);
    return NULL;
  }
#endif
  return ix;
}

kb_index *kb_index_open(const char *path, char **err) { return index_open(path, false, err); }

kb_index *kb_index_open_live(const char *path, char **err) { return index_open(path, true, err); }

void kb_index_close(kb_index *ix) {
  if (!ix) return;
  for (int i = 0; i < KB_INDEX_STMT_SLOTS; i++) sqlite3_finalize(ix->stmts[i]);
#ifndef __wasi__
  kb_fts_tokenizer_free(ix->tokenizer);
#endif
  sqlite3_close(ix->db);
  free(ix->base_url);
  free(ix);
}

sqlite3 *kb_index_db(kb_index *ix) { return ix->db; }

#ifndef __wasi__
kb_fts_tokenizer *kb_index_tokenizer(kb_index *ix) {
  if (!ix->tokenizer) ix->tokenizer = kb_fts_tokenizer_new(ix->db);
  return ix->tokenizer;
}
#endif

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

/* the reader's own slots; match and search use 0..19 */
enum { ST_COMMON_WORD = KB_INDEX_STMT_SLOTS - 2, ST_WORD_DOCS = KB_INDEX_STMT_SLOTS - 1 };

/* The word folded as unicode61 folds ASCII, into lower[size]; false when it does not fit. */
static bool word_fold(const char *word, size_t n, char *lower, size_t size) {
  if (n == 0 || n >= size) return false;
  for (size_t i = 0; i < n; i++) lower[i] = (char)tolower((unsigned char)word[i]);
  lower[n] = '\0';
  return true;
}

long long kb_index_common_word_docs(kb_index *ix, const char *word, size_t n) {
  char lower[128];
  if (!word_fold(word, n, lower, sizeof lower)) return -1;
  sqlite3_stmt *st = kb_index_stmt(ix, ST_COMMON_WORD, "SELECT incidents FROM word_docs WHERE word = ?");
  if (!st) return -1;
  sqlite3_bind_text(st, 1, lower, (int)n, SQLITE_STATIC);
  long long docs = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_reset(st);
  return docs;
}

long long kb_index_word_docs(kb_index *ix, const char *word, size_t n) {
  long long common = kb_index_common_word_docs(ix, word, n);
  if (common >= 0) return common;
  char lower[128];
  if (!word_fold(word, n, lower, sizeof lower)) return 0;
  sqlite3_stmt *st = kb_index_stmt(ix, ST_WORD_DOCS, "SELECT doc FROM fts_v WHERE term = ?");
  if (!st) return 0;
  sqlite3_bind_text(st, 1, lower, (int)n, SQLITE_STATIC);
  long long docs = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  return docs;
}

bool kb_packed_frame_next(const unsigned char **p, const unsigned char *end, kb_packed_frame *f) {
  uint64_t pos, flags, df, len;
  if (*p >= end || !kb_varint_get(p, end, &pos) || !kb_varint_get(p, end, &flags) || !kb_varint_get(p, end, &df) ||
      !kb_varint_get(p, end, &len) || len > (uint64_t)(end - *p) || pos > INT32_MAX || df > INT32_MAX)
    return false;
  *f = (kb_packed_frame){(long long)pos, (long long)df, (unsigned)flags, (const char *)*p, (size_t)len};
  *p += len;
  return true;
}

bool kb_postings_next(const unsigned char **p, const unsigned char *end, long long *rowid) {
  uint64_t d;
  if (*p >= end || !kb_varint_get(p, end, &d) || d == 0 || d > (uint64_t)(INT64_MAX - *rowid)) return false;
  *rowid += (long long)d;
  return true;
}
