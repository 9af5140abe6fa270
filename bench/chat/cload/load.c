/*
 * load.c: the load of bench/chat's BenchmarkLatency in its leanest form, so that the figures
 * are the server's and not the load generator's: one thread, epoll, non-blocking sockets, no
 * allocation after start-up. (The in-process Go load generator, a sender and a receiver
 * goroutine per client, spends about as much CPU per delivery as the server does; on two cores
 * the two then delay each other.)
 *
 * Usage: load PORT CLIENTS RATE RUN_S WARM_S WELCOME_LEN
 *
 * Connects CLIENTS clients to 127.0.0.1:PORT and reads each one's welcome (WELCOME_LEN bytes).
 * Then client i sends the line "s=I n=N t=NANOS padding-padding\n" RATE times a second, at
 * i/CLIENTS of each period, for WARM_S + RUN_S seconds (NANOS: the send time since the start),
 * and every relay read is timed. Every client must receive every line of every other client
 * exactly once (in any relay format that keeps the line's text).
 *
 * Prints one line of figures in µs over the lines sent after the warm-up: p50, p90, p99,
 * p99.9 and max of all deliveries, the p50 and p99 of each line's last delivery, and the load
 * generator's own CPU time while sending and receiving (cpu_us). On any failure (a relay missing, repeated or malformed, a
 * socket error, the deadline of WARM_S + RUN_S + 10 s) it says what on stderr and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 1000
#define BUF 65536

struct client {
	int fd;
	char buf[BUF];
	size_t len;
};

static struct client *clients;
static int nclients, per;    /* clients, lines each sends */
static long long *lat;        /* lat[r][s*per+n]: latency (ns) of sender s's line n at r; -1: none yet */
static long long base;        /* start of sending, ns */

static void fail(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* cpu_us is this process's CPU time so far, µs. */
static long long cpu_us(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* field parses "KEY=DIGITS " at *p, advancing past it. */
static long long field(const char **p, const char *end, char key) {
	const char *q = *p;
	if (end - q < 3 || q[0] != key || q[1] != '=')
		return -1;
	q += 2;
	long long v = 0;
	int digits = 0;
	while (q < end && *q >= '0' && *q <= '9' && digits < 19) {
		v = v * 10 + (*q++ - '0');
		digits++;
	}
	if (digits == 0 || q == end || *q != ' ')
		return -1;
	*p = q + 1;
	return v;
}

/* relay records one relay line[0:n] read by client r at time t (ns since base). */
static void relay(int r, const char *line, size_t n, long long t) {
	const char *end = line + n, *p = memmem(line, n, "s=", 2);
	long long s = -1, k = -1, sent = -1;
	if (p != NULL) {
		s = field(&p, end, 's');
		k = s < 0 ? -1 : field(&p, end, 'n');
		sent = k < 0 ? -1 : field(&p, end, 't');
	}
	if (sent < 0 || s >= nclients || s == r || k >= per)
		fail("client %d: unexpected relay %.*s", r, (int)(n > 80 ? 80 : n), line);
	long long *slot = &lat[((size_t)r * nclients + (size_t)s) * per + (size_t)k];
	if (*slot >= 0)
		fail("client %d: line %lld of client %lld relayed twice", r, k, s);
	*slot = t - sent;
}

int main(int argc, char **argv) {
	if (argc != 7)
		fail("usage: load PORT CLIENTS RATE RUN_S WARM_S WELCOME_LEN");
	int port = atoi(argv[1]), rate = atoi(argv[3]), welcome = atoi(argv[6]);
	double run = atof(argv[4]), warm = atof(argv[5]);
	nclients = atoi(argv[2]);
	if (nclients < 2 || nclients > MAX_CLIENTS || rate < 1 || run <= 0 || warm < 0 || welcome < 0 || welcome > BUF)
		fail("load: bad arguments");
	long long period = 1000000000LL / rate;
	per = (int)((warm + run) * rate);
	int warmLines = (int)(warm * rate);
	size_t cells = (size_t)nclients * nclients * per;
	lat = malloc(cells * sizeof *lat);
	clients = calloc((size_t)nclients, sizeof *clients);
	if (lat == NULL || clients == NULL)
		fail("load: out of memory");
	memset(lat, 0xff, cells * sizeof *lat); /* all -1 */

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < nclients; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
			fail("client %d: connect: %s", i, strerror(errno));
		struct timeval tv = {.tv_sec = 5};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		for (int got = 0; got < welcome;) { /* blocking, under the 5 s timeout */
			ssize_t n = read(fd, clients[i].buf + got, (size_t)(welcome - got));
			if (n <= 0)
				fail("client %d: welcome: %s", i, n == 0 ? "connection closed" : strerror(errno));
			got += (int)n;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (ioctl(fd, FIONBIO, &one) < 0)
			fail("client %d: non-blocking: %s", i, strerror(errno));
		clients[i].fd = fd;
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			fail("epoll_ctl: %s", strerror(errno));
	}

	/* Send number k goes from client k % nclients, its line k / nclients, at base + k*step. */
	long long step = period / nclients, total = (long long)nclients * per, k = 0;
	long long expect = (long long)(nclients - 1) * total, received = 0;
	long long cpu0 = cpu_us();
	base = now_ns();
	long long deadline = base + (long long)((warm + run + 10) * 1e9);
	struct epoll_event evs[256];
	while (received < expect) {
		long long t = now_ns();
		if (t > deadline)
			fail("deadline: %lld of %lld relays received", received, expect);
		for (; k < total && base + k * step <= t; k++) {
			int i = (int)(k % nclients);
			char line[96];
			int n = snprintf(line, sizeof line, "s=%d n=%lld t=%lld padding-padding\n", i, k / nclients, now_ns() - base);
			ssize_t w = write(clients[i].fd, line, (size_t)n);
			if (w != n)
				fail("client %d: write: %s", i, w < 0 ? strerror(errno) : "short write");
		}
		long long wait = k < total ? base + k * step - now_ns() : deadline - now_ns();
		if (wait < 0)
			wait = 0;
		struct timespec ts = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
		int n = epoll_pwait2(ep, evs, 256, &ts, NULL);
		if (n < 0 && errno != EINTR)
			fail("epoll_pwait2: %s", strerror(errno));
		for (int e = 0; e < n; e++) {
			int r = (int)evs[e].data.u32;
			struct client *c = &clients[r];
			ssize_t got = read(c->fd, c->buf + c->len, BUF - c->len);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0)
				fail("client %d: read: %s", r, got == 0 ? "connection closed" : strerror(errno));
			long long at = now_ns() - base;
			size_t start = 0, end = c->len + (size_t)got;
			for (size_t j = c->len; j < end; j++) {
				if (c->buf[j] == '\n') {
					relay(r, c->buf + start, j - start, at);
					received++;
					start = j + 1;
				}
			}
			if (start == 0 && end == BUF)
				fail("client %d: a relay longer than %d bytes", r, BUF);
			memmove(c->buf, c->buf + start, end - start);
			c->len = end - start;
		}
	}

	long long cpu = cpu_us() - cpu0; /* the traffic's, not the set-up's or the sorting's */

	/* Every delivery of the lines sent after the warm-up, and each line's last delivery. */
	size_t nall = 0, nlast = 0;
	long long *all = malloc((size_t)nclients * nclients * per * sizeof *all);
	long long *last = malloc((size_t)nclients * per * sizeof *last);
	if (all == NULL || last == NULL)
		fail("load: out of memory");
	for (int s = 0; s < nclients; s++) {
		for (int line = warmLines; line < per; line++) {
			long long worst = -1;
			for (int r = 0; r < nclients; r++) {
				long long v = lat[((size_t)r * nclients + (size_t)s) * per + (size_t)line];
				if (r == s)
					continue;
				if (v < 0)
					fail("client %d has no relay of client %d's line %d", r, s, line);
				all[nall++] = v;
				if (v > worst)
					worst = v;
			}
			last[nlast++] = worst;
		}
	}
	qsort(all, nall, sizeof *all, cmp);
	qsort(last, nlast, sizeof *last, cmp);
#define Q(v, n, q) ((v)[(size_t)((q) * (double)((n) - 1))] / 1e3)
	printf("p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f last-p50=%.1f last-p99=%.1f cpu_us=%lld\n",
	       Q(all, nall, 0.5), Q(all, nall, 0.9), Q(all, nall, 0.99), Q(all, nall, 0.999), Q(all, nall, 1.0),
	       Q(last, nlast, 0.5), Q(last, nlast, 0.99), cpu);
	return 0;
}
