/* Dockerfile parser and shell-word substitution. */
#include <stdlib.h>
#include <string.h>

#include "builder/parser.h"
#include "common/util.h"
#include "tap.h"

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "V"))
		return "val";
	if (!strcmp(name, "SP"))
		return "a b";
	if (!strcmp(name, "EMPTY"))
		return "";
	return NULL;
}

static void word(struct tap *t, const char *in, char esc, const char *want)
{
	struct berth_error err = {0};
	char *got = berth_df_word(in, esc, lookup, NULL, &err);
	TAP_STREQ(t, got, want, "word %s", in);
	free(got);
}

static int parse(const char *s, struct berth_dockerfile *df, struct berth_error *err)
{
	return berth_df_parse(s, strlen(s), df, err);
}

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};
	struct berth_dockerfile df;

	/* comments, continuations, case, forms */
	const char *f1 = "# a comment\n"
			 "ARG BASE=busybox\n"
			 "from $BASE AS build\n"
			 "RUN echo a \\\n"
			 "  # comment between\n"
			 "  && echo b\n"
			 "CMD [\"echo\", \"hi\"]\n"
			 "ENTRYPOINT [\"bad json\n"
			 "ENV A=1 B=\"two words\"\n"
			 "ENV OLD some value\n"
			 "LABEL \"k 1\"=\"v 1\" k2=v2\n"
			 "COPY --chown=1:2 --from=build a b /dst/\n"
			 "HEALTHCHECK --interval=1s CMD true\n"
			 "ONBUILD RUN echo trig\n";
	TAP_OK(&t, parse(f1, &df, &err) == 0, "parse f1 (%s)", err.msg);
	TAP_OK(&t, df.n == 11, "11 instructions (%zu)", df.n);
	if (df.n == 11) {
		TAP_STREQ(&t, df.v[0].cmd, "arg", "arg");
		TAP_STREQ(&t, df.v[1].cmd, "from", "lower-cased FROM");
		TAP_OK(&t, df.v[1].line == 3, "from on line 3");
		TAP_STREQ(&t, df.v[2].args[0], "echo a   && echo b", "continuation joined, comment skipped");
		TAP_OK(&t, !df.v[2].json, "run shell form");
		TAP_OK(&t, df.v[3].json && !strcmp(df.v[3].args[1], "hi"), "cmd exec form");
		TAP_OK(&t, !df.v[4].json, "bad JSON falls back to shell form");
		TAP_STREQ(&t, df.v[5].args[3], "\"two words\"", "env quoted value kept raw");
		TAP_STREQ(&t, df.v[6].args[1], "some value", "env old form");
		TAP_STREQ(&t, df.v[7].args[0], "\"k 1\"", "label key");
		TAP_STREQ(&t, df.v[8].flags[1], "--from=build", "copy flags");
		TAP_OK(&t, berth_strv_len(df.v[8].args) == 3, "copy args");
		TAP_STREQ(&t, df.v[9].args[0], "CMD", "healthcheck kind");
		TAP_STREQ(&t, df.v[9].flags[0], "--interval=1s", "healthcheck flag");
		TAP_OK(&t, df.v[10].sub && !strcmp(df.v[10].sub->cmd, "run"), "onbuild sub");
		TAP_STREQ(&t, df.v[2].original, "RUN echo a   && echo b", "original");
	}
	berth_df_free(&df);

	/* escape directive */
	const char *f2 = "# escape=`\n# syntax=docker/dockerfile:1\nFROM x\nRUN dir c:\\ `\n  && echo\n";
	TAP_OK(&t, parse(f2, &df, &err) == 0, "parse escape file");
	TAP_OK(&t, df.escape == '`', "escape is backtick");
	TAP_OK(&t, df.warnings && strstr(df.warnings[0], "syntax"), "syntax warning");
	TAP_OK(&t, df.n == 2 && !strcmp(df.v[1].args[0], "dir c:\\   && echo"), "backtick continuation");
	berth_df_free(&df);

	/* errors with line numbers */
	memset(&err, 0, sizeof(err));
	TAP_OK(&t, parse("FROM busybox\nFROBNICATE x\n", &df, &err) < 0, "unknown instruction fails");
	TAP_STREQ(&t, err.msg, "dockerfile parse error line 2: unknown instruction: FROBNICATE", "message");
	memset(&err, 0, sizeof(err));
	TAP_OK(&t, parse("FROM busybox\n\nSHELL /bin/sh\n", &df, &err) < 0, "shell needs json");
	TAP_STREQ(&t, err.msg, "dockerfile parse error line 3: SHELL requires the arguments to be in JSON form",
		  "message");
	memset(&err, 0, sizeof(err));
	TAP_OK(&t, parse("FROM b\nONBUILD ONBUILD RUN x\n", &df, &err) < 0, "onbuild onbuild refused");
	TAP_OK(&t, strstr(err.msg, "line 2") != NULL, "with line");
	memset(&err, 0, sizeof(err));
	TAP_OK(&t, parse("FROM b\nONBUILD FROM x\n", &df, &err) < 0, "onbuild from refused");
	memset(&err, 0, sizeof(err));
	TAP_OK(&t, parse("FROM b\nONBUILD maintainer x\n", &df, &err) < 0, "onbuild maintainer refused");
	memset(&err, 0, sizeof(err));
	TAP_OK(&t, parse("# only a comment\n\n", &df, &err) < 0, "empty fails");
	memset(&err, 0, sizeof(err));
	TAP_OK(&t, parse("FROM b\nENV A\n", &df, &err) < 0, "ENV one arg fails");

	/* substitution */
	word(&t, "$V", '\\', "val");
	word(&t, "${V}x", '\\', "valx");
	word(&t, "${NOPE:-def}", '\\', "def");
	word(&t, "${EMPTY:-def}", '\\', "def");
	word(&t, "${EMPTY-def}", '\\', "");
	word(&t, "${V:+alt}", '\\', "alt");
	word(&t, "${NOPE:+alt}", '\\', "");
	word(&t, "\\$V", '\\', "$V");
	word(&t, "'$V'", '\\', "$V");
	word(&t, "\"$V x\"", '\\', "val x");
	word(&t, "\"a\\\"b\"", '\\', "a\"b");
	word(&t, "`$V", '`', "$V");
	word(&t, "$", '\\', "$");
	word(&t, "a$-b", '\\', "a$-b");
	char **ws = berth_df_words("x $SP \"c d\"", '\\', lookup, NULL, &err);
	TAP_OK(&t, ws && berth_strv_len(ws) == 4 && !strcmp(ws[3], "c d"), "words split");
	berth_strv_free(ws);
	memset(&err, 0, sizeof(err));
	char *bad = berth_df_word("${V", '\\', lookup, NULL, &err);
	TAP_OK(&t, !bad && err.msg[0], "unterminated brace fails");
	free(bad);
	return TAP_DONE(&t);
}
