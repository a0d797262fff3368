/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's model of its host, shared by agent.c (the loop), agent-space.c, agent-dyno.c
 * and agent-slug.c. Every object is owned by struct agent's lists; epoll events point at the
 * `watch` of the object they concern.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/agent-http.h"
#include "agent/agent-sandboxed.h"
#include "agent/agent.h"
#include "base/id.h"
#include "base/strbuf.h"
#include "base/validate.h"
#include "sandbox/sandbox.h"

enum watch_kind { WATCH_SIGNAL, WATCH_TIMER, WATCH_ROUTER_SLICE, WATCH_DYNO, WATCH_SLUG, WATCH_RENDEZVOUS, WATCH_ADDON };

struct watch {
	enum watch_kind kind;
	void *obj;
};

struct agent_space {
	char id[ID_STRING_MAX];
	char name[64];
	char cidr[32];
	char data_cidr[32];    /* of its add-ons, as the desired state has it; "" for none */
	struct cidr4 net;
	unsigned uplink_index;
	char outbound_ip[16];
	bool ensured;          /* its network exists as it should */
	bool seen;             /* in the last desired state */
	bool deleting;
	bool report_allocated; /* the API must hear it is allocated */
	bool report_destroyed; /* the API must hear it is gone */
	uint64_t rules_hash;   /* of the outbound rules its table was made with */
	uint64_t ingress_hash; /* of the trusted IP ranges and ingress last applied; 0: none */
	uint64_t router_log_read; /* bytes of its router's request log shipped (agent-logs.c) */
	bool router_log_seen;
	bool router_log_behind;   /* its last slice left lines to read */
};

enum dyno_state { DYNO_STARTING, DYNO_UP, DYNO_CRASHED, DYNO_DOWN };

struct agent_dyno {
	struct watch watch;
	char id[ID_STRING_MAX];
	char app_id[ID_STRING_MAX];
	char app_name[64];
	char space_id[ID_STRING_MAX];
	char name[48];  /* web.1 */
	char type[32];
	int64_t release_version;
	char slug_id[ID_STRING_MAX];
	char *command;
	char size[16];
	char ip[16];
	unsigned prefix;
	unsigned port;  /* 0 unless web */
	uid_t uid;
	json_t *env;    /* the config vars of its release */
	int64_t restart_seq[3]; /* of "*", its type and its name, when it last started */
	char created_at[32];

	enum dyno_state state;
	uint64_t state_since;   /* monotonic usec */
	struct agent_sandboxed proc; /* its process: running, stopping (SIGTERM sent), crashes */
	bool draining;          /* out of the router's table, SIGTERM at drain_at */
	uint64_t drain_at;
	bool remove;            /* when stopped, remove it (otherwise start it again) */
	uint64_t mem_checked_at;
	uint64_t oom_kills;
	bool boot_failed;       /* it never came up: crashed or timed out while starting */

	/* One-off dynos (`cove run`): never restarted, removed when they end (agent-dyno.c). */
	bool one_off;
	bool attach;            /* its stdin and stdout are a rendezvous session */
	bool tty;
	char secret_hash[72];   /* of the session's secret, when attach */
	char user[256];         /* who asked, for the log events */
	unsigned ttl_s;         /* time to live */
	uint64_t end_at;        /* monotonic usec: its time to live is up */
	uint64_t attach_by;     /* monotonic usec: unattached by then, it goes */
	bool attached;          /* a session presented its secret: it is used */
	struct rendezvous_session *session;
	int exit_code;          /* -1 until it ended with one */

	/* Shipping its output (agent-logs.c). */
	uint64_t log_epoch;     /* of its output file: one per run of the sandbox */
	uint64_t log_read;      /* bytes of the output file read */
	uint64_t log_acked;     /* bytes of it the service has acknowledged */
	struct strbuf log_partial; /* a line without its newline yet */
};

enum slug_state { SLUG_FETCHING, SLUG_EXTRACTING, SLUG_READY, SLUG_FAILED };

struct agent_slug {
	struct watch watch;
	char id[ID_STRING_MAX];
	uid_t uid;
	enum slug_state state;
	pid_t pid;
	int pidfd;
	uint64_t retry_at;
};

struct agent_spaceprocs; /* agent-spaceproc.c: the routers, the resolvers */
struct agent_rendezvous; /* agent-rendezvous.c */
struct rendezvous_session;
struct agent_addon;   /* agent-addon.c */

struct agent {
	const struct agent_config *cfg;
	char *state_dir; /* DATA_DIR/agent */
	int epoll_fd;
	int host_netns_fd;
	struct watch signal_watch, timer_watch, router_slice_watch;
	int signal_fd, timer_fd;
	int router_slice_fd; /* one-shot timer: the next slice of a busy router's lines (agent-logs.h) */
	struct http_client *http;

	json_t *desired;      /* the last desired state, or NULL before the first */
	char generation[32];
	bool polling;
	uint64_t poll_at;     /* when to poll next, if not polling */
	bool reporting;
	bool report_wanted;
	bool reconcile_wanted;
	struct cidr4 pool;
	bool host_ensured;
	bool stop;

	json_t *log_queue;            /* lines waiting for shipment (agent-logs.c) */
	struct strbuf router_queue;   /* routers' lines, "app_id usec message\n" each, waiting from router_head on */
	size_t router_head;           /* shipped lines end here (the queue is compacted now and then) */
	size_t router_queued;         /* lines in router_queue */
	bool log_router_turn;         /* the last shipment was the routers' */
	bool router_behind;           /* a router's file has lines left after its last slice */
	bool router_slice_armed;      /* router_slice_fd is set to expire */
	json_t *router_app_ids;       /* app name -> id, of the desired state; NULL: made at next use */
	bool log_shipping;
	uint64_t log_dropped;         /* lines dropped since the last L11 line */
	json_t *failed_releases;      /* to report: releases whose dynos never came up */
	json_t *failed_releases_sent; /* "app_id version" -> true, reported once */
	json_t *runs_ended;           /* to report: one-off dynos that ended, {id, exit_status} */
	json_t *runs_ended_sent;      /* their id -> true, until the desired state forgets them */

	struct agent_space **spaces;
	size_t n_spaces;
	struct agent_dyno **dynos;
	size_t n_dynos;
	struct agent_slug **slugs;
	size_t n_slugs;
	struct agent_spaceprocs *routers;   /* agent-router.h */
	struct agent_spaceprocs *resolvers; /* agent-dns.h */
	struct agent_rendezvous *rendezvous;
	struct agent_addon **addons;
	size_t n_addons;
};

/* Adds fd to the loop's epoll with events pointing at w. */
int agent_watch_add(struct agent *a, int fd, struct watch *w, struct error *err);
void agent_watch_del(struct agent *a, int fd);

/*
 * Calls fn for each entry of DATA_DIR/agent/<sub> (made when missing) but those whose name
 * starts with a dot, with the entry's path and name, in no particular order. Fails only when
 * the folder cannot be made or read (a load at the agent's start).
 */
int agent_state_foreach(struct agent *a, const char *sub,
			void (*fn)(struct agent *a, const char *path, const char *name, void *userdata), void *userdata,
			struct error *err);

/* Asks the loop to send a report soon / to reconcile again soon. */
void agent_want_report(struct agent *a);
void agent_want_reconcile(struct agent *a);

/*
 * An event of an app's dyno in Heroku's words, `heroku[web.1]: State changed from starting to
 * up`: into the app's log stream, and the daemon's log.
 */
void agent_event(struct agent *a, const char *app_id, const char *app, const char *source, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
