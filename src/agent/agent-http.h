/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's HTTP client: libcurl's multi interface driven by the agent's epoll loop, so
 * that a long poll of the API, reports and slug downloads all proceed while the loop keeps
 * supervising dynos. Nothing here blocks.
 *
 * The loop registers curl's sockets through this module: epoll events whose data has
 * HTTP_EPOLL_TAG set belong to it and go to http_client_on_socket(); the loop wakes at
 * http_client_timeout_ms() at the latest and then calls http_client_on_timeout().
 */

#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"

#define HTTP_EPOLL_TAG (UINT64_C(1) << 63)
#define HTTP_BODY_MAX (16u * 1024 * 1024)

struct http_client;

/*
 * Called once per request with the HTTP status (0 when the request failed before an answer,
 * with error set) and the body (empty for downloads to a file). The body is the client's;
 * copy what you keep.
 */
typedef void (*http_done_fn)(void *userdata, long status, const struct strbuf *body, const char *error);

/* A client for base_url (the API), sending `Authorization: Bearer token`. */
int http_client_new(int epoll_fd, const char *base_url, const char *token, struct http_client **ret, struct error *err);
/* Frees the client; requests still in flight end first, their callbacks called with status 0. */
void http_client_free(struct http_client *c);

/*
 * Starts a request. body (may be NULL) is sent as JSON. With out_path the answer's body is
 * written to that file instead (for slugs). timeout_s bounds the whole request.
 */
int http_request(struct http_client *c, const char *method, const char *path, const char *body, const char *out_path,
		 long timeout_s, http_done_fn done, void *userdata, struct error *err);
/* The same with a body of another type than JSON ("text/plain; charset=utf-8"). */
int http_request_as(struct http_client *c, const char *method, const char *path, const char *body,
		    const char *content_type, const char *out_path, long timeout_s, http_done_fn done, void *userdata,
		    struct error *err);

void http_client_on_socket(struct http_client *c, uint64_t epoll_data, uint32_t events);
void http_client_on_timeout(struct http_client *c);
/* Milliseconds until curl wants http_client_on_timeout(), or -1. */
long http_client_timeout_ms(const struct http_client *c);
/* Requests in flight. */
unsigned http_client_active(const struct http_client *c);
