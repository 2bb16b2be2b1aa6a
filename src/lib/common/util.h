/* Small helpers shared by every module: growable buffers, strings, files,
 * times and ids. No global state. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

struct berth_buf {
	char *data;
	size_t len, cap;
};
int berth_buf_append(struct berth_buf *b, const void *data, size_t len);
int berth_buf_printf(struct berth_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int berth_buf_putc(struct berth_buf *b, char c);
/* NUL-terminated contents (empty string when nothing was appended). */
const char *berth_buf_str(struct berth_buf *b);
void berth_buf_free(struct berth_buf *b);
/* Take ownership of the data; buffer is reset. */
char *berth_buf_steal(struct berth_buf *b);

char *berth_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool berth_str_has_prefix(const char *s, const char *prefix);
bool berth_str_has_suffix(const char *s, const char *suffix);
/* NULL-terminated string vectors. */
size_t berth_strv_len(char *const *v);
void berth_strv_free(char **v);
int berth_strv_push(char ***v, const char *s);

/* Files. Paths are trusted (daemon-built) here; untrusted paths go through
 * the fs helpers in fs.h. */
int berth_mkdir_p(const char *path, mode_t mode, struct berth_error *err);
int berth_rm_rf(const char *path, struct berth_error *err);
int berth_read_file(const char *path, char **out, size_t *len, size_t max, struct berth_error *err);
/* The same for an open fd (read to its end); path only names it in errors. */
int berth_read_fd(int fd, const char *path, char **out, size_t *len, size_t max, struct berth_error *err);
/* A thread about to end gives back the pages of its stack below its current
 * frame: glibc keeps an ended thread's stack for the next one (up to 40 MiB
 * of them) with 16 KiB below the exit frame still resident; with a burst of
 * connections that was ~20 KiB per cached stack. Never from the main thread. */
void berth_thread_stack_release(void);
/* The value of hex digit c (either case), -1 when it is none. */
int berth_hexval(int c);
/* Percent-decode s[0..n) into out (n + 1 bytes): %XX becomes its byte, a
 * '%' without two hex digits after it stays as it is, '+' becomes a space
 * when plus_space (query strings). out is NUL-terminated; returns the
 * decoded length (the result may hold NUL bytes). */
size_t berth_percent_decode(const char *s, size_t n, bool plus_space, char *out);
/* write temp + fsync + rename */
int berth_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct berth_error *err);
/* The same without the fsync (readers see the old or the new content, never
 * a part): files that do not outlive the host's run or are written again at
 * each start (the exec root's state files, a container's hosts files). */
int berth_write_file_replace(const char *path, const void *data, size_t len, mode_t mode, struct berth_error *err);
int berth_write_all(int fd, const void *data, size_t len);
ssize_t berth_read_all(int fd, void *buf, size_t len);
/* Total bytes used by regular files below path (st_blocks ignored: apparent size). */
int64_t berth_dir_size(const char *path);
/* docker's units.RAMInBytes: "10M", "10mb", "1.5g", "2048" (1024-based). 0 ok, -1 bad. */
int berth_parse_ram_bytes(const char *s, uint64_t *out);
/* docker's units.HumanSize: "35.84kB", "10.49MB", "0B" (decimal, 4 significant digits). */
void berth_size_human(double n, char *out, size_t len);

/* Times. */
int64_t berth_now_ns(void);
/* RFC3339 with nanoseconds, UTC, as docker prints ("2024-01-01T00:00:00.123456789Z"). */
void berth_time_rfc3339(int64_t ns, char *out, size_t outlen);
/* Parses RFC3339(Nano) or a unix timestamp "123[.456]". Returns 0 on success. */
int berth_time_parse(const char *s, int64_t *ns);

/* 64 lowercase hex chars of randomness (container/exec ids). */
void berth_random_id(char out[65]);
bool berth_is_hex(const char *s, size_t n);

/* A pull stream: read returns bytes read, 0 at end, -1 on error (errno set). */
struct berth_reader {
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	void *ctx;
};
/* A push stream: write returns 0 or -1. */
struct berth_writer {
	int (*write)(void *ctx, const void *buf, size_t len);
	void *ctx;
};
/* Reader/writer over a file descriptor (ctx is the fd cast through intptr_t). */
struct berth_reader berth_reader_fd(int fd);
/* A reader over bytes in memory (m holds the position; it must outlive the reader). */
struct berth_mem_src {
	const char *p;
	size_t len, off;
};
struct berth_reader berth_reader_mem(struct berth_mem_src *m, const void *p, size_t len);
struct berth_writer berth_writer_fd(int fd);
/* pthread_cond_timedwait for at most ms milliseconds (CLOCK_REALTIME); returns its result. */
int berth_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, long ms);
/* The time ms milliseconds from now on clock: a pthread_cond_timedwait
 * deadline that spurious wakeups do not move. */
struct timespec berth_deadline_ms(clockid_t clock, long ms);
/* A condition variable whose timed waits read CLOCK_MONOTONIC (deadlines
 * from berth_deadline_ms(CLOCK_MONOTONIC, ...)), not the settable clock. */
void berth_cond_init_monotonic(pthread_cond_t *cond);
