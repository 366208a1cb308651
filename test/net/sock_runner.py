# The Linux target of the TCP socket conformance suite (tcp_conformance.test.ts):
# runs one scenario (a JSON list of ops on stdin) with the host's own sockets
# on 127.0.0.1 and prints the result of each op as a JSON list on stdout:
# "ok", a value, or the errno name.
import errno, json, socket, struct, sys, time

ops = json.load(sys.stdin)
socks = {}
out = []

def port(ref):
    if isinstance(ref, str) and ref.startswith('@'):
        return socks[ref[1:]].getsockname()[1]
    return ref

for op in ops:
    name, args = op[0], op[1:]
    try:
        if name == 'socket':
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if len(args) > 1 and args[1] == 'nb':
                s.setblocking(False)
            socks[args[0]] = s
            r = 'ok'
        elif name == 'bind':
            socks[args[0]].bind((args[1], port(args[2]))); r = 'ok'
        elif name == 'listen':
            socks[args[0]].listen(args[1]); r = 'ok'
        elif name == 'connect':
            socks[args[0]].connect((args[1], port(args[2]))); r = 'ok'
        elif name == 'accept':
            s, _ = socks[args[0]].accept(); socks[args[1]] = s; r = 'ok'
        elif name == 'send':
            r = socks[args[0]].send(args[1].encode(), socket.MSG_NOSIGNAL)
        elif name == 'recv':
            flags = 0
            for f in args[2:]:
                flags |= {'peek': socket.MSG_PEEK, 'dontwait': socket.MSG_DONTWAIT, 'waitall': socket.MSG_WAITALL}[f]
            r = socks[args[0]].recv(args[1], flags).decode()
        elif name == 'shutdown':
            socks[args[0]].shutdown({'rd': socket.SHUT_RD, 'wr': socket.SHUT_WR, 'rdwr': socket.SHUT_RDWR}[args[1]]); r = 'ok'
        elif name == 'close':
            socks[args[0]].close(); r = 'ok'
        elif name == 'soerror':
            r = socks[args[0]].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            r = errno.errorcode.get(r, r) if r else 0
        elif name == 'reuseaddr':
            socks[args[0]].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); r = 'ok'
        elif name == 'linger0':
            socks[args[0]].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); r = 'ok'
        elif name == 'getpeername':
            socks[args[0]].getpeername(); r = 'ok'
        elif name == 'sleep':
            time.sleep(0.1); r = 'ok'
        else:
            r = 'unknown op ' + name
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    out.append(r)

print(json.dumps(out))
