/* watch.h - notice edits under a few folders (inotify), for `kb serve --watch`.
 * Folders are watched recursively; folders created later are added as they appear.
 * Editor droppings (hidden names, `~` backups, swap files) do not count as edits.
 * Used by cli/cmd_serve.c, which rebuilds the site when something changed. */
#ifndef KB_WATCH_H
#define KB_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

#define KB_WATCH_MAX_PATHS 256

typedef struct kb_watch kb_watch;

/* Watch every folder of `dirs` (and below). NULL and *err (caller frees) on failure. */
kb_watch *kb_watch_new(const char *const *dirs, size_t n, char **err);
/* A file descriptor that becomes readable when something happened (for poll). */
int kb_watch_fd(const kb_watch *w);
/* Read what happened without blocking; true when an edit that matters was seen. When
 * `paths` is not NULL, each file or folder an event named is added to it once: the
 * watched folder's path, '/', the name, and for a folder a final '/'. The list ends with
 * "" when events were lost or more than KB_WATCH_MAX_PATHS paths came (nothing is added
 * after it): everything may have changed. */
bool kb_watch_drain(kb_watch *w, kb_strlist *paths);
void kb_watch_free(kb_watch *w); /* accepts NULL */

#endif
