/* Create body: the input is parsed as JSON and type-checked as every body
 * dockerd decodes (create, update, exec, volume, commit). A create body that
 * passes goes through the create-time dry run of the OCI spec builder
 * (validate_only, fake sysinfo), the resource checks, the env merge and the
 * exec process builder.
 *
 * The spec builder has host side effects that a fuzzer must not trigger: a
 * missing absolute -v source is created (mkdir -p), a SecurityOpt
 * "seccomp=<path>" reads a host file and a device path that is a directory is
 * walked. Before the spec build, absolute Binds sources become named volumes
 * (resolved to the scratch dir), seccomp options naming a path are dropped and
 * so are Devices. */
#include <jansson.h>
#include <string.h>

#include "api/handlers/input.h"
#include "common/util.h"
#include "fuzz_util.h"
#include "runtime/spec.h"
#include "runtime/sysinfo.h"

static int resolve_volume(void *ctx, const char *name, char **host_path, struct berth_error *err)
{
	(void)name;
	(void)err;
	*host_path = strdup(ctx);
	return *host_path ? 0 : -1;
}

static void defuse_host_config(json_t *hc)
{
	json_t *binds = json_object_get(hc, "Binds");
	size_t i;
	json_t *v;
	json_array_foreach(binds, i, v) {
		const char *s = json_string_value(v);
		if (s && s[0] == '/') {
			char *named = strdup(s);
			FUZZ_ASSERT(named);
			named[0] = 'v';
			json_array_set_new(binds, i, json_string(named));
			free(named);
		}
	}
	json_t *sec = json_object_get(hc, "SecurityOpt");
	for (i = json_array_size(sec); i-- > 0;) {
		const char *s = json_string_value(json_array_get(sec, i));
		if (s && strstr(s, "seccomp") && strchr(s, '/'))
			json_array_remove(sec, i);
	}
	json_object_del(hc, "Devices");
}

static void build_spec(json_t *body)
{
	struct berth_sysinfo si;
	berth_sysinfo_fake(&si);
	json_t *cfg = json_deep_copy(body);
	json_t *hc = json_deep_copy(json_object_get(body, "HostConfig"));
	if (!json_is_object(hc)) {
		json_decref(hc);
		hc = json_object();
	}
	json_object_del(cfg, "HostConfig");
	defuse_host_config(hc);
	json_t *img = json_pack("{s:[s],s:[s],s:s}", "Cmd", "/bin/sh", "Env", "PATH=/bin", "WorkingDir", "/");

	struct berth_error err = {0};
	char **warnings = NULL;
	json_t *hc_copy = json_deep_copy(hc);
	berth_resources_verify(hc_copy, &si, false, &warnings, &err);
	json_decref(hc_copy);
	json_t *env = json_object_get(cfg, "Env");
	if (json_is_array(env)) {
		json_t *merged = berth_env_merge(json_object_get(img, "Env"), env);
		json_decref(merged);
	}

	struct berth_spec_input in = {.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				      .config = cfg,
				      .host_config = hc,
				      .image_config = img,
				      .rootfs = "/",
				      .validate_only = true,
				      .sysinfo = &si,
				      .resolve_volume = resolve_volume,
				      .resolve_ctx = (void *)fuzz_scratch("create"),
				      .warnings = &warnings};
	memset(&err, 0, sizeof(err));
	json_t *spec = berth_oci_spec_build(&in, &err);
	if (spec) {
		json_t *proc = berth_oci_exec_process_build(spec, cfg, "/", &si, &err);
		json_decref(proc);
	}
	json_decref(spec);
	berth_strv_free(warnings);
	json_decref(img);
	json_decref(hc);
	json_decref(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	struct berth_error err = {0};
	int create_ok = berth_input_check_create(body, &err) == 0;
	berth_input_check_update(body, &err);
	berth_input_check_exec_create(body, &err);
	berth_input_check_exec_start(body, &err);
	berth_input_check_volume_create(body, &err);
	berth_input_check_commit(body, &err);
	const char *name = json_string_value(json_object_get(body, "Name"));
	if (name)
		berth_input_check_name(name, &err);
	if (create_ok && json_is_object(body))
		build_spec(body);
	json_decref(body);
	return 0;
}
