/* Container (read-write) layers on both drivers: mount shows the image's
 * files, mount refcounting, docker-diff changes, diff export registered back
 * as an image layer (commit round trip), removal. Root only; the temp data
 * root is unmounted and removed even on failure. */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "storage/fsutil.h"
#include "storage/layer_store.h"
#include "tap.h"
#include "test_storage_util.h"

/* the line of mount point mp in /proc/self/mountinfo contains text */
static bool mountinfo_has(const char *mp, const char *text)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, mp) && strstr(line, text);
	if (f)
		fclose(f);
	return found;
}

#define FIXTURE "/work/shared/fixtures/images/busybox-rootfs.tar"
#define FIXTURE_DIFF "sha256:0ee228408e13d8cfce836896e9dc03f484435e262c85bb37410afb3cea151b66"

static struct tap t;

static const char *const expected_changes =
	"[{\"Path\":\"/bin\",\"Kind\":0},{\"Path\":\"/bin/cat\",\"Kind\":2},{\"Path\":\"/etc\",\"Kind\":0},"
	"{\"Path\":\"/etc/group\",\"Kind\":0},{\"Path\":\"/etc/new\",\"Kind\":1},{\"Path\":\"/newdir\",\"Kind\":1},"
	"{\"Path\":\"/newdir/file\",\"Kind\":1}]";

static bool path_exists(const char *dir, const char *rel)
{
	char *p = berth_strdup_printf("%s/%s", dir, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

static void write_in(const char *dir, const char *rel, const char *content, bool append)
{
	char *p = berth_strdup_printf("%s/%s", dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
	if (fd >= 0) {
		berth_write_all(fd, content, strlen(content));
		close(fd);
	}
	free(p);
}

/* The busybox fixture as an image layer (its info in *img). */
static int add_fixture(struct berth_layer_store *ls, struct berth_layer_info *img, struct berth_error *err)
{
	int fd = open(FIXTURE, O_RDONLY | O_CLOEXEC);
	struct berth_reader fr = berth_reader_fd(fd);
	int rc = berth_layer_register(ls, NULL, &fr, FIXTURE_DIFF, img, err);
	close(fd);
	return rc;
}

static void test_driver(const char *root, const char *driver)
{
	char *dr = berth_strdup_printf("%s/%s", root, driver);
	berth_mkdir_p(dr, 0700, NULL);
	struct berth_db *db = st_open_db(dr);
	struct berth_error err = {0};
	struct berth_layer_store *ls = berth_layer_store_open(dr, driver, db, &err);
	TAP_OK(&t, ls != NULL, "[%s] open %s", driver, ls ? "" : err.msg);
	if (!ls)
		return;
	struct berth_layer_info img;
	int rc = add_fixture(ls, &img, &err);
	TAP_OK(&t, rc == 0, "[%s] image layer registered %s", driver, rc ? err.msg : "");

	rc = berth_rwlayer_create(ls, "c1", FIXTURE_DIFF, &err);
	TAP_OK(&t, rc == 0, "[%s] rwlayer create %s", driver, rc ? err.msg : "");
	TAP_OK(&t, berth_rwlayer_create(ls, "c1", FIXTURE_DIFF, &err) < 0 && err.kind == BERTH_E_CONFLICT,
	       "[%s] duplicate rwlayer: conflict", driver);
	TAP_OK(&t, berth_rwlayer_create(ls, "../evil", FIXTURE_DIFF, &err) < 0 && err.kind == BERTH_E_INVALID,
	       "[%s] bad rwlayer id refused", driver);
	berth_layer_get(ls, FIXTURE_DIFF, &img, &err);
	TAP_OK(&t, img.refcount == 2, "[%s] container holds a reference on the image layer", driver);

	char *rootfs = NULL, *rootfs2 = NULL;
	rc = berth_rwlayer_mount(ls, "c1", &rootfs, &err);
	TAP_OK(&t, rc == 0 && rootfs, "[%s] mount %s", driver, rc ? err.msg : rootfs);
	if (rc < 0)
		goto out;
	TAP_OK(&t, path_exists(rootfs, "bin/busybox") && path_exists(rootfs, "etc/passwd"),
	       "[%s] rootfs shows the image's files", driver);
	TAP_OK(&t,
	       path_exists(rootfs, ".dockerenv") && path_exists(rootfs, "etc/mtab") &&
		       path_exists(rootfs, "dev/console") && path_exists(rootfs, "proc"),
	       "[%s] init layer entries present", driver);
	if (!strcmp(driver, "overlay2")) {
		TAP_OK(&t, berth_is_mountpoint(rootfs), "[overlay2] rootfs is an overlay mount");
		TAP_OK(&t, mountinfo_has(rootfs, "upperdir=diff,workdir=work"),
		       "[overlay2] mounted from the layer's directory: short options in mountinfo");
	}
	rc = berth_rwlayer_mount(ls, "c1", &rootfs2, &err);
	TAP_OK(&t, rc == 0 && rootfs2 && !strcmp(rootfs, rootfs2), "[%s] second mount: same path", driver);

	json_t *ch = NULL;
	rc = berth_rwlayer_changes(ls, "c1", &ch, &err);
	TAP_OK(&t, rc == 0 && json_array_size(ch) == 0, "[%s] fresh container has no changes", driver);
	json_decref(ch);

	/* change things through the mounted rootfs */
	write_in(rootfs, "etc/group", "extra:x:99:\n", true);
	write_in(rootfs, "etc/new", "new\n", false);
	char *nd = berth_strdup_printf("%s/newdir", rootfs);
	mkdir(nd, 0755);
	write_in(rootfs, "newdir/file", "f\n", false);
	char *cat = berth_strdup_printf("%s/bin/cat", rootfs);
	unlink(cat);
	rc = berth_rwlayer_changes(ls, "c1", &ch, &err);
	char *s = rc == 0 ? json_dumps(ch, JSON_COMPACT) : NULL;
	TAP_STREQ(&t, s, expected_changes, "[%s] changes as docker diff reports them", driver);
	free(s);
	json_decref(ch);
	TAP_OK(&t, berth_rwlayer_size(ls, "c1") >= 4 + 2 + 12, "[%s] rwlayer size %lld", driver,
	       (long long)berth_rwlayer_size(ls, "c1"));
	json_t *gd = berth_rwlayer_graph_data(ls, "c1");
	TAP_OK(&t, gd && json_object_size(gd) > 0, "[%s] graph driver data", driver);
	json_decref(gd);

	/* commit round trip: export the diff, register it on the image */
	struct berth_buf diff = {0};
	struct berth_writer w = st_buf_writer(&diff);
	rc = berth_rwlayer_export_diff(ls, "c1", &w, &err);
	TAP_OK(&t, rc == 0 && diff.len > 0 && memmem(diff.data, diff.len, "bin/.wh.cat", 11),
	       "[%s] diff tar has the whiteout %s", driver, rc ? err.msg : "");
	struct st_mem m = {.data = (const unsigned char *)diff.data, .len = diff.len};
	struct berth_reader r = st_mem_reader(&m);
	struct berth_layer_info committed;
	rc = berth_layer_register(ls, FIXTURE_DIFF, &r, NULL, &committed, &err);
	TAP_OK(&t, rc == 0 && committed.depth == 2, "[%s] diff registered as a layer %s", driver, rc ? err.msg : "");
	char *rootfs3 = NULL;
	if (rc == 0 && berth_rwlayer_create(ls, "c2", committed.chain_id, &err) == 0 &&
	    berth_rwlayer_mount(ls, "c2", &rootfs3, &err) == 0) {
		TAP_OK(&t,
		       path_exists(rootfs3, "etc/new") && path_exists(rootfs3, "newdir/file") &&
			       !path_exists(rootfs3, "bin/cat") && path_exists(rootfs3, "bin/busybox"),
		       "[%s] container on the committed image sees the changes", driver);
		berth_rwlayer_unmount(ls, "c2", &err);
		berth_rwlayer_remove(ls, "c2", &err);
	} else {
		TAP_OK(&t, false, "[%s] container on the committed image: %s", driver, err.msg);
	}
	free(rootfs3);
	berth_layer_release(ls, committed.chain_id, NULL, &err);
	berth_buf_free(&diff);

	berth_rwlayer_unmount(ls, "c1", &err);
	if (!strcmp(driver, "overlay2"))
		TAP_OK(&t, berth_is_mountpoint(rootfs), "[overlay2] still mounted after one of two unmounts");
	rc = berth_rwlayer_unmount(ls, "c1", &err);
	if (!strcmp(driver, "overlay2"))
		TAP_OK(&t, rc == 0 && !berth_is_mountpoint(rootfs), "[overlay2] unmounted after the last unmount");
	free(nd);
	free(cat);

out:
	free(rootfs);
	free(rootfs2);
	/* scratch container: no image */
	char *sroot = NULL;
	rc = berth_rwlayer_create(ls, "scratch", NULL, &err);
	if (rc == 0)
		rc = berth_rwlayer_mount(ls, "scratch", &sroot, &err);
	TAP_OK(&t, rc == 0 && sroot && path_exists(sroot, ".dockerenv"), "[%s] container without image %s", driver,
	       rc ? err.msg : "");
	if (rc == 0)
		berth_rwlayer_unmount(ls, "scratch", &err);
	berth_rwlayer_remove(ls, "scratch", &err);
	free(sroot);

	rc = berth_rwlayer_remove(ls, "c1", &err);
	TAP_OK(&t, rc == 0, "[%s] rwlayer removed %s", driver, rc ? err.msg : "");
	berth_layer_get(ls, FIXTURE_DIFF, &img, &err);
	TAP_OK(&t, img.refcount == 1, "[%s] image reference dropped", driver);
	TAP_OK(&t, berth_rwlayer_mount(ls, "c1", &sroot, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "[%s] removed layer: not found", driver);
	int removed = 0;
	berth_layer_release(ls, FIXTURE_DIFF, &removed, &err);
	TAP_OK(&t, removed == 1, "[%s] image layer freed", driver);
	char *home =
		!strcmp(driver, "vfs") ? berth_strdup_printf("%s/vfs/dir", dr) : berth_strdup_printf("%s/overlay2", dr);
	TAP_OK(&t, st_count_dir(home, "l") == 0, "[%s] no layer dirs left", driver);
	TAP_OK(&t, !st_is_mounted_below(dr), "[%s] no mounts left", driver);
	free(home);
	berth_layer_store_close(ls);
	berth_db_close(db);
	free(dr);
}

static struct berth_layer_info reg_tar(struct berth_layer_store *ls, const char *parent, struct berth_buf *tar)
{
	struct berth_error err = {0};
	struct st_mem m = {.data = (const unsigned char *)tar->data, .len = tar->len};
	struct berth_reader r = st_mem_reader(&m);
	struct berth_layer_info li = {0};
	if (berth_layer_register(ls, parent, &r, NULL, &li, &err) < 0)
		printf("# register: %s\n", err.msg);
	berth_buf_free(tar);
	return li;
}

static mode_t mode_of(const char *dir, const char *rel)
{
	char *p = berth_strdup_printf("%s/%s", dir, rel);
	struct stat st;
	mode_t m = lstat(p, &st) == 0 ? st.st_mode : 0;
	free(p);
	return m;
}

/* A store of driver in root/<driver><suffix> (a failed open is a failed test) */
static struct berth_layer_store *store_in(const char *root, const char *driver, const char *suffix,
					  struct berth_db **db, char **dr)
{
	*dr = berth_strdup_printf("%s/%s%s", root, driver, suffix);
	berth_mkdir_p(*dr, 0700, NULL);
	*db = st_open_db(*dr);
	struct berth_error err = {0};
	struct berth_layer_store *ls = berth_layer_store_open(*dr, driver, *db, &err);
	if (!ls)
		TAP_OK(&t, false, "[%s] open %s", driver, err.msg);
	return ls;
}

/* The init layer's entries as seen in the container: an image whose lower
 * /dev is whited out and whose /etc is opaque, 0750, in its top layer; an
 * image whose /etc is a symlink (left alone). Same view on both drivers
 * (overlay2 writes the init layer without mounting it). */
static void test_init_entries(const char *root, const char *driver)
{
	struct berth_db *db;
	char *dr;
	struct berth_error err = {0};
	struct berth_layer_store *ls = store_in(root, driver, "-init", &db, &dr);
	if (!ls)
		return;
	struct berth_buf b = {0};
	struct st_tar tw;
	st_tar_begin(&tw, &b);
	st_tar_dir(&tw, "dev/");
	st_tar_file(&tw, "dev/old", "x");
	st_tar_entry(&tw, "etc/", AE_IFDIR, 0750, NULL, 0, NULL, false);
	st_tar_file(&tw, "etc/keep", "k");
	st_tar_end(&tw);
	struct berth_layer_info l1 = reg_tar(ls, NULL, &b);
	st_tar_begin(&tw, &b);
	st_tar_file(&tw, ".wh.dev", NULL);
	st_tar_entry(&tw, "etc/", AE_IFDIR, 0750, NULL, 0, NULL, false);
	st_tar_file(&tw, "etc/.wh..wh..opq", NULL);
	st_tar_file(&tw, "etc/passwd", "root:x:0:0::/:/bin/sh\n");
	st_tar_end(&tw);
	struct berth_layer_info l2 = reg_tar(ls, l1.chain_id, &b);
	char *rootfs = NULL;
	int rc = berth_rwlayer_create(ls, "i1", l2.chain_id, &err);
	if (rc == 0)
		rc = berth_rwlayer_mount(ls, "i1", &rootfs, &err);
	TAP_OK(&t, rc == 0, "[%s] container on a two-layer image %s", driver, rc ? err.msg : "");
	if (rc == 0) {
		TAP_OK(&t,
		       S_ISDIR(mode_of(rootfs, "dev")) && !mode_of(rootfs, "dev/old") &&
			       S_ISDIR(mode_of(rootfs, "dev/pts")) && S_ISREG(mode_of(rootfs, "dev/console")),
		       "[%s] whited-out /dev made again, empty but for the init entries", driver);
		TAP_OK(&t,
		       (mode_of(rootfs, "etc") & 07777) == 0750 && !mode_of(rootfs, "etc/keep") &&
			       S_ISREG(mode_of(rootfs, "etc/passwd")) && S_ISLNK(mode_of(rootfs, "etc/mtab")) &&
			       S_ISREG(mode_of(rootfs, "etc/hosts")),
		       "[%s] opaque 0750 /etc keeps its mode and hides the lower one", driver);
		berth_rwlayer_unmount(ls, "i1", &err);
	}
	free(rootfs);
	rootfs = NULL;
	berth_rwlayer_remove(ls, "i1", &err);

	st_tar_begin(&tw, &b);
	st_tar_symlink(&tw, "etc", "/host");
	st_tar_dir(&tw, "dev/");
	st_tar_end(&tw);
	struct berth_layer_info l3 = reg_tar(ls, NULL, &b);
	rc = berth_rwlayer_create(ls, "i2", l3.chain_id, &err);
	if (rc == 0)
		rc = berth_rwlayer_mount(ls, "i2", &rootfs, &err);
	TAP_OK(&t, rc == 0 && S_ISLNK(mode_of(rootfs, "etc")) && S_ISREG(mode_of(rootfs, "dev/console")),
	       "[%s] /etc symlink left alone %s", driver, rc ? err.msg : "");
	if (rc == 0)
		berth_rwlayer_unmount(ls, "i2", &err);
	free(rootfs);
	berth_rwlayer_remove(ls, "i2", &err);
	berth_layer_release(ls, l2.chain_id, NULL, &err);
	berth_layer_release(ls, l3.chain_id, NULL, &err);
	TAP_OK(&t, !st_is_mounted_below(dr), "[%s] init test: no mounts left", driver);
	berth_layer_store_close(ls);
	berth_db_close(db);
	free(dr);
}

/* entries whose names end in "-init" up to depth levels below dir (the
 * driver's layer directories: overlay2/<id>, vfs/dir/<id>) */
static int count_init_layers_in(const char *dir, int depth)
{
	int n = 0;
	DIR *d = depth > 0 ? opendir(dir) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (berth_str_has_suffix(e->d_name, "-init")) {
			n++;
		} else if (e->d_type == DT_DIR && strcmp(e->d_name, "l")) {
			char *sub = berth_strdup_printf("%s/%s", dir, e->d_name);
			n += count_init_layers_in(sub, depth - 1);
			free(sub);
		}
	}
	if (d)
		closedir(d);
	return n;
}

static int count_init_layers(const char *dir) { return count_init_layers_in(dir, 3); }

struct create_arg {
	struct berth_layer_store *ls;
	char id[16];
	int rc;
};

static void *create_one(void *p)
{
	struct create_arg *a = p;
	struct berth_error err = {0};
	a->rc = berth_rwlayer_create(a->ls, a->id, FIXTURE_DIFF, &err);
	return NULL;
}

static bool shows_init_entries(struct berth_layer_store *ls, const char *id)
{
	char *rootfs = NULL;
	struct berth_error err = {0};
	if (berth_rwlayer_mount(ls, id, &rootfs, &err) < 0)
		return false;
	bool ok = path_exists(rootfs, ".dockerenv") && path_exists(rootfs, "etc/hostname") &&
		  path_exists(rootfs, "bin/busybox");
	free(rootfs);
	return berth_rwlayer_unmount(ls, id, &err) == 0 && ok;
}

/* overlay2: one init layer per image, shared by its containers (made by
 * the first, also when they are made at once), kept while the image is,
 * removed with it; a container without an image has its own. vfs: each
 * container its own (a whole copy of the image), removed with it. */
static void test_shared_init(const char *root, const char *driver)
{
	struct berth_db *db;
	char *dr;
	struct berth_error err = {0};
	struct berth_layer_store *ls = store_in(root, driver, "-shared", &db, &dr);
	if (!ls)
		return;
	struct berth_layer_info img;
	int rc = add_fixture(ls, &img, &err);
	TAP_OK(&t, rc == 0, "[%s] shared init: image registered %s", driver, rc ? err.msg : "");
	struct create_arg a[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		a[i] = (struct create_arg){.ls = ls, .rc = -2};
		snprintf(a[i].id, sizeof(a[i].id), "s%d", i);
		pthread_create(&th[i], NULL, create_one, &a[i]);
	}
	int ok = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += a[i].rc == 0;
	}
	TAP_OK(&t, ok == 8, "[%s] 8 containers of one image made at once (%d)", driver, ok);
	if (strcmp(driver, "overlay2")) {
		TAP_OK(&t, count_init_layers(dr) == 8, "[%s] each has an init layer of its own (%d)", driver,
		       count_init_layers(dr));
		for (int i = 0; i < 8; i++)
			berth_rwlayer_remove(ls, a[i].id, NULL);
		TAP_OK(&t, count_init_layers(dr) == 0, "[%s] removed with their containers", driver);
		berth_layer_store_close(ls);
		berth_db_close(db);
		free(dr);
		return;
	}
	TAP_OK(&t, count_init_layers(dr) == 1, "[%s] one init layer for all of them (%d)", driver,
	       count_init_layers(dr));
	TAP_OK(&t, shows_init_entries(ls, "s0") && shows_init_entries(ls, "s7"),
	       "[%s] each container shows the init entries", driver);
	for (int i = 0; i < 7; i++)
		berth_rwlayer_remove(ls, a[i].id, NULL);
	TAP_OK(&t, count_init_layers(dr) == 1 && shows_init_entries(ls, "s7"),
	       "[%s] the init layer stays for the last container", driver);
	TAP_OK(&t, berth_rwlayer_create(ls, "bare", NULL, &err) == 0 && count_init_layers(dr) == 2,
	       "[%s] a container without an image has an init layer of its own", driver);
	berth_rwlayer_remove(ls, "bare", NULL);
	berth_rwlayer_remove(ls, "s7", NULL);
	TAP_OK(&t, count_init_layers(dr) == 1, "[%s] the image's init layer stays with the image", driver);
	berth_layer_store_close(ls);
	ls = berth_layer_store_open(dr, driver, db, &err);
	TAP_OK(&t, ls && count_init_layers(dr) == 0, "[%s] an init layer no container uses is swept at open", driver);
	rc = ls ? berth_rwlayer_create(ls, "again", FIXTURE_DIFF, &err) : -1;
	TAP_OK(&t, rc == 0 && count_init_layers(dr) == 1 && shows_init_entries(ls, "again"),
	       "[%s] made again by the next container", driver);
	if (ls)
		berth_rwlayer_remove(ls, "again", NULL);
	int removed = 0;
	rc = ls ? berth_layer_release(ls, FIXTURE_DIFF, &removed, &err) : -1;
	TAP_OK(&t, rc == 0 && removed == 1 && count_init_layers(dr) == 0,
	       "[%s] the init layer goes with the image layer", driver);
	if (ls)
		berth_layer_store_close(ls);
	berth_db_close(db);
	free(dr);
}

/* A process that attaches a's detached mount as berth-shim does (in a
 * mount namespace made for it, then back in ours, holding the mount by
 * the fd) and waits for its stdin to close; its pid and the held path (0
 * on failure). The caller's copy of the fd is closed. */
static pid_t mount_elsewhere(struct berth_mount_args *a, int *hold, char **held)
{
	int ready[2], wait_p[2];
	if (pipe(ready) < 0)
		return 0;
	if (pipe(wait_p) < 0) {
		close(ready[0]);
		close(ready[1]);
		return 0;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(wait_p[1]);
		int ns = open("/proc/self/ns/mnt", O_RDONLY);
		char ok =
			ns >= 0 && unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0 &&
					move_mount(a->view_fd, "", AT_FDCWD, a->target, MOVE_MOUNT_F_EMPTY_PATH) == 0 &&
					setns(ns, CLONE_NEWNS) == 0 ?
				'y' :
				'n';
		if (write(ready[1], &ok, 1) != 1 || read(wait_p[0], &ok, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(wait_p[0]);
	int fd = a->view_fd;
	close(a->view_fd);
	a->view_fd = -1;
	char ok = 'n';
	if (pid < 0 || read(ready[0], &ok, 1) != 1 || ok != 'y') {
		close(ready[0]);
		close(wait_p[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return 0;
	}
	close(ready[0]);
	*hold = wait_p[1];
	*held = berth_strdup_printf("/proc/%d/fd/%d", (int)pid, fd);
	return pid;
}

/* overlay2 hands a start's mount to another process (berth-shim): the host
 * never has it; cp and export reach it through the fd that process holds,
 * also after a restart; vfs mounts nothing and gives its directory. */
static void test_mount_elsewhere(const char *root, const char *driver)
{
	struct berth_db *db;
	char *dr;
	struct berth_error err = {0};
	struct berth_layer_store *ls = store_in(root, driver, "-else", &db, &dr);
	if (!ls)
		return;
	struct berth_layer_info img;
	int rc = add_fixture(ls, &img, &err);
	rc = rc == 0 ? berth_rwlayer_create(ls, "e1", FIXTURE_DIFF, &err) : -1;
	TAP_OK(&t, rc == 0, "[%s] elsewhere: container layer %s", driver, rc ? err.msg : "");
	char *rootfs = NULL, *there = NULL;
	struct berth_mount_args a = {.view_fd = -1};
	rc = rc == 0 ? berth_rwlayer_mount_elsewhere(ls, "e1", &rootfs, &a, &err) : -1;
	bool ov = !strcmp(driver, "overlay2");
	if (!ov) {
		TAP_OK(&t, rc == 0 && !a.target && rootfs && path_exists(rootfs, "bin/busybox"),
		       "[%s] elsewhere: nothing to hand out, the directory is the root filesystem", driver);
		TAP_OK(&t, berth_rwlayer_unmount(ls, "e1", &err) == 0, "[%s] elsewhere: reference dropped", driver);
		goto out;
	}
	TAP_OK(&t, rc == 1 && a.target && a.view_fd >= 0 && rootfs && !strcmp(rootfs, a.target),
	       "[%s] elsewhere: a detached mount handed out %s", driver, rc < 0 ? err.msg : "");
	if (rc != 1)
		goto out;
	char view[32];
	snprintf(view, sizeof(view), "/proc/self/fd/%d", a.view_fd);
	TAP_OK(&t,
	       !berth_is_mountpoint(rootfs) && !mountinfo_has(rootfs, "overlay") && path_exists(view, "bin/busybox") &&
		       path_exists(view, ".dockerenv"),
	       "[%s] elsewhere: not mounted here; the detached mount shows the image and init layer", driver);
	int hold = -1;
	char *held = NULL;
	pid_t pid = mount_elsewhere(&a, &hold, &held);
	TAP_OK(&t, pid > 0, "[%s] elsewhere: another process attached it and holds it", driver);
	if (pid <= 0)
		goto out;
	TAP_OK(&t, !mountinfo_has(rootfs, "overlay"), "[%s] elsewhere: in no mount table here", driver);
	TAP_OK(&t, berth_rwlayer_mount_adopt(ls, "e1", held, &err) == 0, "[%s] elsewhere: adopted", driver);
	rc = berth_rwlayer_mount(ls, "e1", &there, &err);
	TAP_OK(&t, rc == 0 && there && !strcmp(there, held) && path_exists(there, "bin/busybox"),
	       "[%s] elsewhere: the next user reaches it where it is held (%s)", driver, there ? there : err.msg);
	free(there);
	there = NULL;
	TAP_OK(&t,
	       berth_rwlayer_unmount(ls, "e1", &err) == 0 && berth_rwlayer_unmount(ls, "e1", &err) == 0 &&
		       !berth_is_mountpoint(rootfs),
	       "[%s] elsewhere: both references dropped, nothing unmounted here", driver);
	/* a daemon restart: the running container's mount is taken again where it is held */
	berth_layer_store_close(ls);
	ls = berth_layer_store_open(dr, driver, db, &err);
	rc = ls ? berth_rwlayer_mount_adopt(ls, "e1", held, &err) : -1;
	rc = rc == 0 ? berth_rwlayer_mount(ls, "e1", &there, &err) : -1;
	TAP_OK(&t, rc == 0 && there && !strcmp(there, held) && !berth_is_mountpoint(rootfs),
	       "[%s] elsewhere: after a restart, adopted where it is held %s", driver, rc ? err.msg : "");
	if (rc == 0) {
		berth_rwlayer_unmount(ls, "e1", NULL);
		berth_rwlayer_unmount(ls, "e1", NULL);
	}
	close(hold);
	waitpid(pid, NULL, 0);
	rc = ls ? berth_rwlayer_mount_adopt(ls, "e1", held, &err) : -1;
	TAP_OK(&t, rc == 0 && berth_is_mountpoint(rootfs),
	       "[%s] elsewhere: nothing held any more: adopting mounts it here %s", driver, rc ? err.msg : "");
	if (ls)
		berth_rwlayer_unmount(ls, "e1", NULL);
	free(held);
out:
	if (ls) {
		TAP_OK(&t, berth_rwlayer_remove(ls, "e1", &err) == 0, "[%s] elsewhere: removed", driver);
		berth_layer_store_close(ls);
	}
	free(there);
	free(rootfs);
	berth_mount_args_free(&a);
	berth_db_close(db);
	free(dr);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP storage tests need root\n");
		return 0;
	}
	const char *root = st_make_root("storage-rw-test");
	test_driver(root, "overlay2");
	test_driver(root, "vfs");
	test_init_entries(root, "overlay2");
	test_init_entries(root, "vfs");
	test_shared_init(root, "overlay2");
	test_shared_init(root, "vfs");
	test_mount_elsewhere(root, "overlay2");
	test_mount_elsewhere(root, "vfs");
	return TAP_DONE(&t);
}
