/* markdown.h - render an incident body (GitHub-flavoured Markdown) to safe HTML, and
 * collect its plain text and the crash stacks it contains, in one pass over cmark-gfm's
 * syntax tree. Called by incident.c. */
#ifndef KB_MARKDOWN_H
#define KB_MARKDOWN_H

#include <stddef.h>

#include "stack/stack.h"

typedef struct kb_markdown {
  char *html;       /* sanitized HTML fragment (raw HTML filtered, unsafe URLs dropped) */
  char *text;       /* plain text of every block, blocks separated by blank lines */
  kb_stacks stacks; /* stacks found in code blocks, raw HTML blocks and paragraphs;
                       first_line is a line of the file (line_base applied) */
} kb_markdown;

/* Render md[0..len). `line_base` is the file line of md's first line. */
void kb_markdown_render(const char *md, size_t len, int line_base, kb_markdown *out);
void kb_markdown_release(kb_markdown *m); /* accepts NULL */

#endif
