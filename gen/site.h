/* site.h - write the pages of a site (home, incidents, tags, categories, feed, sitemap,
 * 404, alias redirects, static files) into a folder. Internal to gen: build.c drives it.
 *
 * The site never holds every incident whole. build.c first loads only the front matter
 * of every file (kb_incident_load_front) into `items`; then each incident is loaded in
 * full once, and kb_site_digest keeps what the other pages need of it (summary, stack
 * count, the hashes of its frames for related incidents) and packs what its own page
 * needs into a record that build.c keeps on disk until the page is written; after
 * kb_site_related, kb_site_write_incident writes each incident page from its record and
 * kb_site_write_lists the pages about all of them. Digest and write_incident may run on
 * several threads at once, for different items. */
#ifndef KB_SITE_H
#define KB_SITE_H

#include <pthread.h>
#include <stdint.h>

#include "content/incident.h"
#include "gen.h"
#include "template/mustache.h"

/* Incidents per list page (home, each tag and category): the first page at the list's
 * path, the others at <path>page/N/. */
#define KB_LIST_PAGE_SIZE 50

/* What the site keeps of one incident between the passes. */
typedef struct kb_site_item {
  kb_incident *inc; /* front matter only; summary filled in by kb_site_digest */
  size_t stacks;    /* number of stacks */
  uint64_t *norms;  /* hashes of its distinct matching frames (norms, not skipped), sorted */
  size_t nnorms;
} kb_site_item;

typedef struct kb_site_rel kb_site_rel;

typedef struct kb_site {
  const kb_build_opts *opts;
  const char *dir;      /* output folder (the temporary one being filled) */
  char *base;           /* path prefix of every link, "/" or "/kb/" */
  char *abs_base;       /* "https://host/kb/" when the base URL is absolute, else NULL */
  char *built_at;       /* RFC 3339 time of the build */
  kb_site_item *items;  /* sorted newest first */
  size_t n;
  kb_site_rel *rel;     /* related incidents per item (kb_site_related) */
  kb_tmpl_set *templates;
  kb_diags *diags;      /* shared: added to under `lock` */
  size_t pages;         /* under `lock` */
  bool replace_files;   /* write each page as a new file renamed over the old one (an edit
                           of the published site), not in place (a new folder) */
  pthread_mutex_t lock;
} kb_site;

/* Check a --base-url and split it into link prefix and absolute base. Returns 0 or -1. */
int kb_site_base_parse(const char *base_url, char **base, char **abs_base);
/* Paths every build writes (home, feed, ...) that an incident may not take. */
bool kb_site_path_reserved(const char *url);

/* Keep what the other pages need of item i from its full load `full`, and append the
 * record its own page is written from to `rec`. */
void kb_site_digest(kb_site *s, size_t i, const kb_incident *full, kb_buf *rec);
/* Related incidents of every item, from the digests (call once, after all of them). */
void kb_site_related(kb_site *s);
/* Write incident page i (and its alias redirects) from its record. 0, or -1 after
 * adding diagnostics. */
int kb_site_write_incident(kb_site *s, size_t i, const char *rec, size_t len);
/* Home, tags, categories, 404, feed, sitemap and the static files. 0 or -1. */
int kb_site_write_lists(kb_site *s);
/* Free what the site allocated (related lists, item digests; not the items' incidents). */
void kb_site_release(kb_site *s);

#endif
