/* test_parse_go.c - the Go format (core/stack/fmt_go.c) on real panics, fatal errors and
 * goroutine dumps from tests/stacks/go/ (sources in tests/stacks/SOURCES.md). */
#include "parse_fixture.h"

/* "panic:" before the goroutine gives its reason; the indented line gives file/line/offset. */
static void test_panic_two_goroutines(void) {
  kb_stacks s = {0};
  parse_fixture("go/index-out-of-range-start.txt", &s);
  CHECK(s.n == 2);
  CHECK_FORMATS(&s, "go");
  if (s.n == 2) {
    CHECK_STR(s.v[0].reason.kind, "panic");
    CHECK_STR(s.v[0].reason.name, "runtime error");
    CHECK_STR(s.v[0].reason.message, "index out of range");
    CHECK(s.v[0].nframes == 3);
    CHECK(s.v[1].reason.kind == NULL); /* the reason belongs to the first goroutine only */
    CHECK_STR(s.v[0].platform, "go");
  }
  CHECK_FRAME(&s, 0, 0, "github.com/christophberger/start.readCommand(0xc820012ac0, 0x0, 0x0, 0xc820053df0, 0x0, 0x0)",
              "/Users/christoph/Development/Go/Code/src/github.com/christophberger/start/command.go", 245);
  CHECK_FRAME(&s, 0, 2, "main.main()",
              "/Users/christoph/Development/Go/Code/src/github.com/christophberger/start/examples/test/starttest.go", 82);
  CHECK_FRAME(&s, 1, 0, "runtime.goexit()", "/usr/local/go/src/runtime/asm_amd64.s", 1721);
  if (s.n == 2 && s.v[0].nframes) CHECK_STR(s.v[0].frames[0].offset, "0x957");
  kb_stacks_release(&s);
}

/* The signal line adds its code; "created by" is the last frame. */
static void test_nil_deref_created_by(void) {
  kb_stacks s = {0};
  parse_fixture("go/nil-deref-sigsegv-zkc.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 4);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.kind, "panic");
    CHECK_STR(s.v[0].reason.code, "SIGSEGV");
    CHECK_STR(s.v[0].reason.message, "invalid memory address or nil pointer dereference");
  }
  CHECK_FRAME(&s, 0, 0, "github.com/companyzero/zkc/sigma.(*SigmaKX).Write(0x0, 0xc420474028, 0x14, 0x40, 0x0, 0x0)",
              "/home/dhill/.go/src/github.com/companyzero/zkc/sigma/sigma.go", 315);
  CHECK_FRAME(&s, 0, 3, "main.(*ZKC).scheduler", "/home/dhill/.go/src/github.com/companyzero/zkc/zkclient/msg.go", 116);
  kb_stacks_release(&s);

  parse_fixture("go/created-in-goroutine-onelong.txt", &s); /* Go 1.21: "created by X in goroutine 1" */
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  CHECK_FRAME(&s, 0, 2, "OneLong/Script/Ehole/module/finger.(*FinScan).StartScan",
              "/Users/Monster/Tools/Go_work/OneLong/Script/Ehole/module/finger/finger.go", 63);
  kb_stacks_release(&s);
}

/* "fatal error:" and the fp=/sp=/pc= columns of a runtime throw. */
static void test_fatal_error(void) {
  kb_stacks s = {0};
  parse_fixture("go/concurrent-map-writes-ibenchmark.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.name, "fatal error");
    CHECK_STR(s.v[0].reason.message, "concurrent map writes");
  }
  CHECK_FRAME(&s, 0, 0, "runtime.throw(0x6df750, 0x15)", "/usr/local/go/src/runtime/panic.go", 605);
  CHECK_FRAME(&s, 0, 4, "main.worker", "/tmp/ibenchmark/iBench.go", 207);
  kb_stacks_release(&s);
}

/* A SIGQUIT dump: every goroutine is a stack. */
static void test_goroutine_dump(void) {
  kb_stacks s = {0};
  parse_fixture("go/sigquit-dump-packetbeat.txt", &s);
  CHECK(s.n == 4);
  if (s.n == 4) {
    CHECK_STR(s.v[0].reason.code, "SIGQUIT");
    CHECK(s.v[0].nframes == 8);
    CHECK(s.v[3].nframes == 2);
  }
  CHECK_FRAME(&s, 0, 3, "stopm()", "/usr/local/go/src/runtime/proc.c", 1178);
  CHECK_FRAME(&s, 3, 1, "os/signal.init\xC2\xB7" "1", "/usr/local/go/src/os/signal/signal_unix.go", 27);
  kb_stacks_release(&s);
}

/* Go code in prose is not a stack: a frame needs a goroutine or Go's argument words. */
static void test_code_is_not_a_stack(void) {
  kb_stacks s = {0};
  parse_text("Call it like this:\n\nfmt.Println(a)\nos.Exit(code)\nlog.Fatal(err)\n", &s);
  CHECK(s.n == 0);
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_panic_two_goroutines);
  RUN(test_nil_deref_created_by);
  RUN(test_fatal_error);
  RUN(test_goroutine_dump);
  RUN(test_code_is_not_a_stack);
  return harness_done();
}
