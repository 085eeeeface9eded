/* test_mustache.c - the Mustache engine (core/template/mustache.c): every case of the
 * official spec, read at run time from $KB_SHARED_DIR/mustache-spec (skipped when the
 * folder is absent), then our own limits, error messages and thread safety. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "template/mustache.h"
#include "util/util.h"

/* ---- the official spec ---------------------------------------------------------- */

/* The modules we implement; optional ones (lambdas, dynamic names) are left out. */
static const char *const spec_files[] = {
    "comments.json", "delimiters.json", "interpolation.json", "inverted.json",
    "partials.json", "sections.json",   "~inheritance.json",
};

/* Loader context: the test's "partials" object, and the template itself under
 * `root` so that the case can also run through a kb_tmpl_set. */
typedef struct spec_ctx {
  const cJSON *partials;
  const char *root;
  const char *root_src;
} spec_ctx;

static char *spec_loader(void *ctx, const char *name, size_t *len) {
  const spec_ctx *sc = ctx;
  const char *src = NULL;
  if (sc->root && strcmp(name, sc->root) == 0) {
    src = sc->root_src;
  } else {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(sc->partials, name);
    if (cJSON_IsString(p)) src = p->valuestring;
  }
  if (!src) return NULL;
  *len = strlen(src);
  return kb_xstrdup(src);
}

static int spec_ran, spec_passed;

/* Render one case three ways: one-shot, through a set, and again from the cache. */
static char *spec_render(const char *file, const cJSON *tc, int how) {
  const char *tpl = cJSON_GetObjectItemCaseSensitive(tc, "template")->valuestring;
  spec_ctx sc = {cJSON_GetObjectItemCaseSensitive(tc, "partials"), NULL, NULL};
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(tc, "data");
  kb_buf out = KB_BUF_INIT;
  char *err = NULL;
  int rc;
  if (how == 0) {
    rc = kb_mustache_render(file, tpl, strlen(tpl), data, spec_loader, &sc, &out, &err);
  } else {
    sc.root = "\x01root"; /* a name no spec partial uses */
    sc.root_src = tpl;
    kb_tmpl_set *set = kb_tmpl_set_new(spec_loader, &sc);
    rc = kb_tmpl_set_render(set, sc.root, data, &out, &err);
    if (rc == 0 && how == 2) {
      kb_buf_reset(&out);
      rc = kb_tmpl_set_render(set, sc.root, data, &out, &err);
    }
    kb_tmpl_set_free(set);
  }
  if (rc == 0) return kb_buf_detach(&out, NULL);
  kb_buf_release(&out);
  char *msg = kb_xasprintf("(error: %s)", err ? err : "no message");
  free(err);
  return msg;
}

static void spec_run_case(const char *file, const cJSON *tc) {
  const char *name = cJSON_GetObjectItemCaseSensitive(tc, "name")->valuestring;
  const char *want = cJSON_GetObjectItemCaseSensitive(tc, "expected")->valuestring;
  bool ok = true;
  spec_ran++;
  for (int how = 0; how < 3; how++) {
    char *got = spec_render(file, tc, how);
    if (strcmp(got, want) != 0) {
      harness_fail(__FILE__, __LINE__, "spec %s: \"%s\" (%s):\n  got:  [%s]\n  want: [%s]", file,
                   name, how == 0 ? "one-shot" : how == 1 ? "set" : "set, cached", got, want);
      ok = false;
    }
    free(got);
  }
  spec_passed += ok;
}

static void spec_run_file(const char *dir, const char *file) {
  char *path = kb_xasprintf("%s/%s", dir, file);
  char *text = harness_read_file(path, NULL);
  cJSON *doc = text ? cJSON_Parse(text) : NULL;
  const cJSON *tests = cJSON_GetObjectItemCaseSensitive(doc, "tests");
  if (!cJSON_IsArray(tests) || cJSON_GetArraySize(tests) == 0)
    harness_fail(__FILE__, __LINE__, "%s: missing, unreadable or without tests", path);
  const cJSON *tc;
  cJSON_ArrayForEach(tc, tests) spec_run_case(file, tc);
  cJSON_Delete(doc);
  free(text);
  free(path);
}

static void test_spec(void) {
  char *dir = kb_xasprintf("%s/mustache-spec", harness_shared_dir());
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    harness_skip("no mustache-spec folder in the shared folder");
    free(dir);
    return;
  }
  for (size_t i = 0; i < sizeof spec_files / sizeof *spec_files; i++)
    spec_run_file(dir, spec_files[i]);
  printf("mustache spec: %d cases run, %d passed\n", spec_ran, spec_passed);
  CHECK(spec_ran > 0);
  free(dir);
}

/* ---- helpers for our own tests -------------------------------------------------- */

/* Partials as a NULL-terminated list of name, source pairs. */
static char *pairs_loader(void *ctx, const char *name, size_t *len) {
  const char *const *kv = ctx;
  for (; kv && kv[0]; kv += 2) {
    if (strcmp(kv[0], name) == 0) {
      *len = strlen(kv[1]);
      return kb_xstrdup(kv[1]);
    }
  }
  return NULL;
}

/* Render `src` with JSON `json`; returns the output or "ERR <message>". */
static char *render(const char *src, const char *json, const char *const *partials) {
  cJSON *data = cJSON_Parse(json ? json : "{}");
  kb_buf out = KB_BUF_INIT;
  char *err = NULL;
  int rc = kb_mustache_render("t", src, strlen(src), data, pairs_loader, (void *)partials,
                              &out, &err);
  cJSON_Delete(data);
  if (rc == 0) {
    CHECK(err == NULL);
    return kb_buf_detach(&out, NULL);
  }
  CHECK(out.len == 0); /* cut back on error */
  kb_buf_release(&out);
  char *msg = kb_xasprintf("ERR %s", err ? err : "(no message)");
  free(err);
  return msg;
}

#define CHECK_RENDER(src, json, partials, want)                                          \
  do {                                                                                   \
    char *got_ = render(src, json, partials);                                            \
    CHECK_STR(got_, want);                                                               \
    free(got_);                                                                          \
  } while (0)

/* ---- our own tests -------------------------------------------------------------- */

static void test_escape_script(void) {
  const char *json = "{\"x\": \"<script>alert('hi') && \\\"x\\\"</script>\"}";
  CHECK_RENDER("{{x}}", json, NULL,
               "&lt;script&gt;alert(&#39;hi&#39;) &amp;&amp; &quot;x&quot;&lt;/script&gt;");
  CHECK_RENDER("{{{x}}}|{{&x}}", json, NULL,
               "<script>alert('hi') && \"x\"</script>|<script>alert('hi') && \"x\"</script>");
  /* Data is never parsed as a template. */
  CHECK_RENDER("{{x}}", "{\"x\": \"{{y}}\", \"y\": 1}", NULL, "{{y}}");
}

static void test_values(void) {
  CHECK_RENDER("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}",
               "{\"a\": 85, \"b\": 1.5, \"c\": -3, \"d\": 0.1, \"e\": 1e20, \"f\": 1.21}", NULL,
               "85 1.5 -3 0.1 1e+20 1.21");
  CHECK_RENDER("[{{t}} {{f}} {{n}} {{o}} {{l}} {{missing}}]",
               "{\"t\": true, \"f\": false, \"n\": null, \"o\": {\"k\": 1}, \"l\": [1]}", NULL,
               "[true false    ]");
  /* Falsey: missing, null, false, 0, "" and []; {} is truthy. */
  const char *json = "{\"n\": null, \"f\": false, \"z\": 0, \"s\": \"\", \"l\": [], \"o\": {}, "
                     "\"one\": 1, \"str\": \"x\"}";
  CHECK_RENDER("{{#n}}N{{/n}}{{#f}}F{{/f}}{{#z}}Z{{/z}}{{#s}}S{{/s}}{{#l}}L{{/l}}{{#m}}M{{/m}}",
               json, NULL, "");
  CHECK_RENDER("{{^n}}N{{/n}}{{^f}}F{{/f}}{{^z}}Z{{/z}}{{^s}}S{{/s}}{{^l}}L{{/l}}{{^m}}M{{/m}}",
               json, NULL, "NFZSLM");
  CHECK_RENDER("{{#o}}O{{/o}}{{#one}}{{.}}{{/one}}{{#str}}{{.}}{{/str}}", json, NULL, "O1x");
  /* Lists push each element; outer names stay visible. */
  CHECK_RENDER("{{#l}}<{{n}}{{x}}>{{/l}}", "{\"x\": \"!\", \"l\": [{\"n\": 1}, {\"n\": 2}]}", NULL,
               "<1!><2!>");
}

static void check_error(const char *src, const char *want) {
  char *got = render(src, "{}", NULL);
  CHECK_STR(got, want);
  free(got);
}

static void test_errors_have_lines(void) {
  check_error("a\nb {{x", "ERR t:2: unclosed tag: no '}}' after it");
  check_error("{{#a}}\n\n{{b}}", "ERR t:1: unclosed section 'a'");
  check_error("x\n{{#a}}\n{{/b}}", "ERR t:3: 'b' closed, but 'a' (line 2) is open");
  check_error("\n\n\n{{/a}}", "ERR t:4: 'a' closes nothing");
  check_error("ok\n{{= <% =}}", "ERR t:2: bad delimiter change '<%'");
  check_error("{{=<% %>=}}\n<% a %>\n<%#b%>", "ERR t:3: unclosed section 'b'");
  check_error("\n{{ }}", "ERR t:2: empty tag");
  check_error("{{a b}}", "ERR t:1: bad name 'a b'");
  check_error("{{a..b}}", "ERR t:1: bad name 'a..b'");
  check_error("{{<p}}\n{{$b}}", "ERR t:2: unclosed block 'b'");
  check_error("{{{x}}", "ERR t:1: unclosed tag: no '}}}' after it");
  /* A partial's own errors carry its name. */
  const char *partials[] = {"bad", "line one\n{{#oops}}", NULL};
  char *got = render("{{>bad}}", "{}", partials);
  CHECK_STR(got, "ERR bad:2: unclosed section 'oops'");
  free(got);
  /* An unknown partial or parent is no error: it renders as nothing. */
  CHECK_RENDER("[{{>nope}}{{<nope2}}{{$a}}x{{/a}}{{/nope2}}]", "{}", NULL, "[]");
}

static void test_depth_limit(void) {
  const char *self[] = {"loop", "x{{>loop}}", NULL};
  char *got = render("{{>loop}}", "{}", self);
  CHECK_CONTAINS(got, "ERR loop:1: 'loop' nested deeper than 64");
  free(got);
  const char *mutual[] = {"a", "\n{{>b}}", "b", "{{<a}}{{/a}}", NULL};
  got = render("{{>a}}", "{}", mutual);
  CHECK_CONTAINS(got, "nested deeper than 64");
  free(got);
  /* A block whose override expands itself. */
  const char *blocks[] = {"p", "{{$b}}{{/b}}", NULL};
  got = render("{{<p}}{{$b}}[{{$b}}{{/b}}]{{/b}}{{/p}}", "{}", blocks);
  CHECK_CONTAINS(got, "nested deeper than 64");
  free(got);
  /* Recursion that ends within the limit is fine (the spec's tree walk). A leaf needs
   * its own "kids": without it the lookup climbs to the parent's, forever. */
  const char *tree[] = {"node", "{{n}}({{#kids}}{{>node}}{{/kids}})", NULL};
  CHECK_RENDER("{{>node}}",
               "{\"n\": 1, \"kids\": [{\"n\": 2, \"kids\": [{\"n\": 3, \"kids\": []}]}]}", tree,
               "1(2(3()))");
}

/* Work is bounded by the data: sections over a list nested 6 deep visit 16^6 (16.7 M)
 * nodes for 16 values and stop at the step bound; a list of 100,000 cards (more work in
 * all, but linear in the data) renders. */
static void test_step_limit(void) {
  const char *list16 = "{\"l\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}";
  char *got = render("{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}x{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}", list16, NULL);
  CHECK_CONTAINS(got, "rendering takes more than 1049728 steps"); /* 2^20 + 64 x 18 values */
  free(got);
  kb_buf json = KB_BUF_INIT;
  kb_buf_adds(&json, "{\"cards\": [");
  for (int i = 0; i < 100000; i++) kb_buf_addf(&json, "%s{\"t\": \"n%d\", \"tags\": [\"a\", \"b\"]}", i ? "," : "", i);
  kb_buf_adds(&json, "]}");
  got = render("{{#cards}}<li>{{t}}{{#tags}} {{.}}{{/tags}}</li>{{/cards}}", json.ptr, NULL);
  CHECK(strncmp(got, "<li>n0 a b</li><li>n1 a b</li>", 30) == 0);
  free(got);
  kb_buf_release(&json);
}

static void test_size_limits(void) {
  /* Template size. */
  size_t big = KB_TMPL_MAX_SIZE + 1;
  char *src = kb_xmalloc(big + 1);
  memset(src, 'x', big);
  src[big] = '\0';
  char *got = render(src, "{}", NULL);
  CHECK_CONTAINS(got, "ERR t:1: template larger than");
  free(got);
  free(src);
  /* Section nesting. */
  kb_buf b = KB_BUF_INIT;
  for (int i = 0; i <= KB_TMPL_MAX_NEST + 1; i++) kb_buf_adds(&b, "{{#a}}");
  got = render(b.ptr, "{}", NULL);
  CHECK_CONTAINS(got, "sections nested deeper than 100");
  free(got);
  kb_buf_release(&b);
  /* Output: a bounded buffer stops the render with an error. */
  const char *partials[] = {"ten", "{{>x}}{{>x}}{{>x}}{{>x}}{{>x}}{{>x}}{{>x}}{{>x}}{{>x}}{{>x}}",
                            "x", "0123456789", NULL};
  kb_buf out;
  kb_buf_init(&out, 50);
  kb_buf_adds(&out, "keep");
  char *err = NULL;
  int rc = kb_mustache_render("t", "{{>ten}}", 8, NULL, pairs_loader, partials, &out, &err);
  CHECK(rc == -1);
  CHECK_CONTAINS(err, "output larger than 50 bytes");
  CHECK_STR(out.ptr, "keep");
  free(err);
  kb_buf_release(&out);
}

/* Compiling is linear: many tags and a long unclosed run finish quickly. */
static void test_linear(void) {
  kb_buf b;
  kb_buf_init(&b, 0);
  for (int i = 0; i < 200000; i++) kb_buf_adds(&b, "{{a}}-");
  char *got = render(b.ptr, "{\"a\": 1}", NULL);
  CHECK(strlen(got) == 400000);
  free(got);
  kb_buf_reset(&b);
  for (int i = 0; i < 200000; i++) kb_buf_adds(&b, "{{#a}}\n  {{/a}}\n");
  got = render(b.ptr, "{\"a\": 1}", NULL);
  CHECK_STR(got, "");
  free(got);
  kb_buf_release(&b);
}

static void test_indentation(void) {
  /* A standalone partial indents every line it produces, nested partials add up. */
  const char *partials[] = {"outer", "<ul>\n  {{>inner}}\n</ul>\n", "inner", "<li>a</li>\n<li>b</li>\n",
                            NULL};
  CHECK_RENDER("<body>\n  {{>outer}}\n</body>\n", "{}", partials,
               "<body>\n  <ul>\n    <li>a</li>\n    <li>b</li>\n  </ul>\n</body>\n");
  /* A layout: the page's block lands at the indentation of the layout's block. */
  const char *layout[] = {"base", "<main>\n  {{$content}}\n  nothing\n  {{/content}}\n</main>\n",
                          NULL};
  CHECK_RENDER("{{<base}}\n{{$content}}\n<p>one</p>\n<p>two</p>\n{{/content}}\n{{/base}}\n", "{}",
               layout, "<main>\n  <p>one</p>\n  <p>two</p>\n</main>\n");
  CHECK_RENDER("{{<base}}{{/base}}", "{}", layout, "<main>\n  nothing\n</main>\n");
}

typedef struct counting_ctx {
  const char *const *pairs;
  int calls;
  pthread_mutex_t lock;
} counting_ctx;

static char *counting_loader(void *ctx, const char *name, size_t *len) {
  counting_ctx *cc = ctx;
  pthread_mutex_lock(&cc->lock);
  cc->calls++;
  pthread_mutex_unlock(&cc->lock);
  return pairs_loader((void *)cc->pairs, name, len);
}

static const char *const site[] = {
    "page",   "{{<base}}{{$content}}hi {{user}}{{/content}}{{/base}}",
    "base",   "<html><title>{{$title}}kb{{/title}}</title>{{$content}}default{{/content}}</html>",
    "broken", "{{#x}}",
    NULL};

static void test_set_caches(void) {
  counting_ctx cc = {site, 0, PTHREAD_MUTEX_INITIALIZER};
  kb_tmpl_set *set = kb_tmpl_set_new(counting_loader, &cc);
  cJSON *data = cJSON_Parse("{\"user\": \"<ann>\"}");
  kb_buf out = KB_BUF_INIT;
  char *err = NULL;
  for (int i = 0; i < 3; i++) {
    kb_buf_reset(&out);
    CHECK(kb_tmpl_set_render(set, "page", data, &out, &err) == 0);
    CHECK_STR(out.ptr, "<html><title>kb</title>hi &lt;ann&gt;</html>");
  }
  CHECK(cc.calls == 2); /* page and base, each loaded once */
  CHECK(kb_tmpl_set_render(set, "missing", data, &out, &err) == -1);
  CHECK_STR(err, "missing:0: template not found");
  free(err);
  for (int i = 0; i < 2; i++) {
    CHECK(kb_tmpl_set_render(set, "broken", data, &out, &err) == -1);
    CHECK_STR(err, "broken:1: unclosed section 'x'");
    free(err);
  }
  CHECK(cc.calls == 4); /* misses and failures are cached too */
  CHECK(kb_tmpl_set_render(set, "broken", data, &out, NULL) == -1); /* err may be NULL */
  kb_buf_release(&out);
  cJSON_Delete(data);
  kb_tmpl_set_free(set);
  kb_tmpl_set_free(NULL);
}

typedef struct thread_arg {
  kb_tmpl_set *set;
  int id, failures;
} thread_arg;

static void *thread_render(void *arg) {
  thread_arg *ta = arg;
  char json[64];
  snprintf(json, sizeof json, "{\"user\": \"t%d\"}", ta->id);
  cJSON *data = cJSON_Parse(json);
  char *want = kb_xasprintf("<html><title>kb</title>hi t%d</html>", ta->id);
  kb_buf out = KB_BUF_INIT;
  for (int i = 0; i < 2000; i++) {
    char *err = NULL;
    kb_buf_reset(&out);
    if (kb_tmpl_set_render(ta->set, "page", data, &out, &err) != 0 || strcmp(out.ptr, want) != 0)
      ta->failures++;
    free(err);
  }
  kb_buf_release(&out);
  free(want);
  cJSON_Delete(data);
  return NULL;
}

static void test_set_threads(void) {
  counting_ctx cc = {site, 0, PTHREAD_MUTEX_INITIALIZER};
  kb_tmpl_set *set = kb_tmpl_set_new(counting_loader, &cc);
  pthread_t th[8];
  thread_arg args[8];
  for (int i = 0; i < 8; i++) {
    args[i] = (thread_arg){set, i, 0};
    CHECK(pthread_create(&th[i], NULL, thread_render, &args[i]) == 0);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    CHECK(args[i].failures == 0);
  }
  CHECK(cc.calls >= 2 && cc.calls <= 16); /* racing first loads may each call the loader */
  kb_tmpl_set_free(set);
}

int main(void) {
  RUN(test_spec);
  RUN(test_escape_script);
  RUN(test_values);
  RUN(test_errors_have_lines);
  RUN(test_depth_limit);
  RUN(test_size_limits);
  RUN(test_step_limit);
  RUN(test_linear);
  RUN(test_indentation);
  RUN(test_set_caches);
  RUN(test_set_threads);
  return harness_done();
}
