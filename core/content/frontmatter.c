/* frontmatter.c - YAML front matter to cJSON with libyaml's event parser.
 *
 * Scalars are typed as YAML 1.1 (what Jekyll's Ruby parser uses): plain `true`/`yes`/
 * `on` are booleans, plain numbers are numbers, `~`/`null`/empty are null; quoted
 * scalars are always strings. Dates stay strings (date.c parses them). Aliases are
 * refused so a small file cannot expand into a huge document ("billion laughs"), and
 * nesting is bounded. Called by incident.c. */
#include "content/frontmatter.h"
#include "content/toml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct fm_parser {
  yaml_parser_t yaml;
  const char *path;
  int line_base; /* file line of the first YAML line, minus one */
  kb_diags *diags;
  int failed;
  cJSON *key_lines;
} fm_parser;

static cJSON *fm_node(fm_parser *p, yaml_event_t *ev, int depth, int top);

static void fm_error(fm_parser *p, int line, const char *msg) {
  if (p->failed) return;
  p->failed = 1;
  kb_diags_add(p->diags, KB_ERROR, p->path, line, "front matter: %s", msg);
}

static int fm_line(const fm_parser *p, yaml_mark_t m) { return p->line_base + (int)m.line + 1; }

static int fm_next(fm_parser *p, yaml_event_t *ev) {
  if (yaml_parser_parse(&p->yaml, ev)) return 0;
  const char *problem = p->yaml.problem ? p->yaml.problem : "invalid YAML";
  kb_buf msg = KB_BUF_INIT;
  kb_buf_adds(&msg, problem);
  if (p->yaml.context) kb_buf_addf(&msg, " (%s)", p->yaml.context);
  fm_error(p, fm_line(p, p->yaml.problem_mark), msg.ptr);
  kb_buf_release(&msg);
  return -1;
}

static int str_in(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0) return 1;
  return 0;
}

/* A plain (unquoted) scalar is typed; anything quoted or in block style is a string. */
static cJSON *fm_scalar(const yaml_event_t *ev) {
  const char *v = (const char *)ev->data.scalar.value;
  if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return cJSON_CreateString(v);
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
  static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL};
  static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL};
  if (str_in(v, nulls)) return cJSON_CreateNull();
  if (str_in(v, trues)) return cJSON_CreateTrue();
  if (str_in(v, falses)) return cJSON_CreateFalse();
  char *end = NULL;
  errno = 0;
  if ((v[0] >= '0' && v[0] <= '9') || ((v[0] == '-' || v[0] == '+') && v[1] >= '0' && v[1] <= '9')) {
    double d = strtod(v, &end);
    /* Leading zeros ("007") and dates ("2013-12-22") stay strings: they are names, not numbers. */
    int leading_zero = (v[0] == '0' && v[1] >= '0' && v[1] <= '9');
    if (end && *end == '\0' && errno == 0 && !leading_zero) return cJSON_CreateNumber(d);
  }
  return cJSON_CreateString(v);
}

static cJSON *fm_sequence(fm_parser *p, int depth) {
  cJSON *arr = cJSON_CreateArray();
  for (;;) {
    yaml_event_t ev;
    if (fm_next(p, &ev)) break;
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      return arr;
    }
    cJSON *item = fm_node(p, &ev, depth + 1, 0);
    yaml_event_delete(&ev);
    if (!item) break;
    cJSON_AddItemToArray(arr, item);
  }
  cJSON_Delete(arr);
  return NULL;
}

static cJSON *fm_mapping(fm_parser *p, int depth, int top) {
  cJSON *obj = cJSON_CreateObject();
  for (;;) {
    yaml_event_t kev;
    if (fm_next(p, &kev)) break;
    if (kev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&kev);
      return obj;
    }
    if (kev.type != YAML_SCALAR_EVENT) {
      fm_error(p, fm_line(p, kev.start_mark), "keys must be plain strings");
      yaml_event_delete(&kev);
      break;
    }
    char *key = kb_xstrdup((const char *)kev.data.scalar.value);
    int key_line = fm_line(p, kev.start_mark);
    yaml_event_delete(&kev);
    yaml_event_t vev;
    cJSON *val = NULL;
    if (fm_next(p, &vev) == 0) {
      val = fm_node(p, &vev, depth + 1, 0);
      yaml_event_delete(&vev);
    }
    if (!val) {
      free(key);
      break;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
      kb_buf m = KB_BUF_INIT;
      kb_buf_addf(&m, "duplicate key '%.80s'", key);
      fm_error(p, key_line, m.ptr);
      kb_buf_release(&m);
      cJSON_Delete(val);
      free(key);
      break;
    }
    if (top) cJSON_AddNumberToObject(p->key_lines, key, key_line);
    cJSON_AddItemToObject(obj, key, val);
    free(key);
  }
  cJSON_Delete(obj);
  return NULL;
}

/* Build the JSON value that starts with event `ev` (already read). NULL on error. */
static cJSON *fm_node(fm_parser *p, yaml_event_t *ev, int depth, int top) {
  if (depth > KB_FRONTMATTER_DEPTH) {
    fm_error(p, fm_line(p, ev->start_mark), "nested too deeply");
    return NULL;
  }
  switch (ev->type) {
  case YAML_SCALAR_EVENT: return fm_scalar(ev);
  case YAML_SEQUENCE_START_EVENT: return fm_sequence(p, depth);
  case YAML_MAPPING_START_EVENT: return fm_mapping(p, depth, top);
  case YAML_ALIAS_EVENT:
    fm_error(p, fm_line(p, ev->start_mark), "aliases (*name) are not supported");
    return NULL;
  default:
    fm_error(p, fm_line(p, ev->start_mark), "unexpected YAML structure");
    return NULL;
  }
}

/* Parse a YAML document whose root must be a mapping. */
static cJSON *fm_document(fm_parser *p) {
  yaml_event_t ev;
  cJSON *root = NULL;
  int depth_events = 0;
  while (!p->failed && fm_next(p, &ev) == 0) {
    yaml_event_type_t t = ev.type;
    if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
      yaml_event_delete(&ev);
      continue;
    }
    if (t == YAML_STREAM_END_EVENT || t == YAML_DOCUMENT_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    if (root || depth_events++) {
      fm_error(p, fm_line(p, ev.start_mark), "only one YAML document is allowed");
      yaml_event_delete(&ev);
      break;
    }
    if (t == YAML_SCALAR_EVENT && ev.data.scalar.length == 0) {
      root = cJSON_CreateObject(); /* empty front matter */
    } else if (t != YAML_MAPPING_START_EVENT) {
      fm_error(p, fm_line(p, ev.start_mark), "must be a mapping of `key: value` lines");
    } else {
      root = fm_node(p, &ev, 0, 1);
    }
    yaml_event_delete(&ev);
  }
  if (p->failed) {
    cJSON_Delete(root);
    return NULL;
  }
  return root ? root : cJSON_CreateObject();
}

/* True when the line at `s` is exactly `mark` followed by optional spaces and a newline/end. */
static int is_fence_line(const char *s, const char *mark) {
  size_t n = strlen(mark);
  if (strncmp(s, mark, n) != 0) return 0;
  s += n;
  while (*s == ' ' || *s == '\t') s++;
  return *s == '\n' || *s == '\0';
}

/* The front matter between the opening fence (line 1) and a closing line `close` (or
 * `alt`): sets *start and *len to it, fm->body and fm->body_line after it. -1 on error. */
static int fence_split(const char *path, const char *text, const char *close, const char *alt,
                       const char **start, size_t *len, kb_frontmatter *fm, kb_diags *diags) {
  const char *s = strchr(text, '\n');
  s = s ? s + 1 : text + strlen(text);
  *start = s;
  int line = 2;
  while (*s && !is_fence_line(s, close) && !(alt && is_fence_line(s, alt))) {
    const char *nl = strchr(s, '\n');
    s = nl ? nl + 1 : s + strlen(s);
    line += nl != NULL;
  }
  if (!*s) {
    kb_diags_add(diags, KB_ERROR, path, 1, "front matter: opening '%s' is never closed", close);
    return -1;
  }
  *len = (size_t)(s - *start);
  if (*len > KB_FRONTMATTER_MAX) {
    kb_diags_add(diags, KB_ERROR, path, 1, "front matter: larger than %zu bytes", KB_FRONTMATTER_MAX);
    return -1;
  }
  const char *nl = strchr(s, '\n');
  fm->body = nl ? nl + 1 : s + strlen(s);
  fm->body_line = line + 1;
  return 0;
}

static cJSON *yaml_front_matter(const char *path, const char *start, size_t len, kb_frontmatter *fm,
                                kb_diags *diags) {
  fm_parser p = {.path = path, .line_base = 1, .diags = diags, .key_lines = fm->key_lines};
  yaml_parser_initialize(&p.yaml);
  yaml_parser_set_input_string(&p.yaml, (const unsigned char *)start, len);
  cJSON *data = fm_document(&p);
  yaml_parser_delete(&p.yaml);
  return data;
}

/* Hugo's TOML front matter, between two `+++` lines. */
static cJSON *toml_front_matter(const char *path, const char *start, size_t len, kb_frontmatter *fm,
                                kb_diags *diags) {
  const char *msg = NULL;
  int err_line = 0;
  cJSON *data = kb_toml_parse(start, len, 2, fm->key_lines, &msg, &err_line);
  if (!data) kb_diags_add(diags, KB_ERROR, path, err_line, "front matter (TOML): %s", msg);
  return data;
}

int kb_frontmatter_parse(const char *path, const char *text, kb_frontmatter *fm, kb_diags *diags) {
  memset(fm, 0, sizeof *fm);
  fm->key_lines = cJSON_CreateObject();
  bool toml = is_fence_line(text, "+++");
  if (!toml && !is_fence_line(text, "---")) {
    fm->data = cJSON_CreateObject();
    fm->body = text;
    fm->body_line = 1;
    return 0;
  }
  const char *start;
  size_t len;
  if (fence_split(path, text, toml ? "+++" : "---", toml ? NULL : "...", &start, &len, fm, diags) == 0)
    fm->data = toml ? toml_front_matter(path, start, len, fm, diags) : yaml_front_matter(path, start, len, fm, diags);
  if (fm->data) return 0;
  kb_frontmatter_release(fm);
  return -1;
}

void kb_frontmatter_release(kb_frontmatter *fm) {
  if (!fm) return;
  cJSON_Delete(fm->data);
  cJSON_Delete(fm->key_lines);
  fm->data = fm->key_lines = NULL;
}

int kb_frontmatter_line(const kb_frontmatter *fm, const char *key) {
  const cJSON *l = cJSON_GetObjectItemCaseSensitive(fm->key_lines, key);
  return cJSON_IsNumber(l) ? l->valueint : 1;
}
