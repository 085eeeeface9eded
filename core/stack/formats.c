/* formats.c - the list of stack formats the parser tries, most specific first.
 * When no stack is open, the first format that claims a line wins, so formats whose
 * lines are unmistakable come before formats with looser shapes (generic is last).
 * Adding a format: write fmt_<name>.c defining `const kb_format kb_format_<name>`,
 * declare it here and put it in the list. */
#include "stack/format.h"

extern const kb_format kb_format_windbg, kb_format_linux, kb_format_asan, kb_format_java, kb_format_dotnet,
    kb_format_python, kb_format_go, kb_format_gdb, kb_format_lldb, kb_format_macos, kb_format_rust, kb_format_js,
    kb_format_generic;

const kb_format *const kb_formats[] = {
    &kb_format_windbg, &kb_format_linux, &kb_format_asan, &kb_format_java,  &kb_format_dotnet,
    &kb_format_python, &kb_format_go,    &kb_format_gdb,  &kb_format_lldb,  &kb_format_macos,
    &kb_format_rust,   &kb_format_js,    &kb_format_generic, NULL,
};
