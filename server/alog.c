/* alog.c - the access log, one line per request in common log format:
 *   127.0.0.1 - - [25/Nov/2026:19:54:57 +0000] "GET /search?q=vmq HTTP/1.1" 200 5120
 * The request line is the client's: quotes, backslashes and control bytes are written
 * as \xHH so a line can never be split or forged. Called by server.c when a request
 * completes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "internal.h"

#define LOG_TARGET_MAX 2048 /* bytes of the target written; longer ones end with "..." */

static void add_escaped(kb_buf *b, const char *s, size_t max) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n && i < max; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') kb_buf_addf(b, "\\x%02X", c);
    else kb_buf_addc(b, (char)c);
  }
  if (n > max) kb_buf_adds(b, "...");
}

static void add_client(kb_buf *b, struct MHD_Connection *con) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char host[INET6_ADDRSTRLEN] = "-";
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
  }
  kb_buf_adds(b, host);
}

void kb_srv_alog_write(kb_srv_req *r) {
  FILE *f = r->srv->log;
  if (!f) return;
  kb_buf b = KB_BUF_INIT;
  add_client(&b, r->con);
  char when[64];
  time_t t = (time_t)r->start;
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
  kb_buf_addf(&b, " - - [%s] \"", when);
  add_escaped(&b, r->method ? r->method : "-", 32);
  kb_buf_addc(&b, ' ');
  add_escaped(&b, r->target, LOG_TARGET_MAX);
  kb_buf_addc(&b, ' ');
  add_escaped(&b, r->version ? r->version : "-", 32);
  if (r->status) kb_buf_addf(&b, "\" %u ", r->status);
  else kb_buf_adds(&b, "\" - ");
  if (r->bytes) kb_buf_addf(&b, "%llu\n", (unsigned long long)r->bytes);
  else kb_buf_adds(&b, "-\n");
  pthread_mutex_lock(&r->srv->log_lock);
  fwrite(b.ptr, 1, b.len, f);
  fflush(f);
  pthread_mutex_unlock(&r->srv->log_lock);
  kb_buf_release(&b);
}
