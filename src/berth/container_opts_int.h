/* Internal helpers shared by container_opts.c and container_opts_parse.c. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "common/util.h"

/* strconv.ParseUint / ParseInt with Go's messages ("strconv.ParseInt: parsing \"x\": invalid syntax"). */
int ctr_parse_uint(const char *s, int base, unsigned bits, unsigned long long *out, const char *fn,
		   struct berth_error *err);
int ctr_parse_int(const char *s, long long *out, struct berth_error *err);
/* strconv.ParseBool */
bool ctr_parse_go_bool(const char *s, bool *out);
/* strings.Split */
char **ctr_split(const char *s, char sep);
/* strings.TrimSpace, malloc'd */
char *ctr_trim_space(const char *s);
/* path.Clean */
char *ctr_path_clean(const char *path);
/* encoding/csv, one record */
char **ctr_csv_fields(const char *s, struct berth_error *err);
/* A copy of obj with its keys inserted in sorted order (Go marshals maps sorted). */
json_t *ctr_json_sorted(json_t *obj);
int ctr_strcmp_p(const void *a, const void *b);

void ctr_split_proto_port(const char *raw, char **proto, char **port);
int ctr_parse_expose(const char *e, json_t *exposed, struct berth_error *err);
char *ctr_port_standard_notation(const char *publish, struct berth_error *err);
bool ctr_valid_ip(const char *s);
int ctr_normalize_ip(const char *in, char *out, size_t len);
bool ctr_valid_device_mode(const char *mode);
json_t *ctr_parse_device(const char *device, struct berth_error *err);
int ctr_validate_extra_host(const char *val, struct berth_error *err);
char *ctr_validate_dns_search(const char *val, struct berth_error *err);
bool ctr_valid_mac(const char *mac);
int ctr_validate_sysctl(const char *val, struct berth_error *err);
bool ctr_valid_cgroup_rule(const char *r);
json_t *ctr_parse_weight_device(const char *val, struct berth_error *err);
json_t *ctr_parse_throttle_device(const char *val, bool iops, struct berth_error *err);
