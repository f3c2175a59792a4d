#!/usr/bin/env python3
"""Garbage, idle and slow (slowloris) clients against an HTTP endpoint, for SECONDS.

Usage: hostile_clients.py PORT SECONDS

Opens GARBAGE connections that send random bytes, IDLE ones that send nothing and
SLOW ones that send a request header one byte every 2 s and never finish it.
Prints "open" on stderr once all are connected, then, at the end, one JSON
object on stdout: per kind, after how many seconds the server closed each
connection (null: still open at the end) and, for garbage, the first line of
the server's answer.
"""
import json
import os
import select
import socket
import sys
import time

GARBAGE, IDLE, SLOW = 5, 8, 8


def main():
    port, secs = int(sys.argv[1]), float(sys.argv[2])
    start = time.monotonic()
    conns = []  # [kind, socket, closed_after, first_line]
    for kind, n in (("garbage", GARBAGE), ("idle", IDLE), ("slow", SLOW)):
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            conns.append([kind, s, None, b""])
    print("open", file=sys.stderr, flush=True)
    for c in conns:
        if c[0] == "garbage":
            c[1].send(os.urandom(2048).replace(b"\n", b"x") + b"\r\n\r\n")
        elif c[0] == "slow":
            c[1].send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    next_trickle = time.monotonic() + 2
    while time.monotonic() - start < secs:
        live = [c for c in conns if c[2] is None]
        readable, _, _ = select.select([c[1] for c in live], [], [], 0.1)
        for c in live:
            if c[1] not in readable:
                continue
            try:
                data = c[1].recv(4096)
            except OSError:
                data = b""
            if data:
                c[3] += data
                continue
            c[2] = round(time.monotonic() - start, 2)
        if time.monotonic() >= next_trickle:
            next_trickle += 2
            for c in live:
                if c[0] == "slow":
                    try:
                        c[1].send(b"a")
                    except OSError:
                        c[2] = c[2] or round(time.monotonic() - start, 2)
    report = {}
    for kind in ("garbage", "idle", "slow"):
        mine = [c for c in conns if c[0] == kind]
        report[kind] = {"closed_after": [c[2] for c in mine]}
        if kind == "garbage":
            report[kind]["replies"] = [c[3].split(b"\r\n", 1)[0].decode("latin-1") for c in mine]
    for c in conns:
        c[1].close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
