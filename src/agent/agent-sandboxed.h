/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A process the agent runs in a sandbox (src/sandbox) and supervises: a dyno's (agent-dyno.h)
 * or an add-on's server (agent-addon.h). This is what their supervision shares; what a dyno or
 * an add-on makes of each step (its states, its events, when it is started again) is theirs.
 *
 * While its sandbox runs, the loop watches its pidfd with the owner's `struct watch`, and the
 * owner calls agent_sandboxed_ended() when the watch fires. Restarts back off: after a failed
 * start, 2, 4, 8 … seconds up to AGENT_SANDBOXED_BACKOFF_MAX_S; after a crash, at once, then 1, 2, 4 …
 * seconds up to the same cap, started over when the process had been up for
 * AGENT_SANDBOXED_STABLE_USEC.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "sandbox/sandbox.h"

struct agent;
struct watch;

#define AGENT_SANDBOXED_BACKOFF_MAX_S 320
#define AGENT_SANDBOXED_STABLE_USEC (60 * 1000000ull) /* up this long: the backoff starts over */

struct agent_sandboxed {
	struct sandbox sb;
	int pidfd;           /* watched while running; -1 otherwise */
	bool running;        /* a sandbox exists for it */
	bool stopping;       /* its stop signal was sent */
	unsigned crashes;
	uint64_t restart_at; /* when crashed: start again then (monotonic usec) */
	uint64_t kill_at;    /* when stopping: SIGKILL then */
};

#define AGENT_SANDBOXED_INIT { .pidfd = -1 }

/*
 * Starts the sandbox of spec and watches its pidfd with w. `what` names the process in
 * messages ("dyno 'web.1' of 'acme'"). A failure to start returns a negative errno with err set
 * and changes nothing; see agent_sandboxed_start_failed().
 */
int agent_sandboxed_start(struct agent *a, struct agent_sandboxed *p, struct watch *w, const struct sandbox_spec *spec,
			  const char *what, struct error *err);

/* A start failed: one more crash, and the next try after its backoff. */
void agent_sandboxed_start_failed(struct agent_sandboxed *p);

/*
 * Adopts the sandbox in sandbox_dir that ran before the agent restarted, watched with w:
 * returns true when it still runs.
 */
bool agent_sandboxed_adopt(struct agent *a, struct agent_sandboxed *p, struct watch *w, const char *sandbox_dir,
			   const char *what);

/*
 * The watch fired: the process is no longer running nor watched. Returns its exit code (its
 * exit status, or 128 + the signal that ended it), and sets *ret_oom when the cgroup's OOM
 * killer ended it.
 */
int agent_sandboxed_ended(struct agent *a, struct agent_sandboxed *p, const char *sandbox_dir, const char *what,
			  bool *ret_oom);

/*
 * It ended without being asked to: one more crash, started over first when it was `stable`
 * (up for AGENT_SANDBOXED_STABLE_USEC). Sets restart_at, and returns the delay (0: at once).
 */
uint64_t agent_sandboxed_crashed(struct agent_sandboxed *p, bool stable, uint64_t now);

/* Asks it to stop with signal, and to be killed grace_usec later (agent_sandboxed_kill_due()). */
void agent_sandboxed_stop(struct agent_sandboxed *p, int signal, uint64_t grace_usec, const char *what);

/*
 * On each tick: true when it was asked to stop and its grace time is over; it then gets
 * SIGKILL, and again every 5 s until it has gone.
 */
bool agent_sandboxed_kill_due(struct agent_sandboxed *p, uint64_t now);

/*
 * Removes what is left of the process once it has ended for good: its sandbox (the state in
 * sandbox_dir, its cgroup) and its network namespace cove-d-<id>. Failures are logged.
 */
void agent_sandboxed_remove(const char *id, const char *sandbox_dir, const char *what);

/* The exit code of a wait status: the exit status, or 128 + the signal that ended it. */
int agent_exit_code(int status);

/* Forgets the process without stopping it (it keeps running; at the agent's exit). */
void agent_sandboxed_release(struct agent_sandboxed *p);
