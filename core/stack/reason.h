/* reason.h - a crash reason (stack.h's kb_reason) as JSON: what the index stores in
 * stacks.reason and what `kb match --json` and /api/match print. Used by the index
 * writer, the matcher and the WebAssembly build. */
#ifndef KB_STACK_REASON_H
#define KB_STACK_REASON_H

#include <cjson/cJSON.h>

#include "stack/stack.h"

/* A JSON object of the reason's non-NULL fields. Caller deletes. */
cJSON *kb_reason_to_json(const kb_reason *r);
/* The same, printed without spaces. Caller frees. */
char *kb_reason_json(const kb_reason *r);

#endif
