/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The client side of the rendezvous of one-off dynos (the protocol is described in
 * src/agent/agent-rendezvous.h): a TLS connection to the attach_url's host and port, which
 * must carry a certificate this machine trusts (the system's store, and a CA file: coved's
 * DATA_DIR/tls/ca.pem), the secret, then the bytes of the session both ways between the dyno
 * and two descriptors. `cove run` uses it with its stdin and stdout, the builder to show the
 * release phase's output in the push.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

struct rendezvous_options {
	int in_fd;          /* what goes to the dyno; -1 for nothing (its input ends at once) */
	int out_fd;         /* where the dyno's output goes, unless output is set */
	void (*output)(void *cls, const char *data, size_t len); /* or it goes here */
	void *cls;
	const char *ca_file; /* a CA to trust besides the system's, or NULL */
	bool raw_tty;       /* in_fd is a terminal the dyno's terminal stands in for: raw mode */
	bool exit_code;     /* take the exit status from the `-x` marker line, and strip it */
};

/*
 * Attaches to url ("rendezvous://HOST:PORT/SECRET") until the server closes. *ret_exit is
 * 0, or the status the marker line carried. Fails with a message when the URL is malformed,
 * the connection or the certificate fails, or the server refuses the secret.
 */
int rendezvous_attach(const char *url, const struct rendezvous_options *opts, int *ret_exit, struct error *err);
