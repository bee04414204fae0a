#!/usr/bin/env bash
# Make sure headless Chromium is on PATH for the site and JupyterLab checks of `make test`.
# Installs Debian's `chromium` package where it can (as root, or with password-less sudo);
# otherwise fails at once with the one command to run, before any long test stage starts.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "make test needs headless Chromium for the site checks, and this is not a Debian/Ubuntu system:" >&2
  echo "install Chromium with your package manager so that \`chromium\` is on PATH, then run make test again." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "make test needs headless Chromium for the site checks. Install it once with:" >&2
  echo "    sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "== installing headless Chromium (Debian package 'chromium') for the site checks"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1
