#!/usr/bin/env bash
# Make sure headless Chromium is on PATH for the site and JupyterLab checks of `make test`
# (Debian's `chromium`, installed where this machine allows it; see ensure_debian_packages.sh).
exec bash "$(dirname "$0")/ensure_debian_packages.sh" "the site checks of make test" \
  "command -v chromium || command -v chromium-browser" chromium
