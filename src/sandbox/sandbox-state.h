/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The files by which a dyno outlives its caller, in its state directory, both written
 * atomically (temporary file, fsync, rename) by the shim and read by whoever comes later:
 *
 *   pid    id=<dyno id>            written once init is in its cgroup, before the command runs
 *          shim_pid=<pid>
 *          shim_start=<ticks>
 *          init_pid=<pid>
 *          init_start=<ticks>
 *
 *   exit   wait_status=<n>         written when the dyno has ended, before the shim exits
 *          oom_killed=<0|1>
 *
 * And the one fact read from /proc to tell a live process from a reused pid: the start time,
 * field 22 of /proc/PID/stat, in clock ticks after boot.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "sandbox/sandbox.h"

#define SANDBOX_STATE_FILE_MAX 4096

/* Writes the pid file of a started dyno. */
int sandbox_state_write_pid(const char *state_dir, const char *id, const struct sandbox *sb, struct error *err);

/*
 * Reads the pid file; ret_id (optional) receives the dyno id (caller frees). -ENOENT when
 * there is none.
 */
int sandbox_state_read_pid(const char *state_dir, struct sandbox *ret, char **ret_id, struct error *err);

/* Writes the exit file. */
int sandbox_state_write_exit(const char *state_dir, int wait_status, bool oom_killed, struct error *err);

/* Reads the exit file; -ENOENT when there is none. */
int sandbox_state_read_exit(const char *state_dir, int *ret_status, bool *ret_oom_killed, struct error *err);

/*
 * Extracts the state letter ('R', 'S', 'Z', ...) and the start time from the text of a
 * /proc/PID/stat file (whose comm may hold anything).
 */
int sandbox_parse_stat(const char *stat, char *ret_state, uint64_t *ret_start);

/*
 * Reads the start time of process pid; -ESRCH when there is no such process or it has exited
 * (a zombie: its parent did not reap it yet).
 */
int sandbox_proc_starttime(pid_t pid, uint64_t *ret);

/*
 * Opens a pidfd (O_CLOEXEC) for the process pid that started at start, and checks that it
 * still runs: -ESRCH when it has exited or the pid now names another process.
 */
int sandbox_pidfd_open(pid_t pid, uint64_t start);
