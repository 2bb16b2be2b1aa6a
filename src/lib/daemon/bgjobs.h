/* Background jobs of the daemon: restart back-offs, auto-removal, start by
 * restart policy at daemon start, exec exit waiters. They run on threads
 * of their own (common/threads.h) and use the daemon; berth_bgjobs_close (first thing in
 * berth_daemon_close) makes new ones refuse to begin, wakes the ones asleep
 * and waits until every one has ended, so none touches a closed daemon. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

struct berth_threads;

struct berth_bgjobs {
	struct berth_threads *threads; /* the jobs' (common/threads.h) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int count;
	bool closing;
	bool inited;
	int wake[2]; /* readable once closing (for poll) */
};

int berth_bgjobs_init(struct berth_bgjobs *j);
/* Run fn(arg) on a thread of its own, counted as a job until fn returns.
 * False when nothing was started (closing, or no thread): arg is still the
 * caller's. */
bool berth_bgjobs_run(struct berth_bgjobs *j, void (*fn)(void *), void *arg);
bool berth_bgjobs_closing(struct berth_bgjobs *j);
/* Sleep ms milliseconds; false (at once) when the daemon closes meanwhile. */
bool berth_bgjobs_sleep(struct berth_bgjobs *j, int ms);
/* A descriptor that becomes readable when the daemon closes; -1 if none. */
int berth_bgjobs_wake_fd(struct berth_bgjobs *j);
/* Refuse new jobs, wake sleeping ones, wait for all to end; frees nothing
 * else. Safe on a zeroed (never initialised) struct. */
void berth_bgjobs_close(struct berth_bgjobs *j);
