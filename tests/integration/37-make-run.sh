#!/bin/bash
# `sudo make run` works from a checkout owned by an ordinary user: the
# shipped config there is not root-owned, so pinnerd refuses it as such
# (as sshd would), and make run stages a root-owned copy instead of
# weakening the check. Ctrl-C stops the daemon.
. "$(dirname "$0")/lib.sh"
need_root
TOP=$(cd "$HERE/../.." && pwd)
command -v git >/dev/null && git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1 || skip "needs a git checkout to copy the tracked files from"

SRC=$T/src
mkdir "$SRC"
(cd "$TOP" && git ls-files -z -co --exclude-standard | xargs -0 cp -d --parents -t "$SRC") || fail "copying the checkout"
chown -R 65534:65534 "$SRC"

out=$("$PINNERD" --check --config "$SRC/conf/pinnerd.conf" --config-dir "$T/d" 2>&1)
rc=$?
expect_eq "$rc" 1 "pinnerd --check on a config owned by uid 65534"
case $out in *"not owned by root"* | *"owned by uid 65534"* | *refus*) ok "refused: $out" ;;
*) fail "refusal does not say why: $out" ;; esac

# make run, with the binaries already built (-o: do not rebuild them here).
timeout -s INT 4 make -C "$SRC" --no-print-directory -o run-deps -o all -o "$BUILD/pinnerd" run \
        BUILD="$BUILD" PINNERD_SOCKET="$T/run.sock" PINNERD_LOG_TARGET=stderr >"$T/run.out" 2>&1
cat "$T/run.out"
grep -q "event=started" "$T/run.out" || fail "make run did not start pinnerd"
grep -q "received SIGINT, stopping" "$T/run.out" || fail "pinnerd did not stop on SIGINT"
grep -q "event=stopping" "$T/run.out" || fail "no stopping record"
ls -d /tmp/pinnerd-run.* 2>/dev/null && fail "make run left its staging directory behind"
ok "make run from a checkout owned by uid 65534"
