/* frontmatter.h - split a Markdown file into YAML front matter and body, and turn the
 * YAML into cJSON for the content model and the templates.
 *
 * Front matter is the Jekyll/Hugo form: the file starts with a line `---`, the YAML
 * follows, and a line `---` (or `...`) closes it; Hugo's TOML between two `+++` lines
 * is read too (toml.c). Files without it have an empty
 * front matter. Called by incident.c. */
#ifndef KB_FRONTMATTER_H
#define KB_FRONTMATTER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "util/util.h"

#define KB_FRONTMATTER_MAX ((size_t)1 << 20) /* bytes of YAML */
#define KB_FRONTMATTER_DEPTH 32              /* nesting of mappings/sequences */

typedef struct kb_frontmatter {
  cJSON *data;       /* a JSON object: the top-level mapping (never NULL after success) */
  cJSON *key_lines;  /* object: top-level key -> 1-based line in the file */
  const char *body;  /* points into the text passed in: first byte after the front matter */
  int body_line;     /* 1-based line of `body` in the file */
} kb_frontmatter;

/* Parse the front matter of `text` (a whole file, NUL-terminated, `\n` line ends).
 * Returns 0, or -1 after adding `path:line: message` to `diags`. On success the caller
 * owns fm->data and fm->key_lines (release with kb_frontmatter_release). */
int kb_frontmatter_parse(const char *path, const char *text, kb_frontmatter *fm, kb_diags *diags);
void kb_frontmatter_release(kb_frontmatter *fm); /* accepts NULL */
/* Line of a top-level key, or 1 when the key is absent. */
int kb_frontmatter_line(const kb_frontmatter *fm, const char *key);

#endif
