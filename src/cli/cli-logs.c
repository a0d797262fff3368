/* SPDX-License-Identifier: MIT */
/*
 * logs: an app's log stream. A log session is created through the API; its logplex_url is
 * read as Server-Sent Events (the session id is the credential, so no token goes there), and
 * each event's data lines are printed as they arrive. With --tail the stream stays open, and
 * is opened again after it ends, resuming after the last event seen (Last-Event-ID).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

#define LOGS_LINES_DEFAULT 100
#define LOGS_LINES_MAX 1500
#define SSE_LINE_MAX (64 * 1024)

struct sse {
	struct strbuf line;  /* the line being received */
	char last_id[32];
	long retry_ms;
	bool overflow;
};

static void sse_line(struct sse *s, const char *line)
{
	if (strncmp(line, "data:", 5) == 0) {
		const char *d = line + 5 + (line[5] == ' ');
		printf("%s\n", d);
		fflush(stdout);
	} else if (strncmp(line, "id:", 3) == 0) {
		snprintf(s->last_id, sizeof(s->last_id), "%s", line + 3 + (line[3] == ' '));
	} else if (strncmp(line, "retry:", 6) == 0) {
		s->retry_ms = strtol(line + 6, NULL, 10);
	}
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata)
{
	struct sse *s = userdata;
	size_t len = size * n;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			if (!s->overflow)
				sse_line(s, s->line.buf);
			strbuf_reset(&s->line);
			s->overflow = false;
		} else if (data[i] != '\r' && strbuf_addch(&s->line, data[i]) < 0) {
			s->overflow = true;
		}
	}
	return len;
}

/* Reads the stream once; returns the HTTP status, or 0 when it could not connect. */
static long stream_once(const struct cli_api *api, const char *url, struct sse *s, struct error *err)
{
	CURL *h = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Accept: text/event-stream");
	_cleanup_free_ char *last = s->last_id[0] ? xasprintf("Last-Event-ID: %s", s->last_id) : NULL;
	if (last)
		headers = curl_slist_append(headers, last);
	char curl_error[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	cli_api_curl_tls(api, h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cove/" COVE_VERSION);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK && status == 0)
		error_set(err, -EHOSTUNREACH, "cannot read the log stream: %s", curl_error[0] ? curl_error : curl_easy_strerror(rc));
	return status;
}

static int logs_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	long lines = LOGS_LINES_DEFAULT;
	const char *num = cli_opt(c, OPT_NUM);
	if (num) {
		char *end;
		lines = strtol(num, &end, 10);
		if (!*num || *end || lines < 1 || lines > LOGS_LINES_MAX)
			return cli_usage_error(err, "-n '%s' is invalid: use a number from 1 to %d", num, LOGS_LINES_MAX);
	}
	const char *source = cli_opt(c, OPT_SOURCE), *dyno = cli_opt(c, OPT_DYNO);
	/* heroku's names for the same filter: --dyno-name, -p/--process-type. */
	if (!dyno)
		dyno = cli_opt(c, OPT_DYNO_NAME) ? cli_opt(c, OPT_DYNO_NAME) : cli_opt(c, OPT_PROCESS_TYPE);
	bool tail = cli_has(c, OPT_TAIL);
	json_t *body = json_pack("{s:I, s:b}", "lines", (json_int_t)lines, "tail", tail);
	if (source)
		json_object_set_new(body, "source", json_string(source));
	if (dyno)
		json_object_set_new(body, "dyno", json_string(dyno));
	_cleanup_free_ char *path = cli_path("/apps/%s/log-sessions", app);
	_cleanup_json_ json_t *session = NULL;
	r = cli_send(c, "POST", path, body, &session, err);
	json_decref(body);
	if (r < 0)
		return r;
	const char *url = cli_json_str(session, "logplex_url");
	if (!url)
		return error_set(err, -EBADMSG, "the API gave no logplex_url for the log session");

	struct sse s = { .retry_ms = 1000 };
	strbuf_init(&s.line, SSE_LINE_MAX);
	for (;;) {
		long status = stream_once(c->api, url, &s, err);
		if (status != 200) {
			strbuf_release(&s.line);
			if (status == 0)
				return -EHOSTUNREACH;
			return error_set(err, -EIO, "the log stream answered %ld", status);
		}
		if (!tail)
			break;
		usleep((useconds_t)(s.retry_ms > 0 ? s.retry_ms : 1000) * 1000);
	}
	strbuf_release(&s.line);
	return 0;
}

static int drains_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *list = NULL;
	int r = cli_app_get_show(c, "/apps/%s/log-drains", NULL, &app, &list, err);
	if (r <= 0)
		return r;
	if (json_array_size(list) == 0) {
		printf("%s has no drains.\n", app);
		return 0;
	}
	printf("=== %s Drains\n", app);
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d)
		printf("%s (%s)\n", cli_json_str(d, "url"), cli_json_str(d, "token"));
	return 0;
}

static int drains_add_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *body = json_pack("{s:s}", "url", c->args[0]);
	_cleanup_json_ json_t *drain = NULL;
	int r = cli_app_send(c, "POST", "/apps/%s/log-drains", NULL, body, &app, &drain, err);
	if (r < 0)
		return r;
	printf("Successfully added drain %s\n", cli_json_str(drain, "url"));
	return 0;
}

static int drains_remove_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *drain = NULL;
	int r = cli_app_send(c, "DELETE", "/apps/%s/log-drains/%s", c->args[0], NULL, &app, &drain, err);
	if (r < 0)
		return r;
	printf("Successfully removed drain %s\n", cli_json_str(drain, "url"));
	return 0;
}

const struct cli_command cli_log_commands[] = {
	{ "drains", drains_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, "[--json]", "list an app's log drains",
	  "cove drains -a myapp" },
	{ "drains:add", drains_add_run, CLI_APP_FLAGS, 1, 1, "URL",
	  "forward an app's logs to syslog://HOST:PORT (TCP, RFC 5424) or an http(s):// endpoint",
	  "cove drains:add syslog://logs.example.com:514 -a myapp" },
	{ "drains:remove", drains_remove_run, CLI_APP_FLAGS, 1, 1, "URL|TOKEN", "stop forwarding an app's logs there",
	  "cove drains:remove syslog://logs.example.com:514 -a myapp" },
	{ "logs", logs_run,
	  CLI_APP_FLAGS | CLI_FLAG(OPT_NUM) | CLI_FLAG(OPT_TAIL) | CLI_FLAG(OPT_SOURCE) | CLI_FLAG(OPT_DYNO) |
		  CLI_FLAG(OPT_DYNO_NAME) | CLI_FLAG(OPT_PROCESS_TYPE), 0, 0,
	  "[-n N] [--tail] [-s app|heroku] [-d web.1]",
	  "show an app's log: what its dynos print, the router, the platform and the API",
	  "cove logs -a myapp -n 200\ncove logs -a myapp --tail -d web\ncove logs -a myapp -s heroku" },
	{},
};
