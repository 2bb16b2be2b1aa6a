#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static int buf_reserve(struct berth_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + extra + 1)
		ncap *= 2;
	char *n = realloc(b->data, ncap);
	if (!n)
		return -1;
	b->data = n;
	b->cap = ncap;
	return 0;
}

int berth_buf_append(struct berth_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int berth_buf_putc(struct berth_buf *b, char c) { return berth_buf_append(b, &c, 1); }

int berth_buf_printf(struct berth_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *berth_buf_str(struct berth_buf *b) { return b->data ? b->data : ""; }

void berth_buf_free(struct berth_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *berth_buf_steal(struct berth_buf *b)
{
	char *d = b->data ? b->data : strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

char *berth_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

bool berth_str_has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

bool berth_str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

size_t berth_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void berth_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int berth_strv_push(char ***v, const char *s)
{
	size_t n = berth_strv_len(*v);
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv)
		return -1;
	*v = nv;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	return nv[n] ? 0 : -1;
}

int berth_mkdir_p(const char *path, mode_t mode, struct berth_error *err)
{
	cleanup_free char *p = strdup(path);
	if (!p)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "mkdir %s", p);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	return (r < 0 && errno != ENOENT) ? -1 : 0;
}

int berth_rm_rf(const char *path, struct berth_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : berth_err_sys(err, BERTH_E_INTERNAL, errno, "stat %s", path);
	if (nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "remove %s", path);
	return 0;
}

ssize_t berth_read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int berth_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int berth_read_file(const char *path, char **out, size_t *len, size_t max, struct berth_error *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno, "open %s",
				     path);
	return berth_read_fd(fd, path, out, len, max, err);
}

int berth_read_fd(int fd, const char *path, char **out, size_t *len, size_t max, struct berth_error *err)
{
	struct berth_buf b = {0};
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			berth_buf_free(&b);
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "read %s", path);
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			berth_buf_free(&b);
			return berth_err(err, BERTH_E_INVALID, "%s: file too large", path);
		}
		berth_buf_append(&b, tmp, (size_t)n);
	}
	if (len)
		*len = b.len;
	*out = berth_buf_steal(&b);
	return 0;
}

static int write_replace(const char *path, const void *data, size_t len, mode_t mode, bool sync,
			 struct berth_error *err)
{
	cleanup_free char *tmp = berth_strdup_printf("%s.tmp-%d", path, getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", tmp);
	if (berth_write_all(fd, data, len) < 0 || (sync && fsync(fd) < 0)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return berth_err_sys(err, BERTH_E_INTERNAL, e, "write %s", tmp);
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return berth_err_sys(err, BERTH_E_INTERNAL, e, "rename %s", path);
	}
	return 0;
}

int berth_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct berth_error *err)
{
	return write_replace(path, data, len, mode, true, err);
}

int berth_write_file_replace(const char *path, const void *data, size_t len, mode_t mode, struct berth_error *err)
{
	return write_replace(path, data, len, mode, false, err);
}

static int64_t dir_size_at(int dfd)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	int64_t total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				total += dir_size_at(sub);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			total += st.st_size;
		}
	}
	closedir(d);
	return total;
}

int64_t berth_dir_size(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? 0 : dir_size_at(fd);
}

int64_t berth_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void berth_time_rfc3339(int64_t ns, char *out, size_t outlen)
{
	time_t s = (time_t)(ns / 1000000000LL);
	long frac = (long)(ns % 1000000000LL);
	if (frac < 0) {
		frac += 1000000000L;
		s--;
	}
	struct tm tm;
	gmtime_r(&s, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac)
		snprintf(out, outlen, "%s.%09ldZ", base, frac);
	else
		snprintf(out, outlen, "%sZ", base);
}

int berth_time_parse(const char *s, int64_t *ns)
{
	if (!s || !*s)
		return -1;
	char *end;
	/* unix seconds with optional fraction */
	errno = 0;
	long long secs = strtoll(s, &end, 10);
	if (!errno && end != s && (*end == '\0' || *end == '.')) {
		int64_t frac = 0;
		if (*end == '.') {
			const char *f = end + 1;
			int digits = 0;
			while (*f >= '0' && *f <= '9') {
				if (digits < 9) {
					frac = frac * 10 + (*f - '0');
					digits++;
				}
				f++;
			}
			if (*f)
				goto rfc;
			while (digits++ < 9)
				frac *= 10;
		}
		*ns = (int64_t)secs * 1000000000LL + frac;
		return 0;
	}
rfc:;
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%d", &tm);
		if (!p)
			return -1;
	}
	int64_t frac = 0;
	if (*p == '.') {
		p++;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 9)
			frac *= 10;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) < 1)
			return -1;
		off = sign * (hh * 3600 + mm * 60);
		p += strlen(p);
	}
	if (*p)
		return -1;
	time_t t = timegm(&tm) - off;
	*ns = (int64_t)t * 1000000000LL + frac;
	return 0;
}

void berth_random_id(char out[65])
{
	unsigned char raw[32];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	for (int i = 0; i < 32; i++)
		sprintf(out + i * 2, "%02x", raw[i]);
	out[64] = '\0';
}

bool berth_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read((int)(intptr_t)ctx, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

static int fd_write(void *ctx, const void *buf, size_t len) { return berth_write_all((int)(intptr_t)ctx, buf, len); }

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
	struct berth_mem_src *m = ctx;
	size_t n = m->len - m->off < len ? m->len - m->off : len;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

struct berth_reader berth_reader_mem(struct berth_mem_src *m, const void *p, size_t len)
{
	*m = (struct berth_mem_src){.p = p, .len = len};
	return (struct berth_reader){mem_read, m};
}

struct berth_reader berth_reader_fd(int fd) { return (struct berth_reader){fd_read, (void *)(intptr_t)fd}; }
struct berth_writer berth_writer_fd(int fd) { return (struct berth_writer){fd_write, (void *)(intptr_t)fd}; }

struct timespec berth_deadline_ms(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

void berth_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

int berth_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, long ms)
{
	struct timespec ts = berth_deadline_ms(CLOCK_REALTIME, ms);
	return pthread_cond_timedwait(cond, mu, &ts);
}

int berth_parse_ram_bytes(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	double mult = 1;
	switch (*end) {
	case 'k':
	case 'K':
		mult = 1024.0;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1024.0 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1024.0 * 1024 * 1024;
		end++;
		break;
	case 't':
	case 'T':
		mult = 1024.0 * 1024 * 1024 * 1024;
		end++;
		break;
	case 'p':
	case 'P':
		mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
		end++;
		break;
	default: break;
	}
	if (mult > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	*out = (uint64_t)(v * mult);
	return 0;
}

void berth_size_human(double n, char *out, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
	size_t i = 0;
	while (n >= 1000.0 && i < sizeof(units) / sizeof(units[0]) - 1) {
		n /= 1000.0;
		i++;
	}
	snprintf(out, len, "%.4g%s", n, units[i]);
}

void berth_thread_stack_release(void)
{
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	void *lo = NULL;
	size_t size = 0;
	int r = pthread_attr_getstack(&a, &lo, &size);
	pthread_attr_destroy(&a);
	if (r != 0 || !lo)
		return;
	/* what the rest of the thread's exit runs on stays mapped: 4 KiB */
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = ((uintptr_t)lo + pg - 1) & ~(pg - 1);
	uintptr_t to = (sp - 4096) & ~(pg - 1);
	if (sp > (uintptr_t)lo + 4096 && to > from && sp <= (uintptr_t)lo + size)
		madvise((void *)from, to - from, MADV_DONTNEED);
}

int berth_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t berth_percent_decode(const char *s, size_t n, bool plus_space, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int hi = s[i] == '%' && i + 2 < n ? berth_hexval((unsigned char)s[i + 1]) : -1;
		int lo = hi >= 0 ? berth_hexval((unsigned char)s[i + 2]) : -1;
		if (hi >= 0 && lo >= 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = plus_space && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = '\0';
	return o;
}
