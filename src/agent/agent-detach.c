/* SPDX-License-Identifier: MIT */
#include "agent/agent-detach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
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

#define USEC 1000000ull

bool agent_detached_adopt(struct agent_detached *p, const char *pid_path, char **ret_text)
{
	_cleanup_free_ char *text = NULL;
	if (file_read(pid_path, 4096, &text, NULL, NULL) < 0)
		return false;
	int pid = 0;
	unsigned long long start = 0;
	sscanf(text, "pid=%d start=%llu", &pid, &start);
	int pidfd = pid > 0 ? sandbox_pidfd_open(pid, start) : -1;
	if (pidfd < 0) {
		unlink(pid_path);
		return false;
	}
	*p = (struct agent_detached){ .pid = pid, .start = start, .pidfd = pidfd };
	*ret_text = TAKE_PTR(text);
	return true;
}

static void forget(struct agent_detached *p, const char *pid_path)
{
	agent_detached_release(p);
	p->stopping = false;
	if (pid_path)
		unlink(pid_path);
}

int agent_detached_start(struct agent_detached *p, const char *what, char *const argv[], const char *pid_path,
			 const char *extra, uint64_t now, struct error *err)
{
	if (p->pid > 0 || now < p->restart_at)
		return 0;
	int r = agent_detach_spawn(what, argv, &p->pid, &p->start, &p->pidfd, err);
	if (r >= 0) {
		_cleanup_free_ char *text =
			xasprintf("pid=%d\nstart=%llu\n%s", (int)p->pid, (unsigned long long)p->start, extra);
		r = file_write_atomic(pid_path, text, strlen(text), 0600, err);
	}
	if (r < 0) {
		forget(p, pid_path);
		p->crashes++;
		p->restart_at = now + USEC * (p->crashes > 5 ? AGENT_DETACHED_BACKOFF_MAX_S : (1u << (p->crashes - 1)));
		return r;
	}
	p->started_at = now;
	return 0;
}

void agent_detached_stop(struct agent_detached *p, uint64_t now, uint64_t grace_usec)
{
	if (p->pid <= 0 || p->stopping)
		return;
	kill(p->pid, SIGTERM);
	p->stopping = true;
	p->kill_at = now + grace_usec;
}

bool agent_detached_tick(struct agent_detached *p, const char *what, const char *pid_path, bool wanted, uint64_t now)
{
	if (p->pid <= 0)
		return wanted && now >= p->restart_at; /* to be started (again) */
	if (agent_detach_alive(p->pidfd)) {
		if (p->crashes && now - p->started_at >= 60 * USEC)
			p->crashes = 0; /* a minute up: the backoff starts over */
		if (p->stopping && now >= p->kill_at) {
			log_warning("agent: %s did not stop; killing it", what);
			kill(p->pid, SIGKILL);
			p->kill_at = now + 5 * USEC;
		}
		return false;
	}
	if (!p->stopping && wanted) {
		p->crashes++;
		uint64_t delay = p->crashes <= 1 ? 0
						 : (p->crashes > 6 ? AGENT_DETACHED_BACKOFF_MAX_S : (1u << (p->crashes - 2))) * USEC;
		log_warning("agent: %s exited; starting it again%s", what, delay ? " after a pause" : "");
		p->restart_at = now + delay;
	}
	forget(p, pid_path);
	return true;
}

void agent_detached_release(struct agent_detached *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	p->pid = 0;
	p->start = 0;
}
