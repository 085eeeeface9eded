/* kb.c - the `kb` command: parses the command line and dispatches to a subcommand.
 * Exit status: 0 success, 1 failure, 2 usage error (as git and hugo do). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

enum { EXIT_USAGE = 2 };

static const char main_usage[] =
    "usage: kb <command> [options]\n"
    "\n"
    "A knowledge base of incident write-ups you can paste a crash into.\n"
    "\n"
    "Commands:\n"
    "  build     build the static site and its search index from content/\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "  --version      show the version\n"
    "\n"
    "Run 'kb <command> --help' for the options of a command.\n";

static const char build_usage[] =
    "usage: kb build [--content DIR] [--templates DIR] [--out DIR] [--base-url URL]\n"
    "                [--drafts] [--keep-going] [--quiet]\n"
    "\n"
    "Build the site (pages, tag and category pages, Atom feed, sitemap) and its index\n"
    "kb.sqlite into a temporary folder, then swap it into place: the published site is\n"
    "replaced whole or not at all.\n"
    "\n"
    "  --content DIR     incident write-ups, Markdown with YAML front matter (default content)\n"
    "  --templates DIR   Mustache templates and static/ files (default templates)\n"
    "  --out DIR         where the site is published (default public)\n"
    "  --base-url URL    prefix of every link, e.g. /kb/ or https://example.org/kb/ (default /)\n"
    "  --drafts          include incidents marked 'draft: true'\n"
    "  --keep-going      skip files with errors, publish the rest, list what was skipped\n"
    "                    (the exit status is still 1 when anything was skipped)\n"
    "  -q, --quiet       no summary line\n"
    "  -h, --help        show this help\n";

static int usage_error(const char *usage, const char *fmt, const char *arg) {
  fprintf(stderr, "kb: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n\n%s", usage);
  return EXIT_USAGE;
}

static int cmd_build(int argc, char **argv) {
  kb_build_opts o = {"content", "templates", "public", "/", false, false, false};
  enum { OPT_CONTENT = 256, OPT_TEMPLATES, OPT_OUT, OPT_BASE, OPT_DRAFTS, OPT_KEEP };
  static const struct option opts[] = {
      {"content", required_argument, NULL, OPT_CONTENT}, {"templates", required_argument, NULL, OPT_TEMPLATES},
      {"out", required_argument, NULL, OPT_OUT},         {"base-url", required_argument, NULL, OPT_BASE},
      {"drafts", no_argument, NULL, OPT_DRAFTS},         {"keep-going", no_argument, NULL, OPT_KEEP},
      {"quiet", no_argument, NULL, 'q'},                 {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+hq", opts, NULL)) != -1) {
    switch (c) {
    case OPT_CONTENT: o.content_dir = optarg; break;
    case OPT_TEMPLATES: o.templates_dir = optarg; break;
    case OPT_OUT: o.out_dir = optarg; break;
    case OPT_BASE: o.base_url = optarg; break;
    case OPT_DRAFTS: o.drafts = true; break;
    case OPT_KEEP: o.keep_going = true; break;
    case 'q': o.quiet = true; break;
    case 'h': fputs(build_usage, stdout); return 0;
    default: return usage_error(build_usage, "build: unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return usage_error(build_usage, "build: unexpected argument '%s'", argv[optind]);
  if (!o.out_dir[0] || strcmp(o.out_dir, "/") == 0 || strcmp(o.out_dir, ".") == 0)
    return usage_error(build_usage, "build: refusing to publish into '%s'", o.out_dir);
  kb_build_stats st;
  return kb_build_run(&o, &st);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(main_usage, stderr);
    return EXIT_USAGE;
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
  return usage_error(main_usage, "unknown command '%s'", cmd);
}
