/*
 * chatload.c - how many lines per second a few chatd clients exchange.
 *
 * N clients connect to one chatd on loopback; each sends M lines flat out,
 * every line carrying its sender, its number and its CLOCK_MONOTONIC send
 * time.  A sender keeps at most W lines in flight (sent, not yet seen by
 * every other client), so the run measures the daemon rather than how much
 * the kernel buffers.  Prints lines sent per second, deliveries per second
 * (lines received by all clients together) and the latency from send to
 * receive (p50, p99, max), and any line lost or out of order.
 *
 *	bench/chatload [-c clients] [-m lines] [-w window] [-z stalled]
 *	    [-p port] [host]
 *
 * With -z, that many more clients join the same room and then never read
 * a byte (with a small receive buffer), to show what a stalled client
 * costs the others: compare the figures with -z 0.
 *
 * Each client first joins a room named after this run, so what others say
 * elsewhere does not count.  Only ever talks to the loopback addresses; every
 *loop is bounded by the line count and an overall time limit (-t seconds,
 *default 60).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 64

struct conn {
	int fd;
	long sent;	 /* lines sent */
	long got[MAXC];	 /* lines received from each sender */
	long next[MAXC]; /* next number expected from each */
	int ready;	 /* saw its own /nick confirmed */
	int joins;	 /* stalled clients seen joining */
	size_t len;
	char buf[65536];
};

static struct conn cl[MAXC];
static int nclients = 3, window = 64, nstalled;
static long lines = 100000;
static long bad, missed;
static double *lat;
static size_t nlat;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
dial_rcvbuf(const char *host, int port, int rcvbuf);

static int
dial(const char *host, int port)
{
	return dial_rcvbuf(host, port, 0);
}

static int
dial_rcvbuf(const char *host, int port, int rcvbuf)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	int fd, one = 1;

	memset(&s6, 0, sizeof(s6));
	memset(&s4, 0, sizeof(s4));
	if (inet_pton(AF_INET, host, &s4.sin_addr) == 1) {
		if (strncmp(host, "127.", 4) != 0)
			return -1;
		s4.sin_family = AF_INET;
		s4.sin_port = htons((uint16_t)port);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd != -1 && rcvbuf > 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			    sizeof(rcvbuf));
		if (fd == -1 || connect(fd, (void *)&s4, sizeof(s4)) == -1)
			return -1;
	} else if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&s6.sin6_addr)) {
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)port);
		fd = socket(AF_INET6, SOCK_STREAM, 0);
		if (fd != -1 && rcvbuf > 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			    sizeof(rcvbuf));
		if (fd == -1 || connect(fd, (void *)&s6, sizeof(s6)) == -1)
			return -1;
	} else {
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Whether every other client has seen line SEQ of sender I. */
static int
seen_by_all(int i, long seq)
{
	int k;

	for (k = 0; k < nclients; k++)
		if (k != i && cl[k].got[i] <= seq)
			return 0;
	return 1;
}

static void
on_line(struct conn *c, char *line, double t)
{
	int from;
	long seq;
	double sent;
	char *p;

	if (strstr(line, "*** you joined #load-") != NULL)
		c->ready = 1;
	if (strstr(line, "*** stalled") != NULL && strstr(line, " joined #load-"))
		c->joins++;
	if (!c->ready)
		return; /* nothing before our own room counts */
	if (strncmp(line, "*** you missed ", 15) == 0) {
		missed += atol(line + 15);
		return;
	}
	if ((p = strstr(line, "> L ")) == NULL)
		return;
	if (sscanf(p + 4, "%d %ld %lf", &from, &seq, &sent) != 3 || from < 0 ||
	    from >= nclients) {
		bad++;
		return;
	}
	if (seq != c->next[from])
		bad++;
	c->next[from] = seq + 1;
	c->got[from]++;
	if (nlat < (size_t)(lines * nclients * nclients))
		lat[nlat++] = t - sent;
}

static int
drain(struct conn *c)
{
	ssize_t n;
	char *nl, *start;
	double t;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	t = now();
	start = c->buf;
	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
		*nl = '\0';
		on_line(c, start, t);
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	struct pollfd pfd[MAXC];
	int stalled[MAXC];
	double t0, t1, limit = 60, deadline;
	long total, delivered = 0;
	int port = 6660, ch, i, k;
	char out[128];

	while ((ch = getopt(argc, argv, "c:m:w:p:t:z:")) != -1) {
		switch (ch) {
		case 'c':
			nclients = atoi(optarg);
			break;
		case 'm':
			lines = atol(optarg);
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			limit = atof(optarg);
			break;
		case 'z':
			nstalled = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: chatload [-c clients] [-m lines]"
			    " [-w window] [-z stalled] [-p port] [-t seconds]"
			    " [host]\n");
			return 1;
		}
	}
	if (optind < argc)
		host = argv[optind];
	if (nclients < 2 || nclients > MAXC || lines < 1 || window < 1 ||
	    nstalled < 0 || nstalled > MAXC) {
		fprintf(stderr, "chatload: bad numbers\n");
		return 1;
	}
	lat = calloc((size_t)(lines * nclients * nclients), sizeof(double));
	for (i = 0; i < nclients; i++) {
		if ((cl[i].fd = dial(host, port)) == -1) {
			fprintf(stderr,
			    "chatload: cannot connect to %s port %d "
			    "(loopback only)\n",
			    host, port);
			return 1;
		}
	}
	/* wait until each has seen the last client join: all are ready */
	deadline = now() + 10;
	for (i = 0; i < nclients; i++) {
		/* a room of our own: no backlog of an earlier run */
		snprintf(out, sizeof(out), "/nick load%d\n/join #load-%ld\n", i,
		    (long)getpid());
		if (write(cl[i].fd, out, strlen(out)) < 0)
			return 1;
	}
	for (i = 0; i < nclients; i++) {
		pfd[0].fd = cl[i].fd;
		pfd[0].events = POLLIN;
		while (!cl[i].ready && now() < deadline)
			if (poll(pfd, 1, 100) == 1 && drain(&cl[i]) == -1)
				return 1;
		if (!cl[i].ready) {
			fprintf(stderr, "chatload: client %d never ready\n", i);
			return 1;
		}
	}
	/* the stalled ones join the room, then read nothing ever again */
	for (i = 0; i < nstalled; i++) {
		if ((stalled[i] = dial_rcvbuf(host, port, 4096)) == -1)
			return 1;
		snprintf(out, sizeof(out), "/nick stalled%d\n/join #load-%ld\n",
		    i, (long)getpid());
		if (write(stalled[i], out, strlen(out)) < 0)
			return 1;
	}
	if (nstalled > 0) {
		/* their joins reach the others before the clock starts */
		for (i = 0; i < nclients; i++) {
			pfd[0].fd = cl[i].fd;
			pfd[0].events = POLLIN;
			while (cl[i].joins < nstalled && now() < deadline + 10)
				if (poll(pfd, 1, 100) == 1 &&
				    drain(&cl[i]) == -1)
					return 1;
		}
	}
	total = lines * nclients;
	t0 = now();
	deadline = t0 + limit;
	while (now() < deadline) {
		long done = 0;

		for (i = 0; i < nclients; i++) {
			/* send what the window allows, in one write */
			char batch[8192];
			size_t used = 0;

			while (cl[i].sent < lines &&
			    used < sizeof(batch) - 100 &&
			    (cl[i].sent < window ||
				seen_by_all(i, cl[i].sent - window))) {
				used += (size_t)snprintf(batch + used,
				    sizeof(batch) - used, "L %d %ld %.9f\n", i,
				    cl[i].sent, now());
				cl[i].sent++;
			}
			if (used > 0 &&
			    write(cl[i].fd, batch, used) != (ssize_t)used) {
				perror("chatload: write");
				return 1;
			}
			pfd[i].fd = cl[i].fd;
			pfd[i].events = POLLIN;
		}
		for (i = 0; i < nclients; i++)
			for (k = 0; k < nclients; k++)
				if (k != i)
					done += cl[i].got[k];
		if (done + missed >= total * (nclients - 1))
			break;
		if (poll(pfd, (nfds_t)nclients, 1000) <= 0)
			continue;
		for (i = 0; i < nclients; i++)
			if (pfd[i].revents & POLLIN && drain(&cl[i]) == -1) {
				fprintf(stderr, "chatload: connection lost\n");
				return 1;
			}
	}
	t1 = now();
	for (i = 0; i < nclients; i++)
		for (k = 0; k < nclients; k++)
			if (k != i)
				delivered += cl[i].got[k];
	qsort(lat, nlat, sizeof(double), cmp);
	printf("clients %d, lines %ld each, window %d: %.2f s\n", nclients,
	    lines, window, t1 - t0);
	printf("sent       %10.0f lines/s\n", (double)total / (t1 - t0));
	printf("delivered  %10.0f lines/s (%ld deliveries)\n",
	    (double)delivered / (t1 - t0), delivered);
	if (nlat > 0)
		printf("latency    p50 %.1f us, p99 %.1f us, max %.1f us\n",
		    lat[nlat / 2] * 1e6, lat[nlat * 99 / 100] * 1e6,
		    lat[nlat - 1] * 1e6);
	printf("missed     %ld (announced by the server), out of order %ld\n",
	    missed, bad);
	if (nstalled > 0)
		printf("stalled    %d client%s in the room reading nothing\n",
		    nstalled, nstalled == 1 ? "" : "s");
	for (i = 0; i < nclients; i++)
		close(cl[i].fd);
	for (i = 0; i < nstalled; i++)
		close(stalled[i]);
	free(lat);
	return delivered + missed == total * (nclients - 1) ? 0 : 2;
}
