/* Equivalents of github.com/docker/go-units and the bits of Go's time
 * package the docker CLI shows or parses: human sizes and durations, size
 * parsing (-m 512m), Go durations (10s, 1h30m) and docker's --since/--until
 * timestamps. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* units.HumanSize: 4 significant digits, decimal units, no space ("2.14MB"
 * with precision 3, "796.2kB", "1B"). */
void berth_human_size(double size, char *out, size_t len);
/* units.HumanSizeWithPrecision (docker images/ps use precision 3). */
void berth_human_size_prec(double size, int precision, char *out, size_t len);
/* units.BytesSize: binary units ("1KiB", "1.5MiB"). */
void berth_bytes_size(double size, char *out, size_t len);
/* units.CustomSize: fmt is a printf format taking (double, const char *),
 * e.g. "%.4g%s"; units has nunits entries starting at "B". */
void berth_custom_size(const char *fmt, double size, double base, const char *const *units, size_t nunits, char *out,
		       size_t len);

/* units.FromHumanSize (decimal: "1kB" = 1000) and units.RAMInBytes (binary:
 * "1k" = 1024). Case-insensitive, optional "b"/"ib" suffix, optional space
 * before the unit. Error: "invalid size: '<s>'". */
int berth_from_human_size(const char *s, int64_t *out, struct berth_error *err);
int berth_ram_in_bytes(const char *s, int64_t *out, struct berth_error *err);

/* units.HumanDuration ("Less than a second", "About a minute", "3 hours", ...). */
void berth_human_duration(int64_t ns, char *out, size_t len);

/* time.ParseDuration ("300ms", "-1.5h", "2h45m"). Errors read like Go's:
 * `time: invalid duration "x"`, `time: missing unit in duration "1"`,
 * `time: unknown unit "d" in duration "1d"`. */
int berth_parse_go_duration(const char *s, int64_t *ns, struct berth_error *err);
/* time.Duration.String() ("1h30m0s", "1.5s", "300ms", "0s"). */
void berth_go_duration_string(int64_t ns, char *out, size_t len);

/* docker's GetTimestamp (api/types/time) used for --since/--until: a Go
 * duration relative to reference_ns ("10m" -> "<unix seconds>"), an RFC 3339
 * date/time (local zone when none is given) -> "<sec>.<nsec 9 digits>", or a
 * unix timestamp passed through. */
int berth_get_timestamp(const char *value, int64_t reference_ns, char *out, size_t len, struct berth_error *err);
