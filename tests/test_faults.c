/* test_faults.c - what goes wrong around `kb serve` and `kb build`, with real parts:
 * the kb binary, real kb.sqlite files damaged on disk, a real server on a loopback
 * port, a real tmpfs that runs out of space.
 *
 *  - A damaged index (cut to half, header overwritten, empty, another schema version,
 *    not SQLite at all, SQLite but not kb's) is refused by `kb serve --no-build`,
 *    `kb search` and `kb match` with one line naming the file and what is wrong, exit
 *    1, no crash; damage inside the file is no crash either.
 *  - A running server that sees a damaged index published keeps answering from the
 *    build it had (and says so on stderr and in /healthz), then takes the next good one.
 *  - A build into a tmpfs too small for it fails with ENOSPC named, exit 1, the site
 *    published before byte for byte as it was and no temporary folder left (skipped
 *    when tmpfs cannot be mounted).
 *  - Hundreds of connections that send nothing, or a request a byte at a time, do not
 *    keep other clients waiting (under 2 s each), with the default limits and with a
 *    per-address limit.
 * SIGKILL in the middle of a build is test_build.c's test_killed_build_leaves_site_whole. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "httpc.h"
#include "util/util.h"

static char *tmp_dir, *good_site, *templates;

static int kb_build_into(const char *content, const char *out, char **err) {
  char *cmd = kb_xasprintf("'%s' build -q --content '%s' --templates '%s' --out '%s'", harness_kb_binary(), content,
                           templates, out);
  int rc = harness_run_cmd(cmd, NULL, err);
  free(cmd);
  return rc;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kb_buf cmd = KB_BUF_INIT;
  kb_buf_vaddf(&cmd, fmt, ap);
  va_end(ap);
  int rc = harness_run_cmd(cmd.ptr, NULL, NULL);
  kb_buf_release(&cmd);
  return rc;
}

static bool copy_tree(const char *from, const char *to) { return sh("rm -rf '%s' && cp -r '%s' '%s'", to, from, to) == 0; }

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; s && *s; s++) n += *s == '\n';
  return n;
}

/* ---------------------------------------------------------------- damaged indexes */

typedef enum { HALF, GARBAGE_HEADER, EMPTY, OTHER_VERSION, NOT_SQLITE, OTHER_SQLITE, N_DAMAGE } damage;

static const struct {
  const char *name, *says; /* what the one-line message must say */
} damages[] = {{"half", "truncated"},
               {"garbage-header", "not an SQLite database"},
               {"empty", "empty file"},
               {"version", "schema version 99"},
               {"not-sqlite", "not an SQLite database"},
               {"other-sqlite", "not a kb index"}};

static void sql(const char *path, const char *statement) {
  sqlite3 *db = NULL;
  if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, statement, NULL, NULL, NULL) != SQLITE_OK)
    harness_fail(__FILE__, __LINE__, "%s: %s: %s", path, statement, db ? sqlite3_errmsg(db) : "no memory");
  sqlite3_close(db);
}

/* Write a damaged copy of the good site's index to `path`. */
static void write_damaged(damage d, const char *path) {
  char *good = kb_path_join(good_site, "kb.sqlite");
  size_t len = 0;
  char *bytes = harness_read_file(good, &len);
  CHECK(bytes && len > 4096);
  if (!bytes) return;
  if (d == HALF) len /= 2;
  if (d == GARBAGE_HEADER) memset(bytes, 'x', 100);
  if (d == EMPTY) len = 0;
  remove(path);
  if (d == NOT_SQLITE) harness_write_file(path, "<!doctype html><title>not an index</title>\n");
  else if (d == OTHER_SQLITE) sql(path, "CREATE TABLE notes(text); INSERT INTO notes VALUES ('hello');");
  else if (kb_file_write(path, bytes, len) != 0) harness_fail(__FILE__, __LINE__, "cannot write %s", path);
  if (d == OTHER_VERSION) sql(path, "PRAGMA user_version = 99");
  free(bytes);
  free(good);
}

/* `kb CMD` on the damaged site: exit 1 (no signal, no hang) and exactly one line on
 * stderr naming the file and the damage. */
static void expect_refused(const char *site, damage d, const char *what, const char *cmd) {
  char *err = NULL;
  int rc = harness_run_cmd(cmd, NULL, &err);
  char *file = kb_path_join(site, "kb.sqlite");
  if (rc != 1) harness_fail(__FILE__, __LINE__, "%s (%s): exit %d, want 1; stderr: %s", what, damages[d].name, rc, err);
  if (count_lines(err) != 1 || !strstr(err, file) || !strstr(err, damages[d].says))
    harness_fail(__FILE__, __LINE__, "%s (%s): want one line naming %s and saying '%s'; got:\n%s", what,
                 damages[d].name, file, damages[d].says, err);
  free(file);
  free(err);
}

static void test_damaged_index_refused(void) {
  char *stack = kb_path_join(tmp_dir, "stack.txt");
  harness_write_file(stack, "nt!KeBugCheckEx\nMsLbfoProvider!vmqcGetFirstMappedMNic+0x42\n");
  for (damage d = 0; d < N_DAMAGE; d++) {
    char *site = kb_xasprintf("%s/damaged-%s", tmp_dir, damages[d].name);
    CHECK(copy_tree(good_site, site));
    char *file = kb_path_join(site, "kb.sqlite");
    write_damaged(d, file);
    /* `timeout`: a server that starts anyway must not hang the test */
    char *cmd = kb_xasprintf("timeout 20 '%s' serve --no-build --site '%s' --templates '%s' --port 0 --log off",
                             harness_kb_binary(), site, templates);
    expect_refused(site, d, "kb serve --no-build", cmd);
    free(cmd);
    cmd = kb_xasprintf("'%s' search --site '%s' vmqc", harness_kb_binary(), site);
    expect_refused(site, d, "kb search", cmd);
    free(cmd);
    cmd = kb_xasprintf("'%s' match --site '%s' '%s'", harness_kb_binary(), site, stack);
    expect_refused(site, d, "kb match", cmd);
    free(cmd);
    free(file);
    free(site);
  }
  free(stack);
}

/* Damage past the header (pages of the index overwritten) cannot all be seen at open:
 * whatever each command says, it must not crash, and the server must not either. */
static void test_damage_inside_is_no_crash(void) {
  char *site = kb_path_join(tmp_dir, "damaged-inside");
  CHECK(copy_tree(good_site, site));
  char *file = kb_path_join(site, "kb.sqlite");
  size_t len = 0;
  char *bytes = harness_read_file(file, &len);
  CHECK(bytes && len > 8 * 4096);
  if (!bytes) goto out;
  for (size_t at = 2 * 4096; at + 512 < len; at += 3 * 4096) memset(bytes + at + 100, 0x5a, 400); /* page bodies */
  CHECK(kb_file_write(file, bytes, len) == 0);
  char *cmd = kb_xasprintf("'%s' search --site '%s' vmqc live migration", harness_kb_binary(), site);
  int rc = harness_run_cmd(cmd, NULL, NULL);
  if (rc != 0 && rc != 1) harness_fail(__FILE__, __LINE__, "kb search on a damaged index: exit %d", rc);
  free(cmd);
  kbserve s;
  const char *argv[] = {harness_kb_binary(), "serve", "--no-build", "--site", site, "--templates", templates,
                        "--port", "0", "--log", "off", NULL};
  if (kbserve_start(&s, tmp_dir, "inside", argv, 60)) {
    const char *targets[] = {"/api/search?q=vmqc", "/api/search?q=windows", "/search?q=live+migration",
                             "/api/incidents/kb-0001", "/healthz", "/"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
      httpc_resp r;
      if (!httpc_get(s.port, targets[i], &r) || (r.status != 200 && r.status != 404 && r.status != 500 && r.status != 503))
        harness_fail(__FILE__, __LINE__, "GET %s on a damaged index: status %d", targets[i], r.status);
      httpc_resp_free(&r);
    }
    CHECK(kbserve_stop(&s, 10) == 0);
  } else {
    char *err = kbserve_stderr(&s);
    CHECK(count_lines(err) == 1 && strstr(err, file)); /* refused: one clear line */
    free(err);
  }
  kbserve_release(&s);
out:
  free(bytes);
  free(file);
  free(site);
}

/* ---------------------------------------------------------------- a damaged generation */

static cJSON *get_json(int port, const char *target, int want) {
  httpc_resp r;
  if (!httpc_get(port, target, &r) || r.status != want) {
    harness_fail(__FILE__, __LINE__, "GET %s: status %d, want %d", target, r.status, want);
    httpc_resp_free(&r);
    return NULL;
  }
  cJSON *o = cJSON_Parse(r.body);
  httpc_resp_free(&r);
  return o;
}

static double num(const cJSON *o, const char *key) { return cJSON_GetNumberValue(cJSON_GetObjectItem(o, key)); }

/* Search still finds kb-0001 and /healthz says which build is served. */
static void expect_serving(int port, double gen, bool stale) {
  cJSON *o = get_json(port, "/api/search?q=vmqc", 200);
  const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "results"), 0);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(first, "id")), "kb-0001");
  cJSON_Delete(o);
  o = get_json(port, "/api/incidents/kb-0001", 200);
  cJSON_Delete(o);
  o = get_json(port, "/healthz", 200);
  if (num(o, "generation") != gen) harness_fail(__FILE__, __LINE__, "generation %g, want %g", num(o, "generation"), gen);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "stale")) == stale);
  cJSON_Delete(o);
}

static void test_damaged_generation_keeps_old(void) {
  char *site = kb_path_join(tmp_dir, "live");
  CHECK(copy_tree(good_site, site));
  kbserve s;
  const char *argv[] = {harness_kb_binary(), "serve", "--no-build", "--site", site, "--templates", templates,
                        "--port", "0", "--log", "off", NULL};
  if (!kbserve_start(&s, tmp_dir, "live", argv, 60)) {
    harness_fail(__FILE__, __LINE__, "kb serve did not start");
    free(site);
    return;
  }
  cJSON *h = get_json(s.port, "/healthz", 200);
  double gen = num(h, "generation");
  cJSON_Delete(h);
  expect_serving(s.port, gen, false);
  char *file = kb_path_join(site, "kb.sqlite"), *next = kb_path_join(site, ".kb.sqlite.next");
  for (damage d = 0; d < N_DAMAGE; d++) {
    /* published as a build publishes: a new file renamed into place */
    write_damaged(d, next);
    CHECK(rename(next, file) == 0);
    expect_serving(s.port, gen, true);
    expect_serving(s.port, gen, true); /* and again: the refused file is not retried */
  }
  char *err = kbserve_stderr(&s);
  CHECK_CONTAINS(err, "still serving build");
  CHECK_CONTAINS(err, file);
  if (count_lines(err) != N_DAMAGE) harness_fail(__FILE__, __LINE__, "want one line per damaged index:\n%s", err);
  free(err);
  /* a good build published over it is taken at once */
  char *content = kb_path_join(tmp_dir, "live-content");
  char *source = kb_path_join(harness_source_dir(), "content");
  CHECK(copy_tree(source, content));
  free(source);
  char *md = kb_path_join(content, "added.md");
  harness_write_file(md, "---\ntitle: Published after the damage\nid: kb-7777\n---\nThe marmotquartz incident.\n");
  CHECK(kb_build_into(content, site, NULL) == 0);
  cJSON *o = get_json(s.port, "/api/incidents/kb-7777", 200);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "title")), "Published after the damage");
  cJSON_Delete(o);
  h = get_json(s.port, "/healthz", 200);
  CHECK(num(h, "generation") > gen);
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(h, "stale")));
  cJSON_Delete(h);
  CHECK(kbserve_stop(&s, 10) == 0);
  kbserve_release(&s);
  free(md);
  free(content);
  free(next);
  free(file);
  free(site);
}

/* ---------------------------------------------------------------- out of disk space */

/* Kilobytes the files under `dir` take (du -sk). */
static long disk_kb(const char *dir) {
  char *cmd = kb_xasprintf("du -sk '%s' | cut -f1", dir), *out = NULL;
  long kb = harness_run_cmd(cmd, &out, NULL) == 0 ? atol(out) : -1;
  free(out);
  free(cmd);
  return kb;
}

/* Incidents with distinct words, so that their pages and their full-text index are big. */
static void write_big_content(const char *dir, int n) {
  unsigned seed = 12345;
  for (int i = 0; i < n; i++) {
    kb_buf b = KB_BUF_INIT;
    kb_buf_addf(&b, "---\ntitle: Big incident %d\nid: big-%d\n---\n", i, i);
    for (int w = 0; w < 2500; w++) {
      seed = seed * 1103515245u + 12345u;
      kb_buf_addf(&b, "w%05x%s", (seed >> 8) & 0xfffff, w % 12 == 11 ? "\n" : " ");
    }
    char *path = kb_xasprintf("%s/big-%03d.md", dir, i);
    harness_write_file(path, b.ptr);
    free(path);
    kb_buf_release(&b);
  }
}

static bool temp_left(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  bool found = false;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".tmp-")) found = true;
  if (d) closedir(d);
  return found;
}

/* One tmpfs of `size_kb`: publish the small site, then try the big one. */
static void enospc_once(const char *mnt, long size_kb, const char *small, const char *big) {
  if (sh("mount -t tmpfs -o size=%ldk tmpfs '%s'", size_kb, mnt) != 0) {
    harness_fail(__FILE__, __LINE__, "mount -t tmpfs failed (it worked a moment ago)");
    return;
  }
  char *out = kb_path_join(mnt, "public"), *copy = kb_xasprintf("%s-before", mnt), *err = NULL;
  CHECK(kb_build_into(small, out, NULL) == 0);
  CHECK(copy_tree(out, copy));
  int rc = kb_build_into(big, out, &err);
  if (rc != 1) harness_fail(__FILE__, __LINE__, "build into %ld KiB: exit %d, want 1", size_kb, rc);
  if (!strstr(err, "No space left on device"))
    harness_fail(__FILE__, __LINE__, "build into %ld KiB: ENOSPC not named:\n%s", size_kb, err);
  CHECK_CONTAINS(err, "nothing was published");
  if (sh("diff -r '%s' '%s'", copy, out) != 0)
    harness_fail(__FILE__, __LINE__, "build into %ld KiB: the published site changed", size_kb);
  if (temp_left(mnt)) harness_fail(__FILE__, __LINE__, "build into %ld KiB: a temporary folder was left", size_kb);
  printf("tmpfs %ld KiB: %s", size_kb, err);
  CHECK(sh("umount '%s'", mnt) == 0);
  free(err);
  free(copy);
  free(out);
}

static void test_out_of_space(void) {
  char *dir = kb_path_join(tmp_dir, "enospc");
  char *mnt = kb_path_join(dir, "mnt"), *small = kb_path_join(dir, "small"), *big = kb_path_join(dir, "big");
  CHECK(kb_mkdirs(mnt) == 0 && kb_mkdirs(small) == 0 && kb_mkdirs(big) == 0);
  char *why = NULL, *cmd = kb_xasprintf("mount -t tmpfs -o size=1m tmpfs '%s' && umount '%s'", mnt, mnt);
  int can = harness_run_cmd(cmd, NULL, &why);
  free(cmd);
  if (can != 0) {
    char *msg = kb_xasprintf("cannot mount a tmpfs here (%s)", why);
    harness_skip(msg);
    free(msg);
    goto out;
  }
  char *one = kb_path_join(small, "a.md");
  harness_write_file(one, "---\ntitle: Small one\nid: s-1\n---\nSmall.\n");
  free(one);
  write_big_content(big, 80);
  /* sizes from builds on the ordinary disk, so the test follows what a build writes */
  char *ref_small = kb_path_join(dir, "ref-small"), *ref_big = kb_path_join(dir, "ref-big");
  CHECK(kb_build_into(small, ref_small, NULL) == 0);
  CHECK(kb_build_into(big, ref_big, NULL) == 0);
  char *ix = kb_path_join(ref_big, "kb.sqlite");
  struct stat st;
  long s_kb = disk_kb(ref_small), b_kb = disk_kb(ref_big), ix_kb = stat(ix, &st) == 0 ? (long)(st.st_size >> 10) : 0;
  printf("sizes: small site %ld KiB, big site %ld KiB (index %ld KiB)\n", s_kb, b_kb, ix_kb);
  CHECK(s_kb > 0 && b_kb > s_kb && ix_kb > 0);
  /* room for the small site and: a third of the pages; all pages but half the index */
  enospc_once(mnt, s_kb + 64 + (b_kb - ix_kb) / 3, small, big);
  enospc_once(mnt, s_kb + 64 + (b_kb - ix_kb) + ix_kb / 2, small, big);
  sh("umount '%s' 2>/dev/null", mnt);
  free(ix);
  free(ref_small);
  free(ref_big);
out:
  free(why);
  free(mnt);
  free(small);
  free(big);
  free(dir);
}

/* ---------------------------------------------------------------- slow and silent clients */

enum { HOSTILE = 500 };

typedef struct flood {
  int fd[HOSTILE];
  int open;
} flood;

/* Half the connections send nothing; the other half start a request and then trickle. */
static void flood_open(flood *f, const char *src, int port) {
  f->open = 0;
  for (int i = 0; i < HOSTILE; i++) {
    f->fd[i] = httpc_connect(src, port, 2);
    if (f->fd[i] < 0) continue;
    f->open++;
    if (i % 2) send(f->fd[i], "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", 34, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

static void flood_trickle(flood *f) {
  for (int i = 1; i < HOSTILE; i += 2)
    if (f->fd[i] >= 0) send(f->fd[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void flood_close(flood *f) {
  for (int i = 0; i < HOSTILE; i++)
    if (f->fd[i] >= 0) close(f->fd[i]);
}

/* Normal requests from `src` for `seconds` while the flood trickles: all answered 200,
 * each within 2 s. */
static void normal_clients(const char *src, int port, flood *f, double seconds) {
  static const char *const targets[] = {"/healthz", "/api/search?q=vmqc", "/", "/style.css"};
  double worst = 0;
  int n = 0;
  for (double t0 = kb_now(); kb_now() - t0 < seconds; n++) {
    const char *t = targets[n % 4];
    char *req = kb_xasprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", t);
    double r0 = kb_now();
    httpc_resp r;
    bool ok = httpc_raw(src, port, req, strlen(req), 5, &r);
    double dt = kb_now() - r0;
    if (dt > worst) worst = dt;
    if (!ok || r.status != 200 || dt > 2.0)
      harness_fail(__FILE__, __LINE__, "GET %s from %s during the flood: status %d after %.2f s", t, src, r.status, dt);
    httpc_resp_free(&r);
    free(req);
    if (n % 10 == 9) flood_trickle(f);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  printf("flood: %d slow or silent connections opened, %d normal requests from %s, slowest %.3f s\n", f->open, n, src,
         worst);
}

static void flood_run(const char *name, const char *const *extra, const char *attacker, const char *client) {
  const char *argv[24] = {harness_kb_binary(), "serve", "--no-build", "--site", good_site, "--templates", templates,
                          "--port", "0", "--log", "off"};
  int n = 11;
  for (const char *const *e = extra; *e && n < 22; e++) argv[n++] = *e;
  argv[n] = NULL;
  kbserve s;
  if (!kbserve_start(&s, tmp_dir, name, argv, 60)) {
    harness_fail(__FILE__, __LINE__, "%s: kb serve did not start", name);
    return;
  }
  flood *f = kb_xcalloc(1, sizeof *f);
  flood_open(f, attacker, s.port);
  normal_clients(client, s.port, f, 4.0);
  flood_close(f);
  free(f);
  CHECK(kbserve_stop(&s, 15) == 0);
  char *err = kbserve_stderr(&s);
  /* refused connections are reported, at most one line a second */
  if (count_lines(err) > 20) harness_fail(__FILE__, __LINE__, "%s: stderr flooded (%zu lines)", name, count_lines(err));
  free(err);
  kbserve_release(&s);
}

static void test_slow_and_silent_clients(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048 && rl.rlim_max >= 2048) {
    rl.rlim_cur = 2048;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  /* the defaults on loopback (no per-address limit, as behind a local proxy): the
   * flood fits in the connection limit and is served around */
  const char *none[] = {NULL};
  flood_run("flood-default", none, "127.0.0.1", "127.0.0.1");
  /* a per-address limit, as when listening beyond loopback: the flood's address gets
   * its 32 connections and no more; other addresses are not affected */
  const char *per_ip[] = {"--max-per-ip", "32", "--max-connections", "256", NULL};
  flood_run("flood-per-ip", per_ip, "127.0.0.3", "127.0.0.1");
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  /* a run that died with its tmpfs mounted: unmount it before the folder is cleared */
  const char *base = getenv("KB_TMP") && *getenv("KB_TMP") ? getenv("KB_TMP") : "/tmp/kb-tests";
  sh("umount '%s/faults/enospc/mnt' 2>/dev/null", base);
  tmp_dir = harness_tmpdir("faults");
  templates = kb_path_join(harness_source_dir(), "templates");
  good_site = kb_path_join(tmp_dir, "good");
  char *content = kb_path_join(harness_source_dir(), "content"), *err = NULL;
  if (kb_build_into(content, good_site, &err) != 0) {
    harness_fail(__FILE__, __LINE__, "kb build: %s", err);
    return harness_done();
  }
  RUN(test_damaged_index_refused);
  RUN(test_damage_inside_is_no_crash);
  RUN(test_damaged_generation_keeps_old);
  RUN(test_out_of_space);
  RUN(test_slow_and_silent_clients);
  free(err);
  free(content);
  free(good_site);
  free(templates);
  free(tmp_dir);
  return harness_done();
}
