#!/usr/bin/env bash
# System packages the tests need (Debian): chromium for the browser test, LaTeX for the report build.
# Installs only what is missing; needs root (CI and the dev machines run as root).
set -euo pipefail
want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
if [ "${1:-all}" = "report" ] || [ "${1:-all}" = "all" ]; then
  command -v latexmk >/dev/null 2>&1 || want+=(latexmk)
  kpsewhich booktabs.sty >/dev/null 2>&1 || want+=(texlive-latex-recommended)  # booktabs, beamer, fancyvrb, caption
  kpsewhich pgfmath.sty >/dev/null 2>&1 || want+=(texlive-pictures)  # pgf, which beamer is built on
  kpsewhich pplr8t.tfm >/dev/null 2>&1 || want+=(texlive-fonts-recommended)  # Palatino, txtt: Type 1 fonts
  command -v pdftotext >/dev/null 2>&1 || want+=(poppler-utils)
fi
if [ ${#want[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_system.sh: missing Debian packages: ${want[*]} (run as root or install them)" >&2
  exit 1
fi
echo "installing Debian packages: ${want[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
