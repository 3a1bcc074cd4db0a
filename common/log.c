/*
 * log.c - syslog(3) with a copy on stderr in the foreground.
 *
 * openlog() is called once in the master with LOG_NDELAY, so the socket to
 * the log daemon is open before the first fork and every worker shares it;
 * LOG_PID makes each line carry the pid of the process that wrote it.
 *
 * Once the master has started, its lines go to the log process instead
 * (log_relay(), master/logproc.c), which hands them to syslog(3) under the
 * master's name and pid; workers call syslog(3) themselves.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"

static int log_foreground;
static int log_verbose;
/*
 * The thread's (log_follow()): a worker writes its thread's storage
 * anyway, where a page of globals shared with the master would be one
 * more copied for every worker.
 */
static _Thread_local const _Atomic int *log_flag;
/* The log process's socket (log_relay()), or -1: syslog(3) here. */
static _Thread_local int relay_fd = -1;

static const struct {
	const char *name;
	int facility;
} facilities[] = {
    {"daemon", LOG_DAEMON},
    {"user", LOG_USER},
    {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
};

/* Returns the facility named NAME, or -1 if there is none by that name. */
int
log_facility_byname(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].facility;
	return -1;
}

void
log_init(int to_stderr, int facility)
{
	log_foreground = to_stderr;
	openlog("chatd", LOG_PID | LOG_NDELAY, facility);
}

/* Turns the stderr copy on or off (off once a daemon has detached). */
void
log_tostderr(int to_stderr)
{
	log_foreground = to_stderr;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

/*
 * From now on, debugging messages are logged while *FLAG is set: a worker
 * follows the flag the master keeps in the segment, so that a reload
 * changes the log level of running workers too.  For the calling thread.
 */
void
log_follow(const _Atomic int *flag)
{
	log_flag = flag;
}

/*
 * From now on, the calling thread's lines go through FD, a SOCK_SEQPACKET
 * socket to a process that runs log_relay_serve(); -1: to syslog(3) here.
 */
void
log_relay(int fd)
{
	relay_fd = fd;
}

/*
 * Hands MSG (LEN bytes) of priority PRI to the log process without waiting;
 * returns 0 if it could not take it (full, or gone).
 */
static int
relay_send(int pri, const char *msg, size_t len)
{
	unsigned char p = (unsigned char)pri;
	struct iovec iov[2];
	struct msghdr mh;

	iov[0].iov_base = &p;
	iov[0].iov_len = 1;
	iov[1].iov_base = (void *)(uintptr_t)msg;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	return sendmsg(relay_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    (ssize_t)(len + 1);
}

/*
 * The log process's loop: each record read from FD (a priority byte, then
 * the line) goes to syslog(3), which the caller has opened (openlog()) with
 * its sender's name and pid ("chatd[1234]", no LOG_PID): a line reads as if
 * its sender had called syslog(3) itself.  Ends when the sender closes its
 * end and every record it sent has been written.
 */
void
log_relay_serve(int fd)
{
	char rec[1 + LOG_LINE_MAX + 1];
	ssize_t n;

	for (;;) {
		n = recv(fd, rec, sizeof(rec) - 1, 0);
		if (n == 0)
			_exit(0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (n < 2)
			continue;
		rec[n] = '\0';
		syslog(rec[0] & LOG_PRIMASK, "%s", rec + 1);
	}
}

/*
 * The one place a line is emitted.  The stderr copy is written with a single
 * write(2) so that lines of concurrent workers do not interleave.
 */
static void
vlog(int pri, const char *fmt, va_list ap, int with_errno, int saved_errno)
{
	/*
	 * One buffer, the foreground's prefix then the message, where there
	 * were two: the master logs a burst's connections after forking its
	 * workers, and each page of stack that writes below theirs is one
	 * more that every one of them keeps a copy of (BENCHMARKS.md, "What a
	 * worker writes").
	 */
	char line[LOG_LINE_MAX], *msg;
	size_t len, size;
	int pre = 0;

	if (pri == LOG_DEBUG &&
	    !(log_flag != NULL ? atomic_load(log_flag) : log_verbose))
		return;
	if (log_foreground &&
	    (pre = line_fmt(line, 64, "chatd[%ld]: ", (long)getpid())) < 0)
		pre = 0;
	msg = line + pre;
	size = sizeof(line) - (size_t)pre - 1; /* room for the newline */
	/* not vsnprintf(3), 1.9 KiB of stack: see fmt.c */
	line_vfmt(msg, size, fmt, ap);
	if (with_errno) {
		len = strlen(msg);
		line_fmt(msg + len, size - len, ": %s", strerror(saved_errno));
	}
	if (relay_fd < 0 || !relay_send(pri, msg, strlen(msg)))
		syslog(pri, "%s", msg);
	if (log_foreground) {
		len = strlen(line);
		line[len++] = '\n';
		if (write(STDERR_FILENO, line, len) < 0) {
			/* nowhere left to report it */
		}
	}
}

#define LOGFN(name, pri, with_errno)                                           \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		int saved = errno;                                             \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vlog(pri, fmt, ap, with_errno, saved);                         \
		va_end(ap);                                                    \
		errno = saved;                                                 \
	}

LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)
LOGFN(log_err, LOG_ERR, 0)
LOGFN(log_notice, LOG_NOTICE, 0)
LOGFN(log_info, LOG_INFO, 0)
LOGFN(log_debug, LOG_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0, 0);
	va_end(ap);
	exit(1);
}
