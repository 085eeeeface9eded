/* test_parse_java.c - the JVM format (core/stack/fmt_java.c) on real stack traces from
 * tests/stacks/java/ (sources in tests/stacks/SOURCES.md): exception chains, frame shapes,
 * and the lines that must not be read as Java. */
#include "parse_fixture.h"

/* Each exception of a chain is a stack; Suppressed: and Caused by: start new ones. */
static void test_javadoc_suppressed_and_cause(void) {
  kb_stacks s = {0};
  parse_fixture("java/throwable-javadoc-suppressed.txt", &s);
  CHECK(s.n == 4);
  CHECK_FORMATS(&s, "java");
  if (s.n == 4) {
    CHECK_STR(s.v[0].reason.kind, "exception");
    CHECK_STR(s.v[0].reason.name, "java.lang.Exception");
    CHECK_STR(s.v[0].reason.message, "Main block");
    CHECK_STR(s.v[1].reason.name, "Resource$CloseFailException");
    CHECK_STR(s.v[1].reason.message, "Resource ID = 2");
    CHECK(s.v[1].nframes == 2);
    CHECK_STR(s.v[3].reason.message, "I did it");
    CHECK_STR(s.v[0].platform, "jvm");
  }
  CHECK_FRAME(&s, 0, 0, "Foo3.main", "Foo3.java", 7);
  CHECK_FRAME(&s, 1, 0, "Resource.close", "Resource.java", 26);
  CHECK_FRAME(&s, 3, 0, "Foo3.main", "Foo3.java", 8);
  kb_stacks_release(&s);
}

/* "Caused by:" chains with "... 20 more"; the root cause is the last stack. */
static void test_caused_by_chain(void) {
  kb_stacks s = {0};
  parse_fixture("java/caused-by-chain-androidscreencast.txt", &s);
  CHECK(s.n == 3);
  if (s.n == 3) {
    CHECK(s.v[0].reason.kind == NULL); /* the paste starts inside the first stack */
    CHECK(s.v[0].nframes == 6);
    CHECK_STR(s.v[1].reason.name, "org.springframework.beans.BeanInstantiationException");
    CHECK(s.v[1].nframes == 3);
    CHECK_STR(s.v[2].reason.name, "java.lang.NullPointerException");
    CHECK(s.v[2].reason.message == NULL);
    CHECK(s.v[2].nframes == 4);
  }
  CHECK_FRAME(&s, 0, 0, "sun.reflect.NativeMethodAccessorImpl.invoke0", NULL, 0); /* (Native Method) */
  CHECK_FRAME(&s, 2, 0, "com.github.xsavikx.android.screencast.ui.JFrameMain.setPrefferedWindowSize", "JFrameMain.java", 73);
  CHECK_FRAME(&s, 2, 2, "com.github.xsavikx.android.screencast.ui.JFrameMain.<init>", "JFrameMain.java", 66);
  kb_stacks_release(&s);
}

static void test_kotlin_coroutines(void) {
  kb_stacks s = {0};
  parse_fixture("java/kotlin-coroutines-unknown-source.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 10);
  if (s.n == 1) CHECK_STR(s.v[0].reason.name, "kotlinx.coroutines.DispatchException");
  CHECK_FRAME(&s, 0, 0, "kotlinx.coroutines.DispatchedTask.run", "Dispatched.kt", 237);
  CHECK_FRAME(&s, 0, 4, "kotlinx.coroutines.BuildersKt.runBlocking", NULL, 0); /* (Unknown Source) */
  CHECK_FRAME(&s, 0, 8,
              "com.atlassian.bitbucket.linky.actions.snippet.CreateSnippetAction$actionPerformed$1$run$1$1.invoke",
              "create-snippet.kt", 0);
  kb_stacks_release(&s);
}

/* JDK 9+ "java.base/" prefixes are dropped; a compiler's "fatal error:" is not Go's. */
static void test_module_prefix(void) {
  kb_stacks s = {0};
  parse_fixture("java/jdk11-modules-lingua-franca.txt", &s);
  CHECK(s.n == 1);
  if (s.n == 1) {
    CHECK_STR(s.v[0].reason.kind, "exception");
    CHECK_STR(s.v[0].reason.name, "java.lang.IllegalArgumentException");
    CHECK(s.v[0].nframes == 9);
  }
  CHECK_FRAME(&s, 0, 0, "java.util.concurrent.ThreadPoolExecutor.<init>", "ThreadPoolExecutor.java", 1293);
  CHECK_FRAME(&s, 0, 8, "org.lflang.lfc.Main.main", "Main.java", 205);
  const kb_frame *f = s.n ? &s.v[0].frames[0] : NULL;
  if (f) CHECK(f->module == NULL);
  kb_stacks_release(&s);
}

static void test_logging_suffixes_and_lambdas(void) {
  kb_stacks s = {0};
  parse_fixture("java/logback-jar-suffix-elasticsearch.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 4);
  CHECK_FRAME(&s, 0, 3, "com.sothawo.springdataelastictest.RestClientConfig$1.execute", "RestClientConfig.java", 97);
  kb_stacks_release(&s);

  parse_fixture("java/lambda-log4j-brokk.txt", &s);
  CHECK(s.n == 1);
  CHECK_FRAME(&s, 0, 1, "io.github.jbellis.brokk.gui.git.GitLogTab.lambda$updateCommitsForBranch$27", "GitLogTab.java", 666);
  if (s.n) CHECK_STR(s.v[0].reason.name, "io.github.jbellis.brokk.git.GitRepo$GitWrappedIOException");
  kb_stacks_release(&s);

  parse_fixture("java/lambda-frames-amidst.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 4); /* no header: four frames are enough */
  CHECK_FRAME(&s, 0, 0, "amidst.threading.WorkerExecutor.lambda$run$9", "WorkerExecutor.java", 71);
  CHECK_FRAME(&s, 0, 3, "java.lang.Thread.run", NULL, 0);
  kb_stacks_release(&s);
}

/* Maven prints a space before the parenthesis; Tomcat's error page leaves "at" out. */
static void test_maven_and_tomcat_shapes(void) {
  kb_stacks s = {0};
  parse_fixture("java/maven-spaced-frames-webnettools.txt", &s);
  CHECK(s.n == 2);
  CHECK_FORMATS(&s, "java");
  CHECK_FRAME(&s, 1, 0, "org.codehaus.plexus.compiler.javac.JavaxToolsCompiler.compileInProcess", "JavaxToolsCompiler.java",
              173);
  if (s.n == 2) CHECK_STR(s.v[1].reason.name, "org.codehaus.plexus.compiler.CompilerException");
  kb_stacks_release(&s);

  parse_fixture("java/tomcat-no-at-esgf.txt", &s);
  CHECK(s.n == 1 && s.v[0].nframes == 7);
  CHECK_FRAME(&s, 0, 0, "org.springframework.web.servlet.FrameworkServlet.processRequest", "FrameworkServlet.java", 948);
  kb_stacks_release(&s);
}

/* Lines written for this test (no published paste had them with a source to cite): a JDK
 * hidden class for a lambda, jstack's module inside the parentheses and lock lines, and an
 * Android logcat prefix. */
static void test_hidden_classes_jstack_and_logcat(void) {
  const char *text = "\"worker-1\" #14 prio=5 os_prio=0 tid=0x1 nid=0x2 waiting for monitor entry\n"
                     "   java.lang.Thread.State: BLOCKED (on object monitor)\n"
                     "        at com.example.Locks.lambda$main$0(Locks.java:18)\n"
                     "        - waiting to lock <0x00000007010dfb10> (a java.lang.Object)\n"
                     "        at com.example.Locks$$Lambda$14/0x0000000800c02a00.run(Unknown Source)\n"
                     "        at java.lang.Thread.run(java.base@17.0.2/Thread.java:833)\n"
                     "\n"
                     "E/AndroidRuntime( 2301): java.lang.RuntimeException: Unable to start activity\n"
                     "E/AndroidRuntime( 2301): \tat android.app.ActivityThread.performLaunchActivity(ActivityThread.java:2416)\n"
                     "E/AndroidRuntime( 2301): \tat android.app.ActivityThread.handleLaunchActivity(ActivityThread.java:2476)\n";
  kb_stacks s = {0};
  parse_text(text, &s);
  CHECK(s.n == 2);
  CHECK_FORMATS(&s, "java");
  CHECK_FRAME(&s, 0, 1, "com.example.Locks$$Lambda$14/0x0000000800c02a00.run", NULL, 0);
  CHECK_FRAME(&s, 0, 2, "java.lang.Thread.run", "Thread.java", 833);
  CHECK_FRAME(&s, 1, 0, "android.app.ActivityThread.performLaunchActivity", "ActivityThread.java", 2416);
  if (s.n == 2) CHECK_STR(s.v[1].reason.name, "java.lang.RuntimeException");
  kb_stacks_release(&s);
}

/* JavaScript's and .NET's "at" lines are not Java's, and prose with "at" is nothing. */
static void test_other_at_lines(void) {
  const char *text = "    at Object.<anonymous> (/app/index.js:12:5)\n"
                     "    at Module._compile (node:internal/modules/cjs/loader:1105:14)\n"
                     "\n\n"
                     "   at Ns.Type.Method(String arg, Int32 n) in C:\\src\\File.cs:line 12\n"
                     "   at Ns.Program.Main(String[] args)\n"
                     "\n\n"
                     "We met at home (the office) and at work (Native Method) today.\n"
                     "java.lang is a package; System.out is a stream.\n";
  kb_stacks s = {0};
  parse_text(text, &s);
  CHECK(s.n == 2);
  if (s.n == 2) {
    CHECK_STR(s.v[0].format, "js");
    CHECK_STR(s.v[1].format, "dotnet");
  }
  kb_stacks_release(&s);
}

/* A logger that loses the newlines: the same real chain joined on one line is split again. */
static void test_joined_on_one_line(void) {
  size_t len = 0;
  char *text = read_repo_file("tests/stacks/java/caused-by-chain-androidscreencast.txt", &len);
  CHECK(text != NULL);
  if (text) {
    for (size_t i = 0; i < len; i++)
      if (text[i] == '\n') text[i] = ' ';
    kb_stacks s = {0};
    kb_stacks_parse(text, len, &s);
    CHECK(s.n == 3);
    if (s.n == 3) CHECK(s.v[0].nframes == 6 && s.v[1].nframes == 3 && s.v[2].nframes == 4);
    CHECK_FRAME(&s, 2, 2, "com.github.xsavikx.android.screencast.ui.JFrameMain.<init>", "JFrameMain.java", 66);
    if (s.n == 3) CHECK_STR(s.v[2].reason.name, "java.lang.NullPointerException");
    kb_stacks_release(&s);
  }
  free(text);
}

int main(void) {
  RUN(test_javadoc_suppressed_and_cause);
  RUN(test_caused_by_chain);
  RUN(test_kotlin_coroutines);
  RUN(test_module_prefix);
  RUN(test_logging_suffixes_and_lambdas);
  RUN(test_maven_and_tomcat_shapes);
  RUN(test_hidden_classes_jstack_and_logcat);
  RUN(test_other_at_lines);
  RUN(test_joined_on_one_line);
  return harness_done();
}
