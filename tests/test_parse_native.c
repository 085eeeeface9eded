/* test_parse_native.c - the debugger formats for native code on real output from
 * tests/stacks/gdb/, lldb/ and macos/ (sources in tests/stacks/SOURCES.md): gdb (and
 * systemd-coredump), lldb, and macOS/iOS crash reports (core/stack/fmt_gdb.c, fmt_lldb.c,
 * fmt_macos.c). */
#include "parse_fixture.h"

static const kb_frame *at(const kb_stacks *s, size_t st, size_t i) { return frame_of(s, st, i, __FILE__, __LINE__); }

static void test_gdb_bt(void) {
  kb_stacks s = {0};
  parse_fixture("gdb/abort-qt-throne.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 11);
  CHECK_FORMATS(&s, "gdb");
  CHECK_FRAME(&s, 0, 0,
              "__pthread_kill_implementation (threadid=<optimized out>, signo=signo@entry=6, no_tid=no_tid@entry=0)",
              "pthread_kill.c", 44);
  CHECK_FRAME(&s, 0, 2, "__GI_raise (sig=sig@entry=6)", "../sysdeps/posix/raise.c", 26);
  CHECK_FRAME(&s, 0, 10, "__GI___clone3 ()", "../sysdeps/unix/sysv/linux/x86_64/clone3.S", 78);
  const kb_frame *f = at(&s, 0, 0);
  if (f) CHECK(f->address == NULL); /* frame #0 printed without an address */
  if ((f = at(&s, 0, 2))) CHECK_STR(f->address, "0x00007ffff504bba0");
  if ((f = at(&s, 0, 7))) { /* " at /usr/lib/libQt6Core.so.6": a library, no line */
    CHECK_STR(f->module, "libQt6Core.so.6");
    CHECK_STR(f->function, "qTerminate() ()");
  }
  if ((f = at(&s, 0, 8))) CHECK(f->function == NULL); /* ??? */
  kb_stacks_release(&s);
}

/* The signal line before "bt" is the reason; "?? () from lib" gives the module only. */
static void test_gdb_core(void) {
  kb_stacks s = {0};
  parse_fixture("gdb/core-sigabrt-rtorrent.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 8);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.kind, "signal");
    CHECK_STR(s.v[0].reason.code, "SIGABRT");
    CHECK_STR(s.v[0].reason.message, "Aborted");
  }
  const kb_frame *f = at(&s, 0, 4);
  if (f) {
    CHECK(f->function == NULL);
    CHECK_STR(f->module, "libstdc++.so.6");
  }
  if ((f = at(&s, 0, 6))) CHECK_STR(f->function, "std::terminate() ()");
  kb_stacks_release(&s);

  parse_fixture("gdb/from-lib-gdb-core.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  if ((f = at(&s, 0, 1))) {
    CHECK_STR(f->function, "abort ()");
    CHECK_STR(f->module, "libc.so.6");
  }
  CHECK_FRAME(&s, 0, 2, "handle_sigsegv (sig=11)", "/build/gdb-Nav6Es/gdb-10.1/gdb/event-top.c", 885);
  kb_stacks_release(&s);

  parse_fixture("gdb/bt-full-locals-rust.txt", &s); /* "bt full": locals between frames */
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  CHECK_FRAME(&s, 0, 2, "std::sys_common::gnu::libbacktrace::resolve_symname<closure> (frame=..., callback=...)",
              "src/libstd/sys_common/gnu/libbacktrace.rs", 89);
  kb_stacks_release(&s);
}

static void test_coredumpctl(void) {
  kb_stacks s = {0};
  parse_fixture("gdb/coredumpctl-picom.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 8);
  if (s.n == 1) CHECK_STR(s.v[0].reason.code, "SIGSEGV");
  const kb_frame *f = at(&s, 0, 4);
  if (f) {
    CHECK_STR(f->function, "ev_invoke_pending");
    CHECK_STR(f->module, "libev.so.4");
    CHECK_STR(f->offset, "0x50cb");
  }
  if ((f = at(&s, 0, 0))) CHECK(f->function == NULL && f->module && strcmp(f->module, "picom") == 0);
  kb_stacks_release(&s);
}

/* gdb's "#0 0x.. in f (args) at file:line" and ASan's "#0 0x.. in f file:line:col". */
static void test_gdb_vs_asan(void) {
  const char *text = "#0  0x00007ffff7a42428 in __GI_raise (sig=sig@entry=6) at ../sysdeps/unix/sysv/linux/raise.c:54\n"
                     "#1  0x00007ffff7a4402a in abort () from /lib/x86_64-linux-gnu/libc.so.6\n"
                     "\n\n"
                     "    #0 0x4f5e2a in foo /src/x.c:12:3\n"
                     "    #1 0x4f6b10 in main (/path/a.out+0x4f6b10)\n";
  kb_stacks s = {0};
  parse_text(text, &s);
  CHECK(s.n == 2);
  if (s.n == 2) {
    CHECK_STR(s.v[0].format, "gdb");
    CHECK_STR(s.v[1].format, "asan");
  }
  CHECK_FRAME(&s, 1, 0, "foo", "/src/x.c", 12);
  kb_stacks_release(&s);
}

static void test_lldb(void) {
  kb_stacks s = {0};
  parse_fixture("lldb/sigabrt-zero-width-swift.txt", &s); /* "#&#8203;1": a zero-width space after '#' */
  CHECK(s.n == 2);
  CHECK_FORMATS(&s, "lldb");
  if (s.n == 2) {
    CHECK(s.v[1].nframes == 5);
    CHECK_STR(s.v[1].reason.code, "SIGABRT");
  }
  const kb_frame *f = at(&s, 1, 0);
  if (f) {
    CHECK_STR(f->module, "libc.so.6");
    CHECK_STR(f->function, "raise");
    CHECK_STR(f->offset, "203");
    CHECK_STR(f->address, "0x00007fbccf34a18b");
  }
  kb_stacks_release(&s);

  parse_fixture("lldb/exc-bad-access-nim.txt", &s);
  CHECK(s.n == 1);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.name, "EXC_BAD_ACCESS");
    CHECK_STR(s.v[0].reason.message, "(code=1, address=0x0)");
  }
  CHECK_FRAME(&s, 0, 0, "main_uF9bc3kVsWoixdO2cWVyMwg", "/Users/timothee/git_clone/nim/timn/bugs/lldb/t01.nim", 6);
  kb_stacks_release(&s);

  parse_fixture("lldb/markdown-escaped-swift.txt", &s); /* "\#1", "+ frame", escaped backticks */
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  CHECK_FRAME(&s, 0, 0, "__GI_raise(sig=6)", "raise.c", 55);
  CHECK_FRAME(&s, 0, 1, "__GI_abort", "abort.c", 89);
  kb_stacks_release(&s);
}

static void test_macos_crash_report(void) {
  kb_stacks s = {0};
  parse_fixture("macos/crash-report-dsymtools.txt", &s);
  CHECK(s.n == 2);
  CHECK_FORMATS(&s, "macos");
  if (s.n == 2) {
    CHECK_STR(s.v[0].reason.kind, "signal");
    CHECK_STR(s.v[0].reason.name, "EXC_BAD_ACCESS");
    CHECK_STR(s.v[0].reason.code, "SIGSEGV");
    CHECK_STR(s.v[0].reason.message, "KERN_INVALID_ADDRESS at 0x0000000000000000");
    CHECK(s.v[0].nframes == 4 && s.v[1].nframes == 2);
  }
  const kb_frame *f = at(&s, 0, 0);
  if (f) {
    CHECK_STR(f->module, "com.apple.CoreFoundation");
    CHECK_STR(f->function, "CFStringGetCString");
    CHECK_STR(f->offset, "47");
  }
  if ((f = at(&s, 0, 1))) CHECK(f->function == NULL && f->offset && strcmp(f->offset, "8273") == 0);
  kb_stacks_release(&s);

  parse_fixture("macos/ios-apple-symbolicated-salesforce.txt", &s); /* "0x1db25b000 + 6024 (mach_msg2_trap + 8)" */
  CHECK(s.n == 2);
  if ((f = at(&s, 0, 0))) {
    CHECK_STR(f->function, "mach_msg2_trap");
    CHECK_STR(f->offset, "8");
  }
  if ((f = at(&s, 0, 4))) CHECK(f->function == NULL); /* <redacted> */
  kb_stacks_release(&s);

  parse_fixture("macos/kotlin-native-coroutines.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  if ((f = at(&s, 0, 3))) {
    CHECK_STR(f->module, "iosApp");
    CHECK_STR(f->function, "kfun:kotlinx.coroutines.DispatchedTask#run(){}");
  }
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_gdb_bt);
  RUN(test_gdb_core);
  RUN(test_coredumpctl);
  RUN(test_gdb_vs_asan);
  RUN(test_lldb);
  RUN(test_macos_crash_report);
  return harness_done();
}
