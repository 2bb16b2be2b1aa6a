/* Base64 (RFC 4648): the standard and the URL-safe alphabet. Docker's
 * X-Registry-Auth header is base64url JSON; config.json "auth" is standard
 * base64 of "user:password". */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Encode len bytes; url: '-' '_' instead of '+' '/'. Always padded with '='.
 * NUL-terminated result, caller frees; NULL on allocation failure. */
char *berth_base64_encode(const void *data, size_t len, bool url);
/* Decode either alphabet, padded or not; whitespace is not allowed.
 * NUL-terminated result (*out_len excludes the NUL; may be NULL), caller
 * frees; NULL when s is not base64 (errno EINVAL) or on allocation failure. */
char *berth_base64_decode(const char *s, size_t *out_len);
/* The same for the len bytes at s (no NUL needed). */
char *berth_base64_decode_n(const char *s, size_t len, size_t *out_len);
