/* test_buf.c - kb_buf invariants: never NULL, NUL-terminated, bounded, sticky error. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/buf.h"
#include "util/util.h"

static void test_empty_is_terminated(void) {
  kb_buf b = KB_BUF_INIT;
  CHECK(b.ptr != NULL);
  CHECK_STR(b.ptr, "");
  kb_buf_release(&b);
  CHECK(b.ptr != NULL);
}

static void test_append_and_format(void) {
  kb_buf b = KB_BUF_INIT;
  kb_buf_adds(&b, "frame ");
  kb_buf_addf(&b, "%d:%s", 3, "nt!KeBugCheckEx");
  kb_buf_addc(&b, '!');
  CHECK_STR(b.ptr, "frame 3:nt!KeBugCheckEx!");
  CHECK(b.len == strlen(b.ptr));
  kb_buf_release(&b);
}

static void test_limit_is_sticky(void) {
  kb_buf b;
  kb_buf_init(&b, 8);
  kb_buf_adds(&b, "12345");
  kb_buf_adds(&b, "6789"); /* would exceed 8 */
  CHECK(b.err == KB_BUF_TOOBIG);
  kb_buf_adds(&b, "x"); /* ignored after the error */
  CHECK_STR(b.ptr, "12345");
  CHECK(kb_buf_detach(&b, NULL) == NULL);
  kb_buf_release(&b);
}

static void test_html_escape(void) {
  kb_buf b = KB_BUF_INIT;
  const char *s = "<a href=\"x\">Tom & 'Jerry'</a>";
  kb_buf_add_html(&b, s, strlen(s));
  CHECK_STR(b.ptr, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  kb_buf_release(&b);
}

static void test_detach_owns(void) {
  kb_buf b = KB_BUF_INIT;
  char *empty = kb_buf_detach(&b, NULL);
  CHECK_STR(empty, "");
  free(empty);
  kb_buf_adds(&b, "abc");
  size_t n = 0;
  char *s = kb_buf_detach(&b, &n);
  CHECK_STR(s, "abc");
  CHECK(n == 3);
  CHECK(b.len == 0 && b.ptr[0] == '\0');
  free(s);
}

/* Varints round-trip at every width; a cut one or one past 64 bits is refused. */
static void test_varint(void) {
  const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, (uint64_t)1 << 32, UINT64_MAX};
  kb_buf b = KB_BUF_INIT;
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) kb_buf_add_varint(&b, vals[i]);
  const unsigned char *p = (const unsigned char *)b.ptr, *end = p + b.len;
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    uint64_t v = 0;
    CHECK(kb_varint_get(&p, end, &v) && v == vals[i]);
  }
  CHECK(p == end);
  uint64_t v;
  const unsigned char cut[] = {0x80, 0x80};
  p = cut;
  CHECK(!kb_varint_get(&p, cut + sizeof cut, &v) && p == cut + sizeof cut);
  const unsigned char endless[11] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  p = endless;
  CHECK(!kb_varint_get(&p, endless + sizeof endless, &v));
  /* the raw encoder the buffer's is made of: 1 byte for 0..127, KB_VARINT_MAX at most */
  unsigned char raw[KB_VARINT_MAX];
  CHECK(kb_varint_put(raw, 127) == 1 && raw[0] == 127);
  CHECK(kb_varint_put(raw, 300) == 2 && raw[0] == 0xAC && raw[1] == 0x02);
  CHECK(kb_varint_put(raw, UINT64_MAX) == KB_VARINT_MAX);
  kb_buf_release(&b);
}

int main(void) {
  RUN(test_empty_is_terminated);
  RUN(test_append_and_format);
  RUN(test_limit_is_sticky);
  RUN(test_html_escape);
  RUN(test_detach_owns);
  RUN(test_varint);
  return harness_done();
}
