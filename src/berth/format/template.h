/* Go text/template engine over jansson values, compatible with what docker
 * users write in --format / -f.
 *
 * Data model: objects behave like Go maps (map[string]interface {}), arrays like
 * []interface {}, JSON integers like Go ints, reals like float64, null like nil.
 * A missing object key yields an "invalid" value that prints "<no value>";
 * JSON null prints "<nil>".
 *
 * Functions: Go's builtins (and call html index slice js len not or print
 * printf println urlquery eq ge gt le lt ne) plus docker's (json split join
 * title lower upper pad truncate), plus caller-supplied ones.
 *
 * Errors carry Go's message text, e.g. "template: :1: unclosed action" or
 * "template: :1:8: executing \"\" at <.A.B>: ..."; docker's CLI prefixes them
 * with "template parsing error: " (berth_format_list does that). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/util.h"

struct berth_tmpl;

/* A caller-supplied function. args are borrowed; an arg may be NULL (a
 * "<no value>"). Set *out to a new reference (NULL = no value). On error
 * return <0 and put a message in err->msg; it is reported as
 * "error calling NAME: MSG". */
typedef int (*berth_tmpl_fn)(void *ctx, json_t *const *args, size_t nargs, json_t **out, struct berth_error *err);

struct berth_tmpl_func {
	const char *name;
	berth_tmpl_fn fn;
	void *ctx;
	/* If true, this is a "method": `.Name arg...` evaluated on an object whose
	 * key Name is absent (or when arguments are given) calls fn with
	 * args[0] = the object (like docker's `{{.Label "key"}}`). It is not
	 * callable as a plain function. */
	bool method;
};

/* Parse a template. NULL on error (err->msg holds Go's message). */
struct berth_tmpl *berth_tmpl_parse(const char *src, struct berth_error *err);
/* Same, with extra functions/methods (the array is copied; names and ctx must
 * outlive the template). Extra functions override builtins of the same name. */
struct berth_tmpl *berth_tmpl_parse_funcs(const char *src, const struct berth_tmpl_func *funcs, size_t nfuncs,
					  struct berth_error *err);

/* Execute with data as dot (and $). Output is appended to out (partial output
 * may have been appended when an error is returned, as in Go). Returns 0 or <0. */
int berth_tmpl_exec(const struct berth_tmpl *t, json_t *data, struct berth_buf *out, struct berth_error *err);

/* Flags for berth_tmpl_exec_flags. */
enum {
	/* Docker's header mode: json/split/join/title/lower/upper/truncate return
	 * their (string) first argument unchanged, as docker's HeaderFunctions. */
	BERTH_TMPL_HEADER = 1 << 0,
};
int berth_tmpl_exec_flags(const struct berth_tmpl *t, json_t *data, unsigned flags, struct berth_buf *out,
			  struct berth_error *err);

void berth_tmpl_free(struct berth_tmpl *t);

/* Convenience: parse + exec; returns malloc'd output or NULL on error. */
char *berth_tmpl_render(const char *src, json_t *data, struct berth_error *err);
