#!/usr/bin/env python3
"""A client of the rendezvous of one-off dynos, for the tests: rendezvous-client.py CA URL [INPUT].

Connects over TLS (trusting CA), sends the secret, checks the acknowledgement record, sends
INPUT then 0x04, and prints what the dyno wrote until the server closes. Exit status: 0 after
a session, 3 when the server closed without an acknowledgement (the secret was refused)."""
import socket
import ssl
import sys
from urllib.parse import urlparse

ca, url = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else b""
u = urlparse(url)
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection((u.hostname, u.port), timeout=30) as raw:
    with ctx.wrap_socket(raw, server_hostname=u.hostname) as s:
        s.sendall(u.path[1:].encode() + b"\r\n")
        try:
            first = s.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            first = b""
        if first != b"rendezvous\r\n":
            sys.stderr.write("refused: %r\n" % first)
            sys.exit(3)
        s.sendall(data + b"\x04")
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLError, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
        sys.stdout.buffer.write(out)
