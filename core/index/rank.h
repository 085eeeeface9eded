/* rank.h - kb_bm25, the ranking function full-text search orders its matches by: FTS5's
 * bm25 (same formula, same scores), told the document frequency of the query's common
 * words instead of counting it. Registered on every native reader handle (reader.c);
 * called from SQL by core/search/search.c. Not in the WebAssembly build, which ranks with
 * FTS5's own bm25 (the same scores, computed the slow way). */
#ifndef KB_INDEX_RANK_H
#define KB_INDEX_RANK_H

#include <sqlite3.h>

/* The weights of fts's columns (title, tags, summary, body, stacks, identifiers), as
 * arguments of bm25() or kb_bm25(): the index's 'rank' setting and search use the same. */
#define KB_RANK_WEIGHTS "10.0, 5.0, 3.0, 1.0, 2.0, 8.0"

/* Register the FTS5 auxiliary function
 *   kb_bm25(fts, dfs, w1, ..., w6)
 * on `db`: dfs is a blob of one 64-bit integer per phrase of the query, in native byte
 * order, in the order of the phrases: the number of incidents that phrase matches, or -1
 * when the caller does not know it (the function then counts it, as bm25 does). A blob of
 * another size counts them all. Returns an SQLite result code. */
#ifndef __wasi__
int kb_rank_register(sqlite3 *db);

/* The FTS5 API of `db` (to register functions, to find a tokenizer); NULL on error. */
fts5_api *kb_fts5_api(sqlite3 *db);
#endif

#endif
