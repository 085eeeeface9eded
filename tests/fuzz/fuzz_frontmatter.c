/* fuzz_frontmatter.c - libFuzzer harness for front matter (core/content/frontmatter.c):
 * the fence splitter, YAML through libyaml's event parser into cJSON (typing of plain
 * scalars, nesting bound, alias refusal, duplicate keys) and Hugo's TOML (toml.c), then
 * what incident.c reads back (key lines, the body pointer).
 *
 * Why: front matter is the first thing read from every imported blog post; a YAML or
 * TOML corner case must end in a `path:line: error`, never in a crash or a leak.
 *
 * The input is a whole incident file. kb_frontmatter_parse is only ever called by
 * incident.c on text it has already cleaned, so the harness hands it text in the same
 * state: files over KB_INCIDENT_MAX_BYTES, with invalid UTF-8 or a NUL byte are refused
 * there (skipped here), a UTF-8 BOM is dropped, CR LF becomes LF, and the text is
 * NUL-terminated. (The double-encoding repair that follows in incident.c only changes
 * valid UTF-8 into valid UTF-8 and is fuzzed by fuzz_markdown.) The YAML size limit
 * (KB_FRONTMATTER_MAX) is the parser's own. */
#include <stdlib.h>
#include <string.h>

#include "content/frontmatter.h"
#include "content/incident.h"
#include "fuzz.h"
#include "util/text.h"

/* The text as incident.c would pass it, or NULL when incident.c refuses the file. */
static char *clean_text(const char *s, size_t n) {
  if (n > KB_INCIDENT_MAX_BYTES) return NULL;
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, n -= 3;
  if (!kb_utf8_valid(s, n, NULL) || memchr(s, '\0', n)) return NULL;
  char *out = malloc(n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')) out[k++] = s[i];
  out[k] = '\0';
  return out;
}

/* What incident.c relies on after a successful parse. */
static void check_result(const char *text, const kb_frontmatter *fm) {
  if (!cJSON_IsObject(fm->data) || !cJSON_IsObject(fm->key_lines)) abort();
  if (fm->body < text || fm->body > text + strlen(text) || fm->body_line < 1) abort();
  const cJSON *k;
  cJSON_ArrayForEach(k, fm->data) {
    if (kb_frontmatter_line(fm, k->string) < 1) abort();
  }
  char *json = cJSON_PrintUnformatted(fm->data);
  if (!json) abort();
  free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = clean_text((const char *)data, size);
  if (!text) return 0;
  kb_diags diags = {0};
  kb_frontmatter fm;
  if (kb_frontmatter_parse("fuzz.md", text, &fm, &diags) == 0) {
    check_result(text, &fm);
    kb_frontmatter_release(&fm);
  } else if (diags.errors == 0) {
    abort(); /* a refusal always says why */
  }
  kb_diags_release(&diags);
  free(text);
  return 0;
}
