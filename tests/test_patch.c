/* test_patch.c - an edit of an incident's prose applied in place (kb serve --watch):
 * the build session (gen.h) rewrites the page and patches the index
 * (core/index/patch.c); everything more than prose is left to a full build.
 *
 * The site: three incidents, one with a Java stack and a KB number. Each test edits the
 * files, asks the session to apply the edit, and checks the published site against
 * what a full build of the same files gives. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen.h"
#include "harness.h"
#include "index/index.h"
#include "index/reader.h"
#include "search/search.h"
#include "util/util.h"

static char *content, *site, *page_a, *file_a, *index_path;
static kb_build_session *session;

static const char *const incident_a =
    "---\ntitle: Order service stalls\nid: inc-a\ndate: 2024-05-02T10:00:00Z\ntags: [orders]\n---\n"
    "The order service stopped answering after KB5001234 was installed. Every request waited for a "
    "database connection until the load balancer's health check took the nodes out one after the other; "
    "the queue in front of the service grew to forty thousand orders before anyone was paged.\n\n"
    "## Stack\n\n```text\n"
    "com.example.PoolExhaustedException: pool exhausted\n"
    "\tat com.example.pool.ConnectionPool.borrowFromShard(ConnectionPool.java:212)\n"
    "\tat com.example.orders.OrderRepository.loadArchivedOrders(OrderRepository.java:41)\n"
    "\tat com.example.web.Dispatcher.invoke(Dispatcher.java:120)\n```\n\n"
    "## Workaround\n\nRaise the pool size.\n";

static void write_a(const char *text) { harness_write_file(file_a, text); }

/* incident_a with `from` replaced by `to` (once). */
static void write_a_edited(const char *from, const char *to) {
  const char *at = strstr(incident_a, from);
  CHECK(at != NULL);
  if (!at) return;
  char *text = kb_xasprintf("%.*s%s%s", (int)(at - incident_a), incident_a, to, at + strlen(from));
  write_a(text);
  free(text);
}

static int edit(const char *path) {
  kb_build_stats st;
  const char *paths[] = {path};
  return kb_build_session_edit(session, paths, 1, &st);
}

static long long search_total(kb_index *ix, const char *q) {
  kb_search s = {0};
  char *err = NULL;
  long long total = kb_search_run(ix, q, 10, 0, &s, &err) == 0 ? s.total : -1;
  kb_search_release(&s);
  free(err);
  return total;
}

static ino_t inode_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* One text value of the index at `path`. Caller frees. */
static char *query_text(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *q = NULL;
  char *out = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    out = kb_xstrdup(sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0) : "(null)");
  sqlite3_finalize(q);
  sqlite3_close(db);
  return out ? out : kb_xstrdup("(none)");
}

static void session_build(void) {
  kb_build_stats st;
  CHECK(kb_build_session_build(session, true, &st) == 0);
}

static bool setup(void) {
  char *tmp = harness_tmpdir("patch");
  content = kb_path_join(tmp, "content");
  site = kb_path_join(tmp, "public");
  index_path = kb_path_join(site, KB_INDEX_FILE);
  page_a = kb_path_join(site, "incidents/inc-a/index.html");
  file_a = kb_path_join(content, "inc-a.md");
  CHECK(kb_mkdirs(content) == 0);
  write_a(incident_a);
  char *b = kb_path_join(content, "inc-b.md"), *c = kb_path_join(content, "inc-c.md");
  harness_write_file(b, "---\ntitle: Disk full on the build host\nid: inc-b\ndate: 2024-04-01T00:00:00Z\n---\n"
                        "The build host ran out of space.\n");
  harness_write_file(c, "---\ntitle: Certificate expired\nid: inc-c\ndate: 2024-03-01T00:00:00Z\ntags: [orders]\n---\n"
                        "The gateway certificate expired overnight.\n");
  free(b);
  free(c);
  static char templates[4096];
  snprintf(templates, sizeof templates, "%s/templates", harness_source_dir());
  kb_build_opts o = {.content_dir = content, .templates_dir = templates, .out_dir = site, .base_url = "/",
                     .quiet = true};
  session = kb_build_session_new(&o, 2);
  session_build();
  free(tmp);
  return harness_checks_failed == 0;
}

/* A paragraph added at the end: the page shows it at once, and an index handle opened
 * before the edit (live) finds it; the index file is the same file, edited. */
static void test_prose_edit_in_place(void) {
  char *err = NULL;
  kb_index *live = kb_index_open_live(index_path, &err);
  CHECK(live != NULL);
  free(err);
  if (!live) return;
  CHECK(search_total(live, "quokkaglade") == 0);
  ino_t before = inode_of(index_path);
  write_a_edited("Raise the pool size.\n", "Raise the pool size.\n\nThe quokkaglade flag also helped.\n");
  CHECK(edit(file_a) == 0);
  CHECK(inode_of(index_path) == before);
  CHECK(search_total(live, "quokkaglade") == 1);
  CHECK(search_total(live, "gateway") == 1); /* the other incidents are as they were */
  CHECK(search_total(live, "OrderRepository") == 1);
  char *page = harness_read_file(page_a, NULL);
  CHECK_CONTAINS(page, "quokkaglade");
  free(page);
  kb_index_close(live);
  /* FTS5's own check of the index against its content */
  sqlite3 *db = NULL;
  CHECK(sqlite3_open(index_path, &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "INSERT INTO fts(fts, rank) VALUES('integrity-check', 1)", NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
}

/* Text added above the stack moves it down: the patched index holds the line a full
 * build of the same file gives, and the same body text. */
static void test_patch_equals_full_build(void) {
  write_a_edited("## Stack\n", "A second paragraph, above the stack.\n\nAnd a third.\n\n## Stack\n");
  CHECK(edit(file_a) == 0);
  char *fresh_tmp = harness_tmpdir("patch-fresh"), *fresh = kb_path_join(fresh_tmp, "public");
  harness_kb_build(content, fresh);
  char *fresh_index = kb_path_join(fresh, KB_INDEX_FILE);
  const char *sqls[] = {
      "SELECT group_concat(seq || ':' || line) FROM stacks WHERE incident = (SELECT rowid FROM incidents WHERE id = 'inc-a')",
      "SELECT body FROM fts WHERE ref_id = 'inc-a'",
      "SELECT summary FROM incidents WHERE id = 'inc-a'",
  };
  for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
    char *patched = query_text(index_path, sqls[i]), *built = query_text(fresh_index, sqls[i]);
    CHECK_STR(patched, built);
    free(patched);
    free(built);
  }
  char *line = query_text(index_path, sqls[0]);
  CHECK_STR(line, "0:16"); /* the stack moved from line 12 to 16 */
  free(line);
  free(fresh_index);
  free(fresh);
  free(fresh_tmp);
}

/* Each edit that other pages or rows depend on is refused (1) and changes nothing. (The
 * summary is the text's first 240 characters or so: the first paragraph above is longer,
 * so that the edits of the other tests, after it, leave it as it was.) */
static void test_more_than_prose_rebuilds(void) {
  write_a(incident_a);
  session_build();
  const char *edits[][2] = {
      {"title: Order service stalls", "title: Order service stalled"},          /* title */
      {"tags: [orders]", "tags: [orders, pool]"},                               /* tags */
      {"The order service stopped", "The order API stopped"},                   /* summary */
      {"Raise the pool size.", "Raise the pool size (see KB5009999)."},         /* identifiers */
      {"OrderRepository.java:41", "OrderRepository.java:44"},                   /* a frame */
      {"loadArchivedOrders", "loadOrders"},                                     /* a frame's name */
      {"date: 2024-05-02T10:00:00Z", "date: 2024-05-03T10:00:00Z"},             /* date */
  };
  char *page_before = harness_read_file(page_a, NULL);
  char *body_before = query_text(index_path, "SELECT body || title || tags FROM fts WHERE ref_id = 'inc-a'");
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    write_a_edited(edits[i][0], edits[i][1]);
    if (edit(file_a) != KB_INDEX_PATCH_REBUILD) harness_fail(__FILE__, __LINE__, "edit %zu was applied", i);
    char *page = harness_read_file(page_a, NULL), *body = query_text(index_path, "SELECT body || title || tags FROM fts WHERE ref_id = 'inc-a'");
    CHECK_STR(page, page_before);
    CHECK_STR(body, body_before);
    free(page);
    free(body);
  }
  free(page_before);
  free(body_before);
  write_a(incident_a);
}

/* What the watcher reports: files the build does not read are ignored; folders, files
 * outside the content folder, new and deleted incident files need a full build. */
static void test_paths(void) {
  session_build();
  kb_build_stats st;
  char *swap = kb_path_join(content, ".inc-a.md.swp"), *txt = kb_path_join(content, "notes.txt");
  char *folder = kb_xasprintf("%s/2024/", content), *tmpl = kb_xasprintf("%s/templates/base.mustache", harness_source_dir());
  char *fresh = kb_path_join(content, "inc-new.md"), *gone = kb_path_join(content, "inc-b.md");
  const char *ignored[] = {swap, txt};
  CHECK(kb_build_session_edit(session, ignored, 2, &st) == 0);
  CHECK(st.incidents == 0);
  const char *rebuild[] = {folder, tmpl, fresh, ""};
  for (size_t i = 0; i < sizeof rebuild / sizeof rebuild[0]; i++) {
    const char *one[] = {rebuild[i]};
    CHECK(kb_build_session_edit(session, one, 1, &st) == KB_INDEX_PATCH_REBUILD);
  }
  char *saved = harness_read_file(gone, NULL);
  CHECK(unlink(gone) == 0);
  CHECK(edit(gone) == KB_INDEX_PATCH_REBUILD);
  harness_write_file(gone, saved);
  /* two prose edits at once, with a temporary file of sed among them */
  write_a_edited("Raise the pool size.\n", "Raise the pool size.\n\nNumbatwhistle.\n");
  const char *both[] = {txt, file_a, gone};
  CHECK(kb_build_session_edit(session, both, 3, &st) == 0);
  CHECK(st.incidents == 2);
  kb_index *ix = harness_index_open(site);
  CHECK(ix && search_total(ix, "numbatwhistle") == 1);
  kb_index_close(ix);
  free(saved);
  free(swap);
  free(txt);
  free(folder);
  free(tmpl);
  free(fresh);
  free(gone);
}

/* A draft the site leaves out, saved again and again while it is written: nothing
 * published changes, so nothing is done. A site that a `kb build` from elsewhere
 * published meanwhile: the session knows nothing of it, a full build is needed. */
static void test_drafts_and_foreign_builds(void) {
  session_build();
  kb_build_stats st;
  char *draft = kb_path_join(content, "inc-draft.md");
  harness_write_file(draft, "---\ntitle: Not yet\nid: inc-draft\ndraft: true\n---\nHalf written.\n");
  const char *one[] = {draft};
  CHECK(kb_build_session_edit(session, one, 1, &st) == 0);
  CHECK(st.incidents == 0);
  harness_write_file(draft, "---\ntitle: Not yet\nid: inc-draft\n---\nPublished now.\n"); /* no longer a draft */
  CHECK(kb_build_session_edit(session, one, 1, &st) == KB_INDEX_PATCH_REBUILD);
  CHECK(unlink(draft) == 0);
  harness_kb_build(content, site); /* another build swaps the site: a new index file */
  write_a_edited("Raise the pool size.\n", "Raise the pool size.\n\nWombatquill.\n");
  CHECK(edit(file_a) == KB_INDEX_PATCH_REBUILD);
  session_build();
  CHECK(edit(file_a) == 0);
  write_a(incident_a);
  free(draft);
}

/* Many edits do not pile up full-text segments that every query would then read. */
static void test_many_edits_merge(void) {
  session_build();
  for (int i = 0; i < 40; i++) {
    char *para = kb_xasprintf("Raise the pool size.\n\nEdit number %d.\n", i);
    write_a_edited("Raise the pool size.\n", para);
    CHECK(edit(file_a) == 0);
    free(para);
  }
  char *segments = query_text(index_path, "SELECT count(DISTINCT segid) FROM fts_idx");
  CHECK(atoi(segments) <= 12); /* 41 without FTS5's automatic merging */
  free(segments);
  kb_index *ix = harness_index_open(site);
  CHECK(ix && search_total(ix, "number") == 1);
  kb_index_close(ix);
  write_a(incident_a);
}

/* A process killed in the middle of an edit leaves a rollback journal: readers refuse
 * the index (an immutable handle would read half-written pages), and recovery (what
 * kb serve --watch does when it starts) removes it, with the index as before. */
static void test_interrupted_edit(void) {
  session_build();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    sqlite3 *db = NULL;
    sqlite3_open(index_path, &db);
    sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE fts SET body = 'gone' WHERE ref_id = 'inc-a'", NULL, NULL, NULL);
    raise(SIGKILL);
  }
  CHECK(pid > 0 && waitpid(pid, NULL, 0) == pid);
  char *journal = kb_xasprintf("%s-journal", index_path), *err = NULL;
  CHECK(access(journal, F_OK) == 0);
  kb_index *ix = kb_index_open(index_path, &err);
  CHECK(ix == NULL);
  CHECK_CONTAINS(err, "interrupted");
  free(err);
  err = NULL;
  CHECK(kb_index_patch_recover(index_path, &err) == 1);
  CHECK(access(journal, F_OK) != 0);
  CHECK(kb_index_patch_recover(index_path, &err) == 0);
  ix = harness_index_open(site);
  CHECK(ix && search_total(ix, "pool") == 1 && search_total(ix, "gone") == 0);
  kb_index_close(ix);
  free(err);
  free(journal);
}

/* The index API on its own: an incident the index does not have is refused. */
static void test_unknown_incident(void) {
  char *err = NULL;
  kb_index_patch *p = kb_index_patch_begin(index_path, &err);
  CHECK(p != NULL);
  kb_diags d = {0};
  char *other = kb_path_join(content, "inc-c.md");
  kb_incident *inc = kb_incident_load(other, &d);
  CHECK(inc != NULL);
  if (p && inc) {
    CHECK(kb_index_patch_body(p, inc, &err) == 0); /* as it is */
    free(inc->title);
    inc->title = kb_xstrdup("Certificate renewed"); /* what the pages list */
    CHECK(kb_index_patch_body(p, inc, &err) == KB_INDEX_PATCH_REBUILD);
    free(inc->id);
    inc->id = kb_xstrdup("inc-unknown");
    CHECK(kb_index_patch_body(p, inc, &err) == KB_INDEX_PATCH_REBUILD);
  }
  kb_index_patch_abort(p);
  kb_incident_free(inc);
  kb_diags_release(&d);
  free(other);
  free(err);
  /* not an index */
  char *bogus = kb_path_join(content, "inc-c.md");
  CHECK(kb_index_patch_begin(bogus, &err) == NULL);
  CHECK(err != NULL);
  free(err);
  free(bogus);
}

/* One statement on the index at `path`, read-write. */
static int exec_sql(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open(path, &db) == SQLITE_OK ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_ERROR;
  sqlite3_close(db);
  return rc;
}

/* word_docs (the counts of common words, for ranking) follows an edit's words. None is
 * common in three incidents, so every word of the index is entered as one first: the
 * edit drops words only inc-a's body has, adds one only inc-c had, and repeats words
 * the title and the stack have; each count must then equal fts_v's (what a full build would store). */
static void test_word_docs_follow_edits(void) {
  /* words the tokenizer's arguments decide: folded diacritics, '_' inside a word */
  write_a_edited("Raise the pool size.\n", "Raise the pool size.\n\nA na\xc3\xafve max_pool_size did not help.\n");
  session_build();
  CHECK(exec_sql(index_path, "INSERT INTO word_docs SELECT term, doc FROM fts_v") == SQLITE_OK);
  char *words = query_text(index_path, "SELECT count(*) FROM word_docs");
  CHECK(atoi(words) > 50);
  free(words);
  write_a_edited("Raise the pool size.", "Grow the gateway pool for every order.");
  char *naive = query_text(index_path, "SELECT incidents FROM word_docs WHERE word = 'naive'");
  CHECK_STR(naive, "1");
  free(naive);
  CHECK(edit(file_a) == 0);
  const char *checks[][2] = {
      {"SELECT count(*) FROM word_docs w LEFT JOIN fts_v v ON v.term = w.word WHERE coalesce(v.doc, 0) != w.incidents",
       "0"},
      {"SELECT incidents FROM word_docs WHERE word = 'gateway'", "2"},
      {"SELECT incidents FROM word_docs WHERE word = 'raise'", "0"},
      {"SELECT incidents FROM word_docs WHERE word = 'order'", "1"},
      {"SELECT incidents FROM word_docs WHERE word = 'pool'", "1"},
      {"SELECT incidents FROM word_docs WHERE word = 'naive'", "0"},
      {"SELECT incidents FROM word_docs WHERE word = 'max_pool_size'", "0"},
  };
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
    char *got = query_text(index_path, checks[i][0]);
    CHECK_STR(got, checks[i][1]);
    free(got);
  }
  write_a(incident_a); /* and back */
  CHECK(edit(file_a) == 0);
  char *off = query_text(index_path, checks[0][0]), *raise = query_text(index_path, checks[2][0]);
  CHECK_STR(off, "0");
  CHECK_STR(raise, "1");
  free(off);
  free(raise);
}

int main(void) {
  if (!setup()) return harness_done();
  RUN(test_prose_edit_in_place);
  RUN(test_patch_equals_full_build);
  RUN(test_more_than_prose_rebuilds);
  RUN(test_paths);
  RUN(test_drafts_and_foreign_builds);
  RUN(test_many_edits_merge);
  RUN(test_interrupted_edit);
  RUN(test_unknown_incident);
  RUN(test_word_docs_follow_edits);
  kb_build_session_free(session);
  free(content);
  free(site);
  free(page_a);
  free(file_a);
  free(index_path);
  return harness_done();
}
