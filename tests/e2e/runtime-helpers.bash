# Helpers of the runtime tests: coved with its agent (COVED_ROLE=all), apps released from
# slugs built here, dynos looked at from the host, and a cleanup that leaves nothing behind.

# deploy_slug APP PROCESS_TYPES_JSON [FILE...]: packs the files given (default: an index.html)
# into a slug's ./app, creates the slug, uploads it and releases it.
deploy_slug() {
	local app=$1 types=$2
	shift 2
	local dir
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/slug.XXXXXX")
	mkdir -p "$dir/app"
	echo "hello from $app" >"$dir/app/index.html"
	local f
	for f in "$@"; do cp "$f" "$dir/app/"; done
	tar -czf "$dir.tgz" -C "$dir" ./app
	local slug
	slug=$(api_expect 201 POST "/apps/$app/slugs" "{\"process_types\":$types}" | jq -r .id)
	curl -fsS -X PUT "$COVE_API_URL/apps/$app/slugs/$slug/blob" -H "Authorization: Bearer $COVE_API_KEY" \
		--data-binary "@$dir.tgz" >/dev/null
	api_expect 201 POST "/apps/$app/releases" "{\"slug\":\"$slug\"}" | jq -r .version
}

# dynos APP: "name state ip id" lines.
dynos() {
	api GET "/apps/$1/dynos" | jq -r '.[] | "\(.name) \(.state) \(.private_ip) \(.id)"'
}

# wait_dynos APP COUNT [STATE] [SECONDS]: until APP has COUNT dynos, all in STATE (default up).
wait_dynos() {
	local app=$1 count=$2 state=${3:-up} seconds=${4:-30} i
	for i in $(seq 1 $((seconds * 5))); do
		local all n
		all=$(api GET "/apps/$app/dynos")
		n=$(jq --arg s "$state" '[.[] | select(.state == $s)] | length' <<<"$all")
		if [ "$n" -eq "$count" ] && [ "$(jq length <<<"$all")" -eq "$count" ]; then
			return 0
		fi
		sleep 0.2
	done
	echo "app $app: wanted $count dynos $state, have:" >&2
	dynos "$app" >&2
	tail -20 "$COVED_DATA/coved.log" >&2
	return 1
}

# wait_space SPACE STATE [SECONDS]
wait_space() {
	local i
	for i in $(seq 1 $((${3:-20} * 5))); do
		[ "$(api GET "/spaces/$1" | jq -r .state)" = "$2" ] && return 0
		sleep 0.2
	done
	echo "space $1 is not $2: $(api GET "/spaces/$1")" >&2
	return 1
}

dyno_id() {
	api GET "/apps/$1/dynos/$2" | jq -r .id
}

dyno_ip() {
	api GET "/apps/$1/dynos/$2" | jq -r .private_ip
}

# in_dyno_net APP DYNO COMMAND...: runs a host command in the dyno's network namespace only
# (its network identity, not its sandbox).
in_dyno_net() {
	local id
	id=$(dyno_id "$1" "$2")
	shift 2
	ip netns exec "cove-d-$id" "$@"
}

# dyno_output APP DYNO: what the dyno printed.
dyno_output() {
	local id
	id=$(dyno_id "$1" "$2")
	cat "$COVED_DATA/agent/dynos/$id/sandbox/output.log" 2>/dev/null
}

# dyno_pid APP DYNO: the host pid of the dyno's command (the child of its init).
dyno_pid() {
	local id init
	id=$(dyno_id "$1" "$2")
	init=$(sed -n 's/^init_pid=//p' "$COVED_DATA/agent/dynos/$id/sandbox/pid" 2>/dev/null)
	pgrep -P "$init" | head -1
}

# Leaves nothing of this file's coved behind: destroys its apps and spaces through the API,
# waits for the agent to take them apart, then kills any dyno and removes any network left.
runtime_cleanup() {
	local app space i
	for app in $(api GET /apps | jq -r '.[].name'); do
		api DELETE "/apps/$app" >/dev/null
	done
	for i in $(seq 1 100); do
		[ -z "$(ls "$COVED_DATA/agent/dynos" "$COVED_DATA/agent/addons" 2>/dev/null | grep -v ':$')" ] && break
		sleep 0.2
	done
	for space in $(api GET /spaces | jq -r '.[].name'); do
		api DELETE "/spaces/$space" >/dev/null
	done
	for i in $(seq 1 50); do
		[ -z "$(api GET /spaces | jq -r '.[].name')" ] && break
		sleep 0.2
	done
	coved_stop
	# The safety net: whatever the agent could not remove.
	local f
	for f in "$COVED_DATA"/agent/dynos/*/sandbox/pid "$COVED_DATA"/agent/addons/*/sandbox/pid; do
		[ -e "$f" ] || continue
		for pid in $(sed -n 's/^\(shim\|init\)_pid=\([0-9]*\)$/\2/p' "$f"); do kill -9 "$pid" 2>/dev/null || true; done
	done
	for f in "$COVED_DATA"/agent/spaces/*.json; do
		[ -e "$f" ] || continue
		"$COVE_BUILD_DIR/src/net/cove-net" space-destroy --space "$(jq -r .id "$f")" >/dev/null 2>&1 || true
	done
	netns_sweep
}

# log_has PATTERN [SECONDS]: waits until coved's log has a line matching PATTERN (grep -E).
log_has() {
	local i
	for i in $(seq 1 $((${2:-10} * 5))); do
		grep -q -E "$1" "$COVED_DATA/coved.log" && return 0
		sleep 0.2
	done
	echo "no line matching '$1' in coved.log" >&2
	return 1
}
