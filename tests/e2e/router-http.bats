#!/usr/bin/env bats
# The space router end to end, its HTTP (issue: "The space router"): bodies of 100 MB both
# ways, chunked and not, Expect: 100-continue, a WebSocket echo; each of Heroku's error codes
# with its page and its log line; request smuggling refused with 400 before it reaches a dyno;
# the limits of a request head and slow clients.

load helpers
load runtime-helpers
load router-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the router needs root"
	router_coved_start 18482
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"rt-http","team":"acme"}' >/dev/null
	wait_space rt-http allocated
	for app in web crash refuse drop; do
		api_expect 201 POST /teams/apps "{\"name\":\"$app\",\"space\":\"rt-http\"}" >/dev/null
	done
	deploy_router_app web
	# A web process that exits at once: its dyno is never up (H10).
	deploy_router_app crash 'exit 1'
	# Up (it listens on $PORT) but on loopback only: connections from the router are refused (H21).
	deploy_router_app refuse 'exec python3 router-app.py $PORT 127.0.0.1'
	deploy_router_app drop
	wait_dynos web 1
	wait_dynos refuse 1
	wait_dynos drop 1
	# drop: its dyno's namespace drops the router's connection attempts (H19).
	in_dyno_net drop web.1 nft -f - <<-'EOF'
		table inet cvtest {
			chain input {
				type filter hook input priority -10;
				tcp dport 5000 drop
			}
		}
	EOF
	export ADDR=$(space_ingress rt-http)
	wait_status rt-http web.rt-http.localhost /hello 200
}

teardown_file() {
	router_cleanup
}

@test "a 100 MB download, chunked and with Content-Length, arrives whole" {
	expected=$(python3 -c 'import hashlib; p = bytes(range(256)) * 4096; h = hashlib.sha256(); [h.update(p) for _ in range(100)]; print(h.hexdigest())')
	for mode in chunked=1 chunked=; do
		got=$(curl -sS -H 'Host: web.rt-http.localhost' "http://$ADDR/download?mb=100&$mode" -D "$BATS_TEST_TMPDIR/h" | sha256sum | cut -d' ' -f1)
		[ "$got" = "$expected" ]
	done
	grep -qi '^Content-Length: 104857600' "$BATS_TEST_TMPDIR/h"
}

@test "a 100 MB upload, chunked and with Content-Length, reaches the dyno whole" {
	head -c $((100 * 1024 * 1024)) /dev/urandom >"$BATS_TEST_TMPDIR/up"
	want=$(sha256sum "$BATS_TEST_TMPDIR/up" | cut -d' ' -f1)
	run curl -sS -H 'Host: web.rt-http.localhost' -H 'Transfer-Encoding: chunked' -H 'Expect:' -T "$BATS_TEST_TMPDIR/up" "http://$ADDR/upload"
	[ "$(jq -r .sha256 <<<"$output")" = "$want" ]
	grep -q 'Transfer-Encoding: chunked' <<<"$output"
	run curl -sS -H 'Host: web.rt-http.localhost' -H 'Expect:' --data-binary "@$BATS_TEST_TMPDIR/up" "http://$ADDR/upload"
	[ "$(jq -r .sha256 <<<"$output")" = "$want" ]
	[ "$(jq -r .bytes <<<"$output")" -eq $((100 * 1024 * 1024)) ]
	rm -f "$BATS_TEST_TMPDIR/up"
}

@test "Expect: 100-continue passes both ways" {
	curl -sS -v -H 'Host: web.rt-http.localhost' -H 'Expect: 100-continue' --data-binary 'some body' \
		-o "$BATS_TEST_TMPDIR/body" "http://$ADDR/upload" 2>"$BATS_TEST_TMPDIR/verbose"
	[ "$(jq -r .bytes "$BATS_TEST_TMPDIR/body")" -eq 9 ]
	grep -q '^> Expect: 100-continue' "$BATS_TEST_TMPDIR/verbose"
	dyno_requests web '"POST /upload' | grep -q 'Expect: 100-continue'
}

@test "a WebSocket echo through the router" {
	big=$(head -c 70000 /dev/zero | tr '\0' w)
	run python3 "$ROUTER_CLIENT" ws "$ADDR" web.rt-http.localhost hello "a second message" "$big"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "HTTP/1.1 101 Switching Protocols" ]
	[ "${lines[1]}" = hello ]
	[ "${lines[2]}" = "a second message" ]
	[ "${lines[3]}" = "$big" ]
	wait_log rt-http 'web heroku\[router\]: at=info method=GET path="/ws" .* status=101' >/dev/null
}

@test "H10: the app's web dynos crashed" {
	[ "$(rstatus rt-http crash.rt-http.localhost /)" = 503 ]
	run rcurl rt-http crash.rt-http.localhost /
	[[ "$output" == *"Application Error"* ]]
	wait_log rt-http 'crash heroku\[router\]: at=error code=H10 desc="App crashed" method=GET path="/" host=crash.rt-http.localhost .* dyno= connect= service= status=503' >/dev/null
}

@test "H12: no response within the response timeout" {
	[ "$(rstatus rt-http web.rt-http.localhost /hang)" = 503 ]
	wait_log rt-http 'web heroku\[router\]: at=error code=H12 desc="Request timeout" method=GET path="/hang" .* dyno=web.1 connect=[0-9]+ms service=2[0-9]{3}ms status=503' >/dev/null
}

@test "H13: the dyno closed the connection without a response" {
	[ "$(rstatus rt-http web.rt-http.localhost /close)" = 503 ]
	wait_log rt-http 'web heroku\[router\]: at=error code=H13 desc="Connection closed without response" method=GET path="/close" .* status=503' >/dev/null
}

@test "H15: the response stalled; H18: the response was cut short" {
	run rcurl rt-http web.rt-http.localhost /stall
	[[ "$output" == *0123456789* ]]
	wait_log rt-http 'web heroku\[router\]: at=error code=H15 desc="Idle connection" method=GET path="/stall" ' >/dev/null
	run rcurl rt-http web.rt-http.localhost /partial
	[ "$status" -eq 18 ] # curl: the transfer closed with bytes remaining
	wait_log rt-http 'web heroku\[router\]: at=error code=H18 desc="Server Request Interrupted" method=GET path="/partial" ' >/dev/null
}

@test "H19: the connection to the dyno timed out" {
	[ "$(rstatus rt-http drop.rt-http.localhost /hello)" = 503 ]
	wait_log rt-http 'drop heroku\[router\]: at=error code=H19 desc="Backend connection timeout" method=GET path="/hello" .* status=503' >/dev/null
}

@test "H21: the dyno refused the connection" {
	[ "$(rstatus rt-http refuse.rt-http.localhost /hello)" = 503 ]
	wait_log rt-http 'refuse heroku\[router\]: at=error code=H21 desc="Backend connection refused" method=GET path="/hello" .* status=503' >/dev/null
}

@test "a dyno that refuses is taken out of rotation and the request goes to another" {
	# web gets a second dyno that refuses: requests still all succeed.
	id=$(dyno_id web web.1)
	api_expect 200 PATCH /apps/web/formation/web '{"quantity":2}' >/dev/null
	wait_dynos web 2
	in_dyno_net web web.2 nft -f - <<-'EOF'
		table inet cvtest {
			chain input {
				type filter hook input priority -10;
				tcp dport 5000 reject with tcp reset
			}
		}
	EOF
	for i in $(seq 1 20); do
		[ "$(rstatus rt-http web.rt-http.localhost /hello)" = 200 ]
	done
	! router_log rt-http | grep 'web heroku' | grep -q 'code=H21'
	api_expect 200 PATCH /apps/web/formation/web '{"quantity":1}' >/dev/null
	wait_dynos web 1
	[ "$(dyno_id web web.1)" = "$id" ]
}

@test "H27: the client gave up before the response" {
	python3 "$ROUTER_CLIENT" hold "$ADDR" web.rt-http.localhost '/slow?ms=1500' 0.3
	wait_log rt-http 'web heroku\[router\]: at=error code=H27 desc="Client Request Interrupted" method=GET path="/slow\?ms=1500" .* status=499' >/dev/null
}

@test "request smuggling shapes are refused with 400 and never reach a dyno" {
	h=web.rt-http.localhost
	shapes=(
		"POST /smuggle-1 HTTP/1.1\r\nHost: $h\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-1 HTTP/1.1\r\nHost: $h\r\n\r\n"
		"POST /smuggle-2 HTTP/1.1\r\nHost: $h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGET /smuggled-2 HTTP/1.1\r\n\r\n0\r\n\r\n"
		"POST /smuggle-3 HTTP/1.1\r\nHost: $h\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\nGET /smuggled-3 HTTP/1.1\r\nHost: $h\r\n\r\n"
		"POST /smuggle-4 HTTP/1.1\r\nHost: $h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
		"POST /smuggle-5 HTTP/1.1\r\nHost: $h\r\nContent-Length: 5, 5\r\n\r\nhello"
		"POST /smuggle-6 HTTP/1.1\r\nHost: $h\r\nContent-Length: +5\r\n\r\nhello"
		"POST /smuggle-7 HTTP/1.1\r\nHost: $h\r\nContent-Length : 5\r\n\r\nhello"
		"POST /smuggle-8 HTTP/1.1\r\nHost: $h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"
		"POST /smuggle-9 HTTP/1.1\r\nHost: $h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"
		"POST /smuggle-10 HTTP/1.1\r\nHost: $h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"
		"POST /smuggle-11 HTTP/1.1\r\nHost: $h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"
		"POST /smuggle-12 HTTP/1.1\r\nHost: $h\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n"
		"POST /smuggle-13 HTTP/1.0\r\nHost: $h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		"GET /smuggle-14 HTTP/1.1\r\nHost: $h\r\nX-Bare: a\rb\r\n\r\n"
		"GET /smuggle-15 HTTP/1.1\nHost: $h\n\n"
		"GET /smuggle-16 HTTP/1.1\r\nHost: $h\r\nHost: other.example\r\n\r\n"
		"GET /smuggle-17 HTTP/1.1\r\nHost: $h\r\nConnection: content-length\r\nContent-Length: 44\r\n\r\nGET /smuggled-17 HTTP/1.1\r\nHost: $h\r\n\r\n"
		"GET http://other.example/smuggle-18 HTTP/1.1\r\nHost: $h\r\n\r\n"
		"POST /smuggle-19 HTTP/1.1\r\nHost: $h\r\nContent-Length: 99999999999999999999\r\n\r\n"
		"GET /smuggle-20 HTTP/1.1\r\nHost: $h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 44\r\n\r\nGET /smuggled-20 HTTP/1.1\r\nHost: $h\r\n\r\n"
	)
	i=0
	for shape in "${shapes[@]}"; do
		i=$((i + 1))
		run python3 "$ROUTER_CLIENT" raw "$ADDR" - < <(printf "$shape")
		if [ "$output" != "HTTP/1.1 400 Bad Request" ]; then
			echo "shape $i: $output" >&2
			return 1
		fi
	done
	# Invalid chunk sizes: the head passes, the body does not; nothing more reaches the dyno.
	for size in 0x5 -1 " 5" 11111111111111111 5z; do
		run python3 "$ROUTER_CLIENT" raw "$ADDR" - < <(printf "POST /upload HTTP/1.1\r\nHost: $h\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nhello\r\n0\r\n\r\nGET /smuggled-chunk HTTP/1.1\r\nHost: $h\r\n\r\n" "$size")
		[[ "$output" != *"200 OK"* ]]
	done
	sleep 0.5
	[ -z "$(dyno_requests web smuggle)" ]
	[ "$(router_log rt-http | grep -c 'code=H26 desc="Request Error" .* status=400')" -ge 20 ]
}

@test "head limits and slow clients: 414, 431, 408, and the versions refused" {
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	run python3 "$ROUTER_CLIENT" raw "$ADDR" - < <(printf "GET /$long HTTP/1.1\r\nHost: web.rt-http.localhost\r\n\r\n")
	[ "$output" = "HTTP/1.1 414 URI Too Long" ]
	run python3 "$ROUTER_CLIENT" raw "$ADDR" - < <(printf "GET / HTTP/1.1\r\nHost: web.rt-http.localhost\r\nX-Big: $long\r\n\r\n")
	[ "$output" = "HTTP/1.1 431 Request Header Fields Too Large" ]
	run python3 "$ROUTER_CLIENT" raw "$ADDR" - < <(printf "GET / HTTP/2.0\r\nHost: web.rt-http.localhost\r\n\r\n")
	[ "$output" = "HTTP/1.1 505 HTTP Version Not Supported" ]
	run python3 "$ROUTER_CLIENT" raw "$ADDR" - < <(printf "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
	[ "$output" = "HTTP/1.1 405 Method Not Allowed" ]
	# Half a head, then nothing: the header timeout (2 s here) answers 408.
	start=$(date +%s%N)
	run python3 -c '
import socket, sys
s = socket.create_connection(sys.argv[1].rsplit(":", 1))
s.sendall(b"GET / HTTP/1.1\r\nHost: web")
s.settimeout(10)
print(s.recv(4096).split(b"\r\n")[0].decode())' "$ADDR"
	[ "$output" = "HTTP/1.1 408 Request Timeout" ]
	[ $(($(date +%s%N) - start)) -lt 6000000000 ]
}
