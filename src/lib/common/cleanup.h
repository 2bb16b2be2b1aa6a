/* Cleanup attributes: release resources when a variable leaves scope. */
#pragma once
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void berth_freep(void *p) { free(*(void **)p); }
static inline void berth_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void berth_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void berth_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void berth_json_decrefp(json_t **j) { json_decref(*j); }

#define cleanup_free __attribute__((cleanup(berth_freep)))
#define cleanup_close __attribute__((cleanup(berth_closep)))
#define cleanup_fclose __attribute__((cleanup(berth_fclosep)))
#define cleanup_dir __attribute__((cleanup(berth_closedirp)))
#define cleanup_json __attribute__((cleanup(berth_json_decrefp)))

/* Hand ownership out of a cleanup variable. */
#define steal_ptr(p)                                                                                                   \
	({                                                                                                             \
		__typeof__(p) _tmp = (p);                                                                              \
		(p) = NULL;                                                                                            \
		_tmp;                                                                                                  \
	})
#define steal_fd(fd)                                                                                                   \
	({                                                                                                             \
		int _tmp = (fd);                                                                                       \
		(fd) = -1;                                                                                             \
		_tmp;                                                                                                  \
	})
