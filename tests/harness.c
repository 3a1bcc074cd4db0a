/*
 * harness.c - daemons and clients for the tests; see harness.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "../common/util.h"

#define REG_MAX 64

/* What the runner must clean up if a test dies: shared across fork(). */
struct registry {
	struct {
		pid_t pgid; /* process group to kill, 0: slot free */
		char segname[64];
	} d[REG_MAX];
};

static struct registry *reg;
static unsigned uniq;

/*
 * Runs suite S (each test in a child of its own, check's default) and
 * cleans up whatever a failed test left; returns main()'s exit status.
 */
int
harness_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	harness_init();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	harness_cleanup();
	return failed == 0 ? 0 : 1;
}

int
harness_timeout(void)
{
	const char *e = getenv("CHATD_TIMEOUT_MS");
	int ms = e != NULL ? atoi(e) : 0;

	return ms > 0 ? ms : 5000;
}

void
harness_init(void)
{
	if (reg != NULL)
		return;
	reg = mmap(NULL, sizeof(*reg), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (reg == MAP_FAILED) {
		perror("harness: mmap");
		exit(2);
	}
	memset(reg, 0, sizeof(*reg));
}

/* Kills and unlinks whatever a failed test left behind. */
void
harness_cleanup(void)
{
	int i;

	if (reg == NULL)
		return;
	for (i = 0; i < REG_MAX; i++) {
		if (reg->d[i].pgid > 0) {
			kill(-reg->d[i].pgid, SIGKILL);
			kill(reg->d[i].pgid, SIGKILL);
			waitpid(reg->d[i].pgid, NULL, WNOHANG);
		}
		if (reg->d[i].segname[0] != '\0')
			shm_unlink(reg->d[i].segname);
		reg->d[i].pgid = 0;
		reg->d[i].segname[0] = '\0';
	}
}

int
harness_track(pid_t pgid, const char *segname)
{
	int i;

	harness_init();
	for (i = 0; i < REG_MAX; i++)
		if (reg->d[i].pgid == 0 && reg->d[i].segname[0] == '\0') {
			reg->d[i].pgid = pgid;
			strlcpy_(reg->d[i].segname, segname,
			    sizeof(reg->d[i].segname));
			return i;
		}
	return -1;
}

void
harness_untrack(int slot)
{
	if (reg != NULL && slot >= 0) {
		reg->d[slot].pgid = 0;
		reg->d[slot].segname[0] = '\0';
	}
}

/* A name no other test, run or machine user has: prefix-pid-counter. */
void
harness_unique(char *buf, size_t size, const char *prefix)
{
	snprintf(buf, size, "%s%ld-%u", prefix, (long)getpid(), uniq++);
}

void
scratch_shm(struct shm *s, uint32_t nrows, uint32_t nslots)
{
	struct shm_params p;
	char name[64];
	pid_t live;

	memset(&p, 0, sizeof(p));
	p.nrows = nrows;
	p.nslots = nslots;
	p.lim.backlog = 10;
	p.lim.nick_length = NICK_MAX;
	p.lim.rooms_per_client = ROOMS_PER_CLIENT;
	p.lim.announce_limit = 100;

	harness_unique(name, sizeof(name), "/chatd-unit-");
	if (shm_create(s, name, &p, &live) == -1) {
		perror("scratch_shm");
		exit(2);
	}
	/* the mapping lives on; nothing is left in /dev/shm even on failure */
	shm_unlink(name);
}

const char *
chatd_path(void)
{
	const char *p = getenv("CHATD");

	return p != NULL ? p : "./chatd";
}

static uint64_t
deadline_left(uint64_t deadline)
{
	uint64_t now = now_ms();

	return now >= deadline ? 0 : deadline - now;
}

static void *
log_reader(void *arg)
{
	struct daemon *d = arg;
	char buf[4096];
	ssize_t n;

	for (;;) {
		pthread_mutex_lock(&d->mu);
		d->reading = 1; /* all read so far is in the log */
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		n = read(d->errfd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		pthread_mutex_lock(&d->mu);
		d->reading = 0;
		if (n <= 0) {
			d->eof = 1;
			pthread_cond_broadcast(&d->cv);
			pthread_mutex_unlock(&d->mu);
			return NULL;
		}
		/* keep at most 16 MiB; the rest is read and dropped */
		if (d->loglen + (size_t)n < 16u << 20) {
			char *p = realloc(d->log, d->loglen + (size_t)n + 1);
			if (p != NULL) {
				d->log = p;
				memcpy(d->log + d->loglen, buf, (size_t)n);
				d->loglen += (size_t)n;
				d->log[d->loglen] = '\0';
			}
		}
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
	}
}

/*
 * Waits, holding D->mu, until the reader thread adds to D's log or MS
 * milliseconds pass.
 */
static void
log_wait(struct daemon *d, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

/*
 * Waits until the daemon's stderr holds NEEDLE.  Returns 0, or -1 after
 * TIMEOUT_MS or if the daemon closed stderr first.
 */
int
daemon_wait_log(struct daemon *d, const char *needle, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	int found;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		found = d->log != NULL && strstr(d->log, needle) != NULL;
		if (found || d->eof || deadline_left(deadline) == 0)
			break;
		log_wait(d, 20);
	}
	pthread_mutex_unlock(&d->mu);
	return found ? 0 : -1;
}

int
daemon_log_has(struct daemon *d, const char *needle)
{
	int found;

	pthread_mutex_lock(&d->mu);
	found = d->log != NULL && strstr(d->log, needle) != NULL;
	pthread_mutex_unlock(&d->mu);
	return found;
}

void (*harness_exec_hook)(void);

static int
has_config(const char *const *extra)
{
	int i;

	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		if (strcmp(extra[i], "-c") == 0)
			return 1;
	return 0;
}

/*
 * Starts "chatd -f -p 0 -b 127.0.0.1 -n NAME [-c /dev/null] EXTRA..." in a process group
 * of its own and waits until it listens.  Returns 0, or -1 if it did not
 * start (its stderr is then in d->log).
 */
int
daemon_start_named(struct daemon *d, const char *name, const char *const *extra)
{
	const char *argv[32];
	int p[2], n = 0, i;
	char *port;

	memset(d, 0, sizeof(*d));
	d->slot = -1;
	strlcpy_(d->name, name, sizeof(d->name));
	snprintf(d->segname, sizeof(d->segname), "/chatd-%s", name);
	argv[n++] = chatd_path();
	argv[n++] = "-f";
	argv[n++] = "-p";
	argv[n++] = "0";
	argv[n++] = "-b";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-n";
	argv[n++] = d->name;
	/* no configuration file but what a test gives: /etc is not ours */
	if (!has_config(extra)) {
		argv[n++] = "-c";
		argv[n++] = "/dev/null";
	}
	for (i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	if (pipe(p) == -1)
		return -1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if ((d->pid = fork()) == -1)
		return -1;
	if (d->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		if (harness_exec_hook != NULL)
			harness_exec_hook();
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	setpgid(d->pid, d->pid); /* either side may run first */
	d->slot = harness_track(d->pid, d->segname);
	close(p[1]);
	d->errfd = p[0];
	pthread_create(&d->reader, NULL, log_reader, d);
	if (daemon_wait_log(d, " started version=", T_TIMEOUT) == -1)
		return -1;
	pthread_mutex_lock(&d->mu);
	port = strstr(d->log, "listening on 127.0.0.1 port ");
	if (port != NULL)
		d->port = atoi(port + strlen("listening on 127.0.0.1 port "));
	pthread_mutex_unlock(&d->mu);
	return d->port > 0 ? 0 : -1;
}

int
daemon_start(struct daemon *d, const char *const *extra)
{
	char name[40];

	harness_unique(name, sizeof(name), "t");
	return daemon_start_named(d, name, extra);
}

int
daemon_signal(struct daemon *d, int sig)
{
	return kill(d->pid, sig);
}

/*
 * Waits for the master to exit.  Returns its exit status (a signal as
 * 128 + signo), or -1 if it still runs after TIMEOUT_MS.
 */
/*
 * Waits until the reader has put in the log all the daemon wrote so far:
 * nothing is left in the pipe and the reader waits for more.
 */
static void
log_caught_up(struct daemon *d)
{
	uint64_t deadline = now_ms() + (uint64_t)T_TIMEOUT;
	int pending;

	pthread_mutex_lock(&d->mu);
	while (!d->eof && now_ms() < deadline &&
	    (!d->reading || ioctl(d->errfd, FIONREAD, &pending) == -1 ||
		pending > 0)) {
		log_wait(d, 10);
	}
	pthread_mutex_unlock(&d->mu);
}

int
daemon_wait_exit(struct daemon *d, int timeout_ms)
{
	int status, fd;

	if ((fd = pidfd_of(d->pid)) != -1)
		(void)pidfd_gone(fd, timeout_ms);
	if (waitpid(d->pid, &status, WNOHANG) != d->pid)
		return -1;
	d->exited = 1;
	log_caught_up(d);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* SIGTERM and wait; returns the exit status, -1 if it would not stop. */
int
daemon_stop(struct daemon *d)
{
	int st;

	if (d->pid <= 0)
		return -1;
	daemon_signal(d, SIGTERM);
	st = daemon_wait_exit(d, 2 * T_TIMEOUT);
	if (st != -1 && !daemon_leftovers(d))
		harness_untrack(d->slot);
	return st;
}

/*
 * Whether the stopped daemon left anything behind: a process in its group
 * or its shared-memory segment.
 */
int
daemon_leftovers(struct daemon *d)
{
	int fd;

	if (kill(-d->pid, 0) == 0 || errno != ESRCH)
		return 1;
	if ((fd = shm_open(d->segname, O_RDONLY, 0)) != -1) {
		close(fd);
		return 1;
	}
	return 0;
}

/*
 * Children of PARENT from /proc, zombies included: with NAME their number
 * named so (comm), the first one's pid in *FIRST if FIRST; without, all.
 */
int
children_named(pid_t parent, const char *name, pid_t *first)
{
	char path[300], buf[512], *p, *q;
	struct dirent *e;
	DIR *dir;
	int fd, n = 0;
	ssize_t len;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* pid (comm) state ppid: comm may hold anything but ')' last */
		if ((p = strrchr(buf, ')')) == NULL || atol(p + 4) != (long)parent ||
		    (q = strchr(buf, '(')) == NULL)
			continue;
		*p = '\0';
		if (name != NULL && strcmp(q + 1, name) != 0)
			continue;
		if (n++ == 0 && first != NULL)
			*first = (pid_t)atol(buf);
	}
	closedir(dir);
	return n;
}

/* The pid of the worker serving DM's Nth connection, from its log. */
pid_t
worker_pid_of(struct daemon *dm, int nth)
{
	uint64_t deadline = now_ms() + (uint64_t)T_TIMEOUT;
	const char *p;
	int i;

	pthread_mutex_lock(&dm->mu);
	for (;;) {
		p = dm->log;
		for (i = 0; p != NULL && i < nth; i++)
			if ((p = strstr(p, " worker=")) != NULL)
				p += strlen(" worker=");
		/* the master logs a burst's connections after its forks */
		if (p != NULL || dm->eof || deadline_left(deadline) == 0)
			break;
		log_wait(dm, 20);
	}
	pthread_mutex_unlock(&dm->mu);
	return p != NULL ? (pid_t)atol(p) : -1;
}

/*
 * Waits up to TIMEOUT_MS for the process FD (a pidfd) names to exit;
 * returns 1 if it has, 0 if not.  Closes FD.
 */
int
pidfd_gone(int fd, int timeout_ms)
{
	struct pollfd pfd;
	int r;

	pfd.fd = fd;
	pfd.events = POLLIN;
	r = poll(&pfd, 1, timeout_ms);
	close(fd);
	return r == 1;
}

/* A pidfd of PID (pidfd_open(2)), -1 if it cannot be had. */
int
pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* D's log process (master/logproc.c), or -1 if it has none. */
pid_t
daemon_logproc(struct daemon *d)
{
	pid_t pid = -1;

	return children_named(d->pid, "chatd-log", &pid) > 0 ? pid : -1;
}

/*
 * Forgets D.  A daemon still running is killed with its group first.  The
 * log reader ends when every process that holds the daemon's stderr (its
 * workers too) has gone.
 */
void
daemon_free(struct daemon *d)
{
	if (!d->exited) {
		kill(-d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->exited = 1;
	}
	if (d->reader != 0) {
		pthread_join(d->reader, NULL);
		d->reader = 0;
	}
	if (d->errfd > 0)
		close(d->errfd);
	free(d->log);
	d->log = NULL;
}

/*
 * Runs chatd with ARGV (argv[0] is replaced by the binary) to completion,
 * collecting its stdout and stderr into OUT.  Returns the exit status, -1 on
 * timeout.
 */
int
run_chatd(const char *const *argv, char *out, size_t size, int timeout_ms)
{
	const char *args[32];
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd;
	size_t used = 0;
	int p[2], i, status;
	ssize_t n;
	pid_t pid;

	args[0] = chatd_path();
	for (i = 1; argv[i] != NULL && i < 31; i++)
		args[i] = argv[i];
	args[i] = NULL;
	if (pipe(p) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		if (harness_exec_hook != NULL)
			harness_exec_hook();
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (poll(&pfd, 1, (int)deadline_left(deadline)) > 0) {
		n = read(p[0], out + used, size - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == size - 1)
			break;
	}
	out[used] = '\0';
	close(p[0]);
	if (deadline_left(deadline) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* How many bytes the daemon has written on stderr so far. */
size_t
daemon_log_len(struct daemon *d)
{
	size_t n;

	pthread_mutex_lock(&d->mu);
	n = d->loglen;
	pthread_mutex_unlock(&d->mu);
	return n;
}

/*
 * Waits until the daemon's stderr holds NEEDLE at or after byte FROM, and
 * copies the rest of that line, from NEEDLE on, into LINE (if not NULL).
 * Returns 0, or -1 after TIMEOUT_MS or if the daemon closed stderr first.
 */
int
daemon_wait_log_from(struct daemon *d, size_t from, const char *needle,
    char *line, size_t size, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	const char *p = NULL;
	size_t n;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (d->log != NULL && from <= d->loglen &&
		    (p = strstr(d->log + from, needle)) != NULL)
			break;
		if (d->eof || deadline_left(deadline) == 0)
			break;
		log_wait(d, 20);
	}
	if (p != NULL && line != NULL && size > 0) {
		n = strcspn(p, "\n");
		if (n > size - 1)
			n = size - 1;
		memcpy(line, p, n);
		line[n] = '\0';
	}
	pthread_mutex_unlock(&d->mu);
	return p != NULL ? 0 : -1;
}

/* How many times NEEDLE occurs in what the daemon wrote on stderr. */
int
daemon_log_count(struct daemon *d, const char *needle)
{
	const char *p;
	int n = 0;

	pthread_mutex_lock(&d->mu);
	for (p = d->log; p != NULL && (p = strstr(p, needle)) != NULL;
	     p += strlen(needle))
		n++;
	pthread_mutex_unlock(&d->mu);
	return n;
}

struct client *
client_open_addr(const char *addr, int port)
{
	return client_open_rcvbuf(addr, port, 0);
}

/*
 * Connects to ADDR port PORT; with RCVBUF > 0 the receive buffer is set
 * before connecting, so the window is small from the first segment on
 * (shrinking it later can stall the sender on its persist timer).
 */
struct client *
client_open_rcvbuf(const char *addr, int port, int rcvbuf)
{
	struct sockaddr_storage ss;
	struct client *c;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		return NULL;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	return c;
}

struct client *
client_open(int port)
{
	return client_open_addr("127.0.0.1", port);
}

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

/* Closes with a TCP reset, as a crashed or killed client does. */
void
client_reset(struct client *c)
{
	struct linger l = {1, 0};

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	client_close(c);
}

int
client_send_raw(struct client *c, const void *buf, size_t len)
{
	return write_all(c->fd, buf, len);
}

int
client_send(struct client *c, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return write_all(c->fd, buf, (size_t)n);
}

/*
 * Reads one line (CRLF removed) into LINE.  Returns its length, -1 on
 * timeout, -2 at end of stream.
 */
int
client_line(struct client *c, char *line, size_t size, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd;
	char *nl;
	size_t n;
	ssize_t r;

	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			n = (size_t)(nl - c->buf);
			if (n > 0 && c->buf[n - 1] == '\r')
				n--;
			if (n > size - 1)
				n = size - 1;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			c->len -= (size_t)(nl - c->buf) + 1;
			memmove(c->buf, nl + 1, c->len);
			return (int)n;
		}
		if (c->len == sizeof(c->buf))
			c->len = 0; /* a line longer than we hold: drop */
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)deadline_left(deadline)) <= 0)
			return -1;
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -2;
		c->len += (size_t)r;
	}
}

/*
 * Reads lines until one contains NEEDLE (copied to LINE if not NULL).
 * Returns 0, or -1 on timeout or end of stream.
 */
int
client_expect(struct client *c, const char *needle, char *line, size_t size)
{
	char buf[8192];

	if (line == NULL) {
		line = buf;
		size = sizeof(buf);
	}
	while (client_line(c, line, size, T_TIMEOUT) >= 0)
		if (strstr(line, needle) != NULL)
			return 0;
	return -1;
}

/*
 * Reads lines until one contains NEEDLE; returns 0 if none before it
 * contained FORBIDDEN, 1 if one did, -1 if NEEDLE never came.
 */
int
client_expect_before(struct client *c, const char *needle,
    const char *forbidden)
{
	char line[8192];
	int seen = 0;

	while (client_line(c, line, sizeof(line), T_TIMEOUT) >= 0) {
		if (strstr(line, needle) != NULL)
			return seen;
		if (strstr(line, forbidden) != NULL)
			seen = 1;
	}
	return -1;
}

/* Reads and drops until the server closes; returns 0, or -1 on timeout. */
int
client_wait_eof(struct client *c, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	char line[8192];
	int r;

	while ((r = client_line(c, line, sizeof(line),
		    (int)deadline_left(deadline))) >= 0)
		;
	return r == -2 ? 0 : -1;
}

/*
 * Connects to D and reads the greeting up to its own join of #lobby;
 * stores the nickname it was given.  Returns NULL if that fails.
 */
struct client *
client_greeted(struct daemon *d, char *nick, size_t size)
{
	struct client *c = client_open(d->port);
	char line[1024], *p;

	if (c == NULL)
		return NULL;
	if (client_expect(c, "Welcome to chatd, ", line, sizeof(line)) == -1 ||
	    (p = strstr(line, "Welcome to chatd, ")) == NULL) {
		client_close(c);
		return NULL;
	}
	p += strlen("Welcome to chatd, ");
	p[strcspn(p, "!")] = '\0';
	if (nick != NULL)
		strlcpy_(nick, p, size);
	if (client_expect(c, "you joined #lobby", NULL, 0) == -1) {
		client_close(c);
		return NULL;
	}
	return c;
}

/* The local port of C's connection, or -1. */
int
client_port(struct client *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}
