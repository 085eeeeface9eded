/* fuzz_mustache.c - libFuzzer harness for the Mustache engine (core/template/mustache.c):
 * the compiler (tags, set delimiters, standalone lines, sections, partials, parents and
 * blocks) and the renderer (context lookup, escaping, indentation, inheritance, the
 * nesting, depth, step and output bounds).
 *
 * Why: every page of the site and of `kb serve` goes through this engine, from several
 * threads at once in the server; a template mistake must be an error message, never a
 * crash, a hang or a leak.
 *
 * Input: parts separated by NUL bytes:
 *   template \0 JSON data \0 partial \0 partial ...
 * A partial part is "name\nsource". Data that is missing or not valid JSON is replaced
 * by a fixed object with every kind of value. The template is rendered twice, one-shot
 * (kb_mustache_render) and through a template set (kb_tmpl_set_render, the way gen and
 * the server render, with the template served by the loader), and both renders must
 * agree; partials come from an in-memory loader. Templates are files in the real
 * callers (kb_tmpl_dir_loader: any bytes, at most 4 MiB), so the harness applies the
 * same size cap; KB_TMPL_MAX_SIZE is the engine's own. Output goes to a buffer capped at
 * 1 MiB (each caller picks its cap: the server 8 MiB, gen 256 MiB) so that an exploding
 * template hits the output bound quickly rather than slowly. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "template/mustache.h"

#define MAX_PARTIALS 16
#define LOADER_MAX ((size_t)4 << 20) /* as kb_tmpl_dir_loader */
#define OUT_MAX ((size_t)1 << 20)
#define MAIN_NAME "\x01main" /* the template itself, as the set's loader serves it */

typedef struct part {
  const char *s;
  size_t n;
} part;

typedef struct sources {
  part main;
  part name[MAX_PARTIALS], src[MAX_PARTIALS];
  size_t n;
} sources;

static const char fixed_data[] =
    "{\"title\": \"Bugcheck 0xA <b>&amp;</b> \\\"quoted\\\" 'single'\", \"n\": 85, \"f\": 1.21, \"neg\": -3,"
    " \"t\": true, \"no\": false, \"nil\": null, \"empty\": \"\", \"none\": [], \"obj\": {},"
    " \"list\": [1, \"two\", {\"name\": \"three\", \"list\": [4, 5]}, [6], null, false],"
    " \"a\": {\"b\": {\"c\": \"deep\", \"list\": [{\"x\": 1}, {\"x\": 2}]}},"
    " \"multi\": \"line one\\nline two\\n\", \"tags\": [{\"name\": \"bsod\", \"href\": \"/tags/bsod/\"}]}";

/* Partials, parents and the template itself, by name, from the input. */
static char *load(void *ctx, const char *name, size_t *len) {
  const sources *src = ctx;
  const part *found = strcmp(name, MAIN_NAME) == 0 ? &src->main : NULL;
  for (size_t i = 0; !found && i < src->n; i++)
    if (strlen(name) == src->name[i].n && memcmp(name, src->name[i].s, src->name[i].n) == 0) found = &src->src[i];
  if (!found || found->n > LOADER_MAX) return NULL;
  char *s = malloc(found->n + 1);
  memcpy(s, found->s, found->n);
  s[found->n] = '\0';
  *len = found->n;
  return s;
}

/* Split the input at NUL bytes: template, data, partials. Returns the data part. */
static part split(const char *s, size_t n, sources *src) {
  part parts[2 + MAX_PARTIALS];
  size_t np = 0;
  for (size_t i = 0; np < sizeof parts / sizeof parts[0];) {
    const char *nul = memchr(s + i, '\0', n - i);
    size_t end = nul ? (size_t)(nul - s) : n;
    parts[np++] = (part){s + i, end - i};
    if (!nul) break;
    i = end + 1;
  }
  src->main = parts[0];
  for (size_t k = 2; k < np; k++) {
    const char *nl = memchr(parts[k].s, '\n', parts[k].n);
    size_t nlen = nl ? (size_t)(nl - parts[k].s) : parts[k].n;
    src->name[src->n] = (part){parts[k].s, nlen};
    src->src[src->n++] = nl ? (part){nl + 1, parts[k].n - nlen - 1} : (part){"", 0};
  }
  return np > 1 ? parts[1] : (part){NULL, 0};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sources src = {0};
  part json = split((const char *)data, size, &src);
  if (src.main.n > LOADER_MAX) return 0;
  cJSON *ctx = json.s ? cJSON_ParseWithLength(json.s, json.n) : NULL;
  if (!ctx) ctx = cJSON_Parse(fixed_data);
  kb_buf one, two;
  kb_buf_init(&one, OUT_MAX);
  kb_buf_init(&two, OUT_MAX);
  char *err1 = NULL, *err2 = NULL;
  int rc1 = kb_mustache_render("fuzz", src.main.s, src.main.n, ctx, load, &src, &one, &err1);
  kb_tmpl_set *set = kb_tmpl_set_new(load, &src);
  int rc2 = kb_tmpl_set_render(set, MAIN_NAME, ctx, &two, &err2);
  /* the set compiled and cached everything: a second render must give the same */
  kb_buf_reset(&two);
  free(err2);
  err2 = NULL;
  int rc3 = kb_tmpl_set_render(set, MAIN_NAME, ctx, &two, &err2);
  if (rc1 != rc2 || rc2 != rc3 || (rc1 == 0) != (err1 == NULL) || (rc3 == 0) != (err2 == NULL)) abort();
  if (rc1 == 0 && (one.len != two.len || memcmp(one.ptr, two.ptr, one.len) != 0)) abort();
  if (rc1 != 0 && (one.len != 0 || two.len != 0)) abort(); /* an error leaves `out` as it was */
  kb_tmpl_set_free(set);
  free(err1);
  free(err2);
  kb_buf_release(&one);
  kb_buf_release(&two);
  cJSON_Delete(ctx);
  return 0;
}
