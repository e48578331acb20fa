#!/usr/bin/env bash
# Installs Debian packages whose command is missing. Usage: scripts/apt-install.sh COMMAND=PACKAGE ...
# (make test: chromium for the browser tests, promtool from prometheus; make bench: wrk, the native load generator)
set -euo pipefail
missing=""
for pair in "$@"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 || missing="$missing ${pair#*=}"
done
[ -z "$missing" ] && exit 0
echo "== installing Debian packages:$missing"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# A machine whose package lists are missing or stale gets them once, then the install is tried again.
$SUDO apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 \
  || { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y --no-install-recommends $missing >/dev/null; }
