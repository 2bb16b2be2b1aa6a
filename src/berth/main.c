/* berth: docker's command line, speaking the Engine API to berthd (or dockerd). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pull.h"
#include "tls.h"

static const struct cli_cmd *const families[] = {cli_cmds_system,
						 cli_cmds_images,
						 cli_cmds_containers,
						 cli_cmds_stats,
						 cli_cmds_volumes,
						 cli_cmds_cp,
						 cli_cmds_files,
						 cli_cmds_network,
						 cli_cmds_build,
						 cli_cmds_login,
						 cli_cmds_pull,
						 cli_cmds_push,
						 NULL};

static void top_usage(FILE *out)
{
	fprintf(out, "\nUsage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\n"
		     "Options:\n  -H, --host list    Daemon socket(s) to connect to\n"
		     "      --tls          Use TLS; implied by --tlsverify\n"
		     "      --tlscacert string  Trust certs signed only by this CA (default \"~/.docker/ca.pem\")\n"
		     "      --tlscert string    Path to TLS certificate file (default \"~/.docker/cert.pem\")\n"
		     "      --tlskey string     Path to TLS key file (default \"~/.docker/key.pem\")\n"
		     "      --tlsverify    Use TLS and verify the remote\n"
		     "  -v, --version      Print version information and quit\n\nCommands:\n");
	for (int f = 0; families[f]; f++)
		for (const struct cli_cmd *c = families[f]; c->name; c++)
			if (!strchr(c->name, ' ') && c->summary)
				fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\nRun 'berth COMMAND --help' for more information on a command.\n");
}

static const struct cli_cmd *lookup(int argc, char **argv, int *consumed)
{
	if (argc >= 2) {
		char two[128];
		snprintf(two, sizeof(two), "%s %s", argv[0], argv[1]);
		for (int f = 0; families[f]; f++)
			for (const struct cli_cmd *c = families[f]; c->name; c++)
				if (!strcmp(c->name, two)) {
					*consumed = 2;
					return c;
				}
	}
	for (int f = 0; families[f]; f++)
		for (const struct cli_cmd *c = families[f]; c->name; c++)
			if (!strcmp(c->name, argv[0])) {
				*consumed = 1;
				return c;
			}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *host = NULL;
	struct berth_cli_tls_opts tls = {0};
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-H") || !strcmp(a, "--host")) && i + 1 < argc)
			host = argv[++i];
		else if (!strncmp(a, "--host=", 7))
			host = a + 7;
		else if (!strncmp(a, "-H", 2) && a[2])
			host = a + 2;
		else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			printf("Berth version %s\n", BERTH_VERSION);
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			top_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--tls") || !strcmp(a, "--tlsverify") || !strncmp(a, "--tls=", 6) ||
			   !strncmp(a, "--tlsverify=", 12)) {
			if (cli_tls_bool_flag(&tls, a) < 0)
				return 125;
		} else if (!strncmp(a, "--tlscacert", 11) || !strncmp(a, "--tlscert", 9) ||
			   !strncmp(a, "--tlskey", 8)) {
			int used = cli_tls_file_flag(&tls, a, i + 1 < argc ? argv[i + 1] : NULL);
			if (used < 0) {
				fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
				return 125;
			}
			i += used;
		} else if (!strcmp(a, "-D") || !strcmp(a, "--debug")) {
			continue;
		} else if ((!strcmp(a, "-l") || !strcmp(a, "--log-level") || !strcmp(a, "--config") ||
			    !strcmp(a, "-c") || !strcmp(a, "--context")) &&
			   i + 1 < argc) {
			i++;
		} else {
			fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
			return 125;
		}
	}
	if (i >= argc) {
		top_usage(stdout);
		return 0;
	}
	int consumed = 0;
	const struct cli_cmd *cmd = lookup(argc - i, argv + i, &consumed);
	if (!cmd) {
		fprintf(stderr, "berth: '%s' is not a berth command.\nSee 'berth --help'\n", argv[i]);
		return 1;
	}
	struct cli c = {0};
	berth_client_init(&c.cl, host);
	struct berth_error terr = {0};
	if (berth_client_tls_setup(&c.cl, &tls, &terr) < 0) {
		fprintf(stderr, "%s\n", terr.msg);
		berth_client_free(&c.cl);
		return 1;
	}
	char path[128];
	snprintf(path, sizeof(path), "berth %s", cmd->name);
	c.cmdpath = path;
	/* argv for the command: argv[0] = command name */
	int rc = cmd->fn(&c, argc - i - consumed + 1, argv + i + consumed - 1);
	berth_client_free(&c.cl);
	return rc;
}
