#!/bin/bash
# The try-it loop as an administrator meets it: `sudo make run` from a
# checkout owned by an ordinary user, on a private socket; the banner names
# the socket and the rules; an edit of conf/pinnerd.conf, a new drop-in in
# conf/pinnerd.d/ and its removal are each picked up by `pinnerctl reload`; a
# broken drop-in is rejected naming the file as it is in the checkout, and the
# previous rules stay. pinnerd itself still refuses the user's files.
# make run installs only what running needs (RUN_DEPS), not the test tools.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
TOP=$(cd "$HERE/../.." && pwd)
command -v git >/dev/null && git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1 || skip "needs a git checkout to copy the files from"

# ---- what make run would install: the run dependencies, nothing of the tests ----
deps=$(make -s -C "$TOP" --no-print-directory print-deps)
run_deps=$(sed -n 's/^RUN_DEPS=//p' <<<"$deps")
[ -n "$run_deps" ] || fail "print-deps has no RUN_DEPS: $deps"
# (clang is a run dependency: it compiles the BPF drift-event program.)
for p in lintian debhelper check jq python3-prometheus-client; do
        grep -qw -- "$p" <<<"$run_deps" && fail "RUN_DEPS has the test tool $p: $run_deps"
done
for p in gcc libsystemd-dev libinih-dev; do
        grep -qw -- "$p" <<<"$run_deps" || fail "RUN_DEPS lacks $p: $run_deps"
done
make -n -C "$TOP" --no-print-directory run BUILD="$BUILD" | grep -q 'lintian\|debhelper' &&
        fail "make run would install test tools: $(make -n -C "$TOP" run BUILD="$BUILD" | head -n 3)"
ok "make run installs only: $run_deps"

# ---- a checkout of an ordinary user (tracked and new files, as they are) ----
SRC=$T/src
mkdir "$SRC"
(cd "$TOP" && git ls-files -z -co --exclude-standard | xargs -0 cp -d --parents -t "$SRC") || fail "copying the checkout"
chown -R 65534:65534 "$SRC"
a=$(unique_comm a) b=$(unique_comm b)
cp /bin/sleep "$T/$a"
cp /bin/sleep "$T/$b"
"$T/$a" 3600 &
pa=$!
cleanup_add "kill $pa"
"$T/$b" 3600 &
pb=$!
cleanup_add "kill $pb"
wait_until 5 "$a and $b to run" sh -c "[ \"\$(cat /proc/$pa/comm /proc/$pb/comm | tr '\n' ' ')\" = '$a $b ' ]"
orig_b=$(mask "$pb")

RUN_SOCK=$T/run.sock
# Ctrl-C is a SIGINT to the terminal's process group: timeout stands for it.
timeout -s INT 120 make -C "$SRC" --no-print-directory -o run-deps -o all -o "$BUILD/pinnerd" run \
        BUILD="$BUILD" PINNERD_SOCKET="$RUN_SOCK" PINNERD_LOG_TARGET=stderr >"$T/run.out" 2>&1 &
run_pid=$!
cleanup_add "kill -INT $run_pid; wait $run_pid"
wait_until 15 "make run's pinnerd to answer" "$PINNERCTL" --socket "$RUN_SOCK" status
wait_until 5 "the banner's rules" grep -q '^make run: RULE ' "$T/run.out"
cat "$T/run.out"
grep -qF "control socket $RUN_SOCK" "$T/run.out" || fail "the banner does not name the socket"
grep -q '^make run: pinnerd-self .* cpus housekeeping$' "$T/run.out" || fail "the banner does not show the shipped rule"
ok "the banner names the socket and the rules"
run_ctl() { "$PINNERCTL" --socket "$RUN_SOCK" "$@"; }
staged() { [ -n "$(find /tmp -maxdepth 4 -path "/tmp/pinnerd-run.*/$1" -newer "$T/mark" 2>/dev/null)" ]; }
touch_mark() { touch "$T/mark"; sleep 0.05; }

# ---- an edit of conf/pinnerd.conf, then reload ----
touch_mark
printf '\n[rule:it38a]\ncomm = %s\ncpus = 1\n' "$a" >>"$SRC/conf/pinnerd.conf"
wait_until 5 "make run to stage the edit" staged conf/pinnerd.conf
out=$(run_ctl reload 2>&1)
expect_eq "$?" 0 "reload after editing conf/pinnerd.conf: exit status"
grep -q '^reloaded: 2 rules, 1 threads changed, 0 restored$' <<<"$out" || fail "reload said: $out"
expect_eq "$(mask "$pa")" 1 "$a pinned by the edited conf/pinnerd.conf"

# ---- a new drop-in, then reload; a rule matching nothing is named ----
touch_mark
printf '[rule:it38b]\ncomm = %s\ncpus = 1\n[rule:it38-none]\ncomm = %snothing\ncpus = 0\n' "$b" "$b" \
        >"$SRC/conf/pinnerd.d/50-it38.conf"
chown 65534:65534 "$SRC/conf/pinnerd.d/50-it38.conf"
wait_until 5 "make run to stage the new drop-in" staged conf/pinnerd.d/50-it38.conf
out=$(run_ctl reload 2>&1)
expect_eq "$?" 0 "reload after adding a drop-in: exit status"
grep -q '^reloaded: 4 rules, 1 threads changed, 0 restored$' <<<"$out" || fail "reload said: $out"
grep -qx 'rule that matches nothing running: it38-none' <<<"$out" || fail "reload does not name the idle rule: $out"
expect_eq "$(mask "$pb")" 1 "$b pinned by the new drop-in"

# ---- a broken drop-in: rejected, named as in the checkout, old rules stay ----
touch_mark
printf '[rule:it38c]\ncomm = x\ncpu = 1\n' >"$SRC/conf/pinnerd.d/60-broken.conf"
wait_until 5 "make run to stage the broken drop-in" staged conf/pinnerd.d/60-broken.conf
out=$(run_ctl reload 2>&1)
expect_eq "$?" 1 "reload of a broken drop-in: exit status"
grep -qxF "conf/pinnerd.d/60-broken.conf:3: unknown key 'cpu' in [rule:it38c] (did you mean 'cpus'?)" <<<"$out" ||
        fail "reload does not name conf/pinnerd.d/60-broken.conf:3: $out"
expect_eq "$(tail -n 1 <<<"$out")" "kept previous configuration" "reload of a broken drop-in: last line"
expect_eq "$(mask "$pb")" 1 "$b keeps its rule after the rejected reload"

# ---- the drop-ins removed: reload restores ----
rm -f "$SRC/conf/pinnerd.d/50-it38.conf" "$SRC/conf/pinnerd.d/60-broken.conf"
wait_until 5 "make run to drop the removed drop-ins" sh -c "! ls /tmp/pinnerd-run.*/conf/pinnerd.d/*.conf >/dev/null 2>&1"
out=$(run_ctl reload 2>&1)
expect_eq "$?" 0 "reload after removing the drop-ins: exit status"
grep -q '^reloaded: 2 rules, 0 threads changed, 1 restored$' <<<"$out" || fail "reload said: $out"
expect_eq "$(mask "$pb")" "$orig_b" "$b restored once its drop-in is gone"
expect_eq "$(mask "$pa")" 1 "$a still pinned"
ok "edits of conf/pinnerd.conf and conf/pinnerd.d/ are picked up by pinnerctl reload"

# ---- pinnerd itself still refuses the user's own files ----
out=$("$PINNERD" --check --config "$SRC/conf/pinnerd.conf" --config-dir "$SRC/conf/pinnerd.d" 2>&1)
expect_eq "$?" 1 "pinnerd --check on the user's files"
grep -q 'owned by uid 65534' <<<"$out" || fail "the refusal does not say why: $out"

# ---- Ctrl-C: masks back, staging gone ----
kill -INT "$run_pid"
wait "$run_pid"
grep -q "event=stopping" "$T/run.out" || fail "no stopping record: $(tail -n 5 "$T/run.out")"
expect_eq "$(mask "$pa")" 0-1 "$a restored at Ctrl-C"
ls -d /tmp/pinnerd-run.* 2>/dev/null && fail "make run left its staging directory behind"
ok "Ctrl-C stops pinnerd, restores, and removes the copy"
exit 0
