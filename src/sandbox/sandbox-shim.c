/* SPDX-License-Identifier: MIT */
/*
 * The process side of a dyno: the shim, the sandbox's init, and the command's process. The
 * design note at the top of sandbox.c explains how they relate; this file follows a dyno from
 * the shim's first instruction to the exit file.
 */
#include "sandbox/sandbox-shim.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/alloc.h"
#include "base/timeutil.h"
#include "sandbox/sandbox-cgroup.h"
#include "sandbox/sandbox-rootfs.h"
#include "sandbox/sandbox-spec.h"
#include "sandbox/sandbox-state.h"
#include "sandbox/sandbox.h"

/* Signals init passes on to the command's process group (and the shim to init). */
static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

struct shim {
	struct sandbox_spec_wire wire;
	const struct sandbox_spec *spec; /* &wire.spec */
	enum sandbox_cgroup_version cgroup;
	int report_fd;
	int output_fd;
	int netns_fd;
	char tty_path[64]; /* SANDBOX_IO_TTY: the terminal's slave in the dyno's /dev/pts */
};

/* One line in shim.log (the shim's stderr). */
_printf_(2, 3) static void shim_log(const char *id, const char *fmt, ...)
{
	char now[TIME_ISO_MAX], line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s %s[%d]: dyno '%s': %s\n", time_now_iso(now), SANDBOX_SHIM_ARGV0, (int)getpid(), id, line);
}

/* Tells sandbox_start() why starting failed; see sandbox-shim.h. */
static void report(int fd, const struct error *err)
{
	if (fd < 0)
		return;
	struct sandbox_report rep = { .code = err->code ? err->code : -EIO };
	snprintf(rep.message, sizeof(rep.message), "%s", err->message[0] ? err->message : "unknown failure");
	/* A socket, not a pipe: a caller gone meanwhile costs no SIGPIPE. */
	ssize_t n;
	do
		n = send(fd, &rep, sizeof(rep), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

static bool is_forwarded(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		if (forwarded_signals[i] == sig)
			return true;
	return false;
}

/* The exit code a shell would give for a wait status. */
static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* ---- the command's process: a child of init ---- */

/* Drops every capability for good: bounding set, ambient set, then (after setuid) the rest. */
static int drop_capabilities(struct error *err)
{
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return error_set(err, -errno, "drop capability %d from the bounding set: %m", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return error_set(err, -errno, "clear the ambient capabilities: %m");
	return 0;
}

static int clear_capability_sets(struct error *err)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };
	if (syscall(SYS_capset, &header, data) < 0)
		return error_set(err, -errno, "clear the capability sets: %m");
	return 0;
}

static int command_setup(const struct shim *s, struct error *err)
{
	const struct sandbox_spec *spec = s->spec;
	if (spec->io == SANDBOX_IO_TTY) {
		/* A session of its own whose controlling terminal is the pseudo-terminal: its
		 * process group is the session's, so signals still reach whatever the shell starts. */
		if (setsid() < 0)
			return error_set(err, -errno, "new session: %m");
		_cleanup_close_ int tty = open(s->tty_path, O_RDWR | O_CLOEXEC);
		if (tty < 0)
			return error_set(err, -errno, "open '%s': %m", s->tty_path);
		if (ioctl(tty, TIOCSCTTY, 0) < 0)
			return error_set(err, -errno, "make '%s' the controlling terminal: %m", s->tty_path);
		if (fchown(tty, spec->uid, spec->gid) < 0)
			return error_set(err, -errno, "chown '%s': %m", s->tty_path);
		if (dup2(tty, STDIN_FILENO) < 0 || dup2(tty, STDOUT_FILENO) < 0 || dup2(tty, STDERR_FILENO) < 0)
			return error_set(err, -errno, "set up stdio: %m");
	} else {
		/* Its own process group, so that signals reach whatever the shell starts. */
		if (setpgid(0, 0) < 0)
			return error_set(err, -errno, "new process group: %m");
		_cleanup_close_ int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0)
			return error_set(err, -errno, "open '/dev/null': %m");
		int in = spec->io == SANDBOX_IO_SOCKET ? s->output_fd : null;
		if (dup2(in, STDIN_FILENO) < 0 || dup2(s->output_fd, STDOUT_FILENO) < 0 ||
		    dup2(s->output_fd, STDERR_FILENO) < 0)
			return error_set(err, -errno, "set up stdio: %m");
	}
	/* Whatever init holds stays out of the dyno; the report socket until the exec. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return error_set(err, -errno, "close file descriptors: %m");

	umask(0022);
	int r = drop_capabilities(err);
	if (r < 0)
		return r;
	if (setgroups(0, NULL) < 0)
		return error_set(err, -errno, "drop supplementary groups: %m");
	if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
		return error_set(err, -errno, "set gid %u: %m", (unsigned)spec->gid);
	if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
		return error_set(err, -errno, "set uid %u: %m", (unsigned)spec->uid);
	r = clear_capability_sets(err);
	if (r < 0)
		return r;
	/*
	 * A session keyring of its own, as crun and runc do: the one inherited from the caller is
	 * possessed, so readable, whatever the uid. No keyrings at all (ENOSYS, or EPERM from a
	 * seccomp filter around us) is fine too.
	 */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS && errno != EPERM)
		return error_set(err, -errno, "new session keyring: %m");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_set(err, -errno, "set no_new_privs: %m");
	if (chdir("/app") < 0)
		return error_set(err, -errno, "change directory to '/app': %m");

	/* Init blocked everything; a new program starts with no signal blocked. */
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return error_set(err, -errno, "unblock signals: %m");
	return 0;
}

_noreturn_ static void command_exec(const struct shim *s)
{
	struct error err = { 0 };
	char *argv[] = { "sh", "-c", (char *)s->spec->command, NULL };
	char *empty_env[] = { NULL };
	if (command_setup(s, &err) >= 0) {
		execve("/bin/sh", argv, s->spec->env ? s->spec->env : empty_env);
		error_set(&err, -errno, "execute '/bin/sh' in dyno '%s': %m", s->spec->hostname);
	}
	report(s->report_fd, &err);
	_exit(127);
}

/* ---- init: pid 1 of the dyno's pid namespace, a child of the shim ---- */

/* Brings up the loopback interface of a fresh network namespace (it starts down). */
static int loopback_up(struct error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(err, -errno, "socket: %m");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return error_set(err, -errno, "read flags of 'lo': %m");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return error_set(err, -errno, "bring up 'lo': %m");
	return 0;
}

static int init_setup(struct shim *s, struct error *err)
{
	int r;
	if (s->netns_fd >= 0) {
		if (setns(s->netns_fd, CLONE_NEWNET) < 0)
			return error_set(err, -errno, "join network namespace '%s': %m", s->spec->netns_path);
		close(s->netns_fd);
		s->netns_fd = -1;
	} else {
		r = loopback_up(err);
		if (r < 0)
			return r;
	}
	/* Keeps the dyno's processes out of init's /proc files (and its /proc/1/exe: our binary). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return error_set(err, -errno, "make init non-dumpable: %m");
	r = sandbox_rootfs_enter(s->spec, err);
	if (r < 0)
		return r;
	if (sethostname(s->spec->hostname, strlen(s->spec->hostname)) < 0)
		return error_set(err, -errno, "set hostname '%s': %m", s->spec->hostname);
	return 0;
}

/*
 * SANDBOX_IO_TTY: a pseudo-terminal of the dyno's own devpts instance (mounted by
 * sandbox-rootfs.c), so that the command's `tty` names it as /dev/pts/N. Its master goes out
 * over the output socket; the dyno keeps none.
 */
static int tty_open(struct shim *s, struct error *err)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return error_set(err, -errno, "open '/dev/ptmx': %m");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return error_set(err, -errno, "unlock the pseudo-terminal: %m");
	int n;
	if (ioctl(master, TIOCGPTN, &n) < 0)
		return error_set(err, -errno, "number of the pseudo-terminal: %m");
	snprintf(s->tty_path, sizeof(s->tty_path), "/dev/pts/%d", n);
	char byte = 't';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	ssize_t sent;
	do
		sent = sendmsg(s->output_fd, &msg, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	if (sent != 1)
		return error_set(err, -errno, "send the pseudo-terminal: %m");
	return 0;
}

_noreturn_ static void init_main(struct shim *s, int sync_fd)
{
	struct error err = { 0 };
	/* If the shim dies, so does the dyno: nobody would record how it ended. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(1);
	prctl(PR_SET_NAME, "cove-init", 0, 0, 0);

	/* Wait until the shim has put us into the cgroup; end of file means it gave up or died. */
	char go;
	ssize_t n;
	do
		n = recv(sync_fd, &go, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(1);

	if (init_setup(s, &err) < 0 || (s->spec->io == SANDBOX_IO_TTY && tty_open(s, &err) < 0)) {
		report(s->report_fd, &err);
		_exit(1);
	}

	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);

	pid_t command = fork();
	if (command < 0) {
		error_set(&err, -errno, "fork the command of dyno '%s': %m", s->spec->hostname);
		report(s->report_fd, &err);
		_exit(1);
	}
	if (command == 0) {
		close(sync_fd);
		command_exec(s);
	}
	/* Both sides set the process group, so that it exists before any signal is forwarded (a
	 * session leader to be makes its own: setsid() fails for a group leader). */
	if (s->spec->io != SANDBOX_IO_TTY)
		(void)setpgid(command, command);
	close(s->report_fd);
	close(s->output_fd);

	int command_status = 0;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			/* Pid 1 inherits every orphan of the namespace: reap them all. */
			bool done = false;
			int status;
			pid_t p;
			while ((p = waitpid(-1, &status, WNOHANG)) > 0)
				if (p == command) {
					command_status = status;
					done = true;
				}
			if (done)
				break;
		} else if (is_forwarded(sig)) {
			if (kill(-command, sig) < 0)
				(void)kill(command, sig);
		}
	}

	/* The command is gone: so is everything it left behind. */
	(void)kill(-1, SIGKILL);
	(void)send(sync_fd, &command_status, sizeof(command_status), MSG_NOSIGNAL);
	_exit(exit_code_of(command_status));
}

/* ---- the shim ---- */

/* Starts init in new namespaces, like fork(): returns 0 in init, its pid in the shim. */
static pid_t clone_init(bool new_netns)
{
	/*
	 * clone3() without a stack duplicates the process as fork() does, so there is no stack to
	 * allocate and the sanitizers see nothing unusual. The shim is single-threaded, so the
	 * child inherits no lock held by another thread.
	 */
	struct clone_args args = {
		.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | (new_netns ? CLONE_NEWNET : 0),
		.exit_signal = SIGCHLD,
	};
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* Waits for init to end, forwarding signals sent to the shim; returns init's wait status. */
static int supervise(pid_t init, const sigset_t *signals)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(signals, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			(void)kill(init, sig);
			continue;
		}
		int status;
		pid_t p = waitpid(init, &status, WNOHANG);
		if (p == init)
			return status;
		if (p < 0 && errno == ECHILD)
			return W_EXITCODE(255, 0);
	}
}

/*
 * Clones init, confines it and lets it go: on return init runs in the cgroup and the pid file
 * is written. On failure no init is left.
 */
static int launch_init(struct shim *s, const sigset_t *signals, pid_t *ret_init, int *ret_sync_fd,
		       struct error *err)
{
	const struct sandbox_spec *spec = s->spec;
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return error_set(err, -errno, "socketpair: %m");
	_cleanup_close_ int sync_fd = pair[0];

	/* Blocked before the clone, so that no SIGCHLD or SIGTERM can slip past sigwaitinfo(). */
	sigprocmask(SIG_BLOCK, signals, NULL);
	pid_t init = clone_init(!spec->netns_path);
	if (init < 0) {
		close(pair[1]);
		return error_set(err, -errno, "clone the sandbox's init: %m");
	}
	if (init == 0) {
		close(pair[0]);
		init_main(s, pair[1]);
	}
	close(pair[1]);

	struct sandbox sb = { .shim_pid = getpid(), .init_pid = init };
	int r = sandbox_cgroup_attach(s->cgroup, spec->id, init, err);
	if (r >= 0 && (sandbox_proc_starttime(sb.shim_pid, &sb.shim_start) < 0 ||
		       sandbox_proc_starttime(init, &sb.init_start) < 0))
		r = error_set(err, -ESRCH, "read the start times of the shim and init: %m");
	if (r >= 0)
		r = sandbox_state_write_pid(spec->state_dir, spec->id, &sb, err);
	if (r >= 0 && send(sync_fd, "g", 1, MSG_NOSIGNAL) != 1)
		r = error_set(err, -errno, "start init: %m");
	if (r < 0) {
		(void)kill(init, SIGKILL);
		(void)waitpid(init, NULL, 0);
		return r;
	}
	*ret_init = init;
	*ret_sync_fd = TAKE_FD(sync_fd);
	return 0;
}

/* Waits for the dyno to end and writes its exit file. */
static int shim_supervise(struct shim *s, const sigset_t *signals, pid_t init, int sync_fd, struct error *err)
{
	const struct sandbox_spec *spec = s->spec;
	int init_status = supervise(init, signals);
	int status;
	if (recv(sync_fd, &status, sizeof(status), MSG_DONTWAIT) != sizeof(status))
		status = init_status; /* init was killed before the command ended */

	uint64_t oom_kills = 0;
	struct error oom_err = { 0 };
	if (sandbox_cgroup_memory(s->cgroup, spec->id, NULL, NULL, &oom_kills, &oom_err) < 0)
		shim_log(spec->id, "%s", oom_err.message);
	int r = sandbox_state_write_exit(spec->state_dir, status, oom_kills > 0, err);
	if (r < 0)
		return r;
	const char *oom = oom_kills > 0 ? " (out of memory)" : "";
	if (WIFSIGNALED(status))
		shim_log(spec->id, "ended: killed by signal %d%s", WTERMSIG(status), oom);
	else
		shim_log(spec->id, "ended: exit code %d%s", exit_code_of(status), oom);

	/* Its counters are in the exit file now; an empty cgroup left behind helps nobody. */
	struct error rm_err = { 0 };
	if (sandbox_cgroup_remove(s->cgroup, spec->id, &rm_err) < 0)
		shim_log(spec->id, "%s", rm_err.message);
	return 0;
}

static int shim_run(struct shim *s, struct error *err)
{
	const struct sandbox_spec *spec = s->spec;
	int r = sandbox_cgroup_detect(&s->cgroup, err);
	if (r < 0)
		return r;
	r = sandbox_cgroup_create(s->cgroup, spec->id, spec->memory_bytes, spec->pids_max, spec->cpu_weight, err);
	if (r >= 0 && spec->netns_path) {
		s->netns_fd = open(spec->netns_path, O_RDONLY | O_CLOEXEC);
		if (s->netns_fd < 0)
			r = error_set(err, -errno, "open network namespace '%s': %m", spec->netns_path);
	}
	if (r >= 0)
		r = sandbox_rootfs_prepare(spec, err);

	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaddset(&signals, forwarded_signals[i]);
	pid_t init = 0;
	_cleanup_close_ int sync_fd = -1;
	if (r >= 0)
		r = launch_init(s, &signals, &init, &sync_fd, err);
	if (r < 0) {
		/* Nothing runs in it: a failed start leaves no cgroup behind. */
		(void)sandbox_cgroup_remove(s->cgroup, spec->id, NULL);
		return r;
	}

	/* Init has its copies; from here on init and the command report their own failures. */
	close(s->output_fd);
	s->output_fd = -1;
	if (s->netns_fd >= 0) {
		close(s->netns_fd);
		s->netns_fd = -1;
	}
	close(s->report_fd);
	s->report_fd = -1;
	shim_log(spec->id, "started: init %d, hostname '%s', command '%.200s'", (int)init, spec->hostname,
		 spec->command);
	return shim_supervise(s, &signals, init, sync_fd, err);
}

/*
 * A new program keeps only the ignored dispositions of the old one (a caller may ignore
 * SIGPIPE, say): back to the defaults, and no signal blocked.
 */
static void reset_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction old;
		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			(void)sigaction(sig, &(struct sigaction){ .sa_handler = SIG_DFL }, NULL);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int read_spec(struct shim *s, struct error *err)
{
	int fd = SANDBOX_SHIM_FD_SPEC;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return error_set(err, -errno, "shim: read spec: %m");
	if (st.st_size <= 0 || st.st_size > SANDBOX_SPEC_WIRE_MAX)
		return error_set(err, -EMSGSIZE, "shim: spec of %lld bytes", (long long)st.st_size);
	size_t len = (size_t)st.st_size;
	char *data = xmalloc(len);
	for (size_t done = 0; done < len;) {
		ssize_t n = pread(fd, data + done, len - done, (off_t)done);
		if (n <= 0) {
			free(data);
			return error_set(err, n < 0 ? -errno : -EIO, "shim: read spec: %m");
		}
		done += (size_t)n;
	}
	close(fd);
	int r = sandbox_spec_parse(data, len, &s->wire, err);
	s->spec = &s->wire.spec;
	return r;
}

/* Everything of the shim's life after the spec: its log, the dyno's output, the dyno. */
static int shim_start(struct shim *s, struct error *err)
{
	const struct sandbox_spec *spec = s->spec;
	_cleanup_free_ char *log_path = xasprintf("%s/shim.log", spec->state_dir);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd >= 0) {
		(void)dup2(log_fd, STDERR_FILENO);
		close(log_fd);
	}

	if (spec->output_fd == SANDBOX_SHIM_FD_OUTPUT) {
		s->output_fd = SANDBOX_SHIM_FD_OUTPUT;
		(void)fcntl(s->output_fd, F_SETFD, FD_CLOEXEC);
	} else {
		_cleanup_free_ char *path = xasprintf("%s/output.log", spec->state_dir);
		s->output_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (s->output_fd < 0)
			return error_set(err, -errno, "open '%s': %m", path);
	}
	return shim_run(s, err);
}

int sandbox_shim_main(const char *id)
{
	struct error err = { 0 };
	struct shim s = { .report_fd = SANDBOX_SHIM_FD_REPORT, .output_fd = -1, .netns_fd = -1 };

	reset_signals();
	prctl(PR_SET_NAME, "cove-shim", 0, 0, 0);
	(void)fcntl(s.report_fd, F_SETFD, FD_CLOEXEC);

	int r = read_spec(&s, &err);
	if (r >= 0)
		r = shim_start(&s, &err);
	if (r < 0) {
		shim_log(id, "%s", err.message);
		report(s.report_fd, &err);
	}
	if (s.report_fd >= 0)
		close(s.report_fd);
	if (s.output_fd >= 0)
		close(s.output_fd);
	if (s.netns_fd >= 0)
		close(s.netns_fd);
	sandbox_spec_wire_release(&s.wire);
	return r < 0 ? 1 : 0;
}
