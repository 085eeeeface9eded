/* cli.h - the `kb` subcommands (one file each) and what they share. */
#ifndef KB_CLI_H
#define KB_CLI_H

#include <stdbool.h>

enum { KB_EXIT_OK = 0, KB_EXIT_FAIL = 1, KB_EXIT_USAGE = 2 };

int cmd_build(int argc, char **argv);
int cmd_match(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Print "kb: <message>" and the usage text to stderr; returns KB_EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, const char *arg);
/* Parse a positive integer option value in [1, max]; false when it is not one. */
bool cli_parse_count(const char *s, int max, int *out);
/* The options `kb match` and `kb search` share: --site DIR, --json, --limit N, --help. */
typedef struct cli_query_opts {
  const char *site;
  bool json;
  int limit;
} cli_query_opts;
/* Parse them (`cmd` names the command in messages, `max` bounds --limit). Returns -1 when
 * the command should go on (optind is at the first operand), else the exit status. */
int cli_parse_query_opts(int argc, char **argv, const char *cmd, const char *usage, int max, cli_query_opts *o);

/* The folder of kb.wasm and sqlite-wasm beside the kb executable (the build tree's
 * wasm/, cmake/wasm.cmake), or NULL when there is none. Caller frees. */
char *cli_default_wasm_dir(void);

/* `DIR/kb.sqlite`; caller frees. */
char *cli_index_path(const char *site_dir);

#endif
