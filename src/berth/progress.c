/* Progress rendering as docker's CLI (pkg/jsonmessage). */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/util.h"
#include "format/units.h"

struct cli_progress {
	FILE *out;
	bool tty, quiet;
	int width;
	struct berth_buf line;
	char **ids; /* ids with a line of their own, in order */
	size_t nids;
	char *error;
	void (*aux_fn)(void *ctx, json_t *aux);
	void *aux_ctx;
};

struct cli_progress *cli_progress_new(FILE *out, bool tty, bool quiet)
{
	struct cli_progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->out = out;
	p->tty = tty;
	p->quiet = quiet;
	p->width = 200;
	struct winsize ws;
	if (tty && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		p->width = ws.ws_col;
	return p;
}

static void clear_ids(struct cli_progress *p)
{
	for (size_t i = 0; i < p->nids; i++)
		free(p->ids[i]);
	free(p->ids);
	p->ids = NULL;
	p->nids = 0;
}

void cli_progress_free(struct cli_progress *p)
{
	if (!p)
		return;
	clear_ids(p);
	berth_buf_free(&p->line);
	free(p->error);
	free(p);
}

void cli_progress_on_aux(struct cli_progress *p, void (*fn)(void *ctx, json_t *aux), void *ctx)
{
	p->aux_fn = fn;
	p->aux_ctx = ctx;
}

/* JSONProgress.String(): "[==>   ] 1.2MB/3.4MB" (bar only when wider than 110). */
static void progress_string(struct cli_progress *p, json_t *pd, char *out, size_t len)
{
	out[0] = '\0';
	int64_t cur = json_integer_value(json_object_get(pd, "current"));
	int64_t total = json_integer_value(json_object_get(pd, "total"));
	char c[32], t[32];
	if (cur <= 0 && total <= 0)
		return;
	berth_human_size((double)cur, c, sizeof(c));
	if (total <= 0) {
		snprintf(out, len, "%8s", c);
		return;
	}
	int pct = (int)((double)cur / (double)total * 100) / 2;
	if (pct > 50)
		pct = 50;
	char bar[64] = "";
	if (p->width > 110) {
		size_t k = 0;
		bar[k++] = '[';
		for (int i = 0; i < pct; i++)
			bar[k++] = '=';
		bar[k++] = '>';
		for (int i = 0; i < 50 - pct; i++)
			bar[k++] = ' ';
		bar[k++] = ']';
		bar[k++] = ' ';
		bar[k] = '\0';
	}
	berth_human_size((double)total, t, sizeof(t));
	if (cur > total)
		snprintf(out, len, "%s%8s", bar, c);
	else
		snprintf(out, len, "%s%8s/%s", bar, c, t);
}

static size_t id_line(struct cli_progress *p, const char *id, bool *added)
{
	*added = false;
	for (size_t i = 0; i < p->nids; i++)
		if (!strcmp(p->ids[i], id))
			return i;
	char **nv = realloc(p->ids, (p->nids + 1) * sizeof(*nv));
	if (!nv)
		return 0;
	p->ids = nv;
	p->ids[p->nids] = strdup(id);
	*added = true;
	return p->nids++;
}

void cli_progress_message(struct cli_progress *p, json_t *m)
{
	const char *e = json_string_value(json_object_get(json_object_get(m, "errorDetail"), "message"));
	if (!e)
		e = json_string_value(json_object_get(m, "error"));
	if (e) {
		if (!p->error)
			p->error = strdup(e);
		return;
	}
	json_t *aux = json_object_get(m, "aux");
	if (aux) {
		if (p->aux_fn)
			p->aux_fn(p->aux_ctx, aux);
		return;
	}
	if (p->quiet)
		return;
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *status = json_string_value(json_object_get(m, "status"));
	const char *stream = json_string_value(json_object_get(m, "stream"));
	json_t *pd = json_object_get(m, "progressDetail");
	bool has_progress = json_is_object(pd);
	char prog[160];
	progress_string(p, pd, prog, sizeof(prog));
	size_t diff = 0;
	if (id && has_progress) {
		bool added;
		size_t line = id_line(p, id, &added);
		if (added && p->tty)
			fputc('\n', p->out);
		diff = p->nids - line;
		if (p->tty && diff)
			fprintf(p->out, "\033[%zuA", diff);
	} else {
		clear_ids(p);
	}
	/* Display() */
	const char *endl = "";
	if (p->tty && !stream && has_progress) {
		fputs("\033[2K\r", p->out);
		endl = "\r";
	} else if (has_progress && prog[0]) {
		return; /* no progress bars when not on a terminal */
	}
	if (id)
		fprintf(p->out, "%s: ", id);
	if (has_progress && p->tty)
		fprintf(p->out, "%s %s%s", status ? status : "", prog, endl);
	else if (stream)
		fprintf(p->out, "%s%s", stream, endl);
	else
		fprintf(p->out, "%s%s\n", status ? status : "", endl);
	if (id && has_progress && p->tty && diff)
		fprintf(p->out, "\033[%zuB", diff);
	fflush(p->out);
}

static void feed_line(struct cli_progress *p, const char *s, size_t n)
{
	while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (!n)
		return;
	json_t *m = json_loadb(s, n, 0, NULL);
	if (m)
		cli_progress_message(p, m);
	json_decref(m);
}

int cli_progress_data(void *ctx, const char *data, size_t len)
{
	struct cli_progress *p = ctx;
	if (berth_buf_append(&p->line, data, len) < 0)
		return -1;
	size_t start = 0;
	for (size_t i = 0; i < p->line.len; i++)
		if (p->line.data[i] == '\n') {
			feed_line(p, p->line.data + start, i - start);
			start = i + 1;
		}
	if (start) {
		memmove(p->line.data, p->line.data + start, p->line.len - start);
		p->line.len -= start;
	}
	return 0;
}

int cli_progress_finish(struct cli_progress *p, struct berth_error *err)
{
	if (p->line.len) {
		feed_line(p, p->line.data, p->line.len);
		p->line.len = 0;
	}
	if (p->error)
		return berth_err(err, BERTH_E_INTERNAL, "%s", p->error);
	return 0;
}
