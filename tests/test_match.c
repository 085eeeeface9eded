/* test_match.c - matching and search against a real index built by `kb build` from the
 * bundled content: the seed's stack in several forms finds KB2887595 first; unrelated
 * crashes find nothing confident; hostile search input never errors; snippets are
 * escaped; a damaged index is refused with a clear message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "index/reader.h"
#include "match/match.h"
#include "search/search.h"
#include "util/util.h"

static char *site_dir;

static void build_site(void) {
  char *tmp = harness_tmpdir("match-site");
  site_dir = kb_path_join(tmp, "public");
  char *content = kb_path_join(tmp, "content");
  char *cmd = kb_xasprintf("cp -r '%s/content' '%s' && cat > '%s/hostile.md' <<'X'\n---\ntitle: Hostile <b>text</b>\n"
                           "id: hostile\n---\nA body about `<script>alert(1)</script>` and quoting \"x\" & more.\nX\n"
                           "cp '%s'/tests/match/*.md '%s'",
                           harness_source_dir(), tmp, content, harness_source_dir(), content);
  char *err = NULL;
  if (harness_run_cmd(cmd, NULL, &err) != 0) harness_fail(__FILE__, __LINE__, "copying the content failed: %s", err);
  else harness_kb_build(content, site_dir);
  free(err);
  free(cmd);
  free(content);
  free(tmp);
}

static kb_index *open_index(void) { return harness_index_open(site_dir); }

/* Match text; returns the results (caller releases). */
static void match_text(kb_index *ix, const char *text, kb_stacks *q, kb_match *m) {
  memset(q, 0, sizeof *q);
  char *err = NULL;
  kb_stacks_parse(text, strlen(text), q);
  if (kb_match_run(ix, q, 10, m, &err)) harness_fail(__FILE__, __LINE__, "match: %s", err);
  free(err);
}

static const char *const seed_frames[][2] = {
    {"nt!KeBugCheckEx", ""}, {"nt!KiBugCheckDispatch", "+0x69"}, {"nt!KiPageFault", "+0x23a"},
    {"MsLbfoProvider!vmqcGetFirstMappedMNic", "+0xf"}, {"MsLbfoProvider!LbfoReceiveNetBufferListsComplete", "+0x92"},
    {"NDIS!ndisInvokeNextReceiveCompleteHandler", "+0xf35b"}, {"NDIS!ndisReturnNetBufferListsInternal", "+0x12d"},
    {"NDIS!NdisReturnNetBufferLists", "+0x72"}, {"vmswitch!VmsPtNicPvtPacketRouted", "+0x1b1"},
    {"vmswitch!VmsExtIoPacketRouted", "+0x28b"}, {"vmswitch!VmsExtPtSendNetBufferListsComplete", "+0x9e"},
    {"NDIS!ndisMSendCompleteNetBufferListsInternal", "+0x135"}, {"NDIS!NdisMSendNetBufferListsComplete", "+0x2bb"},
    {"vmswitch!VmsExtIoPacketRouted", "+0x2dd"}, {"vmswitch!VmsExtMpReturnNetBufferLists", "+0x42"}};
#define SEED_N (sizeof seed_frames / sizeof seed_frames[0])

/* The seed's stack as several debugger commands print it. */
static char *seed_form(int form, size_t top) {
  kb_buf b = KB_BUF_INIT;
  if (form == 1) kb_buf_adds(&b, " # Child-SP          RetAddr           Call Site\n");
  if (form == 2) kb_buf_adds(&b, "Child-SP          RetAddr           Call Site\n");
  for (size_t i = 0; i < SEED_N && i < top; i++) {
    unsigned long long sp = 0xfffff8004876a8c8ull + i * 0x60, ret = 0xfffff80046dc97e9ull - i * 0x1234;
    char spb[32], retb[32];
    snprintf(spb, sizeof spb, "%08llx`%08llx", sp >> 32, sp & 0xffffffffull);
    snprintf(retb, sizeof retb, "%08llx`%08llx", ret >> 32, ret & 0xffffffffull);
    switch (form) {
    case 0: /* kv with arguments */
      kb_buf_addf(&b, "%s %s : %s 00000000`00000028 00000000`00000002 00000000`00000000 : %s%s\n", spb, retb,
                  i == 0 ? "00000000`0000000a" : "00000000`00000000", seed_frames[i][0], seed_frames[i][1]);
      break;
    case 1: kb_buf_addf(&b, "%02zx %s %s %s%s\n", i, spb, retb, seed_frames[i][0], seed_frames[i][1]); break;
    case 2: kb_buf_addf(&b, "%s %s %s%s\n", spb, retb, seed_frames[i][0], seed_frames[i][1]); break;
    default: kb_buf_addf(&b, "%s%s\n", seed_frames[i][0], seed_frames[i][1]); break;
    }
  }
  return kb_buf_detach(&b, NULL);
}

static void expect_first(kb_index *ix, const char *text, const char *id, const char *what) {
  kb_stacks q;
  kb_match m = {0};
  match_text(ix, text, &q, &m);
  if (m.n == 0 || strcmp(m.v[0].id, id) != 0)
    harness_fail(__FILE__, __LINE__, "%s: first result %s, want %s", what, m.n ? m.v[0].id : "(none)", id);
  else if (strcmp(m.v[0].confidence, "weak") == 0)
    harness_fail(__FILE__, __LINE__, "%s: confidence weak (score %.3f)", what, m.v[0].score);
  kb_match_release(&m);
  kb_stacks_release(&q);
}

static void test_seed_forms_find_kb2887595(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  const char *names[] = {"kv", "kn", "k", "bare"};
  for (int form = 0; form < 4; form++) {
    char *text = seed_form(form, SEED_N);
    expect_first(ix, text, "kb-0001", names[form]);
    free(text);
    text = seed_form(form, 7); /* truncated to the top frames */
    expect_first(ix, text, "kb-0001", names[form]);
    free(text);
  }
  char *seed_path = kb_xasprintf("%s/seeds/000_da45cf2bb8d44c23.txt", harness_shared_dir());
  char *seed = harness_read_file(seed_path, NULL);
  if (seed) expect_first(ix, seed, "kb-0001", "the seed as published");
  free(seed);
  free(seed_path);
  kb_index_close(ix);
}

static void test_unrelated_is_not_confident(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  /* a USB bugcheck: shares the nt machinery with the seed, nothing else */
  const char *usb = "nt!KeBugCheckEx\nnt!KiBugCheckDispatch+0x69\nnt!KiPageFault+0x23a\n"
                    "USBPORT!USBPORT_BadRequestFlush+0x7c\nUSBPORT!USBPORT_DM_IoTimerDpc+0x1a2\n"
                    "nt!KiProcessExpiredTimerList+0x172\nnt!KiRetireDpcList+0x5dd\nnt!KiIdleLoop+0x5a\n";
  kb_stacks q;
  kb_match m = {0};
  match_text(ix, usb, &q, &m);
  for (size_t i = 0; i < m.n; i++)
    if (strcmp(m.v[i].confidence, "weak") != 0)
      harness_fail(__FILE__, __LINE__, "unrelated stack matched %s as %s (%.3f)", m.v[i].id, m.v[i].confidence,
                   m.v[i].score);
  kb_match_release(&m);
  kb_stacks_release(&q);
  /* prose: no stack, no result, a message in the JSON */
  match_text(ix, "The server was slow on Monday; we restarted it at home (the office was closed).", &q, &m);
  CHECK(q.n == 0 && m.n == 0);
  cJSON *j = kb_match_to_json(&q, &m);
  CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "message")));
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "results")) == 0);
  cJSON_Delete(j);
  kb_match_release(&m);
  kb_stacks_release(&q);
  kb_index_close(ix);
}

static void test_match_json_contract(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  char *text = seed_form(0, SEED_N);
  kb_stacks q;
  kb_match m = {0};
  match_text(ix, text, &q, &m);
  cJSON *j = kb_match_to_json(&q, &m);
  const char *keys[] = {"signature", "reason", "frames", "results"};
  for (size_t i = 0; i < 4; i++) CHECK(cJSON_HasObjectItem(j, keys[i]));
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "frames")) == (int)SEED_N);
  cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
  const char *rkeys[] = {"id", "title", "url", "score", "confidence", "matched_frames"};
  for (size_t i = 0; i < 6; i++) CHECK(cJSON_HasObjectItem(r0, rkeys[i]));
  CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "reason"), "code")->valuestring, "0xA");
  double score = cJSON_GetObjectItem(r0, "score")->valuedouble;
  CHECK(score > 0.9 && score <= 1.0);
  cJSON_Delete(j);
  kb_match_release(&m);
  kb_stacks_release(&q);
  free(text);
  kb_index_close(ix);
}

/* The result for `id` in `m`, or NULL. */
static const kb_match_result *result_of(const kb_match *m, const char *id) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->v[i].id, id) == 0) return &m->v[i];
  return NULL;
}

/* A bugcheck code without frames (an event-log line) finds the incidents with that code,
 * the one whose Arg1 agrees first, and never confidently. */
static void test_bugcheck_code_without_frames(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  const char *p1[] = {"0x0000000000000014", "0x0000000000000021"};
  double score_with_arg1 = 0;
  for (int i = 0; i < 2; i++) {
    char *line = kb_xasprintf("The computer has rebooted from a bugcheck.  The bugcheck was: 0x0000007c (%s, "
                              "0x0000000000000002, 0x0000000000000000, 0x0000000000000000).", p1[i]);
    kb_stacks q;
    kb_match m = {0};
    match_text(ix, line, &q, &m);
    const kb_match_result *a = result_of(&m, "t-7c-14"), *b = result_of(&m, "kb-0003");
    CHECK(a && b); /* t-7c-14 by its stack's reason, kb-0003 by the code its text names */
    if (a && b) {
      if (i == 0) CHECK(a->score > b->score);
      else CHECK(a->score < score_with_arg1); /* the same incident, Arg1 no longer agrees */
      score_with_arg1 = a->score;
      CHECK_STR(a->confidence, "weak");
      CHECK_STR(b->confidence, "weak");
    }
    kb_match_release(&m);
    kb_stacks_release(&q);
    free(line);
  }
  kb_index_close(ix);
}

/* A wrapping exception's trace (the tail of its cause's) finds the incident, weakly; the same
 * exception quoting another name is not "exact". */
static void test_wrapped_and_quoted_exceptions(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  const char *tail = "\tat com.example.orders.OrderService.find(OrderService.java:80)\n"
                     "\tat com.example.web.OrderController.show(OrderController.java:35)\n"
                     "\tat com.example.web.Dispatcher.invoke(Dispatcher.java:120)\n"
                     "\tat com.example.web.Dispatcher.handle(Dispatcher.java:88)\n"
                     "\tat com.example.web.Server.serve(Server.java:61)\n";
  char *wrapped = kb_xasprintf("com.example.web.RequestFailedException: GET /orders/7 failed\n%s", tail);
  kb_stacks q;
  kb_match m = {0};
  match_text(ix, wrapped, &q, &m);
  CHECK(m.n > 0 && strcmp(m.v[0].id, "t-pool-orders") == 0);
  if (m.n) CHECK_STR(m.v[0].confidence, "weak");
  if (m.n) CHECK(m.v[0].score >= 0.6); /* aligned as the cause's tail, not as its top */
  kb_match_release(&m);
  kb_stacks_release(&q);
  const char *names[] = {"orders", "payments"}, *want[] = {"exact", "strong"};
  for (int i = 0; i < 2; i++) {
    char *text = kb_xasprintf("com.example.pool.PoolExhaustedException: pool '%s' exhausted after 500 ms\n"
                              "\tat com.example.pool.ConnectionPool.borrow(ConnectionPool.java:212)\n"
                              "\tat com.example.pool.ConnectionPool.get(ConnectionPool.java:98)\n"
                              "\tat com.example.orders.OrderRepository.load(OrderRepository.java:41)\n%s",
                              names[i], tail);
    match_text(ix, text, &q, &m);
    CHECK(m.n > 0 && strcmp(m.v[0].id, "t-pool-orders") == 0);
    if (m.n) CHECK_STR(m.v[0].confidence, want[i]);
    kb_match_release(&m);
    kb_stacks_release(&q);
    free(text);
  }
  free(wrapped);
  kb_index_close(ix);
}

static void test_search_identifiers_and_hostile_input(void) {
  kb_index *ix = open_index();
  if (!ix) return;
  const char *finds[] = {"vmqcGetFirstMappedMNic", "KB2887595", "kb2887595", "MsLbfoProvider.sys", "0x0000000A",
                         "IRQL_NOT_LESS_OR_EQUAL", "82599", "vmqcGetFirst", "hyper-v live migration",
                         "GetFirstMapped", "FirstMappedMNic"};
  for (size_t i = 0; i < sizeof finds / sizeof finds[0]; i++) {
    kb_search s;
    char *err = NULL;
    CHECK(kb_search_run(ix, finds[i], 10, 0, &s, &err) == 0);
    if (s.n == 0 || strcmp(s.v[0].id, "kb-0001") != 0)
      harness_fail(__FILE__, __LINE__, "search '%s': first %s", finds[i], s.n ? s.v[0].id : "(none)");
    kb_search_release(&s);
    free(err);
  }
  char *big = kb_xmalloc(10241);
  memset(big, 'x', 10240);
  big[10240] = '\0';
  const char *hostile[] = {"\"", "\"unbalanced", "*", "-", ":", "a:b", "foo:bar", "AND", "OR NOT", "NEAR(a b)",
                           "(oom", "oom)", "c++", "don't", "node-7", "e-mail", "10.0.0.53", "a/b", "^x", "{x}",
                           "title:KB2887595", "\"\"\"", "*vmqc", "x* *", "'; DROP TABLE incidents; --", big, ""};
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    kb_search s;
    char *err = NULL;
    if (kb_search_run(ix, hostile[i], 10, 0, &s, &err) != 0)
      harness_fail(__FILE__, __LINE__, "search '%.40s' failed: %s", hostile[i], err);
    kb_search_release(&s);
    free(err);
  }
  free(big);
  kb_search s;
  char *err = NULL;
  /* a whole word without digits still finds the names that contain it: kb-0005 has
   * "Exception" only inside NullReferenceException (the trigram lookup) */
  CHECK(kb_search_run(ix, "Exception", 10, 0, &s, &err) == 0);
  bool found = false;
  for (size_t i = 0; i < s.n; i++) found |= strcmp(s.v[i].id, "kb-0005") == 0;
  CHECK(found);
  kb_search_release(&s);
  CHECK(kb_search_run(ix, "script alert", 10, 0, &s, &err) == 0);
  CHECK(s.n == 1);
  if (s.n) {
    CHECK_NOT_CONTAINS(s.v[0].snippet, "<script");
    CHECK_CONTAINS(s.v[0].snippet, "&lt;<mark>script</mark>&gt;");
  }
  kb_search_release(&s);
  kb_index_close(ix);
}

static void test_damaged_index_refused(void) {
  char *tmp = harness_tmpdir("match-damaged");
  char *path = kb_path_join(tmp, "kb.sqlite"), *err = NULL;
  harness_write_file(path, "this is not a database, just text that is long enough to look like a header......");
  CHECK(kb_index_open(path, &err) == NULL);
  CHECK_CONTAINS(err, "kb.sqlite");
  free(err);
  /* truncated copy of a real index */
  char *src = kb_path_join(site_dir, "kb.sqlite");
  char *cmd = kb_xasprintf("head -c 8192 '%s' > '%s'", src, path);
  harness_run_cmd(cmd, NULL, NULL);
  kb_index *ix = kb_index_open(path, &err);
  if (ix) {
    /* the header survived; queries must fail cleanly, not crash */
    kb_search s;
    char *e2 = NULL;
    kb_search_run(ix, "vmqc", 10, 0, &s, &e2);
    kb_search_release(&s);
    free(e2);
    kb_index_close(ix);
  } else {
    CHECK(err != NULL);
  }
  free(err);
  err = NULL;
  CHECK(kb_index_open("/nonexistent/kb.sqlite", &err) == NULL);
  CHECK_CONTAINS(err, "run 'kb build' first");
  free(err);
  free(cmd);
  free(src);
  free(path);
  free(tmp);
}

static void test_cli(void) {
  char *out = NULL, *err = NULL;
  char *cmd = kb_xasprintf("printf 'nt!KeBugCheckEx\\nMsLbfoProvider!vmqcGetFirstMappedMNic+0xf\\n"
                           "MsLbfoProvider!LbfoReceiveNetBufferListsComplete+0x92\\n' | '%s' match --site '%s' --json",
                           harness_kb_binary(), site_dir);
  CHECK(harness_run_cmd(cmd, &out, &err) == 0);
  cJSON *j = cJSON_Parse(out);
  CHECK(j != NULL);
  cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
  CHECK(r0 && strcmp(cJSON_GetObjectItem(r0, "id")->valuestring, "kb-0001") == 0);
  cJSON_Delete(j);
  free(cmd);
  free(out);
  free(err);
  cmd = kb_xasprintf("'%s' search --site '%s' --json KB2887595", harness_kb_binary(), site_dir);
  CHECK(harness_run_cmd(cmd, &out, NULL) == 0);
  j = cJSON_Parse(out);
  CHECK(j && cJSON_GetObjectItem(j, "total")->valueint == 1);
  cJSON_Delete(j);
  free(cmd);
  free(out);
  cmd = kb_xasprintf("'%s' match --site /nonexistent /dev/null", harness_kb_binary());
  CHECK(harness_run_cmd(cmd, NULL, &err) == 1);
  CHECK_CONTAINS(err, "kb build");
  free(cmd);
  free(err);
  cmd = kb_xasprintf("'%s' search --limit 0 x", harness_kb_binary());
  CHECK(harness_run_cmd(cmd, NULL, NULL) == 2);
  free(cmd);
}

/* stack_frames rows come from a file that may be damaged: every cut of a valid row, a
 * varint that never ends and a length past the end give fewer frames, never a read past
 * the row (each cut is a heap copy of exactly its size: ASan would see an overread). */
static void test_packed_frames_damaged(void) {
  /* two frames: pos 0, flags 0, df 3, "mod!fn"; pos 300, flags 1, df 1, "x" */
  const unsigned char row[] = {0, 0, 3, 6, 'm', 'o', 'd', '!', 'f', 'n', 0xAC, 0x02, 1, 1, 1, 'x'};
  kb_packed_frame f;
  const unsigned char *p = row, *end = row + sizeof row;
  CHECK(kb_packed_frame_next(&p, end, &f) && f.pos == 0 && f.df == 3 && f.norm_len == 6 &&
        memcmp(f.norm, "mod!fn", 6) == 0);
  CHECK(kb_packed_frame_next(&p, end, &f) && f.pos == 300 && f.flags == 1 && f.df == 1 && f.norm_len == 1);
  CHECK(!kb_packed_frame_next(&p, end, &f) && p == end);
  for (size_t cut = 0; cut < sizeof row; cut++) {
    unsigned char *copy = kb_xmalloc(cut ? cut : 1);
    memcpy(copy, row, cut);
    const unsigned char *q = copy, *qend = copy + cut;
    int frames = 0;
    while (kb_packed_frame_next(&q, qend, &f)) frames++;
    CHECK(frames == (cut >= 10 ? 1 : 0));
    CHECK(q <= qend);
    free(copy);
  }
  const unsigned char endless[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  p = endless;
  CHECK(!kb_packed_frame_next(&p, endless + sizeof endless, &f));
  const unsigned char too_long[] = {0, 0, 1, 100, 'a', 'b'};
  p = too_long;
  CHECK(!kb_packed_frame_next(&p, too_long + sizeof too_long, &f));
}

/* frame_stats.postings: deltas 5, 1, 300 -> rowids 5, 6, 306; damage ends the list */
static void test_postings_damaged(void) {
  const unsigned char list[] = {5, 1, 0xAC, 0x02};
  const unsigned char *p = list;
  long long r = 0;
  CHECK(kb_postings_next(&p, list + sizeof list, &r) && r == 5);
  CHECK(kb_postings_next(&p, list + sizeof list, &r) && r == 6);
  CHECK(kb_postings_next(&p, list + sizeof list, &r) && r == 306);
  CHECK(!kb_postings_next(&p, list + sizeof list, &r) && r == 306);
  const unsigned char cut[] = {5, 0xAC};
  p = cut, r = 0;
  CHECK(kb_postings_next(&p, cut + sizeof cut, &r) && r == 5);
  CHECK(!kb_postings_next(&p, cut + sizeof cut, &r)); /* a varint cut short */
  const unsigned char zero[] = {5, 0, 1};
  p = zero, r = 0;
  CHECK(kb_postings_next(&p, zero + sizeof zero, &r));
  CHECK(!kb_postings_next(&p, zero + sizeof zero, &r)); /* a rowid that does not grow */
  const unsigned char huge[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
  p = huge, r = 0;
  int n = 0;
  while (kb_postings_next(&p, huge + sizeof huge, &r)) n++;
  CHECK(n == 1 && r > 0); /* the second would overflow */
}

int main(void) {
  RUN(test_packed_frames_damaged);
  RUN(test_postings_damaged);
  build_site();
  RUN(test_seed_forms_find_kb2887595);
  RUN(test_unrelated_is_not_confident);
  RUN(test_match_json_contract);
  RUN(test_bugcheck_code_without_frames);
  RUN(test_wrapped_and_quoted_exceptions);
  RUN(test_search_identifiers_and_hostile_input);
  RUN(test_damaged_index_refused);
  RUN(test_cli);
  free(site_dir);
  return harness_done();
}
