/* The native tar reader (archive/tar_in.c): every header kind, pax
 * overrides, long names, base-256, truncation, hostile headers, sparse. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar_in.h"
#include "archive/ustar.h"
#include "common/util.h"
#include "tap.h"

enum magic { M_USTAR, M_GNU, M_V7 };

struct hopt {
	enum magic magic;
	const char *link;
	const char *prefix;
	bool b256_size, b256_uid, signed_sum, blank_ids;
	unsigned major, minor;
};

/* append a header and n bytes of data (padded) to b */
static void add(struct berth_buf *b, const char *name, char type, const void *data, size_t n, const struct hopt *o)
{
	static const struct hopt none;
	if (!o)
		o = &none;
	char h[512] = {0};
	snprintf(h, 100, "%s", name);
	berth_ustar_octal(h + 100, 8, 0644);
	if (!o->blank_ids) {
		berth_ustar_octal(h + 108, 8, 1000);
		berth_ustar_octal(h + 116, 8, 1001);
	}
	berth_ustar_octal(h + 124, 12, n);
	berth_ustar_octal(h + 136, 12, 1700000000);
	h[156] = type;
	if (o->link)
		snprintf(h + 157, 100, "%s", o->link);
	if (o->magic != M_V7) {
		berth_ustar_octal(h + 329, 8, o->major);
		berth_ustar_octal(h + 337, 8, o->minor);
	}
	if (o->prefix)
		snprintf(h + 345, 155, "%s", o->prefix);
	if (o->b256_size) {
		memset(h + 124, 0, 12);
		h[124] = (char)0x80;
		uint64_t v = n;
		for (int i = 11; i > 0; i--, v >>= 8)
			h[124 + i] = (char)(v & 0xff);
	}
	if (o->b256_uid) {
		memset(h + 108, 0, 8);
		h[108] = (char)0x80;
		h[111] = 2; /* 2 << 32 */
	}
	berth_ustar_finish(h);
	if (o->magic == M_GNU)
		memcpy(h + 257, "ustar  \0", 8);
	else if (o->magic == M_V7)
		memset(h + 257, 0, 8);
	/* the checksum again (magic changed) */
	long sum = 8 * ' ';
	for (int i = 0; i < 512; i++)
		if (i < 148 || i >= 156)
			sum += o->signed_sum ? (long)(signed char)h[i] : (long)(unsigned char)h[i];
	snprintf(h + 148, 8, "%06lo", (unsigned long)sum);
	h[155] = ' ';
	berth_buf_append(b, h, 512);
	if (n) {
		berth_buf_append(b, data, n);
		static const char zeros[512];
		berth_buf_append(b, zeros, (512 - n % 512) % 512);
	}
}

static void resum(char *h)
{
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
}

static void pax(struct berth_buf *b, char type, const char *records)
{
	add(b, "PaxHeaders/x", type, records, strlen(records), NULL);
}

static void rec(struct berth_buf *r, const char *kv)
{
	size_t n = strlen(kv) + 3; /* "NN " + kv + "\n", NN two digits at least */
	for (;;) {
		char len[24];
		size_t l = (size_t)snprintf(len, sizeof(len), "%zu", n);
		if (l + 1 + strlen(kv) + 1 == n)
			break;
		n = l + 1 + strlen(kv) + 1;
	}
	berth_buf_printf(r, "%zu %s\n", n, kv);
}

static void end(struct berth_buf *b)
{
	static const char zeros[1024];
	berth_buf_append(b, zeros, 1024);
}

/* a reader handing out at most `step` bytes at a time */
struct chunky {
	const char *p;
	size_t len, off, step;
};
static ssize_t chunky_read(void *ctx, void *buf, size_t len)
{
	struct chunky *c = ctx;
	size_t n = c->len - c->off;
	if (n > len)
		n = len;
	if (n > c->step)
		n = c->step;
	memcpy(buf, c->p + c->off, n);
	c->off += n;
	return (ssize_t)n;
}

struct rd {
	struct chunky ck;
	struct berth_reader r;
	struct berth_tarin *t;
	struct berth_error err;
};

static void rd_open(struct rd *r, const struct berth_buf *b, size_t step)
{
	memset(r, 0, sizeof(*r));
	r->ck = (struct chunky){.p = b->data, .len = b->len, .step = step};
	r->r = (struct berth_reader){.read = chunky_read, .ctx = &r->ck};
	r->t = berth_tarin_new(&r->r);
}

/* the whole content of the current entry */
static char *slurp(struct rd *r, size_t *n)
{
	struct berth_buf out = {0};
	char buf[777];
	ssize_t k;
	while ((k = berth_tarin_read(r->t, buf, sizeof(buf), &r->err)) > 0)
		berth_buf_append(&out, buf, (size_t)k);
	*n = out.len;
	if (k < 0) {
		free(out.data);
		return NULL;
	}
	berth_buf_append(&out, "", 1);
	return berth_buf_steal(&out);
}

static int next(struct rd *r, struct berth_tarin_entry **e) { return berth_tarin_next(r->t, e, &r->err); }

static void test_kinds(struct tap *t, size_t step)
{
	struct berth_buf b = {0};
	add(&b, "f", '0', "hello", 5, NULL);
	add(&b, "name", '0', "x", 1, &(struct hopt){.prefix = "some/prefix"});
	add(&b, "d/", '5', NULL, 0, NULL);
	add(&b, "sym", '2', NULL, 0, &(struct hopt){.link = "f"});
	add(&b, "hard", '1', NULL, 0, &(struct hopt){.link = "f"});
	add(&b, "chr", '3', NULL, 0, &(struct hopt){.major = 1, .minor = 3});
	add(&b, "blk", '4', NULL, 0, &(struct hopt){.major = 8, .minor = 1});
	add(&b, "fifo", '6', NULL, 0, NULL);
	add(&b, "contig", '7', "abc", 3, NULL);
	add(&b, "olddir/", '\0', NULL, 0, &(struct hopt){.magic = M_V7});
	add(&b, "v7file", '\0', "v7", 2, &(struct hopt){.magic = M_V7, .blank_ids = true});
	add(&b, "unknown", 'Z', "zz", 2, NULL);
	add(&b, "gnu", '0', "g", 1, &(struct hopt){.magic = M_GNU});
	add(&b, "signed\xe9", '0', "s", 1, &(struct hopt){.signed_sum = true});
	add(&b, "big", '0', "b256", 4, &(struct hopt){.b256_size = true, .b256_uid = true});
	end(&b);
	struct rd r;
	rd_open(&r, &b, step);
	struct berth_tarin_entry *e;
	size_t n;
	char *s;
	struct {
		const char *path;
		char type;
		const char *data, *link;
	} want[] = {
		{"f", '0', "hello", ""},    {"some/prefix/name", '0', "x", ""},
		{"d/", '5', "", ""},        {"sym", '2', "", "f"},
		{"hard", '1', "", "f"},     {"chr", '3', "", ""},
		{"blk", '4', "", ""},       {"fifo", '6', "", ""},
		{"contig", '0', "abc", ""}, {"olddir/", '5', "", ""},
		{"v7file", '0', "v7", ""},  {"unknown", '0', "zz", ""},
		{"gnu", '0', "g", ""},      {"signed\xe9", '0', "s", ""},
		{"big", '0', "b256", ""},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int rc = next(&r, &e);
		if (rc != 1) {
			TAP_OK(t, false, "[step %zu] entry %s: %s", step, want[i].path, r.err.msg);
			break;
		}
		s = slurp(&r, &n);
		TAP_OK(t,
		       !strcmp(e->path, want[i].path) && e->type == want[i].type && s && !strcmp(s, want[i].data) &&
			       !strcmp(e->linkname, want[i].link),
		       "[step %zu] %s: type %c, data, link (got %s %c %s)", step, want[i].path, want[i].type, e->path,
		       e->type, s ? s : r.err.msg);
		if (!strcmp(e->path, "chr"))
			TAP_OK(t, e->devmajor == 1 && e->devminor == 3, "device numbers");
		if (!strcmp(e->path, "f"))
			TAP_OK(t,
			       e->uid == 1000 && e->gid == 1001 && e->mode == 0644 && e->mtime.tv_sec == 1700000000 &&
				       e->data_offset == 512 && e->size == 5,
			       "owner, mode, mtime, data offset");
		if (!strcmp(e->path, "v7file"))
			TAP_OK(t, e->uid == 0 && e->gid == 0, "blank V7 owner fields read as 0");
		if (!strcmp(e->path, "big"))
			TAP_OK(t, e->uid == (int64_t)2 << 32 && e->size == 4, "base-256 size and uid");
		free(s);
	}
	TAP_OK(t, next(&r, &e) == 0 && next(&r, &e) == 0, "[step %zu] end blocks: 0, and again", step);
	berth_tarin_free(r.t);
	free(b.data);
}

static void test_long_and_pax(struct tap *t)
{
	struct berth_buf b = {0}, rs = {0};
	char longname[300], longlink[250];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	memset(longlink, 'l', sizeof(longlink) - 1);
	longlink[sizeof(longlink) - 1] = 0;
	add(&b, "././@LongLink", 'L', longname, strlen(longname) + 1, &(struct hopt){.magic = M_GNU});
	add(&b, "././@LongLink", 'K', longlink, strlen(longlink) + 1, &(struct hopt){.magic = M_GNU});
	add(&b, "short", '2', NULL, 0, &(struct hopt){.magic = M_GNU, .link = "x"});
	rec(&rs, "comment=ignored");
	pax(&b, 'g', rs.data); /* global: ignored */
	rs.len = 0;
	rec(&rs, "path=pax/path/\xc3\xa9t\xc3\xa9");
	rec(&rs, "size=6");
	rec(&rs, "uid=70000");
	rec(&rs, "gid=70001");
	rec(&rs, "uname=someone");
	rec(&rs, "mtime=1600000000.123456789");
	rec(&rs, "atime=1700000000.5");
	rec(&rs, "SCHILY.xattr.user.k=v\x01w");
	rec(&rs, "LIBARCHIVE.xattr.user.l%3Dx=aGVsbG8="); /* key user.l=x, "hello" */
	pax(&b, 'x', rs.data);
	size_t at = b.len;
	add(&b, "ustar-name", '0', "paxdat", 6, NULL);
	berth_ustar_octal(b.data + at + 124, 12, 3); /* the header says 3, pax says 6 */
	resum(b.data + at);
	add(&b, "after", '0', "a", 1, NULL);
	end(&b);
	struct rd r;
	rd_open(&r, &b, 100000);
	struct berth_tarin_entry *e;
	size_t n;
	TAP_OK(t, next(&r, &e) == 1 && !strcmp(e->path, longname) && !strcmp(e->linkname, longlink) && e->type == '2',
	       "GNU L and K: long name and link (%s)", r.err.msg);
	int rc = next(&r, &e);
	TAP_OK(t, rc == 1 && !strcmp(e->path, "pax/path/\xc3\xa9t\xc3\xa9"), "pax path wins over the header's (%s)",
	       rc == 1 ? e->path : r.err.msg);
	if (rc == 1) {
		char *s = slurp(&r, &n);
		TAP_OK(t, s && n == 6 && !memcmp(s, "paxdat", 6), "pax size wins");
		free(s);
		TAP_OK(t, e->uid == 70000 && e->gid == 70001, "pax uid/gid");
		TAP_OK(t, e->mtime.tv_sec == 1600000000 && e->mtime.tv_nsec == 123456789, "pax mtime with fraction");
		TAP_OK(t, e->atime_set && e->atime.tv_sec == 1700000000 && e->atime.tv_nsec == 500000000, "pax atime");
		TAP_OK(t,
		       e->nxattrs == 2 && !strcmp(e->xattrs[0].key, "user.k") && e->xattrs[0].len == 3 &&
			       !memcmp(e->xattrs[0].val, "v\x01w", 3) && !strcmp(e->xattrs[1].key, "user.l=x") &&
			       e->xattrs[1].len == 5 && !memcmp(e->xattrs[1].val, "hello", 5),
		       "SCHILY.xattr and LIBARCHIVE.xattr");
	}
	TAP_OK(t, next(&r, &e) == 1 && !strcmp(e->path, "after") && e->nxattrs == 0 && e->uid == 1000,
	       "pax records apply to one entry only");
	TAP_OK(t, next(&r, &e) == 0, "end");
	berth_tarin_free(r.t);
	free(b.data);
	free(rs.data);
}

/* expect an error (not a crash) somewhere reading b */
static void expect_error(struct tap *t, const struct berth_buf *b, const char *what, const char *msg_part)
{
	struct rd r;
	rd_open(&r, b, 4096);
	struct berth_tarin_entry *e;
	int rc;
	size_t n;
	while ((rc = next(&r, &e)) == 1) {
		char *s = slurp(&r, &n);
		if (!s) {
			rc = -1;
			break;
		}
		free(s);
	}
	TAP_OK(t, rc < 0 && r.err.kind == BERTH_E_INVALID && (!msg_part || strstr(r.err.msg, msg_part)), "%s: %s", what,
	       r.err.msg);
	berth_tarin_free(r.t);
}

static void test_hostile(struct tap *t)
{
	struct berth_buf b = {0};
	char big[3000];
	memset(big, 'x', sizeof(big));
	add(&b, "f", '0', big, sizeof(big), NULL);
	end(&b);
	struct berth_buf cut = {0};
	berth_buf_append(&cut, b.data, 300);
	expect_error(t, &cut, "a cut header", "unexpected EOF");
	cut.len = 0;
	berth_buf_append(&cut, b.data, 512 + 1000);
	expect_error(t, &cut, "cut data", "unexpected EOF");
	cut.len = 0;
	berth_buf_append(&cut, b.data, b.len);
	cut.data[10] ^= 1;
	expect_error(t, &cut, "bad checksum", "checksum");
	/* a pax header only, then EOF */
	struct berth_buf p = {0}, rs = {0};
	rec(&rs, "path=x");
	pax(&p, 'x', rs.data);
	expect_error(t, &p, "pax header then EOF", "unexpected EOF");
	/* an oversized pax header: refused before reading it */
	p.len = 0;
	add(&p, "PaxHeaders/x", 'x', NULL, 0, NULL);
	berth_ustar_octal(p.data + 124, 12, 2u << 20);
	resum(p.data);
	expect_error(t, &p, "oversized pax header", "too big");
	/* malformed pax records */
	const char *badrecs[] = {"9 path=x",   "3 path=x\n",  "99 path=x\n",   "x path=x\n",
				 "8 =abc\n\n", "7 size=-1\n", "12 size=abc\n", "10 mtime=x\n"};
	for (size_t i = 0; i < sizeof(badrecs) / sizeof(badrecs[0]); i++) {
		p.len = 0;
		pax(&p, 'x', badrecs[i]);
		add(&p, "f", '0', "x", 1, NULL);
		end(&p);
		expect_error(t, &p, "malformed pax record", "pax");
	}
	/* a LIBARCHIVE.xattr value that is not base64 */
	p.len = 0;
	pax(&p, 'x', "31 LIBARCHIVE.xattr.user.a=a*b\n");
	add(&p, "f", '0', "x", 1, NULL);
	end(&p);
	expect_error(t, &p, "LIBARCHIVE.xattr value not base64", "LIBARCHIVE.xattr");
	/* a zero block then a header */
	p.len = 0;
	static const char zeros[512];
	berth_buf_append(&p, zeros, 512);
	add(&p, "f", '0', "x", 1, NULL);
	expect_error(t, &p, "a zero block then a header", NULL);
	/* junk */
	p.len = 0;
	for (int i = 0; i < 2048; i++)
		berth_buf_append(&p, (char[]){(char)(i * 7 + 3)}, 1);
	expect_error(t, &p, "junk", "invalid tar header");
	/* EOF exactly at a header boundary: the end (Go reads it so) */
	p.len = 0;
	add(&p, "f", '0', "x", 1, NULL);
	struct rd r;
	rd_open(&r, &p, 4096);
	struct berth_tarin_entry *e;
	TAP_OK(t, next(&r, &e) == 1 && next(&r, &e) == 0, "no end blocks: EOF at a boundary ends the archive");
	berth_tarin_free(r.t);
	/* empty input */
	p.len = 0;
	rd_open(&r, &p, 4096);
	TAP_OK(t, next(&r, &e) == 0, "empty input: no entries");
	berth_tarin_free(r.t);
	free(b.data);
	free(cut.data);
	free(p.data);
	free(rs.data);
}

/* GNU tar's sparse formats, when GNU tar is there: contents equal, holes skipped by the block reader */
static void test_sparse(struct tap *t)
{
	if (system("tar --version 2>/dev/null | grep -q GNU") != 0) {
		TAP_OK(t, true, "# SKIP GNU tar not found");
		return;
	}
	char dir[] = "/tmp/tarin-test.XXXXXX";
	if (!mkdtemp(dir)) {
		TAP_OK(t, false, "mkdtemp");
		return;
	}
	char path[256];
	snprintf(path, sizeof(path), "%s/sparse", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	/* data at 0, 1 MiB, 3 MiB + 5; size 4 MiB + 7 */
	const int64_t offs[] = {0, 1 << 20, (3 << 20) + 5};
	for (size_t i = 0; i < 3; i++) {
		char blk[5000];
		for (size_t j = 0; j < sizeof(blk); j++)
			blk[j] = (char)('a' + (i * 7 + j) % 26);
		if (pwrite(fd, blk, sizeof(blk), offs[i]) != (ssize_t)sizeof(blk))
			TAP_OK(t, false, "pwrite");
	}
	if (ftruncate(fd, (4 << 20) + 7) < 0)
		TAP_OK(t, false, "ftruncate");
	close(fd);
	struct berth_buf orig = {0};
	fd = open(path, O_RDONLY);
	char rb[65536];
	ssize_t k;
	while ((k = read(fd, rb, sizeof(rb))) > 0)
		berth_buf_append(&orig, rb, (size_t)k);
	close(fd);
	const char *modes[] = {"--format=gnu", "--format=posix --sparse-version=0.0",
			       "--format=posix --sparse-version=0.1", "--format=posix --sparse-version=1.0"};
	for (size_t m = 0; m < 4; m++) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "cd %s && tar -c --sparse %s -f a.tar sparse 2>/dev/null", dir, modes[m]);
		if (system(cmd) != 0) {
			TAP_OK(t, false, "%s: tar failed", modes[m]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/a.tar", dir);
		struct berth_buf tb = {0};
		fd = open(path, O_RDONLY);
		while ((k = read(fd, rb, sizeof(rb))) > 0)
			berth_buf_append(&tb, rb, (size_t)k);
		close(fd);
		for (int pass = 0; pass < 2; pass++) {
			struct rd r;
			rd_open(&r, &tb, pass ? 1000 : 1 << 20);
			struct berth_tarin_entry *e;
			int rc = next(&r, &e);
			if (rc != 1) {
				TAP_OK(t, false, "%s: %s", modes[m], r.err.msg);
				berth_tarin_free(r.t);
				continue;
			}
			if (pass == 0) {
				size_t n;
				char *s = slurp(&r, &n);
				TAP_OK(t,
				       !strcmp(e->path, "sparse") && e->is_sparse && e->size == (4 << 20) + 7 && s &&
					       n == orig.len && !memcmp(s, orig.data, n),
				       "%s: name, real size, contents with holes (%s)", modes[m],
				       s ? e->path : r.err.msg);
				free(s);
			} else {
				const void *p;
				size_t len;
				int64_t off, stored = 0;
				bool ok = true;
				while ((rc = berth_tarin_block(r.t, &p, &len, &off, &r.err)) == 1) {
					stored += (int64_t)len;
					ok = ok && off + (int64_t)len <= e->size && !memcmp(p, orig.data + off, len);
				}
				TAP_OK(t, rc == 0 && ok && stored < 4 * 5000 * 2,
				       "%s: blocks at their offsets, holes skipped", modes[m]);
			}
			TAP_OK(t, next(&r, &e) == 0, "%s: then the end", modes[m]);
			berth_tarin_free(r.t);
		}
		free(tb.data);
	}
	free(orig.data);
	char rm[300];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		TAP_OK(t, false, "rm");
}

static void test_old_gnu_sparse_hostile(struct tap *t)
{
	/* an 'S' entry whose map points past the real size */
	struct berth_buf b = {0};
	add(&b, "s", 'S', "data", 4, &(struct hopt){.magic = M_GNU});
	char *h = b.data;
	berth_ustar_octal(h + 386, 12, 100); /* offset */
	berth_ustar_octal(h + 398, 12, 4);   /* numbytes */
	berth_ustar_octal(h + 483, 12, 50);  /* realsize < 104 */
	resum(h);
	end(&b);
	expect_error(t, &b, "sparse map beyond the real size", "sparse");
	h = b.data;
	/* the same map with a real size that fits: holes read as zeros */
	berth_ustar_octal(h + 483, 12, 110);
	resum(h);
	struct rd r;
	rd_open(&r, &b, 7);
	struct berth_tarin_entry *e;
	size_t n;
	char *s = NULL;
	int rc = next(&r, &e);
	if (rc == 1)
		s = slurp(&r, &n);
	char want[110] = {0};
	memcpy(want + 100, "data", 4);
	TAP_OK(t, rc == 1 && s && n == 110 && !memcmp(s, want, 110) && e->type == '0', "old GNU sparse entry (%s)",
	       r.err.msg);
	free(s);
	berth_tarin_free(r.t);
	free(b.data);
}

/* pax times before the epoch: "-1.5" is 1.5 s before it, as Go reads it */
static void test_negative_time(struct tap *t)
{
	struct berth_buf b = {0}, rs = {0};
	rec(&rs, "mtime=-1.5");
	pax(&b, 'x', rs.data);
	add(&b, "f", '0', NULL, 0, NULL);
	end(&b);
	struct rd r;
	rd_open(&r, &b, 4096);
	struct berth_tarin_entry *e;
	TAP_OK(t, next(&r, &e) == 1 && e->mtime.tv_sec == -2 && e->mtime.tv_nsec == 500000000,
	       "pax mtime -1.5 is -2 s + 0.5 s");
	berth_tarin_free(r.t);
	free(b.data);
	free(rs.data);
}

int main(void)
{
	struct tap t = {0};
	test_kinds(&t, 1 << 20);
	test_kinds(&t, 1);
	test_kinds(&t, 513);
	test_long_and_pax(&t);
	test_hostile(&t);
	test_negative_time(&t);
	test_old_gnu_sparse_hostile(&t);
	test_sparse(&t);
	return TAP_DONE(&t);
}
