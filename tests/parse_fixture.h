/* parse_fixture.h - helpers shared by the tests/test_parse_*.c: parse a fixture from
 * tests/stacks/ (real stacks with their sources in tests/stacks/SOURCES.md) or a string,
 * and check a frame in one line. Header-only: each test program includes it once. */
#ifndef KB_TEST_PARSE_FIXTURE_H
#define KB_TEST_PARSE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/stack.h"
#include "util/util.h"

/* The file at <repository>/<rel> (caller frees) and its length; NULL, and a failed
 * test, when it is missing. */
static inline char *read_repo_file(const char *rel, size_t *len) {
  char *path = kb_xasprintf("%s/%s", harness_source_dir(), rel);
  char *text = harness_read_file(path, len);
  if (!text) harness_fail(__FILE__, __LINE__, "fixture %s is missing", path);
  free(path);
  return text;
}

/* Parse tests/stacks/<rel> into *out; a missing fixture fails the test. */
static inline void parse_fixture(const char *rel, kb_stacks *out) {
  char *path = kb_xasprintf("tests/stacks/%s", rel);
  size_t len = 0;
  char *text = read_repo_file(path, &len);
  if (text) kb_stacks_parse(text, len, out);
  free(text);
  free(path);
}

static inline void parse_text(const char *text, kb_stacks *out) { kb_stacks_parse(text, strlen(text), out); }

/* Frame `i` of stack `st`, or NULL (and a failure) when there is no such frame. */
static inline const kb_frame *frame_of(const kb_stacks *s, size_t st, size_t i, const char *file, int line) {
  if (st >= s->n || i >= s->v[st].nframes) {
    harness_fail(file, line, "no frame %zu in stack %zu (%zu stacks)", i, st, s->n);
    return NULL;
  }
  return &s->v[st].frames[i];
}

/* The function, file and line of a frame (NULL/0 for "none"). */
static inline void check_frame(const kb_stacks *s, size_t st, size_t i, const char *function, const char *file, int line,
                        const char *src, int src_line) {
  const kb_frame *f = frame_of(s, st, i, src, src_line);
  if (!f) return;
  const char *want[] = {function, file}, *got[] = {f->function, f->file};
  for (int k = 0; k < 2; k++) {
    bool same = want[k] ? got[k] && strcmp(want[k], got[k]) == 0 : got[k] == NULL;
    if (!same)
      harness_fail(src, src_line, "stack %zu frame %zu %s: got [%s] want [%s]", st, i, k ? "file" : "function",
                   got[k] ? got[k] : "(null)", want[k] ? want[k] : "(null)");
  }
  if (f->line != line) harness_fail(src, src_line, "stack %zu frame %zu line: got %d want %d", st, i, f->line, line);
}
#define CHECK_FRAME(s, st, i, fn, file, line) check_frame(s, st, i, fn, file, line, __FILE__, __LINE__)

/* Every stack found has format `fmt`. */
static inline void check_formats(const kb_stacks *s, const char *fmt, const char *src, int src_line) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i].format, fmt) != 0)
      harness_fail(src, src_line, "stack %zu is %s, want %s", i, s->v[i].format, fmt);
}
#define CHECK_FORMATS(s, fmt) check_formats(s, fmt, __FILE__, __LINE__)

/* A string field that may be NULL: equal to want (NULL = must be NULL). */
#define CHECK_OPT(got, want)                                                                       \
  do {                                                                                             \
    const char *g2_ = (got), *w2_ = (want);                                                        \
    if (w2_ ? !g2_ || strcmp(g2_, w2_) != 0 : g2_ != NULL)                                          \
      harness_fail(__FILE__, __LINE__, "%s: got [%s] want [%s]", #got, g2_ ? g2_ : "(null)",       \
                   w2_ ? w2_ : "(null)");                                                          \
  } while (0)

#endif
