/* Docker's default seccomp profile (moby profiles/seccomp, as shipped with
 * docker 20.10), expressed as a table: an allow list plus conditional rules
 * keyed on capabilities, architectures and kernel version. The table is
 * turned into a docker-format profile, and that goes through the same
 * converter as a user-supplied profile file. */
#include <sched.h>
#include <stdint.h>

#include "seccomp.h"

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

struct sc_arg {
	unsigned index;
	uint64_t value;
	const char *op;
};

struct sc_rule {
	const char *const *names;
	const char *action; /* NULL = SCMP_ACT_ALLOW */
	int errno_ret;      /* 0 = none */
	int nargs;
	struct sc_arg args[2];
	const char *comment;
	const char *const *inc_caps, *const *inc_arches, *inc_min_kernel;
	const char *const *exc_caps, *const *exc_arches;
};

/* Namespace-creating clone flags: clone is allowed without CAP_SYS_ADMIN
 * only when none of these are set. */
#define CLONE_NS_FLAGS                                                                                                 \
	((uint64_t)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |       \
		    CLONE_NEWNET))

/* personality(2) values a container may set: PER_LINUX, PER_LINUX32,
 * UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (query). */
#define PERSONALITY(v)                                                                                                 \
	{                                                                                                              \
		.names = L("personality"), .nargs = 1, .args = { {0, (v), "SCMP_CMP_EQ"} }                             \
	}

static const char *const allowed[] = {
	"accept",
	"accept4",
	"access",
	"adjtimex",
	"alarm",
	"bind",
	"brk",
	"capget",
	"capset",
	"chdir",
	"chmod",
	"chown",
	"chown32",
	"clock_adjtime",
	"clock_adjtime64",
	"clock_getres",
	"clock_getres_time64",
	"clock_gettime",
	"clock_gettime64",
	"clock_nanosleep",
	"clock_nanosleep_time64",
	"close",
	"close_range",
	"connect",
	"copy_file_range",
	"creat",
	"dup",
	"dup2",
	"dup3",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_ctl_old",
	"epoll_pwait",
	"epoll_pwait2",
	"epoll_wait",
	"epoll_wait_old",
	"eventfd",
	"eventfd2",
	"execve",
	"execveat",
	"exit",
	"exit_group",
	"faccessat",
	"faccessat2",
	"fadvise64",
	"fadvise64_64",
	"fallocate",
	"fanotify_mark",
	"fchdir",
	"fchmod",
	"fchmodat",
	"fchown",
	"fchown32",
	"fchownat",
	"fcntl",
	"fcntl64",
	"fdatasync",
	"fgetxattr",
	"flistxattr",
	"flock",
	"fork",
	"fremovexattr",
	"fsetxattr",
	"fstat",
	"fstat64",
	"fstatat64",
	"fstatfs",
	"fstatfs64",
	"fsync",
	"ftruncate",
	"ftruncate64",
	"futex",
	"futex_time64",
	"futex_waitv",
	"futimesat",
	"getcpu",
	"getcwd",
	"getdents",
	"getdents64",
	"getegid",
	"getegid32",
	"geteuid",
	"geteuid32",
	"getgid",
	"getgid32",
	"getgroups",
	"getgroups32",
	"getitimer",
	"getpeername",
	"getpgid",
	"getpgrp",
	"getpid",
	"getppid",
	"getpriority",
	"getrandom",
	"getresgid",
	"getresgid32",
	"getresuid",
	"getresuid32",
	"getrlimit",
	"get_robust_list",
	"getrusage",
	"getsid",
	"getsockname",
	"getsockopt",
	"get_thread_area",
	"gettid",
	"gettimeofday",
	"getuid",
	"getuid32",
	"getxattr",
	"inotify_add_watch",
	"inotify_init",
	"inotify_init1",
	"inotify_rm_watch",
	"io_cancel",
	"ioctl",
	"io_destroy",
	"io_getevents",
	"io_pgetevents",
	"io_pgetevents_time64",
	"ioprio_get",
	"ioprio_set",
	"io_setup",
	"io_submit",
	"io_uring_enter",
	"io_uring_register",
	"io_uring_setup",
	"ipc",
	"kill",
	"landlock_add_rule",
	"landlock_create_ruleset",
	"landlock_restrict_self",
	"lchown",
	"lchown32",
	"lgetxattr",
	"link",
	"linkat",
	"listen",
	"listxattr",
	"llistxattr",
	"_llseek",
	"lremovexattr",
	"lseek",
	"lsetxattr",
	"lstat",
	"lstat64",
	"madvise",
	"membarrier",
	"memfd_create",
	"memfd_secret",
	"mincore",
	"mkdir",
	"mkdirat",
	"mknod",
	"mknodat",
	"mlock",
	"mlock2",
	"mlockall",
	"mmap",
	"mmap2",
	"mprotect",
	"mq_getsetattr",
	"mq_notify",
	"mq_open",
	"mq_timedreceive",
	"mq_timedreceive_time64",
	"mq_timedsend",
	"mq_timedsend_time64",
	"mq_unlink",
	"mremap",
	"msgctl",
	"msgget",
	"msgrcv",
	"msgsnd",
	"msync",
	"munlock",
	"munlockall",
	"munmap",
	"nanosleep",
	"newfstatat",
	"_newselect",
	"open",
	"openat",
	"openat2",
	"pause",
	"pidfd_open",
	"pidfd_send_signal",
	"pipe",
	"pipe2",
	"poll",
	"ppoll",
	"ppoll_time64",
	"prctl",
	"pread64",
	"preadv",
	"preadv2",
	"prlimit64",
	"process_mrelease",
	"pselect6",
	"pselect6_time64",
	"pwrite64",
	"pwritev",
	"pwritev2",
	"read",
	"readahead",
	"readlink",
	"readlinkat",
	"readv",
	"recv",
	"recvfrom",
	"recvmmsg",
	"recvmmsg_time64",
	"recvmsg",
	"remap_file_pages",
	"removexattr",
	"rename",
	"renameat",
	"renameat2",
	"restart_syscall",
	"rmdir",
	"rseq",
	"rt_sigaction",
	"rt_sigpending",
	"rt_sigprocmask",
	"rt_sigqueueinfo",
	"rt_sigreturn",
	"rt_sigsuspend",
	"rt_sigtimedwait",
	"rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo",
	"sched_getaffinity",
	"sched_getattr",
	"sched_getparam",
	"sched_get_priority_max",
	"sched_get_priority_min",
	"sched_getscheduler",
	"sched_rr_get_interval",
	"sched_rr_get_interval_time64",
	"sched_setaffinity",
	"sched_setattr",
	"sched_setparam",
	"sched_setscheduler",
	"sched_yield",
	"seccomp",
	"select",
	"semctl",
	"semget",
	"semop",
	"semtimedop",
	"semtimedop_time64",
	"send",
	"sendfile",
	"sendfile64",
	"sendmmsg",
	"sendmsg",
	"sendto",
	"setfsgid",
	"setfsgid32",
	"setfsuid",
	"setfsuid32",
	"setgid",
	"setgid32",
	"setgroups",
	"setgroups32",
	"setitimer",
	"setpgid",
	"setpriority",
	"setregid",
	"setregid32",
	"setresgid",
	"setresgid32",
	"setresuid",
	"setresuid32",
	"setreuid",
	"setreuid32",
	"setrlimit",
	"set_robust_list",
	"setsid",
	"setsockopt",
	"set_thread_area",
	"set_tid_address",
	"setuid",
	"setuid32",
	"setxattr",
	"shmat",
	"shmctl",
	"shmdt",
	"shmget",
	"shutdown",
	"sigaltstack",
	"signalfd",
	"signalfd4",
	"sigprocmask",
	"sigreturn",
	"socket",
	"socketcall",
	"socketpair",
	"splice",
	"stat",
	"stat64",
	"statfs",
	"statfs64",
	"statx",
	"symlink",
	"symlinkat",
	"sync",
	"sync_file_range",
	"syncfs",
	"sysinfo",
	"tee",
	"tgkill",
	"time",
	"timer_create",
	"timer_delete",
	"timer_getoverrun",
	"timer_gettime",
	"timer_gettime64",
	"timer_settime",
	"timer_settime64",
	"timerfd_create",
	"timerfd_gettime",
	"timerfd_gettime64",
	"timerfd_settime",
	"timerfd_settime64",
	"times",
	"tkill",
	"truncate",
	"truncate64",
	"ugetrlimit",
	"umask",
	"uname",
	"unlink",
	"unlinkat",
	"utime",
	"utimensat",
	"utimensat_time64",
	"utimes",
	"vfork",
	"vmsplice",
	"wait4",
	"waitid",
	"waitpid",
	"write",
	"writev",
	NULL,
};

static const struct sc_rule rules[] = {
	{.names = allowed},
	{.names = L("ptrace"), .inc_min_kernel = "4.8"},
	PERSONALITY(0x0),
	PERSONALITY(0x0008),
	PERSONALITY(0x20000),
	PERSONALITY(0x20008),
	PERSONALITY(0xffffffff),
	{.names = L("sync_file_range2"), .inc_arches = L("ppc64le")},
	{.names = L("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush",
		    "set_tls"),
	 .inc_arches = L("arm", "arm64")},
	{.names = L("arch_prctl"), .inc_arches = L("amd64", "x32")},
	{.names = L("modify_ldt"), .inc_arches = L("amd64", "x32", "x86")},
	{.names = L("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
	 .inc_arches = L("s390", "s390x")},
	{.names = L("open_by_handle_at"), .inc_caps = L("CAP_DAC_READ_SEARCH")},
	{.names = L("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
		    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
		    "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
		    "umount", "umount2", "unshare"),
	 .inc_caps = L("CAP_SYS_ADMIN")},
	{.names = L("clone"),
	 .nargs = 1,
	 .args = {{0, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ"}},
	 .exc_caps = L("CAP_SYS_ADMIN"),
	 .exc_arches = L("s390", "s390x")},
	{.names = L("clone"),
	 .nargs = 1,
	 .args = {{1, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ"}},
	 .comment = "s390 parameter ordering for clone is different",
	 .inc_arches = L("s390", "s390x"),
	 .exc_caps = L("CAP_SYS_ADMIN")},
	/* clone3 cannot be filtered on its flags (they are behind a pointer):
	 * make it fail with ENOSYS so libc falls back to clone. */
	{.names = L("clone3"),
	 .action = "SCMP_ACT_ERRNO",
	 .errno_ret = 38 /* ENOSYS */,
	 .exc_caps = L("CAP_SYS_ADMIN")},
	{.names = L("reboot"), .inc_caps = L("CAP_SYS_BOOT")},
	{.names = L("chroot"), .inc_caps = L("CAP_SYS_CHROOT")},
	{.names = L("delete_module", "init_module", "finit_module"), .inc_caps = L("CAP_SYS_MODULE")},
	{.names = L("acct"), .inc_caps = L("CAP_SYS_PACCT")},
	{.names = L("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"),
	 .inc_caps = L("CAP_SYS_PTRACE")},
	{.names = L("iopl", "ioperm"), .inc_caps = L("CAP_SYS_RAWIO")},
	{.names = L("settimeofday", "stime", "clock_settime"), .inc_caps = L("CAP_SYS_TIME")},
	{.names = L("vhangup"), .inc_caps = L("CAP_SYS_TTY_CONFIG")},
	{.names = L("get_mempolicy", "mbind", "set_mempolicy"), .inc_caps = L("CAP_SYS_NICE")},
	{.names = L("syslog"), .inc_caps = L("CAP_SYSLOG")},
};

/* archMap: native arch -> the sub-architectures its processes may use. */
static const struct {
	const char *arch;
	const char *const *sub;
} arch_map[] = {
	{"SCMP_ARCH_X86_64", L("SCMP_ARCH_X86", "SCMP_ARCH_X32")},
	{"SCMP_ARCH_AARCH64", L("SCMP_ARCH_ARM")},
	{"SCMP_ARCH_MIPS64", L("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32")},
	{"SCMP_ARCH_MIPS64N32", L("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64")},
	{"SCMP_ARCH_MIPSEL64", L("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32")},
	{"SCMP_ARCH_MIPSEL64N32", L("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64")},
	{"SCMP_ARCH_S390X", L("SCMP_ARCH_S390")},
};

static json_t *strlist(const char *const *l)
{
	json_t *a = json_array();
	for (size_t i = 0; l && l[i]; i++)
		json_array_append_new(a, json_string(l[i]));
	return a;
}

static json_t *filter(const char *const *caps, const char *const *arches, const char *min_kernel)
{
	json_t *o = json_object();
	if (caps)
		json_object_set_new(o, "caps", strlist(caps));
	if (arches)
		json_object_set_new(o, "arches", strlist(arches));
	if (min_kernel)
		json_object_set_new(o, "minKernel", json_string(min_kernel));
	return o;
}

json_t *berth_seccomp_default_profile(void)
{
	json_t *p = json_object();
	json_object_set_new(p, "defaultAction", json_string("SCMP_ACT_ERRNO"));
	json_t *am = json_array();
	for (size_t i = 0; i < sizeof(arch_map) / sizeof(arch_map[0]); i++)
		json_array_append_new(am, json_pack("{s:s, s:o}", "architecture", arch_map[i].arch, "subArchitectures",
						    strlist(arch_map[i].sub)));
	json_object_set_new(p, "archMap", am);
	json_t *calls = json_array();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct sc_rule *r = &rules[i];
		json_t *c = json_object();
		json_object_set_new(c, "names", strlist(r->names));
		json_object_set_new(c, "action", json_string(r->action ? r->action : "SCMP_ACT_ALLOW"));
		if (r->errno_ret)
			json_object_set_new(c, "errnoRet", json_integer(r->errno_ret));
		json_t *args = json_array();
		for (int k = 0; k < r->nargs; k++)
			json_array_append_new(args,
					      json_pack("{s:I, s:I, s:s}", "index", (json_int_t)r->args[k].index,
							"value", (json_int_t)r->args[k].value, "op", r->args[k].op));
		json_object_set_new(c, "args", args);
		json_object_set_new(c, "comment", json_string(r->comment ? r->comment : ""));
		json_object_set_new(c, "includes", filter(r->inc_caps, r->inc_arches, r->inc_min_kernel));
		json_object_set_new(c, "excludes", filter(r->exc_caps, r->exc_arches, NULL));
		json_array_append_new(calls, c);
	}
	json_object_set_new(p, "syscalls", calls);
	return p;
}
