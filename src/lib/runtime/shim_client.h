/* berthd's side of berth-shim (see docs/shim-protocol.md).
 *
 * One shim per container, started by berth_shim_spawn() in its own session
 * (double fork: it is not berthd's child and survives berthd being killed).
 * Everything after that goes through two unix sockets in the container's
 * state dir (<exec-root>/containers/<id>/): control.sock (line JSON
 * requests: start, kill, resize, exec, state, wait, delete) and
 * attach.sock (streams). The exit status is also written to
 * <state_dir>/exit.json (atomically) so it survives berthd being down.
 *
 * Container start, no data lost for attached clients:
 *     berth_shim_spawn(&opts{.start=false}, &res, &err);   -> "ready": sockets up, nothing run yet
 *     fd = berth_shim_attach(state_dir, &aopts, &err);     -> for each waiting attach request
 *     berth_shim_start(state_dir, &pid, &exit_code, NULL, &err); -> runs `runc run --detach`
 * (one runtime exec creates and starts the container; with .start=true the
 * shim does that at once and berth_shim_spawn reports it started).
 *     wait: berth_shim_wait() (blocking) or berth_shim_wait_begin()/_end() (event loop),
 *           or poll berth_shim_pidfd(res.shim_pid): the shim exits after recording the exit.
 * berthd restart (live restore), per container state dir found:
 *     berth_shim_reconnect(state_dir, &st, &err) -> BERTH_SHIM_RUNNING (re-adopt),
 *           BERTH_SHIM_EXITED (st.exit has what happened while berthd was down), BERTH_SHIM_LOST.
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime.h"

struct berth_shim_opts {
	const char *shim_path;               /* NULL: berth_shim_find_binary() */
	const char *id;                      /* container id */
	const char *bundle;                  /* directory holding config.json (berth_oci_bundle_write) */
	const char *state_dir;               /* per-container dir under the exec-root; created if missing */
	const struct berth_runtime *runtime; /* from berth_runtimes_resolve() */
	const char *runtime_root;            /* the runtime's --root (berth_runtime_root(exec_root, name)) */
	bool tty;                            /* Config.Tty */
	bool open_stdin;                     /* Config.OpenStdin */
	bool stdin_once;                     /* Config.StdinOnce */
	bool start;                          /* run the container at once; else wait for berth_shim_start() */
	/* logging (docker's LogConfig + what drivers need to know) */
	const char *log_driver; /* "json-file" when NULL */
	const json_t *log_opts; /* LogConfig.Config */
	const char *log_path;   /* json-file: <data-root>/containers/<id>/<id>-json.log */
	const char *container_name, *image_id, *image_name;
	const json_t *labels; /* Config.Labels */
	const json_t *env;    /* Config.Env */
	const char *command;  /* Path + Args joined by ' ' (gelf's _command) */
	const char *created;  /* Created, RFC 3339 (gelf's _created) */
	int timeout_ms;       /* for the shim to report; 30000 when 0 */
	/* the root filesystem, a detached mount (fd) for the shim to attach at
	 * target in a mount namespace made for the runtime's run and to hold
	 * after it (BERTH_SHIM_ROOTFS_FD); target NULL: mounted here */
	struct {
		const char *target;
		int fd;
	} rootfs_mount;
};

struct berth_shim_result {
	pid_t shim_pid;
	pid_t pid; /* the container's init process (host pid) */
	bool started;
	int exit_code; /* when spawn fails on the runtime: docker's exit code (127 not found, 126 not executable, 128) */
	int64_t create_us; /* .start: how long `runtime run` took in the shim (0: not reported) */
};

/* Start a shim; with opts.start it runs the container at once, else it
 * waits for berth_shim_start(). On a runtime error the message is docker's
 * ("OCI runtime create failed: ...: unknown"), the kind BERTH_E_INVALID for
 * a bad command (exit code 126/127 in res), else BERTH_E_INTERNAL; the shim
 * has then cleaned up and exited. */
int berth_shim_spawn(const struct berth_shim_opts *o, struct berth_shim_result *res, struct berth_error *err);

struct berth_exit {
	pid_t pid;
	int exit_code; /* 128+signal when killed by a signal */
	int signal;    /* 0 if it exited normally */
	bool oom_killed;
	int64_t started_ns, finished_ns;
	char error[1024];          /* start/exec error text, if that is why it ended */
	int64_t runtime_delete_us; /* how long the shim's `runtime delete` took (0: not yet / not reported) */
};

struct berth_shim_state {
	char status[16]; /* "created", "running", "stopped" ("new" for an exec not started) */
	pid_t pid;
	bool tty, stdin_open;
	bool paused; /* frozen by berth_shim_pause() */
	int64_t started_ns;
	bool exited; /* exit below is valid */
	struct berth_exit exit;
};

/* exec_id NULL = the container. */
int berth_shim_state(const char *state_dir, const char *exec_id, struct berth_shim_state *st, struct berth_error *err);
/* `runc run --detach`: the container is created and started. On failure
 * the error and exit_code are as for spawn (docker's "OCI runtime create
 * failed: ...", 127/126 and BERTH_E_INVALID for a bad command) and the shim
 * has recorded the exit; berth_shim_delete() lets it go.
 * runtime_us (may be NULL): how long `runtime run` took in the shim */
int berth_shim_start(const char *state_dir, pid_t *pid, int *exit_code, int64_t *runtime_us, struct berth_error *err);
/* Signal the container's init (all: every process, `runc kill --all`) or an exec. */
int berth_shim_kill(const char *state_dir, const char *exec_id, int sig, bool all, struct berth_error *err);
int berth_shim_resize(const char *state_dir, const char *exec_id, int width, int height, struct berth_error *err);
/* Freeze / thaw every process of the container (`runc pause` / `resume`). */
int berth_shim_pause(const char *state_dir, struct berth_error *err);
int berth_shim_resume(const char *state_dir, struct berth_error *err);
/* `docker update`: resources is an OCI linux.resources object (memory, cpu,
 * pids, blockIO) applied with `runc update --resources`. */
int berth_shim_update(const char *state_dir, const json_t *resources, struct berth_error *err);
/* A created-but-never-started container (or a stopped one): the shim lets go and exits. */
int berth_shim_delete(const char *state_dir, struct berth_error *err);

/* Exec: process = berth_oci_exec_process_build(). Create registers it (so
 * clients can attach with .exec_id first), start runs `runc exec -d`.
 * Start errors: "OCI runtime exec failed: ...", exit_code 127 (not found) /
 * 126 (not executable), also reported by berth_shim_state(exec). */
int berth_shim_exec_create(const char *state_dir, const char *exec_id, const json_t *process, bool tty, bool open_stdin,
			   struct berth_error *err);
int berth_shim_exec_start(const char *state_dir, const char *exec_id, pid_t *pid, int *exit_code,
			  struct berth_error *err);

/* Block until the container (exec_id NULL) or exec has exited and its
 * output is drained. timeout_ms < 0 = no timeout (BERTH_E_UNAVAILABLE on timeout). */
int berth_shim_wait(const char *state_dir, const char *exec_id, int timeout_ms, struct berth_exit *out,
		    struct berth_error *err);
/* Same, for an event loop: wait_begin returns an fd that becomes readable
 * at the exit; then berth_shim_wait_end(fd, ...) reads the result and closes
 * fd. When wait_begin fails (the shim is already gone), call wait_end with
 * fd -1: for the container it answers from exit.json. */
int berth_shim_wait_begin(const char *state_dir, const char *exec_id, struct berth_error *err);
int berth_shim_wait_end(int fd, const char *state_dir, const char *exec_id, struct berth_exit *out,
			struct berth_error *err);

/* Attach. Returns a connected fd after the handshake: read the output from
 * it (with .mux and no tty: docker's 8-byte stdcopy frames, ready for the
 * API's hijacked stream; else raw bytes), write stdin to it, shutdown(SHUT_WR)
 * for stdin EOF. It is closed by the shim when the process is gone or the
 * client detached (detach keys). Several clients may attach at once. */
struct berth_attach_opts {
	const char *exec_id;     /* NULL = the container */
	bool in, out, err;       /* stdin, stdout, stderr */
	bool mux;                /* frame stdout/stderr (ignored with a tty) */
	const char *detach_keys; /* NULL = "ctrl-p,ctrl-q" */
};
int berth_shim_attach(const char *state_dir, const struct berth_attach_opts *o, struct berth_error *err);
/* docker's "Invalid detach keys (x) provided" check. */
int berth_detach_keys_validate(const char *keys, struct berth_error *err);

/* exit.json as the shim wrote it (BERTH_E_NOT_FOUND when there is none). */
int berth_shim_read_exit(const char *state_dir, struct berth_exit *out, struct berth_error *err);
/* Is the shim for this state dir alive? 1 yes (pid set), 0 no. */
int berth_shim_alive(const char *state_dir, pid_t *shim_pid);

/* The shim's fd that holds a container's root filesystem it attached
 * (berth_shim_opts.rootfs_mount; given to it as fd 4): berthd reaches the
 * files through berth_shim_rootfs_path. */
#define BERTH_SHIM_ROOTFS_FD 99
#define BERTH_SHIM_ROOTFS_SPAWN_FD 4
/* "/proc/<shim>/fd/99": the root filesystem the shim holds (caller frees) */
char *berth_shim_rootfs_path(pid_t shim_pid);

enum berth_shim_found { BERTH_SHIM_LOST = 0, BERTH_SHIM_RUNNING = 1, BERTH_SHIM_EXITED = 2 };
/* Live restore: what became of this container's shim while berthd was away. */
int berth_shim_reconnect(const char *state_dir, struct berth_shim_state *st, struct berth_error *err);

/* pidfd for a shim (readable when it exits), -1 on error. */
int berth_shim_pidfd(pid_t pid);
/* berth-shim next to the running binary, in the build tree, or in PATH. */
char *berth_shim_find_binary(void);
/* Remove a stopped container's state dir. */
int berth_shim_cleanup(const char *state_dir, struct berth_error *err);
