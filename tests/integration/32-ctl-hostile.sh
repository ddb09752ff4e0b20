#!/bin/bash
# Hostile input to the control path: process names with odd bytes must come
# out of `list` as valid, exact JSON and as one escaped line for people;
# garbage on the socket, idle and slow clients must never stop the daemon
# from answering.
. "$HERE/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to validate --json output"

# comm is the basename of the executed file, cut at 15 bytes: a file name
# can hold a space, newline, quote, backslash, tab and any UTF-8. n1 is valid
# UTF-8 (it must round-trip exactly); n2 holds a byte that is not UTF-8
# (JSON carries it as the text \xff, and a backslash as \\, per pinnerctl(8);
# `printf %b` undoes both).
n1="h$$"$' \n"\\\t'"é"
n2="i$$"$'\xff\x01'
[ "$(printf '%s' "$n1" | wc -c)" -le 15 ] || fail "test bug: '$n1' is longer than a comm"
spawn_named "$n1"; p1=$SPAWNED_PID
spawn_named "$n2"; p2=$SPAWNED_PID
printf '%s' "$n1" >"$T/want1"
cmp -s <(head -c 15 "$T/want1") <(head -c -1 "/proc/$p1/comm") ||
        fail "test bug: the kernel's comm of $p1 is not '$n1'"

big=$(unique_comm big)
write_conf "[rule:odd]
comm = h$$*
comm = i$$*
cpus = 1
[rule:many]
comm = $big
cpus = 1"
start_daemon
wait_mask "$p1" 1
wait_mask "$p2" 1

# ---- odd bytes in list --json ----
ctl list --json >"$T/list.json" || fail "list --json: exit $?"
jq -e . "$T/list.json" >/dev/null || fail "list --json is not valid JSON: $(od -c "$T/list.json" | head -20)"
# jsonbytes: a JSON string's text (jq -j) back to the bytes, as pinnerctl(8) says.
jsonbytes() { printf '%b' "$(cat)"; }
jq -j --argjson t "$p1" '.[] | select(.tid == $t) | .comm' "$T/list.json" | jsonbytes >"$T/got1"
cmp -s "$T/want1" "$T/got1" || fail "comm of $p1 from JSON: $(od -c "$T/got1"), expected $(od -c "$T/want1")"
jq -j --argjson t "$p1" '.[] | select(.tid == $t) | .thread' "$T/list.json" | jsonbytes >"$T/got1t"
cmp -s "$T/want1" "$T/got1t" || fail "thread name of $p1 from JSON: $(od -c "$T/got1t")"
ok "list --json: comm with space, newline, quote, backslash, tab, UTF-8 decodes to the same bytes"
jq -j --argjson t "$p2" '.[] | select(.tid == $t) | .comm' "$T/list.json" | jsonbytes >"$T/got2"
printf '%s' "$n2" >"$T/want2"
cmp -s "$T/want2" "$T/got2" || fail "comm of $p2 (byte 0xff) from JSON: $(od -c "$T/got2"), expected $(od -c "$T/want2")"
jq -e --argjson t "$p2" --arg s "i$$\\xff"$'\x01' '.[] | select(.tid == $t) | .comm == $s' "$T/list.json" >/dev/null ||
        fail "comm of $p2: the byte 0xff is not the text \\xff in JSON"
ok "list --json: a non-UTF-8 byte comes out as the text \\xff, exact after decoding, JSON still valid"

# ---- odd bytes in the human list: one line per thread, escaped ----
ctl list >"$T/list.txt" || fail "list: exit $?"
expect_eq "$(wc -l <"$T/list.txt")" 4 "list: header, 2 rows and a total, nothing split by a newline"
esc1=$(printf 'h%s \\n"\\\\\\té' $$)
row1=$(awk -v t="$p1" '$2 == t' "$T/list.txt")
grep -qF -- "$esc1" <<<"$row1" || fail "list: row of $p1 does not show '$esc1': $(od -c <<<"$row1" | head)"
grep -q 'odd' <<<"$row1" || fail "list: row of $p1 lost its rule column: $row1"
row2=$(awk -v t="$p2" '$2 == t' "$T/list.txt")
grep -qF -- "i$$\\xff\\x01" <<<"$row2" || fail "list: row of $p2 does not show 'i$$\\xff\\x01': $(od -c <<<"$row2" | head)"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/list.txt" && fail "list: raw control bytes in the output: $(od -c "$T/list.txt")"
ok "list: odd bytes escaped, each thread on one line"
ctl explain "$p1" >"$T/explain.txt" || fail "explain $p1: exit $?"
grep -qF -- "pid $p1 ($esc1)" "$T/explain.txt" || fail "explain: process name not escaped: $(head -3 "$T/explain.txt")"
ctl explain --json "$p1" | jq -j '.comm' | jsonbytes >"$T/got1e"
cmp -s "$T/want1" "$T/got1e" || fail "explain --json: comm $(od -c "$T/got1e")"
ok "explain: escaped for people, exact in JSON"

# ---- garbage on the socket ----
if ! python3 -c 'import socket, ctypes; socket.SOCK_SEQPACKET' >/dev/null 2>&1; then
        echo "note: no python3 with socket.SOCK_SEQPACKET; garbage and slow-client checks not run"
        exit 0
fi
alive() {
        kill -0 "$DAEMON_PID" 2>/dev/null || fail "pinnerd died ($1)"
        timeout 10 "$PINNERCTL" --socket "$SOCK" status >"$T/st" 2>&1 || fail "status after $1: exit $?: $(cat "$T/st")"
        grep -q '^events:' "$T/st" || fail "status after $1: $(cat "$T/st")"
}

cat >"$T/garbage.py" <<'EOF'
import os, random, socket, sys, time
path, case = sys.argv[1], sys.argv[2]
rnd = random.Random(32)

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    s.connect(path)
    return s

def drain(s):
    # Read the daemon's answer (or nothing) until it closes; never hang.
    got = []
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got.append(d)
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return got

if case == "random":
    for n in (1, 7, 9, 200, 4096):
        s = conn(); s.send(rnd.randbytes(n)); drain(s)
elif case == "empty":
    s = conn(); s.send(b""); drain(s)
elif case == "oversized":
    for n in (4097, 65536, 200000):
        s = conn()
        try:
            s.send(b"PINNERD1\0\0status\0" + b"A" * n)
        except OSError:
            pass  # EMSGSIZE from our own kernel is fine too
        drain(s)
elif case == "malformed":
    for req in (b"PINNERD1\0\xffstatus\0",          # unknown flag bits
                b"PINNERD1\0\0status",              # unterminated verb
                b"PINNERD1\0\0\0",                  # empty verb
                b"PINNERD1\0\0STATUS\0",            # bad verb characters
                b"PINNERD1\0\0status\0trailing",    # bytes after the last NUL
                b"PINNERD1\0\0explain\0" + b"1\0" * 20,  # too many args
                b"PINNERD2\0\0status\0",            # wrong magic
                b"PINNERD1\0\0" + b"x" * 100 + b"\0"):   # over-long verb
        s = conn(); s.send(req); got = drain(s)
        # A reply, if any, must end with an exit chunk that is not 0.
        if got and got[-1][:1] == b"X" and got[-1] == b"X0":
            sys.exit("malformed request %r was answered with exit 0" % req)
elif case == "twice":
    s = conn(); s.send(b"PINNERD1\0\0status\0")
    try:
        s.send(b"PINNERD1\0\0status\0")
    except OSError:
        pass  # the daemon may have answered and closed already
    drain(s)
elif case == "connect-close":
    for _ in range(200):
        conn().close()
elif case == "half-close":
    s = conn(); s.shutdown(socket.SHUT_WR); drain(s)
elif case == "idle":
    # More idle connections than the daemon keeps (64); they send nothing.
    held = []
    for _ in range(80):
        try:
            held.append(conn())
        except OSError:
            pass
    print("holding", len(held), flush=True)
    sys.stdin.read()  # until the test closes our stdin
else:
    sys.exit("unknown case " + case)
EOF
for c in random empty oversized malformed twice connect-close half-close; do
        timeout 60 python3 "$T/garbage.py" "$SOCK" "$c" >"$T/py.out" 2>&1 || fail "garbage case $c: $(cat "$T/py.out")"
        alive "garbage case $c"
done
ok "garbage on the socket: random bytes, empty, oversized, malformed, two requests, connect-close, half-close"

# Idle connections beyond the limit: once they go away (closed by the
# client or dropped by the daemon's request timeout), status works again.
mkfifo "$T/idle.in"
python3 "$T/garbage.py" "$SOCK" idle <"$T/idle.in" >"$T/idle.out" 2>&1 &
idle_pid=$!
cleanup_add "kill $idle_pid"
exec 7>"$T/idle.in"
wait_until 10 "idle clients connected" grep -q holding "$T/idle.out"
# The daemon's request timeout is 5 s: by then it has dropped them all,
# even though the client never closes.
wait_until 15 "status to answer while idle clients hold connections" \
        timeout 2 "$PINNERCTL" --socket "$SOCK" status
exec 7>&-
wait "$idle_pid" 2>/dev/null
alive "80 idle connections"
ok "idle connections beyond the limit are dropped, status answers"

# ---- a slow client that never reads a big reply ----
# A process with many threads (named $big through prctl, inherited by every
# thread) makes `list --json` a reply of hundreds of KiB.
cat >"$T/threads.py" <<'EOF'
import ctypes, sys, threading
name, n = sys.argv[1].encode(), int(sys.argv[2])
ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME
threading.stack_size(64 * 1024)
stop = threading.Event()
ts = [threading.Thread(target=stop.wait, daemon=True) for _ in range(n)]
for t in ts:
    t.start()
print("ready", flush=True)
sys.stdin.read()
EOF
nthreads=2000
mkfifo "$T/threads.in"
python3 "$T/threads.py" "$big" "$nthreads" <"$T/threads.in" >"$T/threads.out" 2>&1 &
tp=$!
cleanup_add "kill $tp"
exec 8>"$T/threads.in"
wait_until 30 "$nthreads threads to start" grep -q ready "$T/threads.out"
managed() { ctl status --json | jq -e --argjson n "$1" '[.rules[] | select(.name == "many") | .threads][0] >= $n'; }
wait_until 30 "pinnerd to pin $((nthreads + 1)) threads" managed $((nthreads + 1))

cat >"$T/slow.py" <<'EOF'
import json, socket, sys, time
path, want = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(path)
s.send(b"PINNERD1\0\x01list\0")
print("sent", flush=True)
sys.stdin.read()          # do not read until the test says so
out, code = [], None
s.settimeout(20)
while True:
    d = s.recv(65536)
    if not d:
        break
    if d[:1] == b"O":
        out.append(d[1:])
    elif d[:1] == b"X":
        code = int(d[1:])
total = b"".join(out)
rows = json.loads(total)
print("bytes", len(total), "rows", len(rows), "exit", code, flush=True)
sys.exit(0 if code == 0 and len(rows) >= want else 1)
EOF
mkfifo "$T/slow.in"
python3 "$T/slow.py" "$SOCK" $((nthreads + 1)) <"$T/slow.in" >"$T/slow.out" 2>&1 &
sp=$!
cleanup_add "kill $sp"
exec 9>"$T/slow.in"
wait_until 10 "the slow client to send its request" grep -q sent "$T/slow.out"
# While its reply is stuck, others are served.
for i in 1 2 3; do alive "a slow client holding a big reply (round $i)"; done
ctl explain "$p1" >/dev/null || fail "explain while a slow client is stuck: exit $?"
exec 9>&-
wait "$sp"
rc=$?
[ "$rc" = 0 ] || fail "slow client's reply incomplete or invalid (exit $rc): $(cat "$T/slow.out")"
bytes=$(awk '/^bytes/ {print $2}' "$T/slow.out")
ok "slow client: status answered while it held a $bytes-byte reply, and the reply arrived whole afterwards"
exec 8>&-
alive "the slow client"
exit 0
