/* Directory listing shared by the tar writers (tar_write.c, tar_plain.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/util.h"

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char **berth_ar_sorted_names(int fd)
{
	/* a directory stream of its own: fd's offset stays where it is */
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		errno = e;
		return NULL;
	}
	char **v = calloc(1, sizeof(char *));
	size_t n = 0, cap = 1;
	int failed = v ? 0 : ENOMEM;
	struct dirent *e;
	while (!failed) {
		errno = 0;
		if (!(e = readdir(d))) {
			failed = errno;
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n + 1 >= cap) {
			char **nv = realloc(v, cap * 2 * sizeof(char *));
			if (!nv) {
				failed = ENOMEM;
				break;
			}
			v = nv;
			cap *= 2;
		}
		if (!(v[n] = strdup(e->d_name))) {
			failed = ENOMEM;
			break;
		}
		v[++n] = NULL;
	}
	closedir(d);
	if (failed) {
		berth_strv_free(v);
		errno = failed;
		return NULL;
	}
	qsort(v, n, sizeof(char *), cmp_name);
	return v;
}
