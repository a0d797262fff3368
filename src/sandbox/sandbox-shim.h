/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The contract between sandbox_start() and the shim it starts (sandbox-shim.c), a new program
 * run as `SANDBOX_SHIM_ARGV0 <dyno id>` with these file descriptors and nothing else open:
 *
 *   0, 1, 2             /dev/null (the shim sends its own stderr to state_dir/shim.log)
 *   SANDBOX_SHIM_FD_SPEC    a sealed memfd holding the spec (sandbox-spec.h)
 *   SANDBOX_SHIM_FD_REPORT  one end of the report socket (below)
 *   SANDBOX_SHIM_FD_OUTPUT  the dyno's output, when the spec's output_fd says so
 *
 * The report socket (a SOCK_SEQPACKET pair, so that a writer whose reader died gets EPIPE
 * rather than SIGPIPE) tells the waiting sandbox_start() how starting went. The shim, init
 * and the command's process each hold their end until their part is done; whoever fails sends
 * one struct sandbox_report and exits. The command's copy is close-on-exec, so end of file
 * with nothing sent means: the command runs, and the pid file is in place.
 */

#include <stdint.h>

#include "base/error.h"

#define SANDBOX_SHIM_ARGV0 "cove-sandbox-shim"
#define SANDBOX_SHIM_FD_SPEC 3
#define SANDBOX_SHIM_FD_REPORT 4
#define SANDBOX_SHIM_FD_OUTPUT 5

/* Sent as one record. */
struct sandbox_report {
	int32_t code; /* negative errno */
	char message[ERROR_MESSAGE_MAX];
};

/* Runs the shim: the process side of sandbox_start(). Returns the exit code. */
int sandbox_shim_main(const char *id);
