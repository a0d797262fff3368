/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The add-on catalog as the Platform API shows it: the services (heroku-postgresql,
 * heroku-redis) and their plans, from src/addons/addon-plan.h. Nothing of it is stored.
 */

#include <jansson.h>

#include "addons/addon-plan.h"
#include "base/error.h"

/* The service named or identified by ref; -ENOENT with a message when there is none. */
int api_addon_service_find(const char *ref, const struct addon_service **ret, struct error *err);

/* A plan's price, and an add-on's billed price: nothing (the hardware is the operator's). */
json_t *api_addon_price_json(void);
