/* cmd_search.c - `kb search`: full-text search of the index, as a list or as the JSON
 * the server's /api/search returns. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "index/reader.h"
#include "search/search.h"
#include "util/util.h"

static const char search_usage[] =
    "usage: kb search [--site DIR] [--json] [--limit N] QUERY...\n"
    "\n"
    "Full-text search of titles, tags, summaries, bodies, stacks and identifiers\n"
    "(KB2887595, 0x0000000A, MsLbfoProvider.sys). Every word must match; the last one\n"
    "may be the start of a word.\n"
    "\n"
    "  --site DIR    the built site holding kb.sqlite (default public)\n"
    "  --json        print the JSON body the server's /api/search returns\n"
    "  --limit N     at most N results (default 10, max 100)\n"
    "  -h, --help    show this help\n";

/* Plain text of a snippet: <mark> shown as [..], entities decoded back. */
static void print_snippet(const char *html) {
  for (const char *p = html; *p; p++) {
    if (strncmp(p, "<mark>", 6) == 0) fputc('[', stdout), p += 5;
    else if (strncmp(p, "</mark>", 7) == 0) fputc(']', stdout), p += 6;
    else if (strncmp(p, "&amp;", 5) == 0) fputc('&', stdout), p += 4;
    else if (strncmp(p, "&lt;", 4) == 0) fputc('<', stdout), p += 3;
    else if (strncmp(p, "&gt;", 4) == 0) fputc('>', stdout), p += 3;
    else if (strncmp(p, "&quot;", 6) == 0) fputc('"', stdout), p += 5;
    else if (strncmp(p, "&#39;", 5) == 0) fputc('\'', stdout), p += 4;
    else fputc(*p == '\n' ? ' ' : *p, stdout);
  }
}

static int run_search(const char *site, const char *query, bool json, int limit) {
  char *path = cli_index_path(site), *err = NULL;
  kb_index *ix = kb_index_open(path, &err);
  kb_search s = {0};
  int status = KB_EXIT_OK;
  if (!ix || kb_search_run(ix, query, limit, 0, &s, &err)) {
    fprintf(stderr, "kb: %s\n", err);
    status = KB_EXIT_FAIL;
  } else if (json) {
    cJSON *o = kb_search_to_json(&s);
    char *txt = cJSON_Print(o);
    puts(txt);
    free(txt);
    cJSON_Delete(o);
  } else {
    printf("%lld result%s for \"%s\"\n", s.total, s.total == 1 ? "" : "s", s.query);
    for (size_t i = 0; i < s.n; i++) {
      printf("\n%zu. %s  [%s]\n   %s\n   ", i + 1, s.v[i].title, s.v[i].id, s.v[i].url);
      print_snippet(s.v[i].snippet);
      printf("\n");
    }
  }
  kb_search_release(&s);
  kb_index_close(ix);
  free(err);
  free(path);
  return status;
}

int cmd_search(int argc, char **argv) {
  cli_query_opts o;
  int st = cli_parse_query_opts(argc, argv, "search", search_usage, KB_SEARCH_LIMIT_MAX, &o);
  if (st >= 0) return st;
  if (optind >= argc) return cli_usage_error(search_usage, "search: no query%s", "");
  kb_buf q;
  kb_buf_init(&q, KB_SEARCH_MAX_QUERY);
  for (int i = optind; i < argc; i++) {
    if (i > optind) kb_buf_addc(&q, ' ');
    kb_buf_adds(&q, argv[i]);
  }
  if (q.err) {
    kb_buf_release(&q);
    return cli_usage_error(search_usage, "search: query longer than %s bytes", "1024");
  }
  int rc = run_search(o.site, q.ptr, o.json, o.limit);
  kb_buf_release(&q);
  return rc;
}
