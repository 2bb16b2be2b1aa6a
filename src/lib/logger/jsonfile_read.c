/* Reader of json-file and local files: rotated files (plain or .gz) oldest
 * first, then the live file; tail across files; since/until; follow through
 * rotations (inotify on the log directory). Entries are json-file lines, or
 * local's framed LogEntry records (proto). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "logger_internal.h"

#define MAX_LINE (16 << 20) /* a broken file must not eat memory */

struct src {
	int fd;        /* plain file, or -1 */
	gzFile gz;     /* compressed rotated file, or NULL */
	long skip;     /* lines to skip first (tail on gz) */
	bool live;     /* the current log file (follow target) */
	bool draining; /* live file was replaced: read it to its end once more */
};

struct jf_reader {
	struct berth_log_reader base;
	char *path;
	struct berth_log_read_opts o;
	struct src *srcs;
	size_t nsrc, cur;
	char rbuf[65536];
	size_t rlen, rpos;
	struct berth_buf line; /* bytes of the line being assembled */
	int ino;               /* inotify fd (follow) */
	dev_t dev;
	ino_t inode;
	bool have_live;
	bool done;
	bool proto; /* local's records, else json-file lines */
};

static void src_close(struct src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->gz)
		gzclose(s->gz);
	s->fd = -1;
	s->gz = NULL;
}

static ssize_t src_read(struct src *s, void *buf, size_t len)
{
	if (s->gz) {
		int n = gzread(s->gz, buf, (unsigned)len);
		return n < 0 ? -1 : n;
	}
	for (;;) {
		ssize_t n = read(s->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* Next complete line of the current source (without '\n'). 1 = line in
 * r->line, 0 = end of this source for now, -1 = error. */
static int next_line(struct jf_reader *r, struct src *s)
{
	for (;;) {
		if (r->rpos < r->rlen) {
			char *start = r->rbuf + r->rpos;
			char *nl = memchr(start, '\n', r->rlen - r->rpos);
			size_t take = nl ? (size_t)(nl - start) : r->rlen - r->rpos;
			if (r->line.len + take > MAX_LINE) {
				r->line.len = 0; /* drop an absurd line */
			} else {
				berth_buf_append(&r->line, start, take);
			}
			r->rpos += take + (nl ? 1 : 0);
			if (nl)
				return 1;
			continue;
		}
		ssize_t n = src_read(s, r->rbuf, sizeof(r->rbuf));
		if (n < 0)
			return -1;
		r->rpos = 0;
		r->rlen = (size_t)n;
		if (n == 0)
			return 0;
	}
}

/* Append bytes of the source to r->line until it holds want bytes: 1 done,
 * 0 end of the source for now (what was read stays in r->line), -1 error. */
static int fill(struct jf_reader *r, struct src *s, size_t want)
{
	while (r->line.len < want) {
		if (r->rpos < r->rlen) {
			size_t take = want - r->line.len;
			if (take > r->rlen - r->rpos)
				take = r->rlen - r->rpos;
			berth_buf_append(&r->line, r->rbuf + r->rpos, take);
			r->rpos += take;
			continue;
		}
		ssize_t n = src_read(s, r->rbuf, sizeof(r->rbuf));
		if (n < 0)
			return -1;
		r->rpos = 0;
		r->rlen = (size_t)n;
		if (n == 0)
			return 0;
	}
	return 1;
}

/* Next framed record ([size][LogEntry][size]) into r->line; as next_line. */
static int next_record(struct jf_reader *r, struct src *s)
{
	int n = fill(r, s, 4);
	if (n <= 0)
		return n;
	uint32_t size = berth_logproto_be32(r->line.data);
	if (size > BERTH_LOGPROTO_MAX) {
		errno = EBADMSG; /* docker: "log message is too large" */
		return -1;
	}
	n = fill(r, s, 8 + (size_t)size);
	if (n == 1 && berth_logproto_be32(r->line.data + 4 + size) != size) {
		errno = EBADMSG; /* header and footer sizes differ */
		return -1;
	}
	return n;
}

/* Where the last want records of a local file begin (walking the footers back). */
static long tail_offset_proto(int fd, long want, off_t *off)
{
	struct stat st;
	*off = 0;
	if (fstat(fd, &st) < 0)
		return 0;
	off_t pos = st.st_size;
	long found = 0;
	while (pos >= 8 && found < want) {
		unsigned char b[4];
		if (pread(fd, b, 4, pos - 4) != 4)
			break;
		uint32_t size = berth_logproto_be32(b);
		off_t start = pos - 8 - (off_t)size;
		if (start < 0 || pread(fd, b, 4, start) != 4 || berth_logproto_be32(b) != size)
			break; /* corrupt: start after it */
		pos = start;
		found++;
	}
	*off = pos;
	return found;
}

static long count_records_gz(gzFile gz)
{
	long n = 0;
	unsigned char b[4];
	while (gzread(gz, b, 4) == 4) {
		uint32_t size = berth_logproto_be32(b);
		if (size > BERTH_LOGPROTO_MAX || gzseek(gz, (z_off_t)size + 4, SEEK_CUR) < 0)
			break;
		n++;
	}
	gzrewind(gz);
	return n;
}

/* Number of complete lines in a plain file, and the byte offset where the
 * last `want` of them begin (backward scan). */
static long tail_offset(int fd, long want, off_t *off)
{
	struct stat st;
	*off = 0;
	if (fstat(fd, &st) < 0)
		return 0;
	off_t pos = st.st_size;
	char buf[65536];
	long lines = 0; /* newlines seen from the end: an unterminated last line does not count */
	while (pos > 0) {
		size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		pos -= (off_t)chunk;
		if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
			return lines;
		for (size_t i = chunk; i-- > 0;) {
			if (buf[i] == '\n' && ++lines == want + 1) {
				*off = pos + (off_t)i + 1;
				return want;
			}
		}
	}
	return lines;
}

static long count_lines_gz(gzFile gz)
{
	char buf[65536];
	long lines = 0;
	int n;
	while ((n = gzread(gz, buf, sizeof(buf))) > 0)
		for (int i = 0; i < n; i++)
			lines += buf[i] == '\n';
	gzrewind(gz);
	return lines;
}

static int cmp_rot(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return y - x; /* highest index (oldest) first */
}

static int open_live(struct jf_reader *r, struct src *s)
{
	s->fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return -1;
	struct stat st;
	fstat(s->fd, &st);
	r->dev = st.st_dev;
	r->inode = st.st_ino;
	r->have_live = true;
	return 0;
}

static int jr_next(struct berth_log_reader *base, struct berth_log_entry *e, struct berth_error *err);
static int jr_fd(struct berth_log_reader *base) { return ((struct jf_reader *)base)->ino; }

static void jr_close(struct berth_log_reader *base)
{
	struct jf_reader *r = (struct jf_reader *)base;
	for (size_t i = 0; i < r->nsrc; i++)
		src_close(&r->srcs[i]);
	free(r->srcs);
	free(r->path);
	berth_buf_free(&r->line);
	if (r->ino >= 0)
		close(r->ino);
	free(r);
}

struct berth_log_reader *berth_jsonfile_reader_open(const char *log_path, const struct berth_log_read_opts *o,
						    struct berth_error *err)
{
	return berth_logfile_reader_open(log_path, false, o, err);
}

struct berth_log_reader *berth_logfile_reader_open(const char *log_path, bool proto,
						   const struct berth_log_read_opts *o, struct berth_error *err)
{
	struct jf_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	r->base.next = jr_next;
	r->base.fd = jr_fd;
	r->base.close = jr_close;
	r->path = strdup(log_path);
	r->o = *o;
	r->ino = -1;
	r->proto = proto;

	cleanup_free char *dcopy = strdup(log_path), *bcopy = strdup(log_path);
	const char *dir = dirname(dcopy), *bn = basename(bcopy);
	if (o->follow) {
		r->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (r->ino < 0 || inotify_add_watch(r->ino, dir,
						    IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
							    IN_CLOSE_WRITE) < 0) {
			berth_err_sys(err, BERTH_E_INTERNAL, errno, "watch %s", dir);
			jr_close(&r->base);
			return NULL;
		}
	}

	/* rotated files: <base>.N and <base>.N.gz */
	int idx[1024];
	bool gz[1024] = {0};
	size_t nrot = 0;
	cleanup_dir DIR *d = opendir(dir);
	struct dirent *de;
	size_t bl = strlen(bn);
	while (d && (de = readdir(d)) && nrot < 1024) {
		if (strncmp(de->d_name, bn, bl) || de->d_name[bl] != '.')
			continue;
		char *end;
		long n = strtol(de->d_name + bl + 1, &end, 10);
		if (end == de->d_name + bl + 1 || n < 1 || n > 100000)
			continue;
		if (*end && strcmp(end, ".gz"))
			continue;
		idx[nrot] = (int)n;
		gz[nrot] = *end != '\0';
		nrot++;
	}
	/* sort by index, oldest first, keeping the gz flag */
	int pairs[1024];
	for (size_t i = 0; i < nrot; i++)
		pairs[i] = idx[i] * 2 + (gz[i] ? 1 : 0);
	qsort(pairs, nrot, sizeof(int), cmp_rot);

	r->srcs = calloc(nrot + 1, sizeof(struct src));
	for (size_t i = 0; i < nrot; i++) {
		char p[PATH_MAX];
		bool isgz = pairs[i] & 1;
		snprintf(p, sizeof(p), "%s.%d%s", log_path, pairs[i] / 2, isgz ? ".gz" : "");
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct src *s = &r->srcs[r->nsrc++];
		s->fd = -1;
		if (isgz) {
			s->gz = gzdopen(fd, "rb");
			if (!s->gz) {
				close(fd);
				r->nsrc--;
			}
		} else {
			s->fd = fd;
		}
	}
	struct src *live = &r->srcs[r->nsrc++];
	live->live = true;
	live->fd = -1;
	if (open_live(r, live) < 0 && errno != ENOENT) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", log_path);
		jr_close(&r->base);
		return NULL;
	}

	if (o->tail >= 0) {
		long need = o->tail;
		size_t first = 0;
		bool found = false;
		for (size_t i = r->nsrc; i-- > 0;) {
			struct src *s = &r->srcs[i];
			if (s->fd < 0 && !s->gz)
				continue;
			if (s->gz) {
				long c = r->proto ? count_records_gz(s->gz) : count_lines_gz(s->gz);
				if (c >= need) {
					s->skip = c - need;
					first = i;
					found = true;
					break;
				}
				need -= c;
			} else {
				off_t off;
				long c = r->proto ? tail_offset_proto(s->fd, need, &off) :
						    tail_offset(s->fd, need, &off);
				if (c >= need) {
					lseek(s->fd, off, SEEK_SET);
					first = i;
					found = true;
					break;
				}
				need -= c;
			}
		}
		if (found)
			for (size_t i = 0; i < first; i++)
				src_close(&r->srcs[i]);
		r->cur = found ? first : 0;
	}
	return &r->base;
}

static void drain_inotify(struct jf_reader *r)
{
	char buf[4096];
	while (r->ino >= 0 && read(r->ino, buf, sizeof(buf)) > 0) {
	}
}

/* Has the live file been replaced (rotation)? */
static bool rotated(struct jf_reader *r)
{
	struct stat st;
	if (stat(r->path, &st) < 0)
		return false;
	return !r->have_live || st.st_dev != r->dev || st.st_ino != r->inode;
}

static int parse_entry(struct jf_reader *r, struct berth_log_entry *e)
{
	if (r->proto) {
		int ok = berth_logproto_decode(r->line.data + 4, r->line.len - 8, e) == 0;
		r->line.len = 0;
		return ok;
	}
	json_error_t je;
	json_t *j = json_loadb(r->line.data ? r->line.data : "", r->line.len, JSON_ALLOW_NUL, &je);
	r->line.len = 0;
	if (!json_is_object(j)) {
		json_decref(j);
		return 0;
	}
	json_t *log = json_object_get(j, "log");
	const char *stream = json_string_value(json_object_get(j, "stream"));
	const char *t = json_string_value(json_object_get(j, "time"));
	int64_t ts = 0;
	if (!t || berth_time_parse(t, &ts) < 0) {
		json_decref(j);
		return 0;
	}
	memset(e, 0, sizeof(*e));
	e->stream = stream && !strcmp(stream, "stderr") ? BERTH_LOG_STDERR : BERTH_LOG_STDOUT;
	e->ts_ns = ts;
	size_t len = json_is_string(log) ? json_string_length(log) : 0;
	e->line = malloc(len + 1);
	if (len)
		memcpy(e->line, json_string_value(log), len);
	e->line[len] = '\0';
	e->len = len;
	e->partial = !len || e->line[len - 1] != '\n';
	json_t *attrs = json_object_get(j, "attrs");
	if (json_is_object(attrs))
		e->attrs = json_incref(attrs);
	json_decref(j);
	return 1;
}

static int jr_next(struct berth_log_reader *base, struct berth_log_entry *e, struct berth_error *err)
{
	struct jf_reader *r = (struct jf_reader *)base;
	if (r->done)
		return BERTH_LOG_EOF;
	drain_inotify(r);
	while (r->cur < r->nsrc) {
		struct src *s = &r->srcs[r->cur];
		if (s->fd < 0 && !s->gz) {
			if (!s->live) {
				r->cur++;
				continue;
			}
			/* live file not there yet */
			if (!r->o.follow)
				return BERTH_LOG_EOF;
			if (open_live(r, s) < 0)
				return BERTH_LOG_AGAIN;
		}
		int n = r->proto ? next_record(r, s) : next_line(r, s);
		if (n < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "read %s", r->path);
		if (n == 1) {
			if (s->skip > 0) {
				s->skip--;
				r->line.len = 0;
				continue;
			}
			if (!parse_entry(r, e))
				continue;
			if (r->o.until_ns && e->ts_ns > r->o.until_ns) {
				berth_log_entry_clear(e);
				r->done = true;
				return BERTH_LOG_EOF;
			}
			if (r->o.since_ns && e->ts_ns < r->o.since_ns) {
				berth_log_entry_clear(e);
				continue;
			}
			return BERTH_LOG_ENTRY;
		}
		/* end of this source for now */
		if (!s->live) {
			r->line.len = 0;
			src_close(s);
			r->cur++;
			continue;
		}
		if (!r->o.follow)
			return BERTH_LOG_EOF;
		if (s->draining || rotated(r)) {
			/* the writer moved on: read the old file to its end once more
			 * (it may have written between our last read and the rename) */
			if (!s->draining) {
				s->draining = true;
				continue;
			}
			s->draining = false;
			src_close(s);
			r->line.len = 0;
			if (open_live(r, s) < 0)
				return BERTH_LOG_AGAIN;
			continue;
		}
		return BERTH_LOG_AGAIN;
	}
	return BERTH_LOG_EOF;
}
