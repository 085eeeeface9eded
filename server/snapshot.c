/* snapshot.c - which build the server is answering from. A snapshot holds what comes
 * with one published build: its generation number, the site data the templates show
 * (from the index's meta table), a fresh template cache and the index itself, opened
 * once for each worker thread when the snapshot is loaded. Requests take a reference
 * to the current snapshot and keep it until they are done, so a reload never pulls
 * anything from under a request, and a request reads exactly the index its snapshot
 * describes (an open handle keeps a replaced file readable).
 *
 * A new build is noticed two ways: cmd_serve calls kb_server_reload() after its own
 * build, and every request compares kb.sqlite's inode with the snapshot's (a `kb
 * build` run by hand swaps the folder, so the inode changes). A published index that
 * cannot be read (truncated, damaged, not a kb index) does not replace a good one:
 * the server says so once on stderr and keeps answering from the last good build
 * until a readable one is published; its inode is remembered so that requests do not
 * try it again. Called by route.c (acquire/release), pages.c and api.c (kb_srv_index). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "util/util.h"

#define SITE_TITLE "Incident knowledge base" /* as gen/site.c names the site */


/* "https://host/kb/" -> "/kb/"; "/kb/" stays. */
static char *base_path(const char *base_url) {
  const char *p = base_url;
  if (strncmp(p, "http://", 7) == 0 || strncmp(p, "https://", 8) == 0) {
    p = strchr(strstr(p, "//") + 2, '/');
    if (!p) p = "/";
  }
  size_t n = strlen(p);
  if (p[0] != '/') return kb_xstrdup("/");
  return n && p[n - 1] == '/' ? kb_xstrdup(p) : kb_xasprintf("%s/", p);
}

static void read_meta(kb_srv_snap *snap, kb_index *ix) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(kb_index_db(ix), "SELECT key, value FROM meta", -1, &st, NULL) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *k = (const char *)sqlite3_column_text(st, 0), *v = (const char *)sqlite3_column_text(st, 1);
      if (!k || !v) continue;
      if (strcmp(k, "base_url") == 0) free(snap->base_url), snap->base_url = kb_xstrdup(v);
      if (strcmp(k, "built_at") == 0) free(snap->built_at), snap->built_at = kb_xstrdup(v);
    }
  }
  sqlite3_finalize(st);
  snap->incidents = kb_index_incidents(ix);
}

static void close_all(kb_srv_snap *snap) {
  for (unsigned i = 0; i < snap->nix; i++) kb_index_close(snap->ix[i]), snap->ix[i] = NULL;
}

static kb_srv_fileid file_id(const struct stat *st) {
  return (kb_srv_fileid){st->st_dev, st->st_ino, st->st_size,
                         (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec};
}

static bool same_file(kb_srv_fileid a, kb_srv_fileid b) {
  return a.ino && a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns;
}

/* One handle per worker thread, all on the same file: the path is looked at before
 * and after, and a build that swapped it meanwhile makes this try again. */
static void open_all(kb_srv_snap *snap, const char *path, bool live) {
  for (int attempt = 0; attempt < 3; attempt++) {
    struct stat before, after;
    free(snap->error);
    snap->error = NULL;
    if (stat(path, &before) != 0) {
      snap->error = kb_xasprintf("%s: no index here; run 'kb build' first", path);
      return;
    }
    snap->file = file_id(&before);
    for (unsigned i = 0; i < snap->nix && !snap->error; i++) snap->ix[i] = live ? kb_index_open_live(path, &snap->error) : kb_index_open(path, &snap->error);
    if (!snap->error && stat(path, &after) == 0 && same_file(snap->file, file_id(&after))) return;
    close_all(snap);
    if (snap->error) return; /* this file cannot be read: trying again will not help */
  }
  snap->error = kb_xasprintf("%s: replaced again and again while being opened", path);
}

static cJSON *site_object(const kb_srv_snap *snap) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "title", SITE_TITLE);
  cJSON_AddStringToObject(o, "base", snap->base);
  cJSON_AddStringToObject(o, "base_url", snap->base_url);
  cJSON_AddStringToObject(o, "generator", "kb " KB_SERVER_VERSION);
  cJSON_AddStringToObject(o, "built_at", snap->built_at);
  cJSON_AddNumberToObject(o, "incident_count", (double)snap->incidents);
  return o;
}

static kb_srv_snap *snap_load(kb_server *s) {
  kb_srv_snap *snap = kb_xcalloc(1, sizeof *snap);
  atomic_init(&snap->refs, 1);
  snap->base_url = kb_xstrdup("/");
  snap->built_at = kb_xstrdup("");
  snap->nix = s->threads;
  snap->ix = kb_xcalloc(snap->nix, sizeof *snap->ix);
  open_all(snap, s->index_path, s->index_live);
  if (!snap->error) read_meta(snap, snap->ix[0]);
  snap->base = base_path(snap->base_url);
  snap->site = site_object(snap);
  snap->tmpl = kb_tmpl_set_new(kb_tmpl_dir_loader, s->templates_dir);
  return snap;
}

void kb_srv_snap_release(kb_srv_snap *snap) {
  if (!snap || atomic_fetch_sub(&snap->refs, 1) != 1) return;
  close_all(snap);
  free(snap->ix);
  free(snap->error);
  kb_tmpl_set_free(snap->tmpl);
  cJSON_Delete(snap->site);
  free(snap->base);
  free(snap->base_url);
  free(snap->built_at);
  free(snap);
}

/* Whether `st` is what the current snapshot serves, or the index it refused already.
 * Called with snap_lock held. */
static bool known(const kb_server *s, const struct stat *st) {
  kb_srv_fileid id = file_id(st);
  return same_file(id, s->snap->file) || same_file(id, s->bad);
}

/* Make `fresh` current, or refuse it when it cannot be read and the current one can. */
static void install(kb_server *s, kb_srv_snap *fresh) {
  pthread_mutex_lock(&s->snap_lock);
  kb_srv_snap *old = s->snap;
  bool keep = old && !old->error && fresh->error && fresh->file.ino;
  if (keep) {
    s->bad = fresh->file;
    atomic_store(&s->stale, true);
  } else {
    fresh->gen = atomic_fetch_add(&s->gen, 1) + 1;
    s->snap = fresh;
    s->bad = (kb_srv_fileid){0};
    atomic_store(&s->stale, false);
  }
  pthread_mutex_unlock(&s->snap_lock);
  /* stderr only (responses never name paths); at start the caller reports it */
  if (keep) fprintf(stderr, "kb serve: %s; still serving build %lu (%s)\n", fresh->error, old->gen, old->built_at);
  else if (fresh->error && atomic_load(&s->serving)) fprintf(stderr, "kb serve: %s\n", fresh->error);
  kb_srv_snap_release(keep ? fresh : old);
}

void kb_srv_snap_reload(kb_server *s, bool force) {
  pthread_mutex_lock(&s->reload_lock);
  struct stat st;
  bool have = stat(s->index_path, &st) == 0;
  pthread_mutex_lock(&s->snap_lock);
  /* another thread may have reloaded while this one waited */
  bool same = s->snap && have && known(s, &st);
  pthread_mutex_unlock(&s->snap_lock);
  if (!same || force || !s->snap) install(s, snap_load(s));
  pthread_mutex_unlock(&s->reload_lock);
}

kb_srv_snap *kb_srv_snap_acquire(kb_server *s) {
  struct stat st;
  bool have = stat(s->index_path, &st) == 0;
  pthread_mutex_lock(&s->snap_lock);
  kb_srv_snap *snap = s->snap;
  bool stale = have && !known(s, &st);
  if (!stale) atomic_fetch_add(&snap->refs, 1);
  pthread_mutex_unlock(&s->snap_lock);
  if (!stale) return snap;
  kb_srv_snap_reload(s, false);
  pthread_mutex_lock(&s->snap_lock);
  snap = s->snap;
  atomic_fetch_add(&snap->refs, 1);
  pthread_mutex_unlock(&s->snap_lock);
  return snap;
}

void kb_srv_snap_free_all(kb_server *s) {
  kb_srv_snap_release(s->snap);
  s->snap = NULL;
}

/* ---- one index per worker thread ---- */

/* Each worker thread gets a slot number the first time it asks; a snapshot holds one
 * index handle per slot (SQLite handles are not shared between threads at once, and a
 * libmicrohttpd worker runs one handler at a time). */
int kb_srv_index_key_init(kb_server *s) {
  if (pthread_key_create(&s->index_key, NULL) != 0) return -1;
  s->index_key_ok = true;
  return 0;
}

static unsigned thread_slot(kb_server *s) {
  uintptr_t v = (uintptr_t)pthread_getspecific(s->index_key);
  if (!v) {
    v = (uintptr_t)atomic_fetch_add(&s->next_slot, 1) + 1;
    pthread_setspecific(s->index_key, (void *)v);
  }
  return (unsigned)(v - 1);
}

kb_index *kb_srv_index(kb_server *s, const kb_srv_snap *snap) {
  unsigned slot = thread_slot(s);
  return slot < snap->nix ? snap->ix[slot] : NULL;
}
