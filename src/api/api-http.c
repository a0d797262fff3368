/* SPDX-License-Identifier: MIT */
/*
 * The HTTP edge of the API: libmicrohttpd glue, routing, authentication hand-off, the
 * transaction and audit around every write, Range pagination, and the one place where error
 * codes become HTTP statuses. See api.h for the order of the steps.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api-audit.h"
#include "api/api-auth.h"
#include "api/api-bastion.h"
#include "api/api-pg-backups.h"
#include "api/api-git.h"
#include "api/api-logs.h"
#include "logs/logs.h"
#include "api/api-range.h"
#include "api/api.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"

struct api {
	struct api_config cfg;
	struct store *store;
	struct MHD_Daemon *mhd;
	int listen_fd;
	char url[128];
	struct MHD_Daemon *mhd_tls; /* NULL: no HTTPS */
	/*
	 * Each listener's daemon has a thread; handlers, the store, the log service and the log
	 * streams are written for one thread at a time. This lock makes the two one: it is held
	 * around every callback that reaches them.
	 */
	pthread_mutex_t serve_lock;
	int listen_tls_fd;
	char url_tls[128];
	uint64_t generation; /* of the desired state; atomic */
	pthread_mutex_t waiters_lock;
	struct waiter *waiters; /* suspended long polls */
	size_t n_waiters, alloc_waiters;
	pthread_t ticker;
	bool stopping; /* atomic */
	struct api_git *git; /* the repositories, /<app>.git */
	struct logs *logs;   /* the apps' log streams (api-logs.c) */
	struct api_bastion *bastion; /* tunnels into spaces (api-bastion.c) */
};

static void api_state_changed(struct api *api);

struct waiter {
	struct MHD_Connection *conn;
	uint64_t deadline; /* monotonic usec */
};

/* Per-connection state, from the first call of a request to its completion. */
struct conn_state {
	const struct api_route *route;
	const char *params[API_PARAMS_MAX]; /* point into scratch */
	char scratch[1024];
	struct error error;  /* set when the request failed before its handler */
	struct strbuf body;
	bool too_large;
	int upload_fd;
	char *upload_path;
	uint64_t upload_size;
	bool suspended;
	char request_id[ID_STRING_MAX];
	uint64_t started;
	struct api_git_conn *git; /* a request to a repository: api-git.c answers it */
	struct api_upgrade_handler *upgrade; /* a 101 queued, its handler not yet called */
};

static const struct api_route *const route_tables[] = {
	api_account_routes, api_team_routes,      api_region_routes, api_space_routes,
	api_app_routes,     api_config_routes,    api_release_routes, api_formation_routes,
	api_slug_routes,    api_audit_routes,     api_host_routes,   api_agent_routes,
	api_dyno_routes,    api_dashboard_routes, api_log_routes, api_build_routes,
	api_domain_routes,  api_ruleset_routes, api_space_access_routes, api_run_routes,
	api_bastion_routes, api_addon_routes, api_pg_backup_routes,
	api_addon_catalog_routes, api_addon_attachment_routes, api_addon_action_routes,
};

struct api_bastion *api_bastion(const struct api *api)
{
	return api->bastion;
}

struct logs *api_logs(const struct api *api)
{
	return api->logs;
}

const char *api_url(const struct api *api)
{
	return api->url;
}

const char *api_url_tls(const struct api *api)
{
	return api->mhd_tls ? api->url_tls : NULL;
}

const char *api_git_url(const struct api *api)
{
	return api->mhd_tls ? api->url_tls : api->url;
}

const char *api_request_url(struct api_request *req)
{
	const union MHD_ConnectionInfo *info =
		req->conn ? MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_DAEMON) : NULL;
	if (info && req->api->mhd_tls && info->daemon == req->api->mhd_tls)
		return req->api->url_tls;
	return req->api->url;
}

const struct api_config *api_get_config(const struct api *api)
{
	return &api->cfg;
}

const char *api_query(struct api_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(struct api_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int api_reply(struct api_request *req, int status, json_t *body)
{
	json_decref(req->response);
	req->status = status;
	req->response = body;
	return 0;
}

void api_set_action(struct api_request *req, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(req->action, sizeof(req->action), fmt, ap);
	va_end(ap);
}

json_t *api_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *api_ref_json(const char *id, const char *name)
{
	return json_pack("{s:o, s:o}", "id", api_string_or_null(id), "name", api_string_or_null(name));
}

int api_query_row(struct api_request *req, const char *sql, const struct store_val *args, size_t n_args,
		  struct store_rows **rows, struct error *err)
{
	int r = store_query(req->store, sql, args, n_args, rows, err);
	return r < 0 ? r : store_rows_next(*rows, err);
}

int api_body_string(struct api_request *req, const char *field, bool required, const char **ret, struct error *err)
{
	*ret = NULL;
	json_t *v = req->body ? json_object_get(req->body, field) : NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return error_set(err, -EINVAL, "'%s' is required", field);
		return 0;
	}
	if (!json_is_string(v))
		return error_set(err, -EINVAL, "'%s' must be a string", field);
	*ret = json_string_value(v);
	return 0;
}

int api_body_bool(struct api_request *req, const char *field, bool *ret, bool *ret_present, struct error *err)
{
	json_t *v = req->body ? json_object_get(req->body, field) : NULL;
	if (ret_present)
		*ret_present = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return error_set(err, -EINVAL, "'%s' must be true or false", field);
	*ret = json_is_true(v);
	if (ret_present)
		*ret_present = true;
	return 0;
}

int api_body_ref(struct api_request *req, const char *field, bool required, const char **ret, struct error *err)
{
	*ret = NULL;
	json_t *v = req->body ? json_object_get(req->body, field) : NULL;
	if (v && json_is_object(v)) {
		json_t *name = json_object_get(v, "name");
		json_t *id = json_object_get(v, "id");
		json_t *pick = json_is_string(name) ? name : id;
		if (!json_is_string(pick))
			return error_set(err, -EINVAL, "'%s' must have a string 'name' or 'id'", field);
		*ret = json_string_value(pick);
		return 0;
	}
	return api_body_string(req, field, required, ret, err);
}

/* ---- errors ---------------------------------------------------------------------------- */

static unsigned status_for_code(int code, const char **ret_id)
{
	static const struct {
		int code;
		unsigned status;
		const char *id;
	} map[] = {
		{ -EBADMSG, 400, "bad_request" },
		{ -EPERM, 401, "unauthorized" },
		{ -EACCES, 403, "forbidden" },
		{ -ENOENT, 404, "not_found" },
		{ -EEXIST, 409, "conflict" },
		{ -ENOTEMPTY, 409, "conflict" },
		{ -EMSGSIZE, 413, "request_entity_too_large" },
		{ -EINVAL, 422, "invalid_params" },
		{ -EAGAIN, 429, "rate_limit" },
		{ -EOPNOTSUPP, 501, "not_implemented" },
		{ -EBUSY, 503, "unavailable" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i].code == code) {
			*ret_id = map[i].id;
			return map[i].status;
		}
	*ret_id = "internal_server_error";
	return 500;
}

static void reply_error(struct api_request *req, int code, const struct error *err)
{
	const char *id;
	unsigned status = status_for_code(code, &id);
	if (err->id[0])
		id = err->id;
	const char *message = err->message[0] ? err->message : strerror(-code);
	if (status >= 500) {
		log_error("%s %s: %s (request %s)", req->method, req->path, message, req->request_id);
		if (status == 500)
			message = "internal server error";
	}
	api_reply(req, (int)status, json_pack("{s:s, s:s}", "id", id, "message", message));
}

/* ---- routing --------------------------------------------------------------------------- */

static bool route_match(const char *pattern, const char *path, const char **params, char *scratch, size_t scratch_len)
{
	size_t used = 0, n = 0;
	const char *p = pattern, *q = path;
	while (*p && *q) {
		if (*p != '/' || *q != '/')
			return false;
		p++;
		q++;
		size_t pl = strcspn(p, "/"), ql = strcspn(q, "/");
		if (*p == ':') {
			if (ql == 0 || n >= API_PARAMS_MAX || used + ql + 1 > scratch_len)
				return false;
			memcpy(scratch + used, q, ql);
			scratch[used + ql] = '\0';
			params[n++] = scratch + used;
			used += ql + 1;
		} else if (pl != ql || strncmp(p, q, pl) != 0) {
			return false;
		}
		p += pl;
		q += ql;
	}
	return *p == '\0' && (*q == '\0' || streq(q, "/"));
}

static const struct api_route *route_find(const char *method, const char *path, const char **params, char *scratch,
					  size_t scratch_len, bool *ret_path_known)
{
	*ret_path_known = false;
	for (size_t t = 0; t < ARRAY_SIZE(route_tables); t++)
		for (const struct api_route *r = route_tables[t]; r->method; r++) {
			const char *tmp[API_PARAMS_MAX];
			if (!route_match(r->pattern, path, tmp, scratch, scratch_len))
				continue;
			*ret_path_known = true;
			if (!streq(r->method, method))
				continue;
			route_match(r->pattern, path, params, scratch, scratch_len);
			return r;
		}
	return NULL;
}

/* ---- the request ----------------------------------------------------------------------- */

static void audit_record(struct api_request *req, bool in_tx)
{
	struct error err = { 0 };
	const struct api_audit_event ev = {
		.actor_id = req->authenticated ? req->user.id : NULL,
		.actor_email = req->authenticated ? req->user.email : "",
		.action = req->action[0] ? req->action : req->path,
		.method = req->method,
		.path = req->path,
		.status = req->status,
		.request_id = req->request_id,
	};
	if (!in_tx && store_begin(req->store, &err) < 0)
		goto fail;
	if (api_audit_insert(req->store, &ev, &err) < 0)
		goto fail;
	if (!in_tx && store_commit(req->store, &err) < 0)
		goto fail;
	return;
fail:
	if (!in_tx)
		store_rollback(req->store);
	log_error("audit %s %s: %s", req->method, req->path, err.message);
}

static int check_accept(struct api_request *req, struct error *err)
{
	const char *accept = api_header(req, "Accept");
	if (!accept || !strstr(accept, "application/vnd.heroku+json"))
		return 0;
	const char *v = strstr(accept, "version=");
	if (v && v[8] != '3')
		return error_set_id(err, -EBADMSG, "unsupported_version", "API version '%.16s' is not supported: use version=3",
				    v + 8);
	return 0;
}

/*
 * Runs a request whose body has arrived. Returns API_SUSPEND when the handler wants to wait
 * (the caller suspends the connection), 0 when req holds the response.
 */
static int handle(struct api_request *req, struct conn_state *cs)
{
	struct error err = { 0 };
	int r;

	api_bastion_flush(req->api->bastion, req->store);
	if (cs->error.code) {
		err = cs->error;
		r = err.code;
		goto fail;
	}
	const struct api_route *route = cs->route;
	memcpy(req->params, cs->params, sizeof(req->params));
	r = check_accept(req, &err);
	if (r < 0)
		goto fail;
	if (cs->too_large) {
		r = route->flags & API_ROUTE_UPLOAD
			    ? error_set(&err, -EMSGSIZE, "upload is too large: at most %llu bytes",
					(unsigned long long)req->api->cfg.upload_max)
			    : error_set(&err, -EMSGSIZE, "request body is too large: at most %zu bytes", req->api->cfg.body_max);
		goto fail;
	}
	if (route->flags & API_ROUTE_UPLOAD) {
		req->upload_path = cs->upload_path;
		req->upload_size = cs->upload_size;
	} else if (route->flags & API_ROUTE_TEXT) {
		req->text = cs->body.buf;
		req->text_len = cs->body.len;
		if (strlen(req->text) != req->text_len) {
			r = error_set(&err, -EINVAL, "request body must be text: it holds a NUL byte");
			goto fail;
		}
	} else if (cs->body.len > 0) {
		json_error_t jerr;
		req->body = json_loadb(cs->body.buf, cs->body.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (!req->body) {
			r = error_set(&err, -EBADMSG, "request body is not valid JSON: %s at line %d", jerr.text, jerr.line);
			goto fail;
		}
		if (!json_is_object(req->body)) {
			r = error_set(&err, -EINVAL, "request body must be a JSON object");
			goto fail;
		}
	}
	if (!(route->flags & API_ROUTE_PUBLIC)) {
		r = api_authenticate(req, route->flags & API_ROUTE_AGENT, &err);
		if (r < 0)
			goto fail;
		if ((route->flags & API_ROUTE_AGENT) && !req->is_host) {
			r = error_set(&err, -EACCES, "only agents, with a host token, may use %s", req->path);
			goto fail;
		}
		if (!(route->flags & API_ROUTE_AGENT) && req->is_host) {
			r = error_set(&err, -EACCES, "a host token may only use the /agent routes");
			goto fail;
		}
	}

	bool write = !streq(req->method, "GET") && !(route->flags & API_ROUTE_MEMORY);
	if (write) {
		r = store_begin(req->store, &err);
		if (r < 0)
			goto fail;
	}
	r = route->handler(req, &err);
	if (r == API_SUSPEND) {
		if (write) {
			store_rollback(req->store);
			r = error_set(&err, -EIO, "a write request may not wait");
			goto fail;
		}
		return API_SUSPEND;
	}
	if (r >= 0 && json_is_array(req->response) && req->range_fields) {
		struct api_range range;
		const char *h = api_header(req, "Range");
		if (h)
			r = api_range_parse(h, req->range_fields, &range, &err);
		else
			api_range_default(req->range_fields, &range);
		if (r >= 0) {
			_cleanup_free_ char *next = NULL;
			api_reply(req, req->status, api_range_apply(req->response, &range, &next));
			if (next) {
				snprintf(req->next_range, sizeof(req->next_range), "%s", next);
				req->status = 206;
			}
		}
		api_range_release(&range);
	}
	if (write) {
		if (r >= 0) {
			if (!(route->flags & API_ROUTE_QUIET))
				audit_record(req, true);
			r = store_commit(req->store, &err);
			if (r >= 0)
				api_logs_flush(req);
			if (r >= 0 && (!(route->flags & API_ROUTE_QUIET) || req->changes_desired))
				api_state_changed(req->api);
		} else {
			store_rollback(req->store);
		}
	}
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (r >= 0)
		r = -EIO;
	if (req->file_fd >= 0) {
		close(req->file_fd);
		req->file_fd = -1;
	}
	if (req->stream_read) {
		req->stream_free(req->stream_cls);
		req->stream_read = NULL;
	}
	reply_error(req, r, &err);
	if (!streq(req->method, "GET") && req->store && !store_in_transaction(req->store) &&
	    !(cs->route && (cs->route->flags & (API_ROUTE_QUIET | API_ROUTE_MEMORY))))
		audit_record(req, false);
	return 0;
}

/* A body produced while it is sent (req->stream_read), read under serve_lock. */
struct locked_stream {
	struct api *api;
	ssize_t (*read)(void *cls, uint64_t pos, char *buf, size_t max);
	void (*free)(void *cls);
	void *cls;
};

static ssize_t locked_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct locked_stream *ls = cls;
	pthread_mutex_lock(&ls->api->serve_lock);
	ssize_t n = ls->read(ls->cls, pos, buf, max);
	pthread_mutex_unlock(&ls->api->serve_lock);
	return n;
}

static void locked_stream_free(void *cls)
{
	struct locked_stream *ls = cls;
	pthread_mutex_lock(&ls->api->serve_lock);
	ls->free(ls->cls);
	pthread_mutex_unlock(&ls->api->serve_lock);
	free(ls);
}

/* libmicrohttpd sent a 101: the connection is the upgrade handler's now. */
static void upgrade_started(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
			    size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct conn_state *cs = con_cls;
	struct api_upgrade_handler *h = TAKE_PTR(cs->upgrade);
	if (!h) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	struct api *api = cls;
	pthread_mutex_lock(&api->serve_lock);
	h->started(h, sock, extra_in, extra_in_size, (struct api_upgrade *)urh);
	pthread_mutex_unlock(&api->serve_lock);
}

void api_upgrade_close(struct api_upgrade *conn)
{
	MHD_upgrade_action((struct MHD_UpgradeResponseHandle *)conn, MHD_UPGRADE_ACTION_CLOSE);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct conn_state *cs, struct api_request *req)
{
	struct MHD_Response *resp;
	if (req->upgrade && req->status == 101) {
		resp = MHD_create_response_for_upgrade(upgrade_started, req->api);
		MHD_add_response_header(resp, "Upgrade", req->upgrade_protocol);
		MHD_add_response_header(resp, "Connection", "Upgrade");
		cs->upgrade = TAKE_PTR(req->upgrade);
	} else if (req->file_fd >= 0) {
		struct stat st;
		if (fstat(req->file_fd, &st) < 0)
			st.st_size = 0;
		resp = MHD_create_response_from_fd((uint64_t)st.st_size, req->file_fd);
		req->file_fd = -1; /* MHD closes it */
		MHD_add_response_header(resp, "Content-Type", req->content_type ? req->content_type : "application/octet-stream");
	} else if (req->stream_read) {
		struct locked_stream *ls = xmalloc(sizeof(*ls));
		*ls = (struct locked_stream){ req->api, req->stream_read, req->stream_free, req->stream_cls };
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, locked_stream_read, ls,
							 locked_stream_free);
		req->stream_read = NULL; /* the response owns stream_cls now */
		MHD_add_response_header(resp, "Content-Type", req->content_type ? req->content_type : "application/octet-stream");
	} else if (req->static_body) {
		resp = MHD_create_response_from_buffer(req->static_len, (void *)req->static_body, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Content-Type", req->content_type ? req->content_type : "application/octet-stream");
	} else {
		json_t *body = req->response ? req->response : json_object();
		char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!req->response)
			json_decref(body);
		size_t len = strlen(text);
		text = xrealloc(text, len + 2);
		text[len++] = '\n';
		text[len] = '\0';
		resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	}
	MHD_add_response_header(resp, "Request-Id", req->request_id);
	MHD_add_response_header(resp, "Cache-Control", req->cache_control ? req->cache_control : "no-store");
	if (req->etag)
		MHD_add_response_header(resp, "ETag", req->etag);
	for (const char *const *h = req->headers; h && h[0] && h[1]; h += 2)
		MHD_add_response_header(resp, h[0], h[1]);
	if (req->next_range[0])
		MHD_add_response_header(resp, "Next-Range", req->next_range);
	if (req->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"cove\"");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- long polls ------------------------------------------------------------------------ */

uint64_t api_generation(const struct api *api)
{
	return __atomic_load_n(&api->generation, __ATOMIC_ACQUIRE);
}

static void waiters_resume(struct api *api, bool all)
{
	uint64_t now = time_mono_usec();
	pthread_mutex_lock(&api->waiters_lock);
	size_t kept = 0;
	for (size_t i = 0; i < api->n_waiters; i++) {
		if (all || api->waiters[i].deadline <= now)
			MHD_resume_connection(api->waiters[i].conn);
		else
			api->waiters[kept++] = api->waiters[i];
	}
	api->n_waiters = kept;
	pthread_mutex_unlock(&api->waiters_lock);
}

/* A committed change that agents must see: move the generation on and wake the long polls. */
static void api_state_changed(struct api *api)
{
	__atomic_add_fetch(&api->generation, 1, __ATOMIC_RELEASE);
	waiters_resume(api, true);
}

static void waiter_add(struct api *api, struct MHD_Connection *conn, uint64_t deadline)
{
	pthread_mutex_lock(&api->waiters_lock);
	if (api->n_waiters == api->alloc_waiters) {
		api->alloc_waiters = api->alloc_waiters ? api->alloc_waiters * 2 : 16;
		api->waiters = xrealloc(api->waiters, api->alloc_waiters * sizeof(*api->waiters));
	}
	api->waiters[api->n_waiters++] = (struct waiter){ .conn = conn, .deadline = deadline };
	pthread_mutex_unlock(&api->waiters_lock);
}

/* Wakes long polls whose time is up, and runs the backup schedules; the only other thread of the API. */
static void *ticker(void *arg)
{
	struct api *api = arg;
	while (!__atomic_load_n(&api->stopping, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { .tv_nsec = 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		waiters_resume(api, false);
		api_logs_tick(api);
		pthread_mutex_lock(&api->serve_lock);
		api_pg_backups_tick(api, api->store);
		pthread_mutex_unlock(&api->serve_lock);
	}
	return NULL;
}

/* ---- libmicrohttpd callbacks ----------------------------------------------------------- */

/* The first call of a request: find its route; for uploads, authenticate and open the file. */
static void conn_begin(struct api *api, struct conn_state *cs, struct MHD_Connection *conn, const char *url,
		       const char *method)
{
	bool path_known;
	if (strlen(url) >= sizeof(cs->scratch)) {
		error_set(&cs->error, -ENOENT, "no route for %s %.64s...", method, url);
		return;
	}
	cs->route = route_find(method, url, cs->params, cs->scratch, sizeof(cs->scratch), &path_known);
	if (!cs->route) {
		error_set(&cs->error, -ENOENT, "no route for %s %s", method, url);
		return;
	}
	if (!(cs->route->flags & API_ROUTE_UPLOAD))
		return;
	/* Authenticate before accepting a large body. */
	struct api_request req = { .api = api, .store = api->store, .method = method, .path = url, .conn = conn };
	if (api_authenticate(&req, cs->route->flags & API_ROUTE_AGENT, &cs->error) < 0)
		return;
	_cleanup_free_ char *dir = xasprintf("%s/uploads", api->cfg.data_dir);
	if (mkdir_p(dir, 0700, &cs->error) < 0)
		return;
	cs->upload_path = xasprintf("%s/upload-XXXXXX", dir);
	cs->upload_fd = mkostemp(cs->upload_path, O_CLOEXEC);
	if (cs->upload_fd < 0) {
		error_set(&cs->error, -errno, "create upload file in '%s': %m", dir);
		free(cs->upload_path);
		cs->upload_path = NULL;
	}
}

static void conn_body(struct api *api, struct conn_state *cs, const char *data, size_t size)
{
	if (cs->too_large || cs->error.code)
		return;
	if (cs->route && (cs->route->flags & API_ROUTE_UPLOAD)) {
		if (cs->upload_size + size > api->cfg.upload_max) {
			cs->too_large = true;
			return;
		}
		while (size > 0) {
			ssize_t n = write(cs->upload_fd, data, size);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				error_set(&cs->error, -errno, "write upload: %m");
				return;
			}
			data += n;
			size -= (size_t)n;
			cs->upload_size += (size_t)n;
		}
		return;
	}
	if (strbuf_add(&cs->body, data, size) < 0) {
		cs->too_large = true;
		strbuf_release(&cs->body);
	}
}

static enum MHD_Result serve_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				     const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api *api = cls;
	struct conn_state *cs = *con_cls;
	if (!cs) {
		cs = xcalloc(1, sizeof(*cs));
		strbuf_init(&cs->body, api->cfg.body_max);
		cs->upload_fd = -1;
		id_new(cs->request_id);
		cs->started = time_mono_usec();
		*con_cls = cs;
		if (api_git_path(url)) {
			cs->git = api_git_conn_new(api->git, conn, url, method);
			return api_git_conn_request(cs->git, upload_data, upload_data_size);
		}
		conn_begin(api, cs, conn, url, method);
		return MHD_YES;
	}
	if (cs->git)
		return api_git_conn_request(cs->git, upload_data, upload_data_size);
	if (*upload_data_size > 0) {
		conn_body(api, cs, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (cs->upload_fd >= 0) {
		close(cs->upload_fd);
		cs->upload_fd = -1;
	}

	struct api_request req = {
		.api = api,
		.store = api->store,
		.method = method,
		.path = url,
		.conn = conn,
		.status = 200,
		.file_fd = -1,
		.resumed = cs->suspended,
	};
	memcpy(req.request_id, cs->request_id, sizeof(req.request_id));
	if (handle(&req, cs) == API_SUSPEND) {
		cs->suspended = true;
		json_decref(req.body);
		json_decref(req.response);
		MHD_suspend_connection(conn);
		waiter_add(api, conn, req.wait_until_usec);
		return MHD_YES;
	}
	enum MHD_Result ret = send_response(conn, cs, &req);
	log_debug("%s %s %d %.1fms", method, url, req.status, (double)(time_mono_usec() - cs->started) / 1000.0);
	json_decref(req.body);
	json_decref(req.response);
	json_decref(req.pending_logs);
	return ret;
}

static void complete_request(struct MHD_Connection *conn, void **con_cls)
{
	struct conn_state *cs = *con_cls;
	if (!cs)
		return;
	api_git_conn_free(cs->git);
	if (cs->upgrade)
		cs->upgrade->dropped(cs->upgrade);
	strbuf_release(&cs->body);
	if (cs->upload_fd >= 0)
		close(cs->upload_fd);
	if (cs->upload_path) {
		unlink(cs->upload_path); /* a handler that keeps the upload renames it first */
		free(cs->upload_path);
	}
	free(cs);
	*con_cls = NULL;
}

/* The daemons' callbacks: one at a time, whichever listener they come from (serve_lock). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api *api = cls;
	pthread_mutex_lock(&api->serve_lock);
	enum MHD_Result ret = serve_request(cls, conn, url, method, version, upload_data, upload_data_size, con_cls);
	pthread_mutex_unlock(&api->serve_lock);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct api *api = cls;
	pthread_mutex_lock(&api->serve_lock);
	complete_request(conn, con_cls);
	pthread_mutex_unlock(&api->serve_lock);
}

/*
 * Decodes %XX escapes of the URL in place, except %2F: a '/' a client escaped stays inside its
 * path segment, so `/apps/a%2Fconfig-vars` names an app (that cannot exist) and never the
 * route /apps/a/config-vars.
 */
static size_t unescape_url(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2]) &&
		    !(r[1] == '2' && (r[2] == 'f' || r[2] == 'F'))) {
			char hex[3] = { r[1], r[2], '\0' };
			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Binds host:port (port 0: any free one) and returns the listening socket. */
static int listen_on(const char *listen_addr, const char *scheme, char *ret_url, size_t url_len, struct error *err)
{
	_cleanup_free_ char *host = xstrdup(listen_addr);
	char *colon = strrchr(host, ':');
	if (!colon)
		return error_set(err, -EINVAL, "listen address '%s' is invalid: expected host:port", listen_addr);
	*colon = '\0';
	const char *port = colon + 1;
	if (host[0] == '[') {
		size_t l = strlen(host);
		if (l < 2 || host[l - 1] != ']')
			return error_set(err, -EINVAL, "listen address '%s' is invalid", listen_addr);
		host[l - 1] = '\0';
		memmove(host, host + 1, l - 1);
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	if (rc != 0)
		return error_set(err, -EINVAL, "listen address '%s' is invalid: %s", listen_addr, gai_strerror(rc));
	_cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return error_set(err, -errno, "listen on '%s': %m", listen_addr);
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0) {
		int r = error_set(err, -errno, "listen on '%s': %m", listen_addr);
		freeaddrinfo(ai);
		return r;
	}
	freeaddrinfo(ai);

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	char addr[INET6_ADDRSTRLEN] = "";
	unsigned p;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
		p = ntohs(s6->sin6_port);
		snprintf(ret_url, url_len, "%s://[%s]:%u", scheme, addr, p);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
		p = ntohs(s4->sin_port);
		snprintf(ret_url, url_len, "%s://%s:%u", scheme, streq(addr, "0.0.0.0") ? "127.0.0.1" : addr, p);
	}
	return TAKE_FD(fd);
}

/* One libmicrohttpd daemon on a listening socket; the HTTP and the HTTPS one share everything. */
static struct MHD_Daemon *daemon_start(struct api *api, int fd, bool tls)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_ALLOW_UPGRADE;
	struct MHD_OptionItem tls_options[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)api->cfg.tls_cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)api->cfg.tls_key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	return MHD_start_daemon(flags | (tls ? MHD_USE_TLS : 0), 0, NULL, NULL, on_request, api,
				MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
				MHD_OPTION_UNESCAPE_CALLBACK, unescape_url, api, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_ARRAY,
				tls ? tls_options : &tls_options[2], MHD_OPTION_END);
}

static void api_free(struct api *api)
{
	if (api->git)
		api_git_free(api->git);
	if (api->listen_fd >= 0)
		close(api->listen_fd);
	if (api->listen_tls_fd >= 0)
		close(api->listen_tls_fd);
	if (api->bastion)
		api_bastion_free(api->bastion);
	logs_free(api->logs);
	pthread_mutex_destroy(&api->serve_lock);
	free(api);
}

int api_start(const struct api_config *cfg, struct store *store, struct api **ret, struct error *err)
{
	struct api *api = xcalloc(1, sizeof(*api));
	api->cfg = *cfg;
	api->store = store;
	api->logs = logs_new();
	api->bastion = api_bastion_new();
	api->listen_tls_fd = -1;
	/* Recursive: a response given up inside a callback frees its stream there. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&api->serve_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	int r;
	api->listen_fd = listen_on(cfg->listen, "http", api->url, sizeof(api->url), err);
	if (api->listen_fd < 0) {
		r = api->listen_fd;
		goto fail;
	}
	if (cfg->listen_tls) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			r = error_set(err, -EOPNOTSUPP, "this libmicrohttpd has no TLS: run without HTTPS");
			goto fail;
		}
		if (!cfg->tls_cert_pem || !cfg->tls_key_pem) {
			r = error_set(err, -EINVAL, "HTTPS on '%s' needs a certificate and a key", cfg->listen_tls);
			goto fail;
		}
		api->listen_tls_fd = listen_on(cfg->listen_tls, "https", api->url_tls, sizeof(api->url_tls), err);
		if (api->listen_tls_fd < 0) {
			r = api->listen_tls_fd;
			goto fail;
		}
	}
	if (api->cfg.upload_max == 0)
		api->cfg.upload_max = 500ull * 1024 * 1024;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Starts from the clock, so that an agent sees a restarted API as a change. */
	api->generation = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	r = api_git_new(api, store, &api->git, err);
	if (r < 0)
		goto fail;
	pthread_mutex_init(&api->waiters_lock, NULL);
	api->mhd = daemon_start(api, api->listen_fd, false);
	if (!api->mhd) {
		r = error_set(err, -EIO, "start HTTP server on '%s' failed", cfg->listen);
		goto fail_git;
	}
	if (api->listen_tls_fd >= 0) {
		api->mhd_tls = daemon_start(api, api->listen_tls_fd, true);
		if (!api->mhd_tls) {
			r = error_set(err, -EIO, "start HTTPS server on '%s' failed (is the certificate and key pair valid?)",
				      cfg->listen_tls);
			goto fail_mhd;
		}
	}
	if (pthread_create(&api->ticker, NULL, ticker, api) != 0) {
		r = error_set(err, -EIO, "start the long-poll timer thread failed");
		goto fail_mhd;
	}
	*ret = api;
	return 0;
fail_mhd:
	if (api->mhd_tls)
		MHD_stop_daemon(api->mhd_tls);
	MHD_stop_daemon(api->mhd);
fail_git:
	api_git_stop(api->git);
	pthread_mutex_destroy(&api->waiters_lock);
fail:
	api_free(api);
	return r;
}

void api_stop(struct api *api)
{
	if (!api)
		return;
	__atomic_store_n(&api->stopping, true, __ATOMIC_RELEASE);
	pthread_join(api->ticker, NULL);
	MHD_quiesce_daemon(api->mhd);
	if (api->mhd_tls)
		MHD_quiesce_daemon(api->mhd_tls);
	waiters_resume(api, true);
	api_logs_shutdown(api);
	api_bastion_stop(api->bastion); /* upgraded connections must be closed before the daemon stops */
	api_git_stop(api->git);
	MHD_stop_daemon(api->mhd);
	if (api->mhd_tls)
		MHD_stop_daemon(api->mhd_tls);
	api_bastion_flush(api->bastion, api->store);
	pthread_mutex_destroy(&api->waiters_lock);
	free(api->waiters);
	api_free(api);
}
