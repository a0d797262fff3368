#!/usr/bin/env bats
# The dyno sandbox's cgroup limits: memory (the OOM killer, recorded), processes (a fork bomb
# stays inside), and the values written to the cgroup.

load sandbox-helpers

setup() { sandbox_setup; }
teardown() { sandbox_teardown; }

# The dyno's cgroup directory of a v1 controller (this suite runs on the host's hierarchies).
cg() {
	echo "/sys/fs/cgroup/$2/cove/$(sb_field "$1" id)"
}

@test "sandbox: the cgroup holds the dyno with its limits" {
	sb_run limits --memory 64M --pids 40 --cpu-weight 50 -- 'exec sleep 30'
	[ "$(cat "$(cg limits memory)/memory.limit_in_bytes")" = "67108864" ]
	if [ -e "$(cg limits memory)/memory.memsw.limit_in_bytes" ]; then
		[ "$(cat "$(cg limits memory)/memory.memsw.limit_in_bytes")" = "67108864" ]
	fi
	[ "$(cat "$(cg limits pids)/pids.max")" = "40" ]
	[ "$(cat "$(cg limits cpu)/cpu.shares")" = "512" ]
	# Init and the command, and nothing else, in each hierarchy.
	for c in memory pids cpu; do
		[ "$(wc -l <"$(cg limits $c)/cgroup.procs")" -eq 2 ]
		grep -q -x "$(sb_field limits init_pid)" "$(cg limits $c)/cgroup.procs"
	done
	# The shim stays outside: an OOM kill in the dyno cannot take its supervisor.
	! grep -q -x "$(sb_field limits shim_pid)" "$(cg limits memory)/cgroup.procs"
	run "$SANDBOX" status --state-dir "$(sb_dir limits)"
	[[ "$output" == *"memory_limit=67108864"* ]]
	[[ "$output" == *"oom_kills=0"* ]]
}

@test "sandbox: memory over the limit gets the command killed, recorded as an OOM kill" {
	run sb_run oom --memory 32M --wait -- 'echo allocating; exec tail /dev/zero'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(kv signal <<<"$output")" = "KILL" ]
	[ "$(kv oom_killed <<<"$output")" = "true" ]
	[ "$(kv wait_status <<<"$output")" = "9" ]
	[ "$(cat "$(sb_dir oom)/output.log")" = "allocating" ]
	grep -q "ended: killed by signal 9 (out of memory)" "$(sb_dir oom)/shim.log"
	# Its counters recorded, the shim took the cgroup away.
	for c in memory pids cpu; do
		[ ! -e "$(cg oom $c)" ]
	done
}

@test "sandbox: a dyno within its memory does not count as OOM-killed" {
	run sb_run fine --memory 32M --wait -- 'head -c 8000000 /dev/zero | tail -c 1 >/dev/null; kill -9 $$'
	[ "$(kv signal <<<"$output")" = "KILL" ]
	[ "$(kv oom_killed <<<"$output")" = "false" ]
}

@test "sandbox: the dyno cannot fork beyond its process limit" {
	sb_run forks --pids 16 -- 'sh -c "i=0; while [ \$i -lt 40 ]; do sleep 30 & i=\$((i+1)); done; echo all forked"
		echo "loop ended $?"; exec sleep 30'
	wait_for grep -q "loop ended" "$(sb_dir forks)/output.log"
	cat "$(sb_dir forks)/output.log"
	grep -q "Cannot fork" "$(sb_dir forks)/output.log"
	grep -q "loop ended 2" "$(sb_dir forks)/output.log"
	! grep -q "all forked" "$(sb_dir forks)/output.log"
	[ "$(sed -n 's/^max //p' "$(cg forks pids)/pids.events")" -gt 0 ]
	[ "$(cat "$(cg forks pids)/pids.current")" -le 16 ]
}

@test "sandbox: a fork bomb is contained by pids.max, the host stays fine, SIGKILL ends it" {
	# The bomb starts in a subshell and the dyno's shell then execs: a fork of its own could
	# lose the race for a pid to the bomb and end the dyno.
	sb_run bomb --pids 64 -- '(b() { b | b & }; b); exec sleep 30'
	pids=$(cg bomb pids)
	wait_for grep -q -E "^max [1-9]" "$pids/pids.events"
	[ "$(cat "$pids/pids.current")" -le 64 ]
	# The host can still start processes.
	run /bin/sh -c 'echo alive'
	[ "$output" = "alive" ]
	run "$SANDBOX" kill --state-dir "$(sb_dir bomb)" --signal KILL
	[ "$status" -eq 0 ]
	run "$SANDBOX" wait --state-dir "$(sb_dir bomb)" --timeout 10
	echo "$output"
	[ "$(kv signal <<<"$output")" = "KILL" ]
	# Every process of it gone, or the shim could not have removed the cgroup.
	[ ! -e "$pids" ]
}
