/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The names a space's resolver answers for: the agent writes them as JSON to
 * DATA_DIR/agent/dns/<space>.json (atomically, a temporary file renamed over the old one), the
 * resolver loads it at start and again whenever the file is replaced:
 *
 *   {"space": "acme-prod", "ttl": 5,
 *    "records": [{"name": "web.myapp.app.localspace", "kind": "formation",
 *                 "addresses": ["10.0.0.10", "10.0.0.11"]},
 *                {"name": "1.web.myapp.app.localspace", "kind": "dyno", "addresses": ["10.0.0.10"]},
 *                {"name": "postgresql-shaped-12345", "kind": "addon", "addresses": ["10.0.0.2"]}]}
 *
 * kind says where a record comes from: "formation" (the up dynos of a process type), "dyno"
 * (one dyno), "addon" (a data service of the space, by its name), "name" (any other name →
 * address entry). A record may have no address: the name exists and has no A record now (a
 * process type scaled to 0). Names are lower case, without the final dot, each once.
 *
 * Every name above a record up to `localspace` exists too, without addresses
 * (`myapp.app.localspace`, `app.localspace`): the table adds them, so that they get an empty
 * answer rather than NXDOMAIN (RFC 8020).
 */

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define DNS_ZONE "localspace"        /* the resolver is authoritative for this name and below */
#define DNS_TTL_DEFAULT 5            /* seconds */
#define DNS_TTL_MAX 300
#define DNS_TABLE_RECORDS_MAX 100000
#define DNS_RECORD_ADDRESSES_MAX 4096 /* more would not fit in a message anyway */

struct dns_record {
	const char *name;    /* into the table's storage */
	const uint32_t *addresses; /* host byte order */
	size_t n_addresses;
};

struct dns_table {
	char space[64];
	uint32_t ttl;
	uint32_t serial;     /* changes with every table: the SOA's serial */
	struct dns_record *records; /* sorted by name */
	size_t n_records;
	uint32_t *addresses;
	char *names;
};

/* Builds a table from the JSON text; on failure *ret is untouched and err says why. */
int dns_table_parse(const char *text, size_t len, struct dns_table **ret, struct error *err);

/* An empty table: every name of the zone is unknown. */
struct dns_table *dns_table_empty(void);

void dns_table_free(struct dns_table *t);

/* The record of a lower case name, or NULL. */
const struct dns_record *dns_table_find(const struct dns_table *t, const char *name);
