#!/usr/bin/env python3
"""Socket workloads for the tracer's limit tests, with their own ground truth.

    sockets.py churn LISTENERS CONNS   listeners opened, CONNS connections accepted and read
                                       on each, closed while the next ones open (their kernel
                                       addresses get reused); one JSON line per listener
    sockets.py listen N                N idle listeners on 127.0.0.1; "ready", then wait for EOF on stdin
    sockets.py hold PORT N             N connections, one request each, answered, kept open;
                                       "held", then wait for EOF on stdin
    sockets.py hostile PORT NAME       this thread named NAME (bytes, Python escapes), accepts and
                                       reads one connection on PORT; "done"
"""
import ctypes
import json
import os
import socket
import sys
import threading

REQUEST = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def listener(port=0, backlog=64):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", port))
    s.listen(backlog)
    return s


def churn(n, conns):
    window = []
    for i in range(n):
        lst = listener()
        port = lst.getsockname()[1]
        inode = os.fstat(lst.fileno()).st_ino
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(conns)]
        for c in clients:
            c.sendall(b"x")
        reads = 0
        for _ in range(conns):
            child, _ = lst.accept()
            reads += 1 if child.recv(16) else 0
            child.close()
        for c in clients:
            c.close()
        print(json.dumps({"inode": inode, "port": port, "accepts": conns, "reads": reads,
                          "tid": threading.get_native_id()}), flush=True)
        window.append(lst)
        if len(window) > 4:      # a few open at once, the oldest closed as new ones open
            window.pop(0).close()
    for lst in window:
        lst.close()


def listen(n):
    socks = [listener(backlog=8) for _ in range(n)]
    print("ready", flush=True)
    sys.stdin.read()
    del socks


def hold(port, n):
    held = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(REQUEST)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = c.recv(4096)
            if not chunk:
                sys.exit("connection closed before the response")
            got += chunk
        held.append(c)
    print("held", flush=True)
    sys.stdin.read()


def hostile(port, name):
    libc = ctypes.CDLL(None, use_errno=True)
    raw = name.encode("latin-1")
    PR_SET_NAME = 15
    if libc.prctl(PR_SET_NAME, ctypes.c_char_p(raw), 0, 0, 0):
        sys.exit("prctl failed")
    lst = listener(port)
    print("listening", flush=True)
    child, _ = lst.accept()
    child.recv(64)
    child.close()
    print("done", flush=True)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "churn":
        churn(int(args[0]), int(args[1]))
    elif cmd == "listen":
        listen(int(args[0]))
    elif cmd == "hold":
        hold(int(args[0]), int(args[1]))
    elif cmd == "hostile":
        hostile(int(args[0]), args[1].encode("latin-1").decode("unicode_escape"))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
