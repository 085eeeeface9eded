/* skiplist.h - the per-platform lists that say which frames never decide a match (skip)
 * and which are generic helpers a signature walks past (prefix). normalize.c asks them
 * about every frame; tests read them to check the data files.
 *
 * The lists are the text files data/skiplists/<platform>.txt, compiled into the library
 * at build time (cmake/embed.cmake writes them as C arrays), so neither the binary nor
 * the WebAssembly build reads the repository at run time.
 *
 * Syntax, one directive per line:
 *   # a comment             whole lines only ('#' can be part of a name: {lambda()#1})
 *   skip PATTERN            the frame is KB_FRAME_SKIP when its norm matches
 *   prefix PATTERN          the frame is KB_FRAME_PREFIX when its norm matches (skip wins)
 *   skipfile PATTERN        KB_FRAME_SKIP when the frame's source file, as written, matches
 *   prefixfile PATTERN      KB_FRAME_PREFIX when the source file matches
 *   include PLATFORM        every rule of data/skiplists/PLATFORM.txt as well
 * PATTERN is the rest of the line (spaces allowed, trailing spaces ignored). It is not a
 * regex: `*` matches any run of characters, every other character matches itself, case
 * included. Patterns are compared with the frame's norm (see normalize.c), where module
 * names are lowercase: a pattern with a '!' ("nt!KiPageFault", "*dyld!start") is compared
 * with the whole norm; a pattern without one ("abort", "Rtl*") with the part after the
 * module's '!' (the whole norm when it has none), so it matches in any module. */
#ifndef KB_STACK_SKIPLIST_H
#define KB_STACK_SKIPLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

/* One embedded file. The generated array ends with an entry whose name is NULL. */
typedef struct kb_embedded_file {
  const char *name;          /* "windows" (file name without .txt) */
  const unsigned char *data; /* the file's bytes, followed by a NUL */
  size_t len;                /* without the NUL */
} kb_embedded_file;
extern const kb_embedded_file kb_skiplist_files[];

typedef struct kb_skiplist kb_skiplist;

/* The compiled list of a platform ("windows", "linux", ...), includes resolved; NULL when
 * the platform has no file. Built once, on first use, thread-safe; never freed. */
const kb_skiplist *kb_skiplist_get(const char *platform);
/* KB_FRAME_SKIP, KB_FRAME_PREFIX or 0 for a frame with this norm and source file (NULL
 * when none). `l` may be NULL (nothing matches). */
unsigned kb_skiplist_classify(const kb_skiplist *l, const char *norm, const char *file);

/* The embedded text of a platform's list, or NULL. */
const char *kb_skiplist_text(const char *platform, size_t *len);
/* Check one platform's file: an error in `d` (path "data/skiplists/<platform>.txt") for
 * every unknown directive, empty pattern, unknown include or upper-case module part.
 * Returns the number of errors added. */
size_t kb_skiplist_check(const char *platform, kb_diags *d);
/* The same checks on any text (an edited list before it is built in); `path` for messages. */
size_t kb_skiplist_check_text(const char *path, const char *text, size_t len, kb_diags *d);

/* `*`-only glob: true when s[0..n) matches pat[0..pn). Linear in practice, O(n*pn) worst. */
bool kb_glob_match(const char *pat, size_t pn, const char *s, size_t n);

#endif
