/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of the space resolvers (see agent-dns.h): what is a resolver's own. Starting,
 * supervising, adopting and stopping it is agent-spaceproc.c's, as for the routers.
 *
 * The table is built from the desired state (the apps of the space and their formation, the
 * space's add-ons) and from the dynos of this host that are `up`, not draining and not
 * stopping: a dyno leaves the answers as it leaves the router, before its SIGTERM.
 */
#include "agent/agent-dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent-spaceproc.h"
#include "base/alloc.h"
#include "dns/dns-table.h"
#include "dns/dns.h"
#include "dns/dns-wire.h"

#define USEC 1000000ull
#define RESOLVER_STOP_USEC (5 * USEC)

void agent_dns_address(const struct agent_space *s, char ret[static 16])
{
	struct in_addr in = { .s_addr = htonl(s->net.addr + 1) };
	inet_ntop(AF_INET, &in, ret, 16);
}

/* A process type as a DNS label: lower case ("Worker" is worker.<app>...). */
static char *type_label(const char *type)
{
	char *t = xstrdup(type);
	for (char *p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return t;
}

void agent_dns_dyno_names(const struct agent_dyno *d, char **ret_formation, char **ret_dyno, char **ret_app)
{
	_cleanup_free_ char *type = type_label(d->type);
	const char *dot = strrchr(d->name, '.');
	*ret_app = xasprintf("%s.app.%s", d->app_name, DNS_ZONE);
	*ret_formation = xasprintf("%s.%s", type, *ret_app);
	*ret_dyno = xasprintf("%s.%s", dot ? dot + 1 : d->name, *ret_formation);
}

/* Adds an address (or none) to the record `name` of kind `kind` in records (name -> record). */
static void record_add(json_t *records, const char *name, const char *kind, const char *address)
{
	if (!dns_name_valid(name))
		return; /* a name DNS cannot carry (a process type with a dot, say) is not published */
	json_t *rec = json_object_get(records, name);
	if (!rec) {
		rec = json_pack("{s:s, s:s, s:[]}", "name", name, "kind", kind, "addresses");
		json_object_set_new(records, name, rec);
	}
	if (!address)
		return;
	json_t *list = json_object_get(rec, "addresses");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (streq(json_string_value(v), address))
			return; /* two dynos of one name (during a deploy) may share nothing else */
	}
	json_array_append_new(list, json_string(address));
}

static bool dyno_answers(const struct agent_dyno *d)
{
	return d->state == DYNO_UP && d->proc.running && !d->proc.stopping && !d->draining && !d->remove;
}

static json_t *resolver_table(struct agent *a, const struct agent_space *s, const struct agent_spaceproc *p _unused_)
{
	json_t *records = json_object();
	size_t i;
	json_t *app;
	json_array_foreach(json_object_get(a->desired, "apps"), i, app)
	{
		const char *app_id = json_string_value(json_object_get(app, "id"));
		const char *app_name = json_string_value(json_object_get(app, "name"));
		if (!app_id || !app_name || !streq_ptr(json_string_value(json_object_get(app, "space_id")), s->id))
			continue;
		size_t k;
		json_t *f;
		json_array_foreach(json_object_get(app, "formation"), k, f)
		{
			const char *type = json_string_value(json_object_get(f, "type"));
			if (!type)
				continue;
			_cleanup_free_ char *label = type_label(type);
			_cleanup_free_ char *name = xasprintf("%s.%s.app.%s", label, app_name, DNS_ZONE);
			record_add(records, name, "formation", NULL);
		}
		for (size_t n = 0; n < a->n_dynos; n++) {
			const struct agent_dyno *d = a->dynos[n];
			if (!streq(d->app_id, app_id) || !dyno_answers(d))
				continue;
			_cleanup_free_ char *formation = NULL, *dyno = NULL, *app_dns = NULL;
			agent_dns_dyno_names(d, &formation, &dyno, &app_dns);
			record_add(records, formation, "formation", d->ip);
			record_add(records, dyno, "dyno", d->ip);
		}
	}
	json_t *space;
	json_array_foreach(json_object_get(a->desired, "spaces"), i, space)
	{
		if (!streq_ptr(json_string_value(json_object_get(space, "id")), s->id))
			continue;
		size_t k;
		json_t *addon;
		json_array_foreach(json_object_get(space, "addons"), k, addon)
		{
			const char *name = json_string_value(json_object_get(addon, "name"));
			const char *address = json_string_value(json_object_get(addon, "address"));
			struct in_addr in;
			if (name && address && inet_pton(AF_INET, address, &in) == 1)
				record_add(records, name, "addon", address);
		}
	}
	json_t *list = json_array();
	const char *key;
	json_t *rec;
	json_object_foreach(records, key, rec)
		json_array_append(list, rec);
	json_decref(records);
	return json_pack("{s:s, s:i, s:o}", "space", s->name, "ttl", DNS_TTL_DEFAULT, "records", list);
}

/* Where it listens: on the space's gateway. */
static char *resolver_settings(struct agent *a _unused_, const struct agent_space *s)
{
	char address[16];
	agent_dns_address(s, address);
	return xasprintf("listen=%s:%u\n", address, AGENT_DNS_PORT);
}

/* The resolver's command line: its space, its table, where it listens, whom it answers, its upstreams. */
static void resolver_start(struct agent *a, const struct agent_space *s, struct agent_spaceproc *p, const char *netns,
			   uint64_t now)
{
	char listen[32];
	agent_spaceproc_setting(p, "listen", listen, sizeof(listen));
	_cleanup_free_ char *table = agent_spaceproc_path(a, p, "json");
	const char *argv[12 + 2 * DNS_UPSTREAMS_MAX + 2] = { "coved", "dns", "--space", s->name, "--table", table,
							   "--listen", listen, "--netns", netns, "--clients", s->cidr };
	size_t n = 12;
	const char *up = a->cfg->dns_upstreams;
	_cleanup_free_ char *copy = up ? xstrdup(up) : NULL;
	if (up && streq(up, "none")) {
		argv[n++] = "--no-upstream";
	} else if (up) {
		for (char *save = NULL, *u = strtok_r(copy, ",", &save); u && n < 12 + 2 * DNS_UPSTREAMS_MAX;
		     u = strtok_r(NULL, ",", &save)) {
			argv[n++] = "--upstream";
			argv[n++] = u;
		}
	}
	argv[n] = NULL;
	agent_spaceproc_spawn(a, p, (char *const *)argv, now);
}

const struct agent_spaceproc_kind agent_resolver_kind = {
	.name = "resolver", .dir = "dns", .stop_grace_usec = RESOLVER_STOP_USEC,
	.settings = resolver_settings, .table = resolver_table, .start = resolver_start,
};
