/* berthd: the Berth daemon. Parses flags and daemon.json, opens the daemon
 * core, serves the Engine API and waits for signals (TERM/INT stop, HUP
 * reloads labels and debug). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/http.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/daemon.h"

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
		"      --live-restore           Enable live restore of containers (always on in Berth)\n"
		"      --log-driver string      Default driver for container logs (default \"json-file\")\n"
		"      --log-opt map            Default log driver options for containers\n"
		"  -p, --pidfile string         Path to use for daemon PID file\n"
		"  -s, --storage-driver string  Storage driver to use\n"
		"      --shim-path string       Path of the berth-shim binary\n"
		"  -v, --version                Print version information and quit\n");
}

static void note_flag(struct berth_config_flags *f, const char *name)
{
	if (f->n < 32)
		f->set[f->n++] = name;
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
	return berth_write_file_atomic(path, buf, (size_t)n, 0644, NULL);
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

int main(int argc, char **argv)
{
	/* systemd's NOTIFY_SOCKET is for berthd alone: runc honours it too and
	 * would wait for every container to send READY=1 */
	char notify_socket[256] = "";
	if (getenv("NOTIFY_SOCKET"))
		snprintf(notify_socket, sizeof(notify_socket), "%s", getenv("NOTIFY_SOCKET"));
	unsetenv("NOTIFY_SOCKET");
	struct berth_config cfg;
	berth_config_init(&cfg);
	struct berth_config_flags flags = {0};
	enum { O_DATA = 1000, O_EXEC, O_LABEL, O_CONFIG, O_DEFRT, O_ADDRT, O_LOGDRV, O_LOGOPT, O_LIVE, O_SHIM };
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
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool config_given = false;
	int o;
	while ((o = getopt_long(argc, argv, "H:s:Dp:vh", opts, NULL)) != -1) {
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
				return 1;
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
				return 1;
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
		case 'v': printf("Berth version %s\n", BERTH_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "berthd: unexpected argument \"%s\"\n", argv[optind]);
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
	if (!cfg.shim_path)
		cfg.shim_path = default_shim_path();
	if (cfg.pidfile && write_pidfile(cfg.pidfile) < 0) {
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
		return 1;
	}
	struct berth_http_server *srv = berth_http_server_new(berth_api_dispatch, d, "Berth/" BERTH_VERSION " (linux)");
	for (size_t i = 0; d->cfg.hosts[i]; i++) {
		if (berth_http_server_listen(srv, d->cfg.hosts[i], &err) < 0) {
			fprintf(stderr, "berthd: %s\n", err.msg);
			goto out;
		}
	}
	if (berth_http_server_start(srv, &err) < 0) {
		fprintf(stderr, "berthd: %s\n", err.msg);
		goto out;
	}
	berth_log(&d->log, BERTH_LOG_INFO, "Daemon has completed initialization");
	berth_log(&d->log, BERTH_LOG_INFO, "API listen on %s", d->cfg.hosts[0]);
	/* socket activation is done: keep LISTEN_* from shims and runtimes */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	if (notify_socket[0])
		berth_daemon_sd_notify(notify_socket, "READY=1");
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			if (berth_config_reload(&d->cfg, &err) < 0) {
				berth_log(&d->log, BERTH_LOG_ERROR, "Error reloading configuration: %s", err.msg);
			} else {
				atomic_store(&d->log.level, d->cfg.debug ? BERTH_LOG_DEBUG : BERTH_LOG_INFO);
				berth_log(&d->log, BERTH_LOG_INFO, "Reloaded configuration: labels and debug");
			}
			continue;
		}
		berth_log(&d->log, BERTH_LOG_INFO, "Processing signal '%s'", strsignal((int)si.ssi_signo));
		break;
	}
out:
	berth_http_server_stop(srv);
	berth_events_shutdown(d->events);
	/* give streaming handlers a moment to notice */
	for (int i = 0; i < 50 && berth_http_server_active(srv) > 0; i++)
		usleep(20000);
	if (berth_http_server_active(srv) == 0) {
		berth_http_server_free(srv);
		berth_daemon_close(d);
		free(d);
	}
	if (pidfile)
		unlink(pidfile);
	free(pidfile);
	close(sfd);
	berth_log(NULL, BERTH_LOG_INFO, "Daemon shutdown complete");
	return 0;
}
