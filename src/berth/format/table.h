/* docker CLI list/table output: an elastic-tabstop writer equivalent to Go's
 * text/tabwriter, and docker's formatter.Context logic for --format. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/error.h"
#include "common/util.h"

/* ---- tabwriter ---- */

struct berth_tabwriter;

/* Flags as in Go's text/tabwriter. */
enum {
	BERTH_TW_ALIGN_RIGHT = 1 << 2,
	BERTH_TW_DISCARD_EMPTY_COLUMNS = 1 << 3,
	BERTH_TW_TAB_INDENT = 1 << 4,
	BERTH_TW_DEBUG = 1 << 5,
};

/* Cells end with '\t' (or '\v'); lines end with '\n' (or '\f', which also
 * flushes). Output is appended to out. Cell width is its rune count. */
struct berth_tabwriter *berth_tabwriter_new(struct berth_buf *out, int minwidth, int tabwidth, int padding,
					    char padchar, unsigned flags);
/* docker CLI's configuration: minwidth 10, tabwidth 1, padding 3, ' ', 0. */
struct berth_tabwriter *berth_tabwriter_docker(struct berth_buf *out);
int berth_tabwriter_write(struct berth_tabwriter *w, const char *data, size_t len);
int berth_tabwriter_puts(struct berth_tabwriter *w, const char *s);
/* Writes everything buffered; the writer can be reused afterwards. */
int berth_tabwriter_flush(struct berth_tabwriter *w);
void berth_tabwriter_free(struct berth_tabwriter *w);

/* ---- --format handling ---- */

/* Field name (as written after the dot in a template, e.g. "ID") -> column
 * header (e.g. "CONTAINER ID"). Arrays end with {NULL, NULL}. */
struct berth_header_map {
	const char *field;
	const char *header;
};

/* docker's formatter.Context.Write for a list of items (a JSON array of
 * objects, one per row):
 *  - format NULL, "" or "table": default_table is used;
 *  - "json": each item as {{json .}};
 *  - "table ..." (any format starting with "table"): a header row (the template
 *    executed on the header map with docker's header functions) then one row
 *    per item, aligned through the tabwriter (10, 1, 3, ' ');
 *  - anything else: each item's output followed by "\n", no alignment.
 * In the format, the two-character sequences \t and \n are turned into a tab
 * and a newline, and surrounding spaces are trimmed, as docker does.
 * Errors (parse or execution): "template parsing error: <Go message>";
 * nothing is written then. */
int berth_format_list(const char *format, const char *default_table, const struct berth_header_map *headers,
		      json_t *items, FILE *out, struct berth_error *err);
/* Same, with extra template functions/methods (e.g. docker's {{.Label "k"}}). */
struct berth_tmpl_func;
int berth_format_list_funcs(const char *format, const char *default_table, const struct berth_header_map *headers,
			    json_t *items, const struct berth_tmpl_func *funcs, size_t nfuncs, FILE *out,
			    struct berth_error *err);
int berth_format_list_funcs_buf(const char *format, const char *default_table, const struct berth_header_map *headers,
				json_t *items, const struct berth_tmpl_func *funcs, size_t nfuncs,
				struct berth_buf *out, struct berth_error *err);
/* Same, appending to a buffer. */
int berth_format_list_buf(const char *format, const char *default_table, const struct berth_header_map *headers,
			  json_t *items, struct berth_buf *out, struct berth_error *err);

/* docker's preFormat: resolve "table"/"json"/default, strip the "table"
 * prefix, trim spaces and expand \t \n. Returns a malloc'd template text and
 * sets *is_table. */
char *berth_format_prepare(const char *format, const char *default_table, bool *is_table);

/* docker inspect output for a JSON array of objects: without a format, the
 * array as indented JSON (4 spaces, like json.Indent) and "\n" ("[]\n" when
 * empty; <, > and & escaped as \u003c... like the daemon's JSON); with a
 * format, each item's template output followed by "\n".
 * Template errors read "Template parsing error: <Go message>". */
int berth_format_inspect(const char *format, json_t *items, FILE *out, struct berth_error *err);
int berth_format_inspect_buf(const char *format, json_t *items, struct berth_buf *out, struct berth_error *err);
