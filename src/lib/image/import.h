/* docker import: an image from a root filesystem tarball (POST /images/create?fromSrc=-). */
#pragma once
#include "common/error.h"
#include "common/util.h"
#include "image/store.h"

struct berth_image_import_opts {
	const char *repo;     /* "" / NULL: untagged; may carry a tag ("busybox:1") */
	const char *tag;      /* overrides the tag of repo */
	const char *message;  /* "" / NULL: "Imported from <src>" */
	const char *src;      /* NULL: "-" */
	char *const *changes; /* Dockerfile lines (CMD, ENV, ...) */
	size_t n_changes;
	const char *os;   /* NULL: "linux" */
	const char *arch; /* NULL: the host's ("amd64") */
};

/* Check repo/tag/changes/os before any body is read (docker's order and
 * messages: "invalid reference format", "cannot import digest reference",
 * "<x> is not a valid change command", ...). */
int berth_image_import_check(const struct berth_image_import_opts *o, struct berth_error *err);
/* Read the tarball (plain, gzip or zstd), register it as a layer, write the
 * config docker import writes, tag it. Emits "tag" and "import". id gets
 * "sha256:<hex>" (docker prints it as {"status": id}). */
int berth_image_import(struct berth_image_store *s, struct berth_reader *in, const struct berth_image_import_opts *o,
		       char id[BERTH_DIGEST_LEN + 1], struct berth_error *err);
