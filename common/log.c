/*
 * log.c - syslog(3) with a copy on stderr in the foreground.
 *
 * openlog() is called once in the master with LOG_NDELAY, so the socket to
 * the log daemon is open before the first fork and every worker shares it;
 * LOG_PID makes each line carry the pid of the process that wrote it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static int log_foreground;
static int log_verbose;
/*
 * The thread's (log_follow()): a worker writes its thread's storage
 * anyway, where a page of globals shared with the master would be one
 * more copied for every worker.
 */
static _Thread_local const _Atomic int *log_flag;

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
	char line[1100], *msg;
	size_t len, size;
	int pre = 0;

	if (pri == LOG_DEBUG &&
	    !(log_flag != NULL ? atomic_load(log_flag) : log_verbose))
		return;
	if (log_foreground &&
	    (pre = snprintf(line, 64, "chatd[%ld]: ", (long)getpid())) < 0)
		pre = 0;
	msg = line + pre;
	size = sizeof(line) - (size_t)pre - 1; /* room for the newline */
	vsnprintf(msg, size, fmt, ap);
	if (with_errno) {
		len = strlen(msg);
		snprintf(msg + len, size - len, ": %s", strerror(saved_errno));
	}
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
