/* SPDX-License-Identifier: MIT */
#include "agent/agent-space.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-router.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "net/net-space.h"

struct agent_space *agent_space_find(struct agent *a, const char *id)
{
	for (size_t i = 0; i < a->n_spaces; i++)
		if (streq(a->spaces[i]->id, id))
			return a->spaces[i];
	return NULL;
}

static char *space_path(struct agent *a, const char *id)
{
	return xasprintf("%s/spaces/%s.json", a->state_dir, id);
}

static int space_save(struct agent *a, const struct agent_space *s, struct error *err)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s}", "id", s->id, "name", s->name, "cidr", s->cidr, "uplink_index",
			      (int)s->uplink_index, "outbound_ip", s->outbound_ip);
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	_cleanup_free_ char *path = space_path(a, s->id);
	return file_write_atomic(path, text, strlen(text), 0600, err);
}

static void space_add(struct agent *a, struct agent_space *s)
{
	a->spaces = xrealloc(a->spaces, (a->n_spaces + 1) * sizeof(*a->spaces));
	a->spaces[a->n_spaces++] = s;
}

int agent_spaces_load(struct agent *a, struct error *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/spaces", a->state_dir);
	int r = mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	DIR *d = opendir(dir);
	if (!d)
		return error_set(err, -errno, "open '%s': %m", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".json") || strstr(de->d_name, ".tmp."))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		json_t *j = json_load_file(path, 0, NULL);
		const char *id, *name, *cidr, *ip;
		int index;
		struct agent_space *s = xcalloc(1, sizeof(*s));
		if (!j || json_unpack(j, "{s:s, s:s, s:s, s:i, s:s}", "id", &id, "name", &name, "cidr", &cidr, "uplink_index",
				      &index, "outbound_ip", &ip) < 0 ||
		    cidr4_parse(cidr, 8, 30, &s->net, NULL) < 0) {
			log_warning("agent: ignoring damaged space state '%s'", path);
			free(s);
			json_decref(j);
			continue;
		}
		snprintf(s->id, sizeof(s->id), "%s", id);
		snprintf(s->name, sizeof(s->name), "%s", name);
		snprintf(s->cidr, sizeof(s->cidr), "%s", cidr);
		snprintf(s->outbound_ip, sizeof(s->outbound_ip), "%s", ip);
		s->uplink_index = (unsigned)index;
		json_decref(j);
		space_add(a, s);
	}
	closedir(d);
	return 0;
}

/*
 * The lowest uplink index and outbound address no other space uses: neither one of this
 * agent's nor any other the host has (the kernel's own account, from src/net), so that a
 * second installation on the same host, or a leftover, does not collide.
 */
static int space_allocate(struct agent *a, struct agent_space *s, struct error *err)
{
	_cleanup_free_ struct net_space_record *host = NULL;
	size_t n_host = 0;
	int r = net_host_spaces(&host, &n_host, err);
	if (r < 0)
		return r;
	for (unsigned idx = 1; idx < 16384; idx++) {
		bool used = false;
		for (size_t i = 0; i < a->n_spaces && !used; i++)
			used = a->spaces[i] != s && a->spaces[i]->uplink_index == idx;
		for (size_t i = 0; i < n_host && !used; i++)
			used = host[i].uplink_index == idx && !streq(host[i].space_id, s->id);
		if (!used) {
			s->uplink_index = idx;
			break;
		}
	}
	uint32_t size = a->pool.prefix >= 32 ? 1 : (uint32_t)1 << (32 - a->pool.prefix);
	/* Skip the network and broadcast addresses, and the first host address, of pools larger than /31. */
	uint32_t first = size > 2 ? 2 : 0, last = size > 2 ? size - 2 : size - 1;
	for (uint32_t off = first; off <= last; off++) {
		uint32_t addr = a->pool.addr + off;
		struct in_addr in = { .s_addr = htonl(addr) };
		char ip[16];
		inet_ntop(AF_INET, &in, ip, sizeof(ip));
		bool used = false;
		for (size_t i = 0; i < a->n_spaces && !used; i++)
			used = a->spaces[i] != s && streq(a->spaces[i]->outbound_ip, ip);
		for (size_t i = 0; i < n_host && !used; i++)
			used = host[i].outbound_ip == addr && !streq(host[i].space_id, s->id);
		if (!used) {
			snprintf(s->outbound_ip, sizeof(s->outbound_ip), "%s", ip);
			return 0;
		}
	}
	return error_set(err, -ENOSPC, "outbound pool is exhausted: no address left for space '%s'", s->name);
}

/* Host-wide state: forwarding, the outbound device, the host table (rendered by src/net from
 * the spaces that exist). */
static void host_ensure(struct agent *a)
{
	struct net_host_config cfg = { .outbound_pool = a->cfg->outbound_pool };
	struct error err = { 0 };
	if (net_host_ensure(&cfg, &err) < 0)
		log_error("agent: host network: %s", err.message);
	else
		a->host_ensured = true;
}

static void space_ensure(struct agent *a, struct agent_space *s)
{
	/* Dynos may reach the space's router on the gateway (internal routing, agent-router.h). */
	const struct net_nft_rule services[] = {
		{ .daddr = { .addr = s->net.addr + 1, .prefix = 32 }, .proto = NET_NFT_TCP,
		  .port_min = AGENT_ROUTER_INTERNAL_PORT, .port_max = AGENT_ROUTER_INTERNAL_PORT, .accept = true },
	};
	struct net_space_config cfg = {
		.space_id = s->id,
		.cidr = s->cidr,
		.uplink_index = s->uplink_index,
		.outbound_ip = s->outbound_ip,
		.rules = { .services = services, .n_services = ARRAY_SIZE(services) },
	};
	struct error err = { 0 };
	if (net_space_ensure(&cfg, &err) < 0) {
		log_error("agent: space '%s': %s", s->name, err.message);
		return;
	}
	s->ensured = true;
	log_info("agent: space '%s' ready, leaving from %s", s->name, s->outbound_ip);
}

void agent_spaces_reconcile(struct agent *a, json_t *desired_spaces)
{
	for (size_t i = 0; i < a->n_spaces; i++)
		a->spaces[i]->seen = false;
	bool host_dirty = !a->host_ensured;
	size_t i;
	json_t *d;
	json_array_foreach(desired_spaces, i, d)
	{
		const char *id = json_string_value(json_object_get(d, "id"));
		const char *name = json_string_value(json_object_get(d, "name"));
		const char *cidr = json_string_value(json_object_get(d, "cidr"));
		const char *state = json_string_value(json_object_get(d, "state"));
		const char *reported_ip = json_string_value(json_object_get(d, "outbound_ip"));
		const char *reported_ingress = json_string_value(json_object_get(d, "ingress"));
		if (!id || !name || !cidr || !state)
			continue;
		struct agent_space *s = agent_space_find(a, id);
		if (!s) {
			if (streq(state, "deleting"))
				continue;
			s = xcalloc(1, sizeof(*s));
			snprintf(s->id, sizeof(s->id), "%s", id);
			snprintf(s->name, sizeof(s->name), "%s", name);
			snprintf(s->cidr, sizeof(s->cidr), "%s", cidr);
			struct error err = { 0 };
			if (cidr4_parse(cidr, 8, 30, &s->net, &err) < 0 || space_allocate(a, s, &err) < 0 ||
			    space_save(a, s, &err) < 0) {
				log_error("agent: space '%s': %s", name, err.message);
				free(s);
				continue;
			}
			space_add(a, s);
			host_dirty = true;
		}
		s->seen = true;
		snprintf(s->name, sizeof(s->name), "%s", name);
		if (streq(state, "deleting")) {
			if (!s->deleting)
				log_info("agent: space '%s' is being destroyed", s->name);
			s->deleting = true;
			continue;
		}
		if (!s->ensured) {
			if (host_dirty) {
				host_ensure(a);
				host_dirty = false;
			}
			space_ensure(a, s);
		}
		char ingress[32];
		agent_router_listen(a, s, ingress);
		if (s->ensured && (streq(state, "allocating") || !reported_ip || !streq(reported_ip, s->outbound_ip) ||
				   !streq_ptr(reported_ingress, ingress)))
			s->report_allocated = true;
	}
	if (host_dirty)
		host_ensure(a);
	/* A space the API no longer lists is gone: take it apart too. */
	for (size_t k = 0; k < a->n_spaces; k++)
		if (!a->spaces[k]->seen && !a->spaces[k]->deleting) {
			log_info("agent: space '%s' is no longer this host's", a->spaces[k]->name);
			a->spaces[k]->deleting = true;
		}
	if (a->n_spaces)
		agent_want_report(a);
}

void agent_spaces_collect(struct agent *a)
{
	for (size_t i = 0; i < a->n_spaces;) {
		struct agent_space *s = a->spaces[i];
		bool busy = false;
		for (size_t k = 0; k < a->n_dynos && !busy; k++)
			busy = streq(a->dynos[k]->space_id, s->id);
		if (!s->deleting || busy) {
			i++;
			continue;
		}
		struct error err = { 0 };
		if (net_space_destroy(s->id, &err) < 0) {
			log_error("agent: destroy space '%s': %s", s->name, err.message);
			i++;
			continue;
		}
		_cleanup_free_ char *path = space_path(a, s->id);
		unlink(path);
		log_info("agent: space '%s' destroyed", s->name);
		/* Keep a tombstone until the API has heard of it. */
		s->report_destroyed = s->seen;
		if (s->report_destroyed) {
			s->ensured = false;
			s->deleting = false;
			s->seen = false;
			s->outbound_ip[0] = '\0';
			i++;
		} else {
			free(s);
			a->spaces[i] = a->spaces[--a->n_spaces];
		}
		a->host_ensured = false;
		agent_want_report(a);
	}
	if (!a->host_ensured)
		host_ensure(a);
}

json_t *agent_spaces_report(struct agent *a)
{
	json_t *list = json_array();
	for (size_t i = 0; i < a->n_spaces;) {
		struct agent_space *s = a->spaces[i];
		if (s->report_destroyed) {
			json_array_append_new(list, json_pack("{s:s, s:s}", "id", s->id, "state", "destroyed"));
			free(s);
			a->spaces[i] = a->spaces[--a->n_spaces];
			continue;
		}
		if (s->report_allocated && s->ensured && !s->deleting) {
			char ingress[32];
			agent_router_listen(a, s, ingress);
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "id", s->id, "state", "allocated",
							      "outbound_ip", s->outbound_ip, "ingress", ingress));
			s->report_allocated = false;
		}
		i++;
	}
	return list;
}

void agent_spaces_report_failed(struct agent *a, json_t *sent)
{
	size_t i;
	json_t *v;
	json_array_foreach(sent, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "id"));
		const char *state = json_string_value(json_object_get(v, "state"));
		struct agent_space *s = agent_space_find(a, id);
		if (streq(state, "allocated") && s) {
			s->report_allocated = true;
		} else if (streq(state, "destroyed") && !s) {
			s = xcalloc(1, sizeof(*s));
			snprintf(s->id, sizeof(s->id), "%s", id);
			s->report_destroyed = true;
			space_add(a, s);
		}
	}
}
