/* index.h - the SQLite index `kb.sqlite` that `kb build` writes next to the site and
 * that the server and `kb match`/`kb search` read. The schema is documented at the top
 * of index.c. Writers: gen. Readers: server, CLI. */
#ifndef KB_INDEX_H
#define KB_INDEX_H

#include "content/incident.h"

#define KB_INDEX_SCHEMA_VERSION 8
#define KB_INDEX_FILE "kb.sqlite"
/* Frames of a stack kept in stack_frames (the first ones not flagged SKIP): as many as
 * matching compares. */
#define KB_INDEX_PACKED_FRAMES 64
/* A word in this many incidents or more has its count in word_docs (index.c): counting
 * one in fewer reads at most this many doclist entries. A number: it goes into SQL. */
#define KB_INDEX_COMMON_WORD 256

typedef struct kb_index_writer kb_index_writer;

/* Create a new index at `path` (which must not exist) and open one transaction.
 * Returns NULL and sets *err (caller frees) on failure. */
kb_index_writer *kb_index_create(const char *path, char **err);
/* What the writer stores of one incident that depends on it alone (JSON, texts, names),
 * made by any thread: the build makes it where the incident was loaded, so that the one
 * writer thread only writes. Caller frees with kb_index_rows_free (which accepts NULL). */
typedef struct kb_index_rows kb_index_rows;
kb_index_rows *kb_index_rows_new(const kb_incident *inc);
void kb_index_rows_free(kb_index_rows *r);
/* Add one incident with its rows, made beforehand by kb_index_rows_new(inc). Sticky
 * error: does nothing when *rc != 0, sets *rc on failure. */
void kb_index_add_rows(kb_index_writer *w, const kb_incident *inc, const kb_index_rows *r, int *rc);
/* Store a key/value in the meta table (sticky *rc). */
void kb_index_set_meta(kb_index_writer *w, const char *key, const char *value, int *rc);
/* Compute frame statistics, optimize the full-text index, commit, compact and close.
 * Returns 0, or -1 and sets *err. Frees `w` either way. */
int kb_index_finish(kb_index_writer *w, char **err);
/* Abandon an index being written (the caller removes the file). Accepts NULL. */
void kb_index_abort(kb_index_writer *w);
/* The message of the last failure of the writer, for a sticky *rc. */
const char *kb_index_errmsg(const kb_index_writer *w);

/* ---- an edit of incidents' prose, applied in place (kb serve --watch; see patch.c) ----
 * begin opens the published index for writing and starts a transaction; each
 * kb_index_patch_body stages one edited incident; commit makes them visible at once to
 * readers opened with kb_index_open_live. */
typedef struct kb_index_patch kb_index_patch;
enum { KB_INDEX_PATCH_REBUILD = 1 };

/* NULL and *err (caller frees) when the file cannot be opened, is not a kb index of this
 * schema, or stays locked for seconds. */
kb_index_patch *kb_index_patch_begin(const char *path, char **err);
/* Stage the edit of `inc` (an incident of the index, loaded whole from its edited file).
 * 0: staged; KB_INDEX_PATCH_REBUILD: the edit changes more than the body (title, front
 * matter, summary, identifiers, stacks...) or the incident is not in the index, and
 * nothing was staged for it: the index must be built again; -1 and *err: failure. */
int kb_index_patch_body(kb_index_patch *p, const kb_incident *inc, char **err);
/* Commit what was staged. 0, or -1 and *err. Frees p either way. */
int kb_index_patch_commit(kb_index_patch *p, char **err);
/* Roll back what was staged and free p. Accepts NULL. */
void kb_index_patch_abort(kb_index_patch *p);
/* An edit interrupted in its commit (the process died) leaves a rollback journal beside
 * the index, and readers refuse the file: roll it back. 0: there was none; 1: rolled
 * back; -1 and *err (caller frees): it could not be. */
int kb_index_patch_recover(const char *path, char **err);

/* Text of the FTS "identifiers" column for an incident: every identifier in the
 * spellings people type (0xA, 0x0000000A, IRQL_NOT_LESS_OR_EQUAL, MsLbfoProvider.sys,
 * MsLbfoProvider). Caller frees. */
char *kb_index_ident_text(const kb_idents *ids);

/* kb_reason_json / kb_reason_to_json: stack/reason.h. */

#endif
