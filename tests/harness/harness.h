/* harness.h - the tiny test harness every tests/test_*.c uses.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_STR(got, "want"); }
 *   int main(void) { RUN(test_something); return harness_done(); }
 *
 * A failed check prints `file:line: check failed: ...` and marks the test failed but
 * keeps going, so one run shows every failure. harness_done() prints the summary line
 * `N passed, N failed` and returns the exit status (0, 1, or 77 = skipped for ctest). */
#ifndef KB_HARNESS_H
#define KB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

extern int harness_checks_failed;

void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void harness_run(const char *name, void (*fn)(void));
/* Mark the current test as skipped with a reason (not a pass). */
void harness_skip(const char *why);
int harness_done(void);

/* Environment set by tests/CMakeLists.txt. */
const char *harness_source_dir(void); /* repository root */
const char *harness_shared_dir(void); /* ../shared, may not exist */
const char *harness_kb_binary(void);  /* path of the built kb */
/* A fresh empty scratch folder for this test (under the build tree). Caller frees. */
char *harness_tmpdir(const char *name);
/* Read a file into a malloc'd string (NULL if missing). Caller frees. */
char *harness_read_file(const char *path, size_t *len);
/* Write a file, creating parent folders; aborts the test program on failure. */
void harness_write_file(const char *path, const char *text);
/* Run a shell command; capture stdout and stderr (each may be NULL). Returns exit status. */
int harness_run_cmd(const char *cmd, char **out, char **err);
/* `kb build -q` of `content` into `site_dir` with the repository's templates; 0, or -1
 * with the test failed and kb's messages shown. */
int harness_kb_build(const char *content, const char *site_dir);
/* Open the index of a built site (`site_dir`/kb.sqlite); NULL, with the test failed, when
 * it cannot be opened. Returns a kb_index * (index/reader.h); caller closes. */
struct kb_index *harness_index_open(const char *site_dir);

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (!(cond)) harness_fail(__FILE__, __LINE__, "check failed: %s", #cond);            \
  } while (0)

#define CHECK_STR(got, want)                                                             \
  do {                                                                                   \
    const char *g_ = (got), *w_ = (want);                                                \
    if (!g_ || !w_ || strcmp(g_, w_) != 0)                                               \
      harness_fail(__FILE__, __LINE__, "%s:\n  got:  [%s]\n  want: [%s]", #got,          \
                   g_ ? g_ : "(null)", w_ ? w_ : "(null)");                              \
  } while (0)

#define CHECK_CONTAINS(hay, needle)                                                      \
  do {                                                                                   \
    const char *h_ = (hay), *n_ = (needle);                                              \
    if (!h_ || !strstr(h_, n_))                                                          \
      harness_fail(__FILE__, __LINE__, "%s does not contain [%s]:\n  [%.2000s]", #hay, n_, \
                   h_ ? h_ : "(null)");                                                  \
  } while (0)

#define CHECK_NOT_CONTAINS(hay, needle)                                                  \
  do {                                                                                   \
    const char *h_ = (hay), *n_ = (needle);                                              \
    if (h_ && strstr(h_, n_))                                                            \
      harness_fail(__FILE__, __LINE__, "%s contains [%s]", #hay, n_);                    \
  } while (0)

#define RUN(fn) harness_run(#fn, fn)

#endif
