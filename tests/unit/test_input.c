/* Strict input: the Content-Type rule (dockerd's CheckForJSON) and the JSON
 * type tables; expected messages are what dockerd 20.10 answers. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers/input.h"
#include "tap.h"

typedef int (*checker)(json_t *, struct berth_error *);

/* body must be valid JSON; want NULL = accepted */
static void expect(struct tap *t, checker fn, const char *body, const char *want)
{
	json_error_t je;
	json_t *j = json_loads(body, JSON_DECODE_ANY, &je);
	if (!j) {
		TAP_OK(t, 0, "test body parses: %s", body);
		return;
	}
	struct berth_error err = {0};
	int rc = fn(j, &err);
	if (!want) {
		TAP_OK(t, rc == 0, "accepted: %s", body);
		if (rc != 0)
			printf("#   got \"%s\"\n", err.msg);
	} else {
		TAP_OK(t, rc < 0 && err.kind == BERTH_E_INVALID, "refused as INVALID: %s", body);
		TAP_STREQ(t, err.msg, want, "message for %s", body);
	}
	json_decref(j);
}

#define PFX "json: cannot unmarshal "

static void test_create(struct tap *t)
{
	checker c = berth_input_check_create;
	expect(t, c, "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"Env\":[\"A=1\",\"B\"],\"Labels\":{\"a\":\"1\"}}",
	       NULL);
	expect(t, c, "{\"Image\":\"busybox\",\"Cmd\":\"true\"}", NULL); /* strslice: a string is fine */
	expect(t, c, "{\"Image\":\"busybox\",\"Memory\":null,\"Env\":null,\"HostConfig\":null}", NULL);
	expect(t, c, "{\"Image\":\"busybox\",\"Unknown\":{\"x\":[1]}}", NULL);
	expect(t, c, "{\"HostConfig\":{\"ConsoleSize\":[1,2,-3]}}", NULL); /* Go drops extra elements */
	expect(t, c, "{\"Image\":\"busybox\",\"Memory\":\"lots\"}",
	       PFX "string into Go struct field ContainerConfigWrapper.Memory of type int64");
	expect(t, c, "{\"memory\":\"lots\"}", /* Go matches field names without case */
	       PFX "string into Go struct field ContainerConfigWrapper.Memory of type int64");
	expect(t, c, "{\"HostConfig\":{\"Memory\":\"lots\"}}",
	       PFX "string into Go struct field HostConfig.HostConfig.Memory of type int64");
	expect(t, c, "{\"Env\":5}", PFX "number into Go struct field ContainerConfigWrapper.Env of type []string");
	expect(t, c, "{\"Env\":[5]}", PFX "number into Go struct field ContainerConfigWrapper.Env of type string");
	expect(t, c, "{\"Labels\":{\"a\":1}}",
	       PFX "number into Go struct field ContainerConfigWrapper.Labels of type string");
	expect(t, c, "{\"Cmd\":5}", PFX "number into Go struct field ContainerConfigWrapper.Cmd of type string");
	expect(t, c, "{\"Cmd\":[5]}", PFX "array into Go struct field ContainerConfigWrapper.Cmd of type string");
	expect(t, c, "{\"Entrypoint\":true}",
	       PFX "bool into Go struct field ContainerConfigWrapper.Entrypoint of type string");
	/* the first type error wins, but a StrSlice error is returned at once */
	expect(t, c, "{\"Memory\":\"x\",\"Env\":5}",
	       PFX "string into Go struct field ContainerConfigWrapper.Memory of type int64");
	expect(t, c, "{\"Env\":5,\"Cmd\":5}",
	       PFX "number into Go struct field ContainerConfigWrapper.Cmd of type string");
	expect(t, c, "{\"Memory\":1.5}",
	       PFX "number 1.5 into Go struct field ContainerConfigWrapper.Memory of type int64");
	expect(t, c, "{\"Memory\":true}", PFX "bool into Go struct field ContainerConfigWrapper.Memory of type int64");
	expect(t, c, "[1]", PFX "array into Go value of type runconfig.ContainerConfigWrapper");
	expect(t, c, "\"x\"", PFX "string into Go value of type runconfig.ContainerConfigWrapper");
	expect(t, c, "{\"HostConfig\":5}",
	       PFX "number into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig");
	expect(t, c, "{\"HostConfig\":{\"RestartPolicy\":{\"Name\":5}}}",
	       PFX "number into Go struct field RestartPolicy.HostConfig.RestartPolicy.Name of type string");
	expect(t, c, "{\"HostConfig\":{\"RestartPolicy\":{\"MaximumRetryCount\":\"x\"}}}",
	       PFX "string into Go struct field RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount of type int");
	expect(t, c, "{\"HostConfig\":{\"Mounts\":[{\"Type\":1}]}}",
	       PFX "number into Go struct field Mount.HostConfig.Mounts.Type of type mount.Type");
	expect(t, c, "{\"HostConfig\":{\"Mounts\":[{\"TmpfsOptions\":{\"Mode\":\"x\"}}]}}",
	       PFX "string into Go struct field TmpfsOptions.HostConfig.Mounts.TmpfsOptions.Mode of type fs.FileMode");
	expect(t, c, "{\"HostConfig\":{\"Mounts\":[{\"VolumeOptions\":{\"DriverConfig\":{\"Options\":{\"a\":1}}}}]}}",
	       PFX
	       "number into Go struct field Driver.HostConfig.Mounts.VolumeOptions.DriverConfig.Options of type string");
	expect(t, c, "{\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":80}]}}}",
	       PFX "number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string");
	expect(t, c, "{\"HostConfig\":{\"PortBindings\":{\"80/tcp\":5}}}",
	       PFX "number into Go struct field HostConfig.HostConfig.PortBindings of type []nat.PortBinding");
	expect(t, c, "{\"HostConfig\":{\"PortBindings\":5}}",
	       PFX "number into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortMap");
	expect(t, c, "{\"HostConfig\":{\"Ulimits\":[5]}}",
	       PFX "number into Go struct field HostConfig.HostConfig.Ulimits of type units.Ulimit");
	expect(t, c, "{\"HostConfig\":{\"Ulimits\":5}}",
	       PFX "number into Go struct field HostConfig.HostConfig.Ulimits of type []*units.Ulimit");
	expect(t, c, "{\"HostConfig\":{\"BlkioWeight\":70000}}",
	       PFX "number 70000 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16");
	expect(t, c, "{\"HostConfig\":{\"BlkioWeight\":-1}}",
	       PFX "number -1 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16");
	expect(t, c, "{\"HostConfig\":{\"ConsoleSize\":[-1,2]}}",
	       PFX "number -1 into Go struct field HostConfig.HostConfig.ConsoleSize of type uint");
	expect(t, c, "{\"HostConfig\":{\"ConsoleSize\":5}}",
	       PFX "number into Go struct field HostConfig.HostConfig.ConsoleSize of type [2]uint");
	expect(t, c, "{\"HostConfig\":{\"LogConfig\":{\"Config\":{\"a\":1}}}}",
	       PFX "number into Go struct field LogConfig.HostConfig.LogConfig.Config of type string");
	expect(t, c, "{\"HostConfig\":{\"DeviceRequests\":[{\"Capabilities\":[[1]]}]}}",
	       PFX "number into Go struct field DeviceRequest.HostConfig.DeviceRequests.Capabilities of type string");
	expect(t, c, "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":1}]}}",
	       PFX "number into Go struct field DeviceMapping.HostConfig.Devices.PathOnHost of type string");
	expect(t, c, "{\"HostConfig\":{\"CapAdd\":5}}",
	       PFX "number into Go struct field HostConfig.HostConfig.CapAdd of type string");
	expect(t, c, "{\"HostConfig\":{\"OomKillDisable\":\"x\"}}",
	       PFX "string into Go struct field HostConfig.HostConfig.OomKillDisable of type bool");
	expect(t, c, "{\"HostConfig\":{\"Binds\":\"x\"}}",
	       PFX "string into Go struct field HostConfig.HostConfig.Binds of type []string");
	expect(t, c, "{\"NetworkMode\":5}",
	       PFX "number into Go struct field ContainerConfigWrapper.NetworkMode of type container.NetworkMode");
	expect(t, c, "{\"ExposedPorts\":{\"80/tcp\":5}}",
	       PFX "number into Go struct field ContainerConfigWrapper.ExposedPorts of type struct {}");
	expect(t, c, "{\"ExposedPorts\":[1]}",
	       PFX "array into Go struct field ContainerConfigWrapper.ExposedPorts of type nat.PortSet");
	expect(t, c, "{\"Volumes\":5}",
	       PFX "number into Go struct field ContainerConfigWrapper.Volumes of type map[string]struct {}");
	expect(t, c, "{\"Healthcheck\":5}",
	       PFX "number into Go struct field ContainerConfigWrapper.Healthcheck of type container.HealthConfig");
	expect(t, c, "{\"Healthcheck\":{\"Interval\":\"x\"}}",
	       PFX "string into Go struct field HealthConfig.Healthcheck.Interval of type time.Duration");
	expect(t, c, "{\"StopTimeout\":\"x\"}",
	       PFX "string into Go struct field ContainerConfigWrapper.StopTimeout of type int");
	expect(t, c, "{\"Cpuset\":5}", PFX "number into Go struct field ContainerConfigWrapper.Cpuset of type string");
	expect(t, c, "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"a\":5}}}",
	       PFX
	       "number into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type network.EndpointSettings");
	expect(t, c, "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"a\":{\"Aliases\":\"x\"}}}}",
	       PFX
	       "string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string");
	expect(t, c, "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"a\":{\"IPAMConfig\":{\"LinkLocalIPs\":\"x\"}}}}}",
	       PFX
	       "string into Go struct field EndpointIPAMConfig.NetworkingConfig.EndpointsConfig.IPAMConfig.LinkLocalIPs of type []string");
	/* NULL body (no body at all) is not a type error */
	struct berth_error err = {0};
	TAP_OK(t, berth_input_check_create(NULL, &err) == 0, "NULL body accepted");
}

static void test_other_bodies(struct tap *t)
{
	expect(t, berth_input_check_update, "{\"Memory\":\"x\"}",
	       PFX "string into Go struct field UpdateConfig.Memory of type int64");
	expect(t, berth_input_check_update, "{\"RestartPolicy\":{\"Name\":1}}",
	       PFX "number into Go struct field RestartPolicy.RestartPolicy.Name of type string");
	expect(t, berth_input_check_update, "5", PFX "number into Go value of type container.UpdateConfig");
	expect(t, berth_input_check_update, "{\"Memory\":1000000,\"RestartPolicy\":{\"Name\":\"always\"}}", NULL);
	expect(t, berth_input_check_exec_create, "{\"Cmd\":\"true\"}",
	       PFX "string into Go struct field ExecConfig.Cmd of type []string");
	expect(t, berth_input_check_exec_create, "{\"Cmd\":[\"true\"],\"Tty\":\"x\"}",
	       PFX "string into Go struct field ExecConfig.Tty of type bool");
	expect(t, berth_input_check_exec_create, "{\"User\":1,\"Cmd\":5}",
	       PFX "number into Go struct field ExecConfig.User of type string");
	expect(t, berth_input_check_exec_create, "5", PFX "number into Go value of type types.ExecConfig");
	expect(t, berth_input_check_exec_create, "{\"Cmd\":[\"sh\",\"-c\",\"x\"],\"Env\":[\"A=1\"],\"Tty\":true}",
	       NULL);
	expect(t, berth_input_check_exec_start, "{\"Detach\":\"x\"}",
	       PFX "string into Go struct field ExecStartCheck.Detach of type bool");
	expect(t, berth_input_check_exec_start, "5", PFX "number into Go value of type types.ExecStartCheck");
	expect(t, berth_input_check_exec_start, "{\"Detach\":false,\"Tty\":true}", NULL);
	expect(t, berth_input_check_volume_create, "{\"Name\":5}",
	       PFX "number into Go struct field VolumeCreateBody.Name of type string");
	expect(t, berth_input_check_volume_create, "{\"Labels\":{\"a\":1}}",
	       PFX "number into Go struct field VolumeCreateBody.Labels of type string");
	expect(t, berth_input_check_volume_create, "{\"DriverOpts\":5}",
	       PFX "number into Go struct field VolumeCreateBody.DriverOpts of type map[string]string");
	expect(t, berth_input_check_volume_create, "[]", PFX "array into Go value of type volume.VolumeCreateBody");
	expect(t, berth_input_check_volume_create, "{\"Name\":\"v\",\"Labels\":{\"a\":\"b\"}}", NULL);
	expect(t, berth_input_check_commit, "{\"Env\":5}",
	       PFX "number into Go struct field ContainerConfigWrapper.Env of type []string");
}

static void ctype(struct tap *t, const char *ct, bool has_body, bool ok)
{
	struct berth_error err = {0};
	int rc = berth_input_check_ctype(ct, has_body, &err);
	TAP_OK(t, ok ? rc == 0 : rc < 0, "Content-Type %s%s%s with%s body: %s", ct ? "\"" : "", ct ? ct : "(none)",
	       ct ? "\"" : "", has_body ? "" : "out", ok ? "accepted" : "refused");
	if (!ok) {
		char want[256];
		snprintf(want, sizeof(want), "Content-Type specified (%s) must be 'application/json'", ct ? ct : "");
		TAP_STREQ(t, err.msg, want, "message for %s", ct ? ct : "(none)");
		TAP_OK(t, err.kind == BERTH_E_INVALID, "kind INVALID (400)");
	}
}

static void test_ctype(struct tap *t)
{
	ctype(t, NULL, false, true);
	ctype(t, "", false, true);
	ctype(t, NULL, true, false);
	ctype(t, "", true, false);
	ctype(t, "application/json", true, true);
	ctype(t, "application/json", false, true);
	ctype(t, "Application/JSON", true, true);
	ctype(t, "application/json; charset=utf-8", true, true);
	ctype(t, " application/json ;charset=\"utf-8\"", true, true);
	ctype(t, "application/json;", true, true);
	ctype(t, "text/plain", true, false);
	ctype(t, "text/plain", false, false);
	ctype(t, "application/x-www-form-urlencoded", true, false);
	ctype(t, "multipart/form-data; boundary=x", true, false);
	ctype(t, "application/jsonx", true, false);
	ctype(t, "application/json, text/plain", true, false);
	ctype(t, "application/json; charset", true, false);
	ctype(t, "application/json; a=1; a=2", true, false);
	ctype(t, "application/json; a=\"unterminated", true, false);
}

static void test_names(struct tap *t)
{
	struct berth_error err = {0};
	char name[400];
	memset(name, 'a', sizeof(name));
	name[254] = 0;
	TAP_OK(t, berth_input_check_name(name, &err) == 0, "254-character name accepted");
	name[254] = 'a';
	name[300] = 0;
	TAP_OK(t, berth_input_check_name(name, &err) < 0 && err.kind == BERTH_E_INVALID, "300-character name refused");
	TAP_OK(t, berth_input_check_name("a", &err) < 0, "one-character name refused");
	TAP_STREQ(t, err.msg, "Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		  "dockerd's message");
	TAP_OK(t, berth_input_check_name("/a.b_c-d", &err) == 0, "/a.b_c-d accepted");
	TAP_OK(t, berth_input_check_name("a/b", &err) < 0, "a/b refused");
}

/* Deep or odd JSON never crashes (the fuzz target relies on it). */
static void test_robust(struct tap *t)
{
	struct berth_error err = {0};
	json_t *deep = json_object();
	json_t *cur = deep;
	for (int i = 0; i < 500; i++) {
		json_t *n = json_object();
		json_object_set_new(cur, i % 2 ? "HostConfig" : "NetworkingConfig", n);
		cur = n;
	}
	TAP_OK(t, berth_input_check_create(deep, &err) == 0 || err.msg[0], "deep nesting handled");
	json_decref(deep);
	json_t *arr = json_array();
	for (int i = 0; i < 100000; i++)
		json_array_append_new(arr, json_string("x"));
	json_t *b = json_pack("{s:o}", "Cmd", arr);
	TAP_OK(t, berth_input_check_create(b, &err) == 0, "long Cmd array accepted");
	json_decref(b);
}

int main(void)
{
	struct tap t = {0};
	test_create(&t);
	test_other_bodies(&t);
	test_ctype(&t);
	test_names(&t);
	test_robust(&t);
	return TAP_DONE(&t);
}
