/* mustache.c - compiler and renderer for the Mustache templates described in
 * mustache.h. gen and the server call it through kb_tmpl_set; tests/test_mustache.c
 * runs the official spec against it.
 *
 * A template is compiled once into a tree of nodes that point into its source. All of
 * the spec's whitespace rules are settled while compiling: standalone lines are cut
 * out, and each partial, parent and block node records the indentation it adds to the
 * lines it expands. Rendering then only walks the tree; the indentation in force is
 * written lazily, at the first output of each template line, so that a line left
 * empty stays empty and newlines inside data are never indented.
 *
 * Inheritance. A parent tag `{{<p}}...{{/p}}` renders template p with the blocks
 * written directly inside the tag as overrides (other text in there is ignored). The
 * overrides in force form a chain, innermost first; a block `{{$b}}` renders the
 * outermost definition of b in the chain, else its own default content. Indentation
 * follows the rules the spec's tests encode: a block whose opening tag ends its line
 * has an intrinsic indentation (that of the next line), which is cut from every line
 * of its content where it is written and added back where it is expanded.
 */
#include "template/mustache.h"
#include "util/util.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELIM_MAX 16                              /* bytes in a custom delimiter */
#define RENDER_NEST_MAX (KB_TMPL_MAX_DEPTH * 16)  /* node lists inside each other */
/* Nodes one render may visit: a base plus a share per value of the data. A template's work
 * grows with its data (a card per incident); what grows faster is a template that
 * multiplies (sections over a list inside each other: 7 levels over a 16-item list are
 * 16^7 visits) and stops here. The home page of 100,000 incidents visits ~4.5 M nodes
 * for ~1.5 M values; 200 bytes of such a template over 16 values took 1 s to reach the
 * old fixed bound of 2^27 in a sanitizer build; now it stops at 1 M. */
#define RENDER_STEPS_BASE (1UL << 20)
#define RENDER_STEPS_PER_VALUE 64UL

/* N_ROOT only marks the outermost parser frame; it never appears in a tree. */
enum { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED, N_PARTIAL, N_PARENT, N_BLOCK, N_ROOT };

typedef struct node {
  unsigned char kind;
  bool cut;           /* the indentation was cut from the source line, not left as text */
  unsigned nkeys;     /* parts of a dotted name; 0 for "." */
  unsigned line;      /* where the tag starts (sections: the opening tag) */
  const char *s;      /* N_TEXT: the text; tags: the name as written */
  size_t n;
  const char *ind;    /* partial/parent/block: indentation added to every line */
  size_t nind;
  char *keys;         /* the name's parts, each NUL-terminated */
  struct node *kids;  /* section body, block content, a parent's blocks */
  size_t nkids;
} node;

typedef struct nodelist {
  node *v;
  size_t n, cap;
} nodelist;

typedef struct tmpl {
  char *name;
  char *src; /* owned; every node points into it */
  size_t len;
  nodelist root;
} tmpl;

/* ---- trees ---------------------------------------------------------------------- */

static void nodes_free(node *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].keys);
    nodes_free(v[i].kids, v[i].nkids);
  }
  free(v);
}

static void nodelist_push(nodelist *l, const node *nd) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = kb_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = *nd;
}

static void tmpl_free(tmpl *t) {
  if (!t) return;
  nodes_free(t->root.v, t->root.n);
  free(t->src);
  free(t->name);
  free(t);
}

/* ---- compiling ------------------------------------------------------------------ */

/* An open section, block or parent while its content is parsed. */
typedef struct frame {
  unsigned char kind; /* N_SECTION, N_INVERTED, N_BLOCK, N_PARENT or N_ROOT */
  bool defn;          /* N_BLOCK written directly inside a parent: an override */
  bool open_cut;      /* the opening tag was standalone */
  bool open_left;     /* only whitespace before the opening tag on its line */
  unsigned line;
  const char *name, *ws, *strip, *ind;
  size_t nname, nws, nstrip, nind; /* ws: before the opening tag; strip: cut from
                                      every line inside; ind: added when expanded */
  nodelist items;
} frame;

typedef struct parser {
  const char *tname, *src;
  size_t len;
  char otag[DELIM_MAX], ctag[DELIM_MAX];
  size_t notag, nctag;
  size_t text;     /* start of the source not yet turned into nodes */
  size_t lpos;     /* line counting has reached here... */
  unsigned line;   /* ...which is on this line */
  frame *fr;
  size_t nfr, capfr;
  char *err;
} parser;

typedef struct tag {
  char sigil; /* 0 (variable) or one of ! # ^ / > < $ & = ; `{` is stored as `&` */
  size_t start, end;
  const char *name;
  size_t nname;
  unsigned line;
} tag;

/* Where a tag sits on its line. */
typedef struct tagline {
  bool left, right; /* only whitespace before / after it on its line */
  size_t ws;        /* start of the whitespace run before it */
  size_t after;     /* just past the end of its line when `right`, else the tag's end */
} tagline;

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int parse_fail(parser *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int parse_fail(parser *p, unsigned line, const char *fmt, ...) {
  kb_buf b = KB_BUF_INIT;
  va_list ap;
  kb_buf_addf(&b, "%s:%u: ", p->tname, line);
  va_start(ap, fmt);
  kb_buf_vaddf(&b, fmt, ap);
  va_end(ap);
  free(p->err);
  p->err = kb_buf_detach(&b, NULL);
  return -1;
}

/* Line number of `pos`. Tags are met in source order, so counting only ever moves
 * forward and the whole compile stays linear. */
static unsigned parse_line_at(parser *p, size_t pos) {
  for (; p->lpos < pos; p->lpos++)
    if (p->src[p->lpos] == '\n') p->line++;
  return p->line;
}

static frame *parse_top(parser *p) { return &p->fr[p->nfr - 1]; }

static int parse_frame_push(parser *p, unsigned char kind, const tag *tg) {
  if (p->nfr > KB_TMPL_MAX_NEST)
    return parse_fail(p, tg->line, "sections nested deeper than %d", KB_TMPL_MAX_NEST);
  if (p->nfr == p->capfr) {
    p->capfr = p->capfr ? p->capfr * 2 : 8;
    p->fr = kb_xrealloc(p->fr, p->capfr * sizeof *p->fr);
  }
  frame *f = &p->fr[p->nfr++];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  if (p->nfr > 1) { /* sections inherit the cut of what they sit in */
    f->strip = f[-1].strip;
    f->nstrip = f[-1].nstrip;
  }
  if (tg) {
    f->line = tg->line;
    f->name = tg->name;
    f->nname = tg->nname;
  }
  return 0;
}

/* Add source text [s, end) to frame `f`, cutting the frame's indentation from the
 * start of every source line in it. Text directly inside a parent tag is ignored. */
static void parse_text_add(parser *p, frame *f, size_t s, size_t end) {
  if (f->kind == N_PARENT) return;
  while (s < end) {
    const char *nl = f->nstrip ? memchr(p->src + s, '\n', end - s) : NULL;
    size_t e = nl ? (size_t)(nl - p->src) + 1 : end;
    if (f->nstrip && (s == 0 || p->src[s - 1] == '\n'))
      for (size_t i = 0; i < f->nstrip && s < e && p->src[s] == f->strip[i]; i++) s++;
    if (e > s) {
      node nd = {.kind = N_TEXT, .s = p->src + s, .n = e - s};
      nodelist_push(&f->items, &nd);
    }
    s = e;
  }
}

/* Turn the pending text up to `end` into nodes; the text resumes at `next`. */
static void parse_text_flush(parser *p, size_t end, size_t next) {
  parse_text_add(p, parse_top(p), p->text, end);
  p->text = next;
}

/* Add a finished node to the innermost frame. A parent tag only keeps its blocks. */
static void parse_node_add(parser *p, node *nd) {
  frame *f = parse_top(p);
  if (f->kind == N_PARENT && nd->kind != N_BLOCK) {
    nodes_free(nd->kids, nd->nkids);
    free(nd->keys);
    return;
  }
  nodelist_push(&f->items, nd);
}

/* The part of indentation `ws` not already cut by the enclosing `strip`. */
static void indent_relative(const char *ws, size_t nws, const char *strip, size_t nstrip,
                            const char **ind, size_t *nind) {
  size_t k = 0;
  while (k < nws && k < nstrip && ws[k] == strip[k]) k++;
  *ind = ws + k;
  *nind = nws - k;
}

static tagline parse_tag_line(const parser *p, const tag *tg) {
  const char *s = p->src;
  tagline li;
  size_t k = tg->start;
  while (k > p->text && (s[k - 1] == ' ' || s[k - 1] == '\t')) k--;
  li.ws = k;
  li.left = k == 0 || s[k - 1] == '\n';
  k = tg->end;
  while (k < p->len && (s[k] == ' ' || s[k] == '\t')) k++;
  li.right = true;
  if (k == p->len) li.after = k;
  else if (s[k] == '\n') li.after = k + 1;
  else if (s[k] == '\r' && k + 1 < p->len && s[k + 1] == '\n') li.after = k + 2;
  else {
    li.right = false;
    li.after = tg->end;
  }
  return li;
}

/* The usual rule: a tag alone on its line takes the whole line with it. */
static bool parse_tag_cut(parser *p, const tag *tg, tagline *li) {
  *li = parse_tag_line(p, tg);
  bool cut = li->left && li->right;
  parse_text_flush(p, cut ? li->ws : tg->start, cut ? li->after : tg->end);
  return cut;
}

/* Names: non-empty, no whitespace; dotted names have no empty part. */
static int parse_name_check(parser *p, const tag *tg) {
  if (tg->nname == 0) return parse_fail(p, tg->line, "empty tag");
  bool dotted = tg->sigil == 0 || tg->sigil == '#' || tg->sigil == '^' || tg->sigil == '/' ||
                tg->sigil == '&';
  bool dot_ok = !dotted || (tg->nname == 1 && tg->name[0] == '.');
  for (size_t i = 0; i < tg->nname; i++) {
    char c = tg->name[i];
    bool empty_part = c == '.' && (i == 0 || i + 1 == tg->nname || tg->name[i + 1] == '.');
    if (is_space(c) || (dotted && !dot_ok && empty_part))
      return parse_fail(p, tg->line, "bad name '%.*s'", (int)(tg->nname > 80 ? 80 : tg->nname),
                        tg->name);
  }
  return 0;
}

static char parse_sigil(char c) {
  switch (c) {
  case '!': case '#': case '^': case '/': case '>': case '<': case '$': case '&': case '{':
  case '=':
    return c;
  default:
    return 0;
  }
}

/* Read the tag whose opening delimiter starts at `start`. */
static int parse_tag_scan(parser *p, size_t start, tag *tg) {
  const char *s = p->src;
  size_t i = start + p->notag;
  char close[DELIM_MAX + 1];
  size_t nclose = 0;
  tg->start = start;
  tg->line = parse_line_at(p, start);
  tg->sigil = i < p->len ? parse_sigil(s[i]) : 0;
  if (tg->sigil) i++;
  if (tg->sigil == '{' || tg->sigil == '=') close[nclose++] = tg->sigil == '{' ? '}' : '=';
  memcpy(close + nclose, p->ctag, p->nctag);
  nclose += p->nctag;
  const char *e = memmem(s + i, p->len - i, close, nclose);
  if (!e) return parse_fail(p, tg->line, "unclosed tag: no '%.*s' after it", (int)nclose, close);
  tg->end = (size_t)(e - s) + nclose;
  while (i < (size_t)(e - s) && is_space(s[i])) i++;
  while ((size_t)(e - s) > i && is_space(e[-1])) e--;
  tg->name = s + i;
  tg->nname = (size_t)(e - s) - i;
  if (tg->sigil == '{') tg->sigil = '&';
  if (tg->sigil == '!' || tg->sigil == '=') return 0;
  return parse_name_check(p, tg);
}

/* `{{=<% %>=}}`: two words, no whitespace or '=' in either. */
static int parse_delims_set(parser *p, const tag *tg) {
  const char *s = tg->name, *end = s + tg->nname, *a = s, *b;
  while (a < end && !is_space(*a)) a++;
  b = a;
  while (b < end && is_space(*b)) b++;
  size_t na = (size_t)(a - s), nb = (size_t)(end - b);
  bool ok = na && nb && na <= DELIM_MAX && nb <= DELIM_MAX && !memchr(s, '=', na) &&
            !memchr(b, '=', nb);
  for (const char *c = b; ok && c < end; c++) ok = !is_space(*c);
  if (!ok)
    return parse_fail(p, tg->line, "bad delimiter change '%.*s'",
                      (int)(tg->nname > 80 ? 80 : tg->nname), tg->name);
  memcpy(p->otag, s, na);
  p->notag = na;
  memcpy(p->ctag, b, nb);
  p->nctag = nb;
  return 0;
}

static void node_name_set(node *nd, const char *s, size_t n, bool dotted) {
  nd->s = s;
  nd->n = n;
  if (dotted && n == 1 && s[0] == '.') return; /* nkeys 0: the context itself */
  nd->keys = kb_xstrndup(s, n);
  nd->nkeys = 1;
  for (size_t i = 0; dotted && i < n; i++)
    if (nd->keys[i] == '.') nd->keys[i] = '\0', nd->nkeys++;
}

static void parse_var(parser *p, const tag *tg) {
  node nd = {.kind = tg->sigil == '&' ? N_RAW : N_VAR, .line = tg->line};
  parse_text_flush(p, tg->start, tg->end);
  node_name_set(&nd, tg->name, tg->nname, true);
  parse_node_add(p, &nd);
}

static void parse_partial(parser *p, const tag *tg) {
  node nd = {.kind = N_PARTIAL, .line = tg->line};
  tagline li;
  frame *f = parse_top(p);
  nd.cut = parse_tag_cut(p, tg, &li);
  if (nd.cut)
    indent_relative(p->src + li.ws, tg->start - li.ws, f->strip, f->nstrip, &nd.ind, &nd.nind);
  node_name_set(&nd, tg->name, tg->nname, false);
  parse_node_add(p, &nd);
}

static int parse_section(parser *p, const tag *tg) {
  tagline li;
  parse_tag_cut(p, tg, &li);
  return parse_frame_push(p, tg->sigil == '#' ? N_SECTION : N_INVERTED, tg);
}

/* `{{$b}}`. Inside a parent tag it defines an override, and only what follows it on
 * its line decides whether it is standalone (what precedes it is ignored text). */
static int parse_block(parser *p, const tag *tg) {
  frame *f = parse_top(p);
  bool defn = f->kind == N_PARENT;
  const char *strip = f->strip;
  size_t nstrip = f->nstrip;
  tagline li = parse_tag_line(p, tg);
  bool cut = li.right && (defn || li.left);
  parse_text_flush(p, cut ? li.ws : tg->start, cut ? li.after : tg->end);
  if (parse_frame_push(p, N_BLOCK, tg)) return -1;
  f = parse_top(p);
  f->defn = defn;
  f->open_cut = cut;
  f->open_left = li.left;
  f->ws = p->src + li.ws;
  f->nws = tg->start - li.ws;
  if (cut) { /* intrinsic indentation: that of the next line */
    size_t k = li.after;
    while (k < p->len && (p->src[k] == ' ' || p->src[k] == '\t')) k++;
    f->strip = p->src + li.after;
    f->nstrip = k - li.after;
    indent_relative(f->strip, f->nstrip, strip, nstrip, &f->ind, &f->nind);
  }
  return 0;
}

/* `{{<p}}`: whitespace before it is held back until the closing tag shows whether
 * the pair stands alone on its line(s) (then it becomes indentation). */
static int parse_parent(parser *p, const tag *tg) {
  tagline li = parse_tag_line(p, tg);
  parse_text_flush(p, li.left ? li.ws : tg->start, tg->end);
  if (parse_frame_push(p, N_PARENT, tg)) return -1;
  frame *f = parse_top(p);
  f->open_left = li.left;
  f->ws = p->src + li.ws;
  f->nws = tg->start - li.ws;
  return 0;
}

/* Settle the closing tag's whitespace; `nd` gets the indentation of the pair. */
static void parse_close_space(parser *p, const tag *tg, const frame *f, node *nd) {
  const frame *up = f - 1;
  tagline li;
  if (f->kind == N_PARENT) {
    li = parse_tag_line(p, tg);
    nd->cut = f->open_left && li.right;
    parse_text_flush(p, tg->start, nd->cut ? li.after : tg->end);
    if (nd->cut) indent_relative(f->ws, f->nws, up->strip, up->nstrip, &nd->ind, &nd->nind);
  } else if (f->defn) { /* what follows is ignored text of the parent tag */
    li = parse_tag_line(p, tg);
    parse_text_flush(p, li.left ? li.ws : tg->start, tg->end);
  } else {
    parse_tag_cut(p, tg, &li);
    if (f->kind != N_BLOCK) return;
    nd->cut = f->open_cut;
    if (f->open_cut) {
      nd->ind = f->ind;
      nd->nind = f->nind;
    } else if (f->open_left && li.right) /* the pair stands alone: indent as its line */
      indent_relative(f->ws, f->nws, up->strip, up->nstrip, &nd->ind, &nd->nind);
  }
}

static int parse_close(parser *p, const tag *tg) {
  frame *f = parse_top(p);
  if (f->kind == N_ROOT)
    return parse_fail(p, tg->line, "'%.*s' closes nothing", (int)(tg->nname > 80 ? 80 : tg->nname),
                      tg->name);
  if (f->nname != tg->nname || memcmp(f->name, tg->name, tg->nname) != 0)
    return parse_fail(p, tg->line, "'%.*s' closed, but '%.*s' (line %u) is open",
                      (int)(tg->nname > 80 ? 80 : tg->nname), tg->name,
                      (int)(f->nname > 80 ? 80 : f->nname), f->name, f->line);
  node nd = {.kind = f->kind, .line = f->line};
  parse_close_space(p, tg, f, &nd);
  node_name_set(&nd, f->name, f->nname, f->kind == N_SECTION || f->kind == N_INVERTED);
  nd.kids = f->items.v;
  nd.nkids = f->items.n;
  bool held = f->kind == N_PARENT && f->open_left && !nd.cut;
  size_t ws = (size_t)(f->ws - p->src), nws = f->nws;
  p->nfr--;
  if (held) parse_text_add(p, parse_top(p), ws, ws + nws);
  parse_node_add(p, &nd);
  return 0;
}

static int parse_tag(parser *p, const tag *tg) {
  tagline li;
  switch (tg->sigil) {
  case '!': parse_tag_cut(p, tg, &li); return 0;
  case '=': if (parse_delims_set(p, tg)) return -1; parse_tag_cut(p, tg, &li); return 0;
  case '#': case '^': return parse_section(p, tg);
  case '$': return parse_block(p, tg);
  case '<': return parse_parent(p, tg);
  case '>': parse_partial(p, tg); return 0;
  case '/': return parse_close(p, tg);
  default: parse_var(p, tg); return 0;
  }
}

static const char *parse_kind_name(unsigned char kind) {
  return kind == N_BLOCK ? "block" : kind == N_PARENT ? "parent" : "section";
}

static int parse_run(parser *p) {
  size_t pos = 0;
  const char *o;
  while ((o = memmem(p->src + pos, p->len - pos, p->otag, p->notag)) != NULL) {
    tag tg;
    if (parse_tag_scan(p, (size_t)(o - p->src), &tg) || parse_tag(p, &tg)) return -1;
    pos = tg.end;
  }
  parse_text_flush(p, p->len, p->len);
  if (p->nfr == 1) return 0;
  frame *f = parse_top(p);
  return parse_fail(p, f->line, "unclosed %s '%.*s'", parse_kind_name(f->kind),
                    (int)(f->nname > 80 ? 80 : f->nname), f->name);
}

static char *tmpl_size_error(const char *name) {
  return kb_xasprintf("%s:1: template larger than %zu bytes", name, KB_TMPL_MAX_SIZE);
}

/* Compile `src` (taken over, freed on failure). Returns NULL and sets *err on error. */
static tmpl *tmpl_compile(const char *name, char *src, size_t len, char **err) {
  if (len > KB_TMPL_MAX_SIZE) {
    free(src);
    *err = tmpl_size_error(name);
    return NULL;
  }
  tmpl *t = kb_xcalloc(1, sizeof *t);
  t->name = kb_xstrdup(name);
  t->src = src;
  t->len = len;
  parser p = {.tname = t->name, .src = src, .len = len, .otag = "{{", .ctag = "}}",
              .notag = 2, .nctag = 2, .line = 1};
  parse_frame_push(&p, N_ROOT, NULL);
  int rc = parse_run(&p);
  if (rc == 0) t->root = p.fr[0].items;
  for (size_t i = rc == 0 ? 1 : 0; i < p.nfr; i++) nodes_free(p.fr[i].items.v, p.fr[i].items.n);
  free(p.fr);
  if (rc == 0) return t;
  *err = p.err;
  tmpl_free(t);
  return NULL;
}

/* ---- the set -------------------------------------------------------------------- */

typedef struct entry {
  struct entry *next;
  char *name;
  tmpl *t;   /* NULL when the loader did not know the name or it failed to compile */
  char *err; /* why it failed to compile */
} entry;

struct kb_tmpl_set {
  kb_tmpl_loader loader;
  void *ctx;
  pthread_mutex_t lock; /* guards slot, nslot and n; entries never change once in */
  entry **slot;
  size_t nslot, n;
};

kb_tmpl_set *kb_tmpl_set_new(kb_tmpl_loader loader, void *ctx) {
  kb_tmpl_set *set = kb_xcalloc(1, sizeof *set);
  set->loader = loader;
  set->ctx = ctx;
  pthread_mutex_init(&set->lock, NULL);
  set->nslot = 16;
  set->slot = kb_xcalloc(set->nslot, sizeof *set->slot);
  return set;
}

static void entry_free(entry *e) {
  tmpl_free(e->t);
  free(e->err);
  free(e->name);
  free(e);
}

void kb_tmpl_set_free(kb_tmpl_set *set) {
  if (!set) return;
  for (size_t i = 0; i < set->nslot; i++) {
    for (entry *e = set->slot[i], *next; e; e = next) {
      next = e->next;
      entry_free(e);
    }
  }
  free(set->slot);
  pthread_mutex_destroy(&set->lock);
  free(set);
}

static size_t set_hash(const char *s) {
  size_t h = 14695981039346656037u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

/* Both with the lock held. */
static entry *set_find_locked(const kb_tmpl_set *set, const char *name) {
  entry *e = set->slot[set_hash(name) & (set->nslot - 1)];
  while (e && strcmp(e->name, name) != 0) e = e->next;
  return e;
}

static void set_insert_locked(kb_tmpl_set *set, entry *e) {
  if (set->n * 4 >= set->nslot * 3) {
    size_t nslot = set->nslot * 2;
    entry **slot = kb_xcalloc(nslot, sizeof *slot);
    for (size_t i = 0; i < set->nslot; i++) {
      for (entry *x = set->slot[i], *next; x; x = next) {
        next = x->next;
        x->next = slot[set_hash(x->name) & (nslot - 1)];
        slot[set_hash(x->name) & (nslot - 1)] = x;
      }
    }
    free(set->slot);
    set->slot = slot;
    set->nslot = nslot;
  }
  e->next = set->slot[set_hash(e->name) & (set->nslot - 1)];
  set->slot[set_hash(e->name) & (set->nslot - 1)] = e;
  set->n++;
}

/* Load and compile outside the lock, so a slow loader does not hold up other
 * threads; if another thread cached the name meanwhile, its entry wins. */
static entry *set_load(kb_tmpl_set *set, const char *name) {
  entry *e = kb_xcalloc(1, sizeof *e);
  e->name = kb_xstrdup(name);
  size_t len = 0;
  char *src = set->loader ? set->loader(set->ctx, name, &len) : NULL;
  if (src) e->t = tmpl_compile(name, src, len, &e->err);
  pthread_mutex_lock(&set->lock);
  entry *old = set_find_locked(set, name);
  if (!old) set_insert_locked(set, e);
  pthread_mutex_unlock(&set->lock);
  if (!old) return e;
  entry_free(e);
  return old;
}

/* The compiled template `name` in *t (NULL if there is none). Returns 0, or -1 with
 * *err set when it does not compile. */
static int set_get(kb_tmpl_set *set, const char *name, const tmpl **t, char **err) {
  pthread_mutex_lock(&set->lock);
  entry *e = set_find_locked(set, name);
  pthread_mutex_unlock(&set->lock);
  if (!e) e = set_load(set, name);
  *t = e->t;
  if (!e->err) return 0;
  *err = kb_xstrdup(e->err);
  return -1;
}

/* ---- rendering ------------------------------------------------------------------ */

/* The blocks one parent tag passes down; the chain runs from inner to outer. */
typedef struct ovr {
  const node *parent;
  const tmpl *owner; /* the template the parent tag is written in */
  const struct ovr *next;
} ovr;

typedef struct render {
  kb_tmpl_set *set;
  kb_buf *out;
  const tmpl *cur; /* whose nodes are being rendered, for messages */
  const cJSON **ctx;
  size_t nctx, capctx;
  kb_buf indent; /* indentation in force */
  bool bol;      /* at the start of a template line: indent before the next output */
  const ovr *ovr;
  int depth, nest;
  unsigned long steps, steps_max;
  char *err;
} render;

static int render_fail(render *st, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int render_fail(render *st, unsigned line, const char *fmt, ...) {
  kb_buf b = KB_BUF_INIT;
  va_list ap;
  kb_buf_addf(&b, "%s:%u: ", st->cur->name, line);
  va_start(ap, fmt);
  kb_buf_vaddf(&b, fmt, ap);
  va_end(ap);
  free(st->err);
  st->err = kb_buf_detach(&b, NULL);
  return -1;
}

static void render_indent(render *st) {
  if (!st->bol) return;
  st->bol = false;
  kb_buf_add(st->out, st->indent.ptr, st->indent.len);
}

/* Template text: every line gets the indentation, except empty ones. */
static void render_text(render *st, const char *s, size_t n) {
  while (n) {
    const char *nl = memchr(s, '\n', n);
    size_t k = nl ? (size_t)(nl - s) + 1 : n;
    bool blank = nl && (k == 1 || (k == 2 && s[0] == '\r'));
    if (!blank) render_indent(st);
    kb_buf_add(st->out, s, k);
    if (nl) st->bol = true;
    s += k;
    n -= k;
  }
}

/* Shortest text that reads back as `d`; integers without a decimal point. */
static void number_format(double d, char buf[32]) {
  if (fabs(d) < 1e15 && d == (double)(long long)d) {
    snprintf(buf, 32, "%lld", (long long)d);
    return;
  }
  snprintf(buf, 32, "%.15g", d);
  if (strtod(buf, NULL) != d) snprintf(buf, 32, "%.17g", d);
}

static void render_value(render *st, const cJSON *v, bool escape) {
  char num[32];
  const char *s;
  if (cJSON_IsString(v) || cJSON_IsRaw(v)) s = v->valuestring;
  else if (cJSON_IsNumber(v)) {
    number_format(v->valuedouble, num);
    s = num;
  }
  else if (cJSON_IsBool(v)) s = cJSON_IsTrue(v) ? "true" : "false";
  else return; /* missing, null, objects, arrays */
  size_t n = s ? strlen(s) : 0;
  if (n == 0) return;
  render_indent(st);
  if (escape) kb_buf_add_html(st->out, s, n);
  else kb_buf_add(st->out, s, n);
}

static bool value_truthy(const cJSON *v) {
  if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return false;
  if (cJSON_IsArray(v)) return v->child != NULL;
  if (cJSON_IsString(v)) return v->valuestring && v->valuestring[0];
  if (cJSON_IsNumber(v)) return v->valuedouble != 0;
  return true;
}

/* cJSON_GetObjectItemCaseSensitive, comparing first bytes before whole keys: a name
 * looked up from a frame's section misses a dozen keys at each level of the context
 * (six million lookups for 1,000 incident pages). */
static const cJSON *object_get(const cJSON *o, const char *k) {
  if (!cJSON_IsObject(o)) return NULL;
  for (const cJSON *c = o->child; c && c->string; c = c->next) /* cJSON stops at a keyless item too */
    if (c->string[0] == k[0] && strcmp(c->string, k) == 0) return c;
  return NULL;
}

/* The spec's name resolution: the first part on the whole stack, the rest only
 * inside what the first part found. */
static const cJSON *ctx_lookup(const render *st, const node *nd) {
  if (nd->nkeys == 0) return st->nctx ? st->ctx[st->nctx - 1] : NULL;
  const char *k = nd->keys;
  const cJSON *v = NULL;
  for (size_t i = st->nctx; i-- > 0 && !v;) v = object_get(st->ctx[i], k);
  for (unsigned j = 1; j < nd->nkeys && v; j++) {
    k += strlen(k) + 1;
    v = object_get(v, k);
  }
  return v;
}

static void ctx_push(render *st, const cJSON *v) {
  if (st->nctx == st->capctx) {
    st->capctx = st->capctx ? st->capctx * 2 : 16;
    st->ctx = kb_xrealloc(st->ctx, st->capctx * sizeof *st->ctx);
  }
  st->ctx[st->nctx++] = v;
}

/* Add a node's indentation. If it was cut from a line that is already under way
 * (a standalone tag at the start of a partial written mid-line), write it now. */
static void indent_push(render *st, const node *nd) {
  if (!nd->nind) return;
  if (nd->cut && !st->bol) kb_buf_add(st->out, nd->ind, nd->nind);
  kb_buf_add(&st->indent, nd->ind, nd->nind);
}

static int render_nodes(render *st, const node *v, size_t n);

static int render_with(render *st, const cJSON *v, const node *nd) {
  ctx_push(st, v);
  int rc = render_nodes(st, nd->kids, nd->nkids);
  st->nctx--;
  return rc;
}

static int render_section(render *st, const node *nd) {
  const cJSON *v = ctx_lookup(st, nd);
  bool truthy = value_truthy(v);
  if (nd->kind == N_INVERTED) return truthy ? 0 : render_nodes(st, nd->kids, nd->nkids);
  if (!truthy) return 0;
  if (!cJSON_IsArray(v)) return render_with(st, v, nd);
  for (const cJSON *it = v->child; it; it = it->next)
    if (render_with(st, it, nd)) return -1;
  return 0;
}

static int render_depth_check(render *st, const node *nd) {
  if (st->depth < KB_TMPL_MAX_DEPTH) return 0;
  return render_fail(st, nd->line, "'%.*s' nested deeper than %d partials/parents/blocks",
                     (int)(nd->n > 80 ? 80 : nd->n), nd->s, KB_TMPL_MAX_DEPTH);
}

/* `{{>p}}` and `{{<p}}...{{/p}}`: a partial is a parent that overrides nothing. */
static int render_partial(render *st, const node *nd) {
  const tmpl *t;
  char *err = NULL;
  if (render_depth_check(st, nd)) return -1;
  if (set_get(st->set, nd->keys, &t, &err)) {
    free(st->err);
    st->err = err;
    return -1;
  }
  if (!t) return 0; /* the spec: an unknown partial renders as nothing */
  ovr pass = {nd, st->cur, st->ovr};
  const tmpl *cur = st->cur;
  size_t nindent = st->indent.len;
  if (nd->kind == N_PARENT) st->ovr = &pass;
  indent_push(st, nd);
  st->cur = t;
  st->depth++;
  int rc = render_nodes(st, t->root.v, t->root.n);
  st->depth--;
  st->cur = cur;
  kb_buf_truncate(&st->indent, nindent);
  st->ovr = pass.next;
  return rc;
}

/* The outermost definition of block `name` among the overrides in force. */
static const node *override_find(const ovr *o, const char *name, const ovr **from) {
  const node *found = NULL;
  for (; o; o = o->next) {
    for (size_t i = 0; i < o->parent->nkids; i++) {
      if (strcmp(o->parent->kids[i].keys, name) == 0) {
        found = &o->parent->kids[i];
        *from = o;
      }
    }
  }
  return found;
}

/* `{{$b}}`: an override gets the block's indentation; the default content only
 * when its intrinsic indentation was cut at compile time. */
static int render_block(render *st, const node *nd) {
  const ovr *from = NULL;
  const node *def = override_find(st->ovr, nd->keys, &from);
  if (def && render_depth_check(st, nd)) return -1;
  const tmpl *cur = st->cur;
  size_t nindent = st->indent.len;
  if (def || nd->cut) indent_push(st, nd);
  if (def) {
    st->cur = from->owner;
    st->depth++;
  }
  int rc = render_nodes(st, def ? def->kids : nd->kids, def ? def->nkids : nd->nkids);
  if (def) st->depth--;
  st->cur = cur;
  kb_buf_truncate(&st->indent, nindent);
  return rc;
}

static int render_node(render *st, const node *nd) {
  if (st->out->err)
    return render_fail(st, nd->line, "output larger than %zu bytes", st->out->max);
  if (++st->steps > st->steps_max)
    return render_fail(st, nd->line, "rendering takes more than %lu steps", st->steps_max);
  switch (nd->kind) {
  case N_TEXT: render_text(st, nd->s, nd->n); return 0;
  case N_VAR: render_value(st, ctx_lookup(st, nd), true); return 0;
  case N_RAW: render_value(st, ctx_lookup(st, nd), false); return 0;
  case N_SECTION: case N_INVERTED: return render_section(st, nd);
  case N_PARTIAL: case N_PARENT: return render_partial(st, nd);
  default: return render_block(st, nd);
  }
}

/* Sections are bounded per template and partials in depth, but both multiply: the
 * C stack gets its own bound. */
static int render_nodes(render *st, const node *v, size_t n) {
  if (n && st->nest >= RENDER_NEST_MAX)
    return render_fail(st, v[0].line, "templates nested deeper than %d levels", RENDER_NEST_MAX);
  st->nest++;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) rc = render_node(st, &v[i]);
  st->nest--;
  return rc;
}

/* How many values `data` holds (objects and arrays count their members), at most `cap`. */
static unsigned long data_values(const cJSON *data, unsigned long cap) {
  unsigned long n = 0;
  for (const cJSON *c = data; c && n < cap; c = c->next) {
    n++;
    if (c->child) n += data_values(c->child, cap - n);
  }
  return n;
}

static int render_run(kb_tmpl_set *set, const tmpl *t, const cJSON *data, kb_buf *out,
                      char **err) {
  const unsigned long values_cap = (ULONG_MAX - RENDER_STEPS_BASE) / RENDER_STEPS_PER_VALUE;
  render st = {.set = set, .out = out, .cur = t, .bol = true,
               .steps_max = RENDER_STEPS_BASE + RENDER_STEPS_PER_VALUE * data_values(data, values_cap)};
  size_t start = out->len;
  kb_buf_init(&st.indent, 0);
  if (data) ctx_push(&st, data);
  int rc = render_nodes(&st, t->root.v, t->root.n);
  if (rc == 0 && out->err) rc = render_fail(&st, 0, "output larger than %zu bytes", out->max);
  if (rc) kb_buf_truncate(out, start);
  if (rc && err) *err = st.err;
  else free(st.err);
  free(st.ctx);
  kb_buf_release(&st.indent);
  return rc;
}

static int render_error(char *msg, char **err) {
  if (err) *err = msg;
  else free(msg);
  return -1;
}

int kb_tmpl_set_render(kb_tmpl_set *set, const char *name, const cJSON *data, kb_buf *out,
                       char **err) {
  const tmpl *t;
  char *msg = NULL;
  if (err) *err = NULL;
  if (set_get(set, name, &t, &msg)) return render_error(msg, err);
  if (!t) return render_error(kb_xasprintf("%s:0: template not found", name), err);
  return render_run(set, t, data, out, err);
}

int kb_mustache_render(const char *name, const char *src, size_t len, const cJSON *data,
                       kb_tmpl_loader loader, void *ctx, kb_buf *out, char **err) {
  char *msg = NULL;
  if (err) *err = NULL;
  if (len > KB_TMPL_MAX_SIZE) return render_error(tmpl_size_error(name), err);
  tmpl *t = tmpl_compile(name, kb_xstrndup(src ? src : "", src ? len : 0), src ? len : 0, &msg);
  if (!t) return render_error(msg, err);
  kb_tmpl_set *set = kb_tmpl_set_new(loader, ctx);
  int rc = render_run(set, t, data, out, err);
  kb_tmpl_set_free(set);
  tmpl_free(t);
  return rc;
}

char *kb_tmpl_dir_loader(void *ctx, const char *name, size_t *len) {
  const char *dir = ctx;
  if (!name[0] || name[0] == '/' || strstr(name, "..") || strchr(name, '\\')) return NULL;
  char *path = kb_xasprintf("%s/%s.mustache", dir, name);
  kb_buf b;
  kb_buf_init(&b, (size_t)4 << 20);
  int rc = kb_file_read(path, &b);
  free(path);
  if (rc) {
    kb_buf_release(&b);
    return NULL;
  }
  return kb_buf_detach(&b, len);
}
