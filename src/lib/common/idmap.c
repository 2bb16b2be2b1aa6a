#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define RANGE_START 100000u /* docker's first subordinate id */
#define RANGE_SIZE 65536u

static const char *file_or(const char *f, const char *def) { return f ? f : def; }

static bool parse_u32(const char *s, uint32_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > INT32_MAX || s[0] == '-' || s[0] == '+')
		return false;
	*out = (uint32_t)v;
	return true;
}

/* passwd/group line lookup: field 0 is the name, field 2 the id. Match by
 * name (when name) or by id. Fills the other. */
static bool db_lookup(const char *path, const char *name, uint32_t id, char out_name[64], uint32_t *out_id)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *save = NULL, *fname = strtok_r(line, ":", &save);
		(void)strtok_r(NULL, ":", &save);
		char *fid = strtok_r(NULL, ":", &save);
		uint32_t v;
		if (!fname || !parse_u32(fid, &v))
			continue;
		if (name ? !strcmp(fname, name) : v == id) {
			snprintf(out_name, 64, "%s", fname);
			*out_id = v;
			return true;
		}
	}
	return false;
}

/* Ranges of owner (name or its numeric id) in a subid file, or of everyone
 * (owner NULL: for finding a free range). */
static size_t subid_ranges(const char *path, const char *owner, uint32_t owner_id, struct berth_idrange *r, size_t max)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[512];
	size_t n = 0;
	char idstr[16];
	snprintf(idstr, sizeof(idstr), "%" PRIu32, owner_id);
	while (n < max && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *save = NULL, *who = strtok_r(line, ":", &save), *s = strtok_r(NULL, ":", &save),
		     *c = strtok_r(NULL, ":", &save);
		uint32_t start, count;
		if (!who || *who == '#' || !parse_u32(s, &start) || !parse_u32(c, &count) || !count)
			continue;
		if (owner && strcmp(who, owner) && strcmp(who, idstr))
			continue;
		r[n].container = 0;
		r[n].host = start;
		r[n].size = count;
		n++;
	}
	/* container ids follow each other in file order (docker's createIDMap) */
	uint32_t next = 0;
	for (size_t i = 0; i < n; i++) {
		r[i].container = next;
		next += r[i].size;
	}
	return n;
}

static int run_tool(struct berth_error *err, const char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "%s", argv[0]);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		struct berth_buf cmd = {0};
		for (size_t i = 0; argv[i]; i++)
			berth_buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
		berth_err(err, BERTH_E_INTERNAL, "%s failed: exit status %d", cmd.data ? cmd.data : argv[0],
			  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		berth_buf_free(&cmd);
		return -1;
	}
	return 0;
}

/* First RANGE_SIZE ids from RANGE_START that overlap no range in path
 * (docker's findNextRangeStart over ranges sorted by start). */
static uint32_t next_free_start(const char *path)
{
	struct berth_idrange all[256];
	size_t n = subid_ranges(path, NULL, 0, all, 256);
	uint32_t start = RANGE_START;
	for (bool moved = true; moved;) {
		moved = false;
		for (size_t i = 0; i < n; i++) {
			uint64_t a = all[i].host, b = (uint64_t)all[i].host + all[i].size;
			if ((uint64_t)start < b && (uint64_t)start + RANGE_SIZE > a) {
				start = (uint32_t)b;
				moved = true;
			}
		}
	}
	return start;
}

static int add_ranges(const char *name, const char *file, const char *flag, bool *created, struct berth_error *err)
{
	struct berth_idrange r[1];
	if (subid_ranges(file, name, UINT32_MAX, r, 1))
		return 0;
	uint32_t s = next_free_start(file);
	char range[64];
	snprintf(range, sizeof(range), "%" PRIu32 "-%" PRIu32, s, s + RANGE_SIZE - 1);
	if (run_tool(err, (const char *const[]){"usermod", flag, range, name, NULL}) < 0)
		return -1;
	*created = true;
	return 0;
}

/* dockerd's AddNamespaceRangesUser for the default user. */
static int create_default(bool *created, struct berth_error *err)
{
	char n[64];
	uint32_t id;
	if (!db_lookup("/etc/passwd", BERTH_REMAP_DEFAULT_USER, 0, n, &id)) {
		if (run_tool(err, (const char *const[]){"useradd", "--system", "--user-group", "--no-create-home",
							"--shell", "/bin/false", BERTH_REMAP_DEFAULT_USER, NULL}) < 0)
			return -1;
		*created = true;
	}
	if (add_ranges(BERTH_REMAP_DEFAULT_USER, "/etc/subuid", "-v", created, err) < 0 ||
	    add_ranges(BERTH_REMAP_DEFAULT_USER, "/etc/subgid", "-w", created, err) < 0)
		return -1;
	return 0;
}

int berth_idmap_load(struct berth_idmap *m, const char *spec, const struct berth_idmap_files *files, bool *created,
		     struct berth_error *err)
{
	static const struct berth_idmap_files none = {0};
	if (!files)
		files = &none;
	bool made = false;
	memset(m, 0, sizeof(*m));
	const char *pw = file_or(files->passwd, "/etc/passwd"), *gr = file_or(files->group, "/etc/group");
	const char *su = file_or(files->subuid, "/etc/subuid"), *sg = file_or(files->subgid, "/etc/subgid");
	cleanup_free char *copy = strdup(spec ? spec : "");
	if (!copy)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char *part1 = copy, *part2 = strchr(copy, ':');
	if (part2) {
		*part2++ = '\0';
		if (strchr(part2, ':'))
			return berth_err(err, BERTH_E_INVALID,
					 "Invalid user/group specification in --userns-remap: \"%s\"", spec);
	}
	uint32_t uid = 0, gid = 0;
	if (parse_u32(part1, &uid)) {
		if (!db_lookup(pw, NULL, uid, m->user, &uid))
			return berth_err(err, BERTH_E_INVALID,
					 "Uid %" PRIu32 " has no entry in /etc/passwd: user: unknown userid %" PRIu32,
					 uid, uid);
		if (!part2 && !db_lookup(gr, NULL, uid, m->group, &gid))
			return berth_err(err, BERTH_E_INVALID,
					 "Gid %" PRIu32 " has no entry in /etc/group: group: unknown groupid %" PRIu32,
					 uid, uid);
	} else {
		bool dflt = !strcmp(part1, "default");
		const char *name = dflt ? BERTH_REMAP_DEFAULT_USER : part1;
		if (!*name)
			return berth_err(err, BERTH_E_INVALID,
					 "Invalid user/group specification in --userns-remap: \"%s\"", spec);
		if (dflt && !files->no_create && !files->passwd) {
			if (create_default(&made, err) < 0) {
				char *msg = strdup(err->msg);
				berth_err(err, BERTH_E_INTERNAL, "Error during \"%s\" user creation: %s",
					  BERTH_REMAP_DEFAULT_USER, msg ? msg : "");
				free(msg);
				return -1;
			}
		}
		if (!db_lookup(pw, name, 0, m->user, &uid))
			return berth_err(err, BERTH_E_INVALID,
					 "Error during uid lookup for \"%s\": user: unknown user %s", name, name);
		if (!part2 && !db_lookup(gr, name, 0, m->group, &gid))
			return berth_err(err, BERTH_E_INVALID,
					 "Error during gid lookup for \"%s\": group: unknown group %s", name, name);
	}
	if (part2) {
		uint32_t g;
		if (parse_u32(part2, &g)) {
			if (!db_lookup(gr, NULL, g, m->group, &gid))
				return berth_err(err, BERTH_E_INVALID,
						 "Gid %" PRIu32
						 " has no entry in /etc/passwd: group: unknown groupid %" PRIu32,
						 g, g);
		} else if (!db_lookup(gr, part2, 0, m->group, &gid)) {
			return berth_err(err, BERTH_E_INVALID,
					 "Error during groupname lookup for \"%s\": group: unknown group %s", part2,
					 part2);
		}
	}
	if (created)
		*created = made;
	if (!strcmp(m->user, "root"))
		return 0; /* "root cannot be remapped with itself; user namespaces are OFF" */
	m->nuid = subid_ranges(su, m->user, uid, m->uids, BERTH_IDMAP_MAX_RANGES);
	if (!m->nuid)
		return berth_err(err, BERTH_E_INVALID,
				 "Can't create ID mappings: No subuid ranges found for user \"%s\"", m->user);
	m->ngid = subid_ranges(sg, m->group, gid, m->gids, BERTH_IDMAP_MAX_RANGES);
	if (!m->ngid) {
		m->nuid = 0;
		return berth_err(err, BERTH_E_INVALID,
				 "Can't create ID mappings: No subgid ranges found for group \"%s\"", m->group);
	}
	return 0;
}

int64_t berth_idmap_to_host(const struct berth_idrange *r, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= r[i].container && (uint64_t)id < (uint64_t)r[i].container + r[i].size)
			return (int64_t)r[i].host + (id - r[i].container);
	return -1;
}

int64_t berth_idmap_to_container(const struct berth_idrange *r, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= r[i].host && (uint64_t)id < (uint64_t)r[i].host + r[i].size)
			return (int64_t)r[i].container + (id - r[i].host);
	return -1;
}

uint32_t berth_idmap_root_uid(const struct berth_idmap *m)
{
	int64_t v = berth_idmap_enabled(m) ? berth_idmap_to_host(m->uids, m->nuid, 0) : 0;
	return v < 0 ? 0 : (uint32_t)v;
}

uint32_t berth_idmap_root_gid(const struct berth_idmap *m)
{
	int64_t v = berth_idmap_enabled(m) ? berth_idmap_to_host(m->gids, m->ngid, 0) : 0;
	return v < 0 ? 0 : (uint32_t)v;
}

void berth_idmap_shift(const struct berth_idmap *m, uint32_t *uid, uint32_t *gid)
{
	if (!berth_idmap_enabled(m))
		return;
	int64_t u = berth_idmap_to_host(m->uids, m->nuid, *uid), g = berth_idmap_to_host(m->gids, m->ngid, *gid);
	*uid = u < 0 ? berth_idmap_root_uid(m) : (uint32_t)u;
	*gid = g < 0 ? berth_idmap_root_gid(m) : (uint32_t)g;
}

void berth_idmap_unshift(const struct berth_idmap *m, uint32_t *uid, uint32_t *gid)
{
	if (!berth_idmap_enabled(m))
		return;
	int64_t u = berth_idmap_to_container(m->uids, m->nuid, *uid),
		g = berth_idmap_to_container(m->gids, m->ngid, *gid);
	*uid = u < 0 ? BERTH_IDMAP_OVERFLOW_ID : (uint32_t)u;
	*gid = g < 0 ? BERTH_IDMAP_OVERFLOW_ID : (uint32_t)g;
}

int berth_idmap_chown_root(const struct berth_idmap *m, const char *path, struct berth_error *err)
{
	if (!berth_idmap_enabled(m))
		return 0;
	if (lchown(path, berth_idmap_root_uid(m), berth_idmap_root_gid(m)) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "chown %s", path);
	return 0;
}

int berth_idmap_share_dir(const struct berth_idmap *m, const char *path, struct berth_error *err)
{
	if (!berth_idmap_enabled(m))
		return 0;
	if (chown(path, (uid_t)-1, berth_idmap_root_gid(m)) < 0 || chmod(path, 0710) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "chown %s", path);
	return 0;
}

int berth_idmap_mkdir_p(const struct berth_idmap *m, const char *path, mode_t mode, struct berth_error *err)
{
	cleanup_free char *p = strdup(path);
	if (!p)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	size_t n = strlen(p);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) == 0) {
			if (berth_idmap_enabled(m) && lchown(p, berth_idmap_root_uid(m), berth_idmap_root_gid(m)) < 0)
				return berth_err_sys(err, BERTH_E_INTERNAL, errno, "chown %s", p);
		} else if (errno != EEXIST) {
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "mkdir %s", p);
		}
		p[i] = c;
	}
	return 0;
}
