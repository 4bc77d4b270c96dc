#!/bin/sh
# Installs the system packages the test suite needs (Debian's Chromium for the browser tests),
# once. As root it installs them with apt-get; otherwise it names the command to run.
set -eu

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "kubedojo: the tests need these Debian packages:$missing" >&2
  echo "          install them with: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "kubedojo: the tests need$missing, and this system has no apt-get; install it and re-run" >&2
  exit 2
fi
echo "kubedojo: installing$missing (apt-get, once)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null
