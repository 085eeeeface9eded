/* test_parse_generic.c - the last-resort format (core/stack/fmt_generic.c) on real
 * backtraces of tools no other format knows (tests/stacks/generic/, sources in
 * tests/stacks/SOURCES.md), and texts that are no stacks at all: none of the formats may
 * find a stack in prose, a README, a CSV, source code, binary noise or nothing. */
#include "parse_fixture.h"

static const kb_frame *at(const kb_stacks *s, size_t st, size_t i) { return frame_of(s, st, i, __FILE__, __LINE__); }

/* glibc's backtrace_symbols(): "module(symbol+0xoff) [0xaddr]", numbered "# 1" or "1/24:". */
static void test_glibc_backtrace(void) {
  kb_stacks s = {0};
  parse_fixture("generic/glibc-backtrace-cpu-x.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  CHECK_FORMATS(&s, "generic");
  const kb_frame *f = at(&s, 0, 1);
  if (f) {
    CHECK_STR(f->module, "cpu-x");
    CHECK_STR(f->function, "fill_labels");
    CHECK_STR(f->offset, "0x1715");
    CHECK_STR(f->address, "0x40f565");
  }
  if ((f = at(&s, 0, 0))) { /* "libc.so.6(+0x33250)": no symbol */
    CHECK(f->function == NULL);
    CHECK_STR(f->module, "libc.so.6");
    CHECK_STR(f->offset, "0x33250");
  }
  kb_stacks_release(&s);

  parse_fixture("generic/glibc-backtrace-numbered-xcsf.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 6);
  if ((f = at(&s, 0, 2))) {
    CHECK_STR(f->function, "neural_learn");
    CHECK_STR(f->module, "xcsf.cpython-310-x86_64-linux-gnu.so");
  }
  kb_stacks_release(&s);
}

/* libmemleak: "#0  00007f... in malloc at file.c:1012", and in "module" for unknown symbols. */
static void test_address_in_at(void) {
  kb_stacks s = {0};
  parse_fixture("generic/libmemleak-addr-in-at.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  CHECK_FRAME(&s, 0, 0, "malloc", "/home/rfogel/workspace/libmemleak2/src/memleak.c", 1012);
  const kb_frame *f = at(&s, 0, 1);
  if (f) {
    CHECK(f->function == NULL);
    CHECK_STR(f->module, "hello");
    CHECK_STR(f->address, "00005566120dba1a");
  }
  CHECK_FRAME(&s, 0, 4, NULL, "/build/glibc-77giwP/glibc-2.24/misc/../sysdeps/unix/sysv/linux/x86_64/clone.S", 99);
  kb_stacks_release(&s);
}

/* The other shapes of fmt_generic.c's comment, written for this test. */
static void test_shapes(void) {
  const char *text = "handler at src/app.c:120\nsrc/app.c:88 in dispatch\nrun_loop (src/loop.c:42)\n\n\n"
                     "at com.acme.Worker.run\nat com.acme.Pool.execute\nat com.acme.Main.main\n\n\n"
                     "0x00401136 handler\n0x00401200 dispatch\n0x00401300 main\n";
  kb_stacks s = {0};
  parse_text(text, &s);
  CHECK(s.n == 3);
  CHECK_FORMATS(&s, "generic");
  CHECK_FRAME(&s, 0, 0, "handler", "src/app.c", 120);
  CHECK_FRAME(&s, 0, 1, "dispatch", "src/app.c", 88);
  CHECK_FRAME(&s, 0, 2, "run_loop", "src/loop.c", 42);
  CHECK_FRAME(&s, 1, 2, "com.acme.Main.main", NULL, 0);
  const kb_frame *f = at(&s, 2, 0);
  if (f) CHECK_STR(f->address, "0x00401136");
  kb_stacks_release(&s);
}

/* Three generic lines make a stack, two do not. */
static void test_needs_three(void) {
  kb_stacks s = {0};
  parse_text("./app(handler+0x1d) [0x4005d4]\n./app(main+0x2a) [0x400611]\n", &s);
  CHECK(s.n == 0);
  kb_stacks_release(&s);
  parse_text("./app(handler+0x1d) [0x4005d4]\n./app(main+0x2a) [0x400611]\n/lib/libc.so.6(+0x21b96) [0x7f0e3c21b96]\n", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  kb_stacks_release(&s);
}

static const char prose[] =
    "We met at home (the office) on Monday and again at work (Building 4) at 10:30 (local time).\n"
    "The server crashed at 3am; see the logs at /var/log/app.log for the details.\n"
    "It happened at startup, at random, and at least twice (maybe three times).\n"
    "Then: ValueError: the value was out of range, said the message box.\n"
    "TypeError: not a function, said the browser; Error: none, said the server.\n"
    "panic: the disk is full, or so the operator thought.\n"
    "1. Open the settings (Preferences > Advanced).\n"
    "2. Click Save (or press Ctrl+S) at the bottom.\n"
    "3: Restart the service at once.\n"
    "Thread 1: the first one. Thread 2: the second one.\n"
    "#1 The first point, #2 the second point (see main.c).\n"
    "The function foo() calls bar() which calls baz() in util.c at line 12.\n"
    "In Java, java.lang.NullPointerException is thrown at runtime by the JVM.\n"
    "\tat the moment\n\tat least\n\tat all costs\n";

static const char readme[] =
    "# kb\n\nA knowledge base of crash write-ups.\n\n## Build\n\n```sh\n"
    "cmake -S . -B build\ncmake --build build -j2\n(cd build && ctest --output-on-failure)\n```\n\n"
    "## Usage\n\n1. Write an incident in `content/`.\n2. Run `kb build`.\n3. Open `site/index.html`.\n\n"
    "| option | meaning |\n|---|---|\n| `-o dir` | output folder |\n| `--keep-going` | skip bad files |\n\n"
    "```c\nint main(int argc, char **argv) {\n  if (argc < 2) return usage(argv[0]);\n  return run(argv[1]);\n}\n```\n\n"
    "```python\ndef load(path):\n    with open(path) as f:\n        return json.load(f)\n    raise ValueError(\"bad\")\n```\n\n"
    "```go\nfunc main() {\n\tfmt.Println(os.Args)\n\tos.Exit(run())\n}\n```\n\n"
    "```java\npublic static void main(String[] args) throws Exception {\n  new App().run(args);\n}\n```\n\n"
    "See [the docs](https://example.com/docs/index.html#setup) and CHANGELOG.md.\n";

static const char csv[] = "id,module,offset,address,function\n"
                          "1,ntdll.dll,0x1f,0x00007ffb1c2d1234,RtlUserThreadStart\n"
                          "2,kernel32.dll,0x14,0x00007ffb1b0e7034,BaseThreadInitThunk\n"
                          "3,app.exe,0x2a,0x00007ff6a1b2c3d4,main\n"
                          "4,app.exe,0x3c,0x00007ff6a1b2c400,\"worker, thread\"\n";

static const char logfile[] = "2024-03-01 10:00:01,123 INFO Starting service on port 8080\n"
                              "2024-03-01 10:00:02,456 WARN Slow response from db (1200 ms)\n"
                              "2024-03-01 10:00:03,789 ERROR Request failed: timeout after 30s\n"
                              "2024-03-01 10:00:04,000 INFO Retrying at 10:00:34 (attempt 2 of 3)\n"
                              "2024-03-01 10:00:05,000 INFO Done.\n";

/* Texts with no stack in them: no format may find one. */
static void test_garbage_gives_no_stacks(void) {
  const char *texts[] = {prose, readme, csv, logfile, "", "\n\n\n", "at", "#", "0x", "at home (the office)"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    kb_stacks s = {0};
    parse_text(texts[i], &s);
    if (s.n) harness_fail(__FILE__, __LINE__, "text %zu gave %zu stacks (first: %s, %zu frames)", i, s.n,
                          s.v[0].format, s.v[0].nframes);
    kb_stacks_release(&s);
  }
  /* binary noise with line breaks, fixed seed */
  size_t n = 1 << 18;
  char *noise = malloc(n);
  unsigned x = 2463534242u;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    noise[i] = (x & 63) == 0 ? '\n' : (char)(x >> 8);
  }
  kb_stacks s = {0};
  kb_stacks_parse(noise, n, &s);
  CHECK(s.n == 0);
  kb_stacks_release(&s);
  free(noise);
}

/* While a generic stack is open it sees lines first; another format's lines go to it. */
static void test_generic_lets_go(void) {
  const char *text = "./app(handler+0x1d) [0x4005d4]\n./app(main+0x2a) [0x400611]\n/lib/libc.so.6(+0x21b96) [0x7f0e3c21b96]\n"
                     "Traceback (most recent call last):\n"
                     "  File \"/srv/app.py\", line 3, in <module>\n"
                     "KeyError: 'x'\n";
  kb_stacks s = {0};
  parse_text(text, &s);
  CHECK(s.n == 2);
  if (s.n == 2) {
    CHECK_STR(s.v[0].format, "generic");
    CHECK_STR(s.v[1].format, "python");
  }
  kb_stacks_release(&s);
}

/* "lib.so(mod!sym+0x46)": the library is the module; the "mod!" read inside the parentheses
 * is dropped, not leaked (a libFuzzer find; the ASan run of this test catches the leak). */
static void test_glibc_bang_inside(void) {
  const char *text = "/usr/lib/libgomp.so.1(GOMP_nt!parallel+0x46) [0x7fd7aa3648e6]\n"
                     "./app(handler+0x1d) [0x4005d4]\n./app(main+0x2a) [0x400611]\n";
  kb_stacks s = {0};
  parse_text(text, &s);
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  const kb_frame *f = at(&s, 0, 0);
  if (f) {
    CHECK_STR(f->module, "libgomp.so.1");
    CHECK_STR(f->function, "parallel");
    CHECK_STR(f->offset, "0x46");
  }
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_glibc_backtrace);
  RUN(test_glibc_bang_inside);
  RUN(test_address_in_at);
  RUN(test_shapes);
  RUN(test_needs_three);
  RUN(test_garbage_gives_no_stacks);
  RUN(test_generic_lets_go);
  return harness_done();
}
