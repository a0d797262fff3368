#!/usr/bin/env bats
# One-off dynos end to end (issue 9): `cove run` attached through the agent's rendezvous (TLS),
# with and without a terminal, run:detached into the logs, in the app's space, gone afterwards.

load helpers
load runtime-helpers
load run-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	export COVED_ROLE=all
	coved_start --boot-timeout 10 --stop-timeout 3
	run_ready
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"space-r","team":"acme"}' >/dev/null
	wait_space space-r allocated
	api_expect 201 POST /teams/apps '{"name":"myapp","space":"space-r"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"svc","space":"space-r"}' >/dev/null
	api_expect 200 PATCH /apps/myapp/config-vars '{"GREETING":"hello from config"}' >/dev/null
	deploy_slug myapp '{"web":"exec python3 -m http.server $PORT"}' >/dev/null
	deploy_slug svc '{"worker":"exec socat TCP-LISTEN:7777,fork,reuseaddr SYSTEM:\"echo pong\""}' >/dev/null
	api_expect 200 PATCH /apps/myapp/formation '{"updates":[{"type":"web","quantity":0}]}' >/dev/null
	api_expect 200 PATCH /apps/svc/formation '{"updates":[{"type":"worker","quantity":1}]}' >/dev/null
	wait_dynos svc 1
}

teardown_file() {
	runtime_cleanup
}

@test "cove run prints the command's output and exits 0" {
	run cove run 'echo ok' -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = ok ] || [[ "$output" == *$'\n'ok ]]
	[[ "$(cove run 'echo $GREETING $DYNO' -a myapp 2>/dev/null)" == "hello from config run."[0-9][0-9][0-9][0-9] ]]
}

@test "cove run -x exits with the command's status" {
	run cove run -x 'exit 3' -a myapp
	[ "$status" -eq 3 ]
	run cove run -x 'echo fine' -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *fine* ]]
	[[ "$output" != *heroku-command-exit-status* ]]
}

@test "stdin goes to the dyno without a terminal" {
	run bash -c 'printf "hi\nthere\n" | cove run cat --no-tty -a myapp 2>/dev/null'
	[ "$status" -eq 0 ]
	[ "$output" = $'hi\nthere' ]
}

@test "with a terminal the dyno gets a pseudo-terminal of its own" {
	run python3 - "$COVE_BUILD_DIR/cove" <<'PY'
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "run", "bash", "-a", "myapp"])
out = b""
def read_for(seconds, until=None):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            out += chunk
            if until and until in out:
                return
read_for(20, b"$ ")
os.write(fd, b"tty; echo size=$(stty size); echo answer-$((6*7))\r")
read_for(10, b"answer-42")
os.write(fd, b"exit\r")
read_for(10)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
	[ "$status" -eq 0 ]
	[[ "$output" == */dev/pts/* ]]
	[[ "$output" == *answer-42* ]]
}

@test "a one-off dyno is in the space: it reaches another app's dyno by private IP" {
	ip=$(dyno_ip svc worker.1)
	run cove run -x "socat -T 5 - TCP:$ip:7777 </dev/null" -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *pong* ]]
}

@test "after the session the dyno, its sandbox and its network are gone; the secret is single-use" {
	dyno=$(api_expect 201 POST /apps/myapp/dynos '{"command":"echo session-over","attach":true,"force_no_tty":true}')
	url=$(jq -r .attach_url <<<"$dyno")
	id=$(jq -r .id <<<"$dyno")
	[[ "$url" == rendezvous://127.0.0.1:[0-9]*/* ]]
	[[ "$(jq -r .name <<<"$dyno")" == run.[0-9][0-9][0-9][0-9] ]]
	run rendezvous "$url"
	[ "$status" -eq 0 ]
	[[ "$output" == *session-over* ]]
	wait_gone myapp "$id"
	# Used: refused.
	run rendezvous "$url"
	[ "$status" -eq 3 ]
	# Never issued: refused.
	run rendezvous "${url%/*}/$(printf '%064d' 7)"
	[ "$status" -eq 3 ]
	log_has "Rendezvous session from 127.0.0.1:[0-9]+ attached"
	api_expect 200 GET /audit-events | jq -e '[.[] | select(.action | test("Run `echo session-over`"))] | length == 1' >/dev/null
}

@test "run:detached: the output goes to the app's log, and the dyno goes when it ends" {
	run cove run:detached 'echo detached-$((2+3))' -a myapp
	[ "$status" -eq 0 ]
	name=$(grep -o 'run\.[0-9]*' <<<"$output" | head -1)
	[ -n "$name" ]
	for i in $(seq 1 50); do
		cove logs -a myapp --dyno "$name" 2>/dev/null | grep -q "app\[$name\]: detached-5" && break
		sleep 0.2
	done
	cove logs -a myapp --dyno "$name" | grep -q "app\[$name\]: detached-5"
	cove logs -a myapp | grep -q "heroku\[$name\]: Process exited with status 0"
	for i in $(seq 1 50); do
		[ "$(api GET /apps/myapp/dynos | jq --arg n "$name" '[.[] | select(.name == $n)] | length')" -eq 0 ] && break
		sleep 0.2
	done
	[ "$(api GET /apps/myapp/dynos | jq --arg n "$name" '[.[] | select(.name == $n)] | length')" -eq 0 ]
}

@test "ps lists a running one-off dyno and ps:stop ends it; time_to_live ends another" {
	name=$(api_expect 201 POST /apps/myapp/dynos '{"command":"sleep 300"}' | jq -r .name)
	wait_dynos myapp 1 up
	run cove ps -a myapp
	[[ "$output" == *"$name: up"* ]]
	run cove ps:stop "$name" -a myapp
	[ "$status" -eq 0 ]
	wait_dynos myapp 0 up
	api_expect 201 POST /apps/myapp/dynos '{"command":"sleep 300","time_to_live":2}' >/dev/null
	wait_dynos myapp 1 up
	wait_dynos myapp 0 up 10
	cove logs -a myapp | grep -q "time to live of 2 seconds is up"
}

@test "POST /dynos checks who asks and what" {
	token=$(make_user outsider@example.com)
	api_as "$token" POST /apps/myapp/dynos '{"command":"echo no"}' >/dev/null
	[ "$(api_status)" = 403 ]
	refused 422 invalid_params POST /apps/myapp/dynos '{"attach":true}'
	refused 422 invalid_params POST /apps/myapp/dynos '{"command":"x","size":"huge"}'
	refused 422 invalid_params POST /apps/myapp/dynos '{"command":"x","time_to_live":0}'
	refused 422 invalid_params POST /apps/myapp/dynos '{"command":"x","env":{"A":1}}'
	refused 404 not_found POST /apps/nope/dynos '{"command":"x"}'
}
