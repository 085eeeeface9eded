/* incident.c - one incident read back from the index as JSON, for GET
 * /api/incidents/<id>: what the incident page shows (title, date, summary, tags,
 * categories, identifiers, stacks and frames) without the Markdown body. The file it
 * came from is left out: a response never names a server path. Called by api.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "stack/stack.h"
#include "util/util.h"

/* Statement slots on the kb_index (match.c uses 0-5, search.c 10-16, pages.c 24). */
enum { ST_INCIDENT = 20, ST_STACKS };

static void add_text(cJSON *o, const char *key, sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  if (t) cJSON_AddStringToObject(o, key, (const char *)t);
  else cJSON_AddNullToObject(o, key);
}

/* A column holding JSON text, parsed; `fallback` when it is missing or damaged. */
static void add_json(cJSON *o, const char *key, sqlite3_stmt *st, int col, cJSON *fallback) {
  const char *t = (const char *)sqlite3_column_text(st, col);
  cJSON *v = t ? cJSON_Parse(t) : NULL;
  if (v) cJSON_Delete(fallback);
  cJSON_AddItemToObject(o, key, v ? v : fallback);
}

/* incidents.identifiers ([[kind, value], ...]) as [{kind, value}, ...]. */
static void add_identifiers(cJSON *o, sqlite3_stmt *st, int col) {
  const char *t = (const char *)sqlite3_column_text(st, col);
  cJSON *pairs = t ? cJSON_Parse(t) : NULL, *arr = cJSON_AddArrayToObject(o, "identifiers");
  const cJSON *pair;
  cJSON_ArrayForEach(pair, pairs) {
    const cJSON *kind = cJSON_GetArrayItem(pair, 0), *value = cJSON_GetArrayItem(pair, 1);
    if (!cJSON_IsString(kind) || !cJSON_IsString(value)) continue;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "kind", kind->valuestring);
    cJSON_AddStringToObject(e, "value", value->valuestring);
    cJSON_AddItemToArray(arr, e);
  }
  cJSON_Delete(pairs);
}

static cJSON *frame_field(const cJSON *f, int k) {
  const cJSON *v = cJSON_GetArrayItem(f, k);
  if (cJSON_IsString(v)) return cJSON_CreateString(v->valuestring);
  if (cJSON_IsNumber(v) && v->valuedouble > 0) return cJSON_CreateNumber(v->valuedouble);
  return cJSON_CreateNull();
}

/* stacks.frames (arrays: module, function, offset, file, line, norm, flags) as the API's
 * objects; an empty list when the column is damaged. */
static void add_frames(cJSON *stack, sqlite3_stmt *st, int col) {
  cJSON *arr = cJSON_AddArrayToObject(stack, "frames");
  const char *text = (const char *)sqlite3_column_text(st, col);
  cJSON *frames = text ? cJSON_Parse(text) : NULL;
  static const char *const keys[] = {"module", "function", "offset", "file", "line", "norm"};
  int pos = 0;
  const cJSON *f;
  cJSON_ArrayForEach(f, frames) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pos", pos++);
    for (int k = 0; k < 6; k++) cJSON_AddItemToObject(o, keys[k], frame_field(f, k));
    const cJSON *flags = cJSON_GetArrayItem(f, 6);
    unsigned bits = cJSON_IsNumber(flags) ? (unsigned)flags->valueint : 0;
    cJSON_AddBoolToObject(o, "skipped", (bits & KB_FRAME_SKIP) != 0);
    cJSON_AddBoolToObject(o, "signature", (bits & KB_FRAME_SIGNATURE) != 0);
    cJSON_AddItemToArray(arr, o);
  }
  cJSON_Delete(frames);
}

static int add_stacks(kb_index *ix, cJSON *o, sqlite3_int64 rowid) {
  sqlite3_stmt *st = kb_index_stmt(
      ix, ST_STACKS,
      "SELECT seq, format, platform, bugcheck, signature, reason, frames FROM stacks WHERE incident = ? ORDER BY seq");
  if (!st) return -1;
  sqlite3_bind_int64(st, 1, rowid);
  cJSON *arr = cJSON_AddArrayToObject(o, "stacks");
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "seq", sqlite3_column_int(st, 0));
    add_text(s, "format", st, 1);
    add_text(s, "platform", st, 2);
    if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
      char hex[24];
      snprintf(hex, sizeof hex, "0x%llX", (unsigned long long)sqlite3_column_int64(st, 3));
      cJSON_AddStringToObject(s, "bugcheck", hex);
    }
    add_text(s, "signature", st, 4);
    add_json(s, "reason", st, 5, cJSON_CreateObject());
    add_frames(s, st, 6);
    cJSON_AddItemToArray(arr, s);
  }
  sqlite3_reset(st);
  return step == SQLITE_DONE ? 0 : -1;
}

cJSON *kb_srv_incident_json(kb_index *ix, const char *id, const char *base_url, bool *failed) {
  *failed = false;
  sqlite3_stmt *st = kb_index_stmt(ix, ST_INCIDENT,
                                   "SELECT rowid, id, slug, url, title, date, summary, tags, categories, params, identifiers"
                                   " FROM incidents WHERE id = ?");
  if (!st) {
    *failed = true;
    return NULL;
  }
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  int step = sqlite3_step(st);
  if (step != SQLITE_ROW) {
    *failed = step != SQLITE_DONE;
    sqlite3_reset(st);
    return NULL;
  }
  sqlite3_int64 rowid = sqlite3_column_int64(st, 0);
  cJSON *o = cJSON_CreateObject();
  add_text(o, "id", st, 1);
  add_text(o, "slug", st, 2);
  const char *url = (const char *)sqlite3_column_text(st, 3);
  char *href = kb_xasprintf("%s%s", base_url, url && url[0] == '/' ? url + 1 : url ? url : "");
  cJSON_AddStringToObject(o, "url", href);
  free(href);
  add_text(o, "title", st, 4);
  add_text(o, "date", st, 5);
  add_text(o, "summary", st, 6);
  add_json(o, "tags", st, 7, cJSON_CreateArray());
  add_json(o, "categories", st, 8, cJSON_CreateArray());
  add_json(o, "front_matter", st, 9, cJSON_CreateObject());
  add_identifiers(o, st, 10);
  sqlite3_reset(st);
  if (add_stacks(ix, o, rowid) != 0) {
    cJSON_Delete(o);
    *failed = true;
    return NULL;
  }
  return o;
}
