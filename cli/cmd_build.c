/* cmd_build.c - `kb build`: parse options, run the build pipeline (gen/). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gen.h"

static const char build_usage[] =
    "usage: kb build [--content DIR] [--templates DIR] [--out DIR] [--base-url URL]\n"
    "                [--drafts] [--keep-going] [--jobs N] [--wasm DIR] [--quiet]\n"
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
    "  -j, --jobs N      threads that read and render (default: one per core)\n"
    "  --wasm DIR        kb.wasm and sqlite-wasm for search without a server, copied to\n"
    "                    _kb/wasm/ (default: wasm/ beside the kb executable, when there)\n"
    "  -q, --quiet       no summary line\n"
    "  -h, --help        show this help\n";

int cmd_build(int argc, char **argv) {
  kb_build_opts o = {.content_dir = "content", .templates_dir = "templates", .out_dir = "public", .base_url = "/"};
  enum { OPT_CONTENT = 256, OPT_TEMPLATES, OPT_OUT, OPT_BASE, OPT_DRAFTS, OPT_KEEP, OPT_WASM };
  unsigned jobs = 0;
  static const struct option opts[] = {
      {"content", required_argument, NULL, OPT_CONTENT}, {"templates", required_argument, NULL, OPT_TEMPLATES},
      {"out", required_argument, NULL, OPT_OUT},         {"base-url", required_argument, NULL, OPT_BASE},
      {"drafts", no_argument, NULL, OPT_DRAFTS},         {"keep-going", no_argument, NULL, OPT_KEEP},
      {"quiet", no_argument, NULL, 'q'},                 {"help", no_argument, NULL, 'h'},
      {"jobs", required_argument, NULL, 'j'},             {"wasm", required_argument, NULL, OPT_WASM},
      {NULL, 0, NULL, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+hqj:", opts, NULL)) != -1) {
    switch (c) {
    case OPT_CONTENT: o.content_dir = optarg; break;
    case OPT_TEMPLATES: o.templates_dir = optarg; break;
    case OPT_OUT: o.out_dir = optarg; break;
    case OPT_BASE: o.base_url = optarg; break;
    case OPT_DRAFTS: o.drafts = true; break;
    case OPT_KEEP: o.keep_going = true; break;
    case OPT_WASM: o.wasm_dir = optarg; break;
    case 'q': o.quiet = true; break;
    case 'j': {
      char *end;
      unsigned long n = strtoul(optarg, &end, 10);
      if (*end || n < 1 || n > 64) return cli_usage_error(build_usage, "build: --jobs takes 1 to 64: '%s'", optarg);
      jobs = (unsigned)n;
      break;
    }
    case 'h': fputs(build_usage, stdout); return 0;
    default: return cli_usage_error(build_usage, "build: unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error(build_usage, "build: unexpected argument '%s'", argv[optind]);
  if (!o.out_dir[0] || strcmp(o.out_dir, "/") == 0 || strcmp(o.out_dir, ".") == 0)
    return cli_usage_error(build_usage, "build: refusing to publish into '%s'", o.out_dir);
  char *wasm_dir = o.wasm_dir ? NULL : cli_default_wasm_dir();
  if (wasm_dir) o.wasm_dir = wasm_dir;
  kb_build_stats st;
  int rc = kb_build_run_jobs(&o, jobs, &st);
  free(wasm_dir);
  return rc;
}

