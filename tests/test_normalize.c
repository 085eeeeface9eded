/* test_normalize.c - frame norms, skip/prefix flags and signatures for every platform
 * (core/stack/normalize.c), and the embedded skip lists (core/stack/skiplist.c). Stacks
 * are built by hand, frame fields as a format would fill them, except the WinDbg seed
 * which goes through the parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stack/skiplist.h"
#include "stack/stack.h"
#include "util/util.h"

typedef struct spec {
  const char *module, *function, *file;
} spec;

static char *dup_or_null(const char *s) {
  return s ? kb_xstrdup(s) : NULL;
}

/* One normalized stack, frames innermost first. Release with kb_stacks_release. */
static kb_stacks hand_stack(const char *platform, const spec *sp, size_t n) {
  kb_stacks s = {0};
  s.v = kb_xcalloc(1, sizeof *s.v);
  s.n = s.cap = 1;
  kb_stack *st = &s.v[0];
  st->format = "test";
  st->platform = platform;
  st->frames = kb_xcalloc(n ? n : 1, sizeof *st->frames);
  st->nframes = st->cap = n;
  for (size_t i = 0; i < n; i++) {
    kb_frame *f = &st->frames[i];
    f->module = dup_or_null(sp[i].module);
    f->function = dup_or_null(sp[i].function);
    f->file = dup_or_null(sp[i].file);
    f->offset = kb_xstrdup("0x1f");
    f->line = 42;
    f->address = kb_xstrdup("00007ff6`1a2b3c4d");
  }
  kb_stack_normalize(st);
  return s;
}

static unsigned last_flags;

/* The norm of one frame (static copy), its flags in last_flags. */
static const char *norm1(const char *platform, const char *module, const char *function, const char *file) {
  static char out[1024];
  spec sp = {module, function, file};
  kb_stacks s = hand_stack(platform, &sp, 1);
  snprintf(out, sizeof out, "%s", s.v[0].frames[0].norm ? s.v[0].frames[0].norm : "(null)");
  last_flags = s.v[0].frames[0].flags;
  kb_stacks_release(&s);
  return out;
}

#define FLAGS(f) (last_flags & (f))

/* The signature of a hand-built stack (static copy). */
static const char *signature_of(const char *platform, const spec *sp, size_t n) {
  static char out[1024];
  kb_stacks s = hand_stack(platform, sp, n);
  snprintf(out, sizeof out, "%s", s.v[0].signature ? s.v[0].signature : "(null)");
  kb_stacks_release(&s);
  return out;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- windows ---- */

static const char seed_stack[] =
    "STACK_TEXT:\n"
    "fffff800`4876a8c8 fffff800`46dc97e9 : 00000000`0000000a 00000000`00000028 00000000`00000002 00000000`00000000 : nt!KeBugCheckEx\n"
    "fffff800`4876a8d0 fffff800`46dc803a : 00000000`00000000 00000000`00000003 fffff800`00691000 fffff800`4876aa10 : nt!KiBugCheckDispatch+0x69\n"
    "fffff800`4876aa10 fffff800`0213572f : fffff800`02134dfe 00000000`00000000 00000000`00000000 fffff800`4876ab58 : nt!KiPageFault+0x23a\n"
    "fffff800`4876aba8 fffff800`02134dfe : 00000000`00000000 00000000`00000000 fffff800`4876ab58 00000000`00000000 : MsLbfoProvider!vmqcGetFirstMappedMNic+0xf\n"
    "fffff800`4876abb0 fffff800`0069c44b : 00000000`00000000 00000000`00000000 00000000`00000000 ffffe000`0ce416c0 : MsLbfoProvider!LbfoReceiveNetBufferListsComplete+0x92\n"
    "fffff800`4876ac00 fffff800`0068d09d : 00000000`00000002 00000000`00000000 ffffe000`79a8c910 00000000`00000000 : NDIS!ndisInvokeNextReceiveCompleteHandler+0xf35b\n";

static void test_seed_signature(void) {
  kb_stacks s = {0};
  kb_stacks_parse(seed_stack, strlen(seed_stack), &s);
  CHECK(s.n == 1);
  if (s.n != 1 || s.v[0].nframes != 6) return;
  const kb_stack *st = &s.v[0];
  CHECK_STR(st->signature, "mslbfoprovider!vmqcGetFirstMappedMNic");
  CHECK_STR(st->reason.code, "0xA"); /* the reason is kept apart, not in the signature */
  for (int i = 0; i < 3; i++) {
    CHECK(st->frames[i].flags & KB_FRAME_SKIP);
    CHECK(!(st->frames[i].flags & KB_FRAME_SIGNATURE));
  }
  CHECK_STR(st->frames[0].norm, "nt!KeBugCheckEx");
  CHECK_STR(st->frames[1].norm, "nt!KiBugCheckDispatch");
  CHECK(st->frames[3].flags == KB_FRAME_SIGNATURE);
  CHECK(!(st->frames[4].flags & KB_FRAME_SIGNATURE));
  CHECK_STR(st->frames[5].norm, "ndis!ndisInvokeNextReceiveCompleteHandler");
  for (size_t i = 0; i < st->nframes; i++) CHECK_NOT_CONTAINS(st->frames[i].norm, "0x");
  kb_stacks_release(&s);
}

static void test_windows_norms(void) {
  CHECK_STR(norm1("windows", "NDIS.SYS", "ndisMIndicateNetBufferListsToOpen", NULL),
            "ndis!ndisMIndicateNetBufferListsToOpen");
  CHECK_STR(norm1("windows", "MSLBFOPROVIDER", "vmqcGetFirstMappedMNic", NULL), "mslbfoprovider!vmqcGetFirstMappedMNic");
  CHECK_STR(norm1("windows", "C:\\Windows\\System32\\drivers\\MsLbfoProvider.sys", "vmqcGetFirstMappedMNic", NULL),
            "mslbfoprovider!vmqcGetFirstMappedMNic");
  CHECK_STR(norm1("windows", "nt", "KiPageFault+0x23a", NULL), "nt!KiPageFault");
  CHECK(FLAGS(KB_FRAME_SKIP));
  /* the kernel and HAL under their image names */
  CHECK_STR(norm1("windows", "ntoskrnl.exe", "KiPageFault", NULL), "nt!KiPageFault");
  CHECK(FLAGS(KB_FRAME_SKIP));
  CHECK_STR(norm1("windows", "ntkrnlmp", "KeBugCheckEx", NULL), "nt!KeBugCheckEx");
  CHECK_STR(norm1("windows", "halmacpi.dll", "HalpBugCheckCallbacks", NULL), "hal!HalpBugCheckCallbacks");
  CHECK_STR(norm1("windows", "ntoskrnl.exe", NULL, NULL), "nt!?");
  /* unsymbolized: module+0x1234 */
  CHECK_STR(norm1("windows", "mydrv", NULL, NULL), "mydrv!?");
  CHECK(FLAGS(KB_FRAME_UNSYMBOLIZED));
  CHECK(!FLAGS(KB_FRAME_SKIP | KB_FRAME_PREFIX));
  CHECK_STR(norm1("windows", NULL, NULL, NULL), "?");
  CHECK(FLAGS(KB_FRAME_UNSYMBOLIZED));
  CHECK_STR(norm1("windows", "mydrv", "0xfffff800`02134dfe", NULL), "mydrv!?");
  /* C++ decorations */
  CHECK_STR(norm1("windows", "myapp", "std::vector<int,std::allocator<int> >::operator[]", NULL),
            "myapp!std::vector<T>::operator[]");
  CHECK_STR(norm1("windows", "myapp", "CDevice::Start(int, char *) const", NULL), "myapp!CDevice::Start");
  CHECK_STR(norm1("windows", "myapp", "int __cdecl Foo::Bar(int)", NULL), "myapp!Foo::Bar");
  CHECK_STR(norm1("windows", "myapp", "`anonymous namespace'::<lambda_1f2e3d4c5b6a7980>::operator()", NULL),
            "myapp!`anonymous namespace'::<lambda>::operator()");
  CHECK_STR(norm1("windows", "myapp", "Foo::operator<<", NULL), "myapp!Foo::operator<<");
  CHECK_STR(norm1("windows", "myapp", "_Stdcall@12", NULL), "myapp!_Stdcall");
}

static void test_windows_flags(void) {
  norm1("windows", "hal", "HalpBugCheckCallbacks", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("windows", "nt", "RtlpBreakWithStatusInstruction", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP)); /* a skip wins over the Rtl* prefix */
  CHECK(!FLAGS(KB_FRAME_PREFIX));
  norm1("windows", "nt", "KiSystemServiceCopyEnd", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("windows", "nt", "ExFreePoolWithTag", NULL);
  CHECK(FLAGS(KB_FRAME_PREFIX));
  norm1("windows", "nt", "RtlCopyMemory", NULL);
  CHECK(FLAGS(KB_FRAME_PREFIX));
  norm1("windows", "msvcrt", "memcpy", NULL);
  CHECK(FLAGS(KB_FRAME_PREFIX));
  norm1("windows", "mydrv", "ProcessPacket", NULL);
  CHECK(!FLAGS(KB_FRAME_SKIP | KB_FRAME_PREFIX));
  /* a pattern with a module only matches that module */
  norm1("windows", "mydrv", "KiPageFault", NULL);
  CHECK(!FLAGS(KB_FRAME_SKIP));
}

static void test_windows_signature_prefix(void) {
  const spec sp[] = {{"nt", "KeBugCheckEx", NULL}, {"nt", "KiPageFault", NULL}, {"nt", "memcpy", NULL},
                     {"nt", "ExFreePoolWithTag", NULL}, {"MyDrv.sys", "CleanupQueue", NULL}, {"MyDrv", "Unload", NULL}};
  CHECK_STR(signature_of("windows", sp, N(sp)), "nt!memcpy | nt!ExFreePoolWithTag | mydrv!CleanupQueue");
  /* unsymbolized frames do not end the walk: "mydrv!?" alone says little */
  const spec sp2[] = {{"nt", "KeBugCheckEx", NULL}, {"mydrv", NULL, NULL}, {"mydrv", "DispatchIoctl", NULL},
                      {"nt", "IofCallDriver", NULL}};
  CHECK_STR(signature_of("windows", sp2, N(sp2)), "mydrv!? | mydrv!DispatchIoctl");
}

/* ---- linux ---- */

static void test_linux_norms(void) {
  /* the module is dropped: drm is "[drm]" on one kernel and built in on another */
  CHECK_STR(norm1("linux", "drm", "drm_ioctl+0x2e5/0x4a0", NULL), "drm_ioctl");
  CHECK_STR(norm1("linux", NULL, "drm_ioctl+0x1d5/0x390", NULL), "drm_ioctl");
  CHECK_STR(norm1("linux", "[nvidia_uvm]", "uvm_va_block_find+0x1a/0x40", NULL), "uvm_va_block_find");
  CHECK_STR(norm1("linux", "[zfs]", NULL, NULL), "zfs!?");
  CHECK(FLAGS(KB_FRAME_UNSYMBOLIZED));
  CHECK_STR(norm1("linux", NULL, "tcp_v4_rcv+0x12/0x40", NULL), "tcp_v4_rcv");
  CHECK_STR(norm1("linux", "vmlinux", "tcp_v4_rcv", NULL), "tcp_v4_rcv");
  CHECK_STR(norm1("linux", NULL, "nfc_llcp_sock_release.isra.0", NULL), "nfc_llcp_sock_release");
  CHECK_STR(norm1("linux", NULL, "ext4_find_entry.constprop.0.cold", NULL), "ext4_find_entry");
  CHECK_STR(norm1("linux", NULL, "btrfs_search_slot.part.0", NULL), "btrfs_search_slot");
  CHECK_STR(norm1("linux", NULL, "? __x64_sys_ioctl+0x8c/0xc0", NULL), "ioctl");
  CHECK_STR(norm1("linux", NULL, "__se_sys_read", NULL), "read");
  CHECK_STR(norm1("linux", NULL, "__do_sys_openat", NULL), "openat");
  CHECK_STR(norm1("linux", NULL, "SyS_write", NULL), "write");
  CHECK_STR(norm1("linux", NULL, "sys_close", NULL), "close");
  CHECK_STR(norm1("linux", NULL, "__ia32_sys_mmap", NULL), "mmap");
}

static void test_linux_flags_and_signature(void) {
  static const char *const skipped[] = {"dump_stack", "dump_stack_lvl", "panic", "__warn", "report_bug", "handle_bug",
                                        "exc_invalid_op", "asm_exc_invalid_op", "asm_exc_page_fault", "kasan_report",
                                        "__kasan_report", "__asan_load8", "print_address_description.constprop.0",
                                        "ret_from_fork", "entry_SYSCALL_64_after_hwframe", "do_syscall_64", NULL};
  for (const char *const *s = skipped; *s; s++) {
    norm1("linux", NULL, *s, NULL);
    if (!FLAGS(KB_FRAME_SKIP)) harness_fail(__FILE__, __LINE__, "linux %s is not SKIP", *s);
  }
  static const char *const prefixes[] = {"_raw_spin_lock_irqsave", "mutex_lock", "kfree", "kmalloc_trace", "memcpy",
                                         "__memcpy", "copy_from_user", NULL};
  for (const char *const *s = prefixes; *s; s++) {
    norm1("linux", NULL, *s, NULL);
    if (!FLAGS(KB_FRAME_PREFIX)) harness_fail(__FILE__, __LINE__, "linux %s is not PREFIX", *s);
  }
  const spec sp[] = {{NULL, "dump_stack_lvl+0x4d/0x70", NULL},
                     {NULL, "print_address_description.constprop.0+0x2c/0x3c0", NULL},
                     {NULL, "kasan_report+0xb4/0xf0", NULL},
                     {NULL, "memcpy+0x1f/0x60", NULL},
                     {"nfc", "nfc_llcp_recv_hdlc.isra.0+0x12/0x80", NULL},
                     {"nfc", "nfc_llcp_rx_work+0x2d0/0x420", NULL},
                     {NULL, "process_one_work+0x1e2/0x3b0", NULL},
                     {NULL, "ret_from_fork+0x1f/0x30", NULL}};
  CHECK_STR(signature_of("linux", sp, N(sp)), "memcpy | nfc_llcp_recv_hdlc");
}

/* ---- jvm ---- */

static void test_jvm(void) {
  char a[256];
  snprintf(a, sizeof a, "%s", norm1("jvm", NULL, "com.acme.App.lambda$main$0", "App.java"));
  CHECK_STR(a, "com.acme.App.lambda$");
  CHECK_STR(norm1("jvm", NULL, "com.acme.App.lambda$main$12(App.java:88)", NULL), a);
  CHECK_STR(norm1("jvm", NULL, "com.acme.App.main(App.java:12)", NULL), "com.acme.App.main");
  CHECK_STR(norm1("jvm", NULL, "com.acme.App.main", "App.java"), "com.acme.App.main");
  CHECK_STR(norm1("jvm", NULL, "com.acme.App$$Lambda$14/0x0000000800c03000.apply", NULL), "com.acme.App$$Lambda.apply");
  CHECK(FLAGS(KB_FRAME_SKIP));
  CHECK_STR(norm1("jvm", NULL, "com.acme.App$$Lambda/0x000001f0c1004a00.run", NULL), "com.acme.App$$Lambda.run");
  CHECK_STR(norm1("jvm", NULL, "com.acme.App$$Lambda$1/1072591677.run", NULL), "com.acme.App$$Lambda.run");
  CHECK_STR(norm1("jvm", NULL, "com.acme.OrderService$$EnhancerBySpringCGLIB$$1a2b3c4d.placeOrder", NULL),
            "com.acme.OrderService.placeOrder");
  CHECK_STR(norm1("jvm", NULL, "com.acme.OrderService$$FastClassBySpringCGLIB$$9f8e7d.invoke", NULL),
            "com.acme.OrderService.invoke");
  CHECK_STR(norm1("jvm", NULL, "sun.reflect.GeneratedMethodAccessor123.invoke", NULL),
            "sun.reflect.GeneratedMethodAccessor.invoke");
  CHECK(FLAGS(KB_FRAME_SKIP));
  CHECK_STR(norm1("jvm", NULL, "com.acme.Outer.access$000", NULL), "com.acme.Outer.access$");
  CHECK_STR(norm1("jvm", NULL, "com.acme.Outer.accessor$123", NULL), "com.acme.Outer.accessor$");
  CHECK_STR(norm1("jvm", NULL, "java.base/java.lang.Thread.run", NULL), "java.lang.Thread.run");
  CHECK(FLAGS(KB_FRAME_SKIP));
  CHECK_STR(norm1("jvm", NULL, "app//com.acme.Foo.bar", NULL), "com.acme.Foo.bar");
  CHECK_STR(norm1("jvm", NULL, "java.base@17.0.2/java.util.HashMap.get", NULL), "java.util.HashMap.get");
  CHECK(FLAGS(KB_FRAME_PREFIX));
  norm1("jvm", NULL, "jdk.internal.reflect.DirectMethodHandleAccessor.invoke", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("jvm", NULL, "java.lang.reflect.Method.invoke", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  const spec sp[] = {{NULL, "java.lang.NumberFormatException.forInputString", "NumberFormatException.java"},
                     {NULL, "java.lang.Integer.parseInt", "Integer.java"},
                     {NULL, "java.lang.Integer.parseInt", "Integer.java"},
                     {NULL, "com.acme.config.Loader.port", "Loader.java"},
                     {NULL, "com.acme.App.main", "App.java"}};
  CHECK_STR(signature_of("jvm", sp, N(sp)),
            "java.lang.NumberFormatException.forInputString | java.lang.Integer.parseInt | java.lang.Integer.parseInt"
            " | com.acme.config.Loader.port");
}

/* ---- dotnet ---- */

static void test_dotnet(void) {
  CHECK_STR(norm1("dotnet", NULL, "Acme.Orders.OrderService.<PlaceOrderAsync>d__5.MoveNext()", NULL),
            "Acme.Orders.OrderService.PlaceOrderAsync");
  CHECK_STR(norm1("dotnet", NULL, "Acme.Orders.OrderService.PlaceOrderAsync(Order order, CancellationToken ct)", NULL),
            "Acme.Orders.OrderService.PlaceOrderAsync");
  CHECK_STR(norm1("dotnet", NULL, "System.Collections.Generic.List`1.get_Item(Int32 index)", NULL),
            "System.Collections.Generic.List`1.get_Item");
  CHECK(FLAGS(KB_FRAME_PREFIX));
  CHECK_STR(norm1("dotnet", NULL, "Acme.Program.<>c__DisplayClass0_0.<Main>b__0(String x)", NULL),
            "Acme.Program.<>c__DisplayClass.<Main>b__");
  CHECK_STR(norm1("dotnet", NULL, "Acme.Program.<Main>g__Local|0_1()", NULL), "Acme.Program.<Main>g__Local");
  CHECK_STR(norm1("dotnet", NULL, "GitUI.CommitInfo.<<RefreshSortedRefs>b__49_0>d.MoveNext()", NULL),
            "GitUI.CommitInfo.<RefreshSortedRefs>b__");
  CHECK_STR(norm1("dotnet", NULL, "Acme.Worker.<RunAsync>d.MoveNext()", NULL), "Acme.Worker.RunAsync");
  CHECK_STR(norm1("dotnet", NULL, "Acme.Repo.Get[T](Int32 id)", NULL), "Acme.Repo.Get");
  CHECK_STR(norm1("dotnet", NULL, "Acme.Cache`2[[System.String, mscorlib]].Get(String k)", NULL), "Acme.Cache`2.Get");
  CHECK_STR(norm1("dotnet", NULL, "Acme.Outer+Inner.Run()", NULL), "Acme.Outer.Inner.Run");
  CHECK_STR(norm1("dotnet", NULL, "lambda_method12(Closure, Object)", NULL), "lambda_method");
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("dotnet", NULL, "System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  const spec sp[] = {{NULL, "System.ThrowHelper.ThrowArgumentOutOfRange_IndexException()", NULL},
                     {NULL, "System.Collections.Generic.List`1.get_Item(Int32 index)", NULL},
                     {NULL, "Acme.Orders.OrderService.<PlaceOrderAsync>d__5.MoveNext()", NULL},
                     {NULL, "System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()", NULL},
                     {NULL, "Acme.Api.OrdersController.<Post>d__3.MoveNext()", NULL}};
  CHECK_STR(signature_of("dotnet", sp, N(sp)),
            "System.ThrowHelper.ThrowArgumentOutOfRange_IndexException | System.Collections.Generic.List`1.get_Item"
            " | Acme.Orders.OrderService.PlaceOrderAsync");
}

/* ---- python ---- */

static void test_python(void) {
  CHECK_STR(norm1("python", NULL, "index", "/srv/app/myapp/views.py"), "views:index");
  CHECK_STR(norm1("python", NULL, "save", "C:\\app\\models.py"), "models:save");
  CHECK_STR(norm1("python", NULL, "loads", "/usr/lib/python3.11/json/__init__.py"), "json:loads");
  CHECK(FLAGS(KB_FRAME_PREFIX));
  CHECK_STR(norm1("python", NULL, "<module>", "manage.py"), "manage:<module>");
  CHECK_STR(norm1("python", NULL, "<module>", "C:\\venv\\site-packages\\flask\\__init__.py"), "flask:<module>");
  /* pkg\__init__.py after Markdown ate the "\_" */
  CHECK_STR(norm1("python", NULL, "<module>", "C:\\venv\\site-packages\\flask__init__.py"), "flask:<module>");
  CHECK_STR(norm1("python", NULL, "<module>", "__init__.py"), "__init__:<module>");
  norm1("python", NULL, "_call_with_frames_removed", "<frozen importlib._bootstrap>");
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("python", NULL, "inner", "/venv/lib/python3.11/site-packages/django/core/handlers/exception.py");
  CHECK(FLAGS(KB_FRAME_SKIP));
  /* the driver puts the innermost frame first, as here */
  const spec sp[] = {{NULL, "raw_decode", "/usr/lib/python3.11/json/decoder.py"},
                     {NULL, "decode", "/usr/lib/python3.11/json/decoder.py"},
                     {NULL, "loads", "/usr/lib/python3.11/json/__init__.py"},
                     {NULL, "parse_body", "/srv/app/myapp/views.py"},
                     {NULL, "index", "/srv/app/myapp/views.py"}};
  CHECK_STR(signature_of("python", sp, N(sp)), "decoder:raw_decode | decoder:decode | json:loads | views:parse_body");
}

/* ---- go ---- */

static void test_go(void) {
  CHECK_STR(norm1("go", NULL, "main.main.func1(0xc000010000)", NULL), "main.main.func");
  CHECK_STR(norm1("go", NULL, "main.main.func2.1()", NULL), "main.main.func");
  CHECK_STR(norm1("go", NULL, "github.com/acme/svc/pkg.(*Server).Handle(0xc0000a0000, {0x6b3a40, 0xc000012018})",
                  NULL),
            "github.com/acme/svc/pkg.(*Server).Handle");
  CHECK_STR(norm1("go", NULL, "main.Map[...](...)", NULL), "main.Map[...]");
  CHECK_STR(norm1("go", NULL, "panic({0x4b3a40?, 0xc000012018?})", NULL), "panic");
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("go", NULL, "runtime.gopanic", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("go", NULL, "runtime.panicIndex(...)", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("go", NULL, "runtime.goexit()", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("go", NULL, "sync.(*Mutex).Lock(...)", NULL);
  CHECK(FLAGS(KB_FRAME_PREFIX));
  const spec sp[] = {{NULL, "panic({0x4b3a40?, 0xc000012018?})", "/usr/local/go/src/runtime/panic.go"},
                     {NULL, "main.(*Queue).Pop(0xc000010030)", "/src/queue.go"},
                     {NULL, "main.main.func1()", "/src/main.go"},
                     {NULL, "main.main()", "/src/main.go"},
                     {NULL, "runtime.goexit()", NULL}};
  CHECK_STR(signature_of("go", sp, N(sp)), "main.(*Queue).Pop");
  /* a deferred recover that re-panics sits above the original panic: skipped */
  const spec deferred[] = {{NULL, "main.(*program).checkFile.func1.1()", "/src/check.go"},
                           {NULL, "panic({0x1003fd660, 0x1005221b0})", "/go/src/runtime/panic.go"},
                           {NULL, "go/types.(*StdSizes).Alignof(0xc000132210)", "/go/src/go/types/sizes.go"},
                           {NULL, "main.(*program).checkFile(0xc000010000)", "/src/check.go"}};
  kb_stacks s = hand_stack("go", deferred, N(deferred));
  /* the standard library is walked through to the program's frame */
  CHECK_STR(s.v[0].signature, "go/types.(*StdSizes).Alignof | main.(*program).checkFile");
  CHECK(s.v[0].frames[0].flags & KB_FRAME_SKIP);
  CHECK(!(s.v[0].frames[3].flags & KB_FRAME_SKIP));
  kb_stacks_release(&s);
  /* an inlined call, "(...)", does not end the signature: inlining varies by compiler */
  const spec inlined[] = {{NULL, "main.(*Ctx).SizeOf(...)", "/src/linter.go"},
                          {NULL, "main.(*hugeParamChecker).checkParams(0x14004a93578)", "/src/huge.go"},
                          {NULL, "main.main()", "/src/main.go"}};
  CHECK_STR(signature_of("go", inlined, N(inlined)), "main.(*Ctx).SizeOf | main.(*hugeParamChecker).checkParams");
}

/* ---- native ---- */

static void test_native_norms(void) {
  /* the library is dropped once the function is known: debuggers print it inconsistently */
  CHECK_STR(norm1("native", "libc.so.6", "__GI_raise", NULL), "__GI_raise");
  CHECK(FLAGS(KB_FRAME_SKIP));
  CHECK_STR(norm1("native", "libsystem_kernel.dylib", "__pthread_kill", NULL), "__pthread_kill");
  CHECK(FLAGS(KB_FRAME_SKIP));
  /* and kept, normalized, when it is all there is */
  CHECK_STR(norm1("native", "/lib/x86_64-linux-gnu/libc-2.31.so", NULL, NULL), "libc!?");
  CHECK(FLAGS(KB_FRAME_UNSYMBOLIZED));
  CHECK_STR(norm1("native", "/lib/x86_64-linux-gnu/libc.so.6", "??", NULL), "libc!?");
  CHECK_STR(norm1("native", "/usr/lib/libc++abi.1.dylib", NULL, NULL), "libc++abi!?");
  CHECK_STR(norm1("native", "libsystem_kernel.dylib", "0x00007fff6c8b833a", NULL), "libsystem_kernel!?");
  CHECK_STR(norm1("native", "???", "0", NULL), "?"); /* macOS "??? 0x0 0 + 0" */
  CHECK(FLAGS(KB_FRAME_UNSYMBOLIZED));
  CHECK_STR(norm1("native", "/usr/lib/x86_64-linux-gnu/libasan.so.6", NULL, NULL), "libasan!?");
  CHECK(FLAGS(KB_FRAME_SKIP)); /* the sanitizer's runtime, even without symbols */
  CHECK_STR(norm1("native", NULL, "foo::bar<int>(std::vector<int, std::allocator<int> > const&) [clone .cold.1]", NULL),
            "foo::bar<T>");
  CHECK_STR(norm1("native", NULL, "parse_header.cold", NULL), "parse_header");
  CHECK_STR(norm1("native", NULL, "memcpy@plt", NULL), "memcpy");
  CHECK(FLAGS(KB_FRAME_PREFIX));
  CHECK_STR(norm1("native", "libc.so.6", "pthread_kill@@GLIBC_2.34", NULL), "pthread_kill");
  CHECK(FLAGS(KB_FRAME_SKIP));
  CHECK_STR(norm1("native", "libfoo.so.1", "??", NULL), "libfoo!?");
  CHECK(FLAGS(KB_FRAME_UNSYMBOLIZED));
  CHECK_STR(norm1("native", NULL, "<signal handler called>", NULL), "<signal handler called>");
  CHECK(FLAGS(KB_FRAME_SKIP));
  CHECK_STR(norm1("native", NULL,
                  "std::_Function_handler<void (int), main::{lambda(int)#1}>::_M_invoke(std::_Any_data const&, int&&)",
                  NULL),
            "std::_Function_handler<T>::_M_invoke");
  CHECK_STR(norm1("native", NULL, "main::{lambda(int)#1}::operator()(int) const", NULL),
            "main::{lambda}::operator()");
  CHECK_STR(norm1("native", NULL, "run(int)::{lambda()#2}::operator()() const", NULL), "run::{lambda}::operator()");
  CHECK_STR(norm1("native", NULL, "(anonymous namespace)::Worker::run()", NULL), "(anonymous namespace)::Worker::run");
  CHECK_STR(norm1("native", NULL, "virtual thunk to Foo::bar()", NULL), "Foo::bar");
  CHECK_STR(norm1("native", NULL, "void Foo::$_3::operator()<int>(int) const", NULL), "Foo::$_::operator()<int>");
  CHECK_STR(norm1("native", NULL, "operator new(unsigned long)", NULL), "operator new");
  CHECK(FLAGS(KB_FRAME_PREFIX));
  CHECK_STR(norm1("native", NULL, "-[NSObject(NSObject) doesNotRecognizeSelector:]", NULL),
            "-[NSObject(NSObject) doesNotRecognizeSelector:]");
  CHECK_STR(norm1("native", "a.out", "main + 8", NULL), "main");
  CHECK_STR(norm1("native", NULL, "handle_request (req=0x5555, len=12) at server.c:88", NULL), "handle_request");
}

static void test_native_signatures(void) {
  const spec gdb[] = {{NULL, "__pthread_kill_implementation (no_tid=0, signo=6, threadid=1) at ./nptl/pthread_kill.c:44",
                       NULL},
                      {NULL, "__GI_raise (sig=sig@entry=6)", NULL},
                      {NULL, "__GI_abort ()", NULL},
                      {NULL, "__libc_message (fmt=0x7ffff7f5e1d8 \"%s\\n\")", NULL},
                      {NULL, "malloc_printerr (str=0x7ffff7f5c0e0)", NULL},
                      {NULL, "_int_free (av=0x7ffff7f9bc80, p=0x55555555a2a0, have_lock=0)", NULL},
                      {NULL, "__GI___libc_free (mem=0x55555555a2b0)", NULL},
                      {NULL, "session_destroy (s=0x55555555a2b0) at session.c:41", NULL},
                      {NULL, "main (argc=1, argv=0x7fffffffe0a8) at main.c:12", NULL}};
  CHECK_STR(signature_of("native", gdb, N(gdb)), "_int_free | __GI___libc_free | session_destroy");
  const spec asan[] = {{NULL, "__asan_memcpy", NULL},
                       {"/srv/bin/parser", "Parser::readChunk(unsigned char*, unsigned long)", NULL},
                       {"/srv/bin/parser", "main", NULL},
                       {"libc.so.6", "__libc_start_main", NULL},
                       {"/srv/bin/parser", "_start", NULL}};
  CHECK_STR(signature_of("native", asan, N(asan)), "Parser::readChunk");
  /* Objective-C: the exception and forwarding machinery is skipped */
  const spec objc[] = {{"CoreFoundation", "__exceptionPreprocess", NULL},
                       {"libobjc.A.dylib", "objc_exception_throw", NULL},
                       {"CoreFoundation", "-[NSObject(NSObject) doesNotRecognizeSelector:]", NULL},
                       {"CoreFoundation", "___forwarding___", NULL},
                       {"CoreFoundation", "_CF_forwarding_prep_0", NULL},
                       {"Sequel Pro", "-[SPTablesList updateTables:]", NULL}};
  CHECK_STR(signature_of("native", objc, N(objc)), "-[SPTablesList updateTables:]");
}

/* One frame as gdb, lldb, ASan and a macOS report print it: one norm. */
static void test_native_across_debuggers(void) {
  char gdb[256];
  snprintf(gdb, sizeof gdb, "%s", norm1("native", NULL, "Exiv2::Internal::PngChunk::parseTXTChunk (data=..., keysize=0) ", NULL));
  CHECK_STR(gdb, "Exiv2::Internal::PngChunk::parseTXTChunk");
  CHECK_STR(norm1("native", "libexiv2.so.26", "Exiv2::Internal::PngChunk::parseTXTChunk(Exiv2::DataBuf const&, int)", NULL),
            gdb);
  CHECK_STR(norm1("native", "libexiv2.26.dylib", "Exiv2::Internal::PngChunk::parseTXTChunk(Exiv2::DataBuf const&, int) + 212",
                  NULL),
            gdb);
  CHECK_STR(norm1("native", "/usr/lib/x86_64-linux-gnu/libexiv2.so.26.0.0",
                  "Exiv2::Internal::PngChunk::parseTXTChunk(Exiv2::DataBuf const&, int, "
                  "Exiv2::Internal::PngChunk::TxtChunkType)",
                  "/src/pngchunk_int.cpp"),
            gdb);
}

/* ---- rust ---- */

static void test_rust(void) {
  char a[256];
  snprintf(a, sizeof a, "%s", norm1("rust", NULL, "myapp::parser::parse::h0123456789abcdef", NULL));
  CHECK_STR(a, "myapp::parser::parse");
  CHECK_STR(norm1("rust", NULL, "myapp::parser::parse::hfedcba9876543210", NULL), a);
  CHECK_STR(norm1("rust", NULL, "<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop::h1a2b3c4d5e6f7a8b", NULL),
            "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop");
  CHECK_STR(norm1("rust", NULL, "<impl core::fmt::Debug for myapp::Config>::fmt", NULL),
            "<impl core::fmt::Debug for myapp::Config>::fmt");
  CHECK_STR(norm1("rust", NULL, "myapp::main::{{closure}}::h0011223344556677", NULL), "myapp::main::{{closure}}");
  CHECK_STR(norm1("rust", NULL, "myapp::main::{closure#0}", NULL), "myapp::main::{{closure}}");
  CHECK_STR(norm1("rust", NULL, "core::ptr::drop_in_place::<myapp::Conn>", NULL), "core::ptr::drop_in_place<T>");
  CHECK_STR(norm1("rust", NULL, "core::ptr::drop_in_place<myapp::Conn>::h0011223344556677", NULL),
            "core::ptr::drop_in_place<T>");
  CHECK_STR(norm1("rust", NULL, "std::panicking::begin_panic::h0123456789abcdef", NULL), "std::panicking::begin_panic");
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("rust", NULL, "std::rt::lang_start_internal::h0123456789abcdef", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  norm1("rust", NULL, "__rust_start_panic", NULL);
  CHECK(FLAGS(KB_FRAME_SKIP));
  const spec sp[] = {{NULL, "rust_begin_unwind", NULL},
                     {NULL, "core::panicking::panic_fmt::h0123456789abcdef", NULL},
                     {NULL, "core::result::unwrap_failed::h0123456789abcdef", NULL},
                     {NULL, "core::result::Result<T,E>::unwrap::h0123456789abcdef", NULL},
                     {NULL, "myapp::config::load::h0123456789abcdef", NULL},
                     {NULL, "myapp::main::h0123456789abcdef", NULL},
                     {NULL, "core::ops::function::FnOnce::call_once::h0123456789abcdef", NULL},
                     {NULL, "main", NULL}};
  CHECK_STR(signature_of("rust", sp, N(sp)), "core::result::Result<T>::unwrap | myapp::config::load");
}

/* ---- js ---- */

static void test_js(void) {
  CHECK_STR(norm1("js", NULL, "UserService.load", "/srv/app/src/user.js:42:13"), "UserService.load:user.js");
  CHECK_STR(norm1("js", NULL, "async UserService.load", "file:///srv/app/src/user.js"), "UserService.load:user.js");
  CHECK_STR(norm1("js", NULL, NULL, "/srv/app/src/user.js:1:2"), "<anonymous>:user.js");
  CHECK(!FLAGS(KB_FRAME_UNSYMBOLIZED));
  CHECK_STR(norm1("js", NULL, "t.render", "https://example.com/static/js/main.3f2a1b7c.chunk.js?v=2:1:2345"),
            "t.render:main.chunk.js");
  CHECK_STR(norm1("js", NULL, "render", "https://example.com/assets/index-9f8e7d6c.js#x"), "render:index.js");
  CHECK_STR(norm1("js", NULL, "new Widget", "/srv/app/src/widget.js:3:1"), "Widget:widget.js");
  norm1("js", NULL, "process.processTicksAndRejections", "node:internal/process/task_queues:95:5");
  CHECK(FLAGS(KB_FRAME_SKIP));
  CHECK_STR(norm1("js", NULL, "Layer.handle [as handle_request]", "/srv/app/node_modules/express/lib/router/layer.js:95:5"),
            "Layer.handle:layer.js");
  CHECK(FLAGS(KB_FRAME_SKIP));
  const spec sp[] = {{NULL, "JSON.parse", "<anonymous>"},
                     {NULL, "readConfig", "/srv/app/src/config.js:12:20"},
                     {NULL, "Object.<anonymous>", "/srv/app/src/index.js:3:1"},
                     {NULL, "Module._compile", "node:internal/modules/cjs/loader:1105:14"}};
  CHECK_STR(signature_of("js", sp, N(sp)), "readConfig:config.js");
}

/* ---- signature edge cases ---- */

static void test_signature_edges(void) {
  /* everything skipped: the first frame's norm */
  const spec all_skip[] = {{"nt", "KeBugCheckEx", NULL}, {"nt", "KiPageFault", NULL}};
  kb_stacks s = hand_stack("windows", all_skip, N(all_skip));
  CHECK_STR(s.v[0].signature, "nt!KeBugCheckEx");
  CHECK(s.v[0].frames[0].flags & KB_FRAME_SIGNATURE);
  kb_stacks_release(&s);
  /* no frames: an empty signature, never NULL */
  s = hand_stack("windows", NULL, 0);
  CHECK_STR(s.v[0].signature, "");
  kb_stacks_release(&s);
  /* 1024 bytes at most, cut between frames */
  spec many[40];
  for (size_t i = 0; i < N(many); i++) many[i] = (spec){"nt", "RtlCopyMemoryNonTemporalWithSomeLongName", NULL};
  s = hand_stack("windows", many, N(many));
  const char *sig = s.v[0].signature;
  CHECK(strlen(sig) <= 1024);
  CHECK(strlen(sig) > 900);
  CHECK(kb_str_endswith(sig, "nt!RtlCopyMemoryNonTemporalWithSomeLongName"));
  CHECK(!(s.v[0].frames[N(many) - 1].flags & KB_FRAME_SIGNATURE));
  kb_stacks_release(&s);
  /* a first frame longer than 1024 bytes is cut to fit */
  char longname[1500];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  const spec one[] = {{NULL, longname, NULL}};
  s = hand_stack("native", one, 1);
  CHECK(strlen(s.v[0].signature) == 1024);
  kb_stacks_release(&s);
  /* hostile frames: norms are never NULL or empty; an unknown platform reads as native */
  const spec junk[] = {{NULL, NULL, NULL}, {"", "", ""}, {"x", "()", NULL}, {NULL, "   ", NULL}};
  s = hand_stack("klingon", junk, N(junk));
  for (size_t i = 0; i < N(junk); i++) CHECK(s.v[0].frames[i].norm && s.v[0].frames[i].norm[0]);
  kb_stacks_release(&s);
  s = hand_stack(NULL, junk, N(junk));
  CHECK(s.v[0].signature != NULL);
  kb_stacks_release(&s);
}

/* Random bytes and bracket soup in every field, on every platform: no crash, no overrun
 * (run under ASan), norms never empty, signatures bounded. */
static void test_hostile_names(void) {
  static const char *const platforms[] = {"windows", "linux", "jvm", "dotnet", "python", "go", "native", "js", "rust"};
  static const char alphabet[] = "()<>[]{}`'!@$#:.+-/\\ ?*_0x1fabcdlambda_$$Lambda$<>d__::h";
  unsigned seed = 12345;
  char text[3][200];
  for (int round = 0; round < 3000; round++) {
    for (int k = 0; k < 3; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t n = (seed >> 16) % sizeof text[k];
      for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 16;
        text[k][i] = r % 4 ? alphabet[r % (sizeof alphabet - 1)] : (char)(1 + r % 255);
      }
      text[k][n] = '\0';
    }
    const spec sp[] = {{text[0], text[1], text[2]}, {NULL, text[0], NULL}, {text[2], NULL, text[1]}};
    kb_stacks s = hand_stack(platforms[round % N(platforms)], sp, N(sp));
    for (size_t i = 0; i < N(sp); i++) CHECK(s.v[0].frames[i].norm && s.v[0].frames[i].norm[0]);
    CHECK(s.v[0].signature && strlen(s.v[0].signature) <= 1024);
    kb_stacks_release(&s);
  }
}

static void test_normalize_twice_is_stable(void) {
  kb_stacks s = {0};
  kb_stacks_parse(seed_stack, strlen(seed_stack), &s);
  if (s.n != 1) {
    CHECK(s.n == 1);
    return;
  }
  unsigned flags[16];
  for (size_t i = 0; i < s.v[0].nframes && i < 16; i++) flags[i] = s.v[0].frames[i].flags;
  kb_stack_normalize(&s.v[0]);
  for (size_t i = 0; i < s.v[0].nframes && i < 16; i++) CHECK(s.v[0].frames[i].flags == flags[i]);
  CHECK_STR(s.v[0].signature, "mslbfoprovider!vmqcGetFirstMappedMNic");
  kb_stacks_release(&s);
}

/* ---- the embedded lists ---- */

static void test_every_list_parses(void) {
  static const char *const platforms[] = {"windows", "linux", "jvm", "dotnet", "python", "go", "native", "js", "rust", NULL};
  for (const char *const *p = platforms; *p; p++) {
    CHECK(kb_skiplist_get(*p) != NULL);
    CHECK(kb_skiplist_text(*p, NULL) != NULL);
  }
  size_t files = 0;
  kb_diags d = {0};
  for (const kb_embedded_file *f = kb_skiplist_files; f->name; f++, files++) {
    kb_skiplist_check(f->name, &d);
    CHECK(strlen((const char *)f->data) == f->len); /* NUL-terminated, no NUL inside */
  }
  CHECK(files >= 9);
  for (size_t i = 0; i < d.n; i++) harness_fail(d.v[i].path, d.v[i].line, "%s", d.v[i].msg);
  kb_diags_release(&d);
}

static void test_embedded_copy_matches_repository(void) {
  char *path = kb_path_join(harness_source_dir(), "data/skiplists/windows.txt");
  size_t len = 0, elen = 0;
  char *repo = harness_read_file(path, &len);
  const char *emb = kb_skiplist_text("windows", &elen);
  CHECK(repo && emb && len == elen && memcmp(repo, emb, len) == 0);
  free(repo);
  free(path);
}

static void test_checker_finds_mistakes(void) {
  const char *text = "# fine\n"
                     "skip ok\n"
                     "bogus thing\n"
                     "prefix\n"
                     "include atlantis\n"
                     "skip NT!KiPageFault\n"
                     "skip *\n"
                     "include native\n"
                     "skipfile node:*\n";
  kb_diags d = {0};
  CHECK(kb_skiplist_check_text("t.txt", text, strlen(text), &d) == 5);
  if (d.n == 5) {
    CHECK(d.v[0].line == 3);
    CHECK_CONTAINS(d.v[0].msg, "unknown directive");
    CHECK(d.v[1].line == 4);
    CHECK(d.v[2].line == 5);
    CHECK_CONTAINS(d.v[3].msg, "lowercase");
    CHECK(d.v[4].line == 7);
  }
  kb_diags_release(&d);
  CHECK(kb_skiplist_check("atlantis", &d) == 1);
  kb_diags_release(&d);
}

static void test_glob(void) {
  CHECK(kb_glob_match("nt!Ki*", 6, "nt!KiPageFault", 14));
  CHECK(!kb_glob_match("nt!Ki*", 6, "nt!KeBugCheckEx", 15));
  CHECK(kb_glob_match("*!memcpy*", 9, "libc!memcpy_avx", 15));
  CHECK(kb_glob_match("a*b*c", 5, "aXXbYYc", 7));
  CHECK(!kb_glob_match("a*b*c", 5, "aXXcYYb", 7));
  CHECK(kb_glob_match("abc", 3, "abc", 3));
  CHECK(!kb_glob_match("abc", 3, "abcd", 4));
  CHECK(kb_glob_match("*", 1, "", 0));
  /* a pattern without '!' matches the function in any module, or with none */
  const kb_skiplist *l = kb_skiplist_get("native");
  CHECK(kb_skiplist_classify(l, "libc!abort", NULL) == KB_FRAME_SKIP);
  CHECK(kb_skiplist_classify(l, "abort", NULL) == KB_FRAME_SKIP);
  CHECK(kb_skiplist_classify(l, "myapp!abort_transaction", NULL) == 0);
  CHECK(kb_skiplist_classify(NULL, "abort", NULL) == 0);
}

int main(void) {
  RUN(test_seed_signature);
  RUN(test_windows_norms);
  RUN(test_windows_flags);
  RUN(test_windows_signature_prefix);
  RUN(test_linux_norms);
  RUN(test_linux_flags_and_signature);
  RUN(test_jvm);
  RUN(test_dotnet);
  RUN(test_python);
  RUN(test_go);
  RUN(test_native_norms);
  RUN(test_native_signatures);
  RUN(test_native_across_debuggers);
  RUN(test_rust);
  RUN(test_js);
  RUN(test_signature_edges);
  RUN(test_hostile_names);
  RUN(test_normalize_twice_is_stable);
  RUN(test_every_list_parses);
  RUN(test_embedded_copy_matches_repository);
  RUN(test_checker_finds_mistakes);
  RUN(test_glob);
  return harness_done();
}
