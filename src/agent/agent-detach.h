/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Processes the agent starts per space that must outlive it (the router, the resolver): each
 * is started as a dyno's shim is, by a fork that calls setsid() and forks again, so that it
 * belongs to no process and no session of the agent, and by exec of /proc/self/exe. The agent
 * identifies it by pid and start time, the pair that names a process for good, and watches it
 * with a pidfd (polled: it is not the agent's child, so there is nothing to reap).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/*
 * Starts `coved ARGV...` detached, its stdin and stdout on /dev/null, its stderr the agent's.
 * `what` names it in messages ("the router of space 'acme'"). Returns 0 with its pid, start
 * time and a pidfd, or a negative errno.
 */
int agent_detach_spawn(const char *what, char *const argv[], pid_t *ret_pid, uint64_t *ret_start, int *ret_pidfd,
		       struct error *err);

/* Whether the process of a pidfd still runs; false for -1. */
bool agent_detach_alive(int pidfd);

/*
 * A detached process under supervision: started again when it dies (at once, then after 1, 2,
 * 4 … up to AGENT_DETACHED_BACKOFF_MAX_S seconds; the backoff starts over after a minute up),
 * stopped with SIGTERM and, past a grace time, SIGKILL. Its pid file, `pid=` and `start=`
 * lines and whatever its owner adds, lets the next agent adopt it.
 */
#define AGENT_DETACHED_BACKOFF_MAX_S 30

struct agent_detached {
	pid_t pid;           /* 0: not running */
	uint64_t start;
	int pidfd;           /* -1 when not running */
	unsigned crashes;
	uint64_t started_at, restart_at, kill_at;
	bool stopping;
};

#define AGENT_DETACHED_INIT { .pidfd = -1 }

/*
 * Adopts the process a pid file names, if it still runs: returns true, with the file's text in
 * *ret_text (for the owner's own lines; the caller frees it). Otherwise removes the file.
 */
bool agent_detached_adopt(struct agent_detached *p, const char *pid_path, char **ret_text);

/*
 * Starts the process unless it runs or its backoff is not over (then returns 0 and does
 * nothing); writes the pid file with `extra` lines after pid= and start=. A failure counts as a
 * crash, for the backoff.
 */
int agent_detached_start(struct agent_detached *p, const char *what, char *const argv[], const char *pid_path,
			 const char *extra, uint64_t now, struct error *err);

/* SIGTERM now, SIGKILL when it is still there after grace_usec (see agent_detached_tick()). */
void agent_detached_stop(struct agent_detached *p, uint64_t now, uint64_t grace_usec);

/*
 * Supervision, on each tick: returns true when the owner should reconcile, that is when the
 * process has exited (it is then forgotten, its pid file removed, and, when still `wanted` and
 * not stopping, counted as a crash) or when a wanted process that is not running may start.
 */
bool agent_detached_tick(struct agent_detached *p, const char *what, const char *pid_path, bool wanted, uint64_t now);

/* Forgets the process without stopping it (at the agent's exit). */
void agent_detached_release(struct agent_detached *p);
