/* toml.h - the TOML that Hugo writes as front matter (between `+++` lines), to cJSON.
 * Called by frontmatter.c. Supported: `key = value` with bare, quoted and dotted keys;
 * basic, literal and multi-line strings; integers, floats, booleans; dates and times (kept
 * as strings, as YAML front matter keeps them); arrays (also over several lines); inline
 * tables; [table] and [[array of tables]] headers; comments. */
#ifndef KB_TOML_H
#define KB_TOML_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parse text[0..len). On success returns an object and records the 1-based file line of
 * each top-level key in key_lines (line_base = file line of text's first line). On error
 * returns NULL with *err (static message) and *err_line set. */
cJSON *kb_toml_parse(const char *text, size_t len, int line_base, cJSON *key_lines, const char **err,
                     int *err_line);

#endif
