/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The stop signals of cove's processes (coved's agent, the builder, the resolver), taken
 * synchronously on their event loop: SIGTERM, SIGINT and SIGHUP are blocked and arrive through
 * a signalfd instead, read as struct signalfd_siginfo.
 */

/*
 * Blocks SIGTERM, SIGINT, SIGHUP, and `extra` when it is not 0 (SIGUSR1, say), in the calling
 * thread, and returns a signalfd (non-blocking, close-on-exec) that reports them, or a negative
 * errno (errno set too, as by signalfd()) when none can be made; the signals stay blocked. The
 * caller closes it.
 */
int signals_stop_fd(int extra);
