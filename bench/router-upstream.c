/* SPDX-License-Identifier: MIT */
/*
 * The upstream app of bench/router: the same for the three runs (direct, cove's router,
 * nginx), and as cheap as an HTTP server can be, so that the proxies' cost shows. HTTP/1.1
 * keep-alive, one epoll loop per thread behind SO_REUSEPORT; GET /small answers 12 bytes,
 * GET /64k 65536 bytes; anything else 404. Requests are read up to their empty line (no
 * bodies: wrk sends none).
 *
 *   router-upstream PORT [THREADS] [ADDRESS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct conn {
	int fd;
	size_t len;
	char buf[8192];
};

static struct sockaddr_in addr;
static char big[65536];
static char head_small[128], head_big[128], head_404[128];
static size_t head_small_len, head_big_len, head_404_len;

static void *serve(void *arg)
{
	(void)arg;
	int one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 4096) < 0) {
		perror("router-upstream: listen");
		exit(1);
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	struct epoll_event events[256];
	for (;;) {
		int n = epoll_wait(ep, events, 256, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					struct epoll_event cev = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				close(c->fd);
				free(c);
				continue;
			}
			c->len += (size_t)r;
			char *end;
			while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
				struct iovec iov[2];
				int n_iov = 1;
				if (strncmp(c->buf, "GET /small ", 11) == 0) {
					iov[0] = (struct iovec){ head_small, head_small_len };
				} else if (strncmp(c->buf, "GET /64k ", 9) == 0) {
					iov[0] = (struct iovec){ head_big, head_big_len };
					iov[1] = (struct iovec){ big, sizeof(big) };
					n_iov = 2;
				} else {
					iov[0] = (struct iovec){ head_404, head_404_len };
				}
				size_t want = iov[0].iov_len + (n_iov > 1 ? iov[1].iov_len : 0), done = 0;
				while (done < want) {
					ssize_t w = writev(c->fd, iov, n_iov);
					if (w < 0) {
						if (errno == EAGAIN) {
							/* A slow reader: wait for it (this is a benchmark app). */
							fd_set set;
							FD_ZERO(&set);
							FD_SET(c->fd, &set);
							select(c->fd + 1, NULL, &set, NULL, NULL);
							continue;
						}
						break;
					}
					done += (size_t)w;
					size_t left = (size_t)w;
					for (int k = 0; k < n_iov; k++) {
						size_t t = left < iov[k].iov_len ? left : iov[k].iov_len;
						iov[k].iov_base = (char *)iov[k].iov_base + t;
						iov[k].iov_len -= t;
						left -= t;
					}
				}
				size_t used = (size_t)(end + 4 - c->buf);
				memmove(c->buf, c->buf + used, c->len - used);
				c->len -= used;
			}
			if (c->len == sizeof(c->buf))
				c->len = 0;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: router-upstream PORT [THREADS] [ADDRESS]\n");
		return 2;
	}
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, argc > 3 ? argv[3] : "0.0.0.0", &addr.sin_addr);
	memset(big, 'x', sizeof(big));
	head_small_len = (size_t)snprintf(head_small, sizeof(head_small),
					  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n");
	head_big_len = (size_t)snprintf(head_big, sizeof(head_big),
					"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 65536\r\n\r\n");
	head_404_len = (size_t)snprintf(head_404, sizeof(head_404), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	pthread_t t;
	for (int i = 1; i < threads; i++)
		pthread_create(&t, NULL, serve, NULL);
	serve(NULL);
	return 0;
}
