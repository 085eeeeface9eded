/* format.h - the interface between the stack parser's driver (stack.c) and the
 * debugger/log formats (fmt_*.c), one file per format. Internal to core/stack.
 *
 * The driver cleans each line and offers it to the formats. A format classifies the
 * line without keeping state of its own (everything it needs is in `cur`, the stack of
 * that format being read, or NULL), so formats can be added without touching the others.
 *
 * Line kinds:
 *   FRAME   a frame: *f filled (strings malloc'd; the driver owns them afterwards).
 *   HEADER  starts a new stack of this format ("Traceback (most recent call last):",
 *           "goroutine 1 [running]:", "Call Trace:", "STACK_TEXT:"). May fill *r.
 *   REASON  says why it crashed ("KeyError: 'x'", "panic: ...", "BUGCHECK_CODE:  a"):
 *           *r filled; the driver attaches it to the current stack of this format, or to
 *           the next one opened.
 *   CONT    belongs to the previous frame or the stack but is not a frame (Go's
 *           "\t/src/x.go:12 +0x1d", Python's source line, Java's "... 12 more"); the format
 *           may amend cur->frames[cur->nframes-1] (e.g. set file/line).
 *   NONE    not this format's.
 */
#ifndef KB_STACK_FORMAT_H
#define KB_STACK_FORMAT_H

#include "stack/stack.h"

typedef enum { KB_LINE_NONE, KB_LINE_FRAME, KB_LINE_HEADER, KB_LINE_REASON, KB_LINE_CONT } kb_line_kind;

typedef struct kb_format {
  const char *name;
  const char *platform;
  /* Frames are printed outermost first (Python): the driver reverses them at the end. */
  bool outermost_first;
  /* REASON lines may come after the stack has ended (WinDbg's !analyze blocks). */
  bool reasons_follow;
  /* Frames needed for a stack that had no HEADER line (guards against prose). */
  int min_frames_without_header;
  kb_line_kind (*classify)(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r);
  /* When frames were pasted joined on one line: offset of the next frame's start after
   * position 0, or 0 when there is none. May be NULL. */
  size_t (*split)(const char *s, size_t n);
} kb_format;

/* The formats, in the order they are tried (most specific first); NULL-terminated. */
extern const kb_format *const kb_formats[];

/* Helpers for the formats (stack.c). */
char *kb_fmt_strndup_trim(const char *s, size_t n);
void kb_reason_set(char **field, const char *s, size_t n); /* replaces, trims */
void kb_reason_release(kb_reason *r);
void kb_frame_release(kb_frame *f);
bool kb_fmt_is_hex(const char *s, size_t n); /* hex digits, optional 0x, WinDbg backticks */
bool kb_fmt_starts(const char *s, size_t n, const char *prefix);

#endif
