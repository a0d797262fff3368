/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of the space routers (see agent-router.h): what is a router's own. Starting,
 * supervising, adopting and stopping it is agent-spaceproc.c's, as for every per-space process.
 *
 * The table is built from the desired state (apps of the space, their domains, maintenance,
 * internal routing, web quantity) and from the dynos of this host: web dynos that are `up`
 * and not stopping. A web dyno adopted after an agent restart is `starting` until its port is
 * seen again; if the last table routed to it, it stays in, so that an agent restart never
 * takes a dyno out of rotation.
 */
#include "agent/agent-router.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "agent/agent-space.h"
#include "agent/agent-spaceproc.h"
#include "base/alloc.h"
#include "router/router-table.h"

#define USEC 1000000ull
#define ROUTER_STOP_USEC (15 * USEC) /* its drain (10 s) and some */

void agent_router_ingress(const struct agent_space *s, char ret[static 16])
{
	struct in_addr in = { .s_addr = htonl((127u << 24) + 512u + s->uplink_index) };
	inet_ntop(AF_INET, &in, ret, 16);
}

void agent_router_listen(struct agent *a, const struct agent_space *s, char ret[static 32])
{
	char ingress[16];
	agent_router_ingress(s, ingress);
	snprintf(ret, 32, "%s:%u", ingress, a->cfg->router_port);
}

/* Whether the last table of the router sent requests to the dyno. */
static bool was_routed(const struct agent_spaceproc *r, const char *dyno_id)
{
	size_t i, k;
	json_t *app, *d;
	json_array_foreach(json_object_get(r->table, "apps"), i, app)
	{
		json_array_foreach(json_object_get(app, "dynos"), k, d)
		{
			if (streq_ptr(json_string_value(json_object_get(d, "id")), dyno_id))
				return true;
		}
	}
	return false;
}

static json_t *router_table(struct agent *a, const struct agent_space *s, const struct agent_spaceproc *r)
{
	struct router_timeouts t = router_timeouts_default;
	if (a->cfg->router_timeouts)
		router_timeouts_parse(a->cfg->router_timeouts, &t, NULL);
	json_t *apps = json_array();
	size_t i;
	json_t *app;
	json_array_foreach(json_object_get(a->desired, "apps"), i, app)
	{
		const char *app_id = json_string_value(json_object_get(app, "id"));
		if (!app_id || !streq_ptr(json_string_value(json_object_get(app, "space_id")), s->id))
			continue;
		json_int_t web = 0;
		size_t k;
		json_t *f;
		json_array_foreach(json_object_get(app, "formation"), k, f)
		{
			if (streq_ptr(json_string_value(json_object_get(f, "type")), "web"))
				web = json_integer_value(json_object_get(f, "quantity"));
		}
		json_t *dynos = json_array();
		for (size_t n = 0; n < a->n_dynos; n++) {
			const struct agent_dyno *d = a->dynos[n];
			if (!streq(d->app_id, app_id) || !d->port || !d->proc.running || d->proc.stopping || d->remove)
				continue;
			if (d->state != DYNO_UP && !(d->state == DYNO_STARTING && was_routed(r, d->id)))
				continue;
			json_array_append_new(dynos, json_pack("{s:s, s:s, s:s, s:i}", "id", d->id, "name", d->name, "address",
							       d->ip, "port", (int)d->port));
		}
		json_t *domains = json_object_get(app, "domains");
		json_array_append_new(apps, json_pack("{s:s, s:s, s:b, s:b, s:I, s:O, s:o}", "id", app_id, "name",
						      json_string_value(json_object_get(app, "name")) ?: "", "maintenance",
						      json_is_true(json_object_get(app, "maintenance")), "internal",
						      json_is_true(json_object_get(app, "internal_routing")), "web", web,
						      "domains", json_is_array(domains) ? domains : json_array(), "dynos", dynos));
	}
	json_t *table = json_pack("{s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:o}", "space", s->name, "timeouts", "connect_ms",
				  (int)t.connect_ms, "response_ms", (int)t.response_ms, "idle_ms", (int)t.idle_ms,
				  "header_ms", (int)t.header_ms, "keepalive_ms", (int)t.keepalive_ms, "apps", apps);
	/* The trusted IP ranges: the router checks each request's source too (router-table.h). */
	json_t *trusted = json_object_get(agent_space_desired(a, s->id), "inbound_rules");
	if (json_is_array(trusted))
		json_object_set(table, "trusted", trusted);
	return table;
}

/* Where it listens: in the host's namespace, and on the space's gateway for the dynos. */
static char *router_settings(struct agent *a, const struct agent_space *s)
{
	char listen[32];
	agent_router_listen(a, s, listen);
	struct in_addr gw = { .s_addr = htonl(s->net.addr + 1) };
	char gateway[16];
	inet_ntop(AF_INET, &gw, gateway, sizeof(gateway));
	return xasprintf("listen=%s\ninternal=%s:%u\n", listen, gateway, AGENT_ROUTER_INTERNAL_PORT);
}

static void router_start(struct agent *a, const struct agent_space *s, struct agent_spaceproc *p, const char *netns,
			 uint64_t now)
{
	char threads[16], listen[32], internal[32];
	snprintf(threads, sizeof(threads), "%u", a->cfg->router_threads);
	agent_spaceproc_setting(p, "listen", listen, sizeof(listen));
	agent_spaceproc_setting(p, "internal", internal, sizeof(internal));
	_cleanup_free_ char *table = agent_spaceproc_path(a, p, "json"), *log = agent_spaceproc_path(a, p, "log");
	char *const argv[] = { "coved", "router", "--space", (char *)s->name, "--table", table, "--log", log,
			       "--listen", listen, "--netns", (char *)netns, "--internal", internal, "--threads", threads,
			       NULL };
	agent_spaceproc_spawn(a, p, argv, now);
}

/* "json.tmp": what the agents before file_write_atomic() may have left. */
static const char *const router_files[] = { "log", "json.tmp", NULL };

const struct agent_spaceproc_kind agent_router_kind = {
	.name = "router", .dir = "routers", .files = router_files, .stop_grace_usec = ROUTER_STOP_USEC,
	.settings = router_settings, .table = router_table, .start = router_start,
};
