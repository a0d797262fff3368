/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The per-space processes of the agent: one `coved <role>` process per space on this host,
 * fed with a table that the agent rewrites whenever it changes. Two kinds use it, each a list
 * of its own: the routers (agent-router.h) and the resolvers (agent-dns.h). This file is what
 * they share; each kind keeps what is its own (its table, its command line, where it listens)
 * in a struct agent_spaceproc_kind.
 *
 * A process is detached (agent-detach.h): it outlives the agent, which adopts it again after a
 * restart by its pid and start time, and stopping the agent never stops it. It is started
 * again when it dies, at once and then with a backoff.
 *
 * The list follows the spaces (agent_spaceprocs_reconcile()): a space whose network is there
 * and that is not going has an entry; its table is written when it differs from the last one
 * written, and its process started when none runs. A process whose settings changed (the
 * lines of its pid file that say where it listens) is stopped and started with the new ones.
 * The process of a space that is going is stopped; once it has exited, its files go and so
 * does its entry.
 *
 * In DATA_DIR/agent/<kind->dir>/, per space:
 *   <space id>.json   the table, replaced atomically (the process reloads it on the rename)
 *   <space id>.pid    pid=, start= (to adopt the process after a restart), then the settings
 *   <space id>.<ext>  the kind's other files (kind->files), removed with the space
 */

#include "agent/agent-detach.h"
#include "agent/agent-state.h"

struct agent_spaceproc;

struct agent_spaceproc_kind {
	const char *name;            /* in messages: "the router of space 'acme'" */
	const char *dir;             /* its folder below DATA_DIR/agent: "routers" */
	const char *const *files;    /* extensions of its other files per space, NULL-terminated, or NULL */
	uint64_t stop_grace_usec;    /* from SIGTERM to SIGKILL */

	/*
	 * The settings of the space's process as the lines of its pid file, one `key=value\n`
	 * each, with at least `listen=` (named in messages); allocated, the caller frees them.
	 */
	char *(*settings)(struct agent *a, const struct agent_space *s);

	/* The space's table as the process reads it; p->table is the one last written, or NULL. */
	json_t *(*table)(struct agent *a, const struct agent_space *s, const struct agent_spaceproc *p);

	/*
	 * Starts the space's process with its command line (from s, the settings in p and the path
	 * of the space's network namespace) by agent_spaceproc_spawn().
	 */
	void (*start)(struct agent *a, const struct agent_space *s, struct agent_spaceproc *p, const char *netns,
		      uint64_t now);
};

struct agent_spaceproc {
	const struct agent_spaceproc_kind *kind;
	char space_id[ID_STRING_MAX];
	char space_name[64];
	struct agent_detached proc;
	char *settings;     /* what it was started with: its pid file's lines after pid= and start= */
	json_t *table;      /* the table last written, or NULL */
	char *table_text;   /* the same as written (compact, keys sorted), or NULL */
	bool wanted;        /* its space is here and not going */
};

/* The processes of one kind, one per space. */
struct agent_spaceprocs {
	const struct agent_spaceproc_kind *kind;
	struct agent_spaceproc **v;
	size_t n;
};

/*
 * Makes the list of a kind (which must outlive it) in *ret, with the processes of the kind
 * that ran before the agent restarted, adopted with their settings and their last table.
 * Fails only when the kind's folder cannot be made or read; *ret is set even then.
 */
int agent_spaceprocs_load(struct agent *a, const struct agent_spaceproc_kind *kind, struct agent_spaceprocs **ret,
			  struct error *err);

/*
 * Makes the list follow the spaces of this host: writes each table that changed, starts the
 * processes that should run and do not, restarts those whose settings changed, stops those of
 * spaces that are going and forgets them once they are gone. NULL: nothing.
 */
void agent_spaceprocs_reconcile(struct agent *a, struct agent_spaceprocs *l);

/*
 * Something the table of a space is made of changed (a dyno): the table is written again if
 * it differs. NULL (before the load): nothing.
 */
void agent_spaceprocs_table_changed(struct agent *a, struct agent_spaceprocs *l, const char *space_id);

/*
 * Supervision, on each tick: processes that died are started again (through a reconcile, once
 * their backoff is over), those stopping are killed when they linger. NULL: nothing.
 */
void agent_spaceprocs_tick(struct agent *a, struct agent_spaceprocs *l, uint64_t now);

/* Forgets the processes (they keep running) and frees the list; at the agent's exit. NULL: nothing. */
void agent_spaceprocs_free(struct agent_spaceprocs *l);

/* DATA_DIR/agent/<kind dir>/<space id>.<ext>, allocated. */
char *agent_spaceproc_path(struct agent *a, const struct agent_spaceproc *p, const char *ext);

/* The value of the `key=` line of p's settings into ret (at most size - 1 bytes); "" when there is none. */
void agent_spaceproc_setting(const struct agent_spaceproc *p, const char *key, char *ret, size_t size);

/*
 * Starts p's process with argv (for kind->start), unless it runs or its backoff is not over,
 * and writes its pid file with p's settings. A failure is logged and counts as a crash.
 */
void agent_spaceproc_spawn(struct agent *a, struct agent_spaceproc *p, char *const argv[], uint64_t now);
