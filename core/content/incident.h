/* incident.h - the content model: one incident write-up, loaded from a Markdown file
 * with front matter, rendered and analysed. Called by gen (to build the site and index);
 * the server reads the same facts back from the index.
 *
 * Front matter keys understood (Jekyll and Hugo spellings):
 *   title (required)   date (see date.h; else the Jekyll file name date YYYY-MM-DD-)
 *   id (else the slug) slug (else the file name)  permalink / url (else /incidents/<slug>/)
 *   tags, categories (a list, or Jekyll's space-separated string)
 *   summary / description / excerpt (else the start of the body)
 *   draft: true, or Jekyll's published: false      aliases / redirect_from
 * Every key, known or not, is kept in `params` and passed to the templates. */
#ifndef KB_INCIDENT_H
#define KB_INCIDENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "content/extract.h"
#include "content/markdown.h"
#include "util/util.h"

#define KB_INCIDENT_MAX_BYTES ((size_t)8 << 20) /* larger files are refused */
#define KB_INCIDENT_MAX_FIELD 2000              /* bytes in a title, id, slug, tag or URL */
#define KB_SUMMARY_CHARS 240                    /* derived summaries are cut near here */

typedef struct kb_incident {
  char *path;    /* the file, as given */
  char *id;      /* front matter id, or the slug */
  char *slug;
  char *url;     /* site path: "/incidents/<slug>/" or the permalink; starts with '/' */
  char *title;
  char *summary; /* plain text */
  int64_t date;  /* Unix seconds; valid when has_date */
  int tz_min;    /* the offset the date was written with */
  bool has_date;
  bool draft;
  kb_strlist tags, categories, aliases;
  cJSON *params;  /* the whole front matter */
  kb_markdown md; /* html, text, stacks */
  kb_idents idents;
} kb_incident;

/* Load, check and render one file. Returns NULL after adding `path:line: message`
 * errors to `diags` when the file cannot be used; warnings (repaired text, ...) may be
 * added either way. Caller frees the result with kb_incident_free. */
kb_incident *kb_incident_load(const char *path, kb_diags *diags);
/* The same without the body: every check and every front matter field (summary only
 * when the front matter gives one), no params, no rendered body, stacks or identifiers.
 * Fails exactly when kb_incident_load fails on the same bytes: a build reads every file
 * this way first, to order and check the site while holding only the front matter. */
kb_incident *kb_incident_load_front(const char *path, kb_diags *diags);
/* The same from text already in memory (`text` need not be NUL-terminated). */
kb_incident *kb_incident_parse(const char *path, const char *text, size_t len, kb_diags *diags);
void kb_incident_free(kb_incident *inc); /* accepts NULL */

/* Lowercase ASCII letters and digits, other runs become '-'; UTF-8 letters are kept.
 * Caller frees; may return "" for input without letters. */
char *kb_slugify(const char *s, size_t n);
/* Check and normalize a site path from front matter (permalink, alias): must start with
 * '/', no `.`/`..` segments, no backslash, control, `?`, `#` or `%` characters; a path
 * without an extension gets a trailing '/'. Returns a malloc'd path or NULL. */
char *kb_site_path_clean(const char *s);

#endif
