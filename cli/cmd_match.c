/* cmd_match.c - `kb match`: read a pasted stack (file or stdin), print the incidents it
 * matches, best first, as a table or as the JSON the server returns. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "index/reader.h"
#include "match/match.h"
#include "util/util.h"

static const char match_usage[] =
    "usage: kb match [--site DIR] [--json] [--limit N] [FILE|-]\n"
    "\n"
    "Read a crash stack (WinDbg, kernel oops, Java, .NET, Python, Go, gdb, lldb, Rust,\n"
    "Node, ASan, macOS crash report...) from FILE or standard input and list the incidents\n"
    "whose stacks match it, best first, with a score (0..1), a confidence (exact, strong,\n"
    "weak) and the frames they share.\n"
    "\n"
    "  --site DIR    the built site holding kb.sqlite (default public)\n"
    "  --json        print the JSON body the server's /api/match returns\n"
    "  --limit N     at most N results (default 10, max 100)\n"
    "  -h, --help    show this help\n";

/* The whole input, bounded; NULL and errno on failure (EFBIG when too large). */
static char *read_input(const char *path, size_t *len) {
  kb_buf b;
  kb_buf_init(&b, KB_STACK_MAX_INPUT);
  int rc;
  if (strcmp(path, "-") == 0) {
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0 && !b.err) kb_buf_add(&b, chunk, n);
    rc = b.err ? (errno = EFBIG, -1) : ferror(stdin) ? -1 : 0;
  } else {
    rc = kb_file_read(path, &b);
  }
  if (rc) {
    kb_buf_release(&b);
    return NULL;
  }
  return kb_buf_detach(&b, len);
}

static void print_reason(const kb_reason *r) {
  if (r->code || r->name) {
    printf(", %s", r->kind ? r->kind : "reason");
    if (r->code) printf(" %s", r->code);
    if (r->name) printf(" %s", r->name);
  }
}

static void print_table(const kb_stacks *query, const kb_match *m) {
  if (query->n) {
    const kb_stack *q = &query->v[0];
    printf("Read %zu stack%s; first: %s, %zu frames", query->n, query->n == 1 ? "" : "s", q->format, q->nframes);
    print_reason(&q->reason);
    printf("\nSignature: %s\n\n", q->signature ? q->signature : "(none)");
  } else {
    printf("No stack frames recognised; crash reason");
    print_reason(&query->reason);
    printf("\n\n");
  }
  if (m->n == 0) {
    printf("No incident matches this stack (nothing scored %.2f or more).\n", KB_MATCH_THRESHOLD);
    return;
  }
  printf("  #  score  confidence  id / title\n");
  for (size_t i = 0; i < m->n; i++) {
    const kb_match_result *r = &m->v[i];
    printf("%3zu  %.3f  %-10s  %s  %s\n", i + 1, r->score, r->confidence, r->id, r->title);
    printf("                         %s\n", r->url);
    if (strcmp(r->via, "text") == 0) {
      printf("                         (no shared frames: found by the words of the crash reason)\n");
      continue;
    }
    printf("                         shared:");
    for (size_t k = 0; k < r->npairs && k < 6; k++) printf("%s %s", k ? "," : "", r->pairs[k].frame);
    if (r->npairs > 6) printf(", +%zu more", r->npairs - 6);
    printf("\n");
  }
}

static int run_match(const char *site, const char *input, bool json, int limit) {
  size_t len = 0;
  char *text = read_input(input, &len);
  if (!text) {
    fprintf(stderr, "kb: %s: %s\n", input, errno == EFBIG ? "input larger than 16 MiB" : strerror(errno));
    return KB_EXIT_FAIL;
  }
  char *path = cli_index_path(site), *err = NULL;
  kb_index *ix = kb_index_open(path, &err);
  int status = KB_EXIT_OK;
  kb_stacks query = {0};
  kb_match m = {0};
  if (!ix) {
    fprintf(stderr, "kb: %s\n", err);
    status = KB_EXIT_FAIL;
    goto out;
  }
  kb_stacks_parse(text, len, &query);
  bool has_reason = query.reason.kind || query.reason.name || query.reason.code;
  if ((query.n || has_reason) && kb_match_run(ix, &query, limit, &m, &err)) {
    fprintf(stderr, "kb: %s\n", err);
    status = KB_EXIT_FAIL;
    goto out;
  }
  if (json) {
    cJSON *o = kb_match_to_json(&query, &m);
    char *s = cJSON_Print(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
  } else if (!query.n && !has_reason) {
    printf("No stack frames recognised in the input: paste the stack as the debugger or log printed it.\n");
  } else {
    print_table(&query, &m);
  }
out:
  kb_match_release(&m);
  kb_stacks_release(&query);
  kb_index_close(ix);
  free(err);
  free(path);
  free(text);
  return status;
}

int cmd_match(int argc, char **argv) {
  cli_query_opts o;
  int st = cli_parse_query_opts(argc, argv, "match", match_usage, KB_MATCH_LIMIT_MAX, &o);
  if (st >= 0) return st;
  if (argc - optind > 1) return cli_usage_error(match_usage, "match: more than one input '%s'", argv[optind + 1]);
  return run_match(o.site, optind < argc ? argv[optind] : "-", o.json, o.limit);
}
