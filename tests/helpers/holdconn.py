#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# holdconn: hold idle connections to a pinnerd control socket, as a local
# user trying to lock others out would, and tell which ones the daemon kept.
#
#   holdconn.py SOCKET N HOLD_SECONDS [--probe]
#
# Opens N AF_UNIX SOCK_SEQPACKET connections one after the other, sends
# nothing, and after 0.5 s prints one line
#     opened N alive A refused R
# (refused: the daemon closed it or answered without being asked). With
# --probe it then opens one more and prints
#     probe refused after MS ms      or      probe alive after 1000 ms
# Then it holds everything for HOLD_SECONDS (or until killed) and exits 0.
import os
import select
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(2.0)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def closed(s, wait):
    """True when the daemon closed s (EOF, a reset, or an unsolicited reply)."""
    r, _, _ = select.select([s], [], [], wait)
    if not r:
        return False
    try:
        s.recv(65536)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def main():
    if len(sys.argv) < 4:
        print("usage: holdconn.py SOCKET N HOLD_SECONDS [--probe]", file=sys.stderr)
        return 2
    path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    probe = "--probe" in sys.argv[4:]
    conns = [connect(path) for _ in range(n)]
    time.sleep(0.5)
    alive = sum(1 for s in conns if s is not None and not closed(s, 0))
    print(f"opened {n} alive {alive} refused {n - alive}", flush=True)
    if probe:
        t0 = time.monotonic()
        s = connect(path)
        if s is None or closed(s, 1.0):
            print(f"probe refused after {(time.monotonic() - t0) * 1000:.0f} ms", flush=True)
        else:
            print("probe alive after 1000 ms", flush=True)
        conns.append(s)
    end = time.monotonic() + hold
    while time.monotonic() < end:
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
