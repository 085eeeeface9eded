/* extract.h - identifiers an engineer searches by: KB articles, CVE ids, bugcheck codes
 * and names, driver/module names, exception types. Called by incident.c on an incident's
 * plain text and stacks; the index stores them and the pages link them to searches. */
#ifndef KB_EXTRACT_H
#define KB_EXTRACT_H

#include <stddef.h>

#include "stack/stack.h"

typedef struct kb_ident {
  const char *kind; /* static: "kb", "cve", "bugcheck", "bugcheck_name", "module", "exception" */
  char *value;      /* as an engineer writes it: "KB2887595", "0xA", "MsLbfoProvider.sys" */
  size_t len;       /* strlen(value) */
} kb_ident;

typedef struct kb_idents {
  kb_ident *v;
  size_t n, cap;
} kb_idents;

#define KB_IDENTS_MAX 512 /* identifiers kept per incident */

/* Find identifiers in text[0..len) and append the new ones to `out`. Linear in len. */
void kb_idents_extract(const char *text, size_t len, kb_idents *out);
/* Add the modules and bugcheck codes named by parsed stacks. */
void kb_idents_from_stacks(const kb_stacks *stacks, kb_idents *out);
/* Add one identifier unless the same kind+value (case-insensitive) is there already. */
void kb_idents_add(kb_idents *out, const char *kind, const char *value, size_t len);
/* Add a bugcheck code and, when known, its name. */
void kb_idents_add_bugcheck(kb_idents *out, unsigned code);
void kb_idents_release(kb_idents *ids); /* accepts NULL */

#endif
