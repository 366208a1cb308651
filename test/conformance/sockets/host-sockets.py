#!/usr/bin/env python3
"""The host target of the socket conformance suite: Linux's own sockets.

Reads one JSON request per line on stdin, answers one JSON line on stdout:
  {"op": "socket", "args": [...]}  ->  {"ok": value} | {"err": "ECONNREFUSED"}
Sockets are named by small integers this program hands out. Addresses are
{"family": 2, "addr": "127.0.0.1", "port": N} or {"family": 1, "path": "..."}.
"""
import errno
import json
import socket
import sys

# Linux's names where Python's table holds an alias.
CANON = {errno.EOPNOTSUPP: "EOPNOTSUPP", errno.EAGAIN: "EAGAIN", errno.EDEADLK: "EDEADLK"}

socks = {}
next_id = [3]


def addr_in(a):
    if a["family"] == 1:
        return a["path"]
    return (a.get("addr", "0.0.0.0"), a.get("port", 0))


def addr_out(fam, a):
    if fam == socket.AF_UNIX:
        if isinstance(a, bytes):
            a = a.decode("utf-8", "surrogateescape")
        return {"family": 1, "path": a or ""}
    return {"family": 2, "addr": a[0], "port": a[1]}


def new(s):
    i = next_id[0]
    next_id[0] += 1
    socks[i] = s
    return i


def run(op, a):
    if op == "socket":
        return new(socket.socket(a[0], a[1], a[2] if len(a) > 2 else 0))
    if op == "socketpair":
        x, y = socket.socketpair(a[0], a[1], a[2] if len(a) > 2 else 0)
        return [new(x), new(y)]
    s = socks[a[0]]
    if op == "bind":
        s.bind(addr_in(a[1])); return 0
    if op == "listen":
        s.listen(a[1]); return 0
    if op == "connect":
        s.connect(addr_in(a[1])); return 0
    if op == "accept":
        c, _ = s.accept(); return new(c)
    if op == "send":
        return s.send(bytes(a[1]), a[2] if len(a) > 2 else 0)
    if op == "sendto":
        return s.sendto(bytes(a[1]), a[2], addr_in(a[3]))
    if op == "recv":
        return list(s.recv(a[1], a[2] if len(a) > 2 else 0))
    if op == "shutdown":
        s.shutdown(a[1]); return 0
    if op == "close":
        s.close(); del socks[a[0]]; return 0
    if op == "getsockname":
        return addr_out(s.family, s.getsockname())
    if op == "getpeername":
        return addr_out(s.family, s.getpeername())
    if op == "setnonblock":
        s.setblocking(False); return 0
    if op == "setsockopt":
        s.setsockopt(a[1], a[2], a[3]); return 0
    if op == "getsockopt":
        return s.getsockopt(a[1], a[2])
    raise ValueError("unknown op " + op)


for line in sys.stdin:
    req = json.loads(line)
    try:
        out = {"ok": run(req["op"], req["args"])}
    except OSError as e:
        out = {"err": CANON.get(e.errno) or errno.errorcode.get(e.errno, "E%d" % e.errno)}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
