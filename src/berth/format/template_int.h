/* Internal representation shared by the template parser, executor and
 * builtin functions. Not for use outside src/berth/format. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "template.h"

enum tnode_type {
	TN_TEXT,
	TN_ACTION,
	TN_IF,
	TN_RANGE,
	TN_WITH,
	TN_LIST,
	TN_TEMPLATE,
	TN_BREAK,
	TN_CONTINUE,
	TN_END,
	TN_ELSE,
	TN_PIPE,
	TN_COMMAND,
	TN_FIELD,
	TN_VARIABLE,
	TN_IDENT,
	TN_DOT,
	TN_NIL,
	TN_BOOL,
	TN_NUMBER,
	TN_STRING,
	TN_CHAIN,
};

/* Parameter types of builtin functions (for Go's argument checking). */
enum tmpl_ptype {
	PT_ANY,    /* interface{} */
	PT_STRING, /* string */
	PT_INT,    /* int */
	PT_STRV,   /* []string */
};

struct tmpl_errbuf {
	char msg[512];
};

/* A builtin: args are borrowed and already converted/validated against the
 * parameter types. Returns 0 and a new reference (or NULL) in *out, or -1 with
 * a message in e. */
typedef int (*tmpl_builtin_fn)(json_t *const *args, size_t nargs, json_t **out, struct tmpl_errbuf *e);

struct tmpl_builtin {
	const char *name;
	tmpl_builtin_fn fn;
	int nfixed;    /* number of fixed parameters */
	bool variadic; /* trailing ...vtype */
	enum tmpl_ptype ptype[3];
	enum tmpl_ptype vtype;
	int special; /* TB_* below: evaluated by the executor itself */
};

enum { TB_NONE, TB_AND, TB_OR, TB_CALL };

struct tnode {
	enum tnode_type type;
	size_t pos;
	int line;
	/* TEXT: the text; STRING: unquoted value; IDENT/TEMPLATE: name. */
	char *text;
	size_t text_len;
	/* NUMBER/STRING: the token as written. */
	char *quoted;
	/* FIELD: names without dots; VARIABLE: [0] is "$x", then fields; CHAIN: fields. */
	char **ident;
	size_t nident;
	/* LIST: nodes; PIPE: commands; COMMAND: arguments. */
	struct tnode **kids;
	size_t nkids, kcap;
	/* PIPE: declared variables (VARIABLE nodes). */
	struct tnode **decl;
	size_t ndecl;
	bool is_assign;
	/* ACTION/IF/RANGE/WITH/TEMPLATE: pipe; IF/RANGE/WITH: list, else_list;
	 * CHAIN: node (the term the fields apply to). */
	struct tnode *pipe, *list, *else_list, *node;
	bool bval;
	bool is_int, is_float;
	long long ival;
	double fval;
	struct tnode *next_alloc; /* arena chain */
};

struct tmpl_def {
	char *name;
	struct tnode *root;
};

struct berth_tmpl {
	char *text;
	struct tnode *root;
	struct tmpl_def *defs;
	size_t ndefs;
	struct berth_tmpl_func *funcs;
	size_t nfuncs;
	struct tnode *arena; /* every node, for freeing */
};

/* Lexer items (template_lex.c). */
enum itype {
	I_ERROR,
	I_BOOL,
	I_CHAR,
	I_CHARCONST,
	I_COMPLEX,
	I_ASSIGN,
	I_DECLARE,
	I_EOF,
	I_FIELD,
	I_IDENT,
	I_LDELIM,
	I_LPAREN,
	I_NUMBER,
	I_PIPE,
	I_RAWSTRING,
	I_RDELIM,
	I_RPAREN,
	I_SPACE,
	I_STRING,
	I_TEXT,
	I_VARIABLE,
	I_KEYWORD, /* keywords follow */
	I_BLOCK,
	I_BREAK,
	I_CONTINUE,
	I_DOT,
	I_DEFINE,
	I_ELSE,
	I_END,
	I_IF,
	I_NIL,
	I_RANGE,
	I_TEMPLATE,
	I_WITH,
};

struct tmpl_item {
	enum itype typ;
	size_t pos;
	const char *val;
	size_t len;
	int line;
};

/* Lex all of in[0:n]; the items end with I_EOF or I_ERROR (whose val is
 * *errmsg). Returns -1 on allocation failure. Caller frees items and errmsg. */
int tmpl_lex(const char *in, size_t n, struct tmpl_item **items, size_t *nitems, char **errmsg);

/* Builtins (template_funcs.c). header selects docker's HeaderFunctions overrides. */
const struct tmpl_builtin *tmpl_find_builtin(const char *name, bool header);
/* User function/method lookup. */
const struct berth_tmpl_func *tmpl_find_func(const struct berth_tmpl *t, const char *name, bool method);

/* Go's text/template truth. NULL (no value) is false. */
bool tmpl_truth(const json_t *v);

/* Node.String() as Go prints it (for error contexts). */
void tmpl_node_string(struct berth_buf *b, const struct tnode *n);

/* Location "name:line:col" of a node for exec errors. */
void tmpl_node_location(const struct berth_tmpl *t, const struct tnode *n, int *line, int *col);

const struct tmpl_def *tmpl_find_def(const struct berth_tmpl *t, const char *name);
