#include "lazy.h"

#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

void *berth_lazy_sym(const char *lib, const char *name, bool load)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | (load ? 0 : RTLD_NOLOAD));
	if (!h) {
		if (load)
			fprintf(stderr, "cannot load %s: %s\n", lib, dlerror());
		return NULL;
	}
	void *f = dlsym(h, name);
	if (!f && load)
		fprintf(stderr, "%s has no %s: %s\n", lib, name, dlerror());
	return f;
}

/* ---- libraries unloaded when idle ---- */

struct berth_lazy_lib berth_lazy_lib_archive = BERTH_LAZY_LIB_INIT("libarchive.so.13");
struct berth_lazy_lib berth_lazy_lib_zstd = BERTH_LAZY_LIB_INIT("libzstd.so.1");
struct berth_lazy_lib berth_lazy_lib_zlib = BERTH_LAZY_LIB_INIT("libz.so.1");
static struct berth_lazy_lib *const unloadable[] = {&berth_lazy_lib_archive, &berth_lazy_lib_zstd,
						    &berth_lazy_lib_zlib};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void *berth_lazy_usym(struct berth_lazy_lib *lib, _Atomic(void *) *cache, atomic_uint *gen, const char *name, bool load)
{
	pthread_mutex_lock(&lib->mu);
	void *h = atomic_load(&lib->handle);
	if (!h && load) {
		if ((h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL))) {
			atomic_store(&lib->last_ns, now_ns());
			atomic_store(&lib->handle, h);
		} else {
			fprintf(stderr, "cannot load %s: %s\n", lib->soname, dlerror());
		}
	}
	void *f = h ? dlsym(h, name) : NULL;
	if (h && !f && load)
		fprintf(stderr, "%s has no %s: %s\n", lib->soname, name, dlerror());
	if (f) {
		/* the generation cannot change meanwhile: the caller holds use */
		atomic_store_explicit(cache, f, memory_order_relaxed);
		atomic_store_explicit(gen, atomic_load(&lib->gen), memory_order_release);
	}
	pthread_mutex_unlock(&lib->mu);
	return f;
}

void berth_lazy_ufreed(struct berth_lazy_lib *lib)
{
	atomic_store(&lib->last_ns, now_ns());
	atomic_fetch_sub(&lib->live, 1);
}

int berth_lazy_unload_idle(int64_t idle_ms)
{
	int n = 0;
	for (size_t i = 0; i < sizeof(unloadable) / sizeof(unloadable[0]); i++) {
		struct berth_lazy_lib *lib = unloadable[i];
		if (!atomic_load(&lib->handle) || atomic_load(&lib->live) > 0 ||
		    now_ns() - atomic_load(&lib->last_ns) < idle_ms * 1000000)
			continue;
		/* no call in flight, and none starts until we are done */
		if (pthread_rwlock_trywrlock(&lib->use) != 0)
			continue;
		pthread_mutex_lock(&lib->mu);
		void *h = atomic_load(&lib->handle);
		if (h && atomic_load(&lib->live) == 0) {
			atomic_store(&lib->handle, NULL);
			atomic_fetch_add(&lib->gen, 1);
			dlclose(h);
			n++;
		}
		pthread_mutex_unlock(&lib->mu);
		pthread_rwlock_unlock(&lib->use);
	}
	return n;
}
