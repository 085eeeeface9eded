/* test_stack.c - WinDbg frames found in text as the seed and debuggers print them. */
#include <stdlib.h>
#include <string.h>

#include "content/extract.h"
#include "harness.h"
#include "stack/stack.h"
#include "util/util.h"

static const char seed_stack[] =
    "STACK_TEXT:\n"
    "fffff800`4876a8c8 fffff800`46dc97e9 : 00000000`0000000a 00000000`00000028 00000000`00000002 00000000`00000000 : nt!KeBugCheckEx\n"
    "fffff800`4876a8d0 fffff800`46dc803a : 00000000`00000000 00000000`00000003 fffff800`00691000 fffff800`4876aa10 : nt!KiBugCheckDispatch+0x69\n"
    "fffff800`4876aa10 fffff800`0213572f : fffff800`02134dfe 00000000`00000000 00000000`00000000 fffff800`4876ab58 : nt!KiPageFault+0x23a\n"
    "fffff800`4876aba8 fffff800`02134dfe : 00000000`00000000 00000000`00000000 fffff800`4876ab58 00000000`00000000 : MsLbfoProvider!vmqcGetFirstMappedMNic+0xf\n"
    "fffff800`4876abb0 fffff800`0069c44b : 00000000`00000000 00000000`00000000 00000000`00000000 ffffe000`0ce416c0 : MsLbfoProvider!LbfoReceiveNetBufferListsComplete+0x92\n";

static void test_windbg_kv_with_args(void) {
  kb_stacks s = {0};
  kb_stacks_parse(seed_stack, strlen(seed_stack), &s);
  CHECK(s.n == 1);
  if (s.n != 1) return;
  const kb_stack *st = &s.v[0];
  CHECK(st->nframes == 5);
  CHECK(st->first_line == 2);
  CHECK(st->bugcheck == 0xA);
  CHECK_STR(st->frames[0].module, "nt");
  CHECK_STR(st->frames[0].function, "KeBugCheckEx");
  CHECK(st->frames[0].offset == NULL);
  CHECK_STR(st->frames[3].function, "vmqcGetFirstMappedMNic");
  CHECK_STR(st->frames[3].offset, "0xf");
  CHECK_STR(st->frames[3].norm, "mslbfoprovider!vmqcGetFirstMappedMNic");
  CHECK_STR(st->frames[3].address, "fffff800`02134dfe");
  kb_stacks_release(&s);
}

static void test_escaped_backticks_and_frame_numbers(void) {
  const char *text = "Intro prose, not a frame!\n"
                     "00 fffff800\\`4876a8c8 fffff800\\`46dc97e9 nt!KeBugCheckEx\n"
                     "01 fffff800\\`4876a8d0 fffff800\\`46dc803a nt!KiBugCheckDispatch+0x69\n"
                     "02 fffff800\\`4876aa10 fffff800\\`0213572f mydrv+0x1234\n"
                     "\n\n"
                     "nt!KiPageFault+0x23a\n"
                     "NDIS.SYS!ndisMIndicateNetBufferListsToOpen+0x141\n";
  kb_stacks s = {0};
  kb_stacks_parse(text, strlen(text), &s);
  CHECK(s.n == 2);
  if (s.n == 2) {
    CHECK(s.v[0].nframes == 3);
    CHECK_STR(s.v[0].frames[2].module, "mydrv");
    CHECK(s.v[0].frames[2].function == NULL);
    CHECK_STR(s.v[0].frames[2].norm, "mydrv!?");
    CHECK(s.v[1].nframes == 2);
    CHECK(s.v[1].first_line == 7);
    CHECK_STR(s.v[1].frames[1].norm, "ndis!ndisMIndicateNetBufferListsToOpen");
  }
  kb_stacks_release(&s);
}

static void test_prose_is_not_a_stack(void) {
  const char *text = "So WTF! was going on here.\nHello!World is not a stack\n"
                     "SYMBOL_NAME:  MsLbfoProvider!vmqcGetFirstMappedMNic+f\n"
                     "FAILURE_BUCKET_ID:  AV_MsLbfoProvider!vmqcGetFirstMappedMNic\n";
  kb_stacks s = {0};
  kb_stacks_parse(text, strlen(text), &s);
  CHECK(s.n == 0);
  kb_stacks_release(&s);
}

static void test_hostile_inputs_do_not_crash(void) {
  /* binary, no newlines, a huge line, NULs */
  size_t n = 3 << 20;
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++) big[i] = (char)(i * 131 + 7);
  kb_stacks s = {0};
  kb_stacks_parse(big, n, &s);
  kb_stacks_release(&s);
  memset(big, 'a', n);
  big[n / 2] = '!';
  kb_stacks_parse(big, n, &s);
  CHECK(s.n == 0);
  kb_stacks_release(&s);
  /* many frames: bounded */
  kb_buf b = KB_BUF_INIT;
  for (int i = 0; i < 5000; i++) kb_buf_addf(&b, "mod!fn%d+0x1\n", i);
  kb_stacks_parse(b.ptr, b.len, &s);
  CHECK(s.n == 1 && s.v[0].nframes == KB_STACK_MAX_FRAMES);
  kb_stacks_release(&s);
  kb_buf_release(&b);
  free(big);
}

static void test_identifiers(void) {
  const char *text = "After KB2887595 the node hit bugcheck 0xA (IRQL_NOT_LESS_OR_EQUAL) in "
                     "MsLbfoProvider.sys. See CVE-2014-6321. STOP 0x000000D1. BUGCHECK_CODE:  133\n"
                     "java.lang.NullPointerException and KeyError; offset 0x1f is not a code.";
  kb_idents ids = {0};
  kb_idents_extract(text, strlen(text), &ids);
  const char *want[][2] = {{"kb", "KB2887595"},
                           {"bugcheck", "0xA"},
                           {"bugcheck_name", "IRQL_NOT_LESS_OR_EQUAL"},
                           {"module", "MsLbfoProvider.sys"},
                           {"cve", "CVE-2014-6321"},
                           {"bugcheck", "0xD1"},
                           {"bugcheck_name", "DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
                           {"bugcheck", "0x133"},
                           {"exception", "java.lang.NullPointerException"},
                           {"exception", "KeyError"}};
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
    int found = 0;
    for (size_t i = 0; i < ids.n; i++)
      found |= strcmp(ids.v[i].kind, want[w][0]) == 0 && strcmp(ids.v[i].value, want[w][1]) == 0;
    if (!found) harness_fail(__FILE__, __LINE__, "identifier %s %s not found", want[w][0], want[w][1]);
  }
  for (size_t i = 0; i < ids.n; i++)
    if (strcmp(ids.v[i].value, "0x1F") == 0) harness_fail(__FILE__, __LINE__, "offset taken as bugcheck");
  kb_idents_release(&ids);
}

/* A reason in prose does not travel down to a stack pasted pages later. */
static void test_reason_does_not_travel_far(void) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "TypeError: undefined is not a function\n");
  for (int i = 0; i < 80; i++) kb_buf_addf(&b, "Some prose line %d about the outage and what we tried.\n", i);
  kb_buf_adds(&b, "nt!KeBugCheckEx\nMsLbfoProvider!vmqcGetFirstMappedMNic+0xf\nNDIS!NdisReturnNetBufferLists+0x72\n");
  kb_stacks s = {0};
  kb_stacks_parse(b.ptr, b.len, &s);
  CHECK(s.n == 1);
  if (s.n == 1) CHECK(s.v[0].reason.name == NULL || strcmp(s.v[0].reason.name, "TypeError") != 0);
  kb_stacks_release(&s);
  kb_buf_release(&b);
}

int main(void) {
  RUN(test_reason_does_not_travel_far);
  RUN(test_windbg_kv_with_args);
  RUN(test_escaped_backticks_and_frame_numbers);
  RUN(test_prose_is_not_a_stack);
  RUN(test_hostile_inputs_do_not_crash);
  RUN(test_identifiers);
  return harness_done();
}
