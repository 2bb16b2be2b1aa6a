/* Elastic tabstops (Go text/tabwriter semantics) and docker's --format
 * list/table/inspect output. */
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gofmt.h"
#include "template.h"

/* ------------------------------------------------------------ tabwriter */

struct tw_cell {
	size_t size;  /* bytes */
	size_t width; /* runes */
	bool htab;    /* terminated by '\t' */
};

struct tw_line {
	struct tw_cell *cells;
	size_t n, cap;
};

struct berth_tabwriter {
	struct berth_buf *out;
	int minwidth, tabwidth, padding;
	char padchar;
	unsigned flags;
	struct berth_buf buf; /* text without tabs/newlines */
	size_t pos;           /* width of the current cell computed up to here */
	struct tw_cell cell;  /* current incomplete cell */
	struct tw_line *lines;
	size_t nlines, lcap;
	int *widths;
	size_t nwidths, wcap;
	bool oom;
};

static void tw_add_line(struct berth_tabwriter *w)
{
	if (w->nlines == w->lcap) {
		size_t nc = w->lcap ? w->lcap * 2 : 16;
		struct tw_line *l = realloc(w->lines, nc * sizeof(*l));
		if (!l) {
			w->oom = true;
			return;
		}
		memset(l + w->lcap, 0, (nc - w->lcap) * sizeof(*l));
		w->lines = l;
		w->lcap = nc;
	}
	w->lines[w->nlines++].n = 0;
}

static void tw_reset(struct berth_tabwriter *w)
{
	w->buf.len = 0;
	if (w->buf.data)
		w->buf.data[0] = '\0';
	w->pos = 0;
	w->cell = (struct tw_cell){0};
	w->nlines = 0;
	w->nwidths = 0;
	tw_add_line(w);
}

struct berth_tabwriter *berth_tabwriter_new(struct berth_buf *out, int minwidth, int tabwidth, int padding,
					    char padchar, unsigned flags)
{
	if (minwidth < 0 || tabwidth < 0 || padding < 0)
		return NULL;
	struct berth_tabwriter *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->out = out;
	w->minwidth = minwidth;
	w->tabwidth = tabwidth;
	w->padding = padding;
	w->padchar = padchar;
	if (padchar == '\t')
		flags &= ~(unsigned)BERTH_TW_ALIGN_RIGHT;
	w->flags = flags;
	tw_reset(w);
	if (w->oom) {
		berth_tabwriter_free(w);
		return NULL;
	}
	return w;
}

struct berth_tabwriter *berth_tabwriter_docker(struct berth_buf *out)
{
	return berth_tabwriter_new(out, 10, 1, 3, ' ', 0);
}

void berth_tabwriter_free(struct berth_tabwriter *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->lcap; i++)
		free(w->lines[i].cells);
	free(w->lines);
	free(w->widths);
	berth_buf_free(&w->buf);
	free(w);
}

static void tw_write_n(struct berth_tabwriter *w, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		berth_buf_putc(w->out, c);
}

static void tw_write_padding(struct berth_tabwriter *w, size_t textw, size_t cellw, bool use_tabs)
{
	if (w->padchar == '\t' || use_tabs) {
		if (w->tabwidth == 0)
			return;
		size_t tw = (size_t)w->tabwidth;
		cellw = (cellw + tw - 1) / tw * tw;
		size_t n = cellw > textw ? cellw - textw : 0;
		tw_write_n(w, '\t', (n + tw - 1) / tw);
		return;
	}
	if (cellw > textw)
		tw_write_n(w, w->padchar, cellw - textw);
}

static size_t tw_write_lines(struct berth_tabwriter *w, size_t pos, size_t line0, size_t line1)
{
	for (size_t i = line0; i < line1; i++) {
		struct tw_line *line = &w->lines[i];
		bool use_tabs = (w->flags & BERTH_TW_TAB_INDENT) != 0;
		for (size_t j = 0; j < line->n; j++) {
			struct tw_cell *c = &line->cells[j];
			if (j > 0 && (w->flags & BERTH_TW_DEBUG))
				berth_buf_putc(w->out, '|');
			if (c->size == 0) {
				if (j < w->nwidths)
					tw_write_padding(w, c->width, (size_t)w->widths[j], use_tabs);
			} else {
				use_tabs = false;
				if (!(w->flags & BERTH_TW_ALIGN_RIGHT)) {
					berth_buf_append(w->out, w->buf.data + pos, c->size);
					pos += c->size;
					if (j < w->nwidths)
						tw_write_padding(w, c->width, (size_t)w->widths[j], false);
				} else {
					if (j < w->nwidths)
						tw_write_padding(w, c->width, (size_t)w->widths[j], false);
					berth_buf_append(w->out, w->buf.data + pos, c->size);
					pos += c->size;
				}
			}
		}
		if (i + 1 == w->nlines) {
			/* last buffered line: no newline, write the pending cell text */
			berth_buf_append(w->out, w->buf.data ? w->buf.data + pos : "", w->cell.size);
			pos += w->cell.size;
		} else {
			berth_buf_putc(w->out, '\n');
		}
	}
	return pos;
}

static void tw_push_width(struct berth_tabwriter *w, int width)
{
	if (w->nwidths == w->wcap) {
		size_t nc = w->wcap ? w->wcap * 2 : 8;
		int *n = realloc(w->widths, nc * sizeof(*n));
		if (!n) {
			w->oom = true;
			return;
		}
		w->widths = n;
		w->wcap = nc;
	}
	w->widths[w->nwidths++] = width;
}

static size_t tw_format(struct berth_tabwriter *w, size_t pos, size_t line0, size_t line1)
{
	size_t column = w->nwidths;
	for (size_t this = line0; this < line1; this ++) {
		struct tw_line *line = &w->lines[this];
		if (line->n == 0 || column >= line->n - 1)
			continue;
		/* cell exists in this column: this line has more cells than the
		 * previous one; print the lines before this block */
		pos = tw_write_lines(w, pos, line0, this);
		line0 = this;
		/* column block */
		int width = w->minwidth;
		bool discardable = true;
		for (; this < line1; this ++) {
			line = &w->lines[this];
			if (line->n == 0 || column >= line->n - 1)
				break;
			struct tw_cell *c = &line->cells[column];
			int cw = (int)c->width + w->padding;
			if (cw > width)
				width = cw;
			if (c->width > 0 || c->htab)
				discardable = false;
		}
		if (discardable && (w->flags & BERTH_TW_DISCARD_EMPTY_COLUMNS))
			width = 0;
		size_t saved = w->nwidths;
		tw_push_width(w, width);
		if (w->oom)
			return pos;
		pos = tw_format(w, pos, line0, this);
		w->nwidths = saved;
		line0 = this;
		/* Like Go, the loop increment then skips line `this`: it has no
		 * cell in this column, so it would be skipped anyway. */
	}
	return tw_write_lines(w, pos, line0, line1);
}

static void tw_update_width(struct berth_tabwriter *w)
{
	w->cell.width += go_rune_count(w->buf.data + w->pos, w->buf.len - w->pos);
	w->pos = w->buf.len;
}

static size_t tw_terminate_cell(struct berth_tabwriter *w, bool htab)
{
	w->cell.htab = htab;
	struct tw_line *line = &w->lines[w->nlines - 1];
	if (line->n == line->cap) {
		size_t nc = line->cap ? line->cap * 2 : 8;
		struct tw_cell *c = realloc(line->cells, nc * sizeof(*c));
		if (!c) {
			w->oom = true;
			return line->n;
		}
		line->cells = c;
		line->cap = nc;
	}
	line->cells[line->n++] = w->cell;
	w->cell = (struct tw_cell){0};
	return line->n;
}

static void tw_flush_internal(struct berth_tabwriter *w)
{
	if (w->cell.size > 0)
		tw_terminate_cell(w, false);
	tw_format(w, 0, 0, w->nlines);
	tw_reset(w);
}

int berth_tabwriter_write(struct berth_tabwriter *w, const char *data, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && !w->oom; i++) {
		char ch = data[i];
		if (ch != '\t' && ch != '\v' && ch != '\n' && ch != '\f')
			continue;
		berth_buf_append(&w->buf, data + n, i - n);
		w->cell.size += i - n;
		tw_update_width(w);
		n = i + 1;
		size_t ncells = tw_terminate_cell(w, ch == '\t');
		if (ch == '\n' || ch == '\f') {
			tw_add_line(w);
			if (ch == '\f' || ncells == 1) {
				/* A line with a single cell does not affect the
				 * formatting of the following lines: flush. */
				tw_flush_internal(w);
				if (ch == '\f' && (w->flags & BERTH_TW_DEBUG))
					berth_buf_append(w->out, "---\n", 4);
			}
		}
	}
	if (n < len) {
		berth_buf_append(&w->buf, data + n, len - n);
		w->cell.size += len - n;
	}
	return w->oom ? -1 : 0;
}

int berth_tabwriter_puts(struct berth_tabwriter *w, const char *s) { return berth_tabwriter_write(w, s, strlen(s)); }

int berth_tabwriter_flush(struct berth_tabwriter *w)
{
	if (w->cell.size > 0)
		tw_update_width(w);
	tw_flush_internal(w);
	return w->oom ? -1 : 0;
}

/* ------------------------------------------------------------ --format */

char *berth_format_prepare(const char *format, const char *default_table, bool *is_table)
{
	const char *f = format && *format ? format : default_table;
	if (!f)
		f = "";
	if (strcmp(f, "table") == 0 && default_table)
		f = default_table;
	if (strcmp(f, "json") == 0)
		f = "{{json .}}";
	*is_table = berth_str_has_prefix(f, "table");
	if (*is_table)
		f += 5;
	/* strings.Trim(f, " ") */
	size_t len = strlen(f);
	while (len && *f == ' ') {
		f++;
		len--;
	}
	while (len && f[len - 1] == ' ')
		len--;
	char *r = malloc(len + 1);
	if (!r)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (f[i] == '\\' && i + 1 < len && (f[i + 1] == 't' || f[i + 1] == 'n')) {
			r[o++] = f[i + 1] == 't' ? '\t' : '\n';
			i++;
		} else {
			r[o++] = f[i];
		}
	}
	r[o] = '\0';
	return r;
}

int berth_format_list_buf(const char *format, const char *default_table, const struct berth_header_map *headers,
			  json_t *items, struct berth_buf *out, struct berth_error *err)
{
	return berth_format_list_funcs_buf(format, default_table, headers, items, NULL, 0, out, err);
}

int berth_format_list_funcs_buf(const char *format, const char *default_table, const struct berth_header_map *headers,
				json_t *items, const struct berth_tmpl_func *funcs, size_t nfuncs,
				struct berth_buf *out, struct berth_error *err)
{
	bool is_table;
	char *text = berth_format_prepare(format, default_table, &is_table);
	if (!text)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct berth_tmpl *t = nfuncs ? berth_tmpl_parse_funcs(text, funcs, nfuncs, err) : berth_tmpl_parse(text, err);
	free(text);
	if (!t)
		return berth_err_prefix(err, "template parsing error");
	struct berth_buf rows = {0};
	int rc = 0;
	for (size_t i = 0; items && i < json_array_size(items); i++) {
		if (berth_tmpl_exec(t, json_array_get(items, i), &rows, err) < 0) {
			rc = berth_err_prefix(err, "template parsing error");
			break;
		}
		berth_buf_putc(&rows, '\n');
	}
	if (rc == 0 && !is_table) {
		berth_buf_append(out, rows.data ? rows.data : "", rows.len);
	} else if (rc == 0) {
		json_t *hdr = json_object();
		for (size_t i = 0; headers && headers[i].field; i++)
			json_object_set_new(hdr, headers[i].field,
					    json_string(headers[i].header ? headers[i].header : ""));
		struct berth_buf hb = {0};
		struct berth_error herr = {0};
		/* docker ignores errors here: whatever was produced is the header */
		(void)berth_tmpl_exec_flags(t, hdr, BERTH_TMPL_HEADER, &hb, &herr);
		json_decref(hdr);
		struct berth_tabwriter *tw = berth_tabwriter_docker(out);
		if (!tw) {
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
		} else {
			berth_tabwriter_write(tw, hb.data ? hb.data : "", hb.len);
			berth_tabwriter_write(tw, "\n", 1);
			berth_tabwriter_write(tw, rows.data ? rows.data : "", rows.len);
			if (berth_tabwriter_flush(tw) < 0)
				rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
			berth_tabwriter_free(tw);
		}
		berth_buf_free(&hb);
	}
	berth_buf_free(&rows);
	berth_tmpl_free(t);
	return rc;
}

static int write_all(FILE *out, struct berth_buf *b, struct berth_error *err)
{
	if (b->len && fwrite(b->data, 1, b->len, out) != b->len)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "write output");
	if (fflush(out) != 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "write output");
	return 0;
}

int berth_format_list(const char *format, const char *default_table, const struct berth_header_map *headers,
		      json_t *items, FILE *out, struct berth_error *err)
{
	return berth_format_list_funcs(format, default_table, headers, items, NULL, 0, out, err);
}

int berth_format_list_funcs(const char *format, const char *default_table, const struct berth_header_map *headers,
			    json_t *items, const struct berth_tmpl_func *funcs, size_t nfuncs, FILE *out,
			    struct berth_error *err)
{
	struct berth_buf b = {0};
	int rc = berth_format_list_funcs_buf(format, default_table, headers, items, funcs, nfuncs, &b, err);
	if (rc == 0)
		rc = write_all(out, &b, err);
	berth_buf_free(&b);
	return rc;
}

int berth_format_inspect_buf(const char *format, json_t *items, struct berth_buf *out, struct berth_error *err)
{
	if (!format || !*format) {
		if (!items || json_array_size(items) == 0) {
			berth_buf_append(out, "[]\n", 3);
			return 0;
		}
		/* The daemon's encoder escapes <, > and & (json.Marshal) and the
		 * CLI only re-indents those bytes, so docker inspect shows \u003c. */
		go_json_encode_indent(out, items, "", "    ", true);
		berth_buf_putc(out, '\n');
		return 0;
	}
	struct berth_tmpl *t = berth_tmpl_parse(format, err);
	if (!t)
		return berth_err_prefix(err, "Template parsing error");
	/* Like docker: each element is rendered on its own; failing elements are
	 * reported (messages joined by newlines) and the others still printed. */
	struct berth_buf msgs = {0};
	int rc = 0;
	for (size_t i = 0; items && i < json_array_size(items); i++) {
		struct berth_buf b = {0};
		struct berth_error e = {0};
		if (berth_tmpl_exec(t, json_array_get(items, i), &b, &e) < 0) {
			if (msgs.len)
				berth_buf_putc(&msgs, '\n');
			berth_buf_printf(&msgs, "Template parsing error: %s", e.msg);
			rc = -1;
		} else {
			berth_buf_append(out, b.data ? b.data : "", b.len);
			berth_buf_putc(out, '\n');
		}
		berth_buf_free(&b);
	}
	if (rc < 0)
		berth_err(err, BERTH_E_INVALID, "%s", berth_buf_str(&msgs));
	berth_buf_free(&msgs);
	berth_tmpl_free(t);
	return rc;
}

int berth_format_inspect(const char *format, json_t *items, FILE *out, struct berth_error *err)
{
	struct berth_buf b = {0};
	int rc = berth_format_inspect_buf(format, items, &b, err);
	int wrc = write_all(out, &b, err);
	berth_buf_free(&b);
	return rc < 0 ? rc : wrc;
}
