#ifndef BERTH_LAZY_H
#define BERTH_LAZY_H

/* Libraries loaded on first use. A front-end that calls a heavy library
 * only on some paths (the shim: libcurl and OpenSSL only for the awslogs
 * driver and TLS log endpoints) defines that library's functions itself
 * with BERTH_LAZY_FN: each definition loads the library at its first call
 * and forwards to the real function. The linker (--as-needed) then drops
 * the library from the executable's dependencies, so a process that never
 * takes such a path never maps it: a shim holding a json-file container
 * saves the pages (relocations, data) of some twenty libraries.
 *
 * The cache of each forwarder is a static in the front-end's own file: the
 * library (src/lib) keeps no global state. */

#include <stdatomic.h>
#include <stdbool.h>

/* The address of name in lib (an soname such as "libcurl.so.4"), loading
 * the library when load is true; NULL (and a line on stderr when load is
 * true) when it cannot be had. A library once loaded stays loaded. */
void *berth_lazy_sym(const char *lib, const char *name, bool load);

/* The cached address of name in lib: the one lookup every forwarder
 * makes (the cache is the forwarder's own static). */
static inline void *berth_lazy_resolve(_Atomic(void *) *cache, const char *lib, const char *name, bool load)
{
	void *f = atomic_load_explicit(cache, memory_order_acquire);
	if (!f && (f = berth_lazy_sym(lib, name, load)))
		atomic_store_explicit(cache, f, memory_order_release);
	return f;
}

/* ret name params: forwards args to lib's name, or returns fail when the
 * library cannot be loaded. load false: only when something else loaded
 * the library already (cleanup calls that have nothing to do otherwise). */
#define BERTH_LAZY_FN(lib, load, ret, name, params, args, fail)                                                        \
	ret name params                                                                                                \
	{                                                                                                              \
		static _Atomic(void *) cache_;                                                                         \
		void *f_ = berth_lazy_resolve(&cache_, lib, #name, load);                                              \
		if (!f_)                                                                                               \
			return fail;                                                                                   \
		return ((ret(*) params)f_)args;                                                                        \
	}

#define BERTH_LAZY_VOID(lib, load, name, params, args)                                                                 \
	void name params                                                                                               \
	{                                                                                                              \
		static _Atomic(void *) cache_;                                                                         \
		void *f_ = berth_lazy_resolve(&cache_, lib, #name, load);                                              \
		if (f_)                                                                                                \
			((void(*) params)f_) args;                                                                     \
	}

#endif
