/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The network rules of a space, as the Platform API has them, parsed and checked in one place
 * for the API (which refuses a bad rule with a clear message), the agent (which turns them
 * into nftables rules, src/net) and the router (which checks each request's source):
 *
 *   inbound (trusted IP ranges):  {"action": "allow"|"deny", "source": "203.0.113.0/24"}
 *       the first rule whose source holds the client's address decides; no match: denied
 *   outbound (egress):            {"target": "10.1.0.0/16", "from_port": 5432, "to_port": 5432,
 *                                  "protocol": "tcp"|"udp"|"icmp"|"any"}
 *       an allowlist: traffic a dyno opens to the outside passes when a rule matches it
 *
 * A space starts with the defaults: every source trusted (0.0.0.0/0), every destination
 * allowed (0.0.0.0/0, any protocol, ports 0-65535), as on Heroku.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/validate.h"

#define RULESET_INBOUND_MAX 20  /* Heroku's limit of trusted IP ranges per space */
#define RULESET_OUTBOUND_MAX 50
#define RULESET_PORT_MAX 65535
#define RULESET_ICMP_TYPE_MAX 255

struct inbound_rule {
	struct cidr4 source;
	bool allow;
};

enum ruleset_protocol { RULESET_ANY, RULESET_TCP, RULESET_UDP, RULESET_ICMP };

struct outbound_rule {
	struct cidr4 target;
	enum ruleset_protocol protocol;
	uint16_t from_port, to_port; /* for ICMP, a range of ICMP types (0-255) */
};

/*
 * Parses one inbound rule. -EINVAL with a message that names the rule (1-based `index`) and
 * what is wrong: an action other than allow or deny, a source that is not a network in CIDR
 * notation (host bits set, no prefix length).
 */
int inbound_rule_parse(size_t index, const char *action, const char *source, struct inbound_rule *ret,
		       struct error *err);

/*
 * Parses one outbound rule: the ports must be 0..65535 (0..255 for ICMP) with from_port <=
 * to_port, and a protocol of `any` covers all ports (0-65535) or none is meaningful.
 */
int outbound_rule_parse(size_t index, const char *target, int64_t from_port, int64_t to_port, const char *protocol,
			struct outbound_rule *ret, struct error *err);

/* The protocol's name in the API: "tcp", "udp", "icmp", "any". */
const char *ruleset_protocol_name(enum ruleset_protocol p);

/* Whether the address (host byte order) may connect: the first rule that holds it decides. */
bool inbound_allows(const struct inbound_rule *rules, size_t n, uint32_t addr);

/* True when the rules are exactly the default: one rule that allows 0.0.0.0/0. */
bool inbound_is_open(const struct inbound_rule *rules, size_t n);
