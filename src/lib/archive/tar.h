/* Safe tar module: tar trees out of and into directories through fds, docker's
 * pkg/archive path rules and ContainerPathStat, shared libarchive reading.
 * Used by storage (layer apply), daemon (container archives), image (load)
 * and the CLI (cp). Depends on common/ only.
 *
 * Safety model. A container's root filesystem belongs to the container: its
 * processes may create any symlink and swap path components at any moment.
 * Every path is therefore resolved with openat2(2) RESOLVE_IN_ROOT on an fd of
 * the root (symlinks, absolute or "..", stay inside it, as in a chroot), and
 * all work happens through fds opened there: a walk descends with
 * single-component openat(O_NOFOLLOW), files are created with O_EXCL|O_NOFOLLOW
 * below a resolved parent fd, and metadata is set on fds or with NOFOLLOW
 * calls. A component swapped for a symlink mid-copy (docker's CVE-2018-15664)
 * can at worst redirect the copy to another place inside the same root, never
 * to the host. On the host side (CLI) the same extractor runs with
 * RESOLVE_BENEATH below the destination directory. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"
#include "common/idmap.h"
#include "common/util.h"

/* ---- docker's ContainerPathStat ---- */

/* Go os.FileMode bits (docker puts them in the stat header). */
#define BERTH_GO_MODE_DIR (1u << 31)
#define BERTH_GO_MODE_SYMLINK (1u << 27)
#define BERTH_GO_MODE_DEVICE (1u << 26)
#define BERTH_GO_MODE_NAMED_PIPE (1u << 25)
#define BERTH_GO_MODE_SOCKET (1u << 24)
#define BERTH_GO_MODE_SETUID (1u << 23)
#define BERTH_GO_MODE_SETGID (1u << 22)
#define BERTH_GO_MODE_CHAR_DEVICE (1u << 21)
#define BERTH_GO_MODE_STICKY (1u << 20)

struct berth_path_stat {
	char *name;    /* base name of the requested path ("/" for the root, "." for "dir/.") */
	int64_t size;  /* lstat size */
	uint32_t mode; /* Go os.FileMode */
	int64_t mtime_ns;
	char *link_target; /* symlink: the target fully resolved inside the root, absolute; else "" */
};
void berth_path_stat_free(struct berth_path_stat *st);
uint32_t berth_go_filemode(mode_t m);
/* Decode X-Docker-Container-Path-Stat (base64 JSON); encoding is the daemon's (daemon/archive.h). */
int berth_path_stat_decode(const char *b64, struct berth_path_stat *st, struct berth_error *err);

/* ---- docker's pkg/archive path rules ---- */

/* Go's path.Clean for '/'-separated paths ("" -> "."). */
char *berth_cp_clean(const char *path);
/* PreserveTrailingDotOrSeparator(cleaned, original): re-append a trailing
 * "/." or "/" the original had. Returns a new string. */
char *berth_cp_preserve_trailing(const char *cleaned, const char *original);
/* SplitPathDirEntry: clean, keep a trailing "." entry; *dir and *base are new
 * strings ("/a/b/." -> "/a/b", "."; "/" -> "/", "/"; "a" -> ".", "a"). */
int berth_cp_split(const char *path, char **dir, char **base);
/* "/" + path, cleaned, trailing "/" or "/." kept (a container path as docker sees it). */
char *berth_cp_container_abs(const char *path);

/* ---- tar writing ---- */

/* What to archive: the file (dirfd, base) — base NULL or "": dirfd itself,
 * which must then be a directory — and everything below it. name is the
 * entry name of that file (directories get a trailing '/'); children are
 * "name/child". name NULL: no entry for the file itself and children named
 * without prefix (export). Entries come in lexical order per directory (as
 * Go's filepath.Walk), hard links as link entries to the first name seen,
 * security.capability as a PAX xattr record, mtimes in whole seconds,
 * numeric owners only; sockets and files vanishing meanwhile are skipped. */
struct berth_tar_subst {
	dev_t dev; /* a regular file in the tree ... */
	ino_t ino;
	int fd; /* ... read from this file instead (contents and stat), as a bind mount shows it */
};
struct berth_tar_src {
	int dirfd;
	const char *base;
	const char *name;
	const struct berth_tar_subst *subst; /* may be NULL */
	size_t nsubst;
	bool kernel_fs_empty; /* see struct berth_root */
	/* Optional filter (.dockerignore): called for every entry below the
	 * top with its path relative to the top ('/'-separated); returns
	 * BERTH_TAR_KEEP, BERTH_TAR_SKIP (not archived; a directory is not
	 * walked) or BERTH_TAR_DESCEND (a directory left out whose children
	 * are still filtered one by one). */
	int (*filter)(void *ctx, const char *rel, bool is_dir);
	void *filter_ctx;
	/* --userns-remap: owners are mapped back from host to container ids
	 * (NULL: as on disk) */
	const struct berth_idmap *idmap;
};
enum { BERTH_TAR_KEEP = 0, BERTH_TAR_SKIP = 1, BERTH_TAR_DESCEND = 2 };
/* Writes a complete tar stream (end-of-archive blocks included). */
int berth_tar_write(const struct berth_tar_src *src, struct berth_writer *out, struct berth_error *err);

/* ---- tar extraction ---- */

enum berth_untar_resolve {
	BERTH_UNTAR_IN_ROOT, /* root_fd is a container root: symlinks resolve inside it (chroot semantics) */
	BERTH_UNTAR_BENEATH, /* root_fd is a host directory: nothing may resolve outside it */
};

struct berth_untar_opts {
	enum berth_untar_resolve resolve;
	bool no_overwrite_dir_nondir; /* docker's NoOverwriteDirNonDir */
	bool no_lchown;               /* keep the extracting user as owner (docker CLI default) */
	bool chown;                   /* give everything uid:gid (copyUIDGID with a container user) */
	uid_t uid;
	gid_t gid;
	/* docker's RebaseArchiveEntries: a leading rebase_from in entry (and hard
	 * link) names becomes rebase_to; rebase_from "" or "/" prefixes rebase_to. */
	const char *rebase_from, *rebase_to;
	/* the destination as users know it, for messages ("/tmp") */
	const char *dest_shown;
	/* Non-NULL: the stream is first copied to an unlinked file in this
	 * directory while every header is checked; nothing is written to the
	 * destination unless the whole archive is valid. */
	const char *spool_dir;
	/* refuse to create anything in a directory on a kernel file system */
	bool no_kernel_fs;
	/* --userns-remap: owners (the archive's or uid/gid) are container ids
	 * shifted to host ids, missing parents belong to the remapped root
	 * (NULL: as given) */
	const struct berth_idmap *idmap;
};

/* Extract the tar stream (plain, gzip, bzip2, xz or zstd) into the directory
 * dest (relative to root_fd; "" or "." is root_fd itself) with docker's
 * Unpack rules: names are cleaned and joined below dest ("../x" is refused
 * with "\"../x\" is outside of \"dest\"", as are hard links leaving dest and
 * relative symlinks pointing above it), missing parents are made 0755, an
 * existing entry is replaced unless both are directories, directory times
 * are set last. Errors use docker's wording ("Error processing tar file(exit
 * status 1): ..." for the archive itself). */
int berth_untar(int root_fd, const char *dest, struct berth_reader *in, const struct berth_untar_opts *o,
		struct berth_error *err);

/* ---- operations inside an opened root ---- */

/* A root as a container sees it. fd: open(rootfs, O_PATH|O_DIRECTORY), or a
 * view with the container's mounts in place. subst: files shown from
 * elsewhere (a container's /etc/hosts, /etc/hostname, /etc/resolv.conf,
 * bind-mounted by docker over the image's). kernel_fs_empty: the root is a
 * running container's (its /proc/<pid>/root): directories on kernel file
 * systems (proc, sysfs, cgroup, ...) are archived empty, their files without
 * content, and nothing is ever extracted into them. */
struct berth_root {
	int fd;
	const struct berth_tar_subst *subst;
	size_t nsubst;
	bool kernel_fs_empty;
	const struct berth_idmap *idmap; /* --userns-remap: GET maps owners back, PUT shifts them */
};

/* docker's StatPath on a container path: the parent is resolved inside the
 * root, the last element is not followed unless the path ends in "/" or "/.".
 * ctr names the container in "Could not find the file %s in container %s". */
int berth_root_stat(const struct berth_root *root, const char *path, const char *ctr, struct berth_path_stat *st,
		    struct berth_error *err);
/* GET archive: stat, call begin (to send headers; it may fail), then write the
 * tar of the path with docker's entry names (rebased on the stat name). */
typedef int (*berth_archive_begin_fn)(void *ctx, const struct berth_path_stat *st);
int berth_root_archive(const struct berth_root *root, const char *path, const char *ctr, berth_archive_begin_fn begin,
		       void *ctx, struct berth_writer *out, struct berth_error *err);
/* PUT archive: path (its last element followed) must be a directory. */
struct berth_archive_put_opts {
	bool no_overwrite_dir_nondir;
	bool chown;
	uid_t uid;
	gid_t gid;
	const char *spool_dir; /* see berth_untar_opts */
};
int berth_root_extract(const struct berth_root *root, const char *path, const char *ctr,
		       const struct berth_archive_put_opts *o, struct berth_reader *in, struct berth_error *err);
/* docker's FollowSymlinkInScope: the absolute path inside the root that path
 * (absolute) leads to, every symlink evaluated inside the root; missing
 * components are taken as they are. */
char *berth_root_resolve(int root_fd, const char *path, struct berth_error *err);
/* The uid/gid of a user spec ("name", "uid", "name:group", "uid:gid") from the
 * root's /etc/passwd and /etc/group (read inside the root). */
int berth_root_lookup_user(int root_fd, const char *spec, uid_t *uid, gid_t *gid, struct berth_error *err);

/* ---- helpers ---- */

/* openat2(2) below root_fd with the resolve mode's RESOLVE_* flags (plus
 * RESOLVE_NO_MAGICLINKS); rel "" means root_fd itself. O_CLOEXEC is added.
 * Returns an fd or -1 with errno. */
int berth_ar_open(int root_fd, const char *rel, int flags, enum berth_untar_resolve mode);
/* Go's strconv %q-style quoting of s into a new string ("\"a b\""). */
char *berth_ar_quote(const char *s);
/* Go's error text for errno: strerror with a lower-case first letter. */
const char *berth_ar_errstr(int e, char *buf, size_t len);
/* Go's filepath.Base ("" -> ".", "/" -> "/", "/a/b/" -> "b"). */
char *berth_ar_base(const char *p);
/* True when fd is on a kernel file system (proc, sysfs, cgroup, devpts, ...). */
bool berth_ar_kernel_fs(int fd);

/* The entry names of the directory fd ("." and ".." left out) in bytewise
 * order (Go's filepath.Walk order), NULL-terminated (berth_strv_free); fd
 * and its offset are left as they are. NULL with errno on failure. */
char **berth_ar_sorted_names(int fd);
/* chmod of (dirfd, base) that never follows a symlink (symlinks: no-op). */
int berth_ar_chmod_nofollow(int dirfd, const char *base, mode_t mode);
/* Remove (dirfd, name) and, for a directory, everything below it; never
 * descends into a mount point (EBUSY). ENOENT is success. */
int berth_ar_remove_at(int dirfd, const char *name);
/* Extended attribute of (dirfd, name) without following a symlink at name. */
ssize_t berth_ar_getxattr_at(int dirfd, const char *name, const char *key, void *val, size_t len);
int berth_ar_setxattr_at(int dirfd, const char *name, const char *key, const void *val, size_t len);

/* ---- shared tar reading (libarchive) ---- */

struct archive;
struct archive_entry;
/* A libarchive reader for tar (ustar, pax, gnu). filters: also gzip, bzip2,
 * xz and zstd (auto-detected); else plain tar only. */
struct archive *berth_tar_reader_new(bool filters);
/* A berth_reader as a libarchive source: fill in and pass to
 * archive_read_open(a, src, NULL, berth_tar_source_read, NULL). spool_fd >= 0
 * receives a copy of every byte read. */
struct berth_tar_source {
	struct berth_reader *in;
	int spool_fd;
	char *buf;
	size_t bufsize;
	bool failed;
};
ssize_t berth_tar_source_read(struct archive *a, void *src, const void **out);
/* Read the rest of the source to EOF (the body consumed, spooled). */
void berth_tar_source_drain(struct archive *a, struct berth_tar_source *src);
/* Write the current entry's data to fd at the offsets the archive gives
 * (holes of sparse entries kept), then extend fd to size when size >= 0.
 * Returns 0; BERTH_TAR_DATA_WRITE with errno when writing fd failed;
 * BERTH_TAR_DATA_ARCHIVE when reading the archive failed (see
 * archive_error_string); BERTH_TAR_DATA_BEYOND when data lies past size. */
#define BERTH_TAR_DATA_WRITE (-1)
#define BERTH_TAR_DATA_ARCHIVE (-2)
#define BERTH_TAR_DATA_BEYOND (-3)
int berth_tar_entry_data(struct archive *a, int fd, int64_t size);
/* Owner of an entry written from st: host ids mapped back to container ids
 * through m (NULL or off: st's ids). Every tar writer uses it. */
void berth_tar_entry_set_owner(struct archive_entry *e, const struct stat *st, const struct berth_idmap *m);
/* atime/mtime of an entry as for utimensat; the access time is never before
 * the modification time (docker's rule). */
void berth_tar_entry_times(struct archive_entry *e, struct timespec ts[2]);
