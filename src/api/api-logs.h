/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Logs through the API: what the API itself writes into apps' streams (`app[api]: Set FOO
 * config vars by ...`), what agents ship (dyno output and the platform's events), log
 * sessions and their Server-Sent Events streams, as the heroku CLI reads them:
 *
 *   POST /apps/:app/log-sessions {lines, tail, source, dyno}  -> {id, logplex_url}
 *   GET  /log-stream/:id          text/event-stream: `retry: 50`, then `id: N` / `data: LINE`
 *                                 events; without tail it ends after the backlog, with tail it
 *                                 stays open (Last-Event-ID resumes after a reconnect)
 *   POST /agent/logs              agents' batches, deduplicated by their cursors
 *   GET, POST /apps/:app/log-drains, DELETE /apps/:app/log-drains/:drain
 *                                 where else the stream goes (logs/logs-drain.h), at most 5
 *
 * The session id is the stream's credential (the CLI sends no token to logplex_url): it is
 * random, and a session lasts LOG_SESSION_TTL_S.
 */

#include "api/api.h"

#define LOG_SESSION_TTL_S 3600

/*
 * Queues a line for an app's stream, `app[api]: ...`, written when the request's transaction
 * commits (and dropped when it does not): what people did through the API.
 */
void api_log_action(struct api_request *req, const char *app_id, const char *fmt, ...) _printf_(3, 4);

/* Writes the request's queued lines; the edge calls it after a commit. */
void api_logs_flush(struct api_request *req);

/* An app is gone: its stream and its drains go too. */
void api_logs_forget_app(struct api_request *req, const char *app_id);

/*
 * The server is stopping: open streams end (a suspended connection would keep libmicrohttpd
 * from stopping). Called by api_stop() before it stops the daemon.
 */
void api_logs_shutdown(struct api *api);

/* Called by the API's timer thread: wakes idle tails now and then, so dead clients are noticed. */
void api_logs_tick(struct api *api);
