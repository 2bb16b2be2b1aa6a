/* Go text/template executor (behaviour of text/template/exec.go) over
 * jansson values. Values are owned references; NULL is Go's invalid value
 * (a missing map key, printed "<no value>"). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gofmt.h"
#include "template_int.h"

#define MAX_EXEC_DEPTH 1000

enum { CTL_NONE, CTL_BREAK, CTL_CONTINUE };

struct var {
	const char *name;
	json_t *val;
};

struct ex {
	const struct berth_tmpl *t;
	const char *tname;
	struct berth_buf *out;
	struct var *vars;
	size_t nvars, cap;
	const struct tnode *node;
	struct berth_error *err;
	bool header;
	int depth;
	int ctl;
};

__attribute__((format(printf, 2, 3))) static int ex_errorf(struct ex *s, const char *fmt, ...)
{
	char m[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	struct berth_buf q = {0};
	go_quote(&q, s->tname, strlen(s->tname));
	if (!s->node) {
		berth_err(s->err, BERTH_E_INVALID, "template: %s: %s", s->tname, m);
	} else {
		int line, col;
		tmpl_node_location(s->t, s->node, &line, &col);
		struct berth_buf c = {0};
		tmpl_node_string(&c, s->node);
		berth_err(s->err, BERTH_E_INVALID, "template: :%d:%d: executing %s at <%.300s>: %s", line, col,
			  berth_buf_str(&q), berth_buf_str(&c), m);
		berth_buf_free(&c);
	}
	berth_buf_free(&q);
	return -1;
}

/* ---- variables ---- */

static int push_var(struct ex *s, const char *name, json_t *val)
{
	if (s->nvars == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		struct var *v = realloc(s->vars, nc * sizeof(*v));
		if (!v)
			return ex_errorf(s, "out of memory");
		s->vars = v;
		s->cap = nc;
	}
	s->vars[s->nvars].name = name;
	s->vars[s->nvars].val = json_incref(val);
	s->nvars++;
	return 0;
}

static void pop_vars(struct ex *s, size_t mark)
{
	while (s->nvars > mark) {
		s->nvars--;
		json_decref(s->vars[s->nvars].val);
	}
}

static int set_var(struct ex *s, const char *name, json_t *val)
{
	for (size_t i = s->nvars; i > 0; i--) {
		if (strcmp(s->vars[i - 1].name, name) == 0) {
			json_t *old = s->vars[i - 1].val;
			s->vars[i - 1].val = json_incref(val);
			json_decref(old);
			return 0;
		}
	}
	return ex_errorf(s, "undefined variable: %s", name);
}

static void set_top_var(struct ex *s, size_t n, json_t *val)
{
	struct var *v = &s->vars[s->nvars - n];
	json_t *old = v->val;
	v->val = json_incref(val);
	json_decref(old);
}

static int var_value(struct ex *s, const char *name, json_t **out)
{
	for (size_t i = s->nvars; i > 0; i--) {
		if (strcmp(s->vars[i - 1].name, name) == 0) {
			*out = json_incref(s->vars[i - 1].val);
			return 0;
		}
	}
	return ex_errorf(s, "undefined variable: %s", name);
}

/* ---- evaluation ---- */

static int eval_pipeline(struct ex *s, json_t *dot, const struct tnode *pipe, json_t **out);
static int eval_arg(struct ex *s, json_t *dot, enum tmpl_ptype pt, const struct tnode *n, json_t **out);
static int eval_function(struct ex *s, json_t *dot, const struct tnode *ident, const struct tnode *cmd,
			 struct tnode *const *args, size_t nargs, json_t *final, bool has_final, json_t **out);

static const char *ptype_name(enum tmpl_ptype pt)
{
	switch (pt) {
	case PT_STRING: return "string";
	case PT_INT: return "int";
	case PT_STRV: return "[]string";
	case PT_ANY: break;
	}
	return "interface {}";
}

static void node_str(char *buf, size_t len, const struct tnode *n)
{
	struct berth_buf b = {0};
	tmpl_node_string(&b, n);
	snprintf(buf, len, "%s", berth_buf_str(&b));
	berth_buf_free(&b);
}

static int not_a_function(struct ex *s, struct tnode *const *args, size_t nargs, bool has_final)
{
	if (nargs > 1 || has_final) {
		char m[300];
		node_str(m, sizeof(m), args[0]);
		return ex_errorf(s, "can't give argument to non-function %s", m);
	}
	return 0;
}

/* Go's validateType for our parameter types. Consumes v; *out owned. */
static int validate(struct ex *s, json_t *v, enum tmpl_ptype pt, json_t **out)
{
	*out = NULL;
	switch (pt) {
	case PT_ANY: *out = v; return 0;
	case PT_STRING:
	case PT_INT:
		if (!v || json_is_null(v)) {
			json_decref(v);
			return ex_errorf(s, "invalid value; expected %s", ptype_name(pt));
		}
		if ((pt == PT_STRING && json_is_string(v)) || (pt == PT_INT && json_is_integer(v))) {
			*out = v;
			return 0;
		}
		break;
	case PT_STRV:
		if (!v || json_is_null(v)) {
			json_decref(v);
			*out = json_array();
			return 0;
		}
		if (json_is_array(v)) {
			bool ok = true;
			for (size_t i = 0; i < json_array_size(v); i++)
				if (!json_is_string(json_array_get(v, i)))
					ok = false;
			if (ok) {
				*out = v;
				return 0;
			}
		}
		break;
	}
	const char *tn = go_type_name(v);
	json_decref(v);
	return ex_errorf(s, "wrong type for value; expected %s; got %s", ptype_name(pt), tn);
}

static int ideal_constant(struct ex *s, const struct tnode *n, json_t **out)
{
	s->node = n;
	const char *q = n->quoted;
	bool hex_int = strlen(q) > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X') && !strpbrk(q, "pP");
	if (q[0] == '+' || q[0] == '-')
		hex_int = strlen(q) > 3 && q[1] == '0' && (q[2] == 'x' || q[2] == 'X') && !strpbrk(q, "pP");
	bool rune = q[0] == '\'';
	if (n->is_float && !hex_int && !rune && strpbrk(q, ".eEpP")) {
		*out = json_real(n->fval);
		return 0;
	}
	if (n->is_int) {
		*out = json_integer(n->ival);
		return 0;
	}
	return ex_errorf(s, "%s overflows int", q);
}

/* Call a user-supplied function; argv borrowed. */
static int call_user(struct ex *s, const struct berth_tmpl_func *f, const struct tnode *node, const char *name,
		     json_t *const *argv, size_t n, json_t **out)
{
	struct berth_error uerr = {0};
	*out = NULL;
	if (f->fn(f->ctx, argv, n, out, &uerr) < 0) {
		json_decref(*out);
		*out = NULL;
		s->node = node;
		return ex_errorf(s, "error calling %s: %s", name, uerr.msg);
	}
	return 0;
}

/* Evaluate args (already without the function name) as interface{} and call
 * a user function; receiver (a method's object) goes first if non-NULL. */
static int eval_user_call(struct ex *s, json_t *dot, const struct berth_tmpl_func *f, const struct tnode *node,
			  const char *name, json_t *receiver, struct tnode *const *args, size_t nargs, json_t *final,
			  bool has_final, json_t **out)
{
	size_t n = nargs + (has_final ? 1 : 0) + (receiver ? 1 : 0);
	json_t **argv = calloc(n ? n : 1, sizeof(*argv));
	if (!argv)
		return ex_errorf(s, "out of memory");
	size_t k = 0;
	int rc = 0;
	if (receiver)
		argv[k++] = json_incref(receiver);
	for (size_t i = 0; i < nargs && rc == 0; i++)
		rc = eval_arg(s, dot, PT_ANY, args[i], &argv[k++]);
	if (rc == 0 && has_final)
		argv[k++] = json_incref(final);
	if (rc == 0)
		rc = call_user(s, f, node, name, argv, n, out);
	for (size_t i = 0; i < n; i++)
		json_decref(argv[i]);
	free(argv);
	return rc;
}

/* evalCall for builtins. args excludes the function name. */
static int eval_call(struct ex *s, json_t *dot, const struct tmpl_builtin *b, const struct tnode *node,
		     const char *name, struct tnode *const *args, size_t nargs, json_t *final, bool has_final,
		     json_t **out)
{
	*out = NULL;
	size_t num_in = nargs + (has_final ? 1 : 0);
	size_t num_fixed = nargs;
	if (b->variadic) {
		num_fixed = (size_t)b->nfixed;
		if (num_in < num_fixed)
			return ex_errorf(s, "wrong number of args for %s: want at least %d got %zu", name, b->nfixed,
					 nargs);
	} else if (num_in != (size_t)b->nfixed) {
		return ex_errorf(s, "wrong number of args for %s: want %d got %zu", name, b->nfixed, num_in);
	}
	if (b->special == TB_AND || b->special == TB_OR) {
		bool is_or = b->special == TB_OR;
		json_t *v = NULL;
		for (size_t i = 0; i < nargs; i++) {
			json_decref(v);
			v = NULL;
			if (eval_arg(s, dot, PT_ANY, args[i], &v) < 0)
				return -1;
			if (tmpl_truth(v) == is_or) {
				*out = v;
				return 0;
			}
		}
		if (has_final) {
			json_decref(v);
			v = json_incref(final);
		}
		*out = v;
		return 0;
	}
	json_t **argv = calloc(num_in ? num_in : 1, sizeof(*argv));
	if (!argv)
		return ex_errorf(s, "out of memory");
	int rc = 0;
	size_t i = 0;
	for (; i < num_fixed && i < nargs && rc == 0; i++)
		rc = eval_arg(s, dot, b->ptype[i], args[i], &argv[i]);
	if (b->variadic)
		for (; i < nargs && rc == 0; i++)
			rc = eval_arg(s, dot, b->vtype, args[i], &argv[i]);
	if (rc == 0 && has_final) {
		enum tmpl_ptype pt = b->variadic && num_in - 1 >= num_fixed ? b->vtype : b->ptype[num_in - 1];
		rc = validate(s, json_incref(final), pt, &argv[i]);
	}
	if (rc == 0) {
		struct tmpl_errbuf e = {{0}};
		if (b->fn(argv, num_in, out, &e) < 0) {
			s->node = node;
			rc = ex_errorf(s, "error calling %s: %s", name, e.msg);
		}
	}
	for (size_t k = 0; k < num_in; k++)
		json_decref(argv[k]);
	free(argv);
	return rc;
}

/* docker's SubHeaderContext.Label: the last dot-separated part of the label
 * name with '-' and '_' replaced by spaces. */
static int header_label(void *ctx, json_t *const *args, size_t nargs, json_t **out, struct berth_error *err)
{
	(void)ctx;
	if (nargs != 2)
		return berth_err(err, BERTH_E_INVALID, "wrong number of args for Label: want 1 got %zu", nargs - 1);
	if (!args[1] || !json_is_string(args[1]))
		return berth_err(err, BERTH_E_INVALID, "wrong type for value; expected string; got %s",
				 go_type_name(args[1]));
	const char *s = json_string_value(args[1]);
	const char *dot = strrchr(s, '.');
	const char *last = dot ? dot + 1 : s;
	char *h = strdup(last);
	if (!h)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	for (char *c = h; *c; c++)
		if (*c == '-' || *c == '_')
			*c = ' ';
	*out = json_string_nocheck(h);
	free(h);
	return 0;
}

static const struct berth_tmpl_func header_label_method = {"Label", header_label, NULL, true};

/* evalField: one step of .A.B.C on receiver (borrowed). */
static int eval_field(struct ex *s, json_t *dot, const char *name, const struct tnode *node, struct tnode *const *args,
		      size_t nargs, json_t *final, bool has_final, json_t *receiver, json_t **out)
{
	*out = NULL;
	if (!receiver)
		return 0;
	bool has_args = nargs > 1 || has_final;
	if (json_is_null(receiver))
		return ex_errorf(s, "nil pointer evaluating interface {}.%s", name);
	if (json_is_object(receiver)) {
		json_t *val = json_object_get(receiver, name);
		const struct berth_tmpl_func *m = tmpl_find_func(s->t, name, true);
		if (!m && s->header && !val && strcmp(name, "Label") == 0)
			m = &header_label_method;
		if (m && (!val || has_args))
			return eval_user_call(s, dot, m, node, name, receiver, args ? args + 1 : NULL,
					      nargs ? nargs - 1 : 0, final, has_final, out);
		if (has_args)
			return ex_errorf(s, "%s is not a method but has arguments", name);
		*out = json_incref(val);
		return 0;
	}
	return ex_errorf(s, "can't evaluate field %s in type %s", name, go_type_name(receiver));
}

static int eval_field_chain(struct ex *s, json_t *dot, json_t *receiver, const struct tnode *node, char *const *ident,
			    size_t n, struct tnode *const *args, size_t nargs, json_t *final, bool has_final,
			    json_t **out)
{
	json_t *r = json_incref(receiver);
	for (size_t i = 0; i + 1 < n; i++) {
		json_t *next;
		if (eval_field(s, dot, ident[i], node, NULL, 0, NULL, false, r, &next) < 0) {
			json_decref(r);
			return -1;
		}
		json_decref(r);
		r = next;
	}
	int rc = eval_field(s, dot, ident[n - 1], node, args, nargs, final, has_final, r, out);
	json_decref(r);
	return rc;
}

static int eval_field_node(struct ex *s, json_t *dot, const struct tnode *field, struct tnode *const *args,
			   size_t nargs, json_t *final, bool has_final, json_t **out)
{
	s->node = field;
	return eval_field_chain(s, dot, dot, field, field->ident, field->nident, args, nargs, final, has_final, out);
}

static int eval_chain_node(struct ex *s, json_t *dot, const struct tnode *chain, struct tnode *const *args,
			   size_t nargs, json_t *final, bool has_final, json_t **out)
{
	s->node = chain;
	*out = NULL;
	if (chain->nident == 0)
		return ex_errorf(s, "internal error: no fields in evalChainNode");
	if (chain->node->type == TN_NIL) {
		char m[300];
		node_str(m, sizeof(m), chain);
		return ex_errorf(s, "indirection through explicit nil in %s", m);
	}
	json_t *pipe;
	if (eval_arg(s, dot, PT_ANY, chain->node, &pipe) < 0)
		return -1;
	int rc = eval_field_chain(s, dot, pipe, chain, chain->ident, chain->nident, args, nargs, final, has_final, out);
	json_decref(pipe);
	return rc;
}

static int eval_variable_node(struct ex *s, json_t *dot, const struct tnode *var, struct tnode *const *args,
			      size_t nargs, json_t *final, bool has_final, json_t **out)
{
	s->node = var;
	*out = NULL;
	json_t *value = NULL;
	if (var_value(s, var->ident[0], &value) < 0)
		return -1;
	if (var->nident == 1) {
		if (args && not_a_function(s, args, nargs, has_final) < 0) {
			json_decref(value);
			return -1;
		}
		*out = value;
		return 0;
	}
	int rc = eval_field_chain(s, dot, value, var, var->ident + 1, var->nident - 1, args, nargs, final, has_final,
				  out);
	json_decref(value);
	return rc;
}

static int eval_function(struct ex *s, json_t *dot, const struct tnode *ident, const struct tnode *cmd,
			 struct tnode *const *args, size_t nargs, json_t *final, bool has_final, json_t **out)
{
	s->node = ident;
	*out = NULL;
	const char *name = ident->text;
	const struct tmpl_builtin *nb = tmpl_find_builtin(name, false);
	const struct tmpl_builtin *b = s->header ? tmpl_find_builtin(name, true) : NULL;
	if (!b || b == nb) {
		/* not a header override: user functions take precedence over builtins */
		const struct berth_tmpl_func *f = tmpl_find_func(s->t, name, false);
		if (f)
			return eval_user_call(s, dot, f, cmd, name, NULL, args ? args + 1 : NULL, nargs ? nargs - 1 : 0,
					      final, has_final, out);
		b = nb;
	}
	if (!b) {
		struct berth_buf q = {0};
		go_quote(&q, name, strlen(name));
		int rc = ex_errorf(s, "%s is not a defined function", berth_buf_str(&q));
		berth_buf_free(&q);
		return rc;
	}
	return eval_call(s, dot, b, cmd, name, args ? args + 1 : NULL, nargs ? nargs - 1 : 0, final, has_final, out);
}

static int eval_arg(struct ex *s, json_t *dot, enum tmpl_ptype pt, const struct tnode *n, json_t **out)
{
	s->node = n;
	*out = NULL;
	json_t *v = NULL;
	switch (n->type) {
	case TN_DOT: return validate(s, json_incref(dot), pt, out);
	case TN_NIL:
		if (pt == PT_ANY) {
			*out = json_null();
			return 0;
		}
		if (pt == PT_STRV) {
			*out = json_array();
			return 0;
		}
		return ex_errorf(s, "cannot assign nil to %s", ptype_name(pt));
	case TN_FIELD: {
		struct tnode *const one[1] = {(struct tnode *)n};
		if (eval_field_node(s, dot, n, one, 1, NULL, false, &v) < 0)
			return -1;
		return validate(s, v, pt, out);
	}
	case TN_VARIABLE:
		if (eval_variable_node(s, dot, n, NULL, 0, NULL, false, &v) < 0)
			return -1;
		return validate(s, v, pt, out);
	case TN_PIPE:
		if (eval_pipeline(s, dot, n, &v) < 0)
			return -1;
		return validate(s, v, pt, out);
	case TN_IDENT:
		if (eval_function(s, dot, n, n, NULL, 0, NULL, false, &v) < 0)
			return -1;
		return validate(s, v, pt, out);
	case TN_CHAIN:
		if (eval_chain_node(s, dot, n, NULL, 0, NULL, false, &v) < 0)
			return -1;
		return validate(s, v, pt, out);
	default: break;
	}
	char m[300];
	node_str(m, sizeof(m), n);
	switch (pt) {
	case PT_STRING:
		if (n->type == TN_STRING) {
			*out = json_stringn_nocheck(n->text, n->text_len);
			return 0;
		}
		return ex_errorf(s, "expected string; found %s", m);
	case PT_INT:
		if (n->type == TN_NUMBER && n->is_int) {
			*out = json_integer(n->ival);
			return 0;
		}
		return ex_errorf(s, "expected integer; found %s", m);
	case PT_ANY:
		switch (n->type) {
		case TN_BOOL: *out = json_boolean(n->bval); return 0;
		case TN_NUMBER: return ideal_constant(s, n, out);
		case TN_STRING: *out = json_stringn_nocheck(n->text, n->text_len); return 0;
		default: return ex_errorf(s, "can't handle assignment of %s to empty interface argument", m);
		}
	case PT_STRV: break;
	}
	return ex_errorf(s, "can't handle %s for arg of type %s", m, ptype_name(pt));
}

static int eval_command(struct ex *s, json_t *dot, const struct tnode *cmd, json_t *final, bool has_final, json_t **out)
{
	*out = NULL;
	const struct tnode *first = cmd->kids[0];
	switch (first->type) {
	case TN_FIELD: return eval_field_node(s, dot, first, cmd->kids, cmd->nkids, final, has_final, out);
	case TN_CHAIN: return eval_chain_node(s, dot, first, cmd->kids, cmd->nkids, final, has_final, out);
	case TN_IDENT: return eval_function(s, dot, first, cmd, cmd->kids, cmd->nkids, final, has_final, out);
	case TN_PIPE:
		if (not_a_function(s, cmd->kids, cmd->nkids, has_final) < 0)
			return -1;
		return eval_pipeline(s, dot, first, out);
	case TN_VARIABLE: return eval_variable_node(s, dot, first, cmd->kids, cmd->nkids, final, has_final, out);
	default: break;
	}
	s->node = first;
	if (not_a_function(s, cmd->kids, cmd->nkids, has_final) < 0)
		return -1;
	switch (first->type) {
	case TN_BOOL: *out = json_boolean(first->bval); return 0;
	case TN_DOT: *out = json_incref(dot); return 0;
	case TN_NIL: return ex_errorf(s, "nil is not a command");
	case TN_NUMBER: return ideal_constant(s, first, out);
	case TN_STRING: *out = json_stringn_nocheck(first->text, first->text_len); return 0;
	default: break;
	}
	char m[300];
	node_str(m, sizeof(m), first);
	return ex_errorf(s, "can't evaluate command %s", m);
}

static int eval_pipeline(struct ex *s, json_t *dot, const struct tnode *pipe, json_t **out)
{
	*out = NULL;
	if (!pipe)
		return 0;
	s->node = pipe;
	json_t *value = NULL;
	bool has = false;
	for (size_t i = 0; i < pipe->nkids; i++) {
		json_t *v;
		if (eval_command(s, dot, pipe->kids[i], value, has, &v) < 0) {
			json_decref(value);
			return -1;
		}
		json_decref(value);
		value = v;
		has = true;
	}
	for (size_t i = 0; i < pipe->ndecl; i++) {
		const char *name = pipe->decl[i]->ident[0];
		int rc = pipe->is_assign ? set_var(s, name, value) : push_var(s, name, value);
		if (rc < 0) {
			json_decref(value);
			return -1;
		}
	}
	*out = value;
	return 0;
}

/* ---- walking ---- */

static int walk(struct ex *s, json_t *dot, const struct tnode *n);

static int walk_if_or_with(struct ex *s, json_t *dot, const struct tnode *n)
{
	size_t mark = s->nvars;
	json_t *val;
	int rc = eval_pipeline(s, dot, n->pipe, &val);
	if (rc == 0) {
		if (tmpl_truth(val))
			rc = walk(s, n->type == TN_WITH ? val : dot, n->list);
		else if (n->else_list)
			rc = walk(s, dot, n->else_list);
	}
	json_decref(val);
	pop_vars(s, mark);
	return rc;
}

static int cmp_keys(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int range_iteration(struct ex *s, const struct tnode *r, size_t mark, json_t *index, json_t *elem, bool *stop)
{
	if (r->pipe->ndecl > 0)
		set_top_var(s, 1, elem);
	if (r->pipe->ndecl > 1)
		set_top_var(s, 2, index);
	int rc = walk(s, elem, r->list);
	pop_vars(s, mark);
	if (s->ctl == CTL_BREAK)
		*stop = true;
	s->ctl = CTL_NONE;
	return rc;
}

static int walk_range(struct ex *s, json_t *dot, const struct tnode *r)
{
	s->node = r;
	size_t mark0 = s->nvars;
	json_t *val;
	if (eval_pipeline(s, dot, r->pipe, &val) < 0) {
		pop_vars(s, mark0);
		return -1;
	}
	size_t mark = s->nvars;
	int rc = 0;
	bool iterated = false, stop = false;
	if (!val || json_is_null(val)) {
		/* like a nil map: no iterations */
	} else if (json_is_array(val)) {
		for (size_t i = 0; i < json_array_size(val) && rc == 0 && !stop; i++) {
			json_t *idx = json_integer((json_int_t)i);
			rc = range_iteration(s, r, mark, idx, json_array_get(val, i), &stop);
			json_decref(idx);
			iterated = true;
		}
	} else if (json_is_object(val)) {
		size_t n = json_object_size(val), k = 0;
		const char **keys = calloc(n ? n : 1, sizeof(*keys));
		if (!keys) {
			rc = ex_errorf(s, "out of memory");
		} else {
			const char *key;
			json_t *v;
			json_object_foreach(val, key, v) {
				(void)v;
				if (k < n)
					keys[k++] = key;
			}
			qsort(keys, k, sizeof(*keys), cmp_keys);
			for (size_t i = 0; i < k && rc == 0 && !stop; i++) {
				json_t *idx = json_string(keys[i]);
				rc = range_iteration(s, r, mark, idx, json_object_get(val, keys[i]), &stop);
				json_decref(idx);
				iterated = true;
			}
			free(keys);
		}
	} else {
		struct berth_buf b = {0};
		go_print_value(&b, val);
		rc = ex_errorf(s, "range can't iterate over %s", berth_buf_str(&b));
		berth_buf_free(&b);
	}
	if (rc == 0 && !iterated && r->else_list)
		rc = walk(s, dot, r->else_list);
	json_decref(val);
	pop_vars(s, mark0);
	return rc;
}

static int walk_template(struct ex *s, json_t *dot, const struct tnode *n)
{
	s->node = n;
	const struct tmpl_def *def = tmpl_find_def(s->t, n->text);
	if (!def) {
		struct berth_buf q = {0};
		go_quote(&q, n->text, n->text_len);
		int rc = ex_errorf(s, "template %s not defined", berth_buf_str(&q));
		berth_buf_free(&q);
		return rc;
	}
	if (s->depth >= MAX_EXEC_DEPTH)
		return ex_errorf(s, "exceeded maximum template depth (%d)", MAX_EXEC_DEPTH);
	json_t *newdot;
	if (eval_pipeline(s, dot, n->pipe, &newdot) < 0)
		return -1;
	struct ex sub = *s;
	sub.vars = NULL;
	sub.nvars = sub.cap = 0;
	sub.depth++;
	sub.tname = def->name;
	sub.ctl = CTL_NONE;
	int rc = push_var(&sub, "$", newdot);
	if (rc == 0)
		rc = walk(&sub, newdot, def->root);
	pop_vars(&sub, 0);
	free(sub.vars);
	json_decref(newdot);
	return rc;
}

static int walk(struct ex *s, json_t *dot, const struct tnode *n)
{
	s->node = n;
	switch (n->type) {
	case TN_ACTION: {
		json_t *val;
		if (eval_pipeline(s, dot, n->pipe, &val) < 0)
			return -1;
		if (n->pipe->ndecl == 0) {
			s->node = n;
			go_print_value(s->out, val);
		}
		json_decref(val);
		return 0;
	}
	case TN_IF:
	case TN_WITH: return walk_if_or_with(s, dot, n);
	case TN_LIST:
		for (size_t i = 0; i < n->nkids; i++) {
			if (walk(s, dot, n->kids[i]) < 0)
				return -1;
			if (s->ctl != CTL_NONE)
				return 0;
		}
		return 0;
	case TN_RANGE: return walk_range(s, dot, n);
	case TN_TEMPLATE: return walk_template(s, dot, n);
	case TN_TEXT: berth_buf_append(s->out, n->text, n->text_len); return 0;
	case TN_BREAK: s->ctl = CTL_BREAK; return 0;
	case TN_CONTINUE: s->ctl = CTL_CONTINUE; return 0;
	default: break;
	}
	char m[300];
	node_str(m, sizeof(m), n);
	return ex_errorf(s, "unknown node: %s", m);
}

int berth_tmpl_exec_flags(const struct berth_tmpl *t, json_t *data, unsigned flags, struct berth_buf *out,
			  struct berth_error *err)
{
	struct ex s = {.t = t, .tname = "", .out = out, .err = err, .header = (flags & BERTH_TMPL_HEADER) != 0};
	if (!t || !t->root)
		return berth_err(err, BERTH_E_INVALID, "template: : \"\" is an incomplete or empty template");
	berth_buf_append(out, "", 0);
	int rc = push_var(&s, "$", data);
	if (rc == 0)
		rc = walk(&s, data, t->root);
	pop_vars(&s, 0);
	free(s.vars);
	return rc < 0 ? -1 : 0;
}

int berth_tmpl_exec(const struct berth_tmpl *t, json_t *data, struct berth_buf *out, struct berth_error *err)
{
	return berth_tmpl_exec_flags(t, data, 0, out, err);
}

char *berth_tmpl_render(const char *src, json_t *data, struct berth_error *err)
{
	struct berth_tmpl *t = berth_tmpl_parse(src, err);
	if (!t)
		return NULL;
	struct berth_buf b = {0};
	int rc = berth_tmpl_exec(t, data, &b, err);
	berth_tmpl_free(t);
	if (rc < 0) {
		berth_buf_free(&b);
		return NULL;
	}
	return berth_buf_steal(&b);
}
