/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The builder's client of the API (blocking libcurl): the receive hook of a push talks to
 * the API over HTTP like every other client, as the pusher (their token), and names its push
 * in `Cove-Push-Id`, which lets it create and finish the push's build. Answers are read up
 * to BUILD_CLIENT_ANSWER_MAX bytes.
 */

#include <jansson.h>

#include "base/error.h"

#define BUILD_CLIENT_ANSWER_MAX (4 * 1024 * 1024)

struct build_client;

int build_client_new(const char *url, const char *token, const char *push_id, struct build_client **ret,
		     struct error *err);
void build_client_free(struct build_client *c);

/*
 * Sends method path (from the API root) with body as JSON (may be NULL), or with the file
 * upload_path as the body (may be NULL), and returns the answer's JSON in *ret (may be NULL).
 * A status other than 2xx fails with the API's message.
 */
int build_client_call(struct build_client *c, const char *method, const char *path, json_t *body,
		      const char *upload_path, json_t **ret, struct error *err);
