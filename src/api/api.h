/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The API server: the Heroku Platform API v3, served with libmicrohttpd (one handler at a
 * time), with JSON bodies through jansson. This header is the framework every resource file
 * (api-apps.c, api-spaces.c, ...) is written against.
 *
 * A request goes through these steps (api-http.c), in this order:
 *   1. the body is read, up to api_config.body_max bytes (413 beyond), and parsed as JSON
 *      (400 when malformed, 422 when not an object);
 *   2. the route is found in the resource tables (404 when none);
 *   3. the caller is authenticated unless the route is public (401);
 *   4. for every method but GET a store transaction is opened;
 *   5. the handler runs; it fills req->response and req->status, or returns a negative errno
 *      with a message in err;
 *   6. a list response is cut to the `Range` header (206 and `Next-Range` when more remain);
 *   7. for every method but GET an audit event is written, in the same transaction as the
 *      change when it succeeded, and the transaction is committed; a failure rolls it back,
 *      so a request changes everything it meant to or nothing;
 *   8. errors become {"id": "...", "message": "..."} with the status of their code
 *      (see base/error.h for the mapping).
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/id.h"
#include "store/store.h"

#define API_PARAMS_MAX 4
#define API_NAME_MAX 64
#define API_EMAIL_MAX 256

struct api_config {
	const char *data_dir;
	const char *listen;       /* host:port; port 0 picks a free one */
	/* HTTPS beside HTTP: the same API and git, on listen_tls with this certificate chain and
	 * key (PEM text, tls/tls.h). NULL listen_tls: HTTP only. */
	const char *listen_tls;
	const char *tls_cert_pem;
	const char *tls_key_pem;
	const char *const *regions; /* NULL-terminated list of region names */
	size_t body_max;          /* largest request body accepted */
	const char *apps_domain;  /* apps are served at <app>.<space>.<apps_domain> */
	unsigned router_port;     /* ... on this port of their space's ingress address (web_url) */
	uint64_t upload_max;      /* largest streamed upload (slugs, git pushes) */
	/* Builds, which the git server hands to the receive hook of a push (docs/deploy.md). */
	const char *buildpacks_dir; /* the buildpacks shipped with cove; NULL: next to coved */
	unsigned build_timeout_s;   /* 0: 15 minutes */
	uint64_t slug_max;          /* largest slug (compressed), bytes; 0: 500 MB */
	bool build_no_network;      /* builds get no network at all, not even the egress proxy */
};

struct api;

/* An authenticated host (its agent), for the /agent routes. */
struct api_host {
	char id[ID_STRING_MAX];
	char name[API_NAME_MAX];
	char regions[512]; /* comma-separated */
};

/* The authenticated caller. */
struct api_user {
	char id[ID_STRING_MAX];
	char email[API_EMAIL_MAX];
	bool is_admin; /* platform administrator: acts as an admin of every team */
};

struct api_request {
	struct api *api;
	struct store *store;
	const char *method;
	const char *path;
	const char *params[API_PARAMS_MAX]; /* path captures (":app", ":space") in order */
	json_t *body;                       /* the JSON object sent, or NULL when there was none */
	const char *text;                   /* for API_ROUTE_TEXT: the body, NUL-terminated ("" if none) */
	size_t text_len;
	bool authenticated;     /* a user: req->user is set */
	struct api_user user;
	bool is_host;           /* an agent: req->host is set */
	struct api_host host;
	bool resumed;           /* the handler runs again after API_SUSPEND */
	const char *upload_path; /* for API_ROUTE_UPLOAD: the file the body was written to */
	size_t upload_size;
	char request_id[ID_STRING_MAX];
	void *conn;                         /* the MHD connection, for headers */

	/* Filled by the handler. */
	int status;             /* 200 unless set */
	json_t *response;       /* owned by the request; NULL means {} */
	const char *range_fields; /* for lists: comma-separated fields a Range header may sort by */
	char action[256];       /* for the audit trail: what the request did */
	bool changes_desired;   /* an API_ROUTE_QUIET write that still changed the desired state */
	json_t *pending_logs;   /* log lines written once the request's transaction commits */
	int file_fd;            /* >= 0: send this file as the body (the edge closes it) */
	const char *content_type; /* with file_fd or static_body */
	const void *static_body; /* non-NULL: send these bytes as the body (they outlive the server) */
	size_t static_len;
	const char *const *headers; /* NULL, or name, value, ..., NULL: more response headers */
	const char *cache_control;  /* NULL: no-store */
	const char *etag;           /* NULL: none */
	uint64_t wait_until_usec; /* with API_SUSPEND: monotonic deadline */
	/* A body produced while it is sent (libmicrohttpd's content reader: bytes, 0 after
	 * suspending the connection, -1 at the end); stream_free releases stream_cls. */
	ssize_t (*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
	void (*stream_free)(void *cls);
	void *stream_cls;
	/* Switching protocols (GET only): the edge answers 101 with `Upgrade: upgrade_protocol`
	 * and hands the connection to upgrade (see struct api_upgrade_handler). */
	const char *upgrade_protocol;
	struct api_upgrade_handler *upgrade;

	/* Filled by the edge. */
	char next_range[192];   /* Next-Range header value, "" when this is the last page */
};

/*
 * A connection upgraded to another protocol (101 Switching Protocols): once the 101 is sent,
 * the edge calls started() on the API's thread with the client's socket and any bytes it read
 * past the request (to be treated as the first bytes read from fd). From then on the
 * connection belongs to the handler, which reads, writes and shuts down fd from any thread
 * but never closes it: it ends the connection with api_upgrade_close(conn), from any thread.
 * When the 101 cannot be sent (the client went away), the edge calls dropped() instead. One
 * of the two is called exactly once, after which the edge no longer uses the handler.
 */
struct api_upgrade;
struct api_upgrade_handler {
	void (*started)(struct api_upgrade_handler *h, int fd, const char *extra, size_t extra_len,
			struct api_upgrade *conn);
	void (*dropped)(struct api_upgrade_handler *h);
};
void api_upgrade_close(struct api_upgrade *conn);

/*
 * A handler returns 0 when it has set the response, a negative errno on failure, or
 * API_SUSPEND (GET only) to be called again, with req->resumed set, when the state changes
 * (api_generation() moves on) or req->wait_until_usec passes: the long poll of agents.
 */
typedef int (*api_handler)(struct api_request *req, struct error *err);
#define API_SUSPEND 1

enum api_route_flags {
	API_ROUTE_PUBLIC = 1 << 0, /* no authentication */
	API_ROUTE_AGENT = 1 << 1,  /* a host token, not a user token */
	API_ROUTE_UPLOAD = 1 << 2, /* the body is streamed to a file (up to upload_max), not parsed */
	API_ROUTE_QUIET = 1 << 3,  /* a write that does not change desired state (agent reports) */
	API_ROUTE_TEXT = 1 << 4,   /* the body is text (req->text), not parsed as JSON */
	API_ROUTE_MEMORY = 1 << 5, /* a write to memory only (the log service): no transaction, no audit */
};

struct api_route {
	const char *method;
	const char *pattern; /* "/apps/:app/config-vars": ":x" segments are captured into params */
	api_handler handler;
	unsigned flags;
};

/* Route tables, each ending with a zeroed entry; api-http.c searches them in order. */
extern const struct api_route api_account_routes[];
extern const struct api_route api_team_routes[];
extern const struct api_route api_region_routes[];
extern const struct api_route api_space_routes[];
extern const struct api_route api_app_routes[];
extern const struct api_route api_config_routes[];
extern const struct api_route api_release_routes[];
extern const struct api_route api_formation_routes[];
extern const struct api_route api_slug_routes[];
extern const struct api_route api_audit_routes[];
extern const struct api_route api_host_routes[];
extern const struct api_route api_agent_routes[];
extern const struct api_route api_dyno_routes[];
extern const struct api_route api_log_routes[];
extern const struct api_route api_dashboard_routes[];
extern const struct api_route api_build_routes[];
extern const struct api_route api_domain_routes[];
extern const struct api_route api_ruleset_routes[];
extern const struct api_route api_space_access_routes[];
extern const struct api_route api_run_routes[];
extern const struct api_route api_addon_routes[];
extern const struct api_route api_addon_catalog_routes[];
extern const struct api_route api_addon_attachment_routes[];
extern const struct api_route api_addon_action_routes[];
extern const struct api_route api_pg_backup_routes[];

/*
 * Starts serving on cfg->listen (and cfg->listen_tls) with the given store (which stays the
 * caller's). Each listener runs on its own thread; handlers and log streams of both run one
 * at a time, under one lock, as if on one thread.
 */
int api_start(const struct api_config *cfg, struct store *store, struct api **ret, struct error *err);
void api_stop(struct api *api);
/* The apps' log streams (logs/logs.h); api-logs.h has the helpers. */
struct logs *api_logs(const struct api *api);

/* The URL the server answers on, "http://127.0.0.1:5000". */
const char *api_url(const struct api *api);
/* The HTTPS URL, "https://127.0.0.1:5001", or NULL when the server does not serve TLS. */
const char *api_url_tls(const struct api *api);
/*
 * The URL a client should use for links in a response to req (log streams, build output,
 * blobs): that of the listener the request came in on, so an HTTPS client stays on HTTPS.
 */
const char *api_request_url(struct api_request *req);
/* The base of git remotes: HTTPS when served, as Heroku's git remotes always are. */
const char *api_git_url(const struct api *api);
const struct api_config *api_get_config(const struct api *api);

/*
 * The generation of the desired state: it moves on with every committed change that agents
 * must act on. Agents long-poll on it.
 */
uint64_t api_generation(const struct api *api);

/* A query-string argument, or NULL. */
const char *api_query(struct api_request *req, const char *name);

/* A request header, or NULL. */
const char *api_header(struct api_request *req, const char *name);

/* Sets the response: status and body (the request takes ownership of body). Returns 0. */
int api_reply(struct api_request *req, int status, json_t *body);

/* Records what the request did, for the audit trail. */
void api_set_action(struct api_request *req, const char *fmt, ...) _printf_(2, 3);

/*
 * Body accessors. Each returns 0 and sets *ret (pointing into the body; valid for the request)
 * or, when the field is absent or null, leaves *ret NULL; -EINVAL with a message when the field
 * has the wrong type, or is missing and required.
 */
int api_body_string(struct api_request *req, const char *field, bool required, const char **ret, struct error *err);
int api_body_bool(struct api_request *req, const char *field, bool *ret, bool *ret_present, struct error *err);
/*
 * A reference to another resource: "name-or-id" or {"name": ...} or {"id": ...}, as the
 * Platform API accepts both.
 */
int api_body_ref(struct api_request *req, const char *field, bool required, const char **ret, struct error *err);

/* Builds {"id": id, "name": name}; NULL values become JSON null. */
json_t *api_ref_json(const char *id, const char *name);
/* A JSON string, or null for NULL. */
json_t *api_string_or_null(const char *s);

/*
 * Runs sql and moves to its first row: 1 with *rows on it, 0 when there is none, or the
 * store's negative errno. *rows is the caller's to free (_cleanup_rows_) in every case.
 */
int api_query_row(struct api_request *req, const char *sql, const struct store_val *args, size_t n_args,
		  struct store_rows **rows, struct error *err);
