/* harness.c - see harness.h. */
#include "harness.h"

#include "index/reader.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

int harness_checks_failed;
static int tests_passed, tests_failed, tests_skipped;
static int current_failed, current_skipped;

void harness_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  harness_checks_failed++;
  current_failed = 1;
}

void harness_skip(const char *why) {
  fprintf(stderr, "SKIP: %s\n", why);
  current_skipped = 1;
}

void harness_run(const char *name, void (*fn)(void)) {
  current_failed = current_skipped = 0;
  fn();
  if (current_failed) {
    tests_failed++;
    fprintf(stderr, "FAIL %s\n", name);
  } else if (current_skipped) {
    tests_skipped++;
    fprintf(stderr, "skip %s\n", name);
  } else {
    tests_passed++;
  }
}

int harness_done(void) {
  printf("%d passed, %d failed, %d skipped\n", tests_passed, tests_failed, tests_skipped);
  if (tests_failed) return 1;
  if (tests_skipped && !tests_passed) return 77;
  return 0;
}

static const char *env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

const char *harness_source_dir(void) { return env_or("KB_SOURCE_DIR", "."); }
const char *harness_shared_dir(void) { return env_or("KB_SHARED_DIR", "../shared"); }
const char *harness_kb_binary(void) { return env_or("KB_BINARY", "kb"); }

char *harness_tmpdir(const char *name) {
  char *dir = kb_xasprintf("%s/%s", env_or("KB_TMP", "/tmp/kb-tests"), name);
  kb_remove_tree(dir);
  if (kb_mkdirs(dir)) {
    perror(dir);
    exit(1);
  }
  return dir;
}

char *harness_read_file(const char *path, size_t *len) {
  kb_buf b = KB_BUF_INIT;
  if (kb_file_read(path, &b)) {
    kb_buf_release(&b);
    return NULL;
  }
  return kb_buf_detach(&b, len);
}

void harness_write_file(const char *path, const char *text) {
  if (kb_file_write(path, text, strlen(text))) {
    perror(path);
    exit(1);
  }
}

static char *slurp_fd_file(const char *path) {
  char *s = harness_read_file(path, NULL);
  remove(path);
  return s ? s : kb_xstrdup("");
}

int harness_run_cmd(const char *cmd, char **out, char **err) {
  /* per process: ctest runs test programs in parallel */
  char *name = kb_xasprintf("cmd-capture-%ld", (long)getpid());
  char *dir = harness_tmpdir(name);
  free(name);
  char *o = kb_xasprintf("%s/out", dir), *e = kb_xasprintf("%s/err", dir);
  char *full = kb_xasprintf("( %s ) >'%s' 2>'%s' </dev/null", cmd, o, e);
  int st = system(full);
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  char *so = slurp_fd_file(o), *se = slurp_fd_file(e);
  if (out) *out = so; else free(so);
  if (err) *err = se; else free(se);
  free(full);
  free(o);
  free(e);
  free(dir);
  return rc;
}

struct kb_index *harness_index_open(const char *site_dir) {
  char *path = kb_path_join(site_dir, "kb.sqlite"), *err = NULL;
  kb_index *ix = kb_index_open(path, &err);
  if (!ix) harness_fail(__FILE__, __LINE__, "open %s: %s", path, err);
  free(err);
  free(path);
  return ix;
}

int harness_kb_build(const char *content, const char *site_dir) {
  char *cmd = kb_xasprintf("'%s' build -q --content '%s' --templates '%s/templates' --out '%s'", harness_kb_binary(),
                           content, harness_source_dir(), site_dir);
  char *err = NULL;
  int rc = harness_run_cmd(cmd, NULL, &err) == 0 ? 0 : -1;
  if (rc) harness_fail(__FILE__, __LINE__, "kb build %s failed: %s", content, err ? err : "");
  free(err);
  free(cmd);
  return rc;
}
