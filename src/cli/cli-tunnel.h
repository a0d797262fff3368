/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The CLI's side of the bastion (docs/bastion.md): a local TCP port on 127.0.0.1 whose every
 * connection becomes a tunnel through coved into the app's space, to one target (an add-on
 * attachment such as DATABASE, or a dyno and a port).
 *
 * For each local connection the CLI opens a bastion session (POST /apps/:app/bastion-sessions)
 * and upgrades a new connection to the API to it (GET .../bastion-sessions/:id, `Upgrade:
 * cove-bastion`), through libcurl, so https and the API's certificate work as for every other
 * request; then it relays bytes (base/relay.h) until either side closes. Each connection is
 * served by a child process, so a slow one never holds up the others.
 */

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "cli/cli.h"

struct cli_tunnel;

/*
 * Checks that the caller may open the tunnel (the API refuses with its message otherwise:
 * no bastion access, unknown target) by opening the first session, and listens on
 * 127.0.0.1:port (0: a free port). Nothing is listening when it fails.
 */
int cli_tunnel_open(struct cli *c, const char *app, const char *target, uint16_t port, struct cli_tunnel **ret,
		    struct error *err);
void cli_tunnel_free(struct cli_tunnel *t);

/* The local port the tunnel listens on. */
uint16_t cli_tunnel_port(const struct cli_tunnel *t);

/*
 * Serves local connections until SIGINT or SIGTERM, or, when child > 0, until that process
 * exits; then stops listening and waits for the tunnels. *ret_status receives the child's
 * exit status (its wait status as an exit code; 0 without a child).
 */
int cli_tunnel_serve(struct cli_tunnel *t, pid_t child, int *ret_status, struct error *err);
