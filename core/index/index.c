/* index.c - write kb.sqlite, the index of a built site.
 *
 * On-disk format (schema version 8; `PRAGMA user_version` holds the version):
 *
 *   meta(key TEXT PRIMARY KEY, value TEXT)
 *       schema_version, generator, built_at (RFC 3339), base_url, incidents.
 *   incidents(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, slug TEXT, url TEXT UNIQUE,
 *             title TEXT, date TEXT (RFC 3339 or NULL), date_unix INTEGER, summary TEXT,
 *             tags TEXT (JSON array), categories TEXT (JSON array), source_path TEXT,
 *             params TEXT (front matter as JSON), identifiers TEXT (JSON))
 *       url is the site path ("/incidents/<slug>/"), without the base URL.
 *       identifiers: [[kind, value], ...] in the order the incident names them; kind is
 *       kb, cve, bugcheck, bugcheck_name, module or exception (see extract.h). Written by
 *       kb_index_idents_json; read by the incident API. A row per identifier (schema 7 and
 *       before: 600,000 rows and two indexes at 10,000 incidents) cost the writer, the
 *       build's serial thread, 0.7 s, and only the incident API read them, all together.
 *   terms(incident -> incidents.rowid, kind TEXT 'tag'|'category', name TEXT)
 *   bugchecks(incident, code TEXT): the incident's identifiers of kind bugcheck ("0xA"),
 *       indexed by code (NOCASE) for matching's fallback by bugcheck (match.c).
 *   stacks(rowid INTEGER PRIMARY KEY, incident, seq INTEGER (0-based in the incident),
 *          format TEXT, platform TEXT, bugcheck INTEGER, line INTEGER (in the source file),
 *          signature TEXT, reason TEXT (JSON: kind, code, name, message, params, bucket),
 *          frames TEXT (JSON))
 *       the stack as written stays in the page; the index keeps what search and matching use.
 *       frames: every frame of the stack, crash site first, each an array
 *       [module, function, offset, file, line, norm, flags] (null when absent; line null
 *       when unknown); norm is what matching compares (see core/stack/normalize.c), flags
 *       are KB_FRAME_* (stack.h). Written by kb_index_frames_json; read by the incident API
 *       (server/incident.c) and the browser snapshot (kb-worker.js). One row per stack:
 *       a row per frame (schema 6 and before) cost the writer a quarter of its finishing
 *       time at 10,000 incidents, and nothing ever read one frame alone.
 *   stack_frames(stack INTEGER PRIMARY KEY -> stacks.rowid, incident INTEGER, frames BLOB)
 *       what matching compares of a stack, in one row: its first KB_INDEX_PACKED_FRAMES
 *       frames not flagged SKIP, each as four varints and the norm's bytes
 *       (pos, flags, df, byte length of norm, norm; each varint little-endian groups of
 *       7 bits, the high bit set on all but the last). Decoded by
 *       kb_packed_frame_next (reader.h). One row instead of an index probe and a row per
 *       frame: a browser reading the file over HTTP fetches one page per candidate.
 *   frame_stats(norm TEXT PRIMARY KEY, incidents INTEGER, stacks INTEGER, postings BLOB)
 *       WITHOUT ROWID: how many incidents/stacks contain each normalized frame (frames
 *       flagged SKIP not counted): the document frequency for idf weighting, so that
 *       frames of common plumbing (NDIS, the JVM's thread start) weigh less; and postings,
 *       the rowids of those stacks, ascending, each as the varint of its difference to the
 *       one before (the first to 0). Matching finds candidate stacks here: one row per
 *       frame of the query, instead of a range of an index over every frame row (whose
 *       build was a quarter of the index's finishing time). Decoded by
 *       kb_postings_next (reader.h).
 *   fts: FTS5(title, tags, summary, body, stacks, identifiers, ref_id UNINDEXED,
 *       ref_url UNINDEXED, ref_tags UNINDEXED), rowid = incidents.rowid; the ref_ columns
 *       copy incidents.id, url and tags so a page of hits needs no incidents rows,
 *       tokenizer unicode61 with '_' as a token character, prefix indexes 2 to 6 (a longer
 *       prefix makes FTS5 merge every completion's doclist: see core/search/search.c);
 *       default ranking bm25 with weights title 10, tags 5, summary 3, body 1,
 *       stacks 2, identifiers 8 (stored with the 'rank' config, so ORDER BY rank uses it).
 *   fts_v: fts5vocab(fts, 'row') (no storage of its own): in how many incidents a word is
 *       a whole token of fts (read from the word's doclist: kb_index_word_docs).
 *   word_docs(word TEXT PRIMARY KEY, incidents INTEGER) WITHOUT ROWID: fts_v's count for
 *       every word in at least KB_INDEX_COMMON_WORD incidents, copied once the full text
 *       is merged: counting a common word reads most of the index (4 ms for one word at
 *       100,000 incidents), and search needs the count of every word of every query to
 *       rank (kb_bm25, rank.c). An edit in place keeps it exact (patch.c).
 *   names(rowid INTEGER PRIMARY KEY, name TEXT, incidents INTEGER, postings BLOB)
 *       each distinct name an engineer types part of (the words of the identifiers' text,
 *       every module and function of the stacks; 3 bytes or more), once for the whole
 *       index, with the incidents that have it (postings as in frame_stats, of incident
 *       rowids). Names repeat across incidents (at 10,000 synthetic incidents: 1.25
 *       million per incident, 222,000 distinct), so the trigram table below indexes each
 *       once: 3.8 s of the writer's 11.5 s went to trigrams when each incident had its own.
 *   fts_names: contentless FTS5 (columnsize=0) with the trigram tokenizer over names.name,
 *       rowid = names.rowid: "GetFirstMapped" finds vmqcGetFirstMappedMNic, which
 *       unicode61 keeps as one token (core/search/search.c).
 *
 * The file is written once, in one transaction, by one writer (journal off: the build
 * publishes it atomically, a failed build throws it away), its full-text segments merged
 * (FTS5 'optimize'), copied table by table into its final file (VACUUM INTO, see
 * compact()), and never modified again: readers open it read-only/immutable.
 * stack_frames goes in last, once frame_stats is known (see "frames" below).
 * Errors are sticky (`int *rc`), as in SQLite's fts5, so a long series of inserts
 * needs one check at the end. */
#include "index/index.h"
#include "index/rank.h"
#include "index/rows.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content/date.h"
#include "stack/reason.h"
#include "util/util.h"

/* ---- frames: counted as they come, packed once their document frequency is known ----
 *
 * stack_frames carries each frame's df, which needs every incident's frames first.
 * Rather than GROUP BY every frame at the end, the writer keeps a table of the distinct
 * norms with their counts (memory that grows with the index's vocabulary, not with the
 * text), spills what matching compares of each frame to an unnamed temporary file, and
 * packs the stack_frames rows in kb_index_finish with their final df. */

typedef struct norm_stat {
  char *norm; /* in the writer's arena */
  uint64_t hash;
  uint32_t incidents, stacks;
  sqlite3_int64 last_incident, last_stack;
  unsigned char *post; /* postings (frame_stats, names), not a kb_buf: one per norm or name,
                        * millions at 100,000 incidents, so 16 bytes of header instead of 40 */
  uint32_t post_len, post_cap;
} norm_stat;

typedef struct norm_table {
  norm_stat *v;
  size_t n, cap;
  uint32_t *slots; /* open addressing: index + 1 into v, 0 = empty */
  size_t nslots;   /* a power of two, at least twice n */
  char **chunks;   /* the arena: norms are never freed one by one */
  size_t nchunks, chunk_used, chunk_size;
} norm_table;

#define ARENA_CHUNK ((size_t)1 << 20)

static char *arena_strdup(norm_table *t, const char *s) {
  size_t n = strlen(s) + 1;
  if (!t->nchunks || t->chunk_used + n > t->chunk_size) {
    t->chunk_size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    t->chunks = kb_xrealloc(t->chunks, (t->nchunks + 1) * sizeof *t->chunks);
    t->chunks[t->nchunks++] = kb_xmalloc(t->chunk_size);
    t->chunk_used = 0;
  }
  char *d = t->chunks[t->nchunks - 1] + t->chunk_used;
  memcpy(d, s, n);
  t->chunk_used += n;
  return d;
}

static void norm_rehash(norm_table *t) {
  t->nslots = t->nslots ? t->nslots * 2 : 1024;
  free(t->slots);
  t->slots = kb_xcalloc(t->nslots, sizeof *t->slots);
  for (size_t i = 0; i < t->n; i++) {
    size_t k = t->v[i].hash & (t->nslots - 1);
    while (t->slots[k]) k = (k + 1) & (t->nslots - 1);
    t->slots[k] = (uint32_t)(i + 1);
  }
}

/* The entry of `norm`, whose kb_str_hash is h; NULL when absent and !add. */
static norm_stat *norm_find_hashed(norm_table *t, const char *norm, uint64_t h, bool add) {
  if (t->nslots) {
    for (size_t k = h & (t->nslots - 1); t->slots[k]; k = (k + 1) & (t->nslots - 1)) {
      norm_stat *e = &t->v[t->slots[k] - 1];
      if (e->hash == h && strcmp(e->norm, norm) == 0) return e;
    }
  }
  if (!add) return NULL;
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 1024;
    t->v = kb_xrealloc(t->v, t->cap * sizeof *t->v);
  }
  t->v[t->n] = (norm_stat){arena_strdup(t, norm), h, 0, 0, 0, 0, NULL, 0, 0};
  t->n++;
  if (t->n * 2 > t->nslots) {
    norm_rehash(t);
  } else {
    size_t k = h & (t->nslots - 1);
    while (t->slots[k]) k = (k + 1) & (t->nslots - 1);
    t->slots[k] = (uint32_t)t->n;
  }
  return &t->v[t->n - 1];
}

static void norm_table_release(norm_table *t) {
  for (size_t i = 0; i < t->n; i++) free(t->v[i].post);
  for (size_t i = 0; i < t->nchunks; i++) free(t->chunks[i]);
  free(t->chunks);
  free(t->v);
  free(t->slots);
  memset(t, 0, sizeof *t);
}

/* made by kb_index_rows_new (see "rows" below) */
struct kb_index_rows {
  char *tags_json, *cats_json, *params, *ident_text;
  char date[40];
  kb_buf tags_text, stack_text, idents_json;
  char **reasons;        /* per stack */
  size_t nstacks;
  kb_buf frames;         /* every stack's stacks.frames, one after the other */
  size_t *frames_at;     /* stack i's is frames[frames_at[i] .. frames_at[i + 1]) */
  uint64_t *norm_hash;   /* kb_str_hash of each frame's norm (0 without one), stack after stack */
  kb_buf names;          /* the incident's names, each once, NUL after each, first seen first */
  uint64_t *name_hash;
  size_t nnames;
};

struct kb_index_writer {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *ins_incident, *ins_term, *ins_bugcheck, *ins_stack, *ins_fts, *ins_meta;
  char errmsg[512];
  norm_table norms; /* frame statistics, counted as frames are added */
  norm_table names; /* the names table: rowid = position + 1, postings of incidents */
  int spill_fd;     /* frames waiting for their df */
  kb_buf spill;
  kb_buf frames; /* stacks.frames of the stack being added */
  sqlite3_stmt *ins_pack; /* stack_frames, written with the frames */
  sqlite3_int64 pack_stack, pack_incident;
  size_t pack_frames;
  kb_buf pack;
};

/* names and fts_names: in the index (empty until the finish copies them in) and in the
 * file the names thread writes them to (see "names" below). */
#define NAMES_SCHEMA_SQL                                                                           \
  "CREATE TABLE names(rowid INTEGER PRIMARY KEY, name TEXT NOT NULL, incidents INTEGER NOT NULL,"  \
  " postings BLOB NOT NULL);"                                                                      \
  "CREATE VIRTUAL TABLE fts_names USING fts5(name, tokenize='trigram', content='', columnsize=0);" \
  "INSERT INTO fts_names(fts_names, rank) VALUES('automerge', 0);"                                 \
  "INSERT INTO fts_names(fts_names, rank) VALUES('crisismerge', 64);"

/* The build writes and rereads its file in pages of 16 KB (a quarter of the system calls
 * of 4 KB pages: FTS5's merge and VACUUM read back everything written), and VACUUM INTO
 * writes the published file in pages of 4 KB, what a browser reading the snapshot over
 * HTTP fetches at a time. */
#define KB_INDEX_STR2(x) #x
#define KB_INDEX_STR(x) KB_INDEX_STR2(x)
#define BUILD_PAGE_SIZE 16384
#define PUBLISHED_PAGE_SIZE 4096

static const char schema_sql[] =
    "PRAGMA page_size=" KB_INDEX_STR(BUILD_PAGE_SIZE) ";"
    "PRAGMA journal_mode=OFF;"
    "PRAGMA synchronous=OFF;"
    "PRAGMA cache_size=-16384;" /* 16 MB: the build's memory budget is 150 MB at 10,000 */
    "PRAGMA temp_store=FILE;" /* index sorts spill to disk instead of growing the heap */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE incidents(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, slug TEXT NOT NULL,"
    " url TEXT NOT NULL UNIQUE, title TEXT NOT NULL, date TEXT, date_unix INTEGER, summary TEXT,"
    " tags TEXT NOT NULL, categories TEXT NOT NULL, source_path TEXT, params TEXT NOT NULL,"
    " identifiers TEXT NOT NULL);"
    "CREATE TABLE terms(incident INTEGER NOT NULL REFERENCES incidents, kind TEXT NOT NULL,"
    " name TEXT NOT NULL);"
    "CREATE TABLE bugchecks(incident INTEGER NOT NULL REFERENCES incidents, code TEXT NOT NULL);"
    "CREATE TABLE stacks(rowid INTEGER PRIMARY KEY, incident INTEGER NOT NULL REFERENCES incidents,"
    " seq INTEGER NOT NULL, format TEXT NOT NULL, platform TEXT NOT NULL, bugcheck INTEGER, line INTEGER,"
    " signature TEXT, reason TEXT, frames TEXT NOT NULL);"
    "CREATE VIRTUAL TABLE fts USING fts5(title, tags, summary, body, stacks, identifiers,"
    " ref_id UNINDEXED, ref_url UNINDEXED, ref_tags UNINDEXED,"
    " tokenize=\"" KB_FTS_TOKENIZE "\", prefix='2 3 4 5 6');"
    "INSERT INTO fts(fts, rank) VALUES('rank', 'bm25(" KB_RANK_WEIGHTS ")');"
    /* no merging while the rows go in: 'optimize' merges every segment once at the end
     * (the writer thread is the build's bottleneck; this took 15 % off its FTS5 time) */
    "INSERT INTO fts(fts, rank) VALUES('automerge', 0);"
    "INSERT INTO fts(fts, rank) VALUES('crisismerge', 64);"
    "CREATE VIRTUAL TABLE fts_v USING fts5vocab(fts, 'row');"
    "CREATE TABLE word_docs(word TEXT PRIMARY KEY, incidents INTEGER NOT NULL) WITHOUT ROWID;"
    NAMES_SCHEMA_SQL
    "CREATE TABLE frame_stats(norm TEXT PRIMARY KEY, incidents INTEGER NOT NULL,"
    " stacks INTEGER NOT NULL, postings BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE stack_frames(stack INTEGER PRIMARY KEY, incident INTEGER NOT NULL, frames BLOB NOT NULL);";

/* Built after the rows are in: cheaper than maintaining them during the inserts. */
static const char finish_sql[] =
    "CREATE INDEX stacks_incident ON stacks(incident);"
    "CREATE INDEX terms_name ON terms(kind, name);"
    "CREATE INDEX terms_incident ON terms(incident);"
    "CREATE INDEX bugchecks_code ON bugchecks(code COLLATE NOCASE);"
    "CREATE INDEX incidents_date ON incidents(date_unix DESC);"
    "INSERT INTO fts(fts) VALUES('optimize');"
    "INSERT INTO word_docs SELECT term, doc FROM fts_v WHERE doc >= " KB_INDEX_STR(KB_INDEX_COMMON_WORD) ";";

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

static void writer_fail_errno(kb_index_writer *w, int *rc, const char *what) {
  if (*rc) return;
  *rc = -1;
  snprintf(w->errmsg, sizeof w->errmsg, "index: %s: %s", what, strerror(errno));
}

/* Count a frame for frame_stats: what the GROUP BY over frames (flags & SKIP = 0) gave.
 * Returns the norm's position in the table (entries never move). */
static size_t norm_count(norm_table *t, const kb_frame *f, uint64_t hash, sqlite3_int64 incident,
                         sqlite3_int64 stack) {
  norm_stat *e = norm_find_hashed(t, f->norm, hash, true);
  if (e->last_incident != incident) e->incidents++, e->last_incident = incident;
  if (e->last_stack != stack) e->stacks++, e->last_stack = stack;
  return (size_t)(e - t->v);
}

/* A frame in the spill: stack, incident, pos, flags and the norm's position in the norm
 * table, as varints. Only the frames matching compares: a norm and no KB_FRAME_SKIP. */
static void spill_frame(kb_buf *b, sqlite3_int64 stack, sqlite3_int64 incident, size_t pos, unsigned flags,
                        size_t norm) {
  kb_buf_add_varint(b, (uint64_t)stack);
  kb_buf_add_varint(b, (uint64_t)incident);
  kb_buf_add_varint(b, pos);
  kb_buf_add_varint(b, flags);
  kb_buf_add_varint(b, norm);
}

#define SPILL_FLUSH ((size_t)1 << 20)

static void spill_flush(kb_index_writer *w, int *rc) {
  for (size_t done = 0; !*rc && done < w->spill.len;) {
    ssize_t k = write(w->spill_fd, w->spill.ptr + done, w->spill.len - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      writer_fail_errno(w, rc, "cannot write a temporary file");
    } else {
      done += (size_t)k;
    }
  }
  if (!*rc && w->spill.err) {
    errno = EFBIG;
    writer_fail_errno(w, rc, "temporary buffer");
  }
  kb_buf_reset(&w->spill);
}

/* hashes: kb_str_hash of each frame's norm (kb_index_rows). */
static void add_frames(kb_index_writer *w, sqlite3_int64 incident, sqlite3_int64 stack_row, const kb_stack *st,
                       const uint64_t *hashes, int *rc) {
  for (size_t i = 0; i < st->nframes && !*rc; i++) {
    const kb_frame *f = &st->frames[i];
    if (!f->norm || (f->flags & KB_FRAME_SKIP)) continue;
    size_t norm = norm_count(&w->norms, f, hashes[i], incident, stack_row);
    spill_frame(&w->spill, stack_row, incident, i, f->flags, norm);
  }
  if (w->spill.len >= SPILL_FLUSH) spill_flush(w, rc);
}

/* Reading the spill back: a record never straddles a read, as whole records are cut
 * from the buffer and the tail is carried to the next read. */
typedef struct spill_cursor {
  const unsigned char *p, *end;
  bool bad; /* ran out: the record is incomplete */
} spill_cursor;

static uint64_t cur_uint(spill_cursor *c) {
  uint64_t v = 0;
  if (!kb_varint_get(&c->p, c->end, &v)) c->bad = true;
  return v;
}

/* stack_frames: the packed row of the stack being read back from the spill. */
static void pack_flush(kb_index_writer *w, int *rc) {
  if (w->pack_stack && !*rc) {
    sqlite3_bind_int64(w->ins_pack, 1, w->pack_stack);
    sqlite3_bind_int64(w->ins_pack, 2, w->pack_incident);
    sqlite3_bind_blob(w->ins_pack, 3, w->pack.ptr, (int)w->pack.len, SQLITE_STATIC);
    writer_step(w, w->ins_pack, rc);
  }
  kb_buf_reset(&w->pack);
  w->pack_stack = 0;
  w->pack_frames = 0;
}

static void pack_frame(kb_index_writer *w, sqlite3_int64 stack, sqlite3_int64 incident, uint64_t pos,
                       unsigned flags, uint64_t df, const char *norm, int len, int *rc) {
  if (stack != w->pack_stack) {
    pack_flush(w, rc);
    w->pack_stack = stack;
    w->pack_incident = incident;
  }
  if (!norm || (flags & KB_FRAME_SKIP) || w->pack_frames >= KB_INDEX_PACKED_FRAMES) return;
  kb_buf_add_varint(&w->pack, pos);
  kb_buf_add_varint(&w->pack, flags);
  kb_buf_add_varint(&w->pack, df);
  kb_buf_add_varint(&w->pack, (uint64_t)len);
  kb_buf_add(&w->pack, norm, (size_t)len);
  w->pack_frames++;
}

/* Add a stack to a norm's postings, or an incident to a name's: rowids ascending (the
 * spill holds the stacks in order; incidents are added in order), each as the varint of
 * its difference to the one before (*last, 0 before the first). */
static void posting_add(norm_stat *e, sqlite3_int64 id, sqlite3_int64 *last) {
  if (id <= *last) return; /* the same stack (or incident) again */
  if (e->post_cap - e->post_len < KB_VARINT_MAX) {
    e->post_cap = e->post_cap ? e->post_cap * 2 : 16;
    e->post = kb_xrealloc(e->post, e->post_cap);
  }
  e->post_len += (uint32_t)kb_varint_put(e->post + e->post_len, (uint64_t)(id - *last));
  *last = id;
}

/* Read back one spilled frame at c: its stack's postings and its packed row. */
static void read_frame(kb_index_writer *w, spill_cursor *c, int *rc) {
  sqlite3_int64 stack = (sqlite3_int64)cur_uint(c), incident = (sqlite3_int64)cur_uint(c);
  uint64_t pos = cur_uint(c);
  unsigned flags = (unsigned)cur_uint(c);
  uint64_t norm = cur_uint(c);
  if (c->bad || norm >= w->norms.n) return;
  norm_stat *e = &w->norms.v[norm];
  posting_add(e, stack, &e->last_stack);
  pack_frame(w, stack, incident, pos, flags, e->incidents, e->norm, (int)strlen(e->norm), rc);
}

static void insert_stack_frames(kb_index_writer *w, int *rc) {
  spill_flush(w, rc);
  if (*rc) return;
  if (lseek(w->spill_fd, 0, SEEK_SET) < 0) return writer_fail_errno(w, rc, "cannot read a temporary file");
  size_t cap = 2 * SPILL_FLUSH, have = 0;
  unsigned char *buf = kb_xmalloc(cap);
  for (;;) {
    ssize_t k = read(w->spill_fd, buf + have, cap - have);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      writer_fail_errno(w, rc, "cannot read a temporary file");
      break;
    }
    have += (size_t)k;
    spill_cursor c = {buf, buf + have, false};
    const unsigned char *start = c.p;
    while (!*rc && c.p < c.end) {
      start = c.p;
      read_frame(w, &c, rc);
      if (c.bad) break;
    }
    size_t used = (size_t)((c.bad ? start : c.p) - buf);
    memmove(buf, buf + used, have - used);
    have -= used;
    if (*rc || k == 0) break;
    if (have == cap) buf = kb_xrealloc(buf, cap *= 2); /* a record longer than the buffer */
  }
  if (!*rc && have) {
    errno = EIO;
    writer_fail_errno(w, rc, "temporary file truncated");
  }
  pack_flush(w, rc);
  free(buf);
}

static int stat_cmp(const void *a, const void *b) {
  return strcmp((*(const norm_stat *const *)a)->norm, (*(const norm_stat *const *)b)->norm);
}

/* frame_stats' rows in key order, so its b-tree is written left to right: the entries
 * stay where they are (the spill refers to them by position). */
static norm_stat **sorted_norms(norm_table *t) {
  norm_stat **order = kb_xmalloc((t->n ? t->n : 1) * sizeof *order);
  for (size_t i = 0; i < t->n; i++) order[i] = &t->v[i];
  if (t->n) qsort(order, t->n, sizeof *order, stat_cmp);
  return order;
}

static void insert_frame_stats(kb_index_writer *w, int *rc) {
  norm_table *t = &w->norms;
  norm_stat **order = sorted_norms(t);
  sqlite3_stmt *q = writer_prepare(w, "INSERT INTO frame_stats(norm, incidents, stacks, postings) VALUES(?,?,?,?)", rc);
  for (size_t i = 0; q && !*rc && i < t->n; i++) {
    norm_stat *e = order[i];
    sqlite3_bind_text(q, 1, e->norm, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, e->incidents);
    sqlite3_bind_int64(q, 3, e->stacks);
    sqlite3_bind_blob(q, 4, e->post ? (const void *)e->post : "", (int)e->post_len, SQLITE_STATIC);
    writer_step(w, q, rc);
    free(e->post);
    e->post = NULL;
  }
  free(order);
  sqlite3_finalize(q);
}

/* An unnamed file beside the index (same file system, gone when closed or killed). */
static int spill_open(const char *index_path) {
  const char *slash = strrchr(index_path, '/');
  char *dir = slash ? kb_xstrndup(index_path, (size_t)(slash - index_path + (slash == index_path))) : kb_xstrdup(".");
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) { /* no O_TMPFILE there: a named file, unlinked at once */
    char *tmpl = kb_xasprintf("%s/.kb-frames-XXXXXX", dir);
    fd = mkstemp(tmpl);
    if (fd >= 0) unlink(tmpl);
    free(tmpl);
  }
  free(dir);
  return fd;
}

kb_index_writer *kb_index_create(const char *path, char **err) {
  kb_index_writer *w = kb_xcalloc(1, sizeof *w);
  int rc = 0;
  kb_buf_init(&w->spill, 0);
  kb_buf_init(&w->pack, 0);
  kb_buf_init(&w->frames, 0);
  w->path = kb_xstrdup(path);
  w->spill_fd = spill_open(path);
  if (w->spill_fd < 0) {
    *err = kb_xasprintf("%s: cannot create a temporary file: %s", path, strerror(errno));
    kb_index_abort(w);
    return NULL;
  }
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
      " source_path, params, identifiers) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", &rc);
  w->ins_term = writer_prepare(w, "INSERT INTO terms(incident, kind, name) VALUES(?,?,?)", &rc);
  w->ins_bugcheck = writer_prepare(w, "INSERT INTO bugchecks(incident, code) VALUES(?,?)", &rc);
  w->ins_stack = writer_prepare(w,
      "INSERT INTO stacks(incident, seq, format, platform, bugcheck, line, signature, reason, frames)"
      " VALUES(?,?,?,?,?,?,?,?,?)", &rc);
  w->ins_fts = writer_prepare(w,
      "INSERT INTO fts(rowid, title, tags, summary, body, stacks, identifiers, ref_id, ref_url, ref_tags)"
      " VALUES(?,?,?,?,?,?,?,?,?,?)", &rc);
  w->ins_meta = writer_prepare(w, "INSERT OR REPLACE INTO meta(key, value) VALUES(?,?)", &rc);
  w->ins_pack = writer_prepare(w, "INSERT INTO stack_frames(stack, incident, frames) VALUES(?,?,?)", &rc);
  if (rc) {
    *err = kb_xasprintf("%s: %s", path, w->errmsg);
    kb_index_abort(w);
    return NULL;
  }
  return w;
}

char *kb_index_json_list(const kb_strlist *l) {
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

void kb_index_tags_text(const kb_incident *inc, kb_buf *text) {
  for (size_t i = 0; i < inc->tags.n; i++) kb_buf_adds(text, inc->tags.v[i]), kb_buf_addc(text, ' ');
  for (size_t i = 0; i < inc->categories.n; i++) kb_buf_adds(text, inc->categories.v[i]), kb_buf_addc(text, ' ');
}

/* A JSON string, or null. Control characters are escaped; other bytes are copied (the
 * text was checked as UTF-8 when the incident was read). */
static void json_str(kb_buf *b, const char *s) {
  if (!s) {
    kb_buf_adds(b, "null");
    return;
  }
  kb_buf_addc(b, '"');
  for (const char *run = s;; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    kb_buf_add(b, run, (size_t)(s - run));
    if (!c) break;
    const char *named = c == '"'    ? "\\\""
                        : c == '\\' ? "\\\\"
                        : c == '\n' ? "\\n"
                        : c == '\t' ? "\\t"
                        : c == '\r' ? "\\r"
                                    : NULL;
    if (named) kb_buf_adds(b, named);
    else kb_buf_addf(b, "\\u%04x", c);
    run = s + 1;
  }
  kb_buf_addc(b, '"');
}

void kb_index_frames_json(const kb_stack *st, kb_buf *out) {
  kb_buf_addc(out, '[');
  for (size_t i = 0; i < st->nframes; i++) {
    const kb_frame *f = &st->frames[i];
    if (i) kb_buf_addc(out, ',');
    const char *strs[] = {f->module, f->function, f->offset, f->file};
    for (size_t k = 0; k < 4; k++) {
      kb_buf_addc(out, k ? ',' : '[');
      json_str(out, strs[k]);
    }
    if (f->line > 0) kb_buf_addf(out, ",%d,", f->line);
    else kb_buf_adds(out, ",null,");
    json_str(out, f->norm);
    kb_buf_addf(out, ",%u]", f->flags);
  }
  kb_buf_addc(out, ']');
}

void kb_index_stack_text(const kb_stack *st, kb_buf *text) {
  const kb_reason *r = &st->reason;
  const char *parts[] = {st->signature, r->code, r->name, r->message, r->bucket};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (parts[i]) kb_buf_adds(text, parts[i]), kb_buf_addc(text, '\n');
  for (size_t i = 0; i < st->nframes; i++) { /* no printf: a million frames at 10,000 incidents */
    const kb_frame *f = &st->frames[i];
    if (f->module) kb_buf_adds(text, f->module);
    if (f->module && f->function) kb_buf_addc(text, '!');
    if (f->function) kb_buf_adds(text, f->function);
    if (f->file) kb_buf_addc(text, ' '), kb_buf_adds(text, f->file);
    kb_buf_addc(text, '\n');
  }
}

static void add_stacks(kb_index_writer *w, sqlite3_int64 row, const kb_stacks *stacks, const kb_index_rows *r,
                       int *rc) {
  const uint64_t *hashes = r->norm_hash; /* the stacks' frames one after the other */
  for (size_t i = 0; i < stacks->n && !*rc; hashes += stacks->v[i++].nframes) {
    const kb_stack *st = &stacks->v[i];
    sqlite3_stmt *q = w->ins_stack;
    sqlite3_bind_int64(q, 1, row);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
    bind_text(q, 3, st->format);
    bind_text(q, 4, st->platform);
    if (st->bugcheck) sqlite3_bind_int64(q, 5, st->bugcheck);
    sqlite3_bind_int(q, 6, st->first_line);
    bind_text(q, 7, st->signature);
    bind_text(q, 8, r->reasons[i]);
    size_t from = r->frames_at[i], to = r->frames_at[i + 1];
    sqlite3_bind_text(q, 9, r->frames.ptr + from, (int)(to - from), SQLITE_STATIC);
    writer_step(w, q, rc);
    add_frames(w, row, sqlite3_last_insert_rowid(w->db), st, hashes, rc);
  }
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
      kb_buf_adds(&b, m);
      kb_buf_addc(&b, ' ');
      free(m);
    }
  }
  kb_buf_rtrim(&b);
  return kb_buf_detach(&b, NULL);
}

void kb_index_idents_json(const kb_idents *ids, kb_buf *out) {
  kb_buf_addc(out, '[');
  for (size_t i = 0; i < ids->n; i++) {
    kb_buf_adds(out, i ? ",[" : "[");
    json_str(out, ids->v[i].kind);
    kb_buf_addc(out, ',');
    json_str(out, ids->v[i].value);
    kb_buf_addc(out, ']');
  }
  kb_buf_addc(out, ']');
}

static void add_bugchecks(kb_index_writer *w, sqlite3_int64 row, const kb_idents *ids, int *rc) {
  for (size_t i = 0; i < ids->n && !*rc; i++) {
    if (strcmp(ids->v[i].kind, "bugcheck") != 0) continue;
    sqlite3_bind_int64(w->ins_bugcheck, 1, row);
    bind_text(w->ins_bugcheck, 2, ids->v[i].value);
    writer_step(w, w->ins_bugcheck, rc);
  }
}

/* One name of an incident (its kb_str_hash h): a new name gets the next rowid; the
 * incident joins its postings. Both tables are written at the finish (names_main). */
static void name_add(kb_index_writer *w, const char *name, uint64_t h, sqlite3_int64 incident, int *rc) {
  if (*rc) return;
  norm_stat *e = norm_find_hashed(&w->names, name, h, true);
  if (incident > e->last_incident) e->incidents++;
  posting_add(e, incident, &e->last_incident);
}

static void add_names(kb_index_writer *w, sqlite3_int64 row, const kb_index_rows *r, int *rc) {
  const char *name = r->names.ptr;
  for (size_t i = 0; i < r->nnames; i++, name += strlen(name) + 1) name_add(w, name, r->name_hash[i], row, rc);
}

/* ---- names: written by a thread of their own while the writer finishes ----
 *
 * Once the last incident is in, the names table and their trigrams (a fifth of the
 * writer's work) depend on nothing the writer still does: a thread writes them to a file
 * of their own (<index>.names) while the writer packs the frames, builds the indexes and
 * merges the full text; after the writer's VACUUM INTO, their pages are copied into the
 * compacted file, each table's together. The thread only reads w->names, which nothing
 * changes after the last incident. */
typedef struct names_job {
  const norm_table *names;
  char *path;
  int rc;
  char errmsg[512];
  double seconds;
} names_job;

static void names_fail(names_job *j, sqlite3 *db, const char *what) {
  if (j->rc) return;
  j->rc = -1;
  snprintf(j->errmsg, sizeof j->errmsg, "index: names: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static void names_step(names_job *j, sqlite3 *db, sqlite3_stmt *st) {
  if (!j->rc && sqlite3_step(st) != SQLITE_DONE) names_fail(j, db, "insert");
  sqlite3_reset(st);
}

/* Both tables, in rowid order: the same statements the writer made them with, in order. */
static void names_write(names_job *j, sqlite3 *db) {
  sqlite3_stmt *row = NULL, *tri = NULL;
  if (sqlite3_prepare_v2(db, "INSERT INTO names(rowid, name, incidents, postings) VALUES(?,?,?,?)", -1, &row, NULL) ||
      sqlite3_prepare_v2(db, "INSERT INTO fts_names(rowid, name) VALUES(?,?)", -1, &tri, NULL))
    names_fail(j, db, "prepare");
  const norm_table *t = j->names;
  for (size_t i = 0; !j->rc && i < t->n; i++) {
    const norm_stat *e = &t->v[i];
    sqlite3_bind_int64(tri, 1, (sqlite3_int64)i + 1);
    sqlite3_bind_text(tri, 2, e->norm, -1, SQLITE_STATIC);
    names_step(j, db, tri);
  }
  for (size_t i = 0; !j->rc && i < t->n; i++) {
    const norm_stat *e = &t->v[i];
    sqlite3_bind_int64(row, 1, (sqlite3_int64)i + 1);
    sqlite3_bind_text(row, 2, e->norm, -1, SQLITE_STATIC);
    sqlite3_bind_int64(row, 3, e->incidents);
    sqlite3_bind_blob(row, 4, e->post ? (const void *)e->post : "", (int)e->post_len, SQLITE_STATIC);
    names_step(j, db, row);
  }
  sqlite3_finalize(row);
  sqlite3_finalize(tri);
}

static void *names_main(void *arg) {
  names_job *j = arg;
  double t0 = kb_now();
  sqlite3 *db = NULL;
  unlink(j->path);
  if (sqlite3_open_v2(j->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE, NULL))
    names_fail(j, db, "create");
  static const char setup[] = "PRAGMA page_size=" KB_INDEX_STR(BUILD_PAGE_SIZE) "; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                              "PRAGMA cache_size=-4096;" NAMES_SCHEMA_SQL "BEGIN;";
  if (!j->rc && sqlite3_exec(db, setup, NULL, NULL, NULL)) names_fail(j, db, "schema");
  if (!j->rc) names_write(j, db);
  static const char done[] = "INSERT INTO fts_names(fts_names) VALUES('optimize'); COMMIT;";
  if (!j->rc && sqlite3_exec(db, done, NULL, NULL, NULL)) names_fail(j, db, "optimize");
  if (sqlite3_close(db) != SQLITE_OK) names_fail(j, NULL, "close");
  j->seconds = kb_now() - t0;
  return NULL;
}

/* Copy the names file's tables into the compacted index at `path` (on the writer's
 * connection, both attached). The empty fts_names the index was made with is replaced
 * by the names file's, shadow table by shadow table (contentless, no sizes: data, idx,
 * config), as VACUUM copies them. */
static void writer_attach(kb_index_writer *w, const char *path, const char *sql, int *rc) {
  sqlite3_stmt *st = writer_prepare(w, sql, rc);
  if (!st) return;
  sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE) writer_fail(w, rc, "attach");
  sqlite3_finalize(st);
}

static void names_merge(kb_index_writer *w, const char *path, const char *names_path, int *rc) {
  if (*rc) return;
  writer_attach(w, path, "ATTACH ?1 AS f", rc);
  writer_attach(w, names_path, "ATTACH ?1 AS n", rc);
  /* writing FTS5's shadow tables needs SQLite's defensive mode off (a build may have it on) */
  sqlite3_db_config(w->db, SQLITE_DBCONFIG_DEFENSIVE, 0, (int *)NULL);
  static const char copy[] =
      "PRAGMA f.journal_mode=OFF; PRAGMA f.synchronous=OFF; BEGIN;"
      "INSERT INTO f.names SELECT * FROM n.names;"
      "DELETE FROM f.fts_names_data; DELETE FROM f.fts_names_idx; DELETE FROM f.fts_names_config;"
      "INSERT INTO f.fts_names_data SELECT * FROM n.fts_names_data;"
      "INSERT INTO f.fts_names_idx SELECT * FROM n.fts_names_idx;"
      "INSERT INTO f.fts_names_config SELECT * FROM n.fts_names_config;"
      "COMMIT;";
  if (!*rc && sqlite3_exec(w->db, copy, NULL, NULL, NULL) != SQLITE_OK) {
    writer_fail(w, rc, "copy the names");
    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL); /* so that the files detach */
  }
  sqlite3_exec(w->db, "DETACH f; DETACH n;", NULL, NULL, NULL);
}

static void add_fts(kb_index_writer *w, sqlite3_int64 row, const kb_incident *inc, const kb_index_rows *r, int *rc) {
  if (*rc) return;
  sqlite3_stmt *q = w->ins_fts;
  sqlite3_bind_int64(q, 1, row);
  bind_text(q, 2, inc->title);
  bind_text(q, 3, r->tags_text.ptr);
  bind_text(q, 4, inc->summary);
  bind_text(q, 5, inc->md.text);
  bind_text(q, 6, r->stack_text.ptr);
  bind_text(q, 7, r->ident_text);
  bind_text(q, 8, inc->id);
  bind_text(q, 9, inc->url);
  bind_text(q, 10, r->tags_json);
  writer_step(w, q, rc);
}

/* ---- rows: what the writer stores of one incident, worked out from it alone ----
 *
 * The writer is the build's one serial thread (at 10,000 incidents it was busy for the
 * whole build while the loading threads waited on it), so everything that needs only
 * the incident - JSON, texts, the names and their hashes - is made by the thread that
 * loaded it. */

/* A small set of the names seen in one incident: open addressing over indexes into
 * name_hash (+ 1), with the names' start offsets. */
typedef struct name_set {
  uint32_t *slots, *at;
  size_t nslots;
} name_set;

static void rows_name(kb_index_rows *r, name_set *seen, const char *name) {
  size_t n = strlen(name);
  if (n < 3) return; /* shorter than a trigram: cannot be looked up */
  uint64_t h = kb_str_hash(name);
  size_t k = h & (seen->nslots - 1);
  for (; seen->slots[k]; k = (k + 1) & (seen->nslots - 1)) {
    uint32_t i = seen->slots[k] - 1;
    if (r->name_hash[i] == h && strcmp(r->names.ptr + seen->at[i], name) == 0) return;
  }
  seen->slots[k] = (uint32_t)r->nnames + 1;
  seen->at[r->nnames] = (uint32_t)r->names.len;
  r->name_hash[r->nnames++] = h;
  kb_buf_add(&r->names, name, n + 1);
}

/* The names: the words of the identifiers' text, then each module and function. */
static void rows_names(kb_index_rows *r, const kb_incident *inc, size_t nframes) {
  size_t most = 2 * nframes + strlen(r->ident_text) / 2 + 1;
  name_set seen = {NULL, NULL, 16};
  while (seen.nslots < 2 * most) seen.nslots *= 2;
  seen.slots = kb_xcalloc(seen.nslots, sizeof *seen.slots);
  seen.at = kb_xcalloc(most, sizeof *seen.at);
  r->name_hash = kb_xcalloc(most, sizeof *r->name_hash);
  char *words = kb_xstrdup(r->ident_text), *save = NULL;
  for (char *t = strtok_r(words, " ", &save); t; t = strtok_r(NULL, " ", &save)) rows_name(r, &seen, t);
  free(words);
  for (size_t i = 0; i < inc->md.stacks.n; i++)
    for (size_t j = 0; j < inc->md.stacks.v[i].nframes; j++) {
      const kb_frame *f = &inc->md.stacks.v[i].frames[j];
      if (f->module) rows_name(r, &seen, f->module);
      if (f->function) rows_name(r, &seen, f->function);
    }
  free(seen.slots);
  free(seen.at);
}

kb_index_rows *kb_index_rows_new(const kb_incident *inc) {
  kb_index_rows *r = kb_xcalloc(1, sizeof *r);
  r->tags_json = kb_index_json_list(&inc->tags);
  r->cats_json = kb_index_json_list(&inc->categories);
  r->params = cJSON_PrintUnformatted(inc->params);
  if (inc->has_date) kb_date_format_rfc3339(inc->date, inc->tz_min, r->date, sizeof r->date);
  kb_buf_init(&r->tags_text, 0);
  kb_index_tags_text(inc, &r->tags_text);
  kb_buf_init(&r->idents_json, 0);
  kb_index_idents_json(&inc->idents, &r->idents_json);
  r->ident_text = kb_index_ident_text(&inc->idents);
  const kb_stacks *stacks = &inc->md.stacks;
  kb_buf_init(&r->stack_text, 0);
  kb_buf_init(&r->frames, 0);
  kb_buf_init(&r->names, 0);
  r->nstacks = stacks->n;
  r->reasons = kb_xcalloc(stacks->n + 1, sizeof *r->reasons);
  r->frames_at = kb_xcalloc(stacks->n + 1, sizeof *r->frames_at);
  size_t nframes = 0;
  for (size_t i = 0; i < stacks->n; i++) nframes += stacks->v[i].nframes;
  r->norm_hash = kb_xcalloc(nframes + 1, sizeof *r->norm_hash);
  for (size_t i = 0, k = 0; i < stacks->n; i++) {
    const kb_stack *st = &stacks->v[i];
    r->reasons[i] = kb_reason_json(&st->reason);
    kb_index_stack_text(st, &r->stack_text);
    kb_index_frames_json(st, &r->frames);
    r->frames_at[i + 1] = r->frames.len;
    for (size_t j = 0; j < st->nframes; j++, k++) r->norm_hash[k] = st->frames[j].norm ? kb_str_hash(st->frames[j].norm) : 0;
  }
  rows_names(r, inc, nframes);
  return r;
}

void kb_index_rows_free(kb_index_rows *r) {
  if (!r) return;
  free(r->tags_json);
  free(r->cats_json);
  free(r->params);
  free(r->ident_text);
  kb_buf_release(&r->tags_text);
  kb_buf_release(&r->idents_json);
  kb_buf_release(&r->stack_text);
  kb_buf_release(&r->frames);
  kb_buf_release(&r->names);
  for (size_t i = 0; i < r->nstacks; i++) free(r->reasons[i]);
  free(r->reasons);
  free(r->frames_at);
  free(r->norm_hash);
  free(r->name_hash);
  free(r);
}

void kb_index_add_rows(kb_index_writer *w, const kb_incident *inc, const kb_index_rows *r, int *rc) {
  if (*rc) return;
  sqlite3_stmt *q = w->ins_incident;
  bind_text(q, 1, inc->id);
  bind_text(q, 2, inc->slug);
  bind_text(q, 3, inc->url);
  bind_text(q, 4, inc->title);
  bind_text(q, 5, inc->has_date ? r->date : NULL);
  if (inc->has_date) sqlite3_bind_int64(q, 6, inc->date);
  bind_text(q, 7, inc->summary);
  bind_text(q, 8, r->tags_json);
  bind_text(q, 9, r->cats_json);
  bind_text(q, 10, inc->path);
  bind_text(q, 11, r->params ? r->params : "{}");
  bind_text(q, 12, r->idents_json.ptr);
  writer_step(w, q, rc);
  sqlite3_int64 row = sqlite3_last_insert_rowid(w->db);
  add_terms(w, row, "tag", &inc->tags, rc);
  add_terms(w, row, "category", &inc->categories, rc);
  add_bugchecks(w, row, &inc->idents, rc);
  add_stacks(w, row, &inc->md.stacks, r, rc);
  add_fts(w, row, inc, r, rc);
  add_names(w, row, r, rc);
}

void kb_index_set_meta(kb_index_writer *w, const char *key, const char *value, int *rc) {
  if (*rc) return;
  bind_text(w->ins_meta, 1, key);
  bind_text(w->ins_meta, 2, value);
  writer_step(w, w->ins_meta, rc);
}

const char *kb_index_errmsg(const kb_index_writer *w) { return w->errmsg; }

static void writer_finalize(kb_index_writer *w) {
  sqlite3_stmt *all[] = {w->ins_incident, w->ins_term,  w->ins_bugcheck, w->ins_stack,
                         w->ins_fts,      w->ins_meta,  w->ins_pack};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) sqlite3_finalize(all[i]);
}

static void writer_release(kb_index_writer *w) {
  if (w->spill_fd >= 0) close(w->spill_fd);
  kb_buf_release(&w->spill);
  kb_buf_release(&w->pack);
  kb_buf_release(&w->frames);
  norm_table_release(&w->norms);
  norm_table_release(&w->names);
  free(w->path);
  free(w);
}

/* Rewrite the file with each table's pages together, in key order (VACUUM INTO a sibling,
 * renamed over it). The build interleaves the pages of a dozen tables; a browser reading
 * the index over HTTP (the snapshot) then fetches one run of pages where it fetched one
 * page per request: fts_docsize, which bm25 reads for every hit, fell from 38 runs of
 * pages to 1 for a common word at 10,000 incidents. VACUUM INTO copies pages (1.6 s,
 * 40 MB at 10,000 incidents); an in-place VACUUM copies twice and took 300 MB. */
static void compact_into(kb_index_writer *w, const char *tmp, int *rc) {
  if (*rc) return;
  unlink(tmp);
  if (sqlite3_exec(w->db, "PRAGMA page_size=" KB_INDEX_STR(PUBLISHED_PAGE_SIZE), NULL, NULL, NULL) != SQLITE_OK)
    writer_fail(w, rc, "page size");
  sqlite3_stmt *st = writer_prepare(w, "VACUUM INTO ?", rc);
  if (st) {
    sqlite3_bind_text(st, 1, tmp, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) writer_fail(w, rc, "compact (VACUUM INTO)");
    sqlite3_finalize(st);
  }
}

/* The writer's part of the finish: frames, statistics, indexes, the full text merged. */
static void finish_tables(kb_index_writer *w, bool timings, int *rc) {
  double tf = kb_now();
  for (size_t i = 0; i < w->norms.n; i++) w->norms.v[i].last_stack = 0; /* postings restart */
  insert_stack_frames(w, rc);
  insert_frame_stats(w, rc);
  if (timings) fprintf(stderr, "kb: index %.3f s: frame_stats and frames\n", kb_now() - tf);
  writer_finalize(w);
  /* one statement at a time, so KB_TIMINGS can tell which step is slow */
  const char *sql = finish_sql;
  while (!*rc && *sql) {
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    double t0 = kb_now();
    if (sqlite3_prepare_v2(w->db, sql, -1, &st, &tail) != SQLITE_OK) writer_fail(w, rc, "finish");
    else if (st && sqlite3_step(st) != SQLITE_DONE) writer_fail(w, rc, "finish");
    if (timings && st) fprintf(stderr, "kb: index %.3f s: %.60s\n", kb_now() - t0, sqlite3_sql(st));
    sqlite3_finalize(st);
    sql = tail ? tail : "";
  }
  if (!*rc && sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) writer_fail(w, rc, "commit");
}

int kb_index_finish(kb_index_writer *w, char **err) {
  int rc = 0;
  bool timings = getenv("KB_TIMINGS") != NULL;
  names_job names = {.names = &w->names, .path = kb_xasprintf("%s.names", w->path)};
  pthread_t names_thread;
  bool threaded = pthread_create(&names_thread, NULL, names_main, &names) == 0;
  if (!threaded) names_main(&names);
  finish_tables(w, timings, &rc);
  char *tmp = kb_xasprintf("%s.compact", w->path);
  double tv = kb_now();
  compact_into(w, tmp, &rc);
  if (timings) fprintf(stderr, "kb: index %.3f s: VACUUM INTO\n", kb_now() - tv);
  if (threaded) pthread_join(names_thread, NULL);
  if (!rc && names.rc) {
    rc = -1;
    snprintf(w->errmsg, sizeof w->errmsg, "%s", names.errmsg);
  }
  double tn = kb_now();
  names_merge(w, tmp, names.path, &rc);
  if (timings) fprintf(stderr, "kb: index %.3f s: names copied in (written by their thread in %.3f s)\n",
                       kb_now() - tn, names.seconds);
  if (!rc && rename(tmp, w->path) != 0) writer_fail_errno(w, &rc, "cannot replace the index with its compacted copy");
  if (rc) unlink(tmp);
  unlink(names.path);
  free(names.path);
  free(tmp);
  if (rc) *err = kb_xstrdup(w->errmsg);
  if (sqlite3_close(w->db) != SQLITE_OK && !rc) {
    rc = -1;
    *err = kb_xstrdup("index: close failed");
  }
  writer_release(w);
  return rc;
}

void kb_index_abort(kb_index_writer *w) {
  if (!w) return;
  writer_finalize(w);
  sqlite3_close(w->db);
  writer_release(w);
}
