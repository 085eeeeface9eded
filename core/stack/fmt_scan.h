/* fmt_scan.h - small scanning helpers shared by the stack formats fmt_java.c ... fmt_generic.c
 * (issue 3, part 2). Internal to core/stack.
 *
 * A line is looked at through kb_span views (pointer + length, never NUL-terminated, never
 * copied until a field is filled), so every helper is bounded by the span and a classifier
 * can try several shapes on the same line without allocating. Functions returning a position
 * return KB_NPOS when there is none. */
#ifndef KB_STACK_FMT_SCAN_H
#define KB_STACK_FMT_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "stack/format.h"

#define KB_NPOS ((size_t)-1)

typedef struct kb_span {
  const char *p;
  size_t n;
} kb_span;

static inline kb_span kb_span_of(const char *s, size_t n) { return (kb_span){s, n}; }
static inline kb_span kb_span_head(kb_span s, size_t i) { return (kb_span){s.p, i < s.n ? i : s.n}; }
static inline kb_span kb_span_tail(kb_span s, size_t i) { return i < s.n ? (kb_span){s.p + i, s.n - i} : (kb_span){s.p + s.n, 0}; }

kb_span kb_span_ltrim(kb_span s);
kb_span kb_span_rtrim(kb_span s);
kb_span kb_span_trim(kb_span s);
size_t kb_span_indent(kb_span s); /* leading spaces (tabs are spaces after cleaning) */

bool kb_span_eq(kb_span s, const char *lit);
bool kb_span_starts(kb_span s, const char *lit);
bool kb_span_ends(kb_span s, const char *lit);
/* Consume `lit` at the start (eat) or the end (eat_end) of *s; false and *s unchanged otherwise. */
bool kb_span_eat(kb_span *s, const char *lit);
bool kb_span_eat_end(kb_span *s, const char *lit);

size_t kb_span_chr(kb_span s, char c);
size_t kb_span_rchr(kb_span s, char c);
size_t kb_span_find(kb_span s, const char *lit);
size_t kb_span_rfind(kb_span s, const char *lit);

/* The next space-separated token of *s; *s continues after it (leading spaces skipped). */
kb_span kb_span_token(kb_span *s);

/* All decimal digits (at least one). kb_span_int: their value, capped at 1e9; -1 if not digits. */
bool kb_span_is_uint(kb_span s);
int kb_span_int(kb_span s);
/* "0x" followed by at least one hex digit and nothing else. */
bool kb_span_is_hexaddr(kb_span s);
/* Hex digits only (no prefix), at least `min` of them. */
bool kb_span_is_hexdigits(kb_span s, size_t min);

/* "...:123" -> *s = "...", *v = 123. False (nothing consumed) unless s ends with ':' + digits. */
bool kb_span_trailing_int(kb_span *s, int *v);
/* s ends with `close`: position of the `open` that matches it, or KB_NPOS. */
size_t kb_span_group_open(kb_span s, char open, char close);

/* A malloc'd copy of s trimmed; NULL when that is empty. */
char *kb_span_dup(kb_span s);
/* The last path component of s (after '/' or '\\'), copied; NULL when empty. */
char *kb_span_basename(kb_span s);

/* "path:line[:col]" (the path non-empty) into f->file and f->line. False, f untouched, otherwise. */
bool kb_frame_set_file_line(kb_frame *f, kb_span loc);

/* "Name: message" or "Name" -> *name, *msg (msg empty when absent). The name is made of
 * identifier characters, '.', '$' and '`', and ends at ':' (followed by a space or the end of
 * the line) or at the end of the line. */
bool kb_span_exception(kb_span s, kb_span *name, kb_span *msg);
/* Fill an exception-like reason: kind, name and (when non-empty) message. */
void kb_reason_exception(kb_reason *r, const char *kind, kb_span name, kb_span msg);

/* A frame-number marker as debuggers and sanitizers print it: '#', also escaped by Markdown
 * ("\#") or followed by an invisible zero-width space (typed to stop GitHub linking "#1"). */
bool kb_span_eat_hash(kb_span *s);

#endif
