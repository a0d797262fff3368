#!/usr/bin/env python3
# The dyno of the isolation matrix (tests/e2e/net-matrix.bats): `python3 net-matrix-app.py
# $PORT PORT2` answers, on the dyno's address,
#
#   TCP $PORT    HTTP: "<app> <dyno>" for any request (the router's way in)
#   TCP PORT2    "<app> <dyno>" and closes: a port the router knows nothing about
#   UDP PORT2    "<app> <dyno>" to every datagram
#
# so that a probe tells from the answer which dyno of which app it reached.
import http.server
import os
import socket
import socketserver
import sys
import threading

MARKER = "%s %s" % (os.environ.get("HEROKU_APP_NAME", "app"), os.environ.get("DYNO", "?"))


class Web(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (MARKER + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Marker(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall((MARKER + "\n").encode())


class Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        _, peer = s.recvfrom(2048)
        s.sendto((MARKER + "\n").encode(), peer)


def main():
    web, extra = int(sys.argv[1]), int(sys.argv[2])
    threading.Thread(target=udp, args=(extra,), daemon=True).start()
    marker = Threaded(("0.0.0.0", extra), Marker)
    threading.Thread(target=marker.serve_forever, daemon=True).start()
    http.server.ThreadingHTTPServer(("0.0.0.0", web), Web).serve_forever()


if __name__ == "__main__":
    main()
