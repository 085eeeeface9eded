/* watch.c - recursive inotify watches over the content and template folders (see
 * watch.h). Called by cli/cmd_serve.c. */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define WATCH_MASK                                                                                           \
  (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_ATTRIB)
#define MAX_DEPTH 32

struct kb_watch {
  int fd;
  kb_strlist paths; /* paths.v[i] is the folder of watch descriptor wds[i] */
  int *wds;
  size_t cap;
};

/* Hidden files, `name~` backups, vim's swap files and its "4913" probe. */
static bool ignored(const char *name) {
  return name[0] == '.' || kb_str_endswith(name, "~") || kb_str_endswith(name, ".swp") ||
         kb_str_endswith(name, ".swx") || strcmp(name, "4913") == 0;
}

static void watch_add(kb_watch *w, const char *dir, int depth) {
  if (depth > MAX_DEPTH) return;
  int wd = inotify_add_watch(w->fd, dir, WATCH_MASK | IN_ONLYDIR);
  if (wd < 0) return;
  if (w->paths.n >= w->cap) {
    w->cap = w->cap ? w->cap * 2 : 16;
    w->wds = kb_xrealloc(w->wds, w->cap * sizeof *w->wds);
  }
  w->wds[w->paths.n] = wd;
  kb_strlist_push(&w->paths, dir);
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (ignored(e->d_name)) continue;
    char *sub = kb_path_join(dir, e->d_name);
    struct stat st;
    if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) watch_add(w, sub, depth + 1);
    free(sub);
  }
  if (d) closedir(d);
}

static const char *watch_path(const kb_watch *w, int wd) {
  for (size_t i = 0; i < w->paths.n; i++)
    if (w->wds[i] == wd) return w->paths.v[i];
  return NULL;
}

kb_watch *kb_watch_new(const char *const *dirs, size_t n, char **err) {
  kb_watch *w = kb_xcalloc(1, sizeof *w);
  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0) {
    *err = kb_xasprintf("cannot watch for changes: %s", strerror(errno));
    free(w);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) watch_add(w, dirs[i], 0);
  return w;
}

int kb_watch_fd(const kb_watch *w) { return w->fd; }

static void note_path(kb_strlist *paths, const char *dir, const char *name, bool folder) {
  if (!paths || (paths->n && !paths->v[paths->n - 1][0])) return; /* full already: "" */
  if (paths->n >= KB_WATCH_MAX_PATHS) { /* a checkout of thousands of files: rebuild them all */
    kb_strlist_push(paths, "");
    return;
  }
  char *path = dir ? kb_path_join(dir, name) : kb_xstrdup("");
  if (folder) {
    char *with_slash = kb_xasprintf("%s/", path);
    free(path);
    path = with_slash;
  }
  if (!kb_strlist_has(paths, path)) kb_strlist_push(paths, path);
  free(path);
}

bool kb_watch_drain(kb_watch *w, kb_strlist *paths) {
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  bool changed = false;
  ssize_t n;
  while ((n = read(w->fd, buf, sizeof buf)) > 0) {
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      p += sizeof *ev + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) changed = true, note_path(paths, NULL, "", false);
      if (ev->len == 0 || ignored(ev->name)) continue;
      changed = true;
      const char *dir = watch_path(w, ev->wd);
      note_path(paths, dir, ev->name, ev->mask & IN_ISDIR);
      if (dir && (ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
        char *sub = kb_path_join(dir, ev->name);
        watch_add(w, sub, 1);
        free(sub);
      }
    }
  }
  return changed;
}

void kb_watch_free(kb_watch *w) {
  if (!w) return;
  close(w->fd);
  kb_strlist_release(&w->paths);
  free(w->wds);
  free(w);
}
