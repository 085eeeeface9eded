/* edit_probe.c - the "edit-to-served" figure of bench/run: append a new word to an
 * incident file under `kb serve --watch` and poll, every 2 ms, until the incident's
 * page shows it and /api/search finds it. One process with its own HTTP client: a
 * shell loop spawning curl measured its own process starts (200 ms where this
 * measures 60) and, on two cores, slowed the server it waited for.
 *
 *   kb-bench-edit PORT FILE PAGE_PATH RUNS
 *
 * Prints the milliseconds of each run, one per line. The words it appends are lines
 * "kbedit<digits>"; bench/run removes them afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"

#define GIVE_UP_S 600.0 /* a full rebuild of 100,000 incidents takes minutes */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* GET target: its body contains `needle`. */
static bool shows(int port, const char *target, const char *needle) {
  httpc_resp r = {0};
  bool yes = httpc_get(port, target, &r) && r.status == 200 && r.body && strstr(r.body, needle);
  httpc_resp_free(&r);
  return yes;
}

static int append_word(const char *file, const char *word) {
  FILE *f = fopen(file, "a");
  if (!f) return -1;
  fprintf(f, "\n%s\n", word);
  return fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: kb-bench-edit PORT FILE PAGE_PATH RUNS\n");
    return 2;
  }
  int port = atoi(argv[1]), runs = atoi(argv[4]);
  const char *file = argv[2], *page = argv[3];
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  for (int r = 0; r < runs; r++) {
    char word[64], search[128];
    snprintf(word, sizeof word, "kbedit%d%d", rand() % 1000000, r);
    snprintf(search, sizeof search, "/api/search?q=%s", word);
    double t0 = now_s();
    if (append_word(file, word)) {
      perror(file);
      return 1;
    }
    bool page_ok = false, search_ok = false;
    while (!(page_ok && search_ok) && now_s() - t0 < GIVE_UP_S) {
      page_ok = page_ok || shows(port, page, word);
      search_ok = search_ok || shows(port, search, "\"id\"");
      if (!(page_ok && search_ok)) usleep(2000);
    }
    if (!(page_ok && search_ok)) {
      fprintf(stderr, "kb-bench-edit: %s not served after %.0f s\n", word, GIVE_UP_S);
      return 1;
    }
    printf("%.0f\n", (now_s() - t0) * 1000);
    fflush(stdout);
    usleep(500 * 1000); /* let the server settle before the next edit */
  }
  return 0;
}
