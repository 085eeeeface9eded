/* test_parse_linux.c - the Linux kernel format (core/stack/fmt_linux.c) on published
 * oopses, WARNINGs, panics and KASAN reports (tests/stacks/linux/, sources in
 * tests/stacks/SOURCES.md), and on the reason lines one by one. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/stack.h"
#include "util/util.h"

static bool parse_fixture(const char *name, kb_stacks *s) {
  char *path = kb_xasprintf("%s/tests/stacks/linux/%s", harness_source_dir(), name);
  size_t len;
  char *text = harness_read_file(path, &len);
  if (!text) harness_fail(__FILE__, __LINE__, "fixture %s missing", path);
  else kb_stacks_parse(text, len, s);
  free(text);
  free(path);
  return text != NULL;
}

static void parse_text(const char *text, kb_stacks *s) { kb_stacks_parse(text, strlen(text), s); }

static void test_kasan_with_alloc_and_free_stacks(void) {
  kb_stacks s = {0};
  if (!parse_fixture("kasan-bluetooth-osv.txt", &s)) return;
  CHECK(s.n == 3); /* the access, "Allocated by task", "Freed by task" */
  if (s.n == 3) {
    const kb_stack *st = &s.v[0];
    CHECK_STR(st->format, "linux");
    CHECK(st->nframes == 10);
    CHECK_STR(st->reason.kind, "kernel");
    CHECK_STR(st->reason.code, "KASAN: slab-use-after-free");
    CHECK_STR(st->reason.name, "conn_update_sync");
    CHECK(st->frames[0].module == NULL);
    CHECK_STR(st->frames[0].function, "dump_stack_lvl");
    CHECK_STR(st->frames[3].module, "bluetooth");
    CHECK_STR(st->frames[3].offset, "0x2a/0xf0");
    CHECK(s.v[1].nframes == 3 && s.v[2].nframes == 4);
    CHECK(s.v[1].reason.code == NULL);
  }
  kb_stacks_release(&s);
}

/* RIP comes before the trace: it is frame 0; the user-mode RIP after it is not a frame. */
static void test_gpf_rip_is_frame_zero(void) {
  kb_stacks s = {0};
  if (!parse_fixture("gpf-kasan-nullptr-syzkaller.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 13);
    CHECK_STR(st->reason.code, "general protection fault");
    CHECK(st->reason.name == NULL); /* "KASAN: null-ptr-deref in range [...]" names no function */
    CHECK_STR(st->frames[0].function, "nl802154_add_llsec_key");
    CHECK_STR(st->frames[0].offset, "0x1f7/0x560");
    CHECK_STR(st->frames[1].function, "genl_family_rcv_msg_doit");
    CHECK_STR(st->frames[12].function, "entry_SYSCALL_64_after_hwframe");
    CHECK(st->first_line == 5);
  }
  kb_stacks_release(&s);
}

/* Unreliable frames are kept with their '?' in raw and no address; RIP mid-trace stays there. */
static void test_warning_unreliable_frames(void) {
  kb_stacks s = {0};
  if (!parse_fixture("warning-panic-on-warn-syzkaller.txt", &s)) return;
  CHECK(s.n == 1);
  if (s.n == 1) {
    const kb_stack *st = &s.v[0];
    CHECK(st->nframes == 17);
    CHECK_STR(st->reason.code, "WARNING");
    CHECK_STR(st->reason.name, "usb_submit_urb");
    CHECK_STR(st->reason.message, "drivers/usb/core/urb.c:478");
    CHECK_STR(st->frames[1].raw, "? usb_submit_urb+0x1090/0x1460");
    CHECK(st->frames[1].address == NULL);
    CHECK_STR(st->frames[15].function, "invalid_op");
    CHECK_STR(st->frames[16].function, "usb_submit_urb");
    CHECK_CONTAINS(st->frames[16].raw, "RIP: 0010:");
  }
  kb_stacks_release(&s);
}

static void test_syslog_prefixes_stripped(void) {
  kb_stacks s = {0};
  if (!parse_fixture("null-deref-syslog-aquantia.txt", &s)) return;
  CHECK(s.n == 1 && s.v[0].nframes == 18);
  if (s.n == 1) {
    CHECK_STR(s.v[0].frames[0].raw, "? rtnl_calcit.isra.0+0x130/0x130");
    CHECK_STR(s.v[0].frames[17].function, "__x64_sys_sendmsg");
  }
  kb_stacks_release(&s);
  if (!parse_fixture("kernel-bug-list-del-fedora-syslog.txt", &s)) return; /* a Russian month name */
  CHECK(s.n == 1);
  if (s.n == 1) {
    CHECK(s.v[0].nframes == 2);
    CHECK_STR(s.v[0].reason.code, "kernel BUG");
    CHECK_STR(s.v[0].reason.message, "lib/list_debug.c:51");
    CHECK_STR(s.v[0].frames[0].function, "__list_del_entry_valid.cold");
    CHECK_STR(s.v[0].frames[1].function, "__dentry_kill");
  }
  kb_stacks_release(&s);
}

static void test_old_formats(void) {
  kb_stacks s = {0};
  if (!parse_fixture("old-format-eoi-kernel-sanitizers.txt", &s)) return;
  CHECK(s.n == 1 && s.v[0].nframes == 18);
  if (s.n == 1) {
    CHECK(s.v[0].frames[0].address == NULL); /* "? " */
    CHECK_STR(s.v[0].frames[3].address, "ffffffff83a92f6c");
    CHECK_STR(s.v[0].frames[11].function, "anon_vma_clone"); /* after "<EOI>" */
  }
  kb_stacks_release(&s);
  if (!parse_fixture("oops-2.6-wordpress-damaged.txt", &s)) return;
  CHECK(s.n == 1 && s.v[0].nframes == 8);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.code, "paging request");
    CHECK_STR(s.v[0].frames[0].function, "kobject_add"); /* "EIP is at" */
    CHECK_STR(s.v[0].frames[0].offset, "0x83/0xd7");   /* "0×83" repaired */
    CHECK_STR(s.v[0].frames[5].module, "bluesmoke_e752x");
  }
  kb_stacks_release(&s);
}

static void test_other_architectures(void) {
  kb_stacks s = {0};
  if (!parse_fixture("arm-vunmap-raspberrypi.txt", &s)) return;
  CHECK(s.n == 1 && s.v[0].nframes == 8); /* register lines between frames do not break it */
  if (s.n == 1) {
    CHECK_STR(s.v[0].frames[0].function, "__vunmap");
    CHECK_STR(s.v[0].frames[0].address, "80311ae4");
    CHECK_STR(s.v[0].frames[7].function, "kthread");
  }
  kb_stacks_release(&s);
  if (!parse_fixture("arm-from-rtw88.txt", &s)) return;
  CHECK(s.n == 1 && s.v[0].nframes == 9);
  if (s.n == 1) {
    CHECK_STR(s.v[0].frames[0].function, "rtw88xxa_power_on");
    CHECK_STR(s.v[0].frames[0].module, "rtw_88xxa");
    CHECK(s.v[0].frames[6].module == NULL);
  }
  kb_stacks_release(&s);
  if (!parse_fixture("hung-task-arm64-syzkaller.txt", &s)) return;
  CHECK(s.n == 1 && s.v[0].nframes == 26);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.code, "hung task");
    CHECK_STR(s.v[0].frames[0].function, "__switch_to");
  }
  kb_stacks_release(&s);
  if (!parse_fixture("powerpc-skiboot.txt", &s)) return;
  CHECK(s.n == 1 && s.v[0].nframes == 5);
  if (s.n == 1) {
    CHECK_STR(s.v[0].frames[0].function, "dbs_update_util_handler"); /* NIP */
    CHECK(s.v[0].frames[1].address == NULL);                         /* "(unreliable)" */
    CHECK_STR(s.v[0].frames[2].address, "c000000000150aec");
  }
  kb_stacks_release(&s);
}

/* "---[ end trace ]---" ends the stack: the RIP printed again after it is not a frame. */
static void test_end_trace(void) {
  kb_stacks s = {0};
  if (!parse_fixture("end-trace-repeat-iomemory.txt", &s)) return;
  CHECK(s.n == 1 && s.v[0].nframes == 7);
  if (s.n == 1) {
    CHECK_STR(s.v[0].frames[0].module, "iomemory_vsl");
    CHECK_STR(s.v[0].frames[6].function, "ret_from_fork_asm");
  }
  kb_stacks_release(&s);
}

static void test_reason_lines(void) {
  const char *trace = "Call Trace:\n <TASK>\n a_func+0x1/0x2\n b_func+0x3/0x4 [mod]\n </TASK>\n";
  const struct {
    const char *line, *code, *name, *message;
  } cases[] = {
      {"BUG: unable to handle kernel NULL pointer dereference at 0000000000000010", "NULL pointer dereference", NULL,
       NULL},
      {"BUG: kernel NULL pointer dereference, address: 0000000000000008", "NULL pointer dereference", NULL, NULL},
      {"BUG: unable to handle page fault for address: ffffc90000a8f000", "page fault", NULL, NULL},
      {"general protection fault: 0000 [#1] SMP KASAN", "general protection fault", NULL, NULL},
      {"kernel BUG at fs/ext4/inode.c:2719!", "kernel BUG", NULL, "fs/ext4/inode.c:2719"},
      {"BUG: KASAN: use-after-free in tcp_v4_rcv+0x1a/0x40", "KASAN: use-after-free", "tcp_v4_rcv", NULL},
      {"WARNING: CPU: 1 PID: 2 at net/core/dev.c:12 netdev_warn+0x1a/0x40 [foo]", "WARNING", "netdev_warn",
       "net/core/dev.c:12"},
      {"WARNING: at kernel/sched.c:5071 thread_return+0x232/0x79d()", "WARNING", "thread_return", "kernel/sched.c:5071"},
      {"Kernel panic - not syncing: Fatal exception in interrupt", "Kernel panic", NULL, "Fatal exception in interrupt"},
      {"BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]", "soft lockup", NULL, NULL},
      {"BUG: scheduling while atomic: swapper/0/0/0x00000002", "scheduling while atomic", NULL, NULL},
      {"WARNING: possible circular locking dependency detected", "possible circular locking dependency detected",
       NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text = kb_xasprintf("%s\n%s", cases[i].line, trace);
    kb_stacks s = {0};
    parse_text(text, &s);
    CHECK(s.n == 1);
    if (s.n == 1) {
      CHECK_STR(s.v[0].reason.kind, "kernel");
      CHECK_STR(s.v[0].reason.code, cases[i].code);
      if (cases[i].name) CHECK_STR(s.v[0].reason.name, cases[i].name);
      if (cases[i].message) CHECK_STR(s.v[0].reason.message, cases[i].message);
      CHECK(s.v[0].nframes == 2);
      if (s.v[0].nframes == 2) CHECK_STR(s.v[0].frames[1].module, "mod");
    }
    kb_stacks_release(&s);
    free(text);
  }
}

/* Symbolized syzbot frames: "func file.c:94 [inline]"; the trace repeating RIP's frame. */
static void test_symbolized_and_repeated_site(void) {
  kb_stacks s = {0};
  parse_text("BUG: KASAN: slab-use-after-free in l2cap_send_cmd+0x187/0x8d0 net/bluetooth/l2cap_core.c:954\n"
             "Call Trace:\n <TASK>\n __dump_stack lib/dump_stack.c:94 [inline]\n"
             " dump_stack_lvl+0x116/0x1b0 lib/dump_stack.c:120\n"
             " l2cap_send_cmd+0x187/0x8d0 net/bluetooth/l2cap_core.c:954\n </TASK>\n",
             &s);
  CHECK(s.n == 1 && s.v[0].nframes == 3);
  if (s.n == 1 && s.v[0].nframes == 3) {
    CHECK_STR(s.v[0].frames[0].function, "__dump_stack");
    CHECK_STR(s.v[0].frames[0].file, "lib/dump_stack.c");
    CHECK(s.v[0].frames[0].line == 94);
    CHECK_STR(s.v[0].frames[2].offset, "0x187/0x8d0");
  }
  kb_stacks_release(&s);
  parse_text("pc : __list_del_entry_valid+0x18/0x64\nlr : __list_del_entry_valid+0x18/0x64\nCall trace:\n"
             " __list_del_entry_valid+0x18/0x64\n list_del_thing+0x1/0x2\n",
             &s);
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  kb_stacks_release(&s);
}

/* Prose that mentions functions is not a stack. */
static void test_prose_is_not_a_kernel_stack(void) {
  kb_stacks s = {0};
  parse_text("Copied from the docs\nRead from the file\nError at main.c:12\nfailed at util.c:3\n"
             "WARNING: Stack unwind information not available. Following frames may be wrong.\n",
             &s);
  CHECK(s.n == 0);
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_kasan_with_alloc_and_free_stacks);
  RUN(test_gpf_rip_is_frame_zero);
  RUN(test_warning_unreliable_frames);
  RUN(test_syslog_prefixes_stripped);
  RUN(test_old_formats);
  RUN(test_other_architectures);
  RUN(test_end_trace);
  RUN(test_reason_lines);
  RUN(test_symbolized_and_repeated_site);
  RUN(test_prose_is_not_a_kernel_stack);
  return harness_done();
}
