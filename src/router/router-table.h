/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The routing table of a space's router: its apps, the host names each answers to, and the
 * web dynos that are `up`. The agent writes it as JSON to DATA_DIR/agent/routers/<space>.json
 * (atomically: a temporary file renamed over the old one), the router loads it at start and
 * again whenever the file is replaced:
 *
 *   {"space": "acme-prod",
 *    "timeouts": {"connect_ms": 5000, "response_ms": 30000, "idle_ms": 55000,
 *                 "header_ms": 30000, "keepalive_ms": 90000},
 *    "apps": [{"id": "…", "name": "myapp", "maintenance": false, "internal": false, "web": 2,
 *              "domains": ["myapp.acme-prod.localhost", "www.example.com", "*.example.org"],
 *              "dynos": [{"id": "…", "name": "web.1", "address": "10.0.0.10", "port": 5000}]}],
 *    "trusted": [{"action": "allow", "source": "203.0.113.0/24"}]}
 *
 * `trusted` is the space's trusted IP ranges (base/ruleset.h): a request that reaches the
 * ingress address from a source they do not allow gets a 403 page; without `trusted`, every
 * source is. Requests on the internal address come from dynos and are never checked.
 *
 * `web` is the quantity of the web formation: no up dyno with `web` 0 is H14 (no web dynos
 * running), with `web` > 0 H10 (app crashed). A domain "*.example.org" answers for every name
 * one label below example.org that no other domain names exactly.
 *
 * A table is immutable once loaded and shared by the router's loops: it is reference counted,
 * and a loop that switches to a newer one drops its reference (see router-proxy.c).
 */

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ruleset.h"

#define ROUTE_NAME_MAX 64
#define ROUTE_ID_MAX 40
#define ROUTE_HOST_MAX 253

struct router_timeouts {
	uint32_t connect_ms;   /* H19 */
	uint32_t response_ms;  /* H12: to the first byte of the response */
	uint32_t idle_ms;      /* H15: between bytes of a response, and of a WebSocket */
	uint32_t header_ms;    /* a client's request head must be complete by then (408) */
	uint32_t keepalive_ms; /* an idle client connection is closed after this */
};

struct route_dyno {
	char id[ROUTE_ID_MAX];
	char name[ROUTE_NAME_MAX];
	struct sockaddr_in addr;
};

struct route_app {
	char id[ROUTE_ID_MAX];
	char name[ROUTE_NAME_MAX];
	bool maintenance;
	bool internal;     /* served only on the space's internal address */
	unsigned web;      /* the web formation's quantity */
	size_t first_dyno; /* its up web dynos: table->dynos[first_dyno .. first_dyno + n_dynos) */
	size_t n_dynos;
};

struct route_domain {
	const char *name; /* lower case, no trailing dot; NULL for an empty slot */
	size_t len;
	uint32_t hash;
	uint32_t app;
};

struct route_table {
	atomic_int refs;
	char space[ROUTE_NAME_MAX];
	struct router_timeouts timeouts;
	struct route_app *apps;
	size_t n_apps;
	struct route_dyno *dynos;
	size_t n_dynos;
	struct route_domain *slots; /* open addressing, a power of two, at most half full */
	size_t n_slots;
	char *names;                /* the domains' storage */
	bool trust_all;             /* no trusted IP ranges narrower than 0.0.0.0/0 */
	struct inbound_rule *trusted;
	size_t n_trusted;
};

/* The timeouts of Heroku's router, used where the table does not say. */
extern const struct router_timeouts router_timeouts_default;

/*
 * Parses timeouts as operators give them, seconds by name: "connect=5,response=30,idle=55,
 * header=30,keepalive=90" (any of them, decimals allowed); the others keep Heroku's.
 */
int router_timeouts_parse(const char *spec, struct router_timeouts *ret, struct error *err);

/* Builds a table from the JSON text; on failure *ret is untouched and err says why. */
int route_table_parse(const char *text, size_t len, struct route_table **ret, struct error *err);

/* An empty table (every host is unknown), with the default timeouts. */
struct route_table *route_table_empty(void);

struct route_table *route_table_ref(struct route_table *t);
void route_table_unref(struct route_table *t);

/*
 * The app answering to host (as a request gives it: any case, maybe a trailing dot, no
 * port), or NULL. Internal-routing apps are found only when `internal` is true, that is for
 * a request that came in on the space's internal address.
 */
/* Whether a client at addr (network byte order) may use the ingress. */
bool route_table_trusts(const struct route_table *t, uint32_t addr);

const struct route_app *route_table_find(const struct route_table *t, const char *host, size_t len, bool internal);
