#!/usr/bin/env python3
# The web app of the router tests: a small HTTP/1.1 server with keep-alive, run as a web dyno
# (`python3 router-app.py $PORT`). It prints one line per request it receives, on stdout (the
# dyno's log), so that a test can tell what reached the dyno. Endpoints:
#
#   /hello               "hello from <app>"
#   /echo                the request as JSON: method, path, headers, body length and sha256
#   /upload              the body's length and sha256 (Content-Length or chunked)
#   /download?mb=N[&chunked=1]   N MiB of a known pattern, with Content-Length or chunked
#   /slow?ms=N           answers after N ms
#   /hang                never answers (H12)
#   /close               closes the connection without answering (H13)
#   /partial             a head announcing 100 bytes, 10 of them, then closes (H18)
#   /stall               a head announcing 100 bytes, 10 of them, then nothing (H15)
#   /early               answers 413 at once without reading the body, then closes
#   /ws                  a WebSocket echo
import base64
import hashlib
import json
import os
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

APP = os.environ.get("HEROKU_APP_NAME", "app")
DYNO = os.environ.get("DYNO", "web.?")
LOG_LOCK = threading.Lock()
PATTERN = bytes(range(256)) * 4096  # 1 MiB


def log(line):
    with LOG_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Closed(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Closed()
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_some(self, n):
        if not self.buf:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def read_body(conn, headers, sink):
    te = headers.get("transfer-encoding", "")
    if te.lower() == "chunked":
        while True:
            size = int(conn.line().split(b";")[0], 16)
            if size == 0:
                while conn.line():
                    pass
                return
            left = size
            while left:
                data = conn.read_some(min(left, 65536))
                sink(data)
                left -= len(data)
            conn.read(2)
    n = int(headers.get("content-length", "0"))
    while n:
        data = conn.read_some(min(n, 65536))
        sink(data)
        n -= len(data)


def respond(sock, status, body, ctype="text/plain", extra=""):
    head = "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (status, ctype, len(body), extra)
    sock.sendall(head.encode() + body)


def websocket(conn, sock, headers):
    key = headers.get("sec-websocket-key", "")
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    while True:
        b0, b1 = conn.read(2)
        op, masked, n = b0 & 0x0F, b1 & 0x80, b1 & 0x7F
        if n == 126:
            n = int.from_bytes(conn.read(2), "big")
        elif n == 127:
            n = int.from_bytes(conn.read(8), "big")
        mask = conn.read(4) if masked else b"\0\0\0\0"
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(conn.read(n)))
        if op == 8:
            sock.sendall(b"\x88\x00")
            return
        frame = bytes([0x80 | op])
        if len(payload) < 126:
            frame += bytes([len(payload)])
        elif len(payload) < 65536:
            frame += bytes([126]) + len(payload).to_bytes(2, "big")
        else:
            frame += bytes([127]) + len(payload).to_bytes(8, "big")
        sock.sendall(frame + payload)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log("CONNECTION %s from %s" % (DYNO, self.client_address[0]))
        conn = Conn(sock)
        try:
            while True:
                self.one(conn, sock)
        except (Closed, ConnectionError, OSError):
            pass

    def one(self, conn, sock):
        request_line = conn.line().decode("latin-1")
        raw_headers = []
        while True:
            line = conn.line()
            if not line:
                break
            raw_headers.append(line.decode("latin-1"))
        headers = {}
        for h in raw_headers:
            name, _, value = h.partition(":")
            headers[name.strip().lower()] = value.strip()
        log("REQUEST %s %s" % (DYNO, json.dumps({"line": request_line, "headers": raw_headers})))
        method, target, _ = request_line.split(" ", 2)
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path

        if path == "/early":
            respond(sock, "413 Payload Too Large", b"too large\n", extra="Connection: close\r\n")
            raise Closed()
        if path == "/ws" and headers.get("upgrade", "").lower() == "websocket":
            websocket(conn, sock, headers)
            raise Closed()

        digest, size = hashlib.sha256(), [0]

        def sink(data):
            digest.update(data)
            size[0] += len(data)

        read_body(conn, headers, sink)

        if path == "/hello":
            respond(sock, "200 OK", ("hello from %s\n" % APP).encode())
        elif path == "/echo" or path == "/upload":
            body = {"method": method, "path": target, "headers": raw_headers, "bytes": size[0],
                    "sha256": digest.hexdigest(), "dyno": DYNO, "app": APP}
            respond(sock, "200 OK", (json.dumps(body) + "\n").encode(), "application/json")
        elif path == "/download":
            total = int(float(query.get("mb", "1")) * (1 << 20))
            if query.get("chunked"):
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
                left = total
                while left:
                    n = min(left, len(PATTERN))
                    sock.sendall(b"%x\r\n" % n + PATTERN[:n] + b"\r\n")
                    left -= n
                sock.sendall(b"0\r\n\r\n")
            else:
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % total)
                left = total
                while left:
                    n = min(left, len(PATTERN))
                    sock.sendall(PATTERN[:n])
                    left -= n
        elif path == "/slow":
            time.sleep(int(query.get("ms", "1000")) / 1000)
            respond(sock, "200 OK", b"slow\n")
        elif path == "/hang":
            time.sleep(3600)
        elif path == "/close":
            raise Closed()
        elif path in ("/partial", "/stall"):
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            if path == "/stall":
                time.sleep(3600)
            raise Closed()
        else:
            respond(sock, "404 Not Found", b"not found\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "5000"))
    bind = sys.argv[2] if len(sys.argv) > 2 else "0.0.0.0"
    log("listening on %s:%d" % (bind, port))
    Server((bind, port), Handler).serve_forever()
