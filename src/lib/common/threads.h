/* Short-lived threads whose stacks their spawner owns.
 *
 * glibc keeps the stack of every exited thread in a cache (up to 40 MiB)
 * and with it the thread descriptor and TLS pages at its top: after a burst
 * of 20 parallel requests berthd kept 22 such stacks, 8 KiB resident each,
 * for good. Threads spawned here run on stacks mmap'd by the set (a guard
 * page below); each thread, when its function returns, joins the threads
 * that finished before it and empties their stacks (MADV_DONTNEED; up to 64
 * are kept for the next spawns, the others unmapped), so at most one
 * finished thread's stack pages are left resident after a burst. Thread-safe; spawn from any thread. */
#pragma once
#include <stddef.h>

struct berth_threads;

/* stack_size: each thread's stack (rounded up to pages; 0: 1 MiB) */
struct berth_threads *berth_threads_new(size_t stack_size);
/* Run fn(arg) on a new thread. 0, or an errno value (nothing started). */
int berth_threads_spawn(struct berth_threads *t, void (*fn)(void *), void *arg);
/* A thread whose function returned waits up to ms for the next spawn and
 * runs its function instead of a new thread being made (a thread's
 * creation, exit, join and the page faults of a fresh stack saved per
 * connection in a burst); then it ends as above. 0 (the default): no
 * waiting. */
void berth_threads_set_linger(struct berth_threads *t, long ms);
/* Threads whose function has not returned yet (lingering ones do not count) */
size_t berth_threads_running(struct berth_threads *t);
/* Waits for every thread's function to return, joins them, frees the set. */
void berth_threads_free(struct berth_threads *t);
