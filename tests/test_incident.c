/* test_incident.c - the content model: the seed file as published, front matter rules,
 * each error case with its `path:line`, and golden files (tests/golden/NAME.md beside the
 * expected body HTML NAME.html; KB_UPDATE_GOLDEN=1 rewrites the expected files). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "content/incident.h"
#include "harness.h"
#include "util/util.h"

static kb_incident *parse(const char *text, kb_diags *d) {
  return kb_incident_parse("t.md", text, strlen(text), d);
}

static const kb_frame *find_frame(const kb_incident *inc, const char *fn) {
  for (size_t i = 0; i < inc->md.stacks.n; i++)
    for (size_t j = 0; j < inc->md.stacks.v[i].nframes; j++) {
      const kb_frame *f = &inc->md.stacks.v[i].frames[j];
      if (f->function && strcmp(f->function, fn) == 0) return f;
    }
  return NULL;
}

static bool has_ident(const kb_incident *inc, const char *kind, const char *value) {
  for (size_t i = 0; i < inc->idents.n; i++)
    if (strcmp(inc->idents.v[i].kind, kind) == 0 && strcmp(inc->idents.v[i].value, value) == 0) return true;
  return false;
}

/* The seed, dropped in unchanged, loads: mojibake repaired and reported, its pasted
 * paragraph stack found with all 15 frames, its raw HTML kept safe. */
static void test_seed_as_published(void) {
  char *path = kb_xasprintf("%s/seeds/000_da45cf2bb8d44c23.txt", harness_shared_dir());
  size_t len;
  char *text = harness_read_file(path, &len);
  if (!text) {
    harness_skip("shared/seeds not found");
    free(path);
    return;
  }
  kb_diags d = {0};
  kb_incident *inc = kb_incident_parse("seed.md", text, len, &d);
  CHECK(inc != NULL);
  CHECK(d.errors == 0);
  if (!inc) goto out;
  CHECK_STR(inc->id, "2032");
  CHECK_STR(inc->title, "BSOD on Hyper-V 2012 R2 Cluster Nodes after installing KB2887595");
  CHECK_STR(inc->url, "/bsod-on-hyper-v-2012-r2-cluster-nodes-after-installing-kb2887595/");
  CHECK(inc->has_date && inc->tz_min == 120);
  CHECK_STR(cJSON_GetObjectItem(inc->params, "author")->valuestring, "Michael Rüefli");
  CHECK(kb_strlist_has(&inc->tags, "NetLBFO") && kb_strlist_has(&inc->categories, "Hyper-V"));
  bool repaired_reported = false;
  for (size_t i = 0; i < d.n; i++) repaired_reported |= strstr(d.v[i].msg, "double-encoded") != NULL;
  CHECK(repaired_reported);
  CHECK(inc->md.stacks.n == 1);
  if (inc->md.stacks.n) {
    const kb_stack *st = &inc->md.stacks.v[0];
    CHECK(st->nframes == 15);
    CHECK(st->bugcheck == 0xA);
    CHECK(st->first_line == 28); /* the line of nt!KeBugCheckEx in the file */
    CHECK_STR(st->frames[3].norm, "mslbfoprovider!vmqcGetFirstMappedMNic");
    CHECK_STR(st->frames[14].function, "VmsExtMpReturnNetBufferLists");
  }
  CHECK(find_frame(inc, "LbfoReceiveNetBufferListsComplete") != NULL);
  CHECK(has_ident(inc, "kb", "KB2887595"));
  CHECK(has_ident(inc, "bugcheck", "0xA"));
  CHECK(has_ident(inc, "bugcheck_name", "IRQL_NOT_LESS_OR_EQUAL"));
  CHECK(has_ident(inc, "module", "Mslbfoprovider.sys") || has_ident(inc, "module", "MsLbfoProvider.sys"));
  const char *html = inc->md.html;
  CHECK_CONTAINS(html, "<span style=\"color: #ff0000;\">");
  CHECK_CONTAINS(html, "<pre>Get-NetAdapter");
  CHECK_CONTAINS(html, "rel=\"noopener noreferrer\"");
  CHECK_CONTAINS(html, "fffff800`4876a8c8"); /* escaped backticks shown as backticks */
  CHECK_CONTAINS(html, "WTF…");                /* &#8230; decoded */
  CHECK_NOT_CONTAINS(html, "Ã");
  CHECK_CONTAINS(inc->md.text, "Mslbfoprovider.sys");      /* prose is searchable text */
  CHECK_NOT_CONTAINS(inc->md.text, "4876a8c8");           /* stack columns are not */
out:
  kb_incident_free(inc);
  kb_diags_release(&d);
  free(text);
  free(path);
}

static void test_defaults_from_file_name(void) {
  kb_diags d = {0};
  const char *text = "---\ntitle: Disk full\ntags: disk linux\n---\nThe disk was full. More text.\n";
  kb_incident *inc = kb_incident_parse("content/2020-05-06-Disk-Full!.md", text, strlen(text), &d);
  CHECK(inc != NULL);
  if (inc) {
    CHECK_STR(inc->slug, "disk-full");
    CHECK_STR(inc->id, "disk-full");
    CHECK_STR(inc->url, "/incidents/disk-full/");
    CHECK(inc->has_date);
    CHECK(inc->tags.n == 2);
    CHECK_STR(inc->summary, "The disk was full. More text.");
  }
  kb_incident_free(inc);
  kb_diags_release(&d);
}

/* A Hugo post with TOML front matter imports as it is. */
static void test_hugo_toml_post(void) {
  kb_diags d = {0};
  kb_incident *inc = parse("+++\ntitle = \"Disk full on db-7\"\ndate = 2021-06-01T10:00:00Z\n"
                           "tags = [\"disk\", \"linux\"]\nslug = \"disk-full\"\naliases = [\"/old/disk/\"]\n"
                           "[params]\nsource = \"https://example.org/x\"\n+++\nThe disk filled up.\n",
                           &d);
  CHECK(inc != NULL);
  if (inc) {
    CHECK_STR(inc->title, "Disk full on db-7");
    CHECK(inc->has_date && inc->tz_min == 0);
    CHECK(inc->tags.n == 2);
    CHECK_STR(inc->url, "/incidents/disk-full/");
    CHECK(inc->aliases.n == 1);
    CHECK_CONTAINS(inc->md.html, "The disk filled up.");
  }
  kb_incident_free(inc);
  kb_diags_release(&d);
}

static void test_draft_and_aliases(void) {
  kb_diags d = {0};
  kb_incident *inc = parse("---\ntitle: T\npublished: false\naliases: [/old/page, /older/]\n---\nx\n", &d);
  CHECK(inc && inc->draft);
  CHECK(inc && inc->aliases.n == 2);
  if (inc && inc->aliases.n == 2) CHECK_STR(inc->aliases.v[0], "/old/page/");
  kb_incident_free(inc);
  kb_diags_release(&d);
}

/* Every unusable file: no incident, and `path:line: message` with the right line. */
static void test_error_cases(void) {
  static const struct {
    const char *text;
    int line;
    const char *msg;
  } cases[] = {
      {"---\nid: 1\n---\nbody\n", 1, "missing 'title'"},
      {"---\ntitle: x\ndate: next tuesday\n---\n", 3, "unknown date"},
      {"---\ntitle: x\ndate: 2013-02-30\n---\n", 3, "unknown date"},
      {"---\ntitle: x\ntags: {a: 1}\n---\n", 3, "must be a list"},
      {"---\ntitle: [x\n---\n", 3, "front matter"},
      {"---\ntitle: x\npermalink: /../../etc/\n---\n", 3, "permalink"},
      {"---\ntitle: x\naliases: [\"/a b/\"]\n---\n", 3, "alias"},
      {"---\ntitle: ok\n---\nline 4\nbad \xC3\x28 byte\n", 5, "invalid UTF-8"},
      {"---\ntitle: ok\n---\nnul \0 here\n", 4, "NUL"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    kb_diags d = {0};
    size_t len = strlen(cases[i].text);
    if (strstr(cases[i].msg, "NUL")) len += strlen(cases[i].text + len + 1) + 1;
    kb_incident *inc = kb_incident_parse("bad.md", cases[i].text, len, &d);
    CHECK(inc == NULL);
    CHECK(d.errors >= 1);
    bool found = false;
    for (size_t k = 0; k < d.n; k++)
      if (d.v[k].sev == KB_ERROR && strstr(d.v[k].msg, cases[i].msg) && d.v[k].line == cases[i].line &&
          strcmp(d.v[k].path, "bad.md") == 0)
        found = true;
    if (!found)
      harness_fail(__FILE__, __LINE__, "case %zu: want bad.md:%d: ...%s...; got %s:%d: %s", i, cases[i].line,
                   cases[i].msg, d.n ? d.v[0].path : "-", d.n ? d.v[0].line : 0, d.n ? d.v[0].msg : "(none)");
    kb_incident_free(inc);
    kb_diags_release(&d);
  }
}

static void test_oversized_file(void) {
  size_t n = KB_INCIDENT_MAX_BYTES + 10;
  char *big = malloc(n);
  memset(big, 'a', n);
  kb_diags d = {0};
  CHECK(kb_incident_parse("big.md", big, n, &d) == NULL);
  CHECK(d.errors == 1);
  kb_diags_release(&d);
  free(big);
}

/* Raw HTML is allowed but filtered. */
static void test_hostile_html(void) {
  kb_diags d = {0};
  kb_incident *inc = parse("---\ntitle: x\n---\n"
                           "<script>alert(1)</script>\n\n"
                           "<img src=x onerror=alert(2)>\n\n"
                           "[click](javascript:alert(3)) and <a href=\"JaVaScRiPt:alert(4)\">a</a>\n\n"
                           "<div onclick=\"alert(5)\" style=\"color:red\">ok</div>\n",
                           &d);
  CHECK(inc != NULL);
  if (inc) {
    CHECK_NOT_CONTAINS(inc->md.html, "<script");
    CHECK_NOT_CONTAINS(inc->md.html, "onerror");
    CHECK_NOT_CONTAINS(inc->md.html, "onclick");
    CHECK_NOT_CONTAINS(inc->md.html, "javascript:");
    CHECK_NOT_CONTAINS(inc->md.html, "JaVaScRiPt");
    CHECK_CONTAINS(inc->md.html, "style=\"color:red\"");
  }
  kb_incident_free(inc);
  kb_diags_release(&d);
}

static void test_golden_files(void) {
  char *dir = kb_xasprintf("%s/tests/golden", harness_source_dir());
  DIR *dh = opendir(dir);
  CHECK(dh != NULL);
  struct dirent *e;
  int count = 0;
  bool update = getenv("KB_UPDATE_GOLDEN") != NULL;
  while (dh && (e = readdir(dh))) {
    if (!kb_str_endswith(e->d_name, ".md")) continue;
    char *md = kb_xasprintf("%s/%s", dir, e->d_name);
    char *want_path = kb_xasprintf("%.*s.html", (int)(strlen(md) - 3), md);
    kb_diags d = {0};
    kb_incident *inc = kb_incident_load(md, &d);
    char *want = harness_read_file(want_path, NULL);
    if (!inc) {
      harness_fail(__FILE__, __LINE__, "%s did not load", md);
    } else if (update) {
      harness_write_file(want_path, inc->md.html);
    } else if (!want || strcmp(want, inc->md.html) != 0) {
      harness_fail(__FILE__, __LINE__, "%s: body differs from %s:\n%s", md, want_path, inc->md.html);
    }
    count++;
    free(want);
    kb_incident_free(inc);
    kb_diags_release(&d);
    free(md);
    free(want_path);
  }
  if (dh) closedir(dh);
  CHECK(count >= 3);
  free(dir);
}

int main(void) {
  RUN(test_seed_as_published);
  RUN(test_defaults_from_file_name);
  RUN(test_draft_and_aliases);
  RUN(test_hugo_toml_post);
  RUN(test_error_cases);
  RUN(test_oversized_file);
  RUN(test_hostile_html);
  RUN(test_golden_files);
  return harness_done();
}
