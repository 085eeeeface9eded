/* reason.c - a crash reason as JSON (see reason.h). */
#include "stack/reason.h"

#include <stdlib.h>

cJSON *kb_reason_to_json(const kb_reason *r) {
  cJSON *o = cJSON_CreateObject();
  const char *keys[] = {"kind", "code", "name", "message", "params", "bucket"};
  const char *vals[] = {r->kind, r->code, r->name, r->message, r->params, r->bucket};
  for (size_t i = 0; i < 6; i++)
    if (vals[i]) cJSON_AddStringToObject(o, keys[i], vals[i]);
  return o;
}

char *kb_reason_json(const kb_reason *r) {
  cJSON *o = kb_reason_to_json(r);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}
