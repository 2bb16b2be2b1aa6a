/* Image references: every parser, then the formatting and matching functions
 * on what parsed. Input: "<reference>\n<tag>\n<pattern>" (later parts optional). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "image/reference.h"

static void exercise(struct berth_ref *r)
{
	char *s[4] = {berth_ref_name(r), berth_ref_string(r), berth_ref_familiar_name(r), berth_ref_familiar_string(r)};
	for (int i = 0; i < 4; i++) {
		FUZZ_ASSERT(s[i]);
		free(s[i]);
	}
	berth_ref_is_named(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strndup(data, size);
	char *tag = strchr(in, '\n');
	char *pattern = NULL;
	if (tag) {
		*tag++ = '\0';
		pattern = strchr(tag, '\n');
		if (pattern)
			*pattern++ = '\0';
	}

	struct berth_error err = {0};
	struct berth_ref r;
	if (berth_ref_parse(in, &r, &err) == 0)
		exercise(&r);
	if (berth_ref_parse_any(in, &r, &err) == 0)
		exercise(&r);
	if (berth_ref_parse_normalized(in, &r, &err) == 0) {
		exercise(&r);
		/* What a normalized parse printed must parse back to the same name. */
		char *str = berth_ref_string(&r);
		struct berth_ref again;
		FUZZ_ASSERT(berth_ref_parse_normalized(str, &again, &err) == 0);
		FUZZ_ASSERT(strcmp(again.domain, r.domain) == 0 && strcmp(again.path, r.path) == 0);
		free(str);
		if (pattern)
			berth_ref_familiar_match(pattern, &r);
		if (tag && berth_ref_with_tag(&r, tag, &err) == 0)
			exercise(&r);
		berth_ref_trim(&r);
		berth_ref_tag_name_only(&r);
		exercise(&r);
	}
	if (tag)
		berth_ref_tag_valid(tag);
	char *fam = berth_ref_normalize_familiar(in, &err);
	free(fam);
	free(in);
	return 0;
}
