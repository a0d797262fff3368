# Helpers of the one-off dyno tests (run.bats, release-phase.bats).

# run_tls_files DIR: a CA and a server certificate for 127.0.0.1 and localhost in DIR, named
# as coved's local CA names them (ca.pem, server.pem, server-key.pem).
run_tls_files() {
	local dir=$1
	mkdir -p "$dir"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=cove test CA" \
		-keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$dir/server-key.pem" -out "$dir/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/ext.cnf"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial -days 2 \
		-extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
}

# run_ready: the local CA in place (the tls module's, or made here) and the agent's rendezvous
# listening; exports COVE_CA_FILE.
run_ready() {
	[ -s "$COVED_DATA/tls/server.pem" ] || run_tls_files "$COVED_DATA/tls"
	export COVE_CA_FILE="$COVED_DATA/tls/ca.pem"
	log_has "rendezvous of one-off dynos at" 20
}

# rendezvous URL [INPUT]: a client of the protocol (tests/e2e/rendezvous-client.py).
rendezvous() {
	python3 "$BATS_TEST_DIRNAME/rendezvous-client.py" "$COVE_CA_FILE" "$@"
}

# wait_gone APP DYNO_ID [SECONDS]: the one-off dyno, its state and its network are gone.
wait_gone() {
	local i
	for i in $(seq 1 $((${3:-15} * 5))); do
		if [ ! -e "$COVED_DATA/agent/dynos/$2" ] && ! ip netns list | grep -q "cove-d-$2" &&
			[ "$(api GET "/apps/$1/dynos" | jq --arg id "$2" '[.[] | select(.id == $id)] | length')" -eq 0 ]; then
			return 0
		fi
		sleep 0.2
	done
	echo "one-off dyno $2 of $1 is still there" >&2
	return 1
}
