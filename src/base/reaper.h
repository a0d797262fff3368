/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * Children nobody waits for. A thread that spawns a child it will not wait for itself (git's
 * CGI, a clean-up `rm`) hands its pid to the reaper; the process's main thread calls
 * reaper_collect() on each SIGCHLD. A child that was not adopted is never reaped here, so a
 * thread that waits for its own child (pg_dump, say) always gets its exit status.
 * Thread-safe.
 */

/* Takes `pid`, a child of this process, to be reaped once it has exited. */
void reaper_adopt(pid_t pid);

/* Reaps the adopted children that have exited, without waiting; returns how many. */
size_t reaper_collect(void);

/* How many adopted children are still to be reaped. */
size_t reaper_pending(void);
