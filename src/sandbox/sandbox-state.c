/* SPDX-License-Identifier: MIT */
#include "sandbox/sandbox-state.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/pidfd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "sandbox/sandbox-cgroup.h"

int sandbox_state_write_pid(const char *state_dir, const char *id, const struct sandbox *sb, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/pid", state_dir);
	_cleanup_free_ char *text = xasprintf("id=%s\nshim_pid=%d\nshim_start=%" PRIu64 "\ninit_pid=%d\ninit_start=%" PRIu64
					      "\n",
					      id, (int)sb->shim_pid, sb->shim_start, (int)sb->init_pid, sb->init_start);
	return file_write_atomic(path, text, strlen(text), 0600, err);
}

int sandbox_state_read_pid(const char *state_dir, struct sandbox *ret, char **ret_id, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/pid", state_dir);
	_cleanup_free_ char *text = NULL;
	int r = file_read(path, SANDBOX_STATE_FILE_MAX, &text, NULL, err);
	if (r < 0)
		return r;

	uint64_t shim_pid, shim_start, init_pid, init_start;
	if (sandbox_parse_key_u64(text, "shim_pid", '=', &shim_pid) < 0 ||
	    sandbox_parse_key_u64(text, "shim_start", '=', &shim_start) < 0 ||
	    sandbox_parse_key_u64(text, "init_pid", '=', &init_pid) < 0 ||
	    sandbox_parse_key_u64(text, "init_start", '=', &init_start) < 0 || shim_pid == 0 || init_pid == 0 ||
	    shim_pid > INT32_MAX || init_pid > INT32_MAX)
		return error_set(err, -EBADMSG, "read '%s': malformed", path);
	if (ret_id) {
		const char *id = strstr(text, "id=");
		if (id != text)
			return error_set(err, -EBADMSG, "read '%s': no dyno id", path);
		id += 3;
		*ret_id = xstrndup(id, strcspn(id, "\n"));
	}
	*ret = (struct sandbox){
		.shim_pid = (pid_t)shim_pid,
		.shim_start = shim_start,
		.init_pid = (pid_t)init_pid,
		.init_start = init_start,
	};
	return 0;
}

int sandbox_state_write_exit(const char *state_dir, int wait_status, bool oom_killed, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/exit", state_dir);
	_cleanup_free_ char *text = xasprintf("wait_status=%d\noom_killed=%d\n", wait_status, oom_killed ? 1 : 0);
	return file_write_atomic(path, text, strlen(text), 0600, err);
}

int sandbox_state_read_exit(const char *state_dir, int *ret_status, bool *ret_oom_killed, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/exit", state_dir);
	_cleanup_free_ char *text = NULL;
	int r = file_read(path, SANDBOX_STATE_FILE_MAX, &text, NULL, err);
	if (r < 0)
		return r;
	uint64_t status, oom;
	if (sandbox_parse_key_u64(text, "wait_status", '=', &status) < 0 ||
	    sandbox_parse_key_u64(text, "oom_killed", '=', &oom) < 0 || status > 0xffff || oom > 1)
		return error_set(err, -EBADMSG, "read '%s': malformed", path);
	if (ret_status)
		*ret_status = (int)status;
	if (ret_oom_killed)
		*ret_oom_killed = oom == 1;
	return 0;
}

int sandbox_parse_stat(const char *stat, char *ret_state, uint64_t *ret_start)
{
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so start after the last ')'. */
	const char *p = strrchr(stat, ')');
	if (!p)
		return -EINVAL;
	p++;
	while (*p == ' ')
		p++;
	char state = *p;
	/* After comm, starttime is the 20th field: state is the 1st. */
	for (int field = 0; field < 20; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (field == 19)
			break;
		p += strcspn(p, " ");
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno != 0 || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	if (ret_state)
		*ret_state = state;
	*ret_start = v;
	return 0;
}

int sandbox_proc_starttime(pid_t pid, uint64_t *ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	int r = file_read(path, SANDBOX_STATE_FILE_MAX, &text, NULL, NULL);
	if (r == -ENOENT)
		return -ESRCH;
	if (r < 0)
		return r;
	char state;
	r = sandbox_parse_stat(text, &state, ret);
	if (r < 0)
		return r;
	return state == 'Z' || state == 'X' || state == 'x' ? -ESRCH : 0;
}

int sandbox_pidfd_open(pid_t pid, uint64_t start)
{
	/*
	 * Open first, then look: if the process behind the pidfd still runs after the start time
	 * was read, the pid named it while it was read. (systemd's pidref does the same.)
	 */
	_cleanup_close_ int fd = pidfd_open(pid, 0);
	if (fd < 0)
		return -errno;
	uint64_t now;
	int r = sandbox_proc_starttime(pid, &now);
	if (r < 0)
		return r;
	if (now != start)
		return -ESRCH;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	r = poll(&p, 1, 0);
	if (r < 0)
		return -errno;
	if (r > 0)
		return -ESRCH;
	return TAKE_FD(fd);
}
