#!/usr/bin/env bash
# Installs the browser of the example web apps' end-to-end tests (tests/webapps): Debian's
# chromium, driven by the tests over its DevTools pipe (no chromedriver, no Playwright browser
# download). Does nothing when a chromium is already there. Needs root (or sudo) for apt-get.
#
#   bash tests/webapps/install_browser.sh
set -euo pipefail

if [ -n "${O365SQL_CHROMIUM:-}" ] && [ -x "${O365SQL_CHROMIUM}" ]; then
    exit 0
fi
if [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: no apt-get here; install chromium and set O365SQL_CHROMIUM" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Recommends would add desktop pieces (mesa, udev, printing) a headless test never uses;
# fonts-liberation keeps text in screenshots readable.
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
/usr/lib/chromium/chromium --version 2>/dev/null || chromium --version
