/* common/threads: threads on stacks their set owns, joined and unmapped by
 * the threads that finish after them. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/threads.h"
#include "tap.h"

/* an odd stack size, to find the set's mappings in /proc/self/maps */
#define ODD_STACK (3 * 1024 * 1024 + 5 * 4096)

struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int arrived;
	bool go;
	atomic_int ran;
	uintptr_t lo, hi; /* a stack variable's address, lowest and highest seen */
	struct berth_threads *set;
	atomic_int nested_ran;
};

static void note_stack(struct shared *s, uintptr_t a)
{
	pthread_mutex_lock(&s->mu);
	if (!s->lo || a < s->lo)
		s->lo = a;
	if (a > s->hi)
		s->hi = a;
	pthread_mutex_unlock(&s->mu);
}

/* waits until every thread of the burst has arrived, then ends */
static void barrier_fn(void *arg)
{
	struct shared *s = arg;
	volatile char mark = 1;
	note_stack(s, (uintptr_t)&mark);
	pthread_mutex_lock(&s->mu);
	s->arrived++;
	pthread_cond_broadcast(&s->cv);
	while (!s->go)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	atomic_fetch_add(&s->ran, 1);
}

/* the set's stack mappings (found by their size) and their resident KiB */
static size_t odd_mappings(size_t *rss_kib)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	size_t n = 0, rss = 0;
	bool in = false;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b, kib;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s ", &a, &b, perm) == 3) {
			in = b - a == ODD_STACK;
			n += in;
		} else if (in && sscanf(line, "Rss: %lu kB", &kib) == 1) {
			rss += kib;
		}
	}
	if (f)
		fclose(f);
	if (rss_kib)
		*rss_kib = rss;
	return n;
}

static void wait_idle(struct berth_threads *set)
{
	for (int i = 0; i < 500 && berth_threads_running(set) > 0; i++)
		usleep(2000);
	usleep(20000); /* the last ones' exit and joins */
}

static void test_burst(struct tap *t)
{
	struct shared s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct berth_threads *set = berth_threads_new(ODD_STACK);
	TAP_OK(t, set != NULL, "new set");
	enum { N = 24 };
	int started = 0;
	for (int i = 0; i < N; i++)
		started += berth_threads_spawn(set, barrier_fn, &s) == 0;
	TAP_OK(t, started == N, "%d threads spawned", N);
	pthread_mutex_lock(&s.mu);
	while (s.arrived < N)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	TAP_OK(t, berth_threads_running(set) == N, "all %d running at once", N);
	size_t during_rss = 0, during = odd_mappings(&during_rss);
	TAP_OK(t, during == N, "each runs on a stack of the set's size (%zu mappings, %zu KiB)", during, during_rss);
	pthread_mutex_lock(&s.mu);
	s.go = true;
	pthread_cond_broadcast(&s.cv);
	pthread_mutex_unlock(&s.mu);
	wait_idle(set);
	TAP_OK(t, atomic_load(&s.ran) == N && berth_threads_running(set) == 0, "every function ran to its end");
	/* glibc would keep all 24 stacks cached, each with its thread
	 * descriptor and TLS pages resident; here they are kept emptied but
	 * for the last finished thread's, not joined yet */
	size_t after_rss = 0;
	odd_mappings(&after_rss);
	TAP_OK(t, after_rss <= 64, "after the burst the %d stacks hold %zu KiB (at most 64)", N, after_rss);
	/* the next burst reuses them */
	s.go = false;
	s.arrived = 0;
	for (int i = 0; i < 4; i++)
		berth_threads_spawn(set, barrier_fn, &s);
	pthread_mutex_lock(&s.mu);
	while (s.arrived < 4)
		pthread_cond_wait(&s.cv, &s.mu);
	s.go = true;
	pthread_cond_broadcast(&s.cv);
	pthread_mutex_unlock(&s.mu);
	berth_threads_free(set); /* waits for them */
	TAP_OK(t, atomic_load(&s.ran) == N + 4, "free waits for running threads");
	TAP_OK(t, odd_mappings(NULL) == 0, "free unmaps every stack");
}

/* uses half of a 256 KiB stack */
static void deep_fn(void *arg)
{
	struct shared *s = arg;
	volatile char big[128 * 1024];
	memset((char *)big, 7, sizeof(big));
	if (big[sizeof(big) - 1] == 7)
		atomic_fetch_add(&s->ran, 1);
}

static void nested_child(void *arg)
{
	struct shared *s = arg;
	atomic_fetch_add(&s->nested_ran, 1);
}

/* a thread of the set spawns another */
static void nested_parent(void *arg)
{
	struct shared *s = arg;
	if (berth_threads_spawn(s->set, nested_child, s) == 0)
		atomic_fetch_add(&s->ran, 1);
}

static void test_deep_and_nested(struct tap *t)
{
	struct shared s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct berth_threads *set = berth_threads_new(256 * 1024);
	s.set = set;
	for (int i = 0; i < 3; i++)
		berth_threads_spawn(set, deep_fn, &s);
	wait_idle(set);
	TAP_OK(t, atomic_load(&s.ran) == 3, "a thread uses 128 KiB of its 256 KiB stack (reused stacks too)");
	atomic_store(&s.ran, 0);
	for (int i = 0; i < 8; i++)
		berth_threads_spawn(set, nested_parent, &s);
	wait_idle(set);
	berth_threads_free(set);
	TAP_OK(t, atomic_load(&s.ran) == 8 && atomic_load(&s.nested_ran) == 8, "threads spawn threads in the same set");
}

/* records the thread it ran on */
struct who {
	atomic_int ran;
	pthread_t tid[8];
};

static void who_fn(void *arg)
{
	struct who *w = arg;
	int i = atomic_fetch_add(&w->ran, 1);
	if (i < 8)
		w->tid[i] = pthread_self();
}

static void wait_ran(struct who *w, int n)
{
	for (int i = 0; i < 1000 && atomic_load(&w->ran) < n; i++)
		usleep(1000);
}

/* A lingering thread runs the next spawn's function; one whose time ran
 * out ended (the next spawn makes a new thread); free ends lingering ones
 * at once. */
static void test_linger(struct tap *t)
{
	struct berth_threads *set = berth_threads_new(ODD_STACK);
	berth_threads_set_linger(set, 400);
	struct who w = {0};
	berth_threads_spawn(set, who_fn, &w);
	wait_ran(&w, 1);
	usleep(20000);
	TAP_OK(t, berth_threads_running(set) == 0, "a lingering thread does not count as running");
	berth_threads_spawn(set, who_fn, &w);
	wait_ran(&w, 2);
	TAP_OK(t, atomic_load(&w.ran) == 2 && pthread_equal(w.tid[0], w.tid[1]),
	       "the next spawn within the linger time runs on the same thread");
	usleep(800000);
	berth_threads_spawn(set, who_fn, &w);
	wait_ran(&w, 3);
	TAP_OK(t, atomic_load(&w.ran) == 3 && !pthread_equal(w.tid[1], w.tid[2]),
	       "after the linger time ran out, a new thread");
	berth_threads_free(set);
	TAP_OK(t, odd_mappings(NULL) == 0, "free unmaps the stacks");
	/* lingering for a minute: free must not wait that out (the test's
	 * time limit would) */
	set = berth_threads_new(ODD_STACK);
	berth_threads_set_linger(set, 60000);
	berth_threads_spawn(set, who_fn, &w);
	wait_ran(&w, 4);
	usleep(20000);
	TAP_OK(t, odd_mappings(NULL) == 1, "a thread lingers");
	berth_threads_free(set);
	TAP_OK(t, atomic_load(&w.ran) == 4 && odd_mappings(NULL) == 0, "free ends the lingering thread and unmaps it");
}

int main(void)
{
	struct tap t = {0};
	test_burst(&t);
	test_deep_and_nested(&t);
	test_linger(&t);
	return TAP_DONE(&t);
}
