/* highlight.h - the query's words marked in text: titles on the search page, and the
 * snippet under each search hit. Used by search.c (snippets) and server/pages.c (titles).
 *
 * Why not FTS5's snippet(): it runs the query again for every hit and scores every
 * window of every column, 2 ms a hit on a 7 KB incident whose text repeats a word (40 ms
 * for a page of 20); this scans the text once, in microseconds.
 *
 * Terms are the runs of word characters of the query as the index's tokenizer cuts them
 * (letters, digits, '_', any UTF-8 byte). A term of three or more bytes is marked
 * anywhere in a word (the index finds parts of long names), a shorter one at a word's
 * start; ASCII letters compare without case, other bytes exactly. */
#ifndef KB_HIGHLIGHT_H
#define KB_HIGHLIGHT_H

#include <stddef.h>

#define KB_HIGHLIGHT_MAX_TERMS 32
#define KB_SNIPPET_WORDS 16 /* words in a snippet, as FTS5's snippet(..., 16) gave */

typedef struct kb_highlight_terms {
  char *v[KB_HIGHLIGHT_MAX_TERMS];
  size_t len[KB_HIGHLIGHT_MAX_TERMS];
  size_t n;
} kb_highlight_terms;

/* Fill *t with the terms of `query` (at most KB_HIGHLIGHT_MAX_TERMS; the rest ignored). */
void kb_highlight_terms_init(kb_highlight_terms *t, const char *query);
void kb_highlight_terms_release(kb_highlight_terms *t); /* frees contents; accepts NULL */

/* `text` escaped for HTML with the terms in <mark>. Caller frees. */
char *kb_highlight_html(const char *text, const kb_highlight_terms *t);

/* A snippet from the first of `ntexts` texts holding the most distinct terms within
 * KB_SNIPPET_WORDS words (the earliest such window; ties go to the earlier text): those
 * words escaped and marked, with "…" where text was cut. With no term anywhere, the
 * first words of the first non-empty text. NULL texts count as empty. Caller frees. */
char *kb_highlight_snippet(const char *const *texts, size_t ntexts, const kb_highlight_terms *t);

#endif
