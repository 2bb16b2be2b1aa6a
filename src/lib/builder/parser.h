/* Dockerfile parsing (docker's classic grammar, moby/buildkit's
 * frontend/dockerfile/parser as of docker 20.10) and the shell-word
 * processing used for variable substitution (its shell lexer). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* One instruction. args depend on the instruction:
 *  - ENV, LABEL: key, value, key, value ... (raw words, quotes kept)
 *  - RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK's command: json ? the array :
 *    one element, the rest of the line
 *  - ADD, COPY, VOLUME: json ? the array : whitespace-separated words
 *  - MAINTAINER: one element, the rest of the line
 *  - HEALTHCHECK: args[0] "NONE" or "CMD", then the command as above
 *  - ONBUILD: sub holds the instruction, args[0] its text
 *  - others: whitespace-separated words */
struct berth_df_instr {
	char *cmd;      /* lower case: "from", "run", ... */
	char *original; /* the instruction as written, continuations joined */
	char **flags;   /* "--from=x" ... (NULL-terminated, may be NULL) */
	char **args;    /* NULL-terminated */
	bool json;
	int line; /* first line (1-based) */
	int end_line;
	struct berth_df_instr *sub; /* ONBUILD */
};

struct berth_dockerfile {
	struct berth_df_instr *v;
	size_t n;
	char escape;
	char **warnings; /* NULL-terminated, may be NULL */
};

/* Parse a Dockerfile. Errors: BERTH_E_INVALID with docker's wording
 * ("dockerfile parse error line 2: unknown instruction: FROBNICATE"). */
int berth_df_parse(const char *text, size_t len, struct berth_dockerfile *out, struct berth_error *err);
void berth_df_free(struct berth_dockerfile *df);
void berth_df_instr_clear(struct berth_df_instr *in);
/* Parse a single instruction line (ONBUILD triggers of a parent image). */
int berth_df_parse_line(const char *line, char escape, struct berth_df_instr *out, struct berth_error *err);

/* ---- shell words (variable substitution) ---- */

/* Variable lookup: value or NULL when unset. */
typedef const char *(*berth_df_lookup_fn)(void *ctx, const char *name);

/* docker's ProcessWord: quotes removed, escapes applied, $V ${V} ${V:-w}
 * ${V:+w} ${V-w} ${V+w} expanded. Returns a new string or NULL with err. */
char *berth_df_word(const char *word, char escape, berth_df_lookup_fn lookup, void *ctx, struct berth_error *err);
/* docker's ProcessWords: as berth_df_word, then split at unquoted
 * whitespace. NULL-terminated, caller frees with berth_strv_free. */
char **berth_df_words(const char *word, char escape, berth_df_lookup_fn lookup, void *ctx, struct berth_error *err);
