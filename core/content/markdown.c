/* markdown.c - cmark-gfm with the GitHub extensions (table, autolink, strikethrough,
 * tagfilter, tasklist), plus what kb needs on top:
 *  - raw HTML is allowed (incidents imported from blogs are full of it) but every raw
 *    HTML node goes through the allowlist sanitizer and every link/image URL through
 *    kb_url_is_safe, so no script, event handler or javascript: URL reaches a page;
 *  - while walking the tree, each leaf block's text is collected (for full-text search)
 *    and scanned for stacks: code blocks, raw HTML such as <pre>, and ordinary paragraphs
 *    where blog authors paste a stack line by line.
 * Code spans are put back between backticks in the scanned text because WinDbg writes
 * 64-bit addresses as fffff800`4876a8c8: a paragraph's backticks pair up into code
 * spans, and without them the address columns would run together. */
#include "content/markdown.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "content/sanitize.h"
#include "util/text.h"
#include "util/util.h"

static pthread_once_t extensions_once = PTHREAD_ONCE_INIT;
static void extensions_register(void) { cmark_gfm_core_extensions_ensure_registered(); }

static const char *const extension_names[] = {"table", "autolink", "strikethrough", "tagfilter",
                                              "tasklist", NULL};

enum { MD_OPTIONS = CMARK_OPT_UNSAFE | CMARK_OPT_FOOTNOTES };

typedef struct md_walk {
  kb_buf block; /* text of the leaf block being read */
  kb_buf text;  /* plain text of the whole document */
  int block_line;
  int line_base;
  kb_stacks *stacks;
} md_walk;

static void md_sanitize_html(cmark_node *node) {
  const char *lit = cmark_node_get_literal(node);
  if (!lit) return;
  kb_buf clean = KB_BUF_INIT;
  kb_html_sanitize(lit, strlen(lit), &clean);
  cmark_node_set_literal(node, clean.ptr);
  kb_buf_release(&clean);
}

static void md_check_url(cmark_node *node) {
  const char *url = cmark_node_get_url(node);
  if (url && !kb_url_is_safe(url, strlen(url))) cmark_node_set_url(node, "");
}

/* Append the block's lines to the document text, leaving out the lines of the stacks
 * found in it: their frames are indexed on their own (symbols, not the address and
 * argument columns, whose hex would fill the full-text index with unique tokens). */
static void md_add_text(md_walk *w, size_t first_stack) {
  if (w->text.len) kb_buf_adds(&w->text, "\n\n");
  const char *s = w->block.ptr, *end = s + w->block.len;
  for (int line = 1; s < end; line++) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
    bool in_stack = false;
    for (size_t i = first_stack; i < w->stacks->n && !in_stack; i++)
      in_stack = line >= w->stacks->v[i].first_line && line <= w->stacks->v[i].last_line;
    if (!in_stack) {
      kb_buf_add(&w->text, s, n);
      kb_buf_addc(&w->text, '\n');
    }
    s += n + 1;
  }
}

/* Scan the finished leaf block for stacks, then add it to the document text. */
static void md_flush_block(md_walk *w) {
  if (w->block.len == 0) return;
  size_t before = w->stacks->n;
  kb_stacks_parse(w->block.ptr, w->block.len, w->stacks);
  md_add_text(w, before);
  for (size_t i = before; i < w->stacks->n; i++) {
    w->stacks->v[i].first_line += w->line_base - 1 + w->block_line - 1;
    w->stacks->v[i].last_line += w->line_base - 1 + w->block_line - 1;
  }
  kb_buf_reset(&w->block);
}

static void md_add_html_text(md_walk *w, const char *html) {
  kb_html_to_text(html, strlen(html), &w->block);
}

static bool is_leaf_block(cmark_node_type t) {
  return t == CMARK_NODE_PARAGRAPH || t == CMARK_NODE_HEADING || t == CMARK_NODE_CODE_BLOCK ||
         t == CMARK_NODE_HTML_BLOCK;
}

static void md_enter(md_walk *w, cmark_node *node) {
  cmark_node_type t = cmark_node_get_type(node);
  const char *lit = cmark_node_get_literal(node);
  if (is_leaf_block(t)) {
    md_flush_block(w);
    w->block_line = cmark_node_get_start_line(node);
  } else if (w->block.len == 0) {
    w->block_line = cmark_node_get_start_line(node);
  }
  switch (t) {
  case CMARK_NODE_TEXT: kb_buf_adds(&w->block, lit ? lit : ""); break;
  case CMARK_NODE_CODE:
    kb_buf_addc(&w->block, '`');
    kb_buf_adds(&w->block, lit ? lit : "");
    kb_buf_addc(&w->block, '`');
    break;
  case CMARK_NODE_SOFTBREAK:
  case CMARK_NODE_LINEBREAK: kb_buf_addc(&w->block, '\n'); break;
  case CMARK_NODE_CODE_BLOCK: kb_buf_adds(&w->block, lit ? lit : ""); break;
  case CMARK_NODE_HTML_BLOCK:
    md_sanitize_html(node);
    md_add_html_text(w, cmark_node_get_literal(node));
    break;
  case CMARK_NODE_HTML_INLINE: md_sanitize_html(node); break;
  case CMARK_NODE_LINK:
  case CMARK_NODE_IMAGE: md_check_url(node); break;
  default:
    /* table cells and other GFM extension nodes: separate their text */
    if (cmark_node_get_type_string(node) && strcmp(cmark_node_get_type_string(node), "table_cell") == 0)
      kb_buf_addc(&w->block, ' ');
    break;
  }
}

static void md_exit(md_walk *w, cmark_node *node) {
  cmark_node_type t = cmark_node_get_type(node);
  if (is_leaf_block(t)) md_flush_block(w);
  else if (cmark_node_get_type_string(node) && strcmp(cmark_node_get_type_string(node), "table_row") == 0)
    kb_buf_addc(&w->block, '\n');
}

static void md_walk_tree(md_walk *w, cmark_node *doc) {
  cmark_iter *it = cmark_iter_new(doc);
  cmark_event_type ev;
  while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
    cmark_node *node = cmark_iter_get_node(it);
    if (ev == CMARK_EVENT_ENTER) {
      md_enter(w, node);
      /* Leaf nodes get no EXIT event: flush blocks that have no children now. */
      cmark_node_type t = cmark_node_get_type(node);
      if (t == CMARK_NODE_CODE_BLOCK || t == CMARK_NODE_HTML_BLOCK) md_flush_block(w);
    } else if (ev == CMARK_EVENT_EXIT) {
      md_exit(w, node);
    }
  }
  md_flush_block(w);
  cmark_iter_free(it);
}

void kb_markdown_render(const char *md, size_t len, int line_base, kb_markdown *out) {
  pthread_once(&extensions_once, extensions_register);
  memset(out, 0, sizeof *out);
  cmark_parser *parser = cmark_parser_new(MD_OPTIONS);
  for (const char *const *n = extension_names; *n; n++) {
    cmark_syntax_extension *ext = cmark_find_syntax_extension(*n);
    if (ext) cmark_parser_attach_syntax_extension(parser, ext);
  }
  cmark_parser_feed(parser, md, len);
  cmark_node *doc = cmark_parser_finish(parser);
  md_walk w = {.block = KB_BUF_INIT, .text = KB_BUF_INIT, .line_base = line_base, .stacks = &out->stacks};
  md_walk_tree(&w, doc);
  char *html = cmark_render_html(doc, MD_OPTIONS, cmark_parser_get_syntax_extensions(parser));
  out->html = kb_xstrdup(html);
  cmark_get_default_mem_allocator()->free(html);
  out->text = kb_buf_detach(&w.text, NULL);
  kb_buf_release(&w.block);
  cmark_node_free(doc);
  cmark_parser_free(parser);
}

void kb_markdown_release(kb_markdown *m) {
  if (!m) return;
  free(m->html);
  free(m->text);
  kb_stacks_release(&m->stacks);
  memset(m, 0, sizeof *m);
}
