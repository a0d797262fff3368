/* SPDX-License-Identifier: MIT */
#include "agent/agent-space.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-dns.h"
#include "agent/agent-addon.h"
#include "agent/agent-router.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/ruleset.h"
#include "net/net-space.h"

struct agent_space *agent_space_find(struct agent *a, const char *id)
{
	for (size_t i = 0; i < a->n_spaces; i++)
		if (streq(a->spaces[i]->id, id))
			return a->spaces[i];
	return NULL;
}

json_t *agent_space_desired(struct agent *a, const char *id)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(a->desired, "spaces"), i, d)
	{
		if (streq_ptr(json_string_value(json_object_get(d, "id")), id))
			return d;
	}
	return NULL;
}

/* FNV-1a of a JSON value's compact text after `salt`: whether rules changed since they were applied. */
static uint64_t json_hash(json_t *v, const char *salt)
{
	_cleanup_free_ char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	_cleanup_free_ char *all = xasprintf("%s %s", salt, text ? text : "null");
	uint64_t h = 14695981039346656037ull;
	for (const char *p = all; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 1099511628211ull;
	}
	return h ? h : 1;
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

static void space_load(struct agent *a, const char *path, const char *file, void *userdata)
{
	if (!strstr(file, ".json") || strstr(file, ".tmp."))
		return;
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
		return;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->cidr, sizeof(s->cidr), "%s", cidr);
	snprintf(s->outbound_ip, sizeof(s->outbound_ip), "%s", ip);
	s->uplink_index = (unsigned)index;
	json_decref(j);
	space_add(a, s);
}

int agent_spaces_load(struct agent *a, struct error *err)
{
	return agent_state_foreach(a, "spaces", space_load, NULL, err);
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

/*
 * The egress chain of a space from its outbound rules (an allowlist, base/ruleset.h): the
 * space's resolver first, then an accept per rule, then a drop of everything else. Without
 * rules in the desired state (an older API), nothing is filtered. A rule the agent cannot
 * read is left out, which narrows what dynos reach rather than widening it.
 */
static size_t egress_rules(const struct agent_space *s, json_t *rules, struct net_nft_rule *ret, size_t max)
{
	if (!json_is_array(rules))
		return 0;
	uint32_t resolver = s->net.addr + 1;
	size_t n = 0;
	ret[n++] = (struct net_nft_rule){ { resolver, 32 }, NET_NFT_UDP, AGENT_SPACE_RESOLVER_PORT, AGENT_SPACE_RESOLVER_PORT, true };
	ret[n++] = (struct net_nft_rule){ { resolver, 32 }, NET_NFT_TCP, AGENT_SPACE_RESOLVER_PORT, AGENT_SPACE_RESOLVER_PORT, true };
	size_t i;
	json_t *j;
	json_array_foreach(rules, i, j)
	{
		struct outbound_rule o;
		struct error err = { 0 };
		if (n + 1 >= max)
			break;
		if (outbound_rule_parse(i + 1, json_string_value(json_object_get(j, "target")),
					json_integer_value(json_object_get(j, "from_port")),
					json_integer_value(json_object_get(j, "to_port")),
					json_string_value(json_object_get(j, "protocol")), &o, &err) < 0) {
			log_warning("agent: space '%s': outbound %s", s->name, err.message);
			continue;
		}
		static const enum net_nft_proto protos[] = { [RULESET_ANY] = NET_NFT_ANY, [RULESET_TCP] = NET_NFT_TCP,
							     [RULESET_UDP] = NET_NFT_UDP, [RULESET_ICMP] = NET_NFT_ICMP };
		struct net_nft_rule *r = &ret[n++];
		*r = (struct net_nft_rule){ .daddr = o.target, .proto = protos[o.protocol], .accept = true };
		/* Port 0 is no destination: 0-N is 1-N, and 0-65535 any port. */
		bool ports = o.protocol == RULESET_TCP || o.protocol == RULESET_UDP;
		if (ports && !(o.from_port <= 1 && o.to_port == RULESET_PORT_MAX) && o.to_port > 0) {
			r->port_min = o.from_port ? o.from_port : 1;
			r->port_max = o.to_port;
		} else if (ports && o.to_port == 0) {
			n--; /* only port 0: matches nothing */
		}
	}
	ret[n++] = (struct net_nft_rule){ { 0, 0 }, NET_NFT_ANY, 0, 0, false };
	return n;
}

static void space_ensure(struct agent *a, struct agent_space *s)
{
	/* Dynos may reach the space's router on the gateway (internal routing, agent-router.h),
	 * and its resolver, UDP and TCP (agent-dns.h). */
	const struct cidr4 gateway = { .addr = s->net.addr + 1, .prefix = 32 };
	const struct net_nft_rule services[] = {
		{ .daddr = gateway, .proto = NET_NFT_TCP, .port_min = AGENT_ROUTER_INTERNAL_PORT,
		  .port_max = AGENT_ROUTER_INTERNAL_PORT, .accept = true },
		{ .daddr = gateway, .proto = NET_NFT_UDP, .port_min = AGENT_DNS_PORT, .port_max = AGENT_DNS_PORT, .accept = true },
		{ .daddr = gateway, .proto = NET_NFT_TCP, .port_min = AGENT_DNS_PORT, .port_max = AGENT_DNS_PORT, .accept = true },
	};
	json_t *outbound = json_object_get(agent_space_desired(a, s->id), "outbound_rules");
	struct net_nft_rule egress[RULESET_OUTBOUND_MAX + 3];
	size_t n_egress = egress_rules(s, outbound, egress, ARRAY_SIZE(egress));
	struct net_space_config cfg = {
		.space_id = s->id,
		.cidr = s->cidr,
		.data_cidr = s->data_cidr,
		.uplink_index = s->uplink_index,
		.outbound_ip = s->outbound_ip,
		.rules = { .services = services, .n_services = ARRAY_SIZE(services), .egress = egress, .n_egress = n_egress },
	};
	struct error err = { 0 };
	if (net_space_ensure(&cfg, &err) < 0) {
		log_error("agent: space '%s': %s", s->name, err.message);
		return;
	}
	bool again = s->rules_hash != 0;
	s->rules_hash = json_hash(outbound, "");
	s->ensured = true;
	if (again)
		log_info("agent: space '%s': outbound rules applied", s->name);
	else
		log_info("agent: space '%s' ready, leaving from %s", s->name, s->outbound_ip);
}

/* The kernel's half of the trusted IP ranges: the space's ingress table (net-space.h). */
static void ingress_ensure(struct agent *a, struct agent_space *s, json_t *inbound)
{
	char ingress[32];
	agent_router_listen(a, s, ingress);
	uint64_t h = json_hash(inbound, ingress);
	if (h == s->ingress_hash)
		return;
	struct net_nft_source trusted[RULESET_INBOUND_MAX];
	size_t n = 0;
	if (!json_is_array(inbound)) {
		trusted[n++] = (struct net_nft_source){ { 0, 0 }, true }; /* an older API: all trusted */
	} else {
		size_t i;
		json_t *j;
		json_array_foreach(inbound, i, j)
		{
			struct inbound_rule rule;
			struct error err = { 0 };
			if (n == ARRAY_SIZE(trusted))
				break;
			if (inbound_rule_parse(i + 1, json_string_value(json_object_get(j, "action")),
					       json_string_value(json_object_get(j, "source")), &rule, &err) < 0) {
				log_warning("agent: space '%s': trusted IP ranges: %s", s->name, err.message);
				continue;
			}
			trusted[n++] = (struct net_nft_source){ rule.source, rule.allow };
		}
	}
	char addr[16];
	agent_router_ingress(s, addr);
	struct in_addr in;
	inet_pton(AF_INET, addr, &in);
	struct net_nft_ingress cfg = { .addr = ntohl(in.s_addr), .port = (uint16_t)a->cfg->router_port, .trusted = trusted,
				       .n_trusted = n };
	struct error err = { 0 };
	if (net_space_ingress_apply(s->id, &cfg, &err) < 0) {
		log_error("agent: space '%s': trusted IP ranges: %s", s->name, err.message);
		return;
	}
	if (s->ingress_hash)
		log_info("agent: space '%s': trusted IP ranges applied", s->name);
	s->ingress_hash = h;
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
		const char *data_cidr = json_string_value(json_object_get(d, "data_cidr"));
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
		if (!streq(s->data_cidr, data_cidr ? data_cidr : "")) {
			snprintf(s->data_cidr, sizeof(s->data_cidr), "%s", data_cidr ? data_cidr : "");
			s->ensured = false; /* the bridge gets the data network's gateway too */
		}
		if (streq(state, "deleting")) {
			if (!s->deleting)
				log_info("agent: space '%s' is being destroyed", s->name);
			s->deleting = true;
			continue;
		}
		/* Changed outbound rules: the space's table is made again (net_space_ensure() is idempotent). */
		if (s->ensured && s->rules_hash != json_hash(json_object_get(d, "outbound_rules"), ""))
			s->ensured = false;
		if (!s->ensured) {
			if (host_dirty) {
				host_ensure(a);
				host_dirty = false;
			}
			space_ensure(a, s);
		}
		if (s->ensured)
			ingress_ensure(a, s, json_object_get(d, "inbound_rules"));
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
		busy = busy || agent_addons_in_space(a, s->id);
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
		s->rules_hash = s->ingress_hash = 0;
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
