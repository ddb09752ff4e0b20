#!/bin/sh
# tests/bench/tuned-setup.sh: make Debian's TuneD usable for `make bench`.
#
# TuneD's scheduler plugin imports the perf Python binding and python-linux-
# procfs. On Debian 12 the binding comes with linux-perf
# (/usr/lib/python3/dist-packages/perf.*.so), python3-linux-procfs with
# tuned; newer releases may package it as python3-perf. Both are checked with
# /usr/bin/python3, the interpreter tuned runs on (a python3 earlier in PATH,
# e.g. pyenv's, sees neither). Installs with apt-get (as root) only what is
# missing. Exits 0 when TuneD can run its scheduler plugin, 77 with the reason
# on stderr when not.
set -u
say() { printf '%s\n' "tuned-setup: $*" >&2; }
usable() { /usr/bin/python3 -c 'import perf, procfs' 2>/dev/null; }
apt_install() {
        [ "$(id -u)" = 0 ] || { say "not root: cannot install $*"; exit 77; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
                { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
                  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; } ||
                { say "apt-get install $* failed"; exit 77; }
}

[ -x /usr/bin/python3 ] || { say "no /usr/bin/python3"; exit 77; }
command -v tuned >/dev/null 2>&1 || apt_install tuned
command -v tuned >/dev/null 2>&1 || { say "no tuned after installing it"; exit 77; }
usable && exit 0
if apt-cache show python3-perf >/dev/null 2>&1; then
        apt_install python3-perf
else
        apt_install linux-perf python3-linux-procfs
fi
usable || { say "TuneD's scheduler plugin cannot import perf and procfs with /usr/bin/python3"; exit 77; }
exit 0
