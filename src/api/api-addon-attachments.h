/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Add-on attachments: an add-on given to an app under a name (DATABASE, HEROKU_POSTGRESQL_PINK),
 * whose URL the app's config holds as NAME_URL once the add-on is provisioned. Writing or
 * removing that config var makes a release of the app, described as Heroku does ("Attach
 * DATABASE (@ref:postgresql-triangular-2817) resource").
 */

#include <jansson.h>

#include "api/api-addons.h"

struct app;

struct api_attachment {
	char id[ID_STRING_MAX];
	char addon_id[ID_STRING_MAX];
	char app_id[ID_STRING_MAX];
	char app_name[API_NAME_MAX];
	char name[API_NAME_MAX];
	char created_at[32];
	char updated_at[32];
};

/* Loads attachments by a WHERE clause on "t" (addon_attachments); *ret is a new array of *ret_n. */
int api_attachments_query(struct api_request *req, const char *where, const struct store_val *args, size_t n_args,
			  struct api_attachment **ret, size_t *ret_n, struct error *err);

/* The attachments of the add-on addon_id, to every app. */
int api_attachments_of_addon(struct api_request *req, const char *addon_id, struct api_attachment **ret,
			     size_t *ret_n, struct error *err);

/*
 * Keeps, in order at the front of list, the attachments the caller may see (through their
 * app) and, with service non-NULL, whose add-on is of that service; returns how many.
 */
size_t api_attachments_visible(struct api_request *req, struct api_attachment *list, size_t n,
			       const struct addon_service *service);

/* The Platform API object of attachment t of add-on d. */
json_t *api_attachment_json(const struct api_attachment *t, const struct api_addon *d);

/* Replies 200 with the attachments of list as Platform API objects. */
int api_attachments_reply(struct api_request *req, const struct api_attachment *list, size_t n, struct error *err);

/*
 * Records an attachment of add-on d to app a, under name or, NULL, a free name of the service's
 * (DATABASE, then HEROKU_POSTGRESQL_<COLOR>); its config var follows now when d is provisioned,
 * else when it becomes so. -EINVAL with a message when the name or its config var is taken.
 */
int api_attachment_create(struct api_request *req, const struct api_addon *d, const struct app *a, const char *name,
			  struct api_attachment *ret, struct error *err);

/* Sets the config var of attachment name (of add-on d) on app_id to d's URL, with a release. */
int api_attachment_attach(struct api_request *req, const struct api_addon *d, const char *app_id, const char *name,
			  struct error *err);

/*
 * Writes (url non-NULL) or removes (url NULL) the config var of attachment name on app_id, and
 * makes the release that says so (description).
 */
int api_attachment_config(struct api_request *req, const char *app_id, const char *name, const char *url,
			  const char *description, struct error *err);

/* Deletes attachment t of d; when d is provisioned, its config var goes too, with a release. */
int api_attachment_remove(struct api_request *req, const struct api_addon *d, const struct api_attachment *t,
			  struct error *err);

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
