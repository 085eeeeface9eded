/* build.c - `kb build`: find the incident files, check them, render the site and the
 * index into a temporary folder beside the output, then swap it into place in one
 * rename. A failed or interrupted build leaves the published site as it was; stale
 * temporary folders of killed builds are removed by the next build.
 *
 * Memory follows the index, not the corpus: no pass holds more than a few incidents
 * whole. Pass 1 reads every file's front matter only (checks, drafts, collisions, the
 * order of the site). Pass 2 loads each incident whole, on every core, and a single
 * writer thread adds it to the index and frees it; what the incident's own page needs
 * waits in a temporary file (see site.h). Pass 3 writes the pages, on every core, while
 * the writer thread finishes the index.
 * Called by cli/kb.c; the page rendering is in site.c, the index in core/index. */
#include "gen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "content/incident.h"
#include "index/index.h"
#include "site.h"
#include "template/mustache.h"
#include "util/util.h"

#define MAX_FILES 1000000
#define MAX_DEPTH 32

typedef struct build {
  const kb_build_opts *o;
  kb_strlist files;
  kb_incident **incidents;
  size_t n;
  kb_diags diags;
  kb_strlist skipped;
  bool progress;
  unsigned jobs; /* threads that load and render */
} build;

static bool is_content_file(const char *name) {
  return name[0] != '.' && name[0] != '_' && (kb_str_endswith(name, ".md") || kb_str_endswith(name, ".markdown"));
}

static int scan_dir(build *b, const char *dir, int depth) {
  if (depth > MAX_DEPTH) {
    kb_diags_add(&b->diags, KB_ERROR, dir, 0, "folders nested deeper than %d", MAX_DEPTH);
    return -1;
  }
  DIR *d = opendir(dir);
  if (!d) {
    kb_diags_add(&b->diags, KB_ERROR, dir, 0, "cannot read folder: %s", strerror(errno));
    return -1;
  }
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *path = kb_path_join(dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) {
      kb_diags_add(&b->diags, KB_WARN, path, 0, "skipped: %s", strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
      rc = scan_dir(b, path, depth + 1);
    } else if (S_ISREG(st.st_mode) && is_content_file(e->d_name)) {
      if (b->files.n >= MAX_FILES) {
        kb_diags_add(&b->diags, KB_ERROR, dir, 0, "more than %d content files", MAX_FILES);
        rc = -1;
      } else {
        kb_strlist_push(&b->files, path);
      }
    }
    free(path);
  }
  closedir(d);
  return rc;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void progress(const build *b, const char *what, size_t i, size_t n) {
  if (!b->progress || (i % 256 != 0 && i != n)) return;
  fprintf(stderr, "\rkb: %s %zu/%zu", what, i, n);
  if (i == n) fputc('\n', stderr);
}

/* ---- a parallel for: jobs 0..n-1 taken in order by `threads` threads ---- */

typedef void (*par_fn)(void *ctx, size_t job, unsigned worker);

typedef struct par_pool {
  par_fn fn;
  void *ctx;
  size_t n;
  atomic_size_t next;
} par_pool;

typedef struct par_thread {
  par_pool *pool;
  unsigned worker; /* 0..threads-1: an index into the caller's per-worker state */
  pthread_t tid;
  bool started;
} par_thread;

static void *par_main(void *arg) {
  par_thread *t = arg;
  size_t j;
  while ((j = atomic_fetch_add(&t->pool->next, 1)) < t->pool->n) t->pool->fn(t->pool->ctx, j, t->worker);
  return NULL;
}

/* A worker below the threads that are not workers (nice +5 for this thread alone, as
 * Linux keeps a nice value per thread): the index writer is the one serial thread of
 * the build, so on a busy machine it should never wait for a core behind the threads
 * that load and render, which only have to keep ahead of it. */
#define PAR_NICE 5

static void *par_worker(void *arg) {
  (void)setpriority(PRIO_PROCESS, (id_t)gettid(), PAR_NICE); /* failing costs only the order */
  return par_main(arg);
}

/* Every worker on a thread of its own; the caller works alone when none can start. */
static void par_for(size_t n, unsigned threads, par_fn fn, void *ctx) {
  par_pool pool = {fn, ctx, n, 0};
  if (threads < 1) threads = 1;
  par_thread *t = kb_xcalloc(threads, sizeof *t);
  bool any = false;
  for (unsigned k = 0; k < threads; k++) t[k] = (par_thread){&pool, k, 0, false};
  for (unsigned k = 0; k < threads && k < n; k++) {
    t[k].started = pthread_create(&t[k].tid, NULL, par_worker, &t[k]) == 0;
    any = any || t[k].started;
  }
  if (!any) par_main(&t[0]);
  for (unsigned k = 0; k < threads; k++)
    if (t[k].started) pthread_join(t[k].tid, NULL);
  free(t);
}

/* ---- pass 1: every file's front matter, to check and order the site ---- */

typedef struct front_pass {
  const build *b;
  kb_incident **inc;
  kb_diags *diags; /* per file, merged in file order so messages come out as they always did */
} front_pass;

static void front_one(void *ctx, size_t i, unsigned worker) {
  front_pass *f = ctx;
  (void)worker;
  f->inc[i] = kb_incident_load_front(f->b->files.v[i], &f->diags[i]);
}

static void load_all(build *b, kb_build_stats *st) {
  size_t n = b->files.n;
  front_pass f = {b, kb_xcalloc(n ? n : 1, sizeof *f.inc), kb_xcalloc(n ? n : 1, sizeof *f.diags)};
  par_for(n, b->jobs, front_one, &f);
  b->incidents = kb_xcalloc(n ? n : 1, sizeof *b->incidents);
  for (size_t i = 0; i < n; i++) {
    kb_incident *inc = f.inc[i];
    if (inc && inc->draft && !b->o->drafts) {
      st->drafts++;
      kb_incident_free(inc);
      inc = NULL;
    } else if (!inc) {
      kb_strlist_push(&b->skipped, b->files.v[i]);
    }
    if (inc) b->incidents[b->n++] = inc;
    kb_diags_move(&b->diags, &f.diags[i]);
  }
  free(f.inc);
  free(f.diags);
}
/* One claim on a site path or id, to find two incidents wanting the same one. */
typedef struct claim {
  const char *key;
  const char *what;
  size_t owner;
} claim;

static int claim_cmp(const void *a, const void *b) {
  const claim *x = a, *y = b;
  int c = strcmp(x->what, y->what);
  if (c == 0) c = strcmp(x->key, y->key);
  return c ? c : (x->owner > y->owner) - (x->owner < y->owner);
}

static void reject(build *b, size_t i) {
  if (!b->incidents[i]) return;
  kb_strlist_push(&b->skipped, b->incidents[i]->path);
  kb_incident_free(b->incidents[i]);
  b->incidents[i] = NULL;
}

/* Ids and URLs must be unique; URLs must not take the paths the site itself uses. */
static void check_collisions(build *b) {
  size_t n = 0, cap = b->n * 2 + 8;
  claim *c = kb_xcalloc(cap, sizeof *c);
  for (size_t i = 0; i < b->n; i++) {
    kb_incident *inc = b->incidents[i];
    if (n + 2 + inc->aliases.n > cap) c = kb_xrealloc(c, (cap = (cap + inc->aliases.n + 2) * 2) * sizeof *c);
    c[n++] = (claim){inc->id, "id", i};
    c[n++] = (claim){inc->url, "URL", i};
    for (size_t a = 0; a < inc->aliases.n; a++) c[n++] = (claim){inc->aliases.v[a], "URL", i};
  }
  qsort(c, n, sizeof *c, claim_cmp);
  bool *bad = kb_xcalloc(b->n + 1, sizeof *bad);
  for (size_t k = 0; k < n; k++) {
    const kb_incident *inc = b->incidents[c[k].owner];
    if (strcmp(c[k].what, "URL") == 0 && kb_site_path_reserved(c[k].key)) {
      kb_diags_add(&b->diags, KB_ERROR, inc->path, 1, "URL %s is used by the site itself", c[k].key);
      bad[c[k].owner] = true;
    }
    if (k > 0 && strcmp(c[k].what, c[k - 1].what) == 0 && strcmp(c[k].key, c[k - 1].key) == 0 &&
        c[k].owner != c[k - 1].owner) {
      kb_diags_add(&b->diags, KB_ERROR, inc->path, 1, "%s '%s' is also used by %s", c[k].what, c[k].key,
                   b->incidents[c[k - 1].owner]->path);
      bad[c[k].owner] = true;
    }
  }
  for (size_t i = 0; i < b->n; i++)
    if (bad[i]) reject(b, i);
  size_t kept = 0;
  for (size_t i = 0; i < b->n; i++)
    if (b->incidents[i]) b->incidents[kept++] = b->incidents[i];
  b->n = kept;
  free(bad);
  free(c);
}

/* Newest first; undated last; then by title and id so the order is stable. */
static int incident_cmp(const void *pa, const void *pb) {
  const kb_incident *a = *(kb_incident *const *)pa, *b = *(kb_incident *const *)pb;
  if (a->has_date != b->has_date) return a->has_date ? -1 : 1;
  if (a->date != b->date) return a->date > b->date ? -1 : 1;
  int c = strcmp(a->title, b->title);
  return c ? c : strcmp(a->id, b->id);
}


static char *now_rfc3339(void) {
  char buf[40];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return kb_xstrdup(buf);
}

/* ".<name>.tmp-<pid>" beside the output folder, on the same file system so the final
 * rename is atomic. Temporary folders left by builds that were killed are removed. */
static char *temp_dir_for(const char *out) {
  char *copy = kb_xstrdup(out);
  size_t n = strlen(copy);
  while (n > 1 && copy[n - 1] == '/') copy[--n] = '\0';
  char *slash = strrchr(copy, '/');
  const char *name = slash ? slash + 1 : copy;
  char *parent = slash ? kb_xstrndup(copy, (size_t)(slash - copy + (slash == copy))) : kb_xstrdup(".");
  char *prefix = kb_xasprintf(".%s.tmp-", name);
  DIR *d = opendir(parent);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
    long pid = strtol(e->d_name + strlen(prefix), NULL, 10);
    if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)) continue;
    char *stale = kb_path_join(parent, e->d_name);
    kb_remove_tree(stale);
    free(stale);
  }
  if (d) closedir(d);
  char *tmp = kb_xasprintf("%s/%s%ld", parent, prefix, (long)getpid());
  free(prefix);
  free(parent);
  free(copy);
  return tmp;
}

/* Swap the new site into place: renameat2(RENAME_EXCHANGE) where the file system
 * has it (readers see the old or the new tree, never neither), else two renames. */
static int publish(const char *tmp, const char *out) {
  struct stat st;
  if (stat(out, &st) != 0) return rename(tmp, out);
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_EXCHANGE) == 0) return kb_remove_tree(tmp), 0;
  char *old = kb_xasprintf("%s.old", tmp);
  int rc = rename(out, old);
  if (rc == 0 && (rc = rename(tmp, out)) != 0) rename(old, out);
  if (rc == 0) kb_remove_tree(old);
  free(old);
  return rc;
}

/* ---- pass 2: each incident loaded whole once, indexed, and its page data spilled ---- */

/* Incident page records wait in one unnamed temporary file per worker (page cache, not
 * the heap) until the related incidents are known. */
typedef struct spill {
  int fd;
  off_t end;
  kb_buf rec;   /* the record being written */
  char *rd;     /* a record read back */
  size_t rdcap;
} spill;

typedef struct rec_loc {
  unsigned worker;
  off_t off;
  size_t len;
} rec_loc;

#define STREAM_WINDOW 32 /* incidents loaded ahead of the index writer, at most */

typedef struct stream {
  build *b;
  kb_site *site;
  kb_build_stats *st;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  kb_incident *slot[STREAM_WINDOW]; /* loaded incident j waits in slot j % STREAM_WINDOW */
  kb_index_rows *rows[STREAM_WINDOW]; /* with its rows; both stay there once written, and the
                                       * loader of j + STREAM_WINDOW frees them: the writer
                                       * thread is the build's bottleneck, the loaders are not */
  bool ready[STREAM_WINDOW];
  size_t consumed;                  /* incidents the writer is done with */
  kb_diags *errs;                   /* per incident: why its full load failed */
  spill *spills;                    /* per worker */
  rec_loc *loc;                     /* per incident */
  atomic_bool failed;               /* stop loading and writing pages */
  kb_index_writer *w;
  char *index_path;
  int index_rc;
  char *index_err;
  double writer_wait, loader_wait; /* seconds spent waiting on each other (KB_TIMINGS) */
} stream;

static int spill_open(spill *sp, const char *dir) {
  kb_buf_init(&sp->rec, 0);
  sp->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (sp->fd < 0) { /* file systems without O_TMPFILE: a named file, unlinked at once */
    char *path = kb_xasprintf("%s/.spill-XXXXXX", dir);
    sp->fd = mkstemp(path);
    if (sp->fd >= 0) unlink(path);
    free(path);
  }
  return sp->fd < 0 ? -1 : 0;
}

static void spill_close(spill *sp) {
  if (sp->fd >= 0) close(sp->fd);
  kb_buf_release(&sp->rec);
  free(sp->rd);
}

static int spill_write(spill *sp, unsigned worker, rec_loc *loc) {
  *loc = (rec_loc){worker, sp->end, sp->rec.len};
  for (size_t done = 0; done < sp->rec.len;) {
    ssize_t k = pwrite(sp->fd, sp->rec.ptr + done, sp->rec.len - done, sp->end + (off_t)done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    done += (size_t)k;
  }
  sp->end += (off_t)sp->rec.len;
  return sp->rec.err ? -1 : 0;
}

static const char *spill_read(spill *sp, const spill *from, const rec_loc *loc) {
  if (loc->len > sp->rdcap) {
    free(sp->rd);
    sp->rdcap = loc->len;
    sp->rd = kb_xmalloc(sp->rdcap);
  }
  for (size_t done = 0; done < loc->len;) {
    ssize_t k = pread(from->fd, sp->rd + done, loc->len - done, loc->off + (off_t)done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return NULL;
    done += (size_t)k;
  }
  return sp->rd;
}

static bool str_same(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static bool strlist_same(const kb_strlist *a, const kb_strlist *b) {
  if (a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->v[i], b->v[i]) != 0) return false;
  return true;
}

/* The whole load of a file says what its front matter said when the site was ordered
 * and listed from it: every field the other pages show (the summary when the front
 * matter gave one). A file saved between the two reads differs. */
static bool front_same(const kb_incident *front, const kb_incident *full) {
  return str_same(front->id, full->id) && str_same(front->url, full->url) && str_same(front->slug, full->slug) &&
         str_same(front->title, full->title) && front->has_date == full->has_date &&
         (!front->has_date || (front->date == full->date && front->tz_min == full->tz_min)) &&
         front->draft == full->draft && strlist_same(&front->tags, &full->tags) &&
         strlist_same(&front->categories, &full->categories) && strlist_same(&front->aliases, &full->aliases) &&
         (!front->summary || str_same(front->summary, full->summary));
}

/* Load incident j whole; NULL (and errs[j]) when it no longer loads as its front did. */
static kb_incident *full_load(stream *x, size_t j, unsigned worker) {
  const kb_incident *front = x->site->items[j].inc;
  kb_diags d = {0};
  kb_incident *full = kb_incident_load(front->path, &d);
  if (full && !front_same(front, full)) {
    kb_incident_free(full);
    full = NULL;
    kb_diags_add(&x->errs[j], KB_ERROR, front->path, 0, "changed while the build read it; build again");
  }
  for (size_t k = 0; !full && k < d.n; k++) /* its warnings were reported by the first pass */
    if (d.v[k].sev == KB_ERROR) kb_diags_add(&x->errs[j], KB_ERROR, d.v[k].path, d.v[k].line, "%s", d.v[k].msg);
  kb_diags_release(&d);
  if (full) {
    spill *sp = &x->spills[worker];
    kb_buf_reset(&sp->rec);
    kb_site_digest(x->site, j, full, &sp->rec);
    if (spill_write(sp, worker, &x->loc[j])) {
      kb_diags_add(&x->errs[j], KB_ERROR, x->site->dir, 0, "cannot write a temporary file: %s", strerror(errno));
      kb_incident_free(full);
      full = NULL;
    }
  }
  return full;
}

static void full_one(void *ctx, size_t j, unsigned worker) {
  stream *x = ctx;
  size_t k = j % STREAM_WINDOW;
  pthread_mutex_lock(&x->lock); /* bounded look-ahead: memory stays a window's worth */
  if (j >= x->consumed + STREAM_WINDOW) {
    double t0 = kb_now();
    while (j >= x->consumed + STREAM_WINDOW) pthread_cond_wait(&x->cond, &x->lock);
    x->loader_wait += kb_now() - t0;
  }
  kb_incident *old = x->slot[k]; /* incident j - STREAM_WINDOW, written */
  kb_index_rows *old_rows = x->rows[k];
  x->slot[k] = NULL;
  x->rows[k] = NULL;
  pthread_mutex_unlock(&x->lock);
  kb_incident_free(old);
  kb_index_rows_free(old_rows);
  kb_incident *full = atomic_load(&x->failed) ? NULL : full_load(x, j, worker);
  kb_index_rows *rows = full ? kb_index_rows_new(full) : NULL;
  if (!full) atomic_store(&x->failed, true);
  pthread_mutex_lock(&x->lock);
  x->slot[k] = full;
  x->rows[k] = rows;
  x->ready[k] = true;
  pthread_cond_broadcast(&x->cond);
  pthread_mutex_unlock(&x->lock);
}

static void writer_meta(stream *x, int *rc) {
  char count[32], version[16];
  snprintf(count, sizeof count, "%zu", x->site->n);
  snprintf(version, sizeof version, "%d", KB_INDEX_SCHEMA_VERSION);
  kb_index_set_meta(x->w, "schema_version", version, rc);
  kb_index_set_meta(x->w, "generator", "kb " KB_GEN_VERSION, rc);
  kb_index_set_meta(x->w, "built_at", x->site->built_at, rc);
  kb_index_set_meta(x->w, "base_url", x->site->abs_base ? x->site->abs_base : x->site->base, rc);
  kb_index_set_meta(x->w, "incidents", count, rc);
}

/* The one thread that writes the index: takes the incidents in site order (so rowids
 * follow it) with the rows their loaders made, leaves each for the loader of the slot's
 * next incident to free, then finishes the index while pages are written. */
static void *writer_main(void *arg) {
  stream *x = arg;
  int rc = 0;
  for (size_t j = 0; j < x->site->n; j++) {
    pthread_mutex_lock(&x->lock);
    if (!x->ready[j % STREAM_WINDOW]) {
      double t0 = kb_now();
      while (!x->ready[j % STREAM_WINDOW]) pthread_cond_wait(&x->cond, &x->lock);
      x->writer_wait += kb_now() - t0;
    }
    kb_incident *inc = x->slot[j % STREAM_WINDOW];
    kb_index_rows *rows = x->rows[j % STREAM_WINDOW];
    pthread_mutex_unlock(&x->lock);
    if (inc) {
      kb_index_add_rows(x->w, inc, rows, &rc);
      x->st->stacks += inc->md.stacks.n;
      for (size_t s = 0; s < inc->md.stacks.n; s++) x->st->frames += inc->md.stacks.v[s].nframes;
    }
    pthread_mutex_lock(&x->lock);
    x->ready[j % STREAM_WINDOW] = false;
    x->consumed = j + 1;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->lock);
    if (rc) atomic_store(&x->failed, true);
    progress(x->b, "indexing", j + 1, x->site->n);
  }
  double t0 = kb_now();
  writer_meta(x, &rc);
  if (rc || atomic_load(&x->failed)) {
    if (rc) x->index_err = kb_xstrdup(kb_index_errmsg(x->w));
    kb_index_abort(x->w);
    rc = -1;
  } else {
    rc = kb_index_finish(x->w, &x->index_err);
  }
  x->w = NULL;
  if (getenv("KB_TIMINGS")) fprintf(stderr, "kb: index finish %.2f s\n", kb_now() - t0);
  x->index_rc = rc;
  return NULL;
}

/* ---- pass 3: the pages, from the records and the related incidents ---- */

static void page_one(void *ctx, size_t job, unsigned worker) {
  stream *x = ctx;
  if (atomic_load(&x->failed)) return;
  int rc;
  if (job == 0) { /* the lists first: the home page is the longest single page */
    rc = kb_site_write_lists(x->site);
  } else {
    const rec_loc *loc = &x->loc[job - 1];
    const char *rec = spill_read(&x->spills[worker], &x->spills[loc->worker], loc);
    rc = rec ? kb_site_write_incident(x->site, job - 1, rec, loc->len) : -1;
    if (!rec) kb_diags_add(&x->errs[job - 1], KB_ERROR, x->site->dir, 0, "cannot read a temporary file: %s",
                           strerror(errno));
  }
  if (rc) atomic_store(&x->failed, true);
}

static int stream_init(stream *x, build *b, kb_site *site, kb_build_stats *st) {
  *x = (stream){.b = b, .site = site, .st = st};
  pthread_mutex_init(&x->lock, NULL);
  pthread_cond_init(&x->cond, NULL);
  size_t n1 = site->n ? site->n : 1;
  x->errs = kb_xcalloc(n1, sizeof *x->errs);
  x->loc = kb_xcalloc(n1, sizeof *x->loc);
  x->spills = kb_xcalloc(b->jobs, sizeof *x->spills);
  for (unsigned k = 0; k < b->jobs; k++) x->spills[k].fd = -1;
  for (unsigned k = 0; k < b->jobs; k++)
    if (spill_open(&x->spills[k], site->dir)) {
      kb_diags_add(&b->diags, KB_ERROR, site->dir, 0, "cannot create a temporary file: %s", strerror(errno));
      return -1;
    }
  x->index_path = kb_path_join(site->dir, KB_INDEX_FILE);
  x->w = kb_index_create(x->index_path, &x->index_err);
  return x->w ? 0 : -1;
}

static void stream_release(stream *x) {
  for (size_t k = 0; k < STREAM_WINDOW; k++) { /* the last window's incidents */
    kb_incident_free(x->slot[k]);
    kb_index_rows_free(x->rows[k]);
  }
  for (size_t i = 0; i < x->site->n; i++) kb_diags_release(&x->errs[i]);
  for (unsigned k = 0; x->spills && k < x->b->jobs; k++) spill_close(&x->spills[k]);
  kb_index_abort(x->w);
  free(x->errs);
  free(x->loc);
  free(x->spills);
  free(x->index_path);
  free(x->index_err);
  pthread_mutex_destroy(&x->lock);
  pthread_cond_destroy(&x->cond);
}

/* Passes 2 and 3. The index writer runs on its own thread from the first incident on
 * and finishes the index (sorting, statistics) while the pages are written. */
static int stream_run(stream *x) {
  kb_site *site = x->site;
  pthread_t writer;
  double t0 = kb_now();
  bool started = pthread_create(&writer, NULL, writer_main, x) == 0;
  if (!started) {
    kb_diags_add(&x->b->diags, KB_ERROR, NULL, 0, "cannot start a thread: %s", strerror(errno));
    return -1;
  }
  par_for(site->n, x->b->jobs, full_one, x);
  double t1 = kb_now();
  if (!atomic_load(&x->failed)) {
    kb_site_related(site);
    double t2 = kb_now();
    par_for(site->n + 1, x->b->jobs, page_one, x);
    if (getenv("KB_TIMINGS"))
      fprintf(stderr, "kb: load+digest %.2f s (writer waited %.2f s, loaders %.2f s), related %.2f s, pages %.2f s\n",
              t1 - t0, x->writer_wait, x->loader_wait, t2 - t1, kb_now() - t2);
  }
  pthread_join(writer, NULL);
  for (size_t i = 0; i < site->n; i++) kb_diags_move(&x->b->diags, &x->errs[i]);
  if (x->index_rc && x->index_err) /* SQLite words ENOSPC "database or disk is full": name it */
    kb_diags_add(&x->b->diags, KB_ERROR, x->index_path, 0, "%s%s", x->index_err,
                 strstr(x->index_err, "disk is full") ? " (No space left on device)" : "");
  return atomic_load(&x->failed) || x->index_rc ? -1 : 0;
}

/* Render into a temporary folder and publish it. `site` is filled here and released by
 * the caller (site_discard), who may keep it: once published, site->dir is the output. */
static int render_and_publish(build *b, kb_site *site, kb_build_stats *st) {
  *site = (kb_site){.opts = b->o, .n = b->n, .diags = &b->diags};
  pthread_mutex_init(&site->lock, NULL);
  site->items = kb_xcalloc(b->n ? b->n : 1, sizeof *site->items);
  if (kb_site_base_parse(b->o->base_url, &site->base, &site->abs_base)) {
    kb_diags_add(&b->diags, KB_ERROR, NULL, 0, "--base-url must look like /kb/ or https://host/kb/: '%s'",
                 b->o->base_url);
    return -1;
  }
  for (size_t i = 0; i < b->n; i++) site->items[i].inc = b->incidents[i];
  site->built_at = now_rfc3339();
  char *tmp = temp_dir_for(b->o->out_dir);
  site->dir = tmp;
  site->templates = kb_tmpl_set_new(kb_tmpl_dir_loader, (void *)b->o->templates_dir);
  kb_remove_tree(tmp);
  int rc = kb_mkdirs(tmp);
  if (rc) kb_diags_add(&b->diags, KB_ERROR, tmp, 0, "cannot create: %s", strerror(errno));
  stream x;
  if (rc == 0) {
    rc = stream_init(&x, b, site, st);
    if (rc == 0) rc = stream_run(&x);
    else if (x.index_err)
      kb_diags_add(&b->diags, KB_ERROR, x.index_path, 0, "%s%s", x.index_err,
                   strstr(x.index_err, "disk is full") ? " (No space left on device)" : "");
    stream_release(&x);
  }
  if (rc == 0 && publish(tmp, b->o->out_dir) != 0) {
    kb_diags_add(&b->diags, KB_ERROR, b->o->out_dir, 0, "cannot publish: %s", strerror(errno));
    rc = -1;
  }
  if (rc) kb_remove_tree(tmp);
  site->dir = b->o->out_dir;
  free(tmp);
  st->pages = site->pages;
  return rc;
}

/* Free what render_and_publish filled in (not the items' incidents: the build's). */
static void site_discard(kb_site *site) {
  if (!site->items) return;
  kb_site_release(site);
  kb_tmpl_set_free(site->templates);
  pthread_mutex_destroy(&site->lock);
  free(site->items);
  free(site->base);
  free(site->abs_base);
  free(site->built_at);
  *site = (kb_site){0};
}
static bool check_dirs(build *b) {
  struct stat st;
  const char *dirs[] = {b->o->content_dir, b->o->templates_dir};
  const char *names[] = {"content", "templates"};
  for (int i = 0; i < 2; i++)
    if (stat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
      kb_diags_add(&b->diags, KB_ERROR, dirs[i], 0, "%s folder not found", names[i]);
      return false;
    }
  return true;
}

static void build_release(build *b) {
  for (size_t i = 0; i < b->n; i++) kb_incident_free(b->incidents[i]);
  free(b->incidents);
  kb_strlist_release(&b->files);
  kb_strlist_release(&b->skipped);
  kb_diags_release(&b->diags);
}

/* --jobs, else $KB_JOBS, else one thread per core (the build is CPU-bound: the files
 * are in the page cache). */
static unsigned build_jobs(unsigned jobs) {
  const char *env = getenv("KB_JOBS");
  long n = jobs ? (long)jobs : env && atol(env) > 0 ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* A whole build into b and site, which the caller releases (or keeps: a session). */
static int build_full(build *b, kb_site *site, kb_build_stats *st) {
  const kb_build_opts *o = b->o;
  double t0 = kb_now();
  memset(st, 0, sizeof *st);
  int rc = check_dirs(b) ? scan_dir(b, o->content_dir, 0) : -1;
  if (rc == 0) {
    qsort(b->files.v, b->files.n, sizeof *b->files.v, str_cmp);
    st->files = b->files.n;
    load_all(b, st);
    if (getenv("KB_TIMINGS")) fprintf(stderr, "kb: front matter %.2f s\n", kb_now() - t0);
    check_collisions(b);
    qsort(b->incidents, b->n, sizeof *b->incidents, incident_cmp);
  }
  size_t load_errors = b->diags.errors;
  if (rc == 0 && (load_errors == 0 || o->keep_going)) rc = render_and_publish(b, site, st);
  kb_diags_print(&b->diags, stderr);
  st->incidents = b->n;
  st->skipped = b->skipped.n;
  st->seconds = kb_now() - t0;
  int status = 0;
  if (rc != 0 || (load_errors && !o->keep_going)) {
    fprintf(stderr, "kb: build failed (%zu error%s); nothing was published, %s is unchanged\n", b->diags.errors,
            b->diags.errors == 1 ? "" : "s", o->out_dir);
    status = 1;
  } else {
    if (b->skipped.n) {
      fprintf(stderr, "kb: skipped %zu file%s:\n", b->skipped.n, b->skipped.n == 1 ? "" : "s");
      for (size_t i = 0; i < b->skipped.n; i++) fprintf(stderr, "  %s\n", b->skipped.v[i]);
      status = 1;
    }
    if (!o->quiet)
      printf("kb: built %zu incidents, %zu pages, %zu stacks, %zu frames in %.2f s -> %s/\n", st->incidents,
             st->pages, st->stacks, st->frames, st->seconds, o->out_dir);
  }
  return status;
}

int kb_build_run(const kb_build_opts *o, kb_build_stats *st) { return kb_build_run_jobs(o, 0, st); }

int kb_build_run_jobs(const kb_build_opts *o, unsigned jobs, kb_build_stats *st) {
  build b = {.o = o, .progress = isatty(2) && !o->quiet, .jobs = build_jobs(jobs)};
  kb_site site = {0};
  int status = build_full(&b, &site, st);
  site_discard(&site);
  build_release(&b);
  return status;
}

/* ---- a session: the last full build kept for the edits that follow (kb serve --watch) ----
 *
 * An edit that changes only an incident's prose changes two things of the published
 * site: that incident's page and the body text in the index. A session keeps what the
 * full build knew (every incident's front matter, related incidents, templates) so
 * that such an edit rewrites that one page (atomically: a new file renamed over it)
 * and patches the index in place (core/index/patch.c), in milliseconds. The index
 * decides what is prose only: it compares everything else it holds about the incident
 * with the edited file, and what it holds is also what the other pages show (title,
 * date, tags, summary, stacks and frames for related incidents). Anything else - a new,
 * renamed or deleted file, a template - is left to a full build. */

#define PATCH_MAX_FILES 64 /* more edited files at once: a full build is as quick */

struct kb_build_session {
  kb_build_opts o;
  unsigned jobs;
  build b;      /* the incidents (front matter) of the last full build */
  kb_site site; /* its items, related incidents and templates */
  bool ready;   /* b and site describe the published site */
  char *index_path;
  dev_t index_dev; /* the index this session published */
  ino_t index_ino;
};

kb_build_session *kb_build_session_new(const kb_build_opts *o, unsigned jobs) {
  kb_build_session *s = kb_xcalloc(1, sizeof *s);
  s->o = *o;
  s->jobs = build_jobs(jobs);
  s->index_path = kb_path_join(o->out_dir, KB_INDEX_FILE);
  return s;
}

static void session_drop(kb_build_session *s) {
  site_discard(&s->site);
  build_release(&s->b);
  s->b = (build){0};
  s->ready = false;
}

void kb_build_session_free(kb_build_session *s) {
  if (!s) return;
  session_drop(s);
  free(s->index_path);
  free(s);
}

int kb_build_session_build(kb_build_session *s, bool quiet, kb_build_stats *st) {
  session_drop(s);
  s->o.quiet = quiet;
  s->b = (build){.o = &s->o, .progress = isatty(2) && !s->o.quiet, .jobs = s->jobs};
  int status = build_full(&s->b, &s->site, st);
  kb_diags_release(&s->b.diags); /* printed */
  struct stat ix;
  s->ready = status == 0 && stat(s->index_path, &ix) == 0;
  if (s->ready) s->index_dev = ix.st_dev, s->index_ino = ix.st_ino;
  else session_drop(s);
  return status;
}

/* The published index is still the one this session built (and patched), not one a
 * `kb build` from elsewhere published meanwhile, which the session knows nothing of. */
static bool session_index_same(const kb_build_session *s) {
  struct stat st;
  return stat(s->index_path, &st) == 0 && st.st_dev == s->index_dev && st.st_ino == s->index_ino;
}

/* The item whose file is `path`, or -1. */
static long session_item(const kb_build_session *s, const char *path) {
  for (size_t i = 0; i < s->site.n; i++)
    if (strcmp(s->site.items[i].inc->path, path) == 0) return (long)i;
  return -1;
}

/* A file the site does not have that is a draft, and stays out of the site: true. */
static bool session_draft(const kb_build_session *s, const char *path) {
  kb_diags d = {0};
  kb_incident *front = s->o.drafts ? NULL : kb_incident_load_front(path, &d);
  bool draft = front && front->draft && d.errors == 0;
  kb_incident_free(front);
  kb_diags_release(&d);
  return draft;
}

enum { LOAD_OK = 0, LOAD_REBUILD = KB_INDEX_PATCH_REBUILD, LOAD_DRAFT };

/* Load an edited file: LOAD_REBUILD when it is not an incident of the site or no longer
 * loads (a full build reports why); LOAD_DRAFT for a draft the site leaves out (saved
 * again and again while it is written: nothing published changes). Its warnings are
 * shown, as a build would. */
static int session_load(const kb_build_session *s, const char *path, kb_incident **full, long *item) {
  *item = session_item(s, path);
  if (*item < 0) return session_draft(s, path) ? LOAD_DRAFT : LOAD_REBUILD;
  kb_diags d = {0};
  *full = kb_incident_load(path, &d);
  /* the pages show the item's front matter: it must still be the file's (a save during
   * the last full build may have changed the file between that build's two reads) */
  const kb_incident *front = s->site.items[*item].inc;
  int rc = *full && d.errors == 0 && front_same(front, *full) ? LOAD_OK : LOAD_REBUILD;
  if (rc == LOAD_OK) kb_diags_print(&d, stderr);
  else kb_incident_free(*full), *full = NULL;
  kb_diags_release(&d);
  return rc;
}

static int session_index(kb_build_session *s, kb_incident **full, size_t n) {
  char *err = NULL;
  kb_index_patch *p = kb_index_patch_begin(s->index_path, &err);
  int rc = p ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < n; i++) rc = kb_index_patch_body(p, full[i], &err);
  if (rc == 0) rc = kb_index_patch_commit(p, &err);
  else kb_index_patch_abort(p);
  if (rc < 0) fprintf(stderr, "kb: %s\n", err ? err : "cannot edit the index");
  free(err);
  return rc;
}

static int session_page(kb_build_session *s, long item, const kb_incident *full) {
  kb_diags d = {0};
  kb_buf rec = KB_BUF_INIT;
  s->site.diags = &d;
  s->site.replace_files = true;
  kb_site_digest(&s->site, (size_t)item, full, &rec);
  int rc = rec.err ? -1 : kb_site_write_incident(&s->site, (size_t)item, rec.ptr, rec.len);
  s->site.diags = NULL;
  kb_diags_print(&d, stderr);
  kb_diags_release(&d);
  kb_buf_release(&rec);
  return rc;
}

/* What an edited path is to the build: a file it reads (PATH_INCIDENT), one it ignores
 * (PATH_IGNORED: another name in the content folder, such as an editor's or sed's
 * temporary file), or anything else (PATH_REBUILD: a folder, a template, lost events). */
enum { PATH_INCIDENT, PATH_IGNORED, PATH_REBUILD };

/* `path` is `dir` or below it. */
static bool path_under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--; /* as kb_path_join joins */
  return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int session_path_kind(const kb_build_session *s, const char *path) {
  if (path_under(path, s->o.templates_dir)) return PATH_REBUILD; /* even inside the content folder */
  if (!path_under(path, s->o.content_dir) || kb_str_endswith(path, "/") || !strchr(path, '/')) return PATH_REBUILD;
  const char *name = strrchr(path, '/') + 1;
  return is_content_file(name) ? PATH_INCIDENT : PATH_IGNORED;
}

/* The incident files among `paths` into files[]; KB_INDEX_PATCH_REBUILD when a path or
 * the published index asks for a full build. */
static int session_files(const kb_build_session *s, const char *const *paths, size_t n, const char **files,
                         size_t *nfiles) {
  for (size_t i = 0; i < n; i++) {
    int kind = session_path_kind(s, paths[i]);
    if (kind == PATH_REBUILD) return KB_INDEX_PATCH_REBUILD;
    if (kind == PATH_INCIDENT) files[(*nfiles)++] = paths[i];
  }
  return session_index_same(s) ? 0 : KB_INDEX_PATCH_REBUILD;
}

int kb_build_session_edit(kb_build_session *s, const char *const *paths, size_t n, kb_build_stats *st) {
  double t0 = kb_now();
  memset(st, 0, sizeof *st);
  if (!s->ready || n > PATCH_MAX_FILES) return KB_INDEX_PATCH_REBUILD;
  kb_incident **full = kb_xcalloc(n ? n : 1, sizeof *full);
  long *item = kb_xcalloc(n ? n : 1, sizeof *item);
  const char **files = kb_xcalloc(n ? n : 1, sizeof *files);
  size_t nfiles = 0;
  int rc = session_files(s, paths, n, files, &nfiles);
  n = 0; /* the incidents to patch, in full[] and item[] */
  for (size_t i = 0; rc == 0 && i < nfiles; i++) {
    int loaded = session_load(s, files[i], &full[n], &item[n]);
    if (loaded == LOAD_OK) n++;
    else if (loaded == LOAD_REBUILD) rc = KB_INDEX_PATCH_REBUILD;
  }
  if (rc == 0 && n) rc = session_index(s, full, n);
  size_t pages_before = s->site.pages;
  for (size_t i = 0; rc == 0 && i < n; i++) rc = session_page(s, item[i], full[i]);
  if (rc < 0) s->ready = false; /* the site may be half edited: only a full build will do */
  for (size_t i = 0; i < n; i++) kb_incident_free(full[i]);
  free(full);
  free(item);
  free(files);
  st->incidents = rc == 0 ? n : 0;
  st->pages = s->site.pages - pages_before;
  st->seconds = kb_now() - t0;
  return rc;
}
