/* A pool of same-size objects packed into pages of their own. For objects
 * that live long and are made in the middle of requests (a container's
 * block): from malloc, each would land among the request's temporaries and
 * keep a heap page resident after they are freed (measured: 19 of berthd's
 * 124 idle heap pages held one 848-byte container block each). Thread-safe.
 * Objects are zeroed; a page goes back to the kernel when its last object
 * is freed. Under AddressSanitizer a free slot is poisoned. */
#pragma once
#include <stddef.h>

struct berth_slab;

/* NULL when out of memory or size is 0 or over a quarter of a page. */
struct berth_slab *berth_slab_new(size_t size);
/* A zeroed object; NULL when out of memory. */
void *berth_slab_calloc(struct berth_slab *s);
void berth_slab_free(struct berth_slab *s, void *p);
/* Pages in use (tests). */
size_t berth_slab_pages(struct berth_slab *s);
/* Frees the slab once every object was freed; with objects still out it
 * stays (their frees still work) and is leaked. */
void berth_slab_destroy(struct berth_slab *s);
