/* fuzz_site.c - the small built site the search and http harnesses fuzz against: the
 * repository's content/ and templates/ built by the real pipeline (kb_build_run) into a
 * temporary folder, once per fuzzing process. A real build rather than a hand-made
 * index, so the FTS5 tables, tokenizers and pages are exactly what `kb serve` sees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gen.h"
#include "util/util.h"

static char *tmp_root; /* the temporary folder, removed at exit */
static char *site_dir;

const char *fuzz_source_dir(void) {
  const char *env = getenv("KB_SOURCE_DIR");
  return env && *env ? env : KB_FUZZ_SOURCE_DIR;
}

static void site_remove(void) {
  if (tmp_root) kb_remove_tree(tmp_root);
}

const char *fuzz_site_dir(void) {
  if (site_dir) return site_dir;
  const char *tmp = getenv("TMPDIR");
  char *pattern = kb_xasprintf("%s/kb-fuzz-site-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(pattern)) {
    perror("fuzz: mkdtemp");
    abort();
  }
  tmp_root = pattern;
  atexit(site_remove);
  char *content = kb_path_join(fuzz_source_dir(), "content");
  char *templates = kb_path_join(fuzz_source_dir(), "templates");
  site_dir = kb_path_join(tmp_root, "public");
  kb_build_opts o = {.content_dir = content, .templates_dir = templates, .out_dir = site_dir, .base_url = "/",
                     .quiet = true};
  kb_build_stats st;
  if (kb_build_run(&o, &st) != 0 || st.incidents == 0) {
    fprintf(stderr, "fuzz: cannot build %s into %s\n", content, site_dir);
    abort();
  }
  free(content);
  free(templates);
  return site_dir;
}
