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

/* ---- a build kept in memory for the edits that follow (kb serve --watch) ----
 * A session runs full builds like kb_build_run and keeps what they knew of the site, so
 * that an edit of incidents' prose (their body, not their front matter, summary,
 * identifiers or stacks) is applied to the published site in place: the incident's
 * page rewritten, the index patched (core/index/patch.c). Its server must open the
 * index with kb_index_open_live. */
typedef struct kb_build_session kb_build_session;

/* `opts` is copied; the strings it points to must outlive the session. jobs as in
 * kb_build_run_jobs. */
kb_build_session *kb_build_session_new(const kb_build_opts *opts, unsigned jobs);
/* A full build; returns as kb_build_run. `quiet` overrides the options' (a summary line). */
int kb_build_session_build(kb_build_session *s, bool quiet, kb_build_stats *stats);
/* Apply the edit of `paths` (as kb_watch_drain names them: content_dir joined with
 * folders and a name, a final '/' for a folder). Files the build does not read (other
 * names in the content folder) are ignored. 0: applied, the pages and the index serve
 * it (stats->incidents says how many changed: 0 when none the build reads);
 * 1 (KB_INDEX_PATCH_REBUILD): the edit is more than prose, or a file is new, gone or
 * broken, or a path is a folder or outside the content folder, and nothing was
 * changed: run kb_build_session_build; -1: failed (said on stderr), the site may be
 * half edited: run a full build. */
int kb_build_session_edit(kb_build_session *s, const char *const *paths, size_t n, kb_build_stats *stats);
void kb_build_session_free(kb_build_session *s); /* accepts NULL */

#endif
