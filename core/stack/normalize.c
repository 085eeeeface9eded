/* normalize.c - what matching compares: a normalized key per frame and a signature per
 * stack. Called by the parser driver (stack.c) for every stack it returns. */
#include <stdlib.h>
#include <string.h>

#include "stack/stack.h"
#include "util/util.h"

static char *frame_norm(const kb_frame *f) {
  char *mod = f->module ? kb_module_normalize(f->module, strlen(f->module)) : kb_xstrdup("");
  char *n;
  if (f->function) n = f->module ? kb_xasprintf("%s!%s", mod, f->function) : kb_xstrdup(f->function);
  else n = kb_xasprintf("%s+%s", mod, f->offset ? f->offset : "?");
  free(mod);
  return n;
}

void kb_stack_normalize(kb_stack *st) {
  for (size_t i = 0; i < st->nframes; i++) {
    free(st->frames[i].norm);
    st->frames[i].norm = frame_norm(&st->frames[i]);
  }
}
