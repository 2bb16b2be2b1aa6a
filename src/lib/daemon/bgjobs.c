/* Background jobs: a count, a closing flag and a wake-up pipe (bgjobs.h). */
#include "daemon/bgjobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/threads.h"
#include "common/util.h"

int berth_bgjobs_init(struct berth_bgjobs *j)
{
	*j = (struct berth_bgjobs){.wake = {-1, -1}};
	if (pipe2(j->wake, O_CLOEXEC) < 0)
		return -1;
	/* glibc's default for a thread: jobs run daemon code that may keep
	 * big buffers on the stack; only touched pages cost */
	j->threads = berth_threads_new(8 * 1024 * 1024);
	if (!j->threads) {
		close(j->wake[0]);
		close(j->wake[1]);
		return -1;
	}
	pthread_mutex_init(&j->mu, NULL);
	berth_cond_init_monotonic(&j->cv);
	j->inited = true;
	return 0;
}

static bool begin(struct berth_bgjobs *j)
{
	if (!j->inited)
		return false;
	pthread_mutex_lock(&j->mu);
	bool ok = !j->closing;
	if (ok)
		j->count++;
	pthread_mutex_unlock(&j->mu);
	return ok;
}

static void end(struct berth_bgjobs *j)
{
	pthread_mutex_lock(&j->mu);
	j->count--;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

struct job {
	struct berth_bgjobs *jobs;
	void (*fn)(void *);
	void *arg;
};

static void job_main(void *p)
{
	struct job job = *(struct job *)p;
	free(p);
	job.fn(job.arg);
	end(job.jobs);
}

bool berth_bgjobs_run(struct berth_bgjobs *j, void (*fn)(void *), void *arg)
{
	struct job *job = malloc(sizeof(*job));
	if (!job || !begin(j)) {
		free(job);
		return false;
	}
	*job = (struct job){.jobs = j, .fn = fn, .arg = arg};
	if (berth_threads_spawn(j->threads, job_main, job) != 0) {
		free(job);
		end(j);
		return false;
	}
	return true;
}

bool berth_bgjobs_closing(struct berth_bgjobs *j)
{
	if (!j->inited)
		return true;
	pthread_mutex_lock(&j->mu);
	bool c = j->closing;
	pthread_mutex_unlock(&j->mu);
	return c;
}

bool berth_bgjobs_sleep(struct berth_bgjobs *j, int ms)
{
	struct timespec ts = berth_deadline_ms(CLOCK_MONOTONIC, ms);
	pthread_mutex_lock(&j->mu);
	while (!j->closing && pthread_cond_timedwait(&j->cv, &j->mu, &ts) != ETIMEDOUT) {
	}
	bool ok = !j->closing;
	pthread_mutex_unlock(&j->mu);
	return ok;
}

int berth_bgjobs_wake_fd(struct berth_bgjobs *j) { return j->inited ? j->wake[0] : -1; }

void berth_bgjobs_close(struct berth_bgjobs *j)
{
	if (!j->inited)
		return;
	pthread_mutex_lock(&j->mu);
	j->closing = true;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	if (write(j->wake[1], "x", 1) < 0) {
		/* the flag and the broadcast still wake the sleepers */
	}
	pthread_mutex_lock(&j->mu);
	while (j->count > 0)
		pthread_cond_wait(&j->cv, &j->mu);
	pthread_mutex_unlock(&j->mu);
	berth_threads_free(j->threads); /* joins them: they have ended their jobs */
	j->threads = NULL;
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	close(j->wake[0]);
	close(j->wake[1]);
	j->inited = false;
}
