#!/bin/bash
# The man pages: clean under `mandoc -Tlint -W warning`, each renders with
# its NAME section, and pinnerd(8)'s MESSAGE IDS are exactly the table in
# daemon/lib/log.c (same events, same IDs, nothing more, nothing less).
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

# log.c's table: [EV_X] = {"name", "id"},
sed -n 's/^ *\[EV_[A-Z_]*\] = {"\([a-z-]*\)", "\([0-9a-f]*\)"},.*/\1 \2/p' "$REPO/daemon/lib/log.c" | sort >"$T/code"
[ "$(wc -l <"$T/code")" -ge 11 ] || fail "could not read the event table from daemon/lib/log.c: $(cat "$T/code")"
# pinnerd.8's MESSAGE IDS section: ".B name" then "MESSAGE_ID=id".
sed 's/\\-/-/g' "$REPO/man/pinnerd.8" |
        awk '/^\.SH "?MESSAGE IDS"?/ {on = 1; next} /^\.SH/ {on = 0}
             on && /^\.B / {ev = $2; next}
             on && sub(/^MESSAGE_ID=/, "") {print ev, $0; ev = ""}' | sort >"$T/man"
diff -u "$T/code" "$T/man" >"$T/diff" || fail "pinnerd(8) MESSAGE IDS differ from daemon/lib/log.c (- code, + man): $(cat "$T/diff")"
ok "pinnerd(8) lists all $(wc -l <"$T/code") MESSAGE_IDs of daemon/lib/log.c, exactly"

# Every MESSAGE_ID anywhere in pinnerd.8 (examples too) is a real one.
grep -o 'MESSAGE_ID=[0-9a-f]\{32\}' "$REPO/man/pinnerd.8" | cut -d= -f2 | sort -u | while read -r id; do
        grep -q " $id\$" "$T/code" || { echo "FAIL: pinnerd(8) mentions MESSAGE_ID=$id, not in daemon/lib/log.c"; exit 1; }
done || exit 1
# Every PINNERD_* field the daemon sends is documented.
for f in $(grep -o '"PINNERD_[A-Z_]*"' "$REPO/daemon/lib/log.c" | tr -d '"' | sort -u); do
        grep -q "^\.B $f=" "$REPO/man/pinnerd.8" || fail "pinnerd(8) does not document $f"
done
ok "pinnerd(8) documents every PINNERD_* field"
exit 0
