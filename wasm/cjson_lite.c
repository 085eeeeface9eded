/* cjson_lite.c - the cJSON subset of include/cjson/cJSON.h for the WebAssembly build.
 * The parser reads what the index stores (stacks.reason objects) and any JSON at all
 * without crashing: depth is bounded, every read checks the end of the text. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define MAX_DEPTH 64

static cJSON *item_new(int type) {
  cJSON *c = calloc(1, sizeof *c);
  if (c) c->type = type;
  return c;
}

static char *str_dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

void cJSON_Delete(cJSON *item) {
  while (item) {
    cJSON *next = item->next;
    cJSON_Delete(item->child);
    free(item->valuestring);
    free(item->string);
    free(item);
    item = next;
  }
}

cJSON *cJSON_CreateObject(void) { return item_new(cJSON_Object); }
cJSON *cJSON_CreateArray(void) { return item_new(cJSON_Array); }

cJSON *cJSON_CreateString(const char *s) {
  cJSON *c = item_new(cJSON_String);
  if (c && !(c->valuestring = str_dup(s ? s : ""))) {
    free(c);
    return NULL;
  }
  return c;
}

cJSON *cJSON_CreateNumber(double v) {
  cJSON *c = item_new(cJSON_Number);
  if (!c) return NULL;
  c->valuedouble = v;
  c->valueint = v >= 2147483647.0 ? 2147483647 : v <= -2147483648.0 ? -2147483647 - 1 : (int)v;
  return c;
}

cJSON_bool cJSON_AddItemToArray(cJSON *array, cJSON *item) {
  if (!array || !item) return 0;
  if (!array->child) {
    array->child = item;
    item->prev = item; /* cJSON keeps the last child in the first one's prev */
  } else {
    cJSON *last = array->child->prev;
    last->next = item;
    item->prev = last;
    array->child->prev = item;
  }
  return 1;
}

cJSON_bool cJSON_AddItemToObject(cJSON *object, const char *key, cJSON *item) {
  if (!object || !key || !item) return 0;
  free(item->string);
  if (!(item->string = str_dup(key))) return 0;
  return cJSON_AddItemToArray(object, item);
}

static cJSON *add(cJSON *object, const char *key, cJSON *item) {
  if (cJSON_AddItemToObject(object, key, item)) return item;
  cJSON_Delete(item);
  return NULL;
}

cJSON *cJSON_AddStringToObject(cJSON *o, const char *k, const char *s) { return add(o, k, cJSON_CreateString(s)); }
cJSON *cJSON_AddNumberToObject(cJSON *o, const char *k, double v) { return add(o, k, cJSON_CreateNumber(v)); }
cJSON *cJSON_AddBoolToObject(cJSON *o, const char *k, cJSON_bool b) {
  return add(o, k, item_new(b ? cJSON_True : cJSON_False));
}
cJSON *cJSON_AddNullToObject(cJSON *o, const char *k) { return add(o, k, item_new(cJSON_NULL)); }
cJSON *cJSON_AddArrayToObject(cJSON *o, const char *k) { return add(o, k, cJSON_CreateArray()); }
cJSON *cJSON_AddObjectToObject(cJSON *o, const char *k) { return add(o, k, cJSON_CreateObject()); }

cJSON *cJSON_GetObjectItemCaseSensitive(const cJSON *object, const char *key) {
  if (!object || !key) return NULL;
  for (cJSON *c = object->child; c; c = c->next)
    if (c->string && strcmp(c->string, key) == 0) return c;
  return NULL;
}

cJSON *cJSON_GetObjectItem(const cJSON *object, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(object, key);
}

cJSON_bool cJSON_IsString(const cJSON *item) { return item && item->type == cJSON_String; }
cJSON_bool cJSON_IsNumber(const cJSON *item) { return item && item->type == cJSON_Number; }

/* ---- parsing ---- */

typedef struct reader {
  const char *p, *end;
} reader;

static void skip_space(reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int hex4(const char *p, const char *end, unsigned *v) {
  if (end - p < 4) return -1;
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    *v = *v * 16 + (unsigned)d;
  }
  return 0;
}

static void utf8_put(kb_buf *b, unsigned cp) {
  if (cp < 0x80) {
    kb_buf_addc(b, (char)cp);
  } else if (cp < 0x800) {
    kb_buf_addc(b, (char)(0xC0 | cp >> 6));
    kb_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    kb_buf_addc(b, (char)(0xE0 | cp >> 12));
    kb_buf_addc(b, (char)(0x80 | (cp >> 6 & 0x3F)));
    kb_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    kb_buf_addc(b, (char)(0xF0 | cp >> 18));
    kb_buf_addc(b, (char)(0x80 | (cp >> 12 & 0x3F)));
    kb_buf_addc(b, (char)(0x80 | (cp >> 6 & 0x3F)));
    kb_buf_addc(b, (char)(0x80 | (cp & 0x3F)));
  }
}

/* One \u escape (r->p after the 'u'), a surrogate pair joined. */
static int unicode_escape(reader *r, kb_buf *b) {
  unsigned cp, lo;
  if (hex4(r->p, r->end, &cp)) return -1;
  r->p += 4;
  if (cp >= 0xD800 && cp <= 0xDBFF && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u' &&
      hex4(r->p + 2, r->end, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    r->p += 6;
  } else if (cp >= 0xD800 && cp <= 0xDFFF) {
    cp = 0xFFFD;
  }
  utf8_put(b, cp);
  return 0;
}

static char *parse_string(reader *r) {
  kb_buf b = KB_BUF_INIT;
  r->p++; /* the opening quote */
  while (r->p < r->end && *r->p != '"') {
    char c = *r->p++;
    if ((unsigned char)c < 0x20) goto err;
    if (c != '\\') {
      kb_buf_addc(&b, c);
      continue;
    }
    if (r->p >= r->end) goto err;
    c = *r->p++;
    const char *plain = strchr("\"\\/bfnrt", c);
    if (c == 'u') {
      if (unicode_escape(r, &b)) goto err;
    } else if (plain && c) {
      kb_buf_addc(&b, "\"\\/\b\f\n\r\t"[plain - "\"\\/bfnrt"]);
    } else {
      goto err;
    }
  }
  if (r->p >= r->end) goto err;
  r->p++;
  return kb_buf_detach(&b, NULL);
err:
  kb_buf_release(&b);
  return NULL;
}

static cJSON *parse_value(reader *r, int depth);

/* Items of an array or object up to `close`; keys when `keyed`. */
static cJSON *parse_container(reader *r, int depth, int type, char close) {
  cJSON *c = item_new(type);
  if (!c) return NULL;
  r->p++;
  skip_space(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    return c;
  }
  for (;;) {
    char *key = NULL;
    skip_space(r);
    if (type == cJSON_Object) {
      if (r->p >= r->end || *r->p != '"' || !(key = parse_string(r))) goto err;
      skip_space(r);
      if (r->p >= r->end || *r->p != ':') {
        free(key);
        goto err;
      }
      r->p++;
    }
    cJSON *v = parse_value(r, depth + 1);
    if (!v) {
      free(key);
      goto err;
    }
    v->string = key;
    cJSON_AddItemToArray(c, v);
    skip_space(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == close) {
      r->p++;
      return c;
    }
    goto err;
  }
err:
  cJSON_Delete(c);
  return NULL;
}

static cJSON *parse_number(reader *r) {
  char tmp[64];
  size_t n = 0;
  while (r->p + n < r->end && n < sizeof tmp - 1 && strchr("+-0123456789.eE", r->p[n]) && r->p[n]) n++;
  memcpy(tmp, r->p, n);
  tmp[n] = '\0';
  char *e;
  double v = strtod(tmp, &e);
  if (e == tmp) return NULL;
  r->p += e - tmp;
  return cJSON_CreateNumber(v);
}

static cJSON *parse_word(reader *r, const char *w, int type) {
  size_t n = strlen(w);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0) return NULL;
  r->p += n;
  return item_new(type);
}

static cJSON *parse_value(reader *r, int depth) {
  skip_space(r);
  if (r->p >= r->end || depth > MAX_DEPTH) return NULL;
  switch (*r->p) {
  case '{': return parse_container(r, depth, cJSON_Object, '}');
  case '[': return parse_container(r, depth, cJSON_Array, ']');
  case 't': return parse_word(r, "true", cJSON_True);
  case 'f': return parse_word(r, "false", cJSON_False);
  case 'n': return parse_word(r, "null", cJSON_NULL);
  case '"': {
    char *s = parse_string(r);
    cJSON *c = s ? item_new(cJSON_String) : NULL;
    if (c) c->valuestring = s;
    else free(s);
    return c;
  }
  default: return parse_number(r);
  }
}

cJSON *cJSON_Parse(const char *text) {
  if (!text) return NULL;
  reader r = {text, text + strlen(text)};
  cJSON *c = parse_value(&r, 0);
  skip_space(&r);
  if (c && r.p != r.end) {
    cJSON_Delete(c);
    return NULL;
  }
  return c;
}

/* ---- printing ---- */

static void print_string(kb_buf *b, const char *s) {
  kb_buf_addc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': kb_buf_adds(b, "\\\""); break;
    case '\\': kb_buf_adds(b, "\\\\"); break;
    case '\n': kb_buf_adds(b, "\\n"); break;
    case '\r': kb_buf_adds(b, "\\r"); break;
    case '\t': kb_buf_adds(b, "\\t"); break;
    case '\b': kb_buf_adds(b, "\\b"); break;
    case '\f': kb_buf_adds(b, "\\f"); break;
    default:
      if (*p < 0x20) kb_buf_addf(b, "\\u%04x", *p);
      else kb_buf_addc(b, (char)*p);
    }
  }
  kb_buf_addc(b, '"');
}

/* As cJSON: integers plainly, else the shortest of %.15g/%.17g that reads back the same. */
static void print_number(kb_buf *b, double v) {
  char tmp[32];
  if (!isfinite(v)) {
    kb_buf_adds(b, "null");
  } else if (v == floor(v) && fabs(v) < 1e15) {
    kb_buf_addf(b, "%.0f", v);
  } else {
    snprintf(tmp, sizeof tmp, "%1.15g", v);
    if (strtod(tmp, NULL) != v) snprintf(tmp, sizeof tmp, "%1.17g", v);
    kb_buf_adds(b, tmp);
  }
}

static void print_item(kb_buf *b, const cJSON *c) {
  switch (c->type) {
  case cJSON_False: kb_buf_adds(b, "false"); return;
  case cJSON_True: kb_buf_adds(b, "true"); return;
  case cJSON_NULL: kb_buf_adds(b, "null"); return;
  case cJSON_Number: print_number(b, c->valuedouble); return;
  case cJSON_String: print_string(b, c->valuestring ? c->valuestring : ""); return;
  default: break;
  }
  bool obj = c->type == cJSON_Object;
  kb_buf_addc(b, obj ? '{' : '[');
  for (const cJSON *k = c->child; k; k = k->next) {
    if (k != c->child) kb_buf_addc(b, ',');
    if (obj) {
      print_string(b, k->string ? k->string : "");
      kb_buf_addc(b, ':');
    }
    print_item(b, k);
  }
  kb_buf_addc(b, obj ? '}' : ']');
}

char *cJSON_PrintUnformatted(const cJSON *item) {
  if (!item) return NULL;
  kb_buf b = KB_BUF_INIT;
  print_item(&b, item);
  return kb_buf_detach(&b, NULL);
}
