#include <stdlib.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/util.h"
#include "tap.h"

/* The error kind -> HTTP status map, every kind (the API layer answers with
 * this status; clients branch on it, e.g. 404 "No such", 409 conflicts). */
static void test_http_status_map(struct tap *t)
{
	static const struct {
		enum berth_err_kind kind;
		const char *name;
		int status;
	} map[] = {
		{BERTH_E_NONE, "NONE", 200},
		{BERTH_E_INVALID, "INVALID", 400},
		{BERTH_E_FORBIDDEN, "FORBIDDEN", 403},
		{BERTH_E_NOT_FOUND, "NOT_FOUND", 404},
		{BERTH_E_CONFLICT, "CONFLICT", 409},
		{BERTH_E_NOT_MODIFIED, "NOT_MODIFIED", 304},
		{BERTH_E_UNAVAILABLE, "UNAVAILABLE", 503},
		{BERTH_E_UNSUPPORTED, "UNSUPPORTED", 501},
		{BERTH_E_INTERNAL, "INTERNAL", 500},
	};
	size_t n = sizeof(map) / sizeof(map[0]);
	/* the table names every kind exactly once (INTERNAL is the last one) */
	TAP_OK(t, n == (size_t)BERTH_E_INTERNAL + 1, "status map test covers all %zu error kinds", n);
	for (size_t i = 0; i < n; i++) {
		TAP_OK(t, map[i].kind == (enum berth_err_kind)i, "kind %s is enum value %zu", map[i].name, i);
		int got = berth_err_http_status(map[i].kind);
		TAP_OK(t, got == map[i].status, "BERTH_E_%s -> HTTP %d (got %d)", map[i].name, map[i].status, got);
	}
	/* an unknown kind is an internal error, never a success */
	TAP_OK(t, berth_err_http_status((enum berth_err_kind)(BERTH_E_INTERNAL + 1)) == 500, "unknown kind -> 500");
}

static void test_error_fill(struct tap *t)
{
	struct berth_error e = {0};
	TAP_OK(t, berth_err(&e, BERTH_E_CONFLICT, "name %s in use", "x") == -1, "berth_err returns -1");
	TAP_OK(t, e.kind == BERTH_E_CONFLICT && e.code == 0, "berth_err sets the kind");
	TAP_STREQ(t, e.msg, "name x in use", "berth_err message");
	TAP_OK(t, berth_err_sys(&e, BERTH_E_NOT_FOUND, ENOENT, "open %s", "/f") == -1, "berth_err_sys returns -1");
	TAP_OK(t, e.kind == BERTH_E_NOT_FOUND && e.code == ENOENT, "berth_err_sys sets kind and code");
	TAP_STREQ(t, e.msg, "open /f: No such file or directory", "berth_err_sys message");
	berth_err_prefix(&e, "layer %d", 3);
	TAP_STREQ(t, e.msg, "layer 3: open /f: No such file or directory", "berth_err_prefix");
	TAP_OK(t, e.kind == BERTH_E_NOT_FOUND, "berth_err_prefix keeps the kind");
	berth_err_clear(&e);
	TAP_OK(t, e.kind == BERTH_E_NONE && e.code == 0 && e.msg[0] == '\0', "berth_err_clear");
	TAP_OK(t, berth_err(NULL, BERTH_E_INTERNAL, "x") == -1, "NULL err still returns -1");
}

/* berth_thread_stack_release: the pages a thread touched deep in its stack
 * are no longer resident after it (mincore), those it still runs on are */
struct stack_probe {
	int deep_before, deep_after, near_after;
};

static int resident(uintptr_t p)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	unsigned char v = 0;
	if (mincore((void *)(p & ~(pg - 1)), 1, &v) < 0)
		return -1;
	return v & 1;
}

static __attribute__((noinline)) uintptr_t touch_deep(void)
{
	volatile char buf[256 * 1024];
	for (size_t i = 0; i < sizeof(buf); i += 512)
		buf[i] = 1; /* volatile: every page really written */
	/* an address in the deep frame, used only as a number after return */
	return (uintptr_t)&buf[64];
}

static void *stack_thread(void *arg)
{
	struct stack_probe *p = arg;
	uintptr_t deep = touch_deep();
	p->deep_before = resident(deep);
	berth_thread_stack_release();
	p->deep_after = resident(deep);
	char here = 0;
	p->near_after = resident((uintptr_t)&here);
	return NULL;
}

static void test_stack_release(struct tap *t)
{
	struct stack_probe p = {-1, -1, -1};
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 1024 * 1024);
	pthread_t th;
	TAP_OK(t, pthread_create(&th, &a, stack_thread, &p) == 0, "stack release: thread started");
	pthread_join(th, NULL);
	pthread_attr_destroy(&a);
	TAP_OK(t, p.deep_before == 1, "stack release: a deep frame's page is resident before");
	TAP_OK(t, p.deep_after == 0, "stack release: and given back after");
	TAP_OK(t, p.near_after == 1, "stack release: the running frame's page stays");
}

int main(void)
{
	struct tap t = {0};
	test_http_status_map(&t);
	test_error_fill(&t);
	test_stack_release(&t);
	char pd[32];
	size_t pl = berth_percent_decode("a%2Fb+c%zz%4", 12, false, pd);
	TAP_OK(&t, pl == 10 && !memcmp(pd, "a/b+c%zz%4", 11), "percent decode: %%XX, a bad or cut escape kept");
	pl = berth_percent_decode("a+b%00c", 7, true, pd);
	TAP_OK(&t, pl == 5 && !memcmp(pd, "a b\0c", 6), "percent decode: '+' as space, %%00 a NUL byte");
	TAP_OK(&t,
	       berth_hexval('f') == 15 && berth_hexval('A') == 10 && berth_hexval('9') == 9 && berth_hexval('g') < 0,
	       "hexval");
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
