/* Minimal TAP helpers for unit tests. */
#pragma once
#include <stdio.h>
#include <string.h>

struct tap {
	int n, failed;
};
#define TAP_OK(t, cond, ...)                                                                                           \
	do {                                                                                                           \
		int _c = !!(cond);                                                                                     \
		(t)->n++;                                                                                              \
		if (_c) {                                                                                              \
			printf("ok %d - ", (t)->n);                                                                    \
		} else {                                                                                               \
			(t)->failed++;                                                                                 \
			printf("not ok %d - ", (t)->n);                                                                \
		}                                                                                                      \
		printf(__VA_ARGS__);                                                                                   \
		printf("\n");                                                                                          \
		if (!_c)                                                                                               \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                                \
	} while (0)
#define TAP_STREQ(t, a, b, ...)                                                                                        \
	do {                                                                                                           \
		const char *_a = (a), *_b = (b);                                                                       \
		int _eq = _a && _b && strcmp(_a, _b) == 0;                                                             \
		TAP_OK(t, _eq, __VA_ARGS__);                                                                           \
		if (!_eq)                                                                                              \
			printf("#   got \"%s\"\n#   want \"%s\"\n", _a ? _a : "(null)", _b ? _b : "(null)");           \
	} while (0)
#define TAP_DONE(t) (printf("1..%d\n", (t)->n), (t)->failed ? 1 : 0)
