/*
 * chat.c: a single-threaded epoll chat relay in C, the yardstick bench/chat measures
 * servers/chat against (the line-framed room with the default relay "<ip> msg").
 *
 * Each client gets the welcome (no newline, as the seed sends it). Every complete line a client
 * sends is relayed as "<IP> line\n" to every other client, in the order lines are read, by
 * the reading thread itself: a write straight to the socket when nothing is queued for that
 * client, else appended to its output queue, which EPOLLOUT drains. Flow control as in
 * servers/chat: while any client has more than HIGH bytes queued, no client is read (senders
 * wait for the slowest receiver); a client whose queue would exceed OUT_MAX bytes is dropped,
 * so memory stays bounded. Level-triggered, one read per readiness event.
 *
 * Usage: chat [ignored arguments]. Listens on 127.0.0.1, any free port, prints
 * "listening on 127.0.0.1:PORT" once it accepts, then serves until killed.
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

#define MAX_CLIENTS 4096
#define IN_MAX 4096           /* longest line accepted, and bytes per read */
#define OUT_MAX (256 * 1024)  /* queued output per client before it is dropped */
#define HIGH (64 * 1024)      /* queued output per client above which nobody is read */
#define MAX_EVENTS 256

static const char welcome[] = "Welcome to this chatroom!";

struct client {
	int fd;
	char ip[INET_ADDRSTRLEN];
	char in[IN_MAX];
	size_t inlen;
	char *out; /* queued output, out[outoff:outlen] */
	size_t outoff, outlen;
	unsigned events; /* the epoll interest set now */
	int congested;   /* queued more than HIGH */
	int slot;        /* index in clients[]; -1 once dropped */
	struct client *next_dead;
};

static struct client *clients[MAX_CLIENTS]; /* by slot */
static int nclients;
static int ep;
static int ncongested; /* clients over HIGH: while > 0, nobody is read */
/* Clients dropped during one batch of events, freed after it: a later event of the batch may
 * still name one (its slot is then -1). */
static struct client *dead;

static void die(const char *what) {
	perror(what);
	exit(1);
}

static size_t queued(const struct client *c) { return c->outlen - c->outoff; }

/* interest sets c's epoll interest from its state: writable while something is queued,
 * readable unless some client is congested. */
static void interest(struct client *c, int op) {
	unsigned want = (ncongested == 0 ? EPOLLIN : 0) | (queued(c) > 0 ? EPOLLOUT : 0);
	if (op == EPOLL_CTL_MOD && want == c->events)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = c};
	if (epoll_ctl(ep, op, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->events = want;
}

static void all_interest(void) {
	for (int i = 0; i < nclients; i++)
		interest(clients[i], EPOLL_CTL_MOD);
}

/* congestion updates c's congested mark after its queue changed; reading pauses for all
 * when the first client goes over HIGH and resumes when the last one is back under it. */
static void congestion(struct client *c) {
	int over = queued(c) > HIGH;
	if (over == c->congested)
		return;
	c->congested = over;
	ncongested += over ? 1 : -1;
	if (ncongested == (over ? 1 : 0))
		all_interest();
}

static void drop(struct client *c) {
	int i = c->slot;
	clients[i] = clients[--nclients]; /* the last client moves into the slot */
	clients[i]->slot = i;
	c->slot = -1;
	close(c->fd); /* also leaves the epoll set */
	free(c->out);
	c->out = NULL;
	c->next_dead = dead;
	dead = c;
	if (c->congested && --ncongested == 0)
		all_interest();
}

/* deliver writes p[0:n] to c now if nothing is queued for it, and queues what the socket does
 * not take. Returns -1 when c must be dropped. */
static int deliver(struct client *c, const char *p, size_t n) {
	if (c->outlen == c->outoff) {
		ssize_t w = write(c->fd, p, n);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			w = 0;
		}
		if ((size_t)w == n)
			return 0;
		p += w;
		n -= (size_t)w;
		c->outoff = c->outlen = 0;
	}
	if (c->outlen - c->outoff + n > OUT_MAX)
		return -1;
	if (c->out == NULL && (c->out = malloc(OUT_MAX)) == NULL)
		die("malloc");
	if (c->outlen + n > OUT_MAX) { /* compact */
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	interest(c, EPOLL_CTL_MOD);
	congestion(c);
	return 0;
}

/* broadcast delivers relays[0:n] (whole relays) to every client but from. */
static void broadcast(struct client *from, const char *relays, size_t n) {
	for (int i = 0; i < nclients; i++) {
		struct client *c = clients[i];
		if (c != from && deliver(c, relays, n) < 0) {
			drop(c);
			i--; /* the last client moved into slot i */
		}
	}
}

/* on_readable reads once and relays the complete lines read, all in one block per receiver
 * (at most one write each, as servers/chat writes what is queued with one writev). */
static void on_readable(struct client *c) {
	/* a relay is at most "<" ip "> " line "\n" per input byte that ends a line */
	static char block[IN_MAX * (INET_ADDRSTRLEN + 4)];
	ssize_t n = read(c->fd, c->in + c->inlen, IN_MAX - c->inlen);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		drop(c);
		return;
	}
	if (n < 0)
		return;
	c->inlen += (size_t)n;
	size_t start = 0, blen = 0;
	for (size_t i = c->inlen - (size_t)n; i < c->inlen; i++) {
		if (c->in[i] == '\n') {
			blen += (size_t)sprintf(block + blen, "<%s> ", c->ip);
			memcpy(block + blen, c->in + start, i - start + 1);
			blen += i - start + 1;
			start = i + 1;
		}
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	if (blen > 0)
		broadcast(c, block, blen);
	if (c->inlen == IN_MAX) /* a line too long: the client is dropped */
		drop(c);
}

static void on_writable(struct client *c) {
	ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			drop(c);
		return;
	}
	c->outoff += (size_t)w;
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	interest(c, EPOLL_CTL_MOD);
	congestion(c);
}

static void on_accept(int ln) {
	for (;;) {
		struct sockaddr_in addr;
		socklen_t alen = sizeof addr;
		int fd = accept4(ln, (struct sockaddr *)&addr, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				perror("accept4");
			return;
		}
		if (nclients == MAX_CLIENTS) {
			close(fd);
			continue;
		}
		int one = 1; /* as Go does by default */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct client *c = calloc(1, sizeof *c);
		if (c == NULL)
			die("calloc");
		c->fd = fd;
		inet_ntop(AF_INET, &addr.sin_addr, c->ip, sizeof c->ip);
		c->slot = nclients;
		clients[nclients++] = c;
		interest(c, EPOLL_CTL_ADD);
		if (deliver(c, welcome, sizeof welcome - 1) < 0)
			drop(c);
	}
}

int main(void) {
	signal(SIGPIPE, SIG_IGN);
	int ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ln < 0)
		die("socket");
	struct sockaddr_in addr = {.sin_family = AF_INET};
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
			struct client *c = events[i].data.ptr;
			if (c == NULL) {
				on_accept(ln);
				continue;
			}
			if (c->slot < 0) /* dropped by an earlier event of this batch */
				continue;
			if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
				if (c->outlen != c->outoff) {
					on_writable(c);
					continue;
				}
			}
			if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				on_readable(c);
		}
		while (dead != NULL) {
			struct client *next = dead->next_dead;
			free(dead);
			dead = next;
		}
	}
}
