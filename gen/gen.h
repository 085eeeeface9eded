/* gen.h - the build pipeline: content/ + templates/ -> a static site and kb.sqlite,
 * published atomically. Called by the `kb build` command (cli/kb.c). */
#ifndef KB_GEN_H
#define KB_GEN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kb_build_opts {
  const char *content_dir;   /* default "content" */
  const char *templates_dir; /* default "templates" */
  const char *out_dir;       /* default "public" */
  const char *base_url;      /* default "/": "/kb/" or "https://host/kb/" */
  bool drafts;               /* include incidents marked draft */
  bool keep_going;           /* skip unusable files instead of failing */
  bool quiet;                /* no summary line */
  const char *wasm_dir;      /* kb.wasm and sqlite-wasm, copied to _kb/wasm/ for in-browser
                                search of the published snapshot; NULL: none */
} kb_build_opts;

typedef struct kb_build_stats {
  size_t files, incidents, pages, stacks, frames, skipped, drafts;
  double seconds;
} kb_build_stats;

/* Run a whole build. Diagnostics go to stderr as `path:line: message`.
 * Returns 0 when the site was published complete, 1 when nothing was published
 * (or, with keep_going, when the site was published without the skipped files). */
int kb_build_run(const kb_build_opts *opts, kb_build_stats *stats);
/* The same on `jobs` threads; 0 = $KB_JOBS, else one per core. */
int kb_build_run_jobs(const kb_build_opts *opts, unsigned jobs, kb_build_stats *stats);

#endif
