/* src/lazy: libarchive unloaded when idle (lazy.h). Linked with the
 * forwarders, not with libarchive: threads make, use and free archive
 * objects while another keeps trying to unload the library; it is never
 * unloaded under them, every object is counted back, and once all are gone
 * the library leaves the process and comes back at the next call. */
#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static void *user(void *arg)
{
	(void)arg;
	/* pauses leave moments with no object alive: the unloader's chance */
	for (int i = 0; i < 200 && !atomic_load(&stop); i++) {
		if (roundtrip() < 0)
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

int main(void)
{
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

	pthread_t u[4], un;
	pthread_create(&un, NULL, unloader, NULL);
	for (int i = 0; i < 4; i++)
		pthread_create(&u[i], NULL, user, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(u[i], NULL);
	atomic_store(&stop, true);
	pthread_join(un, NULL);
	TAP_OK(&T, atomic_load(&failures) == 0, "4 threads using libarchive while another unloads it: no failure");
	printf("# %d unloads meanwhile\n", atomic_load(&unloads));
	TAP_OK(&T, atomic_load(&berth_lazy_lib_archive.live) == 0, "every object counted back");
	berth_lazy_unload_idle(0);
	TAP_OK(&T, !mapped("libarchive"), "unloaded after the threads are done");
	TAP_OK(&T, roundtrip() == 0 && mapped("libarchive"), "and used again");
	return TAP_DONE(&T);
}
