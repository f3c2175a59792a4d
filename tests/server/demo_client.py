#!/usr/bin/env python3
"""Test client for acceptscope-demo (used by tests/server/test_server_*.sh).

  demo_client.py load  PORT [--host H] [--conns C] [--reqs R] [--parallel P] [--close]
      C connections, R keep-alive requests each, P at a time; with --close the
      last request of each says "Connection: close".  Prints JSON:
      {"connections":C,"answered":N,"errors":{"total":E,...},
       "workers":{"<tid>":responses},"conn_workers":{"<tid>":connections},
       "sent_bytes":bytes written}
  demo_client.py hold  PORT N SECONDS [--host H]
      Open N connections, send nothing, keep them SECONDS; print JSON
      {"held":n,"closed_by_server":n}.
  demo_client.py patient PORT [--host H] [--reqs R] [--within S]
      A good client behind an attack: R requests one after another, each on a new
      connection, each retried (50 ms apart) when the server sheds or drops it,
      until S seconds have passed.  Prints JSON {"requests":R,"answered":n,
      "attempts":a,"took_s":t,"first_answer_at":time.monotonic() of the first
      answer, or null}; exit 0 if all R were answered.
  demo_client.py probe PORT NAME [--host H] [--timeout S] [--conns N] [--header-conns H]
      One protocol or abuse check; exit 0 if the server behaved, else 1 with why.
      For "trickle", --timeout is the server's --request-timeout.
"""
import argparse
import json
import select
import socket
import struct
import sys
import threading
import time


def request(path="/", method="GET", extra=b"", version=b"HTTP/1.1"):
    return (method.encode() + b" " + path.encode() + b" " + version + b"\r\nHost: test\r\n" + extra + b"\r\n")


class Reader:
    """Reads HTTP responses off a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by server")
        self.buf += data

    def response(self, head=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        hdr, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = hdr.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def at_eof(self, timeout=5.0):
        """True if the server closes the connection (after any buffered bytes)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def connect(host, port, timeout=10.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


# ---- load ----

def load(args):
    lock = threading.Lock()
    stats = {"answered": 0, "errors": {}, "workers": {}, "conn_workers": {}, "sent_bytes": 0}
    todo = list(range(args.conns))

    def err(kind):
        with lock:
            stats["errors"][kind] = stats["errors"].get(kind, 0) + 1

    def one_connection():
        try:
            s = connect(args.host, args.port)
        except OSError as e:
            err("connect:" + type(e).__name__)
            return
        r = Reader(s)
        first = None
        try:
            for i in range(args.reqs):
                last = i == args.reqs - 1
                raw = request(extra=b"Connection: close\r\n" if args.close and last else b"")
                s.sendall(raw)
                with lock:
                    stats["sent_bytes"] += len(raw)
                status, headers, _ = r.response()
                if status != 200:
                    err("status:%d" % status)
                    continue
                tid = headers.get("x-worker", "?")
                first = first or tid
                with lock:
                    stats["answered"] += 1
                    stats["workers"][tid] = stats["workers"].get(tid, 0) + 1
            if args.close and not r.at_eof():
                err("not-closed")
        except (OSError, EOFError, ValueError) as e:
            err("io:" + type(e).__name__)
        finally:
            s.close()
        if first:
            with lock:
                stats["conn_workers"][first] = stats["conn_workers"].get(first, 0) + 1

    def runner():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            one_connection()

    threads = [threading.Thread(target=runner) for _ in range(min(args.parallel, args.conns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats["errors"]["total"] = sum(stats["errors"].values())
    print(json.dumps({"connections": args.conns, **stats}, sort_keys=True))
    return 0


# ---- probes: each returns None when the server behaved, else what went wrong ----

def expect_status_then_close(s, want):
    r = Reader(s)
    status, headers, _ = r.response()
    if status != want:
        return "status %d, wanted %d" % (status, want)
    if headers.get("connection") != "close":
        return "no Connection: close on %d" % status
    if "x-worker" not in headers:
        return "no X-Worker header"
    if not r.at_eof():
        return "connection left open after %d" % want
    return None


def probe_malformed(a):
    for raw in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
                b"GET /\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                b"GET / HTTP/1.1\r\n folded: header\r\n\r\n"):
        s = connect(a.host, a.port)
        s.sendall(raw)
        why = expect_status_then_close(s, 400)
        s.close()
        if why:
            return "%r: %s" % (raw, why)
    return None


def probe_oversized(a):
    s = connect(a.host, a.port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    why = expect_status_then_close(s, 431)
    s.close()
    if why:
        return why
    # exactly at the limit is fine: a header block of 8192 bytes
    base = request(extra=b"X-Pad: \r\n")
    s = connect(a.host, a.port)
    s.sendall(request(extra=b"X-Pad: " + b"b" * (8192 - len(base)) + b"\r\n"))
    status, _, _ = Reader(s).response()
    s.close()
    return None if status == 200 else "an 8192-byte header block got %d" % status


def probe_slowloris(a):
    """Trickle a request's headers; the server must cut us off about one idle timeout after we began."""
    s = connect(a.host, a.port)
    start = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\n")
    s.settimeout(0.2)
    while time.monotonic() - start < a.timeout + 5:
        try:
            s.sendall(b"X-Slow: 1\r\n")
            if s.recv(4096) == b"":
                break
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            break
    took = time.monotonic() - start
    s.close()
    if took > a.timeout + 3:
        return "slow client still connected after %.1f s" % took
    print("slowloris client cut off after %.2f s" % took)
    return None


def probe_idle(a):
    """An idle keep-alive connection is closed after the idle timeout."""
    s = connect(a.host, a.port)
    s.sendall(request())
    r = Reader(s)
    r.response()
    start = time.monotonic()
    closed = r.at_eof(timeout=a.timeout + 5)
    took = time.monotonic() - start
    s.close()
    if not closed:
        return "idle connection not closed"
    print("idle connection closed after %.2f s" % took)
    return None


def probe_reset(a):
    """Clients that reset (SO_LINGER 0) mid-request, mid-body, and before reading their response."""
    linger = struct.pack("ii", 1, 0)
    for raw in (b"GET / HTTP/1.1\r\nHost: te", b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc",
                request() * 50):
        s = connect(a.host, a.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.sendall(raw)
        s.close()
    return None


def probe_http(a):
    """Keep-alive, pipelining, bodies, HEAD, HTTP/1.0, Connection: close, unsupported features."""
    s = connect(a.host, a.port)
    r = Reader(s)
    tids = set()
    for _ in range(3):
        s.sendall(request())
        st, h, body = r.response()
        if st != 200 or h.get("connection") != "keep-alive" or not body.startswith(b"hello"):
            return "keep-alive request: %d %r" % (st, h)
        tids.add(h["x-worker"])
    if len(tids) != 1:
        return "one connection served by several threads: %s" % tids
    s.sendall(b"\r\n" + request(method="POST", extra=b"Content-Length: 11\r\n") + b"hello world" + request())
    for what in ("POST with body", "GET after body"):
        st, _, _ = r.response()
        if st != 200:
            return "%s: %d" % (what, st)
    s.sendall(request(path="/1") + request(path="/2") + request(path="/3", extra=b"Connection: close\r\n"))
    for i in range(3):
        st, h, _ = r.response()
        if st != 200:
            return "pipelined request %d: %d" % (i, st)
    if h.get("connection") != "close" or not r.at_eof():
        return "Connection: close not honoured"
    s.close()

    s = connect(a.host, a.port)
    r = Reader(s)
    s.sendall(request(method="HEAD"))
    st, h, _ = r.response(head=True)
    s.sendall(request())
    st2, _, _ = r.response()
    if st != 200 or int(h["content-length"]) == 0 or st2 != 200:
        return "HEAD then GET: %d %d" % (st, st2)
    s.close()

    s = connect(a.host, a.port)
    s.sendall(request(version=b"HTTP/1.0"))
    st, h, _ = Reader(s).response()
    if st != 200 or h.get("connection") != "close":
        return "HTTP/1.0: %d %r" % (st, h)
    if not Reader(s).at_eof():
        return "HTTP/1.0 without keep-alive left open"
    s.close()

    s = connect(a.host, a.port)
    r = Reader(s)
    for _ in range(2):
        s.sendall(request(version=b"HTTP/1.0", extra=b"Connection: Keep-Alive\r\n"))
        st, h, _ = r.response()
        if st != 200 or h.get("connection") != "keep-alive":
            return "HTTP/1.0 keep-alive: %d %r" % (st, h)
    s.close()

    for raw, want in ((request(method="POST", extra=b"Transfer-Encoding: chunked\r\n"), 501),
                      (request(version=b"HTTP/2.0"), 505)):
        s = connect(a.host, a.port)
        s.sendall(raw)
        why = expect_status_then_close(s, want)
        s.close()
        if why:
            return "%r: %s" % (raw, why)
    return None


TRICKLE_EVERY = 0.25  # well under any idle timeout the tests use


def probe_trickle(a):
    """--header-conns connections trickle a request's headers, then --conns connections
    trickle a body (a huge Content-Length, one byte every 250 ms), all far more often than
    the idle timeout: only the whole-request deadline (--timeout) can cut them.  Each must
    be closed either at once (shed by a server out of fds: < half the deadline) or by the
    deadline (within [deadline - 0.1 s, deadline + 1 s]), and at least one of each kind by
    the deadline.  Prints "holding" once every connection has sent its first bytes, then
    a JSON summary; started_at (before the first byte) and, per kind, first_cut_at (the
    first close by the deadline) are time.monotonic(): CLOCK_MONOTONIC, the same in every
    process."""
    kinds = [("headers", b"GET / HTTP/1.1\r\nHost: test\r\n", b"X-Slow: 1\r\n")] * a.header_conns
    kinds += [("body", request(method="POST", extra=b"Content-Length: 1000000000\r\n"), b"x")] * a.conns
    live = {}  # socket -> (kind, started, drip)
    started_at = time.monotonic()  # before the first byte: no deadline can end before this + --timeout
    for kind, first, drip in kinds:
        s = connect(a.host, a.port)
        s.setblocking(False)
        s.send(first)
        live[s] = (kind, time.monotonic(), drip)
    print("holding", flush=True)
    lifetimes = {"headers": [], "body": []}  # (seconds connected, time.monotonic() at the close)
    give_up = time.monotonic() + a.timeout + 3

    def closed(s):
        kind, started, _ = live.pop(s)
        now = time.monotonic()
        lifetimes[kind].append((now - started, now))
        s.close()

    next_drip = time.monotonic() + TRICKLE_EVERY
    while live and time.monotonic() < give_up:
        readable, _, _ = select.select(list(live), [], [], max(0, next_drip - time.monotonic()))
        for s in readable:
            try:
                if s.recv(65536) == b"":
                    closed(s)
            except BlockingIOError:
                pass
            except OSError:
                closed(s)
        if time.monotonic() >= next_drip:
            for s in list(live):
                try:
                    s.send(live[s][2])
                except BlockingIOError:
                    pass
                except OSError:
                    closed(s)
            next_drip += TRICKLE_EVERY
    survivors = len(live)
    for s in list(live):
        s.close()
    shed_max, lo, hi = a.timeout / 2, a.timeout - 0.1, a.timeout + 1.0
    summary = {"survivors": survivors, "started_at": started_at}
    whys = []
    if survivors:
        whys.append("%d of %d tricklers still connected after %.1f s" % (survivors, len(kinds), a.timeout + 3))
    for kind, closes in lifetimes.items():
        times = [t for t, _ in closes]
        cut = [t for t in times if lo <= t <= hi]
        odd = [round(t, 2) for t in times if not (t < shed_max or lo <= t <= hi)]
        summary[kind] = {"shed": sum(t < shed_max for t in times), "cut": len(cut),
                         "cut_s": [round(min(cut), 2), round(max(cut), 2)] if cut else None,
                         "first_cut_at": min((at for t, at in closes if lo <= t <= hi), default=None)}
        if odd:
            whys.append("%s tricklers closed after %s s, not at once nor by the %.1f s deadline"
                        % (kind, sorted(odd), a.timeout))
        want = a.header_conns if kind == "headers" else a.conns
        if want and not cut:
            whys.append("no %s trickler was cut by the deadline" % kind)
    print(json.dumps(summary, sort_keys=True))
    return "; ".join(whys) or None


def patient(a):
    start = time.monotonic()
    deadline = start + a.within
    answered = attempts = 0
    first_answer_at = None
    while answered < a.reqs and time.monotonic() < deadline:
        attempts += 1
        try:
            s = connect(a.host, a.port, timeout=max(0.05, deadline - time.monotonic()))
            try:
                s.sendall(request(extra=b"Connection: close\r\n"))
                status, _, _ = Reader(s).response()
            finally:
                s.close()
            if status == 200:
                answered += 1
                first_answer_at = first_answer_at or time.monotonic()
                continue
        except (OSError, EOFError, ValueError):
            pass
        time.sleep(0.05)
    print(json.dumps({"requests": a.reqs, "answered": answered, "attempts": attempts,
                      "took_s": round(time.monotonic() - start, 2),
                      "first_answer_at": first_answer_at}, sort_keys=True))
    return 0 if answered == a.reqs else 1


def hold(a):
    socks = []
    for _ in range(a.n):
        socks.append(connect(a.host, a.port))
    time.sleep(a.seconds)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
        s.close()
    print(json.dumps({"held": a.n - closed, "closed_by_server": closed}))
    return 0


def probe_flood(a):
    """Pipeline 60000 requests and start reading the answers only later, so that
    ~11 MB of responses overflow the kernel's buffers: the server must stop
    reading, finish a response when the socket turns writable, and go on."""
    n = 60000
    s = connect(a.host, a.port, timeout=20)
    got = []

    def reader():
        time.sleep(0.5)  # let the server's send buffer fill first
        r = Reader(s)
        try:
            for _ in range(n):
                status, _, _ = r.response()
                got.append(status)
        except (OSError, EOFError) as e:
            got.append(repr(e))

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(request() * (n - 1) + request(extra=b"Connection: close\r\n"))
    t.join()
    s.close()
    if got != [200] * n:
        return "%d of %d pipelined answers were 200 (last: %s)" % (got.count(200), n, got[-1:])
    return None


PROBES = {
    "flood": probe_flood,
    "malformed": probe_malformed,
    "oversized": probe_oversized,
    "slowloris": probe_slowloris,
    "trickle": probe_trickle,
    "idle": probe_idle,
    "reset": probe_reset,
    "http": probe_http,
}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("port", type=int)
    lp.add_argument("--host", default="127.0.0.1")
    lp.add_argument("--conns", type=int, default=10)
    lp.add_argument("--reqs", type=int, default=1)
    lp.add_argument("--parallel", type=int, default=4)
    lp.add_argument("--close", action="store_true")
    hp = sub.add_parser("hold")
    hp.add_argument("port", type=int)
    hp.add_argument("n", type=int)
    hp.add_argument("seconds", type=float)
    hp.add_argument("--host", default="127.0.0.1")
    gp = sub.add_parser("patient")
    gp.add_argument("port", type=int)
    gp.add_argument("--host", default="127.0.0.1")
    gp.add_argument("--reqs", type=int, default=24)
    gp.add_argument("--within", type=float, default=10.0)
    pp = sub.add_parser("probe")
    pp.add_argument("port", type=int)
    pp.add_argument("name", choices=sorted(PROBES))
    pp.add_argument("--host", default="127.0.0.1")
    pp.add_argument("--timeout", type=float, default=10.0,
                    help="the server's --idle-timeout (trickle: its --request-timeout)")
    pp.add_argument("--conns", type=int, default=1, help="trickle: body tricklers")
    pp.add_argument("--header-conns", type=int, default=1, help="trickle: header tricklers")
    a = ap.parse_args()
    if a.cmd == "load":
        return load(a)
    if a.cmd == "hold":
        return hold(a)
    if a.cmd == "patient":
        return patient(a)
    try:
        why = PROBES[a.name](a)
    except (OSError, EOFError, ValueError, KeyError) as e:
        why = "%s: %s" % (type(e).__name__, e)
    if why:
        print("probe %s: %s" % (a.name, why), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
