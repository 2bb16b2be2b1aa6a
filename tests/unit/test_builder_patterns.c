/* .dockerignore pattern matching (archive/patterns.h), docker's semantics. */
#include <string.h>

#include "archive/patterns.h"
#include "tap.h"

static void m(struct tap *t, const char *pats, const char *path, bool want)
{
	struct berth_patterns *ps = berth_patterns_parse(pats, strlen(pats));
	bool got = berth_patterns_matches(ps, path);
	TAP_OK(t, got == want, "%s %s %s", path, want ? "ignored by" : "kept by", pats);
	berth_patterns_free(ps);
}

int main(void)
{
	struct tap t = {0};
	m(&t, "*.md", "README.md", true);
	m(&t, "*.md", "docs/x.md", false);
	m(&t, "*/*.md", "docs/x.md", true);
	m(&t, "**/*.md", "a/b/c.md", true);
	m(&t, "**/*.md", "c.md", true);
	m(&t, "docs", "docs/a/b.txt", true);
	m(&t, "/docs/", "docs/a", true);
	m(&t, "./docs/../secret", "secret", true);
	m(&t, "# comment\n\n  secret  \n", "secret", true);
	m(&t, "*.md\n!README.md", "README.md", false);
	m(&t, "*.md\n!README.md", "CHANGES.md", true);
	m(&t, "!README.md\n*.md", "README.md", true);
	m(&t, "temp?", "temp1", true);
	m(&t, "temp?", "temp/x", false);
	m(&t, "temp?", "temp12", false);
	m(&t, "f[a-c]o", "fbo", true);
	m(&t, "f[^a-c]o", "fbo", false);
	m(&t, "a/**/z", "a/z", true);
	m(&t, "a/**/z", "a/b/c/z", true);
	m(&t, "a/**", "a/b/c", true);
	m(&t, "", "x", false);
	m(&t, "x\\*", "x*", true);
	struct berth_patterns *ps = berth_patterns_parse("a\n!a/keep", 9);
	TAP_OK(&t, berth_patterns_has_exclusions(ps), "exclusions seen");
	TAP_OK(&t, berth_patterns_tar_filter(ps, "a", true) == 2, "excluded dir with exceptions is descended");
	TAP_OK(&t, berth_patterns_tar_filter(ps, "a/keep", false) == 0, "exception kept");
	TAP_OK(&t, berth_patterns_tar_filter(ps, "a/other", false) == 1, "others skipped");
	berth_patterns_free(ps);
	return TAP_DONE(&t);
}
