/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Hosts: the machines whose agents run spaces. Each has a name, the regions it serves and a
 * host token, with which its agent authenticates on the /agent routes (and nowhere else).
 * Platform administrators create them (`cove hosts:create`); the all-in-one `coved` registers
 * its own host at every start.
 */

#include "api/api.h"
#include "store/store.h"

#define HOST_TOKEN_MAX 65

/*
 * Creates the host `name` serving `regions` (comma-separated), or gives the existing one a
 * new token and those regions. ret_token receives the secret. Runs its own transaction.
 */
int api_host_register(struct store *st, const char *name, const char *regions, char ret_token[static HOST_TOKEN_MAX],
		      struct error *err);
