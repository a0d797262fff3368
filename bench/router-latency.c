/* SPDX-License-Identifier: MIT */
/*
 * The latency probe of bench/router: one keep-alive connection, one request at a time, the
 * latency of every request kept (1 µs buckets up to 100 ms), and nothing else done in the
 * thread. wrk's own stalls put about one request in 200 at a millisecond or more whatever it
 * measures (a dyno reached directly included), which makes its p99 at one connection mostly
 * wrk's; this client's do not show.
 *
 *   router-latency ADDRESS PORT PATH SECONDS [HOST]
 *
 * Prints "requests/s p50 p99 p99.9" (milliseconds). Responses must have a Content-Length (the
 * bench's upstream answers so); a connection the server closes is opened again and the request
 * sent again, its time counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 100000 /* µs */

static uint64_t hist[BUCKETS + 1];

static uint64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static int dial(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("router-latency: connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads one whole response. 0: done, -1: the server closed the connection first. */
static int response(int fd)
{
	char buf[70 * 1024];
	size_t got = 0, need = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (!need) {
			char *end = strstr(buf, "\r\n\r\n");
			if (!end)
				continue;
			char *cl = strcasestr(buf, "\r\ncontent-length:");
			need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (got >= need)
			return 0;
		if (got == sizeof(buf) - 1) { /* a large body: keep counting, not keeping */
			need -= got;
			got = 0;
		}
	}
}

static double percentile(uint64_t total, double p)
{
	uint64_t want = (uint64_t)((double)total * p / 100.0), seen = 0;
	for (size_t i = 0; i <= BUCKETS; i++) {
		seen += hist[i];
		if (seen > want)
			return (double)i / 1000.0;
	}
	return (double)BUCKETS / 1000.0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: router-latency ADDRESS PORT PATH SECONDS [HOST]\n");
		return 2;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "router-latency: '%s' is not an IPv4 address\n", argv[1]);
		return 2;
	}
	char req[512];
	int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", argv[3], argc > 5 ? argv[5] : argv[1]);
	uint64_t start = now_us(), end = start + (uint64_t)(atof(argv[4]) * 1e6), total = 0;
	int fd = dial(&sa);
	for (uint64_t t = start; t < end;) {
		if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len || response(fd) < 0) {
			close(fd);
			fd = dial(&sa);
			continue; /* sent again: its latency runs from the first try */
		}
		uint64_t done = now_us(), us = done - t;
		hist[us < BUCKETS ? us : BUCKETS]++;
		total++;
		t = done;
	}
	close(fd);
	if (!total) {
		fprintf(stderr, "router-latency: no response\n");
		return 1;
	}
	printf("%.0f %.3f %.3f %.3f\n", (double)total / ((double)(end - start) / 1e6), percentile(total, 50),
	       percentile(total, 99), percentile(total, 99.9));
	return 0;
}
