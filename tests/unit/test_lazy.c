/* src/lazy: zlib and libarchive unloaded when idle (lazy.h). Linked with
 * the forwarders, not with the libraries: threads make, use and free
 * z_streams, gzFiles and archive objects while another keeps trying to
 * unload the library; it is never unloaded under them, every object is
 * counted back, and once all are gone the library leaves the process and
 * comes back at the next call. zlib comes first: libarchive maps libz too. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lazy.h"
#include "tap.h"

static struct tap T;
static atomic_bool stop;
static atomic_int failures, unloads;

static bool mapped(const char *what)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;
	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return found;
}

struct mem {
	char buf[8192];
	size_t used;
	bool read;
};
static la_ssize_t mem_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	struct mem *m = ctx;
	if (n > sizeof(m->buf) - m->used)
		return -1;
	memcpy(m->buf + m->used, p, n);
	m->used += n;
	return (la_ssize_t)n;
}
static la_ssize_t mem_read(struct archive *a, void *ctx, const void **out)
{
	(void)a;
	struct mem *m = ctx;
	*out = m->buf;
	if (m->read)
		return 0;
	m->read = true;
	return (la_ssize_t)m->used;
}

/* one tar with one file, read back through libarchive */
static int roundtrip(void)
{
	struct mem m = {.used = 0};
	struct archive *w = archive_write_new();
	if (!w)
		return -1;
	int rc = archive_write_set_format_pax_restricted(w) == ARCHIVE_OK &&
				 archive_write_set_bytes_per_block(w, 512) == ARCHIVE_OK &&
				 archive_write_open(w, &m, NULL, mem_write, NULL) == ARCHIVE_OK ?
			 0 :
			 -1;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "hello");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 5);
	if (rc == 0 && (archive_write_header(w, e) != ARCHIVE_OK || archive_write_data(w, "world", 5) != 5 ||
			archive_write_close(w) != ARCHIVE_OK))
		rc = -1;
	archive_entry_free(e);
	archive_write_free(w);
	struct archive *r = archive_read_new();
	if (!r)
		return -1;
	archive_read_support_format_tar(r);
	struct archive_entry *re;
	char data[8] = "";
	if (rc == 0 && (archive_read_open(r, &m, NULL, mem_read, NULL) != ARCHIVE_OK ||
			archive_read_next_header(r, &re) != ARCHIVE_OK || strcmp(archive_entry_pathname(re), "hello") ||
			archive_read_data(r, data, sizeof(data)) != 5 || memcmp(data, "world", 5)))
		rc = -1;
	archive_read_free(r);
	return rc;
}

/* gzip (deflateInit2/deflate/deflateEnd) into a temporary file, read back
 * with inflate and with gzdopen/gzread; crc32_z on both sides */
static int zroundtrip(void)
{
	unsigned char in[4096], gz[8192], out[4096];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)("hello zlib "[i % 11] + i / 512);
	z_stream d = {0};
	if (deflateInit2(&d, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	d.next_in = in;
	d.avail_in = sizeof(in);
	d.next_out = gz;
	d.avail_out = (uInt)deflateBound(&d, sizeof(in));
	int r = deflate(&d, Z_FINISH);
	size_t gzlen = d.total_out;
	deflateEnd(&d);
	if (r != Z_STREAM_END)
		return -1;

	z_stream s = {0};
	if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK)
		return -1;
	s.next_in = gz;
	s.avail_in = (uInt)gzlen;
	s.next_out = out;
	s.avail_out = sizeof(out);
	r = inflate(&s, Z_NO_FLUSH);
	size_t n = sizeof(out) - s.avail_out;
	inflateEnd(&s);
	if (r != Z_STREAM_END || n != sizeof(in) || crc32_z(0, out, n) != crc32_z(0, in, sizeof(in)))
		return -1;

	char path[] = "/tmp/test_lazy.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, gz, gzlen) != (ssize_t)gzlen || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	gzFile f = gzdopen(fd, "rb");
	if (!f) {
		close(fd);
		return -1;
	}
	memset(out, 0, sizeof(out));
	int got = gzread(f, out, sizeof(out));
	return gzclose(f) == Z_OK && got == (int)sizeof(in) && !memcmp(in, out, sizeof(in)) ? 0 : -1;
}

static void *user(void *arg)
{
	int (*trip)(void) = (int (*)(void))arg;
	/* pauses leave moments with no object alive: the unloader's chance */
	for (int i = 0; i < 200 && !atomic_load(&stop); i++) {
		if (trip() < 0)
			atomic_fetch_add(&failures, 1);
		usleep((useconds_t)(i % 7) * 100);
	}
	return NULL;
}

static void *unloader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		atomic_fetch_add(&unloads, berth_lazy_unload_idle(0));
	return NULL;
}

/* 4 threads run trip while another keeps unloading; no failure */
static bool race(int (*trip)(void))
{
	pthread_t u[4], un;
	atomic_store(&stop, false);
	atomic_store(&failures, 0);
	atomic_store(&unloads, 0);
	pthread_create(&un, NULL, unloader, NULL);
	for (int i = 0; i < 4; i++)
		pthread_create(&u[i], NULL, user, (void *)trip);
	for (int i = 0; i < 4; i++)
		pthread_join(u[i], NULL);
	atomic_store(&stop, true);
	pthread_join(un, NULL);
	printf("# %d unloads meanwhile\n", atomic_load(&unloads));
	return atomic_load(&failures) == 0;
}

static void zlib_cases(void)
{
	TAP_OK(&T, !mapped("libz.so"), "zlib is not loaded before the first call");
	TAP_OK(&T, zroundtrip() == 0, "gzip written and read back (inflate, gzread) through the forwarders");
	TAP_OK(&T, mapped("libz.so") && atomic_load(&berth_lazy_lib_zlib.live) == 0,
	       "the first call loaded zlib; every stream and gzFile counted back");
	TAP_OK(&T, berth_lazy_unload_idle(60000) == 0, "zlib not unloaded before it has been idle long enough");
	TAP_OK(&T, berth_lazy_unload_idle(0) == 1 && !mapped("libz.so"), "zlib unloaded when idle: no longer mapped");

	z_stream z = {0};
	TAP_OK(&T, inflateInit2(&z, 16 + MAX_WBITS) == Z_OK && mapped("libz.so"), "inflateInit2 loads it again");
	TAP_OK(&T, berth_lazy_unload_idle(0) == 0 && mapped("libz.so"), "never unloaded while a z_stream is live");
	TAP_OK(&T, inflateEnd(&z) == Z_OK && atomic_load(&berth_lazy_lib_zlib.live) == 0 && !z.zalloc,
	       "inflateEnd counts it back and leaves no pointer into libz");
	TAP_OK(&T, inflateEnd(&z) == Z_STREAM_ERROR && atomic_load(&berth_lazy_lib_zlib.live) == 0,
	       "an ended stream ended again is not counted twice");
	z_stream never = {0};
	TAP_OK(&T, inflateEnd(&never) == Z_STREAM_ERROR && atomic_load(&berth_lazy_lib_zlib.live) == 0,
	       "nor is one never initialised");
	TAP_OK(&T,
	       deflateInit2(&z, 99, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) == Z_STREAM_ERROR &&
		       atomic_load(&berth_lazy_lib_zlib.live) == 0 && !z.zalloc,
	       "a failed initialiser makes no object and leaves no pointer into libz");
	TAP_OK(&T, berth_lazy_unload_idle(0) == 1 && !mapped("libz.so"), "unloaded again");
	TAP_OK(&T, inflateEnd(&z) == -1 && !mapped("libz.so"), "an end never loads it");
	/* the same struct initialised again after the unload: zlib takes the
	 * allocators of the library loaded now */
	TAP_OK(&T, inflateInit2(&z, 16 + MAX_WBITS) == Z_OK && inflateEnd(&z) == Z_OK,
	       "a stream ended before an unload initialises again after it");
	TAP_OK(&T, crc32_z(0, (const Bytef *)"a", 1) == 0xe8b7be43, "crc32_z forwards");

	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	gzFile f = gzdopen(fd, "rb");
	TAP_OK(&T, f && atomic_load(&berth_lazy_lib_zlib.live) == 1, "gzdopen makes a live object");
	TAP_OK(&T, berth_lazy_unload_idle(0) == 0 && mapped("libz.so"), "never unloaded while a gzFile is open");
	TAP_OK(&T, gzclose(f) == Z_OK && atomic_load(&berth_lazy_lib_zlib.live) == 0, "gzclose counts it back");

	TAP_OK(&T, race(zroundtrip), "4 threads using zlib while another unloads it: no failure");
	TAP_OK(&T, atomic_load(&berth_lazy_lib_zlib.live) == 0, "every z_stream and gzFile counted back");
	berth_lazy_unload_idle(0);
	TAP_OK(&T, !mapped("libz.so"), "zlib unloaded after the threads are done");
}

int main(void)
{
	zlib_cases();
	TAP_OK(&T, !mapped("libarchive"), "libarchive is not loaded before the first call");
	TAP_OK(&T, roundtrip() == 0, "a tar written and read back through the forwarders");
	TAP_OK(&T, mapped("libarchive"), "the first call loaded libarchive");
	TAP_OK(&T, berth_lazy_unload_idle(60000) == 0, "not unloaded before it has been idle long enough");
	TAP_OK(&T, berth_lazy_unload_idle(0) == 1 && !mapped("libarchive"), "unloaded when idle: no longer mapped");
	TAP_OK(&T, berth_lazy_unload_idle(0) == 0, "nothing more to unload");

	struct archive *held = archive_read_new();
	TAP_OK(&T, held && mapped("libarchive"), "a constructor loads it again");
	TAP_OK(&T, berth_lazy_unload_idle(0) == 0 && mapped("libarchive"), "never unloaded while an object is alive");
	archive_read_free(held);
	TAP_OK(&T, atomic_load(&berth_lazy_lib_archive.live) == 0, "the object is counted back when freed");

	TAP_OK(&T, race(roundtrip), "4 threads using libarchive while another unloads it: no failure");
	TAP_OK(&T, atomic_load(&berth_lazy_lib_archive.live) == 0, "every object counted back");
	berth_lazy_unload_idle(0);
	TAP_OK(&T, !mapped("libarchive"), "unloaded after the threads are done");
	TAP_OK(&T, roundtrip() == 0 && mapped("libarchive"), "and used again");
	return TAP_DONE(&T);
}
