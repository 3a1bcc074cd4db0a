/*
 * main.c - chatd's master: options, start-up, the main loop, shutdown.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master.h"
#include "../common/log.h"
#include "../common/util.h"

#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define HAVE_SYS_RSEQ 1
#include <sys/rseq.h>
#include <sys/syscall.h>
#endif

#define SHUTDOWN_GRACE_MS 3000

#define OPTIONS "a:B:b:c:fF:hl:m:n:o:P:p:Ss:tu:Vvw:"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: chatd [-fhtVv] [-a maxperhost] [-B lines] [-b address] "
	    "[-c file]\n"
	    "             [-F facility]"
	    " [-l rate[:burst]] [-m maxclients] [-n name] "
	    "[-o key=value]\n"
	    "             [-P pidfile] [-p port] [-s slots] [-u user] "
	    "[-w seconds]\n"
	    "       chatd -S [-n name | -p port]\n");
}

static unsigned long
number(int opt, const char *arg, unsigned long min, unsigned long max)
{
	unsigned long v;

	if (parse_uint(arg, min, max, &v) == -1) {
		fprintf(stderr, "chatd: -%c %s: not a number from %lu to %lu\n",
		    opt, arg, min, max);
		exit(1);
	}
	return v;
}

/* -l RATE[:BURST]: lines a second and lines at once; -l 0 is no limit. */
static void
flood_option(struct config *cf, const char *arg)
{
	char rate[32], *colon;

	if (strlen(arg) >= sizeof(rate)) {
		fprintf(stderr, "chatd: -l %s: not RATE or RATE:BURST\n", arg);
		exit(1);
	}
	snprintf(rate, sizeof(rate), "%s", arg);
	if ((colon = strchr(rate, ':')) != NULL)
		*colon = '\0';
	cf->lim.flood_rate = (uint32_t)number('l', rate, 0, 100000);
	cf->lim.flood_burst = colon != NULL
	    ? (uint32_t)number('l', colon + 1, 1, 100000)
	    : DEFAULT_FLOOD_BURST;
}

/*
 * Applies the command line over CF.  Exits on a mistake in it: that can
 * only happen at start-up, since a reload reads the same command line.
 */
static void
parse_options(struct config *cf, int argc, char **argv)
{
	char err[1024];
	int ch;

	optind = 1;
	while ((ch = getopt(argc, argv, OPTIONS)) != -1) {
		switch (ch) {
		case 'a':
			cf->maxperhost = number(ch, optarg, 0, 100000);
			break;
		case 'B':
			cf->lim.backlog = (uint32_t)number(ch, optarg, 0, 100);
			break;
		case 'b':
			cf->bind = optarg;
			break;
		case 'f':
			cf->foreground = 1;
			break;
		case 'F':
			if ((cf->facility = log_facility_byname(optarg)) < 0) {
				fprintf(stderr,
				    "chatd: -F %s: unknown "
				    "facility (daemon, user, local0..local7)\n",
				    optarg);
				exit(1);
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'l':
			flood_option(cf, optarg);
			break;
		case 'm':
			cf->maxclients = number(ch, optarg, 1, 100000);
			break;
		case 'n':
			if (!config_name_valid(optarg)) {
				fprintf(stderr,
				    "chatd: -n %s: a name is 1 to "
				    "40 letters, digits or _.- "
				    "not starting with '.'\n",
				    optarg);
				exit(1);
			}
			cf->name = optarg;
			break;
		case 'o':
			if (config_option(cf, optarg, err, sizeof(err)) == -1) {
				fprintf(stderr, "chatd: -o %s\n", err);
				exit(1);
			}
			break;
		case 'c': /* taken before the file was read */
		case 't':
			break;
		case 'P':
			if (*optarg == '\0' || strlen(optarg) >= PIDPATH_MAX) {
				fprintf(stderr,
				    "chatd: -P: a path of 1 to %d bytes\n",
				    PIDPATH_MAX - 1);
				exit(1);
			}
			cf->pidfile = optarg;
			break;
		case 'p':
			number(ch, optarg, 0, 65535);
			cf->port = optarg;
			break;
		case 'S':
			cf->status = 1;
			break;
		case 's':
			cf->nslots = number(ch, optarg, 64, 1UL << 20);
			break;
		case 'u':
			cf->user = optarg;
			break;
		case 'V':
			printf("chatd %s\n", CHATD_VERSION);
			exit(0);
		case 'v':
			cf->verbose = 1;
			break;
		case 'w':
			cf->lim.send_timeout =
			    (uint32_t)number(ch, optarg, 0, 86400);
			break;
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(1);
	}
}

/*
 * The configuration: the defaults, then the file (-c, or DEFAULT_CONFIG if
 * it exists), then the command line over it.  Returns 0, or -1 with the
 * file's error in ERR.
 */
int
master_configure(struct config *cf, int argc, char **argv, char *err,
    size_t size)
{
	int ch;

	config_defaults(cf);
	opterr = 0;
	optind = 1;
	while ((ch = getopt(argc, argv, OPTIONS)) != -1) {
		if (ch == 'c') {
			cf->config = optarg;
			cf->config_given = 1;
		} else if (ch == 't') {
			cf->test_only = 1;
		}
	}
	opterr = 1;
	if (config_file(cf, cf->config, cf->config_given, err, size) == -1)
		return -1;
	parse_options(cf, argc, argv);
	return 0;
}

/*
 * -t: besides the syntax the file was read with, what a start needs that
 * can be checked without starting.  Returns the exit status.
 */
static int
config_test(struct config *cf)
{
	char *motd = NULL, err[600];
	int bad = 0;

	if (cf->user != NULL && getpwnam(cf->user) == NULL) {
		fprintf(stderr, "chatd: no user %s\n", cf->user);
		bad = 1;
	}
	if (cf->motd != NULL && motd_read(cf->motd, &motd, err,
				    sizeof(err)) == -1) {
		fprintf(stderr, "chatd: %s\n", err);
		bad = 1;
	}
	free(motd);
	if (bad)
		return 1;
	printf("chatd: configuration %s%s is valid\n", cf->config,
	    cf->config_given || access(cf->config, F_OK) == 0
		? ""
		: " (absent: the defaults)");
	return 0;
}

/* A start-up failure: logged, told to a waiting parent, exit 1. */
static void __attribute__((noreturn, format(printf, 2, 3)))
startup_fail(struct master *mp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s", msg);
	daemon_ready(mp, msg);
	pidfile_remove(mp);
	exit(1);
}

/*
 * Publishes a server message of TYPE to row TARGET (generation GEN) or to
 * TARGET_ALL, and wakes whoever wants it.
 */
void
master_notice(struct master *mp, int type, int target, uint32_t gen,
    const char *fmt, ...)
{
	struct msg m;
	va_list ap;
	int n;

	memset(&m, 0, offsetof(struct msg, text));
	m.type = (uint16_t)type;
	m.sender = -1;
	m.target = target;
	m.target_gen = gen;
	m.time_ms = wall_ms();
	strlcpy_(m.nick, "server", sizeof(m.nick));
	va_start(ap, fmt);
	n = vsnprintf(m.text, TEXT_MAX + 1, fmt, ap);
	va_end(ap);
	m.len = (uint16_t)(n < 0 ? 0 : n > TEXT_MAX ? TEXT_MAX : n);
	ring_wake(&mp->shm, &m, ring_publish(&mp->shm, &m), -1);
}

/* Writes the statistics line to syslog (SIGUSR1). */
void
master_stats(struct master *mp)
{
	struct shm_stats *st = &mp->shm.h->stats;

	log_info("stats clients=%u rooms=%u connections=%llu published=%llu "
		 "delivered=%llu drops=%llu repairs=%llu refused=%llu head=%llu "
		 "lock_takeovers=%llu",
	    mp->hot->children, mp->shm.h->rooms_in_use,
	    (unsigned long long)atomic_load(&st->connections),
	    (unsigned long long)atomic_load(&st->published),
	    (unsigned long long)atomic_load(&st->delivered),
	    (unsigned long long)atomic_load(&st->drops),
	    (unsigned long long)atomic_load(&st->repairs),
	    (unsigned long long)atomic_load(&st->refused),
	    (unsigned long long)ring_head(&mp->shm),
	    (unsigned long long)(atomic_load(&mp->shm.h->publock.takeovers) +
		atomic_load(&mp->shm.h->tablock.takeovers)));
}

static void
start(struct master *mp)
{
	struct shm_params sp;
	char name[48], path[sizeof(mp->pidpath)], why[600], *motd = NULL;
	pid_t live;
	int i, r;

	if (listen_open(mp) == 0)
		startup_fail(mp, "cannot listen on %s port %s; not starting",
		    mp->cf.bind ? mp->cf.bind : "any address", mp->cf.port);
	if (mp->cf.name != NULL)
		snprintf(name, sizeof(name), "%s", mp->cf.name);
	else
		snprintf(name, sizeof(name), "%d", listen_port(mp->lst[0].fd));
	snprintf(mp->segname, sizeof(mp->segname), "/chatd-%s", name);
	if (!mp->cf.foreground)
		mp->ready_fd = daemon_detach();
	if (mp->cf.pidfile != NULL)
		snprintf(path, sizeof(path), "%s", mp->cf.pidfile);
	else if (!mp->cf.foreground)
		snprintf(path, sizeof(path), "/run/chatd-%s.pid", name);
	else
		path[0] = '\0';
	if (path[0] != '\0' && (r = pidfile_open(mp, path)) != 0) {
		if (r == -2)
			startup_fail(mp,
			    "pidfile %s is locked: chatd is "
			    "running already",
			    path);
		startup_fail(mp, "cannot write pidfile %s: %s (use -P)", path,
		    strerror(errno));
	}
	/* read while we may still be root: /etc is ours to read then */
	if (motd_read(mp->cf.motd, &motd, why, sizeof(why)) == -1)
		startup_fail(mp, "%s; not starting", why);
	/* root's once we give root up: see copies.c */
	copies_open(mp);
	if (drop_privileges(mp, why, sizeof(why)) == -1)
		startup_fail(mp, "%s; not starting", why);
	sp.nrows = (uint32_t)mp->cf.maxclients;
	sp.nslots = (uint32_t)mp->cf.nslots;
	sp.lim = mp->cf.lim;
	sp.huge_pages = mp->cf.huge_pages;
	if (adopt_segment(mp, mp->segname)) {
		/* a master died and its workers live on: they are ours now */
	} else if (shm_create(&mp->shm, mp->segname, &sp, &live) == -1) {
		if (errno == EEXIST)
			startup_fail(mp,
			    "instance %s is running already "
			    "(master pid %ld)",
			    name, (long)live);
		startup_fail(mp, "cannot create shared memory %s: %s",
		    mp->segname, strerror(errno));
	}
	/* the slots' two mappings, which every worker inherits */
	if (shm_slots_read_only(&mp->shm) == -1)
		log_warn("worker slots stay writable error=\"%s\"",
		    strerror(errno));
	shm_set_motd(&mp->shm, motd);
	free(motd);
	atomic_store(&mp->shm.h->verbose, mp->cf.verbose);
	/* from here on the master's lines go through it (logproc.c) */
	logproc_start(mp);
	for (i = 0; i < mp->nlst; i++)
		log_notice("listening on %s", mp->lst[i].desc);
	log_notice("chatd started version=%s instance=%s segment=%s "
		   "size_kib=%zu max_clients=%lu",
	    CHATD_VERSION, name, mp->segname, mp->shm.size / 1024,
	    mp->cf.maxclients);
	daemon_ready(mp, NULL);
}

static const char *
signame(int sig)
{
	return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal";
}

/*
 * Waits up to TIMEOUT ms (-1: for ever) for a signal, a connection on a
 * listener (if LISTEN; their revents go to REV) or the exit of an adopted
 * worker, and handles the adopted workers that exited.
 */
static void
wait_events(struct master *mp, int listen, int timeout, short *rev)
{
	static struct pollfd *big; /* with adopted workers, rare */
	static size_t cap;
	struct pollfd *pfd = mp->hot->pollset;
	size_t need = 1 + MAX_LISTENERS + mp->nadopted;
	int i, nl = listen ? mp->nlst : 0, na, t = adopt_timeout(mp);

	if (need > sizeof(mp->hot->pollset) / sizeof(mp->hot->pollset[0])) {
		if (need > cap) {
			if ((big = realloc(big, need * sizeof(*big))) == NULL)
				fatal("poll set");
			cap = need;
		}
		pfd = big;
	}
	pfd[0].fd = signal_fd();
	pfd[0].events = POLLIN;
	for (i = 0; i < nl; i++) {
		pfd[1 + i].fd = mp->lst[i].fd;
		pfd[1 + i].events = POLLIN;
		pfd[1 + i].revents = 0;
	}
	na = adopt_pollfds(mp, pfd + 1 + nl);
	if (t >= 0 && (timeout < 0 || timeout > t))
		timeout = t;
	if (poll(pfd, (nfds_t)(1 + nl + na), timeout) == -1) {
		if (errno != EINTR)
			fatal("poll");
		return;
	}
	for (i = 0; rev != NULL && i < nl; i++)
		rev[i] = pfd[1 + i].revents;
	adopt_reap(mp, pfd + 1 + nl, na);
}

/* Runs until SIGTERM or SIGINT; returns the signal. */
static __attribute__((noinline)) int
serve(struct master *mp)
{
	struct master_hot *hot = mp->hot;
	short rev[MAX_LISTENERS];
	int i, sig, listen, timeout;
	uint64_t now;

	for (;;) {
		/* while accepting is paused, the listeners are left alone */
		now = now_ms();
		if (mp->cf.stats_interval > 0 && now >= hot->next_stats) {
			if (hot->next_stats > 0)
				master_stats(mp);
			hot->next_stats = now + mp->cf.stats_interval * 1000ULL;
		}
		if (mp->cf.stats_interval == 0)
			hot->next_stats = 0;
		listen = now >= hot->pause_until;
		timeout = listen ? -1 : (int)(hot->pause_until - now);
		if (hot->next_stats > 0 &&
		    (timeout < 0 || hot->next_stats - now < (uint64_t)timeout))
			timeout = (int)(hot->next_stats - now);
		memset(rev, 0, sizeof(rev));
		wait_events(mp, listen, timeout, rev);
		while ((sig = signal_next()) != 0) {
			switch (sig) {
			case SIGCHLD:
				reap_children(mp);
				break;
			case SIGTERM:
			case SIGINT:
				return sig;
			case SIGHUP:
				master_reload(mp);
				break;
			case SIGUSR1:
				master_stats(mp);
				break;
			}
		}
		for (i = 0; listen && i < mp->nlst; i++)
			if (rev[i] & (POLLIN | POLLERR))
				spawn_accept(mp, &mp->lst[i]);
	}
}

/* Waits until the workers are gone or DEADLINE (ms) has passed. */
static void
await_workers(struct master *mp, uint64_t deadline)
{
	uint64_t now;

	while (mp->hot->children > 0 && (now = now_ms()) < deadline) {
		wait_events(mp, 0, (int)(deadline - now), NULL);
		while (signal_next() != 0)
			;
		reap_children(mp);
	}
}

/*
 * Tells every client the server goes down, gives the workers a few seconds
 * to flush and exit, kills the rest, and removes the segment and pidfile.
 */
static void
stop(struct master *mp, int sig)
{
	uint32_t i;
	pid_t pid;

	log_notice("shutting down signal=%s clients=%u", signame(sig),
	    mp->hot->children);
	listen_close(mp);
	atomic_store(&mp->shm.h->shutting_down, 1);
	master_notice(mp, MSG_SHUTDOWN, TARGET_ALL, 0,
	    "server is shutting down; goodbye");
	await_workers(mp, now_ms() + SHUTDOWN_GRACE_MS);
	if (mp->hot->children > 0) {
		log_warnx("workers still running, killed workers=%u "
			  "grace_ms=%d",
		    mp->hot->children, SHUTDOWN_GRACE_MS);
		for (i = 0; i < mp->shm.h->nrows; i++)
			if ((pid = atomic_load(&mp->shm.rows[i].pid)) > 0)
				kill(pid, SIGKILL);
		await_workers(mp, now_ms() + SHUTDOWN_GRACE_MS);
	}
	shm_detach(&mp->shm);
	shm_unlink_name(mp->segname);
	pidfile_remove(mp);
	log_notice("chatd stopped");
}

/*
 * Keeps the C library's allocator off the program break: a page that
 * nobody may touch is mapped where the break would grow, so malloc(3)
 * takes its memory with mmap(2) instead, next to the libraries.  The break
 * lies up to a gigabyte past the binary, and every worker, forked with the
 * master's heap, paid a page-table page for it and often a second one for
 * its gigabyte; beside the libraries those are shared with theirs.  Must
 * run before the first malloc().  Harmless if refused: the heap stays.
 */
static void
heap_beside_libraries(void)
{
#ifdef MAP_FIXED_NOREPLACE
	void *brk = sbrk(0);
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t at;

	if (brk == (void *)-1 || page <= 0)
		return;
	/* the break grows by whole pages: the next boundary stops it */
	at = ((uintptr_t)brk + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	(void)mmap((void *)at, (size_t)page, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
#endif
}

/*
 * Turns the kernel's restartable sequences (rseq(2)) off for the master
 * and so for every process it forks.  glibc registers each thread's rseq
 * area, in the thread's descriptor, and the kernel then writes the CPU
 * it runs on there whenever the thread is scheduled after a move: in a
 * new worker, right after fork(), that write made it a private copy of
 * the master's page (BENCHMARKS.md).  chatd uses no restartable
 * sequences; the C library reads only the CPU number there, for
 * sched_getcpu(3), and asks the kernel when the area says none.  Failure
 * costs that page a worker, nothing else.
 */
static void
rseq_off(void)
{
#if defined(HAVE_SYS_RSEQ) && defined(SYS_rseq) && defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
	/* glibc 2.40 names the features' size, registers at least 32 */
	unsigned int len[2] = {__rseq_size, 32};
	void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
	int i;

	for (i = 0; i < 2 && __rseq_size > 0; i++)
		if (syscall(SYS_rseq, area, len[i], RSEQ_FLAG_UNREGISTER,
			RSEQ_SIG) == 0)
			return;
#endif
#endif
}

#define SERVE_STACK_AT 0xf80 /* page offset where serve()'s frame begins */

/*
 * serve() with its frame at the top of a page of the stack.  Each worker
 * keeps as its own the stack pages it writes (its frames, about 2.4 KiB
 * below the fork) and those the master writes after forking it (the
 * accept loop's frames, serve() down, about 2 KiB below it; the fork is
 * 0.5 KiB below serve()'s frame).  Wherever the stack's random offset put
 * them they could fall across two pages; from the top of a page they
 * fall on one, with about 1 KiB to spare: nothing deeper may run there
 * (lines are formatted by common/fmt.c, not vsnprintf(3)).  Reckons in
 * 4 KiB pages; with larger ones the padding is merely useless.
 */
static __attribute__((noinline)) int
serve_at_page_top(struct master *mp)
{
	volatile char here = 0;
	uintptr_t sp = (uintptr_t)&here;
	char pad[((sp - SERVE_STACK_AT) & 4095) + 1];

	__asm__ volatile("" : : "r"(pad) : "memory");
	return serve(mp);
}

/* The master's hot state (struct master_hot), zero like a static. */
static struct master_hot *
master_hot_new(void)
{
	void *p = mmap(NULL, sizeof(struct master_hot),
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fatal("master state");
	return p;
}

/*
 * Once the master is what it will stay, after the forks that go on as
 * the master (the detaching ones): no child has its hot state from now on.
 */
static void
master_keep(struct master *mp)
{
#ifdef MADV_DONTFORK
	if (madvise(mp->hot, sizeof(*mp->hot), MADV_DONTFORK) == -1)
		log_warn("workers inherit the master's state");
#else
	(void)mp;
#endif
}

int
main(int argc, char **argv)
{
	static struct master m;
	int sig;

	char err[1200];

	heap_beside_libraries();
	rseq_off();
	/*
	 * No descriptor the caller left open stays: every worker would hold
	 * it for its life (a pipe the caller waits on would not end), and
	 * with it a descriptor table of the caller's size.
	 */
	close_from(STDERR_FILENO + 1);
	m.pidfd = -1;
	m.ready_fd = -1;
	m.mem_fd = -1;
	m.log_pid = -1;
	m.log_fd = -1;
	m.argc = argc;
	m.argv = argv;
	if (master_configure(&m.cf, argc, argv, err, sizeof(err)) == -1) {
		fprintf(stderr, "chatd: %s\n", err);
		return 1;
	}
	if (m.cf.test_only)
		return config_test(&m.cf);
	if (m.cf.status)
		exit(status_main(m.cf.name != NULL ? m.cf.name : m.cf.port));
	log_init(1, m.cf.facility);
	log_setverbose(m.cf.verbose);
	if (signal_setup() == -1)
		fatal("signal setup");
	m.hot = master_hot_new();
	start(&m);
	master_keep(&m);
	if (m.cf.foreground == 0)
		log_tostderr(0);
	sig = serve_at_page_top(&m);
	stop(&m, sig);
	logproc_stop(&m);
	config_free(&m.cf);
	return 0;
}
