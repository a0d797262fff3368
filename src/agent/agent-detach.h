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
