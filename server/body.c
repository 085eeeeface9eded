/* body.c - the body of POST /match and /api/match: raw text (text/plain), JSON
 * {"stack": "..."} or a form (urlencoded or multipart) with a `stack` field. Bodies
 * are held to the server's limit: larger ones are read and dropped, then answered 413
 * (a Content-Length above the limit is answered at once). Called by route.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "util/util.h"

#define POST_BUFFER 16384 /* libmicrohttpd's post processor works in pieces this big */

/* Media type of the request, without parameters, compared case-insensitively. */
static bool type_is(const char *ctype, const char *want) {
  size_t n = strlen(want);
  return strncasecmp(ctype, want, n) == 0 && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* Collects the `stack` field of a form into r->body. */
static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                  const char *content_type, const char *transfer_encoding, const char *data,
                                  uint64_t off, size_t size) {
  kb_srv_req *r = cls;
  /* a multipart part without name="..." comes with a NULL key */
  if (!key || strcmp(key, "stack") != 0 || size == 0) return MHD_YES;
  kb_buf_add(&r->body, data, size);
  if (r->body.err) r->body_too_big = true;
  return r->body_too_big ? MHD_NO : MHD_YES;
}

unsigned kb_srv_body_begin(kb_srv_req *r) {
  kb_buf_init(&r->body, r->srv->max_body);
  const char *len = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Content-Length");
  long n;
  if (len && kb_srv_parse_int(len, 0, 1L << 60, &n) && (size_t)n > r->srv->max_body) return 413;
  const char *ctype = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Content-Type");
  if (!ctype || type_is(ctype, "text/plain")) {
    r->body_kind = KB_SRV_BODY_TEXT;
  } else if (type_is(ctype, "application/json")) {
    r->body_kind = KB_SRV_BODY_JSON;
  } else if (type_is(ctype, "application/x-www-form-urlencoded") || type_is(ctype, "multipart/form-data")) {
    r->body_kind = KB_SRV_BODY_FORM;
    r->pp = MHD_create_post_processor(r->con, POST_BUFFER, form_field, r);
    if (!r->pp) return 400;
  } else {
    return 415;
  }
  return 0;
}

void kb_srv_body_feed(kb_srv_req *r, const char *data, size_t n) {
  r->body_seen += n;
  if (r->body_seen > r->srv->max_body) r->body_too_big = true;
  if (r->body_too_big || r->body_kind == KB_SRV_BODY_NONE) return;
  if (r->body_kind == KB_SRV_BODY_FORM) {
    if (MHD_post_process(r->pp, data, n) != MHD_YES && !r->body_too_big) r->body_kind = KB_SRV_BODY_NONE;
    return;
  }
  kb_buf_add(&r->body, data, n);
  if (r->body.err) r->body_too_big = true;
}

/* {"stack": "..."}; NULL when the body is not such an object. */
static char *json_stack(const kb_buf *b, const char **why) {
  cJSON *o = cJSON_ParseWithLength(b->ptr, b->len);
  cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "stack");
  char *text = cJSON_IsString(s) ? kb_xstrdup(s->valuestring) : NULL;
  if (!o) *why = "the body is not valid JSON";
  else if (!text) *why = "the JSON body has no \"stack\" string";
  cJSON_Delete(o);
  return text;
}

char *kb_srv_body_stack(kb_srv_req *r, const char **why) {
  char *text = NULL;
  *why = "the request has no body: send the stack as text/plain, as JSON {\"stack\": \"...\"} or as a form field "
         "'stack'";
  if (r->pp) {
    /* the post processor may hold the end of the last field until it is destroyed */
    if (MHD_destroy_post_processor(r->pp) != MHD_YES && !r->body.len) r->body_kind = KB_SRV_BODY_NONE;
    r->pp = NULL;
  }
  if (r->body_too_big) {
    *why = "the form field is larger than the server accepts";
    return NULL;
  }
  if (r->body_kind == KB_SRV_BODY_NONE) {
    *why = "the form could not be read";
    return NULL;
  }
  if (r->body_kind == KB_SRV_BODY_JSON) {
    text = json_stack(&r->body, why);
  } else {
    if (memchr(r->body.ptr, '\0', r->body.len)) {
      *why = "the stack text holds a NUL byte";
      return NULL;
    }
    text = kb_xstrndup(r->body.ptr, r->body.len);
  }
  if (text && !kb_srv_utf8_valid(text, strlen(text))) {
    *why = "the stack text is not valid UTF-8";
    free(text);
    return NULL;
  }
  if (text && !text[strspn(text, " \t\r\n")]) {
    *why = "the stack is empty: paste the stack as the debugger or log printed it";
    free(text);
    return NULL;
  }
  return text;
}

void kb_srv_body_release(kb_srv_req *r) {
  if (r->pp) MHD_destroy_post_processor(r->pp);
  r->pp = NULL;
  kb_buf_release(&r->body);
}
