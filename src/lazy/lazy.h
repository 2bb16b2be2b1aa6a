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

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The address of name in lib (an soname such as "libcurl.so.4"), loading
 * the library when load is true; NULL (and a line on stderr when load is
 * true) when it cannot be had. A library once loaded this way stays loaded
 * (struct berth_lazy_lib below: the ones unloaded when idle). */
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

/* ---- libraries unloaded again when idle (libarchive, libzstd, zlib) ----
 *
 * A loaded library's pages count in the process's RSS for as long as it
 * stays mapped: libarchive and what it pulls in (libxml2, ICU, nettle,
 * the decompressors) are 2.3 MiB that an idle berthd would keep after one
 * `load`. Their forwarders therefore count what is in flight, and
 * berth_lazy_unload_idle() closes a library that nothing uses:
 * - every call into the library holds `use` for reading for its whole
 *   duration (callbacks from the library into Berth that call it again
 *   take it again; the unloader only ever tries the write side);
 * - objects the library made and Berth holds between calls (an archive,
 *   an entry, a zstd context, a zlib z_stream or gzFile) are counted in
 *   `live`: constructor forwarders add one when they return an object (an
 *   initialiser such as inflateInit2_ when it makes the caller's z_stream
 *   one), destructor forwarders take it off after the object is freed;
 * - an unload bumps `gen`, which makes every forwarder look its function
 *   up again (and load the library again) at its next call;
 * - a call on such an object (a method: its first argument is one) needs
 *   no lock: the object itself keeps the library loaded. These are most
 *   calls (every field of every tar entry), so they cost what the
 *   forwarders of the other libraries cost.
 * Only libraries whose objects are all made and freed through such
 * forwarders may be unloadable. libcurl and OpenSSL never are (OpenSSL
 * pins itself, and both keep per-thread and atexit state). A z_stream
 * still points into libz after its end (the default allocators and the
 * message zlib filled in, even by a failed init): the end forwarders and
 * the initialisers that fail clear those (Berth gives
 * zlib no allocators of its own), so a stream initialised again after an
 * unload takes those of the library then loaded. */
struct berth_lazy_lib {
	const char *soname;
	pthread_rwlock_t use;   /* read: a call is in the library; write: unloading */
	pthread_mutex_t mu;     /* loading and unloading */
	_Atomic(void *) handle; /* our one dlopen reference, NULL when not loaded */
	atomic_uint gen;        /* unloads so far */
	atomic_long live;       /* objects of the library alive */
	atomic_llong last_ns;   /* CLOCK_MONOTONIC of the last load or object freed */
};
#define BERTH_LAZY_LIB_INIT(so)                                                                                        \
	{                                                                                                              \
		.soname = (so), .use = PTHREAD_RWLOCK_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER                     \
	}
extern struct berth_lazy_lib berth_lazy_lib_archive, berth_lazy_lib_zstd, berth_lazy_lib_zlib;

/* The address of name in lib, (re)loading lib when load is true. Call with
 * lib->use held for reading or an object of lib alive; *cache and *gen
 * are the forwarder's own. */
void *berth_lazy_usym(struct berth_lazy_lib *lib, _Atomic(void *) *cache, atomic_uint *gen, const char *name,
		      bool load);
static inline void *berth_lazy_uresolve(struct berth_lazy_lib *lib, _Atomic(void *) *cache, atomic_uint *gen,
					const char *name, bool load)
{
	/* *cache is stored before *gen: a current *gen means a current *cache */
	if (atomic_load_explicit(gen, memory_order_acquire) == atomic_load_explicit(&lib->gen, memory_order_relaxed)) {
		void *f = atomic_load_explicit(cache, memory_order_relaxed);
		if (f)
			return f;
	}
	return berth_lazy_usym(lib, cache, gen, name, load);
}
/* An object of lib was freed. */
void berth_lazy_ufreed(struct berth_lazy_lib *lib);

/* Closes every unloadable library that is loaded, has no object alive, no
 * call in flight, and whose last object was freed at least idle_ms ago.
 * Never waits for a user. Returns how many it closed. */
int berth_lazy_unload_idle(int64_t idle_ms);

/* How every forwarder of an unloadable library begins: its address cache,
 * the library's use lock taken (read side), f_ the function or NULL. */
#define BERTH_LAZY_UENTER_(lib, name, load)                                                                            \
	static _Atomic(void *) cache_;                                                                                 \
	static atomic_uint gen_;                                                                                       \
	pthread_rwlock_rdlock(&(lib).use);                                                                             \
	void *f_ = berth_lazy_uresolve(&(lib), &cache_, &gen_, #name, load)

/* A call of an unloadable library (see above). */
#define BERTH_LAZY_UFN(lib, load, ret, name, params, args, fail)                                                       \
	ret name params                                                                                                \
	{                                                                                                              \
		BERTH_LAZY_UENTER_(lib, name, load);                                                                   \
		ret r_ = fail;                                                                                         \
		if (f_)                                                                                                \
			r_ = ((ret(*) params)f_)args;                                                                  \
		pthread_rwlock_unlock(&(lib).use);                                                                     \
		return r_;                                                                                             \
	}
#define BERTH_LAZY_UVOID(lib, load, name, params, args)                                                                \
	void name params                                                                                               \
	{                                                                                                              \
		BERTH_LAZY_UENTER_(lib, name, load);                                                                   \
		if (f_)                                                                                                \
			((void(*) params)f_) args;                                                                     \
		pthread_rwlock_unlock(&(lib).use);                                                                     \
	}
/* A method: a0 is an object of lib, alive, which keeps lib loaded. */
#define BERTH_LAZY_UMETHOD(lib, ret, name, params, args, fail)                                                         \
	ret name params                                                                                                \
	{                                                                                                              \
		static _Atomic(void *) cache_;                                                                         \
		static atomic_uint gen_;                                                                               \
		void *f_ = berth_lazy_uresolve(&(lib), &cache_, &gen_, #name, true);                                   \
		if (!f_)                                                                                               \
			return fail;                                                                                   \
		return ((ret(*) params)f_)args;                                                                        \
	}
#define BERTH_LAZY_UMETHOD_VOID(lib, name, params, args)                                                               \
	void name params                                                                                               \
	{                                                                                                              \
		static _Atomic(void *) cache_;                                                                         \
		static atomic_uint gen_;                                                                               \
		void *f_ = berth_lazy_uresolve(&(lib), &cache_, &gen_, #name, true);                                   \
		if (f_)                                                                                                \
			((void(*) params)f_) args;                                                                     \
	}
/* A constructor (no arguments): a non-NULL result is a live object. */
#define BERTH_LAZY_UNEW(lib, ret, name)                                                                                \
	ret name(void)                                                                                                 \
	{                                                                                                              \
		BERTH_LAZY_UENTER_(lib, name, true);                                                                   \
		ret r_ = f_ ? ((ret(*)(void))f_)() : NULL;                                                             \
		if (r_)                                                                                                \
			atomic_fetch_add(&(lib).live, 1);                                                              \
		pthread_rwlock_unlock(&(lib).use);                                                                     \
		return r_;                                                                                             \
	}
/* A destructor of the object a0 (NULL: nothing to free). It never loads
 * the library: with no object alive there is nothing to free. */
#define BERTH_LAZY_UFREE(lib, ret, name, type0, fail)                                                                  \
	ret name(type0 a0)                                                                                             \
	{                                                                                                              \
		BERTH_LAZY_UENTER_(lib, name, false);                                                                  \
		ret r_ = fail;                                                                                         \
		if (f_)                                                                                                \
			r_ = ((ret(*)(type0))f_)(a0);                                                                  \
		if (f_ && a0)                                                                                          \
			berth_lazy_ufreed(&(lib));                                                                     \
		pthread_rwlock_unlock(&(lib).use);                                                                     \
		return r_;                                                                                             \
	}
#define BERTH_LAZY_UFREE_VOID(lib, name, type0)                                                                        \
	void name(type0 a0)                                                                                            \
	{                                                                                                              \
		BERTH_LAZY_UENTER_(lib, name, false);                                                                  \
		if (f_)                                                                                                \
			((void (*)(type0))f_)(a0);                                                                     \
		if (f_ && a0)                                                                                          \
			berth_lazy_ufreed(&(lib));                                                                     \
		pthread_rwlock_unlock(&(lib).use);                                                                     \
	}

/* A constructor with arguments (gzdopen): a non-NULL result is a live
 * object. */
#define BERTH_LAZY_UNEW_ARGS(lib, ret, name, params, args)                                                             \
	ret name params                                                                                                \
	{                                                                                                              \
		BERTH_LAZY_UENTER_(lib, name, true);                                                                   \
		ret r_ = f_ ? ((ret(*) params)f_)args : NULL;                                                          \
		if (r_)                                                                                                \
			atomic_fetch_add(&(lib).live, 1);                                                              \
		pthread_rwlock_unlock(&(lib).use);                                                                     \
		return r_;                                                                                             \
	}
/* An initialiser of an object the caller allocates (zlib's z_stream and
 * inflateInit2_): a result of ok makes a0 a live object; any other runs
 * undone(a0) (a failed inflateInit2_ may have filled in zlib's
 * allocators all the same). */
#define BERTH_LAZY_UINIT(lib, ret, name, params, args, fail, ok, undone)                                               \
	ret name params                                                                                                \
	{                                                                                                              \
		BERTH_LAZY_UENTER_(lib, name, true);                                                                   \
		ret r_ = f_ ? ((ret(*) params)f_)args : (fail);                                                        \
		if (f_ && r_ == (ok))                                                                                  \
			atomic_fetch_add(&(lib).live, 1);                                                              \
		else if (f_)                                                                                           \
			undone(a0);                                                                                    \
		pthread_rwlock_unlock(&(lib).use);                                                                     \
		return r_;                                                                                             \
	}
/* The end of the object a0 (inflateEnd, gzclose): a result other than
 * kept means the object was freed (kept: a0 was no object, nothing done),
 * and then done(a0) runs, still with use held. Never loads the library. */
#define BERTH_LAZY_UEND(lib, ret, name, type0, fail, kept, done)                                                       \
	ret name(type0 a0)                                                                                             \
	{                                                                                                              \
		BERTH_LAZY_UENTER_(lib, name, false);                                                                  \
		ret r_ = f_ ? ((ret(*)(type0))f_)(a0) : (fail);                                                        \
		if (f_ && r_ != (kept)) {                                                                              \
			done(a0);                                                                                      \
			berth_lazy_ufreed(&(lib));                                                                     \
		}                                                                                                      \
		pthread_rwlock_unlock(&(lib).use);                                                                     \
		return r_;                                                                                             \
	}
#define BERTH_LAZY_NOTHING(a) ((void)(a))

#endif
