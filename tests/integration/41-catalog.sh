#!/bin/bash
# The journal message catalog (systemd/pinnerd.catalog): one entry for every
# MESSAGE_ID daemon/lib/log-record.c sends and none for an id it does not, each with a
# Subject and an explanation, only @FIELD@ substitutions of fields pinnerd
# sends; journalctl --update-catalog compiles it (into a private --root) and
# --list-catalog / --dump-catalog give every entry back.
. "$HERE/lib.sh"
REPO=$(cd "$HERE/../.." && pwd)
CAT=$REPO/systemd/pinnerd.catalog
command -v journalctl >/dev/null || skip "needs journalctl (package systemd)"
[ -f "$CAT" ] || fail "no $CAT"

# log-record.c's table: [EV_X] = {"name", "id"},
sed -n 's/^ *\[EV_[A-Z_]*\] = {"[a-z-]*", "\([0-9a-f]*\)"},.*/\1/p' "$REPO/daemon/lib/log-record.c" | sort >"$T/code"
[ "$(wc -l <"$T/code")" -ge 11 ] || fail "could not read the MESSAGE_IDs from daemon/lib/log-record.c: $(cat "$T/code")"
# Any other MESSAGE_ID a source file might send on its own.
grep -rhoE '"MESSAGE_ID=[0-9a-f]{32}"' "$REPO/daemon" | grep -oE '[0-9a-f]{32}' >>"$T/code" || true
sort -u -o "$T/code" "$T/code"
sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$CAT" | sort >"$T/cat"
[ -z "$(uniq -d "$T/cat")" ] || fail "ids with two entries: $(uniq -d "$T/cat")"
diff -u "$T/code" "$T/cat" >"$T/diff" || fail "catalog ids differ from daemon/lib/log-record.c (- code only, + catalog only): $(cat "$T/diff")"
ok "an entry for each of the $(wc -l <"$T/code") MESSAGE_IDs, and no other"

# Fields the catalog text may substitute: those log-record.c sends.
grep -o '"PINNERD_[A-Z_]*"' "$REPO/daemon/lib/log-record.c" | tr -d '"' | sort -u >"$T/fields"
grep -o '@[A-Z_]*@' "$CAT" | tr -d @ | sort -u | while read -r f; do
        grep -qx "$f" "$T/fields" || { echo "FAIL: the catalog substitutes @$f@, which pinnerd never sends"; exit 1; }
done || exit 1
ok "every @FIELD@ is a field pinnerd sends"

# Compile it the way the package's trigger does, into a private root.
R=$T/root
mkdir -p "$R/usr/lib/systemd/catalog"
cp "$CAT" "$R/usr/lib/systemd/catalog/pinnerd.catalog"
journalctl --root="$R" --update-catalog >"$T/update" 2>&1 || fail "journalctl --update-catalog: $(cat "$T/update")"
[ -s "$R/var/lib/systemd/catalog/database" ] || fail "--update-catalog wrote no database"
! grep -qi 'error\|warn\|fail' "$T/update" || fail "--update-catalog complained: $(cat "$T/update")"
journalctl --root="$R" --list-catalog >"$T/list" 2>&1 || fail "--list-catalog: $(cat "$T/list")"
while read -r id; do
        grep -q "^$id pinnerd: ." "$T/list" || fail "--list-catalog lacks $id with a subject: $(cat "$T/list")"
        journalctl --root="$R" --dump-catalog "$id" >"$T/entry" 2>&1 || fail "--dump-catalog $id: $(cat "$T/entry")"
        grep -q '^Subject: ..........' "$T/entry" || fail "$id: no Subject"
        grep -q '^Defined-By: pinnerd$' "$T/entry" || fail "$id: no Defined-By: pinnerd"
        grep -q '^Documentation: man:' "$T/entry" || fail "$id: no Documentation"
        # Header, a blank line, then at least two paragraphs of explanation.
        body=$(awk 'f; /^$/ && !f {f = 1}' "$T/entry" | grep -c .)
        [ "$body" -ge 3 ] || fail "$id: explanation has only $body lines: $(cat "$T/entry")"
done <"$T/code"
ok "journalctl --update-catalog accepts it; --list-catalog and --dump-catalog give every entry"
exit 0
