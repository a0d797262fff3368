/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Domains of apps: every app answers at its own host name, <app>.<space>.<apps domain>
 * (Heroku's "heroku" domain, never stored), and at the custom domains added to it
 * (/apps/{app}/domains, kind "custom"), which are unique across the installation. The space's
 * router serves them all (docs/router.md); the agents learn them from the desired state.
 */

#include <jansson.h>

#include "api/api.h"

#define DOMAIN_HOSTNAME_MAX 253
#define DOMAINS_PER_APP_MAX 100

/* The app's own host name, "<app>.<space>.<apps domain>". Caller frees. */
char *api_app_hostname(struct api_request *req, const char *app, const char *space);

/* The URL the router serves the app at: "http://<app>.<space>.<apps domain>[:port]/". Caller frees. */
char *api_app_web_url(struct api_request *req, const char *app, const char *space);

/*
 * Adds to an app of the agents' desired state what its router needs: "domains" (its own host
 * name first, then its custom domains) and "internal_routing".
 */
int api_app_routing(struct api_request *req, const char *app_id, json_t *app, struct error *err);

/* A custom domain as users give it: lower-cased in place, then checked. */
int api_domain_validate(struct api_request *req, char *hostname, struct error *err);
