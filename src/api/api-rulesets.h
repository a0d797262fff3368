/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The network rules of a space (base/ruleset.h has their meaning), as the Platform API's
 * Inbound Ruleset and Outbound Ruleset resources:
 *
 *   GET /spaces/{space}/inbound-ruleset    the trusted IP ranges (team members)
 *   PUT /spaces/{space}/inbound-ruleset    replaces them (team admins): {"rules": [...]}
 *   GET /spaces/{space}/outbound-ruleset   the outbound rules
 *   PUT /spaces/{space}/outbound-ruleset   replaces them
 *
 * A ruleset is {"id", "space": {"id", "name"}, "rules": [...], "created_at", "created_by"};
 * each PUT makes a new one (new id), and answers with it. The agent of the space's host gets
 * the rules with the desired state and applies them (docs/network.md).
 */

#include "api/api.h"

/* Gives a new space the default rulesets (all trusted, all allowed), in the caller's transaction. */
int api_rulesets_create(struct api_request *req, const char *space_id, struct error *err);

/* Adds "inbound_rules" and "outbound_rules" (the rule lists) to a space of the desired state. */
int api_rulesets_desired(struct api_request *req, const char *space_id, json_t *space, struct error *err);
