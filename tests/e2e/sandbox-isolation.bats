#!/usr/bin/env bats
# The dyno sandbox isolates: its own pid tree, hostname, read-only stack, private /app, a
# non-root uid without capabilities, no inherited fds, its own network namespace.

load sandbox-helpers

setup() { sandbox_setup; }
teardown() { sandbox_teardown; }

@test "sandbox: ps inside shows only the dyno's own tree, pid 1 is its init" {
	run sb_run ps --wait -- 'ps -e -o pid=,ppid=,comm='
	[ "$status" -eq 0 ]
	[[ "$output" == *"exit_code=0"* ]]
	run cat "$(sb_dir ps)/output.log"
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^\ *1\ +0\ cove-init$ ]]
	[[ "${lines[1]}" =~ ^\ *2\ +1\ sh$ ]]
	[[ "${lines[2]}" =~ \ ps$ ]]
}

@test "sandbox: the hostname is the dyno's name, in the kernel and in /etc" {
	sb_run host --hostname web.1 --wait -- 'hostname; cat /etc/hostname; grep -c "web.1" /etc/hosts; uname -n'
	run cat "$(sb_dir host)/output.log"
	[ "${lines[0]}" = "web.1" ]
	[ "${lines[1]}" = "web.1" ]
	[ "${lines[2]}" = "1" ]
	[ "${lines[3]}" = "web.1" ]
	# The host's name did not change.
	[ "$(hostname)" != "web.1" ]
}

@test "sandbox: the stack is read-only: /usr, /etc and / refuse writes" {
	sb_run ro --wait -- '
		for f in /usr/cove-test /etc/cove-test /cove-test /etc/hostname; do
			if (echo x >"$f") 2>/dev/null; then echo "wrote $f"; fi
		done
		awk "\$2 == \"/usr\" || \$2 == \"/etc\" || \$2 == \"/\" { split(\$4, o, \",\"); print \$2, o[1] }" /proc/mounts
		touch /usr/x 2>&1; true'
	run cat "$(sb_dir ro)/output.log"
	echo "$output"
	[[ "$output" != *"wrote"* ]]
	# Read-only mounts, not only missing permissions: root inside could not write either.
	[[ "$output" == *"/ ro"* ]]
	[[ "$output" == *"/usr ro"* ]]
	[[ "$output" == *"/etc ro"* ]]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e /usr/cove-test ] && [ ! -e /etc/cove-test ] && [ ! -e /usr/x ]
}

@test "sandbox: /app is the slug, writable, and private to each dyno" {
	sb_run one --wait -- 'cat /app/greeting; echo mine >/app/greeting; echo new >/app/new; mkdir /app/d; cat /app/greeting; touch /tmp/t'
	run cat "$(sb_dir one)/output.log"
	[ "${lines[0]}" = "hello from the slug" ]
	[ "${lines[1]}" = "mine" ]
	[ "${#lines[@]}" -eq 2 ]

	# A second dyno of the same slug sees the slug as it was.
	sb_run two --wait -- 'cat /app/greeting; ls /app; ls /tmp | wc -l'
	run cat "$(sb_dir two)/output.log"
	[ "${lines[0]}" = "hello from the slug" ]
	[[ "$output" != *"new"* ]]
	[ "${lines[-1]}" = "0" ]
	# And so does the host.
	[ "$(cat "$APP_DIR/greeting")" = "hello from the slug" ]
	[ ! -e "$APP_DIR/new" ]
}

@test "sandbox: the command runs as the app's uid, without capabilities, with no_new_privs" {
	sb_run ids -- 'exec sleep 30'
	pid=$(sb_command_pid ids)
	[ -n "$pid" ]
	status_file=$(cat "/proc/$pid/status")
	echo "$status_file"
	grep -q -P "^Uid:\t$DYNO_UID\t$DYNO_UID\t$DYNO_UID\t$DYNO_UID$" <<<"$status_file"
	grep -q -P "^Gid:\t$DYNO_GID\t$DYNO_GID\t$DYNO_GID\t$DYNO_GID$" <<<"$status_file"
	grep -q -P "^Groups:\s*$" <<<"$status_file"
	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -q -P "^$cap:\t0000000000000000$" <<<"$status_file"
	done
	grep -q -P "^NoNewPrivs:\t1$" <<<"$status_file"
	# In its own process group, in the dyno's cgroups.
	[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]
	id=$(sb_field ids id)
	grep -q -x "$pid" "/sys/fs/cgroup/memory/cove/$id/cgroup.procs"
}

@test "sandbox: no fd of the caller leaks into the dyno" {
	exec 7>"$SB_TMP/caller-fd-7"
	sb_run fds -- 'exec sleep 30' 9<"$APP_DIR/greeting"
	exec 7>&-
	pid=$(sb_command_pid fds)
	run ls "/proc/$pid/fd"
	echo "$output"
	[ "$(echo $output)" = "0 1 2" ]
	[ "$(readlink "/proc/$pid/fd/0")" = "/dev/null" ]
	[ "$(readlink "/proc/$pid/fd/1")" = "$(sb_dir fds)/output.log" ]
	# Init holds stdio and its line to the shim, nothing of the caller's.
	init=$(sb_field fds init_pid)
	run ls -l "/proc/$init/fd"
	echo "$output"
	[[ "$output" != *caller-fd-7* ]]
	[[ "$output" != *greeting* ]]
	[ "$(ls "/proc/$init/fd" | wc -l)" -le 4 ]
}

@test "sandbox: without a network namespace, a fresh one holds only loopback, up" {
	sb_run net --wait -- 'readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; ip -o link show lo'
	run cat "$(sb_dir net)/output.log"
	echo "$output"
	[ "${lines[0]}" != "$(readlink /proc/self/ns/net)" ]
	[ "${lines[1]}" = "lo" ]
	[[ "${lines[2]}" == *"<LOOPBACK,UP"* ]]
	[ "${#lines[@]}" -eq 3 ]
}

@test "sandbox: it joins the network namespace it is given" {
	ns=cove-sbtest-$$
	ip netns add "$ns"
	run sb_run netns --netns "/run/netns/$ns" --wait -- 'readlink /proc/self/ns/net'
	inode=$(stat -L -c %i "/run/netns/$ns")
	ip netns del "$ns"
	[ "$status" -eq 0 ]
	[ "$(cat "$(sb_dir netns)/output.log")" = "net:[$inode]" ]
}

@test "sandbox: /dev is minimal, /proc is the dyno's, /sys is absent" {
	sb_run dev --wait -- 'ls /dev | tr "\n" " "; echo; ls /sys | wc -l; echo x >/dev/null && head -c 4 /dev/zero | wc -c
		readlink /proc/1/exe || echo "init exe hidden"; ls /proc | grep -c "^[0-9]"'
	run cat "$(sb_dir dev)/output.log"
	echo "$output"
	[ "${lines[0]}" = "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero " ]
	[ "${lines[1]}" = "0" ]
	[ "${lines[2]}" = "4" ]
	[[ "$output" == *"init exe hidden"* ]]
	# init, sh, ls and grep: the host's processes are not there.
	[ "${lines[-1]}" -le 5 ]
}

@test "sandbox: the dyno has a session keyring of its own" {
	[ "$(uname -m)" = x86_64 ] || skip "keyctl's syscall number is x86_64's"
	command -v python3 >/dev/null || skip "no python3"
	# keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0): the id of the session keyring.
	cat >"$APP_DIR/keyring.py" <<'PY'
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
print(libc.syscall(250, 0, ctypes.c_long(-3), 0))
PY
	sb_run keys --wait -- 'python3 /app/keyring.py'
	inside=$(cat "$(sb_dir keys)/output.log")
	[[ "$inside" =~ ^[0-9]+$ ]]
	[ "$inside" != "$(python3 "$APP_DIR/keyring.py")" ]
}
