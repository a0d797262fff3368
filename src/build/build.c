/* SPDX-License-Identifier: MIT */
/*
 * The builder (build.h). One process per push, the child of git's receive-pack: it may block
 * as it likes, the API's thread waits for nobody (src/api/api-git.c). Everything the build
 * wrote is untrusted once its sandbox ran: files are read back with lstat() checks (no
 * symlink leads the root-owned builder out of the build), and only after every process of
 * the build is gone.
 *
 * The work directory, DATA_DIR/builds/<build id>/, holds:
 *   app/         the checkout, then the built app: /app in the sandbox, writable
 *   env/         ENV_DIR: one file per config var
 *   out/         what the sandbox hands back: the slug, bin/release's YAML, the buildpacks used
 *   buildpacks/  clones of buildpacks given as git repositories
 *   sandbox/     the sandbox's state directory
 * and goes when the build ends; DATA_DIR/builds/<build id>.log stays.
 */
#include "build/build.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/dyno-size.h"
#include "base/fileio.h"
#include "base/signals.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "build/build-buildpack.h"
#include "build/build-client.h"
#include "build/build-procfile.h"
#include "build/build-proxy.h"
#include "rendezvous/rendezvous-client.h"
#include "sandbox/sandbox.h"

#define REFS_MAX 64
#define COMMAND_OUTPUT_MAX (64 * 1024)
#define BUILDPACKS_MAX 8
#define BUILD_TIMEOUT_DEFAULT_S (15 * 60)
#define SLUG_MAX_DEFAULT (500ull * 1024 * 1024)
#define BUILD_SIZE "Private-M" /* the limits of a build's sandbox */
#define ZERO_SHA "0000000000000000000000000000000000000000"

/* Exit statuses of the driver script, for messages the host prints. */
#define DRIVER_NOT_DETECTED 10
#define DRIVER_COMPILE_FAILED 11
#define DRIVER_RELEASE_FAILED 12
#define DRIVER_PACK_FAILED 13

extern char **environ;

struct buildpack {
	char name[BUILDPACK_URL_MAX + 8];
	char path[PATH_MAX]; /* the directory bound into the sandbox */
};

struct builder {
	/* From the environment the git server gave the hook. */
	const char *api_url, *token, *app, *app_id, *push_id, *data_dir, *buildpacks_dir;
	uid_t uid;
	unsigned timeout_s;
	uint64_t slug_max;
	bool network;

	char sha[64];
	char *ref;         /* refs/heads/main */
	char *subject;     /* of the commit */
	struct build_client *api;
	char build_id[64];
	char *stack;
	char *work;
	int log_fd;
	uint64_t started, deadline;
	int signal_fd;
	bool interrupted;
	int out_r, out_w;  /* the sandboxes' output */
	struct build_proxy *proxy;
	char *netns_path;
	json_t *config;    /* the app's config vars */
	struct app_manifest manifest;
	struct buildpack buildpacks[BUILDPACKS_MAX];
	size_t n_buildpacks;
	bool detect; /* no buildpack given: the first whose bin/detect accepts the app */
	json_t *used;   /* names of the buildpacks that built the app */
	json_t *types;  /* process types */
	char slug_id[64];
	bool reported;  /* the API heard how the build ended */
};

/* ---- output ---------------------------------------------------------------------------- */


/* To the pusher (stderr, which git shows as `remote:` lines) and to the build's output. */
static void out_raw(struct builder *b, const char *data, size_t len)
{
	fd_write_all(STDERR_FILENO, data, len);
	if (b->log_fd >= 0)
		fd_write_all(b->log_fd, data, len);
}

static void out(struct builder *b, const char *fmt, ...) _printf_(2, 3);
static void out(struct builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *text = xvasprintf(fmt, ap);
	va_end(ap);
	out_raw(b, text, strlen(text));
	out_raw(b, "\n", 1);
}

/* A failure, as Heroku prints them: " !     message". */
static int fail(struct builder *b, const char *fmt, ...) _printf_(2, 3);
static int fail(struct builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *text = xvasprintf(fmt, ap);
	va_end(ap);
	out(b, " !     %s", text);
	return -EIO;
}

static char *human_size(uint64_t bytes)
{
	if (bytes >= 1024 * 1024)
		return xasprintf("%.1fM", (double)bytes / (1024.0 * 1024.0));
	return xasprintf("%.1fK", (double)bytes / 1024.0);
}

/* ---- child processes ------------------------------------------------------------------- */

/*
 * Runs argv (PATH searched) and waits for it. env NULL keeps the hook's environment (git's,
 * for the commands that read the pushed objects). Its output, stdout and stderr together, is
 * kept in *ret_out when not NULL (up to COMMAND_OUTPUT_MAX, trailing newlines dropped).
 * Returns its exit status, or a negative errno when it could not run.
 */
static int run(const char *const *argv, char *const *env, char **ret_out)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, env ? env : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return -rc;
	}
	struct strbuf sb;
	strbuf_init(&sb, COMMAND_OUTPUT_MAX);
	char buf[4096];
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		strbuf_add(&sb, buf, (size_t)n);
	}
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			strbuf_release(&sb);
			return -errno;
		}
	while (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	if (ret_out)
		*ret_out = strbuf_detach(&sb);
	else
		strbuf_release(&sb);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Runs argv; a failure is printed with the command's output and returned. */
static int run_checked(struct builder *b, const char *what, const char *const *argv, char *const *env)
{
	_cleanup_free_ char *output = NULL;
	int r = run(argv, env, &output);
	if (r == 0)
		return 0;
	fail(b, "%s failed%s%s", what, output && *output ? ": " : "", output ? output : "");
	return -EIO;
}

/* An environment for git commands that must not see the pushed repository's. */
static char *const clean_git_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent", "LANG=C.UTF-8", "GIT_CONFIG_NOSYSTEM=1",
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", NULL,
};

/* ---- the pushed refs ------------------------------------------------------------------- */

/* Reads "old new ref" lines and picks the one to deploy; refuses the push otherwise. */
static int refs_check(struct builder *b)
{
	char line[512];
	unsigned n = 0;
	bool refused = false;
	while (fgets(line, sizeof(line), stdin)) {
		if (++n > REFS_MAX)
			return fail(b, "push fewer refs at once: at most %d", REFS_MAX);
		char old[64], new[64], ref[400];
		if (sscanf(line, "%63s %63s %399s", old, new, ref) != 3)
			continue;
		const char *branch = strncmp(ref, "refs/heads/", 11) == 0 ? ref + 11 : NULL;
		if (!branch || (!streq(branch, "main") && !streq(branch, "master"))) {
			const char *shown = branch ? branch : ref;
			out(b, " !     Pushing to '%s' does not deploy: cove deploys what is pushed to main or master.", shown);
			out(b, " !     To deploy it: git push cove %s:main", branch ? branch : "HEAD");
			refused = true;
			continue;
		}
		if (streq(new, ZERO_SHA)) {
			out(b, " !     '%s' deploys the app and cannot be deleted.", branch);
			refused = true;
			continue;
		}
		if (b->ref) {
			out(b, " !     Push main or master, not both at once.");
			refused = true;
			continue;
		}
		b->ref = xstrdup(ref);
		snprintf(b->sha, sizeof(b->sha), "%s", new);
	}
	if (refused || !b->ref)
		return -EINVAL;
	return 0;
}

/* ---- setting up ------------------------------------------------------------------------ */

static int env_read(struct builder *b)
{
	b->api_url = getenv("COVE_API_URL");
	b->token = getenv("COVE_TOKEN");
	b->app = getenv("COVE_APP");
	b->app_id = getenv("COVE_APP_ID");
	b->push_id = getenv("COVE_PUSH_ID");
	b->data_dir = getenv("COVE_DATA_DIR");
	b->buildpacks_dir = getenv("COVE_BUILDPACKS_DIR");
	const char *uid = getenv("COVE_APP_UID"), *timeout = getenv("COVE_BUILD_TIMEOUT");
	const char *slug_max = getenv("COVE_SLUG_MAX"), *network = getenv("COVE_BUILD_NETWORK");
	if (!b->api_url || !b->token || !b->app || !b->app_id || !b->push_id || !b->data_dir || !uid)
		return -EINVAL;
	b->uid = (uid_t)strtoul(uid, NULL, 10);
	b->timeout_s = timeout ? (unsigned)strtoul(timeout, NULL, 10) : 0;
	if (b->timeout_s == 0)
		b->timeout_s = BUILD_TIMEOUT_DEFAULT_S;
	b->slug_max = slug_max ? strtoull(slug_max, NULL, 10) : 0;
	if (b->slug_max == 0)
		b->slug_max = SLUG_MAX_DEFAULT;
	b->network = !network || !streq(network, "none");
	if (b->uid == 0)
		return -EINVAL;
	return 0;
}

/* Only regular files, never through a symlink: the build's files are untrusted. */
static int read_untrusted(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EPERM;
	return file_read(path, max, ret, ret_len, NULL);
}

static int checkout(struct builder *b)
{
	_cleanup_free_ char *tar = xasprintf("%s/source.tar", b->work);
	_cleanup_free_ char *app = xasprintf("%s/app", b->work);
	_cleanup_free_ char *owner = xasprintf("%u:%u", (unsigned)b->uid, (unsigned)b->uid);
	int r = run_checked(b, "reading the pushed commit",
			    (const char *const[]){ "git", "archive", "--format=tar", "-o", tar, b->sha, NULL }, NULL);
	if (r >= 0)
		r = run_checked(b, "unpacking the pushed commit",
				(const char *const[]){ "tar", "-xf", tar, "-C", app, "--no-same-owner", "--no-same-permissions",
						       NULL },
				clean_git_env);
	unlink(tar);
	if (r >= 0)
		r = run_checked(b, "preparing the build directory", (const char *const[]){ "chown", "-R", owner, app, NULL },
				clean_git_env);
	return r;
}

static int env_dir_write(struct builder *b)
{
	_cleanup_free_ char *dir = xasprintf("%s/env", b->work);
	_cleanup_free_ char *path = xasprintf("/apps/%s/config-vars", b->app_id);
	struct error err = { 0 };
	int r = build_client_call(b->api, "GET", path, NULL, NULL, &b->config, &err);
	if (r < 0)
		return fail(b, "reading the config vars of '%s' failed: %s", b->app, err.message);
	const char *key;
	json_t *value;
	json_object_foreach(b->config, key, value)
	{
		if (!json_is_string(value) || strchr(key, '/') || key[0] == '.')
			continue;
		_cleanup_free_ char *file = xasprintf("%s/%s", dir, key);
		if (file_write_atomic(file, json_string_value(value), json_string_length(value), 0644, &err) < 0)
			return fail(b, "%s", err.message);
	}
	return 0;
}

static int manifest_read(struct builder *b)
{
	_cleanup_free_ char *path = xasprintf("%s/app/app.json", b->work);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_untrusted(path, 1024 * 1024, &text, &len);
	if (r == -ENOENT) {
		b->manifest = (struct app_manifest){ .formation = json_array(), .buildpacks = json_array() };
		return 0;
	}
	if (r < 0)
		return fail(b, "app.json cannot be read: it must be a regular file of at most 1 MB");
	struct error err = { 0 };
	if (app_manifest_parse(text, len, &b->manifest, &err) < 0)
		return fail(b, "%s", err.message);
	return 0;
}

/* Adds a buildpack by reference: its directory, or a clone of its repository. */
static int buildpack_add(struct builder *b, const char *url)
{
	if (b->n_buildpacks >= BUILDPACKS_MAX)
		return fail(b, "at most %d buildpacks", BUILDPACKS_MAX);
	struct buildpack_ref ref;
	struct error err = { 0 };
	if (buildpack_ref_parse(url, b->buildpacks_dir, &ref, &err) < 0)
		return fail(b, "%s", err.message);
	struct buildpack *bp = &b->buildpacks[b->n_buildpacks];
	snprintf(bp->name, sizeof(bp->name), "%s", ref.name);
	if (ref.kind != BUILDPACK_GIT) {
		snprintf(bp->path, sizeof(bp->path), "%s", ref.path);
	} else {
		snprintf(bp->path, sizeof(bp->path), "%s/buildpacks/%zu", b->work, b->n_buildpacks);
		const char *argv[10] = { "git", "clone", "--quiet", "--depth", "1" };
		size_t n = 5;
		if (ref.ref[0]) {
			argv[n++] = "--branch";
			argv[n++] = ref.ref;
		}
		argv[n++] = "--";
		argv[n++] = ref.path;
		argv[n++] = bp->path;
		argv[n] = NULL;
		_cleanup_free_ char *what = xasprintf("fetching buildpack '%s'", url);
		int r = run_checked(b, what, argv, clean_git_env);
		if (r < 0)
			return r;
		_cleanup_free_ char *compile = xasprintf("%s/bin/compile", bp->path);
		if (access(compile, X_OK) < 0)
			return fail(b, "buildpack '%s' has no executable bin/compile", url);
	}
	b->n_buildpacks++;
	return 0;
}

static int buildpacks_pick(struct builder *b, json_t *build)
{
	json_t *installed = json_object_get(build, "buildpacks");
	size_t i;
	json_t *bp;
	int r = 0;
	if (json_array_size(installed) > 0) {
		json_array_foreach(installed, i, bp)
			if (r >= 0)
				r = buildpack_add(b, json_string_value(json_object_get(bp, "url")));
	} else if (json_array_size(b->manifest.buildpacks) > 0) {
		json_array_foreach(b->manifest.buildpacks, i, bp)
			if (r >= 0)
				r = buildpack_add(b, json_string_value(bp));
	} else {
		b->detect = true;
		_cleanup_free_ char *list = xstrdup(BUILDPACK_SHIPPED_DEFAULT);
		char *save = NULL;
		for (char *name = strtok_r(list, " ", &save); name && r >= 0; name = strtok_r(NULL, " ", &save))
			r = buildpack_add(b, name);
	}
	if (r < 0)
		return r;
	if (!b->detect)
		for (i = 0; i < b->n_buildpacks; i++)
			out(b, "-----> Using buildpack: %s", b->buildpacks[i].name);
	return 0;
}

/* ---- the sandbox ----------------------------------------------------------------------- */

/*
 * Runs spec until it ends, the build's time is up, or the push is abandoned; its output
 * goes to the pusher as it comes. *ret_status is its wait status.
 */
static int sandbox_run(struct builder *b, const struct sandbox_spec *spec, int *ret_status, bool *ret_oom)
{
	struct sandbox sb;
	struct error err = { 0 };
	int r = sandbox_start(spec, &sb, &err);
	if (r < 0) {
		sandbox_cleanup(spec->id, spec->state_dir, NULL);
		return fail(b, "the build's sandbox did not start: %s", err.message);
	}
	_cleanup_close_ int pidfd = sandbox_pidfd(&sb);
	bool killed = false, timed_out = false;
	for (;;) {
		struct pollfd p[4] = {
			{ .fd = b->out_r, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = b->signal_fd, .events = POLLIN },
			{ .fd = b->proxy ? build_proxy_fd(b->proxy) : -1, .events = POLLIN },
		};
		uint64_t now = time_mono_usec();
		if (now >= b->deadline && !killed) {
			timed_out = killed = true;
			sandbox_kill(&sb, SIGKILL, NULL);
		}
		int wait_ms = killed ? 1000 : (int)((b->deadline - now) / 1000) + 1;
		if (wait_ms > 1000)
			wait_ms = 1000; /* also to reap the proxy's children */
		if (poll(p, 4, pidfd >= 0 ? wait_ms : 100) < 0 && errno != EINTR)
			break;
		if (b->proxy) {
			build_proxy_reap(b->proxy);
			if (p[3].revents & POLLIN)
				build_proxy_accept(b->proxy);
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(b->signal_fd, &si, sizeof(si)) > 0 && !killed) {
				b->interrupted = killed = true;
				sandbox_kill(&sb, SIGKILL, NULL);
			}
		}
		char buf[65536];
		ssize_t n;
		while ((n = read(b->out_r, buf, sizeof(buf))) > 0)
			out_raw(b, buf, (size_t)n);
		/* The shim is gone (or cannot be watched: then its exit file tells). */
		if ((pidfd >= 0 && (p[1].revents & POLLIN)) ||
		    (pidfd < 0 && sandbox_exit_status(spec->state_dir, ret_status, ret_oom, NULL) >= 0))
			break;
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(b->out_r, buf, sizeof(buf))) > 0)
		out_raw(b, buf, (size_t)n);
	r = sandbox_exit_status(spec->state_dir, ret_status, ret_oom, &err);
	sandbox_cleanup(spec->id, spec->state_dir, NULL);
	if (timed_out && b->timeout_s % 60 == 0)
		return fail(b, "Build timed out: a build may take at most %u minutes.", b->timeout_s / 60);
	if (timed_out)
		return fail(b, "Build timed out: a build may take at most %u seconds.", b->timeout_s);
	if (b->interrupted)
		return fail(b, "The push was abandoned: the build is stopped.");
	if (r < 0)
		return fail(b, "the build's sandbox ended without an exit status: %s", err.message);
	return 0;
}

static char **env_new(void)
{
	return xcalloc(SANDBOX_ENV_COUNT_MAX + 1, sizeof(char *));
}

static void env_add(char **env, const char *fmt, ...) _printf_(2, 3);
static void env_add(char **env, const char *fmt, ...)
{
	size_t n = 0;
	while (env[n])
		n++;
	if (n >= SANDBOX_ENV_COUNT_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	env[n] = xvasprintf(fmt, ap);
	va_end(ap);
}

static void env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

static void env_add_proxy(struct builder *b, char **env)
{
	if (!b->proxy)
		return;
	static const char *const names[] = { "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		env_add(env, "%s=http://127.0.0.1:%d", names[i], BUILD_PROXY_PORT);
	env_add(env, "NO_PROXY=localhost,127.0.0.1");
	env_add(env, "no_proxy=localhost,127.0.0.1");
}

/*
 * The build itself, in the sandbox: detect, compile and release of each buildpack, then the
 * slug. Names come from files (out/name-N), never from the script's text: they are the
 * user's.
 */
static const char driver[] =
	"export BUILD_DIR=/app CACHE_DIR=/cove/cache ENV_DIR=/cove/env\n"
	"cd /app || exit 1\n"
	"used=\n"
	"for i in $COVE_BUILDPACKS; do\n"
	"	bp=/cove/buildpacks/$i\n"
	"	if name=$(\"$bp/bin/detect\" /app); then\n"
	"		printf '%s' \"$name\" > /cove/out/detected-$i\n"
	"		used=\"$used $i\"\n"
	"		[ \"$COVE_DETECT\" = 1 ] && break\n"
	"	elif [ \"$COVE_DETECT\" = 0 ]; then\n"
	"		echo \" !     The buildpack $(cat /cove/out/name-$i) does not support this app: its bin/detect failed.\"\n"
	"		exit 10\n"
	"	fi\n"
	"done\n"
	"if [ -z \"$used\" ]; then\n"
	"	echo ' !     No buildpack recognised this app: cove builds Node.js (package.json), Python'\n"
	"	echo ' !     (requirements.txt), static sites (static.json, index.html) and apps with a Procfile.'\n"
	"	echo \" !     Choose one with 'cove buildpacks:set', or add a Procfile.\"\n"
	"	exit 10\n"
	"fi\n"
	"echo $used > /cove/out/used\n"
	"for i in $used; do\n"
	"	bp=/cove/buildpacks/$i\n"
	"	name=$(cat /cove/out/detected-$i)\n"
	"	echo \"-----> ${name:-$(cat /cove/out/name-$i)} app detected\"\n"
	"	\"$bp/bin/compile\" /app /cove/cache /cove/env || {\n"
	"		echo \" !     Push rejected, failed to compile ${name:-the} app.\"; exit 11; }\n"
	"	if [ -x \"$bp/bin/release\" ]; then\n"
	"		\"$bp/bin/release\" /app > /cove/out/release-$i.yml || {\n"
	"			echo \" !     bin/release of $(cat /cove/out/name-$i) failed.\"; exit 12; }\n"
	"	fi\n"
	"done\n"
	"tar -czf /cove/out/slug.tgz -C / ./app || exit 13\n";

static int build_run(struct builder *b)
{
	_cleanup_free_ char *app = xasprintf("%s/app", b->work);
	_cleanup_free_ char *outdir = xasprintf("%s/out", b->work);
	_cleanup_free_ char *envdir = xasprintf("%s/env", b->work);
	_cleanup_free_ char *state = xasprintf("%s/sandbox", b->work);
	_cleanup_free_ char *cache = xasprintf("%s/cache/%s", b->data_dir, b->app_id);
	struct error err = { 0 };
	/* The build's user reads ENV_DIR and writes the cache and out/; nobody else gets past the
	 * work directory (root's, 0700). */
	if (mkdir_p(cache, 0700, &err) < 0 || chown(cache, b->uid, b->uid) < 0 || chown(outdir, b->uid, b->uid) < 0 ||
	    chown(envdir, b->uid, b->uid) < 0)
		return fail(b, "preparing the build cache failed: %s", err.message[0] ? err.message : strerror(errno));

	struct sandbox_bind binds[SANDBOX_BINDS_MAX];
	size_t n = 0;
	binds[n++] = (struct sandbox_bind){ .source = app, .target = "/app", .writable = true };
	binds[n++] = (struct sandbox_bind){ .source = cache, .target = "/cove/cache", .writable = true };
	binds[n++] = (struct sandbox_bind){ .source = envdir, .target = "/cove/env" };
	binds[n++] = (struct sandbox_bind){ .source = outdir, .target = "/cove/out", .writable = true };
	char targets[BUILDPACKS_MAX][48];
	_cleanup_strbuf_ struct strbuf indices = STRBUF_INIT;
	for (size_t i = 0; i < b->n_buildpacks; i++) {
		snprintf(targets[i], sizeof(targets[i]), "/cove/buildpacks/%zu", i);
		binds[n++] = (struct sandbox_bind){ .source = b->buildpacks[i].path, .target = targets[i] };
		strbuf_addf(&indices, "%s%zu", i ? " " : "", i);
		_cleanup_free_ char *name = xasprintf("%s/name-%zu", outdir, i);
		if (file_write_atomic(name, b->buildpacks[i].name, strlen(b->buildpacks[i].name), 0644, &err) < 0)
			return fail(b, "%s", err.message);
	}

	const struct dyno_size *size = dyno_size_find(BUILD_SIZE);
	char **env = env_new();
	env_add(env, "PATH=/usr/local/bin:/usr/bin:/bin");
	env_add(env, "HOME=/app");
	env_add(env, "LANG=C.UTF-8");
	env_add(env, "STACK=%s", b->stack);
	env_add(env, "SOURCE_VERSION=%s", b->sha);
	env_add(env, "COVE_BUILDPACKS=%s", indices.buf);
	env_add(env, "COVE_DETECT=%d", b->detect ? 1 : 0);
	env_add_proxy(b, env);
	struct sandbox_spec spec = {
		.id = b->build_id,
		.state_dir = state,
		.hostname = "build",
		.netns_path = b->netns_path,
		.app_dir = app,
		.uid = b->uid,
		.gid = b->uid,
		.env = env,
		.command = driver,
		.memory_bytes = (uint64_t)size->memory_mb * 1024 * 1024,
		.pids_max = size->pids_max,
		.cpu_weight = size->cpu_weight,
		.output_fd = b->out_w,
		.binds = binds,
		.n_binds = n,
	};
	int status = 0;
	bool oom = false;
	int r = sandbox_run(b, &spec, &status, &oom);
	env_free(env);
	if (r < 0)
		return r;
	if (oom)
		return fail(b, "The build ran out of memory (%lu MB).", size->memory_mb);
	if (!WIFEXITED(status))
		return fail(b, "The build was killed by signal %d.", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	switch (WEXITSTATUS(status)) {
	case 0:
		return 0;
	case DRIVER_NOT_DETECTED:
	case DRIVER_COMPILE_FAILED:
	case DRIVER_RELEASE_FAILED:
		return -EIO; /* the driver said why */
	case DRIVER_PACK_FAILED:
		return fail(b, "Packing the slug failed.");
	default:
		return fail(b, "The build failed with exit status %d.", WEXITSTATUS(status));
	}
}

/* The process types: the last buildpack's defaults, the Procfile's over them. */
static int types_read(struct builder *b)
{
	_cleanup_free_ char *used_path = xasprintf("%s/out/used", b->work);
	_cleanup_free_ char *used = NULL;
	b->used = json_array();
	b->types = json_object();
	struct error err = { 0 };
	if (read_untrusted(used_path, 4096, &used, NULL) < 0)
		return fail(b, "the build did not say which buildpacks it used");
	long last = -1;
	char *save = NULL;
	for (char *t = strtok_r(used, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		char *end;
		long i = strtol(t, &end, 10);
		if (*end || i < 0 || (size_t)i >= b->n_buildpacks)
			return fail(b, "the build named a buildpack it does not have");
		json_array_append_new(b->used, json_string(b->buildpacks[i].name));
		last = i;
	}
	json_t *defaults = NULL;
	if (last >= 0) {
		_cleanup_free_ char *path = xasprintf("%s/out/release-%ld.yml", b->work, last);
		_cleanup_free_ char *yaml = NULL;
		size_t len;
		int r = read_untrusted(path, PROCFILE_MAX, &yaml, &len);
		if (r >= 0 && release_yaml_parse(yaml, len, &defaults, &err) < 0)
			return fail(b, "%s", err.message);
	}
	_cleanup_free_ char *procfile_path = xasprintf("%s/app/Procfile", b->work);
	_cleanup_free_ char *procfile = NULL;
	size_t len;
	json_t *declared = NULL;
	int r = read_untrusted(procfile_path, PROCFILE_MAX, &procfile, &len);
	if (r == -EPERM || r == -EFBIG)
		return fail(b, "Procfile must be a regular file of at most %d bytes", PROCFILE_MAX);
	if (r >= 0 && procfile_parse(procfile, len, &declared, &err) < 0) {
		json_decref(defaults);
		return fail(b, "%s", err.message);
	}
	out(b, "-----> Discovering process types");
	_cleanup_strbuf_ struct strbuf list = STRBUF_INIT;
	const char *type;
	json_t *command;
	if (declared) {
		json_object_foreach(declared, type, command) strbuf_addf(&list, "%s%s", list.len ? ", " : "", type);
		out(b, "       Procfile declares types     -> %s", list.len ? list.buf : "(none)");
	}
	strbuf_reset(&list);
	if (defaults) {
		json_object_foreach(defaults, type, command)
		{
			if (!declared || !json_object_get(declared, type))
				strbuf_addf(&list, "%s%s", list.len ? ", " : "", type);
			json_object_set(b->types, type, command);
		}
		if (list.len)
			out(b, "       Default types for buildpack -> %s", list.buf);
	}
	if (declared)
		json_object_update(b->types, declared);
	if (json_object_size(b->types) == 0)
		out(b, "       (none: add a Procfile to say how the app runs)");
	json_decref(defaults);
	json_decref(declared);
	return 0;
}

static int slug_upload(struct builder *b)
{
	_cleanup_free_ char *slug = xasprintf("%s/out/slug.tgz", b->work);
	struct stat st;
	if (lstat(slug, &st) < 0 || !S_ISREG(st.st_mode))
		return fail(b, "the build made no slug");
	_cleanup_free_ char *size = human_size((uint64_t)st.st_size);
	_cleanup_free_ char *max = human_size(b->slug_max);
	out(b, "-----> Compressing...");
	if ((uint64_t)st.st_size > b->slug_max)
		return fail(b, "Compiled slug size: %s is too large (max is %s).", size, max);
	out(b, "       Done: %s", size);
	json_t *body = json_pack("{s:O, s:s, s:s?, s:s}", "process_types", b->types, "commit", b->sha,
				 "commit_description", b->subject, "stack", b->stack);
	json_t *created = NULL;
	struct error err = { 0 };
	_cleanup_free_ char *path = xasprintf("/apps/%s/slugs", b->app_id);
	int r = build_client_call(b->api, "POST", path, body, NULL, &created, &err);
	json_decref(body);
	if (r >= 0) {
		snprintf(b->slug_id, sizeof(b->slug_id), "%s", json_string_value(json_object_get(created, "id")));
		_cleanup_free_ char *blob = xasprintf("/apps/%s/slugs/%s/blob", b->app_id, b->slug_id);
		r = build_client_call(b->api, "PUT", blob, NULL, slug, NULL, &err);
	}
	json_decref(created);
	if (r < 0)
		return fail(b, "storing the slug failed: %s", err.message);
	return 0;
}

/*
 * Runs a command of the release once, as a dyno would run it (config vars in the
 * environment, /app the slug's), in a sandbox like the build's. Returns 0 when it exited 0.
 */
static int one_off(struct builder *b, const char *dyno, const char *command)
{
	_cleanup_free_ char *app = xasprintf("%s/app", b->work);
	_cleanup_free_ char *state = xasprintf("%s/sandbox", b->work);
	_cleanup_free_ char *id = xasprintf("%.36s-%s", b->build_id, dyno);
	for (char *p = id; *p; p++)
		if (*p == '.')
			*p = '-';
	const struct dyno_size *size = dyno_size_find(DYNO_SIZE_DEFAULT);
	char **env = env_new();
	const char *key;
	json_t *value;
	json_object_foreach(b->config, key, value) if (json_is_string(value)) env_add(env, "%s=%s", key, json_string_value(value));
	env_add(env, "DYNO=%s", dyno);
	env_add(env, "HEROKU_APP_NAME=%s", b->app);
	env_add(env, "HEROKU_APP_ID=%s", b->app_id);
	env_add(env, "HOME=/app");
	env_add(env, "PATH=/app/bin:/app/.heroku/bin:/usr/local/bin:/usr/bin:/bin");
	env_add(env, "LANG=C.UTF-8");
	env_add_proxy(b, env);
	struct sandbox_spec spec = {
		.id = id,
		.state_dir = state,
		.hostname = dyno,
		.netns_path = b->netns_path,
		.app_dir = app,
		.uid = b->uid,
		.gid = b->uid,
		.env = env,
		.command = command,
		.memory_bytes = (uint64_t)size->memory_mb * 1024 * 1024,
		.pids_max = size->pids_max,
		.cpu_weight = size->cpu_weight,
		.output_fd = b->out_w,
	};
	int status = 0;
	bool oom = false;
	int r = sandbox_run(b, &spec, &status, &oom);
	env_free(env);
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(b, "`%s` %s %d", command, WIFEXITED(status) ? "exited with status" : "was killed by signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

/*
 * Reports the build; for a success, the API releases its slug and answers the release.
 * release_status "pending" asks for the release phase (the answer's release_phase dyno).
 */
static int build_report(struct builder *b, bool ok, const char *release_status, json_t **ret)
{
	json_t *body = ok ? json_pack("{s:s, s:s, s:s, s:O, s:O}", "status", "succeeded", "slug", b->slug_id,
				      "release_status", release_status, "buildpacks", b->used,
				      "formation", b->manifest.formation)
			  : json_pack("{s:s}", "status", "failed");
	if (!ok && b->used)
		json_object_set(body, "buildpacks", b->used);
	_cleanup_free_ char *path = xasprintf("/apps/%s/builds/%s", b->app_id, b->build_id);
	struct error err = { 0 };
	int r = build_client_call(b->api, "PATCH", path, body, NULL, ret, &err);
	json_decref(body);
	if (r < 0)
		return fail(b, "reporting the build failed: %s", err.message);
	b->reported = true;
	return 0;
}

static void release_output(void *cls, const char *data, size_t len)
{
	out_raw(cls, data, len);
}

/*
 * The release phase runs in the app's space, as the one-off dyno the API made when the build
 * was reported (api-runs.h): its output comes over the rendezvous into the push, then the
 * release is `succeeded` or `failed` as the agent reports its end. 0 when it succeeded.
 */
static int release_phase_follow(struct builder *b, json_t *dyno, long long version)
{
	const char *name = json_string_value(json_object_get(dyno, "name"));
	const char *url = json_string_value(json_object_get(dyno, "attach_url"));
	out(b, "-----> Running release command in the app's space (%s)...", name ? name : "release");
	if (url) {
		_cleanup_free_ char *ca = xasprintf("%s/tls/ca.pem", b->data_dir);
		struct rendezvous_options opts = {
			.in_fd = -1, .output = release_output, .cls = b, .ca_file = access(ca, R_OK) == 0 ? ca : NULL,
		};
		int status = 0;
		struct error err = { 0 };
		if (rendezvous_attach(url, &opts, &status, &err) < 0)
			out(b, " !     The release command's output is not here (%s): see cove logs --dyno %s", err.message,
			    name ? name : "release");
	} else {
		out(b, "       Its output goes to the app's log: cove logs -a %s --dyno %s", b->app, name ? name : "release");
	}
	/* The agent's report of the end settles the release. */
	_cleanup_free_ char *path = xasprintf("/apps/%s/releases/%lld", b->app_id, version);
	while (time_mono_usec() < b->deadline) {
		json_t *release = NULL;
		const char *status = NULL;
		if (build_client_call(b->api, "GET", path, NULL, NULL, &release, NULL) >= 0)
			status = json_string_value(json_object_get(release, "status"));
		bool pending = !status || streq(status, "pending");
		bool ok = status && streq(status, "succeeded");
		json_decref(release);
		if (!pending)
			return ok ? 0 : -EIO;
		struct pollfd p = { .fd = b->signal_fd, .events = POLLIN };
		if (poll(&p, 1, 250) > 0) {
			b->interrupted = true;
			return -EINTR;
		}
	}
	return fail(b, "Release command timed out: v%lld is still pending.", version);
}

/* True when no earlier build of the app succeeded: this is its first deploy. */
static bool first_deploy(struct builder *b)
{
	_cleanup_free_ char *path = xasprintf("/apps/%s/builds", b->app_id);
	json_t *list = NULL;
	if (build_client_call(b->api, "GET", path, NULL, NULL, &list, NULL) < 0)
		return false;
	size_t i, n = 0;
	json_t *build;
	json_array_foreach(list, i, build)
	{
		const char *status = json_string_value(json_object_get(build, "status"));
		const char *id = json_string_value(json_object_get(build, "id"));
		if (status && id && streq(status, "succeeded") && !streq(id, b->build_id))
			n++;
	}
	json_decref(list);
	return n == 0;
}

/* From the checkout to the release. 0 when the push may go in. */
static int deploy(struct builder *b, json_t *build)
{
	static const char *const dirs[] = { "app", "env", "out", "buildpacks" };
	struct error err = { 0 };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", b->work, dirs[i]);
		if (mkdir_p(d, 0700, &err) < 0)
			return fail(b, "%s", err.message);
	}
	if (chmod(b->work, 0700) < 0)
		return fail(b, "chmod '%s': %m", b->work);
	out(b, "-----> Building on the %s stack", b->stack);
	int r = checkout(b);
	if (r >= 0)
		r = env_dir_write(b);
	if (r >= 0)
		r = manifest_read(b);
	if (r >= 0)
		r = buildpacks_pick(b, build);
	if (r >= 0 && b->detect)
		out(b, "-----> Determining which buildpack to use for this app");
	if (r >= 0 && b->network && build_proxy_start(b->build_id, b->out_w, &b->proxy, &b->netns_path, &err) < 0)
		r = fail(b, "the build's network could not be set up: %s", err.message);
	if (r >= 0)
		r = build_run(b);
	if (r >= 0)
		r = types_read(b);
	if (r >= 0)
		r = slug_upload(b);
	if (r < 0)
		return r;

	bool release_phase = json_is_string(json_object_get(b->types, "release"));
	bool first = first_deploy(b);
	json_t *reported = NULL;
	r = build_report(b, true, release_phase ? "pending" : "succeeded", &reported);
	if (r < 0)
		return r;
	long long version = json_integer_value(json_object_get(json_object_get(reported, "release"), "version"));
	bool release_ok = true;
	if (release_phase)
		release_ok = release_phase_follow(b, json_object_get(reported, "release_phase"), version) >= 0;
	json_decref(reported);
	if (!release_ok) {
		fail(b, "Release command failed: v%lld is not released; the app keeps its current release.", version);
		return -EIO;
	}
	out(b, "-----> Launching...");
	out(b, "       Released v%lld", version);
	json_t *app = NULL;
	_cleanup_free_ char *path = xasprintf("/apps/%s", b->app_id);
	if (build_client_call(b->api, "GET", path, NULL, NULL, &app, NULL) >= 0)
		out(b, "       %s deployed to cove", json_string_value(json_object_get(app, "web_url")));
	json_decref(app);
	if (first && b->manifest.postdeploy) {
		out(b, "-----> Running postdeploy script (app.json) of the first deploy...");
		if (one_off(b, "postdeploy.1", b->manifest.postdeploy) < 0)
			out(b, " !     The postdeploy script failed; the release stands.");
	}
	/* Clones of the repository start on the branch that deploys. */
	run((const char *const[]){ "git", "symbolic-ref", "HEAD", b->ref, NULL }, NULL, NULL);
	return 0;
}

static void builder_release(struct builder *b)
{
	if (b->proxy)
		build_proxy_free(b->proxy);
	free(b->netns_path);
	if (b->work) {
		_cleanup_free_ char *state = xasprintf("%s/sandbox", b->work);
		sandbox_cleanup(b->build_id, state, NULL);
		run((const char *const[]){ "rm", "-rf", "--one-file-system", b->work, NULL }, clean_git_env, NULL);
		free(b->work);
	}
	safe_close(b->out_r);
	safe_close(b->out_w);
	safe_close(b->log_fd);
	safe_close(b->signal_fd);
	build_client_free(b->api);
	app_manifest_release(&b->manifest);
	json_decref(b->config);
	json_decref(b->used);
	json_decref(b->types);
	free(b->ref);
	free(b->subject);
	free(b->stack);
}

int build_receive_hook_main(void)
{
	struct builder b = { .log_fd = -1, .signal_fd = -1, .out_r = -1, .out_w = -1 };
	signal(SIGPIPE, SIG_IGN);
	if (env_read(&b) < 0) {
		fprintf(stderr, " !     cove: this repository takes pushes through coved's git server only\n");
		return 1;
	}
	b.started = time_mono_usec();
	b.deadline = b.started + (uint64_t)b.timeout_s * 1000000u;
	if (refs_check(&b) < 0)
		return 1;

	/* The push is abandoned with SIGTERM (api-git.c); the build must not outlive it. */
	b.signal_fd = signals_stop_fd(0);

	int rc = 1;
	struct error err = { 0 };
	_cleanup_free_ char *locks = xasprintf("%s/builds/locks", b.data_dir);
	_cleanup_free_ char *lock_path = xasprintf("%s/%s", locks, b.app_id);
	_cleanup_close_ int lock = -1;
	if (mkdir_p(locks, 0700, &err) >= 0)
		lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
		fail(&b, "Another build of '%s' is running: push again when it is done.", b.app);
		builder_release(&b);
		return 1;
	}
	run((const char *const[]){ "git", "log", "-1", "--format=%s", b.sha, NULL }, NULL, &b.subject);

	json_t *build = NULL;
	int r = build_client_new(b.api_url, b.token, b.push_id, &b.api, &err);
	if (r >= 0) {
		_cleanup_free_ char *path = xasprintf("/apps/%s/builds", b.app_id);
		json_t *body = json_pack("{s:{s:s, s:s?}}", "source_blob", "version", b.sha, "version_description", b.subject);
		r = build_client_call(b.api, "POST", path, body, NULL, &build, &err);
		json_decref(body);
	}
	if (r < 0) {
		fail(&b, "starting the build failed: %s", err.message);
		builder_release(&b);
		return 1;
	}
	snprintf(b.build_id, sizeof(b.build_id), "%s", json_string_value(json_object_get(build, "id")));
	const char *stack = json_string_value(json_object_get(build, "stack"));
	b.stack = xstrdup(stack ? stack : "heroku-24");
	b.work = xasprintf("%s/builds/%s", b.data_dir, b.build_id);
	_cleanup_free_ char *log_path = xasprintf("%s/builds/%s.log", b.data_dir, b.build_id);
	b.log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) == 0) {
		b.out_r = fds[0];
		b.out_w = fds[1];
		fcntl(b.out_r, F_SETFL, O_NONBLOCK);
	}
	if (b.out_r < 0)
		r = fail(&b, "pipe: %m");
	if (r >= 0)
		r = deploy(&b, build);
	json_decref(build);
	if (r >= 0) {
		rc = 0;
	} else {
		if (!b.reported)
			build_report(&b, false, false, NULL);
		out(&b, " !     Push rejected to %s.", b.app);
	}
	builder_release(&b);
	return rc;
}
