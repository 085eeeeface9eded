/* match_bench.c - kb-bench-match: latency of stack matching against a built index.
 *
 *   kb-bench-match SITE_DIR [QUERIES]
 * Takes QUERIES stacks (default 500) from the index itself, each perturbed as a paste
 * would be (truncated to 30 frames, offsets dropped), parses and matches each one on one
 * thread, and prints p50/p90/p99/max in milliseconds and how often the source incident
 * came first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/reader.h"
#include "match/match.h"
#include "util/util.h"

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: kb-bench-match SITE_DIR [QUERIES]\n");
    return 2;
  }
  int nq = argc > 2 ? atoi(argv[2]) : 500;
  char *path = kb_xasprintf("%s/kb.sqlite", argv[1]), *err = NULL;
  kb_index *ix = kb_index_open(path, &err);
  if (!ix) {
    fprintf(stderr, "kb-bench-match: %s\n", err);
    return 1;
  }
  sqlite3 *db = kb_index_db(ix);
  sqlite3_stmt *pick = NULL, *frames = NULL;
  sqlite3_prepare_v2(db, "SELECT s.rowid, i.id FROM stacks s JOIN incidents i ON i.rowid = s.incident"
                         " WHERE s.seq = 0 ORDER BY (s.rowid * 2654435761) % 1000003 LIMIT ?", -1, &pick, NULL);
  sqlite3_prepare_v2(db, "SELECT f.value ->> 0, f.value ->> 1 FROM stacks s, json_each(s.frames) f"
                         " WHERE s.rowid = ? ORDER BY f.key LIMIT 30", -1, &frames, NULL);
  sqlite3_bind_int(pick, 1, nq);
  double *ms = kb_xcalloc((size_t)nq, sizeof *ms);
  int n = 0, top1 = 0;
  while (sqlite3_step(pick) == SQLITE_ROW && n < nq) {
    kb_buf q = KB_BUF_INIT;
    sqlite3_bind_int64(frames, 1, sqlite3_column_int64(pick, 0));
    while (sqlite3_step(frames) == SQLITE_ROW)
      kb_buf_addf(&q, "%s!%s\n", sqlite3_column_text(frames, 0), sqlite3_column_text(frames, 1));
    sqlite3_reset(frames);
    double t0 = kb_now();
    kb_stacks st = {0};
    kb_match m = {0};
    kb_stacks_parse(q.ptr, q.len, &st);
    kb_match_run(ix, &st, 10, &m, &err);
    ms[n++] = (kb_now() - t0) * 1000;
    top1 += m.n && strcmp(m.v[0].id, (const char *)sqlite3_column_text(pick, 1)) == 0;
    kb_match_release(&m);
    kb_stacks_release(&st);
    kb_buf_release(&q);
  }
  qsort(ms, (size_t)n, sizeof *ms, dbl_cmp);
  if (n)
    printf("queries %d, incidents %lld: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; source first %d/%d\n", n,
           kb_index_incidents(ix), ms[n / 2], ms[n * 9 / 10], ms[n * 99 / 100], ms[n - 1], top1, n);
  sqlite3_finalize(pick);
  sqlite3_finalize(frames);
  kb_index_close(ix);
  free(ms);
  free(path);
  return 0;
}
