/* File-system helpers for the storage area: openat-based resolution below a
 * root fd that never follows symlinks, recursive removal and copy by fd, and
 * a small string map. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error.h"

/* Clean a tar member name into a relative path without "." / ".." / empty
 * components ("" is the root). Refuses absolute names and ".." escaping the
 * root: returns NULL. Result is malloc'd. */
char *berth_path_clean(const char *name);
/* Split a cleaned path: *dir gets the parent ("" for top level, malloc'd),
 * *base points into path. */
int berth_path_split(const char *path, char **dir, const char **base);

/* Open the directory rel (cleaned) below root_fd, one component at a time
 * with O_NOFOLLOW; a symlink component fails with ELOOP, a non-directory with
 * ENOTDIR. With create, missing components are made (mode 0755). Returns an
 * O_RDONLY|O_DIRECTORY fd or -1 with errno. */
int berth_open_dir_beneath(int root_fd, const char *rel, bool create);
/* The same; components it creates get owner uid:gid (-1: unchanged). */
int berth_open_dir_beneath_owned(int root_fd, const char *rel, bool create, uid_t uid, gid_t gid);
/* Open rel (cleaned) below root_fd; no component, the last included, may be
 * a symlink. flags are open(2) flags (O_NOFOLLOW|O_CLOEXEC added). */
int berth_open_beneath(int root_fd, const char *rel, int flags);

/* Remove name in dirfd recursively (never follows symlinks, never crosses
 * into another mount). ENOENT is success. Returns 0 or -1 with errno. */
int berth_rm_rf_at(int dirfd, const char *name);
/* Remove every entry inside the directory fd (not the directory itself). */
int berth_empty_dir_at(int dirfd);

/* Copy the tree at src_fd into the (existing, empty) directory dst_fd, keeping
 * owners, modes, times, xattrs, hard links, devices and symlinks. The root's
 * own metadata is copied too. */
int berth_copy_tree(int src_fd, int dst_fd, struct berth_error *err);

/* xattr calls on (dirfd, name) without following a final symlink. */
int berth_lsetxattr_at(int dirfd, const char *name, const char *key, const void *val, size_t len);
ssize_t berth_lgetxattr_at(int dirfd, const char *name, const char *key, void *val, size_t len);
/* overlayfs's markers in a layer directory: a whiteout (a 0/0 character
 * device) and an opaque directory (trusted.overlay.opaque "y"). */
bool berth_ovl_is_whiteout(const struct stat *st);
bool berth_ovl_is_opaque(int dirfd, const char *name);
ssize_t berth_llistxattr_at(int dirfd, const char *name, char *list, size_t len);
/* Copy every xattr of (sfd, sname) to (dfd, dname); unsupported ones skipped. */
int berth_copy_xattrs_at(int sfd, const char *sname, int dfd, const char *dname);
/* the same without the attributes whose names start with skip_prefix (NULL: none) */
int berth_copy_xattrs_at_except(int sfd, const char *sname, int dfd, const char *dname, const char *skip_prefix);

/* Mark dir as the top of directory hierarchies (FS_TOPDIR_FL, chattr +T):
 * ext4 then places each new subdirectory, and the files made in it, in a
 * block group of its own choosing (Orlov) instead of dir's group. On ext4
 * without a journal, every inode allocation scans the group's recently
 * (60 s or more) deleted inodes (find_inode_bit/recently_deleted), which
 * container churn piles up in the one group of overlay2/ or containers/:
 * half of berthd's CPU in 100 parallel run -d after an rm of as many.
 * Best effort (other filesystems: nothing). */
void berth_fs_spread_subdirs(const char *dir);

/* Is this a mount point (differs in device from its parent, or a mount root)? */
bool berth_is_mountpoint(const char *path);

/* A string -> int64 hash map (open addressing). */
struct berth_strmap {
	char **keys;
	int64_t *vals;
	size_t cap, len;
};
int berth_strmap_put(struct berth_strmap *m, const char *key, int64_t val);
bool berth_strmap_get(const struct berth_strmap *m, const char *key, int64_t *val);
void berth_strmap_free(struct berth_strmap *m);
