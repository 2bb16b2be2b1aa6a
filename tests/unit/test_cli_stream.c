/* stdcopy demultiplexing, detach-key parsing and the detach-sequence filter
 * (src/berth/stdcopy.c, src/berth/tty.c). */
#include <stdlib.h>
#include <string.h>

#include "../../src/berth/stdcopy.h"
#include "../../src/berth/tty.h"
#include "tap.h"

struct sink {
	struct berth_buf out, err;
	int calls;
};

static int sink_write(void *ctx, int stream, const char *data, size_t len)
{
	struct sink *s = ctx;
	s->calls++;
	berth_buf_append(stream == BERTH_STD_ERR ? &s->err : &s->out, data, len);
	return 0;
}

static void frame(struct berth_buf *b, int stream, const char *payload, size_t len)
{
	unsigned char h[8] = {(unsigned char)stream,
			      0,
			      0,
			      0,
			      (unsigned char)(len >> 24),
			      (unsigned char)(len >> 16),
			      (unsigned char)(len >> 8),
			      (unsigned char)len};
	berth_buf_append(b, h, 8);
	berth_buf_append(b, payload, len);
}

static void test_stdcopy(struct tap *t)
{
	struct berth_buf in = {0};
	frame(&in, 1, "hello ", 6);
	frame(&in, 2, "oops\n", 5);
	frame(&in, 1, "world\n", 6);
	frame(&in, 0, "stdin-echo\n", 11);
	frame(&in, 1, "", 0);
	/* every split point must give the same result */
	bool all_same = true;
	for (size_t chunk = 1; chunk <= in.len; chunk++) {
		struct sink s = {0};
		struct berth_stdcopy sc;
		berth_stdcopy_init(&sc, sink_write, &s);
		struct berth_error err = {0};
		int rc = 0;
		for (size_t off = 0; off < in.len && rc == 0; off += chunk)
			rc = berth_stdcopy_feed(&sc, in.data + off, off + chunk > in.len ? in.len - off : chunk, &err);
		all_same &= rc == 0 && !strcmp(berth_buf_str(&s.out), "hello world\nstdin-echo\n") &&
			    !strcmp(berth_buf_str(&s.err), "oops\n") && berth_stdcopy_at_boundary(&sc);
		berth_stdcopy_free(&sc);
		berth_buf_free(&s.out);
		berth_buf_free(&s.err);
	}
	TAP_OK(t, all_same, "frames split at any byte demultiplex to stdout/stderr (stdin frames to stdout)");
	berth_buf_free(&in);

	/* systemerr frame -> docker's error */
	struct berth_buf se = {0};
	frame(&se, 1, "x", 1);
	frame(&se, 3, "container exploded", 18);
	struct sink s = {0};
	struct berth_stdcopy sc;
	berth_stdcopy_init(&sc, sink_write, &s);
	struct berth_error err = {0};
	int rc = berth_stdcopy_feed(&sc, se.data, se.len, &err);
	TAP_OK(t, rc < 0, "systemerr frame is an error");
	TAP_STREQ(t, err.msg, "error from daemon in stream: container exploded", "systemerr message");
	TAP_STREQ(t, berth_buf_str(&s.out), "x", "output before the error was written");
	berth_stdcopy_free(&sc);
	berth_buf_free(&s.out);
	berth_buf_free(&se);

	/* unknown stream */
	berth_stdcopy_init(&sc, sink_write, &s);
	const char bad[8] = {7, 0, 0, 0, 0, 0, 0, 1};
	rc = berth_stdcopy_feed(&sc, bad, 8, &err);
	TAP_OK(t, rc < 0, "unknown stream is an error");
	TAP_STREQ(t, err.msg, "Unrecognized input header: 7", "unknown stream message");
	berth_stdcopy_free(&sc);

	/* truncated frame: not at a boundary */
	berth_stdcopy_init(&sc, sink_write, &s);
	const char part[10] = {1, 0, 0, 0, 0, 0, 0, 5, 'a', 'b'};
	berth_stdcopy_feed(&sc, part, 10, &err);
	TAP_OK(t, !berth_stdcopy_at_boundary(&sc), "truncated frame is detected");
	berth_stdcopy_free(&sc);
	berth_buf_free(&s.out);
	berth_buf_free(&s.err);

	/* a large frame (> 64 KiB) */
	struct berth_buf big = {0};
	char *payload = malloc(200000);
	memset(payload, 'z', 200000);
	frame(&big, 2, payload, 200000);
	struct sink s2 = {0};
	berth_stdcopy_init(&sc, sink_write, &s2);
	rc = berth_stdcopy_feed(&sc, big.data, big.len, &err);
	TAP_OK(t, rc == 0 && s2.err.len == 200000 && s2.out.len == 0, "200000-byte stderr frame");
	berth_stdcopy_free(&sc);
	berth_buf_free(&s2.err);
	berth_buf_free(&big);
	free(payload);
}

static void test_detach_keys(struct tap *t)
{
	unsigned char k[BERTH_DETACH_KEYS_MAX];
	struct berth_error err = {0};
	int n = berth_detach_keys_parse("ctrl-p,ctrl-q", k, &err);
	TAP_OK(t, n == 2 && k[0] == 16 && k[1] == 17, "ctrl-p,ctrl-q = 16,17");
	n = berth_detach_keys_parse("ctrl-@,ctrl-a,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", k, &err);
	TAP_OK(t,
	       n == 8 && k[0] == 0 && k[1] == 1 && k[2] == 26 && k[3] == 27 && k[4] == 28 && k[5] == 29 && k[6] == 30 &&
		       k[7] == 31,
	       "all ctrl keys");
	n = berth_detach_keys_parse("a,b,,", k, &err);
	TAP_OK(t, n < 0, "empty item refused");
	n = berth_detach_keys_parse("x,ctrl-y", k, &err);
	TAP_OK(t, n == 2 && k[0] == 'x' && k[1] == 25, "single character and ctrl-y");
	n = berth_detach_keys_parse("ctrl-P", k, &err);
	TAP_OK(t, n < 0, "ctrl- keys are lower case");
	TAP_STREQ(t, err.msg, "Unknown character: 'ctrl-P'", "docker's message");
	n = berth_detach_keys_parse("abc", k, &err);
	TAP_STREQ(t, n < 0 ? err.msg : NULL, "Unknown character: 'abc'", "multi-character item");
}

static struct berth_buf filter_out;

static const char *filter(struct berth_escape *e, const char *in, int *detached)
{
	berth_buf_free(&filter_out);
	*detached = berth_escape_filter(e, in, strlen(in), &filter_out);
	return berth_buf_str(&filter_out);
}

static void test_escape(struct tap *t)
{
	struct berth_escape e;
	int d;
	berth_escape_init(&e, berth_default_detach_keys, 2);
	TAP_STREQ(t, filter(&e, "ls\r", &d), "ls\r", "plain input passes");
	TAP_OK(t, !d, "no detach");
	TAP_STREQ(t, filter(&e, "\x10", &d), "", "ctrl-p is held back");
	TAP_OK(t, !d, "not yet");
	TAP_STREQ(t, filter(&e, "\x11", &d), "", "ctrl-q completes the sequence");
	TAP_OK(t, d, "detached (separate reads)");
	berth_escape_init(&e, berth_default_detach_keys, 2);
	filter(&e, "ab\x10\x11zz", &d);
	TAP_OK(t, d, "detached (one read)");
	berth_escape_init(&e, berth_default_detach_keys, 2);
	TAP_STREQ(t, filter(&e, "\x10x", &d), "\x10x", "ctrl-p then another key: both are sent");
	TAP_STREQ(t, filter(&e, "\x10", &d), "", "held again");
	TAP_STREQ(t, filter(&e, "\x10", &d), "\x10", "ctrl-p ctrl-p: the first is released, the second held");
	TAP_STREQ(t, filter(&e, "\x11", &d), "", "then ctrl-q detaches");
	TAP_OK(t, d, "detached after a repeated ctrl-p");
	berth_escape_init(&e, NULL, 0);
	TAP_STREQ(t, filter(&e, "\x10\x11", &d), "\x10\x11", "no keys: everything passes");
	TAP_OK(t, !d, "never detaches");
	berth_buf_free(&filter_out);
}

int main(void)
{
	struct tap t = {0};
	test_stdcopy(&t);
	test_detach_keys(&t);
	test_escape(&t);
	return TAP_DONE(&t);
}
