/* test_frontmatter.c - YAML front matter: types, key lines, errors with line numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/frontmatter.h"
#include "harness.h"

static void test_typed_values_and_lines(void) {
  const char *text = "---\n"
                     "title: Crash in \"driver\"\n"
                     "id: 2032\n"
                     "draft: false\n"
                     "tags:\n  - BSOD\n  - 'yes'\n"
                     "date: 2013-12-22T12:09:10+02:00\n"
                     "zip: 007\n"
                     "custom:\n  nested: [1, 2]\n"
                     "---\nBody line\n";
  kb_frontmatter fm;
  kb_diags d = {0};
  CHECK(kb_frontmatter_parse("x.md", text, &fm, &d) == 0);
  CHECK(d.n == 0);
  CHECK_STR(cJSON_GetObjectItem(fm.data, "title")->valuestring, "Crash in \"driver\"");
  CHECK(cJSON_IsNumber(cJSON_GetObjectItem(fm.data, "id")));
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(fm.data, "draft")));
  cJSON *tags = cJSON_GetObjectItem(fm.data, "tags");
  CHECK(cJSON_GetArraySize(tags) == 2);
  CHECK(cJSON_IsString(cJSON_GetArrayItem(tags, 1))); /* quoted 'yes' stays a string */
  CHECK(cJSON_IsString(cJSON_GetObjectItem(fm.data, "date")));
  CHECK_STR(cJSON_GetObjectItem(fm.data, "zip")->valuestring, "007");
  CHECK(cJSON_IsObject(cJSON_GetObjectItem(fm.data, "custom")));
  CHECK(kb_frontmatter_line(&fm, "title") == 2);
  CHECK(kb_frontmatter_line(&fm, "date") == 8);
  CHECK_STR(fm.body, "Body line\n");
  CHECK(fm.body_line == 13);
  kb_frontmatter_release(&fm);
  kb_diags_release(&d);
}

static void test_no_front_matter(void) {
  kb_frontmatter fm;
  kb_diags d = {0};
  CHECK(kb_frontmatter_parse("x.md", "# Just a body\n", &fm, &d) == 0);
  CHECK(cJSON_GetArraySize(fm.data) == 0);
  CHECK(fm.body_line == 1);
  kb_frontmatter_release(&fm);
  kb_diags_release(&d);
}

/* Each bad input: the error names the right line. */
static void test_errors(void) {
  static const struct {
    const char *text;
    int line;
    const char *msg;
  } cases[] = {
      {"---\ntitle: x\n", 1, "never closed"},
      {"---\ntitle: x\ntags: [a, b\n---\n", 4, "front matter"},
      {"---\ntitle: x\n  bad: indent\n---\n", 3, "front matter"},
      {"---\ntitle: x\ntitle: y\n---\n", 3, "duplicate key"},
      {"---\na: &x [1]\nb: *x\n---\n", 3, "aliases"},
      {"---\n- a\n- b\n---\n", 2, "mapping"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    kb_frontmatter fm;
    kb_diags d = {0};
    CHECK(kb_frontmatter_parse("bad.md", cases[i].text, &fm, &d) == -1);
    CHECK(d.n == 1 && d.errors == 1);
    if (d.n) {
      if (d.v[0].line != cases[i].line)
        harness_fail(__FILE__, __LINE__, "case %zu: line %d, want %d (%s)", i, d.v[0].line, cases[i].line, d.v[0].msg);
      CHECK_CONTAINS(d.v[0].msg, cases[i].msg);
    }
    kb_diags_release(&d);
  }
}

static void test_deep_nesting_refused(void) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "---\nx: ");
  for (int i = 0; i < 10000; i++) kb_buf_addc(&b, '[');
  kb_buf_adds(&b, "\n---\n");
  kb_frontmatter fm;
  kb_diags d = {0};
  CHECK(kb_frontmatter_parse("deep.md", b.ptr, &fm, &d) == -1);
  CHECK(d.errors == 1);
  kb_diags_release(&d);
  kb_buf_release(&b);
}

/* Hugo's TOML front matter between +++ lines. */
static void test_toml(void) {
  const char *text = "+++\n"
                     "title = \"Crash in \\\"driver\\\" \\u00e9\"\n"
                     "date = 2013-12-22T12:09:10+02:00\n"
                     "draft = false   # not yet\n"
                     "tags = [\"bsod\", 'hyper-v']\n"
                     "categories = [\n  \"Windows\",\n]\n"
                     "weight = 1_000\n"
                     "site.name = \"kb\"\n"
                     "[params]\n"
                     "  source = 'https://example.org/x'\n"
                     "  nested = { a = 1, b = [true, 2.5] }\n"
                     "[[resources]]\n"
                     "  name = \"one\"\n"
                     "[[resources]]\n"
                     "  name = \"two\"\n"
                     "+++\nBody\n";
  kb_frontmatter fm;
  kb_diags d = {0};
  CHECK(kb_frontmatter_parse("hugo.md", text, &fm, &d) == 0);
  if (d.n) kb_diags_print(&d, stderr);
  if (!fm.data) return;
  CHECK_STR(cJSON_GetObjectItem(fm.data, "title")->valuestring, "Crash in \"driver\" é");
  CHECK_STR(cJSON_GetObjectItem(fm.data, "date")->valuestring, "2013-12-22T12:09:10+02:00");
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(fm.data, "draft")));
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(fm.data, "tags")) == 2);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(fm.data, "categories")) == 1);
  CHECK(cJSON_GetObjectItem(fm.data, "weight")->valuedouble == 1000);
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(fm.data, "site"), "name")->valuestring, "kb");
  cJSON *params = cJSON_GetObjectItem(fm.data, "params");
  CHECK_STR(cJSON_GetObjectItem(params, "source")->valuestring, "https://example.org/x");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(params, "nested"), "b")) == 2);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(fm.data, "resources")) == 2);
  CHECK(kb_frontmatter_line(&fm, "date") == 3);
  CHECK(kb_frontmatter_line(&fm, "tags") == 5);
  CHECK_STR(fm.body, "Body\n");
  CHECK(fm.body_line == 19);
  kb_frontmatter_release(&fm);
  kb_diags_release(&d);
}

static void test_toml_errors(void) {
  static const struct {
    const char *text;
    int line;
    const char *msg;
  } cases[] = {
      {"+++\ntitle = \"x\"\n", 1, "never closed"},
      {"+++\ntitle = \"x\"\ndate =\n+++\n", 3, "value"},
      {"+++\ntitle = \"x\"\ntitle = \"y\"\n+++\n", 3, "duplicate"},
      {"+++\ntitle = \"x\ntags = []\n+++\n", 2, "string"},
      {"+++\ntitle = \"x\" junk\n+++\n", 2, "after the value"},
      {"+++\n[params\n+++\n", 2, "not closed"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    kb_frontmatter fm;
    kb_diags d = {0};
    CHECK(kb_frontmatter_parse("bad.md", cases[i].text, &fm, &d) == -1);
    if (d.n == 0 || d.v[0].line != cases[i].line || !strstr(d.v[0].msg, cases[i].msg))
      harness_fail(__FILE__, __LINE__, "toml case %zu: got %d: %s", i, d.n ? d.v[0].line : 0, d.n ? d.v[0].msg : "-");
    kb_diags_release(&d);
  }
  /* deep nesting is refused, not a stack overflow */
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "+++\nx = ");
  for (int i = 0; i < 10000; i++) kb_buf_addc(&b, '[');
  kb_buf_adds(&b, "\n+++\n");
  kb_frontmatter fm;
  kb_diags d = {0};
  CHECK(kb_frontmatter_parse("deep.md", b.ptr, &fm, &d) == -1);
  kb_diags_release(&d);
  kb_buf_release(&b);
}

int main(void) {
  RUN(test_toml);
  RUN(test_toml_errors);
  RUN(test_typed_values_and_lines);
  RUN(test_no_front_matter);
  RUN(test_errors);
  RUN(test_deep_nesting_refused);
  return harness_done();
}
