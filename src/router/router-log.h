/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the router says: a log line per request in the words of Heroku's router, and the
 * responses it makes itself (error pages).
 *
 * Log lines, one per request, appended to the space's router log (routers/<space>.log), where
 * the logs issue's collector picks them up; the app's name comes first so that it can route
 * each line into the app's stream:
 *
 *   2026-01-02T03:04:05.678901+00:00 myapp heroku[router]: at=info method=GET path="/"
 *     host=myapp.acme.localhost request_id=… fwd="127.0.0.1" dyno=web.1 connect=0ms
 *     service=3ms status=200 bytes=123 protocol=http
 *   … myapp heroku[router]: at=error code=H12 desc="Request timeout" method=GET …
 *
 * A request for a host no app answers to is logged with "-" for the app.
 *
 * Formatting is hand-written appends into the caller's buffer (no stdio): the loops format a
 * line per request on the hot path.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/router-http.h"

/* The errors of Heroku's router, and the router's own answers. */
enum router_error {
	ROUTER_OK,
	ROUTER_H10, /* App crashed: no web dyno up, the formation has some */
	ROUTER_H12, /* Request timeout: no response within the response timeout */
	ROUTER_H13, /* Connection closed without response */
	ROUTER_H14, /* No web dynos running */
	ROUTER_H15, /* Idle connection: the response stalled */
	ROUTER_H17, /* Poorly formatted HTTP response */
	ROUTER_H18, /* Server Request Interrupted: the response was cut short */
	ROUTER_H19, /* Backend connection timeout */
	ROUTER_H21, /* Backend connection refused */
	ROUTER_H26, /* Request Error: a malformed request for a known app */
	ROUTER_H27, /* Client Request Interrupted */
	ROUTER_H28, /* Client Connection Idle: the request body stalled */
	ROUTER_H80, /* Maintenance mode */
	ROUTER_NO_APP, /* no app answers to the host: 404 */
	ROUTER_UNTRUSTED, /* the client's address is not in the space's trusted IP ranges: 403 */
	ROUTER_ERROR_MAX_,
};

/* "H12", and "Request timeout". */
const char *router_error_code(enum router_error e);
const char *router_error_desc(enum router_error e);
/* The status the router answers an error with: 503 mostly, 404, 400, 408, 499 (no answer). */
int router_error_status(enum router_error e);

struct router_log_entry {
	const char *app;        /* NULL: "-" */
	enum router_error error;
	struct rstr method, path, host;
	const char *request_id;
	const char *fwd;
	const char *dyno;       /* NULL: none */
	int64_t connect_ms;     /* < 0: not connected */
	int64_t service_ms;     /* < 0: no service */
	int status;
	uint64_t bytes;
	const char *protocol;   /* "http" */
};

/* The longest line router_log_format() writes, whatever the input (paths are cut). */
#define ROUTER_LOG_LINE_MAX 4096

/*
 * Appends one line (with its newline) for e, stamped with timestamp (RFC 3339), to out,
 * which has room for ROUTER_LOG_LINE_MAX bytes. Returns the length written.
 */
size_t router_log_format(char *out, const char *timestamp, const struct router_log_entry *e);

/*
 * The response the router sends for an error, or for a status it answers itself (400, 404,
 * 408, 414, 417, 431, 505): a whole HTTP/1.1 response with an HTML page, built once at start.
 * keep_alive picks the variant without `Connection: close`.
 */
struct rstr router_page(enum router_error e, int status, bool keep_alive);

/* Builds the pages; call once before the loops start. */
void router_pages_init(void);
