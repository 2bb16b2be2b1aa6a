/* common/slab: objects are zeroed, distinct and packed into shared pages;
 * freed slots are reused; a page goes when its last object does. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/slab.h"
#include "tap.h"

#define OBJ 848
#define N 64

static void *churn(void *arg)
{
	struct berth_slab *s = arg;
	for (int i = 0; i < 2000; i++) {
		unsigned char *a = berth_slab_calloc(s), *b = berth_slab_calloc(s);
		if (!a || !b || a[0] || b[OBJ - 1])
			return (void *)1;
		memset(a, 0xa5, OBJ);
		memset(b, 0x5a, OBJ);
		berth_slab_free(s, a);
		berth_slab_free(s, b);
	}
	return NULL;
}

int main(void)
{
	struct tap t = {0};
	long page = sysconf(_SC_PAGESIZE);
	TAP_OK(&t, berth_slab_new(0) == NULL && berth_slab_new((size_t)page) == NULL,
	       "no slab for empty objects nor objects over a quarter page");
	struct berth_slab *s = berth_slab_new(OBJ);
	TAP_OK(&t, s != NULL, "a slab of %d-byte objects", OBJ);
	unsigned char *o[N];
	int zero = 1, aligned = 1, apart = 1;
	for (int i = 0; i < N; i++) {
		o[i] = berth_slab_calloc(s);
		for (int k = 0; o[i] && k < OBJ; k++)
			zero &= o[i][k] == 0;
		aligned &= o[i] && (uintptr_t)o[i] % 16 == 0;
		if (o[i])
			memset(o[i], i + 1, OBJ);
	}
	for (int i = 0; i < N; i++)
		for (int k = 0; k < OBJ; k++)
			apart &= o[i][k] == (unsigned char)(i + 1);
	TAP_OK(&t, zero && aligned, "objects are zeroed and 16-byte aligned");
	TAP_OK(&t, apart, "objects do not overlap");
	size_t pages = berth_slab_pages(s);
	TAP_OK(&t, pages * (size_t)page < (size_t)N * OBJ * 3 / 2 && pages >= (size_t)N * OBJ / (size_t)page,
	       "%d objects packed into %zu pages", N, pages);
	for (int i = 0; i < N; i += 2)
		berth_slab_free(s, o[i]);
	TAP_OK(&t, berth_slab_pages(s) == pages, "a page with a live object stays");
	unsigned char *again = berth_slab_calloc(s);
	int reused = 0;
	for (int i = 0; i < N; i += 2)
		reused |= again == o[i];
	TAP_OK(&t, reused && again[0] == 0 && berth_slab_pages(s) == pages, "a freed slot is reused, zeroed");
	berth_slab_free(s, again);
	for (int i = 1; i < N; i += 2)
		berth_slab_free(s, o[i]);
	TAP_OK(&t, berth_slab_pages(s) == 0, "pages go with their last object");
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, churn, s);
	int ok = 1;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		ok &= r == NULL;
	}
	TAP_OK(&t, ok && berth_slab_pages(s) == 0, "four threads allocating and freeing: zeroed objects, no page left");
	berth_slab_destroy(s);
	berth_slab_free(NULL, NULL);
	return TAP_DONE(&t);
}
