#!/usr/bin/env bash
# Make sure XeLaTeX, latexmk, the GNU FreeFont fonts and pdftotext are installed for `make pdf`
# (Debian's packages, installed where this machine allows it; see ensure_debian_packages.sh).
APT_FLAGS=--no-install-recommends exec bash "$(dirname "$0")/ensure_debian_packages.sh" "make pdf" \
  "command -v xelatex && command -v latexmk && command -v pdftotext && fc-list | grep -q FreeSerif" \
  texlive-xetex texlive-latex-extra texlive-fonts-recommended latexmk fonts-freefont-otf poppler-utils
