/*
 * fanfloor.c - the floor of fan-out on this machine: what one process
 * with no ring, no workers, no log and no checks can deliver, speaking as
 * much of chatd's plain protocol as bench/chatload uses.  bench/compare.sh
 * runs it beside chatd and Redis ("floor" in CMP_SERVERS), so that a
 * ratio to Redis can be read against what the machine itself allows.
 *
 * One room, named by the first to join it while it is empty.  A client
 * names itself with "/nick NAME" and enters the room with "/join #ROOM"
 * (answered "*** you joined #ROOM"); any other command is ignored; a line
 * that is not a command goes to every other client in the room as
 * "<NAME> line".  Each pass of the loop reads what every
 * ready client sent, then writes each client's lines of that pass in one
 * write(), as chatd's workers and Redis batch theirs.  A client whose
 * unsent lines pass OUTMAX (it stopped reading) is disconnected, as chatd
 * would skip it ahead.
 *
 *	bench/fanfloor [-p port] [-c clients] [-w seconds]
 *
 * -p	port on 127.0.0.1 (default 0: any free one)
 * -c	clients at most (default 11000)
 * -w	exits after this many seconds (default 3600)
 *
 * Prints "listening on 127.0.0.1 port N" once it listens, and runs until
 * SIGTERM, SIGINT or the -w limit.  Only ever listens on the loopback
 * address; every loop is bounded by the clients and their buffers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INBUF 8192		/* a client's unread input */
#define OUTMAX (16 << 20)	/* a client's unsent output at most */
#define NICK 32
#define EVENTS 256
#define LISTEN_TAG UINT32_MAX
#define WELCOME "*** Welcome to chatd's fan-out floor\n"

struct client {
	int fd;
	int member;		/* index in room[], -1: not in the room */
	int dirty;		/* 1 + its index in dirty[]; 0: not there */
	int polling_out;	/* EPOLLOUT asked for */
	char nick[NICK];
	size_t inlen;
	char in[INBUF];
	char *out;
	size_t outlen, outoff, outcap;
};

static struct client **byfd;	/* by descriptor */
static int *room, members;	/* descriptors of the room's members */
static int *dirty, ndirty;	/* descriptors with output this pass */
static char roomname[NICK];
static int maxfd, ep;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
drop(struct client *c)
{
	if (c->member >= 0) {
		int last = room[--members];

		room[c->member] = last;
		byfd[last]->member = c->member;
	}
	if (c->dirty)
		dirty[c->dirty - 1] = -1;
	close(c->fd);
	byfd[c->fd] = NULL;
	free(c->out);
	free(c);
}

/* Appends N bytes to C's output; -1 if that passes OUTMAX. */
static int
append(struct client *c, const char *s, size_t n)
{
	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *p;

		if (c->outoff > 0) {	/* slide the unsent part down first */
			memmove(c->out, c->out + c->outoff,
			    c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
		}
		while (cap < c->outlen + n)
			cap *= 2;
		if (cap > OUTMAX)
			return -1;
		if (cap > c->outcap) {
			if ((p = realloc(c->out, cap)) == NULL)
				return -1;
			c->out = p;
			c->outcap = cap;
		}
	}
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
	if (!c->dirty) {
		dirty[ndirty++] = c->fd;
		c->dirty = ndirty;
	}
	return 0;
}

/* Writes what C has unsent; asks for EPOLLOUT if the socket is full.
 * -1: C is gone. */
static int
flush(struct client *c)
{
	struct epoll_event ev;
	ssize_t k;

	while (c->outoff < c->outlen) {
		k = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (k > 0) {
			c->outoff += (size_t)k;
			continue;
		}
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1 && errno == EAGAIN) {
			if (!c->polling_out) {
				ev.events = EPOLLIN | EPOLLOUT;
				ev.data.u32 = (uint32_t)c->fd;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->polling_out = 1;
			}
			return 0;
		}
		return -1;
	}
	c->outoff = c->outlen = 0;
	if (c->polling_out) {
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)c->fd;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->polling_out = 0;
	}
	return 0;
}

static void
flush_all(void)
{
	int i;

	for (i = 0; i < ndirty; i++) {
		struct client *c;

		if (dirty[i] == -1)
			continue;
		c = byfd[dirty[i]];
		c->dirty = 0;
		if (flush(c) == -1)
			drop(c);
	}
	ndirty = 0;
}

/* One line of C (without its newline).  -1: C is gone. */
static int
line(struct client *c, char *s, size_t n)
{
	char msg[INBUF + NICK + 8];
	int i, k;

	if (n > 0 && s[n - 1] == '\r')
		s[--n] = '\0';
	if (strncmp(s, "/nick ", 6) == 0) {
		snprintf(c->nick, sizeof(c->nick), "%s", s + 6);
		return 0;
	}
	if (strncmp(s, "/join ", 6) == 0) {
		if (members == 0)	/* the room is whoever joins first */
			snprintf(roomname, sizeof(roomname), "%s", s + 6);
		if (c->member < 0 && strcmp(roomname, s + 6) == 0) {
			c->member = members;
			room[members++] = c->fd;
		}
		k = snprintf(msg, sizeof(msg), c->member >= 0 ?
		    "*** you joined %s\n" : "*** one room only: %s\n",
		    roomname);
		if (append(c, msg, (size_t)k) == -1) {
			drop(c);
			return -1;
		}
		return 0;
	}
	if (s[0] == '/' || c->member < 0)
		return 0;
	k = snprintf(msg, sizeof(msg), "<%s> %.*s\n", c->nick, (int)n, s);
	for (i = 0; i < members; i++) {
		struct client *o = byfd[room[i]];

		if (o == c)
			continue;
		if (append(o, msg, (size_t)k) == -1) {
			fprintf(stderr, "fanfloor: %s stopped reading: "
			    "disconnected\n", o->nick);
			drop(o);
			i--;	/* the last member took its place */
		}
	}
	return 0;
}

/* Reads what C sent and acts on every whole line.  -1: C is gone. */
static int
readable(struct client *c)
{
	ssize_t k;
	char *p, *nl, *end;

	k = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
	if (k == 0 || (k == -1 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (k < 0)
		return 0;
	c->inlen += (size_t)k;
	p = c->in;
	end = c->in + c->inlen;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		*nl = '\0';
		if (line(c, p, (size_t)(nl - p)) == -1)
			return 1;	/* dropped already: its output was full */
		p = nl + 1;
	}
	if (p == c->in && c->inlen == INBUF)
		return -1;	/* a line longer than the buffer */
	memmove(c->in, p, (size_t)(end - p));
	c->inlen = (size_t)(end - p);
	return 0;
}

static void
accept_all(int lfd)
{
	struct epoll_event ev;
	struct client *c;
	int fd, one = 1;

	/* bounded: the backlog, and maxfd */
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		if (fd >= maxfd || (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		/* as chatd and Redis: a line leaves at once, not after the
		 * client's delayed ACK of the one before */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->member = -1;
		snprintf(c->nick, sizeof(c->nick), "fd%d", fd);
		byfd[fd] = c;
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			drop(c);
			continue;
		}
		if (append(c, WELCOME, sizeof(WELCOME) - 1) == -1)
			drop(c);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: fanfloor [-p port] [-c clients] "
	    "[-w seconds]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[EVENTS], ev;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct sigaction sa;
	struct rlimit rl;
	long port = 0, clients = 11000, secs = 3600;
	time_t until;
	int lfd, n, i, opt, one = 1;

	while ((opt = getopt(argc, argv, "p:c:w:")) != -1) {
		char *e;
		long v = strtol(optarg, &e, 10);

		if (*optarg == '\0' || *e != '\0' || v < 0)
			usage();
		if (opt == 'p' && v <= 65535)
			port = v;
		else if (opt == 'c' && v >= 1 && v <= 100000)
			clients = v;
		else if (opt == 'w' && v >= 1)
			secs = v;
		else
			usage();
	}
	if (optind != argc)
		usage();
	maxfd = (int)clients + 16;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)maxfd) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)maxfd ? rl.rlim_max :
		    (rlim_t)maxfd;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	byfd = calloc((size_t)maxfd, sizeof(*byfd));
	room = calloc((size_t)maxfd, sizeof(*room));
	dirty = calloc((size_t)maxfd, sizeof(*dirty));
	if (byfd == NULL || room == NULL || dirty == NULL) {
		perror("fanfloor");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1 ||
	    (ep = epoll_create1(0)) == -1) {
		perror("fanfloor");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.u32 = LISTEN_TAG;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("listening on 127.0.0.1 port %u\n", ntohs(sin.sin_port));
	fflush(stdout);

	until = time(NULL) + secs;
	while (!stop && time(NULL) < until) {
		n = epoll_wait(ep, evs, EVENTS, 1000);
		for (i = 0; i < n; i++) {
			uint32_t fd = evs[i].data.u32;
			struct client *c;

			if (fd == LISTEN_TAG) {
				accept_all(lfd);
				continue;
			}
			if ((c = byfd[fd]) == NULL)
				continue;
			if ((evs[i].events & EPOLLOUT) && flush(c) == -1) {
				drop(c);
				continue;
			}
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    readable(c) == -1)
				drop(c);
		}
		flush_all();
	}
	for (i = 0; i < maxfd; i++)
		if (byfd[i] != NULL)
			drop(byfd[i]);
	return 0;
}
