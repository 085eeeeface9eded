/* sqlite3.h for the WebAssembly build: the part of SQLite's API the core's readers use
 * (index/reader.c, match/, search/), implemented by wasm/sqlite_host.c over the page's
 * sqlite-wasm. Same names, values and meaning as SQLite's own header. */
#ifndef KB_WASM_SQLITE3_H
#define KB_WASM_SQLITE3_H

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
typedef long long sqlite3_int64;
typedef void (*sqlite3_destructor_type)(void *);

#define SQLITE_OK 0
#define SQLITE_ERROR 1
#define SQLITE_NOMEM 7
#define SQLITE_RANGE 25
#define SQLITE_ROW 100
#define SQLITE_DONE 101
#define SQLITE_INTEGER 1
#define SQLITE_FLOAT 2
#define SQLITE_TEXT 3
#define SQLITE_BLOB 4
#define SQLITE_NULL 5
#define SQLITE_OPEN_READONLY 0x00000001
#define SQLITE_OPEN_URI 0x00000040
#define SQLITE_OPEN_NOMUTEX 0x00008000
#define SQLITE_PREPARE_PERSISTENT 0x01
#define SQLITE_STATIC ((sqlite3_destructor_type)0)
#define SQLITE_TRANSIENT ((sqlite3_destructor_type)-1)

int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs);
int sqlite3_close(sqlite3 *db);
const char *sqlite3_errmsg(sqlite3 *db);
int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **st, const char **tail);
int sqlite3_prepare_v3(sqlite3 *db, const char *sql, int n, unsigned flags, sqlite3_stmt **st, const char **tail);
int sqlite3_finalize(sqlite3_stmt *st);
int sqlite3_reset(sqlite3_stmt *st);
int sqlite3_clear_bindings(sqlite3_stmt *st);
int sqlite3_bind_int(sqlite3_stmt *st, int idx, int v);
int sqlite3_bind_int64(sqlite3_stmt *st, int idx, sqlite3_int64 v);
int sqlite3_bind_double(sqlite3_stmt *st, int idx, double v);
int sqlite3_bind_text(sqlite3_stmt *st, int idx, const char *s, int n, sqlite3_destructor_type d);
int sqlite3_bind_null(sqlite3_stmt *st, int idx);
int sqlite3_step(sqlite3_stmt *st);
int sqlite3_column_type(sqlite3_stmt *st, int col);
int sqlite3_column_int(sqlite3_stmt *st, int col);
sqlite3_int64 sqlite3_column_int64(sqlite3_stmt *st, int col);
double sqlite3_column_double(sqlite3_stmt *st, int col);
const unsigned char *sqlite3_column_text(sqlite3_stmt *st, int col);
int sqlite3_column_bytes(sqlite3_stmt *st, int col);
const void *sqlite3_column_blob(sqlite3_stmt *st, int col);

#endif
