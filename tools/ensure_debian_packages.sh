#!/usr/bin/env bash
# Install Debian packages a make target needs, where this machine allows it (as root, or with
# password-less sudo); otherwise fail at once with the one command to run, before any long stage.
#
# Usage: [APT_FLAGS=...] ensure_debian_packages.sh "WHAT THEY ARE FOR" "CHECK COMMAND" PACKAGE...
# Does nothing when CHECK COMMAND succeeds. Used by ensure_chromium.sh and ensure_tex.sh.
set -euo pipefail
purpose=$1; check=$2; shift 2
if bash -c "$check" >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$purpose needs the Debian packages $*, and this is not a Debian/Ubuntu system:" >&2
  echo "install their equivalents with your package manager, then run it again." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "$purpose needs Debian packages. Install them once with:" >&2
  echo "    sudo apt-get install -y ${APT_FLAGS:-}$([ -n "${APT_FLAGS:-}" ] && echo ' ')$*" >&2
  exit 1
fi
echo "== installing $* (Debian packages) for $purpose"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ${APT_FLAGS:-} "$@" >/dev/null
bash -c "$check" >/dev/null 2>&1
