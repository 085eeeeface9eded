/* build.c - `kb build`: find the incident files, load and check them all, render the
 * site and the index into a temporary folder beside the output, then swap it into
 * place in one rename. A failed or interrupted build leaves the published site as it
 * was; stale temporary folders of killed builds are removed by the next build.
 * Called by cli/kb.c; the page rendering is in site.c, the index in core/index. */
#include "gen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void load_all(build *b, kb_build_stats *st) {
  b->incidents = kb_xcalloc(b->files.n, sizeof *b->incidents);
  for (size_t i = 0; i < b->files.n; i++) {
    kb_diags d = {0};
    kb_incident *inc = kb_incident_load(b->files.v[i], &d);
    if (inc && inc->draft && !b->o->drafts) {
      st->drafts++;
      kb_incident_free(inc);
      inc = NULL;
    } else if (!inc) {
      kb_strlist_push(&b->skipped, b->files.v[i]);
    }
    if (inc) b->incidents[b->n++] = inc;
    kb_diags_move(&b->diags, &d);
    progress(b, "reading", i + 1, b->files.n);
  }
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

static int write_index(build *b, const char *dir, const kb_site *site, kb_build_stats *st) {
  char *path = kb_path_join(dir, KB_INDEX_FILE), *err = NULL;
  kb_index_writer *w = kb_index_create(path, &err);
  int rc = w ? 0 : -1;
  for (size_t i = 0; w && i < b->n; i++) {
    kb_index_add(w, b->incidents[i], &rc);
    st->stacks += b->incidents[i]->md.stacks.n;
    for (size_t s = 0; s < b->incidents[i]->md.stacks.n; s++) st->frames += b->incidents[i]->md.stacks.v[s].nframes;
    progress(b, "indexing", i + 1, b->n);
  }
  if (w) {
    char count[32];
    snprintf(count, sizeof count, "%zu", b->n);
    char version[16];
    snprintf(version, sizeof version, "%d", KB_INDEX_SCHEMA_VERSION);
    kb_index_set_meta(w, "schema_version", version, &rc);
    kb_index_set_meta(w, "generator", "kb " KB_GEN_VERSION, &rc);
    kb_index_set_meta(w, "built_at", site->built_at, &rc);
    kb_index_set_meta(w, "base_url", site->abs_base ? site->abs_base : site->base, &rc);
    kb_index_set_meta(w, "incidents", count, &rc);
    if (rc) {
      err = kb_xstrdup(kb_index_errmsg(w));
      kb_index_abort(w);
    } else {
      rc = kb_index_finish(w, &err);
    }
  }
  if (rc) kb_diags_add(&b->diags, KB_ERROR, path, 0, "%s", err ? err : "index failed");
  free(err);
  free(path);
  return rc;
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

static int render_and_publish(build *b, kb_build_stats *st) {
  kb_site site = {.opts = b->o, .incidents = b->incidents, .n = b->n, .diags = &b->diags};
  if (kb_site_base_parse(b->o->base_url, &site.base, &site.abs_base)) {
    kb_diags_add(&b->diags, KB_ERROR, NULL, 0, "--base-url must look like /kb/ or https://host/kb/: '%s'",
                 b->o->base_url);
    return -1;
  }
  site.built_at = now_rfc3339();
  char *tmp = temp_dir_for(b->o->out_dir);
  site.dir = tmp;
  site.templates = kb_tmpl_set_new(kb_tmpl_dir_loader, (void *)b->o->templates_dir);
  kb_remove_tree(tmp);
  int rc = kb_mkdirs(tmp);
  if (rc) kb_diags_add(&b->diags, KB_ERROR, tmp, 0, "cannot create: %s", strerror(errno));
  double t0 = kb_now();
  if (rc == 0) rc = kb_site_write(&site);
  double t1 = kb_now();
  if (rc == 0) rc = write_index(b, tmp, &site, st);
  if (getenv("KB_TIMINGS")) fprintf(stderr, "kb: pages %.2f s, index %.2f s\n", t1 - t0, kb_now() - t1);
  if (rc == 0 && publish(tmp, b->o->out_dir) != 0) {
    kb_diags_add(&b->diags, KB_ERROR, b->o->out_dir, 0, "cannot publish: %s", strerror(errno));
    rc = -1;
  }
  if (rc) kb_remove_tree(tmp);
  st->pages = site.pages;
  kb_tmpl_set_free(site.templates);
  free(tmp);
  free(site.base);
  free(site.abs_base);
  free(site.built_at);
  return rc;
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

int kb_build_run(const kb_build_opts *o, kb_build_stats *st) {
  double t0 = kb_now();
  build b = {.o = o, .progress = isatty(2) && !o->quiet};
  memset(st, 0, sizeof *st);
  int rc = check_dirs(&b) ? scan_dir(&b, o->content_dir, 0) : -1;
  if (rc == 0) {
    qsort(b.files.v, b.files.n, sizeof *b.files.v, str_cmp);
    st->files = b.files.n;
    load_all(&b, st);
    if (getenv("KB_TIMINGS")) fprintf(stderr, "kb: reading %.2f s\n", kb_now() - t0);
    check_collisions(&b);
    qsort(b.incidents, b.n, sizeof *b.incidents, incident_cmp);
  }
  size_t load_errors = b.diags.errors;
  if (rc == 0 && (load_errors == 0 || o->keep_going)) rc = render_and_publish(&b, st);
  kb_diags_print(&b.diags, stderr);
  st->incidents = b.n;
  st->skipped = b.skipped.n;
  st->seconds = kb_now() - t0;
  int status = 0;
  if (rc != 0 || (load_errors && !o->keep_going)) {
    fprintf(stderr, "kb: build failed (%zu error%s); nothing was published, %s is unchanged\n", b.diags.errors,
            b.diags.errors == 1 ? "" : "s", o->out_dir);
    status = 1;
  } else {
    if (b.skipped.n) {
      fprintf(stderr, "kb: skipped %zu file%s:\n", b.skipped.n, b.skipped.n == 1 ? "" : "s");
      for (size_t i = 0; i < b.skipped.n; i++) fprintf(stderr, "  %s\n", b.skipped.v[i]);
      status = 1;
    }
    if (!o->quiet)
      printf("kb: built %zu incidents, %zu pages, %zu stacks, %zu frames in %.2f s -> %s/\n", st->incidents,
             st->pages, st->stacks, st->frames, st->seconds, o->out_dir);
  }
  build_release(&b);
  return status;
}
