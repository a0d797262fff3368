#!/usr/bin/env bats
# The dyno sandbox's life: start, output, exit status, graceful stop, survival of the caller,
# adoption, cleanup, and failures to start.

load sandbox-helpers

setup() { sandbox_setup; }
teardown() { sandbox_teardown; }

@test "sandbox: the command's exit code and its environment are recorded as given" {
	run sb_run code --env GREETING=hi --env EMPTY= --wait -- 'env | sort; exit 3'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(kv exit_code <<<"$output")" = "3" ]
	[ "$(kv wait_status <<<"$output")" = "768" ]
	[ "$(kv oom_killed <<<"$output")" = "false" ]
	# The whole environment is the spec's (the shell adds PWD), nothing of the caller's.
	run cat "$(sb_dir code)/output.log"
	[ "$output" = "$(printf 'EMPTY=\nGREETING=hi\nHOME=/app\nPATH=/usr/local/bin:/usr/bin:/bin\nPWD=/app')" ]
	# The same, read again later.
	run "$SANDBOX" status --state-dir "$(sb_dir code)"
	[ "$(kv state <<<"$output")" = "exited" ]
	[ "$(kv exit_code <<<"$output")" = "3" ]
}

@test "sandbox: stdout and stderr go to output.log, or to the output fd given" {
	sb_run log --wait -- 'echo out; echo err >&2'
	[ "$(cat "$(sb_dir log)/output.log")" = "$(printf 'out\nerr')" ]

	sb_run fd --output "$SB_TMP/captured" --wait -- 'echo out; echo err >&2'
	[ "$(cat "$SB_TMP/captured")" = "$(printf 'out\nerr')" ]
	[ ! -s "$(sb_dir fd)/output.log" ]
}

@test "sandbox: SIGTERM stops a sleep gracefully, and the status says so" {
	sb_run term -- 'trap "echo got TERM; exit 0" TERM; sleep 30 & wait'
	sleep 0.2
	start=$(date +%s%N)
	run "$SANDBOX" kill --state-dir "$(sb_dir term)"
	[ "$status" -eq 0 ]
	run "$SANDBOX" wait --state-dir "$(sb_dir term)" --timeout 10
	echo "$output"
	[ "$(kv exit_code <<<"$output")" = "0" ]
	[ "$(cat "$(sb_dir term)/output.log")" = "got TERM" ]
	# The shell's child got it too: the whole process group, at once.
	[ $(($(date +%s%N) - start)) -lt 5000000000 ]

	sb_run sleep -- 'exec sleep 30'
	"$SANDBOX" kill --state-dir "$(sb_dir sleep)" --signal TERM
	run "$SANDBOX" wait --state-dir "$(sb_dir sleep)" --timeout 10
	[ "$(kv signal <<<"$output")" = "TERM" ]
	[ "$(kv wait_status <<<"$output")" = "15" ]
}

@test "sandbox: SIGKILL of the caller leaves the dyno running, and adopt finds it" {
	"$SANDBOX" run --state-dir "$(sb_dir survivor)" --app-dir "$APP_DIR" --uid "$DYNO_UID" --gid "$DYNO_GID" \
		--wait -- 'exec sleep 30' >"$SB_TMP/run.out" 2>&1 3>&- &
	caller=$!
	wait_for grep -q shim_pid "$SB_TMP/run.out"
	shim=$(kv shim_pid <"$SB_TMP/run.out")
	kill -KILL "$caller"
	wait "$caller" || true
	! kill -0 "$caller" 2>/dev/null

	# The shim lives on, no child of the caller, its session its own.
	kill -0 "$shim"
	[ "$(ps -o ppid= -p "$shim" | tr -d ' ')" != "$caller" ]
	[ "$(ps -o sid= -p "$shim" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
	run "$SANDBOX" status --state-dir "$(sb_dir survivor)"
	echo "$output"
	[ "$(kv state <<<"$output")" = "running" ]
	[ "$(kv shim_pid <<<"$output")" = "$shim" ]
	[ "$(kv shim_start <<<"$output")" = "$(kv shim_start <"$SB_TMP/run.out")" ]
	[ "$(kv shim_start <<<"$output")" = "$(cut -d' ' -f22 "/proc/$shim/stat")" ]

	# Adoption checks the start time, not only the pid: a pid reused is not the shim.
	pidfile=$(sb_dir survivor)/pid
	cp "$pidfile" "$SB_TMP/pid.saved"
	sed -i 's/^shim_start=.*/shim_start=1/' "$pidfile"
	run "$SANDBOX" status --state-dir "$(sb_dir survivor)"
	[ "$status" -ne 0 ]
	[[ "$output" != *"state=running"* ]]
	run "$SANDBOX" kill --state-dir "$(sb_dir survivor)"
	[[ "$output" == *"gone"* ]]
	cp "$SB_TMP/pid.saved" "$pidfile"

	# A new caller stops it and reads the outcome.
	"$SANDBOX" kill --state-dir "$(sb_dir survivor)" --signal TERM
	run "$SANDBOX" wait --state-dir "$(sb_dir survivor)" --timeout 10
	[ "$(kv signal <<<"$output")" = "TERM" ]
}

@test "sandbox: a killed shim takes its dyno with it" {
	sb_run orphan -- 'exec sleep 30'
	shim=$(sb_field orphan shim_pid)
	init=$(sb_field orphan init_pid)
	kill -KILL "$shim"
	wait_for sh -c "! kill -0 $init 2>/dev/null"
	run "$SANDBOX" status --state-dir "$(sb_dir orphan)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no exit status"* ]]
	# Nobody removed its cgroup then: cleanup does.
	id=$(sb_field orphan id)
	[ -d "/sys/fs/cgroup/memory/cove/$id" ]
	"$SANDBOX" cleanup --state-dir "$(sb_dir orphan)"
	[ ! -e "/sys/fs/cgroup/memory/cove/$id" ]
}

@test "sandbox: cleanup removes cgroups, mounts and state; refuses while running; is idempotent" {
	sb_run gone -- 'exec sleep 30'
	dir=$(sb_dir gone)
	id=$(sb_field gone id)
	run "$SANDBOX" cleanup --state-dir "$dir"
	[ "$status" -ne 0 ]
	[[ "$output" == *"still runs"* ]]
	[ -d "/sys/fs/cgroup/memory/cove/$id" ]

	# The dyno's mounts never show on the host, even while it runs.
	! grep -q "$dir" /proc/self/mountinfo

	"$SANDBOX" kill --state-dir "$dir" --signal KILL
	"$SANDBOX" wait --state-dir "$dir" --timeout 10
	run "$SANDBOX" cleanup --state-dir "$dir"
	[ "$status" -eq 0 ]
	[ ! -e "$dir" ]
	for c in memory pids cpu; do
		[ ! -e "/sys/fs/cgroup/$c/cove/$id" ]
	done
	! grep -q "$dir" /proc/self/mountinfo
	run "$SANDBOX" cleanup --state-dir "$dir" --id "$id"
	[ "$status" -eq 0 ]
}

@test "sandbox: cleanup removes what a dyno wrote, however deep" {
	sb_run deep --wait -- 'cd /app; i=0; while [ $i -lt 300 ]; do mkdir d; cd d; i=$((i+1)); done; touch leaf; chmod 000 /app/d'
	dir=$(sb_dir deep)
	[ -d "$dir/app-upper/d/d/d" ]
	run "$SANDBOX" cleanup --state-dir "$dir"
	echo "$output"
	[ "$status" -eq 0 ]
	[ ! -e "$dir" ]
}

@test "sandbox: a failure to start is reported, and nothing is left running" {
	id=cove-test-badns-$$
	run sb_run badns --id "$id" --netns /run/netns/cove-no-such-ns -- true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"open network namespace '/run/netns/cove-no-such-ns'"* ]]
	# The shim took its cgroup away again.
	for c in memory pids cpu; do
		[ ! -e "/sys/fs/cgroup/$c/cove/$id" ]
	done
	run "$SANDBOX" cleanup --state-dir "$(sb_dir badns)" --id "$id"
	[ "$status" -eq 0 ]

	run sb_run root --uid 0 -- true
	[ "$status" -ne 0 ]
	[[ "$output" == *"must not run as root"* ]]

	run sb_run noapp --app-dir "$SB_TMP/no-such-slug" -- true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"mount 'overlay' on "*"/app'"* ]]

	sb_run twice -- 'exec sleep 30'
	run sb_run twice -- true
	[ "$status" -ne 0 ]
	[[ "$output" == *"holds a dyno"* ]]
}
