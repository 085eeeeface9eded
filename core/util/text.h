/* text.h - text-level helpers for imported content: UTF-8 validation, line numbers
 * for diagnostics, repair of double-encoded ("mojibake") UTF-8 from old blog exports,
 * HTML character references and HTML-to-plain-text.
 *
 * Used by the content loader (checks and WordPress clean-up), the HTML sanitizer
 * (attribute values are entity-decoded before they are checked) and the search index
 * (plain text of raw HTML). Everything appends to a kb_buf and runs in linear time. */
#ifndef KB_TEXT_H
#define KB_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* True if s[0..n) is valid UTF-8 (no overlongs, no surrogates, nothing above
 * U+10FFFF). Otherwise false, and *bad (if bad is non-NULL) is the byte offset where
 * the first ill-formed sequence starts (the lead byte of a truncated sequence, or the
 * stray byte itself). */
bool kb_utf8_valid(const char *s, size_t n, size_t *bad);

/* Line number (1-based) of byte offset `off` in the NUL-terminated s; counting stops
 * at the NUL if off lies beyond it. */
int kb_text_line_of(const char *s, size_t off);

/* Called once per repaired sequence: input offset, the bytes before and after. */
typedef void (*kb_repair_cb)(void *ctx, size_t offset, const char *before, size_t before_len,
                             const char *after, size_t after_len);

/* Repair UTF-8 text that was once decoded as Windows-1252 (or Latin-1) and encoded to
 * UTF-8 again ("RÃ¼efli" -> "Rüefli", "â€™" -> U+2019, "ðŸ™‚" -> U+1F642).
 * A run of characters is replaced only when mapping them back through CP1252 gives one
 * complete, valid UTF-8 sequence with a lead byte C2..F4 that is not a C1 control
 * (U+0080..U+009F, which nobody meant to write). Sequences that decode into
 * scripts which are written in runs (Armenian..NKo, U+0500-U+07FF; CJK and Hangul,
 * U+3000-U+DFFF) are repaired only next to another repair, so that legitimate text
 * such as "Gruß“" or "café…”" is left alone.
 * Appends the result to out, calls cb (if non-NULL) per repair and returns the count. */
size_t kb_mojibake_repair(const char *s, size_t n, kb_buf *out, kb_repair_cb cb, void *ctx);

/* Decode HTML character references (named, &#decimal; and &#xhex;) in s[0..n) and
 * append to out. Invalid code points become U+FFFD, &#128;..&#159; map through
 * Windows-1252 as browsers do; unknown or unterminated references are kept verbatim. */
void kb_html_entities_decode(const char *s, size_t n, kb_buf *out);

/* Same as kb_html_entities_decode, but numeric references without the final ';' are
 * decoded too, as browsers do inside attribute values. Use this for values that are
 * checked for safety (URLs), so that "&#106avascript:" cannot hide a scheme. */
void kb_html_attr_decode(const char *s, size_t n, kb_buf *out);

/* Plain text of an HTML fragment, appended to out: tags removed (<br>, <hr> and the
 * closing tags of block elements become newlines, </td> and </th> a space), comments
 * and the content of <script> and <style> removed, entities decoded. */
void kb_html_to_text(const char *s, size_t n, kb_buf *out);

/* Index of the first ASCII-case-insensitive occurrence of the lowercase `needle` in
 * s[from..n), or n when there is none. */
size_t kb_text_find_ci(const char *s, size_t n, size_t from, const char *needle);

#endif
