/* berth-shim internals: one process per container, single-threaded epoll
 * loop. See docs/shim-protocol.md for what it does and how berthd talks
 * to it. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"
#include "logger/logger.h"
#include "runtime/shim_client.h"

enum wkind { W_SIGNAL, W_CTL_LISTEN, W_ATT_LISTEN, W_CTL, W_ATT, W_OUT, W_IN, W_TIMER };

/* Every fd in the epoll set is described by one of these (epoll data.ptr). */
struct watch {
	enum wkind kind;
	int fd;
	uint32_t events; /* currently registered, 0 = not registered */
	void *owner;
	int index; /* W_OUT: 0 = stdout (or the pty), 1 = stderr */
};

enum pstate { P_NEW, P_CREATED, P_RUNNING, P_EXITED };

/* The container's init process or one exec'd process. */
struct proc {
	struct proc *next;
	char id[80]; /* exec id; "" for the container itself */
	bool is_exec, tty, open_stdin, stdin_once;
	enum pstate state;
	pid_t pid;
	int64_t started_ns, finished_ns;
	int exit_code, signal;
	bool oom_killed;
	char error[1024];
	struct watch out[2]; /* stdout, stderr pipes; with a tty out[0] is the pty master */
	struct watch in;     /* where client stdin goes (pipe write end or pty master dup), fd -1 if none */
	struct berth_buf inbuf;
	bool in_close_pending; /* close stdin once inbuf is written */
	bool stdin_closed;
	struct berth_log_copier *copier[2]; /* init only */
	int pend_w, pend_h;                 /* tty size to apply once the pty exists */
	char *process_file;                 /* exec: OCI process json for `runc exec --process` */
	int64_t drain_deadline_ns;          /* after exit: stop waiting for EOF on output */
	bool finalized;                     /* exit recorded, clients told */
};

/* An attach connection. */
struct client {
	struct client *next;
	struct watch w;
	struct proc *p;
	bool header_done, want_in, want_out, want_err, mux;
	struct berth_buf hdr;
	struct berth_buf out;
	size_t out_off;
	unsigned char keys[16];
	size_t nkeys, matched;
	bool in_done; /* no more stdin from this client */
	bool closing; /* close when out is flushed */
	bool dead;
};

/* A control connection (line-delimited JSON). */
struct ctl {
	struct ctl *next;
	struct watch w;
	struct berth_buf in, out;
	size_t out_off;
	char wait_for[80]; /* pending "wait": exec id, or "" for the container; wait_active says if set */
	bool wait_active;
	bool closing, dead;
};

struct shim {
	/* config */
	char *id, *bundle, *state_dir;
	char *rt_name, *rt_path, *rt_root;
	char **rt_args;
	json_t *cfg;
	bool want_start;
	/* the root filesystem to attach in a mount namespace made for the
	 * runtime's run (berthd's "rootfs_mount"; NULL target: berthd mounted
	 * it), held by BERTH_SHIM_ROOTFS_FD while mnt_held */
	char *mnt_target;
	bool mnt_held;
	int host_ns, host_cwd; /* while the runtime runs in a namespace of ours */
	/* state */
	int ep;
	struct watch sig, ctl_listen, att_listen, timer;
	struct proc init;
	struct proc *execs;
	struct client *clients;
	struct ctl *ctls;
	struct berth_logger *logger;
	char oom_file[512]; /* memory.oom_control or memory.events of the container cgroup */
	long oom_base;
	bool paused_output; /* a slow attach client: stop reading container output */
	bool paused;        /* the container is frozen (`runc pause`) */
	bool exiting;
	int sync_fd;
	/* runtime run/delete durations, reported to berthd (issue 13 timings) */
	int64_t run_us, delete_us;
	pid_t delete_pid; /* the runtime delete, while it runs */
	int64_t delete_t0;
	bool delete_done;
	bool rt_ran; /* the runtime was run for the container (so there is something to delete) */
};

/* main.c */
int shim_watch_add(struct shim *s, struct watch *w, uint32_t events);
void shim_watch_mod(struct shim *s, struct watch *w, uint32_t events);
void shim_watch_del(struct shim *s, struct watch *w);
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct proc *shim_find_proc(struct shim *s, const char *exec_id);

/* runtime_ops.c */
/* `runtime run --detach`: create and start the container in one exec */
int rt_run(struct shim *s, char *errbuf, size_t errlen);
/* once the container's init exited: the root filesystem's mount goes (our
 * fd's; the overlay is released with the container's namespace) */
void rt_rootfs_unmount(struct shim *s);
int rt_exec(struct shim *s, struct proc *p, char *errbuf, size_t errlen);
/* `runtime delete --force` once the container's exit is recorded: begun
 * without waiting (it overlaps berthd's exit handling and the clients'
 * last output), reaped by the loop (rt_delete_reaped: true if pid was it),
 * waited for by rt_delete, which runs it itself when it was not begun and
 * removes the cgroup the runtime left. */
void rt_delete_begin(struct shim *s);
bool rt_delete_reaped(struct shim *s, pid_t pid);
void rt_delete(struct shim *s);
int rt_kill(struct shim *s, int sig, bool all, char *errbuf, size_t errlen);
/* `pause` / `resume` / `update --resources <file>` (args: NULL-terminated extra args) */
int rt_simple(struct shim *s, const char *what, const char *const *args, char *errbuf, size_t errlen);
/* docker's exit code for a start/exec error text (127 not found, 126 not executable), or 0 */
int rt_error_exit_code(const char *msg);
void shim_oom_setup(struct shim *s);
bool shim_oom_killed(struct shim *s);

/* io.c */
void io_output_ready(struct shim *s, struct watch *w);
void io_stdin_writable(struct shim *s, struct proc *p);
void io_attach_accept(struct shim *s);
void io_attach_event(struct shim *s, struct client *c, uint32_t ev);
void io_proc_outputs_add(struct shim *s, struct proc *p);
void io_proc_output_close(struct shim *s, struct proc *p, int idx);
void io_close_stdin(struct shim *s, struct proc *p);
void io_proc_done(struct shim *s, struct proc *p);  /* output drained after exit: close its clients */
void io_proc_drain(struct shim *s, struct proc *p); /* read what is left in the outputs (before closing them) */
void io_resize(struct proc *p, int w, int h);
void io_check_backpressure(struct shim *s);
void io_reap_dead(struct shim *s);
int io_parse_detach_keys(const char *spec, unsigned char *out, size_t *n);

/* control.c */
void ctl_accept(struct shim *s);
void ctl_event(struct shim *s, struct ctl *c, uint32_t ev);
void ctl_notify_exit(struct shim *s, struct proc *p);
void ctl_reap_dead(struct shim *s);
json_t *proc_exit_json(const struct proc *p);
/* The container could not be run: record errbuf as its exit (docker's code
 * for it: 127 not found, 126 not executable, else 128); the loop then
 * writes exit.json, answers waits, and the shim exits. */
void shim_run_failed(struct shim *s, const char *errbuf);
