/* Internal to spec*.c. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "spec.h"

/* Append a warning to in->warnings (if the caller asked for them). */
void spec_warn(const struct berth_spec_input *in, const char *msg);

/* Default + user mounts into spec["mounts"], docker's order and filtering. */
int spec_mounts(json_t *spec, const struct berth_spec_input *in, bool readonly_rootfs, bool privileged,
		const char *ipc_mode, struct berth_error *err);
/* linux.devices and linux.resources.devices. */
int spec_devices(json_t *linux_obj, json_t *resources, const struct berth_spec_input *in, bool privileged,
		 struct berth_error *err);
/* linux.resources memory/cpu/pids/blockIO from a (verified) HostConfig. */
int spec_resources(json_t *resources, const json_t *hc, struct berth_error *err);

/* --userns-remap: user namespace and mappings, docker's refusals (spec_userns.c). */
int spec_userns(json_t *spec, const struct berth_spec_input *in, struct berth_error *err);

/* Mount option list builders. */
json_t *spec_mount(const char *dest, const char *type, const char *source, json_t *options);
