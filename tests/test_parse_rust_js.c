/* test_parse_rust_js.c - the Rust (core/stack/fmt_rust.c) and JavaScript (fmt_js.c) formats
 * on real panics and stack traces from tests/stacks/rust/ and js/ (sources in
 * tests/stacks/SOURCES.md). */
#include "parse_fixture.h"

static const kb_frame *at(const kb_stacks *s, size_t st, size_t i) { return frame_of(s, st, i, __FILE__, __LINE__); }

/* The panic line gives the reason; "at file:line:col" under a frame is its location. */
static void test_rust_backtrace(void) {
  kb_stacks s = {0};
  parse_fixture("rust/panic-quoted-message-rust58554.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  CHECK_FORMATS(&s, "rust");
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.kind, "panic");
    CHECK_STR(s.v[0].reason.message, "explicit panic");
    CHECK_STR(s.v[0].platform, "rust");
  }
  CHECK_FRAME(&s, 0, 0, "std::panicking::begin_panic",
              "/home/eric/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/std/src/panicking.rs",
              505);
  CHECK_FRAME(&s, 0, 1, "z25::main", "./src/main.rs", 2);
  kb_stacks_release(&s);

  parse_fixture("rust/panic-message-next-line-uwd2.txt", &s); /* no backtrace printed: no stack */
  CHECK(s.n == 0);
  kb_stacks_release(&s);

  /* The same 1.73+ form with a backtrace (frames as rustc prints them, written for this test):
   * the message from the line after "panicked at", the runtime's note kept in the stack. */
  parse_text("thread 'main' panicked at src/main.rs:4:5:\n"
             "called `Option::unwrap()` on a `None` value\n"
             "stack backtrace:\n"
             "   0: rust_begin_unwind\n"
             "   1: core::panicking::panic_fmt\n"
             "   2: core::panicking::panic\n"
             "   3: core::option::unwrap_failed\n"
             "   4: app::main\n"
             "             at ./src/main.rs:4:5\n"
             "note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n",
             &s);
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.message, "called `Option::unwrap()` on a `None` value");
    CHECK_CONTAINS(s.v[0].raw, "note: Some details are omitted");
  }
  CHECK_FRAME(&s, 0, 0, "rust_begin_unwind", NULL, 0);
  CHECK_FRAME(&s, 0, 4, "app::main", "./src/main.rs", 4);
  kb_stacks_release(&s);
}

/* RUST_BACKTRACE=full: addresses and hashes; frames pasted onto the line above are split. */
static void test_rust_full(void) {
  kb_stacks s = {0};
  parse_fixture("rust/full-format-lapce.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 6);
  CHECK_FRAME(&s, 0, 0, "core::ops::function::FnOnce::call_once::hb8826fbdd104c57f",
              "/rustc/f1edd0429582dd29cccacaf50fd134b05593bd9c/library/core/src/ops/function.rs", 227);
  const kb_frame *f = at(&s, 0, 0);
  if (f) CHECK_STR(f->address, "0x559e9fc1803b");
  kb_stacks_release(&s);

  parse_fixture("rust/joined-frames-syncstorage.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 6);
  CHECK_FRAME(&s, 0, 2, "std::panicking::try::do_call::h8e7c9b9f1e7ce8f4", "/rustc/1.64.0/library/std/src/panicking.rs", 492);
  CHECK_FRAME(&s, 0, 3, "std::panicking::try::h4348992b62c8579d", "/rustc/1.64.0/library/std/src/panicking.rs", 456);
  CHECK_FRAME(&s, 0, 4, "std::panic::catch_unwind::h46b9fd5f621dc10e", "/rustc/1.64.0/library/std/src/panic.rs", 137);
  kb_stacks_release(&s);
}

static void test_node(void) {
  kb_stacks s = {0};
  parse_fixture("js/node18-anonymous-frame-noos.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 7);
  CHECK_FORMATS(&s, "js");
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.kind, "exception");
    CHECK_STR(s.v[0].reason.name, "TypeError");
    CHECK_STR(s.v[0].reason.message, "Cannot read properties of undefined (reading 'on')");
    CHECK_STR(s.v[0].platform, "js");
  }
  CHECK_FRAME(&s, 0, 0, "Object.<anonymous>", "/home/CarsonDay/NoOS/index.js", 9);
  CHECK_FRAME(&s, 0, 1, "Module._compile", "node:internal/modules/cjs/loader", 1356);
  CHECK_FRAME(&s, 0, 5, "Function.executeUserEntryPoint [as runMain]", "node:internal/modules/run_main", 128);
  CHECK_FRAME(&s, 0, 6, NULL, "node:internal/main/run_main_module", 28); /* anonymous */
  kb_stacks_release(&s);

  parse_fixture("js/node19-windows-paths-raxjs.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 10);
  CHECK_FRAME(&s, 0, 0, "getReplacer", "C:\\Users\\HP\\IdeaProjects\\web-framework\\node_modules\\jsx-compiler\\src\\modules\\code.js",
              472);
  kb_stacks_release(&s);

  parse_fixture("js/esm-file-urls-porffor.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 9);
  CHECK_FRAME(&s, 0, 0, "removeBrackets",
              "file:///home/kuba/.config/nvm/versions/node/v20.6.1/lib/node_modules/porffor/compiler/2c.js", 172);
  kb_stacks_release(&s);
}

/* Damaged pastes: a prefix before the error line, a time stamp between every line. */
static void test_node_damaged(void) {
  kb_stacks s = {0};
  parse_fixture("js/stack-prefix-nazuna.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  CHECK_FRAME(&s, 0, 1, "process.processTicksAndRejections", "node:internal/process/task_queues", 95);
  kb_stacks_release(&s);

  parse_fixture("js/interleaved-timestamps-rawon.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 9);
  if (s.n == 1) CHECK_STR(s.v[0].reason.message, "Cannot read property 'value' of undefined");
  CHECK_FRAME(&s, 0, 8, "require", "internal/modules/cjs/helpers.js", 16);
  kb_stacks_release(&s);
}

/* Windows paths with blanks (also in anonymous frames); Node's " {" after the last frame. */
static void test_node_windows_blanks(void) {
  kb_stacks s = {0};
  parse_fixture("js/windows-spaces-error-fields-webpack.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 10);
  if (s.n == 1) CHECK_STR(s.v[0].reason.message, "error:0308010C:digital envelope routines::unsupported");
  CHECK_FRAME(&s, 0, 4, NULL, "E:\\full stack web dev\\React Project\\my-app\\node_modules\\webpack\\lib\\NormalModule.js", 433);
  CHECK_FRAME(&s, 0, 9, NULL, "E:\\full stack web dev\\React Project\\my-app\\node_modules\\babel-loader\\lib\\index.js", 51);
  kb_stacks_release(&s);
}

static void test_firefox(void) {
  kb_stacks s = {0};
  parse_fixture("js/firefox-extension-chameleon.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 12);
  CHECK_FRAME(&s, 0, 0, "whitelisted/idx<", "moz-extension://61f6d8ee-4ff2-498f-b891-e429fc89112f/js/background.js", 706);
  CHECK_FRAME(&s, 0, 3, "applySafeWithoutClone", "resource://gre/modules/ExtensionCommon.jsm", 541);
  kb_stacks_release(&s);
}

/* Promise combinators and built-ins have no file, an anonymous function no name. */
static void test_at_lines_without_names(void) {
  const char *text = "TypeError: fetch failed\n"
                     "    at async Promise.all (index 0)\n"
                     "    at new Promise (<anonymous>)\n"
                     "    at /app/worker.js:3:9\n";
  kb_stacks s = {0};
  parse_text(text, &s);
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  CHECK_FRAME(&s, 0, 0, "Promise.all", NULL, 0);
  CHECK_FRAME(&s, 0, 1, "new Promise", NULL, 0);
  CHECK_FRAME(&s, 0, 2, NULL, "/app/worker.js", 3);
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_rust_backtrace);
  RUN(test_rust_full);
  RUN(test_node);
  RUN(test_node_damaged);
  RUN(test_node_windows_blanks);
  RUN(test_firefox);
  RUN(test_at_lines_without_names);
  return harness_done();
}
