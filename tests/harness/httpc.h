/* httpc.h - what the fault, load and valgrind tests need to talk to a real `kb serve`:
 * start the binary (optionally under a wrapper such as valgrind) on a free port and
 * stop it with SIGTERM, and a small blocking HTTP/1.1 client over loopback that can
 * pick its source address (127.0.0.2 is another "host" as far as per-address limits
 * go). No mocks: the server is the real binary, the sockets are real. */
#ifndef KB_HTTPC_H
#define KB_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct httpc_resp {
  int status;   /* 0 when no response came */
  char *head;   /* status line and headers */
  char *body;   /* NUL-terminated (not de-chunked) */
  size_t len;
} httpc_resp;

void httpc_resp_free(httpc_resp *r);

/* A connected TCP socket to 127.0.0.1:port from `src` (NULL: any loopback address),
 * with send/receive timeouts of `timeout` seconds; -1 on failure. */
int httpc_connect(const char *src, int port, double timeout);
/* Send the whole raw request on a new connection and read the answer until the server
 * closes it; true when a status line came. */
bool httpc_raw(const char *src, int port, const char *req, size_t n, double timeout, httpc_resp *r);
/* Send all of data on fd (retrying short writes); false when the connection failed. */
bool httpc_send(int fd, const char *data, size_t n);
/* Undo Transfer-Encoding: chunked in r's body, when the headers say so. */
void httpc_dechunk(httpc_resp *r);
/* GET target with Connection: close. */
bool httpc_get(int port, const char *target, httpc_resp *r);
/* The value of a response header (copied into buf), or NULL. */
const char *httpc_header(const httpc_resp *r, const char *name, char *buf, size_t size);

typedef struct kbserve {
  pid_t pid;
  int port;
  char *out, *err; /* files holding the process's stdout and stderr */
} kbserve;

/* Run argv (argv[0] is a path; NULL-terminated) with stdout/stderr in DIR/NAME.out and
 * .err, and wait up to `wait` seconds for "listening on http://127.0.0.1:PORT/". False
 * (and the process reaped) when it exited or did not say so in time. */
bool kbserve_start(kbserve *s, const char *dir, const char *name, const char *const *argv, double wait);
/* SIGTERM, wait up to `wait` seconds: the exit status (128+signal when killed by one),
 * or -1 when it had to be killed with SIGKILL. */
int kbserve_stop(kbserve *s, double wait);
void kbserve_release(kbserve *s);
/* The stderr the process wrote so far (caller frees). */
char *kbserve_stderr(const kbserve *s);

#endif
