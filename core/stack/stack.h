/* stack.h - crash stacks: the data model, the parser and the normalizer.
 *
 * The parser takes any text (a pasted dump analysis, a Markdown code block, a paragraph
 * of a blog post, a whole log) and returns the stacks it finds, each a list of frames in
 * order from the crash site outwards, with the crash reason where the text gives one.
 * The same code runs in the build (indexing incidents), the server and `kb match`
 * (reading a pasted stack), so a stack is read the same way everywhere.
 *
 * Pipeline (stack.c drives it):
 *   text -> lines -> clean each line (paste damage: HTML tags and entities, escaped
 *   backticks, log timestamps) -> offer the line to the formats (fmt_*.c, see format.h)
 *   -> frames grouped into stacks -> normalize.c fills `norm`, `flags` and `signature`.
 * Everything is linear in the input and bounded by the limits below. */
#ifndef KB_STACK_H
#define KB_STACK_H

#include <stdbool.h>
#include <stddef.h>

#define KB_STACK_MAX_FRAMES 512   /* frames kept per stack; more are dropped */
#define KB_STACK_MAX_STACKS 64    /* stacks kept per text */
#define KB_STACK_MAX_LINE 4096    /* longer lines are cut to this for parsing */
#define KB_STACK_MAX_INPUT ((size_t)16 << 20) /* bytes of text parsed; the rest is ignored */

/* kb_frame.flags, set by the normalizer (LONE by the formats) */
enum {
  KB_FRAME_SKIP = 1,      /* irrelevant to matching: bugcheck/trap machinery, abort, lock helpers */
  KB_FRAME_PREFIX = 2,    /* a generic helper (memcpy, malloc): kept, but the signature goes on */
  KB_FRAME_SIGNATURE = 4, /* part of the stack's signature */
  KB_FRAME_UNSYMBOLIZED = 8, /* no function name (module+0x1234, ??, raw address) */
  KB_FRAME_LONE = 16         /* set by a format: this frame with a crash reason is a report on
                                its own (kernel RIP after an oops line, !analyze's culprit) */
};

typedef struct kb_frame {
  char *module;   /* as written: "MsLbfoProvider", "[zfs]" -> "zfs", "libc.so.6"; NULL when none */
  char *function; /* as written, arguments included if printed; NULL for module+offset frames */
  char *offset;   /* "0xf", "0x1a/0x40"; NULL when none */
  char *file;     /* source file when printed; NULL otherwise */
  int line;       /* source line, 0 when none */
  char *address;  /* instruction/return address as written, NULL when none */
  char *raw;      /* the frame's line, cleaned */
  char *norm;     /* what matching compares, set by the normalizer, never NULL after parse */
  unsigned flags; /* KB_FRAME_* */
} kb_frame;

/* Why it crashed, when the text says so. All fields may be NULL. */
typedef struct kb_reason {
  char *kind;    /* "bugcheck", "exception", "signal", "panic", "kernel", "sanitizer" */
  char *code;    /* "0xA", "SIGSEGV", "heap-use-after-free" */
  char *name;    /* "IRQL_NOT_LESS_OR_EQUAL", "java.lang.NullPointerException" */
  char *message; /* the exception message, panic text, ... */
  char *params;  /* bugcheck parameters "0x28 0x2 0x0 0xfffff80002134dfe" */
  char *bucket;  /* a bucket the tool printed itself: !analyze's FAILURE_BUCKET_ID */
} kb_reason;

typedef struct kb_stack {
  const char *format;   /* static: "windbg", "linux", "java", "dotnet", "python", "go", "gdb", "lldb",
                           "macos", "rust", "js", "asan", "generic" */
  const char *platform; /* static: "windows", "linux", "jvm", "dotnet", "python", "go", "native",
                           "js", "rust" — selects the skip lists */
  char *raw;            /* the stack's lines as found (cleaned) */
  int first_line;       /* 1-based line of the first frame in the text parsed */
  int last_line;        /* line of the last frame or continuation line */
  kb_frame *frames;
  size_t nframes, cap;
  unsigned bugcheck;    /* Windows bugcheck code when known (0 = none); also in reason */
  char *bugcheck_args;  /* nt!KeBugCheckEx's arguments after the code ("0x14 0x2 0x0"): the
                           reason's params when the text states none */
  kb_reason reason;
  char *signature;      /* set by the normalizer: "mslbfoprovider!vmqcGetFirstMappedMNic" */
} kb_stack;

typedef struct kb_stacks {
  kb_stack *v;
  size_t n, cap;
  kb_reason reason; /* a crash reason the text gave outside any stack (may be empty) */
} kb_stacks;

/* Append every stack found in text[0..len) to `out`, normalized. Linear in len. */
void kb_stacks_parse(const char *text, size_t len, kb_stacks *out);
/* Free every stack and its frames; `s` is left empty. Accepts NULL. */
void kb_stacks_release(kb_stacks *s);

/* Normalized module name: lowercased, without .sys/.dll/.exe. Caller frees. */
char *kb_module_normalize(const char *module, size_t len);

/* normalize.c: fill frame->norm and flags, and stack->signature, for a parsed stack. */
void kb_stack_normalize(kb_stack *st);

/* Bugcheck names (bugcheck.c): the symbolic name of a Windows bugcheck code, or NULL. */
const char *kb_bugcheck_name(unsigned code);
/* The code for a symbolic name; 0 when unknown. */
unsigned kb_bugcheck_code(const char *name, size_t len);

#endif
