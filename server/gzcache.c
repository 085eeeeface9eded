/* gzcache.c - gzipped copies of the site's files, so that a page is compressed once
 * rather than on every request (browsers always ask for gzip). Keyed by the file's
 * ETag (inode, size, modification time, variant), so a new build never meets a stale
 * entry: its files have new inodes and their old entries are simply overwritten in
 * time. Direct-mapped and bounded: KB_SRV_GZCACHE_SLOTS entries of at most
 * KB_SRV_GZCACHE_ENTRY bytes each. Called by static.c. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util/util.h"

typedef struct gz_entry {
  char *key;
  char *data;
  size_t len;
} gz_entry;

struct kb_srv_gzcache {
  pthread_mutex_t lock;
  gz_entry slots[KB_SRV_GZCACHE_SLOTS];
};

static size_t slot_of(const char *key) {
  size_t h = 5381; /* djb2 */
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = h * 33 + *p;
  return h % KB_SRV_GZCACHE_SLOTS;
}

kb_srv_gzcache *kb_srv_gzcache_new(void) {
  kb_srv_gzcache *c = kb_xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

void kb_srv_gzcache_free(kb_srv_gzcache *c) {
  if (!c) return;
  for (size_t i = 0; i < KB_SRV_GZCACHE_SLOTS; i++) free(c->slots[i].key), free(c->slots[i].data);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

char *kb_srv_gzcache_get(kb_srv_gzcache *c, const char *key, size_t *len) {
  gz_entry *e = &c->slots[slot_of(key)];
  char *copy = NULL;
  pthread_mutex_lock(&c->lock);
  if (e->key && strcmp(e->key, key) == 0) {
    copy = kb_xmalloc(e->len ? e->len : 1);
    memcpy(copy, e->data, e->len);
    *len = e->len;
  }
  pthread_mutex_unlock(&c->lock);
  return copy;
}

void kb_srv_gzcache_put(kb_srv_gzcache *c, const char *key, const char *data, size_t len) {
  if (len > KB_SRV_GZCACHE_ENTRY) return;
  char *k = kb_xstrdup(key), *d = kb_xmalloc(len ? len : 1);
  memcpy(d, data, len);
  gz_entry *e = &c->slots[slot_of(key)];
  pthread_mutex_lock(&c->lock);
  char *old_key = e->key, *old_data = e->data;
  e->key = k, e->data = d, e->len = len;
  pthread_mutex_unlock(&c->lock);
  free(old_key);
  free(old_data);
}
