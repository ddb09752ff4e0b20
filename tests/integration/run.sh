#!/bin/sh
# Runs every tests/integration/N-*.sh (10-*.sh ... 113-*.sh) against the built binaries.
# Each test exits 0 (pass), 77 (skip: its last output line says why) or
# anything else (fail). Usage: run.sh BUILD_DIR [TEST...]
set -u
BUILD=${1:?usage: run.sh BUILD_DIR [TEST...]}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
export BUILD HERE
pass=0 fail=0 skip=0 failed=""
# Every NN-name.sh, whatever the number of digits (100-*.sh too), in
# numeric order.
if [ $# -gt 0 ]; then
        tests="$*"
else
        tests=$(ls "$HERE" | grep -E '^[0-9]+-.*\.sh$' | sort -n | sed "s|^|$HERE/|")
fi
for t in $tests; do
        name=$(basename "$t" .sh)
        out=$(mktemp /tmp/pinnerd-it-out.XXXXXX)
        start=$(date +%s.%N)
        bash "$t" >"$out" 2>&1
        rc=$?
        secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        case $rc in
        0) pass=$((pass + 1)); printf 'PASS  %-32s (%ss)\n' "$name" "$secs" ;;
        77) skip=$((skip + 1)); echo "SKIP  $name: $(grep -v '^$' "$out" | tail -n 1)" ;;
        *) fail=$((fail + 1)); failed="$failed $name"; echo "FAIL  $name (exit $rc)"; sed 's/^/      | /' "$out" | tail -n 60 ;;
        esac
        rm -f "$out"
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ -n "$failed" ] && echo "failed:$failed"
[ $fail -eq 0 ]
