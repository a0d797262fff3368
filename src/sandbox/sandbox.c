/* SPDX-License-Identifier: MIT */
/*
 * The dyno sandbox, caller's side. Design note on the process model:
 *
 *   caller (agent, cove-sandbox)
 *     └ fork ─ intermediate: setsid(), fork, _exit()          gone at once
 *                └ shim: exec of /proc/self/exe as "cove-sandbox-shim <id>"
 *                    └ clone3(NEWNS|NEWPID|NEWUTS|NEWIPC[|NEWNET]) ─ init (pid 1 inside)
 *                          └ fork ─ command: /bin/sh -c COMMAND as the app's uid
 *
 * The shim is what makes a dyno outlive its caller. The double fork leaves it an orphan in
 * its own session, adopted by the host's init (or the nearest subreaper), with /dev/null for
 * stdio: a SIGKILL of the caller, or its restart, does not touch it. The caller never waits
 * for it; it watches it with a pidfd (sandbox_pidfd()) and reads the exit file the shim leaves
 * behind. Since the shim's pid outlives the caller's memory, the pid file pairs every pid
 * with its start time, and whoever comes later checks both (sandbox_adopt()).
 *
 * The shim is a new program (exec right after the fork), not a forked copy of the caller,
 * for three reasons: the caller may have threads, and between fork and exec only
 * async-signal-safe calls are allowed, while the shim has real work to do (cgroups, files,
 * clone); the sanitizers' runtime starts afresh in it, which makes the sanitizer build
 * behave like the normal one; and, like `runc init` and crun's re-exec, the shim is then the
 * same small program whatever called it. It gets the spec through a sealed memfd and reports
 * back through a socket (sandbox-shim.h). It takes over in a constructor, before main(), as
 * runc's nsexec does: no program that starts dynos has to remember to hand over to it, and
 * none of its own start-up runs in the shim.
 *
 * The shim creates the dyno's cgroup and its limits, then clones init in new namespaces with
 * clone3() used like fork() (no separate stack, so nothing unusual for the sanitizers), puts
 * init into the cgroup, writes the pid file and only then lets init go (over a socketpair):
 * init runs nothing before it is confined. Init joins the dyno's network namespace, builds
 * the root and pivots into it (sandbox-rootfs.c), sets the hostname, and forks the command,
 * which drops to the app's uid with no capabilities and no_new_privs and executes the shell.
 * Init is the namespace's reaper and forwards the stop signals to the command's process
 * group; when the command ends, init kills what is left, sends the command's wait status to
 * the shim and exits. The shim writes the exit file, with whether the cgroup saw an OOM kill,
 * removes the cgroup and exits. If the shim dies first, init dies with it
 * (PR_SET_PDEATHSIG): a dyno never runs unsupervised. SIGKILL for a dyno goes to init: a pid
 * namespace ends with its pid 1.
 *
 * No threads anywhere: clone() and threads do not mix.
 */
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "sandbox/sandbox-cgroup.h"
#include "sandbox/sandbox-shim.h"
#include "sandbox/sandbox-spec.h"
#include "sandbox/sandbox-state.h"

/* How long sandbox_start() waits for the command to be executed. */
#define START_TIMEOUT_USEC (60ULL * 1000 * 1000)
#define SHIM_EXE "/proc/self/exe"

extern char **environ;

/*
 * The shim's entry: glibc calls ELF constructors with main()'s arguments. A shim is recognised
 * by its argv[0] and by the sealed spec memfd sandbox_start() leaves at its fd 3; anything else
 * goes on to main() as usual.
 */
__attribute__((constructor)) static void shim_entry(int argc, char **argv, char **envp)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
	if (argc == 2 && argv && streq(argv[0], SANDBOX_SHIM_ARGV0) &&
	    fcntl(SANDBOX_SHIM_FD_SPEC, F_GET_SEALS) == seals)
		exit(sandbox_shim_main(argv[1]));
}

/* Moves *fd to a number >= 10 (close-on-exec), out of the way of the shim's fds 0..5. */
static int fd_move_high(int *fd)
{
	int high = fcntl(*fd, F_DUPFD_CLOEXEC, 10);
	if (high < 0)
		return -errno;
	close(*fd);
	*fd = high;
	return 0;
}

static int spec_memfd(const struct sandbox_spec *spec, struct error *err)
{
	struct sandbox_spec wire = *spec;
	wire.output_fd = spec->output_fd >= 0 ? SANDBOX_SHIM_FD_OUTPUT : -1;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	strbuf_init(&sb, SANDBOX_SPEC_WIRE_MAX);
	if (sandbox_spec_serialize(&wire, &sb) < 0)
		return error_set(err, -EMSGSIZE, "spec of dyno '%s' is too large", spec->id);

	_cleanup_close_ int fd = memfd_create("cove-sandbox-spec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return error_set(err, -errno, "memfd_create: %m");
	for (size_t done = 0; done < sb.len;) {
		ssize_t n = write(fd, sb.buf + done, sb.len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_set(err, -errno, "write spec: %m");
		}
		done += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return error_set(err, -errno, "seal spec: %m");
	return TAKE_FD(fd);
}

/*
 * Reads the report socket until end of file: 0 when nobody reported a failure, else the
 * failure. Waits at most until deadline (time_mono_usec()).
 */
static int read_report(int fd, const char *id, uint64_t deadline, struct error *err)
{
	struct sandbox_report rep = { 0 };
	size_t got = 0;
	for (;;) {
		uint64_t now = time_mono_usec();
		if (now >= deadline)
			return error_set(err, -ETIMEDOUT, "start dyno '%s': timed out", id);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)((deadline - now) / 1000) + 1);
		if (r < 0 && errno != EINTR)
			return error_set(err, -errno, "start dyno '%s': poll: %m", id);
		if (r <= 0)
			continue;
		char scratch[sizeof(rep)];
		char *into = got < sizeof(rep) ? (char *)&rep + got : scratch;
		size_t room = got < sizeof(rep) ? sizeof(rep) - got : sizeof(scratch);
		ssize_t n = read(fd, into, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(err, -errno, "start dyno '%s': read report: %m", id);
		if (n == 0)
			break;
		if (got < sizeof(rep))
			got += (size_t)n;
	}
	if (got == 0)
		return 0;
	if (got < sizeof(rep))
		return error_set(err, -EIO, "start dyno '%s': truncated report", id);
	rep.message[sizeof(rep.message) - 1] = '\0';
	return error_set(err, rep.code < 0 ? rep.code : -EIO, "start dyno '%s': %s", id, rep.message);
}

int sandbox_start(const struct sandbox_spec *spec, struct sandbox *ret, struct error *err)
{
	int r = sandbox_spec_validate(spec, err);
	if (r < 0)
		return r;
	if (spec->output_fd >= 0 && fcntl(spec->output_fd, F_GETFD) < 0)
		return error_set(err, -EBADF, "output of dyno '%s': fd %d: %m", spec->id, spec->output_fd);
	r = mkdir_p(spec->state_dir, 0700, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *pid_path = xasprintf("%s/pid", spec->state_dir);
	if (access(pid_path, F_OK) == 0)
		return error_set(err, -EEXIST, "state directory '%s' holds a dyno: clean it up first", spec->state_dir);

	_cleanup_close_ int spec_fd = spec_memfd(spec, err);
	if (spec_fd < 0)
		return spec_fd;
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return error_set(err, -errno, "socketpair: %m");
	_cleanup_close_ int report_r = pair[0];
	_cleanup_close_ int report_w = pair[1];
	_cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return error_set(err, -errno, "open '/dev/null': %m");
	_cleanup_close_ int output_fd = spec->output_fd >= 0 ? fcntl(spec->output_fd, F_DUPFD_CLOEXEC, 10) : -1;
	if (spec->output_fd >= 0 && output_fd < 0)
		return error_set(err, -errno, "duplicate output fd %d: %m", spec->output_fd);
	if (fd_move_high(&spec_fd) < 0 || fd_move_high(&report_w) < 0 || fd_move_high(&null_fd) < 0)
		return error_set(err, -errno, "duplicate fds: %m");

	char *argv[] = { SANDBOX_SHIM_ARGV0, (char *)spec->id, NULL };
	struct sandbox_report exec_failed = { .code = -ENOEXEC };
	snprintf(exec_failed.message, sizeof(exec_failed.message), "execute the shim '%s' failed", SHIM_EXE);

	pid_t child = fork();
	if (child < 0)
		return error_set(err, -errno, "fork: %m");
	if (child == 0) {
		/* Only async-signal-safe calls from here to the exec: the caller may have threads. */
		if (setsid() < 0)
			_exit(1);
		pid_t shim = fork();
		if (shim != 0)
			_exit(shim < 0 ? 1 : 0);
		if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
		    dup2(null_fd, STDERR_FILENO) < 0 || dup2(spec_fd, SANDBOX_SHIM_FD_SPEC) < 0 ||
		    dup2(report_w, SANDBOX_SHIM_FD_REPORT) < 0 ||
		    (output_fd >= 0 && dup2(output_fd, SANDBOX_SHIM_FD_OUTPUT) < 0))
			_exit(1);
		/* Nothing else of the caller's: its fds without close-on-exec included. */
		close_range(output_fd >= 0 ? SANDBOX_SHIM_FD_OUTPUT + 1 : SANDBOX_SHIM_FD_OUTPUT, ~0U, 0);
		if (chdir("/") < 0)
			_exit(1);
		execve(SHIM_EXE, argv, environ);
		exec_failed.code = -errno;
		(void)send(SANDBOX_SHIM_FD_REPORT, &exec_failed, sizeof(exec_failed), MSG_NOSIGNAL);
		_exit(127);
	}

	close(TAKE_FD(report_w));
	int status;
	pid_t p;
	do
		p = waitpid(child, &status, 0);
	while (p < 0 && errno == EINTR);
	/* ECHILD: the caller's own reaper was quicker; the report tells what happened. */
	if (p == child && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		return error_set(err, -ECHILD, "start dyno '%s': starting the shim failed", spec->id);

	r = read_report(report_r, spec->id, time_mono_usec() + START_TIMEOUT_USEC, err);
	if (r < 0)
		return r;
	r = sandbox_state_read_pid(spec->state_dir, ret, NULL, err);
	if (r < 0)
		return error_set(err, r, "start dyno '%s': the shim ended without a word, see '%s/shim.log'", spec->id,
				 spec->state_dir);
	return 0;
}

int sandbox_adopt(const char *state_dir, struct sandbox *ret, struct error *err)
{
	struct sandbox sb;
	int r = sandbox_state_read_pid(state_dir, &sb, NULL, err);
	if (r < 0)
		return r;
	uint64_t start;
	r = sandbox_proc_starttime(sb.shim_pid, &start);
	if (r == -ESRCH || (r >= 0 && start != sb.shim_start))
		return error_set(err, -ESRCH, "dyno of '%s': shim %d is gone", state_dir, (int)sb.shim_pid);
	if (r < 0)
		return error_set(err, r, "dyno of '%s': read shim %d: %s", state_dir, (int)sb.shim_pid, strerror(-r));
	*ret = sb;
	return 0;
}

int sandbox_pidfd(const struct sandbox *sb)
{
	return sandbox_pidfd_open(sb->shim_pid, sb->shim_start);
}

int sandbox_kill(const struct sandbox *sb, int sig, struct error *err)
{
	_cleanup_close_ int fd = sandbox_pidfd_open(sb->init_pid, sb->init_start);
	if (fd == -ESRCH)
		return error_set(err, -ESRCH, "signal dyno: init %d is gone", (int)sb->init_pid);
	if (fd < 0)
		return error_set(err, fd, "signal dyno: init %d: %s", (int)sb->init_pid, strerror(-fd));
	if (pidfd_send_signal(fd, sig, NULL, 0) < 0)
		return error_set(err, errno == ESRCH ? -ESRCH : -errno, "signal dyno: init %d: %m", (int)sb->init_pid);
	return 0;
}

int sandbox_exit_status(const char *state_dir, int *ret_status, bool *ret_oom_killed, struct error *err)
{
	int r = sandbox_state_read_exit(state_dir, ret_status, ret_oom_killed, err);
	if (r == -ENOENT)
		return error_set(err, -ENOENT, "dyno of '%s' has no exit status", state_dir);
	return r;
}

int sandbox_memory(const char *id, uint64_t *ret_usage, uint64_t *ret_limit, uint64_t *ret_oom_kills,
		   struct error *err)
{
	enum sandbox_cgroup_version version;
	int r = sandbox_cgroup_detect(&version, err);
	if (r < 0)
		return r;
	return sandbox_cgroup_memory(version, id, ret_usage, ret_limit, ret_oom_kills, err);
}

/*
 * Removes path and everything below it, without following symlinks or leaving its file
 * system. Iterative, going up again through "..": a dyno can build a directory tree in /app
 * deeper than any recursion or path length would cope with.
 */
int sandbox_remove_tree(const char *path, struct error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : error_set(err, -errno, "open '%s': %m", path);
	struct stat top;
	if (fstat(fd, &top) < 0)
		return error_set(err, -errno, "stat '%s': %m", path);

	for (unsigned depth = 0;;) {
		/* One pass over the directory at fd: remove what can go, or go down into the first non-empty one. */
		int dir_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		DIR *dir = dir_fd < 0 ? NULL : fdopendir(dir_fd);
		if (!dir) {
			int r = error_set(err, -errno, "remove '%s': %m", path);
			if (dir_fd >= 0)
				close(dir_fd);
			return r;
		}
		int sub = -1, r = 0;
		struct dirent *de;
		while (r == 0 && sub < 0 && (errno = 0, de = readdir(dir))) {
			const char *name = de->d_name;
			if (streq(name, ".") || streq(name, ".."))
				continue;
			if (unlinkat(fd, name, 0) == 0 || errno == ENOENT)
				continue;
			if (errno != EISDIR && errno != EPERM) {
				r = error_set(err, -errno, "remove '%s' in '%s': %m", name, path);
				break;
			}
			if (unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
				continue;
			if (errno != ENOTEMPTY && errno != EEXIST) {
				r = error_set(err, -errno, "remove '%s' in '%s': %m", name, path);
				break;
			}
			sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (sub < 0 || fstat(sub, &st) < 0)
				r = error_set(err, -errno, "open '%s' in '%s': %m", name, path);
			else if (st.st_dev != top.st_dev)
				r = error_set(err, -EBUSY, "remove '%s' in '%s': a mount point", name, path);
		}
		if (r == 0 && sub < 0 && errno != 0)
			r = error_set(err, -errno, "read directory in '%s': %m", path);
		closedir(dir);
		if (r < 0) {
			if (sub >= 0)
				close(sub);
			return r;
		}
		if (sub >= 0) {
			close(fd);
			fd = sub;
			depth++;
			continue;
		}
		if (depth == 0)
			break;
		/* Empty now: up again, where the next pass removes it. */
		int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0)
			return error_set(err, -errno, "remove '%s': %m", path);
		close(fd);
		fd = parent;
		depth--;
	}
	if (rmdir(path) < 0 && errno != ENOENT)
		return error_set(err, -errno, "remove '%s': %m", path);
	return 0;
}

int sandbox_cleanup(const char *id, const char *state_dir, struct error *err)
{
	struct sandbox sb;
	if (sandbox_state_read_pid(state_dir, &sb, NULL, NULL) >= 0) {
		uint64_t start;
		if ((sandbox_proc_starttime(sb.shim_pid, &start) >= 0 && start == sb.shim_start) ||
		    (sandbox_proc_starttime(sb.init_pid, &start) >= 0 && start == sb.init_start))
			return error_set(err, -EBUSY, "clean up dyno '%s': it still runs", id);
	}

	/* The dyno's mounts die with its mount namespace; this only catches strays. */
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", state_dir);
	while (umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		;

	enum sandbox_cgroup_version version;
	int r = sandbox_cgroup_detect(&version, err);
	if (r < 0)
		return r;
	r = sandbox_cgroup_remove(version, id, err);
	if (r < 0)
		return r;
	return sandbox_remove_tree(state_dir, err);
}
