/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent: one per host. It long-polls the API for the desired state of the spaces its
 * host runs, makes it real (space networks, dynos in sandboxes), supervises what runs, and
 * reports what it observes. Everything happens on one epoll loop in one thread (the sandbox
 * forks, so there are no threads here); slow work is asynchronous (HTTP through curl's multi
 * interface, slug extraction in a child process).
 *
 * Reconciling is idempotent: running it twice changes nothing, and after a restart the
 * agent finds the spaces and dynos that exist (its state lives in DATA_DIR/agent) and adopts
 * them instead of starting new ones. Stopping the agent never stops dynos.
 */

#include "base/error.h"

struct agent_config {
	const char *api_url;
	const char *token;          /* the host token */
	const char *data_dir;       /* the agent keeps its state in DATA_DIR/agent */
	const char *outbound_pool;  /* CIDR of the addresses spaces leave from */
	unsigned boot_timeout_s;    /* a web dyno that does not bind $PORT by then is killed (R10) */
	unsigned stop_timeout_s;    /* SIGKILL this long after SIGTERM (R12) */
	unsigned router_port;       /* the port of each space's router on its ingress address */
	const char *router_timeouts; /* "connect=5,response=30,..." (router-table.h); NULL: Heroku's */
	unsigned router_threads;    /* event loops per router; 0: one per CPU, up to 8 */
	const char *dns_upstreams;  /* the spaces' resolvers ask these for other names: "ADDR[:PORT],...",
	                               "none" to refuse them; NULL: the nameservers of /etc/resolv.conf */
	const char *rendezvous_listen; /* HOST:PORT of `run` sessions (port 0 picks one); NULL: none */
	const char *tls_cert;       /* PEM files of the rendezvous' certificate; NULL: the local */
	const char *tls_key;        /*  CA's DATA_DIR/tls/server.pem and server-key.pem */
};

/* Runs the agent until SIGTERM or SIGINT. Returns 0, or a negative errno when it could not start. */
int agent_run(const struct agent_config *cfg, struct error *err);
