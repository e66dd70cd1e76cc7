"""Syscall names by number, for fields whose role is ``syscall`` (syscount's key).

The x86_64 table (the kernel's ``arch/x86/entry/syscalls/syscall_64.tbl``, up to Linux 6.18), as
the Hub's syscount README lists it: the one copy in the code, which other modules import. 335-423
are unused on x86_64; x32 numbers (512-547, or with bit 30 set) are not named. On another
machine numbers have other meanings, so none is named there.
"""

from __future__ import annotations

import os
from functools import cache

# fmt: off
# 0-334, in order; each line's comment is its first number
_X86_64_LOW = (
    "read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "mmap",  # 0
    "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl",  # 10
    "pread64", "pwrite64", "readv", "writev", "access", "pipe", "select", "sched_yield",  # 17
    "mremap", "msync", "mincore", "madvise", "shmget", "shmat", "shmctl", "dup", "dup2",  # 25
    "pause", "nanosleep", "getitimer", "alarm", "setitimer", "getpid", "sendfile", "socket",  # 34
    "connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "bind",  # 42
    "listen", "getsockname", "getpeername", "socketpair", "setsockopt", "getsockopt", "clone",  # 50
    "fork", "vfork", "execve", "exit", "wait4", "kill", "uname", "semget", "semop", "semctl",  # 57
    "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl", "fcntl", "flock", "fsync", "fdatasync",  # 67
    "truncate", "ftruncate", "getdents", "getcwd", "chdir", "fchdir", "rename", "mkdir",  # 76
    "rmdir", "creat", "link", "unlink", "symlink", "readlink", "chmod", "fchmod", "chown",  # 84
    "fchown", "lchown", "umask", "gettimeofday", "getrlimit", "getrusage", "sysinfo", "times",  # 93
    "ptrace", "getuid", "syslog", "getgid", "setuid", "setgid", "geteuid", "getegid",  # 101
    "setpgid", "getppid", "getpgrp", "setsid", "setreuid", "setregid", "getgroups",  # 109
    "setgroups", "setresuid", "getresuid", "setresgid", "getresgid", "getpgid", "setfsuid",  # 116
    "setfsgid", "getsid", "capget", "capset", "rt_sigpending", "rt_sigtimedwait",  # 123
    "rt_sigqueueinfo", "rt_sigsuspend", "sigaltstack", "utime", "mknod", "uselib",  # 129
    "personality", "ustat", "statfs", "fstatfs", "sysfs", "getpriority", "setpriority",  # 135
    "sched_setparam", "sched_getparam", "sched_setscheduler", "sched_getscheduler",  # 142
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "mlock",  # 146
    "munlock", "mlockall", "munlockall", "vhangup", "modify_ldt", "pivot_root", "_sysctl",  # 150
    "prctl", "arch_prctl", "adjtimex", "setrlimit", "chroot", "sync", "acct", "settimeofday",  # 157
    "mount", "umount2", "swapon", "swapoff", "reboot", "sethostname", "setdomainname",  # 165
    "iopl", "ioperm", "create_module", "init_module", "delete_module", "get_kernel_syms",  # 172
    "query_module", "quotactl", "nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall",  # 178
    "security", "gettid", "readahead", "setxattr", "lsetxattr", "fsetxattr", "getxattr",  # 185
    "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",  # 192
    "lremovexattr", "fremovexattr", "tkill", "time", "futex", "sched_setaffinity",  # 198
    "sched_getaffinity", "set_thread_area", "io_setup", "io_destroy", "io_getevents",  # 204
    "io_submit", "io_cancel", "get_thread_area", "lookup_dcookie", "epoll_create",  # 209
    "epoll_ctl_old", "epoll_wait_old", "remap_file_pages", "getdents64", "set_tid_address",  # 214
    "restart_syscall", "semtimedop", "fadvise64", "timer_create", "timer_settime",  # 219
    "timer_gettime", "timer_getoverrun", "timer_delete", "clock_settime", "clock_gettime",  # 224
    "clock_getres", "clock_nanosleep", "exit_group", "epoll_wait", "epoll_ctl", "tgkill",  # 229
    "utimes", "vserver", "mbind", "set_mempolicy", "get_mempolicy", "mq_open", "mq_unlink",  # 235
    "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr", "kexec_load", "waitid",  # 242
    "add_key", "request_key", "keyctl", "ioprio_set", "ioprio_get", "inotify_init",  # 248
    "inotify_add_watch", "inotify_rm_watch", "migrate_pages", "openat", "mkdirat", "mknodat",  # 254
    "fchownat", "futimesat", "newfstatat", "unlinkat", "renameat", "linkat", "symlinkat",  # 260
    "readlinkat", "fchmodat", "faccessat", "pselect6", "ppoll", "unshare", "set_robust_list",  # 267
    "get_robust_list", "splice", "tee", "sync_file_range", "vmsplice", "move_pages",  # 274
    "utimensat", "epoll_pwait", "signalfd", "timerfd_create", "eventfd", "fallocate",  # 280
    "timerfd_settime", "timerfd_gettime", "accept4", "signalfd4", "eventfd2",  # 286
    "epoll_create1", "dup3", "pipe2", "inotify_init1", "preadv", "pwritev",  # 291
    "rt_tgsigqueueinfo", "perf_event_open", "recvmmsg", "fanotify_init", "fanotify_mark",  # 297
    "prlimit64", "name_to_handle_at", "open_by_handle_at", "clock_adjtime", "syncfs",  # 302
    "sendmmsg", "setns", "getcpu", "process_vm_readv", "process_vm_writev", "kcmp",  # 307
    "finit_module", "sched_setattr", "sched_getattr", "renameat2", "seccomp", "getrandom",  # 313
    "memfd_create", "kexec_file_load", "bpf", "execveat", "userfaultfd", "membarrier",  # 319
    "mlock2", "copy_file_range", "preadv2", "pwritev2", "pkey_mprotect", "pkey_alloc",  # 325
    "pkey_free", "statx", "io_pgetevents", "rseq",  # 331
)
# 424-469, in order
_X86_64_HIGH = (
    "pidfd_send_signal", "io_uring_setup", "io_uring_enter", "io_uring_register",  # 424
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "pidfd_open",  # 428
    "clone3", "close_range", "openat2", "pidfd_getfd", "faccessat2", "process_madvise",  # 435
    "epoll_pwait2", "mount_setattr", "quotactl_fd", "landlock_create_ruleset",  # 441
    "landlock_add_rule", "landlock_restrict_self", "memfd_secret", "process_mrelease",  # 445
    "futex_waitv", "set_mempolicy_home_node", "cachestat", "fchmodat2", "map_shadow_stack",  # 449
    "futex_wake", "futex_wait", "futex_requeue", "statmount", "listmount",  # 454
    "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules", "mseal", "setxattrat",  # 459
    "getxattrat", "listxattrat", "removexattrat", "open_tree_attr", "file_getattr",  # 464
    "file_setattr",  # 469
)
# fmt: on
_HIGH_BASE = 424


@cache
def syscall_names(machine: str = "") -> dict[int, str]:
    """Number -> name on ``machine`` (``os.uname().machine`` by default); empty where lmp
    carries no table."""
    if (machine or os.uname().machine) != "x86_64":
        return {}
    names = dict(enumerate(_X86_64_LOW))
    names.update(enumerate(_X86_64_HIGH, _HIGH_BASE))
    return names


def syscall_name(number: int, machine: str = "") -> str:
    """``getppid`` for 110 on x86_64; the number as digits when unknown."""
    return syscall_names(machine).get(number, str(number))


def syscall_number(name: str, machine: str = "") -> int | None:
    """The number of ``name`` (``getppid``, or ``sys_getppid``), or None."""
    wanted = name.strip().lower().removeprefix("sys_")
    for number, known in syscall_names(machine).items():
        if known == wanted:
            return number
    return None
