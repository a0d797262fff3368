/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The router's event loops: each a thread with its own epoll set, its own listening sockets
 * (SO_REUSEPORT spreads connections among the loops), its own connections, buffers and pool
 * of idle connections to dynos. Loops share nothing on the hot path; what they share is here:
 * the routing table, swapped by the main thread and picked up by each loop at its next
 * iteration, the request log's descriptor, and the stop flag.
 *
 * The design note at the top of router-proxy.c describes a loop's iteration and the life of
 * a request.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "router/router-table.h"

struct router_shared {
	pthread_mutex_t lock;
	struct route_table *table;       /* under lock; the loops hold their own references */
	atomic_uint_fast64_t generation; /* moves on with every new table */
	atomic_bool stopping;            /* stop accepting, finish what is in flight, exit */
	uint32_t drain_ms;               /* how long in-flight requests may take once stopping */
	int log_fd;                      /* the request log (O_APPEND); -1 for none */
};

struct router_loop_config {
	struct router_shared *shared;
	unsigned index;
	int ingress_fd;        /* listening in the host namespace, or -1 */
	int internal_fd;       /* listening in the space's namespace, or -1 */
	uint16_t ingress_port; /* for X-Forwarded-Port */
	uint16_t internal_port;
	uint32_t poll_us;      /* the longest a loop polls for events before it sleeps; 0: never */
	bool no_io_uring;      /* never batch writes with io_uring */
};

/* Publishes a new table (the shared state takes over the caller's reference). */
void router_shared_set_table(struct router_shared *s, struct route_table *t);

/*
 * Runs one loop until the router stops and the loop's requests are done (or the drain time
 * is over). For pthread_create(): arg is a struct router_loop_config, which must outlive the
 * thread. The calling thread must be in the space's network namespace: the connections to
 * dynos are created in the namespace of the thread that creates them.
 */
void *router_loop_main(void *arg);
