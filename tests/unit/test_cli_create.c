/* berth run/create flags -> POST /containers/create body. The expected bodies
 * are what docker 20.10's CLI sent to dockerd for the same command lines
 * (captured on the wire), byte for byte. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/berth/container_opts.h"
#include "tap.h"

static const char *GOLDEN_FULL =
	"{\"Hostname\":\"myhost\",\"Domainname\":\"dom\",\"User\":\"1:2\",\"AttachStdin\":false,\"AttachStdout\":true,"
	"\"AttachStderr\":true,\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{},\"9000/tcp\":{},\"9001/tcp\":{}},\"Tty\":fa"
	"lse,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"A=1\",\"B=1\",\"C=x y \",\"X=1\",\"Y\",\"B=1\"],\"Cmd\""
	":[\"echo\",\"a\",\"b\"],\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":5000000000},\"Image\":"
	"\"busybox\",\"Volumes\":{\"/data\":{}},\"WorkingDir\":\"/tmp\",\"Entrypoint\":[\"/bin/sh\"],\"OnBuild\":null,"
	"\"Labels\":{\"a\":\"b\",\"c\":\"\",\"lf\":\"1\"},\"StopSignal\":\"SIGUSR1\",\"StopTimeout\":7,\"HostConfig\":{"
	"\"Binds\":[\"/tmp:/mnt:ro\"],\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-s"
	"ize\":\"1m\"}},\"NetworkMode\":\"none\",\"PortBindings\":{\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":"
	"\"\"}],\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]},\"RestartPolicy\":{\"Name\":\"on-failure\",\"Maxim"
	"umRetryCount\":3},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"CapAdd\":[\"NET_ADMIN\"],"
	"\"CapDrop\":[\"chown\"],\"CgroupnsMode\":\"\",\"Dns\":[\"1.1.1.1\"],\"DnsOptions\":[\"ndots:2\"],\"DnsSearch\":"
	"[\"example.com\"],\"ExtraHosts\":[\"foo:1.2.3.4\"],\"GroupAdd\":[\"10\"],\"IpcMode\":\"\",\"Cgroup\":\"\",\"Li"
	"nks\":null,\"OomScoreAdj\":5,\"PidMode\":\"\",\"Privileged\":true,\"PublishAllPorts\":false,\"ReadonlyRootfs\""
	":true,\"SecurityOpt\":[\"no-new-privileges\"],\"Tmpfs\":{\"/run\":\"size=1m\"},\"UTSMode\":\"\",\"UsernsMode\""
	":\"\",\"ShmSize\":33554432,\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"},\"Runtime\":\"runc\",\"ConsoleSize\":[0"
	",0],\"Isolation\":\"\",\"CpuShares\":512,\"Memory\":67108864,\"NanoCpus\":1500000000,\"CgroupParent\":\"\",\"B"
	"lkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":null,\"BlkioDeviceWriteBps\":null,\"BlkioDevice"
	"ReadIOps\":null,\"BlkioDeviceWriteIOps\":null,\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuReal"
	"timeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInCon"
	"tainer\":\"/dev/xnull\",\"CgroupPermissions\":\"r\"}],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"Ker"
	"nelMemory\":0,\"KernelMemoryTCP\":0,\"MemoryReservation\":0,\"MemorySwap\":134217728,\"MemorySwappiness\":-1,"
	"\"OomKillDisable\":false,\"PidsLimit\":100,\"Ulimits\":[{\"Name\":\"nofile\",\"Hard\":200,\"Soft\":100}],\"CpuC"
	"ount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"Mounts\":[{\"Type\":\"tmpfs\",\"Targe"
	"t\":\"/t\",\"TmpfsOptions\":{\"SizeBytes\":1048576}}],\"MaskedPaths\":null,\"ReadonlyPaths\":null,\"Init\":tru"
	"e},\"NetworkingConfig\":{\"EndpointsConfig\":{}}}";

static const char *GOLDEN_IT =
	"{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":true,\"AttachStdout\":true,\"AttachStderr"
	"\":false,\"ExposedPorts\":{\"2000/tcp\":{},\"2001/tcp\":{}},\"Tty\":true,\"OpenStdin\":true,\"StdinOnce\":true"
	",\"Env\":null,\"Cmd\":null,\"Healthcheck\":{\"Test\":[\"NONE\"]},\"Image\":\"busybox\",\"Volumes\":{},\"Workin"
	"gDir\":\"\",\"Entrypoint\":[\"\"],\"OnBuild\":null,\"Labels\":{},\"HostConfig\":{\"Binds\":null,\"ContainerIDF"
	"ile\":\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":\"host\",\"PortBindings\":{\"2000/tcp\""
	":[{\"HostIp\":\"\",\"HostPort\":\"1000\"}],\"2001/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"1001\"}]},\"RestartPo"
	"licy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":nu"
	"ll,\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"Extr"
	"aHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":"
	"\"\",\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":[\"seccomp=unconf"
	"ined\"],\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"ConsoleSize\":[0,0],\"Isolation\":\"\",\"CpuShare"
	"s\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[{\"Path\":\"/"
	"dev/sda\",\"Weight\":100}],\"BlkioDeviceReadBps\":[{\"Path\":\"/dev/sda\",\"Rate\":1048576}],\"BlkioDeviceWrit"
	"eBps\":null,\"BlkioDeviceReadIOps\":null,\"BlkioDeviceWriteIOps\":null,\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRea"
	"ltimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroup"
	"Rules\":null,\"DeviceRequests\":null,\"KernelMemory\":0,\"KernelMemoryTCP\":0,\"MemoryReservation\":0,\"Memory"
	"Swap\":0,\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimit\":0,\"Ulimits\":[{\"Name\":\"core\",\"Ha"
	"rd\":-1,\"Soft\":-1},{\"Name\":\"nproc\",\"Hard\":5,\"Soft\":5}],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIO"
	"ps\":0,\"IOMaximumBandwidth\":0,\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\",\"VolumeOp"
	"tions\":{\"NoCopy\":true,\"Labels\":{\"x\":\"y\"},\"DriverConfig\":{}}},{\"Type\":\"bind\",\"Source\":\"/tmp\""
	",\"Target\":\"/b\",\"ReadOnly\":true,\"BindOptions\":{\"Propagation\":\"rshared\"}}],\"MaskedPaths\":[],\"Read"
	"onlyPaths\":[],\"Init\":false},\"NetworkingConfig\":{\"EndpointsConfig\":{}}}";

static const char *GOLDEN_DETACHED =
	"{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,"
	"\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":[\"sleep\",\"100\"],\"Image\":\"busybox\","
	"\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{},\"HostConfig\":{\"Binds\":null,"
	"\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":\"default\",\"PortBindings\":{},"
	"\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,"
	"\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,"
	"\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,"
	"\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,"
	"\"ConsoleSize\":[0,0],\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,"
	"\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":null,\"BlkioDeviceWriteBps\":null,\"BlkioDeviceReadIOps\":null,"
	"\"BlkioDeviceWriteIOps\":null,\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,"
	"\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"KernelMemory\":0,"
	"\"KernelMemoryTCP\":0,\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":-1,\"OomKillDisable\":false,"
	"\"PidsLimit\":0,\"Ulimits\":null,\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,"
	"\"MaskedPaths\":null,\"ReadonlyPaths\":null},\"NetworkingConfig\":{\"EndpointsConfig\":{}}}";

static char tmpdir[] = "/tmp/berth-test-cli-XXXXXX";

static char *write_tmp(const char *name, const char *content)
{
	char *path = berth_strdup_printf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	fputs(content, f);
	fclose(f);
	return path;
}

/* Parse a NULL-terminated argument list (argv[0] is the command). */
static int parse(bool is_run, struct ctr_create *cc, struct berth_error *err, const char *const *args)
{
	int argc = 0;
	while (args[argc])
		argc++;
	struct cli c = {.cmdpath = is_run ? "berth run" : "berth create"};
	return ctr_create_parse(&c, argc, (char **)args, is_run, cc, err);
}

static char *body_str(struct ctr_create *cc) { return json_dumps(cc->body, JSON_COMPACT); }

static void test_golden(struct tap *t)
{
	char *envf = write_tmp("env.list", "A=1\n# c\nB\n  C=x y \n");
	char *labf = write_tmp("labels.list", "lf=1\nnolabel\n");
	setenv("B", "1", 1);
	unsetenv("Y");
	const char *args[] = {"create",
			      "--name",
			      "full2",
			      "-e",
			      "X=1",
			      "-e",
			      "Y",
			      "-e",
			      "B",
			      "--env-file",
			      envf,
			      "--label-file",
			      labf,
			      "-w",
			      "/tmp",
			      "-u",
			      "1:2",
			      "--entrypoint",
			      "/bin/sh",
			      "-l",
			      "a=b",
			      "-l",
			      "c",
			      "--network",
			      "none",
			      "--log-driver",
			      "json-file",
			      "--log-opt",
			      "max-size=1m",
			      "--runtime",
			      "runc",
			      "--privileged",
			      "--cap-add",
			      "NET_ADMIN",
			      "--cap-drop",
			      "chown",
			      "--security-opt",
			      "no-new-privileges",
			      "--read-only",
			      "-m",
			      "64m",
			      "--memory-swap",
			      "128m",
			      "--cpus",
			      "1.5",
			      "--cpu-shares",
			      "512",
			      "--pids-limit",
			      "100",
			      "--init",
			      "--stop-signal",
			      "SIGUSR1",
			      "--stop-timeout",
			      "7",
			      "-h",
			      "myhost",
			      "--add-host",
			      "foo:1.2.3.4",
			      "-v",
			      "/tmp:/mnt:ro",
			      "-v",
			      "/data",
			      "--mount",
			      "type=tmpfs,target=/t,tmpfs-size=1m",
			      "--tmpfs",
			      "/run:size=1m",
			      "--restart",
			      "on-failure:3",
			      "--ulimit",
			      "nofile=100:200",
			      "--device",
			      "/dev/null:/dev/xnull:r",
			      "--shm-size",
			      "32m",
			      "-p",
			      "8080:80",
			      "-p",
			      "127.0.0.1::53/udp",
			      "--dns",
			      "1.1.1.1",
			      "--dns-search",
			      "example.com",
			      "--dns-option",
			      "ndots:2",
			      "--expose",
			      "9000-9001",
			      "--domainname",
			      "dom",
			      "--group-add",
			      "10",
			      "--sysctl",
			      "net.ipv4.ip_forward=1",
			      "--oom-score-adj",
			      "5",
			      "--health-cmd",
			      "true",
			      "--health-interval",
			      "5s",
			      "busybox",
			      "echo",
			      "a",
			      "b",
			      NULL};
	struct ctr_create cc;
	struct berth_error err = {0};
	int rc = parse(false, &cc, &err, args);
	TAP_OK(t, rc == CTR_PARSE_OK, "create with most flags parses (%s)", err.msg);
	char *s = rc == 0 ? body_str(&cc) : NULL;
	TAP_STREQ(t, s, GOLDEN_FULL, "body equals docker 20.10's, byte for byte");
	TAP_STREQ(t, cc.name, "full2", "--name kept out of the body");
	free(s);
	ctr_create_free(&cc);
	free(envf);
	free(labf);

	const char *args2[] = {"create",
			       "-it",
			       "-a",
			       "stdin",
			       "-a",
			       "stdout",
			       "--mount",
			       "type=volume,src=v,dst=/v,volume-nocopy,volume-label=x=y",
			       "--mount",
			       "type=bind,source=/tmp,target=/b,bind-propagation=rshared,ro",
			       "--network",
			       "host",
			       "--security-opt",
			       "seccomp=unconfined",
			       "--security-opt",
			       "systempaths=unconfined",
			       "--ulimit",
			       "nproc=5",
			       "--ulimit",
			       "core=-1",
			       "--init=false",
			       "--entrypoint=",
			       "-p",
			       "1000-1001:2000-2001",
			       "--blkio-weight-device",
			       "/dev/sda:100",
			       "--device-read-bps",
			       "/dev/sda:1mb",
			       "--health-cmd",
			       "",
			       "--no-healthcheck",
			       "busybox",
			       NULL};
	rc = parse(false, &cc, &err, args2);
	TAP_OK(t, rc == CTR_PARSE_OK, "create -it with mounts parses (%s)", err.msg);
	s = rc == 0 ? body_str(&cc) : NULL;
	TAP_STREQ(t, s, GOLDEN_IT, "-it/-a/--mount/--init=false/--entrypoint= body equals docker's");
	TAP_OK(t, cc.tty && cc.open_stdin && cc.attach_stdin && cc.attach_stdout && !cc.attach_stderr,
	       "attach flags reported");
	free(s);
	ctr_create_free(&cc);

	const char *args3[] = {"run", "-d", "--name", "bg", "busybox", "sleep", "100", NULL};
	rc = parse(true, &cc, &err, args3);
	s = rc == 0 ? body_str(&cc) : NULL;
	TAP_STREQ(t, s, GOLDEN_DETACHED, "run -d body equals docker's (nothing attached)");
	TAP_OK(t, cc.detach && cc.sig_proxy && !cc.attach_stdout, "run -d: detach, sig-proxy default true");
	free(s);
	ctr_create_free(&cc);
}

static void test_args(struct tap *t)
{
	struct ctr_create cc;
	struct berth_error err = {0};
	const char *a1[] = {"run", "--rm", "busybox", "sh", "-c", "exit 3", "-h", NULL};
	int rc = parse(true, &cc, &err, a1);
	json_t *cmd = rc == 0 ? json_object_get(cc.body, "Cmd") : NULL;
	TAP_OK(t, rc == 0 && json_array_size(cmd) == 4, "flags after IMAGE belong to the command");
	TAP_STREQ(t, json_string_value(json_array_get(cmd, 3)), "-h", "-h after IMAGE is an argument");
	TAP_OK(t, cc.auto_remove, "--rm");
	ctr_create_free(&cc);

	const char *a2[] = {"run",           "-h",       "box",     "-it", "--sig-proxy=false",
			    "--detach-keys", "ctrl-a,x", "busybox", NULL};
	rc = parse(true, &cc, &err, a2);
	TAP_OK(t, rc == 0, "-h is --hostname for run");
	TAP_STREQ(t, rc == 0 ? json_string_value(json_object_get(cc.body, "Hostname")) : NULL, "box", "hostname set");
	TAP_OK(t, rc == 0 && !cc.sig_proxy && cc.detach_keys && !strcmp(cc.detach_keys, "ctrl-a,x"),
	       "--sig-proxy=false and --detach-keys");
	TAP_OK(t, rc == 0 && json_is_true(json_object_get(cc.body, "StdinOnce")), "-i with stdin attached: StdinOnce");
	ctr_create_free(&cc);

	const char *a3[] = {"create", "-d", "busybox", NULL};
	rc = parse(false, &cc, &err, a3);
	TAP_OK(t, rc == CTR_PARSE_PRINTED, "create has no -d");

	const char *a4[] = {"run", "--network", "mynet", "--network-alias", "web", "--ip", "10.0.0.5", "busybox", NULL};
	rc = parse(true, &cc, &err, a4);
	json_t *ep = rc == 0 ? json_object_get(
				       json_object_get(json_object_get(cc.body, "NetworkingConfig"), "EndpointsConfig"),
				       "mynet") :
			       NULL;
	TAP_OK(t, ep && json_array_size(json_object_get(ep, "Aliases")) == 1, "network alias goes to the endpoint");
	TAP_STREQ(t, json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address")), "10.0.0.5",
		  "--ip goes to IPAMConfig");
	TAP_STREQ(t,
		  rc == 0 ? json_string_value(json_object_get(json_object_get(cc.body, "HostConfig"), "NetworkMode")) :
			    NULL,
		  "mynet", "NetworkMode is the first network");
	ctr_create_free(&cc);

	const char *a5[] = {"run", "--network", "container:abc", "-e",      "A=1", "-e",
			    "B=2", "-e",        "A=3",           "busybox", NULL};
	rc = parse(true, &cc, &err, a5);
	char *env = rc == 0 ? json_dumps(json_object_get(cc.body, "Env"), JSON_COMPACT) : NULL;
	TAP_STREQ(t, env, "[\"A=3\",\"B=2\"]", "-e names are unique, the last value wins");
	free(env);
	ctr_create_free(&cc);
}

struct err_case {
	const char *args[8];
	int rc;
	const char *msg;
};

static void test_errors(struct tap *t)
{
	static const struct err_case cases[] = {
		{{"run", "-e", "=x", "busybox"},
		 CTR_PARSE_FLAG_ERR,
		 "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x"},
		{{"run", "--add-host", "bad", "busybox"},
		 CTR_PARSE_FLAG_ERR,
		 "invalid argument \"bad\" for \"--add-host\" flag: bad format for add-host: \"bad\""},
		{{"run", "-m", "1x", "busybox"},
		 CTR_PARSE_FLAG_ERR,
		 "invalid argument \"1x\" for \"-m, --memory\" flag: invalid size: '1x'"},
		{{"run", "--cpus", "abc", "busybox"},
		 CTR_PARSE_FLAG_ERR,
		 "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"},
		{{"run", "-a", "foo", "busybox"},
		 CTR_PARSE_FLAG_ERR,
		 "invalid argument \"foo\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"},
		{{"run", "--ulimit", "nofile", "busybox"},
		 CTR_PARSE_FLAG_ERR,
		 "invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: nofile"},
		{{"run", "--mount", "type=bind", "busybox"},
		 CTR_PARSE_FLAG_ERR,
		 "invalid argument \"type=bind\" for \"--mount\" flag: target is required"},
		{{"run", "--restart", "on-failure:x", "busybox"},
		 CTR_PARSE_CONFIG_ERR,
		 "maximum retry count must be an integer"},
		{{"run", "--rm", "--restart", "always", "busybox"},
		 CTR_PARSE_CONFIG_ERR,
		 "Conflicting options: --restart and --rm"},
		{{"run", "--log-driver", "none", "--log-opt", "a=b", "busybox"},
		 CTR_PARSE_CONFIG_ERR,
		 "invalid logging opts for driver none"},
		{{"run", "--security-opt", "foo", "busybox"}, CTR_PARSE_CONFIG_ERR, "Invalid --security-opt: \"foo\""},
		{{"run", "-p", "99999", "busybox"}, CTR_PARSE_CONFIG_ERR, "Invalid containerPort: 99999"},
		{{"run", "--pid", "foo", "busybox"}, CTR_PARSE_CONFIG_ERR, "--pid: invalid PID mode"},
		{{"run", "--memory-swappiness", "200", "busybox"},
		 CTR_PARSE_CONFIG_ERR,
		 "invalid value: 200. Valid memory swappiness range is 0-100"},
		{{"run", "--env-file", "/nonexistent/env", "busybox"},
		 CTR_PARSE_CONFIG_ERR,
		 "open /nonexistent/env: no such file or directory"},
		{{"run", "--device", "/dev/null:rel", "busybox"}, CTR_PARSE_CONFIG_ERR, "rel is not an absolute path"},
		{{"run", "--health-interval", "5x", "busybox"},
		 CTR_PARSE_FLAG_ERR,
		 "invalid argument \"5x\" for \"--health-interval\" flag: time: unknown unit \"x\" in duration \"5x\""},
		{{"run"}, CTR_PARSE_ARGS, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctr_create cc;
		struct berth_error err = {0};
		int rc = parse(true, &cc, &err, cases[i].args);
		TAP_OK(t, rc == cases[i].rc, "%s %s: rc %d", cases[i].args[1] ? cases[i].args[1] : "(none)",
		       cases[i].args[2] ? cases[i].args[2] : "", rc);
		if (cases[i].msg)
			TAP_STREQ(t, err.msg, cases[i].msg, "message for %s", cases[i].args[1]);
		ctr_create_free(&cc);
	}
}

static void test_env_file(struct tap *t)
{
	char **out = NULL;
	struct berth_error err = {0};
	setenv("BERTH_T_PRESENT", "yes", 1);
	unsetenv("BERTH_T_ABSENT");
	char *p = write_tmp(
		"e1", "\xEF\xBB\xBF"
		      "FIRST=1\r\n  # comment\n\n\tSPACED=a b \nBERTH_T_PRESENT\nBERTH_T_ABSENT\nEQ=x=y\nEMPTY=\n");
	int rc = ctr_read_kv_file(p, true, &out, &err);
	TAP_OK(t, rc == 0, "env file parses");
	const char *want[] = {"FIRST=1", "SPACED=a b ", "BERTH_T_PRESENT=yes", "EQ=x=y", "EMPTY=", NULL};
	bool same = berth_strv_len(out) == 5;
	for (size_t i = 0; same && want[i]; i++)
		same = !strcmp(out[i], want[i]);
	TAP_OK(t, same, "BOM, CRLF, comments, blanks, lookup of bare names, values kept verbatim");
	berth_strv_free(out);
	out = NULL;
	rc = ctr_read_kv_file(p, false, &out, &err);
	TAP_OK(t, rc == 0 && berth_strv_len(out) == 4, "label files drop bare names");
	berth_strv_free(out);
	out = NULL;
	free(p);
	p = write_tmp("e2", "OK=1\nBAD KEY=1\n");
	rc = ctr_read_kv_file(p, true, &out, &err);
	TAP_OK(t, rc < 0, "whitespace in a name is an error");
	TAP_STREQ(t, err.msg, "poorly formatted environment: variable 'BAD KEY' contains whitespaces",
		  "docker's message");
	berth_strv_free(out);
	out = NULL;
	free(p);
	p = write_tmp("e3", "=novar\n");
	rc = ctr_read_kv_file(p, true, &out, &err);
	TAP_STREQ(t, rc < 0 ? err.msg : NULL, "poorly formatted environment: no variable name on line '=novar'",
		  "empty name");
	berth_strv_free(out);
	free(p);
}

static void test_pieces(struct tap *t)
{
	struct berth_error err = {0};
	long long n = 0;
	TAP_OK(t, ctr_parse_cpus("1.5", &n, &err) == 0 && n == 1500000000LL, "--cpus 1.5");
	TAP_OK(t, ctr_parse_cpus("0.000000001", &n, &err) == 0 && n == 1, "--cpus one nano");
	TAP_OK(t, ctr_parse_cpus("3/2", &n, &err) == 0 && n == 1500000000LL, "--cpus 3/2");
	TAP_OK(t, ctr_parse_cpus("0.0000000001", &n, &err) < 0 && !strcmp(err.msg, "value is too precise"),
	       "too precise");

	json_t *exp = json_object(), *bind = json_object();
	TAP_OK(t, ctr_parse_port_spec("[::1]:80:8080/UDP", exp, bind, &err) == 0, "ipv6 host ip");
	char *s = json_dumps(bind, JSON_COMPACT);
	TAP_STREQ(t, s, "{\"8080/udp\":[{\"HostIp\":\"::1\",\"HostPort\":\"80\"}]}", "binding");
	free(s);
	TAP_OK(t, ctr_parse_port_spec("8000-8001:80", exp, bind, &err) == 0, "host range for one port");
	TAP_STREQ(t, json_string_value(json_object_get(json_array_get(json_object_get(bind, "80/tcp"), 0), "HostPort")),
		  "8000-8001", "host port range kept");
	TAP_OK(t, ctr_parse_port_spec("8000-8001:80-82", exp, bind, &err) < 0, "mismatched ranges");
	TAP_STREQ(t, err.msg, "Invalid ranges specified for container and host Ports: 80-82 and 8000-8001",
		  "range msg");
	json_decref(exp);
	json_decref(bind);

	json_t *u = ctr_parse_ulimit("nofile=200:100", &err);
	TAP_OK(t, !u, "soft > hard refused");
	TAP_STREQ(t, err.msg, "ulimit soft limit must be less than or equal to hard limit: 200 > 100", "ulimit msg");

	TAP_OK(t,
	       ctr_volume_has_source("/a:/b") && ctr_volume_has_source("named:/b") && !ctr_volume_has_source("/data") &&
		       !ctr_volume_has_source("c:"),
	       "volume specs with a source are binds");
	json_t *m = ctr_parse_mount("type=bind,\"source=/a,b\",target=/c", &err);
	TAP_STREQ(t, m ? json_string_value(json_object_get(m, "Source")) : err.msg, "/a,b", "--mount CSV quoting");
	json_decref(m);
}

int main(void)
{
	struct tap t = {0};
	if (!mkdtemp(tmpdir))
		return 1;
	test_golden(&t);
	test_args(&t);
	test_errors(&t);
	test_env_file(&t);
	test_pieces(&t);
	struct berth_error err = {0};
	if (berth_rm_rf(tmpdir, &err) < 0)
		t.failed++;
	return TAP_DONE(&t);
}
