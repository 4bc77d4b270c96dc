#!/usr/bin/env python3
"""Writes the seccomp program the learner's jailed shell runs under (libseccomp, via Debian's
python3-seccomp). Used by server/terminal/jail.ts as `bwrap --seccomp FD`.

A deny list in the spirit of the container runtimes' default profile (Docker, containerd): what
a shell, kubectl, vim and python need stays allowed; what only serves to reach the kernel's
less-travelled paths, other namespaces, the clock, modules, keyrings or other processes' memory
is refused with EPERM. The jail has no capabilities, so most of these would fail anyway: the
filter takes the kernel code behind them out of reach as well.

usage: seccomp-filter.py OUTPUT_FILE
"""
import errno
import sys
import termios

import seccomp

TIOCLINUX = 0x541C
# Namespace flags of clone(2): a new user namespace would give the shell capabilities inside it.
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME = 0x10000000, 0x20000000, 0x40000000, 0x00000080
# personality(2) bits that turn off address-space randomisation or make data executable.
ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC = 0x0040000, 0x0400000

DENIED = [
    # accounting, clock, reboot, swap, quotas, kernel modules and kexec
    "acct", "clock_adjtime", "clock_settime", "settimeofday", "stime", "adjtimex", "reboot",
    "swapon", "swapoff", "quotactl", "quotactl_fd", "create_module", "init_module", "finit_module",
    "delete_module", "get_kernel_syms", "query_module", "kexec_load", "kexec_file_load",
    # namespaces and mounts (the new mount API included)
    "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot", "open_tree",
    "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # kernel keyrings, BPF, perf, io_uring, userfaultfd
    "add_key", "request_key", "keyctl", "bpf", "perf_event_open", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "userfaultfd", "fanotify_init",
    # other processes' memory and file handles that bypass paths
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "name_to_handle_at",
    "open_by_handle_at", "lookup_dcookie",
    # NUMA placement, I/O ports, obsolete and legacy calls
    "mbind", "set_mempolicy", "move_pages", "migrate_pages", "ioperm", "iopl", "nfsservctl",
    "sysfs", "_sysctl", "uselib", "ustat", "vm86", "vm86old", "syslog", "vhangup",
]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: seccomp-filter.py OUTPUT_FILE")
    program = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        try:
            program.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError):
            pass  # not a system call on this architecture
    for flag in (CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME):
        program.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory, where a filter cannot look: ENOSYS makes the C library
    # fall back to clone(2), whose flags are checked above (as the container runtimes do).
    program.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for bit in (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC):
        program.add_rule(seccomp.ERRNO(errno.EPERM), "personality", seccomp.Arg(0, seccomp.MASKED_EQ, bit, bit))
    for request in (termios.TIOCSTI, TIOCLINUX):
        # Keystroke injection into a terminal. The request is an int: compare the low 32 bits only, as the kernel does.
        program.add_rule(seccomp.ERRNO(errno.EPERM), "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, request))
    with open(sys.argv[1], "wb") as out:
        program.export_bpf(out)


if __name__ == "__main__":
    main()
