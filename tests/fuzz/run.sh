#!/bin/sh
# Build the libFuzzer harnesses into BUILD_DIR/fuzz and run each for a bounded
# time on a scratch copy of its seed corpus (one input over 60 s is a
# failure). Usage: run.sh BUILD_DIR
# FUZZ_SECONDS (default 20) bounds each run; FUZZ_CC picks the compiler;
# FUZZ_SEED fixes libFuzzer's seed (CI=true: 1, so a red run can be replayed;
# otherwise a new one each run, to look further).
# Exit 0 when every harness ran clean or fuzzing cannot run here (the reason
# is printed), 1 on a crash or a build failure. Crash inputs stay in
# BUILD_DIR/fuzz/ so they can be replayed: BUILD_DIR/fuzz/fuzz_config FILE.
set -eu

build=${1:-build}
secs=${FUZZ_SECONDS:-20}
cc=${FUZZ_CC:-clang}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
out=$build/fuzz

if ! command -v "$cc" >/dev/null 2>&1; then
        echo "fuzz: SKIP: $cc not found (Debian: apt-get install clang libclang-rt-dev)"
        exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pinnerd-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The fuzzer runtime is a separate package on Debian; probe for it.
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void) d; (void) n; return 0; }\n' >"$tmp/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$tmp/probe.c" -o "$tmp/probe" 2>"$tmp/probe.err"; then
        echo "fuzz: SKIP: $cc cannot link a libFuzzer program (libclang-rt-dev missing?): $(head -n 1 "$tmp/probe.err")"
        exit 0
fi
if ! inih=$(pkg-config --cflags --libs inih 2>/dev/null); then
        echo "fuzz: FAIL: pkg-config does not find inih (apt-get install libinih-dev)"
        exit 1
fi

mkdir -p "$out"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -std=gnu11 -Wall -I$top/daemon"
d=$top/daemon
build_one() { # name sources...
        name=$1
        shift
        # shellcheck disable=SC2086 # word splitting of the flag lists is intended
        if ! "$cc" $cflags -o "$out/$name" "$top/tests/fuzz/$name.c" "$@" $inih 2>"$tmp/$name.build"; then
                cat "$tmp/$name.build" >&2
                echo "fuzz: FAIL: cannot build $name"
                exit 1
        fi
}
build_one fuzz_cpulist "$d/lib/cpuset.c" "$d/lib/util.c"
# The config loader and what it stands on: rules/, kernel/ (host terms), lib/.
build_one fuzz_config "$d"/rules/conf*.c "$d/rules/cpuspec.c" "$d/rules/execmark.c" "$d/rules/match.c" \
        "$d/lib/cpuset.c" "$d/lib/util.c" "$d/lib/output.c" "$d/lib/ere.c" "$d/lib/suggest.c" \
        "$d/kernel/host.c" "$d/kernel/topology.c" "$d/kernel/partitions.c" "$d/kernel/schedpolicy.c" "$d/kernel/procfs.c"
build_one fuzz_ctlproto "$d/ctl/ctlproto.c" "$d/lib/util.c"
build_one fuzz_ere "$d/lib/ere.c" "$d/lib/util.c"

seed=${FUZZ_SEED:-}
[ -z "$seed" ] && [ "${CI:-}" = true ] && seed=1
seedopt=${seed:+-seed=$seed}

status=0
for h in cpulist config ctlproto ere; do
        corpus=$tmp/corpus-$h
        mkdir -p "$corpus"
        cp "$top/tests/fuzz/seeds/$h/"* "$corpus/"
        if "$out/fuzz_$h" -max_total_time="$secs" $seedopt -timeout=60 -print_final_stats=1 -max_len=8192 \
                -artifact_prefix="$out/crash-$h-" "$corpus" >"$tmp/$h.log" 2>&1; then
                execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$h.log")
                echo "fuzz: $h: ${execs:-?} executions in ${secs}s, $(find "$corpus" -type f | wc -l) corpus inputs, no crash"
        else
                tail -n 40 "$tmp/$h.log" >&2
                echo "fuzz: FAIL: $h crashed${seed:+ (seed $seed)}; input saved as $out/crash-$h-*"
                status=1
        fi
done
exit $status
