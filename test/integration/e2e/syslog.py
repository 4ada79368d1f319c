#!/usr/bin/env python3
"""syslog.py SOCKET FILE - a minimal syslog receiver for the e2e sandbox:
binds a unix datagram socket (the sandbox's private /dev/log) and appends
every message to FILE, one line each, without the <priority> prefix."""
import os
import re
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(65536).decode("utf-8", "replace")
        f.write(re.sub(r"^<\d+>", "", msg).rstrip("\n\0") + "\n")
