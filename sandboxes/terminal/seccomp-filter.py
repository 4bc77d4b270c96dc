#!/usr/bin/env python3
"""Writes the seccomp program the learner's jailed shell runs under (libseccomp, via Debian's
python3-seccomp): everything is allowed except ioctl TIOCSTI and TIOCLINUX, which could push
keystrokes into a terminal. Used by server/terminal/jail.ts as `bwrap --seccomp FD`.

usage: seccomp-filter.py OUTPUT_FILE
"""
import errno
import sys
import termios

import seccomp

TIOCLINUX = 0x541C

def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: seccomp-filter.py OUTPUT_FILE")
    program = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for request in (termios.TIOCSTI, TIOCLINUX):
        # The request is an int: compare the low 32 bits only, as the kernel does.
        program.add_rule(seccomp.ERRNO(errno.EPERM), "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, request))
    with open(sys.argv[1], "wb") as out:
        program.export_bpf(out)

if __name__ == "__main__":
    main()
