#!/bin/sh
# Installs the Debian packages kubedojo needs, once:
#   terminal: bubblewrap, socat, python3-seccomp (the jailed shell), vim, nano and
#             python3-kubernetes (tools learners use in it)
#   real node (as root only: a real node needs root): containerd, runc, the CNI plugins,
#             iptables, conntrack (kube-proxy), busybox-static, mmdebstrap, gcc (offline images)
#   tests:    the above, chromium (browser tests) and postgresql (the database suites run on
#             SQLite and on a throwaway PostgreSQL server); as root skopeo and docker-registry
#             (kubedojo images push, and a registry on loopback to push to)
# As root it installs them with apt-get; otherwise it names the command to run.
# usage: system-deps.sh start|test   (start: a missing package is a warning, not an error)
set -eu
mode=${1:-test}

missing=""
need() { # need PACKAGE TEST-COMMAND...
  pkg=$1; shift
  "$@" >/dev/null 2>&1 || missing="$missing $pkg"
}
need bubblewrap command -v bwrap
need socat command -v socat
need vim command -v vim
need nano command -v nano
need python3-seccomp /usr/bin/python3 -c 'import seccomp'
need python3-kubernetes /usr/bin/python3 -c 'import kubernetes'
[ "$mode" = test ] && need chromium test -x /usr/bin/chromium
[ "$mode" = test ] && need postgresql sh -c 'ls /usr/lib/postgresql/*/bin/initdb'
if [ "$(id -u)" -eq 0 ] && [ "${KUBEDOJO_REAL_NODE:-auto}" != off ]; then
  need containerd command -v containerd
  need runc test -x /usr/sbin/runc
  need containernetworking-plugins test -x /usr/lib/cni/bridge
  need iptables test -x /usr/sbin/iptables
  need conntrack test -x /usr/sbin/conntrack
  need busybox-static test -x /bin/busybox
  need mmdebstrap command -v mmdebstrap
  need gcc command -v gcc
  need libc6-dev test -f /usr/lib/x86_64-linux-gnu/libc.a -o -f /usr/lib/aarch64-linux-gnu/libc.a
  if [ "$mode" = test ]; then
    need skopeo command -v skopeo
    need docker-registry command -v docker-registry
  fi
fi

[ -z "$missing" ] && exit 0

fail() {
  if [ "$mode" = start ]; then
    echo "kubedojo: warning: $1 (the browser terminal will not work until then)" >&2
    exit 0
  fi
  echo "kubedojo: $1" >&2
  exit 2
}
if [ "$(id -u)" -ne 0 ]; then
  fail "these Debian packages are needed:$missing; install them with: sudo apt-get update && sudo apt-get install -y$missing"
fi
command -v apt-get >/dev/null 2>&1 || fail "these packages are needed:$missing, and this system has no apt-get"
echo "kubedojo: installing$missing (apt-get, once)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null
