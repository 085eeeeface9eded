/* stack.h - crash stacks: the data model and the parser entry point.
 *
 * The parser takes any text (a pasted dump analysis, a Markdown code block, a paragraph
 * of a blog post) and returns the stacks it finds, each a list of frames in order from
 * the crash site outwards. Called by the content model (to index the stacks of an
 * incident) and, later, by the matcher (to read a pasted stack).
 *
 * Formats recognised today: WinDbg `k`-family lines and `!analyze -v` STACK_TEXT
 * (`module!function+0xoffset`, with or without Child-SP/RetAddr/argument columns,
 * frame numbers, backticked 64-bit addresses). */
#ifndef KB_STACK_H
#define KB_STACK_H

#include <stddef.h>

#define KB_STACK_MAX_FRAMES 512 /* frames kept per stack; more are dropped */
#define KB_STACK_MAX_STACKS 64  /* stacks kept per text */
#define KB_STACK_MAX_LINE 4096  /* longer lines are not frames */

typedef struct kb_frame {
  char *module;   /* as written, e.g. "MsLbfoProvider"; NULL when none */
  char *function; /* e.g. "vmqcGetFirstMappedMNic"; NULL for `module+0x1234` frames */
  char *offset;   /* e.g. "0xf"; NULL when none */
  char *file;     /* source file when printed; NULL otherwise */
  int line;       /* source line, 0 when none */
  char *address;  /* return address column as written, NULL when none */
  char *raw;      /* the frame's line, trimmed */
  char *norm;     /* what matching compares: "mslbfoprovider!vmqcGetFirstMappedMNic" */
} kb_frame;

typedef struct kb_stack {
  const char *format; /* static string: "windbg" */
  char *raw;          /* the stack's lines as found */
  int first_line;     /* 1-based line of the first frame in the text parsed */
  kb_frame *frames;
  size_t nframes, cap;
  unsigned bugcheck;  /* bugcheck code from nt!KeBugCheckEx's first argument; 0 = none */
} kb_stack;

typedef struct kb_stacks {
  kb_stack *v;
  size_t n, cap;
} kb_stacks;

/* Append every stack found in text[0..len) to `out`. Linear in len. */
void kb_stacks_parse(const char *text, size_t len, kb_stacks *out);
/* Free every stack and its frames; `s` is left empty. Accepts NULL. */
void kb_stacks_release(kb_stacks *s);

/* Normalized module name: lowercased, without .sys/.dll/.exe. Caller frees. */
char *kb_module_normalize(const char *module, size_t len);

/* Bugcheck names (bugcheck.c): the symbolic name of a Windows bugcheck code, or NULL. */
const char *kb_bugcheck_name(unsigned code);
/* The code for a symbolic name; 0 when unknown. */
unsigned kb_bugcheck_code(const char *name, size_t len);

#endif
