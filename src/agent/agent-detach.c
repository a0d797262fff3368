/* SPDX-License-Identifier: MIT */
#include "agent/agent-detach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/macro.h"
#include "sandbox/sandbox-state.h"

int agent_detach_spawn(const char *what, char *const argv[], pid_t *ret_pid, uint64_t *ret_start, int *ret_pidfd,
		       struct error *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, -errno, "start %s: pipe: %m", what);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return error_set(err, -errno, "start %s: fork: %m", what);
	}
	if (pid == 0) {
		/* The intermediate: a session of its own, then the process, and gone. */
		setsid();
		pid_t child = fork();
		if (child == 0) {
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (null >= 0) {
				dup2(null, STDIN_FILENO);
				dup2(null, STDOUT_FILENO);
			}
			execv("/proc/self/exe", argv);
			_exit(127);
		}
		ssize_t n = write(fds[1], &child, sizeof(child));
		_exit(n == sizeof(child) ? 0 : 1);
	}
	close(fds[1]);
	pid_t child = -1;
	ssize_t n = read(fds[0], &child, sizeof(child));
	close(fds[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(child) || child <= 0)
		return error_set(err, -ECHILD, "start %s: fork failed", what);
	uint64_t start = 0;
	int pidfd = sandbox_proc_starttime(child, &start) < 0 ? -1 : sandbox_pidfd_open(child, start);
	if (pidfd < 0)
		return error_set(err, -ESRCH, "start %s: it exited at once", what);
	*ret_pid = child;
	*ret_start = start;
	*ret_pidfd = pidfd;
	return 0;
}

bool agent_detach_alive(int pidfd)
{
	if (pidfd < 0)
		return false;
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	return poll(&p, 1, 0) == 0;
}
