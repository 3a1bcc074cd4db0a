/*
 * fanfloor.c - the floor of fan-out on this machine: what one process
 * with no ring, no workers, no log and no checks can deliver, speaking as
 * much of chatd's plain protocol as bench/chatload uses.  bench/compare.sh
 * runs it beside chatd and Redis ("floor" in CMP_SERVERS), so that a
 * ratio to Redis can be read against what the machine itself allows.
 * With -F ("pfloor"), the floor of chatd's own design instead: a process
 * per client and a ring in shared memory, and nothing else (see below).
 *
 * One room, whatever its name.  A client names itself with "/nick NAME"
 * and enters the room with "/join #ROOM" (answered "*** you joined
 * #ROOM"); any other command is ignored; a line that is not a command goes
 * to every other client in the room as "<NAME> line".  Each pass of the
 * loop reads what every ready client sent, then writes each client's
 * lines of that pass in one write(), as chatd's workers and Redis batch
 * theirs.  A client whose unsent lines pass OUTMAX (it stopped reading)
 * is disconnected, as chatd would skip it ahead.
 *
 *	bench/fanfloor [-F] [-p port] [-c clients] [-w seconds]
 *
 * -F	a process per client, lines through a shared ring (default: one
 *	process, one epoll set)
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
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
	int dirty;		/* on the dirty list: output this pass */
	int polling_out;	/* EPOLLOUT asked for */
	struct client *dprev, *dnext;
	char nick[NICK];
	size_t inlen;
	char in[INBUF];
	char *out;
	size_t outlen, outoff, outcap;
};

static struct client **byfd;	/* by descriptor */
static int *room, members;	/* descriptors of the room's members */
static struct client *dirty;	/* clients with output this pass */
static int maxfd, ep;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
undirty(struct client *c)
{
	if (c->dprev != NULL)
		c->dprev->dnext = c->dnext;
	else
		dirty = c->dnext;
	if (c->dnext != NULL)
		c->dnext->dprev = c->dprev;
	c->dprev = c->dnext = NULL;
	c->dirty = 0;
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
		undirty(c);
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
		c->dirty = 1;
		c->dprev = NULL;
		c->dnext = dirty;
		if (dirty != NULL)
			dirty->dprev = c;
		dirty = c;
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
	struct client *c;

	/* bounded: each client is on the list once */
	while ((c = dirty) != NULL) {
		undirty(c);
		if (flush(c) == -1)
			drop(c);
	}
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
		if (c->member < 0) {
			c->member = members;
			room[members++] = c->fd;
		}
		k = snprintf(msg, sizeof(msg), "*** you joined %.*s\r\n",
		    NICK, s + 6);
		if (append(c, msg, (size_t)k) == -1) {
			drop(c);
			return -1;
		}
		return 0;
	}
	if (s[0] == '/' || c->member < 0)
		return 0;
	k = snprintf(msg, sizeof(msg), "<%s> %.*s\r\n", c->nick, (int)n, s);
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

/*
 * ---- -F: a process per client, as chatd, and nothing else ----
 *
 * The parent accepts and forks; each child serves its one client.  A line
 * a child reads goes, formatted, into a ring of SLOTS slots in memory all
 * share (a shared anonymous mapping made before the forks): the writer
 * takes a number with one atomic add, fills the slot and stamps it; once
 * the lines of one read are in, it wakes, with one futex each, the
 * members asleep.  A child drains the ring from where it was into one
 * buffer, sends it, and sleeps on its own futex word once there is
 * nothing to do, after saying so; its client's input wakes it by SIGIO.
 * It reads the ring ahead at start and runs SCHED_BATCH, as chatd's
 * workers.  No lock, no log, no checks, no slow-reader notice (a reader
 * lapped skips ahead): what a process per client costs when the rest
 * costs nothing.
 */
#define SLOTS 16384	/* 2 MiB, as chatd's ring by default (2.6) */
#define SLOT_LINE 112
#define OUTCAP (64 * 1024)

struct fslot {
	_Atomic uint64_t stamp;	/* line number + 1 once filled, 0 meanwhile */
	uint32_t len;
	uint32_t from;		/* the writer's member index */
	char line[SLOT_LINE];
};

struct fmember {
	_Alignas(64) _Atomic uint32_t word; /* futex: bumped to wake it */
	_Atomic int asleep;
	_Atomic int joined;
};

struct fshared {
	_Atomic uint64_t head;	/* the next line's number */
	_Atomic int top;	/* members in use are below it */
	struct fmember m[];
};

static struct fshared *fs;
static struct fslot *fslots;
static struct fmember *me;
static volatile sig_atomic_t input;

static long
futex(_Atomic uint32_t *w, int op, uint32_t v)
{
	return syscall(SYS_futex, w, op, v, NULL, NULL, 0);
}

static void
on_sigio(int sig)
{
	(void)sig;
	input = 1;
	atomic_fetch_add(&me->word, 1);	/* a futex wait about to begin fails */
}

/* Sends all N bytes of BUF; -1 if the client is gone. */
static int
send_all(int fd, const char *buf, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = send(fd, buf, n, 0);
		if (k > 0) {
			buf += k;
			n -= (size_t)k;
		} else if (k == -1 && errno == EINTR) {
			continue;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Puts line S (N bytes) of member IDX in the ring. */
static void
fpublish(uint32_t idx, const char *s, size_t n)
{
	uint64_t seq = atomic_fetch_add(&fs->head, 1);
	struct fslot *sl = &fslots[seq % SLOTS];

	atomic_store_explicit(&sl->stamp, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	if (n > SLOT_LINE)
		n = SLOT_LINE;
	memcpy(sl->line, s, n);
	sl->len = (uint32_t)n;
	sl->from = idx;
	atomic_store(&sl->stamp, seq + 1);	/* seq_cst: then read asleep */
}

/* After the lines of one read are in: wakes, once, every member asleep
 * in the room but IDX. */
static void
fwake(uint32_t idx)
{
	int i, top = atomic_load(&fs->top);

	atomic_thread_fence(memory_order_seq_cst);
	for (i = 0; i < top; i++) {
		struct fmember *o = &fs->m[i];

		if ((uint32_t)i != idx && atomic_load(&o->asleep) &&
		    atomic_load(&o->joined) && atomic_exchange(&o->asleep, 0)) {
			atomic_fetch_add(&o->word, 1);
			futex(&o->word, FUTEX_WAKE, 1);
		}
	}
}

/* Whether line NEXT is in the ring, ready to read. */
static int
ready_at(uint64_t next)
{
	return next < atomic_load(&fs->head) &&
	    atomic_load(&fslots[next % SLOTS].stamp) == next + 1;
}

/* Member IDX's process: serves client FD until it leaves. */
static void
fchild(int fd, uint32_t idx)
{
	struct sigaction sa;
	char in[INBUF], nick[NICK], msg[INBUF + NICK + 8], *out, *p, *nl;
	size_t inlen = 0, olen;
	uint64_t next = 0, head, s1;
	int joined = 0, busy, published, one = 1;
	struct sched_param sp;
	ssize_t k;
	unsigned sum = 0;

	me = &fs->m[idx];
	snprintf(nick, sizeof(nick), "m%u", idx);
	/* as chatd's workers: a wake-up does not preempt the waker, which
	 * goes on publishing, so the woken find more lines when they run */
	memset(&sp, 0, sizeof(sp));
	sched_setscheduler(0, SCHED_BATCH, &sp);
	if ((out = malloc(OUTCAP)) == NULL)
		return;
	/*
	 * As chatd's workers: the ring mapped in one call, then a byte of
	 * each page read, for hypervisors that make a first access to a page
	 * another process wrote dear (BENCHMARKS.md, make pagecost)
	 */
#ifdef MADV_POPULATE_READ
	madvise(fslots, (size_t)SLOTS * sizeof(struct fslot),
	    MADV_POPULATE_READ);
#endif
	for (k = 0; k < (ssize_t)(SLOTS * sizeof(struct fslot)); k += 4096)
		sum += ((volatile char *)fslots)[k];
	(void)sum;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigio;	/* no SA_RESTART: it ends a wait */
	sigaction(SIGIO, &sa, NULL);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETOWN, getpid());
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
	input = 1;
	if (send_all(fd, WELCOME, sizeof(WELCOME) - 1) == -1)
		return;
	for (;;) {
		uint32_t v = atomic_load(&me->word);

		busy = 0;
		while (input) {
			input = 0;
			k = recv(fd, in + inlen, INBUF - inlen, MSG_DONTWAIT);
			if (k == 0 || (k == -1 && errno != EAGAIN &&
			    errno != EINTR))
				return;
			if (k < 0)
				break;
			input = 1;	/* read again until EAGAIN */
			busy = 1;
			published = 0;
			inlen += (size_t)k;
			p = in;
			while ((nl = memchr(p, '\n', inlen - (size_t)(p - in)))
			    != NULL) {
				size_t n = (size_t)(nl - p);

				if (n > 0 && p[n - 1] == '\r')
					n--;
				p[n] = '\0';
				if (strncmp(p, "/nick ", 6) == 0) {
					snprintf(nick, sizeof(nick), "%s", p + 6);
				} else if (strncmp(p, "/join ", 6) == 0) {
					if (!joined) {
						next = atomic_load(&fs->head);
						atomic_store(&me->joined, 1);
						joined = 1;
					}
					n = (size_t)snprintf(msg, sizeof(msg),
					    "*** you joined %.*s\r\n", NICK,
					    p + 6);
					if (send_all(fd, msg, n) == -1)
						return;
				} else if (p[0] != '/' && joined) {
					n = (size_t)snprintf(msg, sizeof(msg),
					    "<%s> %s\r\n", nick, p);
					fpublish(idx, msg, n);
					published = 1;
				}
				p = nl + 1;
			}
			if (published)	/* once for all the lines read */
				fwake(idx);
			if (p == in && inlen == INBUF)
				return;	/* a line longer than the buffer */
			inlen -= (size_t)(p - in);
			memmove(in, p, inlen);
		}
		if (joined) {
			head = atomic_load(&fs->head);
			if (head - next > SLOTS)
				next = head - SLOTS;	/* lapped: skip ahead */
			olen = 0;
			while (next < head && olen + SLOT_LINE <= OUTCAP) {
				struct fslot *sl = &fslots[next % SLOTS];
				uint32_t n, from;

				s1 = atomic_load_explicit(&sl->stamp,
				    memory_order_acquire);
				if (s1 < next + 1)
					break;	/* not filled yet */
				n = sl->len;
				from = sl->from;
				if (n > SLOT_LINE)
					n = SLOT_LINE;
				memcpy(out + olen, sl->line, n);
				atomic_thread_fence(memory_order_acquire);
				if (s1 == next + 1 && from != idx &&
				    atomic_load_explicit(&sl->stamp,
				    memory_order_relaxed) == s1)
					olen += n;	/* else overwritten: lost */
				next++;
			}
			if (olen > 0) {
				if (send_all(fd, out, olen) == -1)
					return;
				busy = 1;
			}
		}
		if (busy)
			continue;
		atomic_store(&me->asleep, 1);
		if (input || (joined && ready_at(next))) {
			atomic_store(&me->asleep, 0);
			continue;
		}
		futex(&me->word, FUTEX_WAIT, v);
		atomic_store(&me->asleep, 0);
	}
}

static void
on_sigchld(int sig)
{
	(void)sig;
}

/* The parent of -F: accepts and forks a member per client, reaps them. */
static int
run_forked(int lfd, int clients, time_t until)
{
	size_t size = sizeof(struct fshared) +
	    (size_t)clients * sizeof(struct fmember) +
	    (size_t)SLOTS * sizeof(struct fslot);
	struct pollfd pfd = {lfd, POLLIN, 0};
	struct sigaction sa;
	pid_t *pids, pid, parent = getpid();
	int fd, i, top = 0;

	fs = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc((size_t)clients, sizeof(*pids));
	if (fs == MAP_FAILED || pids == NULL) {
		perror("fanfloor");
		return 1;
	}
	memset(fs, 0, size);	/* every page there before the forks */
	fslots = (struct fslot *)(void *)&fs->m[clients]; /* 64-aligned */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	while (!stop && time(NULL) < until) {
		poll(&pfd, 1, 1000);
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			for (i = 0; i < top; i++)
				if (pids[i] == pid) {
					pids[i] = 0;
					atomic_store(&fs->m[i].joined, 0);
				}
		/* bounded: the backlog, and the members */
		while (!stop && (fd = accept4(lfd, NULL, NULL, 0)) >= 0) {
			for (i = 0; i < clients && pids[i] != 0; i++)
				;
			if (i == clients) {
				close(fd);
				continue;
			}
			atomic_store(&fs->m[i].asleep, 0);
			atomic_store(&fs->m[i].joined, 0);
			if ((pid = fork()) == 0) {
				close(lfd);
				close(ep);
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() != parent)
					_exit(0);
				signal(SIGTERM, SIG_DFL);
				signal(SIGINT, SIG_DFL);
				signal(SIGCHLD, SIG_DFL);
				fchild(fd, (uint32_t)i);
				_exit(0);
			}
			close(fd);
			if (pid == -1)
				continue;
			pids[i] = pid;
			if (i + 1 > top)
				atomic_store(&fs->top, top = i + 1);
		}
	}
	for (i = 0; i < top; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (i = 0; i < top; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	free(pids);
	munmap(fs, size);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fanfloor [-F] [-p port] [-c clients] "
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
	int lfd, n, i, opt, one = 1, forked = 0;

	while ((opt = getopt(argc, argv, "Fp:c:w:")) != -1) {
		char *e;
		long v;

		if (opt == 'F') {
			forked = 1;
			continue;
		}
		if (opt == '?')
			usage();
		v = strtol(optarg, &e, 10);

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
	if (byfd == NULL || room == NULL) {
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
	if (forked)
		return run_forked(lfd, (int)clients, until);
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
