/* format.h - the interface between the stack parser's driver (stack.c) and the
 * debugger/log formats (fmt_*.c), one file per format. Internal to core/stack.
 *
 * The driver cleans each line and offers it to the formats. A format classifies the
 * line without keeping state of its own (everything it needs is in `cur`, the stack of
 * that format being read, or NULL), so formats can be added without touching the others.
 *
 * What a format receives: one line, without its newline, after the driver has undone
 * paste damage and stripped what sits in front of it:
 *   - HTML entities decoded (&lt; &#96; &nbsp; ...), known inline tags (<span>, <font>,
 *     <code>, ...) removed; <br> and the ends of blocks (</p>, </div>, </li>) break the
 *     line, so a stack joined by `<br />` tags arrives as separate lines;
 *   - Markdown escapes undone (\` \_ \* \[ \]), CR and NUL dropped, tabs made spaces,
 *     NBSP made a space, WordPress's "0×1f" made "0x1f", trailing blanks removed;
 *   - e-mail/Markdown quote markers ("> ", ">> "), pastebin line numbers ("12. ", "12: ",
 *     "12 | ", "12<TAB>"), printk levels ("<4>"), syslog prefixes ("Nov 25 19:30:28 host
 *     kernel: "), kernel timestamps ("[  123.456789]", with the caller id "[ T31]"),
 *     dmesg -T times and ISO timestamps (+ level) removed from the front.
 * Indentation is kept when nothing was stripped in front of it (Python and Go read it).
 * A line can be up to KB_STACK_MAX_LINE bytes; `split` may see a longer one.
 *
 * Line kinds:
 *   FRAME   a frame: *f filled (strings malloc'd; the driver owns them afterwards).
 *           f->raw may stay NULL: the driver sets it to the trimmed line. *r may be
 *           filled too: it is merged into the stack's reason. The first frame of a
 *           stack is classified a second time with `cur` set, once the stack exists.
 *   HEADER  starts a new stack of this format ("Traceback (most recent call last):",
 *           "goroutine 1 [running]:", "Call Trace:", "STACK_TEXT:"). May fill *r.
 *   REASON  says why it crashed ("KeyError: 'x'", "panic: ...", "BUGCHECK_CODE:  a"):
 *           *r filled; the driver attaches it to the current stack of this format, or to
 *           the next one opened. Fields already set on the stack win, except `params`:
 *           while the stack has fewer than four parameters, a REASON's params are
 *           appended (WinDbg prints the four bugcheck parameters one per line).
 *   CONT    belongs to the previous frame or the stack but is not a frame (Go's
 *           "\t/src/x.go:12 +0x1d", Python's source line, Java's "... 12 more"); the format
 *           may amend cur->frames[cur->nframes-1] (e.g. set file/line). Only meaningful
 *           while a stack of this format is open (cur != NULL).
 *   NONE    not this format's.
 *   END     the stack of this format ends here (the line is kept in its raw text):
 *           "---[ end trace ... ]---". Ignored when no stack of this format is open.
 *           (Added after the first five; formats written before it never return it.)
 *
 * A line no format takes is a gap: the second consecutive gap (a blank line counts)
 * closes the open stack. A line of hex columns only is held and joined with the next
 * line first (a WinDbg line wrapped before its call site).
 */
#ifndef KB_STACK_FORMAT_H
#define KB_STACK_FORMAT_H

#include <string.h>

#include "stack/stack.h"

typedef enum {
  KB_LINE_NONE,
  KB_LINE_FRAME,
  KB_LINE_HEADER,
  KB_LINE_REASON,
  KB_LINE_CONT,
  KB_LINE_END
} kb_line_kind;

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
   * position 0, or 0 when there is none. Called on every line, so it must return 0
   * quickly on an ordinary one, and scan only up to the next frame's start (the driver
   * calls it again on the rest): the whole line is then read in linear time. May be NULL. */
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
/* Inline: with a literal prefix the compiler folds the strlen and the compare (lines are
 * tried against dozens of fixed prefixes). */
static inline bool kb_fmt_starts(const char *s, size_t n, const char *prefix) {
  size_t pl = strlen(prefix);
  return n >= pl && memcmp(s, prefix, pl) == 0;
}
/* The value of a hex number as kb_fmt_is_hex accepts it (at most 16 significant digits);
 * false when it is not one. */
bool kb_fmt_hex_value(const char *s, size_t n, unsigned long long *v);

#endif
