/* toml.c - a TOML subset parser for Hugo front matter (see toml.h).
 *
 * A recursive-descent reader over one buffer with a cursor; nesting of arrays and inline
 * tables is bounded (TOML_DEPTH) so hostile input cannot exhaust the stack, and every
 * loop advances the cursor, so the work is linear in the input. */
#include "content/toml.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define TOML_DEPTH 32

typedef struct toml {
  const char *p, *end;
  int line;
  const char *err;
} toml;

static cJSON *toml_value(toml *t, int depth);

static bool toml_fail(toml *t, const char *msg) {
  if (!t->err) t->err = msg;
  return false;
}

static void skip_ws(toml *t) {
  while (t->p < t->end && (*t->p == ' ' || *t->p == '\t')) t->p++;
}

/* Spaces, comments and newlines (inside arrays). */
static void skip_ws_nl(toml *t) {
  for (;;) {
    skip_ws(t);
    if (t->p < t->end && *t->p == '#')
      while (t->p < t->end && *t->p != '\n') t->p++;
    if (t->p < t->end && (*t->p == '\n' || *t->p == '\r')) {
      if (*t->p == '\n') t->line++;
      t->p++;
      continue;
    }
    return;
  }
}

static bool at(const toml *t, const char *lit) {
  size_t n = strlen(lit);
  return (size_t)(t->end - t->p) >= n && memcmp(t->p, lit, n) == 0;
}

static void add_utf8(kb_buf *b, unsigned long cp) {
  char u[4];
  if (cp < 0x80) kb_buf_addc(b, (char)cp);
  else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), kb_buf_add(b, u, 2);
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)),
    kb_buf_add(b, u, 3);
  else
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), kb_buf_add(b, u, 4);
}

static bool string_escape(toml *t, kb_buf *b) {
  if (++t->p >= t->end) return toml_fail(t, "unfinished escape in a string");
  char c = *t->p++;
  switch (c) {
  case 'n': kb_buf_addc(b, '\n'); return true;
  case 't': kb_buf_addc(b, '\t'); return true;
  case 'r': kb_buf_addc(b, '\r'); return true;
  case 'b': kb_buf_addc(b, '\b'); return true;
  case 'f': kb_buf_addc(b, '\f'); return true;
  case '"': kb_buf_addc(b, '"'); return true;
  case '\\': kb_buf_addc(b, '\\'); return true;
  case 'u':
  case 'U': {
    int digits = c == 'u' ? 4 : 8;
    unsigned long cp = 0;
    for (int i = 0; i < digits; i++, t->p++) {
      if (t->p >= t->end || !isxdigit((unsigned char)*t->p)) return toml_fail(t, "bad \\u escape in a string");
      cp = cp * 16 + (unsigned long)(isdigit((unsigned char)*t->p) ? *t->p - '0' : (tolower((unsigned char)*t->p) - 'a' + 10));
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return toml_fail(t, "bad code point in a string");
    add_utf8(b, cp);
    return true;
  }
  default: return toml_fail(t, "unknown escape in a string");
  }
}

/* "basic", 'literal', """multi-line""" or '''multi-line'''. */
static char *toml_string(toml *t) {
  char q = *t->p;
  bool multi = (q == '"' && at(t, "\"\"\"")) || (q == '\'' && at(t, "'''"));
  t->p += multi ? 3 : 1;
  if (multi && t->p < t->end && *t->p == '\n') t->p++, t->line++; /* a newline right after the quotes is dropped */
  kb_buf b = KB_BUF_INIT;
  for (;;) {
    if (t->p >= t->end) {
      toml_fail(t, "string is never closed");
      break;
    }
    if (multi ? at(t, q == '"' ? "\"\"\"" : "'''") : *t->p == q) {
      t->p += multi ? 3 : 1;
      return kb_buf_detach(&b, NULL);
    }
    if (*t->p == '\n') {
      if (!multi) {
        toml_fail(t, "string runs past the end of the line");
        break;
      }
      t->line++;
    }
    if (*t->p == '\\' && q == '"') {
      if (!string_escape(t, &b)) break;
      continue;
    }
    kb_buf_addc(&b, *t->p++);
  }
  kb_buf_release(&b);
  return NULL;
}

/* A bare or quoted key. */
static char *toml_key_part(toml *t) {
  skip_ws(t);
  if (t->p < t->end && (*t->p == '"' || *t->p == '\'')) return toml_string(t);
  const char *s = t->p;
  while (t->p < t->end && (isalnum((unsigned char)*t->p) || *t->p == '_' || *t->p == '-')) t->p++;
  if (t->p == s) {
    toml_fail(t, "expected a key");
    return NULL;
  }
  return kb_xstrndup(s, (size_t)(t->p - s));
}

/* Dotted key a.b.c: returns the object that holds the last part and the last part. */
static cJSON *toml_key_path(toml *t, cJSON *table, char **last) {
  *last = NULL;
  for (;;) {
    char *part = toml_key_part(t);
    if (!part) return NULL;
    skip_ws(t);
    if (t->p < t->end && *t->p == '.') {
      t->p++;
      cJSON *sub = cJSON_GetObjectItemCaseSensitive(table, part);
      if (!sub) sub = cJSON_AddObjectToObject(table, part);
      free(part);
      if (!cJSON_IsObject(sub)) {
        toml_fail(t, "a dotted key goes through a value that is not a table");
        return NULL;
      }
      table = sub;
      continue;
    }
    *last = part;
    return table;
  }
}

static cJSON *toml_array(toml *t, int depth) {
  t->p++; /* [ */
  cJSON *arr = cJSON_CreateArray();
  for (;;) {
    skip_ws_nl(t);
    if (t->p < t->end && *t->p == ']') {
      t->p++;
      return arr;
    }
    cJSON *v = toml_value(t, depth + 1);
    if (!v) break;
    cJSON_AddItemToArray(arr, v);
    skip_ws_nl(t);
    if (t->p < t->end && *t->p == ',') {
      t->p++;
      continue;
    }
    if (t->p < t->end && *t->p == ']') continue;
    toml_fail(t, "expected ',' or ']' in an array");
    break;
  }
  cJSON_Delete(arr);
  return NULL;
}

static bool toml_keyval(toml *t, cJSON *table, int depth, char **key_out);

static cJSON *toml_inline_table(toml *t, int depth) {
  t->p++; /* { */
  cJSON *obj = cJSON_CreateObject();
  skip_ws(t);
  if (t->p < t->end && *t->p == '}') {
    t->p++;
    return obj;
  }
  for (;;) {
    if (!toml_keyval(t, obj, depth + 1, NULL)) break;
    skip_ws(t);
    if (t->p < t->end && *t->p == ',') {
      t->p++;
      continue;
    }
    if (t->p < t->end && *t->p == '}') {
      t->p++;
      return obj;
    }
    toml_fail(t, "expected ',' or '}' in an inline table");
    break;
  }
  cJSON_Delete(obj);
  return NULL;
}

/* Numbers, booleans and dates: the run of characters up to a separator. */
static cJSON *toml_scalar(toml *t) {
  const char *s = t->p;
  while (t->p < t->end && !strchr(",]}#\n\r", *t->p)) t->p++;
  const char *e = t->p;
  while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
  char *word = kb_xstrndup(s, (size_t)(e - s));
  cJSON *v = NULL;
  if (strcmp(word, "true") == 0) v = cJSON_CreateTrue();
  else if (strcmp(word, "false") == 0) v = cJSON_CreateFalse();
  else if (word[0] && isdigit((unsigned char)word[0]) && strlen(word) >= 10 && word[4] == '-' && word[7] == '-')
    v = cJSON_CreateString(word); /* a date or date-time: date.c reads it */
  else if (word[0] && (isdigit((unsigned char)word[0]) || strchr("+-", word[0]))) {
    char *clean = kb_xstrdup(word), *w = clean;
    for (char *r = word; *r; r++)
      if (*r != '_') *w++ = *r;
    *w = '\0';
    char *end;
    errno = 0;
    double d = strtod(clean, &end);
    if (*end == '\0' && errno == 0) v = cJSON_CreateNumber(d);
    free(clean);
  }
  if (!v) toml_fail(t, "a value must be a string, number, boolean, date, array or table");
  free(word);
  return v;
}

static cJSON *toml_value(toml *t, int depth) {
  if (depth > TOML_DEPTH) {
    toml_fail(t, "nested too deeply");
    return NULL;
  }
  skip_ws(t);
  if (t->p >= t->end) {
    toml_fail(t, "expected a value");
    return NULL;
  }
  char c = *t->p;
  if (c == '"' || c == '\'') {
    char *s = toml_string(t);
    cJSON *v = s ? cJSON_CreateString(s) : NULL;
    free(s);
    return v;
  }
  if (c == '[') return toml_array(t, depth);
  if (c == '{') return toml_inline_table(t, depth);
  return toml_scalar(t);
}

static bool toml_keyval(toml *t, cJSON *table, int depth, char **key_out) {
  char *key;
  cJSON *holder = toml_key_path(t, table, &key);
  if (!holder) return false;
  skip_ws(t);
  if (t->p >= t->end || *t->p != '=') {
    free(key);
    return toml_fail(t, "expected '=' after the key");
  }
  t->p++;
  cJSON *v = toml_value(t, depth);
  if (!v || cJSON_GetObjectItemCaseSensitive(holder, key)) {
    cJSON_Delete(v);
    free(key);
    return toml_fail(t, v ? "duplicate key" : "bad value");
  }
  cJSON_AddItemToObject(holder, key, v);
  if (key_out) *key_out = key;
  else free(key);
  return true;
}

/* [a.b] or [[a.b]]: the table that the following keys go into. */
static cJSON *toml_header(toml *t, cJSON *root) {
  bool array = at(t, "[[");
  t->p += array ? 2 : 1;
  cJSON *table = root;
  char *last;
  cJSON *holder = toml_key_path(t, table, &last);
  if (!holder) return NULL;
  skip_ws(t);
  if (!at(t, array ? "]]" : "]")) {
    free(last);
    toml_fail(t, "table header is not closed");
    return NULL;
  }
  t->p += array ? 2 : 1;
  cJSON *cur = cJSON_GetObjectItemCaseSensitive(holder, last);
  if (array) {
    if (!cur) cur = cJSON_AddArrayToObject(holder, last);
    free(last);
    if (!cJSON_IsArray(cur)) return toml_fail(t, "[[table]] names a value that is not an array"), NULL;
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddItemToArray(cur, obj);
    return obj;
  }
  if (!cur) cur = cJSON_AddObjectToObject(holder, last);
  free(last);
  if (!cJSON_IsObject(cur)) return toml_fail(t, "[table] names a value that is not a table"), NULL;
  return cur;
}

/* After a key/value or header: only spaces and a comment may follow on the line. */
static bool end_of_line(toml *t) {
  skip_ws(t);
  if (t->p < t->end && *t->p == '#')
    while (t->p < t->end && *t->p != '\n') t->p++;
  if (t->p < t->end && *t->p == '\r') t->p++;
  if (t->p < t->end && *t->p != '\n') return toml_fail(t, "unexpected text after the value");
  return true;
}

cJSON *kb_toml_parse(const char *text, size_t len, int line_base, cJSON *key_lines, const char **err,
                     int *err_line) {
  toml t = {text, text + len, line_base, NULL};
  cJSON *root = cJSON_CreateObject(), *table = root;
  while (!t.err) {
    skip_ws_nl(&t);
    if (t.p >= t.end) break;
    int line = t.line;
    if (*t.p == '[') {
      table = toml_header(&t, root);
    } else {
      char *key = NULL;
      if (toml_keyval(&t, table, 0, &key) && table == root && key && !cJSON_HasObjectItem(key_lines, key))
        cJSON_AddNumberToObject(key_lines, key, line);
      free(key);
    }
    if (!t.err) end_of_line(&t);
  }
  if (t.err) {
    *err = t.err;
    *err_line = t.line;
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}
