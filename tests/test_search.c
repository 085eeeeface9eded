/* test_search.c - full-text search past its rank window, and the snippets and title
 * marks (core/search/highlight.c), against a real index built by `kb build`.
 *
 * The site: 1,250 incidents, newest first in the index, every one holding the word
 * "common"; one in seven says "rollbacks" where the others say "rollback"; the oldest
 * holds "common" four times. More match "common" than the rank window holds
 * (KB_SEARCH_RANK_BUDGET for one word), so paging runs through the window (bm25 order) and past it
 * (index order): every page together must give each match once. Two older incidents
 * carry Java stacks, for the part-of-a-name lookup. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "index/index.h"
#include "index/rank.h"
#include "index/reader.h"
#include "search/highlight.h"
#include "search/search.h"
#include "util/util.h"

#define SITE_N 1250

static char *site_dir;

static void build_site(void) {
  char *tmp = harness_tmpdir("search-site");
  char *content = kb_path_join(tmp, "content");
  site_dir = kb_path_join(tmp, "public");
  CHECK(kb_mkdirs(content) == 0);
  for (int i = 0; i < SITE_N; i++) {
    char *name = kb_xasprintf("%s/inc-%04d.md", content, i);
    /* dates one hour apart, incident 0 the newest: index order is i */
    time_t when = 1719788400 - (time_t)i * 3600; /* 2024-06-30T23:00:00Z */
    struct tm tm;
    gmtime_r(&when, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* lengths and repeats vary, so that bm25's scores do (test_rank_is_bm25) */
    char *md = kb_xasprintf("---\ntitle: Incident %d\nid: inc-%04d\ndate: %s\n---\n"
                            "The common path failed; the %s helped.%s%.*s%.*s\n",
                            i, i, date, i % 7 == 3 ? "rollbacks" : "rollback",
                            i == SITE_N - 1 ? " common common common" : "", (i % 5) * 5, " path path path path",
                            (i % 13) * 6, " alpha alpha alpha alpha alpha alpha alpha alpha alpha alpha alpha alpha");
    harness_write_file(name, md);
    free(md);
    free(name);
  }
  /* two incidents with stacks: names for the part-of-a-name lookup */
  const char *java = "---\ntitle: %s\nid: %s\ndate: 2020-01-0%dT00:00:00Z\n---\nA trace.\n\n```text\n"
                     "com.example.PoolExhaustedException: pool exhausted\n"
                     "\tat com.example.pool.ConnectionPool.borrowFromShard(ConnectionPool.java:212)\n"
                     "\tat com.example.orders.%s(OrderRepository.java:41)\n"
                     "\tat com.example.web.Dispatcher.invoke(Dispatcher.java:120)\n```\n";
  const char *who[][2] = {{"names-a", "OrderRepository.loadArchivedOrders"}, {"names-b", "OrderRepository.storeInvoice"}};
  for (int i = 0; i < 2; i++) {
    char *name = kb_xasprintf("%s/%s.md", content, who[i][0]);
    char *md = kb_xasprintf(java, who[i][0], who[i][0], i + 1, who[i][1]);
    harness_write_file(name, md);
    free(md);
    free(name);
  }
  harness_kb_build(content, site_dir);
  free(content);
  free(tmp);
}

static kb_index *open_index(void) { return harness_index_open(site_dir); }

static int id_number(const char *id) { return atoi(id + strlen("inc-")); }

/* Pages of 100 from offset 0 to the end: each match once; inside the window, scores
 * never rise; past it, index order (the incident's number). */
static void test_pages_through_and_past_the_window(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  static bool seen[SITE_N];
  int count = 0, past_prev = -1;
  double prev_score = 1e300;
  for (int offset = 0; offset < SITE_N + 100; offset += 100) {
    kb_search s;
    char *err = NULL;
    CHECK(kb_search_run(ix, "common", 100, offset, &s, &err) == 0);
    CHECK(s.total == SITE_N && !s.total_more);
    for (size_t i = 0; i < s.n; i++) {
      int k = id_number(s.v[i].id), pos = offset + (int)i;
      if (k < 0 || k >= SITE_N || seen[k]) harness_fail(__FILE__, __LINE__, "offset %d: %s again or unknown", pos, s.v[i].id);
      else seen[k] = true;
      count++;
      CHECK(s.ranked == KB_SEARCH_RANK_BUDGET);
      if (pos < (int)s.ranked) {
        CHECK(s.v[i].score <= prev_score);
        prev_score = s.v[i].score;
        CHECK(k < (int)s.ranked); /* the window holds the newest matches */
      } else {
        CHECK(k > past_prev);
        past_prev = k;
      }
    }
    kb_search_release(&s);
    free(err);
  }
  CHECK(count == SITE_N);
  kb_search s; /* three words: the window shrinks to a third */
  char *err = NULL;
  CHECK(kb_search_run(ix, "common path failed", 10, 0, &s, &err) == 0);
  CHECK(s.total == SITE_N && s.ranked == KB_SEARCH_RANK_BUDGET / 3 && s.n == 10);
  kb_search_release(&s);
  free(err);
  kb_index_close(ix);
}

/* Every score of every match of `fts` from kb_bm25, told the counts `dfs` (one int64
 * per phrase), equals FTS5's bm25. Returns the number of matches compared. */
static int compare_ranks(kb_index *ix, const char *fts, const int64_t *dfs, int phrases) {
  sqlite3_stmt *st = NULL;
  CHECK(sqlite3_prepare_v2(kb_index_db(ix), "SELECT rowid, rank, kb_bm25(fts, ?2, " KB_RANK_WEIGHTS ") FROM fts "
                           "WHERE fts MATCH ?1", -1, &st, NULL) == SQLITE_OK);
  sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, dfs, phrases * (int)sizeof *dfs, SQLITE_STATIC);
  int rows = 0, rc;
  double lo = 1e300, hi = -1e300;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    double bm25 = sqlite3_column_double(st, 1), ours = sqlite3_column_double(st, 2);
    /* the same operations in the same order give the same bits here (x86-64); a
     * compiler that fuses multiply-adds in one of the two may change the last few */
    if (fabs(bm25 - ours) > 1e-12 * fabs(bm25))
      harness_fail(__FILE__, __LINE__, "%s: row %lld: bm25 %.17g, kb_bm25 %.17g", fts, sqlite3_column_int64(st, 0),
                   bm25, ours);
    lo = bm25 < lo ? bm25 : lo;
    hi = bm25 > hi ? bm25 : hi;
    rows++;
  }
  CHECK(rc == SQLITE_DONE);
  CHECK(rows < 2 || lo < hi); /* the scores differ: the comparison means something */
  sqlite3_finalize(st);
  return rows;
}

/* kb_bm25 gives FTS5's bm25 scores exactly: with the counts search gives it (word_docs
 * for common words, -1 for the rest), with every count given, with none given. */
static void test_rank_is_bm25(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  /* word_docs has the common words, with fts_v's counts */
  CHECK(kb_index_common_word_docs(ix, "common", 6) == SITE_N);
  CHECK(kb_index_common_word_docs(ix, "Path", 4) == SITE_N);
  CHECK(kb_index_common_word_docs(ix, "rollbacks", 9) == -1); /* in 179: not common */
  CHECK(kb_index_word_docs(ix, "rollbacks", 9) == (SITE_N + 3) / 7);
  sqlite3_stmt *st = NULL;
  CHECK(sqlite3_prepare_v2(kb_index_db(ix),
                           "SELECT (SELECT count(*) FROM word_docs), (SELECT count(*) FROM fts_v WHERE doc >= "
                           "?1), (SELECT count(*) FROM word_docs w JOIN fts_v v ON v.term = w.word AND "
                           "v.doc = w.incidents)", -1, &st, NULL) == SQLITE_OK);
  sqlite3_bind_int(st, 1, KB_INDEX_COMMON_WORD);
  CHECK(sqlite3_step(st) == SQLITE_ROW);
  long long words = sqlite3_column_int64(st, 0);
  CHECK(words >= 6 && words == sqlite3_column_int64(st, 1) && words == sqlite3_column_int64(st, 2));
  sqlite3_finalize(st);
  const struct {
    const char *fts;
    int phrases;
    const char *words[3]; /* NULL: a phrase whose count search does not look up */
  } queries[] = {
      {"\"common\"", 1, {"common"}},
      {"\"common\" \"path\" \"failed\"", 3, {"common", "path", "failed"}},
      {"\"alpha\" \"rollbacks\"", 2, {"alpha", "rollbacks"}},
      {"\"path\" \"roll\"*", 2, {"path", NULL}},
      {"\"helped\" \"the common\"", 2, {"helped", NULL}},
  };
  for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
    int64_t search_dfs[3], exact[3], none[3] = {-1, -1, -1};
    int phrases = queries[q].phrases;
    for (int i = 0; i < phrases; i++) {
      const char *w = queries[q].words[i];
      search_dfs[i] = w ? kb_index_common_word_docs(ix, w, strlen(w)) : -1;
      exact[i] = w ? kb_index_word_docs(ix, w, strlen(w)) : -1;
    }
    int rows = compare_ranks(ix, queries[q].fts, search_dfs, phrases);
    CHECK(rows > 100);
    CHECK(compare_ranks(ix, queries[q].fts, exact, phrases) == rows);
    CHECK(compare_ranks(ix, queries[q].fts, none, phrases) == rows);
  }
  /* a blob of the wrong size: every count read, the same scores */
  int64_t two[2] = {1, 1};
  CHECK(compare_ranks(ix, "\"common\"", two, 2) == SITE_N);
  /* a count given is a count used: "common" said to be rare scores higher than bm25 */
  sqlite3_stmt *wrong = NULL;
  CHECK(sqlite3_prepare_v2(kb_index_db(ix), "SELECT count(*) FROM fts WHERE fts MATCH 'common' AND "
                           "kb_bm25(fts, ?1, " KB_RANK_WEIGHTS ") < rank", -1, &wrong, NULL) == SQLITE_OK);
  sqlite3_bind_blob(wrong, 1, two, (int)sizeof two[0], SQLITE_STATIC);
  CHECK(sqlite3_step(wrong) == SQLITE_ROW && sqlite3_column_int(wrong, 0) == SITE_N);
  sqlite3_finalize(wrong);
  kb_index_close(ix);
}

/* kb_search_run ranks with the counts search.c works out from the user's text: a word
 * with punctuation around it is the word, a term without a word ("—") is no phrase, a
 * rare word is counted. Each query here has one rare word ("rollbacks", in 179), so
 * kb_bm25 counts exactly one phrase the slow way (every phrase when the list does not
 * line up with FTS5's phrases; two when the last word is a prefix); and each hit's score is bm25's, rounded as search
 * rounds it (a count given to the wrong phrase changes it: rollbacks' idf is most of it). */
static void test_search_counts_line_up(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  const struct {
    const char *text;
    unsigned long counted;
    bool prefix;
  } queries[] = {
      {"rollbacks alpha", 1, false},
      {"(rollbacks, path.", 1, false},
      {"\xe2\x80\x94 rollbacks Common", 1, false},
      {"helped rollbacks \xe2\x80\x94", 1, false},
      {"Incident: rollbacks", 1, false},
      /* no incident has both words: the last is a prefix ("rollback*", rollbacks too),
       * whose count is not the word rollback's; counted */
      {"rollbacks rollback", 2, true},
  };
  for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
    kb_search s;
    char *err = NULL;
    unsigned long before = kb_rank_phrases_counted();
    CHECK(kb_search_run(ix, queries[q].text, 20, 0, &s, &err) == 0);
    unsigned long counted = kb_rank_phrases_counted() - before;
    if (counted != queries[q].counted)
      harness_fail(__FILE__, __LINE__, "%s: %lu phrases counted, want %lu", queries[q].text, counted, queries[q].counted);
    CHECK(s.n == 20);
    char *fts = kb_search_fts_query(queries[q].text);
    if (!queries[q].prefix) fts[strlen(fts) - 1] = '\0'; /* the last word is whole */
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(kb_index_db(ix), "SELECT rank FROM fts WHERE fts MATCH ?1 AND rowid = ?2", -1, &st,
                             NULL) == SQLITE_OK);
    for (size_t i = 0; i < s.n; i++) {
      sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 2, s.v[i].rowid);
      CHECK(sqlite3_step(st) == SQLITE_ROW);
      double want = round(-sqlite3_column_double(st, 0) * 1000) / 1000;
      if (want != s.v[i].score || want < 1.0)
        harness_fail(__FILE__, __LINE__, "%s: %s scores %g, bm25 %g", queries[q].text, s.v[i].id, s.v[i].score, want);
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    free(fts);
    kb_search_release(&s);
    free(err);
  }
  kb_index_close(ix);
}

/* "rollback" is a whole word of the index: the word only. "rollb" is not: a prefix. */
static void test_whole_word_is_not_a_prefix(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  int with_s = 0;
  for (int i = 0; i < SITE_N; i++) with_s += i % 7 == 3;
  kb_search s;
  char *err = NULL;
  CHECK(kb_search_run(ix, "rollback", 10, 0, &s, &err) == 0);
  CHECK(s.total == SITE_N - with_s);
  kb_search_release(&s);
  CHECK(kb_search_run(ix, "rollbacks", 10, 0, &s, &err) == 0);
  CHECK(s.total == with_s);
  kb_search_release(&s);
  CHECK(kb_search_run(ix, "rollb", 10, 0, &s, &err) == 0);
  CHECK(s.total == SITE_N);
  kb_search_release(&s);
  CHECK(kb_search_run(ix, "path rollbac", 10, 0, &s, &err) == 0); /* a 7-letter prefix: past the prefix indexes */
  CHECK(s.total == SITE_N);
  if (s.n) CHECK_CONTAINS(s.v[0].snippet, "<mark>rollbac</mark>");
  kb_search_release(&s);
  free(err);
  kb_index_close(ix);
}

static bool has_id(const kb_search *s, const char *id) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i].id, id) == 0) return true;
  return false;
}

/* Parts of names (the trigram table over the index's distinct names): each term must be
 * inside some name of the incident, not necessarily the same one. */
static void test_parts_of_names(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  kb_search s;
  char *err = NULL;
  CHECK(kb_search_run(ix, "FromShard", 10, 0, &s, &err) == 0);
  CHECK(s.n == 2 && has_id(&s, "names-a") && has_id(&s, "names-b"));
  kb_search_release(&s);
  CHECK(kb_search_run(ix, "FromShard ArchivedOrd", 10, 0, &s, &err) == 0); /* two names of names-a */
  CHECK(s.n == 1 && has_id(&s, "names-a"));
  kb_search_release(&s);
  CHECK(kb_search_run(ix, "archivedord storeinv", 10, 0, &s, &err) == 0); /* in no one incident */
  CHECK(s.n == 0 && s.total == 0);
  kb_search_release(&s);
  CHECK(kb_search_run(ix, "PoolExhausted", 10, 0, &s, &err) == 0); /* part of an identifier */
  CHECK(s.n == 2);
  kb_search_release(&s);
  free(err);
  kb_index_close(ix);
}

static char *snippet(const char *query, const char *a, const char *b) {
  kb_highlight_terms t;
  kb_highlight_terms_init(&t, query);
  const char *texts[] = {a, b};
  char *s = kb_highlight_snippet(texts, 2, &t);
  kb_highlight_terms_release(&t);
  return s;
}

static void test_snippets(void) {
  char *s = snippet("disk full", "Nothing here.", "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 "
                                                  "disk w22 w23 w24 full w26 w27 w28 w29 w30 w31 w32 w33 w34 w35 w36 w37");
  /* the window with both terms, moved back for context, cut on both sides */
  CHECK_CONTAINS(s, "<mark>disk</mark> w22 w23 w24 <mark>full</mark>");
  CHECK(strncmp(s, "…", strlen("…")) == 0);
  CHECK(strcmp(s + strlen(s) - strlen("…"), "…") == 0);
  free(s);
  /* more distinct terms win over more hits; the earlier text wins a tie */
  s = snippet("disk full", "disk disk disk", "disk full");
  CHECK_STR(s, "<mark>disk</mark> <mark>full</mark>");
  free(s);
  s = snippet("disk", "a disk", "the disk");
  CHECK_STR(s, "a <mark>disk</mark>");
  free(s);
  /* no term anywhere: the first words of the first text that has any */
  s = snippet("absent", NULL, "First words of the body.");
  CHECK_STR(s, "First words of the body.");
  free(s);
  /* escaped before marking; case folded for ASCII; short terms only at a word's start */
  s = snippet("script ab", "x <SCRIPT>alert(1)</script> abc cab", NULL);
  CHECK_STR(s, "x &lt;<mark>SCRIPT</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; <mark>ab</mark>c cab");
  free(s);
  /* one word of 100 KB: the snippet stays small and ends on a whole UTF-8 character */
  size_t big = 100000;
  char *blob = kb_xmalloc(big + 1);
  for (size_t i = 0; i < big; i += 2) memcpy(blob + i, "\xc3\xa9", 2);
  blob[big] = '\0';
  s = snippet("zz", blob, NULL);
  CHECK(strlen(s) < 1024);
  size_t n = strlen(s) - strlen("…");
  CHECK(n % 2 == 0 && strcmp(s + n, "…") == 0);
  free(s);
  free(blob);
  kb_highlight_terms t;
  kb_highlight_terms_init(&t, "vmqc \"<b>\"");
  char *h = kb_highlight_html("MsLbfoProvider!vmqcGetFirstMappedMNic <b>", &t);
  CHECK_STR(h, "MsLbfoProvider!<mark>vmqc</mark>GetFirstMappedMNic &lt;<mark>b</mark>&gt;");
  free(h);
  kb_highlight_terms_release(&t);
}

int main(void) {
  RUN(test_snippets);
  build_site();
  RUN(test_pages_through_and_past_the_window);
  RUN(test_rank_is_bm25);
  RUN(test_search_counts_line_up);
  RUN(test_whole_word_is_not_a_prefix);
  RUN(test_parts_of_names);
  free(site_dir);
  return harness_done();
}
