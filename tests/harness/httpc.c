/* httpc.c - see httpc.h. */
#include "httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util/util.h"

void httpc_resp_free(httpc_resp *r) {
  free(r->head);
  free(r->body);
  memset(r, 0, sizeof *r);
}

/* A connect() interrupted by a signal (a child of the test exiting) goes on in the
 * background: wait for it instead of calling the connection failed. */
static bool connect_finish(int fd, double timeout) {
  if (errno != EINTR && errno != EINPROGRESS) return false;
  struct pollfd p = {fd, POLLOUT, 0};
  int rc;
  while ((rc = poll(&p, 1, (int)(timeout * 1000))) < 0 && errno == EINTR) continue;
  int err = 0;
  socklen_t len = sizeof err;
  return rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

int httpc_connect(const char *src, int port, double timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct timeval tv = {(time_t)timeout, (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET};
  if (src) {
    inet_pton(AF_INET, src, &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      close(fd);
      return -1;
    }
  }
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && !connect_finish(fd, timeout)) {
    close(fd);
    return -1;
  }
  return fd;
}

static bool send_all(int fd, const char *d, size_t n) {
  while (n) {
    ssize_t k = send(fd, d, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    d += k, n -= (size_t)k;
  }
  return true;
}

static void read_all(int fd, kb_buf *b) {
  char chunk[65536];
  ssize_t n;
  while ((n = recv(fd, chunk, sizeof chunk, 0)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) kb_buf_add(b, chunk, (size_t)n);
}

static bool parse(const kb_buf *raw, httpc_resp *r) {
  memset(r, 0, sizeof *r);
  const char *sep = strstr(raw->ptr, "\r\n\r\n");
  if (!sep || sscanf(raw->ptr, "HTTP/1.%*d %d", &r->status) != 1) return false;
  r->head = kb_xstrndup(raw->ptr, (size_t)(sep - raw->ptr) + 2);
  r->len = raw->len - (size_t)(sep + 4 - raw->ptr);
  r->body = kb_xmalloc(r->len + 1);
  memcpy(r->body, sep + 4, r->len);
  r->body[r->len] = '\0';
  return true;
}

/* Undo Transfer-Encoding: chunked in place. */
static void dechunk(httpc_resp *r) {
  kb_buf out = KB_BUF_INIT;
  const char *p = r->body, *end = r->body + r->len;
  while (p < end) {
    char *e;
    unsigned long n = strtoul(p, &e, 16);
    const char *data = strstr(e, "\r\n");
    if (!data || n == 0) break;
    data += 2;
    if (data + n > end) break;
    kb_buf_add(&out, data, n);
    p = data + n + 2;
  }
  free(r->body);
  r->body = kb_buf_detach(&out, &r->len);
}

void httpc_dechunk(httpc_resp *r) {
  char te[64];
  if (r->body && httpc_header(r, "Transfer-Encoding", te, sizeof te) && strcasecmp(te, "chunked") == 0) dechunk(r);
}

bool httpc_send(int fd, const char *data, size_t n) { return send_all(fd, data, n); }

bool httpc_raw(const char *src, int port, const char *req, size_t n, double timeout, httpc_resp *r) {
  memset(r, 0, sizeof *r);
  int fd = httpc_connect(src, port, timeout);
  if (fd < 0) return false;
  send_all(fd, req, n);
  kb_buf raw;
  kb_buf_init(&raw, (size_t)64 << 20);
  read_all(fd, &raw);
  close(fd);
  parse(&raw, r);
  kb_buf_release(&raw);
  return r->status != 0;
}

bool httpc_get(int port, const char *target, httpc_resp *r) {
  char *req = kb_xasprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
  bool ok = httpc_raw(NULL, port, req, strlen(req), 30, r);
  free(req);
  return ok;
}

const char *httpc_header(const httpc_resp *r, const char *name, char *buf, size_t size) {
  size_t n = strlen(name);
  for (const char *p = r->head ? strstr(r->head, "\r\n") : NULL; p && p[2]; p = strstr(p + 2, "\r\n")) {
    const char *line = p + 2;
    if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
      const char *v = line + n + 1;
      while (*v == ' ') v++;
      size_t len = strcspn(v, "\r\n");
      if (len >= size) len = size - 1;
      memcpy(buf, v, len);
      buf[len] = '\0';
      return buf;
    }
  }
  return NULL;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

bool kbserve_start(kbserve *s, const char *dir, const char *name, const char *const *argv, double wait) {
  memset(s, 0, sizeof *s);
  s->out = kb_xasprintf("%s/%s.out", dir, name);
  s->err = kb_xasprintf("%s/%s.err", dir, name);
  fflush(NULL); /* or the child's stdio writes this process's buffered output again */
  pid_t pid = fork();
  if (pid == 0) {
    FILE *o = freopen(s->out, "w", stdout), *e = freopen(s->err, "w", stderr);
    if (o && e) execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  s->pid = pid;
  const char *mark = "listening on http://127.0.0.1:";
  for (double t0 = kb_now(); s->port == 0 && kb_now() - t0 < wait;) {
    char *text = harness_read_file(s->out, NULL);
    const char *at = text ? strstr(text, mark) : NULL;
    if (at) s->port = atoi(at + strlen(mark));
    free(text);
    if (s->port) break;
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      s->pid = 0;
      return false;
    }
    sleep_ms(20);
  }
  if (!s->port) kbserve_stop(s, 1);
  return s->port != 0;
}

int kbserve_stop(kbserve *s, double wait) {
  if (s->pid <= 0) return -1;
  int status = -1;
  kill(s->pid, SIGTERM);
  for (double t0 = kb_now(); kb_now() - t0 < wait; sleep_ms(10)) {
    int st;
    if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
  }
  if (status < 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
  }
  s->pid = 0;
  return status;
}

void kbserve_release(kbserve *s) {
  free(s->out);
  free(s->err);
  s->out = s->err = NULL;
}

char *kbserve_stderr(const kbserve *s) {
  char *t = s->err ? harness_read_file(s->err, NULL) : NULL;
  return t ? t : kb_xstrdup("");
}
