/* Layer tar applier: the input is applied as a layer (any compression) into a
 * fresh directory, then removed. Nothing may appear outside that directory:
 * after each run the scratch directory must hold only root/, tarsplit, its
 * side directory tarsplit.dup/ (bytes of files a later record replaced) and an
 * empty sentinel/ (a sibling a "../" escape would reach first), and under
 * scripts/fuzz.sh (BERTH_FUZZ_PRIVATE_TMPDIR set) the private TMPDIR holds
 * nothing but the scratch directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "storage/tar_apply.h"
#include "storage/tar_split.h"

static void check_contained(const char *base)
{
	DIR *d = opendir(base);
	FUZZ_ASSERT(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "root") && strcmp(n, "sentinel") &&
		    strcmp(n, "tarsplit") && strcmp(n, "tarsplit" BERTH_TARSPLIT_DUP_SUFFIX)) {
			fprintf(stderr, "tar apply wrote outside its root: %s/%s\n", base, n);
			abort();
		}
	}
	closedir(d);
	char *s = berth_strdup_printf("%s/sentinel", base);
	d = opendir(s);
	FUZZ_ASSERT(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			fprintf(stderr, "tar apply wrote outside its root: %s/%s\n", s, e->d_name);
			abort();
		}
	}
	closedir(d);
	free(s);
	/* Under scripts/fuzz.sh, TMPDIR is private to this run: it holds base only. */
	const char *tmp = getenv("TMPDIR");
	if (getenv("BERTH_FUZZ_PRIVATE_TMPDIR") && tmp && (d = opendir(tmp))) {
		const char *bn = strrchr(base, '/') + 1;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, bn)) {
				fprintf(stderr, "tar apply wrote outside its root: %s/%s\n", tmp, e->d_name);
				abort();
			}
		}
		closedir(d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *base = fuzz_scratch("tar");
	char *root = berth_strdup_printf("%s/root", base);
	char *sentinel = berth_strdup_printf("%s/sentinel", base);
	char *tarsplit = berth_strdup_printf("%s/tarsplit", base);
	FUZZ_ASSERT(mkdir(root, 0755) == 0);
	if (mkdir(sentinel, 0755) != 0)
		FUZZ_ASSERT(errno == EEXIST);

	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_ASSERT(fd >= 0);
	struct fuzz_mem m = {data, size, 0, 4096};
	struct berth_reader rd = fuzz_mem_reader(&m);
	/* The last byte picks the whiteout mode (both must stay inside root) and
	 * whether a tar-split record is written (its zstd context costs more than
	 * the rest of a run: half of the runs skip it). */
	uint8_t sel = size ? data[size - 1] : 0;
	struct berth_tar_apply_opts opts = {
		.whiteout = sel & 1 ? BERTH_WHITEOUT_OVERLAY : BERTH_WHITEOUT_DELETE,
		.tarsplit_path = sel & 2 ? tarsplit : NULL,
	};
	struct berth_tar_apply_result res;
	struct berth_error err = {0};
	int r = berth_tar_apply(fd, &rd, &opts, &res, &err);
	if (getenv("BERTH_FUZZ_VERBOSE"))
		fprintf(stderr, "apply: %s %s\n", r < 0 ? "error" : "ok", r < 0 ? err.msg : "");
	close(fd);

	check_contained(base);
	FUZZ_ASSERT(berth_rm_rf(root, NULL) == 0);
	unlink(tarsplit);
	char *dup = berth_strdup_printf("%s" BERTH_TARSPLIT_DUP_SUFFIX, tarsplit);
	FUZZ_ASSERT(berth_rm_rf(dup, NULL) == 0);
	free(dup);
	free(root);
	free(sentinel);
	free(tarsplit);
	return 0;
}
