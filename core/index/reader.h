/* reader.h - open a built kb.sqlite for reading. The file is immutable once published,
 * so it is opened read-only with `immutable=1`: no locks, no journal, safe to share
 * between processes and to replace by renaming a new file over it. The one exception
 * is `kb serve --watch`, whose edits of prose patch the published file in place
 * (patch.c): its server opens it with kb_index_open_live. One kb_index per thread
 * (SQLite connections are not shared). Used by match, search, the server, CLI. */
#ifndef KB_INDEX_READER_H
#define KB_INDEX_READER_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct kb_index kb_index;

/* Open and check `path` (schema version, kb tables). NULL and *err (caller frees) with
 * a message fit for a user: "public/kb.sqlite: not a kb index (...)". */
kb_index *kb_index_open(const char *path, char **err);
/* The same for an index that edits may change in place (kb_index_patch_begin, index.h;
 * kb serve --watch): not immutable, so each read sees the last committed edit, and a
 * read waits (5 s at most) while an edit commits. Other processes reading the file
 * meanwhile (kb search, kb match, a copy) are not protected: the immutable handle
 * refuses a file with a rollback journal beside it, but may open it a moment before. */
kb_index *kb_index_open_live(const char *path, char **err);
void kb_index_close(kb_index *ix); /* accepts NULL */
sqlite3 *kb_index_db(kb_index *ix);
#ifndef __wasi__
typedef struct kb_fts_tokenizer kb_fts_tokenizer;
/* fts's tokenizer (rank.h), created on first use and owned by ix; NULL on error. */
kb_fts_tokenizer *kb_index_tokenizer(kb_index *ix);
#endif
/* The site's base URL as the build recorded it ("/" or "https://host/kb/"); links to
 * incidents are this plus their path without the leading '/'. Cached at open. */
const char *kb_index_base_url(const kb_index *ix);
/* Number of incidents (cached at open). */
long long kb_index_incidents(const kb_index *ix);
/* A prepared statement cached on the handle, reset and with bindings cleared; NULL
 * on error. `slot` is a small integer chosen by the caller module (see reader.c). */
sqlite3_stmt *kb_index_stmt(kb_index *ix, int slot, const char *sql);

enum { KB_INDEX_STMT_SLOTS = 32 };

/* In how many incidents the word index (fts) has `word` (n bytes of ASCII letters,
 * digits and '_', compared as unicode61 folds them); 0 when absent or on error. A common
 * word's count is read from word_docs; fts_v counts the others by reading the word's
 * doclist (fewer than KB_INDEX_COMMON_WORD entries). */
long long kb_index_word_docs(kb_index *ix, const char *word, size_t n);
/* The same for a common word only (one row of word_docs); -1 when the word is not one. */
long long kb_index_common_word_docs(kb_index *ix, const char *word, size_t n);

/* One frame of a stack_frames row (format: index.c). norm is not NUL-terminated and
 * points into the row's bytes. */
typedef struct kb_packed_frame {
  long long pos, df;
  unsigned flags;
  const char *norm;
  size_t norm_len;
} kb_packed_frame;

/* Decode the frame at *p (never reading at or past `end`) and advance *p; false at the
 * end or when the bytes are damaged (a corrupt file gives fewer frames, not a crash). */
bool kb_packed_frame_next(const unsigned char **p, const unsigned char *end, kb_packed_frame *f);

/* The next stack rowid of a frame_stats.postings list (format: index.c): *rowid is the
 * previous one on entry (0 before the first) and the next on return; false at the end
 * or when the bytes are damaged (a rowid that does not grow ends the list). */
bool kb_postings_next(const unsigned char **p, const unsigned char *end, long long *rowid);

#endif
