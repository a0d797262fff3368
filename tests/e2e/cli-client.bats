#!/usr/bin/env bats
# The CLI's API client against a fake API on 127.0.0.1 that answers what coved never does:
# no dynos route, huge answers, answers that are not JSON, messages on several lines. It also
# records what the CLI sends (headers, Range, bodies).

load helpers

setup_file() {
	FAKE_DIR=$BATS_FILE_TMPDIR/fake
	mkdir -p "$FAKE_DIR"
	cat >"$FAKE_DIR/fake.py" <<'EOF'
import http.server, json, sys

log = open(sys.argv[1], "a")

FORMATION = [
    {"type": "web", "quantity": 2, "size": "Private-M", "command": "python3 app.py"},
    {"type": "worker", "quantity": 0, "size": "Private-S", "command": "sleep 1"},
]


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else None
        log.write(json.dumps({"method": self.command, "path": self.path,
                              "headers": {k.lower(): v for k, v in self.headers.items()},
                              "body": body}) + "\n")
        log.flush()

    def do_GET(self):
        self.record()
        p = self.path
        if p == "/apps/legacy/formation":
            self.answer(200, FORMATION)
        elif p == "/apps/huge/config-vars":
            self.answer(200, {"BIG": "x" * (17 * 1024 * 1024)})
        elif p == "/apps/gateway/config-vars":
            self.answer(502, b"<html>bad gateway</html>", "text/html")
        elif p == "/apps/garbled/config-vars":
            self.answer(200, b"this is not json", "text/plain")
        elif p == "/apps/chatty/config-vars":
            self.answer(422, {"id": "invalid_params", "message": "first line\nsecond line"})
        elif p == "/apps/busy/formation":
            self.answer(200, FORMATION)
        elif p == "/apps/busy/dynos":
            self.answer(200, [
                {"name": "web.1", "type": "web", "state": "up", "size": "Private-M",
                 "command": "python3 app.py", "updated_at": "2020-01-01T00:00:00Z"},
                {"name": "web.2", "type": "web", "state": "starting", "size": "Private-M",
                 "command": "python3 app.py", "updated_at": "2020-01-01T00:00:00Z"},
                {"name": "run.1", "type": "run", "state": "up", "size": "Private-S",
                 "command": "bash", "updated_at": "2020-01-01T00:00:00Z"},
            ])
        elif p == "/apps/legacy/releases":
            self.answer(200, [{"id": "r7", "version": 7, "status": "succeeded"}])
        else:
            self.answer(404, {"id": "not_found", "message": "no route for GET " + p})

    def do_PATCH(self):
        self.record()
        if self.path == "/apps/legacy/config-vars":
            self.answer(200, {"FOO": "bar"})
        else:
            self.answer(404, {"id": "not_found", "message": "no route"})

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
EOF
	python3 "$FAKE_DIR/fake.py" "$FAKE_DIR/requests.jsonl" >"$FAKE_DIR/port" 2>"$FAKE_DIR/log" 3>&- &
	FAKE_PID=$!
	for _ in $(seq 1 50); do
		[ -s "$FAKE_DIR/port" ] && break
		sleep 0.1
	done
	COVE_API_URL=http://127.0.0.1:$(cat "$FAKE_DIR/port")
	COVE_API_KEY=fake-token-0123456789
	HOME=$FAKE_DIR/home
	mkdir -p "$HOME"
	export FAKE_DIR FAKE_PID COVE_API_URL COVE_API_KEY HOME
}

teardown_file() {
	kill "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	: >"$FAKE_DIR/requests.jsonl"
}

# The requests the fake API received, one JSON object per line.
requests() {
	cat "$FAKE_DIR/requests.jsonl"
}

@test "ps falls back to the formation when the API has no dynos route" {
	run cove ps -a legacy
	[ "$status" -eq 0 ]
	[ "$output" = "=== web (Private-M): python3 app.py (2)" ]
	run cove ps -a legacy --json
	[ "$(jq -r '.[0].type' <<<"$output")" = web ]
}

@test "ps groups the dynos the API reports by process type" {
	run env TZ=UTC cove ps -a busy
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== web (Private-M): python3 app.py (2)" ]
	[[ "${lines[1]}" == "web.1: up 2020/01/01 00:00:00 +0000 (~ "*"d ago)" ]]
	[[ "${lines[2]}" == "web.2: starting 2020/01/01 00:00:00 +0000"* ]]
	[ "${lines[3]}" = "=== run (Private-S): bash (1)" ]
	[[ "${lines[4]}" == "run.1: up "* ]]
}

@test "every request carries the token as Bearer, the Heroku Accept header, and a User-Agent" {
	cove ps -a legacy >/dev/null
	r=$(requests | head -1)
	[ "$(jq -r .headers.authorization <<<"$r")" = "Bearer fake-token-0123456789" ]
	[ "$(jq -r .headers.accept <<<"$r")" = "application/vnd.heroku+json; version=3" ]
	[[ "$(jq -r '.headers["user-agent"]' <<<"$r")" == cove/* ]]
}

@test "config:set sends the vars as JSON and asks for the newest release with a Range" {
	run cove config:set FOO=bar -a legacy
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Setting FOO and restarting legacy... done, v7" ]
	patch=$(requests | jq -c 'select(.method == "PATCH")')
	[ "$(jq -r .body <<<"$patch")" = '{"FOO":"bar"}' ]
	[ "$(jq -r '.headers["content-type"]' <<<"$patch")" = application/json ]
	range=$(requests | jq -r 'select(.path == "/apps/legacy/releases") | .headers.range')
	[ "$range" = "version ..; max=1, order=desc" ]
}

@test "an answer larger than 16 MB is refused, not cut" {
	msg=$(cli_refused 1 config -a huge)
	[ "$msg" = "the answer of the API to GET /apps/huge/config-vars is larger than 16 MB" ]
}

@test "an error answer that is not JSON names the status" {
	msg=$(cli_refused 1 config -a gateway)
	[ "$msg" = "the API at $COVE_API_URL answered HTTP 502" ]
}

@test "a success answer that is not JSON is an error" {
	msg=$(cli_refused 1 config -a garbled)
	[ "$msg" = "the API at $COVE_API_URL answered GET /apps/garbled/config-vars with something that is not JSON" ]
}

@test "a message on several lines is printed on one" {
	msg=$(cli_refused 1 config -a chatty)
	[ "$msg" = "first line second line" ]
}

@test "COVE_API_KEY is not printed in errors or help" {
	run cove config -a nope
	[[ "$output" != *fake-token* ]]
	run cove help
	[[ "$output" != *fake-token* ]]
}
