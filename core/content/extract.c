/* extract.c - pull identifiers out of an incident's text (see extract.h).
 *
 * The text is cut into words of [A-Za-z0-9_.-] and each word is classified on its own,
 * so the scan is one linear pass. A hex number counts as a bugcheck code only right
 * after words that say so ("bugcheck", "bug check", "stop", BUGCHECK_CODE): a bare
 * 0xA in prose is an offset as often as a code. */
#include "content/extract.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

static bool word_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-'; }

void kb_idents_add(kb_idents *out, const char *kind, const char *value, size_t len) {
  if (len == 0 || out->n >= KB_IDENTS_MAX) return;
  /* the length and the last byte compared first (folded with | 0x20, which never sets
   * apart two bytes strncasecmp finds equal): most pairs differ there ("drv158", "drv267") */
  unsigned last = (unsigned char)value[len - 1] | 0x20;
  for (size_t i = 0; i < out->n; i++) {
    const kb_ident *id = &out->v[i];
    if (id->len == len && ((unsigned char)id->value[len - 1] | 0x20) == last && strcmp(id->kind, kind) == 0 &&
        strncasecmp(id->value, value, len) == 0)
      return;
  }
  if (out->n == out->cap) {
    out->cap = out->cap ? out->cap * 2 : 16;
    out->v = kb_xrealloc(out->v, out->cap * sizeof *out->v);
  }
  char *copy = kb_xstrndup(value, len);
  out->v[out->n++] = (kb_ident){kind, copy, strlen(copy)};
}

void kb_idents_add_bugcheck(kb_idents *out, unsigned code) {
  char hex[16];
  int n = snprintf(hex, sizeof hex, "0x%X", code);
  kb_idents_add(out, "bugcheck", hex, (size_t)n);
  const char *name = kb_bugcheck_name(code);
  if (name) kb_idents_add(out, "bugcheck_name", name, strlen(name));
}

static bool all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return n > 0;
}

static bool is_kb_article(const char *w, size_t n) {
  return n >= 8 && n <= 9 && (w[0] == 'K' || w[0] == 'k') && (w[1] == 'B' || w[1] == 'b') &&
         all_digits(w + 2, n - 2);
}

static bool is_cve(const char *w, size_t n) {
  if (n < 13 || n > 17 || strncasecmp(w, "CVE-", 4) != 0 || !all_digits(w + 4, 4) || w[8] != '-') return false;
  return all_digits(w + 9, n - 9);
}

static bool is_module_file(const char *w, size_t n) {
  static const char *const exts[] = {".sys", ".dll", ".exe", NULL};
  if (n < 6 || w[n - 4] != '.') return false; /* each extension is a dot and three letters */
  for (const char *const *e = exts; *e; e++) {
    size_t el = strlen(*e);
    if (n > el + 1 && strncasecmp(w + n - el, *e, el) == 0 && isalpha((unsigned char)w[0])) {
      for (size_t i = 0; i < n - el; i++)
        if (w[i] == '.') return false; /* "foo.bar.dll" is more likely a path piece */
      return true;
    }
  }
  return false;
}

/* `java.lang.NullPointerException`, `System.IO.IOException`, `KeyError`. */
static bool is_exception_type(const char *w, size_t n) {
  const char *last = w;
  for (size_t i = 0; i + 1 < n; i++)
    if (w[i] == '.') last = w + i + 1;
  size_t ln = (size_t)(w + n - last);
  if (!isupper((unsigned char)last[0])) return false;
  for (size_t i = 0; i < ln; i++)
    if (!isalnum((unsigned char)last[i])) return false;
  if (ln > 9 && strncmp(last + ln - 9, "Exception", 9) == 0) return true;
  return ln > 5 && strncmp(last + ln - 5, "Error", 5) == 0 && islower((unsigned char)last[ln - 6]);
}

/* Parse `0x0000000A` or (after BUGCHECK_CODE:) a bare `a`; 0 when not hex. */
static unsigned parse_code(const char *w, size_t n, bool need_prefix) {
  if (n > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) w += 2, n -= 2;
  else if (need_prefix) return 0;
  if (n == 0 || n > 8) return 0;
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isxdigit((unsigned char)w[i])) return 0;
    v = v * 16 + (unsigned)(isdigit((unsigned char)w[i]) ? w[i] - '0' : tolower((unsigned char)w[i]) - 'a' + 10);
  }
  return v;
}

/* Words that announce a bugcheck code: "bugcheck 0xA", "Bug Check 0x133", "STOP 0x0000000A". */
static int code_cue(const char *w, size_t n) {
  int c = tolower((unsigned char)w[0]);
  if (c != 'b' && c != 'c' && c != 's') return 0; /* the first letters of the cues */
  if (n == 13 && strncmp(w, "BUGCHECK_CODE", 13) == 0) return 2; /* may be bare hex */
  if ((n == 8 && strncasecmp(w, "bugcheck", 8) == 0) || (n == 9 && strncasecmp(w, "bugchecks", 9) == 0) ||
      (n == 10 && strncasecmp(w, "bugchecked", 10) == 0) || (n == 5 && strncasecmp(w, "check", 5) == 0) ||
      (n == 4 && strncasecmp(w, "stop", 4) == 0))
    return 1;
  return 0;
}

void kb_idents_extract(const char *text, size_t len, kb_idents *out) {
  int cue = 0; /* set by a cue word, lasts for the next two words */
  int cue_left = 0;
  for (size_t i = 0; i < len;) {
    if (!word_char(text[i])) {
      i++;
      continue;
    }
    size_t s = i;
    while (i < len && word_char(text[i])) i++;
    size_t n = i - s;
    while (n > 0 && (text[s + n - 1] == '.' || text[s + n - 1] == '-')) n--;
    const char *w = text + s;
    if (n == 0) continue;
    unsigned code;
    if (cue && (code = parse_code(w, n, cue == 1)) != 0) {
      kb_idents_add_bugcheck(out, code);
    } else if (is_kb_article(w, n)) {
      char up[16];
      snprintf(up, sizeof up, "KB%.*s", (int)(n - 2), w + 2);
      kb_idents_add(out, "kb", up, n);
    } else if (is_cve(w, n)) {
      char up[24];
      snprintf(up, sizeof up, "CVE%.*s", (int)(n - 3), w + 3);
      kb_idents_add(out, "cve", up, n);
    } else if (is_module_file(w, n)) {
      kb_idents_add(out, "module", w, n);
    } else if (isupper((unsigned char)w[0]) && (code = kb_bugcheck_code(w, n)) != 0) {
      kb_idents_add_bugcheck(out, code);
    } else if (is_exception_type(w, n)) {
      kb_idents_add(out, "exception", w, n);
    }
    int c = code_cue(w, n);
    if (c) {
      cue = c;
      cue_left = 2;
    } else if (cue_left > 0 && --cue_left == 0) {
      cue = 0;
    }
  }
}

/* Bring `norms` (the normalized module identifiers) up to date with out->v[*seen..]:
 * each identifier is normalized once, not once per frame compared with it. */
static void module_norms_sync(const kb_idents *out, kb_strlist *norms, size_t *seen) {
  for (; *seen < out->n; (*seen)++)
    if (strcmp(out->v[*seen].kind, "module") == 0)
      kb_strlist_push_own(norms, kb_module_normalize(out->v[*seen].value, strlen(out->v[*seen].value)));
}

/* The module names already looked at (open addressing over pointers to them): a module
 * seen again changes nothing, as the identifiers and their norms only grow. A stack has
 * 70 frames and a few dozen modules; looking each frame's module up in both lists was a
 * few percent of a build. */
typedef struct module_set {
  const char **slots;
  size_t nslots;
} module_set;

static bool module_set_add(module_set *set, const char *m) {
  size_t k = (size_t)kb_str_hash(m) & (set->nslots - 1);
  for (; set->slots[k]; k = (k + 1) & (set->nslots - 1))
    if (strcmp(set->slots[k], m) == 0) return false;
  set->slots[k] = m;
  return true;
}

void kb_idents_from_stacks(const kb_stacks *stacks, kb_idents *out) {
  kb_strlist norms = {0};
  size_t seen = 0, frames = 0;
  for (size_t i = 0; i < stacks->n; i++) frames += stacks->v[i].nframes;
  module_set set = {NULL, 16};
  while (set.nslots < 2 * frames) set.nslots *= 2;
  set.slots = kb_xcalloc(set.nslots, sizeof *set.slots);
  for (size_t i = 0; i < stacks->n; i++) {
    const kb_stack *st = &stacks->v[i];
    if (st->bugcheck) kb_idents_add_bugcheck(out, st->bugcheck);
    if (st->reason.name && st->reason.kind && strcmp(st->reason.kind, "exception") == 0)
      kb_idents_add(out, "exception", st->reason.name, strlen(st->reason.name));
    for (size_t j = 0; j < st->nframes; j++) {
      const char *m = st->frames[j].module;
      if (!m || !module_set_add(&set, m)) continue;
      /* "MsLbfoProvider.sys" from the text and "MsLbfoProvider" from a frame are one module. */
      module_norms_sync(out, &norms, &seen);
      char *b = kb_module_normalize(m, strlen(m));
      if (!kb_strlist_has(&norms, b)) kb_idents_add(out, "module", m, strlen(m));
      free(b);
    }
  }
  free(set.slots);
  kb_strlist_release(&norms);
}

void kb_idents_release(kb_idents *ids) {
  if (!ids) return;
  for (size_t i = 0; i < ids->n; i++) free(ids->v[i].value);
  free(ids->v);
  memset(ids, 0, sizeof *ids);
}
