/* fmt_lldb.c - placeholder: the lldb format is being written (issue 3); it recognises
 * nothing yet. */
#include "stack/format.h"

static kb_line_kind lldb_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  (void)s, (void)n, (void)cur, (void)f, (void)r;
  return KB_LINE_NONE;
}

const kb_format kb_format_lldb = {
    .name = "lldb",
    .platform = "native",
    .min_frames_without_header = 2,
    .classify = lldb_classify,
};
