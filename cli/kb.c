/* kb.c - the `kb` command: parses the command line and dispatches to a subcommand.
 * Exit status: 0 success, 1 failure, 2 usage error (as git and hugo do). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "cli.h"

static const char main_usage[] =
    "usage: kb <command> [options]\n"
    "\n"
    "A knowledge base of incident write-ups you can paste a crash into.\n"
    "\n"
    "Commands:\n"
    "  build     build the static site and its search index from content/\n"
    "  match     find the incidents that match a pasted crash stack\n"
    "  search    full-text search of the incidents\n"
    "  serve     build the site and serve it with search and stack matching over HTTP\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "  --version      show the version\n"
    "\n"
    "Run 'kb <command> --help' for the options of a command.\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(main_usage, stderr);
    return KB_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
    fputs(main_usage, stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("kb %s\n", KB_VERSION);
    return 0;
  }
  if (strcmp(cmd, "build") == 0) return cmd_build(argc - 1, argv + 1);
  if (strcmp(cmd, "match") == 0) return cmd_match(argc - 1, argv + 1);
  if (strcmp(cmd, "search") == 0) return cmd_search(argc - 1, argv + 1);
  if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - 1, argv + 1);
  return cli_usage_error(main_usage, "unknown command '%s'", cmd);
}

int cli_usage_error(const char *usage, const char *fmt, const char *arg) {
  fprintf(stderr, "kb: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n\n%s", usage);
  return KB_EXIT_USAGE;
}

bool cli_parse_count(const char *s, int max, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > max) return false;
  *out = (int)v;
  return true;
}

int cli_parse_query_opts(int argc, char **argv, const char *cmd, const char *usage, int max, cli_query_opts *o) {
  enum { OPT_SITE = 256, OPT_JSON, OPT_LIMIT };
  static const struct option opts[] = {{"site", required_argument, NULL, OPT_SITE},
                                       {"json", no_argument, NULL, OPT_JSON},
                                       {"limit", required_argument, NULL, OPT_LIMIT},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  *o = (cli_query_opts){"public", false, 10};
  char msg[96];
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_SITE: o->site = optarg; break;
    case OPT_JSON: o->json = true; break;
    case OPT_LIMIT:
      if (!cli_parse_count(optarg, max, &o->limit)) {
        snprintf(msg, sizeof msg, "%s: --limit must be a number from 1 to %d, not '%%s'", cmd, max);
        return cli_usage_error(usage, msg, optarg);
      }
      break;
    case 'h': fputs(usage, stdout); return KB_EXIT_OK;
    default:
      snprintf(msg, sizeof msg, "%s: unknown or incomplete option '%%s'", cmd);
      return cli_usage_error(usage, msg, argv[optind - 1]);
    }
  }
  return -1;
}

char *cli_default_wasm_dir(void) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return NULL;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return NULL;
  snprintf(slash, sizeof exe - (size_t)(slash - exe), "/wasm");
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/kb.wasm", exe);
  return access(probe, R_OK) == 0 ? strdup(exe) : NULL;
}

char *cli_index_path(const char *site_dir) {
  size_t n = strlen(site_dir);
  char *p = malloc(n + 12);
  if (!p) abort();
  snprintf(p, n + 12, "%s%skb.sqlite", site_dir, n && site_dir[n - 1] == '/' ? "" : "/");
  return p;
}
