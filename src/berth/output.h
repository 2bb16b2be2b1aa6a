/* Output helpers shared by CLI commands. */
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct berth_header_map;

/* Execute a template on one object and print it with "\n"; returns the exit code. */
int output_template(const char *format, json_t *data);
/* units.BytesSize ("23.54GiB"). */
void output_bytes_size(int64_t n, char *out, size_t len);
/* --since/--until value as the API wants it (GetTimestamp); malloc'd. */
char *output_time_arg(const char *v);
/* ["k=v", "dangling=true"] -> URL-encoded filters JSON {"k":{"v":true}}. malloc'd. */
char *output_filters_query(char **filters);
/* "sha256:abcdef..." -> "abcdef012345" (12 chars) unless no_trunc. */
void output_short_id(const char *id, int no_trunc, char *out, size_t len);
/* "3 days ago" from unix seconds. */
void output_created_since(int64_t unix_secs, char *out, size_t len);
/* Go's time.Time.String() of unix seconds in local time: "2024-01-01 00:00:00 +0000 UTC". */
void output_time_string(int64_t unix_secs, char *out, size_t len);
/* Print a progress/JSON-message stream (load, import): "stream" text as-is,
 * "status" lines, "error" -> stderr and rc 1. */
int output_json_messages(const char *data, size_t len, int quiet);
/* A list (images, history, search) through --format or the default table
 * to stdout; a template error is printed to stderr and gives err_rc. */
int output_list(const char *format, const char *default_table, const struct berth_header_map *headers, json_t *rows,
		int err_rc);
