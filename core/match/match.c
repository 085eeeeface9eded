/* match.c - stack similarity and ranking (see match.h).
 *
 * Similarity, after TraceSim (Vasiliev et al. 2020) and ReBucket (Dang et al. 2012):
 *  - frames flagged SKIP (bugcheck machinery, abort, ...) are removed first, so
 *    positions count from the first frame that matters;
 *  - a frame at position p with document frequency df among N incidents weighs
 *        w = e^(-ALPHA*p) * sigmoid(BETA*idf - GAMMA),  idf = ln(1+N/df) / ln(1+N)
 *    so frames near the crash weigh more and plumbing found in many incidents less;
 *    a query frame the index never saw counts as rare (df = 1);
 *  - the two stacks are aligned (Needleman-Wunsch, gaps free) where equal frames score
 *        (w1 + w2) / 2 * e^(-DELTA*|i-j|)
 *    and the similarity is 2*S / (W1 + W2), W the sum of each stack's weights: 1 for
 *    the same frames, a truncated copy still scores high because deep frames weigh little.
 * Confidence: "exact" when the signatures agree (and the reasons do not contradict),
 * "strong" from KB_MATCH_STRONG when the crash sites agree (one of the top two frames of
 * each side aligned), "weak" otherwise; nothing under KB_MATCH_THRESHOLD is returned.
 * Addresses, offsets, arguments and line numbers never enter: frames compare by norm. */
#include "match/match.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "index/index.h"
#include "stack/reason.h"
#include "util/util.h"

#define ALPHA 0.15
#define BETA 10.0
#define GAMMA 3.0
#define DELTA 0.1
#define PREFIX_FACTOR 0.3 /* generic helpers (memcpy, collections, go/types) weigh less */
#define KEY_MISSING_FACTOR 0.6 /* the query's follow-up frame is not in the candidate */
#define WRAPPED_FACTOR 0.8     /* the query is a wrapping exception's trace (align_wrapped) */
#define MAX_FRAMES 64      /* frames of each stack compared */
#define MAX_QUERY_STACKS 16
#define MAX_CANDIDATES 256 /* candidate stacks aligned per query stack */
#define MAX_POSTINGS 4000  /* stacks a frame of the query nominates, at most (lowest rowids first) */

/* statement slots on the kb_index handle (reader.h): match uses 0..9 */
enum { ST_DF, ST_ROWS, ST_FRAMES, ST_RESULT, ST_TEXT, ST_REASON };

#define TEXT_TERMS 12     /* words of the reason and top frames looked up when no stack scores */
#define TEXT_SCORE_TOP 0.45
#define THIN_SCORE 0.5 /* a frame match under this, crash sites apart, is thin: words may do better */
#define CODE_BONUS 0.05   /* same bugcheck code, in the fallback */
#define PARAM1_BONUS 0.05 /* and the same first parameter (0x7C's 0x14 names which NDIS rule broke) */
#define FALLBACK_MAX 0.55 /* words and codes alone stay under "strong" */
#define REASON_ROWS 200   /* stacks with the query's bugcheck code looked at */

typedef struct wframe {
  const char *norm; /* borrowed */
  double w;
  int pos;          /* position in the original stack */
  bool top;         /* among the first two counted frames */
  bool key;         /* the follow-up frame: the last frame of the signature (as !analyze) */
  long long df;     /* incidents with this frame (query frames only) */
  const kb_frame *src; /* the query's frame (NULL for indexed stacks) */
} wframe;

typedef struct wstack {
  wframe *v;
  size_t n;
  double total;
} wstack;

typedef struct cand {
  long long stack;
  double rough;
} cand;

typedef struct best {
  long long incident;
  long long stack;
  double score;
  bool top_agree;
  const kb_stack *query;
  kb_match_pair *pairs;
  size_t npairs;
} best;

static double frame_weight(int pos, long long df, long long n) {
  if (df < 1) df = 1;
  double idf = n > 0 ? log(1.0 + (double)n / (double)df) / log(1.0 + (double)n) : 1.0;
  return exp(-ALPHA * pos) / (1.0 + exp(-(BETA * idf - GAMMA)));
}

/* From frame_stats, whose row candidates() reads next for the postings (the df column
 * comes before them: reading it does not read a long postings list). */
static long long frame_df(kb_index *ix, const char *norm) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_DF, "SELECT incidents FROM frame_stats WHERE norm = ?");
  if (!st) return 0;
  sqlite3_bind_text(st, 1, norm, -1, SQLITE_STATIC);
  long long df = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  return df;
}

/* The counted frames of a parsed query stack, with weights. */
static void query_weights(kb_index *ix, const kb_stack *q, wstack *ws) {
  ws->v = kb_xcalloc(MAX_FRAMES, sizeof *ws->v);
  long long n = kb_index_incidents(ix);
  for (size_t i = 0; i < q->nframes && ws->n < MAX_FRAMES; i++) {
    const kb_frame *f = &q->frames[i];
    if (f->flags & KB_FRAME_SKIP) continue;
    wframe *w = &ws->v[ws->n];
    w->norm = f->norm;
    w->pos = (int)i;
    w->top = ws->n < 2;
    w->src = f;
    w->key = (f->flags & KB_FRAME_SIGNATURE) && (i + 1 >= q->nframes || !(q->frames[i + 1].flags & KB_FRAME_SIGNATURE));
    w->df = frame_df(ix, f->norm);
    w->w = frame_weight((int)ws->n, w->df, n) * (f->flags & KB_FRAME_PREFIX ? PREFIX_FACTOR : 1);
    ws->total += w->w;
    ws->n++;
  }
}

static int cand_cmp(const void *a, const void *b) {
  double x = ((const cand *)a)->rough, y = ((const cand *)b)->rough;
  return (x < y) - (x > y);
}

/* Candidate stacks, collected in an open-addressing table keyed by stack rowid. */
typedef struct cand_table {
  cand *v;
  size_t n, cap; /* cap is a power of two */
} cand_table;

static void table_add(cand_table *t, long long sid, double w) {
  if (t->n * 2 >= t->cap) {
    cand_table bigger = {kb_xcalloc(t->cap ? t->cap * 2 : 512, sizeof(cand)), 0, t->cap ? t->cap * 2 : 512};
    for (size_t i = 0; i < t->cap; i++)
      if (t->v[i].stack) table_add(&bigger, t->v[i].stack, t->v[i].rough);
    free(t->v);
    *t = bigger;
  }
  size_t mask = t->cap - 1, h = (size_t)(sid * 0x9E3779B97F4A7C15ull) & mask;
  while (t->v[h].stack && t->v[h].stack != sid) h = (h + 1) & mask;
  if (!t->v[h].stack) t->v[h].stack = sid, t->n++;
  t->v[h].rough += w;
}

/* Candidate stacks sharing frames with the query. Frames found in more than a small
 * share of the incidents are plumbing and do not nominate candidates (they still count
 * in the score); only when no rarer frame finds anything are they used. */
static size_t candidates(kb_index *ix, const wstack *q, cand **out) {
  long long n = kb_index_incidents(ix);
  long long cap = n / 200 > 32 ? n / 200 : 32;
  cand_table t = {0};
  for (int pass = 0; pass < 2 && t.n == 0; pass++) {
    for (size_t i = 0; i < q->n; i++) {
      if (i > 0 && strcmp(q->v[i].norm, q->v[i - 1].norm) == 0) continue;
      long long df = q->v[i].df;
      if (df == 0 || (pass == 0 && df > cap)) continue;
      sqlite3_stmt *st = kb_index_stmt(ix, ST_ROWS, "SELECT postings FROM frame_stats WHERE norm = ?");
      if (!st) break;
      sqlite3_bind_text(st, 1, q->v[i].norm, -1, SQLITE_STATIC);
      if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 0), *end = p ? p + sqlite3_column_bytes(st, 0) : p;
        long long sid = 0;
        for (int k = 0; k < MAX_POSTINGS && kb_postings_next(&p, end, &sid); k++) table_add(&t, sid, q->v[i].w);
      }
      sqlite3_reset(st);
    }
  }
  size_t nc = 0;
  for (size_t i = 0; i < t.cap; i++)
    if (t.v[i].stack) t.v[nc++] = t.v[i];
  if (nc) qsort(t.v, nc, sizeof *t.v, cand_cmp);
  if (nc > MAX_CANDIDATES) nc = MAX_CANDIDATES;
  *out = t.v;
  return nc;
}

/* An indexed stack's counted frames (its stack_frames row) and its incident (-1 when the
 * row is missing). Strings are copied into `pool`. */
static int load_stack(kb_index *ix, long long sid, wstack *ws, kb_strlist *pool, long long *incident) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_FRAMES, "SELECT incident, frames FROM stack_frames WHERE stack = ?");
  if (!st) return -1;
  long long n = kb_index_incidents(ix);
  ws->v = kb_xcalloc(MAX_FRAMES, sizeof *ws->v);
  *incident = -1;
  sqlite3_bind_int64(st, 1, sid);
  if (sqlite3_step(st) == SQLITE_ROW) {
    *incident = sqlite3_column_int64(st, 0);
    const unsigned char *p = sqlite3_column_blob(st, 1);
    const unsigned char *end = p ? p + sqlite3_column_bytes(st, 1) : p;
    kb_packed_frame f;
    while (ws->n < MAX_FRAMES && p && kb_packed_frame_next(&p, end, &f)) {
      if (f.flags & KB_FRAME_SKIP) continue;
      kb_strlist_push_own(pool, kb_xstrndup(f.norm, f.norm_len));
      wframe *w = &ws->v[ws->n];
      w->norm = pool->v[pool->n - 1];
      w->pos = (int)f.pos;
      w->top = ws->n < 2;
      w->w = frame_weight((int)ws->n, f.df, n) * (f.flags & KB_FRAME_PREFIX ? PREFIX_FACTOR : 1);
      ws->total += w->w;
      ws->n++;
    }
  }
  sqlite3_reset(st);
  return 0;
}

/* How the query wrote the frame: module!function, or the normalized key. */
static char *frame_label(const wframe *w) {
  const kb_frame *f = w->src;
  if (f && f->function && f->module) return kb_xasprintf("%s!%s", f->module, f->function);
  if (f && f->function) return kb_xstrdup(f->function);
  return kb_xstrdup(w->norm);
}

/* Align two stacks; returns the similarity and, in pairs, the aligned frames. */
static double align(const wstack *a, const wstack *b, kb_match_pair **pairs, size_t *npairs, bool *top_agree) {
  size_t n = a->n, m = b->n;
  double *s = kb_xcalloc((n + 1) * (m + 1), sizeof *s);
#define S(i, j) s[(i) * (m + 1) + (j)]
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      double v = S(i - 1, j) > S(i, j - 1) ? S(i - 1, j) : S(i, j - 1);
      if (strcmp(a->v[i - 1].norm, b->v[j - 1].norm) == 0) {
        double d = (double)(i > j ? i - j : j - i);
        double diag = S(i - 1, j - 1) + (a->v[i - 1].w + b->v[j - 1].w) / 2 * exp(-DELTA * d);
        if (diag > v) v = diag;
      }
      S(i, j) = v;
    }
  double score = S(n, m);
  /* walk back for the aligned pairs */
  *pairs = kb_xcalloc(n < m ? n + 1 : m + 1, sizeof **pairs);
  *npairs = 0;
  *top_agree = false;
  bool has_key = false, key_aligned = false;
  for (size_t i = 0; i < n; i++) has_key |= a->v[i].key;
  for (size_t i = n, j = m; i > 0 && j > 0;) {
    if (S(i, j) == S(i - 1, j)) i--;
    else if (S(i, j) == S(i, j - 1)) j--;
    else {
      (*pairs)[(*npairs)++] = (kb_match_pair){a->v[i - 1].pos, b->v[j - 1].pos, frame_label(&a->v[i - 1])};
      if (a->v[i - 1].top && b->v[j - 1].top) *top_agree = true;
      key_aligned |= a->v[i - 1].key;
      i--, j--;
    }
  }
#undef S
  free(s);
  for (size_t k = 0; k < *npairs / 2; k++) {
    kb_match_pair t = (*pairs)[k];
    (*pairs)[k] = (*pairs)[*npairs - 1 - k];
    (*pairs)[*npairs - 1 - k] = t;
  }
  double denom = a->total + b->total;
  double sim = denom > 0 ? 2 * score / denom : 0;
  /* Frames above the follow-up frame are generic helpers; two crashes that share them
   * but not the frame that called them are different crashes. */
  return has_key && !key_aligned ? sim * KEY_MISSING_FACTOR : sim;
}

static void pairs_free(kb_match_pair *p, size_t n) {
  for (size_t i = 0; i < n; i++) free(p[i].frame);
  free(p);
}

/* Keep the best alignment per incident. */
static void keep_best(best **bs, size_t *nb, long long inc, long long sid, double score, bool top, const kb_stack *q,
                      kb_match_pair *pairs, size_t np) {
  for (size_t i = 0; i < *nb; i++) {
    if ((*bs)[i].incident != inc) continue;
    if (score <= (*bs)[i].score) {
      pairs_free(pairs, np);
      return;
    }
    pairs_free((*bs)[i].pairs, (*bs)[i].npairs);
    (*bs)[i] = (best){inc, sid, score, top, q, pairs, np};
    return;
  }
  *bs = kb_xrealloc(*bs, (*nb + 1) * sizeof **bs);
  (*bs)[(*nb)++] = (best){inc, sid, score, top, q, pairs, np};
}

/* Java and .NET print a wrapping exception's trace as the tail of its cause's: a paste that
 * stops at "Failed to start bean" starts where the incident's stack is k frames deep. The
 * candidate's frames from k on, weighed as if they were its top, are aligned again; such a
 * match is worth WRAPPED_FACTOR of a whole one and never agrees on the crash site. */
static double align_wrapped(const kb_stack *q, const wstack *qw, const wstack *cw, kb_match_pair **pairs,
                            size_t *np) {
  if (!q->platform || (strcmp(q->platform, "jvm") != 0 && strcmp(q->platform, "dotnet") != 0)) return 0;
  size_t k = 1;
  while (k < cw->n && strcmp(cw->v[k].norm, qw->v[0].norm) != 0) k++;
  if (k >= cw->n) return 0;
  wstack tail = {kb_xcalloc(cw->n - k, sizeof *tail.v), 0, 0};
  for (size_t i = k; i < cw->n; i++) {
    tail.v[tail.n] = cw->v[i];
    tail.v[tail.n].w *= exp(ALPHA * (double)k);
    tail.v[tail.n].top = tail.n < 2;
    tail.total += tail.v[tail.n++].w;
  }
  bool top;
  double score = align(qw, &tail, pairs, np, &top) * WRAPPED_FACTOR;
  free(tail.v);
  return score;
}

static void match_stack(kb_index *ix, const kb_stack *q, best **bs, size_t *nb) {
  wstack qw = {0};
  query_weights(ix, q, &qw);
  if (qw.n == 0) {
    free(qw.v);
    return;
  }
  cand *c = NULL;
  size_t nc = candidates(ix, &qw, &c);
  for (size_t i = 0; i < nc; i++) {
    wstack cw = {0};
    kb_strlist pool = {0};
    long long inc = -1;
    if (load_stack(ix, c[i].stack, &cw, &pool, &inc) == 0 && cw.n) {
      kb_match_pair *pairs;
      size_t np;
      bool top;
      double score = align(&qw, &cw, &pairs, &np, &top);
      kb_match_pair *wpairs = NULL;
      size_t nwp = 0;
      double wrapped = align_wrapped(q, &qw, &cw, &wpairs, &nwp);
      if (wrapped > score) {
        pairs_free(pairs, np);
        pairs = wpairs, np = nwp, score = wrapped, top = false;
      } else {
        pairs_free(wpairs, nwp);
      }
      if (score >= KB_MATCH_THRESHOLD && inc >= 0) keep_best(bs, nb, inc, c[i].stack, score, top, q, pairs, np);
      else pairs_free(pairs, np);
    }
    free(cw.v);
    kb_strlist_release(&pool);
  }
  free(c);
  free(qw.v);
}

static int best_cmp(const void *a, const void *b) {
  double x = ((const best *)a)->score, y = ((const best *)b)->score;
  return (x < y) - (x > y);
}

/* True when `msg` quotes a name ('webServerStartStop', "db.url") that `other` lacks:
 * the same exception about another bean, key or file is another crash. */
static bool quoted_name_missing(const char *msg, const char *other) {
  for (const char *p = msg; (p = strpbrk(p, "'\"")) != NULL;) {
    const char *end = strchr(p + 1, *p);
    if (!end) break;
    size_t n = (size_t)(end - p - 1);
    if (n >= 3 && n <= 120 && !memmem(other, strlen(other), p + 1, n)) return true;
    p = end + 1;
  }
  return false;
}

/* Two reasons contradict when both name a bugcheck code or exception type and differ, or
 * when the same exception's messages quote different names. */
static bool reasons_agree(const kb_reason *q, const cJSON *r) {
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(r, "code");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r, "message");
  if (q->code && cJSON_IsString(code) && strcasecmp(q->code, code->valuestring) != 0) return false;
  if (q->name && cJSON_IsString(name) && strcmp(q->name, name->valuestring) != 0) return false;
  if (q->name && q->message && cJSON_IsString(msg) && quoted_name_missing(q->message, msg->valuestring))
    return false;
  return true;
}

/* A stack whose every frame was skipped gets its first frame as signature; such a
 * signature (abort, KeBugCheckEx) says nothing about the crash and cannot make "exact". */
static bool signature_is_fallback(const kb_stack *q) {
  for (size_t i = 0; i < q->nframes; i++)
    if ((q->frames[i].flags & KB_FRAME_SIGNATURE) && !(q->frames[i].flags & KB_FRAME_SKIP)) return false;
  return true;
}


static int fill_result(kb_index *ix, const best *b, const char *base, kb_match_result *r) {
  sqlite3_stmt *st = kb_index_stmt(ix, ST_RESULT,
      "SELECT i.id, i.title, i.url, s.signature, s.reason, s.seq FROM stacks s"
      " JOIN incidents i ON i.rowid = s.incident WHERE s.rowid = ?");
  if (!st) return -1;
  sqlite3_bind_int64(st, 1, b->stack);
  if (sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_reset(st);
    return -1;
  }
  const char *sig = (const char *)sqlite3_column_text(st, 3);
  cJSON *reason = cJSON_Parse(sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "{}");
  r->id = kb_xstrdup((const char *)sqlite3_column_text(st, 0));
  r->title = kb_xstrdup((const char *)sqlite3_column_text(st, 1));
  r->url = kb_xasprintf("%s%s", base, (const char *)sqlite3_column_text(st, 2) + 1);
  r->signature = kb_xstrdup(sig ? sig : "");
  r->stack_seq = sqlite3_column_int(st, 5);
  r->score = round(b->score * 1000) / 1000;
  r->via = "frames";
  bool same_sig = sig && b->query->signature && b->query->signature[0] && strcasecmp(sig, b->query->signature) == 0 &&
                  !signature_is_fallback(b->query);
  if (same_sig && b->score >= KB_MATCH_EXACT_MIN && reasons_agree(&b->query->reason, reason)) r->confidence = "exact";
  else if (b->score >= KB_MATCH_STRONG && b->top_agree) r->confidence = "strong";
  else r->confidence = "weak";
  cJSON_Delete(reason);
  sqlite3_reset(st);
  return 0;
}

/* ---- the text fallback: the crash's words when no stack scores ---- */

static bool is_stopword(const char *w, size_t n) {
  static const char *const stop[] = {"the", "and", "not", "for", "with", "from", "that", "this", "cannot", "class",
                                     "module", "access", "because", "does", "export", "unnamed", "java", "lang",
                                     "error", "exception", "failed", "null", "none", "true", "false", "line",
                                     "file", "main", "thread", "value", "type", "object", "index", "args", NULL};
  for (const char *const *s = stop; *s; s++)
    if (strlen(*s) == n && strncasecmp(*s, w, n) == 0) return true;
  return false;
}

/* Identifier-like words (CamelCase, snake_case, with digits) first: they name code. */
static void text_terms_add(const char *s, kb_strlist *strong, kb_strlist *plain) {
  for (const char *p = s; p && *p;) {
    while (*p && !(isalnum((unsigned char)*p) || *p == '_')) p++;
    const char *w = p;
    while (*p && (isalnum((unsigned char)*p) || *p == '_')) p++;
    size_t n = (size_t)(p - w);
    if (n < 4 || n > 80 || isdigit((unsigned char)*w) || is_stopword(w, n)) continue;
    bool ident = false;
    for (size_t i = 1; i < n; i++) ident |= isupper((unsigned char)w[i]) || w[i] == '_' || isdigit((unsigned char)w[i]);
    char *word = kb_xstrndup(w, n);
    kb_strlist *l = ident ? strong : plain;
    if (!kb_strlist_has(strong, word) && !kb_strlist_has(plain, word)) kb_strlist_push_own(l, word);
    else free(word);
  }
}

static void reason_terms(const kb_reason *r, kb_strlist *strong, kb_strlist *plain) {
  const char *parts[] = {r->name, r->code, r->message, r->bucket};
  for (size_t i = 0; i < 4; i++) text_terms_add(parts[i], strong, plain);
}

/* A word worth looking up: in the index, and in at most 5 % of the incidents (at least
 * 32). Words in most incidents say nothing about this crash, and ranking every incident
 * that has one took 230 ms of a fallback at 100,000 incidents. */
static bool text_term_useful(kb_index *ix, const char *w) {
  long long docs = kb_index_word_docs(ix, w, strlen(w)), n = kb_index_incidents(ix);
  return docs > 0 && docs <= (n / 20 > 32 ? n / 20 : 32);
}

/* `"w1" OR "w2" ...` from the reasons and the top counted frames; NULL when none. */
static char *text_query(kb_index *ix, const kb_stacks *q) {
  kb_strlist strong = {0}, plain = {0};
  reason_terms(&q->reason, &strong, &plain);
  for (size_t i = 0; i < q->n && i < MAX_QUERY_STACKS; i++) {
    reason_terms(&q->v[i].reason, &strong, &plain);
    int taken = 0;
    for (size_t j = 0; j < q->v[i].nframes && taken < 4; j++) {
      const kb_frame *f = &q->v[i].frames[j];
      if ((f->flags & KB_FRAME_SKIP) || !f->function) continue;
      text_terms_add(f->function, &strong, &plain);
      taken++;
    }
  }
  kb_buf b = KB_BUF_INIT;
  size_t terms = 0;
  kb_strlist *lists[] = {&strong, &plain};
  for (size_t l = 0; l < 2; l++)
    for (size_t i = 0; i < lists[l]->n && terms < TEXT_TERMS; i++) {
      if (!text_term_useful(ix, lists[l]->v[i])) continue;
      kb_buf_addf(&b, "%s\"%s\"", terms ? " OR " : "", lists[l]->v[i]);
      terms++;
    }
  kb_strlist_release(&strong);
  kb_strlist_release(&plain);
  if (!terms) {
    kb_buf_release(&b);
    return NULL;
  }
  return kb_buf_detach(&b, NULL);
}

static bool has_result(const kb_match *m, const char *id) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->v[i].id, id) == 0) return true;
  return false;
}

static int result_cmp(const void *a, const void *b) {
  double x = ((const kb_match_result *)a)->score, y = ((const kb_match_result *)b)->score;
  return (x < y) - (x > y);
}

static void result_release(kb_match_result *r) {
  free(r->id);
  free(r->title);
  free(r->url);
  free(r->signature);
  pairs_free(r->pairs, r->npairs);
}

/* Appends up to `limit` incidents not in `out` yet (out->v has room for them). */
static int text_fallback(kb_index *ix, const kb_stacks *query, int limit, const char *base, kb_match *out) {
  char *fts = text_query(ix, query);
  if (!fts) return 0;
  sqlite3_stmt *st = kb_index_stmt(ix, ST_TEXT,
      "SELECT ref_id, title, ref_url, rank FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT ?");
  if (!st) {
    free(fts);
    return -1;
  }
  sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, limit);
  double top = 0;
  int step;
  int added = 0;
  while ((step = sqlite3_step(st)) == SQLITE_ROW && added < limit) {
    double rank = -sqlite3_column_double(st, 3); /* bm25: higher is better after negation */
    if (top == 0) top = rank > 0 ? rank : 1;
    if (has_result(out, (const char *)sqlite3_column_text(st, 0))) continue;
    added++;
    kb_match_result *r = &out->v[out->n++];
    memset(r, 0, sizeof *r);
    r->id = kb_xstrdup((const char *)sqlite3_column_text(st, 0));
    r->title = kb_xstrdup((const char *)sqlite3_column_text(st, 1));
    r->url = kb_xasprintf("%s%s", base, (const char *)sqlite3_column_text(st, 2) + 1);
    r->signature = kb_xstrdup("");
    r->stack_seq = -1;
    r->score = round((KB_MATCH_THRESHOLD + (TEXT_SCORE_TOP - KB_MATCH_THRESHOLD) * (rank > 0 ? rank / top : 0)) * 1000) / 1000;
    r->confidence = "weak";
    r->via = "text";
  }
  sqlite3_reset(st);
  free(fts);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

/* ---- the reason fallback: a bugcheck code (and its first parameter) without frames ---- */

/* The first bugcheck reason of the paste that states a code, or NULL. */
static const kb_reason *query_bugcheck(const kb_stacks *q, unsigned long long *code) {
  const kb_reason *r = &q->reason;
  for (size_t i = 0; i <= q->n && i <= MAX_QUERY_STACKS; r = i < q->n ? &q->v[i].reason : NULL, i++) {
    if (r && r->kind && strcmp(r->kind, "bugcheck") == 0 && r->code) {
      char *end; /* the parser writes codes as "0x7C" */
      *code = strtoull(r->code, &end, 16);
      if (*code && !*end) return r;
    }
  }
  return NULL;
}

/* Case-insensitive equality of the first words of two parameter lists. */
static bool first_param_equal(const char *a, const char *b) {
  if (!a || !b) return false;
  size_t n = strcspn(a, " ");
  return n && n == strcspn(b, " ") && strncasecmp(a, b, n) == 0;
}

static kb_match_result *result_find(kb_match *m, const char *id) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->v[i].id, id) == 0) return &m->v[i];
  return NULL;
}

/* The bonus one indexed stack earns from the query's bugcheck: its code, its Arg1. */
static double reason_bonus(const kb_reason *q, const char *reason_json) {
  cJSON *r = cJSON_Parse(reason_json ? reason_json : "{}");
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(r, "params");
  double bonus = CODE_BONUS;
  if (cJSON_IsString(params) && first_param_equal(q->params, params->valuestring)) bonus += PARAM1_BONUS;
  cJSON_Delete(r);
  return bonus;
}

/* The result for incident `id`, added (via "reason") when missing and `room` allows. */
static kb_match_result *reason_result(kb_match *out, sqlite3_stmt *st, const char *base, int *room) {
  const char *id = (const char *)sqlite3_column_text(st, 0);
  kb_match_result *r = result_find(out, id);
  if (r || *room <= 0) return r;
  (*room)--;
  r = &out->v[out->n++];
  memset(r, 0, sizeof *r);
  r->id = kb_xstrdup(id);
  r->title = kb_xstrdup((const char *)sqlite3_column_text(st, 1));
  r->url = kb_xasprintf("%s%s", base, (const char *)sqlite3_column_text(st, 2) + 1);
  r->signature = kb_xstrdup("");
  r->stack_seq = -1;
  r->score = KB_MATCH_THRESHOLD;
  r->confidence = "weak";
  r->via = "reason";
  return r;
}

/* Raise the word results of incidents that share the bugcheck code — in a stack's reason
 * (with its Arg1) or named in the text — and add those the words missed; at most `room`
 * new results (out->v has room for them). Each incident gets its best bonus once. */
static int reason_fallback(kb_index *ix, const kb_stacks *query, int room, const char *base, kb_match *out) {
  unsigned long long code;
  const kb_reason *q = query_bugcheck(query, &code);
  if (!q) return 0;
  sqlite3_stmt *st = kb_index_stmt(ix, ST_REASON,
      "SELECT i.id, i.title, i.url, s.reason FROM stacks s JOIN incidents i ON i.rowid = s.incident"
      " WHERE s.bugcheck = ?1"
      " UNION ALL SELECT i.id, i.title, i.url, NULL FROM bugchecks d JOIN incidents i ON i.rowid = d.incident"
      " WHERE d.code = ?2 COLLATE NOCASE LIMIT ?3");
  if (!st) return -1;
  char *hex = kb_xasprintf("0x%llX", code);
  sqlite3_bind_int64(st, 1, (sqlite3_int64)code);
  sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, REASON_ROWS);
  double *given = kb_xcalloc(out->n + (size_t)room, sizeof *given); /* bonus given per result */
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    kb_match_result *r = reason_result(out, st, base, &room);
    if (!r || strcmp(r->via, "frames") == 0) continue;
    double bonus = CODE_BONUS, *g = &given[r - out->v];
    const char *rj = (const char *)sqlite3_column_text(st, 3);
    if (rj) bonus = reason_bonus(q, rj);
    if (bonus > *g) r->score = round(fmin(FALLBACK_MAX, r->score + bonus - *g) * 1000) / 1000, *g = bonus;
  }
  sqlite3_reset(st);
  free(given);
  free(hex);
  return step == SQLITE_DONE ? 0 : -1;
}

int kb_match_run(kb_index *ix, const kb_stacks *query, int limit, kb_match *out, char **err) {
  memset(out, 0, sizeof *out);
  if (limit < 1) limit = 1;
  if (limit > KB_MATCH_LIMIT_MAX) limit = KB_MATCH_LIMIT_MAX;
  best *bs = NULL;
  size_t nb = 0;
  for (size_t i = 0; i < query->n && i < MAX_QUERY_STACKS; i++) match_stack(ix, &query->v[i], &bs, &nb);
  if (nb) qsort(bs, nb, sizeof *bs, best_cmp);
  const char *base = kb_index_base_url(ix);
  out->v = kb_xcalloc(nb + 2 * (size_t)limit, sizeof *out->v); /* frames, then words, then codes */
  /* With no frame match, or only a thin one (low score, crash sites apart), the words of
   * the crash reason get their say too: an exception message naming the failing bean beats
   * one shared framework frame. */
  bool thin = nb == 0 || (bs[0].score < THIN_SCORE && !bs[0].top_agree);
  int rc = 0;
  for (size_t i = 0; i < nb; i++) {
    if ((int)out->n < limit && rc == 0) {
      kb_match_result *r = &out->v[out->n];
      if (fill_result(ix, &bs[i], base, r) == 0) {
        r->pairs = bs[i].pairs, r->npairs = bs[i].npairs;
        bs[i].pairs = NULL, bs[i].npairs = 0;
        out->n++;
      } else {
        rc = -1;
      }
    }
    pairs_free(bs[i].pairs, bs[i].npairs);
  }
  free(bs);
  if (rc == 0 && thin) {
    rc = text_fallback(ix, query, limit, base, out);
    if (rc == 0) rc = reason_fallback(ix, query, limit, base, out);
    if (out->n) qsort(out->v, out->n, sizeof *out->v, result_cmp);
    while ((int)out->n > limit) result_release(&out->v[--out->n]);
  }
  if (rc) {
    *err = kb_xasprintf("index: %s", sqlite3_errmsg(kb_index_db(ix)));
    kb_match_release(out);
  }
  return rc;
}

void kb_match_release(kb_match *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n; i++) result_release(&m->v[i]);
  free(m->v);
  memset(m, 0, sizeof *m);
}

static void add_str(cJSON *o, const char *k, const char *v) {
  if (v) cJSON_AddStringToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

static cJSON *frame_json(const kb_frame *f) {
  cJSON *o = cJSON_CreateObject();
  add_str(o, "module", f->module);
  add_str(o, "function", f->function);
  add_str(o, "offset", f->offset);
  add_str(o, "file", f->file);
  if (f->line) cJSON_AddNumberToObject(o, "line", f->line);
  else cJSON_AddNullToObject(o, "line");
  add_str(o, "address", f->address);
  add_str(o, "raw", f->raw);
  add_str(o, "norm", f->norm);
  cJSON_AddBoolToObject(o, "skipped", (f->flags & KB_FRAME_SKIP) != 0);
  cJSON_AddBoolToObject(o, "signature", (f->flags & KB_FRAME_SIGNATURE) != 0);
  return o;
}

static cJSON *result_json(const kb_match_result *r) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", r->id);
  cJSON_AddStringToObject(o, "title", r->title);
  cJSON_AddStringToObject(o, "url", r->url);
  cJSON_AddNumberToObject(o, "score", r->score);
  cJSON_AddStringToObject(o, "confidence", r->confidence);
  cJSON_AddStringToObject(o, "via", r->via);
  cJSON_AddStringToObject(o, "signature", r->signature);
  if (r->stack_seq >= 0) cJSON_AddNumberToObject(o, "stack", r->stack_seq); /* which of the incident's stacks */
  else cJSON_AddNullToObject(o, "stack");
  cJSON *mf = cJSON_AddArrayToObject(o, "matched_frames");
  for (size_t i = 0; i < r->npairs; i++) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "query", r->pairs[i].query_pos);
    cJSON_AddNumberToObject(p, "incident", r->pairs[i].incident_pos);
    cJSON_AddStringToObject(p, "frame", r->pairs[i].frame);
    cJSON_AddItemToArray(mf, p);
  }
  return o;
}

cJSON *kb_match_to_json(const kb_stacks *query, const kb_match *m) {
  cJSON *o = cJSON_CreateObject();
  const kb_stack *q = query->n ? &query->v[0] : NULL;
  add_str(o, "signature", q ? q->signature : NULL);
  cJSON_AddItemToObject(o, "reason", kb_reason_to_json(q ? &q->reason : &query->reason));
  add_str(o, "format", q ? q->format : NULL);
  cJSON *frames = cJSON_AddArrayToObject(o, "frames");
  for (size_t i = 0; q && i < q->nframes; i++) cJSON_AddItemToArray(frames, frame_json(&q->frames[i]));
  cJSON_AddNumberToObject(o, "stacks", (double)query->n);
  cJSON *res = cJSON_AddArrayToObject(o, "results");
  for (size_t i = 0; m && i < m->n; i++) cJSON_AddItemToArray(res, result_json(&m->v[i]));
  if (!q) cJSON_AddStringToObject(o, "message", "no stack frames recognised in the text");
  return o;
}
