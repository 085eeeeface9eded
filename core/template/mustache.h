/* mustache.h - logic-less Mustache templates rendered from cJSON data.
 *
 * Implements the official Mustache spec (interpolation, sections, inverted sections,
 * comments, partials, set delimiters) plus template inheritance (parents `{{<p}}` and
 * blocks `{{$b}}`); lambdas are not supported. gen renders every page through a
 * kb_tmpl_set; the server does the same from several threads at once.
 *
 * Data model (cJSON):
 *   - Names are looked up on a context stack, innermost first; the first object that
 *     has the key wins, even if its value is null. `{{a.b.c}}` looks up `a` that way,
 *     then `b` and `c` only inside the value found; a key that contains a dot is never
 *     matched as a whole. `{{.}}` is the innermost context itself.
 *   - Falsey (section skipped, inverted section rendered): a missing name, null, false,
 *     0, "" and []. Everything else, {} included, is truthy (JavaScript's `!!data`,
 *     which is the spec's own example).
 *   - `{{#list}}` renders once per element of an array, with the element pushed as the
 *     context; a truthy non-array value is pushed once.
 *   - `{{x}}` escapes & < > " ' for HTML; `{{{x}}}` and `{{&x}}` do not. Strings are
 *     written as they are, integral numbers without decimals ("85"), others in the
 *     shortest form that reads back the same ("1.21"); true/false as "true"/"false";
 *     null, missing names, objects and arrays as nothing.
 *   - Standalone partials, parents and blocks indent every template line they produce;
 *     newlines inside interpolated data are not indented (as the spec demands).
 *
 * Limits: a template may be at most KB_TMPL_MAX_SIZE bytes and nest sections
 * KB_TMPL_MAX_NEST deep; partials, parents and block overrides may nest
 * KB_TMPL_MAX_DEPTH deep at render time; output is bounded by `out->max`. Breaking a
 * limit is an error, never a crash. Compiling is linear in the template's size.
 */
#ifndef KB_MUSTACHE_H
#define KB_MUSTACHE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/buf.h"

#define KB_TMPL_MAX_SIZE ((size_t)16 << 20) /* 16 MiB of template source */
#define KB_TMPL_MAX_DEPTH 64                /* partials/parents/blocks inside each other */
#define KB_TMPL_MAX_NEST 100                /* sections inside each other in one template */

typedef struct kb_tmpl_set kb_tmpl_set;

/* Returns the source text of the template/partial/parent called `name` as a malloc'd
 * string (caller frees) and its length in *len, or NULL if there is none. May be
 * called from several threads at once when the set is shared. */
typedef char *(*kb_tmpl_loader)(void *ctx, const char *name, size_t *len);

/* A cache of compiled templates, filled through `loader` on first use. Safe to render
 * from several threads at once; compiled templates never change once cached, and a
 * name the loader did not know (or that failed to compile) is remembered as such. */
kb_tmpl_set *kb_tmpl_set_new(kb_tmpl_loader loader, void *ctx);
/* Free the set and every template in it; no render may be running. Accepts NULL. */
void kb_tmpl_set_free(kb_tmpl_set *set);

/* Render template `name` (loaded through the loader, compiled once and cached) with
 * `data` appended to `out`. Returns 0, or -1 and sets *err to a malloc'd message
 * "name:line: what is wrong" (caller frees; line 0 = not about one line); on error
 * `out` is cut back to its length on entry. A missing partial renders as nothing; a
 * missing `name` is an error. */
int kb_tmpl_set_render(kb_tmpl_set *set, const char *name, const cJSON *data, kb_buf *out,
                       char **err);

/* One-shot: render template source `src` (named `name` in messages) with
 * partials/parents from loader (loader may be NULL = no partials). Same return
 * contract as kb_tmpl_set_render. */
int kb_mustache_render(const char *name, const char *src, size_t len, const cJSON *data,
                       kb_tmpl_loader loader, void *ctx, kb_buf *out, char **err);

/* A kb_tmpl_loader for templates kept as files: `ctx` is a folder (const char *), name
 * "partials/card" reads <folder>/partials/card.mustache (at most 4 MiB). Names that could
 * leave the folder (absolute, "..", backslash) load nothing. */
char *kb_tmpl_dir_loader(void *ctx, const char *name, size_t *len);

#endif
