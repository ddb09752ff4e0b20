#!/bin/bash
# A peer's own process is always visible to it, but only while its pid is
# still that process. The attack: nobody, in a /proc mounted
# hidepid=invisible, connects twice, hands both connections to a child and
# exits; its pid is then taken by a root process (here on purpose, with
# clone3's set_tid; on a host with pid_max 32768 a loop of forks gets there
# in about a second). Before, the daemon took "the peer's own process" to
# be whatever had the peer's pid, and showed nobody that root process in
# `explain` (exe included) and `list`, though nobody's /proc hides it.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v setpriv >/dev/null || skip "needs setpriv to act as nobody"
command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "needs unshare and nsenter (util-linux)"
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3 for the client that hands its connections on"
[ -x "$HELPERS/withpid" ] || fail "$HELPERS/withpid is not built"

C=$(unique_comm r)
cp /bin/sleep "$T/$C"
chmod 0755 "$T" "$T/$C"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:root-work]
comm = $C
cpus = 1"
start_daemon

# nobody's view: a private mount namespace with /proc hidepid=invisible.
unshare -m --propagation private sh -c 'mount -t proc -o hidepid=invisible proc /proc && exec sleep 3600' &
NSH=$!
cleanup_add "kill $NSH"
wait_until 5 "the hidepid namespace" sh -c "nsenter -m -t $NSH -- grep -q 'hidepid=invisible' /proc/self/mountinfo"

# The client: three connections from its own pid, printed; it waits until
# the daemon has taken both (their view is read then), forks, and exits;
# the child asks `explain PID` and `list` once $T/go holds PID.
cat >"$T/handon.py" <<'EOF'
import os, socket, sys, time
sock, go = sys.argv[1], sys.argv[2]
conns = []
for _ in range(3):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sock)
    conns.append(s)
print(os.getpid(), flush=True)
time.sleep(0.5)
if os.fork() > 0:
    os._exit(0)
for _ in range(400):
    if os.path.exists(go):
        break
    time.sleep(0.01)
pid = open(go).read().strip().encode()
def ask(s, req):
    s.send(b"PINNERD1\0\0" + req)
    out, code = b"", None
    while code is None:
        d = s.recv(65536)
        if not d:
            break
        if d[:1] == b"X":
            code = d[1:].decode()
        elif d[:1] == b"O":
            out += d[1:]
    return code, out.decode("utf-8", "replace")
code, out = ask(conns[0], b"explain\0" + pid + b"\0")
print("explain exit", code)
print(out)
code, out = ask(conns[2], b"run\0root-work\0")
print("run exit", code)
print(out)
code, out = ask(conns[1], b"list\0")
print("list exit", code)
print(out, flush=True)
EOF
chmod 0644 "$T/handon.py"
nsenter -m -t "$NSH" -- setpriv --reuid=65534 --regid=65534 --clear-groups \
        /usr/bin/python3 "$T/handon.py" "$SOCK" "$T/go" >"$T/handon.out" 2>&1 &
hp=$!
cleanup_add "kill $hp"
wait_until 5 "the client's pid" grep -qx '[0-9][0-9]*' "$T/handon.out"
A=$(head -n 1 "$T/handon.out")
wait_until 5 "the client's parent $A to exit" sh -c "! kill -0 $A 2>/dev/null"

# A root process takes the pid.
"$HELPERS/withpid" "$A" "$T/$C" 3600 &
wp=$!
cleanup_add "kill $wp; kill \$(cat /proc/$wp/task/$wp/children 2>/dev/null)"
wait_until 5 "a root process with pid $A" sh -c "[ \"\$(readlink /proc/$A/exe)\" = '$T/$C' ]"
[ "$(awk '/^Uid:/ {print $2}' "/proc/$A/status")" = 0 ] || skip "pid $A went to another process first"
wait_mask "$A" 1
nsenter -m -t "$NSH" -- setpriv --reuid=65534 --regid=65534 --clear-groups test -d "/proc/$A" &&
        skip "hidepid=invisible does not hide root's process from nobody here"
ok "root's $C has nobody's old pid $A; nobody's /proc hides it"
ctl explain "$A" | grep -q "rule root-work" || fail "root's explain of $A does not show its rule"

echo "$A" >"$T/go"
wait_until 10 "the child's answers" grep -q '^list exit' "$T/handon.out"
sed 's/^/  | /' "$T/handon.out"
grep -qx 'explain exit 1' "$T/handon.out" || fail "nobody's explain of root's process at its old pid $A was answered"
grep -q "$C" "$T/handon.out" && fail "nobody was shown root's $C at its old pid $A"
ok "explain: no such process; list: root's process not shown"
# run plans from the caller's cpuset and mask: not from whoever has its pid.
grep -qx 'run exit 1' "$T/handon.out" || fail "nobody's run was planned on root's process at its old pid $A"
ok "run: the pid is no longer the caller's, nothing planned"
