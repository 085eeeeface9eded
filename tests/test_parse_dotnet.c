/* test_parse_dotnet.c - the .NET format (core/stack/fmt_dotnet.c) on real exception reports
 * from tests/stacks/dotnet/ (sources in tests/stacks/SOURCES.md): .NET Framework and .NET
 * Core, inner exceptions, async frames, Mono, localized runtimes, Sentry's rendering. */
#include "parse_fixture.h"

static void test_framework_unhandled(void) {
  kb_stacks s = {0};
  parse_fixture("dotnet/framework-filenotfound-psattack.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 6);
  CHECK_FORMATS(&s, "dotnet");
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.kind, "exception");
    CHECK_STR(s.v[0].reason.name, "System.IO.FileNotFoundException");
    CHECK_CONTAINS(s.v[0].reason.message, "Could not find file");
    CHECK_STR(s.v[0].platform, "dotnet");
  }
  CHECK_FRAME(&s, 0, 0, "System.IO.__Error.WinIOError(Int32 errorCode, String maybeFullPath)", NULL, 0);
  CHECK_FRAME(&s, 0, 4, "System.IO.StreamReader..ctor(String path)", NULL, 0);
  CHECK_FRAME(&s, 0, 5, "PSAttackBuildTool.Program.Main(String[] args)", NULL, 0);
  kb_stacks_release(&s);
}

/* The inner exception is the root cause; its frames come first and the outer ones continue
 * the same stack after "--- End of inner exception stack trace ---". */
static void test_inner_exceptions(void) {
  kb_stacks s = {0};
  parse_fixture("dotnet/inner-exception-elmah.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.name, "System.NullReferenceException");
    CHECK_STR(s.v[0].reason.message, "Object reference not set to an instance of an object.");
  }
  CHECK_FRAME(&s, 0, 0, "Program.<Main>$(String[] args)",
              "C:\\Users\\fenga\\tizan\\codebase\\episodes\\exceptiondemo\\Program.cs", 6);
  CHECK_FRAME(&s, 0, 1, "Program.<Main>$(String[] args)",
              "C:\\Users\\fenga\\tizan\\codebase\\episodes\\exceptiondemo\\Program.cs", 10);
  kb_stacks_release(&s);

  parse_fixture("dotnet/inner-chain-coreclr.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 12);
  if (s.n == 1) CHECK_STR(s.v[0].reason.name, "System.InvalidOperationException");
  CHECK_FRAME(&s, 0, 0, "System.ThrowHelper.ThrowInvalidOperationException_InvalidOperation_EnumFailedVersion()", NULL, 0);
  CHECK_FRAME(&s, 0, 4, "Program.<Iterator>d__2.MoveNext()", "C:\\StackTrace\\Program.cs", 40);
  CHECK_FRAME(&s, 0, 9, "Program.InnerException1[T](Int32 count)", "C:\\StackTrace\\Program.cs", 80);
  kb_stacks_release(&s);
}

/* Mono: a space before the parameters, IL offsets, "<hash>:0"; async continuations. */
static void test_mono_async(void) {
  kb_stacks s = {0};
  parse_fixture("dotnet/mono-async-jackett.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 8);
  CHECK_FRAME(&s, 0, 0,
              "System.Runtime.CompilerServices.TaskAwaiter.HandleNonSuccessAndDebuggerNotification(System.Threading.Tasks.Task task)",
              NULL, 0);
  CHECK_FRAME(&s, 0, 3, "System.Web.Http.Filters.ActionFilterAttribute+<CallOnActionExecutedAsync>d__5.MoveNext()", NULL, 0);
  const kb_frame *f = s.n && s.v[0].nframes ? &s.v[0].frames[0] : NULL;
  if (f) CHECK_STR(f->offset, "0x00028");
  kb_stacks_release(&s);
}

/* A blog's narrow column wrapped " in D:\\...:line 18" onto its own line: joined again. */
static void test_wrapped_location(void) {
  kb_stacks s = {0};
  parse_fixture("dotnet/async-wrapped-vkontech.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 2);
  if (s.n == 1) CHECK_STR(s.v[0].reason.name, "System.Exception");
  CHECK_FRAME(&s, 0, 0, "StackTraceDelegation.Program.<MethodTwo>d__2.MoveNext()", "D:\\StackTraceDelegation\\Program.cs", 18);
  CHECK_FRAME(&s, 0, 1, "System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)", NULL, 0);
  kb_stacks_release(&s);

  parse_fixture("dotnet/net6-filenotfound-markovjunior.txt", &s); /* "File name:" between */
  CHECK(s.n == 1 && s.v[0].nframes == 7);
  kb_stacks_release(&s);
}

/* Localized runtimes ("en", "在 ... 位置 ...:行号 136") and Sentry's assembly-qualified frames. */
static void test_localized_and_sentry(void) {
  kb_stacks s = {0};
  parse_fixture("dotnet/localized-spanish-psreadline.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 7);
  if (s.n == 1) CHECK_STR(s.v[0].reason.name, "System.ArgumentOutOfRangeException");
  CHECK_FRAME(&s, 0, 0, "System.Console.SetCursorPosition(Int32 left, Int32 top)", NULL, 0);
  kb_stacks_release(&s);

  parse_fixture("dotnet/localized-chinese-wox.txt", &s);
  CHECK(s.n == 1);
  CHECK_FORMATS(&s, "dotnet");
  CHECK_FRAME(&s, 0, 0, "Wox.Plugin.Program.Main.DefaultProgramSources()",
              "C:\\projects\\wox\\Plugins\\Wox.Plugin.Program\\Main.cs", 136);
  kb_stacks_release(&s);

  parse_fixture("dotnet/assembly-qualified-lexplorer.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 6);
  if (s.n == 1) CHECK_STR(s.v[0].reason.name, "System.ArgumentException");
  CHECK_FRAME(&s, 0, 1, "System.Collections.Generic.Dictionary`2.TryInsert", NULL, 0);
  CHECK_FRAME(&s, 0, 2, "Lexplorer.Pages.Account+<OnParametersSetAsync>d__39.MoveNext",
              "/home/runner/work/Lexplorer/Lexplorer/Lexplorer/Pages/Account.razor", 234);
  kb_stacks_release(&s);
}

int main(void) {
  RUN(test_framework_unhandled);
  RUN(test_inner_exceptions);
  RUN(test_mono_async);
  RUN(test_wrapped_location);
  RUN(test_localized_and_sentry);
  return harness_done();
}
