/*
 * main.c - chatd's master: options, start-up, the main loop, shutdown.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/wait.h>
#include <unistd.h>

#include "master.h"
#include "../common/log.h"
#include "../common/util.h"

#define DEFAULT_PORT "6660"
#define DEFAULT_MAXCLIENTS 1024
#define DEFAULT_MAXPERHOST 10
#define DEFAULT_BACKLOG 10
#define DEFAULT_SLOTS 4096
#define DEFAULT_FLOOD_RATE 5
#define DEFAULT_FLOOD_BURST 20
#define DEFAULT_SEND_TIMEOUT 60
#define DEFAULT_FLOOD_KICK 30
#define DEFAULT_IDLE_TIMEOUT 3600
#define DEFAULT_REGISTER_TIMEOUT 60
#define DEFAULT_NICK_LENGTH 16
#define DEFAULT_MAX_ROOMS 256
#define SHUTDOWN_GRACE_MS 3000

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: chatd [-fhVv] [-a maxperhost] [-B lines] [-b address] "
	    "[-F facility]\n"
	    "             [-l rate[:burst]] [-m maxclients] [-n name] "
	    "[-o key=value]\n"
	    "             [-P pidfile] [-p port] [-s slots] [-u user] "
	    "[-w seconds]\n");
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

/*
 * Every limit by name, for -o KEY=VALUE: the letter options are the
 * common ones' short forms.
 */
#define LIM(f) offsetof(struct config, lim.f), 1
#define CF(f) offsetof(struct config, f), 0
static const struct setting {
	const char *key;
	size_t off;
	int u32; /* a uint32_t, else an unsigned long */
	unsigned long min, max;
} settings[] = {
    {"max_clients", CF(maxclients), 1, 100000},
    {"max_per_host", CF(maxperhost), 0, 100000},
    {"ring_slots", CF(nslots), 64, 1UL << 20},
    {"backlog", LIM(backlog), 0, 100},
    {"flood_rate", LIM(flood_rate), 0, 100000},
    {"flood_burst", LIM(flood_burst), 1, 100000},
    {"flood_kick", LIM(flood_kick), 0, 86400},
    {"send_timeout", LIM(send_timeout), 0, 86400},
    {"idle_timeout", LIM(idle_timeout), 0, 30 * 86400},
    {"register_timeout", LIM(register_timeout), 0, 86400},
    {"nick_length", LIM(nick_length), 1, NICK_MAX},
    {"rooms_per_client", LIM(rooms_per_client), 1, ROOMS_PER_CLIENT},
    {"max_rooms", LIM(max_rooms), 0, 1000000},
};

/* -o KEY=VALUE */
static void
set_option(struct config *cf, const char *arg)
{
	const struct setting *st;
	const char *eq = strchr(arg, '=');
	unsigned long v;
	size_t i, n;

	n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		st = &settings[i];
		if (strlen(st->key) != n || strncmp(st->key, arg, n) != 0)
			continue;
		if (eq == NULL || parse_uint(eq + 1, st->min, st->max, &v)) {
			fprintf(stderr,
			    "chatd: -o %s: %s takes a number from %lu to "
			    "%lu\n",
			    arg, st->key, st->min, st->max);
			exit(1);
		}
		if (st->u32)
			*(uint32_t *)((char *)cf + st->off) = (uint32_t)v;
		else
			*(unsigned long *)((char *)cf + st->off) = v;
		return;
	}
	fprintf(stderr, "chatd: -o %.*s: no such setting; there are:", (int)n,
	    arg);
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		fprintf(stderr, " %s", settings[i].key);
	fputc('\n', stderr);
	exit(1);
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

static int
name_valid(const char *s)
{
	size_t n = strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
	    "UVWXYZ0123456789_.-");

	return n > 0 && n <= 40 && s[n] == '\0' && s[0] != '.';
}

static void
parse_options(struct config *cf, int argc, char **argv)
{
	int ch;

	cf->port = DEFAULT_PORT;
	cf->maxclients = DEFAULT_MAXCLIENTS;
	cf->maxperhost = DEFAULT_MAXPERHOST;
	cf->lim.backlog = DEFAULT_BACKLOG;
	cf->nslots = DEFAULT_SLOTS;
	cf->lim.flood_rate = DEFAULT_FLOOD_RATE;
	cf->lim.flood_burst = DEFAULT_FLOOD_BURST;
	cf->lim.send_timeout = DEFAULT_SEND_TIMEOUT;
	cf->lim.flood_kick = DEFAULT_FLOOD_KICK;
	cf->lim.idle_timeout = DEFAULT_IDLE_TIMEOUT;
	cf->lim.register_timeout = DEFAULT_REGISTER_TIMEOUT;
	cf->lim.nick_length = DEFAULT_NICK_LENGTH;
	cf->lim.rooms_per_client = ROOMS_PER_CLIENT;
	cf->lim.max_rooms = DEFAULT_MAX_ROOMS;
	cf->facility = LOG_DAEMON;
	while ((ch = getopt(argc, argv, "a:B:b:fF:hl:m:n:o:P:p:s:u:Vvw:")) !=
	    -1) {
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
			if (!name_valid(optarg)) {
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
			set_option(cf, optarg);
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
	ring_publish(&mp->shm, &m);
	ring_wake(&mp->shm, &m, -1);
}

/* Writes the statistics line to syslog (SIGUSR1). */
void
master_stats(struct master *mp)
{
	struct shm_stats *st = &mp->shm.h->stats;

	log_info("stats clients=%u connections=%llu published=%llu "
		 "delivered=%llu drops=%llu repairs=%llu refused=%llu head=%llu "
		 "lock_takeovers=%llu",
	    mp->children, (unsigned long long)atomic_load(&st->connections),
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
	char name[48], path[sizeof(mp->pidpath)], why[128];
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
	if (drop_privileges(mp, why, sizeof(why)) == -1)
		startup_fail(mp, "%s; not starting", why);
	sp.nrows = (uint32_t)mp->cf.maxclients;
	sp.nslots = (uint32_t)mp->cf.nslots;
	sp.lim = mp->cf.lim;
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
	for (i = 0; i < mp->nlst; i++)
		log_notice("listening on %s", mp->lst[i].desc);
	log_notice("chatd %s started: instance %s, segment %s (%zu KiB), "
		   "max clients %lu",
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
	static struct pollfd *pfd;
	static size_t cap;
	size_t need = 1 + MAX_LISTENERS + mp->nadopted;
	int i, nl = listen ? mp->nlst : 0, na, t = adopt_timeout(mp);

	if (need > cap) {
		if ((pfd = realloc(pfd, need * sizeof(*pfd))) == NULL)
			fatal("poll set");
		cap = need;
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
static int
serve(struct master *mp)
{
	short rev[MAX_LISTENERS];
	int i, sig, listen, timeout;
	uint64_t now;

	for (;;) {
		/* while accepting is paused, the listeners are left alone */
		now = now_ms();
		listen = now >= mp->pause_until;
		timeout = listen ? -1 : (int)(mp->pause_until - now);
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
				log_notice(
				    "SIGHUP: configuration reload is not "
				    "supported yet; nothing changed");
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

	while (mp->children > 0 && (now = now_ms()) < deadline) {
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

	log_notice("shutting down on %s: %u clients", signame(sig),
	    mp->children);
	listen_close(mp);
	atomic_store(&mp->shm.h->shutting_down, 1);
	master_notice(mp, MSG_SHUTDOWN, TARGET_ALL, 0,
	    "server is shutting down; goodbye");
	await_workers(mp, now_ms() + SHUTDOWN_GRACE_MS);
	if (mp->children > 0) {
		log_warnx("%u workers still running after %d ms: killing them",
		    mp->children, SHUTDOWN_GRACE_MS);
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

int
main(int argc, char **argv)
{
	static struct master m;
	int sig;

	m.pidfd = -1;
	m.ready_fd = -1;
	parse_options(&m.cf, argc, argv);
	log_init(1, m.cf.facility);
	log_setverbose(m.cf.verbose);
	if (signal_setup() == -1)
		fatal("signal setup");
	start(&m);
	if (m.cf.foreground == 0)
		log_tostderr(0);
	sig = serve(&m);
	stop(&m, sig);
	return 0;
}
