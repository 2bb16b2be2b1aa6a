/* common/idmap.c: docker's --userns-remap forms against passwd/group/subuid/
 * subgid files of the test's own, and the id arithmetic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/idmap.h"
#include "tap.h"

static char dir[] = "/tmp/test-idmap.XXXXXX";
static char pw[128], gr[128], su[128], sg[128];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static int load(struct berth_idmap *m, const char *spec, struct berth_error *err)
{
	struct berth_idmap_files f = {.passwd = pw, .group = gr, .subuid = su, .subgid = sg, .no_create = true};
	return berth_idmap_load(m, spec, &f, NULL, err);
}

int main(void)
{
	struct tap t = {0};
	if (!mkdtemp(dir))
		return 1;
	snprintf(pw, sizeof(pw), "%s/passwd", dir);
	snprintf(gr, sizeof(gr), "%s/group", dir);
	snprintf(su, sizeof(su), "%s/subuid", dir);
	snprintf(sg, sizeof(sg), "%s/subgid", dir);
	put(pw,
	    "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n");
	put(gr, "root:x:0:\nalice:x:1000:\nbob:x:1001:\nstaff:x:50:\n");
	put(su, "# comment\nalice:100000:65536\n1001:300000:1000\nalice:500000:10\n");
	put(sg, "alice:200000:65536\nstaff:400000:65536\nbob:600000:1000\n");

	struct berth_idmap m;
	struct berth_error err = {0};
	TAP_OK(&t, load(&m, "alice", &err) == 0 && m.nuid == 2 && m.ngid == 1, "name form (%s)", err.msg);
	TAP_OK(&t,
	       m.uids[0].container == 0 && m.uids[0].host == 100000 && m.uids[1].container == 65536 &&
		       m.uids[1].host == 500000 && m.uids[1].size == 10,
	       "ranges follow each other in file order");
	TAP_OK(&t, berth_idmap_root_uid(&m) == 100000 && berth_idmap_root_gid(&m) == 200000, "root maps to first ids");
	TAP_OK(&t,
	       berth_idmap_to_host(m.uids, m.nuid, 65537) == 500001 && berth_idmap_to_host(m.uids, m.nuid, 70000) < 0,
	       "to host across ranges; unmapped");
	TAP_OK(&t, berth_idmap_to_container(m.uids, m.nuid, 100005) == 5, "to container");
	uint32_t u = 1000, g = 70000;
	berth_idmap_shift(&m, &u, &g);
	TAP_OK(&t, u == 101000 && g == 200000, "shift: unmapped gid falls to root's");

	TAP_OK(&t,
	       load(&m, "1001", &err) == 0 && !strcmp(m.user, "bob") && m.uids[0].host == 300000 &&
		       m.gids[0].host == 600000,
	       "uid form matches subuid by number (%s)", err.msg);
	TAP_OK(&t, load(&m, "alice:staff", &err) == 0 && !strcmp(m.group, "staff") && m.gids[0].host == 400000,
	       "user:group (%s)", err.msg);
	TAP_OK(&t, load(&m, "alice:50", &err) == 0 && !strcmp(m.group, "staff"), "user:gid (%s)", err.msg);
	TAP_OK(&t, load(&m, "root", &err) == 0 && !berth_idmap_enabled(&m), "root remapped to itself: off");

	TAP_OK(&t,
	       load(&m, "a:b:c", &err) < 0 &&
		       !strcmp(err.msg, "Invalid user/group specification in --userns-remap: \"a:b:c\""),
	       "three parts: %s", err.msg);
	TAP_OK(&t, load(&m, "nobody", &err) < 0 && strstr(err.msg, "Error during uid lookup for \"nobody\""),
	       "unknown user: %s", err.msg);
	TAP_OK(&t, load(&m, "4242", &err) < 0 && strstr(err.msg, "Uid 4242 has no entry in /etc/passwd"),
	       "unknown uid: %s", err.msg);
	TAP_OK(&t,
	       load(&m, "alice:nogroup", &err) < 0 && strstr(err.msg, "Error during groupname lookup for \"nogroup\""),
	       "unknown group: %s", err.msg);
	TAP_OK(&t, load(&m, "bob:staff", &err) == 0 && m.uids[0].host == 300000, "bob by uid in subuid");
	put(su, "alice:100000:65536\n");
	TAP_OK(&t,
	       load(&m, "bob", &err) < 0 &&
		       !strcmp(err.msg, "Can't create ID mappings: No subuid ranges found for user \"bob\""),
	       "no subuid ranges: %s", err.msg);
	TAP_OK(&t,
	       load(&m, "alice:root", &err) < 0 && strstr(err.msg, "No subgid ranges found for group \"root\"") &&
		       !berth_idmap_enabled(&m),
	       "no subgid ranges: %s", err.msg);
	TAP_OK(&t, load(&m, "default", &err) < 0 && strstr(err.msg, "\"berthremap\""), "default without creating: %s",
	       err.msg);
	unlink(pw);
	unlink(gr);
	unlink(su);
	unlink(sg);
	rmdir(dir);
	return TAP_DONE(&t);
}
