/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The router of a space (docs/router.md): a process of its own, `coved router`, started and
 * supervised by the agent, one per space. It listens on the space's ingress address in the
 * host's network namespace and, for internal-routing apps, on the space's internal address
 * inside the space; it connects to dynos from inside the space. Requests go to the `up` web
 * dynos of the app the Host header names, following the routing table the agent writes
 * (router-table.h), reloaded whenever the agent replaces the file, without a restart and
 * without dropping a connection.
 *
 *   SIGTERM, SIGINT   stop accepting, finish the requests in flight (for a while), exit
 *   SIGHUP            load the routing table again
 *   SIGUSR1           open the request log again (after it was moved away)
 *
 * The router never forks; it runs several independent event loops, one thread each, behind
 * SO_REUSEPORT listeners (router-proxy.h).
 */

#include <stdbool.h>

#include "base/error.h"

struct router_config {
	const char *space;       /* the space's name, for messages */
	const char *table_path;  /* the routing table, JSON */
	const char *log_path;    /* request log lines are appended here; NULL: none */
	const char *listen;      /* ADDRESS:PORT of the ingress, in the caller's namespace; NULL: none */
	const char *netns_path;  /* the space's network namespace; NULL: stay in the caller's */
	const char *internal;    /* ADDRESS:PORT inside the space's namespace; NULL: none */
	unsigned threads;        /* event loops; 0: one per CPU, up to 8 */
	unsigned drain_s;        /* how long requests in flight may finish once stopping */
	unsigned poll_us;        /* the longest a loop polls before it sleeps (router-proxy.c); 0: never */
	bool no_io_uring;        /* each write a system call of its own, never batched (router-proxy.c) */
};

/* The default of --poll-us. */
#define ROUTER_POLL_US_DEFAULT 200

/* Runs the router until SIGTERM or SIGINT. Returns 0, or a negative errno when it cannot start. */
int router_run(const struct router_config *cfg, struct error *err);

/* `coved router ...`: parses the command line and runs the router. Returns the exit status. */
int router_main(int argc, char **argv);
