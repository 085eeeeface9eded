/* fmt_js.c - placeholder: the js format is being written (issue 3); it recognises
 * nothing yet. */
#include "stack/format.h"

static kb_line_kind js_classify(const char *s, size_t n, kb_stack *cur, kb_frame *f, kb_reason *r) {
  (void)s, (void)n, (void)cur, (void)f, (void)r;
  return KB_LINE_NONE;
}

const kb_format kb_format_js = {
    .name = "js",
    .platform = "js",
    .min_frames_without_header = 2,
    .classify = js_classify,
};
