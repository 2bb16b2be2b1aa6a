#include "threads.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

/* joined threads' stacks kept for reuse: emptied (MADV_DONTNEED), they
 * cost no memory, and a burst of requests does not mmap and munmap (a TLB
 * flush on every core) a stack per connection */
#define STACK_CACHE 64

struct th {
	struct berth_threads *set;
	void (*fn)(void *);
	void *arg;
	pthread_t tid; /* set by the thread itself before it is listed as done */
	void *map;     /* guard page + stack: map_len(set) bytes */
	struct th *next;
};

struct berth_threads {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t page, stack; /* page size; stack size without the guard page */
	size_t running;     /* spawned, function not returned yet */
	struct th *done;    /* function returned, not joined yet */
	/* joined threads' stacks (mappings), emptied, for reuse: addresses
	 * only, no record allocated per cached stack to pin a heap page */
	void *cache[STACK_CACHE];
	size_t ncache;
};

struct berth_threads *berth_threads_new(size_t stack_size)
{
	struct berth_threads *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	long pg = sysconf(_SC_PAGESIZE);
	t->page = pg > 0 ? (size_t)pg : 4096;
	size_t want = stack_size ? stack_size : 1024 * 1024;
	if (want < 64 * 1024)
		want = 64 * 1024;
	t->stack = (want + t->page - 1) / t->page * t->page;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	return t;
}

static size_t map_len(struct berth_threads *t) { return t->stack + t->page; }

static void th_unmap(struct berth_threads *t, struct th *h)
{
	munmap(h->map, map_len(t));
	free(h);
}

/* Join the finished threads of list; their stacks go to the cache
 * (emptied) or back to the kernel, their records are freed. */
static void reap(struct berth_threads *t, struct th *list)
{
	while (list) {
		struct th *h = list;
		list = h->next;
		pthread_join(h->tid, NULL);
		madvise((char *)h->map + t->page, t->stack, MADV_DONTNEED);
		pthread_mutex_lock(&t->mu);
		bool keep = t->ncache < STACK_CACHE;
		if (keep)
			t->cache[t->ncache++] = h->map;
		pthread_mutex_unlock(&t->mu);
		if (keep)
			free(h);
		else
			th_unmap(t, h);
	}
}

static void *trampoline(void *p)
{
	struct th *h = p;
	struct berth_threads *t = h->set;
	h->fn(h->arg);
	berth_thread_stack_release();
	pthread_mutex_lock(&t->mu);
	struct th *earlier = t->done;
	h->tid = pthread_self();
	h->next = NULL;
	t->done = h;
	t->running--;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	reap(t, earlier);
	return NULL;
}

int berth_threads_spawn(struct berth_threads *t, void (*fn)(void *), void *arg)
{
	struct th *h = calloc(1, sizeof(*h));
	if (!h)
		return ENOMEM;
	pthread_mutex_lock(&t->mu);
	h->map = t->ncache ? t->cache[--t->ncache] : NULL;
	pthread_mutex_unlock(&t->mu);
	if (!h->map) {
		h->map = mmap(NULL, map_len(t), PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
		if (h->map == MAP_FAILED) {
			int e = errno;
			free(h);
			return e;
		}
		if (mprotect(h->map, t->page, PROT_NONE) < 0) {
			int e = errno;
			th_unmap(t, h);
			return e;
		}
	}
	h->set = t;
	h->fn = fn;
	h->arg = arg;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstack(&a, (char *)h->map + t->page, t->stack);
	pthread_mutex_lock(&t->mu);
	t->running++;
	pthread_mutex_unlock(&t->mu);
	pthread_t tid;
	int e = pthread_create(&tid, &a, trampoline, h);
	pthread_attr_destroy(&a);
	if (e) {
		pthread_mutex_lock(&t->mu);
		t->running--;
		pthread_mutex_unlock(&t->mu);
		th_unmap(t, h);
	}
	return e;
}

size_t berth_threads_running(struct berth_threads *t)
{
	pthread_mutex_lock(&t->mu);
	size_t n = t->running;
	pthread_mutex_unlock(&t->mu);
	return n;
}

void berth_threads_free(struct berth_threads *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	while (t->running)
		pthread_cond_wait(&t->cv, &t->mu);
	struct th *list = t->done;
	t->done = NULL;
	pthread_mutex_unlock(&t->mu);
	/* a thread still reaping joins no one listed here: it took its list
	 * before it listed itself, and every one of them is joined below or
	 * by it before it exits, which joining it waits for */
	reap(t, list);
	for (size_t i = 0; i < t->ncache; i++)
		munmap(t->cache[i], map_len(t));
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}
