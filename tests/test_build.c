/* test_build.c - `kb build` end to end through the real binary: the bundled content,
 * the seed dropped in unchanged, the published files, the index answering an FTS5
 * query, every error path (exit status, `path:line:` message, nothing published, the
 * previous site left whole), --keep-going, --drafts, --base-url and usage errors. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "util/util.h"

static char *templates_dir(void) { return kb_xasprintf("%s/templates", harness_source_dir()); }

/* Run kb build; returns the exit status, output in *out / *err (caller frees). */
static int kb_build(const char *content, const char *out_dir, const char *extra, char **out, char **err) {
  char *tpl = templates_dir();
  char *cmd = kb_xasprintf("'%s' build --content '%s' --templates '%s' --out '%s' %s", harness_kb_binary(), content,
                           tpl, out_dir, extra ? extra : "");
  int rc = harness_run_cmd(cmd, out, err);
  free(cmd);
  free(tpl);
  return rc;
}

static bool exists(const char *dir, const char *rel) {
  char *p = kb_path_join(dir, rel);
  struct stat st;
  bool ok = stat(p, &st) == 0;
  free(p);
  return ok;
}

static char *read_rel(const char *dir, const char *rel) {
  char *p = kb_path_join(dir, rel);
  char *s = harness_read_file(p, NULL);
  free(p);
  return s;
}

/* ids of incidents matching an FTS5 query, in rank order, comma-separated. */
static char *fts_ids(const char *site, const char *query) {
  char *db_path = kb_path_join(site, "kb.sqlite");
  sqlite3 *db = NULL;
  kb_buf ids = KB_BUF_INIT;
  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT i.id FROM fts JOIN incidents i ON i.rowid = fts.rowid WHERE fts MATCH ?"
                       " ORDER BY rank", -1, &st, NULL);
    sqlite3_bind_text(st, 1, query, -1, SQLITE_TRANSIENT);
    while (st && sqlite3_step(st) == SQLITE_ROW) kb_buf_addf(&ids, "%s%s", ids.len ? "," : "", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  free(db_path);
  return kb_buf_detach(&ids, NULL);
}

static void test_bundled_content(void) {
  char *tmp = harness_tmpdir("build-bundled");
  char *content = kb_xasprintf("%s/content", harness_source_dir());
  char *out_dir = kb_path_join(tmp, "public"), *out = NULL, *err = NULL;
  int rc = kb_build(content, out_dir, NULL, &out, &err);
  CHECK(rc == 0);
  if (rc) fprintf(stderr, "%s", err);
  CHECK_CONTAINS(out, "kb: built ");
  const char *files[] = {"index.html", "404.html", "feed.xml", "sitemap.xml", "style.css", "kb.sqlite",
                         "tags/index.html", "categories/index.html", "tags/bsod/index.html",
                         "incidents/kb2887595-mslbfoprovider-bugcheck/index.html"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (!exists(out_dir, files[i])) harness_fail(__FILE__, __LINE__, "missing %s", files[i]);
  char *page = read_rel(out_dir, "incidents/kb2887595-mslbfoprovider-bugcheck/index.html");
  CHECK_CONTAINS(page, "<td class=\"fn\">vmqcGetFirstMappedMNic"); /* the stack table */
  CHECK_CONTAINS(page, "KB2887595");
  CHECK_CONTAINS(page, "IRQL_NOT_LESS_OR_EQUAL");
  CHECK_CONTAINS(page, "<a href=\"/tags/bsod/\">bsod</a>");
  CHECK_CONTAINS(page, "<code class=\"language-text\">");
  char *ids = fts_ids(out_dir, "vmqcGetFirstMappedMNic");
  CHECK(ids && strncmp(ids, "kb-0001", 7) == 0);
  free(ids);
  ids = fts_ids(out_dir, "KB2887595");
  CHECK(ids && strncmp(ids, "kb-0001", 7) == 0);
  free(ids);
  char *home = read_rel(out_dir, "index.html");
  CHECK_CONTAINS(home, "/incidents/kb2887595-mslbfoprovider-bugcheck/");
  char *feed = read_rel(out_dir, "feed.xml");
  CHECK_CONTAINS(feed, "<feed xmlns=\"http://www.w3.org/2005/Atom\">");
  CHECK_CONTAINS(feed, "urn:kb:incident:kb-0001");
  char *sitemap = read_rel(out_dir, "sitemap.xml");
  CHECK_CONTAINS(sitemap, "<loc>/incidents/kb2887595-mslbfoprovider-bugcheck/</loc>");
  /* no temporary folder left behind */
  char *listing = NULL;
  char *cmd = kb_xasprintf("ls -A '%s'", tmp);
  harness_run_cmd(cmd, &listing, NULL);
  CHECK_STR(listing, "public\n");
  free(cmd);
  free(listing);
  free(home);
  free(feed);
  free(sitemap);
  free(page);
  free(out);
  free(err);
  free(out_dir);
  free(content);
  free(tmp);
}

static void test_seed_dropped_in(void) {
  char *seed = kb_xasprintf("%s/seeds/000_da45cf2bb8d44c23.txt", harness_shared_dir());
  char *text = harness_read_file(seed, NULL);
  if (!text) {
    harness_skip("shared/seeds not found");
    free(seed);
    return;
  }
  char *tmp = harness_tmpdir("build-seed");
  char *md = kb_xasprintf("%s/content/000_da45cf2bb8d44c23.md", tmp);
  harness_write_file(md, text);
  char *content = kb_path_join(tmp, "content"), *out_dir = kb_path_join(tmp, "public"), *err = NULL;
  CHECK(kb_build(content, out_dir, "--base-url https://kb.example.org/ops/", NULL, &err) == 0);
  CHECK_CONTAINS(err, "double-encoded"); /* the repair is reported */
  char *page = read_rel(out_dir, "bsod-on-hyper-v-2012-r2-cluster-nodes-after-installing-kb2887595/index.html");
  CHECK_CONTAINS(page, "vmqcGetFirstMappedMNic");
  CHECK_CONTAINS(page, "href=\"/ops/style.css\"");
  CHECK_NOT_CONTAINS(page, "Ã¼");
  char *feed = read_rel(out_dir, "feed.xml");
  CHECK_CONTAINS(feed, "https://kb.example.org/ops/bsod-on-hyper-v-2012-r2-cluster-nodes-after-installing-kb2887595/");
  char *ids = fts_ids(out_dir, "vmqcGetFirstMappedMNic");
  CHECK_STR(ids, "2032");
  free(ids);
  free(feed);
  free(page);
  free(err);
  free(content);
  free(out_dir);
  free(md);
  free(tmp);
  free(text);
  free(seed);
}

static const char good_md[] = "---\ntitle: Good one\ndate: 2020-01-02\ntags: [disk]\n---\nFine.\n";

/* A bad file fails the build: message with path:line, exit 1, previous site untouched. */
static void test_error_keeps_previous_site(void) {
  char *tmp = harness_tmpdir("build-error");
  char *content = kb_path_join(tmp, "content"), *out_dir = kb_path_join(tmp, "public");
  char *good = kb_path_join(content, "good.md"), *bad = kb_path_join(content, "bad.md");
  harness_write_file(good, good_md);
  CHECK(kb_build(content, out_dir, NULL, NULL, NULL) == 0);
  char *before = read_rel(out_dir, "index.html");
  harness_write_file(bad, "---\ntitle: Bad\ndate: someday\n---\nx\n");
  char *err = NULL;
  CHECK(kb_build(content, out_dir, NULL, NULL, &err) == 1);
  CHECK_CONTAINS(err, "bad.md:3: error: unknown date");
  CHECK_CONTAINS(err, "nothing was published");
  char *after = read_rel(out_dir, "index.html");
  CHECK(before && after && strcmp(before, after) == 0);
  free(err);
  err = NULL;
  /* --keep-going publishes the good file and lists the bad one; status stays 1 */
  CHECK(kb_build(content, out_dir, "--keep-going", NULL, &err) == 1);
  CHECK_CONTAINS(err, "skipped 1 file");
  CHECK_CONTAINS(err, "bad.md");
  CHECK(exists(out_dir, "incidents/good/index.html"));
  free(err);
  free(before);
  free(after);
  free(good);
  free(bad);
  free(content);
  free(out_dir);
  free(tmp);
}

/* A broken template fails the build after the pages started: still nothing published. */
static void test_template_error_is_atomic(void) {
  char *tmp = harness_tmpdir("build-template");
  char *content = kb_path_join(tmp, "content"), *out_dir = kb_path_join(tmp, "public");
  char *good = kb_path_join(content, "good.md");
  harness_write_file(good, good_md);
  CHECK(kb_build(content, out_dir, NULL, NULL, NULL) == 0);
  char *tpl = kb_path_join(tmp, "templates");
  char *cmd = kb_xasprintf("cp -r '%s/templates' '%s' && printf '{{#incident}}unclosed' > '%s/incident.mustache'",
                           harness_source_dir(), tmp, tpl);
  CHECK(harness_run_cmd(cmd, NULL, NULL) == 0);
  char *cmd2 = kb_xasprintf("'%s' build --content '%s' --templates '%s' --out '%s'", harness_kb_binary(), content,
                            tpl, out_dir);
  char *err = NULL;
  CHECK(harness_run_cmd(cmd2, NULL, &err) == 1);
  CHECK_CONTAINS(err, "incident");
  CHECK(exists(out_dir, "incidents/good/index.html"));
  CHECK(exists(out_dir, "kb.sqlite"));
  free(err);
  free(cmd);
  free(cmd2);
  free(tpl);
  free(good);
  free(content);
  free(out_dir);
  free(tmp);
}

static void test_drafts_duplicates_and_reserved(void) {
  char *tmp = harness_tmpdir("build-drafts");
  char *content = kb_path_join(tmp, "content"), *out_dir = kb_path_join(tmp, "public");
  char *p1 = kb_path_join(content, "a.md"), *p2 = kb_path_join(content, "sub/draft.md");
  harness_write_file(p1, good_md);
  harness_write_file(p2, "---\ntitle: Not yet\ndraft: true\n---\nwip\n");
  CHECK(kb_build(content, out_dir, NULL, NULL, NULL) == 0);
  CHECK(!exists(out_dir, "incidents/draft/index.html"));
  CHECK(kb_build(content, out_dir, "--drafts", NULL, NULL) == 0);
  CHECK(exists(out_dir, "incidents/draft/index.html"));
  char *p3 = kb_path_join(content, "b.md"), *p4 = kb_path_join(content, "c.md"), *err = NULL;
  harness_write_file(p3, "---\ntitle: Same id\nid: a\n---\nx\n");
  harness_write_file(p4, "---\ntitle: Takes a site path\npermalink: /tags/\n---\nx\n");
  CHECK(kb_build(content, out_dir, NULL, NULL, &err) == 1);
  CHECK_CONTAINS(err, "id 'a' is also used by");
  CHECK_CONTAINS(err, "c.md:1: error: URL /tags/ is used by the site itself");
  free(err);
  free(p1);
  free(p2);
  free(p3);
  free(p4);
  free(content);
  free(out_dir);
  free(tmp);
}

static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

/* 120 incidents, 70 of them tagged: the home page and the tag page come in pages of
 * KB_LIST_PAGE_SIZE (50) cards, linked to each other; no page past the last; a
 * permalink under /page/ is refused (the pages' own paths). */
static void test_list_pages(void) {
  char *tmp = harness_tmpdir("build-pages");
  char *content = kb_path_join(tmp, "content"), *out_dir = kb_path_join(tmp, "public");
  for (int i = 0; i < 120; i++) {
    char *rel = kb_xasprintf("i%03d.md", i), *path = kb_path_join(content, rel);
    char *md = kb_xasprintf("---\ntitle: Incident number %d\ndate: 2024-01-01T00:%02d:%02d\n%s---\nText %d.\n", i,
                            i / 60, i % 60, i < 70 ? "tags: [paged]\n" : "", i);
    harness_write_file(path, md);
    free(md);
    free(path);
    free(rel);
  }
  CHECK(kb_build(content, out_dir, NULL, NULL, NULL) == 0);
  char *home = read_rel(out_dir, "index.html"), *p2 = read_rel(out_dir, "page/2/index.html");
  char *p3 = read_rel(out_dir, "page/3/index.html");
  CHECK(home && count_of(home, "<li class=\"card\">") == 50);
  CHECK(p2 && count_of(p2, "<li class=\"card\">") == 50);
  CHECK(p3 && count_of(p3, "<li class=\"card\">") == 20);
  CHECK(!exists(out_dir, "page/4/index.html") && !exists(out_dir, "page/1/index.html"));
  CHECK_CONTAINS(home, ">Incident number 119<"); /* newest first */
  CHECK_CONTAINS(p3, ">Incident number 0<");
  CHECK_CONTAINS(home, "<a href=\"/page/2/\" rel=\"next\">");
  CHECK_CONTAINS(home, "Page 1 of 3");
  CHECK_CONTAINS(p2, "<a href=\"/\" rel=\"prev\">");
  CHECK_CONTAINS(p2, "<a href=\"/page/3/\" rel=\"next\">");
  CHECK_CONTAINS(p2, "<ol class=\"cards\" start=\"51\">");
  CHECK_NOT_CONTAINS(p3, "rel=\"next\"");
  char *tag = read_rel(out_dir, "tags/paged/index.html"), *tag2 = read_rel(out_dir, "tags/paged/page/2/index.html");
  CHECK(tag && count_of(tag, "<li class=\"card\">") == 50 && tag2 && count_of(tag2, "<li class=\"card\">") == 20);
  CHECK_CONTAINS(tag, "70 incidents");
  CHECK_CONTAINS(tag2, "<a href=\"/tags/paged/\" rel=\"prev\">");
  CHECK(!exists(out_dir, "tags/paged/page/3/index.html"));
  char *bad = kb_path_join(content, "zz.md"), *err = NULL;
  harness_write_file(bad, "---\ntitle: Takes a list page\npermalink: /page/2/\n---\nx\n");
  CHECK(kb_build(content, out_dir, NULL, NULL, &err) == 1);
  CHECK_CONTAINS(err, "zz.md:1: error: URL /page/2/ is used by the site itself");
  free(err);
  free(bad);
  free(tag);
  free(tag2);
  free(home);
  free(p2);
  free(p3);
  free(content);
  free(out_dir);
  free(tmp);
}

/* SIGKILL in the middle of a build: the published site stays whole, and the next build
 * removes the killed build's temporary folder. */
static void test_killed_build_leaves_site_whole(void) {
  char *tmp = harness_tmpdir("build-killed");
  char *content = kb_path_join(tmp, "content"), *out_dir = kb_path_join(tmp, "public");
  for (int i = 0; i < 1500; i++) {
    char *p = kb_xasprintf("%s/n%04d.md", content, i);
    char *text = kb_xasprintf("---\ntitle: Incident %d\ndate: 2020-01-02\n---\n%s\n```\nnt!KeBugCheckEx\n"
                              "drv%d!Crash%d+0x1\nNDIS!NdisReturnNetBufferLists+0x72\n```\n",
                              i, "Some text about what happened, how we found it and what fixed it.", i, i);
    harness_write_file(p, text);
    free(p);
    free(text);
  }
  CHECK(kb_build(content, out_dir, NULL, NULL, NULL) == 0);
  char *before = read_rel(out_dir, "index.html");
  char *tpl = templates_dir();
  /* start a build, kill it while it works (several attempts at different moments). The
   * published site is then the old one, or (when the kill came after the swap, during the
   * clean-up) the whole new one, never a mix; its index opens and answers. At least one
   * kill must have found the build still running for the test to say anything. */
  int interrupted = 0;
  for (int delay_ms = 50; delay_ms <= 400; delay_ms += 175) {
    char *cmd = kb_xasprintf("'%s' build -q --content '%s' --templates '%s' --out '%s' & pid=$!; "
                             "sleep %d.%03d; kill -9 $pid 2>/dev/null && echo killed; wait $pid 2>/dev/null; true",
                             harness_kb_binary(), content, tpl, out_dir, delay_ms / 1000, delay_ms % 1000);
    char *said = NULL;
    harness_run_cmd(cmd, &said, NULL);
    interrupted += said && strstr(said, "killed") != NULL;
    free(said);
    free(cmd);
    char *after = read_rel(out_dir, "index.html");
    bool old = after && before && strcmp(before, after) == 0;
    bool whole_new = after && strstr(after, ">Incident 0<") && strstr(after, "Page 1 of 30"); /* 1,500 by 50 */
    CHECK(old || whole_new);
    free(after);
    CHECK(exists(out_dir, "incidents/n0000/index.html") && exists(out_dir, "incidents/n1499/index.html"));
    char *search = kb_xasprintf("'%s' search --site '%s' --json KeBugCheckEx", harness_kb_binary(), out_dir);
    char *found = NULL;
    CHECK(harness_run_cmd(search, &found, NULL) == 0);
    CHECK_CONTAINS(found, "\"total\":\t1500");
    free(found);
    free(search);
  }
  CHECK(interrupted > 0);
  /* the next build succeeds and leaves no temporary folder behind */
  CHECK(kb_build(content, out_dir, NULL, NULL, NULL) == 0);
  char *listing = NULL, *ls = kb_xasprintf("ls -A '%s'", tmp);
  harness_run_cmd(ls, &listing, NULL);
  CHECK_STR(listing, "content\npublic\n");
  free(listing);
  free(ls);
  free(tpl);
  free(before);
  free(content);
  free(out_dir);
  free(tmp);
}

static void test_usage(void) {
  char *out = NULL, *err = NULL;
  char *cmd = kb_xasprintf("'%s' --help", harness_kb_binary());
  CHECK(harness_run_cmd(cmd, &out, NULL) == 0);
  CHECK_CONTAINS(out, "build");
  free(cmd);
  free(out);
  cmd = kb_xasprintf("'%s' build --help", harness_kb_binary());
  CHECK(harness_run_cmd(cmd, &out, NULL) == 0);
  CHECK_CONTAINS(out, "--keep-going");
  free(cmd);
  free(out);
  const char *bad[] = {"", "frobnicate", "build --nope", "build extra-arg", "build --out", "build --out /"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cmd = kb_xasprintf("'%s' %s", harness_kb_binary(), bad[i]);
    int rc = harness_run_cmd(cmd, NULL, &err);
    if (rc != 2) harness_fail(__FILE__, __LINE__, "'kb %s' exited %d, want 2", bad[i], rc);
    CHECK_CONTAINS(err, "usage:");
    free(cmd);
    free(err);
  }
  char *tmp = harness_tmpdir("build-usage");
  char *missing = kb_path_join(tmp, "nope");
  char *out_dir = kb_path_join(tmp, "public");
  CHECK(kb_build(missing, out_dir, NULL, NULL, &err) == 1);
  CHECK_CONTAINS(err, "content folder not found");
  free(err);
  CHECK(kb_build(missing, out_dir, "--base-url 'javascript:x'", NULL, &err) == 1);
  free(err);
  free(missing);
  free(out_dir);
  free(tmp);
}

int main(void) {
  RUN(test_bundled_content);
  RUN(test_seed_dropped_in);
  RUN(test_error_keeps_previous_site);
  RUN(test_template_error_is_atomic);
  RUN(test_drafts_duplicates_and_reserved);
  RUN(test_list_pages);
  RUN(test_killed_build_leaves_site_whole);
  RUN(test_usage);
  return harness_done();
}
