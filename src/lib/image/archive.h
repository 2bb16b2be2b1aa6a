/* docker load / docker save.
 *
 * load reads a tar stream (optionally gzip/bzip2/xz/zstd compressed) holding
 * either a docker-archive (manifest.json, <config>.json, layer tars; legacy
 * <v1id>/layer.tar or blobs/sha256/...) or an OCI image layout (oci-layout,
 * index.json, blobs/sha256/...; nested indexes; several platforms: the host's
 * is picked). Every digest is verified (OCI blobs by sha256, layer diff IDs
 * against the config). The outer tar is unpacked into a temporary directory
 * under <data_root>/image/tmp (removed afterwards); layers are streamed from
 * there into the layer store. Any failure leaves no new image and releases
 * every layer reference taken.
 *
 * save writes docker 20.10's save format; for an image docker itself saved,
 * the bytes are the same as docker's. */
#pragma once
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"
#include "image/store.h"

struct berth_image_load_opts {
	/* "os/arch[/variant]" to pick from multi-platform OCI indexes; NULL: linux/<host arch>. */
	const char *platform;
	/* Called while a layer is read into the layer store (docker's "Loading layer"
	 * progress): id is the 12-char short ID docker shows, total the file size. May be NULL. */
	void (*progress)(void *ctx, const char *id, int64_t current, int64_t total);
	void *ctx;
};

/* *lines gets docker's output lines (without "\n"): "Loaded image: busybox:latest",
 * "Loaded image ID: sha256:...", "The image busybox:latest already exists,
 * renaming the old one with ID sha256:... to empty string". NULL-terminated;
 * free with berth_strv_free. Emits "load" events. */
int berth_image_load(struct berth_image_store *s, struct berth_reader *in, const struct berth_image_load_opts *opts,
		     char ***lines, struct berth_error *err);

/* Resolve names as docker save does (name:tag, name (every tag of the repository),
 * ID, ID prefix, name@digest). Call before sending anything to the client: all
 * lookup errors (BERTH_E_NOT_FOUND "No such image: ...") come from here. */
struct berth_image_save_set;
struct berth_image_save_set *berth_image_save_prepare(struct berth_image_store *s, char *const *names, size_t n,
						      struct berth_error *err);
/* Write the tar; frees set. Emits "save" events. */
int berth_image_save_write(struct berth_image_store *s, struct berth_image_save_set *set, struct berth_writer *out,
			   struct berth_error *err);
void berth_image_save_set_free(struct berth_image_save_set *set);
/* prepare + write. */
int berth_image_save(struct berth_image_store *s, char *const *names, size_t n, struct berth_writer *out,
		     struct berth_error *err);
