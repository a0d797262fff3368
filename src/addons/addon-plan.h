/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The add-on catalog: the data services cove runs (PostgreSQL and Redis, each a real server
 * inside the app's space), their plans and the limits each plan stands for, and the names
 * Heroku gives add-ons and attachments (`postgresql-triangular-2817`, `HEROKU_POSTGRESQL_PINK`).
 * Pure data and pure functions: the API validates and shows plans with it, and sends each
 * add-on's limits to the agent in the desired state. docs/addons.md has the plans table.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

enum addon_kind { ADDON_POSTGRESQL, ADDON_REDIS };

struct addon_service {
	const char *id;           /* a stable UUID */
	const char *name;         /* "heroku-postgresql" */
	const char *alias;        /* "postgresql": also the prefix of its add-ons' names */
	const char *human_name;   /* "Heroku Postgres" */
	enum addon_kind kind;
	const char *attachment;   /* the first attachment's name: "DATABASE" (DATABASE_URL) */
	const char *color_prefix; /* the later ones': "HEROKU_POSTGRESQL" (HEROKU_POSTGRESQL_PINK_URL) */
	unsigned port;            /* the server's TCP port */
};

struct addon_plan {
	const char *id;              /* a stable UUID */
	const struct addon_service *service;
	const char *name;            /* "standard-4" */
	unsigned long memory_mb;     /* the server's cgroup memory limit */
	unsigned long storage_gb;    /* PostgreSQL: the data size the plan stands for (recorded, shown) */
	unsigned max_connections;    /* PostgreSQL max_connections; Redis maxclients */
	unsigned long maxmemory_mb;  /* Redis maxmemory; 0 for PostgreSQL */
	bool ha;                     /* a premium plan (on Heroku: high availability) */
};

extern const struct addon_service addon_services[];
extern const size_t addon_services_count;
extern const struct addon_plan addon_plans[];
extern const size_t addon_plans_count;

/* Finds a service by name ("heroku-postgresql"), alias ("postgresql") or id; NULL if unknown. */
const struct addon_service *addon_service_find(const char *ref);

/*
 * Finds a plan: "service:plan" ("heroku-postgresql:standard-4", "redis:mini"), a plan's id,
 * or, with within set, a plan name of that service ("standard-4"). A service alone
 * ("heroku-postgresql") is its default plan, as on Heroku. -ENOENT with a message naming what
 * is unknown.
 */
int addon_plan_find(const char *ref, const struct addon_service *within, const struct addon_plan **ret,
		    struct error *err);

/* The plan's full name, "heroku-postgresql:standard-4", into ret (size at least 96). */
void addon_plan_full_name(const struct addon_plan *p, char *ret, size_t size);

/* The plan's human name, "Standard 4", into ret. */
void addon_plan_human_name(const struct addon_plan *p, char *ret, size_t size);

/*
 * PostgreSQL's shared_buffers for a server of memory_mb (its plan's) on a host with host_mb of
 * memory: a quarter of the plan's memory, as Heroku tunes it, but never more than a sixteenth
 * of the host's, so that a large plan still starts on a small host. At least 16 MB. The agent
 * decides it, knowing its host.
 */
unsigned long addon_shared_buffers_mb(unsigned long memory_mb, unsigned long host_mb);

/*
 * A new add-on name in Heroku's style: "<alias>-<adjective>-<1..9999>", from the random
 * number r (callers pass random bits; the name is a pure function of them).
 */
void addon_name_generate(const struct addon_service *s, unsigned long r, char *ret, size_t size);

/*
 * The attachment name for a service's add-on on an app that already uses the names taken[]
 * (n of them): the service's first name (DATABASE, REDIS) when free, else the color name
 * (HEROKU_POSTGRESQL_<COLOR>) of the first free color from start (callers pass a random
 * start). -ENOSPC when every name is taken.
 */
int addon_attachment_name(const struct addon_service *s, const char *const *taken, size_t n, unsigned start,
			  char *ret, size_t size, struct error *err);

/*
 * Checks an attachment name given by a user (--as): upper-case letters, digits and '_',
 * starting with a letter, at most 64 characters, not ending in "_URL" (the _URL is added).
 */
int addon_attachment_name_check(const char *name, struct error *err);
