#!/usr/bin/env bash
# Install the Debian packages whose commands are missing: ensure-debian-packages.sh CMD=PKG ...
# Used by the Makefile so that `make dist` and `make test` work on a fresh machine.
set -euo pipefail
missing=()
for pair in "$@"; do
  cmd=${pair%%=*}; pkg=${pair#*=}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing Debian packages: ${missing[*]}" >&2
  echo "  fix: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A stale package list (or none on a fresh machine) makes install fail; refresh once.
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
