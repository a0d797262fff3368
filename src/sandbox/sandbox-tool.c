/* SPDX-License-Identifier: MIT */
/*
 * cove-sandbox: the dyno sandbox from the command line, for operators and tests.
 *
 *   cove-sandbox run --state-dir DIR --app-dir DIR --uid N --gid N [options] [--] COMMAND...
 *   cove-sandbox wait --state-dir DIR [--timeout SECONDS]
 *   cove-sandbox kill --state-dir DIR [--signal NAME|NUMBER]
 *   cove-sandbox status --state-dir DIR
 *   cove-sandbox cleanup --state-dir DIR [--id ID]
 *
 * Output is "key=value" lines, easy for scripts: `run` prints the dyno's id and pids, `wait`
 * and `run --wait` the outcome, `status` whichever applies.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/id.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "sandbox/sandbox-state.h"
#include "sandbox/sandbox.h"

static const char usage_text[] =
	"usage: cove-sandbox COMMAND [options]\n"
	"\n"
	"  run      start a dyno and print its id and pids\n"
	"           --state-dir DIR --app-dir DIR --uid N --gid N (required)\n"
	"           --id ID --hostname NAME (default: run.1) --netns PATH\n"
	"           --env KEY=VALUE (repeatable; PATH and HOME=/app are added unless given)\n"
	"           --memory SIZE (bytes, or with K, M, G) --pids N --cpu-weight N\n"
	"           --resolv-conf FILE --output FILE (default: DIR/output.log)\n"
	"           --bind [ro:|rw:]SOURCE:TARGET (repeatable; a host directory, read-only unless rw:)\n"
	"           --wait (wait for the dyno to end and print how it ended)\n"
	"           [--] COMMAND... (joined with spaces, run by /bin/sh -c)\n"
	"  wait     wait for the dyno of --state-dir to end, print how it ended [--timeout SECONDS]\n"
	"  kill     signal the dyno of --state-dir [--signal TERM|KILL|INT|...|NUMBER] (default TERM)\n"
	"  status   print whether the dyno of --state-dir runs, its pids and memory, or how it ended\n"
	"  cleanup  remove what is left of the dyno of --state-dir [--id ID]\n";

static int fail(const struct error *err)
{
	fprintf(stderr, "cove-sandbox: %s\n", err->message);
	return 1;
}

_printf_(1, 2) static int fail_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "cove-sandbox: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n%s", usage_text);
	va_end(ap);
	return 2;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s == '-' || v > max)
		return -EINVAL;
	uint64_t mult = 1;
	if (*end == 'K' || *end == 'k')
		mult = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024 * 1024 * 1024, end++;
	if (*end != '\0' || (mult > 1 && v > UINT64_MAX / mult) || v * mult > max)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
		{ "TERM", SIGTERM }, { "KILL", SIGKILL }, { "INT", SIGINT },   { "HUP", SIGHUP },
		{ "QUIT", SIGQUIT }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "WINCH", SIGWINCH },
	};
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].sig;
	uint64_t n;
	if (parse_uint(s, 64, &n) < 0 || n == 0)
		return -EINVAL;
	return (int)n;
}

/* Prints how the dyno of state_dir ended. */
static int print_exit(const char *state_dir, struct error *err)
{
	int status;
	bool oom;
	int r = sandbox_exit_status(state_dir, &status, &oom, err);
	if (r < 0)
		return r;
	printf("state=exited\nwait_status=%d\n", status);
	if (WIFSIGNALED(status))
		printf("signal=%s\n", sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		printf("exit_code=%d\n", WEXITSTATUS(status));
	printf("oom_killed=%s\n", oom ? "true" : "false");
	return 0;
}

/* Waits until the shim of sb is gone; timeout_ms < 0 waits for ever. */
static int wait_gone(const struct sandbox *sb, int timeout_ms, struct error *err)
{
	_cleanup_close_ int fd = sandbox_pidfd(sb);
	if (fd == -ESRCH)
		return 0;
	if (fd < 0)
		return error_set(err, fd, "watch shim %d: %s", (int)sb->shim_pid, strerror(-fd));
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return error_set(err, -errno, "poll: %m");
		if (r == 0)
			return error_set(err, -ETIMEDOUT, "dyno still runs after %d ms", timeout_ms);
		return 0;
	}
}

static int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "state-dir", required_argument, NULL, 's' }, { "app-dir", required_argument, NULL, 'a' },
		{ "uid", required_argument, NULL, 'u' },       { "gid", required_argument, NULL, 'g' },
		{ "id", required_argument, NULL, 'i' },        { "hostname", required_argument, NULL, 'h' },
		{ "netns", required_argument, NULL, 'n' },     { "env", required_argument, NULL, 'e' },
		{ "memory", required_argument, NULL, 'm' },    { "pids", required_argument, NULL, 'p' },
		{ "cpu-weight", required_argument, NULL, 'c' }, { "resolv-conf", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },    { "wait", no_argument, NULL, 'w' },
		{ "bind", required_argument, NULL, 'b' },      { 0 },
	};
	char id[ID_STRING_MAX];
	id_new(id);
	struct sandbox_spec spec = { .id = id, .hostname = "run.1", .output_fd = -1 };
	bool wait = false, have_uid = false, have_gid = false, have_path = false, have_home = false;
	const char *resolv_path = NULL, *output_path = NULL;
	size_t n_env = 0;
	_cleanup_free_ char **env = xcalloc((size_t)argc + 3, sizeof(char *));
	struct sandbox_bind binds[SANDBOX_BINDS_MAX];
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
		switch (c) {
		case 's': spec.state_dir = optarg; break;
		case 'a': spec.app_dir = optarg; break;
		case 'i': spec.id = optarg; break;
		case 'h': spec.hostname = optarg; break;
		case 'n': spec.netns_path = optarg; break;
		case 'r': resolv_path = optarg; break;
		case 'o': output_path = optarg; break;
		case 'w': wait = true; break;
		case 'b': {
			bool writable = strncmp(optarg, "rw:", 3) == 0;
			char *source = writable || strncmp(optarg, "ro:", 3) == 0 ? optarg + 3 : optarg;
			char *target = strchr(source, ':');
			if (!target || spec.n_binds >= SANDBOX_BINDS_MAX)
				return fail_usage("invalid --bind '%s': [ro:|rw:]SOURCE:TARGET, at most %d", optarg,
						  SANDBOX_BINDS_MAX);
			*target++ = '\0';
			binds[spec.n_binds++] = (struct sandbox_bind){ .source = source, .target = target, .writable = writable };
			spec.binds = binds;
			break;
		}
		case 'e':
			env[n_env++] = optarg;
			have_path |= strncmp(optarg, "PATH=", 5) == 0;
			have_home |= strncmp(optarg, "HOME=", 5) == 0;
			break;
		case 'u':
		case 'g':
			if (parse_uint(optarg, UINT32_MAX - 1, &v) < 0)
				return fail_usage("invalid id '%s'", optarg);
			if (c == 'u')
				spec.uid = (uid_t)v, have_uid = true;
			else
				spec.gid = (gid_t)v, have_gid = true;
			break;
		case 'm':
			if (parse_uint(optarg, INT64_MAX, &v) < 0)
				return fail_usage("invalid memory size '%s'", optarg);
			spec.memory_bytes = v;
			break;
		case 'p':
		case 'c':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0)
				return fail_usage("invalid number '%s'", optarg);
			if (c == 'p')
				spec.pids_max = (unsigned)v;
			else
				spec.cpu_weight = (unsigned)v;
			break;
		default:
			return fail_usage("invalid option");
		}
	}
	if (!spec.state_dir || !spec.app_dir || !have_uid || !have_gid)
		return fail_usage("run needs --state-dir, --app-dir, --uid and --gid");
	if (optind >= argc)
		return fail_usage("run needs a command");
	if (!have_path)
		env[n_env++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	if (!have_home)
		env[n_env++] = "HOME=/app";
	spec.env = env;

	_cleanup_strbuf_ struct strbuf command = STRBUF_INIT;
	for (int i = optind; i < argc; i++)
		strbuf_addf(&command, "%s%s", i > optind ? " " : "", argv[i]);
	spec.command = command.buf;

	struct error err = { 0 };
	_cleanup_free_ char *resolv = NULL;
	if (resolv_path) {
		if (file_read(resolv_path, SANDBOX_RESOLV_CONF_MAX, &resolv, NULL, &err) < 0)
			return fail(&err);
		spec.resolv_conf = resolv;
	}
	_cleanup_close_ int output_fd = -1;
	if (output_path) {
		output_fd = open(output_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (output_fd < 0)
			return error_set(&err, -errno, "open '%s': %m", output_path), fail(&err);
		spec.output_fd = output_fd;
	}

	struct sandbox sb;
	if (sandbox_start(&spec, &sb, &err) < 0)
		return fail(&err);
	printf("id=%s\nshim_pid=%d\nshim_start=%" PRIu64 "\ninit_pid=%d\ninit_start=%" PRIu64 "\n", spec.id,
	       (int)sb.shim_pid, sb.shim_start, (int)sb.init_pid, sb.init_start);
	fflush(stdout);
	if (!wait)
		return 0;
	if (wait_gone(&sb, -1, &err) < 0 || print_exit(spec.state_dir, &err) < 0)
		return fail(&err);
	return 0;
}

/* Parses the options of the commands that act on an existing dyno. */
struct dyno_options {
	const char *state_dir;
	const char *id;
	const char *signal;
	long timeout;
};

static int parse_dyno_options(int argc, char **argv, struct dyno_options *o)
{
	static const struct option options[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "id", required_argument, NULL, 'i' },
		{ "signal", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	*o = (struct dyno_options){ .signal = "TERM", .timeout = -1 };
	int c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
		switch (c) {
		case 's': o->state_dir = optarg; break;
		case 'i': o->id = optarg; break;
		case 'S': o->signal = optarg; break;
		case 't':
			if (parse_uint(optarg, 86400, &v) < 0)
				return fail_usage("invalid timeout '%s'", optarg);
			o->timeout = (long)v;
			break;
		default:
			return fail_usage("invalid option");
		}
	}
	if (!o->state_dir)
		return fail_usage("--state-dir is required");
	if (optind < argc)
		return fail_usage("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int cmd_wait(const struct dyno_options *o)
{
	struct error err = { 0 };
	struct sandbox sb;
	int r = sandbox_adopt(o->state_dir, &sb, &err);
	if (r < 0 && r != -ESRCH)
		return fail(&err);
	if (r >= 0 && wait_gone(&sb, o->timeout < 0 ? -1 : (int)(o->timeout * 1000), &err) < 0)
		return fail(&err);
	return print_exit(o->state_dir, &err) < 0 ? fail(&err) : 0;
}

static int cmd_kill(const struct dyno_options *o)
{
	struct error err = { 0 };
	int sig = parse_signal(o->signal);
	if (sig < 0)
		return fail_usage("invalid signal '%s'", o->signal);
	struct sandbox sb;
	if (sandbox_adopt(o->state_dir, &sb, &err) < 0 || sandbox_kill(&sb, sig, &err) < 0)
		return fail(&err);
	return 0;
}

static int cmd_status(const struct dyno_options *o)
{
	struct error err = { 0 };
	struct sandbox sb;
	int r = sandbox_adopt(o->state_dir, &sb, &err);
	if (r == -ESRCH)
		return print_exit(o->state_dir, &err) < 0 ? fail(&err) : 0;
	if (r < 0)
		return fail(&err);

	_cleanup_free_ char *id = NULL;
	if (sandbox_state_read_pid(o->state_dir, &sb, &id, &err) < 0)
		return fail(&err);
	printf("state=running\nid=%s\nshim_pid=%d\nshim_start=%" PRIu64 "\ninit_pid=%d\ninit_start=%" PRIu64 "\n", id,
	       (int)sb.shim_pid, sb.shim_start, (int)sb.init_pid, sb.init_start);
	uint64_t usage, limit, oom_kills;
	if (sandbox_memory(id, &usage, &limit, &oom_kills, &err) < 0)
		return fail(&err);
	printf("memory_usage=%" PRIu64 "\n", usage);
	if (limit == UINT64_MAX)
		printf("memory_limit=max\n");
	else
		printf("memory_limit=%" PRIu64 "\n", limit);
	printf("oom_kills=%" PRIu64 "\n", oom_kills);
	return 0;
}

static int cmd_cleanup(const struct dyno_options *o)
{
	struct error err = { 0 };
	_cleanup_free_ char *id = NULL;
	if (!o->id) {
		struct sandbox sb;
		int r = sandbox_state_read_pid(o->state_dir, &sb, &id, &err);
		if (r == -ENOENT && access(o->state_dir, F_OK) < 0)
			return 0; /* cleaned up already */
		if (r < 0)
			return fail_usage("%s: give --id", err.message);
	}
	if (sandbox_cleanup(o->id ? o->id : id, o->state_dir, &err) < 0)
		return fail(&err);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *command = argv[1];
	argc--;
	argv++;
	if (streq(command, "run"))
		return cmd_run(argc, argv);

	struct dyno_options o;
	int r = parse_dyno_options(argc, argv, &o);
	if (r != 0)
		return r;
	if (streq(command, "wait"))
		return cmd_wait(&o);
	if (streq(command, "kill"))
		return cmd_kill(&o);
	if (streq(command, "status"))
		return cmd_status(&o);
	if (streq(command, "cleanup"))
		return cmd_cleanup(&o);
	return fail_usage("unknown command '%s'", command);
}
