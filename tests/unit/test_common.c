#include <stdlib.h>

#include "common/digest.h"
#include "common/util.h"
#include "tap.h"

int main(void)
{
	struct tap t = {0};
	char d[BERTH_DIGEST_LEN + 1];
	berth_sha256_digest("", 0, d);
	TAP_STREQ(&t, d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of empty");
	TAP_OK(&t, berth_digest_valid(d), "digest valid");
	TAP_OK(&t, !berth_digest_valid("sha256:abc"), "short digest invalid");
	int64_t ns = 0;
	TAP_OK(&t, berth_time_parse("2024-01-01T00:00:00Z", &ns) == 0 && ns == 1704067200LL * 1000000000LL, "rfc3339");
	TAP_OK(&t, berth_time_parse("1704067200.5", &ns) == 0 && ns == 1704067200LL * 1000000000LL + 500000000, "unix");
	char buf[64];
	berth_time_rfc3339(1704067200LL * 1000000000LL + 1, buf, sizeof(buf));
	TAP_STREQ(&t, buf, "2024-01-01T00:00:00.000000001Z", "format rfc3339 nano");
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s-%d", "x", 42);
	TAP_STREQ(&t, berth_buf_str(&b), "x-42", "buf printf");
	berth_buf_free(&b);
	return TAP_DONE(&t);
}
