#!/bin/bash
# A user's mount table costs that user, not the daemon's loop. To show a
# non-root peer what its own /proc shows it, pinnerd reads the peer's
# mountinfo; any user can make that huge in a user namespace of its own:
# 6,000 bind mounts stacked on one directory take the kernel ~0.1 s to
# list (10,000: 0.56 s). Before, the whole file was read in one go when
# the connection was taken, holding the SCHED_FIFO daemon: while the user
# asked `status` in a loop, root's own requests waited for it, and for
# the pause that work bought. Now the view is read a slice at a time,
# charged to that user: root's requests are answered as before.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v setpriv >/dev/null || skip "needs setpriv to act as another user"
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3 for the user's namespace and client"

U=60031
mkdir -p "$T/stack"
chmod 0755 "$T" "$T/stack"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:none]
comm = $(unique_comm z)
cpus = 1"
start_daemon

# The user: a user and mount namespace of its own with N bind mounts
# stacked on one directory, then `status` in a loop until killed.
cat >"$T/mounts.py" <<'EOF'
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
sock, stack, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
uid, gid = os.getuid(), os.getgid()
if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
    print("unshare:", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(77)
open("/proc/self/setgroups", "w").write("deny")
open("/proc/self/uid_map", "w").write("0 %d 1" % uid)
open("/proc/self/gid_map", "w").write("0 %d 1" % gid)
libc.mount(b"none", b"/", None, 16384 | (1 << 18), None)  # MS_REC | MS_PRIVATE
for i in range(n):
    if libc.mount(stack, stack, None, 4096, None) != 0:  # MS_BIND
        print("mount %d: %s" % (i, os.strerror(ctypes.get_errno())), flush=True)
        sys.exit(77)
print("mounts", sum(1 for _ in open("/proc/self/mountinfo")), flush=True)
answers = 0
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sock)
    s.send(b"PINNERD1\0\0status\0")
    while True:
        d = s.recv(65536)
        if not d or d[:1] == b"X":
            break
    s.close()
    answers += 1
    print("answers", answers, flush=True)
EOF
chmod 0644 "$T/mounts.py"
setpriv --reuid=$U --regid=$U --clear-groups /usr/bin/python3 "$T/mounts.py" "$SOCK" "$T/stack" 6000 >"$T/user.out" 2>&1 &
up=$!
cleanup_add "kill $up"
wait_until 60 "the user's mount table" grep -q '^mounts\|^unshare\|^mount ' "$T/user.out"
grep -q '^mounts' "$T/user.out" || skip "an ordinary user cannot make a mount namespace here: $(cat "$T/user.out")"
ok "the user's namespace has $(awk '/^mounts/ {print $2}' "$T/user.out") mounts"
wait_until 20 "the user's first answer" grep -q '^answers' "$T/user.out"

# Root asks 60 times over about four seconds while the user asks in a
# loop (before, each of the user's connections held the loop ~0.1 s, then
# paused accepting for ~1 s: at least one of root's requests waited).
slow=0 max=0
for i in $(seq 60); do
        t0=$(date +%s%N)
        ctl status >/dev/null || fail "root's status failed"
        ms=$((($(date +%s%N) - t0) / 1000000))
        [ "$ms" -gt "$max" ] && max=$ms
        [ "$ms" -gt 300 ] && slow=$((slow + 1))
        sleep 0.05
done
echo "root's status: $slow of 60 took more than 300 ms, the slowest $max ms; the user was answered $(tail -n 1 "$T/user.out" | awk '{print $2}') times"
[ "$slow" -eq 0 ] || fail "root's requests waited for the user's mount table: $slow of 60 over 300 ms (slowest $max ms)"
ok "root is answered at once while the user's mount table is read"
kill -0 "$DAEMON_PID" || fail "the daemon died"
