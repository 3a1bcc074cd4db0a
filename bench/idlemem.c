/*
 * idlemem.c - hold many idle chatd clients open so their memory can be
 * measured.
 *
 * Opens N connections to a chatd on loopback, each from its own
 * 127.0.0.0/8 source address group (so the ephemeral ports of one address
 * are never the limit), waits until each has read "*** Welcome to chatd",
 * then keeps them open and silent, reading and dropping whatever the
 * server sends so no socket buffer fills.  Once every client is greeted
 * and the server has been quiet for a moment it prints one line
 *
 *	ready clients=N greeted=G failed=F pid=PID
 *
 * and holds until its standard input reaches end of file or the hold
 * limit passes; then it closes every connection and exits, 0 if every
 * client was greeted and none was dropped while held, 1 otherwise.
 *
 *	bench/idlemem [-c clients] [-p port] [-t seconds] [-w seconds]
 *	    [-j window] [-l]
 *
 * -c	clients to open (default 1000)
 * -p	the daemon's port on 127.0.0.1 (default 6660)
 * -t	limit for connecting and greeting all of them (default 300 s)
 * -w	limit for holding them (default 600 s)
 * -j	connections waiting for their greeting at once (default 64)
 * -l	once greeted, leave #lobby (one /part line), so that N clients do
 *	not make N*N/2 join notices; the client is idle after that
 *
 * One process, one epoll set, non-blocking sockets.  Only ever talks to
 * the loopback addresses; every loop is bounded by the client count and
 * the time limits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PER_ADDR 250	/* connections from one source address */
#define QUIET_MS 1000	/* nothing read this long: the server is done */
#define HEAD 64		/* bytes kept until the greeting is seen */
#define GREETING "*** Welcome to chatd"
#define STDIN_TAG UINT32_MAX

enum state { UNUSED, WAITING, GREETED, FAILED };

struct conn {
	int fd;
	unsigned char state;
	unsigned char len;
	char head[HEAD];
};

static struct conn *conns;
static int nconns = 1000, port = 6660, window = 64, leave;
static long connect_s = 300, hold_s = 600;
static int ep;
static int greeted, failed, pending, dropped;
static char scratch[65536];

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: idlemem [-l] [-c clients] [-p port] "
			"[-t seconds] [-w seconds] [-j window]\n");
	exit(2);
}

static long
number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

/* A non-blocking connection from 127.0.0.(2 + X / PER_ADDR) to the port. */
static int
open_one(int x)
{
	struct sockaddr_in src, dst;
	struct epoll_event ev;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(2 + x / PER_ADDR));
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1 ||
	    (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
		errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u32 = (uint32_t)x;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
lose(struct conn *c)
{
	if (c->state == GREETED)
		dropped++;
	else if (c->state == WAITING) {
		pending--;
		failed++;
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = FAILED;
}

/* Reads what C has; returns the bytes read, 0 if nothing was waiting. */
static size_t
drain(struct conn *c)
{
	size_t total = 0, take;
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		n = read(c->fd, scratch, sizeof(scratch));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			lose(c);
			break;
		}
		total += (size_t)n;
		if (c->state != WAITING)
			continue;
		take = (size_t)n < (size_t)(HEAD - 1 - c->len)
		    ? (size_t)n
		    : (size_t)(HEAD - 1 - c->len);
		memcpy(c->head + c->len, scratch, take);
		c->len = (unsigned char)(c->len + take);
		c->head[c->len] = '\0';
		if (c->len >= sizeof(GREETING) - 1) {
			pending--;
			if (strncmp(c->head, GREETING, sizeof(GREETING) - 1)
			    == 0) {
				c->state = GREETED;
				greeted++;
				if (leave &&
				    write(c->fd, "/part\r\n", 7) != 7)
					lose(c);
			} else {
				fprintf(stderr, "idlemem: refused: %.*s\n",
				    (int)strcspn(c->head, "\r\n"), c->head);
				c->state = FAILED;
				failed++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				break;
			}
		}
	}
	return total;
}

/*
 * Waits up to MS for events and handles them.  Returns 1 if something was
 * read, -1 at end of file on standard input, 0 otherwise.
 */
static int
poll_once(int ms)
{
	struct epoll_event evs[256];
	int n, i, got = 0;

	n = epoll_wait(ep, evs, 256, ms);
	for (i = 0; i < n; i++) {
		if (evs[i].data.u32 == STDIN_TAG) {
			ssize_t r = read(0, scratch, sizeof(scratch));

			if (r == 0 || (r == -1 && errno != EINTR &&
					  errno != EAGAIN)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
				got = -1;
			}
			continue;
		}
		if (conns[evs[i].data.u32].fd != -1 &&
		    drain(&conns[evs[i].data.u32]) > 0 && got == 0)
			got = 1;
	}
	return got;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev;
	struct rlimit rl;
	long long start, quiet_since, deadline;
	int opt, opened = 0, i, r, eof = 0;

	while ((opt = getopt(argc, argv, "c:j:lp:t:w:")) != -1)
		switch (opt) {
		case 'c':
			nconns = (int)number(optarg, 1, 60000);
			break;
		case 'j':
			window = (int)number(optarg, 1, 4096);
			break;
		case 'l':
			leave = 1;
			break;
		case 'p':
			port = (int)number(optarg, 1, 65535);
			break;
		case 't':
			connect_s = number(optarg, 1, 86400);
			break;
		case 'w':
			hold_s = number(optarg, 0, 86400);
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)nconns + 16) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)nconns + 16
		    ? rl.rlim_max
		    : (rlim_t)nconns + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)nconns + 16) {
			fprintf(stderr,
			    "idlemem: %d clients need %d descriptors, "
			    "the limit is %lu (ulimit -n)\n",
			    nconns, nconns + 16, (unsigned long)rl.rlim_cur);
			return 1;
		}
	}
	if ((conns = calloc((size_t)nconns, sizeof(*conns))) == NULL ||
	    (ep = epoll_create1(0)) == -1) {
		perror("idlemem");
		return 1;
	}
	for (i = 0; i < nconns; i++)
		conns[i].fd = -1;

	/* connect, a window at a time, until every client is greeted */
	start = now_ms();
	deadline = start + connect_s * 1000;
	while (greeted + failed < nconns && now_ms() < deadline) {
		while (opened < nconns && pending < window) {
			conns[opened].state = WAITING;
			pending++;
			if ((conns[opened].fd = open_one(opened)) == -1) {
				perror("idlemem: connect");
				conns[opened].state = FAILED;
				pending--;
				failed++;
			}
			opened++;
		}
		poll_once(100);
	}
	fprintf(stderr, "idlemem: %d of %d greeted in %.1f s, %d failed\n",
	    greeted, nconns, (double)(now_ms() - start) / 1000.0, failed);

	/* let the server finish what it sends them (joins), bounded */
	quiet_since = now_ms();
	while (now_ms() - quiet_since < QUIET_MS && now_ms() < deadline)
		if (poll_once(100) > 0)
			quiet_since = now_ms();

	ev.events = EPOLLIN;
	ev.data.u32 = STDIN_TAG;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == -1)
		eof = 1; /* not pollable (a file, /dev/null): hold by time */
	printf("ready clients=%d greeted=%d failed=%d pid=%ld\n", nconns,
	    greeted, failed, (long)getpid());
	fflush(stdout);

	deadline = now_ms() + hold_s * 1000;
	while (now_ms() < deadline) {
		r = poll_once(eof ? 200 : 1000);
		if (r == -1)
			break;
	}

	for (i = 0; i < nconns; i++)
		if (conns[i].fd != -1)
			close(conns[i].fd);
	close(ep);
	free(conns);
	if (dropped > 0)
		fprintf(stderr, "idlemem: %d clients dropped while held\n",
		    dropped);
	return greeted == nconns && dropped == 0 ? 0 : 1;
}
