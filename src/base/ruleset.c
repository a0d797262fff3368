/* SPDX-License-Identifier: MIT */
#include "base/ruleset.h"

#include <string.h>

#include "base/macro.h"

static const char *const protocols[] = {
	[RULESET_ANY] = "any",
	[RULESET_TCP] = "tcp",
	[RULESET_UDP] = "udp",
	[RULESET_ICMP] = "icmp",
};

const char *ruleset_protocol_name(enum ruleset_protocol p)
{
	return (size_t)p < ARRAY_SIZE(protocols) ? protocols[p] : "?";
}

int inbound_rule_parse(size_t index, const char *action, const char *source, struct inbound_rule *ret,
		       struct error *err)
{
	if (!action || (!streq(action, "allow") && !streq(action, "deny")))
		return error_set(err, -EINVAL, "rule %zu is invalid: action must be 'allow' or 'deny', not '%.32s'", index,
				 action ? action : "");
	struct error why = { 0 };
	if (cidr4_parse(source, 0, 32, &ret->source, &why) < 0)
		return error_set(err, -EINVAL, "rule %zu is invalid: source %s", index, why.message);
	ret->allow = streq(action, "allow");
	return 0;
}

int outbound_rule_parse(size_t index, const char *target, int64_t from_port, int64_t to_port, const char *protocol,
			struct outbound_rule *ret, struct error *err)
{
	struct error why = { 0 };
	if (cidr4_parse(target, 0, 32, &ret->target, &why) < 0)
		return error_set(err, -EINVAL, "rule %zu is invalid: target %s", index, why.message);
	size_t p = 0;
	while (p < ARRAY_SIZE(protocols) && !streq_ptr(protocol, protocols[p]))
		p++;
	if (p == ARRAY_SIZE(protocols))
		return error_set(err, -EINVAL, "rule %zu is invalid: protocol must be tcp, udp, icmp or any, not '%.32s'",
				 index, protocol ? protocol : "");
	ret->protocol = (enum ruleset_protocol)p;
	int64_t max = ret->protocol == RULESET_ICMP ? RULESET_ICMP_TYPE_MAX : RULESET_PORT_MAX;
	if (from_port < 0 || to_port < 0 || from_port > max || to_port > max)
		return error_set(err, -EINVAL, "rule %zu is invalid: ports must be between 0 and %lld for %s", index,
				 (long long)max, protocols[p]);
	if (from_port > to_port)
		return error_set(err, -EINVAL, "rule %zu is invalid: from_port %lld is above to_port %lld", index,
				 (long long)from_port, (long long)to_port);
	if (ret->protocol == RULESET_ANY && (from_port != 0 || to_port != RULESET_PORT_MAX))
		return error_set(err, -EINVAL,
				 "rule %zu is invalid: protocol 'any' takes every port (0-65535); give tcp or udp for a "
				 "port range",
				 index);
	ret->from_port = (uint16_t)from_port;
	ret->to_port = (uint16_t)to_port;
	return 0;
}

static bool cidr4_holds(const struct cidr4 *c, uint32_t addr)
{
	uint32_t mask = c->prefix ? ~0u << (32 - c->prefix) : 0;
	return (addr & mask) == c->addr;
}

bool inbound_allows(const struct inbound_rule *rules, size_t n, uint32_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (cidr4_holds(&rules[i].source, addr))
			return rules[i].allow;
	return false;
}

bool inbound_is_open(const struct inbound_rule *rules, size_t n)
{
	return n == 1 && rules[0].allow && rules[0].source.prefix == 0;
}
