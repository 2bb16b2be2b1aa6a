#include "apparmor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* docker-default's rules (moby profiles/apparmor/template.go), for the
 * profile named by the caller. */
char *berth_apparmor_profile_text(const char *name, bool with_includes)
{
	struct berth_buf b = {0};
	if (with_includes)
		berth_buf_printf(&b, "#include <tunables/global>\n\n");
	else
		berth_buf_printf(&b, "@{PROC}=/proc/\n\n"); /* what tunables/global would define */
	berth_buf_printf(&b, "profile %s flags=(attach_disconnected,mediate_deleted) {\n\n", name);
	if (with_includes)
		berth_buf_printf(&b, "  #include <abstractions/base>\n\n");
	berth_buf_printf(&b,
			 "  network,\n"
			 "  capability,\n"
			 "  file,\n"
			 "  umount,\n"
			 "  # host (privileged) processes may send signals to container processes\n"
			 "  signal (receive) peer=unconfined,\n"
			 "  # container processes may send signals amongst themselves\n"
			 "  signal (send,receive) peer=%s,\n\n"
			 "  deny @{PROC}/* w,   # no writes to files directly in /proc (not in a subdir)\n"
			 "  # no writes to files outside /proc/<number>/** or /proc/sys/**\n"
			 "  deny @{PROC}/{[^1-9],[^1-9][^0-9],[^1-9s][^0-9y][^0-9s],[^1-9][^0-9][^0-9][^0-9/]*}/** w,\n"
			 "  deny @{PROC}/sys/[^k]** w,  # /proc/sys except /proc/sys/k* (in effect /proc/sys/kernel)\n"
			 "  deny @{PROC}/sys/kernel/{?,??,[^s][^h][^m]**} w,  # all of /proc/sys/kernel but shm*\n"
			 "  deny @{PROC}/sysrq-trigger rwklx,\n"
			 "  deny @{PROC}/kcore rwklx,\n\n"
			 "  deny mount,\n\n"
			 "  deny /sys/[^f]*/** wklx,\n"
			 "  deny /sys/f[^s]*/** wklx,\n"
			 "  deny /sys/fs/[^c]*/** wklx,\n"
			 "  deny /sys/fs/c[^g]*/** wklx,\n"
			 "  deny /sys/fs/cg[^r]*/** wklx,\n"
			 "  deny /sys/firmware/** rwklx,\n"
			 "  deny /sys/kernel/security/** rwklx,\n\n"
			 "  # ptrace only within the profile ('ps' inside a container, 'top' from the host)\n"
			 "  ptrace (trace,read,tracedby,readby) peer=%s,\n"
			 "}\n",
			 name, name);
	return berth_buf_steal(&b);
}

bool berth_apparmor_loaded(const char *name)
{
	FILE *f = fopen("/sys/kernel/security/apparmor/profiles", "re");
	if (!f)
		return false;
	char line[512];
	size_t n = strlen(name);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, name, n) && line[n] == ' ';
	fclose(f);
	return found;
}

int berth_apparmor_ensure_default(const struct berth_sysinfo *si, const char *dir, struct berth_error *err)
{
	if (!si->apparmor || berth_apparmor_loaded(BERTH_APPARMOR_DEFAULT))
		return 0;
	if (berth_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *path = berth_strdup_printf("%s/%s", dir, BERTH_APPARMOR_DEFAULT);
	cleanup_free char *text = berth_apparmor_profile_text(BERTH_APPARMOR_DEFAULT,
							      access("/etc/apparmor.d/tunables/global", F_OK) == 0);
	if (!path || !text)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (berth_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "apparmor_parser");
	if (pid == 0) {
		execlp("apparmor_parser", "apparmor_parser", "-Kr", path, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return berth_err(
			err, BERTH_E_INTERNAL,
			"AppArmor enabled on system but the %s profile could not be loaded: apparmor_parser -Kr %s "
			"exited with %d",
			BERTH_APPARMOR_DEFAULT, path, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
