/* SPDX-License-Identifier: MIT */
#include "cli/cli-git.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"

#define GIT_OUTPUT_MAX (64 * 1024)

extern char **environ;

int cli_git(const char *const *argv, bool merge_stderr, char **ret_out, struct error *err)
{
	if (ret_out)
		*ret_out = NULL;
	size_t n = 0;
	while (argv[n])
		n++;
	_cleanup_free_ char **args = xcalloc(n + 2, sizeof(char *));
	args[0] = (char *)"git";
	for (size_t i = 0; i < n; i++)
		args[i + 1] = (char *)argv[i];

	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, -errno, "run git: %m");
	_cleanup_close_ int rd = fds[0];
	_cleanup_close_ int wr = fds[1];

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, wr, STDOUT_FILENO);
	if (merge_stderr)
		posix_spawn_file_actions_adddup2(&fa, wr, STDERR_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, "git", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return error_set(err, -rc, "run git: %s", strerror(rc));
	close(TAKE_FD(wr));

	struct strbuf out;
	strbuf_init(&out, GIT_OUTPUT_MAX);
	char chunk[4096];
	for (;;) {
		ssize_t got = read(rd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		strbuf_add(&out, chunk, (size_t)got); /* past the limit the rest is dropped */
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			strbuf_release(&out);
			return error_set(err, -errno, "wait for git: %m");
		}
	while (out.len && (out.buf[out.len - 1] == '\n' || out.buf[out.len - 1] == '\r'))
		out.buf[--out.len] = '\0';
	if (ret_out)
		*ret_out = strbuf_detach(&out);
	else
		strbuf_release(&out);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool cli_git_in_work_tree(void)
{
	_cleanup_free_ char *out = NULL;
	int r = cli_git((const char *const[]){ "rev-parse", "--is-inside-work-tree", NULL }, false, &out, NULL);
	return r == 0 && out && streq(out, "true");
}

int cli_git_remote_url(const char *remote, char **ret_url)
{
	*ret_url = NULL;
	_cleanup_free_ char *out = NULL;
	int r = cli_git((const char *const[]){ "remote", "get-url", "--", remote, NULL }, false, &out, NULL);
	if (r != 0 || isempty(out))
		return -ENOENT;
	*ret_url = TAKE_PTR(out);
	return 0;
}

/* Runs a git command that changes the repository; its complaint becomes the message. */
static int git_change(const char *const *argv, const char *what, struct error *err)
{
	_cleanup_free_ char *out = NULL;
	int r = cli_git(argv, true, &out, err);
	if (r < 0)
		return r;
	if (r != 0) {
		char *nl = out ? strchr(out, '\n') : NULL;
		if (nl)
			*nl = '\0';
		return error_set(err, -EIO, "%s: %s", what, isempty(out) ? "git failed" : out);
	}
	return 0;
}

int cli_git_remote_set(const char *remote, const char *url, bool replace, struct error *err)
{
	_cleanup_free_ char *what = xasprintf("git remote '%s'", remote);
	if (replace)
		return git_change((const char *const[]){ "remote", "set-url", "--", remote, url, NULL }, what, err);
	return git_change((const char *const[]){ "remote", "add", "--", remote, url, NULL }, what, err);
}

int cli_git_credential_helper_set(const char *url, const char *ca_file, struct error *err)
{
	const char *host = strstr(url, "://");
	if (!host)
		return error_set(err, -EINVAL, "git URL '%s' has no scheme", url);
	size_t base_len = (size_t)(host + 3 - url) + strcspn(host + 3, "/");
	_cleanup_free_ char *base = xstrndup(url, base_len);
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return error_set(err, -errno, "find cove's own path: %m");
	exe[n] = '\0';
	if (strchr(exe, '\''))
		return error_set(err, -EINVAL, "cove's path '%s' has a quote", exe);
	_cleanup_free_ char *key = xasprintf("credential.%s.helper", base);
	_cleanup_free_ char *value = xasprintf("!'%s' git:credentials", exe);
	int r = git_change((const char *const[]){ "config", "--replace-all", key, value, NULL }, "git config", err);
	if (r < 0 || !ca_file || strncmp(url, "https://", 8) != 0)
		return r;
	/* git verifies the server with the CA the CLI does (a local coved's own). */
	_cleanup_free_ char *ca_key = xasprintf("http.%s/.sslCAInfo", base);
	_cleanup_free_ char *ca_path = realpath(ca_file, NULL);
	return git_change((const char *const[]){ "config", "--replace-all", ca_key, ca_path ? ca_path : ca_file, NULL },
			  "git config", err);
}

int cli_git_remote_remove(const char *remote, struct error *err)
{
	_cleanup_free_ char *what = xasprintf("git remote '%s'", remote);
	return git_change((const char *const[]){ "remote", "remove", "--", remote, NULL }, what, err);
}

int cli_git_app_from_url(const char *url, char **ret)
{
	size_t len = strlen(url);
	while (len && url[len - 1] == '/')
		len--;
	if (len < 5 || strncmp(url + len - 4, ".git", 4) != 0)
		return -EINVAL;
	size_t end = len - 4, start = end;
	while (start > 0 && url[start - 1] != '/' && url[start - 1] != ':')
		start--;
	if (start == end)
		return -EINVAL;
	*ret = xstrndup(url + start, end - start);
	return 0;
}
