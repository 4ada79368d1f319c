#!/usr/bin/env python3
"""replay.py PORT MONFILE SCRIPT FIRST LAST - SCRIPT LOAD the script, then
send EVALSHA lines FIRST..LAST-1 of a MONITOR capture with its sha."""
import os, re, socket, sys

def unq(s):
    out = bytearray(); i = 0
    while i < len(s):
        c = s[i]
        if c == '\\':
            n = s[i+1]
            if n == 'x':
                out.append(int(s[i+2:i+4], 16)); i += 4; continue
            out += {'n': b'\n', 'r': b'\r', 't': b'\t', 'a': b'\a', 'b': b'\b',
                    '"': b'"', '\\': b'\\'}[n]
            i += 2; continue
        out += c.encode('latin-1'); i += 1
    return bytes(out)

tok = re.compile(r'"((?:[^"\\]|\\.)*)"')
def parse(line):
    return [unq(m) for m in tok.findall(line.split('] ', 1)[1])]

def resp(args):
    b = b'*%d\r\n' % len(args)
    for a in args:
        b += b'$%d\r\n%s\r\n' % (len(a), a)
    return b

class R:
    def __init__(s, port):
        s.k = socket.create_connection(('127.0.0.1', port)); s.f = s.k.makefile('rb')
    def cmd(s, args):
        s.k.sendall(resp(args)); return s.read()
    def read(s):
        l = s.f.readline()
        t = l[:1]
        if t in b'+-:':
            if t == b'-': raise SystemExit('error: ' + l.decode())
            return l[1:-2]
        if t == b'$':
            n = int(l[1:]);
            if n < 0: return None
            d = s.f.read(n + 2); return d[:-2]
        if t == b'*':
            n = int(l[1:]); return [s.read() for _ in range(max(n, 0))]
        raise SystemExit('bad reply %r' % l)

port, mon, script, first, last = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
r = R(port)
sha = r.cmd([b'SCRIPT', b'LOAD', open(script, 'rb').read()])
lines = open(mon, encoding='latin-1').read().splitlines()[first:last]
n = 0
for l in lines:
    a = parse(l); a[1] = sha
    rep = r.cmd(a); n += 1
    if os.environ.get("ALL"): print(rep)
print('replayed', n, file=sys.stderr)
