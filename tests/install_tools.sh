#!/usr/bin/env bash
# Installs the system programs some tests drive, from Debian's packages, when they are missing:
#   chromium  the example web apps' end-to-end tests (tests/webapps), driven over its DevTools
#             pipe (no chromedriver, no Playwright browser download);
#   tmux      the interactive shell's terminal tests (tests/cli/test_cli_terminal.py);
#   java      a headless JRE 17+ for the local Spark of the Spark data source tests
#             (tests/spark): Debian's openjdk-17 (bookworm) or openjdk-21 (trixie).
# Does nothing when all are there. Needs root (or sudo) for apt-get.
#
#   bash tests/install_tools.sh
set -euo pipefail

packages=()
if ! { [ -n "${O365SQL_CHROMIUM:-}" ] && [ -x "${O365SQL_CHROMIUM}" ]; } \
   && ! [ -x /usr/lib/chromium/chromium ] && ! command -v chromium >/dev/null 2>&1; then
    # fonts-liberation keeps text in screenshots readable.
    packages+=(chromium fonts-liberation)
fi
command -v tmux >/dev/null 2>&1 || packages+=(tmux)
need_java=0
command -v java >/dev/null 2>&1 || need_java=1
[ ${#packages[@]} -eq 0 ] && [ $need_java -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_tools.sh: no apt-get here; install ${packages[*]} (chromium: or set O365SQL_CHROMIUM)" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ $need_java -eq 1 ]; then
    # The JRE package this Debian release offers (17 on bookworm, 21 on trixie).
    for jre in openjdk-17-jre-headless openjdk-21-jre-headless openjdk-25-jre-headless; do
        if apt-cache show "$jre" >/dev/null 2>&1; then
            packages+=("$jre")
            break
        fi
    done
fi
# Recommends would add desktop pieces (mesa, udev, printing) a headless test never uses.
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install_tools.sh: installed ${packages[*]}"
