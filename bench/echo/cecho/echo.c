/*
 * echo.c: a single-threaded epoll echo server, the yardstick bench/echo measures
 * servers/echo against. Level-triggered, non-blocking, one 64 KiB read buffer shared by all
 * connections (the same read size as servers/echo's default). A write the socket cannot take
 * whole is kept per connection, and that connection is not read again until it has drained:
 * memory stays bounded by one buffer per slow reader.
 *
 * Usage: echo [PORT]   (default 0: any free port on 127.0.0.1)
 * Prints "listening on 127.0.0.1:PORT" on stdout once it accepts, then serves until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
#define MAX_EVENTS 256

struct conn {
	int fd;
	char *pending; /* bytes read but not yet written back, or NULL */
	size_t off, len;
};

static char buf[BUF_SIZE];
static int ep;

static void die(const char *what) {
	perror(what);
	exit(1);
}

static void drop(struct conn *c) {
	close(c->fd); /* also removes it from the epoll set */
	free(c->pending);
	free(c);
}

static void watch(struct conn *c, int op, unsigned events) {
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(ep, op, c->fd, &ev) < 0)
		die("epoll_ctl");
}

/* send writes p[0:n]; what the socket does not take is kept and the connection switches to
 * waiting for EPOLLOUT. Returns -1 when the connection is dead. */
static int send_or_keep(struct conn *c, const char *p, size_t n) {
	ssize_t w = write(c->fd, p, n);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		w = 0;
	}
	if ((size_t)w == n)
		return 0;
	c->len = n - (size_t)w;
	c->off = 0;
	c->pending = malloc(c->len);
	if (c->pending == NULL)
		die("malloc");
	memcpy(c->pending, p + w, c->len);
	watch(c, EPOLL_CTL_MOD, EPOLLOUT);
	return 0;
}

static void on_readable(struct conn *c) {
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n == 0) { /* EOF: everything read has been written back already */
		drop(c);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			drop(c);
		return;
	}
	if (send_or_keep(c, buf, (size_t)n) < 0)
		drop(c);
}

static void on_writable(struct conn *c) {
	ssize_t w = write(c->fd, c->pending + c->off, c->len - c->off);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			drop(c);
		return;
	}
	c->off += (size_t)w;
	if (c->off == c->len) {
		free(c->pending);
		c->pending = NULL;
		watch(c, EPOLL_CTL_MOD, EPOLLIN);
	}
}

static void on_accept(int ln) {
	for (;;) {
		int fd = accept4(ln, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				perror("accept4");
			return;
		}
		int one = 1; /* as Go does by default: no Nagle delay on small replies */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = calloc(1, sizeof *c);
		if (c == NULL)
			die("calloc");
		c->fd = fd;
		watch(c, EPOLL_CTL_ADD, EPOLLIN);
	}
}

int main(int argc, char **argv) {
	int port = argc > 1 ? atoi(argv[1]) : 0;
	signal(SIGPIPE, SIG_IGN);

	int ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ln < 0)
		die("socket");
	int one = 1;
	setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ln, (struct sockaddr *)&addr, sizeof addr) < 0)
		die("bind");
	if (listen(ln, 1024) < 0)
		die("listen");
	socklen_t alen = sizeof addr;
	if (getsockname(ln, (struct sockaddr *)&addr, &alen) < 0)
		die("getsockname");

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL marks the listener */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ln, &lev) < 0)
		die("epoll_ctl listener");

	printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
	fflush(stdout);

	struct epoll_event events[MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(ep, events, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			unsigned ev = events[i].events;
			if (c == NULL)
				on_accept(ln);
			else if (c->pending == NULL)
				on_readable(c); /* also for HUP/ERR: the read reports EOF or the error */
			else if (ev & EPOLLOUT)
				on_writable(c);
			else
				drop(c); /* HUP or ERR with bytes still to send: the peer is gone */
		}
	}
}
