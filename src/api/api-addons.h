/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Add-ons: PostgreSQL and Redis servers that run inside an app's space (docs/addons.md), and
 * their attachments to apps. The API records what users want; the agent of the space's host
 * runs the servers (src/agent/agent-addon.c) and reports them provisioned, and then each
 * attachment's URL goes into its app's config with a release.
 */

#include <jansson.h>

#include "addons/addon-plan.h"
#include "api/api.h"

/*
 * Where an add-on's server answers and how to log in, for whoever must reach it from outside
 * its space (the bastion tunnel): the server listens on private_ip:port inside the network
 * namespace of its space, /run/netns/<netns> ("cove-s-<space id>"), which routes to it. The
 * add-on has its own namespace too (/run/netns/cove-d-<addon id>); joining the space's is
 * enough. url is what its attachments put into config vars.
 */
struct addon_endpoint {
	char id[ID_STRING_MAX];
	char name[API_NAME_MAX];
	const struct addon_plan *plan; /* plan->service->kind: ADDON_POSTGRESQL or ADDON_REDIS */
	char app_id[ID_STRING_MAX];    /* the billing app */
	char space_id[ID_STRING_MAX];
	char state[16];                /* "provisioning", "provisioned" */
	char private_ip[16];
	unsigned port;
	char username[32];             /* PostgreSQL's role; "" for Redis (password only) */
	char password[72];
	char database[32];             /* PostgreSQL's database; "" for Redis */
	char netns[64];                /* "cove-s-<space id>" */
	char url[256];
};

/*
 * Finds the add-on an app uses under ref: an attachment name of the app ("DATABASE",
 * "HEROKU_POSTGRESQL_PINK", also with "_URL"), or the name or id of an add-on attached to it;
 * NULL ref: the app's first add-on of kind (DATABASE for PostgreSQL, REDIS for Redis, else
 * the oldest). Checks the caller's access to the app. -ENOENT with a message when there is
 * none.
 */
int api_addon_endpoint(struct api_request *req, const char *app_ref, const char *ref, enum addon_kind kind,
		       struct addon_endpoint *ret, struct error *err);

/*
 * The desired state of a space's add-ons for its agent: sets space["addons"] to one object per
 * add-on (id, name, space_id, app_id, app_name, service, plan, address "10.1.0.2", prefix 16,
 * port, username, password, database, memory_mb, max_connections, maxmemory_mb). The space's
 * resolver publishes each name and address (agent-dns.c).
 */
int api_addons_desired(struct api_request *req, const char *space_id, json_t *space, struct error *err);

/*
 * An agent's report of its add-ons ([{id, state}]): an add-on reported "provisioned" for the
 * first time becomes provisioned, and its attachments set their config vars, each with a
 * release.
 */
int api_addons_report(struct api_request *req, json_t *addons, struct error *err);

/*
 * Before an app is destroyed (its add-ons go with it): detaches its add-ons from the other
 * apps they are attached to, each with a release there. The app's own attachments of other
 * apps' add-ons go with its rows.
 */
int api_addons_app_destroyed(struct api_request *req, const char *app_id, struct error *err);

/*
 * Refuses (-EINVAL, "Cannot overwrite attachment values DATABASE_URL.") a config change of
 * the app that would set or unset a config var owned by an attachment; keys is the change's
 * object (key -> value or null).
 */
int api_addons_config_check(struct api_request *req, const char *app_id, json_t *keys, struct error *err);
