/* rank.h - kb_bm25, the ranking function full-text search orders its matches by: FTS5's
 * bm25 (same formula, same scores), told the document frequency of the query's common
 * words instead of counting it. Registered on every native reader handle (reader.c);
 * called from SQL by core/search/search.c. Not in the WebAssembly build, which ranks with
 * FTS5's own bm25 (the same scores, computed the slow way). */
#ifndef KB_INDEX_RANK_H
#define KB_INDEX_RANK_H

#include <sqlite3.h>

/* fts's tokenizer, as the schema declares it (index.c) and as kb_fts_tokenizer_new
 * creates it (rank.c, the same arguments one by one; tests/test_patch.c fails when the
 * two disagree on diacritics or '_'). */
#define KB_FTS_TOKENIZE "unicode61 remove_diacritics 2 tokenchars '_'"
/* FTS5 indexes at most this many bytes of a token (FTS5_MAX_TOKEN_SIZE). */
#define KB_FTS_MAX_TOKEN 32768

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

/* How many phrases kb_bm25 has counted by reading their matches (the slow way), since
 * the process started: for tests and diagnostics. */
unsigned long kb_rank_phrases_counted(void);

/* fts's tokenizer, to cut text into the words FTS5 indexes (folded, diacritics removed,
 * cut at KB_FTS_MAX_TOKEN bytes). */
typedef struct kb_fts_tokenizer kb_fts_tokenizer;
kb_fts_tokenizer *kb_fts_tokenizer_new(sqlite3 *db); /* NULL on error; free with _free */
/* Call fn for each token of text[0..n); stops at fn's first non-zero return and returns
 * it, or an SQLite error code. */
int kb_fts_tokenize(kb_fts_tokenizer *t, const char *text, int n, int (*fn)(void *ctx, const char *token, int len),
                    void *ctx);
void kb_fts_tokenizer_free(kb_fts_tokenizer *t); /* accepts NULL */
#endif

#endif
