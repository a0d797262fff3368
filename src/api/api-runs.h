/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One-off dynos: `POST /apps/{app}/dynos` (the Platform API's Dyno Create), `cove run`,
 * `heroku run`, `run:detached`, and the release phase. A one-off dyno is a row of `runs` until
 * the agent that ran it reports that it ended; the agent of the app's space runs it in the
 * space like any dyno, on the slug and config vars of the release it names, never restarts it,
 * and removes it when its command ends, its session ends, or its time to live is up.
 *
 * An attached one-off dyno (attach: true) talks to its user through the rendezvous of the
 * agent that runs it (src/agent/agent-rendezvous.h): the response's attach_url is
 * rendezvous://HOST:PORT/SECRET, with the host's rendezvous address as its agent reports it.
 * Only the secret's hash is stored; the agent checks a presented secret against it.
 */

#include <jansson.h>
#include <stdbool.h>

#include "api/api-apps.h"
#include "api/api.h"

#define RUN_TTL_DEFAULT 86400 /* seconds; also the most a one-off dyno may run */

/* What a one-off dyno runs; NULL strings take the defaults (type "run", the default size). */
struct run_request {
	const char *command;
	const char *type;
	const char *size;
	json_t *env;           /* object of strings set over the release's config vars, or NULL */
	int64_t release_version; /* 0: the app's current release */
	bool attach;
	bool tty;
	long time_to_live;     /* seconds; 0 for RUN_TTL_DEFAULT */
	const char *name;      /* NULL: run.NNNN */
};

/*
 * Records a one-off dyno of app (inside the caller's transaction) and returns its dyno object
 * in *ret, with attach_url when attached. -EINVAL for a bad request, -EBUSY when attach is asked
 * and the space's agent takes no rendezvous sessions.
 */
int api_run_create(struct api_request *req, const struct app *app, const struct run_request *run, json_t **ret,
		   struct error *err);

/*
 * The release phase of release `version` (just created, with slug_id): when the slug's process
 * types have `release`, the release becomes `pending` and its command runs as the one-off dyno
 * release.NNNN, attached when the space's agent takes sessions (*ret_dyno gets the dyno object,
 * with attach_url), else detached (its output is in the app's log). The agent's report of its
 * end settles the release (api_runs_report). *ret_dyno stays NULL when there is no release
 * command: the release stays as it is.
 */
int api_release_phase_start(struct api_request *req, const struct app *app, int64_t version, const char *slug_id,
			    json_t **ret_dyno, struct error *err);

/* Adds "runs" to an app of the desired state: its one-off dynos, each with its slug and env. */
int api_runs_desired(struct api_request *req, const char *app_id, json_t *app, struct error *err);

/*
 * An agent's report of ended one-off dynos, [{"id": ..., "exit_status": N}]: their rows go;
 * a release phase's outcome settles its release (succeeded when 0, else failed).
 */
int api_runs_report(struct api_request *req, json_t *ended, struct error *err);

/*
 * ps:stop of a one-off dyno: *ret_found false when name is no one-off dyno of the app (the
 * caller goes on with the formation's).
 */
int api_run_stop(struct api_request *req, const struct app *app, const char *name, bool *ret_found, struct error *err);

/* Appends to list the one-off dynos of app that no agent reports yet, as `starting` dynos. */
int api_runs_unreported(struct api_request *req, const struct app *app, json_t *list, struct error *err);
