#!/usr/bin/env python3
# A client for the router tests, for what curl does not do:
#
#   router-client.py ws HOST:PORT HOSTNAME [MESSAGES...]
#       a WebSocket handshake on /ws, then each message sent and its echo printed, one per
#       line; then a close
#   router-client.py raw HOST:PORT FILE|-
#       sends the bytes (a request, or several) as they are, prints the status line of every
#       response the router sends back until it closes or stays quiet for a second
#   router-client.py pipeline HOST:PORT HOSTNAME N
#       N requests for /hello in one write; prints the statuses of the N responses
#   router-client.py hold HOST:PORT HOSTNAME PATH SECONDS
#       sends the request, then closes after SECONDS without reading (the client gives up)
import base64
import os
import re
import socket
import sys
import time


def connect(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_until(s, marker):
    data = b""
    while marker not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed before %r: %r" % (marker, data))
        data += chunk
    return data


def ws(addr, hostname, messages):
    s = connect(addr)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (hostname, key)).encode())
    data = recv_until(s, b"\r\n\r\n")
    head, rest = data.split(b"\r\n\r\n", 1)
    print(head.split(b"\r\n")[0].decode())
    buf = rest
    for m in messages:
        payload = m.encode()
        mask = os.urandom(4)
        frame = bytes([0x81])
        if len(payload) < 126:
            frame += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            frame += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
        else:
            frame += bytes([0x80 | 127]) + len(payload).to_bytes(8, "big")
        frame += mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        s.sendall(frame)
        while True:
            if len(buf) >= 2:
                n = buf[1] & 0x7F
                off = 2
                if n == 126:
                    n, off = int.from_bytes(buf[2:4], "big"), 4
                elif n == 127:
                    n, off = int.from_bytes(buf[2:10], "big"), 10
                if len(buf) >= off + n:
                    print(buf[off:off + n].decode())
                    buf = buf[off + n:]
                    break
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("closed during the echo")
            buf += chunk
    s.sendall(bytes([0x88, 0x80]) + os.urandom(4))
    s.close()


def statuses(s, quiet=1.0):
    s.settimeout(quiet)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    for status in re.findall(rb"HTTP/1\.[01] [0-9]{3}[^\r\n]*", data):
        print(status.decode("latin-1"))


def raw(addr, path):
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    s = connect(addr)
    s.sendall(data)
    statuses(s)


def pipeline(addr, hostname, n):
    s = connect(addr)
    s.sendall(("GET /hello HTTP/1.1\r\nHost: %s\r\n\r\n" % hostname).encode() * n)
    statuses(s)


def hold(addr, hostname, path, seconds):
    s = connect(addr)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, hostname)).encode())
    time.sleep(seconds)
    s.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "ws":
        ws(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "raw":
        raw(sys.argv[2], sys.argv[3])
    elif cmd == "pipeline":
        pipeline(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "hold":
        hold(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
    else:
        raise SystemExit("unknown command " + cmd)
