/* Same-size objects packed into pages (see slab.h). Each page starts with
 * its header; the free slots of a page form a list through their first
 * bytes; pages with a free slot are on the slab's list. */
#include "common/slab.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SLOT_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define SLOT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define SLOT_POISON(p, n) ((void)(p), (void)(n))
#define SLOT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct slab_page {
	struct slab_page *prev, *next; /* on the slab's list while a slot is free */
	void *free;                    /* first free slot */
	size_t used;
	size_t fresh; /* slots never handed out start at this index */
};

struct berth_slab {
	pthread_mutex_t mu;
	size_t size, per_page, page_size, off;
	struct slab_page *avail;
	size_t pages;
};

#define SLOT_ALIGN 16

struct berth_slab *berth_slab_new(size_t size)
{
	long ps = sysconf(_SC_PAGESIZE);
	size_t page = ps > 0 ? (size_t)ps : 4096;
	size = (size + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
	size_t off = (sizeof(struct slab_page) + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
	if (!size || size > page / 4)
		return NULL;
	struct berth_slab *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	s->size = size;
	s->page_size = page;
	s->off = off;
	s->per_page = (page - off) / size;
	return s;
}

static void unlink_page(struct berth_slab *s, struct slab_page *pg)
{
	if (pg->prev)
		pg->prev->next = pg->next;
	else
		s->avail = pg->next;
	if (pg->next)
		pg->next->prev = pg->prev;
	pg->prev = pg->next = NULL;
}

static void link_page(struct berth_slab *s, struct slab_page *pg)
{
	pg->prev = NULL;
	pg->next = s->avail;
	if (s->avail)
		s->avail->prev = pg;
	s->avail = pg;
}

void *berth_slab_calloc(struct berth_slab *s)
{
	pthread_mutex_lock(&s->mu);
	struct slab_page *pg = s->avail;
	if (!pg) {
		void *m = mmap(NULL, s->page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		pg = m; /* zero-filled: no free list, nothing used */
		SLOT_POISON((char *)m + s->off, s->per_page * s->size);
		link_page(s, pg);
		s->pages++;
	}
	void *p = pg->free ? pg->free : (char *)pg + s->off + pg->fresh++ * s->size;
	SLOT_UNPOISON(p, s->size);
	if (p == pg->free) /* off the page's free list: its next is in the slot */
		memcpy(&pg->free, p, sizeof(void *));
	if (++pg->used == s->per_page)
		unlink_page(s, pg);
	pthread_mutex_unlock(&s->mu);
	memset(p, 0, s->size);
	return p;
}

void berth_slab_free(struct berth_slab *s, void *p)
{
	if (!p)
		return;
	struct slab_page *pg = (struct slab_page *)((uintptr_t)p & ~(uintptr_t)(s->page_size - 1));
	pthread_mutex_lock(&s->mu);
	bool was_full = pg->used == s->per_page;
	if (--pg->used == 0) {
		if (!was_full)
			unlink_page(s, pg);
		s->pages--;
		pthread_mutex_unlock(&s->mu);
		munmap(pg, s->page_size);
		return;
	}
	memcpy(p, &pg->free, sizeof(void *));
	SLOT_POISON(p, s->size);
	pg->free = p;
	if (was_full)
		link_page(s, pg);
	pthread_mutex_unlock(&s->mu);
}

size_t berth_slab_pages(struct berth_slab *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->pages;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void berth_slab_destroy(struct berth_slab *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	bool empty = s->pages == 0;
	pthread_mutex_unlock(&s->mu);
	if (!empty) /* objects still out: their frees need the slab, and a leak checker sees it */
		return;
	pthread_mutex_destroy(&s->mu);
	free(s);
}
