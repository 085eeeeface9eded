/* rows.h - what the index writer stores of an incident, in the spelling it stores it.
 * Internal to core/index: index.c writes these values and patch.c compares an edited
 * incident with them, so both must come from the same code. */
#ifndef KB_INDEX_ROWS_H
#define KB_INDEX_ROWS_H

#include "content/incident.h"
#include "util/buf.h"

/* A list as a JSON array of strings (incidents.tags, .categories; fts.ref_tags). Caller frees. */
char *kb_index_json_list(const kb_strlist *l);
/* The fts "tags" column: the tags, then the categories, each followed by a space. */
void kb_index_tags_text(const kb_incident *inc, kb_buf *text);
/* What full-text search sees of a stack (appended to the fts "stacks" column): its
 * symbols, signature and reason, not the address and argument columns. */
void kb_index_stack_text(const kb_stack *st, kb_buf *text);
/* incidents.identifiers: the identifiers as JSON, appended to out (see the schema in index.c). */
void kb_index_idents_json(const kb_idents *ids, kb_buf *out);
/* stacks.frames: the stack's frames as JSON, appended to out (see the schema in index.c). */
void kb_index_frames_json(const kb_stack *st, kb_buf *out);

#endif
