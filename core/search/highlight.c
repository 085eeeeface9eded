/* highlight.c - the query's words marked in titles and snippets (see highlight.h). */
#include "search/highlight.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Word characters as the index's tokenizer sees them: letters, digits, '_', UTF-8. */
static bool word_char(unsigned char c) {
  return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

static unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c | 32 : c; }

static bool starts_with_ci(const char *s, size_t avail, const char *term, size_t n) {
  if (n > avail) return false;
  for (size_t i = 0; i < n; i++)
    if (fold((unsigned char)s[i]) != fold((unsigned char)term[i])) return false;
  return true;
}

void kb_highlight_terms_init(kb_highlight_terms *t, const char *query) {
  t->n = 0;
  for (const char *p = query; *p && t->n < KB_HIGHLIGHT_MAX_TERMS;) {
    while (*p && !word_char((unsigned char)*p)) p++;
    const char *w = p;
    while (*p && word_char((unsigned char)*p)) p++;
    if (p > w) {
      t->len[t->n] = (size_t)(p - w);
      t->v[t->n++] = kb_xstrndup(w, (size_t)(p - w));
    }
  }
}

void kb_highlight_terms_release(kb_highlight_terms *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) free(t->v[i]);
  t->n = 0;
}

/* The longest term found at s[i] (avail bytes left): its length, 0 when none; *which
 * gets the term's index. */
static size_t term_at(const char *s, size_t i, size_t avail, const kb_highlight_terms *t, size_t *which) {
  bool word_start = i == 0 || !word_char((unsigned char)s[i - 1]);
  size_t best = 0;
  for (size_t k = 0; k < t->n; k++)
    if ((word_start || t->len[k] >= 3) && t->len[k] > best && starts_with_ci(s + i, avail, t->v[k], t->len[k])) {
      best = t->len[k];
      *which = k;
    }
  return best;
}

/* text[beg, end) escaped, with the terms marked. */
static void add_marked(kb_buf *b, const char *text, size_t beg, size_t end, const kb_highlight_terms *t) {
  size_t i = beg, plain = beg, which;
  while (i < end) {
    size_t n = term_at(text, i, end - i, t, &which);
    if (!n) {
      i++;
      continue;
    }
    kb_buf_add_html(b, text + plain, i - plain);
    kb_buf_adds(b, "<mark>");
    kb_buf_add_html(b, text + i, n);
    kb_buf_adds(b, "</mark>");
    i += n;
    plain = i;
  }
  kb_buf_add_html(b, text + plain, end - plain);
}

char *kb_highlight_html(const char *text, const kb_highlight_terms *t) {
  kb_buf b = KB_BUF_INIT;
  add_marked(&b, text, 0, strlen(text), t);
  return kb_buf_detach(&b, NULL);
}

/* ---- snippets ---- */

typedef struct word {
  size_t beg, end;
  uint32_t terms; /* bit k: term k occurs in the word */
} word;

typedef struct words {
  word *v;
  size_t n, cap;
} words;

static void words_cut(words *w, const char *s, size_t len, const kb_highlight_terms *t) {
  w->n = 0;
  for (size_t i = 0; i < len;) {
    while (i < len && !word_char((unsigned char)s[i])) i++;
    if (i == len) break;
    if (w->n == w->cap) w->v = kb_xrealloc(w->v, (w->cap = w->cap ? 2 * w->cap : 256) * sizeof *w->v);
    word *x = &w->v[w->n++];
    x->beg = i;
    x->terms = 0;
    while (i < len && word_char((unsigned char)s[i])) {
      size_t which, n = term_at(s, i, len - i, t, &which);
      if (n) x->terms |= (uint32_t)1 << which;
      i++;
    }
    x->end = i;
  }
}

static int popcount32(uint32_t v) {
  int n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

/* The window of KB_SNIPPET_WORDS words with the most distinct terms: its first word, and
 * its score in *score (the earliest window wins a tie). The window is then moved back
 * by up to half its unused words, so the hits have some words of context before them. */
static size_t best_window(const words *w, int *score) {
  size_t best = 0, last_hit = 0;
  *score = 0;
  for (size_t s = 0; s < w->n; s++) {
    if (!w->v[s].terms) continue; /* a best window can always start on a hit */
    uint32_t m = 0;
    size_t hit = s;
    for (size_t k = s; k < w->n && k < s + KB_SNIPPET_WORDS; k++)
      if (w->v[k].terms) m |= w->v[k].terms, hit = k;
    int sc = popcount32(m);
    if (sc > *score) *score = sc, best = s, last_hit = hit;
  }
  size_t spare = KB_SNIPPET_WORDS - 1 - (last_hit - best);
  return best > spare / 2 ? best - spare / 2 : 0;
}

#define SNIPPET_MAX_BYTES 480

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

char *kb_highlight_snippet(const char *const *texts, size_t ntexts, const kb_highlight_terms *t) {
  words cur = {0}, w = {0}; /* the text being scored; the best one so far (kept, not cut again) */
  int best_score = -1;
  size_t best_text = 0, best_start = 0;
  for (size_t i = 0; i < ntexts; i++) {
    if (!texts[i] || !*texts[i]) continue;
    words_cut(&cur, texts[i], strlen(texts[i]), t);
    int score;
    size_t start = best_window(&cur, &score);
    if (cur.n && score > best_score) {
      best_score = score, best_text = i, best_start = start;
      words swap = w;
      w = cur, cur = swap;
    }
  }
  kb_buf b = KB_BUF_INIT;
  if (best_score >= 0) {
    const char *s = texts[best_text];
    size_t last = best_start + KB_SNIPPET_WORDS < w.n ? best_start + KB_SNIPPET_WORDS : w.n;
    /* with the punctuation that clings to the first and last words: "<script>", "(oom)" */
    size_t beg = w.v[best_start].beg, end = w.v[last - 1].end;
    for (int k = 0; k < 8 && beg > 0 && !is_space((unsigned char)s[beg - 1]) && !word_char((unsigned char)s[beg - 1]); k++) beg--;
    for (int k = 0; k < 8 && s[end] && !is_space((unsigned char)s[end]) && !word_char((unsigned char)s[end]); k++) end++;
    if (end - beg > SNIPPET_MAX_BYTES) { /* a "word" of kilobytes (base64, a hex dump) */
      end = beg + SNIPPET_MAX_BYTES;
      while (end > beg && ((unsigned char)s[end] & 0xC0) == 0x80) end--; /* not inside a UTF-8 character */
    }
    if (beg > 0) kb_buf_adds(&b, "…");
    add_marked(&b, s, beg, end, t);
    if (s[end + strspn(s + end, " \t\r\n")]) kb_buf_adds(&b, "…");
  }
  free(w.v);
  free(cur.v);
  return kb_buf_detach(&b, NULL);
}
