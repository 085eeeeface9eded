/* site.h - write the pages of a site (home, incidents, tags, categories, feed, sitemap,
 * 404, alias redirects, static files) into a folder. Internal to gen: build.c calls it
 * after loading and checking every incident. */
#ifndef KB_SITE_H
#define KB_SITE_H

#include "content/incident.h"
#include "gen.h"
#include "template/mustache.h"

typedef struct kb_site {
  const kb_build_opts *opts;
  const char *dir;      /* output folder (the temporary one being filled) */
  char *base;           /* path prefix of every link, "/" or "/kb/" */
  char *abs_base;       /* "https://host/kb/" when the base URL is absolute, else NULL */
  char *built_at;       /* RFC 3339 time of the build */
  kb_incident **incidents; /* sorted newest first */
  size_t n;
  kb_tmpl_set *templates;
  kb_diags *diags;
  size_t pages;
} kb_site;

/* Check a --base-url and split it into link prefix and absolute base. Returns 0 or -1. */
int kb_site_base_parse(const char *base_url, char **base, char **abs_base);
/* Paths every build writes (home, feed, ...) that an incident may not take. */
bool kb_site_path_reserved(const char *url);
/* Write every page; returns 0, or -1 after adding diagnostics. */
int kb_site_write(kb_site *site);

#endif
