/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The client side of the rendezvous of one-off dynos (the protocol is described in
 * src/agent/agent-rendezvous.h): a TLS connection to the attach_url's host and port, which
 * must carry a certificate this machine trusts (the system's store, and $COVE_CA_FILE, the
 * CA of coved's data directory: DATA_DIR/tls/ca.pem), the secret, then the bytes of the
 * session both ways between the dyno and this process's stdin and stdout.
 */

#include <stdbool.h>

#include "base/error.h"

struct rendezvous_options {
	bool raw_tty;       /* stdin is a terminal the dyno's terminal stands in for: raw mode */
	bool exit_code;     /* take the exit status from the `-x` marker line, and strip it */
};

/*
 * Attaches to url ("rendezvous://HOST:PORT/SECRET") until the server closes. *ret_exit is
 * 0, or the status the marker line carried. Fails with a message when the URL is malformed,
 * the connection or the certificate fails, or the server refuses the secret.
 */
int rendezvous_attach(const char *url, const struct rendezvous_options *opts, int *ret_exit, struct error *err);
