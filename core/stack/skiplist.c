/* skiplist.c - reads the embedded skip/prefix lists (syntax in skiplist.h) and answers,
 * for normalize.c, whether a frame is skipped, a prefix, or neither.
 *
 * The lists are parsed once, on first use, into a static rule table (pthread_once: the
 * server normalizes from several threads). Patterns point into the embedded text, so
 * nothing is allocated and nothing needs freeing. Each platform's rules are grouped by
 * what they compare (function, whole norm, file) and by their pattern's first byte, so a
 * frame is tried against a few rules instead of all ~1,700 (3 % of a build's work when
 * it tried them all). */
#include "stack/skiplist.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/stack.h"

#define MAX_RULES 8192 /* all platforms, includes expanded; the shipped lists use ~1,700 */
#define MAX_LISTS 32

typedef struct rule {
  const char *pat;
  size_t len;
  unsigned flag; /* KB_FRAME_SKIP or KB_FRAME_PREFIX */
  bool on_file;  /* compared with the source file, not the norm */
  bool whole;    /* has a '!': compared with the whole norm, not the function part */
} rule;

enum { SUBJ_FN, SUBJ_NORM, SUBJ_FILE, SUBJECTS };
#define BUCKETS 257 /* a pattern's first byte, or 256: it starts with '*' */

/* The answer does not depend on the rules' order (SKIP when any skip rule matches, else
 * PREFIX when any prefix rule does), so grouping them changes nothing. */
struct kb_skiplist {
  const rule *v;
  size_t n;
  const uint16_t *by;                 /* indexes into v, grouped */
  uint32_t at[SUBJECTS][BUCKETS + 1]; /* group (k, b) is by[at[k][b] .. at[k][b + 1]) */
};

static const struct {
  const char *word;
  unsigned flag;
  bool on_file;
} directives[] = {
    {"skip", KB_FRAME_SKIP, false},
    {"prefix", KB_FRAME_PREFIX, false},
    {"skipfile", KB_FRAME_SKIP, true},
    {"prefixfile", KB_FRAME_PREFIX, true},
};

typedef enum { LINE_BLANK, LINE_RULE, LINE_INCLUDE, LINE_BAD } line_kind;

static rule pool[MAX_RULES];
static uint16_t by_pool[MAX_RULES];
static size_t pool_n;
static bool pool_full; /* a rule was dropped: kb_skiplist_check reports it */
static kb_skiplist lists[MAX_LISTS];
static pthread_once_t lists_once = PTHREAD_ONCE_INIT;

bool kb_glob_match(const char *pat, size_t pn, const char *s, size_t n) {
  size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
  while (si < n) {
    if (pi < pn && pat[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < pn && pat[pi] == s[si]) {
      pi++, si++;
    } else if (star != (size_t)-1) {
      /* back off to the last star and let it swallow one more character */
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pn && pat[pi] == '*') pi++;
  return pi == pn;
}

static int file_index(const char *name, size_t len) {
  for (int i = 0; kb_skiplist_files[i].name && i < MAX_LISTS; i++)
    if (strlen(kb_skiplist_files[i].name) == len && memcmp(kb_skiplist_files[i].name, name, len) == 0) return i;
  return -1;
}

/* The next line of [*p, end) without its newline; advances *p. */
static const char *next_line(const char **p, const char *end, size_t *n) {
  const char *s = *p;
  const char *nl = memchr(s, '\n', (size_t)(end - s));
  *n = (size_t)((nl ? nl : end) - s);
  *p = nl ? nl + 1 : end;
  return s;
}

/* One line: a rule into *r, or an include whose name goes into r->pat/len. */
static line_kind parse_line(const char *s, size_t n, rule *r, const char **why) {
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  if (n == 0 || *s == '#') return LINE_BLANK;
  size_t w = 0;
  while (w < n && !isspace((unsigned char)s[w])) w++;
  size_t a = w;
  while (a < n && isspace((unsigned char)s[a])) a++;
  memset(r, 0, sizeof *r);
  r->pat = s + a;
  r->len = n - a;
  if (r->len == 0) {
    *why = "directive without a pattern";
    return LINE_BAD;
  }
  if (w == 7 && memcmp(s, "include", 7) == 0) return LINE_INCLUDE;
  for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++) {
    if (strlen(directives[i].word) != w || memcmp(s, directives[i].word, w) != 0) continue;
    r->flag = directives[i].flag;
    r->on_file = directives[i].on_file;
    r->whole = memchr(r->pat, '!', r->len) != NULL;
    return LINE_RULE;
  }
  *why = "unknown directive (skip, prefix, skipfile, prefixfile, include)";
  return LINE_BAD;
}

/* Append the rules of file `idx` and of the files it includes to the pool. `seen` is a
 * bit per file, so an include cycle stops instead of looping. */
static void load_rules(int idx, unsigned seen) {
  seen |= 1u << idx;
  const char *p = (const char *)kb_skiplist_files[idx].data, *end = p + kb_skiplist_files[idx].len;
  while (p < end) {
    size_t n;
    const char *s = next_line(&p, end, &n);
    rule r;
    const char *why;
    line_kind k = parse_line(s, n, &r, &why);
    if (k == LINE_RULE && pool_n < MAX_RULES) pool[pool_n++] = r;
    else if (k == LINE_RULE) pool_full = true;
    if (k != LINE_INCLUDE) continue;
    int inc = file_index(r.pat, r.len);
    if (inc >= 0 && !(seen & (1u << inc))) load_rules(inc, seen);
  }
}

static int rule_subject(const rule *r) { return r->on_file ? SUBJ_FILE : r->whole ? SUBJ_NORM : SUBJ_FN; }
static int rule_bucket(const rule *r) { return r->pat[0] == '*' ? 256 : (unsigned char)r->pat[0]; }

/* Group a list's rules (a counting sort into by_pool, which has room for every rule). */
static void group_rules(kb_skiplist *l, size_t first) {
  uint32_t count[SUBJECTS][BUCKETS] = {{0}};
  for (size_t i = 0; i < l->n; i++) count[rule_subject(&l->v[i])][rule_bucket(&l->v[i])]++;
  uint32_t at = (uint32_t)first;
  for (int k = 0; k < SUBJECTS; k++)
    for (int b = 0; b <= BUCKETS; b++) {
      l->at[k][b] = at;
      if (b < BUCKETS) at += count[k][b];
    }
  uint32_t fill[SUBJECTS][BUCKETS];
  for (int k = 0; k < SUBJECTS; k++)
    for (int b = 0; b < BUCKETS; b++) fill[k][b] = l->at[k][b];
  for (size_t i = 0; i < l->n; i++) by_pool[fill[rule_subject(&l->v[i])][rule_bucket(&l->v[i])]++] = (uint16_t)i;
  l->by = by_pool;
}

static void load_all(void) {
  for (int i = 0; kb_skiplist_files[i].name && i < MAX_LISTS; i++) {
    size_t first = pool_n;
    load_rules(i, 0);
    lists[i].v = pool + first;
    lists[i].n = pool_n - first;
    group_rules(&lists[i], first);
  }
}

const kb_skiplist *kb_skiplist_get(const char *platform) {
  if (!platform) return NULL;
  pthread_once(&lists_once, load_all);
  int i = file_index(platform, strlen(platform));
  return i < 0 ? NULL : &lists[i];
}

unsigned kb_skiplist_classify(const kb_skiplist *l, const char *norm, const char *file) {
  if (!l || !norm) return 0;
  const char *bang = strchr(norm, '!');
  const char *fn = bang ? bang + 1 : norm;
  const char *subject[SUBJECTS] = {fn, norm, file};
  unsigned got = 0;
  for (int k = 0; k < SUBJECTS; k++) {
    const char *s = subject[k];
    if (!s) continue;
    size_t n = strlen(s);
    int buckets[2] = {256, (unsigned char)s[0]}; /* patterns never start with the NUL of "" */
    for (int g = 0; g < 2; g++)
      for (uint32_t i = l->at[k][buckets[g]]; i < l->at[k][buckets[g] + 1]; i++) {
        const rule *r = &l->v[l->by[i]];
        if (got && r->flag != KB_FRAME_SKIP) continue; /* already a prefix: only a skip changes that */
        if (!kb_glob_match(r->pat, r->len, s, n)) continue;
        got = r->flag;
        if (got == KB_FRAME_SKIP) return got;
      }
  }
  return got;
}

const char *kb_skiplist_text(const char *platform, size_t *len) {
  int i = platform ? file_index(platform, strlen(platform)) : -1;
  if (i < 0) return NULL;
  if (len) *len = kb_skiplist_files[i].len;
  return (const char *)kb_skiplist_files[i].data;
}

/* Why a well-formed rule is still wrong, or NULL. */
static const char *rule_problem(const rule *r) {
  if (r->len == 1 && r->pat[0] == '*') return "pattern matches every frame";
  if (!r->whole || r->on_file) return NULL;
  for (const char *c = r->pat; *c != '!'; c++)
    if (isupper((unsigned char)*c)) return "module part must be lowercase (norms lowercase modules)";
  return NULL;
}

size_t kb_skiplist_check_text(const char *path, const char *text, size_t len, kb_diags *d) {
  size_t errors = 0;
  const char *p = text, *end = text + len;
  for (int line = 1; p < end; line++) {
    size_t n;
    const char *s = next_line(&p, end, &n);
    rule r;
    const char *why = NULL;
    line_kind k = parse_line(s, n, &r, &why);
    if (k == LINE_RULE) why = rule_problem(&r);
    if (k == LINE_INCLUDE && file_index(r.pat, r.len) < 0) why = "include of a platform that has no list";
    if (why) kb_diags_add(d, KB_ERROR, path, line, "%s: %.*s", why, (int)n, s), errors++;
  }
  return errors;
}

size_t kb_skiplist_check(const char *platform, kb_diags *d) {
  size_t len = 0, errors;
  if (!platform) platform = "";
  const char *text = kb_skiplist_text(platform, &len);
  char *path = kb_xasprintf("data/skiplists/%s.txt", platform);
  if (text) {
    errors = kb_skiplist_check_text(path, text, len, d);
    if (kb_skiplist_get(platform) && pool_full)
      kb_diags_add(d, KB_ERROR, path, 0, "more rules than the table holds (MAX_RULES in skiplist.c)"), errors++;
  } else {
    kb_diags_add(d, KB_ERROR, path, 0, "no embedded list for platform '%s'", platform);
    errors = 1;
  }
  free(path);
  return errors;
}
