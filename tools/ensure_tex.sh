#!/usr/bin/env bash
# Make sure XeLaTeX, latexmk, the GNU FreeFont fonts and pdftotext are installed for `make pdf`.
# Installs Debian's packages where it can (as root, or with password-less sudo); otherwise fails at
# once with the one command to run.
set -euo pipefail
PACKAGES="texlive-xetex texlive-latex-extra texlive-fonts-recommended latexmk fonts-freefont-otf poppler-utils"
if command -v xelatex >/dev/null 2>&1 && command -v latexmk >/dev/null 2>&1 \
   && command -v pdftotext >/dev/null 2>&1 && fc-list 2>/dev/null | grep -q FreeSerif; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "make pdf needs XeLaTeX, latexmk, GNU FreeFont and pdftotext, and this is not a Debian/Ubuntu system:" >&2
  echo "install them with your package manager, then run make pdf again." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "make pdf needs TeX. Install it once with:" >&2
  echo "    sudo apt-get install -y --no-install-recommends $PACKAGES" >&2
  exit 1
fi
echo "== installing XeLaTeX and fonts (Debian packages, about 2 minutes) for make pdf"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
command -v xelatex >/dev/null 2>&1
