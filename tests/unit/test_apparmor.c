/* runtime/apparmor.c: the berth-default profile text holds docker-default's
 * rules and, where apparmor_parser is installed, parses (-Q: no kernel). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/apparmor.h"
#include "tap.h"

static int parses(const char *text, const char *tmpl)
{
	char path[64];
	snprintf(path, sizeof(path), "%s", tmpl);
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "apparmor_parser -Q %s >/dev/null 2>&1", path);
	int rc = system(cmd);
	unlink(path);
	return rc;
}

int main(void)
{
	struct tap tp = {0}, *T = &tp;
	char *t = berth_apparmor_profile_text("berth-default", true);
	TAP_OK(T, t != NULL, "profile text");
	TAP_OK(T, strstr(t, "profile berth-default flags=(attach_disconnected,mediate_deleted)") != NULL,
	       "name and flags");
	TAP_OK(T, strstr(t, "deny mount,") != NULL, "mount denied");
	TAP_OK(T, strstr(t, "deny @{PROC}/sysrq-trigger rwklx,") && strstr(t, "deny /sys/firmware/** rwklx,"),
	       "/proc and /sys writes denied");
	TAP_OK(T, strstr(t, "ptrace (trace,read,tracedby,readby) peer=berth-default,") != NULL,
	       "ptrace only within the profile");
	TAP_OK(T, strstr(t, "#include <tunables/global>") && strstr(t, "#include <abstractions/base>"), "includes");
	bool have_parser = access("/usr/sbin/apparmor_parser", X_OK) == 0 || access("/sbin/apparmor_parser", X_OK) == 0;
	if (have_parser && access("/etc/apparmor.d/tunables/global", F_OK) == 0)
		TAP_OK(T, parses(t, "/tmp/berth-aa.XXXXXX") == 0, "apparmor_parser -Q accepts the profile");
	else
		TAP_OK(T, 1,
		       "# SKIP apparmor_parser or /etc/apparmor.d missing (scripts/install-deps.sh installs apparmor)");
	free(t);
	char *bare = berth_apparmor_profile_text("x-test", false);
	if (have_parser)
		TAP_OK(T, parses(bare, "/tmp/berth-aa.XXXXXX") == 0, "apparmor_parser -Q accepts it without includes");
	else
		TAP_OK(T, 1, "# SKIP apparmor_parser missing");
	free(bare);
	return TAP_DONE(T);
}
