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

/* ---- for the other add-on files (api-addon-*.c) ------------------------------------------ */

struct app;

/* An add-on as stored, with the name of its billing app. */
struct api_addon {
	char id[ID_STRING_MAX];
	char name[API_NAME_MAX];
	char app_id[ID_STRING_MAX];
	char app_name[API_NAME_MAX];
	char space_id[ID_STRING_MAX];
	const struct addon_plan *plan;
	char state[16]; /* "provisioning", "provisioned" */
	char private_ip[16];
	unsigned port;
	char username[32];
	char password[72];
	char database[32];
	char created_at[32];
	char updated_at[32];
};

/*
 * Runs sql (a SELECT) and collects its rows into *ret, a new array (free() it) of *ret_n
 * items of size bytes, each filled by from_row. On failure *ret is NULL and *ret_n 0.
 */
typedef int (*api_addon_row_fn)(struct store_rows *rows, void *item, struct error *err);
int api_addon_rows_collect(struct api_request *req, const char *sql, const struct store_val *args, size_t n_args,
			   size_t size, api_addon_row_fn from_row, void **ret, size_t *ret_n, struct error *err);

/* The add-on of that id or name, whoever may see it; -ENOENT when there is none. */
int api_addon_load_by(struct api_request *req, const char *ref, struct api_addon *ret, struct error *err);

/* The add-on of that id or name the caller may see: through its billing app or an app it is attached to. */
int api_addon_load(struct api_request *req, const char *ref, struct api_addon *ret, struct error *err);

/*
 * Loads the app app_ref (checking the caller's access) into *ret_app, and the add-on it uses
 * (billed to it or attached) of that name, id or attachment name (also NAME_URL) into *ret.
 */
int api_addon_of_app(struct api_request *req, const char *app_ref, const char *ref, struct app *ret_app,
		     struct api_addon *ret, struct error *err);

/* The URL its attachments put into config: "postgres://user:password@10.1.0.2:5432/db". */
void api_addon_url(const struct api_addon *d, char *ret, size_t size);

/* Replies 200 with the add-ons of list as Platform API objects. */
int api_addons_reply(struct api_request *req, const struct api_addon *list, size_t n, struct error *err);
