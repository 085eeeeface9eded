/* test_parse_asan.c - the sanitizer format (core/stack/fmt_asan.c) on real AddressSanitizer,
 * LeakSanitizer, ThreadSanitizer and UBSan reports from tests/stacks/asan/ (sources in
 * tests/stacks/SOURCES.md). */
#include "parse_fixture.h"

static const kb_frame *at(const kb_stacks *s, size_t st, size_t i) { return frame_of(s, st, i, __FILE__, __LINE__); }

/* The access stack gets the reason; "freed by ... here:" is a stack of its own. */
static void test_heap_use_after_free(void) {
  kb_stacks s = {0};
  parse_fixture("asan/heap-uaf-wrapped-header-wfqueue.txt", &s); /* the ERROR line wrapped in two */
  CHECK(s.n == 2);
  CHECK_FORMATS(&s, "asan");
  if (s.n == 2) {
    CHECK_STR(s.v[0].reason.kind, "sanitizer");
    CHECK_STR(s.v[0].reason.name, "AddressSanitizer");
    CHECK_STR(s.v[0].reason.code, "heap-use-after-free");
    CHECK(s.v[0].nframes == 6 && s.v[1].nframes == 4);
    CHECK(s.v[1].reason.kind == NULL);
    CHECK_STR(s.v[0].platform, "native");
  }
  CHECK_FRAME(&s, 0, 0, "cleanup", "/vagrant/fast-wait-free-queue/wfqueue.c", 75);
  const kb_frame *f = at(&s, 0, 4);
  if (f) {
    CHECK_STR(f->function, "start_thread");
    CHECK_STR(f->module, "libpthread.so.0");
    CHECK_STR(f->offset, "0x8183");
    CHECK_STR(f->address, "0x7f2249e1b183");
  }
  CHECK_FRAME(&s, 1, 0, "__interceptor_free", NULL, 0);
  kb_stacks_release(&s);

  parse_fixture("asan/heap-uaf-windows-paths-sumatra.txt", &s); /* MSVC: paths with spaces */
  CHECK(s.n == 1 && s.v[0].nframes == 7);
  CHECK_FRAME(&s, 0, 1, "std::_Func_class<void>::operator()",
              "C:\\Program Files\\Microsoft Visual Studio\\2022\\Preview\\VC\\Tools\\MSVC\\14.41.33901\\include\\functional", 920);
  if ((f = at(&s, 0, 3))) {
    CHECK_STR(f->function, "DispatchMessageW");
    CHECK_STR(f->module, "USER32.dll");
  }
  kb_stacks_release(&s);
}

static void test_leaks(void) {
  kb_stacks s = {0};
  parse_fixture("asan/leak-iniparser.txt", &s);
  CHECK(s.n == 3);
  if (s.n == 3) {
    CHECK_STR(s.v[0].reason.name, "LeakSanitizer");
    CHECK_STR(s.v[0].reason.code, "memory-leak");
  }
  CHECK_FRAME(&s, 0, 1, "dictionary_new", "../src/dictionary.c", 157);
  CHECK_FRAME(&s, 2, 1, "dictionary_grow", "../src/dictionary.c", 74);
  kb_stacks_release(&s);

  parse_fixture("asan/leak-unsymbolized-cstring.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  const kb_frame *f = at(&s, 0, 0);
  if (f) {
    CHECK(f->function == NULL);
    CHECK_STR(f->module, "app");
    CHECK_STR(f->offset, "0x4b9808");
  }
  kb_stacks_release(&s);

  parse_fixture("asan/leak-buildid-supmover.txt", &s); /* "(BuildId: ...)" after the module */
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  if ((f = at(&s, 0, 1))) {
    CHECK_STR(f->function, "main");
    CHECK_STR(f->module, "supmover");
  }
  CHECK_FRAME(&s, 0, 3, "__libc_start_main", "csu/../csu/libc-start.c", 360);
  kb_stacks_release(&s);
}

static void test_thread_sanitizer(void) {
  kb_stacks s = {0};
  parse_fixture("asan/tsan-data-race-wazuh.txt", &s);
  CHECK(s.n == 3);
  if (s.n == 3) {
    CHECK_STR(s.v[0].reason.name, "ThreadSanitizer");
    CHECK_STR(s.v[0].reason.code, "data-race");
    CHECK(s.v[0].nframes == 4);
  }
  CHECK_FRAME(&s, 0, 0, "free_file_sum", "remoted/manager.c", 313);
  const kb_frame *f = at(&s, 0, 0);
  if (f) CHECK_STR(f->module, "wazuh-remoted");
  kb_stacks_release(&s);

  parse_fixture("asan/tsan-null-frames-cava.txt", &s); /* "#1 <null> <null> (libtsan.so.0+0x29b3d)" */
  CHECK(s.n == 3);
  if ((f = at(&s, 0, 1))) {
    CHECK(f->function == NULL && f->file == NULL);
    CHECK_STR(f->module, "libtsan.so.0");
  }
  kb_stacks_release(&s);
}

static void test_ubsan_and_shadow_bytes(void) {
  kb_stacks s = {0};
  parse_fixture("asan/ubsan-stacktrace-sundown.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 8);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.name, "UndefinedBehaviorSanitizer");
    CHECK_STR(s.v[0].reason.message, "null pointer passed as argument 2, which is declared to never be null");
  }
  CHECK_FRAME(&s, 0, 0, "bufput", "/root/sundown/src/buffer.c", 162);
  kb_stacks_release(&s);

  parse_fixture("asan/shadow-bytes-freerdp.txt", &s); /* the shadow map and legend are not frames */
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  kb_stacks_release(&s);

  /* Go's "panic: runtime error:" is not UBSan's "file:line:col: runtime error:" */
  parse_text("src/x.c:12:5: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n"
             "    #0 0x4f5e2a in add /src/x.c:12:5\n",
             &s);
  CHECK(s.n == 1);
  if (s.n == 1) CHECK_STR(s.v[0].reason.code, "signed-integer-overflow");
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_heap_use_after_free);
  RUN(test_leaks);
  RUN(test_thread_sanitizer);
  RUN(test_ubsan_and_shadow_bytes);
  return harness_done();
}
