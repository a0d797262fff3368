/* SPDX-License-Identifier: MIT */
#include "cli/cli-api.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "cli/cli-netrc.h"

#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 300L

struct cli_api {
	CURL *curl;
	char *url;
	char *machine;
	char *token;
	char *ca_file; /* the CA to verify HTTPS with instead of the system's, or NULL */
	enum cli_token_source source;
	bool debug;
};

static void token_free(char *token)
{
	if (token)
		explicit_bzero(token, strlen(token));
	free(token);
}

void cli_api_free(struct cli_api *api)
{
	if (!api)
		return;
	if (api->curl)
		curl_easy_cleanup(api->curl);
	curl_global_cleanup();
	free(api->url);
	free(api->machine);
	free(api->ca_file);
	token_free(api->token);
	free(api);
}

/* Checks the URL and derives the netrc machine from its host and port. */
static int url_machine(const char *url, char **ret, struct error *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int r = 0;
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		r = error_set(err, -EINVAL, "API URL '%s' is invalid: %s", url, curl_url_strerror(rc));
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (!scheme || (!streq(scheme, "http") && !streq(scheme, "https"))) {
		r = error_set(err, -EINVAL, "API URL '%s' is invalid: use http:// or https://", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || isempty(host)) {
		r = error_set(err, -EINVAL, "API URL '%s' is invalid: it has no host", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
		*ret = xasprintf("%s:%s", host, port);
	else
		*ret = xstrdup(host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

/* The URL of the coved of a data directory: HTTPS when it serves it. */
static int data_dir_url(const char *data_dir, char **ret, struct error *err)
{
	static const char *const files[] = { "run/api-tls.url", "run/api.url" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", data_dir, files[i]);
		char *text = NULL;
		if (file_read(path, 4096, &text, NULL, NULL) < 0)
			continue;
		text[strcspn(text, "\r\n")] = '\0';
		*ret = text;
		return 0;
	}
	return error_set(err, -ENOENT, "COVE_DATA_DIR '%s' has no run/api.url: is coved running there?", data_dir);
}

/* $COVE_CA_FILE, else the CA of $COVE_DATA_DIR's coved when it made one, else none. */
static int ca_file_find(const char *data_dir, char **ret, struct error *err)
{
	const char *ca = getenv("COVE_CA_FILE");
	if (!isempty(ca)) {
		if (access(ca, R_OK) < 0)
			return error_set(err, -errno, "COVE_CA_FILE '%s': %m", ca);
		*ret = xstrdup(ca);
		return 0;
	}
	if (isempty(data_dir))
		return 0;
	_cleanup_free_ char *path = xasprintf("%s/tls/ca.pem", data_dir);
	if (access(path, R_OK) == 0)
		*ret = TAKE_PTR(path);
	return 0;
}

void cli_api_curl_tls(const struct cli_api *api, void *curl)
{
	if (api->ca_file)
		curl_easy_setopt((CURL *)curl, CURLOPT_CAINFO, api->ca_file);
}

const char *cli_api_ca_file(const struct cli_api *api)
{
	return api->ca_file;
}

int cli_api_open(struct cli_api **ret, struct error *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return error_set(err, -EIO, "libcurl failed to start");
	struct cli_api *api = xcalloc(1, sizeof(*api));
	const char *url = getenv("COVE_API_URL");
	const char *data_dir = getenv("COVE_DATA_DIR");
	int r;
	if (!isempty(url))
		api->url = xstrdup(url);
	else if (!isempty(data_dir) && (r = data_dir_url(data_dir, &api->url, err)) < 0)
		goto fail;
	else if (!api->url)
		api->url = xstrdup(CLI_API_URL_DEFAULT);
	r = ca_file_find(data_dir, &api->ca_file, err);
	if (r < 0)
		goto fail;
	for (size_t n = strlen(api->url); n > 0 && api->url[n - 1] == '/'; n--)
		api->url[n - 1] = '\0';
	api->debug = !isempty(getenv("COVE_DEBUG"));

	r = url_machine(api->url, &api->machine, err);
	if (r < 0)
		goto fail;

	const char *key = getenv("COVE_API_KEY");
	if (!isempty(key)) {
		api->token = xstrdup(key);
		api->source = CLI_TOKEN_ENV;
	} else {
		_cleanup_free_ char *path = cli_netrc_path();
		_cleanup_free_ char *login = NULL;
		char *password = NULL;
		r = cli_netrc_lookup(path, api->machine, &login, &password, err);
		if (r < 0 && r != -ENOENT)
			goto fail;
		error_clear(err);
		if (!isempty(password)) {
			api->token = password;
			api->source = CLI_TOKEN_NETRC;
		} else {
			free(password);
		}
	}

	api->curl = curl_easy_init();
	if (!api->curl) {
		r = error_set(err, -EIO, "libcurl failed to start");
		goto fail;
	}
	*ret = api;
	return 0;
fail:
	cli_api_free(api);
	return r;
}

const char *cli_api_url(const struct cli_api *api)
{
	return api->url;
}

const char *cli_api_machine(const struct cli_api *api)
{
	return api->machine;
}

const char *cli_api_token(const struct cli_api *api)
{
	return api->token;
}

enum cli_token_source cli_api_token_source(const struct cli_api *api)
{
	return api->source;
}

int cli_api_need_token(const struct cli_api *api, struct error *err)
{
	if (api->token)
		return 0;
	return error_set(err, -EPERM, "not logged in to %s: run 'cove login' or set COVE_API_KEY", api->machine);
}

struct answer {
	struct strbuf body;
	bool too_large;
	FILE *file;     /* a 2xx body goes here (cli_request.ret_file) */
	CURL *h;
	bool file_error;
};

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct answer *a = userdata;
	long status = 0;
	if (a->file && curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 200 &&
	    status < 300) {
		if (fwrite(data, size, n, a->file) != n) {
			a->file_error = true;
			return 0;
		}
		return size * n;
	}
	if (strbuf_add(&a->body, data, size * n) < 0) {
		a->too_large = true;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static int status_code(long status)
{
	switch (status) {
	case 400:
		return -EBADMSG;
	case 401:
		return -EPERM;
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return -EEXIST;
	case 413:
		return -EMSGSIZE;
	case 422:
		return -EINVAL;
	case 429:
		return -EAGAIN;
	case 501:
		return -EOPNOTSUPP;
	case 503:
		return -EBUSY;
	default:
		return -EIO;
	}
}

/* Turns an error answer into err: the API's message on one line, and its id. */
static int answer_error(struct cli_api *api, long status, json_t *body, bool own_token, struct error *err)
{
	int code = status_code(status);
	const char *message = json_is_object(body) ? json_string_value(json_object_get(body, "message")) : NULL;
	const char *id = json_is_object(body) ? json_string_value(json_object_get(body, "id")) : NULL;
	if (isempty(message))
		error_set(err, code, "the API at %s answered HTTP %ld", api->url, status);
	else if (status == 401 && own_token && api->source == CLI_TOKEN_ENV)
		error_set(err, code, "%s (the token in COVE_API_KEY)", message);
	else if (status == 401 && own_token && api->source == CLI_TOKEN_NETRC)
		error_set(err, code, "%s: run 'cove login'", message);
	else
		error_set(err, code, "%s", message);
	if (id)
		snprintf(err->id, sizeof(err->id), "%s", id);
	for (char *p = err->message; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

void cli_api_setup_handle(struct cli_api *api, void *handle)
{
	CURL *h = handle;
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cove/" COVE_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
}

int cli_api_answer_error(struct cli_api *api, long status, const char *body, size_t len, struct error *err)
{
	_cleanup_json_ json_t *json = len > 0 ? json_loadb(body, len, JSON_DECODE_ANY, NULL) : NULL;
	return answer_error(api, status, json, true, err);
}

int cli_api_call(struct cli_api *api, const struct cli_request *rq, json_t **ret, struct error *err)
{
	if (ret)
		*ret = NULL;
	if (rq->ret_status)
		*rq->ret_status = 0;

	CURL *h = api->curl;
	curl_easy_reset(h);
	_cleanup_free_ char *url = xasprintf("%s%s", api->url, rq->path);
	_cleanup_free_ char *body_text = rq->body ? json_dumps(rq->body, JSON_COMPACT) : NULL;
	_cleanup_free_ char *auth = NULL;
	_cleanup_free_ char *range = rq->range ? xasprintf("Range: %s", rq->range) : NULL;
	_cleanup_free_ char *expand = rq->expand ? xasprintf("Accept-Expansion: %s", rq->expand) : NULL;
	struct answer answer = { .file = rq->ret_file, .h = h };
	strbuf_init(&answer.body, CLI_API_ANSWER_MAX);
	char curl_error[CURL_ERROR_SIZE] = "";

	struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/vnd.heroku+json; version=3");
	if (rq->basic_user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, rq->basic_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, rq->basic_password ? rq->basic_password : "");
	} else if (rq->token || api->token) {
		auth = xasprintf("Authorization: Bearer %s", rq->token ? rq->token : api->token);
		headers = curl_slist_append(headers, auth);
	}
	if (body_text) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_text);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body_text));
	}
	_cleanup_(fclosep) FILE *upload = NULL;
	if (rq->upload_path) {
		upload = fopen(rq->upload_path, "re");
		struct stat st;
		if (!upload || fstat(fileno(upload), &st) < 0) {
			curl_slist_free_all(headers);
			strbuf_release(&answer.body);
			return error_set(err, -errno, "open '%s': %m", rq->upload_path);
		}
		headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READDATA, upload);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
	}
	if (range)
		headers = curl_slist_append(headers, range);
	if (expand)
		headers = curl_slist_append(headers, expand);

	curl_easy_setopt(h, CURLOPT_URL, url);
	cli_api_curl_tls(api, h);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	if (streq(rq->method, "GET"))
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	cli_api_setup_handle(api, h);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, rq->upload_path || rq->ret_file ? 0L : (long)REQUEST_TIMEOUT_S);

	uint64_t t0 = time_mono_usec();
	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(headers);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (api->debug)
		fprintf(stderr, "cove: %s %s -> %ld (%.1f ms)\n", rq->method, url, status,
			(double)(time_mono_usec() - t0) / 1000.0);
	if (rq->ret_status)
		*rq->ret_status = status;

	int r;
	if (answer.too_large) {
		r = error_set(err, -EMSGSIZE, "the answer of the API to %s %s is larger than %d MB", rq->method, rq->path,
			      CLI_API_ANSWER_MAX / (1024 * 1024));
		goto out;
	}
	if (answer.file_error) {
		r = error_set(err, -EIO, "write the answer of the API to %s %s: %m", rq->method, rq->path);
		goto out;
	}
	if (rc != CURLE_OK) {
		r = error_set(err, -EHOSTUNREACH, "cannot reach the API at %s: %s", api->url,
			      curl_error[0] ? curl_error : curl_easy_strerror(rc));
		goto out;
	}

	if (rq->ret_file && status >= 200 && status < 300) {
		if (ret)
			*ret = json_null();
		r = 0;
		goto out;
	}
	if (rq->ret_text && status >= 200 && status < 300) {
		*rq->ret_text = strbuf_detach(&answer.body);
		if (ret)
			*ret = json_null();
		r = 0;
		goto out;
	}
	json_t *body = NULL;
	if (answer.body.len > 0) {
		json_error_t jerr;
		body = json_loadb(answer.body.buf, answer.body.len, JSON_DECODE_ANY, &jerr);
		if (!body && status >= 200 && status < 300) {
			r = error_set(err, -EBADMSG, "the API at %s answered %s %s with something that is not JSON", api->url,
				      rq->method, rq->path);
			goto out;
		}
	}
	if (status < 200 || status >= 300) {
		r = answer_error(api, status, body, !rq->basic_user && !rq->token, err);
		json_decref(body);
		goto out;
	}
	if (ret)
		*ret = body ? body : json_null();
	else
		json_decref(body);
	r = 0;
out:
	strbuf_release(&answer.body);
	return r;
}

int cli_get(struct cli *c, const char *path, json_t **ret, struct error *err)
{
	return cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = path }, ret, err);
}

int cli_send(struct cli *c, const char *method, const char *path, json_t *body, json_t **ret, struct error *err)
{
	return cli_api_call(c->api, &(struct cli_request){ .method = method, .path = path, .body = body }, ret, err);
}

static void add_segment(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			strbuf_addch(sb, (char)*p);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[*p >> 4]);
			strbuf_addch(sb, hex[*p & 15]);
		}
	}
}

char *cli_path(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			add_segment(&sb, va_arg(ap, const char *));
			p++;
		} else {
			strbuf_addch(&sb, *p);
		}
	}
	va_end(ap);
	return strbuf_detach(&sb);
}
