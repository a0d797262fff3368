/* SPDX-License-Identifier: MIT */
#include "build/build-proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/timeutil.h"
#include "net/net-link.h"
#include "net/net-netns.h"

#define HEAD_MAX 8192
#define HEAD_TIMEOUT_MS 30000
#define CONNECT_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS (5 * 60 * 1000)
#define CHILDREN_MAX 256

struct build_proxy {
	char netns_name[NET_NETNS_NAME_MAX];
	int listen_fd;
	int output_fd;
	pid_t children[CHILDREN_MAX];
};

/* ---- which addresses ------------------------------------------------------------------- */

static bool ipv4_allowed(uint32_t a)
{
	static const struct {
		uint32_t net;
		unsigned prefix;
	} denied[] = {
		{ 0x00000000, 8 },  /* this network */
		{ 0x0a000000, 8 },  /* private */
		{ 0x64400000, 10 }, /* shared: the spaces' uplinks */
		{ 0x7f000000, 8 },  /* loopback */
		{ 0xa9fe0000, 16 }, /* link-local: metadata services */
		{ 0xac100000, 12 }, /* private */
		{ 0xc0000000, 24 }, /* IETF protocol assignments */
		{ 0xc0a80000, 16 }, /* private */
		{ 0xc6120000, 15 }, /* benchmarking: the outbound pool */
		{ 0xe0000000, 4 },  /* multicast */
		{ 0xf0000000, 4 },  /* reserved, broadcast */
	};
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		uint32_t mask = denied[i].prefix ? ~0u << (32 - denied[i].prefix) : 0;
		if ((a & mask) == denied[i].net)
			return false;
	}
	return true;
}

bool build_proxy_address_allowed(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ipv4_allowed(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return false;
	const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return ipv4_allowed((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
	static const uint8_t zero[15] = { 0 };
	if (memcmp(b, zero, 15) == 0) /* :: and ::1 */
		return false;
	if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff)
		return false; /* unique local, link-local, multicast */
	return true;
}

/* True when the address is one of this host's own. */
static bool address_is_local(const struct sockaddr *sa)
{
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) < 0)
		return true; /* when in doubt, no */
	bool local = false;
	for (struct ifaddrs *i = ifs; i && !local; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET)
			local = ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
				((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		else
			local = memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
				       &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16) == 0;
	}
	freeifaddrs(ifs);
	return local;
}

/* ---- one connection, in a child -------------------------------------------------------- */

static void say(int fd, const char *text)
{
	fd_write_all(fd, text, strlen(text));
}

static _noreturn_ void answer(int client, int output_fd, int status, const char *reason, const char *note)
{
	_cleanup_free_ char *resp = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\n"
					      "Content-Length: %zu\r\n\r\n%s\n",
					      status, reason, strlen(note) + 1, note);
	say(client, resp);
	if (output_fd >= 0) {
		_cleanup_free_ char *line = xasprintf(" !     cove: %s\n", note);
		say(output_fd, line);
	}
	_exit(0);
}

/* Reads the request head; returns its length and leaves what followed it in buf after it. */
static ssize_t read_head(int fd, char *buf, size_t max, size_t *ret_used)
{
	size_t used = 0;
	uint64_t deadline = time_mono_usec() + HEAD_TIMEOUT_MS * 1000ull;
	while (used < max) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = time_mono_usec();
		if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000) + 1) <= 0)
			return -ETIMEDOUT;
		ssize_t n = read(fd, buf + used, max - used);
		if (n <= 0)
			return -EPIPE;
		used += (size_t)n;
		char *end = memmem(buf, used, "\r\n\r\n", 4);
		if (end) {
			*ret_used = used;
			return end + 4 - buf;
		}
	}
	return -EMSGSIZE;
}

/* Connects within CONNECT_TIMEOUT_MS; the socket, or a negative errno. */
static int connect_timeout(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
		int r = -errno;
		close(fd);
		return r;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int soerr = 0, n;
	socklen_t sl = sizeof(soerr);
	do
		n = poll(&p, 1, CONNECT_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		close(fd);
		return n == 0 ? -ETIMEDOUT : -(soerr ? soerr : EIO);
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

/* Copies both ways until both sides are done, or nothing moves for IDLE_TIMEOUT_MS. */
static void relay(int a, int b)
{
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	bool open_in[2] = { true, true };
	char buf[65536];
	while (open_in[0] || open_in[1]) {
		int n = poll(p, 2, IDLE_TIMEOUT_MS);
		if (n <= 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (!open_in[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t got = read(p[i].fd, buf, sizeof(buf));
			if (got <= 0) {
				open_in[i] = false;
				p[i].fd = -1;
				shutdown(i == 0 ? b : a, SHUT_WR);
				continue;
			}
			int to = i == 0 ? b : a;
			for (ssize_t off = 0; off < got;) {
				ssize_t w = write(to, buf + off, (size_t)(got - off));
				if (w <= 0)
					return;
				off += w;
			}
		}
	}
}

static _noreturn_ void serve(int client, int output_fd)
{
	char buf[HEAD_MAX + 1];
	size_t used = 0;
	ssize_t head = read_head(client, buf, HEAD_MAX, &used);
	if (head < 0)
		_exit(0);
	buf[head] = '\0';
	char method[16], target[512];
	if (sscanf(buf, "%15s %511s HTTP/1.", method, target) != 2)
		answer(client, output_fd, 400, "Bad Request", "the build's proxy got a request it cannot read");
	if (!streq(method, "CONNECT")) {
		_cleanup_free_ char *note = xasprintf("the build asked for %.100s over plain HTTP: the proxy only tunnels "
						      "HTTPS (CONNECT host:443)",
						      target);
		answer(client, output_fd, 405, "Method Not Allowed", note);
	}
	char *colon = strrchr(target, ':');
	if (!colon || !streq(colon + 1, "443")) {
		_cleanup_free_ char *note = xasprintf("the build may connect to port 443 only, not to '%.100s'", target);
		answer(client, output_fd, 403, "Forbidden", note);
	}
	*colon = '\0';
	char *host = target;
	if (host[0] == '[' && colon[-1] == ']') {
		host++;
		colon[-1] = '\0';
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, "443", &hints, &ai) != 0) {
		_cleanup_free_ char *note = xasprintf("the build's proxy cannot resolve '%.100s'", host);
		answer(client, output_fd, 502, "Bad Gateway", note);
	}
	int upstream = -ENOENT;
	bool denied = false;
	/* Three times through the addresses, 1 s then 2 s apart: a registry's hiccup should not fail a build. */
	for (int attempt = 0; attempt < 3 && upstream < 0; attempt++) {
		if (attempt > 0 && upstream != -ENOENT)
			sleep((unsigned)attempt);
		for (struct addrinfo *i = ai; i && upstream < 0; i = i->ai_next) {
			if (!build_proxy_address_allowed(i->ai_addr) || address_is_local(i->ai_addr)) {
				denied = true;
				continue;
			}
			upstream = connect_timeout(i);
		}
		if (denied)
			break;
	}
	freeaddrinfo(ai);
	if (upstream < 0) {
		_cleanup_free_ char *note =
			denied ? xasprintf("the build may not connect to '%.100s': its address is private, local or reserved", host)
			       : xasprintf("the build's proxy cannot connect to '%.100s:443': %s", host, strerror(-upstream));
		answer(client, output_fd, denied ? 403 : 502, denied ? "Forbidden" : "Bad Gateway", note);
	}
	say(client, "HTTP/1.1 200 Connection established\r\n\r\n");
	/* What the client sent after the head already belongs to the tunnel. */
	if (used > (size_t)head && write(upstream, buf + head, used - (size_t)head) < 0)
		_exit(0);
	relay(client, upstream);
	_exit(0);
}

/* ---- the listener ---------------------------------------------------------------------- */

int build_proxy_start(const char *build_id, int output_fd, struct build_proxy **ret, char **ret_netns_path,
		      struct error *err)
{
	struct build_proxy *p = xcalloc(1, sizeof(*p));
	p->listen_fd = -1;
	p->output_fd = output_fd;
	snprintf(p->netns_name, sizeof(p->netns_name), "cove-b-%.36s", build_id);
	_cleanup_close_ int ns = net_netns_ensure(p->netns_name, err);
	if (ns < 0) {
		free(p);
		return ns;
	}
	_cleanup_nl_ struct net_nl *nl = NULL;
	struct net_link lo;
	int r = net_nl_open(ns, &nl, err);
	if (r >= 0)
		r = net_link_get(nl, "lo", &lo, err);
	if (r >= 0)
		r = net_link_set_up(nl, &lo, err);
	if (r >= 0) {
		p->listen_fd = net_netns_socket(ns, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, err);
		r = p->listen_fd;
	}
	if (r >= 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(BUILD_PROXY_PORT),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (bind(p->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(p->listen_fd, 128) < 0)
			r = error_set(err, -errno, "listen in namespace '%s': %m", p->netns_name);
	}
	if (r < 0) {
		build_proxy_free(p);
		return r;
	}
	*ret_netns_path = xasprintf(NET_NETNS_DIR "/%s", p->netns_name);
	*ret = p;
	return 0;
}

int build_proxy_fd(const struct build_proxy *p)
{
	return p->listen_fd;
}

void build_proxy_accept(struct build_proxy *p)
{
	for (;;) {
		int client = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (client < 0)
			return;
		size_t slot = 0;
		while (slot < CHILDREN_MAX && p->children[slot])
			slot++;
		if (slot == CHILDREN_MAX) {
			build_proxy_reap(p);
			close(client);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(p->listen_fd);
			signal(SIGPIPE, SIG_IGN);
			serve(client, p->output_fd);
		}
		close(client);
		if (pid > 0)
			p->children[slot] = pid;
	}
}

void build_proxy_reap(struct build_proxy *p)
{
	for (size_t i = 0; i < CHILDREN_MAX; i++)
		if (p->children[i] && waitpid(p->children[i], NULL, WNOHANG) != 0)
			p->children[i] = 0;
}

void build_proxy_free(struct build_proxy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < CHILDREN_MAX; i++)
		if (p->children[i]) {
			kill(p->children[i], SIGKILL);
			waitpid(p->children[i], NULL, 0);
		}
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	net_netns_remove(p->netns_name, NULL);
	free(p);
}
