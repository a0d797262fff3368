#!/usr/bin/env bats
# HTTPS beside HTTP: coved's local CA made on first start and kept after, the operator's own
# certificate, links that stay on the scheme they were asked over, git over HTTPS, and the
# cove CLI trusting the CA of a local coved (COVE_DATA_DIR, COVE_CA_FILE). Also the cove
# commands that go with the heroku CLI's: access, spaces:wait.

load helpers

setup_file() {
	coved_start
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"tls-space","team":"acme"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"tls-app","space":"tls-space"}' >/dev/null
}

teardown_file() {
	coved_stop
}

# tls_get URL [curl args]: a GET as the admin, verified with coved's CA only; prints the body.
tls_get() {
	local url=$1
	shift
	curl -fsS --cacert "$COVED_CA" -H "Authorization: Bearer $COVE_API_KEY" "$url" "$@"
}

@test "coved serves HTTPS with a certificate of its own CA, on the URL in run/api-tls.url" {
	[[ "$COVE_API_TLS_URL" == https://127.0.0.1:* ]]
	[ "${COVE_API_TLS_URL##*:}" != "${COVE_API_URL##*:}" ]
	[ "$(tls_get "$COVE_API_TLS_URL/spaces/tls-space" | jq -r .name)" = tls-space ]
	# localhost and ::1 are in the certificate too.
	tls_get "https://localhost:${COVE_API_TLS_URL##*:}/regions" >/dev/null
	[ "$(stat -c %a "$COVED_DATA/tls/ca-key.pem")" = 600 ]
	[ "$(stat -c %a "$COVED_DATA/tls/server-key.pem")" = 600 ]
	openssl verify -CAfile "$COVED_CA" "$COVED_DATA/tls/server.pem"
	# Without the CA a client refuses it.
	run curl -fsS -o /dev/null "$COVE_API_TLS_URL/regions"
	[ "$status" -ne 0 ]
	grep -q "clients trust:  $COVED_CA" "$COVED_DATA/coved.log"
}

@test "links follow the scheme of the request: log sessions; git URLs are HTTPS" {
	url=$(curl -fsS --cacert "$COVED_CA" -H "Authorization: Bearer $COVE_API_KEY" -H 'Content-Type: application/json' \
		-d '{"lines":1}' "$COVE_API_TLS_URL/apps/tls-app/log-sessions" | jq -r .logplex_url)
	[[ "$url" == "$COVE_API_TLS_URL/log-stream/"* ]]
	url=$(api_expect 201 POST /apps/tls-app/log-sessions '{"lines":1}' | jq -r .logplex_url)
	[[ "$url" == "$COVE_API_URL/log-stream/"* ]]
	[ "$(api GET /apps/tls-app | jq -r .git_url)" = "$COVE_API_TLS_URL/tls-app.git" ]
}

@test "writes over HTTP and HTTPS at once all succeed, each a release of its own" {
	before=$(api GET /apps/tls-app/releases | jq length)
	pids=()
	for i in $(seq 1 12); do
		for base in "$COVE_API_URL" "$COVE_API_TLS_URL"; do
			curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$COVED_CA" -X PATCH \
				-H "Authorization: Bearer $COVE_API_KEY" -H 'Content-Type: application/json' \
				-d "{\"K$i\":\"${base%%:*}\"}" "$base/apps/tls-app/config-vars" >>"$BATS_TEST_TMPDIR/codes" &
			pids+=($!)
		done
	done
	wait "${pids[@]}"
	[ "$(sort -u "$BATS_TEST_TMPDIR/codes")" = 200 ]
	[ "$(api GET /apps/tls-app/releases | jq length)" -eq $((before + 24)) ]
	[ "$(api GET /apps/tls-app/releases | jq '[.[].version] | unique | length')" -eq $((before + 24)) ]
	[ "$(api GET /apps/tls-app/config-vars | jq 'keys | length')" -eq 12 ]
}

@test "cove trusts the CA of COVE_DATA_DIR's coved and talks HTTPS to it; COVE_CA_FILE too" {
	run env -u COVE_API_URL COVE_DATA_DIR="$COVED_DATA" COVE_DEBUG= cove spaces:info tls-space --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .name <<<"$output")" = tls-space ]
	COVE_API_URL="$COVE_API_TLS_URL" COVE_CA_FILE="$COVED_CA" cove spaces:info tls-space >/dev/null
	run env COVE_API_URL="$COVE_API_TLS_URL" cove spaces:info tls-space
	[ "$status" -eq 1 ]
	[[ "$output" == *"certificate"* ]]
	run env COVE_CA_FILE="$BATS_TEST_TMPDIR/none.pem" cove spaces
	[ "$status" -eq 1 ]
	[[ "$output" == *"COVE_CA_FILE"*"none.pem"* ]]
}

@test "cove git:remote over HTTPS: git trusts the CA and gets the token from cove" {
	dir="$BATS_TEST_TMPDIR/repo"
	git init -q -b main "$dir"
	cd "$dir"
	COVE_API_URL="$COVE_API_TLS_URL" COVE_CA_FILE="$COVED_CA" cove git:remote -a tls-app
	[ "$(git remote get-url cove)" = "$COVE_API_TLS_URL/tls-app.git" ]
	[ "$(git config "http.$COVE_API_TLS_URL/.sslCAInfo")" = "$COVED_CA" ]
	# No GIT_SSL_CAINFO (it would win over the config): the repository's config is enough.
	COVE_API_URL="$COVE_API_TLS_URL" COVE_CA_FILE="$COVED_CA" GIT_TERMINAL_PROMPT=0 env -u GIT_SSL_CAINFO git ls-remote cove
}

@test "a restart keeps the CA and the server certificate; --listen-tls off serves HTTP only" {
	ca=$(cat "$COVED_CA")
	srv=$(cat "$COVED_DATA/tls/server.pem")
	coved_restart
	[ "$(cat "$COVED_CA")" = "$ca" ]
	[ "$(cat "$COVED_DATA/tls/server.pem")" = "$srv" ]
	tls_get "$COVE_API_TLS_URL/regions" >/dev/null

	local tls_url=$COVE_API_TLS_URL
	coved_restart --listen-tls off
	[ ! -e "$COVED_DATA/run/api-tls.url" ]
	api_expect 200 GET /regions >/dev/null
	# HTTPS again, on its port of before (the port after the API's may be another's by now).
	COVE_API_TLS_URL=$tls_url coved_restart
	[ -s "$COVED_DATA/run/api-tls.url" ]
}

@test "coved serves the operator's certificate; a key of another certificate is refused" {
	other=$(mktemp -d "$BATS_TEST_TMPDIR/other.XXXXXX")
	"$COVE_BUILD_DIR/coved" api --data-dir "$other" --listen 127.0.0.1:0 >"$other/log" 2>&1 &
	pid=$!
	for i in $(seq 1 50); do [ -s "$other/run/api-tls.url" ] && break; sleep 0.1; done
	kill "$pid"
	wait "$pid" || true
	coved_restart --tls-cert "$other/tls/server.pem" --tls-key "$other/tls/server-key.pem"
	run curl -fsS -o /dev/null --cacert "$COVED_CA" "$COVE_API_TLS_URL/regions"
	[ "$status" -ne 0 ]
	curl -fsS -o /dev/null --cacert "$other/tls/ca.pem" -H "Authorization: Bearer $COVE_API_KEY" "$COVE_API_TLS_URL/regions"

	run "$COVE_BUILD_DIR/coved" api --data-dir "$other" --listen 127.0.0.1:0 \
		--tls-cert "$other/tls/server.pem" --tls-key "$COVED_DATA/tls/server-key.pem"
	[ "$status" -eq 1 ]
	[[ "$output" == *"certificate '$other/tls/server.pem' with key '$COVED_DATA/tls/server-key.pem'"* ]]
	run "$COVE_BUILD_DIR/coved" api --data-dir "$other" --tls-cert "$other/tls/server.pem"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--tls-cert and --tls-key go together"* ]]
	coved_restart
}

@test "cove access lists the app's team with permissions; cove spaces:wait gives up after --timeout" {
	run cove access -a tls-app
	[ "$status" -eq 0 ]
	[[ "$output" =~ admin@cove.local\ +admin\ +view,\ deploy,\ operate,\ manage ]]
	# No agent here: the space stays allocating.
	run cove spaces:wait tls-space -i 1 --timeout 2
	[ "$status" -eq 1 ]
	[[ "$output" == *"space 'tls-space' is still allocating after 2 seconds"* ]]
	run cove spaces:wait tls-space -i 0
	[ "$status" -eq 2 ]
}
