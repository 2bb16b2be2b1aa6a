#include "threads.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
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
	/* lingering: on the set's idle list, waiting for a spawn to hand it
	 * a function (assigned) or for its time to run out */
	pthread_cond_t wake;
	bool assigned;
};

struct berth_threads {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t page, stack; /* page size; stack size without the guard page */
	size_t running;     /* spawned, function not returned yet */
	struct th *done;    /* function returned, not joined yet */
	struct th *idle;    /* function returned, lingering for another (next) */
	size_t nidle;
	long linger_ms; /* 0: a thread ends when its function returns */
	bool closing;   /* berth_threads_free: no more lingering */
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
	pthread_cond_destroy(&h->wake);
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
		if (keep) {
			pthread_cond_destroy(&h->wake);
			free(h);
		} else {
			th_unmap(t, h);
		}
	}
}

/* After its function returned (lock held): wait on the idle list for up to
 * the set's linger time. True when a spawn handed it another function. */
static bool linger(struct berth_threads *t, struct th *h)
{
	if (t->linger_ms <= 0 || t->closing)
		return false;
	h->assigned = false;
	h->next = t->idle;
	t->idle = h;
	t->nidle++;
	struct timespec until = berth_deadline_ms(CLOCK_MONOTONIC, t->linger_ms);
	while (!h->assigned && !t->closing)
		if (pthread_cond_timedwait(&h->wake, &t->mu, &until) == ETIMEDOUT)
			break;
	if (h->assigned)
		return true; /* the spawn took it off the list */
	for (struct th **pp = &t->idle; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	t->nidle--;
	return false;
}

static void *trampoline(void *p)
{
	struct th *h = p;
	struct berth_threads *t = h->set;
	for (;;) {
		h->fn(h->arg);
		pthread_mutex_lock(&t->mu);
		t->running--;
		pthread_cond_broadcast(&t->cv);
		if (!linger(t, h))
			break;
		pthread_mutex_unlock(&t->mu);
	}
	/* still locked: listed as done in the same hold that ended it, so
	 * free's wait sees it either lingering or done */
	struct th *earlier = t->done;
	h->tid = pthread_self();
	h->next = NULL;
	t->done = h;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	berth_thread_stack_release();
	reap(t, earlier);
	return NULL;
}

int berth_threads_spawn(struct berth_threads *t, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&t->mu);
	struct th *h = t->idle;
	if (h) { /* a lingering thread runs it: no thread made, no stack touched anew */
		t->idle = h->next;
		t->nidle--;
		h->fn = fn;
		h->arg = arg;
		h->assigned = true;
		t->running++;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&t->mu);
		return 0;
	}
	pthread_mutex_unlock(&t->mu);
	h = calloc(1, sizeof(*h));
	if (!h)
		return ENOMEM;
	berth_cond_init_monotonic(&h->wake); /* linger's deadline */
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

void berth_threads_set_linger(struct berth_threads *t, long ms)
{
	pthread_mutex_lock(&t->mu);
	t->linger_ms = ms > 0 ? ms : 0;
	pthread_mutex_unlock(&t->mu);
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
	t->closing = true;
	for (struct th *h = t->idle; h; h = h->next)
		pthread_cond_signal(&h->wake);
	while (t->running || t->nidle)
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
