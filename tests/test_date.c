/* test_date.c - content/date: every front matter form Jekyll and Hugo accept, the
 * rejects (impossible dates, trailing garbage), and formatting in the written offset. */
#include <stdint.h>
#include <string.h>

#include "content/date.h"
#include "harness.h"

/* Parse `in` and compare with the expected RFC 3339 rendering (which carries both the
 * instant and the offset). */
static void check_date(const char *in, const char *want_rfc3339, int line) {
  int64_t t = 0;
  int tz = 12345;
  if (kb_date_parse(in, &t, &tz) != 0) {
    harness_fail(__FILE__, line, "rejected [%s]", in);
    return;
  }
  char buf[32];
  kb_date_format_rfc3339(t, tz, buf, sizeof buf);
  if (strcmp(buf, want_rfc3339) != 0)
    harness_fail(__FILE__, line, "[%s]: got [%s], want [%s]", in, buf, want_rfc3339);
}
#define DATE(in, want) check_date(in, want, __LINE__)

static void check_reject(const char *in, int line) {
  int64_t t;
  int tz;
  if (kb_date_parse(in, &t, &tz) == 0) harness_fail(__FILE__, line, "accepted [%s]", in);
}
#define REJECT(in) check_reject(in, __LINE__)

static void test_epoch_values(void) {
  int64_t t = -1;
  int tz = -1;
  CHECK(kb_date_parse("1970-01-01", &t, &tz) == 0 && t == 0 && tz == 0);
  CHECK(kb_date_parse("2013-12-22T12:09:10Z", &t, &tz) == 0 && t == 1387714150 && tz == 0);
  CHECK(kb_date_parse("2013-12-22T12:09:10+02:00", &t, &tz) == 0);
  CHECK(t == 1387714150 - 7200 && tz == 120);
  CHECK(kb_date_parse("2000-02-29", &t, &tz) == 0 && t == 951782400);
  CHECK(kb_date_parse("1969-12-31T23:59:59Z", &t, &tz) == 0 && t == -1);
  CHECK(kb_date_parse("2038-01-19T03:14:08Z", &t, &tz) == 0 && t == 2147483648LL);
  CHECK(kb_date_parse("1900-03-01", &t, &tz) == 0 && t == -2203891200LL);
}

static void test_iso_forms(void) {
  DATE("2013-12-22", "2013-12-22T00:00:00Z");
  DATE("2013-12-22T12:09:10", "2013-12-22T12:09:10Z");
  DATE("2013-12-22T12:09:10Z", "2013-12-22T12:09:10Z");
  DATE("2013-12-22t12:09:10z", "2013-12-22T12:09:10Z");
  DATE("2013-12-22T12:09:10+02:00", "2013-12-22T12:09:10+02:00");
  DATE("2013-12-22T12:09:10.123456+0200", "2013-12-22T12:09:10+02:00");
  DATE("2013-12-22T12:09:10-07:30", "2013-12-22T12:09:10-07:30");
  DATE("2013-12-22T12:09:10+02", "2013-12-22T12:09:10+02:00");
  DATE("2013-12-22T12:09", "2013-12-22T12:09:00Z");
}

static void test_jekyll_hugo_forms(void) {
  DATE("2013-12-22 12:09:10 +0200", "2013-12-22T12:09:10+02:00");
  DATE("2013-12-22 12:09:10 +02:00", "2013-12-22T12:09:10+02:00");
  DATE("2013-12-22 12:09:10+02:00", "2013-12-22T12:09:10+02:00");
  DATE("2013-12-22 12:09", "2013-12-22T12:09:00Z");
  DATE("2013-12-22 12:09:10", "2013-12-22T12:09:10Z");
  DATE("2013-12-22 12:09:10.5 -0700 MST", "2013-12-22T12:09:10-07:00");
  DATE("2013-12-22 12:09:10.123456789 +0000 UTC", "2013-12-22T12:09:10Z");
  DATE("2013-12-22 12:09:10 UTC", "2013-12-22T12:09:10Z");
  DATE("2013-12-22 12:09:10 PST", "2013-12-22T12:09:10-08:00");
  DATE("  2013-12-22 12:09:10 +0200  \n", "2013-12-22T12:09:10+02:00");
}

static void test_textual_forms(void) {
  DATE("Sun, 22 Dec 2013 12:09:10 +0200", "2013-12-22T12:09:10+02:00");
  DATE("Sun, 22 Dec 2013 12:09:10 GMT", "2013-12-22T12:09:10Z");
  DATE("Sunday, 22 December 2013 12:09 -0500", "2013-12-22T12:09:00-05:00");
  DATE("22 Dec 2013", "2013-12-22T00:00:00Z");
  DATE("5 Jan 2014", "2014-01-05T00:00:00Z");
  DATE("December 22, 2013", "2013-12-22T00:00:00Z");
  DATE("Dec 22, 2013", "2013-12-22T00:00:00Z");
  DATE("dec 22 2013", "2013-12-22T00:00:00Z");
  DATE("Sept 9, 2013", "2013-09-09T00:00:00Z");
  DATE("Dec. 22, 2013", "2013-12-22T00:00:00Z");
  DATE("Feb 29, 2012", "2012-02-29T00:00:00Z");
}

static void test_rejects(void) {
  const char *bad[] = {
      "", "   ", "not a date", "2013-02-30", "2013-02-29", "1900-02-29", "2013-13-01",
      "2013-00-10", "2013-12-00", "2013-12-32", "2013-12-22T25:00:00", "2013-12-22T24:00",
      "2013-12-22T12:60", "2013-12-22T12:09:60", "2013-12-22 garbage", "2013-12-22T12:09:10Zx",
      "2013-12-22T", "2013-12-22T12", "2013-12-22T12:09:10+02:", "2013-12-22T12:09:10+25:00",
      "2013-12-22T12:09:10+02:60", "2013-12-22T12:09:10 XYZ", "2013-12-22T12:09:10.+02:00",
      "2013-1-22", "13-12-22", "20131-12-22", "2013/12/22", "22 Foo 2013", "32 Dec 2013",
      "Dec 32, 2013", "Dec 222013", "Sun, 30 Feb 2013", "December 22, 2013 trailing",
      "Dec 22, 13", "2013-12-22 12:09:10 +0200 ABCDEFGHIJ", "2013-12-22\x01"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) check_reject(bad[i], __LINE__);
  int64_t t;
  int tz;
  CHECK(kb_date_parse(NULL, &t, &tz) == -1);
}

static void test_formatting(void) {
  int64_t t;
  int tz;
  char buf[32];
  CHECK(kb_date_parse("2013-12-22 23:30:00 -0700", &t, &tz) == 0);
  kb_date_format_human(t, tz, buf, sizeof buf);
  CHECK_STR(buf, "22 Dec 2013"); /* in the written offset, although UTC is already the 23rd */
  kb_date_format_ymd(t, tz, buf, sizeof buf);
  CHECK_STR(buf, "2013-12-22");
  kb_date_format_ymd(t, 0, buf, sizeof buf);
  CHECK_STR(buf, "2013-12-23");
  kb_date_format_rfc3339(t, tz, buf, sizeof buf);
  CHECK_STR(buf, "2013-12-22T23:30:00-07:00");
  kb_date_format_human(0, 0, buf, sizeof buf);
  CHECK_STR(buf, "1 Jan 1970");
  kb_date_format_rfc3339(-1, 0, buf, sizeof buf);
  CHECK_STR(buf, "1969-12-31T23:59:59Z");
  kb_date_format_rfc3339(0, -90, buf, sizeof buf);
  CHECK_STR(buf, "1969-12-31T22:30:00-01:30");
}

/* Every day over four centuries: format, parse back, get the same instant. */
static void test_round_trip(void) {
  char buf[32];
  int failures = 0;
  for (int64_t day = -80000; day < 80000 && failures < 5; day += 1) {
    int64_t t = day * 86400 + (day % 86400 + 86400) % 86400, back;
    int tz = (int)(day % 29) * 30, tz_back;
    kb_date_format_rfc3339(t, tz, buf, sizeof buf);
    if (kb_date_parse(buf, &back, &tz_back) != 0 || back != t || tz_back != tz) {
      harness_fail(__FILE__, __LINE__, "round trip of %lld (tz %d) via [%s]", (long long)t, tz,
                   buf);
      failures++;
    }
  }
}

int main(void) {
  RUN(test_epoch_values);
  RUN(test_iso_forms);
  RUN(test_jekyll_hugo_forms);
  RUN(test_textual_forms);
  RUN(test_rejects);
  RUN(test_formatting);
  RUN(test_round_trip);
  return harness_done();
}
