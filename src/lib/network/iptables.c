/* Running iptables: argv only (never a shell), output captured for errors.
 * Rules are made idempotent with -C before -A/-I. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "network/iptables.h"

extern char **environ;

/* Run argv with input (NULL: /dev/null) on its stdin. */
static int exec_in(char **argv, const char *input, char **output)
{
	if (output)
		*output = NULL;
	int pfd[2], ifd[2] = {-1, -1};
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	/* the input is a few rules: it fits in the pipe before the child runs */
	if (input && (strlen(input) > 60000 || pipe2(ifd, O_CLOEXEC) < 0)) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (input)
		posix_spawn_file_actions_adddup2(&fa, ifd[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (input) {
		close(ifd[0]);
		if (rc == 0) {
			size_t len = strlen(input), off = 0;
			while (off < len) {
				ssize_t w = write(ifd[1], input + off, len - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				off += (size_t)w;
			}
		}
		close(ifd[1]);
	}
	if (rc != 0) {
		close(pfd[0]);
		if (output)
			*output = berth_strdup_printf("%s: %s", argv[0], strerror(rc));
		return -1;
	}
	struct berth_buf b = {0};
	char buf[4096];
	for (;;) {
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len < 65536)
			berth_buf_append(&b, buf, (size_t)n);
	}
	close(pfd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (output)
		*output = berth_buf_steal(&b);
	berth_buf_free(&b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int berth_ipt_exec(char **argv, char **output) { return exec_in(argv, NULL, output); }

int berth_ipt_batch(const char *ipt, const struct berth_ipt_rules *rules, const char *op, struct berth_error *err)
{
	if (!rules->n)
		return 0;
	char *text = berth_ipt_restore_text(rules, op);
	if (!text)
		return berth_err(err, BERTH_E_INTERNAL, "iptables-restore: rules need quoting");
	char *bin = berth_strdup_printf("%s-restore", ipt);
	char *argv[] = {bin, "-w", "--noflush", NULL};
	char *out = NULL;
	int rc = bin ? exec_in(argv, text, &out) : -1;
	if (rc != 0)
		berth_err(err, BERTH_E_INTERNAL, "iptables failed: %s --noflush: %s (exit status %d)", bin ? bin : ipt,
			  out ? out : "", rc);
	free(out);
	free(bin);
	free(text);
	return rc == 0 ? 0 : -1;
}

static int run_rule(const char *ipt, const struct berth_ipt_rule *r, const char *op, char **out)
{
	char **argv = berth_ipt_argv(ipt, r, op);
	if (!argv)
		return -1;
	int rc = berth_ipt_exec(argv, out);
	berth_strv_free(argv);
	return rc;
}

int berth_ipt_ensure(const char *ipt, const struct berth_ipt_rule *r, struct berth_error *err)
{
	if (run_rule(ipt, r, "-C", NULL) == 0)
		return 0;
	char *out = NULL;
	int rc = run_rule(ipt, r, r->insert ? "-I" : "-A", &out);
	if (rc != 0) {
		struct berth_buf b = {0};
		for (size_t i = 0; r->args && r->args[i]; i++)
			berth_buf_printf(&b, " %s", r->args[i]);
		berth_err(err, BERTH_E_INTERNAL, "iptables failed: iptables -t %s %s %s%s: %s (exit status %d)",
			  r->table, r->insert ? "-I" : "-A", r->chain, berth_buf_str(&b), out ? out : "", rc);
		berth_buf_free(&b);
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

void berth_ipt_remove(const char *ipt, const struct berth_ipt_rule *r)
{
	/* every copy (a rule added twice by an older daemon goes too) */
	for (int i = 0; i < 16 && run_rule(ipt, r, "-C", NULL) == 0; i++)
		if (run_rule(ipt, r, "-D", NULL) != 0)
			break;
}

int berth_ipt_apply(const char *ipt, const struct berth_ipt_rules *rules, struct berth_error *err)
{
	for (size_t i = 0; i < rules->n; i++) {
		if (berth_ipt_ensure(ipt, &rules->v[i], err) < 0) {
			for (size_t j = 0; j < i; j++)
				berth_ipt_remove(ipt, &rules->v[j]);
			return -1;
		}
	}
	return 0;
}

void berth_ipt_unapply(const char *ipt, const struct berth_ipt_rules *rules)
{
	for (size_t i = rules->n; i-- > 0;)
		berth_ipt_remove(ipt, &rules->v[i]);
}

static int chain_new(const char *ipt, const char *table, const char *chain)
{
	char *argv[] = {(char *)ipt, "-w", "-t", (char *)table, "-N", (char *)chain, NULL};
	char *out = NULL;
	int rc = berth_ipt_exec(argv, &out);
	bool exists = out && strstr(out, "exists");
	free(out);
	return rc == 0 || exists ? 0 : -1;
}

/* Remove a jump and insert it again at the top (docker's ensureJumpRule). */
static int jump_first(const char *ipt, const char *table, const char *chain, char **args, struct berth_error *err)
{
	struct berth_ipt_rule r = {.table = table, .chain = chain, .insert = true, .args = args};
	berth_ipt_remove(ipt, &r);
	return berth_ipt_ensure(ipt, &r, err);
}

int berth_ipt_setup_base(const char *ipt, bool hairpin, struct berth_error *err)
{
	static const char *const filter_chains[] = {"BERTH", "BERTH-ISOLATION-STAGE-1", "BERTH-ISOLATION-STAGE-2",
						    "BERTH-USER"};
	if (chain_new(ipt, "nat", "BERTH") < 0)
		return berth_err(err, BERTH_E_INTERNAL,
				 "iptables: cannot create chain BERTH in table nat (is %s usable?)", ipt);
	for (size_t i = 0; i < 4; i++)
		if (chain_new(ipt, "filter", filter_chains[i]) < 0)
			return berth_err(err, BERTH_E_INTERNAL, "iptables: cannot create chain %s in table filter",
					 filter_chains[i]);
	char *pre[] = {"-m", "addrtype", "--dst-type", "LOCAL", "-j", "BERTH", NULL};
	/* ip6tables: the same chains, ::1 is its loopback */
	char *lo = strstr(ipt, "ip6tables") ? "::1/128" : "127.0.0.0/8";
	char *out_nohp[] = {"!", "-d", lo, "-m", "addrtype", "--dst-type", "LOCAL", "-j", "BERTH", NULL};
	struct berth_ipt_rule rules[] = {
		{"nat", "PREROUTING", false, pre},
		{"nat", "OUTPUT", false, hairpin ? pre : out_nohp},
		{"filter", "BERTH-ISOLATION-STAGE-1", false, (char *[]){"-j", "RETURN", NULL}},
		{"filter", "BERTH-ISOLATION-STAGE-2", false, (char *[]){"-j", "RETURN", NULL}},
		{"filter", "BERTH-USER", false, (char *[]){"-j", "RETURN", NULL}},
	};
	/* the other OUTPUT form (a daemon started before with the other --userland-proxy) goes */
	struct berth_ipt_rule other = {"nat", "OUTPUT", false, hairpin ? out_nohp : pre};
	berth_ipt_remove(ipt, &other);
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++)
		if (berth_ipt_ensure(ipt, &rules[i], err) < 0)
			return -1;
	if (jump_first(ipt, "filter", "FORWARD", (char *[]){"-j", "BERTH-ISOLATION-STAGE-1", NULL}, err) < 0 ||
	    jump_first(ipt, "filter", "FORWARD", (char *[]){"-j", "BERTH-USER", NULL}, err) < 0)
		return -1;
	return 0;
}
