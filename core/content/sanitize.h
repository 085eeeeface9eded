/* sanitize.h - allowlist filter for the raw HTML that Markdown authors embed.
 *
 * cmark-gfm hands raw HTML over in fragments: a whole HTML block, or one lone tag such
 * as `<span style="color: #ff0000;">` or `</span>`. The sanitizer therefore works on
 * one fragment at a time and never adds or requires closing tags. Its output is built
 * from scratch (our own tag names, our own double-quoted, escaped attribute values,
 * text with every '<' escaped), so whatever a browser makes of the input, it sees only
 * what passed the allowlist. Used by the Markdown renderer; linear time, no recursion. */
#ifndef KB_SANITIZE_H
#define KB_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Append a filtered copy of the HTML fragment html[0..n) to out. */
void kb_html_sanitize(const char *html, size_t n, kb_buf *out);

/* True if a URL may go into href/src: relative URLs, #fragments, and the schemes
 * http, https, mailto and ftp (any case). False for every other scheme (javascript:,
 * vbscript:, data: ...), and for a scheme hidden by entities, whitespace, control
 * characters or case ("jav&#x09;ascript:", " JaVaScRiPt:", "java\0script:").
 * The URL is entity-decoded as a browser would before it is judged. */
bool kb_url_is_safe(const char *url, size_t n);

#endif
