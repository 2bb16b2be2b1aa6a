/* Terminal handling for attach/exec/run -t: raw mode that is restored on
 * every exit path, window size, detach keys (moby/term's ToBytes and escape
 * proxy). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/util.h"

#define BERTH_DETACH_KEYS_MAX 32

/* docker's default detach sequence: ctrl-p ctrl-q. */
extern const unsigned char berth_default_detach_keys[2];

/* Parse "ctrl-p,ctrl-q" / "a,ctrl-@,ctrl-\\" (term.ToBytes): each comma-separated
 * item is either one character or "ctrl-X" with X in @ a..z [ \ ] ^ _.
 * Errors read "Unknown character: 'X'". Returns the number of keys or -1. */
int berth_detach_keys_parse(const char *spec, unsigned char out[BERTH_DETACH_KEYS_MAX], struct berth_error *err);

/* Detach-sequence filter for input bytes. Bytes that could start the
 * sequence are held back until they either complete it or turn out not to. */
struct berth_escape {
	unsigned char keys[BERTH_DETACH_KEYS_MAX];
	size_t nkeys, pos;
};
void berth_escape_init(struct berth_escape *e, const unsigned char *keys, size_t nkeys);
/* Appends the bytes to forward to out. Returns 1 when the full sequence was
 * read (bytes after it are dropped), else 0. */
int berth_escape_filter(struct berth_escape *e, const char *in, size_t len, struct berth_buf *out);

/* Put fd (a terminal) into raw mode like moby/term's MakeRaw. The previous
 * state is remembered and restored by berth_tty_restore(), which is also
 * registered with atexit() and safe to call from a signal path. */
int berth_tty_make_raw(int fd, struct berth_error *err);
void berth_tty_restore(void);
bool berth_tty_is_raw(void);
/* Window size of fd; 0 when it is not a terminal. */
int berth_tty_size(int fd, unsigned *height, unsigned *width);
