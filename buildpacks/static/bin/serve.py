# A small static web server (python3 of the stack): serves ROOT on $PORT, answers 404 for
# what is missing, and never lists directories.
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def list_directory(self, path):
        self.send_error(404, "Not Found")
        return None

    def log_message(self, fmt, *args):
        sys.stdout.write('%s "%s"\n' % (self.address_string(), fmt % args))
        sys.stdout.flush()


root = sys.argv[1] if len(sys.argv) > 1 else "."
os.chdir(os.path.join("/app", root))
server = http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "5000"))), Handler)
server.serve_forever()
