/* The volume store (local driver, records, references, filters, prune),
 * docker's mount-spec checks and messages, and the container hooks
 * (create / start / stop / remove) on a real container table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/volumes.h"
#include "daemon/volumes_int.h"
#include "storage/fsutil.h"
#include "tap.h"

static char tmpdir[256];

static int open_daemon(struct berth_daemon *d)
{
	memset(d, 0, sizeof(*d));
	d->cfg.data_root = berth_strdup_printf("%s/data", tmpdir);
	mkdir(d->cfg.data_root, 0711);
	char *db = berth_strdup_printf("%s/berth.db", d->cfg.data_root);
	d->db = berth_db_open(db, NULL, NULL);
	free(db);
	if (!d->db)
		return -1;
	d->events = berth_events_new(256);
	struct berth_error err = {0};
	d->containers = berth_containers_open(d, &err);
	d->volumes = berth_volumes_open(d, &err);
	if (!d->containers || !d->volumes)
		fprintf(stderr, "# open: %s\n", err.msg);
	return d->containers && d->volumes ? 0 : -1;
}

static void close_daemon(struct berth_daemon *d)
{
	berth_volumes_close(d->volumes);
	berth_containers_close(d->containers);
	berth_db_close(d->db);
	berth_events_free(d->events);
	free(d->cfg.data_root);
}

static json_t *create(struct berth_daemon *d, const char *body_json, struct berth_error *err)
{
	json_t *body = json_loads(body_json, 0, NULL);
	berth_err_clear(err);
	json_t *v = berth_volume_create(d->volumes, body, err);
	json_decref(body);
	return v;
}

static char *names_of(json_t *list)
{
	struct berth_buf b = {0};
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(list, "Volumes"), i, v)
		berth_buf_printf(&b, "%s%s", i ? "," : "", json_string_value(json_object_get(v, "Name")));
	return berth_buf_steal(&b);
}

static char *list_names(struct berth_daemon *d, const char *filters, struct berth_error *err)
{
	json_t *f = json_loads(filters, 0, NULL);
	berth_err_clear(err);
	json_t *l = berth_volume_list(d->volumes, f, err);
	json_decref(f);
	if (!l)
		return strdup("(error)");
	char *s = names_of(l);
	json_decref(l);
	return s;
}

static void test_names(struct tap *t)
{
	struct berth_error err = {0};
	TAP_OK(t, berth_volume_name_valid("ab", &err) == 0, "two characters are a valid name");
	TAP_OK(t, berth_volume_name_valid("a..b-c_d", &err) == 0, "dots, dashes, underscores");
	TAP_OK(t, berth_volume_name_valid("a", &err) < 0 && err.kind == BERTH_E_INVALID, "one character is too short");
	TAP_STREQ(t, err.msg, "volume name is too short, names should be at least two alphanumeric characters",
		  "docker's too-short message");
	TAP_OK(t, berth_volume_name_valid("x/y", &err) < 0, "a slash is refused");
	TAP_STREQ(
		t, err.msg,
		"\"x/y\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
		"docker's invalid-characters message");
	TAP_OK(t, berth_volume_name_valid(".ab", &err) < 0, "a leading dot is refused");
}

static void test_store(struct tap *t, struct berth_daemon *d)
{
	struct berth_error err = {0};
	json_t *v = create(d, "{\"Name\":\"v1\",\"Labels\":{\"a\":\"b\"}}", &err);
	TAP_OK(t, v != NULL, "create v1 (%s)", err.msg);
	char *want_mp = berth_strdup_printf("%s/volumes/v1/_data", d->cfg.data_root);
	TAP_STREQ(t, json_string_value(json_object_get(v, "Mountpoint")), want_mp,
		  "Mountpoint is <root>/volumes/v1/_data");
	TAP_STREQ(t, json_string_value(json_object_get(v, "Driver")), "local", "Driver local");
	TAP_STREQ(t, json_string_value(json_object_get(v, "Scope")), "local", "Scope local");
	TAP_OK(t, json_is_null(json_object_get(v, "Options")), "Options null without driver options");
	TAP_STREQ(t, json_string_value(json_object_get(json_object_get(v, "Labels"), "a")), "b", "labels kept");
	const char *created = json_string_value(json_object_get(v, "CreatedAt"));
	TAP_OK(t, created && strlen(created) >= 20 && created[10] == 'T' && !strchr(created, '.'),
	       "CreatedAt is RFC 3339 in seconds (%s)", created ? created : "");
	struct stat st;
	TAP_OK(t, stat(want_mp, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755, "_data is 0755");
	char *vroot = berth_strdup_printf("%s/volumes/v1", d->cfg.data_root);
	TAP_OK(t, stat(vroot, &st) == 0 && (st.st_mode & 07777) == 0701, "the volume's directory is 0701");
	free(vroot);
	free(want_mp);
	json_decref(v);

	v = create(d, "{\"Name\":\"v1\",\"Labels\":{\"a\":\"other\"}}", &err);
	TAP_STREQ(t, json_string_value(json_object_get(json_object_get(v, "Labels"), "a")), "b",
		  "creating an existing volume returns it unchanged");
	json_decref(v);

	v = create(d, "{}", &err);
	const char *anon = json_string_value(json_object_get(v, "Name"));
	TAP_OK(t, anon && strlen(anon) == 64 && berth_is_hex(anon, 64), "no name: a 64-hex name");
	TAP_OK(t, anon && berth_volume_remove(d->volumes, anon, false, &err) == 0, "remove it");
	json_decref(v);

	static const struct {
		const char *body, *msg;
		enum berth_err_kind kind;
	} bad[] = {
		{"{\"Name\":\"x/y\"}",
		 "create x/y: \"x/y\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
		 BERTH_E_INVALID},
		{"{\"Name\":\"a\"}",
		 "create a: volume name is too short, names should be at least two alphanumeric characters",
		 BERTH_E_INVALID},
		{"{\"Name\":\"v3\",\"DriverOpts\":{\"bad\":\"x\"}}", "create v3: invalid option: \"bad\"",
		 BERTH_E_INVALID},
		{"{\"Name\":\"v3\",\"DriverOpts\":{\"type\":\"tmpfs\"}}",
		 "create v3: missing required option: \"device\"", BERTH_E_INVALID},
		{"{\"Name\":\"v3\",\"DriverOpts\":{\"device\":\"/tmp\"}}",
		 "create v3: missing required option: \"type\"", BERTH_E_INVALID},
		{"{\"Name\":\"v3\",\"DriverOpts\":{\"o\":\"size=1m\"}}",
		 "create v3: missing required option: \"device\"", BERTH_E_INVALID},
		{"{\"Name\":\"v3\",\"DriverOpts\":{\"size\":\"10m\"}}",
		 "create v3: quota size requested but no quota support", BERTH_E_INVALID},
		{"{\"Name\":\"v3\",\"Driver\":\"foo\"}",
		 "create v3: error looking up volume plugin foo: plugin \"foo\" not found", BERTH_E_NOT_FOUND},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		v = create(d, bad[i].body, &err);
		TAP_OK(t, !v && err.kind == bad[i].kind, "refused: %s", bad[i].body);
		TAP_STREQ(t, err.msg, bad[i].msg, "message for %s", bad[i].body);
		json_decref(v);
	}
	char *v3 = berth_strdup_printf("%s/volumes/v3", d->cfg.data_root);
	char *x = berth_strdup_printf("%s/volumes/x", d->cfg.data_root);
	TAP_OK(t, access(v3, F_OK) < 0 && access(x, F_OK) < 0, "refused creates leave nothing on disk");
	free(v3);
	free(x);

	v = berth_volume_inspect(d->volumes, "nope", &err);
	TAP_OK(t, !v && err.kind == BERTH_E_NOT_FOUND, "inspect of a missing volume: 404");
	TAP_STREQ(t, err.msg, "get nope: no such volume", "docker's message");
	v = berth_volume_inspect(d->volumes, "v1", &err);
	TAP_STREQ(t, json_string_value(json_object_get(v, "Name")), "v1", "inspect v1");
	json_decref(v);
}

static void test_filters_refs_prune(struct tap *t, struct berth_daemon *d)
{
	struct berth_error err = {0};
	json_decref(create(d, "{\"Name\":\"w1\",\"Labels\":{\"k\":\"v\"}}", &err));
	json_decref(create(d, "{\"Name\":\"w2\"}", &err));
	json_decref(create(
		d, "{\"Name\":\"tm\",\"DriverOpts\":{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=1m\"}}",
		&err));
	char *s = list_names(d, "{\"name\":[\"^w\"]}", &err);
	TAP_STREQ(t, s, "w1,w2", "name filter is a regular expression");
	free(s);
	s = list_names(d, "{\"name\":[\"w1\",\"tm\"]}", &err);
	TAP_STREQ(t, s, "tm,w1", "several name values: any matches");
	free(s);
	s = list_names(d, "{\"label\":[\"k=v\"]}", &err);
	TAP_STREQ(t, s, "w1", "label=k=v");
	free(s);
	s = list_names(d, "{\"label\":[\"k\"],\"name\":[\"w\"]}", &err);
	TAP_STREQ(t, s, "w1", "label key and name together");
	free(s);
	s = list_names(d, "{\"driver\":[\"loc\"]}", &err);
	TAP_STREQ(t, s, "", "driver is an exact match");
	free(s);
	s = list_names(d, "{\"bogus\":[\"1\"]}", &err);
	TAP_STREQ(t, err.msg, "Invalid filter 'bogus'", "unknown filter: docker's message");
	free(s);
	s = list_names(d, "{\"dangling\":[\"xx\"]}", &err);
	TAP_STREQ(t, err.msg, "Invalid filter 'dangling=[xx]'", "bad dangling value: docker's message");
	free(s);

	/* references (no container table entries needed: ids are checked against the table) */
	char *ids[] = {"c1c1", "c2c2"};
	bool anon[] = {false, false};
	char *names1[] = {"w1"};
	pthread_mutex_lock(&d->volumes->mu);
	vols_refs_add_locked(d->volumes, ids[0], names1, anon, 1, &err);
	vols_refs_add_locked(d->volumes, ids[1], names1, anon, 1, &err);
	char **users = vols_users_locked(d->volumes, "w1");
	pthread_mutex_unlock(&d->volumes->mu);
	TAP_OK(t, users == NULL, "references of containers that do not exist do not count");
	berth_strv_free(users);
	/* make the two containers exist */
	for (int i = 0; i < 2; i++) {
		char id[65];
		memset(id, 'a' + i, 64);
		id[64] = '\0';
		json_t *doc =
			json_pack("{s:s, s:s, s:{s:s}, s:{}, s:{}, s:[]}", "Id", id, "Created", "2024-01-01T00:00:00Z",
				  "State", "Status", "created", "Config", "HostConfig", "Mounts");
		char name[16];
		snprintf(name, sizeof(name), "ref%d", i);
		struct berth_container *c = berth_container_add(d->containers, id, name, doc, &err);
		pthread_mutex_lock(&d->volumes->mu);
		char *cid = id;
		vols_refs_add_locked(d->volumes, cid, names1, anon, 1, &err);
		pthread_mutex_unlock(&d->volumes->mu);
		berth_container_put(d->containers, c);
	}
	s = list_names(d, "{\"dangling\":[\"true\"]}", &err);
	TAP_STREQ(t, s, "tm,v1,w2", "dangling=true: unreferenced volumes");
	free(s);
	s = list_names(d, "{\"dangling\":[\"0\"]}", &err);
	TAP_STREQ(t, s, "w1", "dangling=0: referenced volumes");
	free(s);
	TAP_OK(t, berth_volume_remove(d->volumes, "w1", true, &err) < 0 && err.kind == BERTH_E_CONFLICT,
	       "a volume in use is not removed, even with force");
	char ida[65], idb[65], want[512];
	memset(ida, 'a', 64);
	memset(idb, 'b', 64);
	ida[64] = idb[64] = '\0';
	snprintf(want, sizeof(want), "remove w1: volume is in use - [%s, %s]", ida, idb);
	TAP_STREQ(t, err.msg, want, "docker's in-use message lists the containers");
	TAP_OK(t, berth_volume_remove(d->volumes, "nope", false, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "remove of a missing volume: 404");
	TAP_STREQ(t, err.msg, "get nope: no such volume", "docker's message");
	TAP_OK(t, berth_volume_remove(d->volumes, "nope", true, &err) == 0, "force: a missing volume is no error");

	/* prune */
	char *f = berth_strdup_printf("%s/volumes/w2/_data/f", d->cfg.data_root);
	berth_write_file_atomic(f, "12345", 5, 0644, NULL);
	free(f);
	json_t *flt = json_loads("{\"until\":[\"1h\"]}", 0, NULL);
	json_t *r = berth_volume_prune(d->volumes, flt, &err);
	TAP_OK(t, !r, "prune refuses the until filter");
	TAP_STREQ(t, err.msg, "Invalid filter 'until'", "docker 20.10's message");
	json_decref(flt);
	flt = json_loads("{\"label!\":[\"nothing\"]}", 0, NULL);
	r = berth_volume_prune(d->volumes, flt, &err);
	json_decref(flt);
	char *del = NULL;
	{
		struct berth_buf b = {0};
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(r, "VolumesDeleted"), i, e)
			berth_buf_printf(&b, "%s%s", i ? "," : "", json_string_value(e));
		del = berth_buf_steal(&b);
	}
	TAP_STREQ(t, del, "v1,w2", "prune removes unused volumes without driver options (docker 20.10)");
	TAP_OK(t, json_integer_value(json_object_get(r, "SpaceReclaimed")) >= 5, "SpaceReclaimed counts the files");
	free(del);
	json_decref(r);
	s = list_names(d, "{}", &err);
	TAP_OK(t, strstr(s, "tm") && strstr(s, "w1") && !strstr(s, "w2"), "in-use and option volumes stay (%s)", s);
	free(s);
	TAP_OK(t, berth_volume_remove(d->volumes, "tm", false, &err) == 0, "remove tm (%s)", err.msg);
}

static void test_tmpfs_volume(struct tap *t, struct berth_daemon *d)
{
	if (geteuid() != 0) {
		TAP_OK(t, 1, "# SKIP tmpfs volume mount needs root");
		return;
	}
	struct berth_error err = {0};
	json_decref(create(
		d, "{\"Name\":\"tv\",\"DriverOpts\":{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=1m\"}}",
		&err));
	struct vol v = {0};
	pthread_mutex_lock(&d->volumes->mu);
	vols_get_locked(d->volumes, "tv", &v, &err);
	int r1 = vols_mount_ref_locked(d->volumes, &v, &err);
	int r2 = vols_mount_ref_locked(d->volumes, &v, &err);
	pthread_mutex_unlock(&d->volumes->mu);
	char *path = berth_strdup_printf("%s/volumes/tv/_data", d->cfg.data_root);
	TAP_OK(t, r1 == 0 && r2 == 0 && berth_is_mountpoint(path), "the first user mounts the tmpfs on _data (%s)",
	       err.msg);
	pthread_mutex_lock(&d->volumes->mu);
	vols_unmount_ref_locked(d->volumes, "tv");
	bool still = berth_is_mountpoint(path);
	vols_unmount_ref_locked(d->volumes, "tv");
	pthread_mutex_unlock(&d->volumes->mu);
	TAP_OK(t, still && !berth_is_mountpoint(path), "unmounted after the last user");
	vol_free(&v);

	json_decref(create(
		d, "{\"Name\":\"bad\",\"DriverOpts\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/nonexistent-x\"}}",
		&err));
	pthread_mutex_lock(&d->volumes->mu);
	vols_get_locked(d->volumes, "bad", &v, &err);
	int r3 = vols_mount_ref_locked(d->volumes, &v, &err);
	pthread_mutex_unlock(&d->volumes->mu);
	char *want = berth_strdup_printf("failed to mount local volume: mount /nonexistent-x:%s/volumes/bad/_data, "
					 "flags: 0x1000: no such file or directory",
					 d->cfg.data_root);
	TAP_OK(t, r3 < 0, "a bind volume of a missing directory fails to mount");
	TAP_STREQ(t, err.msg, want, "docker's mount error text");
	free(want);
	vol_free(&v);
	berth_volume_remove(d->volumes, "bad", false, NULL);
	TAP_OK(t, berth_volume_remove(d->volumes, "tv", false, &err) == 0, "remove tv");
	free(path);
}

static void test_validate(struct tap *t, struct berth_daemon *d)
{
	static const struct {
		const char *hc, *msg;
		enum berth_err_kind kind;
	} cases[] = {
		{"{\"Binds\":[\"a:b:c:d\"]}", "invalid volume specification: 'a:b:c:d'", BERTH_E_INVALID},
		{"{\"Binds\":[\"/x:ro\"]}", "invalid volume specification: '/x:ro'", BERTH_E_INVALID},
		{"{\"Binds\":[\"nv1:/x:zz\"]}", "invalid mode: zz", BERTH_E_INVALID},
		{"{\"Binds\":[\"nv1:/x:ro,rw\"]}", "invalid mode: ro,rw", BERTH_E_INVALID},
		{"{\"Binds\":[\"nv1:/x\",\"nv2:/x/\"]}", "Duplicate mount point: /x", BERTH_E_INVALID},
		{"{\"Binds\":[\"/etc:/x\"],\"Tmpfs\":{\"/x\":\"\"}}", "Duplicate mount point: /x", BERTH_E_INVALID},
		{"{\"Binds\":[\"nv1:relative\"]}",
		 "invalid volume specification: 'nv1:relative': invalid mount config for type \"volume\": invalid mount path: 'relative' mount path must be absolute",
		 BERTH_E_INVALID},
		{"{\"Binds\":[\"nv1:/\"]}",
		 "invalid volume specification: 'nv1:/': invalid mount config for type \"volume\": invalid specification: destination can't be '/'",
		 BERTH_E_INVALID},
		{"{\"Binds\":[\"x/y:/x\"]}",
		 "create x/y: \"x/y\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
		 BERTH_E_INVALID},
		{"{\"Binds\":[\"nv1:/x\"],\"VolumeDriver\":\"foo\"}",
		 "create nv1: error looking up volume plugin foo: plugin \"foo\" not found", BERTH_E_NOT_FOUND},
		{"{\"VolumesFrom\":[\"nope\"]}", "No such container: nope", BERTH_E_INVALID},
		{"{\"VolumesFrom\":[\"nope:rslave\"]}", "invalid mode: rslave", BERTH_E_INVALID},
		{"{\"VolumesFrom\":[\"\"]}", "volumes-from specification cannot be an empty string", BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/nonexistent-src\",\"Target\":\"/x\"}]}",
		 "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-src",
		 BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"x/y\",\"Target\":\"/x\"}]}",
		 "create x/y: \"x/y\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
		 BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/x\",\"ReadOnly\":true}]}",
		 "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes",
		 BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"bogus\",\"Target\":\"/x\"}]}",
		 "invalid mount config for type \"bogus\": mount type unknown", BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"vv\",\"Target\":\"/x\",\"VolumeOptions\":{\"DriverConfig\":{\"Options\":{\"bad\":\"1\"}}}}]}",
		 "create vv: invalid option: \"bad\"", BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"vv\",\"Target\":\"/x\",\"BindOptions\":{\"Propagation\":\"rshared\"}}]}",
		 "invalid mount config for type \"volume\": field BindOptions must not be specified", BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"vv\",\"Target\":\"/x\"},{\"Type\":\"tmpfs\",\"Target\":\"/x\"}]}",
		 "Duplicate mount point: /x", BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/x\",\"BindOptions\":{\"Propagation\":\"bogus\"}}]}",
		 "invalid mount config for type \"bind\": invalid propagation mode: bogus", BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"tmpfs\",\"Source\":\"foo\",\"Target\":\"/x\"}]}",
		 "invalid mount config for type \"tmpfs\": field Source must not be specified", BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"bind\",\"Target\":\"/x\"}]}",
		 "invalid mount config for type \"bind\": field Source must not be empty", BERTH_E_INVALID},
		{"{\"Mounts\":[{\"Type\":\"volume\"}]}",
		 "invalid mount config for type \"volume\": field Target must not be empty", BERTH_E_INVALID},
	};
	json_t *cfg = json_object();
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		json_t *hc = json_loads(cases[i].hc, 0, NULL);
		struct berth_error err = {0};
		int rc = berth_volumes_container_validate(d, cfg, hc, &err);
		TAP_OK(t, rc < 0 && err.kind == cases[i].kind, "refused: %s", cases[i].hc);
		TAP_STREQ(t, err.msg, cases[i].msg, "message for %s", cases[i].hc);
		json_decref(hc);
	}
	/* the daemon root rule */
	char *hcs = berth_strdup_printf("{\"Binds\":[\"%s:/x:private\"]}", d->cfg.data_root);
	json_t *hc = json_loads(hcs, 0, NULL);
	struct berth_error err = {0};
	TAP_OK(t,
	       berth_volumes_container_validate(d, cfg, hc, &err) < 0 &&
		       strstr(err.msg,
			      "must use either propagation mode \"rslave\" or \"rshared\" when mount source is within the daemon root"),
	       "binds of the data root need rslave/rshared (%s)", err.msg);
	json_decref(hc);
	free(hcs);
	hc = json_loads("{\"Binds\":[\"okname:/x:ro,z\",\"/etc:/e:rw,Z,rslave\",\"/anon\"],"
			"\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/t\"}]}",
			0, NULL);
	TAP_OK(t, berth_volumes_container_validate(d, cfg, hc, &err) == 0, "valid binds (z/Z accepted) pass (%s)",
	       err.msg);
	json_decref(hc);
	char *p = berth_strdup_printf("%s/volumes/okname", d->cfg.data_root);
	TAP_OK(t, access(p, F_OK) < 0, "validation creates nothing");
	free(p);
	json_decref(cfg);
}

static struct berth_container *add_container(struct berth_daemon *d, const char *name, const char *hc_json,
					     const char *cfg_json)
{
	char id[65];
	berth_random_id(id);
	json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:o, s:o, s:[]}", "Id", id, "Created", "2024-01-01T00:00:00Z",
				"State", "Status", "created", "Config", json_loads(cfg_json, 0, NULL), "HostConfig",
				json_loads(hc_json, 0, NULL), "Mounts");
	struct berth_error err = {0};
	return berth_container_add(d->containers, id, name, doc, &err);
}

static json_t *next_event(struct berth_events_sub *sub)
{
	return berth_events_next(sub, berth_now_ns() + 2000000000LL);
}

static void test_container_hooks(struct tap *t, struct berth_daemon *d)
{
	struct berth_error err = {0};
	char *bsrc = berth_strdup_printf("%s/bindsrc", tmpdir);
	mkdir(bsrc, 0755);
	char *hc1 = berth_strdup_printf(
		"{\"Binds\":[\"cv1:/x:nocopy\",\"%s:/b:ro\"],"
		"\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/m\",\"VolumeOptions\":{\"NoCopy\":true}},"
		"{\"Type\":\"tmpfs\",\"Target\":\"/t\"}]}",
		bsrc);
	struct berth_container *c1 = add_container(d, "c1", hc1, "{}");
	free(hc1);
	TAP_OK(t, berth_volumes_container_create(d, c1, &err) == 0, "create hook for c1 (%s)", err.msg);
	json_t *m = json_object_get(berth_container_doc(c1, NULL), "Mounts");
	TAP_OK(t, json_array_size(m) == 4, "four mount points");
	json_t *x = json_array_get(m, 0), *b = json_array_get(m, 1), *anon = json_array_get(m, 2),
	       *tm = json_array_get(m, 3);
	char *want_src = berth_strdup_printf("%s/volumes/cv1/_data", d->cfg.data_root);
	TAP_OK(t,
	       !strcmp(json_string_value(json_object_get(x, "Type")), "volume") &&
		       !strcmp(json_string_value(json_object_get(x, "Name")), "cv1") &&
		       !strcmp(json_string_value(json_object_get(x, "Source")), want_src) &&
		       !strcmp(json_string_value(json_object_get(x, "Mode")), "nocopy") &&
		       json_is_true(json_object_get(x, "RW")),
	       "named volume mount point as docker shows it");
	free(want_src);
	TAP_OK(t,
	       !strcmp(json_string_value(json_object_get(b, "Type")), "bind") && !json_object_get(b, "Name") &&
		       !strcmp(json_string_value(json_object_get(b, "Mode")), "ro") &&
		       json_is_false(json_object_get(b, "RW")) &&
		       !strcmp(json_string_value(json_object_get(b, "Propagation")), "rprivate"),
	       "bind mount point: Mode ro, RW false, rprivate");
	const char *anon_name = json_string_value(json_object_get(anon, "Name"));
	TAP_OK(t,
	       anon_name && strlen(anon_name) == 64 && !strcmp(json_string_value(json_object_get(anon, "Mode")), "z"),
	       "--mount volume without source: an anonymous volume, Mode z");
	TAP_OK(t,
	       !strcmp(json_string_value(json_object_get(tm, "Type")), "tmpfs") &&
		       !strcmp(json_string_value(json_object_get(tm, "Source")), ""),
	       "--mount tmpfs is a mount point too");
	char anon_copy[65];
	snprintf(anon_copy, sizeof(anon_copy), "%s", anon_name ? anon_name : "");
	json_t *iv = berth_volume_inspect(d->volumes, "cv1", &err);
	TAP_OK(t, iv != NULL, "cv1 was created");
	json_decref(iv);
	TAP_OK(t, berth_volume_remove(d->volumes, "cv1", false, &err) < 0 && err.kind == BERTH_E_CONFLICT,
	       "cv1 is in use by c1");

	/* --volumes-from c1:ro */
	struct berth_container *c2 = add_container(d, "c2", "{\"VolumesFrom\":[\"c1:ro\"]}", "{}");
	TAP_OK(t, berth_volumes_container_create(d, c2, &err) == 0, "create hook for c2 (%s)", err.msg);
	m = json_object_get(berth_container_doc(c2, NULL), "Mounts");
	bool all_ro = json_array_size(m) == 4;
	size_t i;
	json_t *e;
	json_array_foreach(m, i, e)
		all_ro &= json_is_false(json_object_get(e, "RW"));
	TAP_OK(t, all_ro, "--volumes-from :ro makes every mount point read-only");

	/* start c2: everything comes from c1, so the hook gives the OCI mounts */
	struct berth_events_sub *sub = berth_events_subscribe(d->events, 0);
	json_t *hc2 = json_deep_copy(json_object_get(berth_container_doc(c2, NULL), "HostConfig"));
	json_t *extra = NULL;
	TAP_OK(t, berth_volumes_container_start(d, c2, hc2, &extra, &err) == 0, "start hook for c2 (%s)", err.msg);
	TAP_OK(t, json_array_size(extra) == 4, "four extra OCI mounts");
	char *ex = json_dumps(extra, JSON_COMPACT);
	TAP_OK(t,
	       strstr(ex, "\"destination\":\"/x\",\"type\":\"bind\"") && strstr(ex, "\"options\":[\"rbind\",\"ro\"]") &&
		       strstr(ex, "\"options\":[\"rbind\",\"ro\",\"rprivate\"]") && strstr(ex, "\"type\":\"tmpfs\""),
	       "volumes as rbind(+ro), binds with their propagation, tmpfs");
	free(ex);
	json_t *ev = next_event(sub);
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	TAP_OK(t,
	       ev && !strcmp(json_string_value(json_object_get(ev, "Action")), "mount") &&
		       !strcmp(json_string_value(json_object_get(attrs, "read/write")), "false") &&
		       !strcmp(json_string_value(json_object_get(attrs, "container")), c2->id) &&
		       json_object_get(attrs, "destination") && json_object_get(attrs, "propagation"),
	       "mount event with docker's attributes");
	json_decref(ev);
	json_decref(next_event(sub)); /* the anonymous volume's mount */
	berth_volumes_container_stop(d, c2);
	ev = next_event(sub);
	attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	TAP_OK(t,
	       ev && !strcmp(json_string_value(json_object_get(ev, "Action")), "unmount") &&
		       json_object_size(attrs) == 2 && json_object_get(attrs, "driver"),
	       "unmount event with container and driver");
	json_decref(ev);
	json_decref(next_event(sub));
	berth_volumes_container_stop(d, c2);
	ev = berth_events_next(sub, berth_now_ns() + 100000000LL);
	TAP_OK(t, ev == NULL, "stop is idempotent (no second unmount)");
	json_decref(ev);
	json_decref(extra);
	json_decref(hc2);

	/* start c1: the spec builder sees the anonymous --mount by name */
	json_t *hc1c = json_deep_copy(json_object_get(berth_container_doc(c1, NULL), "HostConfig"));
	TAP_OK(t, berth_volumes_container_start(d, c1, hc1c, &extra, &err) == 0, "start hook for c1");
	json_t *mnt0 = json_array_get(json_object_get(hc1c, "Mounts"), 0);
	TAP_STREQ(t, json_string_value(json_object_get(mnt0, "Source")), anon_copy,
		  "the anonymous --mount gets its volume's name for resolve_volume");
	TAP_OK(t, json_array_size(extra) == 0, "nothing extra: Binds and Mounts are the spec builder's");
	char *path = NULL;
	TAP_OK(t, berth_volumes_resolve(d, "cv1", &path, &err) == 0 && strstr(path, "/volumes/cv1/_data"),
	       "resolve_volume gives the _data path");
	free(path);
	TAP_OK(t, berth_volumes_resolve(d, "nope", &path, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "resolve of a missing volume");
	berth_volumes_container_stop(d, c1);
	json_decref(extra);
	json_decref(hc1c);

	/* rm -v c2: c1's anonymous volume is still c1's */
	berth_volumes_container_remove(d, c2, true);
	berth_container_delete(d->containers, c2, NULL);
	iv = berth_volume_inspect(d->volumes, anon_copy, &err);
	TAP_OK(t, iv != NULL, "rm -v of the volumes-from container keeps volumes others use");
	json_decref(iv);
	berth_volumes_container_remove(d, c1, true);
	berth_container_delete(d->containers, c1, NULL);
	iv = berth_volume_inspect(d->volumes, anon_copy, &err);
	TAP_OK(t, iv == NULL, "rm -v removes the anonymous volume");
	iv = berth_volume_inspect(d->volumes, "cv1", &err);
	TAP_OK(t, iv != NULL, "rm -v keeps named volumes");
	json_decref(iv);
	TAP_OK(t, berth_volume_remove(d->volumes, "cv1", false, &err) == 0, "cv1 is free once c1 is gone");
	berth_events_unsubscribe(sub);
	berth_container_put(d->containers, c1);
	berth_container_put(d->containers, c2);
	free(bsrc);
}

int main(void)
{
	struct tap t = {0};
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-test-volumes.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("1..0 # SKIP mkdtemp: %s\n", strerror(errno));
		return 0;
	}
	test_names(&t);
	struct berth_daemon d;
	TAP_OK(&t, open_daemon(&d) == 0, "open a volume store");
	test_store(&t, &d);
	test_filters_refs_prune(&t, &d);
	test_tmpfs_volume(&t, &d);
	test_validate(&t, &d);
	test_container_hooks(&t, &d);
	close_daemon(&d);
	/* reopen: records persist */
	TAP_OK(&t, open_daemon(&d) == 0, "reopen");
	struct berth_error err = {0};
	json_t *v = berth_volume_inspect(d.volumes, "w1", &err);
	TAP_OK(&t, v != NULL, "records persist across a restart");
	json_decref(v);
	close_daemon(&d);
	/* never leave a mount behind, even after a failed check */
	static const char *const mounted[] = {"tv", "bad", "tm"};
	for (size_t i = 0; i < sizeof(mounted) / sizeof(*mounted); i++) {
		char *p = berth_strdup_printf("%s/data/volumes/%s/_data", tmpdir, mounted[i]);
		umount2(p, MNT_DETACH);
		free(p);
	}
	berth_rm_rf(tmpdir, NULL);
	return TAP_DONE(&t);
}
