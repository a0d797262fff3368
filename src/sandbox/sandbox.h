/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The dyno sandbox: runs one command as an isolated, supervised dyno, with the kernel's
 * namespaces and cgroups used directly (no runc or crun binary).
 *
 * A dyno gets its own mount, pid, UTS and IPC namespaces, a network namespace (the one the
 * space network module made for it, or a fresh one with loopback only), a root made of the
 * host's userland mounted read-only, /app as a writable and ephemeral overlay on the slug,
 * a fresh /tmp, /proc and minimal /dev, a non-root uid without capabilities, and a cgroup
 * that limits its memory, processes and CPU share. docs/sandbox.md is the operator's view.
 *
 * Each dyno is watched over by a small detached process, the shim, that is not a child of
 * the caller: it survives the caller being restarted or killed, and records the command's
 * exit status in the dyno's state directory when the dyno ends. The caller keeps a
 * `struct sandbox` (plain data: it may be copied, stored, or found again with
 * sandbox_adopt()), watches the shim with sandbox_pidfd(), and reads the outcome with
 * sandbox_exit_status() once the pidfd reports the shim gone. sandbox.c opens with a note
 * on the process model.
 *
 * The shim is the caller's own binary started again (/proc/self/exe); it takes over before
 * main() runs (a constructor in sandbox.c), so the caller's program needs nothing for it.
 *
 * sandbox_start() takes some tens of milliseconds (a minute at most, when something hangs),
 * sandbox_cleanup() up to a second on a busy cgroup; the others return at once. None of them
 * uses threads or keeps state between calls. They need root.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

#define SANDBOX_ID_MAX 64             /* characters of a dyno id */
#define SANDBOX_HOSTNAME_MAX 63
#define SANDBOX_PATH_MAX 1024         /* of state_dir, app_dir and netns_path */
#define SANDBOX_COMMAND_MAX (128 * 1024)
#define SANDBOX_ENV_MAX (1024 * 1024) /* bytes of the whole environment */
#define SANDBOX_ENV_COUNT_MAX 4096
#define SANDBOX_RESOLV_CONF_MAX 4096
#define SANDBOX_MEMORY_MIN (4ULL << 20)
#define SANDBOX_PIDS_MIN 4
#define SANDBOX_CPU_WEIGHT_DEFAULT 100
#define SANDBOX_CPU_WEIGHT_MAX 10000
#define SANDBOX_BINDS_MAX 16

/*
 * A host directory mounted into the sandbox, for builds: the checkout at /app, the build
 * cache, the buildpacks. Dynos have none.
 */
struct sandbox_bind {
	const char *source; /* absolute path of a directory on the host */
	const char *target; /* absolute path inside; made when missing; "/app" takes the place of
			       the overlay, so that what is written there lands in source */
	bool writable;      /* else read-only; always nosuid and nodev */
};

/*
 * What the command's stdin, stdout and stderr are. A one-off dyno (`cove run`) talks to its
 * user through output_fd, a connected AF_UNIX stream socket, both ways.
 */
enum sandbox_io {
	SANDBOX_IO_OUTPUT = 0, /* stdout and stderr to output_fd (or output.log); stdin /dev/null */
	SANDBOX_IO_SOCKET = 1, /* output_fd is a socket: stdin, stdout and stderr */
	SANDBOX_IO_TTY = 2,    /* a pseudo-terminal of the dyno's own /dev/pts is stdin, stdout,
				  stderr and the controlling terminal of the command (a session
				  leader); its master is sent over the output_fd socket
				  (SCM_RIGHTS, one byte 't' with it) before the command runs, and
				  the dyno keeps no copy of it */
};

/* What to run and how to confine it. The sandbox copies what it needs; nothing is kept. */
struct sandbox_spec {
	const char *id;          /* dyno id, usually a UUID: letters, digits, '-' and '_'; names the cgroup */
	const char *state_dir;   /* absolute; the sandbox's own directory for this dyno (see below) */
	const char *hostname;    /* "web.1": the UTS hostname and /etc/hostname */
	const char *netns_path;  /* network namespace to join ("/run/netns/cove-d-<id>"), or NULL for
				    a fresh one holding only loopback (builds, tests) */
	const char *app_dir;     /* absolute; the extracted slug, the lower layer of the overlay at /app;
				    owned by uid for the dyno to change its files; neither inside
				    state_dir nor holding it */
	uid_t uid;               /* the app's user and group; never 0 */
	gid_t gid;
	char *const *env;        /* the command's whole environment, "KEY=value" strings, NULL-terminated;
				    NULL for an empty one */
	const char *command;     /* run as /bin/sh -c COMMAND in /app */
	uint64_t memory_bytes;   /* memory limit (swap cannot extend it); 0 for none */
	unsigned pids_max;       /* most processes and threads at once, init included; 0 for none */
	unsigned cpu_weight;     /* relative CPU share 1..10000 as cgroup v2 has it (v1: cpu.shares),
				    0 for the default 100 */
	const char *resolv_conf; /* contents of the dyno's /etc/resolv.conf, or NULL for a copy of
				    the host's */
	int output_fd;           /* the command's stdout and stderr; the caller keeps its own copy.
				    -1 for the file state_dir/output.log */
	enum sandbox_io io;      /* SANDBOX_IO_SOCKET and _TTY need output_fd >= 0 */
	const struct sandbox_bind *binds; /* n_binds (at most SANDBOX_BINDS_MAX) host directories,
					     mounted in order after everything else */
	size_t n_binds;
};

/*
 * A started dyno as the host sees it: its shim, and the sandbox's init (pid 1 inside). Start
 * times are in clock ticks after boot, as field 22 of /proc/PID/stat has them; together with
 * the pid they name one process even after the pid is reused.
 */
struct sandbox {
	pid_t shim_pid;
	uint64_t shim_start;
	pid_t init_pid;
	uint64_t init_start;
};

/*
 * Checks a spec without touching the system: returns 0, or -EINVAL with a message that names
 * the field and what is allowed.
 */
int sandbox_spec_validate(const struct sandbox_spec *spec, struct error *err);

/*
 * Starts a dyno. Creates state_dir if needed (mode 0700); it must not hold another dyno
 * (-EEXIST: call sandbox_cleanup() first). The sandbox owns these names inside it:
 *   pid          the shim's and init's pids and start times, and the dyno id
 *   exit         the outcome, written atomically when the dyno has ended
 *   output.log   the command's output when spec->output_fd is -1
 *   shim.log     the shim's own diagnostics
 *   rootfs/      mount point of the dyno's root (its mounts live only in the dyno's namespace)
 *   app-upper/ app-work/   the overlay's writable layer on /app
 *   etc/         the dyno's own /etc/hostname, /etc/hosts and /etc/resolv.conf
 *
 * Returns once the command has been executed inside the sandbox (or setting it up failed),
 * with *ret filled in. On failure nothing of the dyno is left running; its state directory
 * and maybe its cgroup remain for sandbox_cleanup(). A failure of the command itself (it
 * exits, is not found by the shell) is not a failure of sandbox_start(): it shows in
 * sandbox_exit_status().
 *
 * The shim is not the caller's child: the caller never waits for it. If the caller is a
 * child subreaper (PR_SET_CHILD_SUBREAPER) the shim is reparented to it and must be reaped.
 * A caller that reaps with waitpid(-1) may reap the short-lived intermediate child; that is
 * harmless.
 */
int sandbox_start(const struct sandbox_spec *spec, struct sandbox *ret, struct error *err);

/*
 * Finds the dyno of state_dir again, typically after the caller restarted: reads its pid file
 * and checks that the shim still runs with the recorded pid and start time. Returns -ESRCH
 * when the shim is gone (read the exit status then), -ENOENT when state_dir holds no dyno.
 */
int sandbox_adopt(const char *state_dir, struct sandbox *ret, struct error *err);

/*
 * Returns a pidfd (O_CLOEXEC, owned by the caller) for the shim, readable once the shim has
 * exited, to watch in an epoll loop; or -ESRCH when the shim is already gone, or another
 * negative errno.
 */
int sandbox_pidfd(const struct sandbox *sb);

/*
 * Reads the outcome of a dyno whose shim has exited: *ret_status is the command's wait status
 * as waitpid() gives it (use WIFEXITED() and friends), *ret_oom_killed whether the kernel's
 * OOM killer killed a process of the dyno's cgroup. When the sandbox's init was killed
 * (SIGKILL through sandbox_kill()), the status is init's: killed by SIGKILL. Returns -ENOENT
 * when there is no outcome: the dyno still runs, or its shim died without writing it.
 */
int sandbox_exit_status(const char *state_dir, int *ret_status, bool *ret_oom_killed, struct error *err);

/*
 * Signals a running dyno. SIGKILL kills the sandbox's init, and with it every process of the
 * dyno at once. Any other signal goes to init, which forwards SIGTERM, SIGINT, SIGHUP,
 * SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to the command's process group (the graceful stop is
 * SIGTERM, then SIGKILL after a grace period) and ignores the rest. Returns -ESRCH when the
 * dyno is gone.
 */
int sandbox_kill(const struct sandbox *sb, int sig, struct error *err);

/*
 * Reads the dyno's memory use from its cgroup: usage in bytes (page cache included, as the
 * limit counts it), the limit (UINT64_MAX for none), and how many times the OOM killer has
 * killed a process of the dyno. Any of the ret_ pointers may be NULL. -ENOENT when the dyno
 * has no cgroup: the shim removes it when the dyno ends.
 */
int sandbox_memory(const char *id, uint64_t *ret_usage, uint64_t *ret_limit, uint64_t *ret_oom_kills,
		   struct error *err);

/*
 * Removes what is left of a dyno whose shim is gone: mounts under state_dir (normally there
 * are none: they live in the dyno's mount namespace), the dyno's cgroups (normally gone too:
 * the shim removes them, unless it was killed), and state_dir with everything in it.
 * Idempotent: a dyno already cleaned up is not an error. -EBUSY while the shim or init still
 * runs.
 */
int sandbox_cleanup(const char *id, const char *state_dir, struct error *err);

/*
 * Removes path and everything below it, as sandbox_cleanup() removes a state directory: without
 * following symlinks or leaving its file system, however deep the tree. Succeeds when path does
 * not exist. For what a dyno or data service wrote and outlives its sandbox (add-on data).
 */
int sandbox_remove_tree(const char *path, struct error *err);

/*
 * Converts between cgroup v1's cpu.shares (1024 is the default) and the cpu_weight of a spec
 * (100 is the default), in systemd's way; the results are clamped to the valid ranges,
 * 2..262144 and 1..10000.
 */
unsigned sandbox_cpu_shares_from_weight(unsigned weight);
unsigned sandbox_cpu_weight_from_shares(unsigned shares);
