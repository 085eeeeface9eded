/* test_parse_windbg.c - the WinDbg format (core/stack/fmt_windbg.c) on published stacks
 * (tests/stacks/windbg/, sources in tests/stacks/SOURCES.md) and on the !analyze, kp and
 * .bugcheck lines that carry the crash reason. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/stack.h"
#include "util/util.h"

/* Parse tests/stacks/windbg/NAME into *s; false (test failed) when it is missing. */
static bool parse_fixture(const char *name, kb_stacks *s) {
  char *path = kb_xasprintf("%s/tests/stacks/windbg/%s", harness_source_dir(), name);
  size_t len;
  char *text = harness_read_file(path, &len);
  if (!text) harness_fail(__FILE__, __LINE__, "fixture %s missing", path);
  else kb_stacks_parse(text, len, s);
  free(text);
  free(path);
  return text != NULL;
}

static void parse_text(const char *text, kb_stacks *s) { kb_stacks_parse(text, strlen(text), s); }

static void test_kv_x86_fpo_and_unsymbolized(void) {
  kb_stacks s = {0};
  if (!parse_fixture("kv-x86-fpo-procmon.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 17); /* the unwind WARNING line does not break the stack */
    CHECK_STR(st->frames[0].function, "ObQueryNameString");
    CHECK_STR(st->frames[0].offset, "0x9b");
    CHECK_STR(st->frames[0].address, "b9e390a8");
    CHECK_STR(st->frames[10].module, "PROCMON13");
    CHECK(st->frames[10].function == NULL);
    CHECK_STR(st->frames[10].offset, "0x3284");
    CHECK_STR(st->frames[16].function, "KiThreadStartup");
    CHECK(st->bugcheck == 0);
  }
  kb_stacks_release(&s);
}

static void test_kv_trapframe_and_bare_addresses(void) {
  kb_stacks s = {0};
  if (!parse_fixture("kv-x86-trapframe-bare.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 9);
    CHECK_STR(st->frames[1].function, "KeUpdateSystemTime");
    CHECK_STR(st->frames[1].offset, "0x13e");
    CHECK(st->frames[4].module == NULL && st->frames[4].function == NULL);
    CHECK_STR(st->frames[4].address, "0x77306f5f");
    CHECK_STR(st->frames[8].address, "0x7c80b729");
  }
  kb_stacks_release(&s);
}

static void test_wrapped_kb_lines_rejoined(void) {
  kb_stacks s = {0};
  if (!parse_fixture("kb-wrapped-osr.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 5);
    CHECK(st->bugcheck == 0x8E); /* KeBugCheckEx's first argument, 0000008e */
    CHECK_STR(st->reason.code, "0x8E");
    CHECK_STR(st->reason.name, "KERNEL_MODE_EXCEPTION_NOT_HANDLED");
    CHECK_STR(st->frames[2].function, "CommonDispatchException");
    CHECK_STR(st->frames[2].address, "804f4496"); /* the columns of the first half */
    CHECK_STR(st->frames[4].module, "FTKFSD");
    CHECK_STR(st->frames[4].address, "f88a2cd9");
    CHECK_STR(st->frames[4].file, "c:\\current\\driver\\fsddevio.c");
    CHECK(st->frames[4].line == 388);
  }
  kb_stacks_release(&s);
}

static void test_kb_kp_kP_kv_source_info(void) {
  kb_stacks s = {0};
  if (!parse_fixture("kb-kp-kP-kv-source.txt", &s)) return;
  CHECK(s.n == 4);
  for (size_t i = 0; i < s.n; i++) {
    const kb_frame *f = &s.v[i].frames[0];
    CHECK(s.v[i].nframes == 1);
    CHECK_STR(f->module, "test1");
    CHECK(kb_str_endswith(f->norm, "!Add"));
    CHECK_STR(f->offset, "0x1e");
    CHECK_STR(f->file, "f:\\test1\\test1\\test1.cpp");
    CHECK(f->line == 7);
    CHECK_STR(f->address, "010e1415");
  }
  if (s.n == 4) CHECK_STR(s.v[1].frames[0].function, "Add(int a = 0n18, int b = 0n52, int c = 0n86, int d = 0n120, "
                                                     "int e = 0n154, int f = 0n188)");
  kb_stacks_release(&s);
}

static void test_analyze_title_and_arguments(void) {
  kb_stacks s = {0};
  if (!parse_fixture("analyze-0xA-w7forums.txt", &s)) return;
  /* This STACK_TEXT was cut after the bugcheck machinery, so FAULTING_IP's symbol
   * (nt!KiTimerExpiration, which the cut stack lacks) stays a stack of its own: it is
   * the only frame that says where it crashed. */
  CHECK(s.n == 2);
  if (s.n == 2) {
    CHECK(s.v[0].nframes == 1);
    CHECK_STR(s.v[0].frames[0].function, "KiTimerExpiration");
    CHECK_STR(s.v[0].reason.code, "0xA");
    CHECK_STR(s.v[0].reason.params, "0xfffff880209b5d50 0x2 0x1 0xfffff80002ed7402");
    const kb_stack *st = &s.v[1];
    CHECK(st->nframes == 2);
    CHECK(st->bugcheck == 0xA);
    CHECK_STR(st->reason.kind, "bugcheck");
    CHECK_STR(st->reason.code, "0xA");
    CHECK_STR(st->reason.name, "IRQL_NOT_LESS_OR_EQUAL");
  }
  kb_stacks_release(&s);
}

static void test_stack_text_joined_on_one_line(void) {
  kb_stacks s = {0};
  if (!parse_fixture("stack-text-joined-internals.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 12);
    CHECK(st->bugcheck == 0x8E);
    CHECK_STR(st->frames[0].function, "KeBugCheckEx");
    CHECK_STR(st->frames[4].module, "myfault");
    CHECK_STR(st->frames[4].offset, "0xa79");
    CHECK_STR(st->frames[10].function, "KiFastCallEntry");
    CHECK_STR(st->frames[11].address, "0x772c70b4");
  }
  kb_stacks_release(&s);
}

static void test_dr_watson_table(void) {
  kb_stacks s = {0};
  if (!parse_fixture("drwatson-geekrant.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 12);
    CHECK(st->frames[0].function == NULL && st->frames[0].module == NULL);
    CHECK_STR(st->frames[0].address, "00438172");
    CHECK(st->frames[10].module == NULL);
    CHECK_STR(st->frames[10].function, "beginthreadex");
    CHECK_STR(st->frames[11].module, "kernel32");
    CHECK_STR(st->frames[11].function, "lstrcmpiW");
  }
  kb_stacks_release(&s);
}

static void test_quoted_escaped_with_source(void) {
  kb_stacks s = {0};
  if (!parse_fixture("dokany-quoted-escaped-source.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 7);
    CHECK_STR(st->frames[0].address, "fffff802`cfbc2c33");
    CHECK_STR(st->frames[3].function, "DokanBuildRequest$filt$0");
    CHECK_STR(st->frames[3].file, "e:\\islog\\dev\\app\\dokan\\dokany\\sys\\dispatch.c");
    CHECK(st->frames[3].line == 47);
  }
  kb_stacks_release(&s);
}

static void test_keybugcheckex_argument_is_the_code(void) {
  const char *files[] = {"stack-text-0x7f-double-fault.txt", "stack-text-ksm-0x7f.txt", "kn-kv-x64dbg-0xF7.txt"};
  const unsigned codes[] = {0x7F, 0x7F, 0xF7};
  const size_t frames[] = {4, 9, 7};
  for (size_t i = 0; i < 3; i++) {
    kb_stacks s = {0};
    if (!parse_fixture(files[i], &s)) continue;
    CHECK(s.n == 1);
    if (s.n == 1) {
      CHECK(s.v[0].nframes == frames[i]);
      CHECK(s.v[0].bugcheck == codes[i]);
      CHECK_STR(s.v[0].reason.kind, "bugcheck");
    }
    kb_stacks_release(&s);
  }
}

static void test_kn_frame_numbers(void) {
  kb_stacks s = {0};
  if (!parse_fixture("kn-kv-x64dbg-0xF7.txt", &s)) return;
  if (s.n == 1) {
    CHECK_STR(s.v[0].frames[0].address, "fffff800`1811b2e5");
    CHECK_STR(s.v[0].frames[1].function, "_report_gsfailure");
    CHECK(s.v[0].first_line == 3);
  }
  kb_stacks_release(&s);
}

static void test_user_mode_exception_and_bucket(void) {
  kb_stacks s = {0};
  if (!parse_fixture("analyze-usermode-owncloud.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 1);
    CHECK_STR(st->frames[0].module, "libxml2_2");
    CHECK_STR(st->reason.kind, "exception");
    CHECK_STR(st->reason.code, "0xC0000005");
    CHECK_STR(st->reason.bucket, "NULL_CLASS_PTR_DEREFERENCE_FTH_ACTIVE_UNKNOWN_XMULTI");
    CHECK(st->bugcheck == 0);
  }
  kb_stacks_release(&s);
}

/* The reason lines WinDbg prints in its other commands and summaries. */
static void test_reason_lines(void) {
  const char *stack = "nt!KeBugCheckEx\nmydrv!Foo+0x12\n";
  const struct {
    const char *lines, *code, *params;
  } cases[] = {
      {"BugCheck A, {28, 2, 0, fffff80002134dfe}\n", "0xA", "0x28 0x2 0x0 0xfffff80002134dfe"},
      {"Bugcheck code 0000000A\nArguments 00000000`00000028 00000000`00000002 00000000`00000000 fffff800`02134dfe\n",
       "0xA", "0x28 0x2 0x0 0xfffff80002134dfe"},
      {"BUGCHECK_CODE:  a\n\nBUGCHECK_P1: 28\n\nBUGCHECK_P2: 2\n\nBUGCHECK_P3: 0\n\nBUGCHECK_P4: fffff80002134dfe\n",
       "0xA", "0x28 0x2 0x0 0xfffff80002134dfe"},
      {"*** Fatal System Error: 0x000000d1\n                       "
       "(0xFFFFF8037ACA1FA0,0x00000000000000FF,0x0000000000000000,0xFFFFF8037ACA1FA0)\n",
       "0xD1", "0xfffff8037aca1fa0 0xff 0x0 0xfffff8037aca1fa0"},
      {"The computer has rebooted from a bugcheck.  The bugcheck was: 0x0000007c (0x0000000000000014, "
       "0x0000000000000002, 0x0000000000000000, 0x0000000000000000).\n",
       "0x7C", "0x14 0x2 0x0 0x0"},
      {"SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M (1000007e)\nArguments:\nArg1: ffffffffc0000005, code\n", "0x1000007E",
       "0xffffffffc0000005"},
      /* WhoCrashed's summary */
      {"(NETIO+0x10B62) Bugcheck code: 0x3B (0xC0000005, 0xFFFFF80C994C0B62, 0xFFFFB8001F646070, 0x0)\n", "0x3B",
       "0xc0000005 0xfffff80c994c0b62 0xffffb8001f646070 0x0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text = kb_xasprintf("%s%s", cases[i].lines, stack);
    kb_stacks s = {0};
    parse_text(text, &s);
    CHECK(s.n == 1);
    if (s.n == 1) {
      CHECK_STR(s.v[0].reason.kind, "bugcheck");
      CHECK_STR(s.v[0].reason.code, cases[i].code);
      CHECK_STR(s.v[0].reason.params, cases[i].params);
    }
    kb_stacks_release(&s);
    free(text);
  }
}

/* KeBugCheckEx's arguments after the code are the parameters when the text gives none; a
 * frameless event-log line gets the code's name. */
static void test_keybugcheckex_arguments_are_the_params(void) {
  kb_stacks s = {0};
  parse_text("STACK_TEXT:\n"
             "fffff98c`8ac67c78 fffff803`71dad260 : 00000000`0000007c 00000000`00000014 00000000`00000002 "
             "00000000`00000000 : nt!KeBugCheckEx\n"
             "fffff98c`8ac67c80 fffff803`73ef33b6 : 00000000`00000000 fffff803`6c721db5 00000000`00000000 "
             "ffff8688`926d2040 : ndis!NdisWaitEvent+0x1f580\n"
             "fffff98c`8ac67cc0 fffff803`73ef42b9 : ffff8688`8cf45010 ffff8688`8cf45010 00000000`30505741 "
             "ffff8688`00000000 : npcap+0x33b6\n",
             &s);
  CHECK(s.n == 1);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.code, "0x7C");
    CHECK_STR(s.v[0].reason.name, "BUGCODE_NDIS_DRIVER");
    CHECK_STR(s.v[0].reason.params, "0x14 0x2 0x0");
  }
  kb_stacks_release(&s);
  /* a stated Arg1 wins over the arguments */
  parse_text("Arg1: 0000000000000021, NDIS_BUGCHECK_INVALID_OBJECT_HEADER\n"
             "fffff98c`8ac67c78 fffff803`71dad260 : 00000000`0000007c 00000000`00000014 00000000`00000002 "
             "00000000`00000000 : nt!KeBugCheckEx\n"
             "fffff98c`8ac67c80 fffff803`73ef33b6 : 00000000`00000000 fffff803`6c721db5 00000000`00000000 "
             "ffff8688`926d2040 : ndis!NdisWaitEvent+0x1f580\n",
             &s);
  if (s.n == 1) CHECK_STR(s.v[0].reason.params, "0x21");
  kb_stacks_release(&s);
  parse_text("The bugcheck was: 0x0000007c (0x0000000000000014, 0x0000000000000002, 0x0, 0x0).\n", &s);
  CHECK(s.n == 0);
  CHECK_STR(s.reason.name, "BUGCODE_NDIS_DRIVER");
  kb_stacks_release(&s);
}

/* What the text says wins over KeBugCheckEx's argument; the argument of a kp frame counts. */
static void test_code_precedence_and_kp_argument(void) {
  kb_stacks s = {0};
  parse_text("BUGCHECK_CODE:  d1\nSTACK_TEXT:\nfffff800`4876a8c8 fffff800`46dc97e9 : 00000000`0000000a 0 0 0 : "
             "nt!KeBugCheckEx\n",
             &s);
  CHECK(s.n == 1 && s.v[0].bugcheck == 0xD1);
  kb_stacks_release(&s);
  parse_text("ChildEBP RetAddr\n8054b0c8 80536c33 nt!KeBugCheckEx(unsigned long BugCheckCode = 0xa, unsigned long "
             "BugCheckParameter1 = 0x28)+0x1b\n",
             &s);
  CHECK(s.n == 1 && s.v[0].bugcheck == 0xA);
  if (s.n == 1) CHECK_STR(s.v[0].frames[0].offset, "0x1b");
  kb_stacks_release(&s);
}

static void test_inline_frames_and_templates(void) {
  kb_stacks s = {0};
  parse_text(" # Child-SP          RetAddr               Call Site\n"
             "00 (Inline Function) --------`-------- app!std::vector<int,std::allocator<int> >::size+0x4\n"
             "01 00000000`0014f8a0 00007ff6`1a2b3c4d app!`anonymous namespace'::worker+0x1f\n",
             &s);
  CHECK(s.n == 1);
  if (s.n == 1 && s.v[0].nframes == 2) {
    CHECK_STR(s.v[0].frames[0].function, "std::vector<int,std::allocator<int> >::size");
    CHECK_STR(s.v[0].frames[1].function, "`anonymous namespace'::worker");
    CHECK_STR(s.v[0].frames[1].offset, "0x1f");
  }
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_kv_x86_fpo_and_unsymbolized);
  RUN(test_kv_trapframe_and_bare_addresses);
  RUN(test_wrapped_kb_lines_rejoined);
  RUN(test_kb_kp_kP_kv_source_info);
  RUN(test_analyze_title_and_arguments);
  RUN(test_stack_text_joined_on_one_line);
  RUN(test_dr_watson_table);
  RUN(test_quoted_escaped_with_source);
  RUN(test_keybugcheckex_argument_is_the_code);
  RUN(test_kn_frame_numbers);
  RUN(test_user_mode_exception_and_bucket);
  RUN(test_reason_lines);
  RUN(test_keybugcheckex_arguments_are_the_params);
  RUN(test_code_precedence_and_kp_argument);
  RUN(test_inline_frames_and_templates);
  return harness_done();
}
