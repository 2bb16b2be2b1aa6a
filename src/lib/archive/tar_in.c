/* Native streaming tar reader (see tar_in.h). Written from the formats'
 * descriptions (POSIX pax, GNU tar's manual); behaviour follows Go's
 * archive/tar, and libarchive where berth relied on it before. */
#include "archive/tar_in.h"

#include "common/base64.h"
#include "common/cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "archive/ustar.h"

#define BUF_SIZE 65536

struct berth_tarin {
	struct berth_reader *in;
	unsigned char *buf;
	size_t pos, len;
	bool eof, done;
	uint64_t consumed; /* stream offset of buf[pos] */
	struct berth_tarin_entry e;
	uint64_t remain;  /* stored data bytes of the current entry not read yet */
	uint64_t pad;     /* padding after them */
	size_t seg;       /* sparse: current segment */
	int64_t seg_done; /* sparse: bytes of it read */
	int64_t lpos;     /* berth_tarin_read: logical position */
};

/* pax / GNU state of the headers before an entry */
struct pending {
	char *path, *linkpath, *sparse_name, *sparse_map;
	bool has_size, has_uid, has_gid, has_mtime, has_atime, has_major, has_minor, has_realsize;
	int64_t size, uid, gid, major, minor, realsize;
	struct timespec mtime, atime;
	int sparse_major, sparse_minor; /* -1: no GNU.sparse.major/minor */
	struct berth_tarin_xattr *xattrs;
	size_t nxattrs;
	struct berth_tarin_sparse *sp; /* pax 0.0 offset/numbytes pairs */
	size_t nsp;
	bool sp_half; /* an offset waits for its numbytes */
	bool any;     /* a pax or long-name header was read */
};

struct berth_tarin *berth_tarin_new(struct berth_reader *in)
{
	struct berth_tarin *t = calloc(1, sizeof(*t));
	if (!t || !(t->buf = malloc(BUF_SIZE))) {
		free(t);
		return NULL;
	}
	t->in = in;
	return t;
}

static void free_xattrs(struct berth_tarin_xattr *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(x[i].key);
		free(x[i].val);
	}
	free(x);
}

static void entry_clear(struct berth_tarin_entry *e)
{
	free(e->path);
	free(e->linkname);
	free_xattrs(e->xattrs, e->nxattrs);
	free(e->sparse);
	memset(e, 0, sizeof(*e));
}

static void pending_clear(struct pending *p)
{
	free(p->path);
	free(p->linkpath);
	free(p->sparse_name);
	free(p->sparse_map);
	free_xattrs(p->xattrs, p->nxattrs);
	free(p->sp);
	memset(p, 0, sizeof(*p));
	p->sparse_major = p->sparse_minor = -1;
}

void berth_tarin_free(struct berth_tarin *t)
{
	if (!t)
		return;
	entry_clear(&t->e);
	free(t->buf);
	free(t);
}

uint64_t berth_tarin_offset(const struct berth_tarin *t) { return t->consumed; }

static int bad(struct berth_error *err, const char *what) { return berth_err(err, BERTH_E_INVALID, "%s", what); }

/* At least min(want, BUF_SIZE) bytes buffered unless the stream ends first;
 * returns what is buffered, -1 on a read error. */
static ssize_t fill(struct berth_tarin *t, size_t want, struct berth_error *err)
{
	if (want > BUF_SIZE)
		want = BUF_SIZE;
	if (t->len - t->pos >= want)
		return (ssize_t)(t->len - t->pos);
	if (t->pos) {
		memmove(t->buf, t->buf + t->pos, t->len - t->pos);
		t->len -= t->pos;
		t->pos = 0;
	}
	while (t->len < want && !t->eof) {
		ssize_t n = t->in->read(t->in->ctx, t->buf + t->len, BUF_SIZE - t->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(err, BERTH_E_INVALID, errno ? errno : EIO, "read");
		if (n == 0)
			t->eof = true;
		t->len += (size_t)n;
	}
	return (ssize_t)t->len;
}

static void take(struct berth_tarin *t, size_t n)
{
	t->pos += n;
	t->consumed += n;
}

static int skip(struct berth_tarin *t, uint64_t n, struct berth_error *err)
{
	while (n) {
		ssize_t have = fill(t, 1, err);
		if (have < 0)
			return -1;
		if (have == 0)
			return bad(err, "unexpected EOF");
		size_t k = (uint64_t)have < n ? (size_t)have : (size_t)n;
		take(t, k);
		n -= k;
	}
	return 0;
}

/* n bytes (n <= 1 MiB, the caller's bound) into a new NUL-terminated buffer */
static char *read_special(struct berth_tarin *t, uint64_t n, struct berth_error *err)
{
	char *s = malloc((size_t)n + 1);
	if (!s) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t have = fill(t, 1, err);
		if (have <= 0) {
			free(s);
			if (have == 0)
				bad(err, "unexpected EOF");
			return NULL;
		}
		size_t k = (uint64_t)have < n - got ? (size_t)have : (size_t)(n - got);
		memcpy(s + got, t->buf + t->pos, k);
		take(t, k);
		got += k;
	}
	s[n] = 0;
	return s;
}

static uint64_t padding(uint64_t n) { return (512 - n % 512) % 512; }

static bool zero_block(const unsigned char *h)
{
	for (size_t i = 0; i < 512; i++)
		if (h[i])
			return false;
	return true;
}

/* ---- pax records ---- */

/* a decimal (optionally negative) number taking the whole of s[0..n) */
static bool parse_dec(const char *s, size_t n, int64_t *v)
{
	bool neg = n && s[0] == '-';
	size_t i = neg ? 1 : 0;
	if (i == n)
		return false;
	uint64_t r = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || r > (uint64_t)INT64_MAX / 10)
			return false;
		r = r * 10 + (uint64_t)(s[i] - '0');
		if (r > (uint64_t)INT64_MAX)
			return false;
	}
	*v = neg ? -(int64_t)r : (int64_t)r;
	return true;
}

/* "secs[.frac]" as pax writes times (secs may be negative) */
static bool parse_time(const char *s, size_t n, struct timespec *ts)
{
	const char *dot = memchr(s, '.', n);
	size_t il = dot ? (size_t)(dot - s) : n;
	int64_t sec;
	if (!parse_dec(s, il, &sec))
		return false;
	long ns = 0;
	if (dot) {
		size_t fl = n - il - 1;
		for (size_t i = 0; i < fl; i++) {
			char c = dot[1 + i];
			if (c < '0' || c > '9')
				return false;
			if (i < 9)
				ns = ns * 10 + (c - '0');
		}
		for (size_t i = fl; i < 9; i++)
			ns *= 10;
	}
	if (s[0] == '-' && ns) { /* -1.5 is 1.5 s before the epoch */
		sec -= 1;
		ns = 1000000000L - ns;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = ns;
	return true;
}

static int add_xattr(struct pending *p, const char *key, size_t klen, const void *val, size_t vlen,
		     struct berth_error *err)
{
	if (p->nxattrs >= 4096)
		return bad(err, "invalid pax header: too many xattrs");
	struct berth_tarin_xattr *nx = realloc(p->xattrs, (p->nxattrs + 1) * sizeof(*nx));
	if (!nx)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	p->xattrs = nx;
	char *k = strndup(key, klen), *v = malloc(vlen + 1);
	if (!k || !v) {
		free(k);
		free(v);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	memcpy(v, val, vlen);
	v[vlen] = 0;
	p->xattrs[p->nxattrs++] = (struct berth_tarin_xattr){.key = k, .val = v, .len = vlen};
	return 0;
}

/* LIBARCHIVE.xattr.<url-encoded key>=<base64 value> */
static int libarchive_xattr(struct pending *p, const char *k, size_t kl, const char *v, size_t vl,
			    struct berth_error *err)
{
	cleanup_free char *key = malloc(kl + 1);
	if (!key)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	size_t o = berth_percent_decode(k, kl, false, key), vo = 0;
	cleanup_free char *val = berth_base64_decode_n(v, vl, &vo);
	if (!val)
		return errno == EINVAL ? bad(err, "invalid pax header: bad LIBARCHIVE.xattr value") :
					 berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return add_xattr(p, key, o, val, vo, err);
}

/* GNU.sparse.map: "off,len,off,len,..." */
static int sparse_map_list(const char *s, struct berth_tarin_sparse **out, size_t *n, struct berth_error *err)
{
	size_t count = 1;
	for (const char *c = s; *c; c++)
		count += *c == ',';
	if (!*s)
		count = 0;
	if (count % 2 || count / 2 > BERTH_TARIN_MAX_SPARSE)
		return bad(err, "invalid GNU sparse map");
	struct berth_tarin_sparse *v = calloc(count / 2 + 1, sizeof(*v));
	if (!v)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	const char *c = s;
	for (size_t i = 0; i < count; i++) {
		const char *e = strchr(c, ',');
		size_t l = e ? (size_t)(e - c) : strlen(c);
		int64_t x;
		if (!parse_dec(c, l, &x) || x < 0) {
			free(v);
			return bad(err, "invalid GNU sparse map");
		}
		if (i % 2)
			v[i / 2].len = x;
		else
			v[i / 2].off = x;
		c += l + (e ? 1 : 0);
	}
	*out = v;
	*n = count / 2;
	return 0;
}

static int set_str(char **dst, const char *v, size_t n, struct berth_error *err)
{
	free(*dst);
	*dst = strndup(v, n);
	return *dst ? 0 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
}

static int pax_record(struct pending *p, const char *k, size_t kl, const char *v, size_t vl, struct berth_error *err)
{
#define KEY(s) (kl == sizeof(s) - 1 && !memcmp(k, s, kl))
	int64_t x;
	if (KEY("path"))
		return set_str(&p->path, v, vl, err);
	if (KEY("linkpath"))
		return set_str(&p->linkpath, v, vl, err);
	if (KEY("size") || KEY("uid") || KEY("gid") || KEY("SCHILY.devmajor") || KEY("SCHILY.devminor") ||
	    KEY("GNU.sparse.size") || KEY("GNU.sparse.realsize") || KEY("GNU.sparse.offset") ||
	    KEY("GNU.sparse.numbytes") || KEY("GNU.sparse.major") || KEY("GNU.sparse.minor")) {
		if (!parse_dec(v, vl, &x) || x < 0)
			return berth_err(err, BERTH_E_INVALID, "invalid pax header: bad %.*s", (int)kl, k);
		if (KEY("size"))
			p->has_size = true, p->size = x;
		else if (KEY("uid"))
			p->has_uid = true, p->uid = x;
		else if (KEY("gid"))
			p->has_gid = true, p->gid = x;
		else if (KEY("SCHILY.devmajor"))
			p->has_major = true, p->major = x;
		else if (KEY("SCHILY.devminor"))
			p->has_minor = true, p->minor = x;
		else if (KEY("GNU.sparse.size") || KEY("GNU.sparse.realsize"))
			p->has_realsize = true, p->realsize = x;
		else if (KEY("GNU.sparse.major"))
			p->sparse_major = x > 9 ? 9 : (int)x;
		else if (KEY("GNU.sparse.minor"))
			p->sparse_minor = x > 9 ? 9 : (int)x;
		else { /* 0.0: offset then numbytes, repeated */
			bool off = KEY("GNU.sparse.offset");
			if (off == p->sp_half || p->nsp >= BERTH_TARIN_MAX_SPARSE)
				return bad(err, "invalid GNU sparse map");
			if (off) {
				struct berth_tarin_sparse *n = realloc(p->sp, (p->nsp + 1) * sizeof(*n));
				if (!n)
					return berth_err(err, BERTH_E_INTERNAL, "out of memory");
				p->sp = n;
				p->sp[p->nsp] = (struct berth_tarin_sparse){.off = x};
			} else
				p->sp[p->nsp++].len = x;
			p->sp_half = off;
		}
		return 0;
	}
	if (KEY("mtime") || KEY("atime")) {
		struct timespec ts;
		if (!parse_time(v, vl, &ts))
			return berth_err(err, BERTH_E_INVALID, "invalid pax header: bad %.*s", (int)kl, k);
		if (KEY("mtime"))
			p->has_mtime = true, p->mtime = ts;
		else
			p->has_atime = true, p->atime = ts;
		return 0;
	}
	if (KEY("GNU.sparse.name"))
		return set_str(&p->sparse_name, v, vl, err);
	if (KEY("GNU.sparse.map"))
		return set_str(&p->sparse_map, v, vl, err);
	if (kl > 13 && !memcmp(k, "SCHILY.xattr.", 13))
		return add_xattr(p, k + 13, kl - 13, v, vl, err);
	if (kl > 17 && !memcmp(k, "LIBARCHIVE.xattr.", 17))
		return libarchive_xattr(p, k + 17, kl - 17, v, vl, err);
	return 0; /* uname, gname, ctime, comment, charset, ...: not used */
#undef KEY
}

/* "LEN key=value\n" records of a pax header's data */
static int pax_records(struct pending *p, const char *d, size_t n, struct berth_error *err)
{
	while (n) {
		if (d[0] == 0)
			break; /* NUL padding ends the records (star writes it) */
		size_t i = 0, rl = 0;
		while (i < n && i < 8 && d[i] >= '0' && d[i] <= '9')
			rl = rl * 10 + (size_t)(d[i++] - '0');
		if (i == 0 || i >= n || d[i] != ' ' || rl <= i + 1 || rl > n || d[rl - 1] != '\n')
			return bad(err, "invalid pax header: malformed record");
		const char *kv = d + i + 1, *end = d + rl - 1;
		const char *eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq || eq == kv)
			return bad(err, "invalid pax header: malformed record");
		if (pax_record(p, kv, (size_t)(eq - kv), eq + 1, (size_t)(end - eq - 1), err) < 0)
			return -1;
		d += rl;
		n -= rl;
	}
	return 0;
}

/* ---- old GNU sparse headers ---- */

/* up to max (offset, numbytes) pairs of 24 bytes at h; stops at an empty one */
static int gnu_sparse_pairs(const char *h, size_t max, struct berth_tarin_entry *e, bool *more, struct berth_error *err)
{
	for (size_t i = 0; i < max; i++) {
		const char *f = h + 24 * i;
		if (!f[0] && !f[12]) {
			*more = false; /* the rest is empty */
			return 0;
		}
		int64_t off, len;
		if (!berth_ustar_parse_number(f, 12, &off) || !berth_ustar_parse_number(f + 12, 12, &len) || off < 0 ||
		    len < 0)
			return bad(err, "invalid GNU sparse header");
		if (e->nsparse >= BERTH_TARIN_MAX_SPARSE)
			return bad(err, "invalid GNU sparse header: too many segments");
		if (e->nsparse % 64 == 0) {
			struct berth_tarin_sparse *n = realloc(e->sparse, (e->nsparse + 64) * sizeof(*n));
			if (!n)
				return berth_err(err, BERTH_E_INTERNAL, "out of memory");
			e->sparse = n;
		}
		e->sparse[e->nsparse++] = (struct berth_tarin_sparse){off, len};
	}
	return 0;
}

static int gnu_sparse(struct berth_tarin *t, const char *h, struct berth_error *err)
{
	struct berth_tarin_entry *e = &t->e;
	bool more = true;
	if (gnu_sparse_pairs(h + 386, 4, e, &more, err) < 0)
		return -1;
	int64_t real;
	if (!berth_ustar_parse_number(h + 483, 12, &real) || real < 0)
		return bad(err, "invalid GNU sparse header");
	e->size = real;
	bool ext = h[482] != 0;
	while (ext) {
		ssize_t have = fill(t, 512, err);
		if (have < 0)
			return -1;
		if (have < 512)
			return bad(err, "unexpected EOF");
		char blk[512];
		memcpy(blk, t->buf + t->pos, 512);
		take(t, 512);
		more = true;
		if (gnu_sparse_pairs(blk, 21, e, &more, err) < 0)
			return -1;
		ext = blk[504] != 0;
	}
	if (!e->sparse && !(e->sparse = calloc(1, sizeof(*e->sparse))))
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	e->is_sparse = true;
	return 0;
}

/* pax 1.0: the map leads the data as decimal lines, padded to a block */
static int sparse_map_1_0(struct berth_tarin *t, struct berth_error *err)
{
	struct berth_tarin_entry *e = &t->e;
	uint64_t used = 0;
	int64_t count = -1;
	size_t got = 0;
	int64_t pair[2];
	for (;;) {
		char num[24];
		size_t l = 0;
		for (;;) { /* one line */
			if (used >= t->remain)
				return bad(err, "invalid GNU sparse map");
			ssize_t have = fill(t, 1, err);
			if (have < 0)
				return -1;
			if (have == 0)
				return bad(err, "unexpected EOF");
			char c = (char)t->buf[t->pos];
			take(t, 1);
			used++;
			if (c == '\n')
				break;
			if (l >= sizeof(num) - 1)
				return bad(err, "invalid GNU sparse map");
			num[l++] = c;
		}
		int64_t x;
		if (!parse_dec(num, l, &x) || x < 0)
			return bad(err, "invalid GNU sparse map");
		if (count < 0) {
			if (x > (int64_t)BERTH_TARIN_MAX_SPARSE)
				return bad(err, "invalid GNU sparse map: too many segments");
			count = x;
			if (!(e->sparse = calloc((size_t)count + 1, sizeof(*e->sparse))))
				return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		} else {
			pair[got % 2] = x;
			if (got++ % 2)
				e->sparse[e->nsparse++] = (struct berth_tarin_sparse){pair[0], pair[1]};
		}
		if (got == (size_t)count * 2)
			break;
	}
	uint64_t pad = padding(used);
	if (used + pad > t->remain)
		return bad(err, "invalid GNU sparse map");
	if (skip(t, pad, err) < 0)
		return -1;
	t->remain -= used + pad;
	return 0;
}

static int check_sparse(struct berth_tarin *t, struct berth_error *err)
{
	struct berth_tarin_entry *e = &t->e;
	int64_t end = 0;
	uint64_t total = 0;
	for (size_t i = 0; i < e->nsparse; i++) {
		const struct berth_tarin_sparse *s = &e->sparse[i];
		if (s->off < end || s->len > INT64_MAX - s->off || s->off + s->len > e->size)
			return bad(err, "invalid sparse file: bad map");
		end = s->off + s->len;
		total += (uint64_t)s->len;
	}
	if (total > t->remain)
		return bad(err, "invalid sparse file: the map references missing data");
	return 0;
}

/* ---- headers ---- */

static int header_strings(struct berth_tarin_entry *e, const char *h, bool ustar, struct pending *p,
			  struct berth_error *err)
{
	if (p->path) {
		e->path = p->path;
		p->path = NULL;
	} else {
		size_t nl = strnlen(h, 100), pl = ustar ? strnlen(h + 345, 155) : 0;
		e->path = pl ? berth_strdup_printf("%.*s/%.*s", (int)pl, h + 345, (int)nl, h) : strndup(h, nl);
	}
	if (p->linkpath) {
		e->linkname = p->linkpath;
		p->linkpath = NULL;
	} else
		e->linkname = strndup(h + 157, strnlen(h + 157, 100));
	if (p->sparse_name && (p->sparse_major >= 0 || p->sparse_map || p->nsp)) {
		free(e->path);
		e->path = p->sparse_name;
		p->sparse_name = NULL;
	}
	if (!e->path || !e->linkname)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return 0;
}

/* A long name ('L'/'K') or pax ('x'/'g') header's data. */
static int special(struct berth_tarin *t, char type, uint64_t size, struct pending *p, struct berth_error *err)
{
	if (size > BERTH_TARIN_MAX_SPECIAL)
		return berth_err(err, BERTH_E_INVALID, "invalid tar header: %s of %llu bytes is too big",
				 type == 'L' || type == 'K' ? "GNU long name" : "pax header", (unsigned long long)size);
	char *d = read_special(t, size, err);
	if (!d || skip(t, padding(size), err) < 0) {
		free(d);
		return -1;
	}
	int rc = 0;
	if (type == 'L' || type == 'K') {
		char **dst = type == 'L' ? &p->path : &p->linkpath;
		free(*dst);
		*dst = d; /* NUL-terminated at its first NUL */
		d = NULL;
	} else if (type == 'x' || type == 'X')
		rc = pax_records(p, d, (size_t)size, err);
	free(d);
	return rc;
}

static int build_entry(struct berth_tarin *t, const char *h, struct pending *p, struct berth_error *err)
{
	struct berth_tarin_entry *e = &t->e;
	bool ustar = !memcmp(h + 257, "ustar\0", 6), gnu = !memcmp(h + 257, "ustar  \0", 8);
	int64_t mode, uid, gid, size, mtime, major = 0, minor = 0;
	if (!berth_ustar_parse_number(h + 100, 8, &mode) || !berth_ustar_parse_number(h + 108, 8, &uid) ||
	    !berth_ustar_parse_number(h + 116, 8, &gid) || !berth_ustar_parse_number(h + 124, 12, &size) ||
	    !berth_ustar_parse_number(h + 136, 12, &mtime) ||
	    ((ustar || gnu) &&
	     (!berth_ustar_parse_number(h + 329, 8, &major) || !berth_ustar_parse_number(h + 337, 8, &minor))))
		return bad(err, "invalid tar header: bad numeric field");
	if (p->has_size)
		size = p->size;
	if (size < 0)
		return bad(err, "invalid tar header: negative size");
	char type = h[156];
	if (header_strings(e, h, ustar, p, err) < 0)
		return -1;
	size_t nl = strlen(e->path);
	switch (type) {
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6': break;
	case 'D': type = '5'; break;
	case 'S': break;
	default: type = (type == 0 || type == '0') && nl && e->path[nl - 1] == '/' ? '5' : '0';
	}
	e->type = type;
	e->mode = (uint32_t)(mode & 07777);
	e->uid = p->has_uid ? p->uid : uid;
	e->gid = p->has_gid ? p->gid : gid;
	e->mtime = p->has_mtime ? p->mtime : (struct timespec){.tv_sec = (time_t)mtime};
	if (p->has_atime) {
		e->atime = p->atime;
		e->atime_set = true;
	} else if (gnu) {
		int64_t at;
		if (berth_ustar_parse_number(h + 345, 12, &at) && at) {
			e->atime = (struct timespec){.tv_sec = (time_t)at};
			e->atime_set = true;
		}
	}
	e->devmajor = (uint32_t)(p->has_major ? p->major : major);
	e->devminor = (uint32_t)(p->has_minor ? p->minor : minor);
	e->xattrs = p->xattrs;
	e->nxattrs = p->nxattrs;
	p->xattrs = NULL;
	p->nxattrs = 0;
	/* data: header-only types have none (as Go and libarchive read them) */
	bool data = type == '0' || type == 'S' || h[156] == 'D';
	t->remain = data ? (uint64_t)size : 0;
	t->pad = data ? padding((uint64_t)size) : 0;
	e->size = type == '0' || type == 'S' ? size : 0;
	if (type == 'S') {
		if (!gnu)
			return bad(err, "invalid tar header: sparse entry without GNU magic");
		e->type = '0';
		if (gnu_sparse(t, h, err) < 0)
			return -1;
	} else if (type == '0' && p->sparse_major == 1) { /* pax 1.0 */
		if (!p->has_realsize)
			return bad(err, "invalid GNU sparse header: no realsize");
		e->size = p->realsize;
		e->is_sparse = true;
		if (sparse_map_1_0(t, err) < 0)
			return -1;
	} else if (type == '0' && (p->sparse_map || p->nsp)) { /* pax 0.1, 0.0 */
		if (p->sp_half)
			return bad(err, "invalid GNU sparse map");
		if (!p->has_realsize)
			return bad(err, "invalid GNU sparse header: no size");
		e->size = p->realsize;
		e->is_sparse = true;
		if (p->sparse_map) {
			if (sparse_map_list(p->sparse_map, &e->sparse, &e->nsparse, err) < 0)
				return -1;
		} else {
			e->sparse = p->sp;
			e->nsparse = p->nsp;
			p->sp = NULL;
			p->nsp = 0;
		}
	}
	if (e->is_sparse && check_sparse(t, err) < 0)
		return -1;
	if (h[156] == 'D') { /* a GNU dump directory's listing: skipped */
		if (skip(t, t->remain + t->pad, err) < 0)
			return -1;
		t->remain = t->pad = 0;
	}
	e->data_offset = t->consumed;
	return 0;
}

int berth_tarin_next(struct berth_tarin *t, struct berth_tarin_entry **out, struct berth_error *err)
{
	if (t->done)
		return 0;
	if (skip(t, t->remain + t->pad, err) < 0)
		return -1;
	t->remain = t->pad = 0;
	t->seg = 0;
	t->seg_done = 0;
	t->lpos = 0;
	entry_clear(&t->e);
	struct pending p;
	memset(&p, 0, sizeof(p));
	pending_clear(&p);
	int rc = -1;
	for (;;) {
		ssize_t have = fill(t, 512, err);
		if (have < 0)
			goto out;
		if (have == 0 && !p.any) {
			t->done = true; /* EOF at a header boundary: the end, as Go reads it */
			rc = 0;
			goto out;
		}
		if (have < 512) {
			bad(err, "unexpected EOF");
			goto out;
		}
		char h[512];
		memcpy(h, t->buf + t->pos, 512);
		take(t, 512);
		if (zero_block((unsigned char *)h)) {
			have = fill(t, 512, err);
			if (have < 0)
				goto out;
			if (have >= 512 && !zero_block(t->buf + t->pos)) {
				bad(err, "invalid tar header: a zero block before a header");
				goto out;
			}
			if (have >= 512)
				take(t, 512);
			t->done = true;
			rc = 0;
			goto out;
		}
		if (!berth_ustar_checksum_ok(h)) {
			bad(err, "invalid tar header: checksum mismatch");
			goto out;
		}
		char type = h[156];
		if (type == 'x' || type == 'X' || type == 'g' || type == 'L' || type == 'K' || type == 'V' ||
		    type == 'A' || type == 'E') {
			int64_t size;
			if (!berth_ustar_parse_number(h + 124, 12, &size) || size < 0) {
				bad(err, "invalid tar header: bad size");
				goto out;
			}
			if (type == 'V' || type == 'A' || type == 'E') { /* volume label, Solaris ACL / xattr */
				if (skip(t, (uint64_t)size + padding((uint64_t)size), err) < 0)
					goto out;
				continue;
			}
			if (special(t, type, (uint64_t)size, &p, err) < 0)
				goto out;
			p.any = true;
			continue;
		}
		if (build_entry(t, h, &p, err) < 0)
			goto out;
		*out = &t->e;
		rc = 1;
		goto out;
	}
out:
	pending_clear(&p);
	if (rc < 0)
		t->done = true;
	return rc;
}

/* ---- data ---- */

/* the next stored bytes of the entry (at most max): 1, 0 at its end, -1 */
static int block(struct berth_tarin *t, size_t max, const void **buf, size_t *len, int64_t *off,
		 struct berth_error *err)
{
	struct berth_tarin_entry *e = &t->e;
	uint64_t avail = t->remain;
	int64_t at;
	if (e->is_sparse) {
		while (t->seg < e->nsparse && t->seg_done == e->sparse[t->seg].len) {
			t->seg++;
			t->seg_done = 0;
		}
		if (t->seg == e->nsparse)
			return 0;
		avail = (uint64_t)(e->sparse[t->seg].len - t->seg_done);
		at = e->sparse[t->seg].off + t->seg_done;
	} else
		at = e->size - (int64_t)t->remain;
	if (avail == 0)
		return 0;
	if (avail > max)
		avail = max;
	ssize_t have = fill(t, 1, err);
	if (have < 0)
		return -1;
	if (have == 0)
		return bad(err, "unexpected EOF");
	size_t k = (uint64_t)have < avail ? (size_t)have : (size_t)avail;
	*buf = t->buf + t->pos;
	*len = k;
	*off = at;
	take(t, k);
	t->remain -= k;
	if (e->is_sparse)
		t->seg_done += (int64_t)k;
	return 1;
}

int berth_tarin_block(struct berth_tarin *t, const void **buf, size_t *len, int64_t *off, struct berth_error *err)
{
	return block(t, SIZE_MAX, buf, len, off, err);
}

ssize_t berth_tarin_read(struct berth_tarin *t, void *buf, size_t len, struct berth_error *err)
{
	struct berth_tarin_entry *e = &t->e;
	if (len == 0)
		return 0;
	if (e->is_sparse) { /* zeros up to the next segment */
		while (t->seg < e->nsparse && t->seg_done == e->sparse[t->seg].len) {
			t->seg++;
			t->seg_done = 0;
		}
		int64_t next = t->seg < e->nsparse ? e->sparse[t->seg].off + t->seg_done : e->size;
		if (t->lpos < next) {
			size_t k = (uint64_t)(next - t->lpos) < len ? (size_t)(next - t->lpos) : len;
			memset(buf, 0, k);
			t->lpos += (int64_t)k;
			return (ssize_t)k;
		}
	}
	const void *p;
	size_t n;
	int64_t off;
	int r = block(t, len, &p, &n, &off, err);
	if (r <= 0)
		return r;
	memcpy(buf, p, n);
	t->lpos += (int64_t)n;
	return (ssize_t)n;
}

void berth_tarin_times(const struct berth_tarin_entry *e, struct timespec ts[2])
{
	ts[1] = e->mtime;
	ts[0] = e->mtime;
	if (e->atime_set && (e->atime.tv_sec > e->mtime.tv_sec ||
			     (e->atime.tv_sec == e->mtime.tv_sec && e->atime.tv_nsec > e->mtime.tv_nsec)))
		ts[0] = e->atime;
}
