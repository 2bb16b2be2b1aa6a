#include "lazy.h"

#include <dlfcn.h>
#include <stdio.h>

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
