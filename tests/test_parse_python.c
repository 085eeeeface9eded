/* test_parse_python.c - the Python format (core/stack/fmt_python.c) on real tracebacks from
 * tests/stacks/python/ (sources in tests/stacks/SOURCES.md). Python prints the outermost
 * call first: the parser returns frames from the crash site outwards. */
#include "parse_fixture.h"

static void test_traceback_reversed(void) {
  kb_stacks s = {0};
  parse_fixture("python/keyerror-gangsta.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  CHECK_FORMATS(&s, "python");
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.kind, "exception");
    CHECK_STR(s.v[0].reason.name, "KeyError");
    CHECK_STR(s.v[0].reason.message, "'message'");
    CHECK_STR(s.v[0].platform, "python");
  }
  CHECK_FRAME(&s, 0, 0, "<module>", "/home/ubuntu/gangsta/server.py", 24);
  CHECK_FRAME(&s, 0, 2, "_run_module_as_main", "/usr/lib/python3.6/runpy.py", 183);
  kb_stacks_release(&s);

  parse_fixture("python/keyerror-eternalegypt.txt", &s); /* inside a Markdown fence, after prose */
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  CHECK_FRAME(&s, 0, 0, "_build_information", "/usr/local/lib/python3.7/site-packages/eternalegypt/eternalegypt.py", 219);
  if (s.n == 1) CHECK_STR(s.v[0].reason.message, "'FSN'");
  kb_stacks_release(&s);
}

/* "The above exception was the direct cause ...": one stack per traceback, original first. */
static void test_chained(void) {
  kb_stacks s = {0};
  parse_fixture("python/chained-direct-cause-adafruit.txt", &s);
  CHECK(s.n == 2);
  if (s.n == 2) {
    CHECK_STR(s.v[0].reason.name, "ConnectionRefusedError");
    CHECK_STR(s.v[0].reason.message, "[Errno 111] Connection refused");
    CHECK_STR(s.v[1].reason.name, "RuntimeError");
    CHECK(s.v[1].nframes == 4);
  }
  CHECK_FRAME(&s, 1, 0, "_get_socket", "/home/jepler/src/bundle/libraries/helpers/requests/adafruit_requests.py", 508);
  CHECK_FRAME(&s, 1, 3, "<module>", "<stdin>", 1);
  kb_stacks_release(&s);

  parse_fixture("python/py311-carets-understack.txt", &s); /* 3.11 carets under source lines */
  CHECK(s.n == 2);
  if (s.n == 2) CHECK(s.v[0].nframes == 3 && s.v[1].nframes == 2);
  CHECK_FRAME(&s, 0, 2, "_new_conn",
              "/home/steve.keay/p/understack/python/neutron-understack/.venv/lib/python3.11/site-packages/urllib3/connection.py",
              198);
  kb_stacks_release(&s);

  parse_fixture("python/json-list-orange3.txt", &s); /* the traceback as a JSON list of lines */
  CHECK(s.n == 2);
  if (s.n == 2) CHECK_STR(s.v[1].reason.message, "'NoneType' object has no attribute 'tb_next'");
  CHECK_FRAME(&s, 1, 0, "_find_last_frame", "/Users/Niko/Projects/orange3/Orange/canvas/application/errorreporting.py", 159);
  kb_stacks_release(&s);
}

/* Indentation lost and no "Traceback" line: the frames and the dotted exception still read. */
static void test_unindented(void) {
  kb_stacks s = {0};
  parse_fixture("python/unindented-fritzconnection.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 8);
  if (s.n == 1) CHECK_STR(s.v[0].reason.name, "requests.exceptions.ConnectionError");
  CHECK_FRAME(&s, 0, 0, "send", "/usr/local/lib/python3.9/site-packages/requests/adapters.py", 516);
  kb_stacks_release(&s);
}

/* Rich draws boxes around the frames; loguru annotates values under the source lines. */
static void test_rich_and_loguru(void) {
  kb_stacks s = {0};
  parse_fixture("python/rich-box-toml-cli.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 1);
  CHECK_FORMATS(&s, "python");
  CHECK_FRAME(&s, 0, 0, "<module>", "/Library/Frameworks/Python.framework/Versions/3.12/bin/toml", 8);
  kb_stacks_release(&s);

  parse_fixture("python/loguru-annotated-ignis.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  CHECK_FRAME(&s, 0, 0, "main", "/usr/lib/python3.13/site-packages/typer/core.py", 740);
  CHECK_FRAME(&s, 0, 4, "<module>", "/usr/bin/ignis", 5);
  kb_stacks_release(&s);
}

/* An exception line outside a traceback is only words. */
static void test_exception_words_alone(void) {
  kb_stacks s = {0};
  parse_text("The job failed with\nValueError: invalid literal for int()\nand we retried.\n", &s);
  CHECK(s.n == 0);
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_traceback_reversed);
  RUN(test_chained);
  RUN(test_unindented);
  RUN(test_rich_and_loguru);
  RUN(test_exception_words_alone);
  return harness_done();
}
