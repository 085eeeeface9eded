/* respond.c - sending responses: the security headers every response carries, gzip
 * for bodies held in memory, JSON bodies and error responses (JSON under /api/, the
 * error page elsewhere). Used by every handler of the server. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "internal.h"
#include "util/util.h"

/* Pages load scripts and styles from the site only; no inline script can run. */
static const char csp[] = "default-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; "
                          "form-action 'self'; frame-ancestors 'none'";

#define GZIP_MIN 512 /* smaller bodies are not worth a Content-Encoding */

void kb_srv_header_add(kb_srv_req *r, const char *name, const char *value) {
  if (r->nhdr >= KB_SRV_MAX_HEADERS) return;
  r->hdr_name[r->nhdr] = kb_xstrdup(name);
  r->hdr_value[r->nhdr] = kb_xstrdup(value);
  r->nhdr++;
}

enum MHD_Result kb_srv_queue(kb_srv_req *r, unsigned status, struct MHD_Response *resp, uint64_t bytes) {
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Security-Policy", csp);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  for (int i = 0; i < r->nhdr; i++) MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
  r->status = status;
  r->bytes = r->head ? 0 : bytes;
  r->responded = true;
  enum MHD_Result rc = MHD_queue_response(r->con, status, resp);
  MHD_destroy_response(resp);
  return rc;
}

bool kb_srv_compressible(const char *type) {
  return strncmp(type, "text/", 5) == 0 || strstr(type, "json") || strstr(type, "xml") || strstr(type, "javascript");
}

char *kb_srv_gzip(const char *data, size_t len, size_t *out_len) {
  z_stream z;
  memset(&z, 0, sizeof z);
  /* 15 + 16: the gzip wrapper rather than zlib's */
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
  uLong cap = deflateBound(&z, (uLong)len);
  char *out = kb_xmalloc(cap);
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  *out_len = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

/* Replace body by its gzip form when the client takes it; true if it did. */
static bool maybe_gzip(kb_srv_req *r, const char *type, char **body, size_t *len) {
  if (*len < GZIP_MIN || !kb_srv_compressible(type)) return false;
  kb_srv_header_add(r, "Vary", "Accept-Encoding");
  if (!kb_srv_accepts_gzip(MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Accept-Encoding"))) return false;
  size_t zlen;
  char *z = kb_srv_gzip(*body, *len, &zlen);
  if (!z) return false;
  free(*body);
  *body = z;
  *len = zlen;
  return true;
}

enum MHD_Result kb_srv_send(kb_srv_req *r, unsigned status, const char *type, char *body, size_t len) {
  bool gz = maybe_gzip(r, type, &body, &len);
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
  if (!resp) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", type);
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  if (gz) MHD_add_response_header(resp, "Content-Encoding", "gzip");
  return kb_srv_queue(r, status, resp, len);
}

enum MHD_Result kb_srv_send_json(kb_srv_req *r, unsigned status, cJSON *o) {
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!text) return MHD_NO;
  return kb_srv_send(r, status, "application/json; charset=utf-8", text, strlen(text));
}

enum MHD_Result kb_srv_send_error(kb_srv_req *r, unsigned status, const char *message) {
  if (r->api || !r->snap) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "status", status);
    cJSON_AddStringToObject(o, "error", message);
    return kb_srv_send_json(r, status, o);
  }
  cJSON *data = cJSON_CreateObject();
  cJSON_AddNumberToObject(data, "status", status);
  const char *reason = MHD_get_reason_phrase_for(status);
  cJSON_AddStringToObject(data, "reason", reason && *reason ? reason : "Error");
  cJSON_AddStringToObject(data, "message", message);
  cJSON_AddBoolToObject(data, "not_found", status == 404);
  return kb_srv_page_render(r, status, "error", reason && *reason ? reason : "Error", data);
}
