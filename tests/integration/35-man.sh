#!/bin/bash
# The man pages: clean under `mandoc -Tlint -W warning`, each renders with
# its NAME section, and pinnerd(8)'s MESSAGE IDS are exactly the table in
# daemon/lib/log-record.c (same events, same IDs, nothing more, nothing less). One
# set: man(7) throughout, one date, RECIPES a section, FILES complete.
# pinnerctl(8) has what `pinnerctl --help` has, every verb takes --json, and
# every configuration example in pinnerd.conf(5), the README and the shipped
# conf/pinnerd.conf passes `pinnerd --check`.
. "$HERE/lib.sh"
command -v mandoc >/dev/null || skip "needs mandoc (package mandoc)"
REPO=$(cd "$HERE/../.." && pwd)

checked=0
for p in man/pinnerd.8 man/pinnerctl.8 man/pinnerd.conf.5; do
        f=$REPO/$p
        if [ ! -f "$f" ]; then
                echo "note: $p is missing, not checked"
                continue
        fi
        out=$(mandoc -Tlint -W warning "$f" 2>&1)
        rc=$?
        [ "$rc" = 0 ] && [ -z "$out" ] || fail "mandoc -Tlint -W warning $p (exit $rc): $out"
        page=$(basename "$p")
        name=${page%.*}
        sec=${page##*.}
        mandoc -Tutf8 "$f" 2>/dev/null | col -bx >"$T/render"
        head -n 1 "$T/render" | grep -qi "^${name}(${sec})" || fail "$p: rendered header is '$(head -n 1 "$T/render")'"
        grep -A1 '^NAME' "$T/render" | tail -n 1 | grep -q "$name \(-\|—\|–\) " ||
                fail "$p: no NAME line '$name - ...': $(grep -A1 '^NAME' "$T/render")"
        if command -v man >/dev/null; then
                MANWIDTH=80 man -l "$f" 2>/dev/null | col -bx | grep -q '^NAME' || fail "man -l $p does not render a NAME section"
        fi
        ok "$p: lint clean, renders with NAME"
        checked=$((checked + 1))
done
[ -f "$REPO/man/pinnerd.8" ] || fail "man/pinnerd.8 is missing"

# log-record.c's table: [EV_X] = {"name", "id"},
sed -n 's/^ *\[EV_[A-Z_]*\] = {"\([a-z-]*\)", "\([0-9a-f]*\)"},.*/\1 \2/p' "$REPO/daemon/lib/log-record.c" | sort >"$T/code"
[ "$(wc -l <"$T/code")" -ge 11 ] || fail "could not read the event table from daemon/lib/log-record.c: $(cat "$T/code")"
# pinnerd.8's MESSAGE IDS section: ".B name" then "MESSAGE_ID=id".
sed 's/\\-/-/g' "$REPO/man/pinnerd.8" |
        awk '/^\.SH "?MESSAGE IDS"?/ {on = 1; next} /^\.SH/ {on = 0}
             on && /^\.B / {ev = $2; next}
             on && sub(/^MESSAGE_ID=/, "") {print ev, $0; ev = ""}' | sort >"$T/man"
diff -u "$T/code" "$T/man" >"$T/diff" || fail "pinnerd(8) MESSAGE IDS differ from daemon/lib/log-record.c (- code, + man): $(cat "$T/diff")"
ok "pinnerd(8) lists all $(wc -l <"$T/code") MESSAGE_IDs of daemon/lib/log-record.c, exactly"

# Every MESSAGE_ID anywhere in pinnerd.8 (examples too) is a real one.
grep -o 'MESSAGE_ID=[0-9a-f]\{32\}' "$REPO/man/pinnerd.8" | cut -d= -f2 | sort -u | while read -r id; do
        grep -q " $id\$" "$T/code" || { echo "FAIL: pinnerd(8) mentions MESSAGE_ID=$id, not in daemon/lib/log-record.c"; exit 1; }
done || exit 1
# Every PINNERD_* field the daemon sends is documented.
for f in $(grep -o '"PINNERD_[A-Z_]*"' "$REPO/daemon/lib/log-record.c" | tr -d '"' | sort -u); do
        grep -q "^\.B $f=" "$REPO/man/pinnerd.8" || fail "pinnerd(8) does not document $f"
done
ok "pinnerd(8) documents every PINNERD_* field"

# ---- one set: one macro package, one date ----
dates=$(for p in man/pinnerd.8 man/pinnerctl.8 man/pinnerd.conf.5; do
        grep -q '^\.Dd\|^\.Dt\|^\.Sh ' "$REPO/$p" && fail "$p is written in mdoc; the set is man(7)"
        sed -n 's/^\.TH [^ ]* [0-9] \([0-9-]*\) .*/\1/p' "$REPO/$p"
done | sort -u)
[ "$(wc -l <<<"$dates")" = 1 ] && [ -n "$dates" ] || fail "the man pages have different dates: $dates"
ok "all three pages are man(7), dated $dates"
grep -q '^\.SH RECIPES' "$REPO/man/pinnerd.conf.5" || fail "pinnerd.conf(5) has no RECIPES section"
for f in /run/pinnerd/state /run/pinnerd/lock /run/pinnerd/control /etc/pinnerd.conf; do
        sed 's/\\-/-/g' "$REPO/man/pinnerd.8" | awk '/^\.SH FILES/ {on = 1; next} /^\.SH/ {on = 0} on' |
                grep -qF -- "$f" || fail "pinnerd(8) FILES lacks $f"
done
ok "pinnerd.conf(5) has RECIPES; pinnerd(8) FILES has the state and the lock"

# ---- pinnerctl(8) and the binary agree ----
[ -x "$PINNERCTL" ] || fail "no $PINNERCTL"
man_text=$(sed 's/\\-/-/g' "$REPO/man/pinnerctl.8")
synopsis=$(awk '/^\.SH SYNOPSIS/ {on = 1; next} /^\.SH/ {on = 0} on' <<<"$man_text")
"$PINNERCTL" --help | sed -n '/^Verbs:/,/^$/p' | sed '1d;$d' | while read -r verb rest; do
        grep -qx ".B $verb" <<<"$synopsis" || { echo "FAIL: pinnerctl(8) SYNOPSIS lacks $verb"; exit 1; }
        for opt in $(grep -o -- '--[a-z-]*' <<<"$rest"); do
                awk -v v="$verb" '$0 == ".B " v {on = 1; next} /^\.YS/ {on = 0} on' <<<"$synopsis" | grep -q -- "$opt" ||
                        { echo "FAIL: pinnerctl(8) SYNOPSIS of $verb lacks $opt"; exit 1; }
        done
        grep -q "^\.BR\? $verb\b" <<<"$(awk '/^\.SH VERBS/ {on = 1; next} /^\.SH/ {on = 0} on' <<<"$man_text")" ||
                { echo "FAIL: pinnerctl(8) VERBS does not describe $verb"; exit 1; }
        # Every verb takes --json: without a daemon that is exit 3 (unreachable), never 2 (usage).
        if [ "$verb" = check ]; then
                "$PINNERCTL" --json check /nonexistent/pinnerd.conf --config-dir '' >/dev/null 2>&1
                [ $? = 1 ] || { echo "FAIL: pinnerctl --json check: not exit 1"; exit 1; }
        else
                args=
                case $verb in explain | audit) args=1 ;; run) args="some-rule -- true" ;; esac
                "$PINNERCTL" --socket /nonexistent/control --json "$verb" $args >/dev/null 2>&1
                [ $? = 3 ] || { echo "FAIL: pinnerctl --json $verb is refused"; exit 1; }
        fi
done || exit 1
for opt in $("$PINNERCTL" --help | grep -o -- '--[a-z-]*' | sort -u); do
        grep -qF -- "$opt" <<<"$man_text" || fail "pinnerctl(8) does not document $opt"
done
ok "pinnerctl(8) has every verb and option of pinnerctl --help, and every verb takes --json"

# ---- every configuration example is valid ----
# The INI examples of pinnerd.conf(5) and the README, each checked as a file
# of its own (as root: pinnerd reads only root's files).
if [ "$(id -u)" = 0 ]; then
        n=0
        sed 's/\\-/-/g; s/\\(aq/'"'"'/g' "$REPO/man/pinnerd.conf.5" |
                awk -v d="$T/ex" 'BEGIN {system("mkdir -p " d)} /^\.EX/ {on = 1; k++; f = d "/man" k ".conf"; next}
                        /^\.EE/ {on = 0; next} on {print > f}'
        awk -v d="$T/ex" '/^```ini/ {on = 1; k++; f = d "/readme" k ".conf"; next} /^```/ {on = 0; next} on {print > f}' \
                "$REPO/README.md"
        cp "$REPO/conf/pinnerd.conf" "$T/ex/shipped.conf"
        for f in "$T"/ex/*.conf; do
                grep -q '^\[' "$f" || continue # not a configuration (a diagnostic, a command)
                chmod 0644 "$f"
                "$PINNERD" --check -c "$f" --config-dir '' >"$T/check.out" 2>&1 ||
                        fail "an example does not pass pinnerd --check: $(cat "$f") -> $(cat "$T/check.out")"
                grep -q 'warning' "$T/check.out" && ! grep -q "beyond this host\|has no CPU on this host\|no CPU is isolated\|all isolated" "$T/check.out" &&
                        fail "an example gets a warning: $(cat "$f") -> $(cat "$T/check.out")"
                n=$((n + 1))
        done
        [ "$n" -ge 8 ] || fail "found only $n configuration examples"
        ok "$n configuration examples of pinnerd.conf(5), the README and conf/pinnerd.conf pass pinnerd --check"
else
        echo "note: not root; the configuration examples are not checked (pinnerd reads only root's files)"
fi
exit 0
