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
#   router-client.py many HOST:PORT HOSTNAME CONNECTIONS REQUESTS
#       CONNECTIONS connections at once, each with REQUESTS keep-alive requests in turn: an
#       /echo naming its connection and turn, an /upload of a random body (up to 256 KB, with
#       Content-Length or chunked), a /download of 1 MiB read slowly at first; checks that each
#       answer is the one to its own request, whole, and prints "N answers right", or the
#       wrong ones and exits 1
import base64
import hashlib
import json
import os
import random
import threading
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


class Reader:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise ValueError("connection closed")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        status = self.line().decode("latin-1")
        headers = {}
        while True:
            h = self.line()
            if not h:
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                n = int(self.line().split(b";")[0], 16)
                body += self.take(n)
                self.take(2)
                if n == 0:
                    break
        else:
            body = self.take(int(headers.get("content-length", "0")))
        return status, headers, body


def many(addr, hostname, connections, requests):
    pattern = bytes(range(256)) * 4096
    wrong, right = [], [0]
    lock = threading.Lock()
    start = threading.Barrier(connections)

    def one(k):
        rnd = random.Random(k)
        try:
            s = connect(addr)
            s.settimeout(30)
            r = Reader(s)
            start.wait()
            for i in range(requests):
                kind = i % 3
                if kind == 0:
                    path = "/echo?c=%d&i=%d" % (k, i)
                    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, hostname)).encode())
                    status, _, body = r.response()
                    ok = status.endswith("200 OK") and json.loads(body)["path"] == path
                elif kind == 1:
                    data = rnd.randbytes(rnd.randrange(0, 256 * 1024))
                    if rnd.random() < 0.5:
                        head = "POST /upload?c=%d HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (
                            k, hostname, len(data))
                        s.sendall(head.encode() + data)
                    else:
                        head = "POST /upload?c=%d HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % (
                            k, hostname)
                        s.sendall(head.encode() + (b"%x\r\n%s\r\n" % (len(data), data) if data else b"") + b"0\r\n\r\n")
                    status, _, body = r.response()
                    answer = json.loads(body)
                    ok = (status.endswith("200 OK") and answer["path"] == "/upload?c=%d" % k and
                          answer["bytes"] == len(data) and answer["sha256"] == hashlib.sha256(data).hexdigest())
                else:
                    s.sendall(("GET /download?mb=1 HTTP/1.1\r\nHost: %s\r\n\r\n" % hostname).encode())
                    time.sleep(0.05)  # the router meets a full socket: its writes to us come short
                    status, _, body = r.response()
                    ok = status.endswith("200 OK") and body == pattern
                with lock:
                    if ok:
                        right[0] += 1
                    else:
                        wrong.append("connection %d, request %d (%s): %s" % (k, i, ["echo", "upload", "download"][kind], status))
            s.close()
        except Exception as e:  # noqa: BLE001 - any failure is the test's answer
            with lock:
                wrong.append("connection %d: %r" % (k, e))

    threads = [threading.Thread(target=one, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("%d answers right" % right[0])
    for w in wrong[:20]:
        print(w)
    if wrong:
        raise SystemExit(1)


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
    elif cmd == "many":
        many(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit("unknown command " + cmd)
