/* fuzz_stack.c - libFuzzer harness for the stack parser (core/stack): kb_stacks_parse,
 * which cleans every line, offers it to each format (fmt_*.c), groups frames into
 * stacks and normalizes them (norm, flags, signature), then the JSON the server and
 * `kb match --json` print for a query (kb_match_to_json with no results).
 *
 * Why: this parser reads whatever anyone pastes into /match or POST /api/match and every
 * code block of every incident, in thirteen hand-written formats; it is the largest
 * surface of untrusted text in kb.
 *
 * The input is handed over as `kb match FILE` does: the bytes as read (NUL bytes
 * included), with their length, in a buffer of exactly that size (no NUL after it, so
 * ASan catches a read past `len`). The parser's own limit (KB_STACK_MAX_INPUT) is
 * applied inside kb_stacks_parse, as for every caller. The documented bounds are
 * checked as properties: at most KB_STACK_MAX_STACKS stacks of KB_STACK_MAX_FRAMES
 * frames, and every frame has a `norm`. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "match/match.h"
#include "stack/stack.h"

static void check_stacks(const kb_stacks *s) {
  if (s->n > KB_STACK_MAX_STACKS) abort();
  for (size_t i = 0; i < s->n; i++) {
    const kb_stack *st = &s->v[i];
    if (st->nframes > KB_STACK_MAX_FRAMES || !st->format || !st->platform) abort();
    for (size_t k = 0; k < st->nframes; k++)
      if (!st->frames[k].norm) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size ? size : 1);
  if (size) memcpy(text, data, size);
  kb_stacks s = {0};
  kb_stacks_parse(text, size, &s);
  check_stacks(&s);
  kb_match none = {0};
  cJSON *o = kb_match_to_json(&s, &none);
  char *json = cJSON_PrintUnformatted(o);
  if (!json) abort(); /* the body must always serialize */
  free(json);
  cJSON_Delete(o);
  kb_stacks_release(&s);
  free(text);
  return 0;
}
