/* snapshot.c - which build the server is answering from. A snapshot holds what comes
 * with one published build: its generation number, the site data the templates show
 * (from the index's meta table) and a fresh template cache. Requests take a reference
 * to the current snapshot and keep it until they are done, so a reload never pulls
 * anything from under a request.
 *
 * A new build is noticed two ways: cmd_serve calls kb_server_reload() after its own
 * build, and every request compares kb.sqlite's inode with the snapshot's (a `kb
 * build` run by hand swaps the folder, so the inode changes). Each worker thread keeps
 * its own read-only kb_index and reopens it when the generation moves on; the old file
 * stays readable through the open handle even after the build deleted it.
 * Called by route.c (acquire/release), pages.c and api.c (kb_srv_index). */
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

static void read_meta(kb_srv_snap *snap, const char *index_path) {
  char *err = NULL;
  kb_index *ix = kb_index_open(index_path, &err);
  if (!ix) {
    fprintf(stderr, "kb serve: %s\n", err); /* stderr only: responses never name paths */
    free(err);
    return;
  }
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
  kb_index_close(ix);
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

static kb_srv_snap *snap_load(kb_server *s, unsigned long gen) {
  kb_srv_snap *snap = kb_xcalloc(1, sizeof *snap);
  snap->gen = gen;
  atomic_init(&snap->refs, 1);
  snap->base_url = kb_xstrdup("/");
  snap->built_at = kb_xstrdup("");
  struct stat st;
  if (stat(s->index_path, &st) == 0) snap->dev = st.st_dev, snap->ino = st.st_ino;
  read_meta(snap, s->index_path);
  snap->base = base_path(snap->base_url);
  snap->site = site_object(snap);
  snap->tmpl = kb_tmpl_set_new(kb_tmpl_dir_loader, s->templates_dir);
  return snap;
}

void kb_srv_snap_release(kb_srv_snap *snap) {
  if (!snap || atomic_fetch_sub(&snap->refs, 1) != 1) return;
  kb_tmpl_set_free(snap->tmpl);
  cJSON_Delete(snap->site);
  free(snap->base);
  free(snap->base_url);
  free(snap->built_at);
  free(snap);
}

void kb_srv_snap_reload(kb_server *s, bool force) {
  pthread_mutex_lock(&s->reload_lock);
  struct stat st;
  bool have = stat(s->index_path, &st) == 0;
  pthread_mutex_lock(&s->snap_lock);
  /* another thread may have reloaded while this one waited */
  bool same = s->snap && have && st.st_ino == s->snap->ino && st.st_dev == s->snap->dev;
  pthread_mutex_unlock(&s->snap_lock);
  if (!same || force || !s->snap) {
    kb_srv_snap *fresh = snap_load(s, atomic_fetch_add(&s->gen, 1) + 1);
    pthread_mutex_lock(&s->snap_lock);
    kb_srv_snap *old = s->snap;
    s->snap = fresh;
    pthread_mutex_unlock(&s->snap_lock);
    kb_srv_snap_release(old);
  }
  pthread_mutex_unlock(&s->reload_lock);
}

kb_srv_snap *kb_srv_snap_acquire(kb_server *s) {
  struct stat st;
  bool have = stat(s->index_path, &st) == 0;
  pthread_mutex_lock(&s->snap_lock);
  kb_srv_snap *snap = s->snap;
  bool stale = have && (st.st_ino != snap->ino || st.st_dev != snap->dev);
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

typedef struct thread_index {
  kb_index *ix;
  unsigned long gen;
} thread_index;

static void thread_index_free(void *p) {
  thread_index *t = p;
  if (!t) return;
  kb_index_close(t->ix);
  free(t);
}

int kb_srv_index_key_init(kb_server *s) {
  if (pthread_key_create(&s->index_key, thread_index_free) != 0) return -1;
  s->index_key_ok = true;
  return 0;
}

kb_index *kb_srv_index(kb_server *s, const kb_srv_snap *snap) {
  thread_index *t = pthread_getspecific(s->index_key);
  if (!t) {
    t = kb_xcalloc(1, sizeof *t);
    pthread_setspecific(s->index_key, t);
  }
  /* a request that began under an older snapshot may use a newer index, never older */
  if (t->ix && t->gen >= snap->gen) return t->ix;
  bool first_try = t->gen != snap->gen; /* complain once per generation, not per request */
  kb_index_close(t->ix);
  char *err = NULL;
  t->ix = kb_index_open(s->index_path, &err);
  t->gen = snap->gen;
  if (!t->ix && first_try) fprintf(stderr, "kb serve: %s\n", err);
  free(err);
  return t->ix;
}
