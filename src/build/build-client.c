/* SPDX-License-Identifier: MIT */
#include "build/build-client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/strbuf.h"

struct build_client {
	CURL *easy;
	char *url;
	char *auth_header;
	char *push_header;
};

int build_client_new(const char *url, const char *token, const char *push_id, struct build_client **ret,
		     struct error *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return error_set(err, -EIO, "libcurl failed to initialise");
	struct build_client *c = xcalloc(1, sizeof(*c));
	c->easy = curl_easy_init();
	if (!c->easy) {
		free(c);
		return error_set(err, -ENOMEM, "libcurl failed to initialise");
	}
	c->url = xstrdup(url);
	c->auth_header = xasprintf("Authorization: Bearer %s", token);
	c->push_header = xasprintf("Cove-Push-Id: %s", push_id);
	*ret = c;
	return 0;
}

void build_client_free(struct build_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
	free(c->url);
	free(c->auth_header);
	free(c->push_header);
	free(c);
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	return strbuf_add(userp, data, size * n) < 0 ? 0 : size * n;
}

int build_client_call(struct build_client *c, const char *method, const char *path, json_t *body,
		      const char *upload_path, json_t **ret, struct error *err)
{
	if (ret)
		*ret = NULL;
	CURL *e = c->easy;
	curl_easy_reset(e);
	_cleanup_free_ char *url = xasprintf("%s%s", c->url, path);
	_cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	_cleanup_strbuf_ struct strbuf answer = STRBUF_INIT;
	strbuf_init(&answer, BUILD_CLIENT_ANSWER_MAX);
	struct curl_slist *headers = NULL;
	headers = curl_slist_append(headers, c->auth_header);
	headers = curl_slist_append(headers, c->push_header);
	headers = curl_slist_append(headers, "Accept: application/vnd.heroku+json; version=3");
	headers = curl_slist_append(headers, upload_path ? "Content-Type: application/octet-stream"
						       : "Content-Type: application/json");
	char error[CURL_ERROR_SIZE] = "";
	FILE *upload = NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 600L);
	if (upload_path) {
		upload = fopen(upload_path, "rbe");
		struct stat st;
		if (!upload || fstat(fileno(upload), &st) < 0) {
			int r = error_set(err, -errno, "open '%s': %m", upload_path);
			if (upload)
				fclose(upload);
			curl_slist_free_all(headers);
			return r;
		}
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READDATA, upload);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
	} else if (text) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, text);
	}
	CURLcode rc = curl_easy_perform(e);
	curl_slist_free_all(headers);
	if (upload)
		fclose(upload);
	if (rc != CURLE_OK)
		return error_set(err, -EHOSTUNREACH, "%s %s: %s", method, path, error[0] ? error : curl_easy_strerror(rc));
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	json_t *j = json_loadb(answer.buf, answer.len, JSON_DECODE_ANY, NULL);
	if (status < 200 || status > 299) {
		const char *message = json_string_value(json_object_get(j, "message"));
		int r = error_set(err, status == 404 ? -ENOENT : status == 403 ? -EACCES : status == 401 ? -EPERM : -EIO,
				  "%s", message ? message : "the API refused");
		json_decref(j);
		return r;
	}
	if (ret)
		*ret = j;
	else
		json_decref(j);
	return 0;
}
