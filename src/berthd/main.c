/* berthd: the Berth daemon. Parses flags and daemon.json, opens the daemon
 * core, serves the Engine API and waits for signals (TERM/INT stop, HUP
 * reloads labels and debug). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lazy/lazy.h"
#include "api/api.h"
#include "api/authz.h"
#include "api/http.h"
#include "api/tls.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "metadata/db.h"
#include "network/network.h"
#include "runtime/apparmor.h"
#include "runtime/seccomp.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage:\tberthd [OPTIONS]\n\nA self-sufficient runtime for containers.\n\nOptions:\n"
		"      --add-runtime name=path  Register an additional OCI compatible runtime\n"
		"      --config-file string     Daemon configuration file (default \"/etc/berth/daemon.json\")\n"
		"      --data-root string       Root directory of persistent state (default \"/var/lib/berth\")\n"
		"  -D, --debug                  Enable debug mode\n"
		"      --default-runtime string Default OCI runtime for containers\n"
		"      --exec-root string       Root directory for execution state files (default \"/run/berth\")\n"
		"  -H, --host list              Daemon socket(s) to connect to\n"
		"      --label list             Set key=value labels to the daemon\n"
		"      --http-idle-timeout int  Close keep-alive connections idle this long, seconds (default 180)\n"
		"      --http-read-timeout int  Limit for a request's headers and for a pause in its body, seconds (default 120)\n"
		"      --live-restore           Enable live restore of containers (always on in Berth)\n"
		"      --log-driver string      Default driver for container logs (default \"json-file\")\n"
		"      --log-opt map            Default log driver options for containers\n"
		"  -l, --log-level string       Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\")\n"
		"      --max-connections int    Open API connections before new ones get 503 (default from RLIMIT_NOFILE, at most 4096)\n"
		"      --insecure-registry list Enable insecure registry communication (host[:port] or CIDR)\n"
		"      --registry-mirror list   Preferred Docker registry mirror\n"
		"      --max-concurrent-downloads int  Set the max concurrent downloads for each pull (default 3)\n"
		"      --max-concurrent-uploads int    Set the max concurrent uploads for each push (default 5)\n"
		"  -p, --pidfile string         Path to use for daemon PID file\n"
		"  -s, --storage-driver string  Storage driver to use\n"
		"      --storage-opt list       Storage driver options\n"
		"      --seccomp-profile string Path to seccomp profile (\"builtin\", \"unconfined\" or a JSON file)\n"
		"      --userns-remap string    User/Group setting for user namespaces (\"default\" or user[:group])\n"
		"      --shim-path string       Path of the berth-shim binary\n"
		"  -b, --bridge string          Attach containers to a network bridge (\"none\": no default bridge)\n"
		"      --bip string             Specify network bridge IP\n"
		"      --default-address-pool   Default address pools for node specific local networks (base=CIDR,size=N)\n"
		"      --fixed-cidr string      IPv4 subnet for fixed IPs\n"
		"      --fixed-cidr-v6 string   IPv6 subnet for fixed IPs\n"
		"      --icc                    Enable inter-container communication (default true)\n"
		"      --ip ip                  Default IP when binding container ports, IPv4 or IPv6 (default 0.0.0.0)\n"
		"      --ip6tables              Enable addition of ip6tables rules (default true)\n"
		"      --ip-forward             Enable net.ipv4.ip_forward (default true)\n"
		"      --ip-masq                Enable IP masquerading (default true)\n"
		"      --ipv6                   Enable IPv6 networking\n"
		"      --iptables               Enable addition of iptables rules (default true)\n"
		"      --mtu int                Set the containers network MTU\n"
		"      --userland-proxy         Use userland proxy for loopback traffic (default true)\n"
		"      --userland-proxy-path string  Path to the userland proxy binary\n"
		"      --authorization-plugin list  Authorization plugins to load (repeatable, chain order)\n"
		"      --tls                    Use TLS; implied by --tlsverify (--tls=false allows a plaintext tcp:// listener)\n"
		"      --tlscacert string       Trust certs signed only by this CA (default \"/etc/berth/ca.pem\")\n"
		"      --tlscert string         Path to TLS certificate file (default \"/etc/berth/cert.pem\")\n"
		"      --tlskey string          Path to TLS key file (default \"/etc/berth/key.pem\")\n"
		"      --tlsverify              Use TLS and verify the remote (client certificates signed by --tlscacert)\n"
		"  -v, --version                Print version information and quit\n");
}

static void note_flag(struct berth_config_flags *f, const char *name)
{
	if (f->n < 32)
		f->set[f->n++] = name;
}

/* A flag that maps to a daemon.json key: same validation. */
static int apply_flag(struct berth_config *cfg, struct berth_config_flags *flags, const char *key, json_t *v)
{
	struct berth_error err = {0};
	int r = berth_config_apply(cfg, key, v, &err);
	json_decref(v);
	if (r < 0) {
		fprintf(stderr, "berthd: --%s: %s\n", key, err.msg);
		return -1;
	}
	note_flag(flags, key);
	return 0;
}

/* A repeatable list flag: the values so far plus this one, as a JSON array. */
static json_t *strv_plus(char *const *v, const char *add)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	json_array_append_new(a, json_string(add));
	return a;
}

static json_t *bool_arg(const char *name, const char *arg)
{
	if (!arg || !strcmp(arg, "true") || !strcmp(arg, "1"))
		return json_true();
	if (!strcmp(arg, "false") || !strcmp(arg, "0"))
		return json_false();
	fprintf(stderr,
		"invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax\n", arg,
		name, arg);
	return NULL;
}

static json_t *int_arg(const char *name, const char *arg)
{
	char *end;
	errno = 0;
	long long n = strtoll(arg, &end, 10);
	if (!*arg || *end || errno) {
		fprintf(stderr,
			"invalid argument \"%s\" for \"--%s\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax\n",
			arg, name, arg);
		return NULL;
	}
	return json_integer(n);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int write_pidfile(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", getpid());
	cleanup_free char *dir = strdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		berth_mkdir_p(dir, 0755, NULL);
	}
	/* refuse to run twice on one pidfile */
	char *old = NULL;
	if (berth_read_file(path, &old, NULL, 64, NULL) == 0) {
		int pid = atoi(old);
		free(old);
		if (pid > 0 && pid != getpid() && kill(pid, 0) == 0) {
			fprintf(stderr, "pid file found, ensure berthd is not running or delete %s\n", path);
			return -1;
		}
	}
	return berth_write_file_replace(path, buf, (size_t)n, 0644, NULL); /* this run only: no fsync */
}

static char *default_shim_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *p = berth_strdup_printf("%s/berth-shim", self);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
			p = berth_strdup_printf("%s/../shim/berth-shim", self);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return strdup("berth-shim");
}

/* Memory the daemon freed goes back to the kernel once it is idle: after
 * start-up and when no connection has been open for IDLE_TRIM_MS (checked
 * every IDLE_TICK_MS) and some were served since the last trim. Without it
 * the heap keeps the peak of the last big request (a load, a build)
 * resident. Lazily loaded libraries that nothing has used for IDLE_TRIM_MS
 * (libarchive and its dependencies, libzstd: src/lazy/lazy.h) are unloaded
 * at the same ticks, whatever the connections do, and the inspect documents
 * of containers unused since the previous tick are freed
 * (berth_daemon_idle). */
#define IDLE_TRIM_MS 2000
#define IDLE_TICK_MS 1000

static void idle_trim(struct berth_daemon *d)
{
	/* SQLite's page cache first: it is malloc'd, trimmed below; the
	 * events history's texts into one block, off the pages they pin */
	berth_db_release_memory(d->db);
	berth_events_compact(d->events);
	/* the converted seccomp profile: made again by the next start */
	berth_seccomp_memo_clear(d->seccomp_memo);
	malloc_trim(0);
	/* and the main thread's stack below this shallow frame (start-up
	 * went deeper: 44 KiB resident measured, 12 needed) */
	berth_thread_stack_release();
}

int main(int argc, char **argv)
{
	/* one malloc arena instead of eight per core: connection threads come
	 * and go, and a second arena kept 0.5 MiB of free pages resident after
	 * a burst of requests (malloc_trim gives back no other arena's top);
	 * its lock costs nothing measurable on the 100-parallel-run bench */
	mallopt(M_ARENA_MAX, 1);
	/* A fixed trim threshold (glibc's default, set explicitly): left
	 * alone, glibc raises it to twice the largest block freed from an
	 * mmap (up to 64 MiB), and an arena kept that much free memory
	 * resident after a load (1.4 MiB measured). Setting it also keeps
	 * the mmap threshold at 128 KiB: big buffers go back to the kernel
	 * when freed. */
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	berth_db_process_lean();
	/* systemd's NOTIFY_SOCKET is for berthd alone: runc honours it too and
	 * would wait for every container to send READY=1 */
	char notify_socket[256] = "";
	if (getenv("NOTIFY_SOCKET"))
		snprintf(notify_socket, sizeof(notify_socket), "%s", getenv("NOTIFY_SOCKET"));
	unsetenv("NOTIFY_SOCKET");
	struct berth_config cfg;
	berth_config_init(&cfg);
	struct berth_config_flags flags = {0};
	enum {
		O_DATA = 1000,
		O_EXEC,
		O_LABEL,
		O_CONFIG,
		O_DEFRT,
		O_ADDRT,
		O_LOGDRV,
		O_LOGOPT,
		O_LIVE,
		O_SHIM,
		O_TLS,
		O_TLSVERIFY,
		O_TLSCERT,
		O_TLSKEY,
		O_TLSCACERT,
		O_MAXCONN,
		O_IDLE,
		O_READTO,
		O_SECCOMP,
		O_AUTHZ,
		O_STORAGEOPT,
		O_INSECREG,
		O_MIRROR,
		O_MAXDL,
		O_MAXUL,
		O_USERNS,
	};
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'H'},
		{"data-root", required_argument, NULL, O_DATA},
		{"graph", required_argument, NULL, O_DATA},
		{"exec-root", required_argument, NULL, O_EXEC},
		{"storage-driver", required_argument, NULL, 's'},
		{"label", required_argument, NULL, O_LABEL},
		{"debug", no_argument, NULL, 'D'},
		{"config-file", required_argument, NULL, O_CONFIG},
		{"pidfile", required_argument, NULL, 'p'},
		{"default-runtime", required_argument, NULL, O_DEFRT},
		{"add-runtime", required_argument, NULL, O_ADDRT},
		{"log-driver", required_argument, NULL, O_LOGDRV},
		{"log-opt", required_argument, NULL, O_LOGOPT},
		{"live-restore", no_argument, NULL, O_LIVE},
		{"shim-path", required_argument, NULL, O_SHIM},
		{"tls", optional_argument, NULL, O_TLS},
		{"tlsverify", optional_argument, NULL, O_TLSVERIFY},
		{"tlscert", required_argument, NULL, O_TLSCERT},
		{"tlskey", required_argument, NULL, O_TLSKEY},
		{"tlscacert", required_argument, NULL, O_TLSCACERT},
		{"max-connections", required_argument, NULL, O_MAXCONN},
		{"http-idle-timeout", required_argument, NULL, O_IDLE},
		{"http-read-timeout", required_argument, NULL, O_READTO},
		{"seccomp-profile", required_argument, NULL, O_SECCOMP},
		{"userns-remap", required_argument, NULL, O_USERNS},
		/* networking (network/network.h): codes 2000.. */
		{"bridge", required_argument, NULL, 'b'},
		{"bip", required_argument, NULL, 2000},
		{"fixed-cidr", required_argument, NULL, 2001},
		{"ip", required_argument, NULL, 2002},
		{"userland-proxy-path", required_argument, NULL, 2003},
		{"default-bridge-name", required_argument, NULL, 2004}, /* hidden: the created bridge's name */
		{"fixed-cidr-v6", required_argument, NULL, 2005},
		{"iptables", optional_argument, NULL, 2010},
		{"ip-forward", optional_argument, NULL, 2011},
		{"ip-masq", optional_argument, NULL, 2012},
		{"icc", optional_argument, NULL, 2013},
		{"userland-proxy", optional_argument, NULL, 2014},
		{"ipv6", optional_argument, NULL, 2015},
		{"ip6tables", optional_argument, NULL, 2016},
		{"mtu", required_argument, NULL, 2020},
		{"default-address-pool", required_argument, NULL, 2021},
		{"authorization-plugin", required_argument, NULL, O_AUTHZ},
		{"storage-opt", required_argument, NULL, O_STORAGEOPT},
		{"insecure-registry", required_argument, NULL, O_INSECREG},
		{"registry-mirror", required_argument, NULL, O_MIRROR},
		{"max-concurrent-downloads", required_argument, NULL, O_MAXDL},
		{"max-concurrent-uploads", required_argument, NULL, O_MAXUL},
		{"log-level", required_argument, NULL, 'l'},
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool config_given = false;
	int o;
	raise_nofile();
	while ((o = getopt_long(argc, argv, "H:s:Dp:l:vhb:", opts, NULL)) != -1) {
		json_t *jv = NULL;
		const char *key = NULL;
		switch (o) {
		case O_TLS:
		case O_TLSVERIFY:
			key = o == O_TLS ? "tls" : "tlsverify";
			if (!(jv = bool_arg(key, optarg)))
				goto early_fail;
			break;
		case 'b':
		case 2000 ... 2005: {
			static const char *const skeys[] = {
				"bip",          "fixed-cidr", "ip", "userland-proxy-path", "default-bridge-name",
				"fixed-cidr-v6"};
			key = o == 'b' ? "bridge" : skeys[o - 2000];
			if (o == 2002 && berth_net_ip_valid(optarg) < 0) { /* dockerd's flag message */
				fprintf(stderr, "invalid argument \"%s\" for \"--ip\" flag: %s is not an ip address\n",
					optarg, optarg);
				goto early_fail;
			}
			jv = json_string(optarg);
			break;
		}
		case 2010 ... 2016: {
			static const char *const bkeys[] = {"iptables",       "ip-forward", "ip-masq",  "icc",
							    "userland-proxy", "ipv6",       "ip6tables"};
			key = bkeys[o - 2010];
			if (!(jv = bool_arg(key, optarg)))
				goto early_fail;
			break;
		}
		case 2020:
			key = "mtu";
			if (!(jv = int_arg(key, optarg)))
				goto early_fail;
			break;
		case 2021: { /* base=CIDR,size=N; repeatable */
			char base[64] = "";
			int size = 0;
			if (sscanf(optarg, "base=%63[^,],size=%d", base, &size) != 2) {
				fprintf(stderr,
					"invalid argument \"%s\" for \"--default-address-pool\" flag: "
					"expected base=CIDR,size=N\n",
					optarg);
				goto early_fail;
			}
			key = "default-address-pools";
			jv = cfg.net.default_addr_pools ? json_deep_copy(cfg.net.default_addr_pools) : json_array();
			json_array_append_new(jv, json_pack("{s:s, s:i}", "base", base, "size", size));
			break;
		}
		case O_TLSCERT:
		case O_TLSKEY:
		case O_TLSCACERT:
		case O_SECCOMP:
		case O_USERNS:
		case 'l':
			key = o == O_TLSCERT   ? "tlscert" :
			      o == O_TLSKEY    ? "tlskey" :
			      o == O_TLSCACERT ? "tlscacert" :
			      o == O_SECCOMP   ? "seccomp-profile" :
			      o == O_USERNS    ? "userns-remap" :
						 "log-level";
			jv = json_string(optarg);
			break;
		case O_INSECREG:
		case O_MIRROR: {
			/* repeatable: the list so far plus this entry */
			char **cur = o == O_INSECREG ? cfg.registry.insecure : cfg.registry.mirrors;
			key = o == O_INSECREG ? "insecure-registries" : "registry-mirrors";
			jv = json_array();
			for (char **e = cur; e && *e; e++)
				json_array_append_new(jv, json_string(*e));
			json_array_append_new(jv, json_string(optarg));
			break;
		}
		case O_MAXDL:
		case O_MAXUL:
			key = o == O_MAXDL ? "max-concurrent-downloads" : "max-concurrent-uploads";
			if (!(jv = int_arg(key, optarg)))
				goto early_fail;
			break;
		case O_AUTHZ: /* repeatable: the chain so far plus this plugin */
			key = "authorization-plugins";
			jv = strv_plus(cfg.sec.authz_plugins, optarg);
			break;
		case O_STORAGEOPT: /* repeatable */
			key = "storage-opts";
			jv = strv_plus(cfg.storage_opts, optarg);
			break;
		case O_MAXCONN:
		case O_IDLE:
		case O_READTO:
			key = o == O_MAXCONN ? "max-connections" :
			      o == O_IDLE    ? "http-idle-timeout" :
					       "http-read-timeout";
			if (!(jv = int_arg(key, optarg)))
				goto early_fail;
			break;
		default: break;
		}
		if (key) {
			if (apply_flag(&cfg, &flags, key, jv) < 0) {
				berth_config_free(&cfg);
				return 1;
			}
			continue;
		}
		switch (o) {
		case 'H':
			berth_strv_push(&cfg.hosts, optarg);
			note_flag(&flags, "host");
			break;
		case O_DATA:
			free(cfg.data_root);
			cfg.data_root = strdup(optarg);
			note_flag(&flags, "data-root");
			break;
		case O_EXEC:
			free(cfg.exec_root);
			cfg.exec_root = strdup(optarg);
			note_flag(&flags, "exec-root");
			break;
		case 's':
			free(cfg.storage_driver);
			cfg.storage_driver = strdup(optarg);
			note_flag(&flags, "storage-driver");
			break;
		case O_LABEL:
			berth_strv_push(&cfg.labels, optarg);
			note_flag(&flags, "label");
			break;
		case 'D':
			cfg.debug = true;
			note_flag(&flags, "debug");
			break;
		case O_CONFIG:
			free(cfg.config_file);
			cfg.config_file = strdup(optarg);
			config_given = true;
			break;
		case 'p':
			free(cfg.pidfile);
			cfg.pidfile = strdup(optarg);
			note_flag(&flags, "pidfile");
			break;
		case O_DEFRT:
			free(cfg.default_runtime);
			cfg.default_runtime = strdup(optarg);
			note_flag(&flags, "default-runtime");
			break;
		case O_ADDRT: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1]) {
				fprintf(stderr,
					"invalid argument \"%s\" for \"--add-runtime\" flag: runtime must be in name=path form\n",
					optarg);
				goto early_fail;
			}
			*eq = '\0';
			json_object_set_new(cfg.runtimes, optarg, json_pack("{s:s}", "path", eq + 1));
			note_flag(&flags, "runtimes");
			break;
		}
		case O_LOGDRV:
			free(cfg.log_driver);
			cfg.log_driver = strdup(optarg);
			note_flag(&flags, "log-driver");
			break;
		case O_LOGOPT: {
			char *eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "invalid argument \"%s\" for \"--log-opt\" flag: must be key=value\n",
					optarg);
				goto early_fail;
			}
			*eq = '\0';
			json_object_set_new(cfg.log_opts, optarg, json_string(eq + 1));
			note_flag(&flags, "log-opts");
			break;
		}
		case O_LIVE:
			cfg.live_restore = true;
			note_flag(&flags, "live-restore");
			break;
		case O_SHIM:
			free(cfg.shim_path);
			cfg.shim_path = strdup(optarg);
			break;
		case 'v': printf("Berth version %s\n", BERTH_VERSION); goto early_ok;
		case 'h': usage(stdout); goto early_ok;
		default: usage(stderr); goto early_fail;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "berthd: unexpected argument \"%s\"\n", argv[optind]);
		goto early_fail;
	}
	if (0) {
early_ok:
		berth_config_free(&cfg);
		return 0;
early_fail:
		berth_config_free(&cfg);
		return 1;
	}
	struct berth_error err = {0};
	if (berth_config_load_file(&cfg, cfg.config_file, config_given, &flags, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		berth_config_free(&cfg);
		return 1;
	}
	if (!cfg.hosts)
		berth_strv_push(&cfg.hosts, "unix:///run/berth/berth.sock");
	struct berth_tls_server *tls = NULL;
	if (berth_sec_config_finish(&cfg, &err) < 0 ||
	    (cfg.sec.tls && !(tls = berth_tls_server_new(&(struct berth_tls_server_opts){.cert = cfg.sec.tlscert,
											 .key = cfg.sec.tlskey,
											 .ca = cfg.sec.tlscacert,
											 .verify = cfg.sec.tlsverify},
							 &err)))) {
		fprintf(stderr, "berthd: failed to load listeners: %s\n", err.msg);
		berth_config_free(&cfg);
		return 1;
	}
	{
		char *warning = NULL;
		if (berth_config_check_hosts(&cfg, &warning, &err) < 0) {
			fprintf(stderr, "berthd: %s\n", err.msg);
			berth_tls_server_free(tls);
			berth_config_free(&cfg);
			return 1;
		}
		if (warning) {
			berth_log(NULL, BERTH_LOG_WARN, "%s", warning);
			free(warning);
		}
	}
	/* authorization plugins are checked before the daemon opens its stores
	 * and networks: a refused start leaves nothing behind (no bridge) */
	struct berth_authz *authz = berth_authz_new();
	if (!authz || berth_authz_set_plugins(authz, cfg.sec.authz_plugins, &err) < 0) {
		fprintf(stderr, "berthd: %s\n", authz ? err.msg : "out of memory");
		berth_authz_free(authz);
		berth_tls_server_free(tls);
		berth_config_free(&cfg);
		return 1;
	}
	if (!cfg.shim_path)
		cfg.shim_path = default_shim_path();
	if (cfg.pidfile && write_pidfile(cfg.pidfile) < 0) {
		berth_authz_free(authz);
		berth_tls_server_free(tls);
		berth_config_free(&cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL); /* before any thread starts */
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	struct berth_daemon *d = calloc(1, sizeof(*d));
	char *pidfile = cfg.pidfile ? strdup(cfg.pidfile) : NULL;
	if (berth_daemon_open(d, &cfg, &err) < 0) {
		fprintf(stderr, "berthd: %s\n", err.msg);
		if (pidfile)
			unlink(pidfile);
		free(pidfile);
		free(d);
		berth_tls_server_free(tls);
		berth_authz_free(authz);
		return 1;
	}
	if (d->cfg.log_level && strcmp(d->cfg.log_level, "debug") && strcmp(d->cfg.log_level, "info"))
		atomic_store(&d->log.level, !strcmp(d->cfg.log_level, "warn") ? BERTH_LOG_WARN : BERTH_LOG_ERROR);
	{
		/* the default AppArmor profile, where the kernel has AppArmor */
		cleanup_free char *aa_dir = berth_strdup_printf("%s/apparmor", d->cfg.exec_root);
		if (aa_dir && berth_apparmor_ensure_default(&d->sysinfo, aa_dir, &err) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "%s", err.msg);
	}
	int load_fd = -1;
	struct berth_http_server *srv = berth_http_server_new(berth_api_dispatch, d, "Berth/" BERTH_VERSION " (linux)");
	int rc = 0;
	if (!srv) {
		fprintf(stderr, "berthd: out of memory\n");
		berth_daemon_close(d);
		free(d);
		berth_tls_server_free(tls);
		berth_authz_free(authz);
		return 1;
	}
	berth_http_server_set_tls(srv, tls);
	struct berth_http_middleware authz_mw = berth_authz_middleware(authz);
	berth_http_server_use(srv, &authz_mw);
	berth_http_server_set_limits(srv, &(struct berth_http_limits){.max_conns = d->cfg.max_connections,
								      .idle_timeout_s = d->cfg.http_idle_timeout,
								      .read_timeout_s = d->cfg.http_read_timeout});
	berth_log(&d->log, BERTH_LOG_DEBUG, "API server bounds: %d connections, idle timeout %d s, read timeout %d s",
		  berth_http_server_limits(srv)->max_conns, berth_http_server_limits(srv)->idle_timeout_s,
		  berth_http_server_limits(srv)->read_timeout_s);
	for (size_t i = 0; d->cfg.hosts[i]; i++) {
		if (berth_http_server_listen(srv, d->cfg.hosts[i], &err) < 0) {
			fprintf(stderr, "berthd: %s\n", err.msg);
			rc = 1;
			goto out;
		}
	}
	if (berth_http_server_start(srv, &err) < 0) {
		fprintf(stderr, "berthd: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	berth_log(&d->log, BERTH_LOG_INFO, "API listen on %s", d->cfg.hosts[0]);
	/* socket activation is done: keep LISTEN_* from shims and runtimes */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	/* the containers are read while /_ping already answers; the other
	 * requests wait for them (berth_daemon_wait_loaded) */
	load_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (load_fd < 0 || berth_daemon_load_start(d, load_fd, &err) < 0) {
		if (load_fd < 0)
			berth_err_sys(&err, BERTH_E_INTERNAL, errno, "eventfd");
		fprintf(stderr, "berthd: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	uint64_t seen = berth_http_server_accepted(srv);
	bool trimmed = true;
	struct timespec busy_at;
	clock_gettime(CLOCK_MONOTONIC, &busy_at);
	for (;;) {
		struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = load_fd, .events = POLLIN}};
		int pr = poll(pfd, load_fd >= 0 ? 2 : 1, IDLE_TICK_MS);
		if (pr > 0 && load_fd >= 0 && (pfd[1].revents & POLLIN)) {
			close(load_fd);
			load_fd = -1;
			if (berth_daemon_wait_loaded(d, &err) < 0) {
				fprintf(stderr, "berthd: %s\n", err.msg);
				rc = 1;
				break;
			}
			berth_log(&d->log, BERTH_LOG_INFO, "Daemon has completed initialization");
			if (notify_socket[0])
				berth_daemon_sd_notify(notify_socket, "READY=1");
			idle_trim(d);
			seen = berth_http_server_accepted(srv);
			trimmed = true;
			continue;
		}
		if (pr == 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			uint64_t acc = berth_http_server_accepted(srv);
			bool unloaded = berth_lazy_unload_idle(IDLE_TRIM_MS) > 0;
			/* idle containers' documents (daemon.h): freed memory to trim */
			unloaded = berth_daemon_idle(d) > 0 || unloaded;
			if (acc != seen || berth_http_server_active(srv) > 0) {
				seen = acc;
				busy_at = now;
				trimmed = false;
			} else if ((!trimmed &&
				    (now.tv_sec - busy_at.tv_sec) * 1000 + (now.tv_nsec - busy_at.tv_nsec) / 1000000 >=
					    IDLE_TRIM_MS) ||
				   unloaded) {
				idle_trim(d);
				trimmed = true;
			}
			continue;
		}
		if (pr < 0 || !(pfd[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			berth_daemon_wait_loaded(d, NULL); /* the loader reads the configuration */
			if (berth_config_reload(&d->cfg, &err) < 0) {
				berth_log(&d->log, BERTH_LOG_ERROR, "Error reloading configuration: %s", err.msg);
			} else {
				atomic_store(&d->log.level, d->cfg.debug ? BERTH_LOG_DEBUG : BERTH_LOG_INFO);
				berth_log(&d->log, BERTH_LOG_INFO, "Reloaded configuration: labels and debug");
				if (berth_authz_set_plugins(authz, d->cfg.sec.authz_plugins, &err) < 0)
					berth_log(&d->log, BERTH_LOG_ERROR, "Error reloading authorization plugins: %s",
						  err.msg);
			}
			continue;
		}
		berth_log(&d->log, BERTH_LOG_INFO, "Processing signal '%s'", strsignal((int)si.ssi_signo));
		break;
	}
out:
	/* a stop during the load waits for it: it may be adopting containers */
	if (d->load_thread_started)
		berth_daemon_wait_loaded(d, NULL);
	if (load_fd >= 0)
		close(load_fd);
	berth_http_server_stop(srv);
	berth_events_shutdown(d->events);
	/* give streaming handlers a moment to notice */
	for (int i = 0; i < 50 && berth_http_server_active(srv) > 0; i++)
		usleep(20000);
	if (berth_http_server_active(srv) == 0) {
		berth_http_server_free(srv);
		berth_daemon_close(d);
		free(d);
		berth_tls_server_free(tls);
		berth_authz_free(authz);
	}
	if (pidfile)
		unlink(pidfile);
	free(pidfile);
	close(sfd);
	berth_log(NULL, BERTH_LOG_INFO, "Daemon shutdown complete");
	return rc;
}
