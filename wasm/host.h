/* host.h - what kb.wasm imports from the page (module "kbhost"): the SQL of the browser's
 * SQLite (the official sqlite-wasm build, reading kb.sqlite over HTTP range requests;
 * templates/static/kb-worker.js implements these). sqlite_host.c puts the sqlite3_* API
 * the core uses on top of them, so core/index/reader.c, core/match and core/search run
 * unchanged in the browser. Pointers and lengths are into kb.wasm's memory; strings are
 * UTF-8 and not NUL-terminated. Result codes are SQLite's. */
#ifndef KB_WASM_HOST_H
#define KB_WASM_HOST_H

#include <stdint.h>

#define KB_HOST(name) __attribute__((import_module("kbhost"), import_name(#name)))

KB_HOST(open) int32_t kb_host_open(const char *path, int32_t len);
/* A statement id > 0, or 0 on error (see errmsg). */
KB_HOST(prepare) int32_t kb_host_prepare(const char *sql, int32_t len);
KB_HOST(finalize) void kb_host_finalize(int32_t id);
KB_HOST(reset) int32_t kb_host_reset(int32_t id);
KB_HOST(clear_bindings) int32_t kb_host_clear_bindings(int32_t id);
KB_HOST(bind_int64) int32_t kb_host_bind_int64(int32_t id, int32_t idx, int64_t v);
KB_HOST(bind_double) int32_t kb_host_bind_double(int32_t id, int32_t idx, double v);
KB_HOST(bind_text) int32_t kb_host_bind_text(int32_t id, int32_t idx, const char *s, int32_t len);
KB_HOST(bind_null) int32_t kb_host_bind_null(int32_t id, int32_t idx);
KB_HOST(step) int32_t kb_host_step(int32_t id);
KB_HOST(column_type) int32_t kb_host_column_type(int32_t id, int32_t col);
KB_HOST(column_int64) int64_t kb_host_column_int64(int32_t id, int32_t col);
KB_HOST(column_double) double kb_host_column_double(int32_t id, int32_t col);
/* The column's byte length (-1 for NULL); min(len, cap) bytes copied to buf. */
KB_HOST(column_text) int32_t kb_host_column_text(int32_t id, int32_t col, char *buf, int32_t cap);
/* The last error message, as column_text. */
KB_HOST(errmsg) int32_t kb_host_errmsg(char *buf, int32_t cap);

#endif
