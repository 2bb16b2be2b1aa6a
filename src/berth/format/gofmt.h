/* Go-compatible printing of JSON values: what fmt.Sprint / fmt.Sprintf and
 * encoding/json print for the values a Go template sees when docker decodes
 * JSON into interface{} (objects are map[string]interface {}, arrays are
 * []interface {}). JSON integers are treated as Go ints, reals as float64. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

/* Go's type name of a value ("string", "int", "float64", "bool",
 * "map[string]interface {}", "[]interface {}"); NULL or JSON null -> "<nil>". */
const char *go_type_name(const json_t *v);

/* strconv.FormatFloat(v, verb, prec, 64) for verb e/E/f/F/g/G; prec < 0 means
 * the shortest representation that round-trips. */
void go_fmt_float(struct berth_buf *b, double v, char verb, int prec);
/* strconv.FormatFloat(v, 'g', -1, 64) == fmt %v. */
void go_fmt_float_v(struct berth_buf *b, double v);

/* fmt.Sprint of one value (%v). NULL (a missing map key) prints "<no value>"
 * as text/template does; JSON null prints "<nil>". */
void go_print_value(struct berth_buf *b, const json_t *v);

/* fmt.Sprint / fmt.Sprintln of several values. */
void go_sprint(struct berth_buf *b, json_t *const *args, size_t n);
void go_sprintln(struct berth_buf *b, json_t *const *args, size_t n);

/* fmt.Sprintf. */
void go_sprintf(struct berth_buf *b, const char *fmt, size_t fmtlen, json_t *const *args, size_t n);

/* strconv.Quote. */
void go_quote(struct berth_buf *b, const char *s, size_t len);

/* encoding/json compact encoding (object keys in stored order). escape_html
 * mirrors json.Marshal's default; docker's `json` template func turns it off. */
void go_json_encode(struct berth_buf *b, const json_t *v, bool escape_html);

/* json.MarshalIndent layout (empty arrays/objects stay "[]"/"{}"). */
void go_json_encode_indent(struct berth_buf *b, const json_t *v, const char *prefix, const char *indent,
			   bool escape_html);

/* Number of UTF-8 runes in s[0:len] (invalid bytes count as one each). */
size_t go_rune_count(const char *s, size_t len);
/* Decode one rune at s (len > 0); returns its byte length, *r = U+FFFD for invalid. */
size_t go_decode_rune(const char *s, size_t len, unsigned *r);
void go_encode_rune(struct berth_buf *b, unsigned r);
