/* SPDX-License-Identifier: MIT */
#include "api/api-bastion-target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-addons.h"
#include "base/alloc.h"
#include "base/validate.h"

/* Dynos that hold their address: the agent gave it at start and takes it back when they stop. */
#define DYNO_RUNNING "d.state IN ('starting', 'up')"

static bool in_net(uint32_t a, const char *cidr)
{
	struct cidr4 net;
	if (!cidr || cidr4_parse(cidr, 0, 32, &net, NULL) < 0)
		return false;
	uint32_t mask = net.prefix ? ~0u << (32 - net.prefix) : 0;
	if ((a & mask) != net.addr)
		return false;
	/* The network's first address is the space's gateway (its bridge), its last the broadcast. */
	return a != net.addr && a != net.addr + 1 && a != (net.addr | ~mask);
}

int api_bastion_address_check(const char *addr, const char *cidr, const char *data_cidr, struct error *err)
{
	struct in_addr in;
	if (!addr || inet_pton(AF_INET, addr, &in) != 1)
		return error_set(err, -EINVAL, "address '%.64s' is not an IPv4 address", addr ? addr : "");
	uint32_t a = ntohl(in.s_addr);
	if (!in_net(a, cidr) && !in_net(a, data_cidr))
		return error_set(err, -EINVAL, "address '%s' is not inside the space's networks (%s, %s)", addr, cidr,
				 data_cidr);
	return 0;
}

static int parse_port(const char *s, uint16_t *ret)
{
	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
	long v = strtol(s, NULL, 10);
	if (v < 1 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* A running dyno of the app by name ("web.1") or by private address; its address in ret. */
static int dyno_target(struct api_request *req, const struct app *app, const char *host, bool by_address,
		       struct bastion_target *ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req,
			      by_address ? "SELECT d.name, d.private_ip FROM dynos d WHERE d.app_id = ? AND d.private_ip = ?"
					   " AND " DYNO_RUNNING " ORDER BY d.created_at DESC LIMIT 1"
				         : "SELECT d.name, d.private_ip FROM dynos d WHERE d.app_id = ? AND d.name = ?"
					   " AND d.private_ip IS NOT NULL AND " DYNO_RUNNING " ORDER BY d.created_at DESC LIMIT 1",
			      SV_ARGS(SV_TEXT(app->id), SV_TEXT(host)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -EINVAL,
				 by_address ? "target '%s' is not the address of a running dyno of '%s': the bastion reaches"
					      " only the app's own dynos and data services"
					    : "target '%s' is not a running dyno of '%s': the bastion reaches only the app's"
					      " own dynos and data services",
				 host, app->name);
	snprintf(ret->kind, sizeof(ret->kind), "dyno");
	snprintf(ret->address, sizeof(ret->address), "%s", store_rows_text(rows, 1));
	return 0;
}

/*
 * A data service the app uses under `name`: an attachment (DATABASE, REDIS_URL...), or the name
 * or id of an add-on attached to it (api_addon_endpoint), PostgreSQL or Redis alike. Only a
 * provisioned server is a target.
 */
static int addon_target(struct api_request *req, const struct app *app, const char *name, struct bastion_target *ret,
			struct error *err)
{
	struct addon_endpoint ep;
	struct error why = { 0 };
	int r = api_addon_endpoint(req, app->id, name, ADDON_POSTGRESQL, &ep, &why);
	if (r == -EINVAL) {
		why = (struct error){ 0 };
		r = api_addon_endpoint(req, app->id, name, ADDON_REDIS, &ep, &why);
	}
	if (r == -ENOENT || r == -EINVAL)
		return error_set(err, -EINVAL,
				 "no add-on of '%s' is attached as '%s': name an attachment (DATABASE), or a dyno and a"
				 " port (web.1:5000)",
				 app->name, name);
	if (r < 0)
		return error_set(err, r, "%s", why.message);
	if (strcmp(ep.state, "provisioned") != 0)
		return error_set(err, -EINVAL, "add-on '%s' of '%s' is %s, not yet reachable: try again when it is provisioned",
				 ep.name, app->name, ep.state);
	snprintf(ret->kind, sizeof(ret->kind), "addon");
	snprintf(ret->address, sizeof(ret->address), "%s", ep.private_ip);
	ret->port = (uint16_t)ep.port;
	explicit_bzero(ep.password, sizeof(ep.password));
	return 0;
}

int api_bastion_target_resolve(struct api_request *req, const struct app *app, const char *spec,
			       struct bastion_target *ret, struct error *err)
{
	*ret = (struct bastion_target){ 0 };
	if (!spec || !*spec || strlen(spec) >= sizeof(ret->name))
		return error_set(err, -EINVAL, "'target' must name an add-on attachment (DATABASE) or a dyno and a port"
					       " (web.1:5000)");
	const char *colon = strrchr(spec, ':');
	int r;
	if (!colon) {
		r = addon_target(req, app, spec, ret, err);
	} else {
		char host[64];
		size_t hl = (size_t)(colon - spec);
		if (hl == 0 || hl >= sizeof(host) || parse_port(colon + 1, &ret->port) < 0)
			return error_set(err, -EINVAL, "target '%s' is invalid: expected DYNO:PORT or ADDRESS:PORT with a port"
						       " from 1 to 65535",
					 spec);
		memcpy(host, spec, hl);
		host[hl] = '\0';
		struct in_addr in;
		r = dyno_target(req, app, host, inet_pton(AF_INET, host, &in) == 1, ret, err);
	}
	if (r < 0)
		return r;
	snprintf(ret->name, sizeof(ret->name), "%s", spec);
	/* What the store says is checked too: an agent's report is not trusted to stay in the space. */
	struct error why = { 0 };
	r = api_bastion_address_check(ret->address, app->space.cidr, app->space.data_cidr, &why);
	if (r < 0)
		return error_set(err, -EINVAL, "target '%s' of '%s' is refused: %s", spec, app->name, why.message);
	return 0;
}
