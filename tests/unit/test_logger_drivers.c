/* Log drivers: docker's option validation messages, delivery through the
 * delivery thread (syslog over UDP, gelf chunks), the dual-logging cache
 * and the read rules. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "logger/logger.h"
#include "tap.h"

static struct tap T;

static void expect_err(const char *driver, const char *opts, const char *want)
{
	cleanup_json json_t *o = json_loads(opts, 0, NULL);
	struct berth_error err = {0};
	int rc = berth_log_opts_validate(driver, o, &err);
	TAP_OK(&T, rc < 0 && strstr(err.msg, want), "%s %s: \"%s\" (got \"%s\")", driver, opts, want,
	       rc < 0 ? err.msg : "ok");
}

static void expect_ok(const char *driver, const char *opts)
{
	cleanup_json json_t *o = json_loads(opts, 0, NULL);
	struct berth_error err = {0};
	int rc = berth_log_opts_validate(driver, o, &err);
	TAP_OK(&T, rc == 0, "%s %s accepted (%s)", driver, opts, rc ? err.msg : "");
}

static int udp_listen(int *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return fd;
}

static ssize_t recv_wait(int fd, char *buf, size_t n)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 30000) <= 0)
		return -1;
	return recv(fd, buf, n, 0);
}

static void test_validation(void)
{
	expect_err("syslog", "{\"foo\":\"1\"}", "unknown log opt 'foo' for syslog log driver");
	expect_err("syslog", "{\"syslog-address\":\"ftp://x\"}", "unsupported scheme: 'ftp'");
	expect_err("syslog", "{\"syslog-format\":\"xml\"}", "Invalid syslog format");
	expect_err("syslog", "{\"syslog-facility\":\"nope\"}", "invalid syslog facility");
	expect_ok("syslog", "{\"syslog-address\":\"udp://127.0.0.1:514\",\"syslog-facility\":\"local7\","
			    "\"syslog-format\":\"rfc5424micro\",\"tag\":\"{{.Name}}\",\"mode\":\"non-blocking\"}");
	expect_err("gelf", "{}", "gelf-address is a required parameter");
	expect_err("gelf", "{\"gelf-address\":\"http://x:1\"}", "gelf: endpoint needs to be TCP or UDP");
	expect_err("gelf", "{\"gelf-address\":\"udp://x:1\",\"gelf-compression-type\":\"lz4\"}",
		   "Unknown gelf compression type");
	expect_err("journald", "{\"x\":\"1\"}", "unknown log opt 'x' for journald log driver");
	expect_ok("journald", "{\"labels\":\"a\",\"env\":\"B\",\"tag\":\"t\"}");
	expect_err("fluentd", "{\"fluentd-retry-wait\":\"abc\"}", "time: invalid duration");
	expect_ok("fluentd", "{\"fluentd-address\":\"tcp://127.0.0.1:24224\",\"fluentd-async\":\"true\"}");
	expect_err("awslogs", "{}", "must specify a value for log opt 'awslogs-group'");
	expect_err(
		"awslogs",
		"{\"awslogs-group\":\"g\",\"awslogs-datetime-format\":\"%Y\",\"awslogs-multiline-pattern\":\"x\"}",
		"you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time");
	expect_err("awslogs", "{\"awslogs-group\":\"g\",\"bogus\":\"1\"}",
		   "unknown log opt 'bogus' for awslogs log driver");
	expect_err("local", "{\"x\":\"1\"}", "unknown log opt 'x' for log driver local");
	expect_err("json-file", "{\"mode\":\"fast\"}", "logger: logging mode not supported: fast");
	expect_err("json-file", "{\"max-buffer-size\":\"1m\"}",
		   "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
	expect_err("syslog", "{\"cache-disabled\":\"maybe\"}", "invalid value for option cache-disabled: maybe");
	expect_ok("none", "{\"anything\":\"goes\"}");
	cleanup_json json_t *cd = json_loads("{\"cache-disabled\":\"true\"}", 0, NULL);
	TAP_OK(&T, !berth_log_can_read("syslog", cd), "cache-disabled: no reading");
	TAP_OK(&T, berth_log_can_read("syslog", NULL), "syslog: read through the cache");
	TAP_OK(&T, !berth_log_can_read("none", NULL), "none: no reading");
	TAP_OK(&T, berth_log_can_read("local", cd), "local reads its own files");
}

static void test_syslog_delivery(const char *dir)
{
	int port;
	int fd = udp_listen(&port);
	char opts[256];
	snprintf(
		opts, sizeof(opts),
		"{\"syslog-address\":\"udp://127.0.0.1:%d\",\"syslog-format\":\"rfc5424\",\"syslog-facility\":\"local0\","
		"\"tag\":\"{{.Name}}\"}",
		port);
	cleanup_json json_t *o = json_loads(opts, 0, NULL);
	cleanup_free char *cache = berth_log_file_path(dir, "syslog", NULL);
	struct berth_log_info info = {
		.container_id = "0123456789abcdef0123456789abcdef", .container_name = "/web", .opts = o};
	struct berth_error err = {0};
	struct berth_logger *l = berth_logger_open_delivery("syslog", &info, cache, NULL, NULL, &err);
	TAP_OK(&T, l != NULL, "open syslog delivery (%s)", err.msg);
	if (!l) {
		close(fd);
		return;
	}
	struct berth_log_copier c;
	berth_log_copier_init(&c, BERTH_LOG_STDOUT);
	berth_log_copier_feed(&c, "alpha\nbeta\n", 11, l, 0);
	berth_log_copier_init(&c, BERTH_LOG_STDERR);
	berth_log_copier_feed(&c, "gamma\n", 6, l, 0);
	char buf[2048];
	const char *want[] = {"alpha", "beta", "gamma"};
	for (int i = 0; i < 3; i++) {
		ssize_t n = recv_wait(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		int pri = i == 2 ? 16 * 8 + 3 : 16 * 8 + 6;
		char head[16], tail[64];
		snprintf(head, sizeof(head), "<%d>1 ", pri);
		snprintf(tail, sizeof(tail), " web - %s\n", want[i]);
		TAP_OK(&T, n > 0 && !strncmp(buf, head, strlen(head)) && strstr(buf, tail), "datagram %d: %s", i, buf);
	}
	berth_logger_close(l);
	close(fd);
	/* the dual-logging cache has the three lines */
	struct berth_log_read_opts ro = {.tail = -1};
	struct berth_log_reader *r = berth_log_reader_open_cfg("syslog", o, cache, &ro, &err);
	TAP_OK(&T, r != NULL, "cache reader (%s)", err.msg);
	int n = 0;
	struct berth_log_entry e = {0};
	while (r && berth_log_reader_next(r, &e, &err) == BERTH_LOG_ENTRY) {
		if (n < 3)
			TAP_OK(&T, e.len == strlen(want[n]) + 1 && !memcmp(e.line, want[n], e.len - 1), "cache line %d",
			       n);
		n++;
		berth_log_entry_clear(&e);
	}
	berth_log_reader_close(r);
	TAP_OK(&T, n == 3, "cache has 3 entries (%d)", n);
}

static void test_gelf_chunks(void)
{
	int port;
	int fd = udp_listen(&port);
	char opts[128];
	snprintf(opts, sizeof(opts), "{\"gelf-address\":\"udp://127.0.0.1:%d\",\"gelf-compression-type\":\"none\"}",
		 port);
	cleanup_json json_t *o = json_loads(opts, 0, NULL);
	struct berth_log_info info = {.container_id = "0123456789abcdef", .container_name = "/g", .opts = o};
	struct berth_error err = {0};
	struct berth_logger *l = berth_logger_open_delivery("gelf", &info, NULL, NULL, NULL, &err);
	TAP_OK(&T, l != NULL, "open gelf delivery (%s)", err.msg);
	if (!l) {
		close(fd);
		return;
	}
	char line[5000];
	memset(line, 'x', sizeof(line));
	struct berth_log_msg m = {.stream = BERTH_LOG_STDOUT, .line = line, .len = sizeof(line), .ts_ns = 1};
	berth_logger_log(l, &m, &err);
	char buf[2048];
	ssize_t n = recv_wait(fd, buf, sizeof(buf));
	TAP_OK(&T,
	       n == 1420 && (unsigned char)buf[0] == 0x1e && (unsigned char)buf[1] == 0x0f && buf[10] == 0 &&
		       buf[11] >= 4,
	       "first chunk: 1420 bytes, magic, index 0, count %d", n > 11 ? buf[11] : -1);
	berth_logger_close(l);
	close(fd);
}

struct warns {
	int retried, dropped;
};
static void count_warn(void *ctx, const char *msg)
{
	struct warns *w = ctx;
	w->retried += strstr(msg, "(retrying)") != NULL;
	w->dropped += strstr(msg, "dropped after 2 retries") != NULL;
}

/* fluentd-max-retries / fluentd-retry-wait take effect: with nothing
 * listening, each message is tried 1 + 2 times and then dropped (without
 * the limit none would be dropped: close gives up on the queue instead). */
static void test_fluentd_retries(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd); /* a port nothing listens on */
	char opts[256];
	snprintf(opts, sizeof(opts),
		 "{\"fluentd-address\":\"127.0.0.1:%d\",\"fluentd-max-retries\":\"2\",\"fluentd-retry-wait\":\"10ms\"}",
		 ntohs(sa.sin_port));
	cleanup_json json_t *o = json_loads(opts, 0, NULL);
	struct berth_log_info info = {.container_id = "abc", .container_name = "/n", .opts = o};
	struct warns w = {0};
	struct berth_error err = {0};
	struct berth_logger *l = berth_logger_open_delivery("fluentd", &info, NULL, count_warn, &w, &err);
	TAP_OK(&T, l != NULL, "open fluentd delivery (%s)", err.msg);
	if (!l)
		return;
	for (int i = 0; i < 3; i++) {
		struct berth_log_msg m = {.stream = BERTH_LOG_STDOUT, .line = "x", .len = 1, .ts_ns = 1};
		berth_logger_log(l, &m, &err);
	}
	berth_logger_close(l);
	TAP_OK(&T, w.dropped == 3, "each message dropped after 2 retries (%d)", w.dropped);
	TAP_OK(&T, w.retried == 6, "two retries each (%d)", w.retried);
}

int main(void)
{
	char dir[] = "/tmp/berth-logdrv.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	test_validation();
	test_syslog_delivery(dir);
	test_gelf_chunks();
	test_fluentd_retries();
	struct berth_error e;
	berth_rm_rf(dir, &e);
	return TAP_DONE(&T);
}
