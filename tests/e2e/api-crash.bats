#!/usr/bin/env bats
# Killing coved with SIGKILL in the middle of a burst of writes loses no committed change:
# every write that was answered 200 is there after a restart, and no write is there by
# halves (its config change without its release, or the other way round).

load helpers

setup_file() {
	coved_start
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"prod","team":"acme"}' >/dev/null
	api_expect 201 POST /apps '{"name":"crash-a","space":"prod"}' >/dev/null
	api_expect 201 POST /apps '{"name":"crash-b","space":"prod"}' >/dev/null
}

teardown_file() {
	coved_stop
}

# writer APP ACKED STOP FIRST: PATCHes the app's config in a loop, write i (from FIRST on)
# setting COUNTER=i and K_i=i, and appends i to ACKED for each write answered 200, until the
# file STOP exists.
writer() {
	local app=$1 acked=$2 stop=$3 i=$(($4 - 1)) code
	while [ ! -e "$stop" ]; do
		i=$((i + 1))
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X PATCH "$COVE_API_URL/apps/$app/config-vars" \
			-H "Authorization: Bearer $COVE_API_KEY" -H "Content-Type: application/json" \
			--data-binary "{\"COUNTER\":\"$i\",\"K_$i\":\"$i\"}") || true
		if [ "$code" = 200 ]; then
			echo "$i" >>"$acked"
		elif [ "$code" = 000 ]; then
			sleep 0.01 # coved is gone; do not spin
		fi
	done
}

# Lines in a file (0 when it does not exist).
lines() {
	[ -e "$1" ] && wc -l <"$1" || echo 0
}

# check_app APP ACKED: every acknowledged write of the app is in its config and its releases.
check_app() {
	local app=$1 acked=$2 config releases n_acked last_acked
	config=$(api_expect 200 GET "/apps/$app/config-vars")
	releases=$(api_expect 200 GET "/apps/$app/releases" -H "Range: version ..; max=1000")
	n_acked=$(lines "$acked")
	last_acked=$(tail -n 1 "$acked")
	echo "# $app: $n_acked writes acknowledged, the last $last_acked; $(jq length <<<"$releases") releases" >&3

	# The final config has the last acknowledged value or a later one.
	jq -e --argjson last "$last_acked" '(.COUNTER | tonumber) >= $last' <<<"$config" >/dev/null ||
		{ echo "$app: COUNTER $(jq -r .COUNTER <<<"$config") is older than the acknowledged $last_acked" >&2; return 1; }
	# Every acknowledged write is there.
	local missing
	missing=$(jq -r --slurpfile acked <(cat "$acked") \
		'. as $c | [$acked[] | select($c["K_\(.)"] != "\(.)")] | map(tostring) | join(" ")' <<<"$config")
	[ -z "$missing" ] || { echo "$app: acknowledged writes lost: $missing" >&2; return 1; }
	# Release versions are contiguous from v1, one per write that made it (acknowledged or not).
	jq -e '[.[].version] == [range(1; length + 1)]' <<<"$releases" >/dev/null ||
		{ echo "$app: release versions have gaps: $(jq -c '[.[].version]' <<<"$releases")" >&2; return 1; }
	local n_releases n_keys
	n_releases=$(jq length <<<"$releases")
	n_keys=$(jq '[keys[] | select(startswith("K_"))] | length' <<<"$config")
	[ "$n_releases" -ge $((n_acked + 1)) ] ||
		{ echo "$app: $n_releases releases for $n_acked acknowledged writes" >&2; return 1; }
	[ "$n_releases" = $((n_keys + 1)) ] ||
		{ echo "$app: $n_keys writes in the config but $n_releases releases: a write is there by halves" >&2; return 1; }
	# The current release's snapshot is the config.
	local v
	v=$(jq '.[-1].version' <<<"$releases")
	[ "$(api GET "/apps/$app/releases/$v/config-vars" | jq -cS .)" = "$(jq -cS . <<<"$config")" ]
}

@test "SIGKILL during a burst of writes loses no acknowledged write" {
	dir=$BATS_TEST_TMPDIR
	# A coved of this shell's own, so that the shell reaps the one it kills (bash would
	# otherwise report the killed job of setup_file in the middle of the TAP output).
	coved_restart
	for round in 1 2; do
		rm -f "$dir/stop"
		writer crash-a "$dir/acked-a" "$dir/stop" $((round * 100000)) 3>&- &
		pid_a=$!
		writer crash-b "$dir/acked-b" "$dir/stop" $((round * 100000)) 3>&- &
		pid_b=$!
		# Let the burst run until enough writes were acknowledged, then kill coved in its middle.
		want=$(($(lines "$dir/acked-a") + $(lines "$dir/acked-b") + 40))
		for _ in $(seq 1 100); do
			[ $(($(lines "$dir/acked-a") + $(lines "$dir/acked-b"))) -ge "$want" ] && break
			sleep 0.05
		done
		coved_kill
		touch "$dir/stop"
		wait "$pid_a" "$pid_b"
		[ "$(lines "$dir/acked-a")" -gt 0 ]
		[ "$(lines "$dir/acked-b")" -gt 0 ]

		coved_restart
		check_app crash-a "$dir/acked-a"
		check_app crash-b "$dir/acked-b"
		[ "$(sqlite3 "$COVED_DATA/cove.db" 'PRAGMA integrity_check')" = ok ]
	done

	# The store takes writes again, numbered on from the last release.
	last=$(api GET /apps/crash-a/releases -H "Range: version ..; max=1, order=desc" | jq '.[0].version')
	body=$(api_expect 200 PATCH /apps/crash-a/config-vars '{"AFTER":"restart"}')
	[ "$(jq -r .AFTER <<<"$body")" = restart ]
	[ "$(api GET /apps/crash-a/releases -H "Range: version ..; max=1, order=desc" | jq '.[0].version')" = $((last + 1)) ]
}
